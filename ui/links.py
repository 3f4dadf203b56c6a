"""Links from an answer or a report page to the report itself (its file, its page in the
browse tab)."""

from __future__ import annotations

from urllib.parse import quote

from .markup import esc


def report_links_html(rid: str, title: str, page: int | None = None) -> str:
    """《title》 with links to the report's file and to the report in the browse tab."""
    qid = quote(rid, safe="")
    return (f'<div class="nb-links">《{esc(title)}》 '
            f'<a href="/api/reports/{esc(qid)}/source" target="_blank" rel="noopener">查看报告原文</a> · '
            f'<a href="?report={esc(qid)}" target="_blank" rel="noopener">在“浏览报告”中打开</a></div>')
