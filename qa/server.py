"""One process serves everything: the API at /api/…, its docs at /docs and the citizens'
web page (ui.web) at /.

    python -m qa serve --index var/index [--host 127.0.0.1] [--port 8000] [--forwarded-allow-ips IPS]

    from qa.server import make_app
    app = make_app("var/index")     # e.g. uvicorn --factory, or a test

When ui/web.py is missing, / redirects to /docs and the API is served alone.

Around every route (``harden``): qa.limits.PageGate (only the page's own Gradio routes,
under the API's rate limit and body limits), qa.security.Hardening (security headers, no
CORS, one error envelope) and, only for ``--forwarded-allow-ips``, the proxy headers.
uvicorn's own proxy-header handling is off: by default it trusts X-Forwarded-For from
127.0.0.1, which let any local client pick its own rate-limit bucket.
"""

from __future__ import annotations

import os

# Before anything imports gradio or huggingface_hub: no analytics, no downloads, no telemetry.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import importlib.util  # noqa: E402
import logging  # noqa: E402
from pathlib import Path  # noqa: E402

from fastapi import FastAPI  # noqa: E402

from .api import BodyLimitMiddleware, add_root_redirect, create_app  # noqa: E402
from .limits import PageGate  # noqa: E402
from .security import Hardening, trusted_proxies  # noqa: E402

log = logging.getLogger("qa.server")


def make_app(index_dir: str | Path, *, keys_file: str | Path | None = None, rate_limit: float | None = None,
             with_ui: bool = True, forwarded_allow_ips: str | None = None) -> FastAPI:
    """The API, with the Gradio page mounted at / when ui.web is there, hardened.
    ``forwarded_allow_ips``: proxies (comma-separated addresses or networks) whose
    X-Forwarded-For names the client; default none."""
    proxies = trusted_proxies(forwarded_allow_ips)
    app = create_app(index_dir, keys_file=keys_file, rate_limit=rate_limit)
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


def serve(index_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, *,
          keys_file: str | Path | None = None, with_ui: bool = True, forwarded_allow_ips: str | None = None) -> None:
    import uvicorn

    app = make_app(index_dir, keys_file=keys_file, with_ui=with_ui, forwarded_allow_ips=forwarded_allow_ips)
    from .answer import warm_up

    warm_up(index_dir)  # the first citizen's text question should not pay for loading
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    print(f"Serving {index_dir} on http://{shown}:{port}/  (API docs: http://{shown}:{port}/docs)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5,
                # keep idle connections longer than clients pause between requests,
                # so a client never reuses a connection the server is closing
                timeout_keep_alive=30,
                proxy_headers=False)  # make_app decides whom to trust (--forwarded-allow-ips)
