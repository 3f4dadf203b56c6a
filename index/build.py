"""Build (or update) an index directory from a folder of reports.

Layout of an index directory::

    INDEX/current -> builds/20261124T013000_ab12cd   (symlink: the build being served)
    INDEX/builds/<build id>/reports.db                (index.store)

A build writes into a build directory nobody reads, re-parses only files whose content
hash changed, drops reports whose file is gone, and only then points ``current`` at it
(an atomic rename). A build that crashes or is interrupted leaves ``current`` and what
it serves untouched.

Which directory: two complete builds take turns (double buffering). The build before
the served one is not read by anyone; a new build renames it to ``<id>.partial`` and
catches it up with the served build by redoing only the reports the served build
changed (``build_info.changed_reports``: their rows copied from the served store,
index.store.copy_reports_from, then each stage's ``catch_up``), then applies its own
changes. Nothing is copied whole: at 10,000 reports copying the served store and
vectors (1.5 GB) was most of an incremental rebuild. The served build is copied, as
before, only when there is no such spare build (the first rebuild after a fresh
build, or after a build crashed), when the served build changed more than
RECYCLE_MAX_CHANGED reports or all of them, or when a stage cannot catch up.

The build writes through ``index.store.open_writer`` (a ``StoreWriter``): the build's
reports.db, or with ``facts_url`` (``NIANBAO_FACTS_URL``) a PostgreSQL schema of its own
(index.pgstore): the spare build's, caught up the same way, or a copy of the served
build's; the writer is sealed before the switch and drops the facts of the pruned builds
after it. A spare is caught up only when it and the served build keep their facts where
this build writes (both in reports.db, or both on this PostgreSQL server).

Staff metadata overrides (``metadata_file``, see index.metadata.read_overrides) are
applied to each report as it is parsed, before it is stored or passed to the stages.
``build_info`` records the file, its sha256 and every report it changed
(``metadata_overridden``: source file -> {field: [read, set]}); when the file changes,
the reports it overrode before or overrides now are read again.

One build at a time per index: ``INDEX/.build.lock`` (flock) makes a second concurrent
build fail at once with BuildLocked ("build already running"). Each file is parsed in a
worker process under index.limits (size, text length, time); a file over a limit is
rejected with the reason and the build goes on. Symbolic links are indexed only when
they point inside the input folder. The input folder is recorded as an absolute path
(``build_info.input_dir``: /api/reports/{id}/source serves from it, from any cwd).
After reports are removed the store is compacted (VACUUM) once a fifth of it is free
pages, and ``rejects`` keeps only the files rejected by this build.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from .errors import NianbaoError
from . import crossyear, layout, store
from .layout import current_dir  # noqa: F401 - where builds are served from (index.layout)
from .document import IngestError
from .limits import FileLimits, ParseWorker
from .load import is_supported
from .metadata import Overrides, read_overrides
from .parse import file_hash

LOCK_NAME = layout.BUILD_LOCK
# Bumped when what a file is read as changes (metadata rules, layouts, cells settled):
# an index read by another version is read again whole, even where no file changed.
PARSER_VERSION = "9"
VACUUM_FREE_SHARE = 0.2  # compact reports.db when this share of its pages is free
# A spare build is caught up when the served build changed at most this many reports;
# past that, copying the served build is cheaper (catching up re-adds each changed
# report's vectors: ≈ 10 a report, chroma adds ≈ 1,000 vectors/s).
RECYCLE_MAX_CHANGED = 200
ALL_CHANGED = "*"  # build_info.changed_reports when a build redid every report


class BuildLocked(NianbaoError, RuntimeError):
    """Another build of the same index is running."""


@dataclass
class ReportSummary:
    id: str
    source_file: str
    tables: list[str]
    cells: int
    uncertain: int
    failed_checks: int
    ocr_pages: int = 0  # pages read by OCR (scanned pages)


@dataclass
class BuildSummary:
    index_dir: str
    build_dir: str
    reports: list[ReportSummary] = field(default_factory=list)  # parsed in this build
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    total_reports: int = 0
    seconds: float = 0.0
    # where the time went, in seconds: 'parse', 'store', then each stage's own entries
    # (e.g. 'passages', 'embed', 'vectors', 'lexical'); 'start' is making the build
    # directory (catching up a spare build, or copying the served one) and opening its
    # writer (with PostgreSQL: making the schema, a copy of the served one); 'other' is
    # the rest (hashing, switching)
    timings: dict[str, float] = field(default_factory=dict)
    # how the build directory was made: "new" (no index yet), "caught-up" (the spare
    # build, caught up with the served one) or "copied" (a copy of the served build)
    started_from: str = ""
    # staff metadata overrides: {source file: {field: [read, set]}} for the reports
    # parsed in this build, and the rows of the file that match no report in the index
    overridden: dict[str, dict] = field(default_factory=dict)
    overrides_unmatched: list[str] = field(default_factory=list)


def open_store(index_dir: str | Path) -> sqlite3.Connection:
    """Read the index being served (read-only)."""
    build = current_dir(index_dir)
    if build is None:
        raise FileNotFoundError(f"no index at {index_dir}: build one with scripts/build_index.py")
    return store.open_readonly(build)


def find_reports(input_dir: str | Path) -> list[Path]:
    return find_files(input_dir)[0]


def find_files(input_dir: str | Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The files under ``input_dir`` (hidden ones skipped), and the symbolic links refused
    with the reason: a link is followed only when it points inside the folder (a link to a
    folder is never followed; its files inside the folder are found where they are)."""
    input_dir = Path(input_dir)
    if input_dir.is_file():
        return [input_dir], []
    files: list[Path] = []
    refused: list[tuple[Path, str]] = []
    _walk(str(input_dir), input_dir.resolve(), files, refused)
    return sorted(files), refused


def _walk(folder: str, root: Path, files: list[Path], refused: list[tuple[Path, str]]) -> None:
    """find_files, one folder: its files, then the links to folders, then its subfolders
    (os.walk's order). A DirEntry tells a file from a link without a stat call of its own:
    10,000 files walked in ≈ 0.05 s CPU instead of ≈ 0.11 s with os.walk and Path checks."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return  # an unreadable folder: skipped, as os.walk does
    names, linked_dirs, subfolders = [], [], []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:  # as os.walk: what cannot be checked is not a folder
            is_dir = False
        if not is_dir:
            names.append(entry)
        elif entry.is_symlink():
            linked_dirs.append(entry)
        else:
            subfolders.append(entry.path)
    for entry in names + linked_dirs:
        path = Path(entry.path)
        if entry.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(root):
                refused.append((path, f"symbolic link to {target}, outside the input folder: not followed"))
                continue
            if not target.is_file():
                continue  # a link to a folder inside: its files are found there
            files.append(path)
        elif entry.is_file():
            files.append(path)
    for subfolder in subfolders:
        _walk(subfolder, root, files, refused)


class _BuildLock:
    """An exclusive flock on INDEX/.build.lock for the length of a build."""

    def __init__(self, index_dir: Path):
        self.path = index_dir / LOCK_NAME
        self.fd: int | None = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = os.pread(self.fd, 200, 0).decode(errors="replace").strip()
            os.close(self.fd)
            self.fd = None
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise BuildLocked(f"a build of {self.path.parent} is already running ({holder or 'another process'}): "
                                  "wait for it to finish, then run this one again") from None
            raise
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"pid {os.getpid()}, started {time.strftime('%H:%M:%S')}".encode(), 0)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


# Files of a build that are only ever replaced whole, never written in place (the BM25
# shards: index.lexical writes a new folder and renames it): a new build links them
# instead of copying. In a 10,000-report index that saves copying 400 MB per build.
LINKED_DIRS = (layout.BM25_DIR,)
# Left behind: the embedding cache of builds made before it moved beside builds/.
NOT_COPIED = (layout.EMBED_CACHE,)


def _copy_or_link(src: str, dst: str) -> None:
    if Path(src).parent.name in LINKED_DIRS or Path(src).parent.parent.name in LINKED_DIRS:
        os.link(src, dst)
    else:
        shutil.copy2(src, dst)


def _can_catch_up(stage: BuildStage) -> bool:
    return type(stage).catch_up is not BuildStage.catch_up


def _spare_build(index_dir: Path, previous: Path, stages: list[BuildStage],
                 facts_url: str | None = None) -> tuple[Path, list[str]] | None:
    """The complete build the served one was made from, and the reports the served
    build changed, when catching it up beats copying the served build. The served and
    the spare build must keep their facts where this build will (the same reports.db
    layout, or schemas on the same PostgreSQL server)."""
    if previous.parent != layout.builds_dir(index_dir).resolve() or not all(map(_can_catch_up, stages)):
        return None
    if not stages and (layout.bm25_dir(previous).exists() or layout.chroma_dir(previous).exists()):
        return None  # files no stage of this build would catch up: copy them as served
    served_facts = layout.recorded_facts(previous)
    if not _facts_here(served_facts, facts_url):
        return None  # the facts move to another store: every report is read again anyway
    if served_facts is None:
        db = store.open_readonly(previous)
        try:
            served_info = store.info(db)
        finally:
            db.close()
    else:
        from .pgstore import schema_info

        served_info = schema_info(*served_facts)
    parent, changed = served_info.get("parent_build", ""), served_info.get("changed_reports", ALL_CHANGED)
    spare = previous.parent / parent
    if not parent or parent.endswith(layout.PARTIAL_SUFFIX) or not layout.store_file(spare).exists() \
            or changed == ALL_CHANGED or not _facts_here(layout.recorded_facts(spare), facts_url):
        return None
    if served_facts is not None:
        from .pgstore import schema_exists

        if not schema_exists(*layout.recorded_facts(spare)):
            return None  # dropped by hand, or a server restored without it
    changed = json.loads(changed)
    return (spare, changed) if len(changed) <= RECYCLE_MAX_CHANGED else None


def _facts_here(recorded: tuple[str, str] | None, facts_url: str | None) -> bool:
    """A build's recorded facts are where this build writes: both in reports.db, or both
    on this PostgreSQL server."""
    return recorded is None if facts_url is None else recorded is not None and recorded[0] == facts_url


def _start_build(index_dir: Path, previous: Path | None, partial: Path, stages: list[BuildStage],
                 facts_url: str | None = None) -> tuple[str, tuple[str, list[str]] | None]:
    """Make the build directory: "new", "caught-up" (the spare build renamed, then its
    store and each stage's files caught up with the served build) or "copied" (the
    served build copied). With the facts in PostgreSQL, also what the writer catches up
    there: (the spare build's schema, the reports the served build changed), else None."""
    if previous is None:
        partial.mkdir(parents=True)
        return "new", None
    spare = _spare_build(index_dir, previous, stages, facts_url)
    if spare is not None:
        folder, changed = spare
        spare_facts = layout.recorded_facts(folder)
        os.rename(folder, partial)  # from here a crash leaves a .partial, never a wrong complete build
        db = store.connect(partial)
        try:
            store.copy_reports_from(db, previous, changed)  # with PostgreSQL: the passages
        finally:
            db.close()
        try:
            for stage in stages:
                stage.catch_up(changed, partial, previous)
            return "caught-up", (spare_facts[1], changed) if spare_facts else None
        except NotImplementedError:  # a stage cannot, for this served build: copy it after all
            shutil.rmtree(partial)  # (its schema, if any, is dropped by this build's prune)
    # Start from a copy of what is served (store, vectors, lexical index): only
    # changed files are redone, and the served copy is never written to.
    shutil.copytree(previous, partial, copy_function=_copy_or_link,
                    ignore=shutil.ignore_patterns(*NOT_COPIED))
    return "copied", None


def _switch_current(index_dir: Path, build_dir: Path) -> None:
    tmp_link = index_dir / f".current.{uuid.uuid4().hex}"
    os.symlink(os.path.relpath(build_dir, index_dir), tmp_link)
    os.replace(tmp_link, layout.current_link(index_dir))  # atomic on POSIX


def _prune_builds(index_dir: Path, keep: set[Path]) -> None:
    for old in layout.builds_dir(index_dir).iterdir():
        if old.resolve() not in keep:
            store.drop_facts(old)  # its PostgreSQL schema, when it had one
            shutil.rmtree(old, ignore_errors=True)


class BuildStage:
    """A later stage of the build (e.g. passages and embeddings) that keeps its own
    files in the build directory in step with the store. A stage may keep a
    ``timings`` dict (name -> seconds) that the build summary reports."""

    def add_report(self, parsed, build_dir: Path) -> None: ...

    def remove_report(self, report_id: str, build_dir: Path) -> None: ...

    def finish(self, build_dir: Path) -> None: ...

    def refresh_report(self, report_id: str, build_dir: Path) -> None:
        """The report's facts changed in the store after add_report (index.crossyear
        settled cells from a neighbouring report)."""

    def catch_up(self, report_ids: list[str], build_dir: Path, served_dir: Path) -> None:
        """Bring the stage's files in ``build_dir`` (a spare build, one build behind) in
        step with ``served_dir`` for these reports, the ones the served build changed:
        the store of ``build_dir`` already holds the served rows for them (a report it
        lacks was removed). A stage that does not override this makes builds copy the
        served build instead; one that raises NotImplementedError makes this build copy
        it (the spare is then lost)."""
        raise NotImplementedError

    def reports_redone(self) -> set[str] | None:
        """After finish(): reports whose rows or files the stage rewrote beyond those the
        build handed it (None: every report), recorded so a later build can catch up."""
        return set()


def build(input_dir: str | Path, index_dir: str | Path, progress: bool = True,
          stages: list[BuildStage] | None = None, metadata_file: str | Path | None = None,
          limits: FileLimits | None = None, ocr: str = "auto", facts_url: str | None = None) -> BuildSummary:
    """Index every supported file under `input_dir` into `index_dir`.

    ``stages`` run for each new, changed or removed report, and once at the end,
    before the new build is switched in. ``metadata_file`` is a staff override CSV
    (index.metadata.read_overrides); a bad one raises MetadataFileError before
    anything is written. ``limits``: the per-file limits (index.settings ``limits``;
    default FileLimits()). ``ocr``: "auto" reads the PDF pages without text by OCR,
    "force" every PDF page, "off" none (index.load_pdf). ``facts_url``: the facts go to
    PostgreSQL (index.settings ``facts_url``; index.pgstore), else to the build's
    reports.db. BuildLocked when another build of ``index_dir`` is running."""
    from .ocr import check_mode

    check_mode(ocr)
    overrides = read_overrides(metadata_file) if metadata_file else None
    limits = limits or FileLimits()
    if not Path(input_dir).exists():
        raise FileNotFoundError(f"input folder {input_dir} does not exist")
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    with _BuildLock(Path(index_dir)), ParseWorker(limits) as worker:
        return _build(Path(input_dir).resolve(), Path(index_dir), progress, stages or [], worker, overrides, ocr,
                      facts_url)


def _build(input_dir: Path, index_dir: Path, progress: bool, stages: list[BuildStage],
           worker: ParseWorker, overrides: Overrides | None, ocr: str, facts_url: str | None) -> BuildSummary:
    started = time.perf_counter()
    clock = {"start": 0.0, "parse": 0.0, "store": 0.0, "crossyear": 0.0}
    previous = current_dir(index_dir)
    build_id = time.strftime("%Y%m%dT%H%M%S") + "_" + uuid.uuid4().hex[:6]
    partial = layout.builds_dir(index_dir) / (build_id + layout.PARTIAL_SUFFIX)
    summary = BuildSummary(str(index_dir), "")
    try:
        summary.started_from, spare_facts = _start_build(index_dir, previous, partial, stages, facts_url)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)  # the served index is untouched
        raise
    # the writer for this build (index.store.StoreWriter)
    db = store.open_writer(partial, facts_url, previous, spare=spare_facts)
    clock["start"] = time.perf_counter() - started  # with PostgreSQL: the copy of the served schema too
    try:
        known = db.reports_by_source()
        hashed = db.file_stats()
        previous_info = db.info()
        overridden: dict[str, dict] = json.loads(previous_info.get("metadata_overridden") or "{}")
        reread = _reread_for_overrides(db, previous_info, overrides, overridden)
        if previous_info.get("parser_version", "") != PARSER_VERSION:
            reread |= set(known)  # the parser changed since these were read: read them all again
        files, refused = find_files(input_dir)
        for path, reason in refused:
            summary.rejected.append((str(path.relative_to(input_dir)), reason))
            db.save_reject(*summary.rejected[-1])
        seen: set[str] = set()
        # bodies whose set of reports changed: index.crossyear decides their cells again
        bodies = db.bodies_by_id()
        touched: set[str] = set()
        added: set[str] = set()
        removed_ids: set[str] = set()
        used_ids = {rid for rid, _ in known.values()}
        bar = tqdm(files, desc="indexing", unit="file", disable=not progress)
        ocr_pages = 0
        for path in bar:
            source = str(path.relative_to(input_dir)) if path != input_dir else path.name
            if not is_supported(path):
                summary.rejected.append((source, f"unsupported file type {path.suffix or '(none)'}"))
                db.save_reject(source, summary.rejected[-1][1])
                continue
            seen.add(source)
            t0 = time.perf_counter()
            try:
                worker.check(path)  # over the size limit: refused before it is even hashed
                digest = _content_hash(db, path, source, hashed.get(source))
                if source in known and known[source][1] == digest and source not in reread:
                    summary.unchanged += 1
                    continue
                overridden.pop(source, None)
                t0 = time.perf_counter()
                parsed = worker.parse(path, source_file=source, ocr=ocr)
            except IngestError as error:
                clock["parse"] += time.perf_counter() - t0
                summary.rejected.append((source, error.reason))
                db.save_reject(source, error.reason)
                if source in known:  # the file changed into something unreadable
                    touched.add(bodies.get(known[source][0]))
                    removed_ids.add(known[source][0])
                    db.delete_report(known[source][0])
                    db.commit()  # stages open the store with their own connection
                    for stage in stages:
                        stage.remove_report(known[source][0], partial)
                continue
            t1 = time.perf_counter()
            clock["parse"] += t1 - t0
            if overrides:
                changes = overrides.apply(parsed.meta, source)
                if changes:
                    overridden[source] = summary.overridden[source] = changes
            if parsed.ocr_pages:
                ocr_pages += len(parsed.ocr_pages)
                bar.set_postfix(ocr_pages=ocr_pages)
            parsed.id = _unique_id(parsed.id, source, known, used_ids)
            used_ids.add(parsed.id)
            touched |= {bodies.get(parsed.id), parsed.meta.body}
            added.add(parsed.id)
            db.save_report(parsed)
            db.commit()
            clock["store"] += time.perf_counter() - t1
            for stage in stages:
                stage.add_report(parsed, partial)
            summary.reports.append(ReportSummary(
                parsed.id, source, parsed.tables_found, len(parsed.facts),
                parsed.uncertain_cells, len(parsed.failed_checks), len(parsed.ocr_pages)))
        db.forget_file_stats([s for s in hashed if s not in seen])
        for source, (rid, _) in known.items():
            if source not in seen:
                overridden.pop(source, None)
                touched.add(bodies.get(rid))
                removed_ids.add(rid)
                db.delete_report(rid)
                db.commit()
                for stage in stages:
                    stage.remove_report(rid, partial)
                summary.removed.append(source)
        t0 = time.perf_counter()
        refreshed: set[str] = set()
        for body in sorted(b for b in touched if b):
            refreshed |= crossyear.settle_body(db, body)
        db.commit()
        clock["crossyear"] = time.perf_counter() - t0
        for rid in sorted(refreshed):
            for stage in stages:
                stage.refresh_report(rid, partial)
        for rs in summary.reports:
            if rs.id in refreshed:
                rs.uncertain = db.uncertain_count(rs.id)
        summary.total_reports = db.report_count()
        db.keep_rejects({source for source, _ in summary.rejected})  # files gone, or readable now
        db.set_info(built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"), input_dir=str(input_dir),
                    report_count=summary.total_reports, parser_version=PARSER_VERSION,
                    metadata_file=str(Path(overrides.path).resolve()) if overrides else "",
                    metadata_sha256=overrides.sha256 if overrides else "",
                    metadata_overridden=json.dumps(overridden, ensure_ascii=False, sort_keys=True))
        if overrides:
            summary.overrides_unmatched = [row.describe() for row in _unmatched(db, overrides, overridden)]
        db.commit()
        for stage in stages:
            stage.finish(partial)
        # what the next build redoes to catch this one's directory up, once it is the spare
        changed: set[str] | None = added | removed_ids | refreshed
        for stage in stages:
            redone = stage.reports_redone()
            changed = None if changed is None or redone is None else changed | redone
        db.set_info(parent_build=previous.name if previous is not None else "",
                       changed_reports=ALL_CHANGED if changed is None else json.dumps(sorted(changed)))
        db.commit()
        t0 = time.perf_counter()
        _compact(db)
        db.seal()
        clock["seal"] = time.perf_counter() - t0  # with PostgreSQL: its ANALYZE
    except BaseException:
        db.abandon()
        shutil.rmtree(partial, ignore_errors=True)  # the served index is untouched
        raise
    final = partial.with_name(build_id)
    os.rename(partial, final)
    _switch_current(index_dir, final)
    kept = {final.resolve()} | ({previous.resolve()} if previous else set())
    _prune_builds(index_dir, keep=kept)
    try:
        db.prune(kept)
    finally:
        db.close()
    summary.build_dir = str(final)
    summary.seconds = time.perf_counter() - started
    for stage in stages:
        for name, seconds in getattr(stage, "timings", {}).items():
            clock[name] = clock.get(name, 0.0) + seconds
    clock["other"] = max(0.0, summary.seconds - sum(clock.values()))
    summary.timings = {name: round(seconds, 3) for name, seconds in clock.items()}
    return summary


def _reread_for_overrides(db: store.StoreWriter, info: dict[str, str], overrides: Overrides | None,
                          overridden: dict[str, dict]) -> set[str]:
    """Unchanged files to read again because the override file changed since the last
    build: those it overrode then (to undo) and those it overrides now."""
    if info.get("metadata_sha256", "") == (overrides.sha256 if overrides else ""):
        return set()
    reread = set(overridden)
    if overrides:
        # A report not overridden before is stored with the body it was read with.
        reread |= {source for source, body in db.sources_and_bodies() if overrides.matches(source, body)}
    return reread


def _unmatched(db: store.StoreWriter, overrides: Overrides, overridden: dict[str, dict]):
    rows = db.sources_and_bodies()
    bodies = {body for _, body in rows} | {c["body"][0] for c in overridden.values() if "body" in c}
    return overrides.unmatched({source for source, _ in rows}, bodies)


def _compact(db: store.StoreWriter) -> None:
    """VACUUM the build's store when removed reports left a fifth of it as free pages
    (it is copied by every later build)."""
    db.compact(VACUUM_FREE_SHARE)


def _content_hash(db: store.StoreWriter, path: Path, source: str, recorded: tuple | None) -> str:
    """The file's sha256, read again only when its size or mtime changed since it was
    last hashed (what rsync and make trust too)."""
    st = path.stat()
    if recorded is not None and recorded[:2] == (st.st_size, st.st_mtime_ns):
        return recorded[2]
    digest = file_hash(path)
    db.record_file_stat(source, st.st_size, st.st_mtime_ns, digest)
    return digest


def _unique_id(rid: str, source: str, known: dict, used: set[str]) -> str:
    if source in known:
        return known[source][0]  # a changed file keeps its id
    candidate, n = rid, 2
    while candidate in used:
        candidate, n = f"{rid}_{n}", n + 1
    return candidate
