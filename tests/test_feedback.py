"""Readers' verdicts on answers (issue 11): index.feedback's file, scripts/feedback.py and
/api/feedback on a real server (``python -m qa serve``) over a real index of data/."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from index.build import build
from index.feedback import (MAX_COMMENT_CHARS, FeedbackError, FeedbackStore, record_feedback)
from index.layout import builds_dir
from index.served import open_index
from index.settings import Settings
from test_api import Server, assert_error
from web.api.keys import KeyStore

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "feedback.py"
QUESTION = "交岔乡2021年收到多少申请？"
ANSWER = "彭阳县交岔乡2021年本年新收政府信息公开申请为 0 件。"


@pytest.fixture(scope="module")
def samples_index(tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("feedback_index")
    build(ROOT / "data", index_dir, progress=False)
    return index_dir


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


# ------------------------------------------------------------------ the file
def test_record_feedback_keeps_question_answer_verdict_comment_and_build(tmp_path):
    settings = Settings(feedback=tmp_path / "var" / "feedback.db")
    first = record_feedback(settings, QUESTION, ANSWER, "有误", "正文说收到 2 件", "20261203T162258_2b1f5c")
    second = record_feedback(settings.feedback, "平潭2024年收到多少申请？", "…218 件。", "有用", None, "")
    assert second == first + 1
    rows, count = FeedbackStore(settings.feedback).list()
    assert count == 2 and [r["id"] for r in rows] == [second, first]  # newest first
    row = rows[1]
    assert (row["question"], row["answer"], row["verdict"], row["comment"], row["build"]) == \
        (QUESTION, ANSWER, "wrong", "正文说收到 2 件", "20261203T162258_2b1f5c")
    assert time.strptime(row["created_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert rows[0]["verdict"] == "useful" and rows[0]["comment"] == ""
    assert FeedbackStore(settings.feedback).list(verdict="有误")[1] == 1
    assert (settings.feedback.stat().st_mode & 0o777) == 0o600  # readers' words, staff only


@pytest.mark.parametrize("question, verdict, comment, message", [
    ("", "有用", "", "question: empty"),
    (QUESTION, "好", "", "verdict: '好' is not one of useful, wrong, 有用, 有误"),
    (QUESTION, "有误", "很" * (MAX_COMMENT_CHARS + 1), f"comment: {MAX_COMMENT_CHARS + 1} characters, at most"),
])
def test_feedback_that_cannot_be_taken_is_refused_with_the_field(tmp_path, question, verdict, comment, message):
    with pytest.raises(FeedbackError, match=message):
        record_feedback(tmp_path / "feedback.db", question, ANSWER, verdict, comment, "")
    assert FeedbackStore(tmp_path / "feedback.db").list() == ([], 0)


def test_a_very_long_answer_is_kept_cut(tmp_path):
    record_feedback(tmp_path / "f.db", QUESTION, "表" * 30_000, "有用", "", "")
    answer = FeedbackStore(tmp_path / "f.db").list()[0][0]["answer"]
    assert len(answer) == 20_000 and answer.endswith("…")


def test_feedback_outlives_a_rebuild_and_names_each_build(tmp_path, samples_index):
    """The default file is var/feedback.db, not inside a build; a new build keeps it."""
    assert not Settings().feedback.is_relative_to(builds_dir(Path("var/index")))
    path = tmp_path / "feedback.db"
    old = open_index(samples_index).build_id
    record_feedback(path, QUESTION, ANSWER, "有误", "", old)
    index_dir = tmp_path / "index"
    build(ROOT / "data", index_dir, progress=False)
    first = open_index(index_dir).build_id
    build(ROOT / "data", index_dir, progress=False)  # nothing changed: still a new build
    second = open_index(index_dir).build_id
    assert first != second
    record_feedback(path, QUESTION, ANSWER, "有用", "", second)
    rows, _ = FeedbackStore(path).list()
    assert [r["build"] for r in rows] == [second, old]


# ------------------------------------------------------------------ the script
def test_script_lists_feedback_as_table_csv_and_json(tmp_path):
    path = tmp_path / "feedback.db"
    assert run_script("--file", str(path)).stdout.strip() == f"No feedback in {path}."
    record_feedback(path, QUESTION, ANSWER, "有误", "正文说收到 2 件", "b1")
    record_feedback(path, "平潭2024年收到多少申请？", "平潭综合实验区2024年本年新收政府信息公开申请为 218 件。", "有用", "", "b2")
    table = run_script("--file", str(path))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "id\ttime (UTC)\tverdict\tquestion\tanswer\tcomment\tbuild"
    assert lines[1].split("\t")[2:4] == ["有用", "平潭2024年收到多少申请？"] and lines[1].endswith("\tb2")
    assert lines[2].split("\t")[2] == "有误" and "正文说收到 2 件" in lines[2]
    assert "2 verdict(s)" in table.stderr
    rows = list(csv.DictReader(io.StringIO(run_script("--file", str(path), "--csv").stdout)))
    assert [r["verdict"] for r in rows] == ["useful", "wrong"] and rows[1]["answer"] == ANSWER
    data = json.loads(run_script("--file", str(path), "--json", "--verdict", "wrong").stdout)
    assert data["count"] == 1 and data["data"][0]["comment"] == "正文说收到 2 件"
    limited = run_script("--file", str(path), "--limit", "1")
    assert len(limited.stdout.splitlines()) == 2 and "1 of 2 verdict(s)" in limited.stderr


def test_script_refuses_an_unknown_verdict(tmp_path):
    result = run_script("--file", str(tmp_path / "f.db"), "--verdict", "maybe")
    assert result.returncode == 2 and "invalid choice: 'maybe'" in result.stderr


# ------------------------------------------------------------------ the API
@pytest.fixture(scope="module")
def keys_path(tmp_path_factory):
    return tmp_path_factory.mktemp("feedback_keys") / "api_keys.db"


@pytest.fixture(scope="module")
def feedback_file(tmp_path_factory):
    return tmp_path_factory.mktemp("feedback_file") / "feedback.db"


@pytest.fixture(scope="module")
def server(samples_index, keys_path, feedback_file):
    running = Server(samples_index, keys_path, "--no-ui", env={"NIANBAO_FEEDBACK": str(feedback_file)})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture
def key(keys_path, request):
    return KeyStore(keys_path).create(f"staff-{request.node.name}-{time.monotonic_ns()}")


def test_post_feedback_is_stored_with_the_served_build(client, samples_index, feedback_file):
    r = client.post("/api/feedback", json={"question": QUESTION, "answer": ANSWER, "verdict": "有误",
                                           "comment": "正文说收到 2 件"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["verdict"] == "wrong" and body["build"] == open_index(samples_index).build_id
    rows, _ = FeedbackStore(feedback_file).list()
    assert rows[0]["id"] == body["id"] and rows[0]["comment"] == "正文说收到 2 件"


def test_get_feedback_needs_a_key(client):
    assert_error(client.get("/api/feedback"), 401, "missing_api_key")
    assert_error(client.get("/api/feedback", headers={"X-API-Key": "nb_x_y"}), 401, "invalid_api_key")


def test_staff_list_feedback_newest_first_with_the_page_s_too(client, key, feedback_file):
    """What the page records with record_feedback and what clients POST: one list."""
    client.post("/api/feedback", json={"question": "平潭2024年收到多少申请？", "answer": "…218 件。",
                                       "verdict": "useful", "build": "b-client"})
    page_id = record_feedback(feedback_file, "柔远镇2020年行政处罚多少件？", "…", "有用", "谢谢", "b-page")
    r = client.get("/api/feedback", headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"][0]["id"] == page_id and body["data"][0]["build"] == "b-page"
    assert body["data"][1]["build"] == "b-client"
    assert body["count"] == len(body["data"]) >= 3 and (body["offset"], body["limit"]) == (0, 50)
    assert set(body["data"][0]) == {"id", "created_at", "question", "answer", "verdict", "comment", "build"}
    wrong = client.get("/api/feedback", params={"verdict": "wrong"}, headers={"X-API-Key": key}).json()
    assert wrong["count"] >= 1 and {d["verdict"] for d in wrong["data"]} == {"wrong"}
    page = client.get("/api/feedback", params={"limit": 1, "offset": 1}, headers={"X-API-Key": key}).json()
    assert [d["id"] for d in page["data"]] == [body["data"][1]["id"]]
    assert_error(client.get("/api/feedback", params={"verdict": "maybe"}, headers={"X-API-Key": key}),
                 400, "bad_request")
    assert_error(client.get("/api/feedback", params={"limit": 501}, headers={"X-API-Key": key}),
                 422, "validation_error")


@pytest.mark.parametrize("payload, status, code", [
    ({"question": QUESTION, "answer": ANSWER, "verdict": "maybe"}, 422, "validation_error"),
    ({"question": QUESTION, "answer": ANSWER, "verdict": "有用", "comment": "长" * (MAX_COMMENT_CHARS + 1)},
     422, "validation_error"),
    ({"question": "", "answer": ANSWER, "verdict": "有用"}, 422, "validation_error"),
    ({"question": "   ", "answer": ANSWER, "verdict": "有用"}, 422, "bad_feedback"),
    ({"answer": ANSWER, "verdict": "有用"}, 422, "validation_error"),
])
def test_post_feedback_validates_the_verdict_and_sizes(client, payload, status, code):
    assert_error(client.post("/api/feedback", json=payload), status, code)


def test_post_feedback_body_is_limited(client):
    big = {"question": QUESTION, "answer": "表" * 200_000, "verdict": "有用"}  # > 256 KB of UTF-8
    assert_error(client.post("/api/feedback", json=big), 413, "payload_too_large")


def test_post_feedback_is_rate_limited_like_ask(samples_index, keys_path, tmp_path):
    limited = Server(samples_index, keys_path, "--no-ui",
                     env={"NIANBAO_FEEDBACK": str(tmp_path / "f.db"), "NIANBAO_RATE_LIMIT": "3"})
    try:
        payload = {"question": QUESTION, "answer": ANSWER, "verdict": "有用"}
        codes = [httpx.post(limited.url + "/api/feedback", json=payload, timeout=30).status_code for _ in range(4)]
        assert codes == [201, 201, 201, 429]
        r = httpx.post(limited.url + "/api/feedback", json=payload, timeout=30)
        assert_error(r, 429, "rate_limited")
        assert int(r.headers["Retry-After"]) >= 1
        assert FeedbackStore(tmp_path / "f.db").list()[1] == 3
    finally:
        limited.stop()
