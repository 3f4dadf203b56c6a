"""The source view: a report's own text as a page of ours, with the cited passage and
table row marked, for reports that are not PDFs (text, Markdown, Word, HTML).

    html = source_page_html(report, sections, tables, quote="…", row="依申请|本年新收")

The text is the report's as the index read it (its sections, in order: every line of
the file's text); Markdown tables are shown as tables; a Word or HTML report, whose
tables are not in its text, gets its three standard tables (as read, ui.markup.grid_html)
after the sections that print them. Everything is escaped and nothing of the file's own
markup or script is served. The page has no script at all: the first mark carries
``id="nb-hit"`` and the links to this page end in ``#nb-hit``, so the browser scrolls
to it. Its one style block is allowed by hash in its Content-Security-Policy (``CSP``).
Read from the index, not the file: the page needs no loader (ingestion) at serving time,
and shows what the answers were read from.
"""

from __future__ import annotations

import base64
import hashlib
import re

from index import template as T

from .highlight import mark_grid_row, marked_html, matches_row, merge, quote_spans, row_spans
from .links import browse_url, official_link_html
from .markup import LEVEL_LABELS, TABLE_TITLES, esc, grid_html

TABLE_OF_SECTION = {2: T.ACTIVE, 3: T.APPLICATION, 4: T.REVIEW}
TABLE_NUMBERS = {T.ACTIVE: "表二", T.APPLICATION: "表三", T.REVIEW: "表四"}
WITHOUT_TABLES_IN_TEXT = ("html", "docx")  # formats whose tables the loader keeps apart

STYLE = """
body { font-family: 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif; color: #1f2328;
  max-width: 60em; margin: 0 auto; padding: 12px 16px 40vh 16px; line-height: 1.8; background: #fff; }
header { border-bottom: 1px solid #d0d7de; margin-bottom: 12px; padding-bottom: 8px; }
h1 { font-size: 1.25em; margin: 0.2em 0; }
.meta, .status { color: #57606a; font-size: 0.92em; margin: 0.2em 0; }
a { color: #0550ae; }
mark.nb-hit, tr.nb-hit-row > * { background: #ffe58a; color: #1f2328; }
mark.nb-hit { padding: 0 1px; outline: 2px solid #bf8700; }
tr.nb-hit-row { outline: 3px solid #bf8700; }
#nb-hit { scroll-margin-top: 30vh; }
.doc p { margin: 0.35em 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.doc h2 { font-size: 1.05em; margin: 0.8em 0 0.3em 0; }
.table-wrap { overflow-x: auto; margin: 8px 0 14px 0; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #d0d7de; padding: 3px 6px; text-align: left; vertical-align: top;
  min-width: 4em; max-width: 14em; }
td.n { white-space: nowrap; text-align: right; min-width: 0; }
"""
CSP = ("default-src 'none'; style-src 'sha256-"
       + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
       + "'; base-uri 'none'; form-action 'none'")

_NUMBER = re.compile(r"-?[\d,.]+\s*(?:%|元|万元|件|条|个)?")  # a number is never broken over lines
_PARA_END = re.compile(r"[。！？：；:;」”）)]$")
_PARA_START = re.compile(r"^(?:[（(][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+、|\d+[.．、]|第[一二三四五六七八九十]+)")
_MD_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")


def _md_cells(line: str) -> list[str]:
    inner = line.strip().strip("|")
    return [c.strip().replace("**", "") for c in inner.split("|")]


def _table_html(rows: list[list[str]], hit_rows: set[int], ids: dict) -> str:
    out = ['<div class="table-wrap" tabindex="0" role="region" aria-label="表格（可左右滚动）"><table>']
    for i, cells in enumerate(rows):
        attrs = ""
        if i in hit_rows:
            attrs = ' class="nb-hit-row"'
            if ids.get("row"):
                attrs += ' id="nb-hit"'
                ids["row"] = False
        out.append(f"<tr{attrs}>" + "".join(f'<td class="n">{esc(c)}</td>' if _NUMBER.fullmatch(c.strip())
                                            else f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    out.append("</table></div>")
    return "".join(out)


def standard_tables(fmt: str | None, sections: list[dict], tables: dict[str, list], row: str | None
                    ) -> dict[int, tuple[str, bool]]:
    """For a format whose tables are not in its text: section number -> (the table it
    prints, as HTML with ``row`` marked; whether the row is in it)."""
    if fmt not in WITHOUT_TABLES_IN_TEXT:
        return {}
    table_of_row, _, key = (row or "").rpartition("|")
    out = {}
    present = {s["number"] for s in sections}
    for number, table in TABLE_OF_SECTION.items():
        cells = tables.get(table) or []
        grid = grid_html(cells, f"{TABLE_NUMBERS[table]} {TABLE_TITLES.get(table, table)}（按索引读出的数字）")
        if not grid:
            continue
        marked = bool(key) and table_of_row in ("", table) and any(c["row"] == key for c in cells)
        if marked:
            grid = mark_grid_row(grid, key)
        # a section the report does not print: the table goes after the one before it
        at = number if number in present else max((n for n in present if n < number), default=0)
        html, had = out.get(at, ("", False))
        out[at] = (html + f'<div class="table-wrap" tabindex="0" role="region" '
                   f'aria-label="{TABLE_NUMBERS[table]}（可左右滚动）">{grid}</div>', had or marked)
    return out


def document_html(sections: list[dict], fmt: str | None, quote: str | None = None, row: str | None = None,
                  tables: dict[str, list] | None = None) -> tuple[str, bool, bool]:
    """The report's text as HTML with the quote and row marked; and whether each was found.
    The first mark of the quote (else of the row) gets id="nb-hit"."""
    lines: list[str] = []
    ends: dict[int, int] = {}  # section number -> lines read when it ends
    for sec in sections:
        lines += (sec["text"] or "").split("\n")
        ends[sec["number"]] = len(lines)
    inserts = standard_tables(fmt, sections, tables or {}, row)
    after: dict[int, list[tuple[str, bool]]] = {}
    for number, item in inserts.items():
        after.setdefault(ends.get(number, len(lines)), []).append(item)
    grid_found = any(had for items in after.values() for _, had in items)
    full = "\n".join(lines)
    q_spans = quote_spans(full, quote)
    r_spans = [] if grid_found else row_spans(full, row)
    md = fmt in ("md", "txt")
    md_rows: list[tuple[list[str], int, int]] = []  # a Markdown table being read: cells, start, end
    # Which mark gets the anchor: the quote's first, else the row's.
    ids = {"quote": bool(q_spans), "row": not q_spans}
    out: list[str] = []
    spans = merge(q_spans + r_spans)
    para: list[str] = []  # the lines of a paragraph being read (Markdown from a PDF wraps sentences)

    def hit(start: int, end: int) -> bool:
        return any(s < end and e > start for s, e in spans)

    def flush_para():
        if para:
            out.append(f"<p>{''.join(para)}</p>")
            para.clear()

    def flush_md():
        flush_para()
        if not md_rows:
            return
        hit_rows = {i for i, (cells, s, e) in enumerate(md_rows) if hit(s, e)}
        if not r_spans and not grid_found and not ids.get("md_row_done"):
            at = next((i for i, (cells, _, _) in enumerate(md_rows) if matches_row(cells, row)), None)
            if at is not None:
                hit_rows.add(at)
                ids["md_row_done"] = True
        out.append(_table_html([c for c, _, _ in md_rows], hit_rows, ids))
        md_rows.clear()

    def tables_after(count: int):
        for html, had in after.get(count, []):
            flush_md()
            if had and ids.get("row"):
                html = html.replace('class="nb-hit-row"', 'class="nb-hit-row" id="nb-hit"', 1)
                ids["row"] = False
            out.append(html)

    offset = 0
    previous = ""
    for count, text in enumerate(lines, 1):
        start, end = offset, offset + len(text)
        offset = end + 1
        stripped = text.strip()
        if stripped.startswith("|") and md:
            flush_para()
            if not _MD_RULE.match(stripped):
                md_rows.append((_md_cells(stripped), start, end))
            tables_after(count)
            continue
        if md_rows:
            flush_md()
        if stripped:
            first = None
            if ids["quote"] and any(s < end and e > start for s, e in q_spans):
                first, ids["quote"] = "nb-hit", False
            elif ids["row"] and any(s < end and e > start for s, e in r_spans):
                first, ids["row"] = "nb-hit", False
            heading = md and _MD_HEADING.match(text)
            if heading:
                flush_para()
                body = marked_html(text[heading.end():], spans, first, offset=start + heading.end())
                out.append(f"<h2>{body}</h2>")
            else:
                body = marked_html(text, spans, first, offset=start)
                wrapped = fmt == "md" and para and not _PARA_END.search(previous) \
                    and not _PARA_START.match(stripped) \
                    and not (_PARA_START.match(previous) and len(previous) <= 25)  # a heading line
                if not wrapped:
                    flush_para()
                para.append(body)
            previous = stripped
        else:
            flush_para()
        tables_after(count)
    flush_md()
    return "".join(out), bool(q_spans), bool(r_spans) or grid_found or bool(ids.get("md_row_done"))


def source_page_html(report: dict, sections: list[dict], tables: dict[str, list] | None = None,
                     quote: str | None = None, row: str | None = None, file_url: str | None = None) -> str:
    """The whole page: the report's name, its links, a line saying what is marked, its text."""
    name = report.get("title") or report.get("body") or "政府信息公开工作年度报告"
    body_html, quote_found, row_found = document_html(sections, report.get("format"), quote, row, tables)
    facts = [x for x in (report.get("body"), f"{report['year']}年" if report.get("year") else None,
                         LEVEL_LABELS.get(report.get("level"), None)) if x]
    links = []
    official = official_link_html(report.get("official_url"))
    if official:
        links.append(official)
    links.append(f'<a href="/{esc(browse_url(report["id"], quote, row))}">在“浏览报告”中查看</a>')
    if file_url:
        links.append(f'<a href="{esc(file_url)}">下载原始文件</a>')
    if quote_found or row_found:
        status = "引用的原文已用黄色标出，页面已滚动到该处。"
    elif quote or row:
        status = "没有在原文中找到引用的这段文字（答案中的表格数字可能经过整理），下面是报告全文。"
    else:
        status = "下面是报告全文。"
    return ("<!DOCTYPE html>\n"
            f'<html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(name)} - 报告原文</title><style>{STYLE}</style></head><body>"
            f"<header><h1>{esc(name)}</h1>"
            f'<p class="meta">{esc(" · ".join(facts))}</p>'
            f'<p class="meta">{" · ".join(links)}</p>'
            f'<p class="status" role="status">{esc(status)}</p></header>'
            f'<main class="doc">{body_html}</main></body></html>')
