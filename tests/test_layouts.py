"""Reports in non-standard layouts keep the six standard sections and all three tables
(issue 9, class 7: an inserted 信息处理费 section, seven sections, renumbered or
unpunctuated headings, narrative written between the tables).

Real crawler pages of Pingtan bodies, copied unchanged from ../shared/corpus/pingtan/
into tests/fixtures/pingtan/. Every figure asserted here was read from the page."""

from __future__ import annotations

import pytest

from conftest import FIXTURES
from index.parse import parse_report

PINGTAN = FIXTURES / "pingtan"


def parsed(name: str):
    return parse_report(PINGTAN / f"{name}.txt")


def sections(report) -> dict[int, object]:
    return {s.number: s for s in report.sections}


def cells(report, table: str, row: str) -> list[str | None]:
    """The row's values left to right; None for an uncertain cell."""
    return [None if f.uncertain else f.value for f in report.facts if f.table == table and f.row == row]


@pytest.mark.parametrize("name", ["p003_junshan_2024", "p009_jinjing_2020", "p014_suping_2024",
                                  "p058_lywtj_2020", "p075_scjgj_2025"])
def test_pingtan_layouts_have_six_sections_and_three_tables(name):
    """Before: p009 lacked 一, p014 lacked 五 and 六, p058 had section 0 only; p014,
    p058 and p075 lost table 四."""
    report = parsed(name)
    assert set(range(1, 7)) <= set(sections(report)), [s.number for s in report.sections]
    assert not [p for p in report.problems if p.startswith("table ")], report.problems
    review = [f for f in report.facts if f.table == "复议诉讼"]
    assert len(review) == 15 and not any(f.uncertain for f in review)


def test_heading_without_its_comma_opens_section_one():
    """p009_jinjing_2020 prints '。一总体情况2020年，…' (no '、'): section 一 was merged
    into the preamble."""
    found = sections(parsed("p009_jinjing_2020"))
    assert found[1].title.startswith("一总体情况")
    assert "健全工作机制" in found[1].text
    assert "健全工作机制" not in found[0].text


def test_extra_section_stays_with_the_one_before_and_the_rest_are_renumbered():
    """p058_lywtj_2020 inserts '二、政务公开工作主要任务落实情况' and numbers the
    standard sections 一, 三 … 七: only section 0 was found, and table 四 was lost."""
    report = parsed("p058_lywtj_2020")
    found = sections(report)
    assert "政务公开工作主要任务落实情况" in found[1].text
    assert found[2].title.startswith("三、主动公开政府信息情况")
    assert found[4].title.startswith("五、政府信息公开行政复议")
    assert found[5].title.startswith("六、存在的主要问题")
    assert found[6].title.startswith("七、其他需要报告的事项")
    assert "本年度无收取信息处理费情况" in found[6].text
    assert cells(report, "复议诉讼", "行政复议") == ["0"] * 5


def test_inserted_fee_section_stands_for_section_six():
    """p014_suping_2024 prints '五、信息处理费收取情况' (a table) and then
    '六、存在的主要问题和改进情况', with no 其他需要报告的事项: sections 五 and 六 were
    folded into 四 and table 四 was not parsed."""
    report = parsed("p014_suping_2024")
    found = sections(report)
    assert found[6].title.startswith("五、信息处理费收取情况")
    assert found[5].title.startswith("六、存在的主要问题和改进情况")
    assert "改进措施" in found[5].text
    assert "存在的主要问题" not in found[4].text and "信息处理费" not in found[4].text
    assert [s.number for s in report.sections] == [0, 1, 2, 3, 4, 6, 5]  # printed order
    for row in ("行政复议", "行政诉讼-未经复议直接起诉", "行政诉讼-复议后起诉"):
        assert cells(report, "复议诉讼", row) == ["0"] * 5


def test_narrative_between_tables_does_not_hide_them():
    """p075_scjgj_2025 writes a paragraph after each table on the same line
    ('…行政事业性收费0' + '2025年，我局…'; '…总计10000100000000000' + '我局严格规范…')
    and misprints the label 属于行政执法案件: table 四 was not found and 39 cells were
    uncertain."""
    report = parsed("p075_scjgj_2025")
    assert cells(report, "复议诉讼", "行政复议") == ["10", "0", "0", "0", "10"]
    assert cells(report, "复议诉讼", "行政诉讼-未经复议直接起诉") == ["0"] * 5
    assert cells(report, "主动公开", "行政事业性收费") == ["0"]
    assert cells(report, "依申请", "结转下年度继续办理") == ["2", "0", "0", "0", "0", "0", "2"]
    assert cells(report, "依申请", "不予公开-属于行政执法案卷") == ["3", "0", "0", "0", "0", "0", "3"]
    assert cells(report, "依申请", "不予公开-属于四类过程性信息") == ["0"] * 7
    # the outcome rows now add up to （七）总计 19, which leaves one reading of '110000011'
    assert cells(report, "依申请", "部分公开") == ["11", "0", "0", "0", "0", "0", "11"]
    assert not report.failed_checks


def test_label_with_an_extra_character_is_found_in_a_flattened_page():
    """p003_junshan_2024 prints '2.其他法律和行政法规禁止公开' (the template has no 和):
    that row and the one before it ('00000002.' ran into it) were 14 uncertain cells."""
    report = parsed("p003_junshan_2024")
    assert cells(report, "依申请", "不予公开-属于国家秘密") == ["0"] * 7
    assert cells(report, "依申请", "不予公开-其他法律行政法规禁止公开") == ["0"] * 7
    assert not any(f.uncertain for f in report.facts)


def test_missing_heading_found_by_a_subheading_that_opens_with_a_year():
    """r012_shanghai_govoffice_2025 lost its '五、' heading in conversion; section 五
    starts at '（一）2024 年工作中存在问题的改进情况'."""
    report = parse_report(FIXTURES / "real" / "r012_shanghai_govoffice_2025.md")
    found = sections(report)
    assert found[5].title.startswith("（一）2024 年工作中存在问题的改进情况")
    assert "政策信息分散于多个平台" in found[5].text
    assert found[6].title.startswith("六、其他需要报告的事项")


def test_a_section_the_report_does_not_print_is_not_invented():
    """p089_zrzysthj_2019 ends with 五、存在的主要问题及改进情况 and has no 六: the five
    sections it prints are found, 六 is listed as missing, nothing is made up."""
    report = parsed("p089_zrzysthj_2019")
    assert [s.number for s in report.sections] == [0, 1, 2, 3, 4, 5]
    assert "sections not found: 六" in report.problems
    assert "做好主动公开信息巡查工作" in sections(report)[5].text
