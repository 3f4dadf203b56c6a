"""Build (or update) an index directory from a folder of reports.

Layout of an index directory::

    INDEX/current -> builds/20261124T013000_ab12cd   (symlink: the build being served)
    INDEX/builds/<build id>/reports.db                (index.store)

A build copies the current store into a new build directory, re-parses only files
whose content hash changed, drops reports whose file is gone, and only then points
``current`` at it (an atomic rename). A build that crashes or is interrupted leaves
``current`` and what it serves untouched.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from . import store
from .document import IngestError
from .load import is_supported
from .parse import file_hash, parse_report


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
    # (e.g. 'passages', 'embed', 'vectors', 'lexical'); 'other' is the rest (hashing,
    # copying the served build, switching)
    timings: dict[str, float] = field(default_factory=dict)


def current_dir(index_dir: str | Path) -> Path | None:
    """The build directory being served, or None when nothing was built yet."""
    index_dir = Path(index_dir)
    link = index_dir / "current"
    if link.exists():
        return link.resolve()
    if (index_dir / store.DB_NAME).exists():  # a bare store directory
        return index_dir
    return None


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


def build(input_dir: str | Path, index_dir: str | Path, progress: bool = True,
          stages: list[BuildStage] | None = None, ocr: str = "auto") -> BuildSummary:
    """Index every supported file under `input_dir` into `index_dir`.

    ``stages`` run for each new, changed or removed report, and once at the end,
    before the new build is switched in. ``ocr``: "auto" reads the PDF pages without
    text by OCR, "force" every PDF page, "off" none (index.load_pdf)."""
    from .ocr import check_mode

    check_mode(ocr)
    stages = stages or []
    started = time.perf_counter()
    clock = {"parse": 0.0, "store": 0.0}
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
        files = find_reports(input_dir)
        seen: set[str] = set()
        used_ids = {rid for rid, _ in known.values()}
        bar = tqdm(files, desc="indexing", unit="file", disable=not progress)
        ocr_pages = 0
        for path in bar:
            source = str(path.relative_to(input_dir)) if path != input_dir else path.name
            if not is_supported(path):
                summary.rejected.append((source, f"unsupported file type {path.suffix or '(none)'}"))
                store.save_reject(db, source, summary.rejected[-1][1])
                continue
            seen.add(source)
            digest = _content_hash(db, path, source, hashed.get(source))
            if source in known and known[source][1] == digest:
                summary.unchanged += 1
                continue
            t0 = time.perf_counter()
            try:
                parsed = parse_report(path, source_file=source, ocr=ocr)
            except IngestError as error:
                clock["parse"] += time.perf_counter() - t0
                summary.rejected.append((source, error.reason))
                store.save_reject(db, source, error.reason)
                if source in known:  # the file changed into something unreadable
                    store.delete_report(db, known[source][0])
                    db.commit()  # stages open the store with their own connection
                    for stage in stages:
                        stage.remove_report(known[source][0], partial)
                continue
            t1 = time.perf_counter()
            clock["parse"] += t1 - t0
            if parsed.ocr_pages:
                ocr_pages += len(parsed.ocr_pages)
                bar.set_postfix(ocr_pages=ocr_pages)
            parsed.id = _unique_id(parsed.id, source, known, used_ids)
            used_ids.add(parsed.id)
            store.save_report(db, parsed)
            db.commit()
            clock["store"] += time.perf_counter() - t1
            for stage in stages:
                stage.add_report(parsed, partial)
            summary.reports.append(ReportSummary(
                parsed.id, source, parsed.tables_found, len(parsed.facts),
                parsed.uncertain_cells, len(parsed.failed_checks), len(parsed.ocr_pages)))
        db.executemany("DELETE FROM file_stats WHERE source_file = ?", [(s,) for s in hashed if s not in seen])
        for source, (rid, _) in known.items():
            if source not in seen:
                store.delete_report(db, rid)
                db.commit()
                for stage in stages:
                    stage.remove_report(rid, partial)
                summary.removed.append(source)
        summary.total_reports = db.execute("SELECT COUNT(*) FROM reports").fetchone()[0]
        store.set_info(db, built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"), input_dir=str(input_dir),
                       report_count=summary.total_reports)
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
