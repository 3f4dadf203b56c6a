"""The citizens' web page: ask questions of the annual reports, browse the reports.

    from ui.web import build_demo, mount
    demo = build_demo("var/index")          # a gr.Blocks
    app = mount(FastAPI(), "var/index")     # the page at '/', next to the API routes

Two tabs:

- 问答: a chat. Each answer is followed by its sources; each source opens (HTML
  ``<details>``) to the quoted passage or the full table row it comes from, with links
  to the report file (``/api/reports/{id}/source``, served by web.api) and to the report
  in the browse tab (``?report={id}``). Follow-up questions work: the earlier questions
  go to ``qa.answer.answer`` as history. Filters for year and level are added to the
  question text when the question does not say them itself, and only when
  ``qa.understand`` reads the result as meaning that filter. A list, ranking or trend
  gets a bar chart (plain HTML, no script).
- 浏览报告: pick a report; its metadata, check results (failing ones highlighted), its
  three tables and its sections.

Everything that comes from a report is HTML-escaped before it is shown: report text is
text, never markup, and no script from a report runs. Nothing is loaded from outside
the machine (gradio serves its own assets; the theme uses system fonts; analytics off:
``python -m qa serve`` sets GRADIO_ANALYTICS_ENABLED=False and HF_HUB_OFFLINE before
gradio is imported).
"""

from __future__ import annotations

import html  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
from collections.abc import Mapping  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import quote  # noqa: E402

import gradio as gr  # noqa: E402

from index import template as T  # noqa: E402
from index.factstore import FactStore  # noqa: E402
from index.served import Index, IndexNotFound, served  # noqa: E402
from qa.answer import answer, catalog_of  # noqa: E402
from qa.conversation import trim_history  # noqa: E402
from qa.facts import TABLE_NUMBERS, row_label  # noqa: E402
from qa.understand import LEVEL_NAMES, Catalog, QuestionError, understand  # noqa: E402

log = logging.getLogger(__name__)

EXAMPLES = [
    "哪些乡镇2021年没有收到政府信息公开申请？",
    "柔远镇2020年行政处罚多少件？",
    "交岔乡是怎么做好主动公开的？",
    "2021年哪个乡镇收到的申请最多？",
    "2021年各乡镇行政处罚分别是多少？",
]
# Words that make qa.understand read a level (see qa.understand._LEVEL_PATTERNS).
LEVEL_WORDS = {"township": "乡镇", "county": "县区", "city": "市级", "province": "省级", "department": "部门"}
FOLLOW_UP_START = re.compile(r"^(那么|那|还有|另外|再|换成|如果是|改成|同样|也)")
CHART_INTENTS = ("list", "rank", "trend", "aggregate", "compare")
TABLE_TITLES = {T.ACTIVE: "主动公开政府信息情况", T.APPLICATION: "收到和处理政府信息公开申请情况",
                T.REVIEW: "政府信息公开行政复议、行政诉讼情况"}
SECTION_NAMES = {0: "标题和前言", 1: "一、总体情况", 2: "二、主动公开政府信息情况",
                 3: "三、收到和处理政府信息公开申请情况", 4: "四、政府信息公开行政复议、行政诉讼情况",
                 5: "五、存在的主要问题及改进情况", 6: "六、其他需要报告的事项"}

THEME = gr.themes.Default(
    font=[gr.themes.Font("PingFang SC"), gr.themes.Font("Microsoft YaHei"), gr.themes.Font("Noto Sans CJK SC"),
          gr.themes.Font("sans-serif")],
    font_mono=[gr.themes.Font("monospace")],
)

CSS = """
:root, gradio-app { --font: 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif;
  --font-mono: monospace; }
#nb-style { display: none; }
.nb-src { border: 1px solid #d0d7de; border-radius: 6px; padding: 4px 8px; margin: 4px 0; background: #fafbfc; }
.nb-src summary { cursor: pointer; font-size: 0.92em; }
.nb-src blockquote { margin: 6px 0; padding: 4px 10px; border-left: 3px solid #8c959f; color: #24292f;
  white-space: pre-wrap; }
.nb-src .nb-links { font-size: 0.85em; }
.nb-note { color: #57606a; font-size: 0.85em; }
.nb-interp { color: #57606a; font-size: 0.85em; border-left: 3px solid #d0d7de; padding-left: 6px; }
.nb-warn { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 4px 8px; margin: 6px 0; }
.nb-table { border-collapse: collapse; margin: 6px 0 14px 0; font-size: 0.9em; }
.nb-table th, .nb-table td { border: 1px solid #d0d7de; padding: 3px 6px; text-align: left; vertical-align: top; }
.nb-table th { background: #f3f4f6; }
.nb-table td.num { text-align: right; }
.nb-table td.blank { color: #8c959f; }
.nb-table td.uncertain { background: #fff1c2; }
.nb-table tr.nb-fail td { background: #ffe1e1; color: #82071e; font-weight: 600; }
.nb-table tr.nb-pass td.nb-result { color: #116329; }
.nb-table tr.nb-undecided td.nb-result { color: #57606a; }
.nb-section { border: 1px solid #d0d7de; border-radius: 6px; padding: 4px 10px; margin: 6px 0; }
.nb-section summary { cursor: pointer; font-weight: 600; }
.nb-text { white-space: pre-wrap; line-height: 1.7; }
.nb-chart { margin: 4px 0; }
.nb-chart .nb-bar-row { display: flex; align-items: center; margin: 3px 0; }
.nb-chart .nb-bar-label { width: 12em; text-align: right; padding-right: 8px; font-size: 0.9em; }
.nb-chart .nb-bar-track { flex: 1; background: #f3f4f6; height: 20px; border-radius: 3px; position: relative; }
.nb-chart .nb-bar { background: #3b82f6; height: 20px; border-radius: 3px; min-width: 2px; }
.nb-chart .nb-bar-value { width: 7em; padding-left: 8px; font-size: 0.9em; }
.nb-fail-badge { color: #82071e; font-weight: 600; }
.nb-ok-badge { color: #116329; }
.nb-table td.nb-result, .nb-table td.nb-nowrap { white-space: nowrap; }
.nb-table caption { text-align: left; font-weight: 600; padding: 4px 0; }
"""


def esc(value) -> str:
    """HTML-escape anything shown on the page (report text is text, never markup)."""
    return html.escape("" if value is None else str(value), quote=True)


# ------------------------------------------------------------------------ index access
class IndexView:
    """The index being served (index.served): each request takes the current build once
    and reads everything it shows from that one build."""

    def __init__(self, index_dir: str | Path):
        self.served = served(index_dir)

    def index(self) -> Index | None:
        try:
            return self.served.get()
        except IndexNotFound:
            return None

    def reports(self, index: Index | None = None) -> list[dict]:
        """Every report's id, names, level and year, by name (made once per build)."""
        index = index or self.index()
        if index is None:
            return []

        def make():
            with index.facts() as store:
                return [dict(r) for r in store.reports_by_name()]
        return index.cached("page_reports", make)

    def short_names(self, index: Index | None = None) -> dict[str, dict]:
        return {r["id"]: r for r in self.reports(index)}


def report_label(r: dict) -> str:
    name = r.get("short_name") or r.get("body") or r["id"]
    year = f"{r['year']}年" if r.get("year") else "年份不详"
    return f"{name} {year}（{r['id']}）"


# ------------------------------------------------------------------------ filters
def apply_filters(question: str, history: list[str], year, level, catalog: Catalog | None) -> tuple[str, str]:
    """The question to ask given the page's filters, and a note saying what was done.

    A filter is added to the question text only where the question does not name a year
    (or a body/level/region) itself, and only if qa.understand reads the new text as
    meaning that filter; otherwise the question is asked as typed and the note says so."""
    year = int(year) if year not in (None, "", "全部") else None
    level = level or None
    if (year is None and level is None) or catalog is None:
        return question, ""
    try:
        # The question's own words decide (a filter set on the page beats a year the
        # conversation mentioned earlier); the follow-up still inherits the rest.
        q = understand(question, None, catalog)
        with_history = understand(question, history or None, catalog)
    except QuestionError:
        return question, ""
    if with_history.intent == "trend" and year is not None and not q.years:
        return question, f"年份筛选（{year}年）不适用于历年变化的问题，已按全部年份回答。"
    prefix, wanted = "", []
    if year is not None and not q.years:
        prefix += f"{year}年"
        wanted.append(f"{year}年")
    add_level = level is not None and level in LEVEL_WORDS and not (q.bodies or q.level or q.region)
    if add_level:
        prefix += LEVEL_WORDS[level]
        wanted.append(LEVEL_NAMES.get(level, level))
    if not prefix:
        return question, ""
    m = FOLLOW_UP_START.match(question)
    candidate = question[:m.end()] + prefix + question[m.end():] if m else prefix + question
    try:
        check = understand(candidate, history or None, catalog)
    except QuestionError:
        return question, ""
    ok = (year is None or bool(q.years) or check.years == [year]) and (not add_level or check.level == level)
    if ok:
        return candidate, f"已按筛选条件（{'、'.join(wanted)}）提问：{candidate}"
    return question, f"筛选条件（{'、'.join(wanted)}）无法套用到这个问题，已按原问题回答。"


# ------------------------------------------------------------------------ answers
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
    return _grid_html(store.report_facts(report_id, table, rows), caption=None)


def _grid_html(cells, caption: str | None) -> str:
    columns: list[str] = []
    grid: dict[str, dict[str, Mapping]] = {}
    for c in cells:
        if c["col"] not in columns:
            columns.append(c["col"])
        grid.setdefault(c["row"], {})[c["col"]] = c
    if not grid:
        return ""
    out = ['<table class="nb-table">']
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append("<tr><th>项目</th>" + "".join(f"<th>{esc(col)}</th>" for col in columns) + "</tr>")
    for row, by_col in grid.items():
        tds = []
        for col in columns:
            c = by_col.get(col)
            if c is None:
                tds.append('<td class="blank">—</td>')
            elif c["uncertain"]:
                tds.append('<td class="uncertain" title="读数不确定">？</td>')
            elif c["blank"] or c["value"] is None:
                tds.append('<td class="blank" title="未填报">（空）</td>')
            else:
                tds.append(f'<td class="num">{esc(c["value"])}</td>')
        out.append(f"<tr><th>{esc(row_label(row))}</th>{''.join(tds)}</tr>")
    out.append("</table>")
    return "".join(out)


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
    qid = quote(rid, safe="")
    body.append(f'<div class="nb-links">《{esc(citation.get("title") or who)}》 '
                f'<a href="/api/reports/{esc(qid)}/source" target="_blank" rel="noopener">查看报告原文</a> · '
                f'<a href="?report={esc(qid)}" target="_blank" rel="noopener">在“浏览报告”中打开</a></div>')
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


# ------------------------------------------------------------------------ browse
LEVEL_LABELS = dict(LEVEL_NAMES)


def report_meta_html(store: FactStore, rid: str) -> str:
    r = store.report(rid)
    if r is None:
        return '<p>没有找到这份报告。</p>'
    problems = []
    try:
        problems = json.loads(r["problems"] or "[]")
    except ValueError:
        problems = [r["problems"]]
    fields = [("报告标题", r["title"]), ("发布机关", r["body"]), ("简称", r["short_name"]),
              ("层级", LEVEL_LABELS.get(r["level"], r["level"])), ("年度", r["year"]),
              ("文号", r["doc_number"]), ("发布日期", r["publish_date"]),
              ("表格样式", f"{r['template']} 版" if r["template"] else None),
              ("所在地区", " ".join(x for x in (r["province"], r["city"], r["county"]) if x)),
              ("源文件", r["source_file"]), ("格式", r["format"]), ("页数", r["page_count"]),
              ("解析提示", "；".join(str(p) for p in problems) if problems else None)]
    qid = quote(rid, safe="")
    out = ['<table class="nb-table">']
    for k, v in fields:
        out.append(f"<tr><th>{esc(k)}</th><td>{esc(v) if v not in (None, '') else '—'}</td></tr>")
    out.append("</table>")
    out.append(f'<p><a href="/api/reports/{esc(qid)}/source" target="_blank" rel="noopener">查看报告原文</a></p>')
    return "".join(out)


def checks_html(store: FactStore, rid: str) -> str:
    """The report's checks: failing and undecidable ones shown (failing highlighted),
    the passing ones folded away."""
    rows = store.report_checks(rid)
    if not rows:
        return "<p>这份报告没有可做的校验。</p>"
    failed = [r for r in rows if r["passed"] == 0]
    undecided = [r for r in rows if r["passed"] is None]
    passed = [r for r in rows if r["passed"] not in (0, None)]
    head = f"共 {len(rows)} 项校验：未通过 {len(failed)} 项，无法判断 {len(undecided)} 项，通过 {len(passed)} 项。"
    cls = "nb-fail-badge" if failed else "nb-ok-badge"

    def table(items) -> str:
        out = ['<table class="nb-table nb-checks"><tr><th>结果</th><th>规则</th><th>范围</th>'
               "<th>明细（报告中的数字）</th></tr>"]
        for r in items:
            if r["passed"] == 0:
                kind, word = "nb-fail", "✗ 未通过"
            elif r["passed"] is None:
                kind, word = "nb-undecided", "？ 无法判断"
            else:
                kind, word = "nb-pass", "✓ 通过"
            out.append(f'<tr class="{kind}"><td class="nb-result">{word}</td><td class="nb-nowrap">'
                       f'{esc(r["rule"])}</td><td class="nb-nowrap">{esc(r["scope"])}</td>'
                       f'<td>{esc(r["detail"])}</td></tr>')
        out.append("</table>")
        return "".join(out)

    out = [f'<p class="{cls}">{esc(head)}</p>']
    if failed or undecided:
        out.append(table(failed + undecided))
    if passed:
        out.append(f'<details class="nb-section"><summary>查看通过的 {len(passed)} 项</summary>'
                   f"{table(passed)}</details>")
    return "".join(out)


def tables_html(store: FactStore, rid: str) -> str:
    out = []
    for table in T.TABLES:
        cells = store.report_facts(rid, table)
        caption = f"{TABLE_NUMBERS.get(table, '')} {TABLE_TITLES.get(table, table)}"
        grid = _grid_html(cells, caption)
        out.append(grid or f"<p>{esc(caption)}：报告中没有找到这张表。</p>")
    out.append('<p class="nb-note">（空）= 报告中这一格未填报；？= 读数不确定。</p>')
    return "".join(out)


def sections_html(store: FactStore, rid: str) -> str:
    rows = store.sections([rid])
    if not rows:
        return "<p>没有识别出这份报告的各部分。</p>"
    out = []
    for r in rows:
        title = r["title"] or SECTION_NAMES.get(r["number"], f"第{r['number']}部分")
        if r["number"] == 0:
            title = SECTION_NAMES[0]
        pages = ""
        if r["page_start"]:
            pages = f"（第{r['page_start']}页" + (f"–{r['page_end']}页）" if r["page_end"] and r["page_end"] != r["page_start"] else "）")
        text = (r["text"] or "").strip("\n")
        first, _, rest = text.partition("\n")
        if r["number"] and r["title"] and first.strip() == r["title"].strip():
            text = rest.strip("\n")  # the heading is the summary already
        out.append(f'<details class="nb-section"{" open" if r["number"] == 1 else ""}>'
                   f"<summary>{esc(title)}{esc(pages)}</summary>"
                   f'<div class="nb-text">{esc(text)}</div></details>')
    return "".join(out)


# ------------------------------------------------------------------------ the page
def build_demo(index_dir: str | Path) -> gr.Blocks:
    """The page (gr.Blocks) for the index at ``index_dir``."""
    view = IndexView(index_dir)

    def choices_now():
        reports = view.reports()
        report_choices = [(report_label(r), r["id"]) for r in reports]
        years = sorted({r["year"] for r in reports if r.get("year")}, reverse=True)
        levels = sorted({r["level"] for r in reports if r.get("level")})
        year_choices = [("全部年份", "")] + [(f"{y}年", str(y)) for y in years]
        level_choices = [("全部层级", "")] + [(LEVEL_LABELS.get(lv, lv), lv) for lv in levels]
        return report_choices, year_choices, level_choices

    def ask(question, messages, asked, year, level):
        question = (question or "").strip()
        messages = list(messages or [])
        asked = list(asked or [])
        if not question:
            return "", messages, asked, gr.update()
        names = {}
        try:
            index = view.served.get()  # one build for the whole answer
            names = view.short_names(index)
            with index.facts() as store:
                effective, note = apply_filters(question, asked, year, level, catalog_of(index, store))
                result = answer(effective, index, asked or None)
                data = result.to_dict()
                data["query"] = getattr(result, "query", {}) or {}
                reply = answer_markdown(data, note, names, store)
            chart = chart_html(data, names)
            asked.append(effective)
        except QuestionError as error:
            reply, chart = esc(str(error)), ""
        except (IndexNotFound, FileNotFoundError):
            reply, chart = "还没有建立索引，暂时无法回答。请联系管理员建立索引。", ""
        except Exception:  # keep the page usable; the log has the details
            log.exception("answering %r failed", question)
            reply, chart = "抱歉，回答这个问题时出错了，请换个说法再试。", ""
        messages += [{"role": "user", "content": esc(question)}, {"role": "assistant", "content": reply}]
        return "", messages, asked, gr.update(value=chart, visible=bool(chart))

    def clear():
        return [], [], [], gr.update(value="", visible=False)  # chat, its copy, history, chart

    def browse(rid):
        if not rid:
            return ("<p>请选择一份报告。</p>", "", "", "")
        index = view.index()
        if index is None:
            return ("<p>还没有建立索引。</p>", "", "", "")
        with index.facts() as store:
            return (report_meta_html(store, rid), checks_html(store, rid), tables_html(store, rid),
                    sections_html(store, rid))

    def on_load(request: gr.Request):
        report_choices, year_choices, level_choices = choices_now()
        wanted = None
        try:
            wanted = request.query_params.get("report") if request is not None else None
        except AttributeError:
            wanted = None
        ids = [v for _, v in report_choices]
        chosen = wanted if wanted in ids else (ids[0] if ids else None)
        tab = gr.Tabs(selected="browse") if wanted in ids else gr.Tabs()
        return (tab, gr.Dropdown(choices=report_choices, value=chosen),
                gr.Dropdown(choices=year_choices), gr.Dropdown(choices=level_choices), *browse(chosen))

    report_choices, year_choices, level_choices = choices_now()
    with gr.Blocks(title="政府信息公开年报问答", analytics_enabled=False) as demo:
        # The page's own styles travel with it: whoever mounts it (mount() below, or a plain
        # gr.mount_gradio_app as web.server does) gets the chart bars and the highlights.
        gr.HTML(f"<style>{CSS}</style>", elem_id="nb-style", container=False, padding=False, js_on_load=None)
        gr.Markdown("# 政府信息公开工作年度报告问答\n"
                    "用日常的话提问，答案来自各级政府发布的《政府信息公开工作年度报告》，"
                    "每个答案都附有出处，点开可看报告原文摘录。")
        with gr.Tabs(elem_id="nb-tabs") as tabs:
            with gr.Tab("问答", id="ask", elem_id="nb-tab-ask"):
                with gr.Row():
                    year_filter = gr.Dropdown(year_choices, value="", label="年份筛选", elem_id="nb-year",
                                              scale=1)
                    level_filter = gr.Dropdown(level_choices, value="", label="层级筛选", elem_id="nb-level",
                                               scale=1)
                chatbot = gr.Chatbot(label="对话", show_label=False, elem_id="nb-chat", height=560,
                                     sanitize_html=True, render_markdown=True, latex_delimiters=[], feedback_options=None,
                                     buttons=["copy"],
                                     placeholder="请在下方输入问题，或点击示例问题。")
                with gr.Row():
                    box = gr.Textbox(placeholder="例如：哪些乡镇2021年没有收到政府信息公开申请？", show_label=False,
                                     scale=5, elem_id="nb-question", max_lines=3)
                    send = gr.Button("提问", variant="primary", scale=1, elem_id="nb-send")
                    reset = gr.Button("清空对话", scale=1, elem_id="nb-clear")
                gr.Markdown("**示例问题**（点击即可提问）：")
                with gr.Row():
                    example_buttons = [gr.Button(q, size="sm", elem_classes=["nb-example"]) for q in EXAMPLES]
                chart = gr.HTML("", visible=False, elem_id="nb-chart", js_on_load=None)
                asked = gr.State([])
                messages = gr.State([])
            with gr.Tab("浏览报告", id="browse", elem_id="nb-tab-browse"):
                picker = gr.Dropdown(report_choices, value=report_choices[0][1] if report_choices else None,
                                     label="选择报告", elem_id="nb-report")
                gr.Markdown("### 基本信息")
                meta = gr.HTML(elem_id="nb-meta", js_on_load=None)
                gr.Markdown("### 校验结果（勾稽关系）")
                checks = gr.HTML(elem_id="nb-checks", js_on_load=None)
                gr.Markdown("### 三张统计表")
                tables = gr.HTML(elem_id="nb-tables", js_on_load=None)
                gr.Markdown("### 正文各部分")
                sections = gr.HTML(elem_id="nb-sections", js_on_load=None)

        inputs = [box, messages, asked, year_filter, level_filter]

        def ask_and_store(question, msgs, asked_, year, level):
            text, new_msgs, new_asked, chart_update = ask(question, msgs, asked_, year, level)
            new_msgs, new_asked = trim_history(new_msgs, new_asked)  # the API's history limit
            return text, new_msgs, new_msgs, new_asked, chart_update

        outputs = [box, chatbot, messages, asked, chart]
        box.submit(ask_and_store, inputs, outputs)
        send.click(ask_and_store, inputs, outputs)
        for button, q in zip(example_buttons, EXAMPLES):
            button.click(lambda m, a, y, lv, q=q: ask_and_store(q, m, a, y, lv),
                         [messages, asked, year_filter, level_filter], outputs)
        reset.click(lambda: ("", *clear()), None, [box, chatbot, messages, asked, chart])
        # The chat's own clear icon (🗑) must forget the conversation as well.
        chatbot.clear(lambda: clear()[1:], None, [messages, asked, chart])
        picker.change(browse, picker, [meta, checks, tables, sections])
        demo.load(on_load, None, [tabs, picker, year_filter, level_filter, meta, checks, tables, sections])
    demo.nianbao_theme = THEME
    demo.nianbao_css = CSS
    return demo


def mount(app, index_dir: str | Path, path: str = "/"):
    """Mount the page on a FastAPI app at ``path`` (default '/'); returns the app."""
    demo = build_demo(index_dir)
    # No uploads, run history or monitoring: the page needs none (web.limits also refuses their routes).
    return gr.mount_gradio_app(app, demo, path=path, theme=THEME, css=CSS, footer_links=[],
                               ssr_mode=False, run_history=False, enable_monitoring=False,
                               max_file_size=1, show_error=False)


__all__ = ["build_demo", "mount", "THEME", "CSS", "apply_filters", "answer_markdown", "chart_html"]
