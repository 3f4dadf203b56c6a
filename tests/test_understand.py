"""Understanding questions, without composing answers: fast (a structure-only index of
data/ and the 15 real reports, built in seconds once per session; no model, no
passages). Each case is a question and what it must be read as."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.build import build
from index.factstore import open_fact_store
from qa.understand import Catalog, INTENT_RULES, NON_TABLE_TOPICS, understand

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def fast_catalog(tmp_path_factory):
    inputs = tmp_path_factory.mktemp("fast_reports")
    for path in list((ROOT / "data").glob("*")) + list((ROOT / "tests" / "fixtures" / "real").glob("r*")):
        shutil.copy(path, inputs / path.name)
    index_dir = tmp_path_factory.mktemp("fast_index")
    build(inputs, index_dir, progress=False)
    with open_fact_store(index_dir) as store:
        return Catalog.from_db(store)


# ------------------------------------------------------------------ understanding
@pytest.mark.parametrize("question, body, year", [
    ("交岔乡2021年收到多少申请", "彭阳县交岔乡人民政府", 2021),
    ("彭阳县交岔乡2021年受理了几件", "彭阳县交岔乡人民政府", 2021),
    ("交叉乡21年有人申请吗", "彭阳县交岔乡人民政府", 2021),
    ("洪泽区2023年行政处罚", "淮安市洪泽区人民政府", 2023),
    ("平潭2019年收到多少申请", "平潭综合实验区管理委员会", 2019),
    ("沐阳县2025年收了多少钱", "沭阳县人民政府", 2025),
])
def test_understand_links_body_and_year(fast_catalog, question, body, year):
    q = understand(question, None, fast_catalog)
    assert q.bodies == [body] or body.replace("管理委员会", "") in q.bodies[0]
    assert q.years == [year]


def test_one_wrong_character_is_a_substitution_before_the_type_word(fast_catalog):
    """``near`` reads a window as a name one substituted character away, keeping the last
    character (乡, 镇, 局): not the name itself (that is ``exact``'s), not another type
    word, not one character more or less, not a window opening with a question word."""
    matcher = fast_catalog.names

    def near(text):
        return {(matcher.names[rank][0], start) for rank, start in matcher.near(text)}

    assert ("交岔乡", 0) in near("交叉乡21年有人申请吗")
    assert ("交岔乡", 2) in near("请问交叉乡21年有人申请吗")
    assert not any(name == "交岔乡" for name, _ in near("交岔乡2021年"))      # the name itself
    assert not any(name == "交岔乡" for name, _ in near("交叉镇2021年"))      # another type word
    assert not any(name == "交岔乡" for name, _ in near("交叉叉乡2021年"))    # a character more
    assert not any(name == "交岔乡" for name, _ in near("哪岔乡2021年"))      # a question word


def test_understand_relative_years(fast_catalog):
    newest = max(r.year for r in fast_catalog.reports if r.year)
    assert understand("平潭今年收到多少申请", None, fast_catalog).years == [newest]
    assert understand("平潭去年收到多少申请", None, fast_catalog).years == [newest - 1]


@pytest.mark.parametrize("question, intent, figure", [
    ("哪些乡镇2021年没有收到申请", "list", "依申请|本年新收|总计"),
    ("有几个乡镇没有收到申请", "aggregate", "依申请|本年新收|总计"),
    ("2024年哪个单位收到的申请最多", "rank", "依申请|本年新收|总计"),
    ("平潭历年行政处罚", "trend", "主动公开|行政处罚|@decisions"),
    ("淮安市和洪泽区2024年收到的申请哪个多", "compare", "依申请|本年新收|总计"),
    ("平潭2024年有没有被告上法庭", "yesno", "复议诉讼|行政诉讼-*|总计"),
    ("洪泽区2023年老百姓申请了多少", "lookup", "依申请|本年新收|自然人"),
    ("淮安市2024年企业申请了多少", "lookup", "依申请|本年新收|商业企业"),
    ("洪泽区2024年收了多少钱", "lookup", "主动公开|行政事业性收费|@fee"),
    ("平潭2023年存在哪些主要问题", "text", None),
])
def test_understand_intent_and_figure(fast_catalog, question, intent, figure):
    q = understand(question, None, fast_catalog)
    assert q.intent == intent
    assert (q.figure.key if q.figure else None) == figure


def test_understand_condition_and_level(fast_catalog):
    q = understand("哪些乡镇2021年没有收到申请", None, fast_catalog)
    assert q.level == "township" and q.years == [2021]
    assert (q.condition.op, q.condition.value) == ("=", 0)
    q = understand("收到申请超过100件的有哪些", None, fast_catalog)
    assert (q.condition.op, q.condition.value) == (">", 100)



@pytest.mark.parametrize("question, intent", [
    ("交岔乡2021年报告的文号是什么", "metadata"),
    ("淮安市2024年的年报是哪天发布的", "metadata"),
    ("洪泽区2023年报告用的哪一版表格", "metadata"),
    ("交岔乡属于哪个县", "metadata"),
    ("交岔乡2021年低保发了多少钱", "text"),
    ("沭阳县2025年12345热线处理了多少条", "text"),
    ("洪泽区2023年收到多少申请", "lookup"),
    ("淮安市、洪泽区2024年一共收到多少申请", "aggregate"),
])
def test_intent_table_routes_by_what_the_tables_hold(fast_catalog, question, intent):
    assert understand(question, None, fast_catalog).intent == intent


def test_every_intent_rule_is_one_entry_of_the_table():
    intents = [intent for intent, _aggregate, _test in INTENT_RULES]
    assert intents[-1] == "lookup"  # the fallback closes the table
    assert set(intents) >= {"metadata", "text", "list", "aggregate", "rank", "compare", "trend", "yesno"}
    assert NON_TABLE_TOPICS.search("热线") and not NON_TABLE_TOPICS.search("行政处罚")


def test_follow_up_keeps_subject_and_takes_new_topic(fast_catalog):
    q = understand("那低保呢", ["交岔乡2021年收到多少申请"], fast_catalog)
    assert q.intent == "text" and q.bodies == ["彭阳县交岔乡人民政府"] and q.years == [2021]
    q = understand("那2020年呢", ["柔远镇2021年行政处罚多少件"], fast_catalog)
    assert q.intent == "lookup" and q.years == [2020] and q.figure.rows == ("行政处罚",)


def test_one_name_fitting_several_bodies_asks_back():
    from qa.understand import ReportRef

    refs = [ReportRef("a", "", "甲县市场监督管理局", "甲县市场监督管理局", "department", 2021),
            ReportRef("b", "", "乙县市场监督管理局", "乙县市场监督管理局", "department", 2021)]
    catalog = Catalog(refs)
    q = understand("市场监管局2021年收到多少申请", None, catalog)
    assert q.intent == "clarify" and len(q.clarify) == 2
    q = understand("甲县市场监管局2021年收到多少申请", None, catalog)
    assert q.intent == "lookup" and q.bodies == ["甲县市场监督管理局"]
    q = understand("各市场监管局2021年一共收到多少申请", None, catalog)
    assert q.intent == "aggregate"  # a question about all of them is not ambiguous
