"""The 浏览报告 tab: pick a report by its body's name (narrowed by region and level,
searchable as you type); its metadata and notes, its checks in plain words, its three
tables and its sections as clean text.

    tab = BrowseTab(view)       # inside gr.Tabs(): builds the tab's components
    tab.wire(demo, tabs)        # the filters, the picker and ?report=<id>&row=<row>&q=<quote> on load

A link from an answer (ui.links.browse_url) opens the tab on the report at the cited
table row (``row``, "表|行" as index.template keys it) or passage (``q``): the row or
the passage is marked (id ``nb-browse-hit``), its section opened, and the page scrolled
to it.
"""

from __future__ import annotations

import json

import gradio as gr

from index import template as T
from index.factstore import FactStore
from qa.facts import TABLE_NUMBERS

from .check_words import check_in_words
from .highlight import mark_grid_row, marked_html, quote_spans
from .links import official_link_html, source_url
from .markup import LEVEL_LABELS, SECTION_NAMES, TABLE_TITLES, esc, grid_html
from .notes import notes_in_chinese
from .section_text import TABLE_SECTIONS, clean_title, text_blocks, without_title
from .view import IndexView

HIT_ID = "nb-browse-hit"
ALL = ""  # the filters' 'everything' value
LEVEL_ORDER = ("province", "city", "county", "township", "department")
FORMATS = {"pdf": "PDF", "docx": "Word", "html": "网页", "txt": "文本", "md": "文本（Markdown）"}
TABLE_OF_SECTION = {2: T.ACTIVE, 3: T.APPLICATION, 4: T.REVIEW}

CSS = """
.nb-table tr.nb-fail td { background: #ffe1e1; color: #82071e; font-weight: 600; }
.nb-table tr.nb-pass td.nb-result { color: #116329; }
.nb-table tr.nb-undecided td.nb-result { color: #57606a; }
.nb-section { border: 1px solid #d0d7de; border-radius: 6px; padding: 4px 10px; margin: 6px 0; }
.nb-section summary { cursor: pointer; font-weight: 600; }
.nb-text p { line-height: 1.7; margin: 0.4em 0; overflow-wrap: anywhere; }
.nb-text h4 { margin: 0.6em 0 0.2em 0; font-size: 1em; }
.nb-fail-badge { color: #82071e; font-weight: 600; }
.nb-ok-badge { color: #116329; }
.nb-table td.nb-result { white-space: nowrap; }
.nb-scroll { overflow-x: auto; max-width: 100%; }
.nb-scroll .nb-table td, .nb-scroll .nb-table th { white-space: nowrap; }
.nb-scroll .nb-table tr > th:first-child { white-space: normal; min-width: 9em; }
.nb-scroll .nb-checks td:nth-child(2), .nb-scroll .nb-checks td:nth-child(3) { white-space: normal; min-width: 12em; }
#nb-meta th { white-space: nowrap; }
.nb-notes { margin: 4px 0 8px 1.2em; padding: 0; }
.nb-notes li { margin: 2px 0; }
mark.nb-hit, tr.nb-hit-row > * { background: #ffe58a !important; color: #1f2328 !important; }
tr.nb-hit-row { outline: 3px solid #bf8700; }
#nb-browse-hit { scroll-margin-top: 30vh; }
"""

# After the tab is filled: open the section holding the mark and bring it into view
# (the HTML arrives a moment after the event ends, hence the short retries).
SCROLL_JS = f"""() => {{
  let tries = 0;
  const go = () => {{
    const el = document.getElementById('{HIT_ID}');
    if (!el) {{ if (tries++ < 50) setTimeout(go, 100); return; }}
    const d = el.closest('details'); if (d) d.open = true;
    el.scrollIntoView({{block: 'center'}});
  }};
  go();
}}"""

# gradio 6.31's Dropdown narrows its list on keydown only: text committed by a Chinese
# input method (or pasted from a menu) fires input/compositionend and no keydown, so the
# list stayed whole. One listener on the document turns such input into the keydown the
# Dropdown waits for (measured in tests/test_browse.py with composition events).
IME_JS = """() => {
  if (window.__nbImeFilter) return;
  window.__nbImeFilter = true;
  const poke = e => {
    const el = e.target;
    if (!(el instanceof HTMLInputElement) || !el.closest('#nb-report')) return;
    if (e.type === 'input' && e.isComposing) return;  // wait for the committed text
    // after the Dropdown has read the new text (its own input listener runs after ours)
    setTimeout(() => el.dispatchEvent(new KeyboardEvent('keydown', {key: 'Process', bubbles: true})), 0);
  };
  document.addEventListener('input', poke, true);
  document.addEventListener('compositionend', poke, true);
}"""
ON_LOAD_JS = f"""() => {{ ({IME_JS})(); ({SCROLL_JS})(); }}"""


# ------------------------------------------------------------------ the picker
def region_of(r: dict) -> str:
    """'淮安市 · 洪泽区': the regions the body names, broadest first ('地区不详' when none)."""
    parts: list[str] = []
    for key in ("province", "city", "county"):
        v = (r.get(key) or "").strip()
        if v and v not in parts:
            parts.append(v)
    return " · ".join(parts) or "地区不详"


def top_region(r: dict) -> str:
    return region_of(r).split(" · ")[0]


def report_name(r: dict) -> str:
    return r.get("body") or r.get("short_name") or r.get("title") or "未识别机关名称的报告"


def picker_label(r: dict) -> str:
    """'平潭综合实验区 · 乡镇（街道） — 平潭综合实验区君山片区管理局 2020年': no internal id."""
    level = LEVEL_LABELS.get(r.get("level"), "层级不详")
    year = f"{r['year']}年" if r.get("year") else "年份不详"
    return f"{region_of(r)} · {level} — {report_name(r)} {year}"


def _sort_key(r: dict):
    level = r.get("level")
    return (region_of(r) == "地区不详", region_of(r), LEVEL_ORDER.index(level) if level in LEVEL_ORDER else 9,
            report_name(r), r.get("year") or 0)


def browse_reports(view: IndexView) -> list[dict]:
    """Every report with its regions, grouped (sorted) by region, level, name and year
    (made once per build)."""
    index = view.index()
    if index is None:
        return []

    def make():
        with index.facts() as store:
            rows, _ = store.list_reports(limit=1_000_000)
            return sorted((dict(r) for r in rows), key=_sort_key)
    return index.cached("browse_reports", make)


def picker_choices(reports: list[dict], region: str = ALL, level: str = ALL) -> list[tuple[str, str]]:
    return [(picker_label(r), r["id"]) for r in reports
            if (not region or top_region(r) == region) and (not level or r.get("level") == level)]


def filter_choices(reports: list[dict]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    regions = sorted({top_region(r) for r in reports}, key=lambda x: (x == "地区不详", x))
    levels = [lv for lv in LEVEL_ORDER if any(r.get("level") == lv for r in reports)]
    return ([("全部地区", ALL)] + [(x, x) for x in regions],
            [("全部层级", ALL)] + [(LEVEL_LABELS.get(lv, lv), lv) for lv in levels])


# ------------------------------------------------------------------ the parts
def scroll_open(name: str) -> str:
    """A box a wide table scrolls sideways in on a phone; focusable and named, so a
    keyboard can scroll it too."""
    return f'<div class="nb-scroll" tabindex="0" role="region" aria-label="{esc(name)}（可左右滚动）">'


def report_meta_html(store: FactStore, rid: str) -> str:
    r = store.report(rid)
    if r is None:
        return '<p>没有找到这份报告。</p>'
    try:
        problems = json.loads(r["problems"] or "[]")
    except ValueError:
        problems = [r["problems"]]
    kind = FORMATS.get(r["format"], r["format"])
    if kind and r["page_count"]:
        kind += f"（共 {r['page_count']} 页）"
    fields = [("报告标题", r["title"]), ("发布机关", r["body"]),
              ("层级", LEVEL_LABELS.get(r["level"], r["level"])), ("所在地区", region_of(dict(r))),
              ("年度", f"{r['year']}年" if r["year"] else None),
              ("文号", r["doc_number"]), ("发布日期", r["publish_date"]),
              ("统计表格式", f"{r['template']}年版" if r["template"] else None), ("文件", kind)]
    out = ['<table class="nb-table">']
    for k, v in fields:
        out.append(f"<tr><th>{esc(k)}</th><td>{esc(v) if v not in (None, '') else '—'}</td></tr>")
    out.append("</table>")
    links = [f'<a href="{esc(source_url(rid))}" target="_blank" rel="noopener">查看报告原文</a>']
    official = official_link_html(r["official_url"])
    if official:
        links.append(official)
    out.append(f'<p class="nb-links">{" · ".join(links)}</p>')
    notes = notes_in_chinese(problems)
    if notes:
        out.append('<p><strong>读取说明</strong>（电脑读取这份报告时发现的问题）：</p><ul class="nb-notes">'
                   + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    else:
        out.append("<p><strong>读取说明</strong>：读取这份报告时没有发现问题。</p>")
    return "".join(out)


def checks_html(store: FactStore, rid: str) -> str:
    """The report's checks in plain words: failing and undecidable ones shown (failing
    highlighted), the passing ones folded away."""
    rows = store.report_checks(rid)
    if not rows:
        return "<p>这份报告没有可做的校验。</p>"
    failed = [r for r in rows if r["passed"] == 0]
    undecided = [r for r in rows if r["passed"] is None]
    passed = [r for r in rows if r["passed"] not in (0, None)]
    head = (f"用报告自己的数字互相核对，共做了 {len(rows)} 项校验：未通过 {len(failed)} 项，"
            f"无法判断 {len(undecided)} 项，通过 {len(passed)} 项。")
    cls = "nb-fail-badge" if failed else "nb-ok-badge"

    def table(items) -> str:
        out = [f'{scroll_open("校验结果")}<table class="nb-table nb-checks"><tr><th>结果</th><th>核对的内容</th>'
               "<th>报告中的数字</th></tr>"]
        for r in items:
            if r["passed"] == 0:
                kind, word = "nb-fail", "✗ 未通过"
            elif r["passed"] is None:
                kind, word = "nb-undecided", "？ 无法判断"
            else:
                kind, word = "nb-pass", "✓ 通过"
            what, numbers = check_in_words(r["rule"], r["scope"], r["passed"], r["detail"])
            out.append(f'<tr class="{kind}"><td class="nb-result">{word}</td><td>{esc(what)}</td>'
                       f"<td>{esc(numbers)}</td></tr>")
        out.append("</table></div>")
        return "".join(out)

    out = [f'<p class="{cls}">{esc(head)}</p>']
    if failed or undecided:
        out.append(table(failed + undecided))
    if passed:
        out.append(f'<details class="nb-section"><summary>查看通过的 {len(passed)} 项</summary>'
                   f"{table(passed)}</details>")
    return "".join(out)


def split_row(row: str | None) -> tuple[str | None, str | None]:
    """'依申请|本年新收' -> ('依申请', '本年新收'); a bare key has no table."""
    if not row:
        return None, None
    table, sep, key = row.partition("|")
    return (table, key) if sep else (None, row)


def tables_html(store: FactStore, rid: str, row: str | None = None, hit_id: str | None = HIT_ID) -> str:
    """The three tables; the cited row (``row``) marked, the first mark with ``hit_id``."""
    want_table, want_key = split_row(row)
    out = []
    for table in T.TABLES:
        cells = store.report_facts(rid, table)
        caption = f"{TABLE_NUMBERS.get(table, '')} {TABLE_TITLES.get(table, table)}"
        grid = grid_html(cells, caption)
        if grid and want_key and want_table in (None, table) and any(c["row"] == want_key for c in cells):
            grid = mark_grid_row(grid, want_key, hit_id)
            hit_id = None
            want_key = None
        out.append(f'{scroll_open(caption)}{grid}</div>' if grid
                   else f"<p>{esc(caption)}：报告中没有找到这张表。</p>")
    out.append('<p class="nb-note">（空）= 报告中这一格未填报；？= 读数不确定。</p>')
    return "".join(out)


def _blocks_html(blocks, quote: str | None, ids: dict) -> tuple[str, bool]:
    out, hit = [], False
    for kind, value in blocks:
        if kind == "table":
            rows = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in value)
            out.append(f'{scroll_open("表格")}<table class="nb-table">{rows}</table></div>')
            continue
        spans = quote_spans(str(value), quote)
        hit = hit or bool(spans)
        first = ids.pop("quote", None) if spans else None
        text = marked_html(str(value), spans, first)
        out.append(f"<h4>{text}</h4>" if kind == "h" else f"<p>{text}</p>")
    return "".join(out), hit


def sections_html(store: FactStore, rid: str, quote: str | None = None, hit_id: str | None = HIT_ID) -> str:
    """The sections as clean text (no Markdown, no table text in the prose; Markdown
    tables of sections 一、五、六 as tables); the quote marked, its section opened."""
    rows = store.sections([rid])
    if not rows:
        return "<p>没有识别出这份报告的各部分。</p>"
    ids = {"quote": hit_id} if hit_id else {}
    out = []
    for r in rows:
        number = r["number"]
        title = SECTION_NAMES[0] if number == 0 else clean_title(r["title"], number, SECTION_NAMES)
        pages = ""
        if r["page_start"]:
            pages = f"（第{r['page_start']}页" + (f"–{r['page_end']}页）" if r["page_end"] and r["page_end"] != r["page_start"] else "）")
        text = r["text"] or ""
        if number:
            text = without_title(text.strip(), title)
        body, hit = _blocks_html(text_blocks(text, table_section=number in TABLE_SECTIONS), quote, ids)
        if number in TABLE_OF_SECTION:
            table = TABLE_OF_SECTION[number]
            body += (f'<p class="nb-note">本部分的统计表见上方“三张统计表”中的'
                     f'{esc(TABLE_NUMBERS.get(table, table))}。</p>')
        opened = " open" if hit or (number == 1 and not quote) else ""
        out.append(f'<details class="nb-section"{opened}>'
                   f"<summary>{esc(title)}{esc(pages)}</summary>"
                   f'<div class="nb-text">{body}</div></details>')
    return "".join(out)


def browse(view: IndexView, rid, row: str | None = None, quote: str | None = None):
    """The four parts of the tab for report ``rid``, with ``row``/``quote`` marked (the
    passage's mark takes the scroll target when both are found)."""
    if not rid:
        return ("<p>请选择一份报告。</p>", "", "", "")
    index = view.index()
    if index is None:
        return ("<p>还没有建立索引。</p>", "", "", "")
    with index.facts() as store:
        sections = sections_html(store, rid, quote)
        quote_found = f'id="{HIT_ID}"' in sections
        return (report_meta_html(store, rid), checks_html(store, rid),
                tables_html(store, rid, row, None if quote_found else HIT_ID), sections)


class BrowseTab:
    """The tab's components; build it inside ``gr.Tabs()``."""

    def __init__(self, view: IndexView):
        self.view = view
        reports = browse_reports(view)
        regions, levels = filter_choices(reports)
        choices = picker_choices(reports)
        with gr.Tab("浏览报告", id="browse", elem_id="nb-tab-browse"):
            with gr.Row():
                self.region = gr.Dropdown(regions, value=ALL, label="地区", elem_id="nb-browse-region",
                                          filterable=False, scale=1)
                self.level = gr.Dropdown(levels, value=ALL, label="层级", elem_id="nb-browse-level",
                                         filterable=False, scale=1)
            self.picker = gr.Dropdown(choices, value=choices[0][1] if choices else None,
                                      label="选择报告（可输入机关名称搜索）", elem_id="nb-report",
                                      filterable=True)
            gr.Markdown("### 基本信息")
            self.meta = gr.HTML(elem_id="nb-meta", js_on_load=None)
            gr.Markdown("### 校验结果（用报告自己的数字互相核对）")
            self.checks = gr.HTML(elem_id="nb-checks", js_on_load=None)
            gr.Markdown("### 三张统计表")
            self.tables = gr.HTML(elem_id="nb-tables", js_on_load=None)
            gr.Markdown("### 正文各部分")
            self.sections = gr.HTML(elem_id="nb-sections", js_on_load=None)

    def wire(self, demo: gr.Blocks, tabs: gr.Tabs) -> None:
        parts = [self.meta, self.checks, self.tables, self.sections]
        # The report shown, kept here: the picker's own value is checked against the
        # choices the server last sent, which a filter has just changed.
        current = gr.State(None)

        def pick(rid):
            return (rid, *browse(self.view, rid))

        self.picker.input(pick, self.picker, [current, *parts])

        def narrow(region, level, shown):
            choices = picker_choices(browse_reports(self.view), region or ALL, level or ALL)
            ids = [v for _, v in choices]
            chosen = shown if shown in ids else (ids[0] if ids else None)
            return (gr.Dropdown(choices=choices, value=chosen), chosen,
                    *(browse(self.view, chosen) if chosen != shown else [gr.update()] * 4))

        for f in (self.region, self.level):
            f.input(narrow, [self.region, self.level, current], [self.picker, current, *parts])

        def on_load(request: gr.Request):
            reports = browse_reports(self.view)
            regions, levels = filter_choices(reports)
            choices = picker_choices(reports)
            params = getattr(request, "query_params", None) or {}
            wanted = params.get("report")
            ids = [v for _, v in choices]
            chosen = wanted if wanted in ids else (ids[0] if ids else None)
            opened = wanted in ids
            tab = gr.Tabs(selected="browse") if opened else gr.Tabs()
            marks = (params.get("row"), params.get("q")) if opened else (None, None)
            return (tab, gr.Dropdown(choices=regions, value=ALL), gr.Dropdown(choices=levels, value=ALL),
                    gr.Dropdown(choices=choices, value=chosen), chosen, *browse(self.view, chosen, *marks))

        demo.load(on_load, None, [tabs, self.region, self.level, self.picker, current, *parts]).then(
            None, None, None, js=ON_LOAD_JS)
