"""One answer in the chat, as one self-contained bubble: the interpretation line (我理解为…),
the answer, its table (scrolls sideways, never breaks a number), its chart when it helps,
at most one plain-language warning line (details folded), its sources (each a <details>
opening to the quote and the table rows it cites), follow-up questions, and the copy and
feedback controls. Also the plain-text version the copy button copies.

Everything from a report is escaped: report text is text, never markup. The bubble is one
HTML block with no blank line in it (markdown leaves an HTML block alone up to a blank
line). Gradio's sanitiser drops data-* and aria-* attributes from chat messages, so what
the page script needs (the plain text, the answer's id) travels in hidden elements."""

from __future__ import annotations

import re

from index.factstore import FactStore
from qa.facts import TABLE_NUMBERS, failed_checks

from .links import cited_row, official_url_of, report_links_html
from .markup import LEVEL_LABELS, esc, grid_html

CHART_INTENTS = ("list", "rank", "trend", "aggregate", "compare")
PROGRESS = "正在查找…"
CHECK_LINE = "{who}报告的部分数字前后对不上，相关数字仅供参考。"
CHECK_WARNING = re.compile(r"报告未通过校验")

# Text colours are !important: gradio's chat styles (.prose) would set every colour to the
# body text's, and the interpretation, warning and notes would look like the answer.
CSS = """
.nb-answer { line-height: 1.6; }
.nb-answer p { margin: 4px 0; }
.nb-progress { color: #4b5563 !important; }
.nb-progress::after { content: ""; display: inline-block; width: 0.8em; height: 0.8em; margin-left: 6px;
  border: 2px solid #9ca3af; border-top-color: #1d4ed8; border-radius: 50%; animation: nb-spin 1s linear infinite;
  vertical-align: -2px; }
@keyframes nb-spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .nb-progress::after { animation: none; } }
.nb-src { border: 1px solid #d0d7de; border-radius: 6px; padding: 4px 8px; margin: 4px 0; background: #fafbfc; }
.nb-src summary { cursor: pointer; font-size: 0.92em; }
.nb-src blockquote { margin: 6px 0; padding: 4px 10px; border-left: 3px solid #8c959f; color: #24292f;
  white-space: pre-wrap; }
.nb-src .nb-links { font-size: 0.85em; }
.nb-sources-head { font-weight: 600; margin-top: 8px; }
.nb-note { color: #4b5563 !important; font-size: 0.85em; }
.nb-interp { color: #4b5563 !important; font-size: 0.85em; border-left: 3px solid #d0d7de; padding-left: 6px; }
.nb-warn { border-left: 3px solid #b45309; padding: 2px 8px; margin: 6px 0; color: #78350f !important;
  font-size: 0.92em; }
.nb-warn details, .nb-aside details { font-size: 0.9em; color: #374151; }
.nb-warn summary, .nb-aside summary { cursor: pointer; }
.nb-aside { color: #4b5563 !important; font-size: 0.85em; margin: 6px 0; }
.nb-scroll { overflow-x: auto; max-width: 100%; -webkit-overflow-scrolling: touch; }
.nb-scroll table { margin: 4px 0; }
.nb-answer .nb-table th, .nb-answer .nb-table td { white-space: nowrap; }
.nb-chart { margin: 8px 0; }
.nb-chart figcaption { font-weight: 600; margin-bottom: 4px; }
.nb-chart .nb-bar-row { display: grid; grid-template-columns: minmax(4em, 12em) 1fr auto; align-items: center;
  gap: 2px 8px; margin: 3px 0; }
.nb-chart .nb-bar-label { text-align: right; font-size: 0.9em; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.nb-chart .nb-bar-track { background: #f3f4f6; height: 20px; border-radius: 3px; min-width: 3em; }
.nb-chart .nb-bar { background: #2563eb; height: 20px; border-radius: 3px; min-width: 2px; }
.nb-chart .nb-bar-value { font-size: 0.9em; white-space: nowrap; }
@media (max-width: 640px) {
  .nb-chart .nb-bar-row { grid-template-columns: 1fr auto; }
  .nb-chart .nb-bar-label { grid-column: 1 / -1; text-align: left; }
}
.nb-follow { margin-top: 8px; display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.nb-follow-head { font-size: 0.9em; color: #374151 !important; }
.nb-answer button { font: inherit; cursor: pointer; border-radius: 6px; }
.nb-answer button.nb-ask { border: 1px solid #1d4ed8; color: #1d4ed8; background: #fff; padding: 2px 8px;
  font-size: 0.92em; text-align: left; }
.nb-tools { margin-top: 8px; display: flex; flex-wrap: wrap; gap: 6px; align-items: center; font-size: 0.9em; }
.nb-tools button { border: 1px solid #6b7280; color: #1f2937; background: #fff; padding: 1px 8px; }
.nb-tools button[aria-pressed="true"] { background: #1d4ed8; border-color: #1d4ed8; color: #fff; }
.nb-fb-more { display: none; width: 100%; gap: 6px; align-items: center; flex-wrap: wrap; }
.nb-fb-open .nb-fb-more { display: flex; }
.nb-fb-more input { border: 1px solid #6b7280; border-radius: 4px; padding: 2px 6px; min-width: 12em; flex: 1; }
.nb-status { color: #166534 !important; }
.nb-hidden { display: none !important; }
"""


# ------------------------------------------------------------------ numbers
def _number(value) -> float | None:
    try:
        return float(str(value).replace(",", ""))
    except (TypeError, ValueError):
        return None


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


# ------------------------------------------------------------------ the answer text
TABLE_LINE = re.compile(r"^\s*\|.*\|\s*$")
RULE_LINE = re.compile(r"^\s*\|(\s*:?-{3,}:?\s*\|)+\s*$")


def split_text(text: str) -> list[tuple[str, object]]:
    """The answer text (qa.compose writes markdown tables) as ("text", str) and
    ("table", (header, rows)) parts, in order."""
    parts: list[tuple[str, object]] = []
    lines = (text or "").split("\n")
    i = 0
    buf: list[str] = []
    while i < len(lines):
        if TABLE_LINE.match(lines[i]) and i + 1 < len(lines) and RULE_LINE.match(lines[i + 1]):
            if buf:
                parts.append(("text", "\n".join(buf).strip()))
                buf = []
            header = _cells(lines[i])
            rows = []
            i += 2
            while i < len(lines) and TABLE_LINE.match(lines[i]):
                rows.append(_cells(lines[i]))
                i += 1
            parts.append(("table", (header, rows)))
            continue
        buf.append(lines[i])
        i += 1
    if buf and "\n".join(buf).strip():
        parts.append(("text", "\n".join(buf).strip()))
    return parts


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _inline(text: str) -> str:
    """Escaped text with qa.compose's only inline markup (**bold**) kept as <strong>."""
    out = esc(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return out.replace("\n", "<br>")


def _plain(text: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"\1", text)


def answer_table_html(header: list[str], rows: list[list[str]]) -> str:
    """A table of the answer in a wrapper that scrolls sideways on a phone; numbers right-aligned."""
    out = ['<div class="nb-scroll" tabindex="0"><table class="nb-table"><thead><tr>']
    out += [f"<th>{esc(h)}</th>" for h in header]
    out.append("</tr></thead><tbody>")
    for row in rows:
        cells = "".join(f'<td class="num">{esc(c)}</td>' if _number(c) is not None else f"<td>{esc(c)}</td>"
                        for c in row)
        out.append(f"<tr>{cells}</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


# ------------------------------------------------------------------ warnings
def _check_terms(check: dict) -> set[str]:
    """The row and column names a failed check adds up (its scope and the terms of its equation)."""
    lhs = (check.get("detail") or "").split(":")[0]
    terms = {t.strip() for t in re.split(r"\s[+=]\s", lhs) if t.strip()}
    return terms | {check.get("scope") or ""}


def split_warnings(result: dict, store: FactStore | None, names: dict[str, dict] | None = None
                   ) -> tuple[str, list[str], list[str]]:
    """(the one plain-language line, its details, notes about other rows).

    A failed check is about the answer only if it adds up a cell the answer uses (the
    cell's row and column both appear in the check); the others are notes folded away,
    never the main line. Among the rest (a value not given, a blank cell, a scanned
    report) the first is the main line, since qa.compose writes those in plain words."""
    warnings = list(result.get("warnings") or [])
    plain = [w for w in warnings if not CHECK_WARNING.search(w)]
    checks = [w for w in warnings if CHECK_WARNING.search(w)]
    related_details: list[str] = []
    other_details: list[str] = []
    related_who: list[str] = []
    facts = result.get("facts") or []
    by_report: dict[str, list[dict]] = {}
    for f in facts:
        by_report.setdefault(f.get("report_id"), []).append(f)
    failed: dict[str, list[dict]] = {}
    if checks and store is not None and by_report:
        try:
            failed = failed_checks(store, list(by_report))
        except store.Error:
            failed = {}
    if failed:
        for rid, items in failed.items():
            cells = by_report.get(rid) or []
            who = _who_of(cells[0], (names or {}).get(rid)) if cells else rid
            for c in items:
                terms = _check_terms(c)
                text = f"{who}：{c['rule']}（{c['scope']}）：{c['detail']}"
                if any(f.get("row") in terms and f.get("column") in terms for f in cells):
                    related_details.append(text)
                    if who not in related_who:
                        related_who.append(who)
                else:
                    other_details.append(text)
    else:
        # No store or no cells to compare with: the checks stay folded, never the main line.
        other_details += checks
    if plain:
        return plain[0], plain[1:] + related_details, other_details
    if related_details:
        who = "、".join(related_who[:2]) + ("等" if len(related_who) > 2 else "")
        return CHECK_LINE.format(who=who), related_details, other_details
    return "", [], other_details


def _who_of(fact: dict, meta: dict | None = None) -> str:
    year = fact.get("year")
    name = (meta or {}).get("short_name") or fact.get("agency") or fact.get("report_id") or ""
    return name + (f"{year}年" if year else "")


def warnings_html(result: dict, store: FactStore | None, names: dict[str, dict] | None = None) -> str:
    line, details, others = split_warnings(result, store, names)
    out = []
    if line:
        folded = ""
        if details:
            folded = ("<details><summary>详情</summary><ul>" + "".join(f"<li>{esc(d)}</li>" for d in details)
                      + "</ul></details>")
        out.append(f'<div class="nb-warn">⚠ {esc(line)}{folded}</div>')
    if others:
        out.append('<div class="nb-aside"><details><summary>说明：所引报告其他部分的数字有对不上的地方（与本答案无关）'
                   "</summary><ul>" + "".join(f"<li>{esc(d)}</li>" for d in others) + "</ul></details></div>")
    return "".join(out)


# ------------------------------------------------------------------ sources
def table_rows_html(store: FactStore, report_id: str, table: str, rows: list[str]) -> str:
    """The full rows of one of a report's tables (as printed), as an HTML table that scrolls sideways."""
    if not rows:
        return ""
    grid = grid_html(store.report_facts(report_id, table, rows), caption=None)
    return f'<div class="nb-scroll" tabindex="0">{grid}</div>' if grid else ""


def _source_name(citation: dict, names: dict[str, dict]) -> str:
    rid = citation.get("report_id") or ""
    meta = names.get(rid, {})
    return meta.get("short_name") or citation.get("agency") or citation.get("title") or rid


def source_html(index: int, citation: dict, facts: list[dict], names: dict[str, dict],
                store: FactStore | None) -> str:
    """One source: a <details> that opens to the quote (and the table rows it cites)."""
    rid = citation.get("report_id") or ""
    who = _source_name(citation, names)
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
    return f'<details class="nb-src"><summary>{esc(summary)}</summary>{"".join(body)}</details>'


def sources_plain(citations: list[dict], names: dict[str, dict]) -> str:
    """The 来源 line of the copied text: each source's body, year, title and page."""
    parts = []
    for i, c in enumerate(citations, 1):
        who = _source_name(c, names)
        year = f"{c['year']}年" if c.get("year") else ""
        title = f"《{c['title']}》" if c.get("title") else ""
        page = f"第{c['page']}页" if c.get("page") else ""
        parts.append(f"[{i}] {who}{year}{title}{page}")
    return "来源：" + "；".join(parts) if parts else ""


# ------------------------------------------------------------------ chart
def chart_data(result: dict, names: dict[str, dict]) -> list[tuple[str, float | None, str]]:
    """(label, number or None, unit) per row of a list/rank/trend answer: from the
    answer's own table (what the reader sees), else from its facts."""
    if result.get("intent") not in CHART_INTENTS:
        return []
    return _table_chart(result) or _facts_chart(result, names)


def _facts_chart(result: dict, names: dict[str, dict]) -> list[tuple[str, float | None, str]]:
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


def _table_chart(result: dict) -> list[tuple[str, float | None, str]]:
    """The answer's own table (a ranking lists every body, its facts only some): the
    figure's column against the 单位 (and 年份) columns."""
    figure = ((result.get("interpretation") or {}).get("figure") or {}).get("name") \
        or (result.get("query") or {}).get("figure_name")
    for kind, part in split_text(result.get("answer", "")):
        if kind != "table":
            continue
        header, rows = part
        if not figure or figure not in header:
            continue
        col = header.index(figure)
        unit_col = header.index("计量单位") if "计量单位" in header else None
        body_col = header.index("单位") if "单位" in header else None
        year_col = header.index("年份") if "年份" in header else None
        years = {r[year_col] for r in rows if year_col is not None and year_col < len(r)}
        items = []
        for r in rows:
            if col >= len(r) or (value := _number(r[col])) is None:
                continue
            label = []
            if body_col is not None and body_col < len(r):
                label.append(r[body_col])
            if year_col is not None and year_col < len(r) and (len(years) > 1 or body_col is None):
                label.append(f"{r[year_col]}年")
            unit = r[unit_col] if unit_col is not None and unit_col < len(r) else ""
            items.append((" ".join(label) or str(len(items) + 1), value, unit))
        if len(items) >= 2:
            return items
    return []


def chart_title(result: dict, data: list[tuple[str, float | None, str]]) -> str:
    """Body, figure and years: '平潭综合实验区 2019–2025年 本年新收政府信息公开申请（件）'."""
    interp = result.get("interpretation") or {}
    figure = (interp.get("figure") or {}).get("name") or (result.get("query") or {}).get("figure_name") or "数值"
    bodies = interp.get("bodies") or []
    if not bodies and result.get("intent") == "trend":  # one body over the years
        agencies = {f.get("agency") for f in result.get("facts") or [] if f.get("agency")}
        bodies = sorted(agencies) if len(agencies) == 1 else []
    if bodies and len(bodies) <= 3:
        who = "、".join(bodies)
    elif interp.get("level"):
        who = "各" + LEVEL_LABELS.get(interp["level"], interp["level"])
    elif interp.get("region"):
        who = f"{interp['region']}各单位"
    else:
        who = "各单位"
    years = sorted({y for y in interp.get("years") or [] if y})
    if not years:
        years = sorted({int(m) for label, _, _ in data for m in re.findall(r"(\d{4})年?", label)
                        if 1990 < int(m) < 2100})
        years = sorted({int(f["year"]) for f in result.get("facts") or [] if f.get("year")}) or years
    span = (f"{years[0]}–{years[-1]}年" if len(years) > 1 and years == list(range(years[0], years[-1] + 1))
            else "、".join(f"{y}年" for y in years)) if years else ""
    units = {u for _, _, u in data if u}
    unit = f"（{units.pop()}）" if len(units) == 1 else ""
    return " ".join(x for x in (who, span, figure + unit) if x)


def chart_html(result: dict, names: dict[str, dict]) -> str:
    """Bars for a list, ranking or trend; nothing when every value is zero or missing."""
    data = chart_data(result, names)
    if not data or not any(v for _, v, _ in data):
        return ""
    top = max((v for _, v, _ in data if v is not None), default=0) or 1
    rows = []
    for label, value, u in data:
        width = 0 if value is None else max(0.0, value) / top * 100
        shown = "未填报或不确定" if value is None else f"{_fmt(value)} {u}".strip()
        rows.append(f'<div class="nb-bar-row"><div class="nb-bar-label">{esc(label)}</div>'
                    f'<div class="nb-bar-track"><div class="nb-bar" style="width:{width:.1f}%"></div></div>'
                    f'<div class="nb-bar-value">{esc(shown)}</div></div>')
    title = chart_title(result, data)
    return (f'<figure class="nb-chart"><figcaption>图：{esc(title)}</figcaption>'
            + "".join(rows) + "</figure>")


# ------------------------------------------------------------------ the bubble
def answer_plain(result: dict, note: str, names: dict[str, dict], store: FactStore | None = None) -> str:
    """What the copy button copies: the answer as plain text and a 来源 line."""
    out = []
    if note:
        out.append(note)
    for kind, part in split_text(result.get("answer", "")):
        if kind == "text":
            out.append(_plain(part))
        else:
            header, rows = part
            out.append("\n".join("\t".join(r) for r in [header, *rows]))
    line, _, _ = split_warnings(result, store, names)
    if line:
        out.append("注意：" + line)
    src = sources_plain(result.get("citations") or [], names)
    if src:
        out.append(src)
    return "\n".join(out)


def answer_html(result: dict, note: str, names: dict[str, dict], store: FactStore | None,
                answer_id: str = "", plain: str | None = None) -> str:
    """The chat message of one answer (see the module docstring for its parts); ``plain``
    is its answer_plain() when the caller has made it already."""
    parts = ['<div class="nb-answer">']
    helping = result.get("intent") == "help"  # not a question the reports answer (qa.help)
    summary = (result.get("interpretation") or {}).get("summary")
    if summary and not helping:
        parts.append(f'<div class="nb-interp">我理解为：{esc(summary)}</div>')
    if note:
        parts.append(f'<div class="nb-note">{esc(note)}</div>')
    for kind, part in split_text(result.get("answer", "")):
        if kind == "text":
            parts.append(f"<p>{_inline(part)}</p>")
        else:
            parts.append(answer_table_html(*part))
    parts.append(chart_html(result, names))
    parts.append(warnings_html(result, store, names))
    citations = result.get("citations") or []
    if citations:
        facts = result.get("facts") or []
        parts.append(f'<div class="nb-sources"><div class="nb-sources-head">来源（共 {len(citations)} 处，'
                     "点击展开原文摘录）：</div>"
                     + "".join(source_html(i, c, facts, names, store) for i, c in enumerate(citations, 1))
                     + "</div>")
    suggestions = [s for s in result.get("suggestions") or [] if s]
    if suggestions:
        head = "可以这样问：" if helping else "接着问："
        parts.append(f'<div class="nb-follow"><span class="nb-follow-head">{head}</span>'
                     + "".join(f'<button type="button" class="nb-ask">{esc(s)}</button>' for s in suggestions)
                     + "</div>")
    if plain is None:
        plain = answer_plain(result, note, names, store)
    parts.append(tools_html(plain, answer_id))
    parts.append("</div>")
    return "".join(parts)


def tools_html(plain: str, answer_id: str) -> str:
    """Copy and feedback controls; the plain text and the answer's id ride along hidden
    (the page script reads them: the sanitiser drops data-* attributes)."""
    # Newlines as character references: the bubble must have no blank line.
    hidden_text = esc(plain).replace("\n", "&#10;")
    feedback = ""
    if answer_id:
        feedback = ('<span class="nb-fb-head">这个回答：</span>'
                    '<button type="button" class="nb-fb nb-fb-up" aria-pressed="false">有用</button>'
                    '<button type="button" class="nb-fb nb-fb-down" aria-pressed="false">有误</button>'
                    '<span class="nb-status" role="status"></span>'
                    '<span class="nb-fb-more"><label>哪里有误（可不填）：<input type="text" class="nb-fb-text"></label>'
                    '<button type="button" class="nb-fb-send">提交</button></span>'
                    f'<span class="nb-aid nb-hidden">{esc(answer_id)}</span>')
    return (f'<div class="nb-tools"><button type="button" class="nb-copy">复制答案</button>{feedback}'
            f'<span class="nb-plain nb-hidden">{hidden_text}</span></div>')


def progress_html() -> str:
    return f'<div class="nb-progress" role="status">{PROGRESS}</div>'


def message_html(text: str) -> str:
    """A reply that is not an answer (an error, no index): escaped, one block."""
    return f'<div class="nb-answer"><p>{_inline(text)}</p></div>'

