"""What to ask (issue 11): the coverage line, example questions drawn from the index and
follow-ups, on the product's real index (tests/conftest.py full_index) and on a
smaller one built from the five samples in data/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from index.served import Index, open_index
from qa.answer import answer, catalog_of
from qa.suggest import coverage, coverage_line, example_questions, follow_up_questions

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # the full index with the real embedding model

FIGURE_INTENTS = {"lookup", "list", "trend", "rank"}


@pytest.fixture(scope="module")
def samples_index(tmp_path_factory):
    """The five sample townships alone: another index, other examples."""
    from index.build import build

    index_dir = tmp_path_factory.mktemp("samples_index")
    build(ROOT / "data", index_dir, progress=False)
    return index_dir


def _catalog(index_dir):
    index = open_index(index_dir)
    with index.facts() as store:
        return catalog_of(index, store)


def _stated_nonzero(result) -> list[float]:
    """The non-zero values among the cells an answer cites, each stated in its text."""
    out = []
    for fact in result.facts:
        value = fact.get("value")
        if value is None or fact.get("blank") or fact.get("uncertain"):
            continue
        if float(value) != 0 and str(value) in result.answer:
            out.append(float(value))
    return out


# ------------------------------------------------------------------ coverage
def test_coverage_counts_what_the_index_holds(full_index):
    cov = coverage(full_index)
    catalog = _catalog(full_index)
    assert cov["reports"] == len(catalog.reports) == 20
    assert cov["bodies"] == len(catalog.bodies)
    assert cov["years"] == sorted({r.year for r in catalog.reports if r.year})
    assert sum(cov["levels"].values()) == cov["reports"]
    assert list(cov["levels"].values()) == sorted(cov["levels"].values(), reverse=True)
    # 平潭 has seven reports: the region with the most comes first
    assert cov["regions"][0] == "平潭综合实验区"
    line = coverage_line(cov)
    assert line.startswith("收录 20 份报告 · 12 个单位 · 2019–2025年 · 市级 8 份"), line


def test_coverage_line_of_an_empty_index_says_so():
    assert coverage_line({"reports": 0}) == "索引中还没有任何报告。"


# ------------------------------------------------------------------ examples
def test_examples_are_six_kinds_each_answered(full_index):
    questions = example_questions(full_index)
    assert len(questions) == 6 and len(set(questions)) == 6
    intents = []
    for q in questions:
        result = answer(q, full_index)
        intents.append(result.intent)
        assert result.citations, q
        assert "索引中没有" not in result.answer and "没有找到" not in result.answer, (q, result.answer)
        if result.intent in FIGURE_INTENTS:
            stated = _stated_nonzero(result)
            # a figure example shows a non-zero value (the top one for a ranking); a list
            # or a trend at least two
            assert len(stated) >= (2 if result.intent in ("list", "trend") else 1), (q, result.answer)
        if result.intent == "text":
            assert result.answer.startswith("据"), result.answer
    assert intents == ["lookup", "list", "trend", "rank", "text", "metadata"], list(zip(questions, intents))


def test_examples_show_off_bodies_with_several_reports(full_index):
    """The body with the most reports (平潭, seven years) is in the first example; the
    six examples name at least three different bodies."""
    catalog = _catalog(full_index)
    questions = example_questions(full_index)
    most = max(catalog.bodies, key=lambda b: len(catalog.reports_of(b)))
    assert questions[0].startswith(catalog.name_of(most))
    named = {b for b in catalog.bodies for q in questions if catalog.name_of(b) in q}
    assert len(named) >= 3, questions


def test_examples_are_deterministic(full_index):
    first = example_questions(full_index)
    build = open_index(full_index).build_dir
    again = example_questions(Index(build))  # a fresh Index: nothing cached
    assert again == first
    assert example_questions(full_index, n=3) == first[:3]


def test_examples_change_with_the_index(full_index, samples_index):
    """The samples' index has no 平潭 and no trend: its examples name its own bodies."""
    mine = example_questions(samples_index)
    assert mine and mine != example_questions(full_index)
    catalog = _catalog(samples_index)
    names = [catalog.name_of(b) for b in catalog.bodies]
    for q in mine:
        assert any(name in q for name in names), q
        result = answer(q, samples_index)
        assert result.citations and "没有找到" not in result.answer, (q, result.answer)
        if result.intent in FIGURE_INTENTS:
            assert _stated_nonzero(result), (q, result.answer)
    assert not any("平潭" in q for q in mine)


# ------------------------------------------------------------------ follow-ups
def test_answer_carries_follow_ups_the_index_answers(full_index):
    result = answer("平潭2024年收到多少申请？", full_index)
    assert result.to_dict()["suggestions"] == result.suggestions
    assert len(result.suggestions) == 3
    # another year of the same body, its trend, a related figure
    assert result.suggestions[0] == "平潭综合实验区2023年收到多少政府信息公开申请？"
    assert "历年" in result.suggestions[1]
    for q in result.suggestions:
        follow = answer(q, full_index)
        assert follow.citations and "没有" not in follow.answer[:12], (q, follow.answer)
        assert follow.interpretation["bodies"] == ["平潭综合实验区"]


def test_follow_ups_of_a_follow_up_keep_its_body(full_index):
    """'那2023年呢' after 洪泽区: the follow-ups are about 洪泽区, not the examples."""
    result = answer("那2024年呢？", full_index, history=["洪泽区2023年收到多少申请？"])
    assert result.suggestions and all(q.startswith("洪泽区") for q in result.suggestions), result.suggestions
    assert follow_up_questions(result, "那2024年呢？", full_index) == result.suggestions


def test_text_answer_suggests_the_measures_and_a_figure(full_index):
    result = answer("洪泽区2024年存在哪些主要问题？", full_index)
    assert "洪泽区2024年打算怎么改进政府信息公开工作？" in result.suggestions
    figure_q = [q for q in result.suggestions if "多少" in q]
    assert figure_q and _stated_nonzero(answer(figure_q[0], full_index))


def test_list_suggests_the_top_body(full_index):
    result = answer("2024年各市收到的政府信息公开申请分别是多少？", full_index)
    assert result.suggestions[0] == "淮安市2024年收到多少政府信息公开申请？"
    assert re.search(r"3119", answer(result.suggestions[0], full_index).answer)
