"""The API's one error shape: ``{"error": {"code", "message"}}`` with an HTTP status.

    from web.api.errors import ApiError
    raise ApiError(404, "not_found", "no report with id 'r999'")

``install_error_handlers`` turns ApiError, FastAPI's validation errors, Starlette's HTTP
errors, a damaged index (503 ``index_unavailable``) and anything unexpected (500) into
that shape; web.security rewrites what other routes (the page, the docs) answer.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.understand import MAX_QUESTION_CHARS


class ApiError(Exception):
    """An error the API reports as ``{"error": {"code", "message"}}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


# the code of an error that has none of its own, by status
STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 413: "payload_too_large", 422: "validation_error",
                429: "rate_limited", 500: "internal_error", 503: "unavailable"}


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _describe_validation(errors) -> tuple[int, str, str]:
    """One readable line for a validation failure; an over-long question is 413."""
    parts = []
    for e in errors:
        loc = [str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path", "header")]
        if e.get("type") == "string_too_long" and loc == ["question"]:
            n = len(e.get("input") or "")
            return 413, "question_too_long", (
                f"question is {n} characters; the limit is {MAX_QUESTION_CHARS} "
                f"(问题过长，上限 {MAX_QUESTION_CHARS} 字)")
        parts.append(f"{'.'.join(loc) or 'request'}: {e.get('msg')}")
    return 422, "validation_error", "; ".join(parts[:5]) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, ensure_ascii=False)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
        return error_response(exc.status_code, STATUS_CODES.get(exc.status_code, "error"), message,
                              getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        status, code, message = _describe_validation(exc.errors())
        return error_response(status, code, message)

    @app.exception_handler(sqlite3.DatabaseError)
    @app.exception_handler(psycopg.Error)  # facts in PostgreSQL (index.pgstore): server gone, schema dropped
    async def _index_unavailable(request: Request, exc: Exception):
        return index_unavailable_response(request.app.state.api.index_dir, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        return error_response(500, "internal_error", f"internal error ({type(exc).__name__}); see the server log")


def index_unavailable_response(index_dir: Path, exc: Exception | None = None) -> JSONResponse:
    """503 ``index_unavailable`` with what is wrong with the index (index.integrity)."""
    from index.integrity import index_problem

    problem = index_problem(index_dir) or f"the index could not be read ({type(exc).__name__}: {exc})"
    return error_response(503, "index_unavailable", problem)
