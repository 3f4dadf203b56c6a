"""The HTTP API, assembled: ``create_app(index_dir, settings) -> FastAPI``.

    from index.settings import Settings
    from web.api.app import create_app
    app = create_app("var/index", Settings.from_env())   # web.server adds the page and the hardening

Routes (all JSON; every error is ``{"error": {"code", "message"}}``, web.api.errors):

==========================  =========  ==========================================================
``POST /api/ask``           open       answer a question (same JSON as ``python -m qa ask --json``),
                                       rate-limited per client IP (or per key when one is sent)
``GET /api/search``         key        passages with scores and citations (qa.retrieve.search)
``GET /api/reports``        key        reports, filtered and paginated (``data`` + ``count``)
``GET /api/reports/{id}``   key        metadata, sections, the three tables, check results
``GET /api/reports/{id}/source``  open  the original file, served only from the build's input folder
``GET /api/facts``          key        one figure across reports, filtered and sorted; ``format=csv``
``GET /api/checks``         key        reports whose tables fail their own arithmetic
``POST /api/feedback``      open       a reader's verdict on an answer (有用/有误 + comment),
                                       rate-limited like /api/ask (index.feedback)
``GET /api/feedback``       key        readers' verdicts, newest first (``verdict=wrong``)
``GET /api/health``         open       status, report count, build time, model
==========================  =========  ==========================================================

One module per resource (``ask``, ``search``, ``reports``, ``facts``, ``checks``,
``feedback``, ``health``), each an ``APIRouter`` with its prefix; what they ask for in their
signatures is in ``deps`` (State, Official, Asker); ``keys`` is the key store,
``ratelimit`` the token buckets, ``body`` the body-size limit, ``models`` the shapes.

Errors also: 405 for a method an endpoint does not have, 503 ``index_unavailable`` when the
served reports.db is missing or damaged (``/api/health`` says why), 503 ``keys_unavailable``
when the key file cannot be read, 429 ``too_many_failed_keys`` after
AUTH_FAILURES_PER_MINUTE wrong keys from one client. web.server adds what every route
gets (web.limits, web.security).

API keys (``X-API-Key`` header) live in a SQLite file (``Settings.api_keys``), managed with
``scripts/api_keys.py``; only a salted SHA-256 of each key's secret is stored. Every
request with a key, and every anonymous ``/api/ask`` or ``/source``, takes a token from an
in-memory bucket (``Settings.rate_limit`` requests per minute, 0 = off).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from index.settings import Settings

from ..docs import add_offline_docs
from . import ask, checks, facts, feedback, health, reports, search
from .body import BodyLimitMiddleware
from .deps import ApiState
from .errors import ApiError, install_error_handlers
from .keys import KeyStore
from .ratelimit import AUTH_FAILURES_PER_MINUTE, RateLimiter

ROUTERS = (ask.router, search.router, reports.router, facts.router, checks.router, feedback.router, health.router)


DESCRIPTION = """Questions and figures over Chinese government information-disclosure annual reports
(政府信息公开工作年度报告).

* `POST /api/ask`, `POST /api/feedback` and `GET /api/health` are open (ask and feedback are
  rate-limited per client IP).
* Every other endpoint needs an official's API key in the `X-API-Key` header
  (`scripts/api_keys.py create NAME`); requests are rate-limited per key.
* Errors are `{"error": {"code": ..., "message": ...}}`.
"""


def create_app(index_dir: str | Path, settings: Settings | None = None, *,
               keys_file: str | Path | None = None, rate_limit: float | None = None) -> FastAPI:
    """The API over the index at ``index_dir`` with ``settings`` (default: ``Settings()``,
    nothing read from the environment). ``keys_file`` and ``rate_limit`` override the
    settings' ``api_keys`` and ``rate_limit``."""
    settings = with_overrides(settings, keys_file, rate_limit)
    app = FastAPI(title="年报问答 API", version="1.0", description=DESCRIPTION, docs_url=None,
                  redoc_url=None, openapi_url="/api/openapi.json")
    app.state.api = ApiState(Path(index_dir), KeyStore(settings.api_keys), RateLimiter(settings.rate_limit),
                             auth_failures=RateLimiter(AUTH_FAILURES_PER_MINUTE), settings=settings)
    add_offline_docs(app, "/api/openapi.json")
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware)
    for router in ROUTERS:
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


def with_overrides(settings: Settings | None, keys_file: str | Path | None = None,
                   rate_limit: float | None = None) -> Settings:
    """``settings`` (default ``Settings()``) with the key file and rate limit given, if any."""
    settings = settings or Settings()
    changes = {}
    if keys_file is not None:
        changes["api_keys"] = Path(keys_file)
    if rate_limit is not None:
        changes["rate_limit"] = float(rate_limit)
    return dataclasses.replace(settings, **changes) if changes else settings


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
