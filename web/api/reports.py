"""GET /api/reports (list), /api/reports/{id} (one report: metadata, sections, tables,
checks), both with a key; /api/reports/{id}/source (the original file), open like /api/ask.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated
from urllib.parse import quote as url_quote

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from index import template as T
from index.factstore import FactStore

from . import models as M
from .deps import KEYED_ERRORS, LEVELS, MAX_OFFSET, Asker, Official, State, Year, check_level, open_store
from .errors import ApiError


router = APIRouter(prefix="/api/reports", tags=["reports"])


def _report_public(r) -> dict:
    keys = ("id", "title", "body", "short_name", "level", "province", "city", "county", "year", "template",
            "format", "doc_number", "publish_date", "page_count", "failed_checks", "uncertain_cells")
    out = {k: r[k] for k in keys}
    out["url"] = f"/api/reports/{r['id']}"
    return out


@router.get("", response_model=M.ReportsPublic, responses=KEYED_ERRORS)
def list_reports(state: State, _official: Official,
                 year: Year | None = None,
                 level: Annotated[str | None, Query(description=f"one of {', '.join(LEVELS)}")] = None,
                 region: Annotated[str | None, Query(max_length=100, description="province, city or county")] = None,
                 name: Annotated[str | None, Query(max_length=100, description="part of the body or title")] = None,
                 offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict:
    """The indexed reports, newest year first, filtered and paginated."""
    check_level(level)
    with open_store(state) as store:
        rows, count = store.list_reports(year=year, level=level, region=region, name=name,
                                         offset=offset, limit=limit)
    return {"data": [_report_public(r) for r in rows], "count": count, "offset": offset, "limit": limit}


def report_row(store: FactStore, report_id: str):
    row = store.report(report_id)
    if row is None:
        raise ApiError(404, "not_found", f"no report with id {report_id!r} (GET /api/reports lists them)")
    return row


@router.get("/{report_id}", response_model=M.ReportDetail, responses=KEYED_ERRORS)
def get_report(report_id: str, state: State, _official: Official) -> dict:
    """One report: metadata, its sections, the three tables cell by cell, and its checks."""
    with open_store(state) as store:
        r = report_row(store, report_id)
        sections = store.sections([report_id])  # SectionPublic drops report_id
        tables: dict[str, list[dict]] = {t: [] for t in T.TABLES}
        for f in store.report_facts(report_id):
            tables.setdefault(f["tbl"], []).append({
                "row": f["row"], "column": f["col"], "value": f["value"], "number": f["number"],
                "unit": f["unit"], "raw": f["raw"], "page": f["page"], "blank": bool(f["blank"]),
                "uncertain": bool(f["uncertain"]),
                "candidates": [str(c) for c in json.loads(f["candidates"])] if f["candidates"] else []})
        checks = [{"rule": c["rule"], "scope": c["scope"], "detail": c["detail"],
                   "passed": None if c["passed"] is None else bool(c["passed"])}
                  for c in store.report_checks(report_id)]
    out = _report_public(r)
    try:
        problems = [str(p) for p in json.loads(r["problems"] or "[]")]
    except ValueError:
        problems = []
    out.update(problems=problems, source_file=r["source_file"], source_url=f"/api/reports/{report_id}/source",
               sections=sections, tables=tables, checks=checks)
    return out


_MEDIA_TYPES = {".pdf": "application/pdf", ".txt": "text/plain; charset=utf-8",
                ".md": "text/markdown; charset=utf-8", ".html": "text/html; charset=utf-8",
                ".htm": "text/html; charset=utf-8",
                ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def source_path(store: FactStore, r) -> Path:
    """The report's original file, only from the folder the index was built from; ApiError
    when it is not recorded, not there, or outside that folder."""
    input_dir = store.build_info().get("input_dir")
    if not input_dir:
        raise ApiError(404, "source_unavailable", "the index does not record the folder it was built from")
    base = Path(input_dir).resolve()
    if base.is_file():  # an index built from a single file
        base = base.parent
    target = (base / r["source_file"]).resolve()
    if not target.is_relative_to(base):
        raise ApiError(403, "forbidden", "the recorded source file lies outside the input folder")
    if not target.is_file():
        raise ApiError(404, "source_unavailable",
                       f"the original file {r['source_file']!r} is no longer in the input folder")
    return target


def readable_filename(r, suffix: str) -> str:
    """A name a citizen recognises: 机关名_年份年报.pdf (never the internal id)."""
    who = r["body"] or r["short_name"] or r["title"] or "政府信息公开"
    who = re.sub(r'[\\/:*?"<>|\s]+', "", who)[:60] or "政府信息公开"
    return f"{who}_{r['year'] or ''}年报{suffix}"


def content_disposition(kind: str, filename: str) -> str:
    """RFC 6266 with the UTF-8 name as an RFC 5987 ``filename*`` and an ASCII fallback
    (its year and extension) for clients that read only ``filename``."""
    year = re.search(r"\d{4}", filename)
    fallback = f"nianbao{'_' + year.group(0) if year else ''}{Path(filename).suffix}"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{url_quote(filename, safe='')}"


# Shown by the browser itself; the rest is offered as a download under the readable name.
INLINE = {".pdf", ".txt", ".md"}


@router.get("/{report_id}/source", response_class=FileResponse,
                    responses={**KEYED_ERRORS, 200: {"description": "the original file"}})
def get_source(report_id: str, state: State, _who: Asker) -> FileResponse:
    """The original file of a report (served only from the folder the index was built from).
    A PDF opens in the browser (``Content-Disposition: inline``, so ``#page=N`` works) under
    a readable name (机关名_年份年报.pdf); the citizens' page links to /source/{id} instead,
    which shows text reports with the cited passage marked (web.source_view).

    Open like /api/ask (the reports are public records and the web page links here),
    rate-limited per client IP or per key."""
    with open_store(state) as store:
        r = report_row(store, report_id)
        target = source_path(store, r)
    suffix = target.suffix.lower()
    media = _MEDIA_TYPES.get(suffix, "application/octet-stream")
    kind = "inline" if suffix in INLINE else "attachment"
    # an HTML report opens as a document of no origin: its scripts, if any, cannot reach this site
    return FileResponse(target, media_type=media, headers={
        "Content-Security-Policy": "sandbox",
        "Content-Disposition": content_disposition(kind, readable_filename(r, suffix))})
