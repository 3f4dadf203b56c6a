"""One process serves everything: the API at /api/…, its docs at /docs and the citizens'
web page (ui.web) at /.

    python -m qa serve --index var/index [--host 127.0.0.1] [--port 8000]

    from qa.server import make_app
    app = make_app("var/index")     # e.g. uvicorn --factory, or a test

When ui/web.py is missing, / redirects to /docs and the API is served alone.
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

from .api import add_root_redirect, create_app  # noqa: E402

log = logging.getLogger("qa.server")


def make_app(index_dir: str | Path, *, keys_file: str | Path | None = None, rate_limit: float | None = None,
             with_ui: bool = True) -> FastAPI:
    """The API, with the Gradio page mounted at / when ui.web is there."""
    app = create_app(index_dir, keys_file=keys_file, rate_limit=rate_limit)
    if with_ui and importlib.util.find_spec("ui.web") is not None:
        from ui.web import mount

        app = mount(app, str(index_dir))  # with the page's own theme and CSS (system fonts, no CDN)
        app.state.api.ui = True
    else:
        add_root_redirect(app)
    return app


def serve(index_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, *,
          keys_file: str | Path | None = None, with_ui: bool = True) -> None:
    import uvicorn

    app = make_app(index_dir, keys_file=keys_file, with_ui=with_ui)
    from .answer import warm_up

    warm_up(index_dir)  # the first citizen's text question should not pay for loading
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    print(f"Serving {index_dir} on http://{shown}:{port}/  (API docs: http://{shown}:{port}/docs)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5,
                # keep idle connections longer than clients pause between requests,
                # so a client never reuses a connection the server is closing
                timeout_keep_alive=30)
