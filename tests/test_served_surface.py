"""Issue 10: everything the server exposes, tried as an attacker or a careless operator
would. A real ``python -m qa serve`` on 127.0.0.1 over a real index (data/ and r001),
each client its own loopback address (127.0.0.x) so that rate limits do not mix.

Routes (web.limits): every route of the app is an API route with its limits, a page
asset, or one of the page's own Gradio calls under the same limits; the rest is a 404.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from index.build import build, current_dir
from web.api.keys import KeyStore

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from load_test import page_ask, page_fn_index  # noqa: E402

REAL = ROOT / "tests" / "fixtures" / "real"
R001 = "r001_huaian_hongze_2023"
JIAOCHA = "000_8d3f9a9668695af1"
RATE_LIMIT = 40  # per minute, for the served process
PROXY = "127.0.0.5"  # the one reverse proxy the main server trusts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python -m qa serve`` in its own process."""

    def __init__(self, index_dir: Path, keys_file: Path, *extra: str, rate_limit: int = RATE_LIMIT,
                 cwd: Path = ROOT, env: dict | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in {**os.environ, "NIANBAO_API_KEYS": str(keys_file),
                                 "NIANBAO_RATE_LIMIT": str(rate_limit), "PYTHONPATH": str(ROOT),
                                 **(env or {})}.items() if v is not None}  # None: unset
        self.process = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve", "--index", str(index_dir), "--port", str(self.port), *extra],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180  # a guard, not a timing: gradio's import alone took 48 s at load 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited:\n" + self.process.stdout.read().decode(errors="replace"))
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code in (200, 503):
                    return
            except httpx.TransportError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("server did not start within 180 s")

    def client(self, address: str = "127.0.0.1", **kw) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60,
                            transport=httpx.HTTPTransport(local_address=address), **kw)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _stages():
    from index.retrieval_stage import RetrievalStage

    return [RetrievalStage(dense=False)]  # BM25 answers; no model to load


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("surface_inputs")
    for path in [*(ROOT / "data").glob("*.txt"), REAL / f"{R001}.pdf"]:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="module")
def index_dir(inputs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("surface_index")
    build(inputs, folder, progress=False, stages=_stages())
    return folder


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("surface_keys") / "keys.db"
    KeyStore(path).create("setup")
    os.chmod(path, 0o644)  # as an older version left it: the server must tighten it
    return path


@pytest.fixture(scope="module")
def server(index_dir, keys_file):
    running = Server(index_dir, keys_file, "--forwarded-allow-ips", PROXY)
    yield running
    running.stop()


@pytest.fixture
def key(keys_file):
    return KeyStore(keys_file).create(f"surface-{uuid.uuid4().hex[:8]}")


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


# ------------------------------------------------------------------ routes
def _all_routes(app, prefix: str = ""):
    """(methods, path, route, mounted app) of every route, inside mounts and included routers."""
    for route in app.routes:
        if hasattr(route, "original_router"):
            yield from _all_routes(route.original_router, prefix)
        elif type(route).__name__ == "Mount":
            inner = getattr(route.app, "routes", None)
            if inner is None:  # a static-files mount: GET/HEAD of files under it
                yield ({"GET", "HEAD"}, prefix + route.path + "/x.css", route, route.app)
            else:
                yield from _all_routes(route.app, prefix + route.path.rstrip("/"))
        else:
            yield (set(getattr(route, "methods", None) or {"GET"}), prefix + route.path, route, app)


def _sample(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path) or "/"


def test_every_route_is_an_api_route_with_its_limits_or_a_page_asset(index_dir):
    """Enumerates the app's routes; fails on any reachable route that is neither an API
    route behind the rate limit (or one of the few open, fixed-cost ones) nor a page
    asset nor one of the page's queue calls, which web.limits limits like the API."""
    from fastapi.routing import APIRoute

    from web.api.deps import asker, require_key
    from web.limits import classify
    from web.server import make_app

    app = make_app(index_dir)
    open_fixed_cost = {"/api/health", "/api/openapi.json", "/docs", "/docs/assets/x.css", "/api/{rest:path}"}
    seen, bad = set(), []
    for methods, path, route, _ in _all_routes(app):
        for method in methods:
            kind = classify(method, _sample(path))
            seen.add(kind)
            if kind == "api":
                if path in open_fixed_cost:
                    continue
                deps = {d.call for d in route.dependant.dependencies} if isinstance(route, APIRoute) else set()
                if not deps & {asker, require_key}:
                    bad.append(f"{method} {path}: API route without the rate limit")
            elif kind not in ("asset", "call", "stream", "blocked"):
                bad.append(f"{method} {path}: {kind}")
    assert not bad, bad
    assert {"api", "asset", "call", "stream", "blocked"} <= seen


GRADIO_UNUSED = [("POST", "/gradio_api/upload"), ("GET", "/gradio_api/file=/etc/passwd"),
                 ("GET", "/gradio_api/file/etc/passwd"), ("POST", "/gradio_api/call/ask_and_store"),
                 ("POST", "/gradio_api/run/ask_and_store"), ("POST", "/gradio_api/api/ask_and_store"),
                 ("GET", "/gradio_api/info"), ("GET", "/gradio_api/openapi.json"), ("GET", "/monitoring"),
                 ("GET", "/monitoring/summary"), ("GET", "/gradio_api/runs"),
                 ("GET", "/gradio_api/run-history/records"), ("GET", "/config"), ("POST", "/login"),
                 ("GET", "/gradio_api/proxy=http://example.com/"), ("POST", "/gradio_api/reset"),
                 ("GET", "/gradio_api/upload_progress"), ("POST", "/gradio_api/component_server")]


@pytest.mark.parametrize("method,path", GRADIO_UNUSED)
def test_gradio_routes_the_page_does_not_use_are_not_served(server, method, path):
    with server.client() as c:
        assert_error(c.request(method, path, content=b"x" * 1000 if method == "POST" else None), 404, "not_found")


def test_upload_of_50_mb_is_refused_without_being_kept(server):
    with server.client() as c:
        r = c.post("/gradio_api/upload", files={"files": ("big.bin", b"\0" * (50 * 1024 * 1024))})
    assert_error(r, 404, "not_found")  # the route is not served at all (nor kept on disk)


def test_the_page_and_its_assets_are_served(server):
    with server.client() as c:
        page = c.get("/")
        assert page.status_code == 200 and "gradio_config" in page.text
        assets = re.findall(r'(?:src|href)="\.?(/assets/[^"]+)"', page.text)
        assert assets
        for asset in assets:
            assert c.get(asset).status_code == 200, asset
        assert c.head("/").status_code == 200


# ------------------------------------------------------------------ page calls under the API's limits
def test_page_questions_share_the_clients_rate_limit_with_the_api(server):
    with server.client("127.0.0.11") as c:
        codes = [c.post("/gradio_api/queue/join", json={"data": ["交岔乡2021年收到多少申请？", None, None, "", ""],
                                                        "fn_index": 0, "session_hash": f"s{i}"}).status_code
                 for i in range(RATE_LIMIT + 5)]
        assert codes[0] == 200 and 429 in codes, codes
        # the same client's /api/ask is out of tokens too: one budget per client
        assert_error(c.post("/api/ask", json={"question": "交岔乡2021年收到多少申请？"}), 429, "rate_limited")
    with server.client("127.0.0.12") as other:
        assert other.post("/api/ask", json={"question": "交岔乡2021年收到多少申请？"}).status_code == 200


def test_page_question_over_the_length_limit_is_413(server):
    with server.client("127.0.0.13") as c:
        r = c.post("/gradio_api/queue/join", json={"data": ["交" * 2001, None, None, "", ""], "fn_index": 0,
                                                   "session_hash": "long"})
    assert "2000" in assert_error(r, 413, "question_too_long")["message"]


@pytest.mark.parametrize("chunked", [False, True])
def test_page_body_over_256_kib_is_413(server, chunked):
    body = b'{"data": ["' + b"a" * (300 * 1024) + b'"]}'
    with server.client("127.0.0.14") as c:
        content = iter([body[i:i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
        r = c.post("/gradio_api/queue/join", content=content, headers={"content-type": "application/json"})
    assert_error(r, 413, "payload_too_large")


def test_page_history_lists_over_the_limit_are_413(server):
    with server.client("127.0.0.15") as c:
        r = c.post("/gradio_api/queue/join", json={"data": ["问", [{"role": "user", "content": "x"}] * 41, None, "", ""],
                                                   "fn_index": 0, "session_hash": "hist"})
    assert_error(r, 413, "history_too_long")


async def _ask_many(url: str, n: int) -> list:
    async with httpx.AsyncClient(base_url=url, timeout=60,
                                 transport=httpx.AsyncHTTPTransport(local_address="127.0.0.16")) as http:
        fn = page_fn_index((await http.get("/")).text)
        session = uuid.uuid4().hex[:11]
        outputs = []
        for i in range(n):
            status, data = await page_ask(http, fn, session, f"交岔乡{2021 - i % 2}年收到多少申请？")
            assert status == 200, status
            outputs.append(data)
        return outputs


def test_the_pages_conversation_keeps_at_most_20_turns(index_dir, keys_file):
    """A session asked 23 questions: its chat (2 messages a turn) stops growing at 40."""
    import asyncio

    from qa.conversation import MAX_HISTORY_TURNS

    server = Server(index_dir, keys_file, rate_limit=0)
    try:
        outputs = asyncio.run(_ask_many(server.url, MAX_HISTORY_TURNS + 3))
    finally:
        server.stop()
    chats = [next(x for x in out if isinstance(x, list)) for out in outputs]
    assert [len(c) for c in chats[:3]] == [2, 4, 6]
    assert max(len(c) for c in chats) == 2 * MAX_HISTORY_TURNS
    assert len(chats[-1]) == 2 * MAX_HISTORY_TURNS


# Loaded into the served process: records each name lookup or connection that leaves the machine.
OUTBOUND_HOOK = """
import os, sys

def _outbound(event, args):
    if event == "socket.connect":
        host = args[1][0] if isinstance(args[1], tuple) else None
    elif event == "socket.getaddrinfo":
        host = args[0]
    else:
        return
    host = host.decode(errors="replace") if isinstance(host, bytes) else host
    if host and not str(host).startswith(("127.", "::1", "localhost", "0.0.0.0")):
        with open(os.environ["NB_OUTBOUND_LOG"], "a", encoding="utf-8") as f:
            f.write(f"{event} {host}\\n")

sys.addaudithook(_outbound)
"""


def test_the_served_page_makes_no_outbound_request(index_dir, keys_file, tmp_path):
    """``python -m qa serve`` started without the gradio/hub variables in its environment
    (the serve command sets them itself: no module writes them at import any more): the
    page opened and a question asked through it, the process looked up or connected to
    nothing outside this machine."""
    import asyncio

    (tmp_path / "sitecustomize.py").write_text(OUTBOUND_HOOK, encoding="utf-8")
    log = tmp_path / "outbound.log"
    unset = dict.fromkeys(("GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY",
                           "ANONYMIZED_TELEMETRY"))
    server = Server(index_dir, keys_file, rate_limit=0,
                    env={**unset, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "NB_OUTBOUND_LOG": str(log)})
    try:
        outputs = asyncio.run(_ask_many(server.url, 1))
        time.sleep(2)  # anything sent in the background after the answer
    finally:
        server.stop()
    assert outputs and outputs[0]
    assert not log.exists(), log.read_text(encoding="utf-8")


# ------------------------------------------------------------------ client address
def test_forwarded_for_from_an_untrusted_peer_is_ignored(server):
    """Rotating X-Forwarded-For from 127.0.0.1 (uvicorn's default trust) used to pass 80 of 80."""
    with server.client("127.0.0.1") as c:
        codes = [c.get(f"/api/reports/{JIAOCHA}/source", headers={"X-Forwarded-For": f"10.0.{i // 250}.{i % 250}"}
                       ).status_code for i in range(RATE_LIMIT + 5)]
    assert 429 in codes, codes


def test_forwarded_for_from_the_named_proxy_names_the_client(server):
    with server.client(PROXY) as c:
        codes = [c.get(f"/api/reports/{JIAOCHA}/source", headers={"X-Forwarded-For": f"203.0.113.{i % 250}"}
                       ).status_code for i in range(RATE_LIMIT + 5)]
        assert set(codes) == {200}, codes  # each client has its own bucket
        same = [c.get(f"/api/reports/{JIAOCHA}/source", headers={"X-Forwarded-For": "198.51.100.7"}).status_code
                for _ in range(RATE_LIMIT + 5)]
    assert 429 in same


def test_forwarded_allow_ips_rejects_a_bad_address(index_dir):
    r = subprocess.run([sys.executable, "-m", "qa", "serve", "--index", str(index_dir), "--forwarded-allow-ips",
                        "proxy.example"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "proxy.example" in r.stderr and "Traceback" not in r.stderr


# ------------------------------------------------------------------ bad inputs -> 4xx with the envelope
@pytest.mark.parametrize("path,params", [
    ("/api/reports", {"offset": "10000000000000000000"}),
    ("/api/reports", {"year": "1e19"}),
    ("/api/checks", {"year": "1e19"}),
    ("/api/facts", {"figure": "本年新收 总计", "year": "1e19"}),
    ("/api/search", {"q": "申请", "year": "1e19", "mode": "dense"}),
    ("/api/search", {"q": "申请", "year": "1e19", "mode": "hybrid"}),
    ("/api/search", {"q": "申请", "year": "1e19"}),
    ("/api/facts", {"figure": "本年新收 总计", "condition": ">", "value": "nan"}),
    ("/api/facts", {"figure": "本年新收 总计", "condition": ">", "value": "inf"}),
    ("/api/facts", {"figure": "本年新收 总计", "condition": ">", "value": "1e400"}),
])
def test_oversized_integers_and_non_finite_numbers_are_422(server, key, path, params):
    with server.client("127.0.0.20") as c:
        r = c.get(path, params=params, headers={"X-API-Key": key})
        assert_error(r, 422, "validation_error")
        assert c.get("/api/health").status_code == 200  # the connection and the server are fine


@pytest.mark.parametrize("param", ["name", "region"])
@pytest.mark.parametrize("wildcard", ["%", "_", "\\"])
def test_like_wildcards_are_taken_literally(server, key, param, wildcard):
    with server.client("127.0.0.21") as c:
        everything = c.get("/api/reports", headers={"X-API-Key": key}).json()["count"]
        body = c.get("/api/reports", params={param: wildcard}, headers={"X-API-Key": key}).json()
        assert everything == 6 and body["count"] == 0, body
        assert c.get("/api/reports", params={param: "交岔"}, headers={"X-API-Key": key}).json()["count"] == 1


def test_csv_cells_that_would_run_as_formulas_are_neutralised(server, index_dir, key):
    db = sqlite3.connect(current_dir(index_dir) / "reports.db")
    original = db.execute("SELECT body FROM reports WHERE id = ?", (JIAOCHA,)).fetchone()[0]
    evil = {"=HYPERLINK(\"http://x\",\"点\")": "'=HYPERLINK", "+1+1": "'+1+1", "@SUM(A1)": "'@SUM",
            "-2+3": "'-2+3", "\tTAB": "'\tTAB", "\rCR": "'\rCR"}
    try:
        for text, expected in evil.items():
            db.execute("UPDATE reports SET body = ? WHERE id = ?", (text, JIAOCHA))
            db.commit()
            time.sleep(0.01)  # the catalog cache keys on the file's mtime
            with server.client("127.0.0.22") as c:
                r = c.get("/api/facts", params={"figure": "本年新收 总计", "format": "csv"}, headers={"X-API-Key": key})
            assert r.status_code == 200, r.text
            rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
            agency = next(row["agency"] for row in rows if row["report_id"] == JIAOCHA)
            assert agency.startswith(expected), (text, agency)
            assert all(not row["value"].startswith("'") for row in rows)  # numbers stay numbers
    finally:
        db.execute("UPDATE reports SET body = ? WHERE id = ?", (original, JIAOCHA))
        db.commit()
        db.close()


def test_csv_safe_keeps_plain_negative_numbers():
    from web.api.facts import csv_safe

    assert csv_safe("-3") == "-3" and csv_safe("-3.5") == "-3.5"
    assert csv_safe("-3+cmd") == "'-3+cmd" and csv_safe("正常文本") == "正常文本"


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/no/such/page", 404), ("GET", "/api/no-such-thing", 404), ("GET", "/assets/none.js", 404),
    ("GET", "/api/ask", 405), ("DELETE", "/api/health", 405), ("PUT", "/api/reports", 405),
    ("POST", "/", 404), ("OPTIONS", "/api/ask", 405), ("OPTIONS", "/", 405),
])
def test_every_error_has_the_one_envelope(server, method, path, status):
    with server.client("127.0.0.23") as c:
        assert_error(c.request(method, path), status)


@pytest.mark.parametrize("path", ["/no/such/page", "/api/no-such-thing", "/api/ask"])
def test_head_errors_are_json_without_a_body(server, path):
    with server.client("127.0.0.23") as c:
        r = c.head(path)
    assert r.status_code in (404, 405) and r.headers["content-type"].startswith("application/json")
    assert r.content == b""


# ------------------------------------------------------------------ headers, CORS, docs
@pytest.mark.parametrize("method,path", [("GET", "/"), ("GET", "/api/health"), ("GET", "/docs"),
                                         ("GET", "/docs/assets/swagger-ui.css"), ("GET", "/nothing"),
                                         ("GET", f"/api/reports/{R001}/source"), ("POST", "/api/ask"),
                                         ("GET", "/api/openapi.json")])
def test_security_headers_on_every_response(server, method, path):
    with server.client("127.0.0.24") as c:
        r = c.request(method, path, headers={"Origin": "http://localhost:9999"})
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert not [h for h in r.headers if h.lower().startswith("access-control-")]


def test_no_credentialed_cross_origin_preflight(server):
    with server.client("127.0.0.24") as c:
        r = c.options("/api/ask", headers={"Origin": "http://localhost:9999", "Access-Control-Request-Method": "POST",
                                           "Access-Control-Request-Headers": "x-api-key"})
    assert_error(r, 405)
    assert "access-control-allow-origin" not in r.headers and "access-control-allow-credentials" not in r.headers


def test_docs_load_swagger_ui_from_this_server_only(server):
    with server.client("127.0.0.25") as c:
        page = c.get("/docs").text
        urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page)
        assert urls and not [u for u in urls if "//" in u], urls
        for u in urls:
            assert c.get(u).status_code == 200, u


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian chromium not installed")
def test_docs_render_in_a_browser_with_no_network(server):
    from playwright.sync_api import sync_playwright

    outside = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page()

        def route(r):
            if r.request.url.startswith(server.url):
                return r.continue_()
            outside.append(r.request.url)
            return r.abort()

        page.route("**/*", route)
        page.goto(server.url + "/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
        title = page.inner_text(".swagger-ui .info .title")
        ops = page.locator(".opblock-summary-path").all_inner_texts()
        browser.close()
    assert "年报问答" in title
    assert "/api/ask" in ops
    assert outside == []


# ------------------------------------------------------------------ keys
def test_key_file_is_made_mode_600(server, keys_file):
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600


def test_new_key_file_and_one_made_644_are_600_after_create(tmp_path):
    path = tmp_path / "k.db"
    store = KeyStore(path)
    store.create("a")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o644)
    store.create("b")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_repeated_wrong_keys_from_one_client_are_throttled(server, key):
    with server.client("127.0.0.26") as c:
        codes = [c.get("/api/reports", headers={"X-API-Key": f"nb_{i:012d}_guess"}).status_code for i in range(15)]
        assert codes[:10] == [401] * 10 and codes[-1] == 429, codes
        assert_error(c.get("/api/reports", headers={"X-API-Key": "nb_000000000000_guess"}), 429, "too_many_failed_keys")
    with server.client("127.0.0.27") as other:
        assert other.get("/api/reports", headers={"X-API-Key": key}).status_code == 200


@pytest.mark.parametrize("broken", ["directory", "garbage"])
def test_unopenable_key_file_is_503_not_500(index_dir, tmp_path, broken):
    keys = tmp_path / "keys.db"
    if broken == "directory":
        keys.mkdir()
    else:
        keys.write_bytes(b"this is not a database" * 100)
    server = Server(index_dir, keys, "--no-ui")
    try:
        r = httpx.get(server.url + "/api/reports", headers={"X-API-Key": "nb_000000000000_secret"})
        assert "key file" in assert_error(r, 503, "keys_unavailable")["message"]
        assert httpx.post(server.url + "/api/ask", json={"question": "交岔乡2021年收到多少申请？"}).status_code == 200
    finally:
        server.stop()


# ------------------------------------------------------------------ broken index
@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing"])
def test_broken_index_at_start_is_one_clear_line(index_dir, tmp_path, damage):
    copy = tmp_path / "index"
    shutil.copytree(current_dir(index_dir), copy / "builds" / "b1")
    (copy / "current").symlink_to("builds/b1")
    _damage(copy / "builds" / "b1" / "reports.db", damage)
    r = subprocess.run([sys.executable, "-m", "qa", "serve", "--index", str(copy), "--no-ui"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot serve"), r.stderr
    assert "reports.db" in lines[0]


def _damage(db: Path, how: str) -> None:
    if how == "missing":
        db.unlink()
    elif how == "truncated":
        data = db.read_bytes()
        db.write_bytes(data[: len(data) // 3])
    else:
        db.write_bytes(b"\0garbage" * 4096)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing"])
def test_index_broken_while_serving_is_503_and_health_says_why(index_dir, keys_file, tmp_path, damage):
    copy = tmp_path / "index"
    shutil.copytree(current_dir(index_dir), copy / "builds" / "b1")
    (copy / "current").symlink_to("builds/b1")
    server = Server(copy, keys_file, "--no-ui")
    try:
        key = KeyStore(keys_file).create(f"broken-{damage}-{uuid.uuid4().hex[:6]}")
        assert httpx.get(server.url + "/api/health").status_code == 200
        _damage(copy / "builds" / "b1" / "reports.db", damage)
        health = httpx.get(server.url + "/api/health")
        assert "reports.db" in assert_error(health, 503, "index_unavailable")["message"]
        for r in (httpx.get(server.url + "/api/reports", headers={"X-API-Key": key}),
                  httpx.get(server.url + "/api/checks", headers={"X-API-Key": key}),
                  httpx.get(server.url + f"/api/reports/{JIAOCHA}", headers={"X-API-Key": key}),
                  httpx.get(server.url + "/api/facts", params={"figure": "本年新收 总计"}, headers={"X-API-Key": key}),
                  httpx.post(server.url + "/api/ask", json={"question": "交岔乡2021年收到多少申请？"})):
            assert_error(r, 503, "index_unavailable")
    finally:
        server.stop()


def test_original_files_are_served_sandboxed(server):
    """A report's own HTML, served from this origin, must not run as part of the site."""
    with server.client("127.0.0.24") as c:
        r = c.get(f"/api/reports/{JIAOCHA}/source")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "sandbox" in csp and "frame-ancestors 'none'" in csp
