"""One process serves everything: the API at /api/…, its docs at /docs, the citizens'
web page (ui.web) at / and its source view at /source/{id} (web.source_view). This is the top layer: it assembles the API (web.api), the page
(ui.web) and the hardening (web.limits, web.security) from the layers below.

    python -m qa serve --index var/index [--host 127.0.0.1] [--port 8000] [--forwarded-allow-ips IPS]

    from index.settings import Settings
    from web.server import make_app
    app = make_app("var/index", Settings.from_env())    # e.g. uvicorn --factory, or a test

When ui/web.py is missing, / redirects to /docs and the API is served alone. Nothing here
reads or writes the environment: ``python -m qa serve`` (the edge) reads the settings and
turns off gradio's analytics and the hub's downloads before gradio is imported.

Around every route (``harden``): web.limits.PageGate (only the page's own Gradio routes,
under the API's rate limit and body limits), web.security.Hardening (security headers, no
CORS, one error envelope) and, only for ``--forwarded-allow-ips``, the proxy headers.
uvicorn's own proxy-header handling is off: by default it trusts X-Forwarded-For from
127.0.0.1, which let any local client pick its own rate-limit bucket.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from fastapi import FastAPI

from index.settings import Settings

from .api.app import add_root_redirect, create_app, with_overrides
from .api.body import BodyLimitMiddleware
from . import source_view
from .limits import PageGate
from .security import Hardening, trusted_proxies

log = logging.getLogger("web.server")


def make_app(index_dir: str | Path, settings: Settings | None = None, *, keys_file: str | Path | None = None,
             rate_limit: float | None = None, with_ui: bool = True, forwarded_allow_ips: str | None = None) -> FastAPI:
    """The API, with the Gradio page mounted at / when ui.web is there, hardened.
    ``settings`` default to ``Settings()``; ``keys_file``/``rate_limit`` override theirs.
    ``forwarded_allow_ips``: proxies (comma-separated addresses or networks) whose
    X-Forwarded-For names the client; default none."""
    proxies = trusted_proxies(forwarded_allow_ips)
    app = create_app(index_dir, with_overrides(settings, keys_file, rate_limit))
    app.include_router(source_view.router)  # before the page's mount at '/', which takes every path
    if with_ui and importlib.util.find_spec("ui.web") is not None:
        from ui.web import mount

        app = mount(app, str(index_dir))  # with the page's own theme and CSS (system fonts, no CDN)
        app.state.api.ui = True
    else:
        add_root_redirect(app)
    harden(app, proxies)
    return app


def harden(app: FastAPI, proxies: list[str]) -> None:
    """The middleware every request passes, outermost last."""
    app.state.api.keys.secure()  # a key file made by an older version may be 644
    app.add_middleware(BodyLimitMiddleware, prefix="/")  # the page's routes too
    app.add_middleware(PageGate, limiter=app.state.api.limiter)
    app.add_middleware(Hardening)
    if proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)


def serve(index_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, *, settings: Settings | None = None,
          with_ui: bool = True, forwarded_allow_ips: str | None = None) -> None:
    import uvicorn

    app = make_app(index_dir, settings, with_ui=with_ui, forwarded_allow_ips=forwarded_allow_ips)
    from qa.answer import warm_up

    warm_up(index_dir)  # the first citizen's text question should not pay for loading
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    print(f"Serving {index_dir} on http://{shown}:{port}/  (API docs: http://{shown}:{port}/docs)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5,
                # keep idle connections longer than clients pause between requests,
                # so a client never reuses a connection the server is closing
                timeout_keep_alive=30,
                proxy_headers=False)  # make_app decides whom to trust (--forwarded-allow-ips)
