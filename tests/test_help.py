"""Questions the reports cannot answer get help (issue 11): what the service answers,
three suggested questions and, for "怎么申请", the 政府信息公开指南 a report mentions.
Never a figure. On the product's real index (tests/conftest.py full_index)."""

from __future__ import annotations

import re

import pytest

from qa.answer import answer
from qa.suggest import example_questions

pytestmark = pytest.mark.slow  # the full index with the real embedding model

OUT_OF_SCOPE = ["asdfgh", "what is this?", "今天天气怎么样", "我想知道我们村的低保名单", "怎么申请政府信息公开？"]


def _figures(text: str) -> list[str]:
    """Digits left once the years (2024年, 2019–2025) are taken out: a stated figure."""
    return re.findall(r"\d+", re.sub(r"(?:19|20)\d{2}(?=年|–|-)|(?<=–)(?:19|20)\d{2}", "", text))


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_out_of_scope_question_gets_help_without_figures(full_index, question):
    result = answer(question, full_index)
    assert result.intent == "help", result.answer
    assert "这里回答关于政府信息公开工作年度报告的问题" in result.answer
    assert not result.facts
    assert _figures(result.answer) == [], result.answer
    assert all(_figures(c.quote) == [] for c in result.citations)
    # three suggested questions, the index's own examples, also in the text
    assert result.suggestions == example_questions(full_index, 3)
    assert all(f"“{q}”" in result.answer for q in result.suggestions)
    assert result.to_dict()["suggestions"] == result.suggestions


@pytest.mark.parametrize("question", ["平潭今天天气怎么样？", "柔远镇有什么好吃的"])
def test_a_body_named_with_nothing_of_the_reports_gets_help(full_index, question):
    result = answer(question, full_index)
    assert result.intent == "help", result.answer
    assert result.answer.startswith("这个问题与政府信息公开工作年度报告无关")
    assert not result.facts and _figures(result.answer) == [], result.answer
    assert len(result.suggestions) == 3 and all(f"“{q}”" in result.answer for q in result.suggestions)


def test_help_says_why(full_index):
    assert answer("what is this?", full_index).answer.startswith("没有看懂这个问题。请用中文提问")
    assert answer("我想知道我们村的低保名单", full_index).answer.startswith("具体到个人、家庭或某个村的名单")
    assert answer("今天天气怎么样", full_index).answer.startswith("这个问题与政府信息公开工作年度报告无关")


def test_how_to_apply_points_to_the_reports_that_mention_the_guide(full_index):
    result = answer("怎么申请政府信息公开？", full_index)
    assert "《政府信息公开指南》" in result.answer
    assert 1 <= len(result.citations) <= 5
    for c in result.citations:
        assert re.search(r"指南|申请渠道|申请方式", c.quote), c.quote
        # the text names each cited report
        assert f"{c.year}年" in result.answer
    assert len({c.report_id for c in result.citations}) == len(result.citations)


@pytest.mark.parametrize("question", ["去哪里申请政府信息公开", "我要申请公开拆迁补偿文件", "申请流程是什么？"])
def test_every_way_of_asking_how_to_apply_gets_the_guide(full_index, question):
    result = answer(question, full_index)
    assert result.intent == "help" and "《政府信息公开指南》" in result.answer and result.citations


def test_how_to_apply_for_a_named_body_cites_its_own_report(full_index):
    result = answer("平潭怎么申请政府信息公开？", full_index)
    assert result.intent == "help"
    assert [c.agency for c in result.citations] == ["平潭综合实验区管理委员会"]
    quote = result.citations[0].quote
    assert "指南" in quote and f"“{quote}”" in result.answer
    assert _figures(result.answer) == []
    # suggestions about the body asked
    assert result.suggestions and result.suggestions[0].startswith("平潭综合实验区")


def test_how_to_apply_for_a_body_whose_reports_do_not_mention_it_says_so(full_index):
    """淮安市's 2024 report does not mention its 指南 (its passages were read)."""
    result = answer("淮安市如何申请政府信息公开", full_index)
    assert result.intent == "help" and not result.citations
    assert "淮安市的报告没有提到其政府信息公开指南" in result.answer


def test_how_many_applications_is_still_a_figure(full_index):
    result = answer("平潭2024年申请公开的有多少件？", full_index)
    assert result.intent == "lookup" and "218" in result.answer


def test_a_named_bodys_non_table_topic_is_still_answered_from_its_report(full_index):
    """tests/qa_dev.jsonl q132: 低保 of a body in the index is a text question."""
    result = answer("柔远镇低保发了多少钱？", full_index)
    assert result.intent == "text" and "410" in result.answer


def test_off_topic_after_a_question_is_help_but_a_follow_up_is_not(full_index):
    history = ["平潭2024年收到多少申请？"]
    assert answer("今天天气怎么样", full_index, history=history).intent == "help"
    follow = answer("自然人呢", full_index, history=history)
    assert follow.intent == "lookup" and follow.interpretation["bodies"] == ["平潭综合实验区"]
