"""Where an index keeps its files: the one module that spells the on-disk layout.

    var/index/                      the index directory (--index)
      current -> builds/<id>        the build being served (a symlink, switched atomically)
      builds/<id>/                  one build: the served one, and the one before it
                                    (the spare the next build catches up and reuses, index.build)
        reports.db                  the structured store (index.store)
        bm25/                       the BM25 shards (index.lexical)
        chroma/                     the passage vectors (index.vectors), with
          model.txt                 the embedding model and passage version used
          onnx.txt                  the folder of ONNX exports its questions are embedded
                                    with (index.embeddings; the onnx backend)
          collection.txt            the Chroma-server collection, when one is used
        facts.txt                   the PostgreSQL schema and URL of its facts, when
                                    they are there (index.pgstore; else in reports.db)
      builds/<id>.partial/          a build in progress (renamed when done; a crashed one is
                                    deleted by the next build)
      embeddings.db                 the embedding cache shared by all builds
      .build.lock                   held by the build running (one at a time)

Everything else asks this module for a path; no other module spells these names.
"""

from __future__ import annotations

import re
from pathlib import Path

CURRENT = "current"
BUILDS = "builds"
PARTIAL_SUFFIX = ".partial"
DB_NAME = "reports.db"
BM25_DIR = "bm25"
CHROMA_DIR = "chroma"
MODEL_FILE = "model.txt"
ONNX_FILE = "onnx.txt"
COLLECTION_FILE = "collection.txt"
EMBED_CACHE = "embeddings.db"
FACTS_FILE = "facts.txt"
BUILD_LOCK = ".build.lock"


def current_link(index_dir: str | Path) -> Path:
    return Path(index_dir) / CURRENT


def builds_dir(index_dir: str | Path) -> Path:
    return Path(index_dir) / BUILDS


def current_dir(index_dir: str | Path) -> Path | None:
    """The build directory being served, or None when nothing was built yet (a bare
    store directory, as tests make, is its own build)."""
    index_dir = Path(index_dir)
    link = index_dir / CURRENT
    if link.exists():
        return link.resolve()
    if (index_dir / DB_NAME).exists():
        return index_dir
    return None


def store_file(build_dir: str | Path) -> Path:
    return Path(build_dir) / DB_NAME


def bm25_dir(build_dir: str | Path) -> Path:
    return Path(build_dir) / BM25_DIR


def chroma_dir(build_dir: str | Path) -> Path:
    return Path(build_dir) / CHROMA_DIR


def model_file(build_dir: str | Path) -> Path:
    return Path(build_dir) / CHROMA_DIR / MODEL_FILE


def onnx_file(build_dir: str | Path) -> Path:
    return Path(build_dir) / CHROMA_DIR / ONNX_FILE


def embed_cache(index_dir: str | Path) -> Path:
    return Path(index_dir) / EMBED_CACHE


def facts_file(build_dir: str | Path) -> Path:
    return Path(build_dir) / FACTS_FILE


def recorded_facts(build_dir: str | Path) -> tuple[str, str] | None:
    """(PostgreSQL URL, schema) where a build wrote its facts (index.pgstore), or None:
    they are in its reports.db."""
    marker = facts_file(build_dir)
    if not marker.exists():
        return None
    schema, _, url = marker.read_text(encoding="utf-8").partition("\n")
    schema, url = schema.strip(), url.strip()
    if not re.fullmatch(r"nianbao_[a-z0-9_]+", schema) or not url:
        raise ValueError(f"{marker} names no facts schema and URL ({schema!r})")
    return url, schema
