"""One answer in the chat: the interpretation line, the answer, its warnings, its sources
(each a <details> opening to the quote and the table rows it cites) and its chart.
Everything from a report is escaped: report text is text, never markup."""

from __future__ import annotations

from index.factstore import FactStore
from qa.facts import TABLE_NUMBERS

from .links import cited_row, official_url_of, report_links_html
from .markup import esc, grid_html

CHART_INTENTS = ("list", "rank", "trend", "aggregate", "compare")

CSS = """
.nb-src { border: 1px solid #d0d7de; border-radius: 6px; padding: 4px 8px; margin: 4px 0; background: #fafbfc; }
.nb-src summary { cursor: pointer; font-size: 0.92em; }
.nb-src blockquote { margin: 6px 0; padding: 4px 10px; border-left: 3px solid #8c959f; color: #24292f;
  white-space: pre-wrap; }
.nb-src .nb-links { font-size: 0.85em; }
.nb-note { color: #57606a; font-size: 0.85em; }
.nb-interp { color: #57606a; font-size: 0.85em; border-left: 3px solid #d0d7de; padding-left: 6px; }
.nb-warn { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 4px 8px; margin: 6px 0; }
.nb-chart { margin: 4px 0; }
.nb-chart .nb-bar-row { display: flex; align-items: center; margin: 3px 0; }
.nb-chart .nb-bar-label { width: 12em; text-align: right; padding-right: 8px; font-size: 0.9em; }
.nb-chart .nb-bar-track { flex: 1; background: #f3f4f6; height: 20px; border-radius: 3px; position: relative; }
.nb-chart .nb-bar { background: #3b82f6; height: 20px; border-radius: 3px; min-width: 2px; }
.nb-chart .nb-bar-value { width: 7em; padding-left: 8px; font-size: 0.9em; }
"""


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


def table_rows_html(store: FactStore, report_id: str, table: str, rows: list[str]) -> str:
    """The full rows of one of a report's tables (as printed), as an HTML table."""
    if not rows:
        return ""
    return grid_html(store.report_facts(report_id, table, rows), caption=None)

def source_html(index: int, citation: dict, facts: list[dict], names: dict[str, dict],
                store: FactStore | None) -> str:
    """One source: a <details> that opens to the quote (and the table rows it cites)."""
    rid = citation.get("report_id") or ""
    meta = names.get(rid, {})
    who = meta.get("short_name") or citation.get("agency") or citation.get("title") or rid
    year = citation.get("year")
    summary = f"[{index}] {who}" + (f" {year}年" if year else "")
    if citation.get("section"):
        summary += f" · {citation['section']}"
    if citation.get("page"):
        summary += f" · 第{citation['page']}页"
    body = [f"<blockquote>{esc(citation.get('quote'))}</blockquote>"]
    own = [f for f in facts if f.get("report_id") == rid]
    if own and store is not None:
        by_table: dict[str, list[str]] = {}
        for f in own:
            rows = by_table.setdefault(f.get("table"), [])
            if f.get("row") not in rows:
                rows.append(f.get("row"))
        for table, rows in by_table.items():
            try:
                body.append(f"<div>{esc(TABLE_NUMBERS.get(table, table))}（{esc(table)}）所在行：</div>"
                            + table_rows_html(store, rid, table, rows))
            except store.Error:
                pass
    body.append(report_links_html(rid, citation.get("title") or who, citation.get("page"),
                                  quote=citation.get("quote"), row=cited_row(own),
                                  official_url=official_url_of(store, rid)))
    # One line, no blank lines: markdown leaves an HTML block alone up to a blank line.
    return f'<details class="nb-src"><summary>{esc(summary)}</summary>{"".join(body)}</details>'


def answer_markdown(result: dict, note: str, names: dict[str, dict], store: FactStore | None) -> str:
    """The chat message of one answer: text (escaped), warnings, then its sources."""
    parts = []
    summary = (result.get("interpretation") or {}).get("summary")
    if summary:
        parts.append(f'<div class="nb-interp">我理解为：{esc(summary)}</div>')
        parts.append("")
    if note:
        parts.append(f'<div class="nb-note">{esc(note)}</div>')
        parts.append("")
    parts.append(esc(result.get("answer", "")))
    warnings = result.get("warnings") or []
    if warnings:
        parts.append("")
        parts.append('<div class="nb-warn">⚠️ 注意：' + "<br>".join(esc(w) for w in warnings) + "</div>")
    citations = result.get("citations") or []
    if citations:
        parts.append("")
        parts.append(f"**来源**（共 {len(citations)} 处，点击展开原文摘录）：")
        parts.append("")
        facts = result.get("facts") or []
        parts.append("\n".join(source_html(i, c, facts, names, store) for i, c in enumerate(citations, 1)))
    return "\n".join(parts)


def chart_data(result: dict, names: dict[str, dict]) -> list[tuple[str, float | None, str]]:
    """(label, number or None, unit) per report of a list/rank/trend answer."""
    if result.get("intent") not in CHART_INTENTS:
        return []
    groups: dict[str, dict] = {}
    for f in result.get("facts") or []:
        rid = f.get("report_id")
        g = groups.setdefault(rid, {"year": f.get("year"), "sum": None, "unit": f.get("unit") or "",
                                    "agency": f.get("agency")})
        n = _number(f.get("value")) if not f.get("uncertain") and not f.get("blank") else None
        if n is not None:
            g["sum"] = (g["sum"] or 0.0) + n
    if len(groups) < 2:
        return []
    intent = result.get("intent")
    bodies = {g["agency"] for g in groups.values()}
    items = []
    for rid, g in groups.items():
        name = (names.get(rid) or {}).get("short_name") or g["agency"] or rid
        if intent == "trend" or len(bodies) == 1:
            label = f"{g['year']}年" if g["year"] else name
        else:
            label = name + (f" {g['year']}" if g["year"] else "")
        items.append((label, g["sum"], g["unit"], g["year"] or 0))
    if intent == "trend" or len(bodies) == 1:
        items.sort(key=lambda x: x[3])
    return [(label, value, unit) for label, value, unit, _ in items]


def chart_html(result: dict, names: dict[str, dict]) -> str:
    data = chart_data(result, names)
    if not data:
        return ""
    figure = (result.get("query") or {}).get("figure_name") or "数值"
    units = {u for _, _, u in data if u}
    unit = units.pop() if len(units) == 1 else ""
    top = max((v for _, v, _ in data if v is not None), default=0) or 1
    rows = []
    for label, value, u in data:
        width = 0 if value is None else max(0.0, value) / top * 100
        shown = "未填报或不确定" if value is None else f"{_fmt(value)} {u}".strip()
        rows.append(f'<div class="nb-bar-row"><div class="nb-bar-label">{esc(label)}</div>'
                    f'<div class="nb-bar-track"><div class="nb-bar" style="width:{width:.1f}%"></div></div>'
                    f'<div class="nb-bar-value">{esc(shown)}</div></div>')
    title = f"图表：{figure}" + (f"（{unit}）" if unit else "")
    return (f'<div class="nb-chart" role="img" aria-label="{esc(title)}"><h4>{esc(title)}</h4>'
            + "".join(rows) + "</div>")

