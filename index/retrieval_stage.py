"""The build stage that keeps the retrieval index in step with the store.

For each new or changed report: cut passages (index.passages), store them in the
``passages`` table of reports.db, embed the text passages (with the embedding cache in
``INDEX/embeddings.db``, shared by the index's builds: it only ever gains vectors keyed
by model and text, so it needs no copy per build) and upsert them into chroma. For a removed report:
delete its vectors (its passages rows go at the end). At the end: drop passages of
reports no longer in the store, redo everything if the embedding model or
passages.PASSAGE_VERSION changed (or add passages for reports indexed before this
stage existed, from the store), then redo the BM25 shards holding a report that was
added, changed or removed (all of them after a reset). When a fifth or more of the
reports were removed, the chroma collection is remade from the embedding cache (HNSW
keeps deleted vectors) and the old one's files go (vectors.compact).

``timings`` (seconds) splits the stage's work: 'passages' (cutting and storing them),
'embed' (the model, or its cache), 'vectors' (chroma), 'lexical' (BM25).

    from index.build import build
    from index.retrieval_stage import default_stages
    build("data", "var/index", stages=default_stages())
"""

from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from . import layout, lexical, passages, store, vectors
from .build import BuildStage
from .embeddings import EmbeddingCache
from .settings import Settings

EMBED_CACHE = layout.EMBED_CACHE
MODEL_FILE = layout.MODEL_FILE  # embedding model and passage version the index was made with
DENSE_KINDS = ("text",)  # passage kinds that get a vector (all kinds go to BM25)
# Passages are embedded in batches across reports: the model pads each batch to its
# longest text, and more texts per call sort into tighter batches (measured: 256
# passages in one call 1.55x faster than in calls of one report's 10).
EMBED_BATCH = 256
REBUILD_REMOVED_SHARE = 0.2  # remake the collection when this share of reports was removed


class RetrievalStage(BuildStage):
    """``dense=False``: passages and BM25 only, no embeddings or chroma (text answers use
    BM25 by default; dense and hybrid search then find nothing)."""

    def __init__(self, dense: bool = True, settings: Settings | None = None):
        self.dense = dense
        self.settings = settings or Settings()  # the embedding model and the Chroma server
        self._build_dir: Path | None = None
        self._client = None
        self._collection = None
        self._cache: EmbeddingCache | None = None
        self.embedded_passages = 0  # passages given a vector by this stage (from the cache or not)
        self.changed: set[str] | None = set()  # reports added, changed or removed; None: all
        self.timings = {"passages": 0.0, "embed": 0.0, "vectors": 0.0, "lexical": 0.0}
        self.lexical_shards_rebuilt = 0
        self._pending: list = []  # dense passages waiting for their vectors
        self.removed = 0  # reports removed in this build
        self.remade_passages = 0  # vectors copied into a remade collection (from the cache)
        self._redone: set[str] | None = set()  # reports finish() redid on its own (None: all)

    @contextmanager
    def _timed(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] += time.perf_counter() - started

    # chroma client and embedding cache stay open for the whole build
    def _open(self, build_dir: Path) -> None:
        build_dir = Path(build_dir)
        if self._build_dir == build_dir:
            return
        self._close()
        self._build_dir = build_dir
        if not self.dense:
            return
        self._client = vectors.open_client(build_dir, self.settings.chroma_url, self.settings.model_name)
        vectors.prepare_build(self._client, build_dir)  # server mode: the build's own collection
        self._collection = vectors.get_collection(self._client)
        self._cache = EmbeddingCache(cache_path(build_dir), self.settings.model_name, self.settings.onnx_dir)

    def _close(self) -> None:
        if self._cache is not None:
            self._cache.close()
        vectors.close_client(self._client)
        self._build_dir = self._client = self._collection = self._cache = None

    def _model_changed(self, build_dir: Path) -> bool:
        recorded = build_dir / vectors.CHROMA_DIR / MODEL_FILE
        return recorded.exists() and recorded.read_text(encoding="utf-8") != self._stamp()

    def _vectors_lost(self, build_dir: Path) -> bool:
        """The collection is empty although text passages exist (the index was moved
        to a Chroma server, or the server lost it): redo them (the cache has the vectors)."""
        if self._collection.count() > 0:
            return False
        db = passages.connect(build_dir / store.DB_NAME)
        try:
            return passages.has_kind(db, DENSE_KINDS)
        finally:
            db.close()

    def _stamp(self) -> str:
        return f"{self._cache.model}\npassages {passages.PASSAGE_VERSION}"

    def add_report(self, parsed, build_dir: Path) -> None:
        self._open(build_dir)
        if self.changed is not None:
            self.changed.add(parsed.id)
        with self._timed("passages"):
            items = passages.passages_for(parsed)
            db = passages.connect(Path(build_dir) / store.DB_NAME)
            try:
                passages.save_passages(db, parsed.id, items)
                db.commit()
            finally:
                db.close()
        if not self.dense:
            return
        with self._timed("vectors"):
            vectors.delete_report(self._collection, parsed.id)  # a changed report may have fewer passages
        # a report added twice in one build (index.crossyear refreshed it) waits once
        self._pending = [p for p in self._pending if p.report_id != parsed.id]
        self._pending.extend(p for p in items if p.kind in DENSE_KINDS)
        if len(self._pending) >= EMBED_BATCH:
            self._flush()

    def refresh_report(self, report_id: str, build_dir: Path) -> None:
        """Table-row passages show the settled values (index.crossyear changed them)."""
        self.add_report(report_from_store(Path(build_dir), report_id), build_dir)

    def _flush(self) -> None:
        """Embed the waiting passages (the cache first) and add them to chroma."""
        dense, self._pending = self._pending, []
        if not dense:
            return
        with self._timed("embed"):
            matrix = self._cache.embed([passages.dense_text(p) for p in dense])
        with self._timed("vectors"):
            vectors.add_passages(self._collection, dense, matrix)
        self.embedded_passages += len(dense)

    def remove_report(self, report_id: str, build_dir: Path) -> None:
        # build() calls this with its own write on reports.db uncommitted, so the passages
        # rows go in finish() (with every other report the store no longer has).
        self._open(build_dir)
        if self.changed is not None:
            self.changed.add(report_id)
        if not self.dense:
            return
        self._pending = [p for p in self._pending if p.report_id != report_id]
        self.removed += 1
        with self._timed("vectors"):
            vectors.delete_report(self._collection, report_id)

    def catch_up(self, report_ids: list[str], build_dir: Path, served_dir: Path) -> None:
        """A spare build catching up with the served one (index.build): the BM25 shards
        become the served ones (hard links) and the vectors of these reports are
        replaced by those of their passages, now copied into the store, from the
        embedding cache (the served build embedded them)."""
        build_dir, served_dir = Path(build_dir), Path(served_dir)
        if not self.dense and layout.model_file(served_dir).exists():
            # the served build has vectors this build would leave one build behind
            raise NotImplementedError("a build without embeddings copies a served build with vectors")
        lexical.link_from(served_dir, build_dir)
        stamp = layout.model_file(served_dir)
        if stamp.exists():
            layout.model_file(build_dir).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(stamp, layout.model_file(build_dir))
        self._open(build_dir)
        if not self.dense or not report_ids:
            return
        # (its time is the build's 'start', not this stage's timings)
        for report_id in report_ids:
            vectors.delete_report(self._collection, report_id)
        db = passages.connect(build_dir / store.DB_NAME)
        try:
            dense = [p for p in passages.load_passages(db, report_ids) if p.kind in DENSE_KINDS]
        finally:
            db.close()
        for i in range(0, len(dense), EMBED_BATCH):
            batch = dense[i:i + EMBED_BATCH]
            vectors.add_passages(self._collection, batch, self._cache.embed([passages.dense_text(p) for p in batch]))

    def reports_redone(self) -> set[str] | None:
        return self._redone

    def _mostly_removed(self, build_dir: Path) -> bool:
        """A fifth or more of the reports were removed: chroma's index keeps deleted vectors
        (HNSW only marks them), so the collection is remade from the embedding cache."""
        if not self.removed:
            return False
        with store.reopen_writer(build_dir) as facts:
            remaining = facts.report_count()
        return self.removed / (remaining + self.removed) >= REBUILD_REMOVED_SHARE

    def _remake_collection(self, build_dir: Path) -> None:
        """A new collection holding the remaining passages' vectors, all from the embedding
        cache (nothing is embedded again; passages and BM25 are untouched)."""
        db = passages.connect(build_dir / store.DB_NAME)
        try:
            dense = [p for p in passages.load_passages(db) if p.kind in DENSE_KINDS]
        finally:
            db.close()
        with self._timed("vectors"):
            self._collection = vectors.reset_collection(self._client)
        for i in range(0, len(dense), EMBED_BATCH):
            batch = dense[i:i + EMBED_BATCH]
            with self._timed("embed"):
                matrix = self._cache.embed([passages.dense_text(p) for p in batch])
            with self._timed("vectors"):
                vectors.add_passages(self._collection, batch, matrix)
        self.remade_passages = len(dense)

    def finish(self, build_dir: Path) -> None:
        build_dir = Path(build_dir)
        self._open(build_dir)
        self._flush()
        if self.dense and (self._model_changed(build_dir) or self._vectors_lost(build_dir)):
            self.changed = None  # every report is redone below
            self._collection = vectors.reset_collection(self._client)
            db = passages.connect(build_dir / store.DB_NAME)
            passages.delete_all(db)
            db.commit()
            db.close()
        with store.reopen_writer(build_dir) as facts:
            report_ids = facts.report_ids()
            db = passages.connect(build_dir / store.DB_NAME)
            try:
                passages.delete_orphans(db, report_ids)
                db.commit()
                # reports indexed before this stage existed (or by another model): redo from the store
                missing = passages.reports_without_passages(db, report_ids)
            finally:
                db.close()
            self._redone = None if self.changed is None else set(missing)
            for report_id in missing:
                self.add_report(facts.load_report(report_id), build_dir)
        self._flush()
        if self.dense and self.changed is not None and self._mostly_removed(build_dir):
            self._remake_collection(build_dir)
        if self.dense:
            (build_dir / vectors.CHROMA_DIR / MODEL_FILE).write_text(self._stamp(), encoding="utf-8")
            # where the server finds the ONNX export its questions must be embedded with
            layout.onnx_file(build_dir).write_text(str(Path(self.settings.onnx_dir).absolute()), encoding="utf-8")
            with self._timed("vectors"):
                vectors.prune_collections(self._client, build_dir)  # server mode: builds index.build prunes
        self._close()  # release chroma before build() renames the directory
        if self.dense:
            with self._timed("vectors"):
                vectors.compact(build_dir, self.settings.chroma_url)  # removed reports' vectors leave free pages
        with self._timed("lexical"):
            db = passages.connect(build_dir / store.DB_NAME)
            try:
                self.lexical_shards_rebuilt += lexical.update(
                    build_dir, report_ids, lambda ids: passages.load_passages(db, ids), self.changed)
            finally:
                db.close()
        self.changed = set()  # the stage may serve another build
        self.removed = 0


def report_from_store(build_dir: Path, report_id: str) -> store.StoredReport:
    """A stored report, read back (what passages_for reads) without parsing its file."""
    with store.reopen_writer(build_dir) as facts:
        return facts.load_report(report_id)


def cache_path(build_dir: Path) -> Path:
    """The embedding cache of an index: beside ``builds/`` (a bare build directory
    keeps its own)."""
    build_dir = Path(build_dir)
    if build_dir.parent.name == layout.BUILDS:
        return build_dir.parent.parent / EMBED_CACHE
    return build_dir / EMBED_CACHE


def default_stages(settings: Settings | None = None) -> list[BuildStage]:
    return [RetrievalStage(settings=settings)]
