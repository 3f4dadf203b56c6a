"""GET /source/{id}: a report opened at the place an answer cites, for citizens.

    /source/{id}?page=N&q=<quote>&row=<row key>#nb-hit

- A PDF: 303 to ``/api/reports/{id}/source#page=N``, which the browser shows inline (its
  own PDF viewer, at page N) under a readable name (web.api.reports).
- Any other report (text, Markdown, Word, HTML): a page of ours with the report's text
  as the index holds it (its sections; ui.source_page): escaped, tables as tables, the
  quote and the row marked, no script (its Content-Security-Policy allows only its own
  style block), the official page (reports.official_url) linked where known.

Open like /api/ask: web.limits.PageGate puts it under the same per-client rate limit.
Errors are the server's one JSON envelope (404 ``not_found`` / ``source_unavailable``).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote as url_quote

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse

from index import template as T
from ui.source_page import CSP, source_page_html

from .api.deps import State, open_store
from .api.reports import report_row, source_path

MAX_QUOTE_CHARS = 1000  # links carry at most ui.links.MAX_QUOTE_IN_LINK
router = APIRouter(tags=["page"])


@router.get("/source/{report_id}", include_in_schema=False)
def source_view(report_id: str, state: State,
                q: Annotated[str | None, Query(max_length=MAX_QUOTE_CHARS)] = None,
                row: Annotated[str | None, Query(max_length=200)] = None,
                page: Annotated[int | None, Query(ge=1, le=100_000)] = None):
    with open_store(state) as store:
        r = report_row(store, report_id)
        file_url = f"/api/reports/{url_quote(report_id, safe='')}/source"
        if (r["format"] or "").lower() == "pdf":
            source_path(store, r)  # 404/403 here, not in the browser's viewer
            return RedirectResponse(f"{file_url}#page={page or 1}", status_code=303)
        sections = store.sections([report_id])
        tables = {t: [dict(c) for c in store.report_facts(report_id, t)] for t in T.TABLES}
    html = source_page_html(dict(r), sections, tables, quote=q, row=row, file_url=file_url)
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP})
