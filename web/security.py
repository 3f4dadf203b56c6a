"""What every response of the server gets, whichever route (API, docs, page) made it.

    from web.security import Hardening, trusted_proxies
    app.add_middleware(Hardening)

- Security headers: ``X-Content-Type-Options: nosniff``, ``Content-Security-Policy:
  frame-ancestors 'none'`` (and ``X-Frame-Options: DENY`` for old browsers),
  ``Referrer-Policy: no-referrer``.
- No cross-origin access: ``Access-Control-*`` headers are dropped from every response
  (Gradio's CORS middleware grants any localhost origin with credentials) and a CORS
  preflight (``OPTIONS``) is a 405 like any other method the route does not have. The
  page and the docs are same-origin and need none.
- One error shape: every 4xx/5xx body is ``{"error": {"code", "message"}}`` (Gradio's
  and Starlette's ``{"detail": …}`` and plain-text errors are rewritten; HEAD gets the
  headers only), and an exception nobody caught is a 500 in that shape, with the headers.
- Client addresses: ``trusted_proxies`` parses ``--forwarded-allow-ips``; web.server puts
  uvicorn's ProxyHeadersMiddleware around the app with that list only (default: none,
  so ``X-Forwarded-For`` is ignored and every client is its TCP peer).
"""

from __future__ import annotations

import ipaddress
import json
import logging

from .api.errors import STATUS_CODES, error_response

log = logging.getLogger("web.security")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
FRAME_ANCESTORS = b"frame-ancestors 'none'"
MAX_ERROR_BODY = 64 * 1024  # error bodies are small; a larger one is replaced unread


def _with_security_headers(headers: list) -> list:
    out = [(k, v) for k, v in headers
           if not k.lower().startswith(b"access-control-")
           and k.lower() not in {h for h, _ in SECURITY_HEADERS}]
    out += SECURITY_HEADERS
    csp = [i for i, (k, _) in enumerate(out) if k.lower() == b"content-security-policy"]
    if csp:
        i = csp[0]
        if b"frame-ancestors" not in out[i][1]:
            out[i] = (out[i][0], out[i][1] + b"; " + FRAME_ANCESTORS)
    else:
        out.append((b"content-security-policy", FRAME_ANCESTORS))
    return out


def _is_envelope(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return (isinstance(data, dict) and set(data) == {"error"} and isinstance(data["error"], dict)
            and set(data["error"]) == {"code", "message"})


def _message_of(body: bytes, status: int, scope) -> str:
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        detail = body.decode("utf-8", "replace").strip()[:300] if body else None
    if status == 404:
        return f"no such page: {scope['method']} {scope['path']}"
    if status == 405:
        return f"method {scope['method']} is not allowed on {scope['path']}"
    if isinstance(detail, str) and detail:
        return detail
    return json.dumps(detail, ensure_ascii=False)[:300] if detail else f"HTTP {status}"


class Hardening:
    """ASGI middleware: security headers, no CORS, one error envelope (see the module doc)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["method"] == "OPTIONS":
            return await self._error(scope, receive, send, 405, "method_not_allowed",
                                     f"method OPTIONS is not allowed on {scope['path']}")
        state = {"start": None, "buffer": [], "size": 0, "started": False}

        async def wrapped_send(message):
            if state.get("drop"):
                return  # the rest of an over-long error body already replaced
            if message["type"] == "http.response.start":
                headers = _with_security_headers(list(message.get("headers") or []))
                if message["status"] >= 400:
                    state["start"] = dict(message, headers=headers)  # held until the body is known
                    return
                state["started"] = True
                return await send(dict(message, headers=headers))
            if message["type"] == "http.response.body" and state["start"] is not None:
                state["buffer"].append(message.get("body", b""))
                state["size"] += len(state["buffer"][-1])
                if message.get("more_body") and state["size"] <= MAX_ERROR_BODY:
                    return
                start, state["start"] = state["start"], None
                body = b"".join(state["buffer"])
                state["started"] = True
                if message.get("more_body") or not _is_envelope(body):
                    state["drop"] = bool(message.get("more_body"))
                    return await self._rewrite(scope, send, start, body, closing=not message.get("more_body"))
                await send(start)
                return await send({"type": "http.response.body", "body": body})
            if state["started"] or message["type"] != "http.response.body":
                return await send(message)

        try:
            await self.app(scope, receive, wrapped_send)
        except Exception as error:  # noqa: BLE001 - the last place to turn it into a response
            status, code, message = _unexpected(scope, error)
            if status == 500:
                log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not state["started"]:
                await self._error(scope, receive, send, status, code, message)

    async def _rewrite(self, scope, send, start, body: bytes, closing: bool) -> None:
        status = start["status"]
        message = _message_of(body if closing else b"", status, scope)
        code = STATUS_CODES.get(status, "error")
        kept = [(k, v) for k, v in start["headers"]
                if k.lower() not in (b"content-length", b"content-type", b"content-encoding")]
        payload = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode()
        headers = kept + [(b"content-type", b"application/json"),
                          (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else payload})
        # a longer body still being streamed by the app is dropped (more_body messages are ignored)

    async def _error(self, scope, receive, send, status, code, message) -> None:
        response = error_response(status, code, message)
        if status == 405:
            response.headers["Allow"] = "GET, HEAD, POST"

        async def headers_send(msg):
            if msg["type"] == "http.response.start":
                msg = dict(msg, headers=_with_security_headers(list(msg.get("headers") or [])))
            if msg["type"] == "http.response.body" and scope["method"] == "HEAD":
                msg = dict(msg, body=b"")
            await send(msg)

        await response(scope, receive, headers_send)


def _unexpected(scope, error: Exception) -> tuple[int, str, str]:
    """An exception nobody handled: 503 ``index_unavailable`` when the served index is
    broken (a file removed or damaged under the server), else 500."""
    api = getattr(getattr(scope.get("app"), "state", None), "api", None)
    if api is not None:
        from index.integrity import index_problem

        problem = index_problem(api.index_dir)
        if problem:
            return 503, "index_unavailable", problem
    return 500, "internal_error", f"internal error ({type(error).__name__}); see the server log"


def trusted_proxies(value: str | None) -> list[str]:
    """The addresses or networks of ``--forwarded-allow-ips`` ("" or None: none); ValueError
    names the entry that is neither. ``*`` trusts every peer (only behind a proxy that
    is the sole way in)."""
    out = []
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        if part != "*":
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"--forwarded-allow-ips: {part!r} is not an IP address or network")
        out.append(part)
    return out
