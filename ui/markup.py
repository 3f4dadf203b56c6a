"""What every part of the page shares: escaping, report tables as HTML grids, the names
of the standard tables and sections, and the base styles (system fonts, table look)."""

from __future__ import annotations

import html
from collections.abc import Mapping

from index import template as T
from qa.facts import row_label
from qa.understand import LEVEL_NAMES

TABLE_TITLES = {T.ACTIVE: "主动公开政府信息情况", T.APPLICATION: "收到和处理政府信息公开申请情况",
                T.REVIEW: "政府信息公开行政复议、行政诉讼情况"}
SECTION_NAMES = {0: "标题和前言", 1: "一、总体情况", 2: "二、主动公开政府信息情况",
                 3: "三、收到和处理政府信息公开申请情况", 4: "四、政府信息公开行政复议、行政诉讼情况",
                 5: "五、存在的主要问题及改进情况", 6: "六、其他需要报告的事项"}
LEVEL_LABELS = dict(LEVEL_NAMES)

CSS = """
:root, gradio-app { --font: 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif;
  --font-mono: monospace; }
#nb-style { display: none; }
.nb-table { border-collapse: collapse; margin: 6px 0 14px 0; font-size: 0.9em; }
.nb-table th, .nb-table td { border: 1px solid #d0d7de; padding: 3px 6px; text-align: left; vertical-align: top; }
.nb-table th { background: #f3f4f6; }
.nb-table td.num { text-align: right; white-space: nowrap; }
.nb-table td.blank { color: #57606a; }
.nb-table td.uncertain { background: #fff1c2; }
.nb-table caption { text-align: left; font-weight: 600; padding: 4px 0; }
"""


def esc(value) -> str:
    """HTML-escape anything shown on the page (report text is text, never markup)."""
    return html.escape("" if value is None else str(value), quote=True)



def grid_html(cells, caption: str | None) -> str:
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

