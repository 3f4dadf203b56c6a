"""Passage vectors in chromadb: one persistent collection in ``<build dir>/chroma``.

Vectors are computed by index.embeddings (with its cache) and handed to chroma
directly; the collection is still opened with our embedding function so chroma never
tries to download its default ONNX model. Each record's metadata holds the passage's
report_id, body, short_name, level, region, year, section, page and kind (keys whose
value is unknown are left out: chroma takes no None), which ``where`` filters use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .embeddings import LocalEmbeddingFunction, model_name

CHROMA_DIR = "chroma"
COLLECTION = "passages"
_META_KEYS = ("report_id", "body", "short_name", "level", "region", "year", "section", "kind")
_ADD_BATCH = 1000


def _settings():
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


def open_client(build_dir: str | Path):
    import chromadb

    path = Path(build_dir) / CHROMA_DIR
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=_settings())


def close_client(client) -> None:
    """Release chroma's per-path system (file handles, background threads) so the build
    directory can be renamed or deleted. Other clients in the process are untouched."""
    if client is None:
        return
    from chromadb.api.shared_system_client import SharedSystemClient

    try:
        identifier = client._identifier
        system = SharedSystemClient._identifier_to_system.pop(identifier, None)
        SharedSystemClient._identifier_to_refcount.pop(identifier, None)
        if system is not None:
            system.stop()
    except Exception:  # best effort: never fail a build on clean-up
        pass


def get_collection(client, create: bool = True):
    ef = LocalEmbeddingFunction(model_name())
    if create:
        return client.get_or_create_collection(
            COLLECTION, embedding_function=ef, configuration={"hnsw": {"space": "cosine"}})
    return client.get_collection(COLLECTION, embedding_function=ef)


def metadata(passage) -> dict:
    meta = {k: getattr(passage, k) for k in _META_KEYS}
    meta["page"] = passage.page_start
    return {k: v for k, v in meta.items() if v is not None}


def add_passages(collection, passages: list, vectors: np.ndarray) -> None:
    for i in range(0, len(passages), _ADD_BATCH):
        chunk = passages[i:i + _ADD_BATCH]
        collection.upsert(
            ids=[p.id for p in chunk],
            embeddings=[v for v in vectors[i:i + _ADD_BATCH]],
            metadatas=[metadata(p) for p in chunk],
        )


def delete_report(collection, report_id: str) -> None:
    collection.delete(where={"report_id": report_id})


def query(collection, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[str, float]]:
    """(passage id, cosine similarity) of the k nearest passages, best first."""
    count = collection.count()
    if count == 0:
        return []
    result = collection.query(query_embeddings=[vector], n_results=min(k, count), where=where or None,
                              include=["distances"])
    return [(pid, 1.0 - float(d)) for pid, d in zip(result["ids"][0], result["distances"][0])]
