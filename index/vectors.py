"""Passage vectors in chromadb: one persistent collection in ``<build dir>/chroma``, or,
when the build is given a Chroma server URL (the setting ``chroma_url``,
``NIANBAO_CHROMA_URL``, e.g. ``http://127.0.0.1:8001``), one collection per build on that
server.

Server mode: a build's collection is named ``nianbao_<hash of the index dir>_<build id>``
and recorded with the server's URL in ``<build dir>/chroma/collection.txt``, which is
what readers open (they need no setting to find a build's vectors). A new
build starts from the served build's directory (copied) or from the build before it
(caught up, index.build), so the marker names the served or that older collection:
``prepare_build`` copies those vectors into the new build's own collection, so the
served collection is never written to and the atomic switch of ``current`` still works
(the catching up then replaces the vectors of the reports the served build changed). ``prune_collections`` deletes this index's collections
whose build is neither the new one nor the one being served (index.build prunes the same
build directories).

Vectors are computed by index.embeddings (with its cache) and handed to chroma
directly; the collection is still opened with our embedding function so chroma never
tries to download its default ONNX model. Each record's metadata holds the passage's
report_id, body, short_name, level, region, year, section, page and kind (keys whose
value is unknown are left out: chroma takes no None), which ``where`` filters use.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from . import layout
from . import embeddings
from .embeddings import default_model_name

CHROMA_DIR = layout.CHROMA_DIR
COLLECTION = "passages"  # the collection's name in embedded mode
COLLECTION_FILE = layout.COLLECTION_FILE  # server mode: the build's collection name and server
_PARTIAL = layout.PARTIAL_SUFFIX  # a build directory while it is being built (index.build)
_META_KEYS = ("report_id", "body", "short_name", "level", "region", "year", "section", "kind")
_ADD_BATCH = 1000


def _settings():
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


def collection_name(build_dir: str | Path) -> str:
    """The server collection of a build: index dir hash + build id (without .partial)."""
    build_dir = Path(build_dir).absolute()
    build_id = build_dir.name[:-len(_PARTIAL)] if build_dir.name.endswith(_PARTIAL) else build_dir.name
    return f"{_index_prefix(build_dir)}{build_id}"


def _index_prefix(build_dir: Path) -> str:
    index_dir = Path(build_dir).absolute().parent.parent  # INDEX/builds/<build id>
    digest = hashlib.sha1(str(index_dir.resolve()).encode("utf-8")).hexdigest()[:10]
    return f"nianbao_{digest}_"


def _recorded(build_dir: Path) -> tuple[str | None, str | None]:
    """(collection name, server URL) a build recorded in server mode, else (None, None)."""
    marker = Path(build_dir) / CHROMA_DIR / COLLECTION_FILE
    if not marker.exists():
        return None, None
    lines = marker.read_text(encoding="utf-8").split("\n")
    return lines[0].strip() or None, (lines[1].strip() if len(lines) > 1 else "") or None


def _recorded_name(build_dir: Path) -> str | None:
    return _recorded(build_dir)[0]


def recorded_url(build_dir: str | Path) -> str | None:
    """The Chroma server a build's vectors are on (None: in the build directory), as the
    build recorded it: the read side needs no setting to find them."""
    return _recorded(Path(build_dir))[1]


def open_client(build_dir: str | Path, url: str | None = None, model: str | None = None):
    """A chroma client for a build directory: embedded, or on the Chroma server at
    ``url`` (index.settings ``chroma_url``). ``client.nianbao_collection`` is the name of
    the build's collection, ``client.nianbao_model`` the embedding model its vectors
    were made with (see get_collection)."""
    import chromadb

    path = Path(build_dir) / CHROMA_DIR
    path.mkdir(parents=True, exist_ok=True)
    if url is None:
        client = chromadb.PersistentClient(path=str(path), settings=_settings())
        client.nianbao_collection = COLLECTION
        client.nianbao_url, client.nianbao_model = None, model
        return client
    parsed = urlparse(url if "//" in url else f"http://{url}")
    https = parsed.scheme == "https"
    client = chromadb.HttpClient(host=parsed.hostname or "127.0.0.1", port=parsed.port or (443 if https else 8000),
                                 ssl=https, settings=_settings())
    client.nianbao_collection = _recorded_name(path.parent) or collection_name(build_dir)
    client.nianbao_url, client.nianbao_model = url, model
    return client


def prepare_build(client, build_dir: str | Path) -> None:
    """Server mode, for the build being written: give it its own collection, filled
    with the vectors of the collection its directory came from: the served build's is
    copied; the older build's (a spare being caught up, index.build), which nobody
    reads, is renamed instead."""
    if client.nianbao_url is None:
        return
    build_dir = Path(build_dir)
    own = collection_name(build_dir)
    previous = _recorded_name(build_dir)
    client.nianbao_collection = own
    if previous != own:
        try:
            client.delete_collection(own)  # left over from an interrupted build of this id
        except Exception:
            pass
        served = layout.current_link(build_dir.absolute().parent.parent)
        served_name = _recorded_name(served.resolve()) if served.exists() else None
        if previous is not None and served_name is not None and previous != served_name:
            try:
                client.get_collection(previous, embedding_function=_ef(client)).modify(name=own)
                previous = None  # renamed: nothing to copy
            except Exception:  # gone: copy the served one (catching up then changes nothing)
                previous = served_name
        target = get_collection(client)
        if previous is not None:
            try:
                source = client.get_collection(previous, embedding_function=_ef(client))
            except Exception:  # pruned or never created: the build re-adds what it needs
                source = None
            if source is not None:
                _copy(source, target)
    (build_dir / CHROMA_DIR).mkdir(parents=True, exist_ok=True)
    (build_dir / CHROMA_DIR / COLLECTION_FILE).write_text(f"{own}\n{client.nianbao_url}", encoding="utf-8")


def _copy(source, target) -> None:
    offset = 0
    while True:
        got = source.get(include=["embeddings", "metadatas"], limit=_ADD_BATCH, offset=offset)
        if not got["ids"]:
            break
        target.upsert(ids=got["ids"], embeddings=got["embeddings"], metadatas=got["metadatas"])
        offset += len(got["ids"])


def reset_collection(client):
    """Drop the build's collection and start it empty (the model changed)."""
    client.delete_collection(getattr(client, "nianbao_collection", COLLECTION))
    return get_collection(client)


def prune_collections(client, build_dir: str | Path) -> list[str]:
    """Server mode: delete this index's collections other than the build's own and
    the served build's (the build directories index.build keeps). Returns their names."""
    if client.nianbao_url is None:
        return []
    build_dir = Path(build_dir)
    prefix = _index_prefix(build_dir)
    keep = {collection_name(build_dir)}
    served = layout.current_link(build_dir.absolute().parent.parent)
    if served.exists():
        keep.add(_recorded_name(served.resolve()) or collection_name(served.resolve()))
    deleted = []
    for collection in client.list_collections():
        name = getattr(collection, "name", collection)
        if name.startswith(prefix) and name not in keep:
            client.delete_collection(name)
            deleted.append(name)
    return deleted


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def compact(build_dir: str | Path, url: str | None = None, free_share: float = 0.2) -> bool:
    """With the client closed: delete the vector-index folders of collections that no
    longer exist (chroma leaves them when a collection is dropped), and VACUUM the
    embedded chroma's SQLite file when at least ``free_share`` of it is free pages, as
    after removing reports; True when it vacuumed. A Chroma server (``url``) manages
    its own files."""
    folder = Path(build_dir) / CHROMA_DIR
    path = folder / "chroma.sqlite3"
    if url or not path.is_file():
        return False
    db = sqlite3.connect(path)
    try:
        segments = {r[0] for r in db.execute("SELECT id FROM segments")}
        for child in folder.iterdir():
            if child.is_dir() and _UUID.fullmatch(child.name) and child.name not in segments:
                shutil.rmtree(child, ignore_errors=True)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        if not pages or free / pages < free_share:
            return False
        db.execute("VACUUM")
        return True
    finally:
        db.close()


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


def _ef(client=None):
    return embeddings.LocalEmbeddingFunction(getattr(client, "nianbao_model", None) or default_model_name())


def get_collection(client, create: bool = True):
    name = getattr(client, "nianbao_collection", COLLECTION)
    if create:
        return client.get_or_create_collection(
            name, embedding_function=_ef(client), configuration={"hnsw": {"space": "cosine"}})
    return client.get_collection(name, embedding_function=_ef(client))


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
