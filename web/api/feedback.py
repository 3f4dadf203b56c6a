"""/api/feedback: readers' verdicts on answers (index.feedback).

``POST`` is open like /api/ask (the page and any client send a reader's 有用/有误 and an
optional comment; rate-limited per client IP, or per key when one is sent). ``GET``
lists them for staff and needs an API key. Both use the file ``Settings.feedback``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from index import layout
from index.feedback import Feedback, FeedbackError, FeedbackStore, FeedbackUnavailable
from index.served import served

from . import models as M
from .deps import ERRORS, KEYED_ERRORS, Asker, Official, State
from .errors import ApiError

router = APIRouter(prefix="/api/feedback", tags=["feedback"])
MAX_LIMIT = 500


def _store(state) -> FeedbackStore:
    return FeedbackStore(state.settings.feedback)


def _served_build(state) -> str:
    """The build being served (what answered, unless the client says otherwise); '' when none."""
    if layout.current_dir(state.index_dir) is None:
        return ""
    try:
        return served(state.index_dir).get().build_id
    except FileNotFoundError:
        return ""


@router.post("", status_code=201, response_model=M.FeedbackCreated, responses=ERRORS)
def give_feedback(body: M.FeedbackCreate, state: State, _who: Asker) -> dict:
    """Record a reader's verdict on an answer (有用/有误, optional comment). Open, rate-limited per IP."""
    try:
        feedback = Feedback.checked(body.question, body.answer, body.verdict, body.comment,
                                    body.build if body.build is not None else _served_build(state))
        feedback_id = _store(state).record(feedback)
    except FeedbackError as error:
        raise ApiError(422, "bad_feedback", str(error))
    except FeedbackUnavailable as error:
        raise ApiError(503, "feedback_unavailable", f"{error}; ask the administrator to check NIANBAO_FEEDBACK")
    return {"id": feedback_id, "verdict": feedback.verdict, "build": feedback.build}


@router.get("", response_model=M.FeedbackList, responses=KEYED_ERRORS)
def list_feedback(state: State, _official: Official,
                  verdict: Annotated[str | None, Query(description="useful or wrong (有用/有误)")] = None,
                  offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                  limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50) -> dict:
    """Readers' verdicts, newest first (needs a key)."""
    try:
        rows, count = _store(state).list(verdict=verdict, offset=offset, limit=limit)
    except FeedbackError as error:
        raise ApiError(400, "bad_request", str(error))
    except FeedbackUnavailable as error:
        raise ApiError(503, "feedback_unavailable", f"{error}; ask the administrator to check NIANBAO_FEEDBACK")
    return {"data": rows, "count": count, "offset": offset, "limit": limit}
