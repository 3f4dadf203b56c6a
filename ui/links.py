"""Links from an answer or a report page to the report itself: its text at the cited
place, its official page, and the report in the browse tab at the cited place.

    report_links_html(rid, title, page=None, quote=None, row=None, official_url=None)

- 查看报告原文 -> ``/source/{id}?page=N&q=<quote>&row=<row>#nb-hit`` (web.source_view):
  a PDF opens in the browser's viewer at page N; a text, Markdown, Word or HTML report
  opens as a page of its text with the quote and the row marked and scrolled to.
- 官方原文 -> the page the report was published on (reports.official_url), when known.
- 在“浏览报告”中打开 -> ``?report={id}&row=<row>&q=<quote>``: the browse tab opens on
  the report, at the cited row (table) or passage (section), marked.
"""

from __future__ import annotations

from urllib.parse import quote as url_quote
from urllib.parse import urlencode, urlsplit

from .highlight import quote_pieces
from .markup import esc

MAX_QUOTE_IN_LINK = 300  # characters of the quote carried in a link (whole sentences)


def short_quote(quote: str | None) -> str | None:
    """The first sentences of a quote, at most MAX_QUOTE_IN_LINK characters, for a link."""
    pieces, size = [], 0
    for piece in quote_pieces(quote or ""):
        if size + len(piece) > MAX_QUOTE_IN_LINK:
            break
        pieces.append(piece)
        size += len(piece) + 1
    return "。".join(pieces) or None


def _params(page=None, quote=None, row=None) -> dict:
    out = {}
    if page:
        out["page"] = int(page)
    q = short_quote(quote)
    if q:
        out["q"] = q
    if row:
        out["row"] = row
    return out


def source_url(rid: str, page: int | None = None, quote: str | None = None, row: str | None = None) -> str:
    """The report's text (or PDF) at the cited place (web.source_view)."""
    params = _params(page, quote, row)
    query = f"?{urlencode(params)}" if params else ""
    return f"/source/{url_quote(rid, safe='')}{query}" + ("#nb-hit" if "q" in params or "row" in params else "")


def browse_url(rid: str, quote: str | None = None, row: str | None = None) -> str:
    """The report in the browse tab, at the cited row or passage."""
    return "?" + urlencode({"report": rid, **{k: v for k, v in _params(None, quote, row).items()}})


def official(url: str | None) -> str | None:
    """The official page's address when it is a web address (never javascript: or data:)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def official_link_html(url: str | None) -> str:
    url = official(url)
    if not url:
        return ""
    return (f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer" '
            f'title="在发布机关网站上打开这份报告">官方原文</a>')


def report_links_html(rid: str, title: str, page: int | None = None, quote: str | None = None,
                      row: str | None = None, official_url: str | None = None) -> str:
    """《title》 with links to the report's text at the cited place, its official page
    (when known) and the report in the browse tab at the cited place."""
    links = [f'<a href="{esc(source_url(rid, page, quote, row))}" target="_blank" rel="noopener">查看报告原文</a>']
    official_html = official_link_html(official_url)
    if official_html:
        links.append(official_html)
    links.append(f'<a href="{esc(browse_url(rid, quote, row))}" target="_blank" rel="noopener">在“浏览报告”中打开</a>')
    return f'<div class="nb-links">《{esc(title)}》 ' + " · ".join(links) + "</div>"


def official_url_of(store, rid: str) -> str | None:
    """The report's official page from the store (None when unknown or the store fails)."""
    if store is None:
        return None
    try:
        r = store.report(rid)
    except store.Error:
        return None
    return official(r["official_url"]) if r is not None and "official_url" in r.keys() else None


def cited_row(facts: list[dict]) -> str | None:
    """The first table row a citation's facts come from, as '表|行' (for the links)."""
    for f in facts:
        if f.get("table") and f.get("row"):
            return f"{f['table']}|{f['row']}"
    return None
