"""413 for request bodies larger than MAX_BODY_BYTES, before anything reads them.

    app.add_middleware(BodyLimitMiddleware)               # /api/* (web.api.app)
    app.add_middleware(BodyLimitMiddleware, prefix="/")   # every route (web.server)
"""

from __future__ import annotations

from .errors import error_response

MAX_BODY_BYTES = 256 * 1024  # request bodies of /api/* above this get 413


class BodyLimitMiddleware:
    """413 for request bodies to ``prefix``… larger than ``limit`` bytes, before anything reads them."""

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
