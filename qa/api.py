"""The HTTP API: ``create_app(index_dir, *, keys_file=None) -> FastAPI``.

    from qa.api import create_app
    app = create_app("var/index")          # uvicorn qa.server (python -m qa serve) adds the web page

Routes (all JSON; every error is ``{"error": {"code", "message"}}``):

==========================  =========  ==========================================================
``POST /api/ask``           open       answer a question (same JSON as ``python -m qa ask --json``),
                                       rate-limited per client IP (or per key when one is sent)
``GET /api/search``         key        passages with scores and citations (qa.retrieve.search)
``GET /api/reports``        key        reports, filtered and paginated (``data`` + ``count``)
``GET /api/reports/{id}``   key        metadata, sections, the three tables, check results
``GET /api/reports/{id}/source``  open  the original file, served only from the build's input folder
``GET /api/facts``          key        one figure across reports, filtered and sorted; ``format=csv``
``GET /api/checks``         key        reports whose tables fail their own arithmetic
``GET /api/health``         open       status, report count, build time, model
==========================  =========  ==========================================================

Errors also: 405 for a method an endpoint does not have, 503 ``index_unavailable`` when the
served reports.db is missing or damaged (``/api/health`` says why), 503 ``keys_unavailable``
when the key file cannot be read, 429 ``too_many_failed_keys`` after
AUTH_FAILURES_PER_MINUTE wrong keys from one client. qa.server adds what every route
gets (qa.limits, qa.security).

API keys (``X-API-Key`` header) live in a SQLite file (``NIANBAO_API_KEYS``, default
``var/api_keys.db``), managed with ``scripts/api_keys.py``; only a salted SHA-256 of each
key's secret is stored. Every request with a key, and every anonymous ``/api/ask`` or
``/source``, takes
a token from an in-memory bucket (``NIANBAO_RATE_LIMIT`` requests per minute, 0 = off).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from pydantic import Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from index import template as T
from index import layout
from index.factstore import FactStore
from index.served import Index, served

from . import models as M
from .answer import catalog_of
from .understand import LEVEL_NAMES, MAX_QUESTION_CHARS, Figure, QuestionError, find_figure, fmt_number

ENV_KEYS = "NIANBAO_API_KEYS"
DEFAULT_KEYS_FILE = "var/api_keys.db"
ENV_RATE_LIMIT = "NIANBAO_RATE_LIMIT"
DEFAULT_RATE_LIMIT = 60  # requests per minute per key (and per IP for anonymous /api/ask)
MAX_BODY_BYTES = 256 * 1024  # request bodies of /api/* above this get 413
MAX_K = 50
LEVELS = tuple(LEVEL_NAMES)
MAX_OFFSET = 10**9  # larger offsets overflow SQLite's integers: 422, not a 500
YEAR_MIN, YEAR_MAX = 1, 9999
AUTH_FAILURES_PER_MINUTE = 10  # wrong keys per client before 429 (guessing keys is slow)


# ============================================================================ errors
class ApiError(Exception):
    """An error the API reports as ``{"error": {"code", "message"}}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
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
        return error_response(exc.status_code, _STATUS_CODES.get(exc.status_code, "error"), message,
                              getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        status, code, message = _describe_validation(exc.errors())
        return error_response(status, code, message)

    @app.exception_handler(sqlite3.DatabaseError)
    async def _index_unavailable(request: Request, exc: sqlite3.DatabaseError):
        return index_unavailable_response(request.app.state.api.index_dir, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        return error_response(500, "internal_error", f"internal error ({type(exc).__name__}); see the server log")


def index_unavailable_response(index_dir: Path, exc: Exception | None = None) -> JSONResponse:
    """503 ``index_unavailable`` with what is wrong with the index (index.integrity)."""
    from index.integrity import index_problem

    problem = index_problem(index_dir) or f"the index could not be read ({type(exc).__name__}: {exc})"
    return error_response(503, "index_unavailable", problem)


class BodyLimitMiddleware:
    """413 for request bodies to /api/* larger than ``limit`` bytes, before anything reads them."""

    def __init__(self, app, limit: int = MAX_BODY_BYTES, prefix: str = "/api"):
        self.app, self.limit, self.prefix = app, limit, prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)
        def too_big(*args):
            return error_response(413, "payload_too_large", f"request body larger than {self.limit} bytes")(*args)

        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                if int(length) > self.limit:
                    return await too_big(scope, receive, send)
            except ValueError:
                return await error_response(400, "bad_request", "bad Content-Length")(scope, receive, send)
            return await self.app(scope, receive, send)
        # No length given (chunked): read up to the limit, then replay what was read.
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                return await too_big(scope, receive, send)
            if not message.get("more_body"):
                break

        async def replay():
            return messages.pop(0) if messages else await receive()

        return await self.app(scope, replay, send)


# ============================================================================ API keys
KEY_PREFIX = "nb"
_KEYS_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, name TEXT NOT NULL, salt TEXT NOT NULL, hash TEXT NOT NULL,
    created_at TEXT NOT NULL, revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS api_keys_by_name ON api_keys (name);
"""


@dataclass
class KeyCheck:
    status: Literal["ok", "unknown", "revoked"]
    name: str | None = None


def _hash_secret(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("utf-8")).hexdigest()


def keys_file_path(keys_file: str | Path | None = None) -> Path:
    return Path(keys_file or os.environ.get(ENV_KEYS) or DEFAULT_KEYS_FILE)


class KeyFileError(Exception):
    """The key file exists but cannot be read (the server answers 503 ``keys_unavailable``)."""


class KeyStore:
    """API keys of officials: ``nb_<key id>_<secret>``; the file keeps the key id, the name,
    a random salt and sha256(salt + secret), never the key. Keys are 192-bit random, so a
    fast salted hash is enough (no password stretching needed)."""

    def __init__(self, path: str | Path | None = None):
        self.path = keys_file_path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        db.executescript(_KEYS_SCHEMA)
        self.secure()
        return db

    def secure(self) -> None:
        """Mode 600 for the key file (only its owner reads the hashes), whatever it had."""
        try:
            if self.path.is_file() and (self.path.stat().st_mode & 0o777) != 0o600:
                os.chmod(self.path, 0o600)
        except OSError as error:  # not its owner: say so, the server still starts
            logging.getLogger("qa.api").warning("cannot make %s mode 600: %s", self.path, error)

    def create(self, name: str) -> str:
        """A new key for ``name`` (shown once: only its hash is kept)."""
        name = name.strip()
        if not name or len(name) > 100:
            raise ValueError("a key name must be 1-100 characters")
        db = self._connect()
        try:
            if db.execute("SELECT 1 FROM api_keys WHERE name = ? AND revoked_at IS NULL", (name,)).fetchone():
                raise ValueError(f"{name!r} already has an active key: revoke it first")
            key_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(24), secrets.token_hex(16)
            db.execute("INSERT INTO api_keys VALUES (?,?,?,?,?,NULL)",
                       (key_id, name, salt, _hash_secret(salt, secret), time.strftime("%Y-%m-%dT%H:%M:%S%z")))
            db.commit()
        finally:
            db.close()
        return f"{KEY_PREFIX}_{key_id}_{secret}"

    def revoke(self, name: str) -> int:
        """Revoke every active key of ``name``; returns how many were revoked."""
        db = self._connect()
        try:
            n = db.execute("UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                           (time.strftime("%Y-%m-%dT%H:%M:%S%z"), name)).rowcount
            db.commit()
        finally:
            db.close()
        return n

    def list(self) -> list[dict]:
        if not self.path.exists():
            return []
        db = self._connect()
        try:
            return [dict(r) for r in db.execute(
                "SELECT name, key_id, created_at, revoked_at FROM api_keys ORDER BY created_at, name")]
        finally:
            db.close()

    def verify(self, key: str) -> KeyCheck:
        parts = (key or "").strip().split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX or not self.path.exists():
            return KeyCheck("unknown")
        try:
            db = sqlite3.connect(f"file:{self.path.resolve()}?mode=ro", uri=True, timeout=10)
        except (sqlite3.Error, OSError) as error:
            raise KeyFileError(f"the API key file cannot be opened ({error})") from error
        try:
            row = db.execute("SELECT name, salt, hash, revoked_at FROM api_keys WHERE key_id = ?",
                             (parts[1],)).fetchone()
        except sqlite3.Error as error:
            raise KeyFileError(f"the API key file cannot be read ({error})") from error
        finally:
            db.close()
        if row is None or not hmac.compare_digest(_hash_secret(row[1], parts[2]), row[2]):
            return KeyCheck("unknown")
        return KeyCheck("revoked" if row[3] else "ok", row[0])


# ============================================================================ rate limit
class RateLimiter:
    """A token bucket per client: ``per_minute`` tokens, refilled continuously."""

    MAX_CLIENTS = 10_000

    def __init__(self, per_minute: float):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def wait(self, who: str) -> float:
        """Seconds until ``who`` has a token again (0: has one now); takes nothing."""
        if self.capacity <= 0:
            return 0.0
        with self._lock:
            tokens, last = self._buckets.get(who, (self.capacity, time.monotonic()))
        tokens = min(self.capacity, tokens + (time.monotonic() - last) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def take(self, who: str) -> float:
        """0 when a token was taken, else the seconds until one is available."""
        if self.capacity <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(who, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[who] = (tokens - 1, now)
                wait = 0.0
            else:
                self._buckets[who] = (tokens, now)
                wait = (1 - tokens) / self.rate
            if len(self._buckets) > self.MAX_CLIENTS:  # forget clients whose bucket is full again
                full = [k for k, (t, at) in self._buckets.items() if t + (now - at) * self.rate >= self.capacity]
                for k in full:
                    del self._buckets[k]
        return wait


def rate_limit_from_env() -> float:
    raw = os.environ.get(ENV_RATE_LIMIT)
    if raw is None or not raw.strip():
        return DEFAULT_RATE_LIMIT
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{ENV_RATE_LIMIT} must be a number of requests per minute (0 = no limit), not {raw!r}")
    if value < 0:
        raise ValueError(f"{ENV_RATE_LIMIT} must not be negative")
    return value


# ============================================================================ dependencies
@dataclass
class ApiState:
    index_dir: Path
    keys: KeyStore
    limiter: RateLimiter
    ui: bool = False
    auth_failures: RateLimiter | None = None  # failed keys per client


def get_state(request: Request) -> ApiState:
    return request.app.state.api


State = Annotated[ApiState, Depends(get_state)]

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="APIKey",
    description="An official's API key (scripts/api_keys.py create NAME).")


def _throttle(state: ApiState, who: str) -> None:
    wait = state.limiter.take(who)
    if wait > 0:
        raise ApiError(429, "rate_limited",
                       f"too many requests: the limit is {state.limiter.capacity:g} per minute; "
                       f"retry in {wait:.1f} s", {"Retry-After": str(max(1, round(wait + 0.5)))})


def _client(request: Request) -> str:
    return f"ip:{request.client.host if request.client else 'unknown'}"


def _check_key(state: ApiState, key: str, client: str) -> str:
    """The key's owner; 401 for a wrong or revoked key, 429 once a client has sent too many
    wrong keys, 503 when the key file cannot be read."""
    failures = state.auth_failures
    if failures is not None:
        wait = failures.wait(client)
        if wait > 0:
            raise ApiError(429, "too_many_failed_keys",
                           f"too many wrong API keys from this client; retry in {wait:.0f} s",
                           {"Retry-After": str(max(1, round(wait + 0.5)))})
    try:
        check = state.keys.verify(key)
    except KeyFileError as error:
        raise ApiError(503, "keys_unavailable", f"{error}; ask the administrator to check {ENV_KEYS}")
    if check.status != "ok" and failures is not None:
        failures.take(client)
    if check.status == "revoked":
        raise ApiError(401, "api_key_revoked", f"this API key (of {check.name}) has been revoked")
    if check.status != "ok":
        raise ApiError(401, "invalid_api_key", "the X-API-Key header does not hold a valid API key")
    return check.name


def require_key(request: Request, state: State,
                key: Annotated[str | None, Security(api_key_header)] = None) -> str:
    """The name of the official whose key was sent; 401 without a valid key, 429 over the limit."""
    if not key:
        raise ApiError(401, "missing_api_key",
                       "this endpoint needs an API key in the X-API-Key header "
                       "(an administrator creates one with scripts/api_keys.py create NAME)")
    name = _check_key(state, key, _client(request))
    _throttle(state, f"key:{name}")
    return name


def asker(request: Request, state: State,
          key: Annotated[str | None, Security(api_key_header)] = None) -> str:
    """Who is asking: the key's name when a key is sent (it must be valid), else the client IP."""
    if key:
        who = f"key:{_check_key(state, key, _client(request))}"
    else:
        who = _client(request)
    _throttle(state, who)
    return who


Official = Annotated[str, Depends(require_key)]
Asker = Annotated[str, Depends(asker)]


def _index(state: ApiState) -> Index:
    """The served build, taken once per request (index.served)."""
    if layout.current_dir(state.index_dir) is None:
        raise ApiError(503, "no_index", "no index has been built yet: build one with scripts/build_index.py")
    try:
        return served(state.index_dir).get()
    except (FileNotFoundError, sqlite3.Error) as error:
        raise sqlite3.DatabaseError(str(error)) from error  # 503 index_unavailable (the handler)


def _store(state: ApiState, index: Index | None = None) -> FactStore:
    try:
        return (index or _index(state)).facts()
    except (FileNotFoundError, sqlite3.Error) as error:
        raise sqlite3.DatabaseError(str(error)) from error  # 503 index_unavailable (the handler)


def _check_level(level: str | None) -> None:
    if level is not None and level not in LEVELS:
        raise ApiError(400, "bad_request", f"unknown level {level!r}: use one of {', '.join(LEVELS)}")


ERRORS = {code: {"model": M.ErrorResponse} for code in (400, 401, 404, 413, 422, 429, 503)}
# Years and numbers a request may give: SQLite integers are 64-bit and NaN/inf compare as
# nothing, so out-of-range values are a 422 before any query.
Year = Annotated[int, Query(ge=YEAR_MIN, le=YEAR_MAX, description="year covered, e.g. 2021")]
FiniteNumber = Annotated[float, Query(allow_inf_nan=False, ge=-1e15, le=1e15)]
KEYED_ERRORS = {**ERRORS, 403: {"model": M.ErrorResponse}}


# ============================================================================ /api/ask
ask_router = APIRouter(tags=["ask"])


@ask_router.post("/api/ask", response_model=M.AskResponse, responses=ERRORS)
def ask(body: M.AskRequest, state: State, _who: Asker) -> dict:
    """Answer a question about the reports, with citations (open to everyone, rate-limited per IP)."""
    from .answer import IndexNotFound, answer

    try:
        result = answer(body.question, _index(state), history=[t.model_dump() for t in body.history] or None)
    except QuestionError as error:
        raise ApiError(422, "bad_question", str(error))
    except IndexNotFound:
        raise ApiError(503, "no_index", "no index has been built yet: build one with scripts/build_index.py")
    return result.to_dict()


# ============================================================================ /api/search
search_router = APIRouter(tags=["search"])


@search_router.get("/api/search", response_model=M.SearchResponse, responses=KEYED_ERRORS)
def search(state: State, _official: Official,
           q: Annotated[str, Query(min_length=1, max_length=MAX_QUESTION_CHARS, description="search text")],
           year: Year | None = None,
           agency: Annotated[str | None, Query(max_length=100, description="issuing body, e.g. 交岔乡")] = None,
           level: Annotated[str | None, Query(description=f"one of {', '.join(LEVELS)}")] = None,
           k: Annotated[int, Query(ge=1, le=MAX_K)] = 5,
           mode: Literal["bm25", "hybrid", "dense"] | None = None) -> dict:
    """The k passages that best match ``q``, with scores and a citation each."""
    _check_level(level)
    try:
        from . import retrieve
    except ImportError as error:
        raise ApiError(503, "search_unavailable", f"search is not available on this server ({error})")
    try:
        hits = retrieve.search(_index(state), q, k=k, year=year, agency=agency, level=level, mode=mode)
    except retrieve.IndexNotFound:
        raise ApiError(503, "search_unavailable",
                       "this index has no retrieval part: rebuild it with scripts/build_index.py "
                       "(without --no-passages)")
    except ValueError as error:
        raise ApiError(400, "bad_request", str(error))
    titles = {}
    if hits:
        with _store(state) as store:
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


# ============================================================================ /api/reports
reports_router = APIRouter(tags=["reports"])


def _report_public(r) -> dict:
    keys = ("id", "title", "body", "short_name", "level", "province", "city", "county", "year", "template",
            "format", "doc_number", "publish_date", "page_count", "failed_checks", "uncertain_cells")
    out = {k: r[k] for k in keys}
    out["url"] = f"/api/reports/{r['id']}"
    return out


@reports_router.get("/api/reports", response_model=M.ReportsPublic, responses=KEYED_ERRORS)
def list_reports(state: State, _official: Official,
                 year: Year | None = None,
                 level: Annotated[str | None, Query(description=f"one of {', '.join(LEVELS)}")] = None,
                 region: Annotated[str | None, Query(max_length=100, description="province, city or county")] = None,
                 name: Annotated[str | None, Query(max_length=100, description="part of the body or title")] = None,
                 offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict:
    """The indexed reports, newest year first, filtered and paginated."""
    _check_level(level)
    with _store(state) as store:
        rows, count = store.list_reports(year=year, level=level, region=region, name=name,
                                         offset=offset, limit=limit)
    return {"data": [_report_public(r) for r in rows], "count": count, "offset": offset, "limit": limit}


def _report_row(store: FactStore, report_id: str):
    row = store.report(report_id)
    if row is None:
        raise ApiError(404, "not_found", f"no report with id {report_id!r} (GET /api/reports lists them)")
    return row


@reports_router.get("/api/reports/{report_id}", response_model=M.ReportDetail, responses=KEYED_ERRORS)
def get_report(report_id: str, state: State, _official: Official) -> dict:
    """One report: metadata, its sections, the three tables cell by cell, and its checks."""
    with _store(state) as store:
        r = _report_row(store, report_id)
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


@reports_router.get("/api/reports/{report_id}/source", response_class=FileResponse,
                    responses={**KEYED_ERRORS, 200: {"description": "the original file"}})
def get_source(report_id: str, state: State, _who: Asker) -> FileResponse:
    """Download the original file of a report (served only from the folder the index was built from).

    Open like /api/ask (the reports are public records and the web page links here),
    rate-limited per client IP or per key."""
    with _store(state) as store:
        r = _report_row(store, report_id)
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
    media = _MEDIA_TYPES.get(target.suffix.lower(), "application/octet-stream")
    # an HTML report opens as a document of no origin: its scripts, if any, cannot reach this site
    return FileResponse(target, media_type=media, filename=Path(r["source_file"]).name,
                        headers={"Content-Security-Policy": "sandbox"})


# ============================================================================ /api/facts
facts_router = APIRouter(tags=["facts"])

_CONDITIONS = {"=": "=", "eq": "=", "==": "=", ">": ">", "gt": ">", "<": "<", "lt": "<",
               ">=": ">=", "ge": ">=", "<=": "<=", "le": "<=", "blank": "blank", "空白": "blank"}
_SORTS = ("name", "-name", "year", "-year", "value", "-value", "level", "-level")
FACT_COLUMNS = ["report_id", "agency", "name", "level", "region", "year", "value", "text_value", "unit",
                "status", "blank", "uncertain", "page", "quote", "note"]


def _row_specs() -> dict[tuple[str, str], T.RowSpec]:
    specs = {}
    for version in T.TEMPLATE_VERSIONS:
        for single in (True, False):
            for spec in T.rows_for(version, single):
                specs.setdefault((spec.table, spec.key), spec)
    return specs


ROW_SPECS = _row_specs()
_FIGURE_HELP = ("give table, row and column (e.g. table=依申请&row=本年新收&column=总计) or a figure name "
                "such as '本年新收 总计', '行政复议 结果纠正', '行政处罚' or '依申请|本年新收|总计'")


def _cell_figure(table: str | None, row: str, column: str) -> Figure:
    matches = [spec for (tbl, key), spec in ROW_SPECS.items() if key == row and (table is None or tbl == table)]
    if table is not None and table not in T.TABLES:
        raise ApiError(400, "bad_request", f"unknown table {table!r}: use one of {', '.join(T.TABLES)}")
    if not matches:
        raise ApiError(400, "unknown_figure", f"unknown row {row!r}" + (f" in table {table}" if table else "")
                       + f": {_FIGURE_HELP}")
    if len({m.table for m in matches}) > 1:
        raise ApiError(400, "bad_request", f"row {row!r} is in several tables: give table= too")
    columns = {c for m in matches for c in m.columns}
    if column not in columns:
        raise ApiError(400, "unknown_figure",
                       f"row {row!r} has no column {column!r}: use one of {', '.join(sorted(columns))}")
    spec = next(m for m in matches if column in m.columns)
    return Figure(f"{row} {column}", spec.table, (row,), (column,), spec.unit_of(column) or "")


def resolve_figure(figure: str | None, table: str | None, row: str | None, column: str | None) -> Figure:
    """The figure a request names: explicit table/row/column, 'row column', 'table|row|column',
    or the words people use (qa.understand.find_figure)."""
    if row or column:
        if not (row and column):
            raise ApiError(400, "bad_request", "give both row and column (or a figure name)")
        return _cell_figure(table, row.strip(), column.strip())
    if not figure or not figure.strip():
        raise ApiError(400, "bad_request", f"no figure chosen: {_FIGURE_HELP}")
    text = figure.strip()
    if text.count("|") == 2:
        tbl, row, col = (x.strip() for x in text.split("|"))
        return _cell_figure(tbl, row, col)
    words = text.split()
    if len(words) == 2 and any(key == words[0] for _, key in ROW_SPECS):
        return _cell_figure(table, words[0], words[1])
    if len(words) == 1 and any(key == text for _, key in ROW_SPECS):
        spec = next(s for (_, key), s in ROW_SPECS.items() if key == text)
        return _cell_figure(table, text, "总计" if "总计" in spec.columns else spec.columns[0])
    found = find_figure(text)
    if found is None:
        raise ApiError(400, "unknown_figure", f"unknown figure {figure!r}: {_FIGURE_HELP}")
    return found


def _fact_rows(state: ApiState, fig: Figure, years: list[int], levels: list[str], regions: list[str],
               name: str | None) -> list[dict]:
    from . import facts as F

    index = _index(state)
    with _store(state, index) as store:
        catalog = catalog_of(index, store)  # made once per build, not per request
        refs = [r for r in catalog.reports
                if (not years or r.year in years) and (not levels or r.level in levels)
                and (not regions or any(g in (x or "") for g in regions
                                        for x in (r.province, r.city, r.county, r.body)))
                and (not name or any(name in (x or "") for x in (r.body, r.short_name, r.title)))]
        values = F.figure_values(store, refs, fig)
    rows = []
    for v in values:
        r = v.report
        pages = [c.page for c in v.cells if c.page]
        rows.append({
            "report_id": r.id, "agency": r.body, "name": r.name, "level": r.level,
            "region": "".join(dict.fromkeys(p for p in (r.province, r.city, r.county) if p)) or None,
            "year": r.year, "value": v.number if v.has_number else None, "text_value": v.text_value,
            "unit": v.unit or None, "status": v.status, "blank": v.status == "blank",
            "uncertain": v.status == "uncertain", "page": pages[0] if pages else None,
            "quote": v.quote, "note": v.reason})
    return rows


def _matches(row: dict, op: str | None, value: float | None) -> bool:
    if op is None:
        return True
    if op == "blank":
        return row["status"] == "blank"
    n = row["value"]
    if n is None:
        return False
    return {"=": n == value, ">": n > value, "<": n < value, ">=": n >= value, "<=": n <= value}[op]


def _sort(rows: list[dict], sort: str) -> list[dict]:
    key = sort.lstrip("-")
    reverse = sort.startswith("-")
    present = [r for r in rows if r[key] is not None]
    absent = [r for r in rows if r[key] is None]  # blanks and unknowns last, whatever the direction
    present.sort(key=lambda r: (r[key], r["name"], r["year"] or 0), reverse=reverse)
    return present + absent


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return fmt_number(value)
    return csv_safe(str(value))


def csv_safe(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP CSV injection:
    a leading =, +, -, @, tab or CR gets a ' in front); plain numbers such as -3 stay numbers."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


@facts_router.get("/api/facts", response_model=M.FactsResponse, responses=KEYED_ERRORS,
                  description="A report builder: one figure across reports. `format=csv` downloads the table "
                              "as CSV (UTF-8 with BOM, opens in Excel).")
def facts(state: State, _official: Official,
          figure: Annotated[str | None, Query(max_length=100, description="e.g. 本年新收 总计, 行政复议, 行政处罚")] = None,
          table: Annotated[str | None, Query(description=f"one of {', '.join(T.TABLES)}")] = None,
          row: Annotated[str | None, Query(max_length=100, description="canonical row key, e.g. 本年新收")] = None,
          column: Annotated[str | None, Query(max_length=100, description="canonical column, e.g. 总计")] = None,
          year: Annotated[list[Annotated[int, Field(ge=YEAR_MIN, le=YEAR_MAX)]],
                          Query(description="repeat for several years")] = [],
          level: Annotated[list[str], Query(description=f"repeat; each one of {', '.join(LEVELS)}")] = [],
          region: Annotated[list[str], Query(description="repeat; province, city, county or body name part")] = [],
          name: Annotated[str | None, Query(max_length=100, description="part of the body name")] = None,
          condition: Annotated[str | None, Query(description="=, >, <, >=, <= (or eq, gt, lt, ge, le) or blank")] = None,
          value: FiniteNumber | None = None,
          sort: Annotated[str, Query(description=f"one of {', '.join(_SORTS)}")] = "name",
          format: Literal["json", "csv"] = "json"):
    for lv in level:
        _check_level(lv)
    if sort not in _SORTS:
        raise ApiError(400, "bad_request", f"unknown sort {sort!r}: use one of {', '.join(_SORTS)}")
    op = None
    if condition is not None:
        op = _CONDITIONS.get(condition.strip())
        if op is None:
            raise ApiError(400, "bad_request",
                           f"unknown condition {condition!r}: use one of =, >, <, >=, <=, blank")
        if op != "blank" and value is None:
            raise ApiError(400, "bad_request", f"condition {condition!r} needs a value=")
    fig = resolve_figure(figure, table, row, column)
    rows = [r for r in _fact_rows(state, fig, year, level, region, name) if _matches(r, op, value)]
    rows = _sort(rows, sort)
    described = None if op is None else ("blank" if op == "blank" else f"{op} {value:g}")
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=FACT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _csv_value(r[k]) for k in FACT_COLUMNS})
        return Response(buffer.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="facts.csv"'})
    return {"figure": {"name": fig.name, "table": fig.table, "rows": list(fig.rows), "columns": list(fig.columns),
                       "unit": fig.unit},
            "condition": described, "columns": FACT_COLUMNS, "data": rows, "count": len(rows)}


# ============================================================================ /api/checks
checks_router = APIRouter(tags=["checks"])
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?")


@checks_router.get("/api/checks", response_model=M.ChecksResponse, responses=KEYED_ERRORS)
def checks(state: State, _official: Official,
           year: Year | None = None,
           level: Annotated[str | None, Query(description=f"one of {', '.join(LEVELS)}")] = None,
           rule: Annotated[str | None, Query(max_length=100, description="e.g. 复议诉讼合计, 勾稽关系")] = None,
           undecided: Annotated[bool, Query(description="also list checks that could not be decided")] = False
           ) -> dict:
    """Reports whose tables fail their own arithmetic (勾稽关系), with each failing rule and its numbers."""
    _check_level(level)
    with _store(state) as store:
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


# ============================================================================ /api/health
health_router = APIRouter(tags=["health"])


def _model_name(build: Path) -> str | None:
    stamp = layout.model_file(build)
    if not stamp.exists():
        return None
    first = stamp.read_text(encoding="utf-8").splitlines()[0].strip()
    return Path(first).name if "/" in first or "\\" in first else first  # never show server paths


@health_router.get("/api/health", response_model=M.Health, responses={503: {"model": M.ErrorResponse}})
def health(state: State) -> dict:
    """Status of the server and its index (never needs a key)."""
    build = layout.current_dir(state.index_dir)
    if build is None:
        return {"status": "no_index", "reports": 0, "built_at": None, "model": None, "retrieval": False,
                "ui": state.ui}
    from index.integrity import index_problem

    if index_problem(state.index_dir) is not None:
        raise sqlite3.DatabaseError("index unavailable")  # 503 index_unavailable, saying why
    with _store(state) as store:
        count = store.report_count()
        built_at = store.build_info().get("built_at")
    return {"status": "ok", "reports": count, "built_at": built_at, "model": _model_name(build),
            "retrieval": layout.bm25_dir(build).exists(), "ui": state.ui}


# ============================================================================ the app
DESCRIPTION = """Questions and figures over Chinese government information-disclosure annual reports
(政府信息公开工作年度报告).

* `POST /api/ask` and `GET /api/health` are open (ask is rate-limited per client IP).
* Every other endpoint needs an official's API key in the `X-API-Key` header
  (`scripts/api_keys.py create NAME`); requests are rate-limited per key.
* Errors are `{"error": {"code": ..., "message": ...}}`.
"""


def create_app(index_dir: str | Path, *, keys_file: str | Path | None = None,
               rate_limit: float | None = None) -> FastAPI:
    """The API over the index at ``index_dir``. ``keys_file`` defaults to $NIANBAO_API_KEYS,
    else var/api_keys.db; ``rate_limit`` (requests per minute, 0 = none) to $NIANBAO_RATE_LIMIT, else 60."""
    from .docs import add_offline_docs

    app = FastAPI(title="年报问答 API", version="1.0", description=DESCRIPTION, docs_url=None,
                  redoc_url=None, openapi_url="/api/openapi.json")
    limit = rate_limit_from_env() if rate_limit is None else rate_limit
    app.state.api = ApiState(Path(index_dir), KeyStore(keys_file), RateLimiter(limit),
                             auth_failures=RateLimiter(AUTH_FAILURES_PER_MINUTE))
    add_offline_docs(app, "/api/openapi.json")
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware)
    for router in (ask_router, search_router, reports_router, facts_router, checks_router, health_router):
        app.include_router(router)

    @app.api_route("/api/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
                   include_in_schema=False)
    def _unknown(rest: str, request: Request):
        path = f"/api/{rest}"
        allowed = sorted({m for r in api_routes(request.app) if r.path_regex.match(path)
                          and "{rest" not in r.path for m in r.methods})
        if allowed:  # the endpoint exists, not with this method
            raise ApiError(405, "method_not_allowed", f"{request.method} is not allowed on {path}: use "
                           + ", ".join(allowed), {"Allow": ", ".join(allowed)})
        raise ApiError(404, "not_found", f"no such endpoint: {request.method} {path} (see /docs)")

    return app


def api_routes(app) -> list[APIRoute]:
    """The app's API routes, those of included routers too."""
    out = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif hasattr(route, "original_router"):  # fastapi's included router
            prefix = route.include_context.prefix
            out += [r for r in route.original_router.routes if isinstance(r, APIRoute) and not prefix]
    return out


def add_root_redirect(app: FastAPI) -> None:
    """Send / to the API docs (when no web page is mounted there)."""

    @app.get("/", include_in_schema=False)
    def _root():
        return RedirectResponse("/docs")
