"""The 浏览报告 tab: pick a report; its metadata, check results (failing ones highlighted),
its three tables and its sections.

    tab = BrowseTab(view)       # inside gr.Tabs(): builds the tab's components
    tab.wire(demo)              # the picker and ?report=<id> on load
"""

from __future__ import annotations

import json
from urllib.parse import quote

import gradio as gr

from index import template as T
from index.factstore import FactStore
from qa.facts import TABLE_NUMBERS

from .markup import LEVEL_LABELS, SECTION_NAMES, TABLE_TITLES, esc, grid_html
from .view import IndexView, report_label

CSS = """
.nb-table tr.nb-fail td { background: #ffe1e1; color: #82071e; font-weight: 600; }
.nb-table tr.nb-pass td.nb-result { color: #116329; }
.nb-table tr.nb-undecided td.nb-result { color: #57606a; }
.nb-section { border: 1px solid #d0d7de; border-radius: 6px; padding: 4px 10px; margin: 6px 0; }
.nb-section summary { cursor: pointer; font-weight: 600; }
.nb-text { white-space: pre-wrap; line-height: 1.7; }
.nb-fail-badge { color: #82071e; font-weight: 600; }
.nb-ok-badge { color: #116329; }
.nb-table td.nb-result, .nb-table td.nb-nowrap { white-space: nowrap; }
"""


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
        grid = grid_html(cells, caption)
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



def browse(view: IndexView, rid):
    """The four parts of the tab for report ``rid``."""
    if not rid:
        return ("<p>请选择一份报告。</p>", "", "", "")
    index = view.index()
    if index is None:
        return ("<p>还没有建立索引。</p>", "", "", "")
    with index.facts() as store:
        return (report_meta_html(store, rid), checks_html(store, rid), tables_html(store, rid),
                sections_html(store, rid))


class BrowseTab:
    """The tab's components; build it inside ``gr.Tabs()``."""

    def __init__(self, view: IndexView):
        self.view = view
        choices = self.choices()
        with gr.Tab("浏览报告", id="browse", elem_id="nb-tab-browse"):
            self.picker = gr.Dropdown(choices, value=choices[0][1] if choices else None,
                                      label="选择报告", elem_id="nb-report")
            gr.Markdown("### 基本信息")
            self.meta = gr.HTML(elem_id="nb-meta", js_on_load=None)
            gr.Markdown("### 校验结果（勾稽关系）")
            self.checks = gr.HTML(elem_id="nb-checks", js_on_load=None)
            gr.Markdown("### 三张统计表")
            self.tables = gr.HTML(elem_id="nb-tables", js_on_load=None)
            gr.Markdown("### 正文各部分")
            self.sections = gr.HTML(elem_id="nb-sections", js_on_load=None)

    def choices(self) -> list[tuple[str, str]]:
        return [(report_label(r), r["id"]) for r in self.view.reports()]

    def wire(self, demo: gr.Blocks, tabs: gr.Tabs) -> None:
        parts = [self.meta, self.checks, self.tables, self.sections]
        self.picker.change(lambda rid: browse(self.view, rid), self.picker, parts)

        def on_load(request: gr.Request):
            choices = self.choices()
            wanted = None
            try:
                wanted = request.query_params.get("report") if request is not None else None
            except AttributeError:
                wanted = None
            ids = [v for _, v in choices]
            chosen = wanted if wanted in ids else (ids[0] if ids else None)
            tab = gr.Tabs(selected="browse") if wanted in ids else gr.Tabs()
            return (tab, gr.Dropdown(choices=choices, value=chosen), *browse(self.view, chosen))

        demo.load(on_load, None, [tabs, self.picker, *parts])
