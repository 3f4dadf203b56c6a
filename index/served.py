"""The index being served: one ``Index`` object per build, opened once.

    from index.served import served
    index = served("var/index").get()      # the build `current` points at, resolved once
    with index.facts() as store: ...        # its facts (index.factstore.FactStore)
    index.passages(["p1", "p2"])            # its passages, by id
    index.lexical, index.collection         # its BM25 shards and its vectors
    index.cached("catalog", make)           # anything derived from this build, made once

Like datasette's ``Database``, an ``Index`` owns the files of one build: the fact store,
the passages, the BM25 shards and the vectors all come from the same build, so a build
switched in between two reads can never pair one build's facts with another's
passages. ``ServedIndex.get()`` looks at ``current`` once per call (a ``readlink`` and a
``stat``) and swaps in a new ``Index`` when a new build was switched in; callers take one
``Index`` per question and use it throughout. This is the storage layer the question
answering and the web layer read through: the SQL on passages lives here, not in qa/.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable

from .errors import NianbaoError
from . import layout, lexical, passages, store, vectors
from .factstore import FactStore, open_build_facts
from .passages import Passage

log = logging.getLogger(__name__)


class IndexNotFound(NianbaoError, FileNotFoundError):
    """No built index (or not the part asked for) at the given directory."""


_COLUMNS = ",".join(f.name for f in fields(Passage))


class Index:
    """One build directory, opened for reading."""

    def __init__(self, build_dir: str | Path):
        self.build_dir = Path(build_dir)
        try:
            self.stamp = _stamp(self.build_dir)
        except FileNotFoundError:
            raise IndexNotFound(f"no store in {self.build_dir}") from None
        self._lock = threading.RLock()
        self._cache: dict[str, Any] = {}
        self._db = None  # the connection passages are read through (shared, under the lock)
        self._lexical = None
        self._client = None
        self._collection = None
        self._has_vectors: bool | None = None

    @property
    def build_id(self) -> str:
        """The build's name (builds/<id>), as feedback records it (index.feedback)."""
        return self.build_dir.name

    # ------------------------------------------------------------------ facts
    def facts(self) -> FactStore:
        """A read-only fact store of this build (one connection: use it in one thread,
        close it, e.g. ``with index.facts() as store``): SQLite or PostgreSQL, as the build
        recorded."""
        return open_build_facts(self.build_dir)

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        """What ``make()`` returns, made once for this build (the catalog of names, …)."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = make()
            return self._cache[key]

    def peek(self, key: str) -> Any:
        """What ``cached`` made for ``key``, or None when nothing yet (for values made
        outside the lock because making them is slow: qa.suggest's examples)."""
        with self._lock:
            return self._cache.get(key)

    # ------------------------------------------------------------------ passages
    @property
    def has_retrieval(self) -> bool:
        return layout.bm25_dir(self.build_dir).exists()

    def _passage_db(self):
        if self._db is None:
            self._db = store.open_readonly(self.build_dir)
        return self._db

    def passages(self, ids: list[str]) -> dict[str, Passage]:
        """The stored passages with these ids (unknown ids left out)."""
        if not ids:
            return {}
        with self._lock:
            rows = self._passage_db().execute(
                f"SELECT {_COLUMNS} FROM passages WHERE id IN ({','.join('?' * len(ids))})", ids).fetchall()
        return {r["id"]: passages.row_to_passage(r) for r in rows}

    def section_passages(self, report_id: str, section: int) -> list[Passage]:
        """The text passages of one section of one report, in reading order."""
        with self._lock:
            rows = self._passage_db().execute(
                f"SELECT {_COLUMNS} FROM passages WHERE report_id = ? AND section = ? AND kind = 'text' "
                "ORDER BY seq", (report_id, section)).fetchall()
        return [passages.row_to_passage(r) for r in rows]

    def report_names(self) -> list[dict]:
        """Every report's id, title, body and short name (the agency filter of search)."""
        def make():
            with self.facts() as facts:
                return [{k: r[k] for k in ("id", "title", "body", "short_name")} for r in facts.catalog_reports()]
        return self.cached("report_names", make)

    @property
    def lexical(self) -> lexical.LexicalIndex:
        """The BM25 shards (memory-mapped)."""
        with self._lock:
            if self._lexical is None:
                if not self.has_retrieval:
                    raise IndexNotFound(f"{self.build_dir} has no retrieval index: rebuild it with the "
                                        "retrieval stage")
                try:
                    self._lexical = lexical.LexicalIndex.load(layout.bm25_dir(self.build_dir))
                except FileNotFoundError as error:
                    raise IndexNotFound(str(error)) from error
            return self._lexical

    @lexical.setter
    def lexical(self, value: lexical.LexicalIndex) -> None:
        self._lexical = value  # scripts/bench_retrieval.py tries other tokenizers

    @property
    def model(self) -> str | None:
        """The embedding model the build's vectors were made with (questions must be
        embedded with it), None when the build has no vectors."""
        def read():
            path = layout.model_file(self.build_dir)
            return path.read_text(encoding="utf-8").split("\n")[0].strip() or None if path.exists() else None
        return self.cached("model", read)

    @property
    def onnx_dir(self) -> Path | None:
        """The folder of ONNX exports the build embedded with (index.embeddings; None: the
        default, or a torch model)."""
        def read():
            path = layout.onnx_file(self.build_dir)
            return Path(path.read_text(encoding="utf-8").strip()) if path.exists() else None
        return self.cached("onnx_dir", read)

    @property
    def has_vectors(self) -> bool:
        """Whether the build has passage vectors (not with --no-embeddings)."""
        if self._has_vectors is None:
            try:
                self.collection
                self._has_vectors = True
            except IndexNotFound as error:
                log.info("%s: dense search unavailable, text search falls back to BM25", error)
                self._has_vectors = False
        return self._has_vectors

    @property
    def collection(self):
        """The passage vectors (a chromadb collection)."""
        with self._lock:
            if self._collection is None:
                # where the build put its vectors and with which model: as it recorded them
                self._client = vectors.open_client(self.build_dir, vectors.recorded_url(self.build_dir), self.model)
                try:
                    self._collection = vectors.get_collection(self._client, create=False)
                except Exception as error:  # chromadb's NotFoundError
                    raise IndexNotFound(
                        f"{self.build_dir} has no passage vectors (built with --no-embeddings?): "
                        "search with mode='bm25' or rebuild with embeddings") from error
            return self._collection

    def close(self) -> None:
        with self._lock:
            vectors.close_client(self._client)
            self._client = self._collection = None
            if self._db is not None:
                self._db.close()
                self._db = None


class ServedIndex:
    """The build an index directory serves, swapped when ``current`` changes."""

    def __init__(self, index_dir: str | Path):
        self.index_dir = Path(index_dir)
        self._index: Index | None = None
        self._lock = threading.Lock()

    def get(self) -> Index:
        """The Index of the build being served now. Raises IndexNotFound."""
        build = layout.current_dir(self.index_dir)
        if build is None:
            raise IndexNotFound(f"no index at {self.index_dir}: build one with scripts/build_index.py")
        try:
            stamp = _stamp(build)
        except FileNotFoundError:
            raise IndexNotFound(f"no store in {build}") from None
        held = self._index
        if held is not None and held.build_dir == build and held.stamp == stamp:
            return held
        with self._lock:
            if self._index is None or self._index.build_dir != build or self._index.stamp != stamp:
                old, self._index = self._index, Index(build)
                if old is not None:
                    # a question still holding the old build keeps working: its BM25 shards
                    # are memory-mapped and its store reopens lazily; only the pooled
                    # handles go now.
                    old.close()
            return self._index


def _stamp(build_dir: Path) -> int:
    """A build's store as last written: a served build never changes, but a bare store
    directory (tests, tools) may be rewritten in place."""
    return layout.store_file(build_dir).stat().st_mtime_ns


_served: dict[Path, ServedIndex] = {}
_served_lock = threading.Lock()


def served(index_dir: str | Path) -> ServedIndex:
    """The one ServedIndex of an index directory in this process."""
    key = Path(index_dir).absolute()
    with _served_lock:
        if key not in _served:
            _served[key] = ServedIndex(key)
        return _served[key]


def open_index(index: "Index | str | Path") -> Index:
    """An Index as given, or the one served from an index directory."""
    return index if isinstance(index, Index) else served(index).get()
