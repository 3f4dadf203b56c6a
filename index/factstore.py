"""The facts store: everything question answering, the API and the web page read from
the structured index, behind one interface.

    from index.factstore import open_fact_store
    with open_fact_store("var/index") as store:
        store.cells(["000_8d3f9a9668695af1"], "依申请")

``FactStore`` is the contract; ``SQLiteFactStore`` reads ``reports.db`` (schema in
``index.store``), ``index.pgstore.PostgresFactStore`` a build's PostgreSQL schema (the
setting ``facts_url``). ``open_build_facts`` is the one place that picks the
implementation, from what the build recorded (``<build>/facts.txt``): readers need no
setting. The callers in ``qa/`` and ``ui/`` are the same for both.

Rows are read by column name (``row["value"]``): ``sqlite3.Row`` here, psycopg's
``dict_row`` in PostgreSQL. Methods that take report ids ask for all of them in one
query, never one per report: structured answers stay a few milliseconds.

The write side is ``index.store.StoreWriter`` (``SQLiteWriter``, ``PostgresWriter``):
``index.build`` writes its own copy of the store (a new reports.db or a new schema), one
commit per report, before switching ``current``.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import layout, store

Row = Mapping[str, Any]  # one result row, read by column name


class FactStore(ABC):
    """Read access to the reports, sections, facts (table cells), checks and build info
    of the index being served. Open one per request or question and close it (or use
    ``with``); an implementation may hand out pooled connections."""

    Error: type[Exception]  # what a failed query raises (the driver's DB-API ``Error``)

    def __enter__(self) -> FactStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @abstractmethod
    def close(self) -> None:
        """Give the connection back."""

    # ------------------------------------------------------------------ reports
    @abstractmethod
    def catalog_reports(self) -> list[Row]:
        """Every report's id, title, body, short_name, level, year, province, city,
        county and template, by year then id (what ``qa.understand.Catalog`` is made of)."""

    @abstractmethod
    def reports_by_name(self) -> list[Row]:
        """Every report's id, title, body, short_name, level and year, by level, then
        short name (or body when there is none), then year (the web page's report menu)."""

    @abstractmethod
    def report_titles(self, report_ids: Sequence[str]) -> dict[str, str | None]:
        """The title of each report id that exists."""

    @abstractmethod
    def read_by_ocr(self, report_ids: Sequence[str]) -> set[str]:
        """The ids among these whose build read some pages by OCR (index.parse records it
        among the report's problems)."""

    @abstractmethod
    def list_reports(self, *, year: int | None = None, level: str | None = None, region: str | None = None,
                     name: str | None = None, offset: int = 0, limit: int = 50) -> tuple[list[Row], int]:
        """One page of reports (columns as ``report``), newest year first then by id, and
        how many match in all. ``region`` is part of the province, city, county or body;
        ``name`` part of the body, short name or title."""

    @abstractmethod
    def report(self, report_id: str) -> Row | None:
        """One report: every column of ``reports`` plus ``failed_checks`` (checks with
        passed = 0) and ``uncertain_cells`` (cells marked uncertain); None if unknown."""

    @abstractmethod
    def report_count(self) -> int:
        """How many reports the index holds."""

    @abstractmethod
    def build_info(self) -> dict[str, str]:
        """What the build recorded: built_at, input_dir, report_count."""

    # ------------------------------------------------------------------ table cells
    @abstractmethod
    def cells(self, report_ids: Sequence[str], table: str, rows: Sequence[str] | None = None,
              columns: Sequence[str] | None = None) -> list[Row]:
        """The cells of one table (主动公开, 依申请, 复议诉讼) of these reports, in any order,
        only in these rows and columns when given: report_id, tbl, row, col, value, number,
        unit, raw, page, blank, uncertain, candidates (a JSON list or None)."""

    @abstractmethod
    def reports_with_table(self, report_ids: Sequence[str], table: str) -> set[str]:
        """Those of the reports with at least one cell of the table."""

    @abstractmethod
    def has_column(self, report_id: str, table: str, column: str) -> bool:
        """Whether the report has any cell in this column of the table (tells a 2019
        table from a 2021 one when the template was not recorded)."""

    @abstractmethod
    def blank_cells(self, report_ids: Sequence[str]) -> list[Row]:
        """The cells printed empty in these reports, by report_id, tbl, row, col:
        report_id, tbl, row, col, value, number, unit, raw, page, blank, uncertain."""

    @abstractmethod
    def uncertain_counts(self, report_ids: Sequence[str]) -> dict[str, int]:
        """How many cells could not be read with certainty, for each report that has any."""

    @abstractmethod
    def reports_with_facts(self, report_ids: Sequence[str]) -> set[str]:
        """Those of these reports that have at least one table cell."""

    @abstractmethod
    def report_facts(self, report_id: str, table: str | None = None,
                     rows: Sequence[str] | None = None) -> list[Row]:
        """The cells of one report in reading order (every column of ``facts``),
        optionally only one table and only some of its rows."""

    # ------------------------------------------------------------------ sections
    @abstractmethod
    def section(self, report_id: str, number: int) -> dict | None:
        """Section ``number`` (0-6) of a report: number, title, text, page_start, page_end."""

    @abstractmethod
    def sections(self, report_ids: Sequence[str]) -> list[dict]:
        """Every section of these reports, by report_id then number: report_id, number,
        title, text, page_start, page_end."""

    # ------------------------------------------------------------------ checks
    @abstractmethod
    def failed_checks(self, report_ids: Sequence[str]) -> list[Row]:
        """The checks these reports fail (passed = 0), in the order they were made:
        report_id, rule, scope, detail."""

    @abstractmethod
    def report_checks(self, report_id: str) -> list[Row]:
        """Every check of one report, in the order made: rule, scope, passed (1, 0 or
        None when it could not be decided), detail."""

    @abstractmethod
    def list_failed_checks(self, *, year: int | None = None, level: str | None = None, rule: str | None = None,
                           undecided: bool = False) -> list[Row]:
        """Failed checks (and undecided ones with ``undecided``) across reports, newest
        year first, then by report and the order made: report_id, rule, scope, detail,
        passed, and the report's title, body, level, year."""


def _year_level(year: int | None, level: str | None, mark: str = "?") -> tuple[list[str], list]:
    """WHERE clauses (on reports ``r``) and their arguments for a year and a level;
    ``mark``: the driver's placeholder (PostgreSQL's is %s)."""
    where, args = [], []
    if year is not None:
        where.append(f"r.year = {mark}")
        args.append(year)
    if level:
        where.append(f"r.level = {mark}")
        args.append(level)
    return where, args


def _contains(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its own % and _ taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _marks(values: Sequence) -> str:
    return ",".join("?" * len(values))


_REPORT_COLUMNS = ("SELECT r.*, (SELECT COUNT(*) FROM checks c WHERE c.report_id = r.id AND c.passed = 0) "
                   "AS failed_checks, (SELECT COUNT(*) FROM facts f WHERE f.report_id = r.id AND f.uncertain = 1) "
                   "AS uncertain_cells FROM reports r")


class SQLiteFactStore(FactStore):
    """The facts store over one build's ``reports.db`` (``index.store``)."""

    Error = sqlite3.Error

    def __init__(self, db: sqlite3.Connection):
        self.db = db  # rows must be sqlite3.Row (index.store opens it so)

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ reports
    def catalog_reports(self) -> list[Row]:
        return self.db.execute(
            "SELECT id, title, body, short_name, level, year, province, city, county, template "
            "FROM reports ORDER BY year, id").fetchall()

    def reports_by_name(self) -> list[Row]:
        return self.db.execute("SELECT id, title, body, short_name, level, year FROM reports "
                               "ORDER BY level, COALESCE(short_name, body), year").fetchall()

    def report_titles(self, report_ids: Sequence[str]) -> dict[str, str | None]:
        return {r["id"]: r["title"] for r in self.db.execute(
            f"SELECT id, title FROM reports WHERE id IN ({_marks(report_ids)})", tuple(report_ids))}

    def read_by_ocr(self, report_ids: Sequence[str]) -> set[str]:
        if not report_ids:
            return set()
        return {r[0] for r in self.db.execute(
            f"SELECT id FROM reports WHERE id IN ({_marks(report_ids)}) AND problems LIKE '%read by OCR%'",
            tuple(report_ids))}

    def list_reports(self, *, year: int | None = None, level: str | None = None, region: str | None = None,
                     name: str | None = None, offset: int = 0, limit: int = 50) -> tuple[list[Row], int]:
        where, args = _year_level(year, level)
        if region:
            where.append("(r.province LIKE ? ESCAPE '\\' OR r.city LIKE ? ESCAPE '\\' "
                         "OR r.county LIKE ? ESCAPE '\\' OR r.body LIKE ? ESCAPE '\\')")
            args += [_contains(region)] * 4
        if name:
            where.append("(r.body LIKE ? ESCAPE '\\' OR r.short_name LIKE ? ESCAPE '\\' "
                         "OR r.title LIKE ? ESCAPE '\\')")
            args += [_contains(name)] * 3
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        count = self.db.execute(f"SELECT COUNT(*) FROM reports r{clause}", args).fetchone()[0]
        rows = self.db.execute(f"{_REPORT_COLUMNS}{clause} ORDER BY r.year DESC, r.id LIMIT ? OFFSET ?",
                               [*args, limit, offset]).fetchall()
        return rows, count

    def report(self, report_id: str) -> Row | None:
        return self.db.execute(f"{_REPORT_COLUMNS} WHERE r.id = ?", (report_id,)).fetchone()

    def report_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM reports").fetchone()[0]

    def build_info(self) -> dict[str, str]:
        return store.info(self.db)

    # ------------------------------------------------------------------ table cells
    def cells(self, report_ids: Sequence[str], table: str, rows: Sequence[str] | None = None,
              columns: Sequence[str] | None = None) -> list[Row]:
        if not report_ids:
            return []
        sql = ("SELECT report_id, tbl, row, col, value, number, unit, raw, page, blank, uncertain, candidates "
               f"FROM facts WHERE tbl = ? AND report_id IN ({_marks(report_ids)})")
        args = [table, *report_ids]
        for name, values in (("row", rows), ("col", columns)):
            if values is not None:
                sql += f" AND {name} IN ({_marks(values)})"
                args += list(values)
        return self.db.execute(sql, args).fetchall()

    def reports_with_table(self, report_ids: Sequence[str], table: str) -> set[str]:
        if not report_ids:
            return set()
        return {r[0] for r in self.db.execute(
            f"SELECT DISTINCT report_id FROM facts WHERE tbl = ? AND report_id IN ({_marks(report_ids)})",
            (table, *report_ids))}

    def has_column(self, report_id: str, table: str, column: str) -> bool:
        return self.db.execute("SELECT 1 FROM facts WHERE report_id = ? AND tbl = ? AND col = ? LIMIT 1",
                               (report_id, table, column)).fetchone() is not None

    def blank_cells(self, report_ids: Sequence[str]) -> list[Row]:
        if not report_ids:
            return []
        # the primary key gives this order: no sort step
        return self.db.execute(
            f"SELECT report_id, tbl, row, col, value, number, unit, raw, page, blank, uncertain FROM facts "
            f"WHERE blank = 1 AND report_id IN ({_marks(report_ids)}) ORDER BY report_id, tbl, row, col",
            tuple(report_ids)).fetchall()

    def uncertain_counts(self, report_ids: Sequence[str]) -> dict[str, int]:
        if not report_ids:
            return {}
        return {r["report_id"]: r["n"] for r in self.db.execute(
            f"SELECT report_id, COUNT(*) AS n FROM facts WHERE uncertain = 1 "
            f"AND report_id IN ({_marks(report_ids)}) GROUP BY report_id", tuple(report_ids))}

    def reports_with_facts(self, report_ids: Sequence[str]) -> set[str]:
        if not report_ids:
            return set()
        return {r["report_id"] for r in self.db.execute(
            f"SELECT DISTINCT report_id FROM facts WHERE report_id IN ({_marks(report_ids)})", tuple(report_ids))}

    def report_facts(self, report_id: str, table: str | None = None,
                     rows: Sequence[str] | None = None) -> list[Row]:
        sql, args = "SELECT * FROM facts WHERE report_id = ?", [report_id]
        if table is not None:
            sql += " AND tbl = ?"
            args.append(table)
        if rows is not None:
            sql += f" AND row IN ({_marks(rows)})"
            args += rows
        return self.db.execute(sql + " ORDER BY rowid", args).fetchall()

    # ------------------------------------------------------------------ sections
    def section(self, report_id: str, number: int) -> dict | None:
        r = self.db.execute("SELECT number, title, text, page_start, page_end FROM sections "
                            "WHERE report_id = ? AND number = ?", (report_id, number)).fetchone()
        return dict(r) if r else None

    def sections(self, report_ids: Sequence[str]) -> list[dict]:
        if not report_ids:
            return []
        return [dict(r) for r in self.db.execute(
            f"SELECT report_id, number, title, text, page_start, page_end FROM sections "
            f"WHERE report_id IN ({_marks(report_ids)}) ORDER BY report_id, number", tuple(report_ids))]

    # ------------------------------------------------------------------ checks
    def failed_checks(self, report_ids: Sequence[str]) -> list[Row]:
        if not report_ids:
            return []
        return self.db.execute(f"SELECT report_id, rule, scope, detail FROM checks WHERE passed = 0 "
                               f"AND report_id IN ({_marks(report_ids)}) ORDER BY rowid", tuple(report_ids)).fetchall()

    def report_checks(self, report_id: str) -> list[Row]:
        return self.db.execute("SELECT rule, scope, passed, detail FROM checks WHERE report_id = ? ORDER BY rowid",
                               (report_id,)).fetchall()

    def list_failed_checks(self, *, year: int | None = None, level: str | None = None, rule: str | None = None,
                           undecided: bool = False) -> list[Row]:
        where, args = _year_level(year, level)
        where.append("(c.passed = 0" + (" OR c.passed IS NULL)" if undecided else ")"))
        if rule:
            where.append("c.rule = ?")
            args.append(rule)
        return self.db.execute(
            "SELECT c.report_id, c.rule, c.scope, c.detail, c.passed, r.title, r.body, r.level, r.year "
            "FROM checks c JOIN reports r ON r.id = c.report_id WHERE " + " AND ".join(where) +
            " ORDER BY r.year DESC, c.report_id, c.rowid", args).fetchall()


def open_fact_store(index_dir: str | Path) -> FactStore:
    """The facts of the build being served at ``index_dir``, read-only. Raises
    FileNotFoundError when nothing has been built yet."""
    build = layout.current_dir(index_dir)
    if build is None:
        raise FileNotFoundError(f"no index at {index_dir}: build one with scripts/build_index.py")
    return open_build_facts(build)


def open_build_facts(build_dir: str | Path) -> FactStore:
    """The facts of one build, read-only: the one place that picks the implementation,
    from what the build recorded (a reader needs no setting). PostgreSQL when the build
    wrote its facts there (index.pgstore, ``<build>/facts.txt``), else its reports.db."""
    where = layout.recorded_facts(build_dir)
    if where is not None:
        from .pgstore import PostgresFactStore

        return PostgresFactStore(*where)
    return SQLiteFactStore(store.open_readonly(build_dir))
