"""Each report's own arithmetic is checked and recorded, failures included."""

import pytest

from conftest import FIXTURES, fixture_path, load_golden
from index.parse import parse_report


def parsed(name):
    return parse_report(fixture_path(load_golden(name)))


def results(report, rule):
    return [c for c in report.checks if c.rule == rule]


@pytest.mark.parametrize("rule", ["勾稽关系", "申请人合计", "办理结果合计", "复议诉讼合计"])
def test_rule_passes_on_a_consistent_report(rule):
    """r003 (淮安市 2024) adds up everywhere: 3119 + 34 = 3050 + 103."""
    checks = results(parsed("r003_huaian_city_2024"), rule)
    assert checks and all(c.passed for c in checks)


def test_review_totals_fail_where_the_report_prints_zero_totals():
    """r001 prints 行政复议 10/1/0/0 with 总计 0 (and 复议后起诉 5/0/0/0, 总计 0)."""
    failed = [c for c in results(parsed("r001_huaian_hongze_2023"), "复议诉讼合计") if c.failed]
    assert {c.scope for c in failed} == {"行政复议", "行政诉讼-复议后起诉"}
    assert "11 ≠ 0" in next(c.detail for c in failed if c.scope == "行政复议")


def test_applicant_totals_fail_where_the_total_column_is_left_blank():
    """r014 (上海市政府办公厅 2019) leaves 总计 blank on the outcome rows: 258+12+0+0+1+1 vs blank."""
    failed = {c.scope: c for c in results(parsed("r014_shanghai_govoffice_2019"), "申请人合计") if c.failed}
    assert "予以公开" in failed
    assert "272 ≠ 0" in failed["予以公开"].detail


def test_outcome_rows_fail_to_add_up_in_pingtan_2020():
    """r005 prints （七）总计 21 while its outcome rows add up to 27."""
    failed = {c.scope: c for c in results(parsed("r005_pingtan_2020"), "办理结果合计") if c.failed}
    assert "总计" in failed
    assert "27 ≠ 21" in failed["总计"].detail


def test_balance_fails_when_received_plus_carried_differs_from_handled(tmp_path):
    """No report in the corpus breaks 勾稽关系, so this uses seed 000 with one figure
    changed the way a typing error would: 本年新收 自然人 0 -> 3."""
    source = fixture_path(load_golden("seed_000"))
    text = source.read_text(encoding="utf-8").replace(
        "一、本年新收政府信息公开申请数量\t\t0\t0\t0\t0\t0\t0\t0",
        "一、本年新收政府信息公开申请数量\t\t3\t0\t0\t0\t0\t0\t3")
    edited = tmp_path / source.name
    edited.write_text(text, encoding="utf-8")
    failed = [c for c in results(parse_report(edited), "勾稽关系") if c.failed]
    assert {c.scope for c in failed} == {"自然人", "总计"}


def test_text_that_denies_applications_agrees_with_an_empty_table():
    """Seed 002 says 2021年我镇未收到政府信息公开申请 and its table has 本年新收 总计 0;
    seed 004 says 全乡共收到政府信息依申请公开0件."""
    for name in ("seed_002", "seed_004"):
        narrative = results(parsed(name), "正文与表格")
        assert narrative and all(c.passed for c in narrative), name


def test_text_that_denies_applications_fails_against_a_table_with_some(tmp_path):
    """Seed 002 with its table's 本年新收 set to 2 while the text still says 未收到."""
    source = fixture_path(load_golden("seed_002"))
    text = source.read_text(encoding="utf-8").replace(
        "一、本年新收政府信息公开申请数量\t\t0\t0\t0\t0\t0\t0\t0",
        "一、本年新收政府信息公开申请数量\t\t2\t0\t0\t0\t0\t0\t2")
    assert text != source.read_text(encoding="utf-8")
    edited = tmp_path / source.name
    edited.write_text(text, encoding="utf-8")
    failed = [c for c in results(parse_report(edited), "正文与表格") if c.failed]
    assert failed and "未收到" in failed[0].detail and "2" in failed[0].detail


def test_uncertain_cells_make_a_check_undecidable():
    """r004's 主动公开 rows are run together; the 依申请 checks still decide."""
    report = parsed("r004_pingtan_2019")
    assert any(f.uncertain for f in report.facts)
    assert all(c.passed is not None for c in results(report, "勾稽关系"))
