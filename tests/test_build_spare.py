"""Builds that do not copy the served index: the spare build (the one before the served
one) is caught up with the served build and then takes this build's changes
(index.build, double buffering). What it must give: exactly the index a fresh build of
the same folder gives, and a crashed build leaves the served index answering as before."""

from __future__ import annotations

import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import FIXTURES
from index import layout, passages, vectors
from index.embeddings import EmbeddingCache
from index.build import build, current_dir
from index.lexical import LexicalIndex
from index.retrieval_stage import DENSE_KINDS, RetrievalStage, cache_path
from index.settings import Settings
from qa.answer import answer

ROOT = Path(__file__).parent.parent
FIGURE_LINE = re.compile(r"^(一、本年新收政府信息公开申请数量\t)(\t\d+){7}", re.M)
TABLES = ("reports", "sections", "facts", "checks", "passages", "rejects")
QUERIES = ("依申请公开情况", "政府信息公开工作存在的主要问题", "行政复议")


def _inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for path in sorted((ROOT / "data").glob("*.txt")):
        shutil.copy(path, folder / path.name)
    return folder


def _set_applications(report: Path, count: int) -> None:
    """Report ``count`` new applications from natural persons (and in the total)."""
    text, n = FIGURE_LINE.subn(f"\\1\t{count}\t0\t0\t0\t0\t0\t{count}", report.read_text(encoding="utf-8"))
    assert n == 1
    report.write_text(text, encoding="utf-8")


def _append_to_section_6(report: Path, sentence: str) -> None:
    report.write_text(report.read_text(encoding="utf-8").rstrip() + f"\n{sentence}\n", encoding="utf-8")


def _build(inputs: Path, index: Path, dense: bool):
    return build(inputs, index, progress=False, stages=[RetrievalStage(dense=dense)])


def _fresh(inputs: Path, index: Path, dense: bool) -> Path:
    """The build directory of a fresh index of the same files."""
    _build(inputs, index, dense)
    return current_dir(index)


def _store_rows(build_dir: Path) -> dict[str, list[tuple]]:
    db = sqlite3.connect(build_dir / layout.DB_NAME)
    try:
        return {t: sorted(map(tuple, db.execute(f"SELECT * FROM {t}")), key=repr) for t in TABLES}
    finally:
        db.close()


def _vectors(build_dir: Path) -> dict[str, tuple[dict, np.ndarray]]:
    client = vectors.open_client(build_dir)
    try:
        got = vectors.get_collection(client, create=False).get(include=["embeddings", "metadatas"])
        return {pid: (meta, np.asarray(vec)) for pid, meta, vec in zip(got["ids"], got["metadatas"], got["embeddings"])}
    finally:
        vectors.close_client(client)


def _same_index(built: Path, fresh: Path, dense: bool) -> None:
    """The caught-up build holds what a fresh build of the same files holds."""
    assert _store_rows(built) == _store_rows(fresh)
    ours, theirs = LexicalIndex.load(layout.bm25_dir(built)), LexicalIndex.load(layout.bm25_dir(fresh))
    for query in QUERIES:
        assert [pid for pid, _ in ours.search(query, 10)] == [pid for pid, _ in theirs.search(query, 10)], query
    if dense:
        ours_v, theirs_v = _vectors(built), _vectors(fresh)
        assert ours_v.keys() == theirs_v.keys()
        for pid, (meta, _) in ours_v.items():
            assert meta == theirs_v[pid][0], pid
        # each vector is its passage's text as the index's embedding cache has it (the
        # fresh index's vectors differ by a hair: int8 activations are quantized per batch)
        db = sqlite3.connect(built / layout.DB_NAME)
        db.row_factory = sqlite3.Row
        stored = [p for p in passages.load_passages(db) if p.kind in DENSE_KINDS]
        db.close()
        cache = EmbeddingCache(cache_path(built), Settings().model_name)
        expected = cache.embed([passages.dense_text(p) for p in stored])
        cache.close()
        assert sorted(p.id for p in stored) == sorted(ours_v)
        for passage, vec in zip(stored, expected):
            assert np.allclose(ours_v[passage.id][1], vec, atol=1e-5), passage.id


def _fact(build_dir: Path, report_id: str, column: str) -> str | None:
    db = sqlite3.connect(build_dir / layout.DB_NAME)
    try:
        row = db.execute("SELECT value FROM facts WHERE report_id = ? AND tbl = '依申请' AND row LIKE '%新收%' "
                         "AND col = ?", (report_id, column)).fetchone()
        return row[0] if row else None
    finally:
        db.close()


@pytest.mark.slow
def test_rebuilds_without_copying_give_the_index_a_fresh_build_gives(tmp_path):
    inputs, index = _inputs(tmp_path), tmp_path / "index"
    assert _build(inputs, index, dense=True).started_from == "new"
    first = current_dir(index)
    _set_applications(inputs / "000_8d3f9a9668695af1.txt", 3)
    assert _build(inputs, index, dense=True).started_from == "copied"  # no spare build yet
    second = current_dir(index)
    # the first build is caught up with the second (report 000's new figure), then takes
    # this build's changes: 002 gains a sentence, 004 is removed
    _append_to_section_6(inputs / "002_5c7fe3973992ed22.txt", "本机关将于下一年度开通依申请公开网上查询系统。")
    (inputs / "004_a04ca5119211b350.txt").unlink()
    summary = _build(inputs, index, dense=True)
    assert summary.started_from == "caught-up"
    assert [r.id for r in summary.reports] == ["002_5c7fe3973992ed22"] and summary.unchanged == 3
    third = current_dir(index)
    assert not first.exists() and second.exists()  # recycled, not copied
    assert sorted(p.name for p in layout.builds_dir(index).iterdir()) == sorted([second.name, third.name])
    assert _fact(third, "000_8d3f9a9668695af1", "自然人") == "3"  # the second build's change, caught up
    db = sqlite3.connect(third / layout.DB_NAME)
    assert db.execute("SELECT COUNT(*) FROM passages WHERE report_id = '002_5c7fe3973992ed22' "
                      "AND text LIKE '%网上查询系统%'").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM reports WHERE id = '004_a04ca5119211b350'").fetchone()[0] == 0
    db.close()
    assert not [pid for pid in _vectors(third) if pid.startswith("004_")]
    _same_index(third, _fresh(inputs, tmp_path / "fresh3", True), True)
    # the second build, one behind, is caught up in turn (002's sentence, 004 gone)
    _set_applications(inputs / "000_8d3f9a9668695af1.txt", 5)
    summary = _build(inputs, index, dense=True)
    assert summary.started_from == "caught-up" and not second.exists()
    assert _fact(current_dir(index), "000_8d3f9a9668695af1", "自然人") == "5"
    _same_index(current_dir(index), _fresh(inputs, tmp_path / "fresh4", True),
                True)
    # a build without embeddings could not bring the spare's vectors up: it copies
    _append_to_section_6(inputs / "001_cbb814ea69df7004.txt", "本机关将继续加强政府信息公开培训。")
    assert _build(inputs, index, dense=False).started_from == "copied"


def test_a_report_put_back_is_caught_up_too(tmp_path):
    """A report removed in the served build and added back in this one: the spare still
    had it; catching up removes it, this build adds it again (no vectors: BM25 only)."""
    inputs, index = _inputs(tmp_path), tmp_path / "index"
    _build(inputs, index, dense=False)
    removed = inputs / "003_fb8decbe9b2e9cc0.txt"
    kept = tmp_path / removed.name
    shutil.move(removed, kept)
    _build(inputs, index, dense=False)
    shutil.move(kept, removed)
    _set_applications(removed, 7)
    summary = _build(inputs, index, dense=False)
    assert summary.started_from == "caught-up" and [r.id for r in summary.reports] == ["003_fb8decbe9b2e9cc0"]
    assert _fact(current_dir(index), "003_fb8decbe9b2e9cc0", "自然人") == "7"
    _same_index(current_dir(index), _fresh(inputs, tmp_path / "fresh", False),
                False)


def test_killed_catching_up_build_leaves_the_served_index_answering_the_same(tmp_path):
    inputs, index = _inputs(tmp_path), tmp_path / "index"
    _build(inputs, index, dense=False)
    _set_applications(inputs / "000_8d3f9a9668695af1.txt", 3)
    _build(inputs, index, dense=False)  # copied: the first build is now the spare
    served = current_dir(index)
    spare = next(p for p in layout.builds_dir(index).iterdir() if p != served)
    questions = ("交岔乡2021年收到多少政府信息公开申请？", "柔远镇2020年政府信息公开工作存在哪些问题？",
                 "大溪乡2021年主动公开了多少规范性文件？")
    before = [answer(q, index) for q in questions]
    # PDFs are slow to read, so the kill lands mid-way: 12 of them take ≈ 3 s on a quiet
    # machine (the three alone took ≈ 1 s, and a build once finished before the kill)
    for pdf in sorted((FIXTURES / "real").glob("r00[123]*.pdf")):
        for copy in range(4):
            shutil.copy(pdf, inputs / f"{pdf.stem}_{copy}.pdf")
    _set_applications(inputs / "002_5c7fe3973992ed22.txt", 9)
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "build_index.py"), "--input", str(inputs),
                                "--index", str(index), "--quiet", "--no-embeddings"], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and spare.exists():  # renamed to <id>.partial: being caught up
        time.sleep(0.02)
    assert not spare.exists()
    time.sleep(1.0)  # caught up, its own changes half-written: mid-way through the PDFs
    assert process.poll() is None, "the build finished before it was killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert current_dir(index) == served
    assert list(layout.builds_dir(index).glob("*" + layout.PARTIAL_SUFFIX))
    db = sqlite3.connect(served / layout.DB_NAME)
    assert db.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 5
    db.close()
    after = [answer(q, index) for q in questions]
    assert [(a.answer, [c.report_id for c in a.citations]) for a in after] == \
        [(b.answer, [c.report_id for c in b.citations]) for b in before]
    assert "3" in after[0].answer
    # the next build has no spare (it died with the killed build): it copies, and is right
    summary = _build(inputs, index, dense=False)
    assert summary.started_from == "copied" and not list(layout.builds_dir(index).glob("*.partial"))
    assert _fact(current_dir(index), "002_5c7fe3973992ed22", "自然人") == "9"
    _same_index(current_dir(index), _fresh(inputs, tmp_path / "fresh", False),
                False)
