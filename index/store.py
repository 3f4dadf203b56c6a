"""The structured store: one SQLite file, ``reports.db``, in the index directory.

Schema (one row per …):

- ``reports``: report. ``id`` (file stem, unique), ``source_file`` (path relative to
  the input folder), ``content_hash`` (sha256 of the file bytes), ``format``, ``title``,
  ``body`` (full issuing body), ``short_name``, ``level`` (township/county/city/province/
  department), ``province``/``city``/``county`` (regions the body names), ``year`` (year
  covered), ``doc_number`` (文号), ``publish_date``, ``template`` (2019/2021),
  ``page_count``, ``problems`` (JSON list of parse warnings), ``official_url`` (the page
  the report was published on, when the document or its crawler header gives it).
- ``sections``: standard section of a report. ``number`` 0-6 (0 = title and preamble),
  ``title`` as printed, ``text``, ``line_start``/``line_end``, ``page_start``/``page_end``.
- ``facts``: table cell. ``tbl`` (主动公开/依申请/复议诉讼), ``row``, ``col`` (canonical
  keys of index.template), ``value`` (number as text, NULL when blank or uncertain),
  ``number`` (REAL, NULL when blank or uncertain), ``unit``, ``raw`` (source text),
  ``page``, ``blank`` (0/1), ``uncertain`` (0/1), ``candidates`` (JSON list of readings),
  ``reason`` (why a value not read one number per cell is settled: a narrative pin,
  the template's arithmetic, or ``cross-year: …`` from the body's next report (set by
  index.crossyear, which keeps ``candidates`` so it can undo itself)).
- ``checks``: arithmetic or narrative check. ``rule``, ``scope``, ``passed`` (1/0, NULL
  when not decidable), ``detail`` (the equation with the report's numbers).
- ``rejects``: file that could not be indexed, with the ``reason``.
- ``build_info``: key/value (built_at, input_dir, report_count, …).
- ``file_stats``: size, mtime and content hash of each input file when last hashed: a
  file whose size and mtime are unchanged is not read again (10,000 files: 0.6 s a build).
"""

from __future__ import annotations

import json
import os
import sqlite3
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from . import layout

DB_NAME = layout.DB_NAME

SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    id TEXT PRIMARY KEY, source_file TEXT NOT NULL, content_hash TEXT NOT NULL,
    format TEXT, title TEXT, body TEXT, short_name TEXT, level TEXT,
    province TEXT, city TEXT, county TEXT, year INTEGER, doc_number TEXT,
    publish_date TEXT, template TEXT, page_count INTEGER, problems TEXT, official_url TEXT
);
CREATE TABLE IF NOT EXISTS sections (
    report_id TEXT NOT NULL REFERENCES reports(id), number INTEGER NOT NULL,
    title TEXT, text TEXT, line_start INTEGER, line_end INTEGER,
    page_start INTEGER, page_end INTEGER, PRIMARY KEY (report_id, number)
);
CREATE TABLE IF NOT EXISTS facts (
    report_id TEXT NOT NULL REFERENCES reports(id), tbl TEXT NOT NULL, row TEXT NOT NULL,
    col TEXT NOT NULL, value TEXT, number REAL, unit TEXT, raw TEXT, page INTEGER,
    blank INTEGER NOT NULL DEFAULT 0, uncertain INTEGER NOT NULL DEFAULT 0, candidates TEXT,
    reason TEXT, PRIMARY KEY (report_id, tbl, row, col)
);
CREATE TABLE IF NOT EXISTS checks (
    report_id TEXT NOT NULL REFERENCES reports(id), rule TEXT NOT NULL, scope TEXT,
    passed INTEGER, detail TEXT
);
CREATE TABLE IF NOT EXISTS rejects (source_file TEXT PRIMARY KEY, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS build_info (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS file_stats (
    source_file TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, content_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS facts_by_cell ON facts (tbl, row, col, number);
CREATE INDEX IF NOT EXISTS reports_by_year ON reports (year, level);
CREATE INDEX IF NOT EXISTS reports_by_body ON reports (body, template, year);
CREATE INDEX IF NOT EXISTS checks_by_report ON checks (report_id, passed);
"""


def connect(index_dir: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) the store of an index directory."""
    path = Path(index_dir) / DB_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    no_fsync_per_commit(db)
    db.executescript(SCHEMA)
    _add_missing_columns(db)
    return db


# Columns added after a store was first written: a build that starts from an older
# served store adds them (NULL until the report is parsed again).
_ADDED_COLUMNS = {"reports": {"official_url": "TEXT"}, "facts": {"reason": "TEXT"}}


def _add_missing_columns(db: sqlite3.Connection) -> None:
    for table, columns in _ADDED_COLUMNS.items():
        have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def no_fsync_per_commit(db: sqlite3.Connection) -> None:
    """Builds write their own copy of the store, thrown away if the build fails, and
    commit once per report: waiting for the disk at every commit cost 25 ms a report
    (measured, 1,000 reports). index.build syncs the file once before switching to it."""
    db.execute("PRAGMA synchronous = OFF")


def sync_to_disk(build_dir: str | Path) -> None:
    """Flush the store file to disk (before a build is switched in)."""
    fd = os.open(Path(build_dir) / DB_NAME, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_readonly(build_dir: str | Path) -> sqlite3.Connection:
    """Open a built store for reading (the serving path: no schema script, no writes)."""
    path = (Path(build_dir) / DB_NAME).resolve()
    if not path.exists():
        raise FileNotFoundError(f"no store at {path}")
    db = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True, check_same_thread=False)
    db.row_factory = sqlite3.Row
    return db


def save_report(db: sqlite3.Connection, parsed) -> None:
    """Write one parsed report (index.parse.ParsedReport), replacing any earlier version."""
    rid = parsed.id
    delete_report(db, rid)
    m = parsed.meta
    db.execute(
        "INSERT INTO reports (id, source_file, content_hash, format, title, body, short_name, level, province, "
        "city, county, year, doc_number, publish_date, template, page_count, problems, official_url) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (rid, parsed.source_file, parsed.content_hash, parsed.format, m.title, m.body, m.short_name,
         m.level, m.province, m.city, m.county, m.year, m.doc_number, m.publish_date,
         parsed.template, parsed.page_count, json.dumps(parsed.problems, ensure_ascii=False),
         m.official_url),
    )
    db.executemany(
        "INSERT INTO sections VALUES (?,?,?,?,?,?,?,?)",
        [(rid, s.number, s.title, s.text, s.line_start, s.line_end, s.page_start, s.page_end)
         for s in parsed.sections],
    )
    db.executemany(
        "INSERT OR REPLACE INTO facts (report_id, tbl, row, col, value, number, unit, raw, page, blank, "
        "uncertain, candidates, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [(rid, f.table, f.row, f.column, None if f.uncertain else f.value,
          f.number, f.unit, f.raw, f.page, int(f.blank), int(f.uncertain),
          json.dumps(f.candidates, ensure_ascii=False) if f.candidates else None,
          getattr(f, "reason", "") or None)
         for f in parsed.facts],
    )
    db.executemany(
        "INSERT INTO checks VALUES (?,?,?,?,?)",
        [(rid, c.rule, c.scope, None if c.passed is None else int(c.passed), c.detail)
         for c in parsed.checks],
    )
    db.execute("DELETE FROM rejects WHERE source_file = ?", (parsed.source_file,))


def delete_report(db: sqlite3.Connection, report_id: str) -> None:
    for table in ("facts", "sections", "checks", "reports"):
        column = "id" if table == "reports" else "report_id"
        db.execute(f"DELETE FROM {table} WHERE {column} = ?", (report_id,))


def save_reject(db: sqlite3.Connection, source_file: str, reason: str) -> None:
    db.execute("INSERT OR REPLACE INTO rejects VALUES (?,?)", (source_file, reason))


def set_info(db: sqlite3.Connection, **values) -> None:
    db.executemany("INSERT OR REPLACE INTO build_info VALUES (?,?)",
                   [(k, str(v)) for k, v in values.items()])


def info(db: sqlite3.Connection) -> dict[str, str]:
    return {row["key"]: row["value"] for row in db.execute("SELECT key, value FROM build_info")}


# ---------------------------------------------------------------- what a build reads back
# (index.build and index.crossyear write and read the store only through these)
def reports_by_source(db: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    """source file -> (report id, content hash) of every stored report."""
    return {r["source_file"]: (r["id"], r["content_hash"])
            for r in db.execute("SELECT id, source_file, content_hash FROM reports")}


def sources_and_bodies(db: sqlite3.Connection) -> list[tuple[str, str]]:
    return [(r["source_file"], r["body"] or "") for r in db.execute("SELECT source_file, body FROM reports")]


def bodies_by_id(db: sqlite3.Connection) -> dict[str, str]:
    return {r["id"]: r["body"] for r in db.execute("SELECT id, body FROM reports")}


def report_ids(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute("SELECT id FROM reports ORDER BY id")]


def report_count(db: sqlite3.Connection) -> int:
    return db.execute("SELECT COUNT(*) FROM reports").fetchone()[0]


def uncertain_count(db: sqlite3.Connection, report_id: str) -> int:
    return db.execute("SELECT COUNT(*) FROM facts WHERE report_id = ? AND uncertain = 1", (report_id,)).fetchone()[0]


def file_stats(db: sqlite3.Connection) -> dict[str, tuple[int, int, str]]:
    """source file -> (size, mtime_ns, content hash) when last hashed."""
    return {r["source_file"]: (r["size"], r["mtime_ns"], r["content_hash"])
            for r in db.execute("SELECT * FROM file_stats")}


def record_file_stat(db: sqlite3.Connection, source: str, size: int, mtime_ns: int, digest: str) -> None:
    db.execute("INSERT OR REPLACE INTO file_stats VALUES (?,?,?,?)", (source, size, mtime_ns, digest))


def forget_file_stats(db: sqlite3.Connection, sources) -> None:
    db.executemany("DELETE FROM file_stats WHERE source_file = ?", [(s,) for s in sources])


def keep_rejects(db: sqlite3.Connection, sources: set[str]) -> None:
    """Only these files stay listed as rejected (the others are gone or readable now)."""
    db.executemany("DELETE FROM rejects WHERE source_file = ?",
                   [(r[0],) for r in db.execute("SELECT source_file FROM rejects").fetchall() if r[0] not in sources])


def compact(db: sqlite3.Connection, free_share: float) -> bool:
    """VACUUM when at least ``free_share`` of the file is free pages; True when it did."""
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    free = db.execute("PRAGMA freelist_count").fetchone()[0]
    if pages and free / pages >= free_share:
        db.execute("VACUUM")
        return True
    return False


# ---------------------------------------------------------------- cells settled after parsing
def reports_of_body(db: sqlite3.Connection, body: str, template: str) -> list[sqlite3.Row]:
    """(id, year) of a body's reports in one table format, by year."""
    return db.execute("SELECT id, year FROM reports WHERE body = ? AND template = ? AND year IS NOT NULL "
                      "ORDER BY year, id", (body, template)).fetchall()


def row_facts(db: sqlite3.Connection, report_id: str, table: str, row: str) -> dict[str, sqlite3.Row]:
    """column -> fact of one table row of a report."""
    return {f["col"]: f for f in db.execute("SELECT * FROM facts WHERE report_id = ? AND tbl = ? AND row = ?",
                                             (report_id, table, row))}


def unsettle(db: sqlite3.Connection, report_ids: list[str], reason_prefix: str) -> set[str]:
    """Cells settled for ``reason_prefix`` become uncertain again; the reports that had any."""
    if not report_ids:
        return set()
    marks = ",".join("?" * len(report_ids))
    undone = {r[0] for r in db.execute(
        f"SELECT DISTINCT report_id FROM facts WHERE reason LIKE ? AND report_id IN ({marks})",
        [reason_prefix + "%", *report_ids])}
    db.execute(f"UPDATE facts SET value = NULL, number = NULL, uncertain = 1, reason = NULL "
               f"WHERE reason LIKE ? AND report_id IN ({marks})", [reason_prefix + "%", *report_ids])
    return undone


def settle(db: sqlite3.Connection, report_id: str, table: str, row: str, column: str, value: str,
           reason: str) -> None:
    """One uncertain cell given its value, with why."""
    db.execute("UPDATE facts SET value = ?, number = ?, uncertain = 0, reason = ? "
               "WHERE report_id = ? AND tbl = ? AND row = ? AND col = ?",
               (value, float(value), reason, report_id, table, row, column))


# ---------------------------------------------------------------- a stored report, read back
@dataclass
class StoredMeta:
    title: str | None
    body: str | None
    short_name: str | None
    level: str | None
    year: int | None
    province: str | None
    city: str | None
    county: str | None


@dataclass
class StoredSection:
    number: int
    title: str | None
    text: str
    line_start: int | None
    line_end: int | None
    page_start: int | None
    page_end: int | None


@dataclass
class StoredFact:
    table: str
    row: str
    column: str
    value: str | None
    blank: bool
    uncertain: bool
    page: int | None
    unit: str | None
    candidates: list[str] = field(default_factory=list)


@dataclass
class StoredReport:
    """A report as the store holds it: what index.passages needs to remake its
    passages (a refreshed or older report), without parsing the file again."""

    id: str
    meta: StoredMeta
    sections: list[StoredSection] = field(default_factory=list)
    facts: list[StoredFact] = field(default_factory=list)


def load_report(db: sqlite3.Connection, report_id: str) -> StoredReport:
    r = db.execute("SELECT * FROM reports WHERE id = ?", (report_id,)).fetchone()
    meta = StoredMeta(r["title"], r["body"], r["short_name"], r["level"], r["year"], r["province"], r["city"],
                      r["county"])
    sections = [StoredSection(s["number"], s["title"], s["text"] or "", s["line_start"], s["line_end"],
                              s["page_start"], s["page_end"])
                for s in db.execute("SELECT * FROM sections WHERE report_id = ? ORDER BY number", (report_id,))]
    facts = [StoredFact(f["tbl"], f["row"], f["col"], f["value"], bool(f["blank"]), bool(f["uncertain"]),
                        f["page"], f["unit"], json.loads(f["candidates"]) if f["candidates"] else [])
             for f in db.execute("SELECT * FROM facts WHERE report_id = ? ORDER BY rowid", (report_id,))]
    return StoredReport(report_id, meta, sections, facts)


# ---------------------------------------------------------------- the build's writer
class StoreWriter(ABC):
    """What a build (index.build, index.crossyear, index.retrieval_stage) writes and reads
    back, whichever database holds the facts: ``SQLiteWriter`` (the functions above, on
    the build's reports.db) or ``index.pgstore.PostgresWriter`` (the build's own schema).
    ``open_writer`` gives the one for a new build, ``reopen_writer`` the one a build
    directory records (for a stage that runs while the build writes)."""

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Close without committing what is pending."""

    def abandon(self) -> None:
        """The build failed: close, and throw away what only this build wrote."""
        self.close()

    def seal(self) -> None:
        """Make the build's facts ready to serve (before ``current`` switches to it)."""

    def prune(self, keep: set[Path]) -> None:
        """Drop the facts of this index's builds other than these build directories."""

    @abstractmethod
    def compact(self, free_share: float) -> bool: ...

    @abstractmethod
    def save_report(self, parsed) -> None: ...

    @abstractmethod
    def delete_report(self, report_id: str) -> None: ...

    @abstractmethod
    def save_reject(self, source_file: str, reason: str) -> None: ...

    @abstractmethod
    def set_info(self, **values) -> None: ...

    @abstractmethod
    def info(self) -> dict[str, str]: ...

    @abstractmethod
    def reports_by_source(self) -> dict[str, tuple[str, str]]: ...

    @abstractmethod
    def sources_and_bodies(self) -> list[tuple[str, str]]: ...

    @abstractmethod
    def bodies_by_id(self) -> dict[str, str]: ...

    @abstractmethod
    def report_ids(self) -> list[str]: ...

    @abstractmethod
    def report_count(self) -> int: ...

    @abstractmethod
    def uncertain_count(self, report_id: str) -> int: ...

    @abstractmethod
    def file_stats(self) -> dict[str, tuple[int, int, str]]: ...

    @abstractmethod
    def record_file_stat(self, source: str, size: int, mtime_ns: int, digest: str) -> None: ...

    @abstractmethod
    def forget_file_stats(self, sources) -> None: ...

    @abstractmethod
    def keep_rejects(self, sources: set[str]) -> None: ...

    @abstractmethod
    def reports_of_body(self, body: str, template: str) -> list: ...

    @abstractmethod
    def row_facts(self, report_id: str, table: str, row: str) -> dict: ...

    @abstractmethod
    def unsettle(self, report_ids: list[str], reason_prefix: str) -> set[str]: ...

    @abstractmethod
    def settle(self, report_id: str, table: str, row: str, column: str, value: str, reason: str) -> None: ...

    @abstractmethod
    def load_report(self, report_id: str) -> StoredReport: ...


class SQLiteWriter(StoreWriter):
    """The build's reports.db, through the functions of this module."""

    def __init__(self, build_dir: str | Path):
        self.build_dir = Path(build_dir)
        self.db = connect(build_dir)

    def commit(self) -> None:
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def seal(self) -> None:
        self.db.commit()
        sync_to_disk(self.build_dir)

    def compact(self, free_share: float) -> bool:
        return compact(self.db, free_share)

    def save_report(self, parsed) -> None:
        save_report(self.db, parsed)

    def delete_report(self, report_id: str) -> None:
        delete_report(self.db, report_id)

    def save_reject(self, source_file: str, reason: str) -> None:
        save_reject(self.db, source_file, reason)

    def set_info(self, **values) -> None:
        set_info(self.db, **values)

    def info(self) -> dict[str, str]:
        return info(self.db)

    def reports_by_source(self) -> dict[str, tuple[str, str]]:
        return reports_by_source(self.db)

    def sources_and_bodies(self) -> list[tuple[str, str]]:
        return sources_and_bodies(self.db)

    def bodies_by_id(self) -> dict[str, str]:
        return bodies_by_id(self.db)

    def report_ids(self) -> list[str]:
        return report_ids(self.db)

    def report_count(self) -> int:
        return report_count(self.db)

    def uncertain_count(self, report_id: str) -> int:
        return uncertain_count(self.db, report_id)

    def file_stats(self) -> dict[str, tuple[int, int, str]]:
        return file_stats(self.db)

    def record_file_stat(self, source: str, size: int, mtime_ns: int, digest: str) -> None:
        record_file_stat(self.db, source, size, mtime_ns, digest)

    def forget_file_stats(self, sources) -> None:
        forget_file_stats(self.db, sources)

    def keep_rejects(self, sources: set[str]) -> None:
        keep_rejects(self.db, sources)

    def reports_of_body(self, body: str, template: str) -> list[sqlite3.Row]:
        return reports_of_body(self.db, body, template)

    def row_facts(self, report_id: str, table: str, row: str) -> dict[str, sqlite3.Row]:
        return row_facts(self.db, report_id, table, row)

    def unsettle(self, report_ids: list[str], reason_prefix: str) -> set[str]:
        return unsettle(self.db, report_ids, reason_prefix)

    def settle(self, report_id: str, table: str, row: str, column: str, value: str, reason: str) -> None:
        settle(self.db, report_id, table, row, column, value, reason)

    def load_report(self, report_id: str) -> StoredReport:
        return load_report(self.db, report_id)


def open_writer(build_dir: str | Path, facts_url: str | None = None,
                previous: str | Path | None = None, spare: tuple[str, list[str]] | None = None) -> StoreWriter:
    """The writer of a new build in ``build_dir``: its reports.db (index.build put a copy
    of the served one there, or caught up the spare build, or nothing), or with
    ``facts_url`` (index.settings) a PostgreSQL schema of its own: ``spare`` (schema,
    changed report ids) is the spare build's schema, taken over and caught up with the
    ``previous`` build (the one served) for those reports; else a copy of the
    ``previous`` build's facts when they are on the same server."""
    layout.facts_file(build_dir).unlink(missing_ok=True)  # the served or spare build's: recorded anew
    if facts_url:
        from .pgstore import PostgresWriter

        return PostgresWriter.create(build_dir, facts_url, previous, spare)
    return SQLiteWriter(build_dir)


def keep_only_passages(build_dir: str | Path) -> None:
    """A build whose facts go elsewhere (PostgreSQL): its reports.db keeps the passages
    (index.passages) and loses the tables of a served SQLite build it was copied from, so
    that a later SQLite build starts empty instead of from stale facts."""
    path = Path(build_dir) / DB_NAME
    if not path.exists():
        return
    db = sqlite3.connect(path)
    try:
        for table in ("facts", "sections", "checks", "rejects", "build_info", "file_stats", "reports"):
            db.execute(f"DROP TABLE IF EXISTS {table}")
        db.commit()
    finally:
        db.close()


def drop_facts(build_dir: str | Path) -> None:
    """A build being pruned: drop its facts when they are elsewhere than in its directory
    (its PostgreSQL schema); a server that cannot be reached is left for a later build."""
    where = layout.recorded_facts(build_dir) if layout.facts_file(build_dir).exists() else None
    if where is not None:
        from .pgstore import drop_schema

        drop_schema(*where)


def reopen_writer(build_dir: str | Path) -> StoreWriter:
    """The writer of a build in progress, where ``open_writer`` put its facts."""
    if layout.facts_file(build_dir).exists():
        from .pgstore import PostgresWriter

        return PostgresWriter.reopen(build_dir)
    return SQLiteWriter(build_dir)


# ---------------------------------------------------------------- a recycled build caught up
def copy_reports_from(db: sqlite3.Connection, other_build: str | Path, report_ids: list[str]) -> None:
    """Make this store hold what the store of ``other_build`` holds for these reports
    (their rows in every table keyed by report, passages included; a report the other
    store lacks is deleted here), and the other's index-wide tables (build_info,
    file_stats, rejects) whole. index.build uses it to bring a spare build directory,
    one build behind, up to the served one without copying the file."""
    db.execute("ATTACH DATABASE ? AS other", ((Path(other_build) / DB_NAME).resolve().as_uri() + "?mode=ro",))
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")]
        for table in tables:
            have = [r[1] for r in db.execute(f"PRAGMA main.table_info({table})")]
            theirs = {r[1] for r in db.execute(f"PRAGMA other.table_info({table})")}
            if not theirs:
                continue  # a table the other store never had (e.g. passages of a --no-passages build)
            columns = ",".join(c for c in have if c in theirs)  # same names, whatever their order
            key = "id" if table == "reports" else "report_id" if "report_id" in have else None
            if key is None:  # index-wide
                db.execute(f"DELETE FROM main.{table}")
                db.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM other.{table}")
                continue
            for i in range(0, len(report_ids), 500):  # SQLite caps the number of parameters
                chunk = report_ids[i:i + 500]
                marks = ",".join("?" * len(chunk))
                db.execute(f"DELETE FROM main.{table} WHERE {key} IN ({marks})", chunk)
                db.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM other.{table} "
                           f"WHERE {key} IN ({marks}) ORDER BY rowid", chunk)
        db.commit()
    finally:
        db.execute("DETACH DATABASE other")
