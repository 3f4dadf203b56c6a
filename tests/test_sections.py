"""Reports split into the six standard sections, whatever their heading style."""

import pytest

from conftest import FIXTURES, fixture_path, golden_files, load_golden
from index.load import load_document
from index.sections import split_sections


def sections_of(name):
    doc = load_document(fixture_path(load_golden(name)))
    return {s.number: s for s in split_sections(doc.lines)}


# Reports that print no 其他需要报告的事项 section at all (read in the documents): p017 and p089
# end after 五、存在的主要问题; p014 inserts 五、信息处理费收取情况 and ends with 六、存在的主要问题.
NO_OTHER_MATTERS = {"p017_czjrj_2021", "p089_zrzysthj_2019"}  # they print no 六、其他需要报告的事项


@pytest.mark.parametrize("name", [p.stem for p in golden_files()])
def test_every_report_has_the_standard_sections(name):
    found = sections_of(name)
    # r011 puts its tables under renumbered headings but still has all six topics
    expected = {1, 2, 3, 4} if name in NO_OTHER_MATTERS else {1, 2, 3, 4, 6}
    assert expected <= set(found), sorted(found)


def test_tab_layout_report_has_six_titled_sections():
    found = sections_of("seed_000")
    assert [found[n].title for n in range(1, 7)] == [
        "一、总体情况", "二、行政机关主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进措施", "六、其他需要报告的事项"]
    assert "本年新收政府信息公开申请数量" in found[3].text
    assert "本年新收" not in found[2].text


def test_markdown_headings_are_recognised():
    """Seed 002 writes '## 一、总体情况' and '#### 四、…'."""
    found = sections_of("seed_002")
    assert set(range(1, 7)) <= set(found)
    assert found[4].title.startswith("四、")


def test_missing_heading_found_by_its_first_subheading():
    """Seed 004 has no '五、' heading: section 五 starts at '（一）存在的主要问题',
    and its '五、其他需要报告的事项' is section 六 (the numeral is not trusted)."""
    found = sections_of("seed_004")
    assert found[5].title == "（一）存在的主要问题"
    assert found[6].title == "五、其他需要报告的事项"


def test_table_rows_that_look_like_headings_do_not_split_sections():
    """'四、结转下年度继续办理' is a table row inside section 三, not section 四."""
    found = sections_of("seed_003")
    assert "结转下年度继续办理" in found[3].text
    assert found[4].title.startswith("四、因政府信息公开工作被申请复议")


def test_flattened_crawler_page_is_split_into_sections():
    """r006's whole body is one line in the crawled file."""
    found = sections_of("r006_pingtan_2021")
    assert set(range(1, 7)) <= set(found)
    assert "第二十条" in found[2].text


def test_pdf_sections_carry_page_spans():
    found = sections_of("r001_huaian_hongze_2023")
    assert found[1].page_start == 1
    assert found[6].page_end >= found[3].page_start >= found[2].page_start
