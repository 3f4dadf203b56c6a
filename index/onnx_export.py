"""The embedding model exported to ONNX, once per model: what index.onnx_encoder runs.

A build process that embeds with ``torch`` pays ≈ 3–5 s of imports (torch,
sentence-transformers, transformers, sklearn) before its first vector; onnxruntime and
tokenizers import in ≈ 0.1 s. So the sentence-transformers model is exported once, here
(this module imports torch; nothing else on the ONNX path does), and every later process
only loads the file (BENCHMARKS.md, "The embedding model in ONNX").

What is exported is the sentence-transformers model itself (its transformer and its
pooling, as the model's configuration sets them: mean pooling for m3e-small), with
``torch.onnx.export`` (the torch.export-based exporter); normalisation stays outside,
as ``encode(normalize_embeddings=True)`` does it. A model with other modules (a Dense
layer, a CLIP image tower …) is refused: run it with ``NIANBAO_EMBEDDING_BACKEND=torch``.

int8: onnxruntime's dynamic quantization (``quantize_dynamic``), int8 weights per
channel. Measured on 512 real passages (BENCHMARKS.md): cosine to the float32 vectors
0.997 mean (min 0.995), against 0.983 for torch's int8; the same CPU time as torch's int8
(≈ 24 CPU-s for the 512). Signed int8 weights need VNNI (AVX512-VNNI or AVX-VNNI) to be
exact on x86: on AVX2-only CPUs onnxruntime's u8s8 kernels can saturate
(tests/test_onnx_backend.py checks the cosine on the machine that runs the tests).

The files go in ``<onnx_dir>/<model folder name>-<variant>-<key>/``: ``model.onnx``, the
model's ``tokenizer.json`` and ``encoder.json`` (inputs, maximum length, dimension). The
key hashes the model (path, and each file's size and mtime), the variant, EXPORT_VERSION
and the versions of torch, onnx and onnxruntime, so a changed model or exporter gets a
new export. It is written to a temporary folder and renamed, so a process never sees a
half-written export.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from importlib import metadata
from pathlib import Path

from .settings import EmbeddingModelMissing

EXPORT_VERSION = 1  # bump when the export below changes what is written
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "encoder.json"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_SUPPORTED_MODULES = ("Transformer", "Pooling", "Normalize")


class CannotExport(EmbeddingModelMissing):
    """The model cannot run with the ONNX backend (the torch backend can)."""


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def export_dir(root: str | Path, model: str, quantize: bool) -> Path:
    """Where the export of `model` (a local folder or a hub name) is, or will be."""
    path = Path(model)
    files = []
    if path.is_dir():
        model = str(path.resolve())
        files = [(str(f.relative_to(path)), f.stat().st_size, f.stat().st_mtime_ns)
                 for f in sorted(path.rglob("*")) if f.is_file() and ".git" not in f.parts]
    variant = "int8" if quantize else "float32"
    described = {"model": model, "files": files, "variant": variant, "export": EXPORT_VERSION,
                 "versions": [_version(p) for p in ("torch", "onnx", "onnxruntime", "sentence-transformers")]}
    key = hashlib.sha256(json.dumps(described, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    return Path(root).absolute() / f"{path.name or 'model'}-{variant}-{key}"


def is_exported(folder: Path) -> bool:
    return (folder / CONFIG_FILE).is_file()  # written last


def ensure(root: str | Path, model: str, quantize: bool) -> Path:
    """The export folder of `model`, exported now if it is not there yet (this imports
    torch and sentence-transformers: seconds, once per model and machine)."""
    folder = export_dir(root, model, quantize)
    if not is_exported(folder):
        export(model, folder, quantize)
    return folder


def export(model: str, folder: Path, quantize: bool) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    try:
        st = SentenceTransformer(model, device="cpu")
    except OSError as error:
        raise EmbeddingModelMissing(f"cannot load embedding model {model}: {error}") from error
    kinds = [type(module).__name__ for module in st]
    if any(kind not in _SUPPORTED_MODULES for kind in kinds):
        raise CannotExport(f"embedding model {model} has modules the ONNX backend does not run "
                           f"({', '.join(kinds)}): set NIANBAO_EMBEDDING_BACKEND=torch")
    tokenizer = st.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise CannotExport(f"embedding model {model} has no fast tokenizer (tokenizer.json): "
                           "set NIANBAO_EMBEDDING_BACKEND=torch")
    sample = tokenizer(["政府信息公开", "年度报告"], padding=True, return_tensors="pt")
    inputs = [name for name in _INPUTS if name in sample]

    class SentenceEmbedding(torch.nn.Module):
        """The sentence-transformers pipeline (transformer + pooling) on plain tensors."""

        def __init__(self):
            super().__init__()
            self.st = st

        def forward(self, *tensors):
            return self.st(dict(zip(inputs, tensors)))["sentence_embedding"]

    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    os.chmod(work, 0o755)  # a server running as another user reads it
    try:
        plain = work / "float32.onnx"
        batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(SentenceEmbedding().eval(), tuple(sample[name] for name in inputs), str(plain),
                              input_names=inputs, output_names=["sentence_embedding"],
                              dynamic_shapes=(tuple({0: batch, 1: seq} for _ in inputs),),  # one entry: *tensors
                              dynamo=True, external_data=False, verbose=False)
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(plain, work / MODEL_FILE, weight_type=QuantType.QInt8, per_channel=True)
            plain.unlink()
        else:
            plain.rename(work / MODEL_FILE)
        tokenizer.backend_tokenizer.save(str(work / TOKENIZER_FILE))
        config = {"model": model, "inputs": inputs, "max_seq_length": st.get_max_seq_length() or 512,
                  "dimension": getattr(st, "get_embedding_dimension", st.get_sentence_embedding_dimension)(), "quantize": quantize,
                  "pad_token": tokenizer.pad_token, "pad_id": tokenizer.pad_token_id}
        (work / CONFIG_FILE).write_text(json.dumps(config, ensure_ascii=False, indent=1), encoding="utf-8")
        try:
            os.rename(work, folder)
        except OSError:  # another process exported it first: theirs is as good
            if not is_exported(folder):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
