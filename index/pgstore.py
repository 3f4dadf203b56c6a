"""The facts in PostgreSQL: ``PostgresFactStore`` (the read side, ``index.factstore.FactStore``)
and ``PostgresWriter`` (the build's writer, ``index.store.StoreWriter``), chosen by the
setting ``facts_url`` (``NIANBAO_FACTS_URL=postgresql://…``).

One schema per build, ``nianbao_<hash of the index dir>_<build id>``. A build takes over
the spare build's schema (one build behind the served one; index.build) by renaming it,
and catches it up with the served schema by moving the rows of the reports the served
build changed; without a spare it creates the schema and copies the served build's into
it (``INSERT … SELECT``, the secondary indexes made after: at 10,000 reports ≈ 2M fact
rows, most of a one-report rebuild). It writes one transaction per report as the SQLite
build does, runs ``ANALYZE`` (a caught-up build: on the tables its changes made stale) and grants the serving role read access. The schema and the URL are recorded in the build
directory (``<build>/facts.txt``, index.layout) and in ``build_info`` (``facts_url``,
``facts_schema``): readers take them from the build ``current`` points at, so the atomic
switch of ``current`` switches facts, passages, BM25 and vectors together and a reader
needs no setting. A crashed build leaves an orphan schema that no build names and the
served one untouched; after a build, every schema of the index that is neither the new
build's nor the previous one's is dropped (as index.build prunes build directories).

Schema (README, "Past one machine"): the columns of index.store with PostgreSQL types
(``blank``/``uncertain``/``passed`` boolean, ``problems``/``candidates`` jsonb, read back
as JSON text so rows read as SQLite's do); ``facts`` carries its report's ``year`` (0 when
unknown) and is ``PARTITION BY LIST (year)``, one partition a year made when a report of
that year first arrives; ``seq`` keeps the reading order SQLite gets from ``rowid``.
Text columns use the "C" collation: the same order as SQLite, whatever the database's locale.

Readers: one ``psycopg_pool.ConnectionPool`` per URL per process (autocommit; each store
checks one connection out and sets ``search_path`` to its build's schema when that
connection last served another). Every pooled connection runs as the role
``nianbao_read`` (``SET ROLE``: ``USAGE`` on the build schemas and ``SELECT``, nothing
else) with ``default_transaction_read_only``: a reader cannot write, as SQLite's
``mode=ro`` today. The build creates the role (NOLOGIN) when it is missing.
"""

from __future__ import annotations

import atexit
import logging
import hashlib
import json
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from . import layout, passages
from .factstore import FactStore, Row, _contains
from .factstore import _year_level as year_level
from .store import keep_only_passages, StoredFact, StoredMeta, StoredReport, StoredSection, StoreWriter

log = logging.getLogger(__name__)

READ_ROLE = "nianbao_read"
_PARTIAL = layout.PARTIAL_SUFFIX
_T = 'text COLLATE "C"'

TABLES = f"""
CREATE TABLE reports (
    id {_T} PRIMARY KEY, source_file {_T} NOT NULL, content_hash {_T} NOT NULL,
    format {_T}, title {_T}, body {_T}, short_name {_T}, level {_T},
    province {_T}, city {_T}, county {_T}, year smallint, doc_number {_T},
    publish_date {_T}, template {_T}, page_count integer, problems jsonb, official_url {_T}
);
CREATE TABLE sections (
    report_id {_T} NOT NULL, number smallint NOT NULL, title {_T}, text {_T},
    line_start integer, line_end integer, page_start integer, page_end integer,
    PRIMARY KEY (report_id, number)
);
CREATE TABLE facts (
    report_id {_T} NOT NULL, year smallint NOT NULL, tbl {_T} NOT NULL, row {_T} NOT NULL,
    col {_T} NOT NULL, value {_T}, number double precision, unit {_T}, raw {_T}, page integer,
    blank boolean NOT NULL DEFAULT false, uncertain boolean NOT NULL DEFAULT false,
    candidates jsonb, reason {_T}, seq integer NOT NULL,
    PRIMARY KEY (report_id, tbl, row, col, year)
) PARTITION BY LIST (year);
CREATE TABLE facts_other PARTITION OF facts DEFAULT;
CREATE TABLE checks (
    report_id {_T} NOT NULL, seq integer NOT NULL, rule {_T} NOT NULL, scope {_T},
    passed boolean, detail {_T}, PRIMARY KEY (report_id, seq)
);
CREATE TABLE rejects (source_file {_T} PRIMARY KEY, reason {_T} NOT NULL);
CREATE TABLE build_info (key {_T} PRIMARY KEY, value {_T});
CREATE TABLE file_stats (
    source_file {_T} PRIMARY KEY, size bigint NOT NULL, mtime_ns bigint NOT NULL, content_hash {_T} NOT NULL
);
"""
# Made after a copy from the served schema (faster than keeping them up to date row by row).
INDEXES = """
CREATE INDEX facts_by_cell ON facts (tbl, row, col, number);
CREATE INDEX facts_blank ON facts (report_id) WHERE blank;
CREATE INDEX facts_uncertain ON facts (report_id) WHERE uncertain;
CREATE INDEX reports_by_year ON reports (year, level);
CREATE INDEX reports_by_body ON reports (body, template);
CREATE INDEX checks_failed ON checks (report_id) WHERE NOT passed;
"""
# ANALYZE samples every table: at 10,000 reports most of a caught-up rebuild's server
# time. A caught-up build analyzes only the tables whose rows changed by more than
# autovacuum's own share since their last ANALYZE (its default scale factor and threshold).
_ANALYZED = ("reports", "sections", "facts", "checks")
_STALE_SHARE, _STALE_ROWS = 0.1, 50
COPIED = ("reports", "sections", "facts", "checks", "rejects", "build_info", "file_stats")
_FACT_COLUMNS = ("report_id", "year", "tbl", "row", "col", "value", "number", "unit", "raw", "page", "blank",
                 "uncertain", "candidates", "reason", "seq")
_REPORT_COLUMNS = ("id, source_file, content_hash, format, title, body, short_name, level, province, city, "
                   "county, year, doc_number, publish_date, template, page_count, problems, official_url")
# rows read as SQLite's: JSON columns as text
_REPORT_SELECT = _REPORT_COLUMNS.replace("problems", "problems::text AS problems")
_FACT_SELECT = ("report_id, tbl, row, col, value, number, unit, raw, page, blank, uncertain, "
                "candidates::text AS candidates, reason")


# ---------------------------------------------------------------- where a build's facts are
def schema_name(build_dir: str | Path) -> str:
    """The schema of a build: hash of the index dir + build id (without .partial)."""
    build_dir = Path(build_dir).absolute()
    build_id = build_dir.name[:-len(_PARTIAL)] if build_dir.name.endswith(_PARTIAL) else build_dir.name
    return _index_prefix(build_dir) + re.sub(r"[^a-z0-9_]", "_", build_id.lower())


def _index_prefix(build_dir: Path) -> str:
    index_dir = Path(build_dir).absolute().parent.parent  # INDEX/builds/<build id>
    return f"nianbao_{hashlib.sha1(str(index_dir.resolve()).encode('utf-8')).hexdigest()[:10]}_"


def recorded(build_dir: str | Path) -> tuple[str, str] | None:
    """(facts URL, schema) a build recorded, or None: its facts are in its reports.db."""
    return layout.recorded_facts(build_dir)


def _record(build_dir: Path, url: str, schema: str) -> None:
    layout.facts_file(build_dir).write_text(f"{schema}\n{url}\n", encoding="utf-8")


# ---------------------------------------------------------------- read side
class _ReadConnection(psycopg.Connection):
    schema: str | None = None  # the search_path this pooled connection was last given


_pools: dict[str, object] = {}
_pools_lock = threading.Lock()


def _configure(conn: psycopg.Connection) -> None:
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(READ_ROLE)))
    conn.execute("SET default_transaction_read_only = on")


def reader_pool(url: str):
    """The pool of read-only connections to ``url`` (one per process and URL)."""
    from psycopg_pool import ConnectionPool

    with _pools_lock:
        if url not in _pools:
            _pools[url] = ConnectionPool(url, min_size=1, max_size=8, connection_class=_ReadConnection,
                                         kwargs={"autocommit": True, "row_factory": dict_row},
                                         configure=_configure, check=ConnectionPool.check_connection,
                                         open=True, name="nianbao-facts")  # check: a restarted server reconnects
        return _pools[url]


@atexit.register
def close_pools() -> None:
    with _pools_lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


def _year_level(year: int | None, level: str | None) -> tuple[list[str], list]:
    return year_level(year, level, mark="%s")


_REPORT_ROW = (f"SELECT {', '.join('r.' + c.strip() for c in _REPORT_SELECT.split(','))}, "
               "(SELECT COUNT(*) FROM checks c WHERE c.report_id = r.id AND NOT c.passed) AS failed_checks, "
               "(SELECT COUNT(*) FROM facts f WHERE f.report_id = r.id AND f.uncertain) AS uncertain_cells "
               "FROM reports r")


class PostgresFactStore(FactStore):
    """The facts of one build's schema, through a pooled read-only connection."""

    Error = psycopg.Error

    def __init__(self, url: str, schema: str):
        self._pool = reader_pool(url)
        self.db = self._pool.getconn(timeout=10)
        try:
            if self.db.schema != schema:
                self.db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
                self.db.schema = schema
        except BaseException:
            self._pool.putconn(self.db)
            raise

    def close(self) -> None:
        if self.db is not None:
            self._pool.putconn(self.db)
            self.db = None

    def _all(self, query: str, args: Sequence = ()) -> list[Row]:
        return self.db.execute(query, args).fetchall()

    # ------------------------------------------------------------------ reports
    def catalog_reports(self) -> list[Row]:
        return self._all("SELECT id, title, body, short_name, level, year, province, city, county, template "
                         "FROM reports ORDER BY year NULLS FIRST, id")

    def reports_by_name(self) -> list[Row]:
        return self._all("SELECT id, title, body, short_name, level, year FROM reports "
                         "ORDER BY level NULLS FIRST, COALESCE(short_name, body) NULLS FIRST, year NULLS FIRST")

    def report_titles(self, report_ids: Sequence[str]) -> dict[str, str | None]:
        return {r["id"]: r["title"] for r in self._all("SELECT id, title FROM reports WHERE id = ANY(%s)",
                                                        (list(report_ids),))}

    def read_by_ocr(self, report_ids: Sequence[str]) -> set[str]:
        if not report_ids:
            return set()
        return {r["id"] for r in self._all("SELECT id FROM reports WHERE id = ANY(%s) AND problems::text LIKE %s",
                                            (list(report_ids), "%read by OCR%"))}

    def list_reports(self, *, year: int | None = None, level: str | None = None, region: str | None = None,
                     name: str | None = None, offset: int = 0, limit: int = 50) -> tuple[list[Row], int]:
        where, args = _year_level(year, level)
        if region:
            where.append("(r.province LIKE %s OR r.city LIKE %s OR r.county LIKE %s OR r.body LIKE %s)")
            args += [_contains(region)] * 4
        if name:
            where.append("(r.body LIKE %s OR r.short_name LIKE %s OR r.title LIKE %s)")
            args += [_contains(name)] * 3
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        count = self._all(f"SELECT COUNT(*) AS n FROM reports r{clause}", args)[0]["n"]
        rows = self._all(f"{_REPORT_ROW}{clause} ORDER BY r.year DESC NULLS LAST, r.id LIMIT %s OFFSET %s",
                         [*args, limit, offset])
        return rows, count

    def report(self, report_id: str) -> Row | None:
        rows = self._all(f"{_REPORT_ROW} WHERE r.id = %s", (report_id,))
        return rows[0] if rows else None

    def report_count(self) -> int:
        return self._all("SELECT COUNT(*) AS n FROM reports")[0]["n"]

    def build_info(self) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self._all("SELECT key, value FROM build_info")}

    # ------------------------------------------------------------------ table cells
    def cells(self, report_ids: Sequence[str], table: str, rows: Sequence[str] | None = None,
              columns: Sequence[str] | None = None) -> list[Row]:
        if not report_ids:
            return []
        query = ("SELECT report_id, tbl, row, col, value, number, unit, raw, page, blank, uncertain, "
                 "candidates::text AS candidates FROM facts WHERE tbl = %s AND report_id = ANY(%s)")
        args: list = [table, list(report_ids)]
        for name, values in (("row", rows), ("col", columns)):
            if values is not None:
                query += f" AND {name} = ANY(%s)"
                args.append(list(values))
        return self._all(query, args)

    def reports_with_table(self, report_ids: Sequence[str], table: str) -> set[str]:
        if not report_ids:
            return set()
        return {r["report_id"] for r in self._all(
            "SELECT DISTINCT report_id FROM facts WHERE tbl = %s AND report_id = ANY(%s)", (table, list(report_ids)))}

    def has_column(self, report_id: str, table: str, column: str) -> bool:
        return bool(self._all("SELECT 1 FROM facts WHERE report_id = %s AND tbl = %s AND col = %s LIMIT 1",
                              (report_id, table, column)))

    def blank_cells(self, report_ids: Sequence[str]) -> list[Row]:
        if not report_ids:
            return []
        return self._all("SELECT report_id, tbl, row, col, value, number, unit, raw, page, blank, uncertain "
                         "FROM facts WHERE blank AND report_id = ANY(%s) ORDER BY report_id, tbl, row, col",
                         (list(report_ids),))

    def uncertain_counts(self, report_ids: Sequence[str]) -> dict[str, int]:
        if not report_ids:
            return {}
        return {r["report_id"]: r["n"] for r in self._all(
            "SELECT report_id, COUNT(*) AS n FROM facts WHERE uncertain AND report_id = ANY(%s) GROUP BY report_id",
            (list(report_ids),))}

    def reports_with_facts(self, report_ids: Sequence[str]) -> set[str]:
        if not report_ids:
            return set()
        return {r["report_id"] for r in self._all("SELECT DISTINCT report_id FROM facts WHERE report_id = ANY(%s)",
                                                   (list(report_ids),))}

    def report_facts(self, report_id: str, table: str | None = None,
                     rows: Sequence[str] | None = None) -> list[Row]:
        query, args = f"SELECT {_FACT_SELECT} FROM facts WHERE report_id = %s", [report_id]
        if table is not None:
            query += " AND tbl = %s"
            args.append(table)
        if rows is not None:
            query += " AND row = ANY(%s)"
            args.append(list(rows))
        return self._all(query + " ORDER BY seq", args)

    # ------------------------------------------------------------------ sections
    def section(self, report_id: str, number: int) -> dict | None:
        rows = self._all("SELECT number, title, text, page_start, page_end FROM sections "
                         "WHERE report_id = %s AND number = %s", (report_id, number))
        return dict(rows[0]) if rows else None

    def sections(self, report_ids: Sequence[str]) -> list[dict]:
        if not report_ids:
            return []
        return [dict(r) for r in self._all(
            "SELECT report_id, number, title, text, page_start, page_end FROM sections "
            "WHERE report_id = ANY(%s) ORDER BY report_id, number", (list(report_ids),))]

    # ------------------------------------------------------------------ checks
    def failed_checks(self, report_ids: Sequence[str]) -> list[Row]:
        if not report_ids:
            return []
        return self._all("SELECT report_id, rule, scope, detail FROM checks WHERE NOT passed "
                         "AND report_id = ANY(%s) ORDER BY report_id, seq", (list(report_ids),))

    def report_checks(self, report_id: str) -> list[Row]:
        return self._all("SELECT rule, scope, passed, detail FROM checks WHERE report_id = %s ORDER BY seq",
                         (report_id,))

    def list_failed_checks(self, *, year: int | None = None, level: str | None = None, rule: str | None = None,
                           undecided: bool = False) -> list[Row]:
        where, args = _year_level(year, level)
        where.append("c.passed IS NOT TRUE" if undecided else "NOT c.passed")
        if rule:
            where.append("c.rule = %s")
            args.append(rule)
        return self._all(
            "SELECT c.report_id, c.rule, c.scope, c.detail, c.passed, r.title, r.body, r.level, r.year "
            "FROM checks c JOIN reports r ON r.id = c.report_id WHERE " + " AND ".join(where) +
            " ORDER BY r.year DESC NULLS LAST, c.report_id, c.seq", args)


# ---------------------------------------------------------------- write side
class PostgresWriter(StoreWriter):
    """A build's facts in its own schema (index.store.StoreWriter)."""

    def __init__(self, url: str, schema: str, build_dir: Path):
        self.url, self.schema, self.build_dir = url, schema, Path(build_dir)
        self.db = psycopg.connect(url, row_factory=dict_row)
        self.db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        self.db.commit()
        self._years: set[int] | None = None
        self.kept_statistics = False  # the tables are a caught-up spare's: statistics came with them

    @classmethod
    def create(cls, build_dir: str | Path, url: str, previous: str | Path | None = None,
               spare: tuple[str, list[str]] | None = None) -> PostgresWriter:
        """The writer of a new build: its schema, either the ``spare`` build's (schema,
        report ids) renamed and caught up with the ``previous`` build for those reports
        (index.build: the build one behind the served one, which nobody reads), or a new
        one holding a copy of the facts of the ``previous`` build when they are in a
        schema on the same server."""
        build_dir = Path(build_dir)
        schema = schema_name(build_dir)
        source = recorded(previous) if previous is not None else None
        served = source[1] if source is not None and source[0] == url and source[1] != schema else None
        db = psycopg.connect(url, autocommit=True)
        caught_up = False
        try:
            db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))  # a crashed try
            with db.transaction():
                if spare is not None and served is not None and _exists(db, spare[0]) and _exists(db, served):
                    caught_up = True
                    db.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(spare[0]),
                                                                            sql.Identifier(schema)))
                    db.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
                    _catch_up_schema(db, schema, served, spare[1])
                else:
                    db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
                    db.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
                    db.execute(TABLES)
                    if served is not None and _exists(db, served):
                        _copy_schema(db, served)
                    db.execute(INDEXES)
        finally:
            db.close()
        keep_only_passages(build_dir)
        passages.connect(layout.store_file(build_dir)).close()  # the build's own file: passages, and its stamp
        _record(build_dir, url, schema)
        writer = cls(url, schema, build_dir)
        writer.kept_statistics = caught_up
        writer.set_info(facts_url=re.sub(r"//([^:/@]*):[^@/]*@", r"//\1@", url), facts_schema=schema)  # no password
        writer.commit()
        return writer

    @classmethod
    def reopen(cls, build_dir: str | Path) -> PostgresWriter:
        url, schema = recorded(build_dir)
        return cls(url, schema, Path(build_dir))

    # ------------------------------------------------------------------ transactions
    def commit(self) -> None:
        self.db.commit()

    def close(self) -> None:
        self.db.close()  # what was not committed is rolled back

    def abandon(self) -> None:
        """The build failed: its schema goes (left to the next build's prune when the
        server cannot be reached; the build's own error is what the caller sees)."""
        self.close()
        drop_schema(self.url, self.schema)

    def seal(self) -> None:
        """Statistics for the planner; the serving role may read the schema."""
        self.db.commit()
        _ensure_read_role(self.db)
        ident = sql.Identifier(self.schema)
        self.db.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident, sql.Identifier(READ_ROLE)))
        self.db.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
            ident, sql.Identifier(READ_ROLE)))
        self.db.commit()
        stale = self._stale_tables() if self.kept_statistics else list(_ANALYZED)
        if stale:
            self.db.execute(sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(map(sql.Identifier, stale))))
        self.db.commit()

    def _stale_tables(self) -> list[str]:
        """The tables whose statistics changed rows made stale, by autovacuum's rule, from
        PostgreSQL's own count of rows changed since each table's last ANALYZE (which
        follows the tables through the rename). ``facts`` stands for all its partitions."""
        try:
            self.db.execute("SELECT pg_stat_force_next_flush()")  # this build's counts, flushed when idle
            self.db.commit()
        except psycopg.errors.UndefinedFunction:  # before PostgreSQL 15: analyze as a new schema is
            self.db.rollback()
            return list(_ANALYZED)
        rows = self.db.execute(
            "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
            "WHERE s.schemaname = %s AND (c.reltuples < 0 OR s.n_mod_since_analyze > %s + %s * c.reltuples)",
            (self.schema, _STALE_ROWS, _STALE_SHARE)).fetchall()
        self.db.commit()
        stale = {"facts" if r["relname"].startswith("facts_y") else r["relname"] for r in rows}
        return [t for t in _ANALYZED if t in stale]

    def prune(self, keep: set[Path]) -> None:
        """Drop this index's schemas that no kept build names (pruned or crashed builds)."""
        names = {self.schema}
        for build in keep:
            rec = recorded(build)
            if rec is not None:
                names.add(rec[1])
        prefix = _index_prefix(self.build_dir)
        self.db.commit()
        for r in self.db.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                                 (prefix,)).fetchall():
            if r["nspname"] not in names:
                self.db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(r["nspname"])))
                self.db.commit()

    def compact(self, free_share: float) -> bool:
        return False  # every build writes a new schema: nothing to reclaim in place

    # ------------------------------------------------------------------ reports
    def _ensure_partition(self, year: int) -> None:
        if self._years is None:
            self._years = {int(r["relname"][len("facts_y"):]) for r in self.db.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
                "WHERE p.relname = 'facts' AND n.nspname = %s AND c.relname LIKE 'facts\\_y%%'", (self.schema,))}
        if year and year not in self._years:
            self.db.execute(sql.SQL("CREATE TABLE {} PARTITION OF facts FOR VALUES IN ({})").format(
                sql.Identifier(f"facts_y{year}"), sql.Literal(year)))
            self._years.add(year)

    def save_report(self, parsed) -> None:
        rid = parsed.id
        self.delete_report(rid)
        m = parsed.meta
        year = m.year or 0
        self._ensure_partition(year)
        self.db.execute(
            f"INSERT INTO reports ({_REPORT_COLUMNS}) VALUES ({','.join(['%s'] * 18)})",
            (rid, parsed.source_file, parsed.content_hash, parsed.format, m.title, m.body, m.short_name,
             m.level, m.province, m.city, m.county, m.year, m.doc_number, m.publish_date,
             parsed.template, parsed.page_count, Jsonb(parsed.problems), m.official_url))
        cur = self.db.cursor()
        with cur.copy("COPY sections (report_id, number, title, text, line_start, line_end, page_start, page_end) "
                      "FROM STDIN") as copy:
            for s in parsed.sections:
                copy.write_row((rid, s.number, s.title, s.text, s.line_start, s.line_end, s.page_start, s.page_end))
        # a cell read twice keeps its last reading, in the last one's place (SQLite's INSERT OR REPLACE)
        cells: dict[tuple, object] = {}
        for f in parsed.facts:
            cells.pop((f.table, f.row, f.column), None)
            cells[(f.table, f.row, f.column)] = f
        with cur.copy(f"COPY facts ({', '.join(_FACT_COLUMNS)}) FROM STDIN") as copy:
            for seq, f in enumerate(cells.values()):
                copy.write_row((rid, year, f.table, f.row, f.column, None if f.uncertain else f.value, f.number,
                                f.unit, f.raw, f.page, bool(f.blank), bool(f.uncertain),
                                json.dumps(f.candidates, ensure_ascii=False) if f.candidates else None,
                                getattr(f, "reason", "") or None, seq))
        with cur.copy("COPY checks (report_id, seq, rule, scope, passed, detail) FROM STDIN") as copy:
            for seq, c in enumerate(parsed.checks):
                copy.write_row((rid, seq, c.rule, c.scope, None if c.passed is None else bool(c.passed), c.detail))
        self.db.execute("DELETE FROM rejects WHERE source_file = %s", (parsed.source_file,))

    def delete_report(self, report_id: str) -> None:
        for table in ("facts", "sections", "checks"):
            self.db.execute(f"DELETE FROM {table} WHERE report_id = %s", (report_id,))
        self.db.execute("DELETE FROM reports WHERE id = %s", (report_id,))

    def save_reject(self, source_file: str, reason: str) -> None:
        self.db.execute("INSERT INTO rejects VALUES (%s, %s) ON CONFLICT (source_file) DO UPDATE "
                        "SET reason = EXCLUDED.reason", (source_file, reason))

    def set_info(self, **values) -> None:
        self.db.cursor().executemany(
            "INSERT INTO build_info VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            [(k, str(v)) for k, v in values.items()])

    def info(self) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self.db.execute("SELECT key, value FROM build_info")}

    # ------------------------------------------------------------------ what a build reads back
    def reports_by_source(self) -> dict[str, tuple[str, str]]:
        return {r["source_file"]: (r["id"], r["content_hash"])
                for r in self.db.execute("SELECT id, source_file, content_hash FROM reports")}

    def sources_and_bodies(self) -> list[tuple[str, str]]:
        return [(r["source_file"], r["body"] or "") for r in self.db.execute("SELECT source_file, body FROM reports")]

    def bodies_by_id(self) -> dict[str, str]:
        return {r["id"]: r["body"] for r in self.db.execute("SELECT id, body FROM reports")}

    def report_ids(self) -> list[str]:
        return [r["id"] for r in self.db.execute("SELECT id FROM reports ORDER BY id")]

    def report_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) AS n FROM reports").fetchone()["n"]

    def uncertain_count(self, report_id: str) -> int:
        return self.db.execute("SELECT COUNT(*) AS n FROM facts WHERE report_id = %s AND uncertain",
                               (report_id,)).fetchone()["n"]

    def file_stats(self) -> dict[str, tuple[int, int, str]]:
        return {r["source_file"]: (r["size"], r["mtime_ns"], r["content_hash"])
                for r in self.db.execute("SELECT * FROM file_stats")}

    def record_file_stat(self, source: str, size: int, mtime_ns: int, digest: str) -> None:
        self.db.execute("INSERT INTO file_stats VALUES (%s, %s, %s, %s) ON CONFLICT (source_file) DO UPDATE "
                        "SET size = EXCLUDED.size, mtime_ns = EXCLUDED.mtime_ns, content_hash = EXCLUDED.content_hash",
                        (source, size, mtime_ns, digest))

    def forget_file_stats(self, sources) -> None:
        self.db.execute("DELETE FROM file_stats WHERE source_file = ANY(%s)", (list(sources),))

    def keep_rejects(self, sources: set[str]) -> None:
        self.db.execute("DELETE FROM rejects WHERE NOT (source_file = ANY(%s))", (list(sources),))

    # ------------------------------------------------------------------ cells settled after parsing
    def reports_of_body(self, body: str, template: str) -> list[Row]:
        return self.db.execute("SELECT id, year FROM reports WHERE body = %s AND template = %s AND year IS NOT NULL "
                               "ORDER BY year, id", (body, template)).fetchall()

    def row_facts(self, report_id: str, table: str, row: str) -> dict[str, Row]:
        return {f["col"]: f for f in self.db.execute(
            f"SELECT {_FACT_SELECT} FROM facts WHERE report_id = %s AND tbl = %s AND row = %s ORDER BY seq",
            (report_id, table, row))}

    def unsettle(self, report_ids: list[str], reason_prefix: str) -> set[str]:
        if not report_ids:
            return set()
        pattern = reason_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return {r["report_id"] for r in self.db.execute(
            "UPDATE facts SET value = NULL, number = NULL, uncertain = true, reason = NULL "
            "WHERE reason LIKE %s AND report_id = ANY(%s) RETURNING report_id", (pattern, list(report_ids)))}

    def settle(self, report_id: str, table: str, row: str, column: str, value: str, reason: str) -> None:
        self.db.execute("UPDATE facts SET value = %s, number = %s, uncertain = false, reason = %s "
                        "WHERE report_id = %s AND tbl = %s AND row = %s AND col = %s",
                        (value, float(value), reason, report_id, table, row, column))

    # ------------------------------------------------------------------ a stored report, read back
    def load_report(self, report_id: str) -> StoredReport:
        r = self.db.execute(f"SELECT {_REPORT_COLUMNS} FROM reports WHERE id = %s", (report_id,)).fetchone()
        meta = StoredMeta(r["title"], r["body"], r["short_name"], r["level"], r["year"], r["province"], r["city"],
                          r["county"])
        sections = [StoredSection(s["number"], s["title"], s["text"] or "", s["line_start"], s["line_end"],
                                  s["page_start"], s["page_end"])
                    for s in self.db.execute("SELECT * FROM sections WHERE report_id = %s ORDER BY number",
                                             (report_id,))]
        facts = [StoredFact(f["tbl"], f["row"], f["col"], f["value"], f["blank"], f["uncertain"], f["page"],
                            f["unit"], list(f["candidates"] or []))
                 for f in self.db.execute("SELECT * FROM facts WHERE report_id = %s ORDER BY seq", (report_id,))]
        return StoredReport(report_id, meta, sections, facts)


def drop_schema(url: str, schema: str) -> None:
    """Drop a pruned build's schema (index.store.drop_facts); logged, not raised, when the
    server cannot be reached (a later build's prune drops it)."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as db:
            db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    except psycopg.Error as error:
        log.warning("could not drop the facts schema %s of a pruned build: %s", schema, error)


def _exists(db: psycopg.Connection, schema: str) -> bool:
    return db.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None


def schema_exists(url: str, schema: str) -> bool:
    with psycopg.connect(url, connect_timeout=10) as db:
        return _exists(db, schema)


def schema_info(url: str, schema: str) -> dict[str, str]:
    """The ``build_info`` of a build's schema ({} when the schema is gone)."""
    with psycopg.connect(url, connect_timeout=10) as db:
        if not _exists(db, schema):
            return {}
        return {k: v for k, v in db.execute(sql.SQL("SELECT key, value FROM {}.build_info").format(
            sql.Identifier(schema))).fetchall()}


def _partition_years(db: psycopg.Connection, schema: str) -> set[int]:
    """The years of a schema's facts partitions (from the catalog: no scan of the facts)."""
    return {int(r[0][len("facts_y"):]) for r in db.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
        "WHERE p.relname = 'facts' AND n.nspname = %s AND c.relname LIKE 'facts\\_y%%'", (schema,)).fetchall()}


# The tables keyed by report, and the key (the rest are index-wide: copied whole).
_BY_REPORT = {"reports": "id", "sections": "report_id", "facts": "report_id", "checks": "report_id"}


def _catch_up_schema(db: psycopg.Connection, schema: str, source: str, report_ids: list[str]) -> None:
    """Make ``schema`` (the spare build's, one build behind; search_path) hold what
    ``source`` (the served build's) holds for these reports, and its index-wide tables
    whole: the rows of a few reports move instead of the whole schema."""
    src = sql.Identifier(source)
    for year in sorted(_partition_years(db, source) - _partition_years(db, schema)):
        db.execute(sql.SQL("CREATE TABLE {} PARTITION OF facts FOR VALUES IN ({})").format(
            sql.Identifier(f"facts_y{year}"), sql.Literal(year)))
    for table in COPIED:
        key = _BY_REPORT.get(table)
        if key is None:
            db.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
            db.execute(sql.SQL("INSERT INTO {} SELECT * FROM {}.{}").format(
                sql.Identifier(table), src, sql.Identifier(table)))
            continue
        where = sql.SQL("{} = ANY(%s)").format(sql.Identifier(key))
        db.execute(sql.SQL("DELETE FROM {} WHERE ").format(sql.Identifier(table)) + where, (report_ids,))
        db.execute(sql.SQL("INSERT INTO {} SELECT * FROM {}.{} WHERE ").format(
            sql.Identifier(table), src, sql.Identifier(table)) + where, (report_ids,))


def _copy_schema(db: psycopg.Connection, source: str) -> None:
    """Every row of the served build's schema into the new one (search_path: the new one)."""
    src = sql.Identifier(source)
    for (year,) in db.execute(sql.SQL("SELECT DISTINCT year FROM {}.facts WHERE year <> 0").format(src)).fetchall():
        db.execute(sql.SQL("CREATE TABLE {} PARTITION OF facts FOR VALUES IN ({})").format(
            sql.Identifier(f"facts_y{year}"), sql.Literal(year)))
    for table in COPIED:
        db.execute(sql.SQL("INSERT INTO {} SELECT * FROM {}.{}").format(
            sql.Identifier(table), src, sql.Identifier(table)))


def _ensure_read_role(db: psycopg.Connection) -> None:
    """The serving role exists and the build's role may switch to it (SET ROLE)."""
    have = db.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READ_ROLE,)).fetchone()
    if have is None:
        try:
            db.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(READ_ROLE)))
            db.commit()
        except psycopg.errors.DuplicateObject:
            db.rollback()  # another index's build made it meanwhile
    member = db.execute("SELECT pg_has_role(current_user, %s, 'MEMBER') AS m", (READ_ROLE,)).fetchone()["m"]
    if not member:
        db.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(READ_ROLE)))
    db.commit()
