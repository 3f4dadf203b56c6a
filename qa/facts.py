"""Read figures from the facts store (index.factstore): cells, checks and sections of reports.

A figure (``qa.understand.Figure``) is one cell or the sum of a few cells of a
standard table. Reading it for a report gives a ``FigureValue`` whose status says
what the table holds:

- ``ok``: every cell has a number;
- ``blank``: every cell is printed empty — 未填报, never 0;
- ``partial``: some cells are blank; the number is the sum of the filled ones;
- ``uncertain``: a cell could not be read with confidence; no number is given;
- ``missing``: the report has no such cell (2019 template without the column, or the
  table was not extracted).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from index import template as T
from index.factstore import FactStore

from .understand import Figure, ReportRef, resolve_column

TABLE_NUMBERS = {T.ACTIVE: "表二", T.APPLICATION: "表三", T.REVIEW: "表四"}
TABLE_SECTIONS = {T.ACTIVE: 2, T.APPLICATION: 3, T.REVIEW: 4}

def row_label(row: str) -> str:
    """How the standard tables print a row (for quotes): the templates' printed label."""
    return T.printed_label(row)


@dataclass
class Cell:
    report_id: str
    table: str
    row: str
    column: str
    value: str | None
    number: float | None
    unit: str | None
    raw: str | None
    page: int | None
    blank: bool
    uncertain: bool
    candidates: list[str] = field(default_factory=list)

    @property
    def quote(self) -> str:
        """'表三 本年新收政府信息公开申请数量 总计：0'"""
        if self.blank:
            shown = "（空白，未填报）"
        elif self.uncertain:
            shown = f"（无法确定，可能为 {' / '.join(self.candidates)}）" if self.candidates else "（无法确定）"
        else:
            shown = self.value if self.value is not None else (self.raw or "")
        return f"{TABLE_NUMBERS.get(self.table, self.table)} {row_label(self.row)} {self.column}：{shown}"

    def to_dict(self) -> dict:
        return {"report_id": self.report_id, "table": self.table, "row": self.row, "column": self.column,
                "value": self.value, "unit": self.unit, "page": self.page, "blank": self.blank,
                "uncertain": self.uncertain}


@dataclass
class FigureValue:
    report: ReportRef
    figure: Figure
    cells: list[Cell]
    status: str  # ok | blank | partial | uncertain | missing
    number: float | None
    reason: str = ""  # why it is missing or uncertain

    @property
    def has_number(self) -> bool:
        return self.status in ("ok", "partial") and self.number is not None

    @property
    def text_value(self) -> str | None:
        """The number as printed when it is one cell; otherwise the formatted sum."""
        if not self.has_number:
            return None
        filled = [c for c in self.cells if not c.blank]
        if len(filled) == 1 and filled[0].value is not None:
            return filled[0].value
        from .understand import fmt_number
        return fmt_number(round(self.number, 6))

    @property
    def unit(self) -> str:
        units = {c.unit for c in self.cells if c.unit}
        if len(units) == 1:
            return units.pop()
        return self.figure.unit

    @property
    def quote(self) -> str:
        if not self.cells:
            return ""
        if len(self.cells) == 1:
            return self.cells[0].quote
        table = TABLE_NUMBERS.get(self.figure.table, self.figure.table)
        parts = []
        for c in self.cells:
            shown = "空白" if c.blank else ("无法确定" if c.uncertain else (c.value or ""))
            label = row_label(c.row)
            if len({x.row for x in self.cells}) == 1:
                label = c.column
            elif len({x.column for x in self.cells}) > 1:
                label = f"{label} {c.column}"
            parts.append(f"{label}：{shown}")
        head = ""
        if len({x.row for x in self.cells}) == 1:
            head = f" {row_label(self.cells[0].row)}"
        elif len({x.column for x in self.cells}) == 1:
            head = f"（{self.cells[0].column}列）"
        return f"{table}{head} " + "；".join(parts)


def _row_matches(pattern: str, row: str) -> bool:
    if pattern.endswith("*"):
        stem = pattern[:-1]
        return row == stem.rstrip("-") or row.startswith(stem if stem.endswith("-") else stem + "-")
    return row == pattern


def _template_of(store: FactStore, report: ReportRef) -> str | None:
    """The report's template version; for a report stored without one, the template
    whose own column (its first marker) the report has, else the current one."""
    if report.template:
        return report.template
    return next((t.version for t in T.templates() if t.version != T.DEFAULT_VERSION
                 and store.has_column(report.id, T.ACTIVE, t.markers[0])), T.DEFAULT_VERSION)


def _cells(store: FactStore, report_ids: list[str], table: str, rows: list[str] | None = None,
           columns: list[str] | None = None) -> dict[str, list[Cell]]:
    out: dict[str, list[Cell]] = {rid: [] for rid in report_ids}
    for r in store.cells(report_ids, table, rows, columns):
        candidates = []
        if r["candidates"]:
            try:
                candidates = [str(c) for c in json.loads(r["candidates"])]
            except (ValueError, TypeError):
                candidates = []
        out[r["report_id"]].append(Cell(r["report_id"], r["tbl"], r["row"], r["col"], r["value"], r["number"],
                                        r["unit"], r["raw"], r["page"], bool(r["blank"]), bool(r["uncertain"]),
                                        candidates))
    return out


def _figure_cells(figure: Figure) -> tuple[list[str] | None, list[str] | None]:
    """The row keys and columns (in any template) a figure can be read from, so the
    store returns only those cells: a question across 10,000 reports reads a few cells
    of each, not its whole table. None where the figure names something unknown."""
    rows = [key for key in T.row_order() if any(_row_matches(p, key) for p in figure.rows)]
    columns = {resolve_column(c, t.version) for c in figure.columns for t in T.templates()}
    return rows or None, (None if None in columns else sorted(columns))


def figure_values(store: FactStore, reports: list[ReportRef], figure: Figure) -> list[FigureValue]:
    """The figure for each report, in the order given."""
    ids = [r.id for r in reports]
    by_report = _cells(store, ids, figure.table, *_figure_cells(figure))
    with_table = None  # reports with any cell of the table: only asked when one lacks the figure
    values = []
    # decided once per row key and per template, not per cell: /api/facts reads 40,000 reports
    row_wanted: dict[str, bool] = {}
    order = T.row_order()
    columns_of: dict[str | None, list[str | None]] = {}
    for report in reports:
        version = _template_of(store, report)
        if version not in columns_of:
            columns_of[version] = [resolve_column(c, version) for c in figure.columns]
        columns = columns_of[version]
        if any(c is None for c in columns):
            values.append(FigureValue(report, figure, [], "missing", None,
                                      f"该报告使用{version}年版表格，没有这一栏"))
            continue
        cells = []
        for c in by_report.get(report.id, []):
            if c.row not in row_wanted:
                row_wanted[c.row] = any(_row_matches(p, c.row) for p in figure.rows)
            if c.column in columns and row_wanted[c.row]:
                cells.append(c)
        if len(figure.rows) == 1 and figure.rows[0] == "其他处理*":
            # a report prints （六）其他处理 either as one row or as three sub-rows
            printed = [c for c in cells if not c.blank or c.row == "其他处理"]
            cells = printed or cells
        cells.sort(key=lambda c: (order.get(c.row, 99), columns.index(c.column)))
        if not cells:
            if with_table is None:
                with_table = store.reports_with_table(ids, figure.table)
            has_table = report.id in with_table
            reason = "该报告的表格中没有这一项" if has_table else "该报告的这张表格未能提取"
            values.append(FigureValue(report, figure, [], "missing", None, reason))
            continue
        if any(c.uncertain for c in cells):
            bad = [c for c in cells if c.uncertain]
            reason = "；".join(f"{row_label(c.row)} {c.column} 读数不确定" +
                              (f"（可能为 {' / '.join(c.candidates)}）" if c.candidates else "") for c in bad)
            values.append(FigureValue(report, figure, cells, "uncertain", None, reason))
            continue
        filled = [c for c in cells if not c.blank and c.value is not None]
        if not filled:
            values.append(FigureValue(report, figure, cells, "blank", None, "表格该栏为空（未填报）"))
            continue
        total = sum(float(c.value) for c in filled)
        status = "ok" if len(filled) == len(cells) else "partial"
        reason = "" if status == "ok" else f"其中 {len(cells) - len(filled)} 个单元格未填报，未计入"
        values.append(FigureValue(report, figure, cells, status, total, reason))
    return values


def failed_checks(store: FactStore, report_ids: list[str]) -> dict[str, list[dict]]:
    """Checks each report fails, with the equation as its detail."""
    out: dict[str, list[dict]] = {rid: [] for rid in report_ids}
    for r in store.failed_checks(report_ids):
        out[r["report_id"]].append({"rule": r["rule"], "scope": r["scope"], "detail": r["detail"]})
    return out


def blank_cells(store: FactStore, report_ids: list[str]) -> dict[str, list[Cell]]:
    """Cells printed empty, per report."""
    out: dict[str, list[Cell]] = {rid: [] for rid in report_ids}
    for r in store.blank_cells(report_ids):
        out[r["report_id"]].append(Cell(r["report_id"], r["tbl"], r["row"], r["col"], None, None, r["unit"],
                                        r["raw"], r["page"], True, bool(r["uncertain"])))
    for cells in out.values():
        cells.sort(key=lambda c: (list(TABLE_NUMBERS).index(c.table) if c.table in TABLE_NUMBERS else 9,
                                  T.row_order().get(c.row, 99)))
    return out


def uncertain_cells(store: FactStore, report_ids: list[str]) -> dict[str, int]:
    return {rid: 0 for rid in report_ids} | store.uncertain_counts(report_ids)


def has_tables(store: FactStore, report_ids: list[str]) -> dict[str, bool]:
    with_facts = store.reports_with_facts(report_ids)
    return {rid: rid in with_facts for rid in report_ids}

