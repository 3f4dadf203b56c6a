"""Answers about any body's report, in any wording, never a wrong figure (issue 9).

Run over the index of all 113 reports in tests/fixtures (``corpus_index``): the blind
set (tests/qa_blind.jsonl, written from the documents before the code it exercises)
and one test per failure class the issue measured, each with a real report that was
answered wrongly before."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from index.factstore import open_fact_store
from qa.answer import answer
from qa.understand import Catalog, understand

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import evaluate  # noqa: E402

BLIND_SET = ROOT / "tests" / "qa_blind.jsonl"
BLIND_MIN = 0.95


@pytest.fixture(scope="session")
def corpus_catalog(corpus_index):
    with open_fact_store(corpus_index) as store:
        return Catalog.from_db(store)


def cited(result) -> list[str]:
    return [c.report_id for c in result.citations]


# ------------------------------------------------------------------ the blind set
def test_blind_set_is_large_and_mixed():
    cases = evaluate.load_cases(BLIND_SET)
    assert len(cases) >= 100
    assert {c["intent"] for c in cases} >= {"lookup", "list", "aggregate", "rank", "compare", "trend", "yesno",
                                            "text", "metadata"}
    assert sum(bool(c["history"]) for c in cases) >= 10, "follow-ups"
    assert sum(not c["cite"] for c in cases) >= 8, "bodies or years not in the index"


def test_blind_set_accuracy_and_no_wrong_figure(corpus_index):
    results = evaluate.evaluate(evaluate.load_cases(BLIND_SET), corpus_index)
    stats = evaluate.summary(results)
    failures = "\n".join(f"[{r.case['id']}] {r.case['question']} -> {r.error or r.answer[:200]}"
                         for r in results if not r.correct)
    assert stats["ALL"]["wrong_figures"] == 0, failures
    assert stats["ALL"]["accuracy"] >= BLIND_MIN, failures


# ------------------------------------------------------------------ 1. everyday names
@pytest.mark.parametrize("question, report, figure", [
    ("君山片区2024年收到多少申请", "p003_junshan_2024", "5"),      # 平潭综合实验区君山片区管理局
    ("君山2022年收到几件申请", "p002_junshan_2022", "0"),
    ("平潭君山片区管理局2024年收到多少申请", "p003_junshan_2024", "5"),
    ("君删片区2024年收到多少申请", "p003_junshan_2024", "5"),      # one wrong character
    ("君\u200b山片区2024年收到多少申请", "p003_junshan_2024", "5"),  # an invisible character
    ("市场监管局2022年行政处罚多少件", "p073_scjgj_2022", "887"),   # 市场监督管理局
    ("平潭自然资源局2024年收到多少申请", "p093_zrzysthj_2024", "69"),  # 自然资源与生态环境局
    ("经发局2021年收到多少申请", "p046_jjfzj_2021", "0"),           # 经济发展局
])
def test_body_found_by_the_name_people_use(corpus_index, question, report, figure):
    a = answer(question, corpus_index)
    assert cited(a)[:1] == [report], a.answer
    assert f"为 {figure} 件" in a.answer


# ------------------------------------------------------------------ 3. unknown bodies
@pytest.mark.parametrize("question", ["平潭教育局2023年收到多少政府信息公开申请", "平潭发改局2023年收到多少申请"])
def test_body_not_in_the_index_gets_no_other_bodys_figures(corpus_index, question):
    """Before: 平潭综合实验区's and 沭阳县发改局's figures were given."""
    a = answer(question, corpus_index)
    assert "没有" in a.answer and a.citations == [] and a.facts == []


def test_not_found_names_the_nearest_bodies(corpus_index):
    a = answer("平潭文旅局2023年收到多少申请", corpus_index)
    assert a.citations == [] and "相近的单位有" in a.answer and "旅游与文化体育局" in a.answer


# ------------------------------------------------------------------ 4. routing by what the tables hold
@pytest.mark.parametrize("question", [
    "平潭2021年通过12345热线处理了多少条群众反映的问题",
    "交岔乡2021年低保发了多少钱",
    "沭阳县2025年举办了几期培训",
    "平潭2024年的报告涉及哪些内容",
])
def test_topic_the_tables_do_not_hold_is_not_a_table_figure(corpus_catalog, question):
    assert understand(question, None, corpus_catalog).intent == "text"


@pytest.mark.parametrize("question, table, rows, columns", [
    ("沭阳县2025年处理了多少件行政许可", "主动公开", ("行政许可",), ("@decisions",)),
    ("淮安市2024年只给公开一部分的有几件", "依申请", ("部分公开",), ("总计",)),
    ("平潭2024年申请公开的有多少没给公开", "依申请", ("不予公开-*",), ("总计",)),
    ("我是一名普通市民，平时很关心政府信息公开工作，想请教一下：" * 8 + "平潭2021年一共收到多少件申请？",
     "依申请", ("本年新收",), ("总计",)),
])
def test_question_reads_the_figure_it_names(corpus_catalog, question, table, rows, columns):
    q = understand(question, None, corpus_catalog)
    assert (q.figure.table, q.figure.rows, q.figure.columns) == (table, rows, columns)


def test_total_over_named_bodies_is_a_sum(corpus_index):
    a = answer("君山片区、海坛片区、金井片区、苏平片区2022年一共收到多少申请", corpus_index)
    assert a.intent == "aggregate" and "合计" in a.answer


@pytest.mark.parametrize("question, said", [
    ("大溪乡2021年报告的文号是什么", "永大政〔2021〕69号"),
    ("柔远镇2020年的年报用的是哪一版表格", "2019年版"),
    ("沭阳县发改局2023年报告是哪天发布的", "2024年1月17日"),
    ("苏平片区2024年报告的原文链接", "https://www.pingtan.gov.cn/"),
])
def test_metadata_question_is_answered_from_metadata(corpus_index, question, said):
    a = answer(question, corpus_index)
    assert a.intent == "metadata" and said in a.answer and a.citations


# ------------------------------------------------------------------ 5. follow-ups
def test_follow_up_with_a_new_topic_answers_the_new_topic(corpus_index):
    """Before: '平潭2021年收到多少申请' then '低保发了多少钱' repeated 70 件."""
    a = answer("低保发了多少钱", corpus_index, ["平潭2021年收到多少申请"])
    assert a.intent == "text" and "70 件" not in a.answer


def test_follow_up_measures_after_problems(corpus_index):
    first = answer("洪泽区2023年存在哪些问题", corpus_index)
    then = answer("那他们打算怎么改进", corpus_index, ["洪泽区2023年存在哪些问题"])
    assert then.answer != first.answer and "一是扎实推进依申请公开工作" in then.answer


# ------------------------------------------------------------------ 6. text answers that do not stop short
def test_work_done_lists_section_one(corpus_index):
    """'做了哪些工作' found nothing though section 一 has five sub-sections."""
    a = answer("平潭2021年做了哪些工作", corpus_index)
    assert "（一）主动公开方面" in a.answer and "（五）监督保障方面" in a.answer


def test_work_outline_when_headings_are_glued_to_their_text(corpus_index):
    """p020 prints '（一）主动公开政府信息的情况全面贯彻落实…' with no stop after the heading."""
    a = answer("平潭财政局2025年政府信息公开工作有什么亮点", corpus_index)
    assert "（一）主动公开政府信息的情况" in a.answer and "（三）政府信息公开平台建设" in a.answer


def test_one_field_of_the_work_is_answered_from_the_text(corpus_index):
    a = answer("平潭2021年在依申请公开方面做了哪些工作", corpus_index)
    assert a.citations and "主要工作有" not in a.answer  # quoted from the text, not the outline


def test_how_it_was_done_comes_from_section_one(corpus_index):
    """'是怎么做好主动公开的' quoted plans from section 五."""
    a = answer("交岔乡2021年是怎么做好主动公开的", corpus_index)
    assert a.citations and a.citations[0].section.startswith("一")


def test_problems_lead_in_is_followed_by_its_examples(corpus_index):
    a = answer("洪泽区2023年政务公开有哪些差距", corpus_index)
    assert "依申请公开工作规范性还有待提高" in a.answer


def test_figure_answer_explains_from_the_text(corpus_index):
    a = answer("海坛片区2024年那件行政复议最后是什么结果", corpus_index)
    assert "行政复议为 1 件" in a.answer and "撤诉" in a.answer
