"""GET /api/search: the passages that best match a text, with scores and a citation each
(needs a key).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from qa.understand import MAX_QUESTION_CHARS

from . import models as M
from .deps import KEYED_ERRORS, LEVELS, Official, State, Year, check_level, open_index, open_store
from .errors import ApiError

MAX_K = 50

router = APIRouter(prefix="/api/search", tags=["search"])


@router.get("", response_model=M.SearchResponse, responses=KEYED_ERRORS)
def search(state: State, _official: Official,
           q: Annotated[str, Query(min_length=1, max_length=MAX_QUESTION_CHARS, description="search text")],
           year: Year | None = None,
           agency: Annotated[str | None, Query(max_length=100, description="issuing body, e.g. 交岔乡")] = None,
           level: Annotated[str | None, Query(description=f"one of {', '.join(LEVELS)}")] = None,
           k: Annotated[int, Query(ge=1, le=MAX_K)] = 5,
           mode: Literal["bm25", "hybrid", "dense"] | None = None) -> dict:
    """The k passages that best match ``q``, with scores and a citation each."""
    check_level(level)
    try:
        from qa import retrieve
    except ImportError as error:
        raise ApiError(503, "search_unavailable", f"search is not available on this server ({error})")
    try:
        hits = retrieve.search(open_index(state), q, k=k, year=year, agency=agency, level=level, mode=mode)
    except retrieve.IndexNotFound:
        raise ApiError(503, "search_unavailable",
                       "this index has no retrieval part: rebuild it with scripts/build_index.py "
                       "(without --no-passages)")
    except ValueError as error:
        raise ApiError(400, "bad_request", str(error))
    titles = {}
    if hits:
        with open_store(state) as store:
            titles = store.report_titles(sorted({h.report_id for h in hits}))
    data = []
    for h in hits:
        quote = h.text if len(h.text) <= 200 else h.text[:200] + "…"
        data.append(M.SearchHit(
            passage_id=h.id, rank=h.rank, score=h.score, kind=h.kind, report_id=h.report_id,
            section=h.section, section_title=h.section_title, page_start=h.page_start, page_end=h.page_end,
            text=h.text, citation=M.Citation(report_id=h.report_id, title=titles.get(h.report_id), agency=h.body,
                                             year=h.year, section=h.section_title, page=h.page_start,
                                             quote=quote)))
    return {"query": q, "mode": mode or retrieve.DEFAULT_MODE, "data": data, "count": len(data)}
