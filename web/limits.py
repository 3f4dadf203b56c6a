"""What the server answers outside /api: the web page's assets and the few Gradio routes
the page uses, each under the API's limits; everything else Gradio would serve is a 404.

    from web.limits import PageGate, classify
    app.add_middleware(PageGate, limiter=app.state.api.limiter)

Classes of request (``classify(method, path)``):

- ``api``: /api/… and /docs: FastAPI's routes, with their own limits (web.api).
- ``asset``: GET/HEAD of the page and its static files (/, /assets/…, /static/…,
  /theme.css, /favicon.ico, /robots.txt): files, no code runs per request.
- ``call``: POST /gradio_api/queue/join, the page's only way to run code (ask, browse,
  load). One token of the client's rate-limit bucket (the same bucket as /api/ask), a
  body ≤ MAX_BODY_BYTES, every string in it ≤ MAX_QUESTION_CHARS (413
  ``question_too_long``) and every list ≤ MAX_HISTORY_TURNS × 2 items.
- ``stream``: GET /gradio_api/queue/data and /gradio_api/heartbeat/… (the page's event
  streams), and GET/HEAD /source/{id} (a report opened at the cited place,
  web.source_view): one token each, no body.
- ``blocked``: the rest, e.g. /gradio_api/upload, /gradio_api/file=…, /gradio_api/call/…,
  /gradio_api/run/…, /gradio_api/info, /monitoring, /gradio_api/runs: 404 (measured:
  the page in a real browser asks for nothing else, tests/test_served_surface.py).

The page keeps the conversation in server-side state; ``qa.conversation.trim_history``
caps it at MAX_HISTORY_TURNS questions as /api/ask does.
"""

from __future__ import annotations

import json
import re

from qa.conversation import MAX_HISTORY_TURNS, MAX_MESSAGES
from qa.understand import MAX_QUESTION_CHARS

from .api.body import MAX_BODY_BYTES
from .api.errors import ApiError, error_response
from .api.ratelimit import RateLimiter

_ASSET = re.compile(r"^/(?:|assets/[\w.\-]+|static/[\w.\-/]+|theme\.css|favicon\.ico|robots\.txt)$")
_STREAM = re.compile(r"^/gradio_api/(?:queue/data|heartbeat/[\w\-]+)$")
_SOURCE = re.compile(r"^/source/[^/]+$")  # web.source_view
CALL = "/gradio_api/queue/join"
MAX_LIST_ITEMS = MAX_MESSAGES  # a chat of N turns is 2N messages


def classify(method: str, path: str) -> str:
    """'api', 'asset', 'call', 'stream' or 'blocked' (see the module doc)."""
    if path == "/api" or path.startswith("/api/") or path == "/docs" or path.startswith("/docs/"):
        return "api"
    if method in ("GET", "HEAD") and _ASSET.match(path) and ".." not in path:
        return "asset"
    if method == "POST" and path == CALL:
        return "call"
    if method == "GET" and _STREAM.match(path):
        return "stream"
    if method in ("GET", "HEAD") and _SOURCE.match(path):
        return "stream"
    return "blocked"


def client_of(scope) -> str:
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"


def check_call_body(body: bytes) -> None:
    """ApiError unless a queue/join body is JSON whose strings and lists are within limits."""
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        raise ApiError(400, "bad_request", "the request body is not JSON")

    def walk(value, depth: int = 0) -> None:
        if depth > 20:
            raise ApiError(422, "validation_error", "the request body is nested too deeply")
        if isinstance(value, str) and len(value) > MAX_QUESTION_CHARS:
            raise ApiError(413, "question_too_long",
                           f"question is {len(value)} characters; the limit is {MAX_QUESTION_CHARS} "
                           f"(问题过长，上限 {MAX_QUESTION_CHARS} 字)")
        if isinstance(value, list):
            if len(value) > MAX_LIST_ITEMS:
                raise ApiError(413, "history_too_long",
                               f"{len(value)} items; the conversation limit is {MAX_HISTORY_TURNS} turns")
            for item in value:
                walk(item, depth + 1)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item, depth + 1)

    walk(payload)


class PageGate:
    """ASGI middleware: serve api/asset requests as they are, put call/stream requests
    under the rate limit and body limits, answer blocked ones 404."""

    def __init__(self, app, limiter: RateLimiter, body_limit: int = MAX_BODY_BYTES):
        self.app, self.limiter, self.body_limit = app, limiter, body_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        kind = classify(scope["method"], scope["path"])
        if kind in ("api", "asset"):
            return await self.app(scope, receive, send)
        try:
            if kind == "blocked":
                raise ApiError(404, "not_found", f"no such page: {scope['method']} {scope['path']}")
            wait = self.limiter.take(client_of(scope))
            if wait > 0:
                raise ApiError(429, "rate_limited",
                               f"too many requests: the limit is {self.limiter.capacity:g} per minute; "
                               f"retry in {wait:.1f} s", {"Retry-After": str(max(1, round(wait + 0.5)))})
            body = await self._read_body(scope, receive)
            if kind == "stream" and body:
                raise ApiError(400, "bad_request", "this request takes no body")
            if kind == "call":
                check_call_body(body)
        except ApiError as error:
            return await error_response(error.status, error.code, error.message, error.headers)(scope, receive, send)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _read_body(self, scope, receive) -> bytes:
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                if int(length) > self.body_limit:
                    raise ApiError(413, "payload_too_large", f"request body larger than {self.body_limit} bytes")
            except ValueError:
                raise ApiError(400, "bad_request", "bad Content-Length")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.body_limit:
                raise ApiError(413, "payload_too_large", f"request body larger than {self.body_limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)
