"""POST /api/ask: answer a question, with citations (open to everyone, rate-limited per
client IP, or per key when one is sent).
"""

from __future__ import annotations

from fastapi import APIRouter

from qa.answer import IndexNotFound, answer
from qa.understand import QuestionError

from . import models as M
from .deps import ERRORS, Asker, State, open_index
from .errors import ApiError

router = APIRouter(prefix="/api/ask", tags=["ask"])


@router.post("", response_model=M.AskResponse, responses=ERRORS)
def ask(body: M.AskRequest, state: State, _who: Asker) -> dict:
    """Answer a question about the reports, with citations (open to everyone, rate-limited per IP)."""
    try:
        result = answer(body.question, open_index(state), history=[t.model_dump() for t in body.history] or None)
    except QuestionError as error:
        raise ApiError(422, "bad_question", str(error))
    except IndexNotFound:
        raise ApiError(503, "no_index", "no index has been built yet: build one with scripts/build_index.py")
    return result.to_dict()
