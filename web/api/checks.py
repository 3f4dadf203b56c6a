"""GET /api/checks: reports whose tables fail their own arithmetic (勾稽关系), with each
failing rule and its numbers (needs a key).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query

from . import models as M
from .deps import KEYED_ERRORS, LEVELS, Official, State, Year, check_level, open_store

router = APIRouter(prefix="/api/checks", tags=["checks"])
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?")


@router.get("", response_model=M.ChecksResponse, responses=KEYED_ERRORS)
def checks(state: State, _official: Official,
           year: Year | None = None,
           level: Annotated[str | None, Query(description=f"one of {', '.join(LEVELS)}")] = None,
           rule: Annotated[str | None, Query(max_length=100, description="e.g. 复议诉讼合计, 勾稽关系")] = None,
           undecided: Annotated[bool, Query(description="also list checks that could not be decided")] = False
           ) -> dict:
    """Reports whose tables fail their own arithmetic (勾稽关系), with each failing rule and its numbers."""
    check_level(level)
    with open_store(state) as store:
        rows = store.list_failed_checks(year=year, level=level, rule=rule, undecided=undecided)
    by_report: dict[str, dict] = {}
    for c in rows:
        entry = by_report.setdefault(c["report_id"], {
            "report_id": c["report_id"], "title": c["title"], "agency": c["body"], "level": c["level"],
            "year": c["year"], "failures": [], "url": f"/api/reports/{c['report_id']}"})
        detail = c["detail"] or ""
        equation = detail.split(":", 1)[1] if ":" in detail else detail
        entry["failures"].append({"rule": c["rule"], "scope": c["scope"], "detail": c["detail"],
                                  "numbers": [float(n) for n in _NUMBER.findall(equation)]})
    data = list(by_report.values())
    return {"data": data, "count": len(data)}
