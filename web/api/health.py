"""GET /api/health: status of the server and its index (open)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi import APIRouter

from index import layout

from . import models as M
from .deps import State, open_store

router = APIRouter(prefix="/api/health", tags=["health"])


def _model_name(build: Path) -> str | None:
    stamp = layout.model_file(build)
    if not stamp.exists():
        return None
    first = stamp.read_text(encoding="utf-8").splitlines()[0].strip()
    return Path(first).name if "/" in first or "\\" in first else first  # never show server paths


@router.get("", response_model=M.Health, responses={503: {"model": M.ErrorResponse}})
def health(state: State) -> dict:
    """Status of the server and its index (never needs a key)."""
    build = layout.current_dir(state.index_dir)
    if build is None:
        return {"status": "no_index", "reports": 0, "built_at": None, "model": None, "retrieval": False,
                "ui": state.ui}
    from index.integrity import index_problem

    if index_problem(state.index_dir) is not None:
        raise sqlite3.DatabaseError("index unavailable")  # 503 index_unavailable, saying why
    with open_store(state) as store:
        count = store.report_count()
        built_at = store.build_info().get("built_at")
    return {"status": "ok", "reports": count, "built_at": built_at, "model": _model_name(build),
            "retrieval": layout.bm25_dir(build).exists(), "ui": state.ui}
