"""NIANBAO_CHROMA_URL: the passage vectors on a Chroma server instead of in the build.

Starts ``chroma run`` on a free loopback port (data in tmp), builds an index against it
with the real model and checks that dense search finds the same top hit as the embedded
client; then that rebuilds give each build its own collection and delete the collections
of pruned builds. The server is stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from index import vectors

ROOT = Path(__file__).parent.parent
CHROMA = Path(sys.executable).parent / "chroma"
REPORTS = ("000_8d3f9a9668695af1.txt", "003_fb8decbe9b2e9cc0.txt")
QUESTIONS = ("柔远镇低保资金发放情况", "交岔乡政务公开工作领导小组")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMA.exists(), reason="the chroma CLI is not installed in the venv")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma_server")
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    log = open(data / "server.log", "wb")
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(data / "db"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
                    if b"heartbeat" in response.read():
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("chroma server did not start: " + (data / "server.log").read_text(errors="replace")[-500:])
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _server_names(url: str, prefix: str) -> set[str]:
    import chromadb
    from chromadb.config import Settings

    port = int(url.rsplit(":", 1)[1])
    client = chromadb.HttpClient(host="127.0.0.1", port=port, settings=Settings(anonymized_telemetry=False))
    return {getattr(c, "name", c) for c in client.list_collections() if getattr(c, "name", c).startswith(prefix)}


def _build_names(index_dir: Path) -> set[str]:
    return {(b / vectors.CHROMA_DIR / vectors.COLLECTION_FILE).read_text(encoding="utf-8").split("\n")[0]
            for b in (index_dir / "builds").iterdir()}


def test_build_and_search_on_a_chroma_server(chroma_url, tmp_path):
    from index import embeddings
    from index.build import build, current_dir
    from index.retrieval_stage import default_stages
    from index.settings import Settings
    from qa.retrieve import search

    inputs = tmp_path / "input"
    inputs.mkdir()
    for name in REPORTS:
        shutil.copy(ROOT / "data" / name, inputs / name)

    # the embedded client: the reference
    embedded = tmp_path / "embedded"
    build(inputs, embedded, progress=False, stages=default_stages())
    reference = [search(embedded, q, k=3, mode="dense") for q in QUESTIONS]
    assert all(reference)

    # the same index moved to the server: its vectors are redone from the embedding cache
    served = tmp_path / "served"
    shutil.copytree(embedded, served, symlinks=True)
    on_server = Settings(chroma_url=chroma_url)  # the build is told; readers find it recorded
    before = embeddings.STATS["embedded"]
    build(inputs, served, progress=False, stages=default_stages(on_server))
    assert embeddings.STATS["embedded"] == before  # nothing re-embedded
    for question, ref in zip(QUESTIONS, reference):
        hits = search(served, question, k=3, mode="dense")
        assert hits[0].id == ref[0].id, question
        assert hits[0].score == pytest.approx(ref[0].score, abs=1e-4)

    # each build has its own collection; those of pruned builds are deleted
    prefix = vectors._index_prefix(current_dir(served))
    first = _server_names(chroma_url, prefix)
    assert first == {vectors.collection_name(current_dir(served))}
    changed = inputs / REPORTS[1]
    changed.write_text(changed.read_text(encoding="utf-8") + "\n本镇在政务大厅设置政府信息查阅点，方便群众查阅。\n",
                       encoding="utf-8")
    build(inputs, served, progress=False, stages=default_stages(on_server))
    second = _server_names(chroma_url, prefix)
    assert first < second and len(second) == 2  # the previous build is kept, as on disk
    (inputs / REPORTS[0]).unlink()
    build(inputs, served, progress=False, stages=default_stages(on_server))
    third = _server_names(chroma_url, prefix)
    assert len(third) == 2 and not (first & third)
    assert third == _build_names(served)
    hits = search(served, "政府信息查阅点", k=3, mode="dense")
    assert hits and all(h.report_id == Path(REPORTS[1]).stem for h in hits)
