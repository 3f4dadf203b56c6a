"""/docs from files on this machine: Swagger UI's script, styles and icon come from the
``fastapi-offline`` package (Swagger UI 5, which reads FastAPI's OpenAPI 3.1), served at
/docs/assets/…; FastAPI's default page loads them from a CDN and is blank offline.

    from web.docs import add_offline_docs
    add_offline_docs(app, openapi_url="/api/openapi.json")
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"


def swagger_assets_dir() -> Path:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the fastapi-offline package (Swagger UI files for /docs) is not installed")
    return Path(spec.submodule_search_locations[0]) / "static"


def add_offline_docs(app: FastAPI, openapi_url: str, title: str | None = None) -> None:
    """GET /docs (Swagger UI) and its assets under /docs/assets; the app must be made with
    ``docs_url=None``."""
    app.mount(ASSETS, StaticFiles(directory=swagger_assets_dir()), name="docs-assets")
    page = get_swagger_ui_html(
        openapi_url=openapi_url, title=(title or app.title) + " — docs",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
        # no badge fetched from the online validator
        swagger_ui_parameters={"validatorUrl": None})

    @app.get("/docs", include_in_schema=False)
    def _docs() -> HTMLResponse:
        return page
