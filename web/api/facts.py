"""GET /api/facts: a report builder: one figure across reports, filtered and sorted;
``format=csv`` downloads it (needs a key).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import Field

from index import template as T
from qa import facts as F
from qa.answer import catalog_of
from qa.understand import Figure, find_figure, fmt_number

from . import models as M
from .deps import (KEYED_ERRORS, LEVELS, MAX_OFFSET, YEAR_MAX, YEAR_MIN, ApiState, FiniteNumber, Official,
                   State, check_level, open_index, open_store)
from .errors import ApiError

router = APIRouter(prefix="/api/facts", tags=["facts"])

_CONDITIONS = {"=": "=", "eq": "=", "==": "=", ">": ">", "gt": ">", "<": "<", "lt": "<",
               ">=": ">=", "ge": ">=", "<=": "<=", "le": "<=", "blank": "blank", "空白": "blank"}
_SORTS = ("name", "-name", "year", "-year", "value", "-value", "level", "-level")
# a JSON page (280,000 reports' township rows in one response would be ≈ 80 MB); a CSV
# download is the whole table unless a limit is given
DEFAULT_PAGE, MAX_PAGE = 1_000, 10_000
FACT_COLUMNS = ["report_id", "agency", "name", "level", "region", "year", "value", "text_value", "unit",
                "status", "blank", "uncertain", "page", "quote", "note"]


def _row_specs() -> dict[tuple[str, str], T.RowSpec]:
    specs = {}
    for version in T.TEMPLATE_VERSIONS:
        for single in (True, False):
            for spec in T.rows_for(version, single):
                specs.setdefault((spec.table, spec.key), spec)
    return specs


ROW_SPECS = _row_specs()
_FIGURE_HELP = ("give table, row and column (e.g. table=依申请&row=本年新收&column=总计) or a figure name "
                "such as '本年新收 总计', '行政复议 结果纠正', '行政处罚' or '依申请|本年新收|总计'")


def _cell_figure(table: str | None, row: str, column: str) -> Figure:
    matches = [spec for (tbl, key), spec in ROW_SPECS.items() if key == row and (table is None or tbl == table)]
    if table is not None and table not in T.TABLES:
        raise ApiError(400, "bad_request", f"unknown table {table!r}: use one of {', '.join(T.TABLES)}")
    if not matches:
        raise ApiError(400, "unknown_figure", f"unknown row {row!r}" + (f" in table {table}" if table else "")
                       + f": {_FIGURE_HELP}")
    if len({m.table for m in matches}) > 1:
        raise ApiError(400, "bad_request", f"row {row!r} is in several tables: give table= too")
    columns = {c for m in matches for c in m.columns}
    if column not in columns:
        raise ApiError(400, "unknown_figure",
                       f"row {row!r} has no column {column!r}: use one of {', '.join(sorted(columns))}")
    spec = next(m for m in matches if column in m.columns)
    return Figure(f"{row} {column}", spec.table, (row,), (column,), spec.unit_of(column) or "")


def resolve_figure(figure: str | None, table: str | None, row: str | None, column: str | None) -> Figure:
    """The figure a request names: explicit table/row/column, 'row column', 'table|row|column',
    or the words people use (qa.understand.find_figure)."""
    if row or column:
        if not (row and column):
            raise ApiError(400, "bad_request", "give both row and column (or a figure name)")
        return _cell_figure(table, row.strip(), column.strip())
    if not figure or not figure.strip():
        raise ApiError(400, "bad_request", f"no figure chosen: {_FIGURE_HELP}")
    text = figure.strip()
    if text.count("|") == 2:
        tbl, row, col = (x.strip() for x in text.split("|"))
        return _cell_figure(tbl, row, col)
    words = text.split()
    if len(words) == 2 and any(key == words[0] for _, key in ROW_SPECS):
        return _cell_figure(table, words[0], words[1])
    if len(words) == 1 and any(key == text for _, key in ROW_SPECS):
        spec = next(s for (_, key), s in ROW_SPECS.items() if key == text)
        return _cell_figure(table, text, "总计" if "总计" in spec.columns else spec.columns[0])
    found = find_figure(text)
    if found is None:
        raise ApiError(400, "unknown_figure", f"unknown figure {figure!r}: {_FIGURE_HELP}")
    return found


def _reports(catalog, years: list[int], levels: list[str], regions: list[str], name: str | None) -> list:
    """The catalog's reports the filters keep."""
    return [r for r in catalog.reports
            if (not years or r.year in years) and (not levels or r.level in levels)
            and (not regions or any(g in (x or "") for g in regions for x in (r.province, r.city, r.county, r.body)))
            and (not name or any(name in (x or "") for x in (r.body, r.short_name, r.title)))]


def _fact_rows(store, refs: list, fig: Figure) -> list[dict]:
    """One row per report, in the order given."""
    rows = []
    for v in F.figure_values(store, refs, fig):
        r = v.report
        pages = [c.page for c in v.cells if c.page]
        rows.append({
            "report_id": r.id, "agency": r.body, "name": r.name, "level": r.level,
            "region": "".join(dict.fromkeys(p for p in (r.province, r.city, r.county) if p)) or None,
            "year": r.year, "value": v.number if v.has_number else None, "text_value": v.text_value,
            "unit": v.unit or None, "status": v.status, "blank": v.status == "blank",
            "uncertain": v.status == "uncertain", "page": pages[0] if pages else None,
            "quote": v.quote, "note": v.reason})
    return rows


def _table(state: ApiState, fig: Figure, years: list[int], levels: list[str], regions: list[str],
           name: str | None, op: str | None, value: float | None, sort: str, offset: int,
           limit: int | None) -> tuple[list[dict], int]:
    """(the rows from ``offset``, at most ``limit``; how many rows match in all). Sorted by
    name, year or level with no condition, only the rows of the page read their figure (the
    first page over 41,924 townships: 0.1 s, the whole table 1 s); a condition or a sort by
    value reads every report's."""
    index = open_index(state)
    with open_store(state, index) as store:
        catalog = catalog_of(index, store)  # made once per build, not per request
        refs = _reports(catalog, years, levels, regions, name)
        end = None if limit is None else offset + limit
        if op is None and sort.lstrip("-") != "value":
            keyed = _sort([{"ref": r, "name": r.name, "year": r.year, "level": r.level} for r in refs], sort)
            return _fact_rows(store, [k["ref"] for k in keyed[offset:end]], fig), len(keyed)
        rows = _sort([r for r in _fact_rows(store, refs, fig) if _matches(r, op, value)], sort)
        return rows[offset:end], len(rows)


def _matches(row: dict, op: str | None, value: float | None) -> bool:
    if op is None:
        return True
    if op == "blank":
        return row["status"] == "blank"
    n = row["value"]
    if n is None:
        return False
    return {"=": n == value, ">": n > value, "<": n < value, ">=": n >= value, "<=": n <= value}[op]


def _sort(rows: list[dict], sort: str) -> list[dict]:
    key = sort.lstrip("-")
    reverse = sort.startswith("-")
    present = [r for r in rows if r[key] is not None]
    absent = [r for r in rows if r[key] is None]  # blanks and unknowns last, whatever the direction
    present.sort(key=lambda r: (r[key], r["name"], r["year"] or 0), reverse=reverse)
    return present + absent


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return fmt_number(value)
    return csv_safe(str(value))


def csv_safe(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP CSV injection:
    a leading =, +, -, @, tab or CR gets a ' in front); plain numbers such as -3 stay numbers."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


@router.get("", response_model=M.FactsResponse, responses=KEYED_ERRORS,
                  description="A report builder: one figure across reports. JSON comes in pages (`offset`, `limit`; "
                              "`count` is every matching row, `next_offset` the next page's, null on the last); "
                              "`format=csv` downloads the whole table as CSV (UTF-8 with BOM, opens in Excel).")
def facts(state: State, _official: Official,
          figure: Annotated[str | None, Query(max_length=100, description="e.g. 本年新收 总计, 行政复议, 行政处罚")] = None,
          table: Annotated[str | None, Query(description=f"one of {', '.join(T.TABLES)}")] = None,
          row: Annotated[str | None, Query(max_length=100, description="canonical row key, e.g. 本年新收")] = None,
          column: Annotated[str | None, Query(max_length=100, description="canonical column, e.g. 总计")] = None,
          year: Annotated[list[Annotated[int, Field(ge=YEAR_MIN, le=YEAR_MAX)]],
                          Query(description="repeat for several years")] = [],
          level: Annotated[list[str], Query(description=f"repeat; each one of {', '.join(LEVELS)}")] = [],
          region: Annotated[list[str], Query(description="repeat; province, city, county or body name part")] = [],
          name: Annotated[str | None, Query(max_length=100, description="part of the body name")] = None,
          condition: Annotated[str | None, Query(description="=, >, <, >=, <= (or eq, gt, lt, ge, le) or blank")] = None,
          value: FiniteNumber | None = None,
          sort: Annotated[str, Query(description=f"one of {', '.join(_SORTS)}")] = "name",
          offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
          limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE, description=(
              f"rows per page (JSON default {DEFAULT_PAGE:,}; CSV default: every row)"))] = None,
          format: Literal["json", "csv"] = "json"):
    for lv in level:
        check_level(lv)
    if sort not in _SORTS:
        raise ApiError(400, "bad_request", f"unknown sort {sort!r}: use one of {', '.join(_SORTS)}")
    op = None
    if condition is not None:
        op = _CONDITIONS.get(condition.strip())
        if op is None:
            raise ApiError(400, "bad_request",
                           f"unknown condition {condition!r}: use one of =, >, <, >=, <=, blank")
        if op != "blank" and value is None:
            raise ApiError(400, "bad_request", f"condition {condition!r} needs a value=")
    fig = resolve_figure(figure, table, row, column)
    if limit is None and format == "json":
        limit = DEFAULT_PAGE
    rows, count = _table(state, fig, year, level, region, name, op, value, sort, offset, limit)
    described = None if op is None else ("blank" if op == "blank" else f"{op} {value:g}")
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=FACT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _csv_value(r[k]) for k in FACT_COLUMNS})
        return Response(buffer.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="facts.csv"'})
    return {"figure": {"name": fig.name, "table": fig.table, "rows": list(fig.rows), "columns": list(fig.columns),
                       "unit": fig.unit},
            "condition": described, "columns": FACT_COLUMNS, "data": rows, "count": count,
            "offset": offset, "limit": limit,
            "next_offset": offset + len(rows) if offset + len(rows) < count else None}
