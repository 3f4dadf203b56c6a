"""The HTTP API (web.api) as served by ``python -m qa serve``: a real uvicorn process on
127.0.0.1, over a real index built from data/ and two real reports (r001: a PDF whose
复议诉讼 table fails its own arithmetic; r011: Markdown with an uncertain cell)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from index.build import build, current_dir
from web.api.keys import KeyStore

pytestmark = pytest.mark.slow  # a real index with the embedding model, or a live server

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "fixtures" / "real"
RATE_LIMIT = 30  # per minute, for the served process
TOWNSHIPS_2021_NO_APPLICATIONS = ("交岔乡", "群峰乡", "官厅镇", "大溪乡")
R001 = "r001_huaian_hongze_2023"


def _stages():
    try:
        from index.retrieval_stage import default_stages
    except ImportError:
        return None
    return default_stages()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, index_dir: Path, keys_file: Path, *extra: str, env: dict | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "NIANBAO_API_KEYS": str(keys_file), "NIANBAO_RATE_LIMIT": str(RATE_LIMIT),
               "PYTHONPATH": str(ROOT), **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve", "--index", str(index_dir), "--port", str(self.port), *extra],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180  # a guard, not a timing: gradio's import alone took 48 s at load 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited:\n" + self.process.stdout.read().decode(errors="replace"))
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start within 180 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def api_inputs(tmp_path_factory):
    inputs = tmp_path_factory.mktemp("api_inputs")
    for path in [*(ROOT / "data").glob("*.txt"), REAL / f"{R001}.pdf", REAL / "r011_shanghai_stcsm_2024.md"]:
        shutil.copy(path, inputs / path.name)
    return inputs


@pytest.fixture(scope="session")
def keys_file(tmp_path_factory):
    return tmp_path_factory.mktemp("api_keys") / "api_keys.db"


@pytest.fixture(scope="session")
def server(api_inputs, keys_file, tmp_path_factory, facts_url):
    index_dir = tmp_path_factory.mktemp("api_index")
    build(api_inputs, index_dir, progress=False, stages=_stages(), facts_url=facts_url)
    running = Server(index_dir, keys_file)
    running.index_dir = index_dir
    yield running
    running.stop()


@pytest.fixture(scope="session")
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture
def key(keys_file, request):
    """A fresh key (its own rate-limit bucket) for each test."""
    return KeyStore(keys_file).create(f"test-{request.node.name}-{time.monotonic_ns()}")


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


# ------------------------------------------------------------------ health and pages
def test_health_needs_no_key_and_reports_the_index(client):
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["reports"] == 7
    assert body["built_at"]
    assert body["retrieval"] is True and body["model"]


def test_docs_and_the_citizens_page_are_served_by_the_same_process(client):
    assert client.get("/docs").status_code == 200
    assert "/api/ask" in client.get("/api/openapi.json").json()["paths"]
    assert client.get("/", follow_redirects=True).status_code == 200


def test_unknown_api_path_is_a_json_404(client):
    assert_error(client.get("/api/no-such-thing"), 404, "not_found")


# ------------------------------------------------------------------ ask
def test_ask_lists_the_four_townships_without_applications_in_2021(client):
    r = client.post("/api/ask", json={"question": "哪些乡镇2021年没有收到政府信息公开申请？"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"answer", "citations", "facts", "intent", "warnings", "interpretation", "suggestions"}
    meaning = body["interpretation"]  # how the question was understood (issue 9)
    assert (meaning["intent"], meaning["level"], meaning["years"]) == ("list", "township", [2021])
    assert meaning["figure"]["rows"] == ["本年新收"] and meaning["condition"]["op"] == "="
    for town in TOWNSHIPS_2021_NO_APPLICATIONS:
        assert town in body["answer"]
    assert "柔远镇" not in body["answer"]  # its report covers 2020
    assert len(body["citations"]) == 4
    assert set(body["citations"][0]) == {"report_id", "title", "agency", "year", "section", "page", "quote"}


def test_ask_follow_up_question_uses_the_history(client):
    first = "哪些乡镇2021年没有收到政府信息公开申请？"
    previous = client.post("/api/ask", json={"question": first}).json()["answer"]
    r = client.post("/api/ask", json={"question": "那2020年呢？", "history": [
        {"role": "user", "content": first}, {"role": "assistant", "content": previous}]})
    assert r.status_code == 200, r.text
    assert "柔远镇" in r.json()["answer"]
    assert "交岔乡" not in r.json()["answer"]


def test_oversized_question_is_refused_with_413_and_says_the_limit(client):
    error = assert_error(client.post("/api/ask", json={"question": "交" * 2001}), 413, "question_too_long")
    assert "2000" in error["message"]


def test_oversized_request_body_is_refused_with_413(client):
    body = '{"question": "交岔乡", "history": [' + ",".join(['{"role":"user","content":"x"}'] * 20000) + "]}"
    assert_error(client.post("/api/ask", content=body, headers={"content-type": "application/json"}),
                 413, "payload_too_large")


def test_empty_or_malformed_question_is_a_422(client):
    assert_error(client.post("/api/ask", json={"question": ""}), 422)
    assert_error(client.post("/api/ask", json={"history": []}), 422)
    assert_error(client.post("/api/ask", json={"question": "x", "history": [{"role": "bot", "content": "y"}]}), 422)


def test_ask_without_key_is_allowed_but_rate_limited_per_client_ip(server, client):
    # Another loopback address is another client: its bucket empties, 127.0.0.1's does not.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=server.url, transport=transport, timeout=30) as other:
        codes = [other.post("/api/ask", json={"question": "交岔乡2021年收到多少申请？"}) for _ in range(RATE_LIMIT + 3)]
    assert codes[0].status_code == 200
    limited = [r for r in codes if r.status_code == 429]
    assert limited, "no request was rate-limited"
    assert_error(limited[0], 429, "rate_limited")
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert client.post("/api/ask", json={"question": "交岔乡2021年收到多少申请？"}).status_code == 200


# ------------------------------------------------------------------ keys
KEYED = ["/api/search?q=信息处理费", "/api/reports", f"/api/reports/{R001}", "/api/facts?figure=本年新收 总计",
         "/api/checks"]


@pytest.mark.parametrize("path", KEYED)
def test_officials_endpoints_without_a_key_are_401(client, path):
    assert_error(client.get(path), 401, "missing_api_key")


def test_unknown_key_is_401(client):
    assert_error(client.get("/api/reports", headers={"X-API-Key": "nb_000000000000_guess"}), 401, "invalid_api_key")


def test_revoked_key_is_refused_at_once(client, keys_file):
    store = KeyStore(keys_file)
    key = store.create("to-revoke")
    assert client.get("/api/reports", headers={"X-API-Key": key}).status_code == 200
    assert store.revoke("to-revoke") == 1
    assert_error(client.get("/api/reports", headers={"X-API-Key": key}), 401, "api_key_revoked")


def test_requests_with_a_key_are_rate_limited_per_key(client, key):
    codes = [client.get("/api/checks", headers={"X-API-Key": key}).status_code for _ in range(RATE_LIMIT + 3)]
    assert codes[0] == 200 and 429 in codes


def test_key_file_stores_only_hashes(keys_file, key):
    raw = keys_file.read_bytes()
    assert key.split("_", 2)[2].encode() not in raw


def test_api_keys_script_creates_lists_and_revokes(tmp_path):
    script = [sys.executable, str(ROOT / "scripts" / "api_keys.py"), "--file", str(tmp_path / "k.db")]
    created = subprocess.run([*script, "create", "统计科"], capture_output=True, text=True, check=True)
    key = created.stdout.strip()
    assert key.startswith("nb_") and KeyStore(tmp_path / "k.db").verify(key).status == "ok"
    assert "统计科" in subprocess.run([*script, "list"], capture_output=True, text=True, check=True).stdout
    assert key not in subprocess.run([*script, "list"], capture_output=True, text=True).stdout
    subprocess.run([*script, "revoke", "统计科"], check=True, capture_output=True)
    assert KeyStore(tmp_path / "k.db").verify(key).status == "revoked"


# ------------------------------------------------------------------ search
def test_search_returns_passages_with_scores_and_citations(client, key):
    r = client.get("/api/search", params={"q": "信息处理费", "k": 3}, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    body = r.json()
    assert 1 <= body["count"] == len(body["data"]) <= 3
    hit = body["data"][0]
    assert hit["score"] > 0 and hit["rank"] == 1
    assert hit["citation"]["report_id"] == hit["report_id"] and hit["citation"]["quote"]


def test_search_filters_by_agency_and_year(client, key):
    r = client.get("/api/search", params={"q": "申请", "agency": "交岔乡", "year": 2021, "k": 5},
                   headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    assert {h["report_id"] for h in r.json()["data"]} == {"000_8d3f9a9668695af1"}


def test_search_k_above_50_is_refused(client, key):
    error = assert_error(client.get("/api/search", params={"q": "申请", "k": 51}, headers={"X-API-Key": key}), 422)
    assert "50" in error["message"]


def test_search_without_a_retrieval_index_is_503(api_inputs, keys_file, tmp_path, facts_url):
    bare = tmp_path / "bare_index"
    build(api_inputs, bare, progress=False, facts_url=facts_url)  # no retrieval stage
    server = Server(bare, keys_file, "--no-ui")
    try:
        key = KeyStore(keys_file).create(f"bare-{time.monotonic_ns()}")
        r = httpx.get(server.url + "/api/search", params={"q": "申请"}, headers={"X-API-Key": key})
        assert "retrieval" in assert_error(r, 503, "search_unavailable")["message"]
        assert httpx.get(server.url + "/api/health").json()["retrieval"] is False
    finally:
        server.stop()


# ------------------------------------------------------------------ reports
def test_reports_are_filtered_and_paginated(client, key):
    h = {"X-API-Key": key}
    towns = client.get("/api/reports", params={"level": "township"}, headers=h).json()
    assert towns["count"] == 5 and len(towns["data"]) == 5
    page = client.get("/api/reports", params={"level": "township", "limit": 2, "offset": 4}, headers=h).json()
    assert page["count"] == 5 and len(page["data"]) == 1
    assert client.get("/api/reports", params={"region": "淮安"}, headers=h).json()["data"][0]["id"] == R001
    assert client.get("/api/reports", params={"year": 2020}, headers=h).json()["count"] == 1
    assert_error(client.get("/api/reports", params={"level": "village"}, headers=h), 400, "bad_request")


def test_report_detail_has_sections_tables_checks_and_source_link(client, key):
    body = client.get(f"/api/reports/{R001}", headers={"X-API-Key": key}).json()
    assert body["year"] == 2023 and body["level"] == "county"
    assert set(body["tables"]) == {"主动公开", "依申请", "复议诉讼"}
    new = [c for c in body["tables"]["依申请"] if c["row"] == "本年新收" and c["column"] == "总计"]
    assert new[0]["value"] == "21" and new[0]["page"] == 3
    assert [s["number"] for s in body["sections"]][:2] == [0, 1]
    assert any(c["rule"] == "复议诉讼合计" and c["passed"] is False for c in body["checks"])
    assert body["source_url"] == f"/api/reports/{R001}/source"


def test_report_detail_flags_blank_and_uncertain_cells(client, key):
    h = {"X-API-Key": key}
    blank = client.get("/api/reports/003_fb8decbe9b2e9cc0", headers=h).json()["tables"]["复议诉讼"]
    assert any(c["blank"] and c["value"] is None for c in blank)
    unsure = client.get("/api/reports/r011_shanghai_stcsm_2024", headers=h).json()["tables"]["依申请"]
    cell = next(c for c in unsure if c["uncertain"])
    assert cell["value"] is None and cell["candidates"]


def test_source_downloads_the_original_file(client, api_inputs):
    r = client.get(f"/api/reports/{R001}/source")
    assert r.status_code == 200
    assert r.content == (api_inputs / f"{R001}.pdf").read_bytes()
    assert r.headers["content-type"] == "application/pdf"


def _set_source_file(index_dir: Path, report_id: str, source_file: str) -> None:
    """Rewrite a stored report's file path in the served store (SQLite or PostgreSQL)."""
    from index.layout import recorded_facts

    build_dir = current_dir(index_dir)
    where = recorded_facts(build_dir)
    if where is None:
        db = sqlite3.connect(build_dir / "reports.db")
        db.execute("UPDATE reports SET source_file = ? WHERE id = ?", (source_file, report_id))
        db.commit()
        db.close()
        return
    import psycopg

    url, schema = where
    with psycopg.connect(url) as db:
        db.execute(f"UPDATE {schema}.reports SET source_file = %s WHERE id = %s", (source_file, report_id))


def test_source_outside_the_input_folder_is_refused(server, client):
    try:
        _set_source_file(server.index_dir, "004_a04ca5119211b350", "../../../etc/passwd")
        assert_error(client.get("/api/reports/004_a04ca5119211b350/source"), 403, "forbidden")
    finally:
        _set_source_file(server.index_dir, "004_a04ca5119211b350", "004_a04ca5119211b350.txt")


def test_unknown_report_id_is_404(client, key):
    assert_error(client.get("/api/reports/r999", headers={"X-API-Key": key}), 404, "not_found")
    assert_error(client.get("/api/reports/r999/source"), 404, "not_found")


# ------------------------------------------------------------------ facts
def test_facts_builds_a_sorted_table_for_a_figure_people_name(client, key):
    r = client.get("/api/facts", params={"figure": "本年新收 总计", "sort": "-value"}, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["figure"]["table"] == "依申请" and body["count"] == 7
    values = [row["value"] for row in body["data"] if row["value"] is not None]
    assert values == sorted(values, reverse=True) and values[0] == 34


def _row_key(row: dict) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False)


def test_facts_come_in_pages_that_add_up_to_the_whole_table(client, key):
    """JSON comes in pages: ``count`` is every matching row, ``next_offset`` leads to the
    next page until the last. Paging by name reads only the page's reports, paging by
    value reads them all; either way the pages, joined, are the whole table."""
    h = {"X-API-Key": key}
    tables = {}
    for sort, condition in (("name", {}), ("-year", {}), ("-value", {}), ("name", {"condition": ">", "value": 0})):
        params = {"figure": "本年新收 总计", "sort": sort, **condition}
        whole = client.get("/api/facts", params=params, headers=h).json()
        assert whole["limit"] == 1000 and whole["next_offset"] is None and whole["count"] == len(whole["data"]) >= 2
        pages, offset = [], 0
        while offset is not None:
            page = client.get("/api/facts", params={**params, "offset": offset, "limit": 2}, headers=h).json()
            assert page["count"] == whole["count"] and len(page["data"]) <= 2 and page["offset"] == offset
            pages.append(page["data"])
            offset = page["next_offset"]
        assert len(pages) == (whole["count"] + 1) // 2
        assert [row for page in pages for row in page] == whole["data"], sort
        tables[sort, bool(condition)] = whole["data"]
    by_value = tables["-value", False]  # every report's figure read, then sorted
    for sort, key in (("name", "name"), ("-year", "year")):
        rows = tables[sort, False]  # only the page's reports read
        assert sorted(rows, key=_row_key) == sorted(by_value, key=_row_key)
        keys = [r[key] for r in rows]
        assert keys == sorted(keys, reverse=sort.startswith("-")), sort
    csv_rows = list(csv.DictReader(io.StringIO(client.get("/api/facts", params={
        "figure": "本年新收 总计", "format": "csv"}, headers=h).content.decode("utf-8-sig"))))
    assert [r["report_id"] for r in csv_rows] == [r["report_id"] for r in client.get(
        "/api/facts", params={"figure": "本年新收 总计"}, headers=h).json()["data"]]  # a download is every row
    beyond = client.get("/api/facts", params={"figure": "本年新收 总计", "offset": 1000}, headers=h).json()
    assert beyond["data"] == [] and beyond["next_offset"] is None and beyond["count"] == len(csv_rows)
    for bad in ({"limit": 0}, {"limit": 10_001}, {"offset": -1}):
        assert_error(client.get("/api/facts", params={"figure": "本年新收 总计", **bad}, headers=h), 422,
                     "validation_error")


def test_facts_condition_blank_finds_printed_empty_cells(client, key):
    r = client.get("/api/facts", params={"table": "复议诉讼", "row": "行政复议", "column": "总计",
                                         "condition": "blank"}, headers={"X-API-Key": key})
    assert [row["report_id"] for row in r.json()["data"]] == ["003_fb8decbe9b2e9cc0"]
    assert r.json()["data"][0]["blank"] is True and r.json()["data"][0]["value"] is None


def test_facts_csv_download_opens_in_excel_and_parses(client, key):
    r = client.get("/api/facts", params={"figure": "本年新收 总计", "year": 2021, "level": "township",
                                         "condition": "=", "value": 0, "format": "csv"},
                   headers={"X-API-Key": key})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert sorted(row["name"] for row in rows) == sorted(TOWNSHIPS_2021_NO_APPLICATIONS)
    assert {row["value"] for row in rows} == {"0"}


def test_facts_unknown_figure_or_condition_is_400(client, key):
    h = {"X-API-Key": key}
    assert_error(client.get("/api/facts", params={"figure": "天气"}, headers=h), 400, "unknown_figure")
    assert_error(client.get("/api/facts", params={"figure": "本年新收 总计", "condition": "~"}, headers=h),
                 400, "bad_request")
    assert_error(client.get("/api/facts", params={"row": "本年新收", "column": "颜色"}, headers=h),
                 400, "unknown_figure")


# ------------------------------------------------------------------ checks
def test_checks_list_r001_with_the_failing_review_table_totals(client, key):
    body = client.get("/api/checks", headers={"X-API-Key": key}).json()
    r001 = next(r for r in body["data"] if r["report_id"] == R001)
    failure = next(f for f in r001["failures"] if f["rule"] == "复议诉讼合计")
    assert failure["scope"] == "行政复议"
    assert failure["numbers"][:2] == [10, 1] and "11 ≠ 0" in failure["detail"]
