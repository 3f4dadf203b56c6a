"""Build (or update) an index directory from a folder of reports.

Layout of an index directory::

    INDEX/current -> builds/20261124T013000_ab12cd   (symlink: the build being served)
    INDEX/builds/<build id>/reports.db                (index.store)

A build copies the current store into a new build directory, re-parses only files
whose content hash changed, drops reports whose file is gone, and only then points
``current`` at it (an atomic rename). A build that crashes or is interrupted leaves
``current`` and what it serves untouched.

Staff metadata overrides (``metadata_file``, see index.metadata.read_overrides) are
applied to each report as it is parsed, before it is stored or passed to the stages.
``build_info`` records the file, its sha256 and every report it changed
(``metadata_overridden``: source file -> {field: [read, set]}); when the file changes,
the reports it overrode before or overrides now are read again.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from . import crossyear, store
from .layout import current_dir  # noqa: F401 - where builds are served from (index.layout)
from .document import IngestError
from .load import is_supported
from .metadata import Overrides, read_overrides
from .parse import file_hash, parse_report


@dataclass
class ReportSummary:
    id: str
    source_file: str
    tables: list[str]
    cells: int
    uncertain: int
    failed_checks: int


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
    # (e.g. 'passages', 'embed', 'vectors', 'lexical'); 'other' is the rest (hashing,
    # copying the served build, switching)
    timings: dict[str, float] = field(default_factory=dict)
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
    input_dir = Path(input_dir)
    if input_dir.is_file():
        return [input_dir]
    return sorted(p for p in input_dir.rglob("*") if p.is_file() and not p.name.startswith("."))


# Files of a build that are only ever replaced whole, never written in place (the BM25
# shards: index.lexical writes a new folder and renames it): a new build links them
# instead of copying. In a 10,000-report index that saves copying 400 MB per build.
LINKED_DIRS = ("bm25",)
# Left behind: the embedding cache of builds made before it moved beside builds/.
NOT_COPIED = ("embeddings.db",)


def _copy_or_link(src: str, dst: str) -> None:
    if Path(src).parent.name in LINKED_DIRS or Path(src).parent.parent.name in LINKED_DIRS:
        os.link(src, dst)
    else:
        shutil.copy2(src, dst)


def _switch_current(index_dir: Path, build_dir: Path) -> None:
    tmp_link = index_dir / f".current.{uuid.uuid4().hex}"
    os.symlink(os.path.relpath(build_dir, index_dir), tmp_link)
    os.replace(tmp_link, index_dir / "current")  # atomic on POSIX


def _prune_builds(index_dir: Path, keep: set[Path]) -> None:
    for old in (index_dir / "builds").iterdir():
        if old.resolve() not in keep:
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


def build(input_dir: str | Path, index_dir: str | Path, progress: bool = True,
          stages: list[BuildStage] | None = None, metadata_file: str | Path | None = None) -> BuildSummary:
    """Index every supported file under `input_dir` into `index_dir`.

    ``stages`` run for each new, changed or removed report, and once at the end,
    before the new build is switched in. ``metadata_file`` is a staff override CSV
    (index.metadata.read_overrides); a bad one raises MetadataFileError before
    anything is written."""
    overrides = read_overrides(metadata_file) if metadata_file else None
    stages = stages or []
    started = time.perf_counter()
    clock = {"parse": 0.0, "store": 0.0, "crossyear": 0.0}
    input_dir, index_dir = Path(input_dir), Path(index_dir)
    if not input_dir.exists():
        raise FileNotFoundError(f"input folder {input_dir} does not exist")
    index_dir.mkdir(parents=True, exist_ok=True)
    previous = current_dir(index_dir)
    build_id = time.strftime("%Y%m%dT%H%M%S") + "_" + uuid.uuid4().hex[:6]
    partial = index_dir / "builds" / (build_id + ".partial")
    if previous is not None:
        # Start from a copy of what is served (store, vectors, lexical index): only
        # changed files are redone, and the served copy is never written to.
        shutil.copytree(previous, partial, copy_function=_copy_or_link,
                        ignore=shutil.ignore_patterns(*NOT_COPIED))
    else:
        partial.mkdir(parents=True)
    summary = BuildSummary(str(index_dir), "")
    db = store.connect(partial)
    try:
        known = {row["source_file"]: (row["id"], row["content_hash"])
                 for row in db.execute("SELECT id, source_file, content_hash FROM reports")}
        hashed = {row["source_file"]: (row["size"], row["mtime_ns"], row["content_hash"])
                  for row in db.execute("SELECT * FROM file_stats")}
        previous_info = store.info(db)
        overridden: dict[str, dict] = json.loads(previous_info.get("metadata_overridden") or "{}")
        reread = _reread_for_overrides(db, previous_info, overrides, overridden)
        files = find_reports(input_dir)
        seen: set[str] = set()
        # bodies whose set of reports changed: index.crossyear decides their cells again
        bodies = {row["id"]: row["body"] for row in db.execute("SELECT id, body FROM reports")}
        touched: set[str] = set()
        added: set[str] = set()
        used_ids = {rid for rid, _ in known.values()}
        for path in tqdm(files, desc="indexing", unit="file", disable=not progress):
            source = str(path.relative_to(input_dir)) if path != input_dir else path.name
            if not is_supported(path):
                summary.rejected.append((source, f"unsupported file type {path.suffix or '(none)'}"))
                store.save_reject(db, source, summary.rejected[-1][1])
                continue
            seen.add(source)
            digest = _content_hash(db, path, source, hashed.get(source))
            if source in known and known[source][1] == digest and source not in reread:
                summary.unchanged += 1
                continue
            overridden.pop(source, None)
            t0 = time.perf_counter()
            try:
                parsed = parse_report(path, source_file=source)
            except IngestError as error:
                clock["parse"] += time.perf_counter() - t0
                summary.rejected.append((source, error.reason))
                store.save_reject(db, source, error.reason)
                if source in known:  # the file changed into something unreadable
                    touched.add(bodies.get(known[source][0]))
                    store.delete_report(db, known[source][0])
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
            parsed.id = _unique_id(parsed.id, source, known, used_ids)
            used_ids.add(parsed.id)
            touched |= {bodies.get(parsed.id), parsed.meta.body}
            added.add(parsed.id)
            store.save_report(db, parsed)
            db.commit()
            clock["store"] += time.perf_counter() - t1
            for stage in stages:
                stage.add_report(parsed, partial)
            summary.reports.append(ReportSummary(
                parsed.id, source, parsed.tables_found, len(parsed.facts),
                parsed.uncertain_cells, len(parsed.failed_checks)))
        db.executemany("DELETE FROM file_stats WHERE source_file = ?", [(s,) for s in hashed if s not in seen])
        for source, (rid, _) in known.items():
            if source not in seen:
                overridden.pop(source, None)
                touched.add(bodies.get(rid))
                store.delete_report(db, rid)
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
                rs.uncertain = db.execute("SELECT COUNT(*) FROM facts WHERE report_id = ? AND uncertain = 1",
                                          (rs.id,)).fetchone()[0]
        summary.total_reports = db.execute("SELECT COUNT(*) FROM reports").fetchone()[0]
        store.set_info(db, built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"), input_dir=str(input_dir),
                       report_count=summary.total_reports,
                       metadata_file=str(Path(overrides.path).resolve()) if overrides else "",
                       metadata_sha256=overrides.sha256 if overrides else "",
                       metadata_overridden=json.dumps(overridden, ensure_ascii=False, sort_keys=True))
        if overrides:
            summary.overrides_unmatched = [row.describe() for row in _unmatched(db, overrides, overridden)]
        db.commit()
        for stage in stages:
            stage.finish(partial)
    except BaseException:
        db.close()
        shutil.rmtree(partial, ignore_errors=True)  # the served index is untouched
        raise
    db.close()
    store.sync_to_disk(partial)
    final = partial.with_name(build_id)
    os.rename(partial, final)
    _switch_current(index_dir, final)
    _prune_builds(index_dir, keep={final.resolve()} | ({previous.resolve()} if previous else set()))
    summary.build_dir = str(final)
    summary.seconds = time.perf_counter() - started
    for stage in stages:
        for name, seconds in getattr(stage, "timings", {}).items():
            clock[name] = clock.get(name, 0.0) + seconds
    clock["other"] = max(0.0, summary.seconds - sum(clock.values()))
    summary.timings = {name: round(seconds, 3) for name, seconds in clock.items()}
    return summary


def _reread_for_overrides(db: sqlite3.Connection, info: dict[str, str], overrides: Overrides | None,
                          overridden: dict[str, dict]) -> set[str]:
    """Unchanged files to read again because the override file changed since the last
    build: those it overrode then (to undo) and those it overrides now."""
    if info.get("metadata_sha256", "") == (overrides.sha256 if overrides else ""):
        return set()
    reread = set(overridden)
    if overrides:
        # A report not overridden before is stored with the body it was read with.
        reread |= {row["source_file"] for row in db.execute("SELECT source_file, body FROM reports")
                   if overrides.matches(row["source_file"], row["body"] or "")}
    return reread


def _unmatched(db: sqlite3.Connection, overrides: Overrides, overridden: dict[str, dict]):
    rows = db.execute("SELECT source_file, body FROM reports").fetchall()
    bodies = {r["body"] or "" for r in rows} | {c["body"][0] for c in overridden.values() if "body" in c}
    return overrides.unmatched({r["source_file"] for r in rows}, bodies)


def _content_hash(db: sqlite3.Connection, path: Path, source: str, recorded: tuple | None) -> str:
    """The file's sha256, read again only when its size or mtime changed since it was
    last hashed (what rsync and make trust too)."""
    st = path.stat()
    if recorded is not None and recorded[:2] == (st.st_size, st.st_mtime_ns):
        return recorded[2]
    digest = file_hash(path)
    db.execute("INSERT OR REPLACE INTO file_stats VALUES (?,?,?,?)", (source, st.st_size, st.st_mtime_ns, digest))
    return digest


def _unique_id(rid: str, source: str, known: dict, used: set[str]) -> str:
    if source in known:
        return known[source][0]  # a changed file keeps its id
    candidate, n = rid, 2
    while candidate in used:
        candidate, n = f"{rid}_{n}", n + 1
    return candidate
