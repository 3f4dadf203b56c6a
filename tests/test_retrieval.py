"""Retrieval: passages, embeddings, chroma, BM25 and search, on a real index.

The index is built once per session (real m3e-small model, real chromadb on disk) from
a seed report, a Pingtan crawler page, a Hongze PDF and a Shanghai markdown report.
"""

from __future__ import annotations

import re
import shutil
import sqlite3

import pytest

from conftest import FIXTURES, TESTS

pytestmark = pytest.mark.slow  # a real index with the embedding model, or a live server

ROOT = TESTS.parent
SEED = ROOT / "data" / "000_8d3f9a9668695af1.txt"
PINGTAN = FIXTURES / "real" / "r006_pingtan_2021.txt"
HONGZE = FIXTURES / "real" / "r001_huaian_hongze_2023.pdf"
STCSM = FIXTURES / "real" / "r011_shanghai_stcsm_2024.md"


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _build(input_dir, index_dir):
    from index.build import build
    from index.retrieval_stage import RetrievalStage

    stage = RetrievalStage()
    summary = build(input_dir, index_dir, progress=False, stages=[stage])
    return summary, stage


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("retrieval")
    inputs = root / "input"
    inputs.mkdir()
    for path in (SEED, PINGTAN, HONGZE, STCSM):
        shutil.copy(path, inputs / path.name)
    summary, _ = _build(inputs, root / "index")
    assert summary.total_reports == 4, summary.rejected
    return root / "index"


def _passages_db(index_dir):
    from index.build import current_dir

    db = sqlite3.connect(current_dir(index_dir) / "reports.db")
    db.row_factory = sqlite3.Row
    return db


# ---------------------------------------------------------------- passages (no model)
def test_passages_stay_inside_one_section_and_carry_the_report_name():
    from index.parse import parse_report
    from index.passages import MAX_CHARS, passages_for

    parsed = parse_report(SEED)
    passages = passages_for(parsed)
    text = [p for p in passages if p.kind == "text"]
    assert {p.section for p in text} == {s.number for s in parsed.sections}  # no bare headings here
    for p in text:
        section = next(s for s in parsed.sections if s.number == p.section)
        assert _norm(p.text) in _norm(section.text)  # never crosses a section
        assert section.line_start <= p.line_start <= p.line_end <= section.line_end
        assert len(p.text) <= 2 * MAX_CHARS
        assert p.indexed_text.startswith("【") and "彭阳县交岔乡人民政府" in p.indexed_text
        assert "2021年" in p.indexed_text.split("\n")[0]
    # the whole section text is covered, in order
    for section in parsed.sections:
        joined = "".join(_norm(p.text) for p in text if p.section == section.number)
        assert joined == _norm(section.text)


def test_passage_line_span_points_at_the_quoted_line():
    from index.parse import parse_report
    from index.passages import passages_for

    lines = SEED.read_text(encoding="utf-8").splitlines()
    hit = next(p for p in passages_for(parse_report(SEED)) if "交岔发布" in p.text)
    quoted = [i + 1 for i, line in enumerate(lines) if "交岔发布" in line]
    assert any(hit.line_start <= n <= hit.line_end for n in quoted)


# ---------------------------------------------------------------- search
def test_question_finds_passage_with_report_section_and_page(index_dir):
    from qa.retrieve import search

    hits = search(index_dir, "洪泽区2023年受理了多少件政府信息公开申请", k=5)
    top = hits[0]
    assert top.report_id == "r001_huaian_hongze_2023"
    assert "受理政府信息公开申请21件" in _norm(top.text)
    assert top.section == 1 and top.page_start == 1
    assert top.rank == 1 and top.score > 0


def test_question_about_a_seed_cites_section_and_lines(index_dir):
    from qa.retrieve import search

    top = search(index_dir, "交岔乡2021年通过微信公众号公开了多少条政府信息", k=3)[0]
    assert top.report_id == "000_8d3f9a9668695af1"
    assert "交岔发布" in top.text and top.section == 1
    assert top.line_start and top.line_end >= top.line_start
    assert top.body == "彭阳县交岔乡人民政府" and top.year == 2021


@pytest.mark.parametrize("mode", ["dense", "hybrid", "bm25"])
def test_every_mode_finds_a_paraphrased_question(index_dir, mode):
    from qa.retrieve import search

    hits = search(index_dir, "上海市科委机构改革以后网站的公开栏目出了什么问题", k=5, mode=mode)
    assert any(h.report_id == "r011_shanghai_stcsm_2024" and "机构改革" in h.text for h in hits)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_filters_keep_only_matching_reports(index_dir, mode):
    from qa.retrieve import search

    query = "政府信息公开申请"
    assert {h.year for h in search(index_dir, query, k=10, year=2021, mode=mode)} == {2021}
    assert {h.report_id for h in search(index_dir, query, k=10, agency="平潭", mode=mode)} == {"r006_pingtan_2021"}
    assert {h.report_id for h in search(index_dir, query, k=10, agency="彭阳县交岔乡人民政府", mode=mode)} \
        == {"000_8d3f9a9668695af1"}
    assert {h.level for h in search(index_dir, query, k=10, level="county", mode=mode)} == {"county"}
    assert search(index_dir, query, year=2021, agency="洪泽区", mode=mode) == []
    assert search(index_dir, query, agency="不存在的机关", mode=mode) == []


def test_bad_mode_lists_the_allowed_values(index_dir):
    from qa.retrieve import search

    with pytest.raises(ValueError, match="bm25, hybrid, dense"):
        search(index_dir, "申请", mode="fuzzy")
    with pytest.raises(ValueError, match="township, county"):
        search(index_dir, "申请", level="village")


def test_search_without_an_index_says_how_to_build_one(tmp_path):
    from qa.retrieve import IndexNotFound, search

    with pytest.raises(IndexNotFound, match="build_index.py"):
        search(tmp_path / "nothing", "申请")


def test_table_rows_are_passages_text_search_can_find(index_dir):
    db = _passages_db(index_dir)
    rows = {(r["tbl"], r["row"]) for r in db.execute(
        "SELECT tbl, row FROM facts WHERE report_id = 'r001_huaian_hongze_2023'")}
    passages = db.execute("SELECT * FROM passages WHERE report_id = 'r001_huaian_hongze_2023' "
                          "AND kind = 'table_row'").fetchall()
    assert len(passages) == len(rows)
    if not rows:
        pytest.skip("the table parser found no facts in this report")
    from qa.retrieve import search

    hits = search(index_dir, "洪泽区2023年 依申请 本年新收 自然人", k=5, mode="bm25")
    assert any(h.kind == "table_row" and "本年新收" in h.text for h in hits)


# ---------------------------------------------------------------- incremental builds
def test_rebuild_reembeds_only_the_changed_file_and_drops_removed_files(tmp_path, index_dir):
    from index import embeddings
    from qa.retrieve import search

    inputs = tmp_path / "input"
    inputs.mkdir()
    seed, pingtan = inputs / SEED.name, inputs / PINGTAN.name
    shutil.copy(SEED, seed)
    shutil.copy(PINGTAN, pingtan)
    index = tmp_path / "index"
    _build(inputs, index)

    def text_passages(report_id):
        db = _passages_db(index)
        return db.execute("SELECT COUNT(*) FROM passages WHERE report_id = ? AND kind = 'text'",
                          (report_id,)).fetchone()[0]

    seed_passages = text_passages("000_8d3f9a9668695af1")
    # change one paragraph of the seed: only its passages are looked at, and only the
    # changed one is sent to the model (the rest come from the embedding cache)
    seed.write_text(seed.read_text(encoding="utf-8").replace(
        "地址:彭阳县交岔乡街道", "地址:彭阳县交岔乡街道红旗路8号"), encoding="utf-8")
    before = embeddings.STATS["embedded"]
    _, stage = _build(inputs, index)
    assert stage.embedded_passages == text_passages("000_8d3f9a9668695af1") == seed_passages
    assert 1 <= embeddings.STATS["embedded"] - before <= 2
    hits = search(index, "交岔乡政府地址在哪条路", k=3)
    assert any("红旗路8号" in h.text for h in hits)
    assert search(index, "平潭2021年收到多少件申请", k=3, mode="dense")[0].report_id == "r006_pingtan_2021"

    seed.unlink()
    _, stage = _build(inputs, index)
    assert stage.embedded_passages == 0
    assert text_passages("000_8d3f9a9668695af1") == 0
    for mode in ("dense", "bm25"):
        assert {h.report_id for h in search(index, "交岔乡 政府信息公开", k=10, mode=mode)} == {"r006_pingtan_2021"}
    from qa.retrieve import open_index

    collection = open_index(index).collection
    assert collection.get(where={"report_id": "000_8d3f9a9668695af1"})["ids"] == []
    assert collection.count() == text_passages("r006_pingtan_2021")


def test_bm25_shards_rebuild_only_where_a_report_changed(tmp_path, monkeypatch):
    """A large index keeps BM25 in shards (index.lexical): a rebuild after one report
    changed redoes that report's shard only, and search still spans every shard.
    (Shards of one report each score on their own term statistics, so this test
    filters by body; real shards hold a few hundred reports.)"""
    from index import lexical
    from qa.retrieve import search

    monkeypatch.setattr(lexical, "REPORTS_PER_SHARD", 1)  # four reports, four shards
    monkeypatch.setattr(lexical, "ONE_SHARD_MAX", 0)
    inputs = tmp_path / "input"
    inputs.mkdir()
    for path in (SEED, PINGTAN, HONGZE, STCSM):
        shutil.copy(path, inputs / path.name)
    index = tmp_path / "index"
    _, stage = _build(inputs, index)
    assert stage.lexical_shards_rebuilt == 4
    assert search(index, "收到多少件申请", k=3, agency="平潭")[0].report_id == "r006_pingtan_2021"

    from index.build import current_dir

    served = current_dir(index)
    served_files = {p: p.read_bytes() for p in (served / "bm25").rglob("*") if p.is_file()}
    seed = inputs / SEED.name
    seed.write_text(seed.read_text(encoding="utf-8").replace(
        "地址:彭阳县交岔乡街道", "地址:彭阳县交岔乡街道红旗路8号"), encoding="utf-8")
    _, stage = _build(inputs, index)
    assert stage.lexical_shards_rebuilt == 1
    # the new build linked the served build's shards, then replaced one: the served
    # build's files are as they were
    assert current_dir(index) != served
    assert {p: p.read_bytes() for p in (served / "bm25").rglob("*") if p.is_file()} == served_files
    assert "红旗路8号" in search(index, "政府地址在哪条路", k=1, agency="交岔乡")[0].text
    # the other shards still answer, filters included
    hits = search(index, "科技 政务公开", k=3, agency="上海市科学技术委员会")
    assert hits and {h.report_id for h in hits} == {"r011_shanghai_stcsm_2024"}

    (inputs / PINGTAN.name).unlink()  # a removed report leaves its shard
    _, stage = _build(inputs, index)
    assert stage.lexical_shards_rebuilt == 1
    assert search(index, "收到多少件申请", k=5, agency="平潭") == []
    assert len(search(index, "申请", k=20)) == 20  # the three shards left


def test_an_index_without_embeddings_answers_from_bm25_and_says_why_dense_cannot(tmp_path):
    from index.build import build
    from index.retrieval_stage import RetrievalStage
    from qa.retrieve import IndexNotFound, search, warm_up

    inputs = tmp_path / "input"
    inputs.mkdir()
    shutil.copy(PINGTAN, inputs / PINGTAN.name)
    stage = RetrievalStage(dense=False)
    summary = build(inputs, tmp_path / "index", progress=False, stages=[stage])
    assert stage.embedded_passages == 0 and summary.timings["embed"] == 0
    warm_up(tmp_path / "index")  # nothing to load, nothing to complain about
    # the default mode (hybrid) falls back to BM25 alone, with no error
    hits = search(tmp_path / "index", "平潭 收到多少件申请", k=3)
    assert hits[0].report_id == "r006_pingtan_2021"
    assert all(h.dense_rank is None and h.bm25_rank is not None for h in hits)
    for mode in ("dense", "hybrid"):  # asked for by name, they say why they cannot
        with pytest.raises(IndexNotFound, match="no passage vectors"):
            search(tmp_path / "index", "平潭 收到多少件申请", k=1, mode=mode)
    # and a text answer still comes from the report's passages
    from qa.answer import answer

    reply = answer("平潭2021年政府信息公开工作存在哪些问题？", tmp_path / "index")
    assert reply.citations and reply.citations[0].report_id == "r006_pingtan_2021"


# ---------------------------------------------------------------- how citizens ask (issue 9)
COLLOQUIAL = TESTS / "retrieval_colloquial.jsonl"


def _colloquial_questions() -> list[dict]:
    import json

    return [json.loads(line) for line in COLLOQUIAL.read_text(encoding="utf-8").splitlines() if line.strip()]


def _report_file(report_id: str):
    for folder in (ROOT / "data", FIXTURES / "real", FIXTURES / "pingtan"):
        found = sorted(folder.glob(report_id + ".*"))
        if found:
            return found[0]
    raise FileNotFoundError(report_id)


@pytest.fixture(scope="session")
def colloquial_index(tmp_path_factory):
    """The reports the blind colloquial questions are about (11 Pingtan bodies whose
    reports read alike, 3 seeds, 2 real reports), built as index_dir is: real model,
    real chromadb, BM25."""
    root = tmp_path_factory.mktemp("colloquial")
    inputs = root / "input"
    inputs.mkdir()
    for report_id in sorted({q["report_id"] for q in _colloquial_questions()}):
        path = _report_file(report_id)
        shutil.copy(path, inputs / path.name)
    summary, _ = _build(inputs, root / "index")
    assert summary.total_reports == 16, summary.rejected
    return root / "index"


def _recall_at_5(index, questions, mode):
    from qa.retrieve import search

    found = 0
    for q in questions:
        hits = search(index, q["question"], k=5, mode=mode, kind="text")
        found += any(h.report_id == q["report_id"] and any(_norm(x) in _norm(h.text) for x in q["quotes"])
                     for h in hits)
    return found / len(questions)


def test_colloquial_questions_find_the_passage_that_answers(colloquial_index):
    """tests/retrieval_colloquial.jsonl: 54 blind questions in citizens' words
    ('有哪些工作亮点', '打算咋整', '老百姓能在哪看到'), over the whole 16-report index, text
    passages. Measured recall@5 (2026-12-03): default (hybrid) 0.759 (41 of 54), bm25
    0.685, dense 0.667. The floor allows two questions fewer; the default must beat
    BM25 alone, which is why it is the default (BENCHMARKS.md)."""
    from qa.retrieve import DEFAULT_MODE

    questions = _colloquial_questions()
    assert len(questions) >= 40
    default = _recall_at_5(colloquial_index, questions, None)
    bm25 = _recall_at_5(colloquial_index, questions, "bm25")
    assert default >= 0.72, (DEFAULT_MODE, default)
    assert default > bm25, (default, bm25)


@pytest.mark.parametrize("mode", [None, "bm25", "hybrid", "dense"])
def test_a_text_question_never_gets_a_table_row(colloquial_index, mode):
    """Issue 9: '有哪些工作亮点' about a township report returned 规章 table rows under
    BM25 (their text is mostly the body's name and year, which the question repeats).
    Asked for text passages, no mode returns one, and within the report the answer
    (section 一) is among the first three (qa/answer.py then picks the section)."""
    from qa.retrieve import search

    question = "君山片区2024年有哪些工作亮点"
    hits = search(colloquial_index, question, k=10, mode=mode, kind="text")
    assert hits and all(h.kind == "text" for h in hits)
    scoped = search(colloquial_index, "有哪些工作亮点", k=3, mode=mode, kind="text",
                    report_ids={"p003_junshan_2024"})
    assert any(h.section == 1 for h in scoped), [(h.section, h.text[:30]) for h in scoped]
    rows = search(colloquial_index, question, k=10, mode=mode, kind="table_row")
    assert all(h.kind == "table_row" for h in rows)
