"""The BM25 shards (index.lexical) on real reports: a small index is one shard, scored as
BM25 over all its passages; a larger one rebuilds only the shards of the reports that
changed, and searches exactly as a fresh build of the same folder does (issue 14)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import FIXTURES
from index import layout, lexical, passages
from index.build import build, current_dir
from index.lexical import LexicalIndex
from index.retrieval_stage import RetrievalStage

PINGTAN = sorted((FIXTURES / "pingtan").glob("p*.txt"))
QUERIES = ("依申请公开情况", "政府信息公开工作存在的主要问题", "行政复议", "网上查询系统", "信息处理费")


def _inputs(tmp_path: Path, files: list[Path]) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for path in files:
        shutil.copy(path, folder / path.name)
    return folder


def _build(inputs: Path, index: Path) -> RetrievalStage:
    stage = RetrievalStage(dense=False)  # passages and BM25 only: no model needed
    build(inputs, index, progress=False, stages=[stage])
    return stage


def _lexical(index: Path) -> LexicalIndex:
    return LexicalIndex.load(layout.bm25_dir(current_dir(index)))


def _all_passages(index: Path) -> list:
    db = sqlite3.connect(current_dir(index) / layout.DB_NAME)
    db.row_factory = sqlite3.Row
    try:
        return passages.load_passages(db)
    finally:
        db.close()


def _searches(lex: LexicalIndex) -> dict:
    """Every query's top 20 (passage id, score), unfiltered and filtered by year and kind."""
    return {(query, year, kind): lex.search(query, 20, year=year, kind=kind)
            for query in QUERIES for year in (None, 2022) for kind in (None, "text")}


def test_an_index_up_to_one_shard_max_is_one_shard_scored_over_all_its_passages(tmp_path, monkeypatch):
    """The blind and dev evaluation indexes (113 and 20 reports) are one shard: their
    scores are BM25 over everything, whatever REPORTS_PER_SHARD is."""
    monkeypatch.setattr(lexical, "REPORTS_PER_SHARD", 3)
    monkeypatch.setattr(lexical, "ONE_SHARD_MAX", 12)
    inputs, index = _inputs(tmp_path, PINGTAN[:12]), tmp_path / "index"
    assert _build(inputs, index).lexical_shards_rebuilt == 1
    lex = _lexical(index)
    assert len(lex.shards) == 1
    whole = LexicalIndex.from_passages(_all_passages(index))  # one bm25s index over every passage
    got = _searches(lex)
    assert got == _searches(whole) and all(got[(q, None, None)] for q in QUERIES[:3])
    # one report more than ONE_SHARD_MAX: shards of REPORTS_PER_SHARD, every one built anew
    shutil.copy(PINGTAN[12], inputs / PINGTAN[12].name)
    assert _build(inputs, index).lexical_shards_rebuilt == 5
    assert len(_lexical(index).shards) == 5


def test_a_changed_report_rebuilds_only_its_shard_and_searches_as_a_fresh_build(tmp_path, monkeypatch):
    monkeypatch.setattr(lexical, "REPORTS_PER_SHARD", 3)
    monkeypatch.setattr(lexical, "ONE_SHARD_MAX", 0)
    inputs, index = _inputs(tmp_path, PINGTAN[:12]), tmp_path / "index"
    assert _build(inputs, index).lexical_shards_rebuilt == 4
    served = current_dir(index)
    report_ids = sorted({p.report_id for p in _all_passages(index)})
    assert len(report_ids) == 12

    # one report gains a sentence: its shard alone is redone, the others are the served
    # build's files (hard links)
    changed = inputs / PINGTAN[1].name
    sentence = "本机关将于下一年度开通依申请公开网上查询系统。"
    changed.write_text(changed.read_text(encoding="utf-8").rstrip() + f"\n{sentence}\n", encoding="utf-8")
    assert _build(inputs, index).lexical_shards_rebuilt == 1
    rid = next(p.report_id for p in _all_passages(index) if "网上查询系统" in p.text)
    shard = lexical.shard_of(rid, 4)
    new = layout.bm25_dir(current_dir(index))
    for i in range(4):
        same_file = (new / f"s{i:03d}" / "ids.json").stat().st_ino == \
            (layout.bm25_dir(served) / f"s{i:03d}" / "ids.json").stat().st_ino
        assert same_file == (i != shard), i
    lex = _lexical(index)
    assert any(pid.startswith(rid + ":") for pid, _ in lex.search("网上查询系统", 3))
    fresh = tmp_path / "fresh"
    _build(inputs, fresh)
    assert _searches(lex) == _searches(_lexical(fresh))

    # one report removed and another added in the same build: at most their two shards
    (inputs / PINGTAN[5].name).unlink()
    shutil.copy(PINGTAN[20], inputs / PINGTAN[20].name)
    stage = _build(inputs, index)
    now = sorted({p.report_id for p in _all_passages(index)})
    gone, came = set(report_ids) - set(now), set(now) - set(report_ids)
    assert len(gone) == len(came) == 1
    assert stage.lexical_shards_rebuilt == len({lexical.shard_of(r, 4) for r in gone | came})
    lex = _lexical(index)
    removed = next(iter(gone)) + ":"
    assert not [pid for hits in _searches(lex).values() for pid, _ in hits if pid.startswith(removed)]
    shutil.rmtree(fresh)
    _build(inputs, fresh)
    assert len(_lexical(fresh).shards) == 4
    assert _searches(lex) == _searches(_lexical(fresh))


def test_a_search_scoped_to_some_reports_reads_their_shards_and_finds_what_a_filtered_search_finds(tmp_path, monkeypatch):
    """Answers scope BM25 to the named bodies' reports; only the shards holding those
    reports are read, and they give every passage of those reports that a search of the
    whole index gives, with the same scores."""
    monkeypatch.setattr(lexical, "REPORTS_PER_SHARD", 3)
    monkeypatch.setattr(lexical, "ONE_SHARD_MAX", 0)
    inputs, index = _inputs(tmp_path, PINGTAN[:12]), tmp_path / "index"
    _build(inputs, index)
    lex = _lexical(index)
    assert len(lex.shards) == 4
    report_ids = sorted(lex.shards_of)
    assert len(report_ids) == 12 and all(len(lex.shards_of[r]) == 1 for r in report_ids)
    every = 10_000  # more than the index's passages: every positive score comes back
    for query in QUERIES:
        whole = lex.search(query, every)
        for scope in ({report_ids[0]}, {report_ids[1], report_ids[-1]}, set(report_ids[::2])):
            scoped = lex.search(query, every, report_ids=scope)
            expected = [hit for hit in whole if hit[0].split(":")[0] in scope]
            assert sorted(scoped, key=lambda h: (-h[1], h[0])) == sorted(expected, key=lambda h: (-h[1], h[0]))
        assert lex.search(query, every, report_ids={"no-such-report"}) == []
    assert any(lex.search(q, every, report_ids={report_ids[0]}) for q in QUERIES)


@pytest.mark.parametrize("reports, shards", [(1, 1), (113, 1), (250, 1), (251, 6), (10_000, 200)])
def test_shard_count_keeps_small_indexes_whole(reports, shards):
    assert lexical.shard_count(reports) == shards


def test_link_from_leaves_shared_files_and_replaces_the_rest(tmp_path):
    """Catching up a spare build (index.build) links the served build's shard files into
    it: files it already shares stay as they are, stale or extra ones are replaced or go."""
    served, spare = tmp_path / "served", tmp_path / "spare"
    for i, text in enumerate(("a", "b", "c")):
        folder = served / layout.BM25_DIR / f"s{i:03d}"
        folder.mkdir(parents=True)
        (folder / "ids.json").write_text(text, encoding="utf-8")
    (served / layout.BM25_DIR / "manifest.json").write_text("{}", encoding="utf-8")
    lexical.link_from(served, spare)
    shared = (spare / layout.BM25_DIR / "s000" / "ids.json").stat().st_ino
    # the served build then redoes shard 1 and drops shard 2; the spare has a shard 3 of its own
    fresh = served / layout.BM25_DIR / "s001" / "ids.json"
    fresh.unlink()
    fresh.write_text("b2", encoding="utf-8")
    shutil.rmtree(served / layout.BM25_DIR / "s002")
    (spare / layout.BM25_DIR / "s003").mkdir()
    (spare / layout.BM25_DIR / "s003" / "ids.json").write_text("d", encoding="utf-8")
    lexical.link_from(served, spare)

    def files(root):
        return {p.relative_to(root): p.stat().st_ino for p in (root / layout.BM25_DIR).rglob("*") if p.is_file()}

    assert files(spare) == files(served)
    assert (spare / layout.BM25_DIR / "s000" / "ids.json").stat().st_ino == shared
    assert (spare / layout.BM25_DIR / "s001" / "ids.json").read_text(encoding="utf-8") == "b2"
    assert not (spare / layout.BM25_DIR / "s002").exists() and not (spare / layout.BM25_DIR / "s003").exists()


_LOAD_WITH_FEW_FILES = """
import resource, sys
from index.lexical import LexicalIndex
resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[2]), int(sys.argv[3])))
try:
    lex = LexicalIndex.load(sys.argv[1])
except OSError as error:
    print("refused:", error)
else:
    print("loaded", len(lex.shards), "shards; soft limit now", resource.getrlimit(resource.RLIMIT_NOFILE)[0])
"""


def test_a_many_shard_index_loads_past_a_low_open_file_limit_or_says_which_limit_to_raise(tmp_path, monkeypatch):
    """Each loaded shard keeps FILES_PER_SHARD files open (mapped arrays): 1,000 shards (50k
    reports) passed the usual soft limit of 1,024. Loading raises the soft limit up to the
    hard one; when the hard one is too low the error names the limit to raise."""
    import subprocess
    import sys

    monkeypatch.setattr(lexical, "REPORTS_PER_SHARD", 1)
    monkeypatch.setattr(lexical, "ONE_SHARD_MAX", 0)
    inputs, index = _inputs(tmp_path, PINGTAN[:12]), tmp_path / "index"
    _build(inputs, index)
    bm25 = str(layout.bm25_dir(current_dir(index)))
    root = Path(__file__).resolve().parent.parent

    def load(soft: int, hard: int) -> str:
        return subprocess.run([sys.executable, "-c", _LOAD_WITH_FEW_FILES, bm25, str(soft), str(hard)], cwd=root,
                              capture_output=True, text=True, check=True).stdout.strip()

    # 12 shards: 36 mapped files, 2 x 36 + 1,024 wanted
    assert load(64, 4096) == "loaded 12 shards; soft limit now 4096"
    said = load(64, 512)
    assert said.startswith("refused: the BM25 index needs about 1,096 open files (12 shards)"), said
    assert "ulimit -n" in said
