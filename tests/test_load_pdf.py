"""What ``index.load_pdf.load_pdf`` gives for real reports, and how it refuses bad files.

Every value asserted here was read off the page images
(``pdftoppm -r 100 -png -f N -l N <pdf>``).  The canonical mapping of grids to the
template is index/tables.py's business and is not tested here.

Bad fixtures in tests/fixtures/bad/ are made by tests/fixtures/bad/make_bad_fixtures.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from index.document import Document, Grid, IngestError
from index.load_pdf import load_pdf

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REAL = FIXTURES / "real"
BAD = FIXTURES / "bad"

R001 = REAL / "r001_huaian_hongze_2023.pdf"  # 洪泽区 2023, 5 pages
R002 = REAL / "r002_huaian_hongze_2024.pdf"  # 洪泽区 2024, 5 pages
R003 = REAL / "r003_huaian_city_2024.pdf"  # 淮安市 2024, 6 pages


@pytest.fixture(scope="module")
def r001() -> Document:
    return load_pdf(str(R001))


@pytest.fixture(scope="module")
def r002() -> Document:
    return load_pdf(str(R002))


@pytest.fixture(scope="module")
def r003() -> Document:
    return load_pdf(str(R003))


def grid_with(doc: Document, text: str) -> Grid:
    """The one grid that has a cell containing ``text``."""
    found = [g for g in doc.grids if any(text in cell for row in g.rows for cell in row)]
    assert len(found) == 1, f"{len(found)} grids contain {text!r}"
    return found[0]


def row_with(grid: Grid, label: str) -> tuple[int, list[str]]:
    """(index, row) of the one row that has a cell equal to ``label``."""
    found = [(i, row) for i, row in enumerate(grid.rows) if label in row]
    assert len(found) == 1, f"{len(found)} rows have a cell {label!r}"
    return found[0]


def line_with(doc: Document, text: str):
    found = [line for line in doc.lines if text in line.text]
    assert len(found) == 1, f"{len(found)} lines contain {text!r}"
    return found[0]


# --------------------------------------------------------------------------- document


def test_document_basics(r001):
    assert r001.format == "pdf"
    assert r001.page_count == 5
    assert r001.path.endswith("r001_huaian_hongze_2023.pdf")
    assert [line.lineno for line in r001.lines] == list(range(1, len(r001.lines) + 1))
    assert all(line.page in range(1, 6) for line in r001.lines)


def test_title_comes_from_the_pdf_metadata():
    # WPS writes the Title as little-endian UTF-16 (BOM FF FE), which pdfminer leaves as mojibake
    assert load_pdf(str(R001)).title == "洪泽区人民政府2023年政府信息公开工作年度报告"
    # r003's metadata Title is the generic one; it is returned as is, not guessed from the text
    assert load_pdf(str(R003)).title == "政府信息公开工作年度报告"


# --------------------------------------------------------------------------- text


def test_section_headings_are_lines_of_their_own_with_their_page(r001):
    headings = {
        "一、总体情况": 1,
        "二、主动公开政府信息情况": 2,
        "三、收到和处理政府信息公开申请情况": 3,
        "四、政府信息公开行政复议、行政诉讼情况": 4,
        "五、存在的主要问题及改进情况": 4,
        "六、其他需要报告的事项": 5,
    }
    by_text = {line.text: line.page for line in r001.lines}
    for heading, page in headings.items():
        assert by_text.get(heading) == page, heading


def test_subheading_without_run_in_text_stays_alone(r001):
    # p1: "（三）政府信息管理情况。" is followed by its paragraph on the next line
    line = line_with(r001, "（三）政府信息管理情况")
    assert line.text == "（三）政府信息管理情况。"
    assert r001.lines[line.lineno].text.startswith("加强区政府门户网站及政务新媒体日常管理")


def test_hard_wrapped_lines_are_joined_into_paragraphs(r001):
    # the paragraph after 一、总体情况 is 5 lines on p1; it ends with "健康发展 。"
    line = line_with(r001, "坚持以习近平新时代中国特色社会主义思想为指导")
    assert line.page == 1
    assert line.text.startswith("2023年，洪泽区人民政府")
    assert line.text.endswith("推进政府信息公开工作规范、有序、健康发展。")
    # a line ending in '：' that runs to the margin is a wrap, not a paragraph end
    assert "电子邮箱：hzzwgk@126.com）。" in line_with(r001, "电子邮箱").text


def test_a_sentence_cut_by_the_page_break_is_joined(r001):
    # p1 ends "严格执行“分", p2 starts "级审核、先审后发”程序"
    line = line_with(r001, "严格执行“分级审核、先审后发”程序")
    assert line.page == 1  # the page where the line starts
    assert line.text.endswith("未经审核的信息一律不准发布。")


def test_spaces_between_chinese_characters_and_digits_are_removed(r001):
    # the PDF has "号 ， 邮 编 ： 223100 ， 电 话 ： 0517-87222589" and "2023 年 1 月 1 日"
    text = r001.text
    assert "90号，邮编：223100，电话：0517-87222589，电子邮箱：" in text
    assert "统计期限自2023年1月1日起至2023年12月31日止" in text
    assert "主动公开政府信息1136条" in text


def test_page_number_lines_are_dropped(r001, r003):
    for doc in (r001, r003):
        assert not [line.text for line in doc.lines if re.fullmatch(r"[-—\s\d]+", line.text)]


def test_table_text_is_not_in_the_lines(r001, r003):
    for doc in (r001, r003):
        text = doc.text
        for cell_text in ("行政事业性收费", "本年制发件数", "1.属于国家秘密", "（五）不予处理",
                          "结转下年度继续办理", "未经复议直接起诉", "商业", "勾稽关系"):
            assert cell_text not in text, cell_text
        # the values row of the 复议/诉讼 table neither
        assert not any(re.fullmatch(r"[\d\s]+", line.text) for line in doc.lines)


def test_narrative_inside_spurious_tables_is_kept_as_text(r001, r002):
    # pdfplumber sees 1-column "tables" on r001 p1-2 (white rectangles behind each text
    # line); they are not grids and their text is in the lines
    assert line_with(r001, "本报告由淮安市洪泽区人民政府办公室").page == 1
    assert line_with(r001, "（四）政府信息公开平台建设情况").page == 2
    assert line_with(r002, "（三）政府信息管理情况").page == 2
    for doc in (r001, r002):
        assert all(len(row) >= 2 for g in doc.grids for row in g.rows)
        assert not any("本报告由" in cell for g in doc.grids for row in g.rows for cell in row)


# --------------------------------------------------------------------------- grids


def test_r001_has_three_tables_in_document_order(r001):
    assert len(r001.grids) == 3
    first_cells = [g.rows[0][0] for g in r001.grids]
    assert first_cells[0] == "第二十条第（一）项"
    assert first_cells[1].startswith("（本列数据的勾稽关系为")
    assert first_cells[2] == "行政复议"


def test_application_table_split_over_pages_3_and_4_is_one_grid(r001):
    grid = grid_with(r001, "一、本年新收政府信息公开申请数量")
    assert sorted(set(grid.pages)) == [3, 4]
    assert len(grid.pages) == len(grid.rows) == 26
    assert {len(row) for row in grid.rows} == {10}
    # every data row (after the 3 header rows) ends with 7 value cells
    for row in grid.rows[3:]:
        assert all(re.fullmatch(r"\d+", cell) for cell in row[-7:]), row
    # rows as on the page images
    assert row_with(grid, "一、本年新收政府信息公开申请数量")[1][-7:] == ["21", "0", "0", "0", "0", "0", "21"]
    i, row = row_with(grid, "1.本机关不掌握相关政府信息")
    assert row[-7:] == ["10", "0", "0", "0", "0", "0", "10"] and grid.pages[i] == 3
    i, row = row_with(grid, "2.没有现成信息需要另行制作")  # last row on p3
    assert row[-7:] == ["3", "0", "0", "0", "0", "0", "3"] and grid.pages[i] == 3
    i, row = row_with(grid, "3.补正后申请内容仍不明确")  # first row on p4, no header repeated
    assert row[-7:] == ["0"] * 7 and grid.pages[i] == 4
    assert row_with(grid, "（七）总计")[1][-7:] == ["21", "0", "0", "0", "0", "0", "21"]
    # the fragments' columns line up: the label columns too
    assert row[2] == "3.补正后申请内容仍不明确"
    assert row_with(grid, "2.没有现成信息需要另行制作")[1][2] == "2.没有现成信息需要另行制作"


def test_multiline_header_cells_are_joined(r001):
    grid = grid_with(r001, "一、本年新收政府信息公开申请数量")
    # "商业/企业", "社会/公益/组织" are written over 2-3 lines in their cells
    assert grid.rows[2][-7:] == ["", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", ""]
    assert grid.rows[1][-7:] == ["自然人", "法人或其他组织", "", "", "", "", "总计"]
    assert grid.rows[0][0] == "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"


def test_vertically_merged_labels_are_in_their_first_row_only(r001):
    grid = grid_with(r001, "一、本年新收政府信息公开申请数量")
    # the vertical "三、本年度办理结果" spans 20 rows: its text is in the first one
    assert row_with(grid, "三、本年度办理结果")[1][1] == "（一）予以公开"
    # "（五）不予处理" spans 5 rows; one row per table row, the label as found
    i, row = row_with(grid, "（五）不予处理")
    assert row[2] == "1.信访举报投诉类申请" and row[-7:] == ["1", "0", "0", "0", "0", "0", "1"]
    assert grid.rows[i + 1][1:3] == ["", "2.重复申请"]
    assert row_with(grid, "5.要求行政机关确认或重新出具已获取信息")[1][1] == ""


def test_active_disclosure_table_continued_on_page_3_is_one_grid(r001):
    grid = grid_with(r001, "第二十条第（一）项")
    assert sorted(set(grid.pages)) == [2, 3]
    assert row_with(grid, "规章")[1] == ["规章", "0", "0", "0"]
    assert row_with(grid, "行政规范性文件")[1] == ["行政规范性文件", "0", "5", "5"]
    assert row_with(grid, "行政许可")[1][:2] == ["行政许可", "550"]
    i, row = row_with(grid, "行政处罚")
    assert row[:2] == ["行政处罚", "4119"] and grid.pages[i] == 3
    assert row_with(grid, "行政强制")[1][:2] == ["行政强制", "195"]
    assert row_with(grid, "行政事业性收费")[1][:2] == ["行政事业性收费", "7730.28"]
    # the p3 fragment's first header cell has no top border over it; it is still read
    assert grid.rows[grid.pages.index(3)] == ["信息内容", "本年处理决定数量", "", ""]


def test_review_and_litigation_table(r001):
    grid = grid_with(r001, "未经复议直接起诉")
    assert grid.pages == [4] * 4
    assert {len(row) for row in grid.rows} == {15}
    assert grid.rows[1][:5] == ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    # as printed (the report's own 总计 is 0)
    assert grid.rows[3] == ["10", "1", "0", "0", "0", "0", "0", "0", "0", "0", "5", "0", "0", "0", "0"]


def test_line_after_anchors_each_table_after_its_heading(r001):
    for heading, marker in (("二、主动公开政府信息情况", "第二十条第（一）项"),
                            ("三、收到和处理政府信息公开申请情况", "一、本年新收政府信息公开申请数量"),
                            ("四、政府信息公开行政复议、行政诉讼情况", "未经复议直接起诉")):
        grid = grid_with(r001, marker)
        assert r001.lines[grid.line_after - 1].text == heading


def test_r002_application_table_stitched_pages_3_4(r002):
    grid = grid_with(r002, "一、本年新收政府信息公开申请数量")
    assert sorted(set(grid.pages)) == [3, 4]
    assert row_with(grid, "一、本年新收政府信息公开申请数量")[1][-7:] == ["95", "0", "0", "0", "0", "0", "95"]
    i, row = row_with(grid, "2.没有现成信息需要另行制作")  # first row of p4
    assert grid.pages[i] == 4 and row[-7:] == ["1", "0", "0", "0", "0", "0", "1"]
    assert row_with(grid, "（七）总计")[1][-7:] == ["95", "0", "0", "0", "0", "0", "95"]
    review = grid_with(r002, "未经复议直接起诉")
    assert review.rows[-1] == ["1", "1", "0", "0", "2", "1", "0", "0", "0", "1", "2", "0", "1", "0", "3"]


def test_r003_table_continued_on_a_page_ruled_with_lines_only(r003):
    grid = grid_with(r003, "一、本年新收政府信息公开申请数量")
    assert sorted(set(grid.pages)) == [4, 5]
    assert len(grid.rows) == 28 and {len(row) for row in grid.rows} == {10}
    assert row_with(grid, "一、本年新收政府信息公开申请数量")[1][-7:] == ["3001", "53", "0", "0", "61", "4", "3119"]
    i, row = row_with(grid, "2.没有现成信息需要另行制作")  # first row of p5
    assert grid.pages[i] == 5 and row[-7:] == ["11", "0", "0", "0", "0", "0", "11"]
    # the merged label "（四）无法提供" is cut by the page break: each page keeps its part
    assert row[1] == "法提供"
    assert row_with(grid, "1.本机关不掌握相关政府信息")[1][1] == "（四）无"
    assert row_with(grid, "（七）总计")[1][-7:] == ["2932", "53", "0", "0", "61", "4", "3050"]
    assert row_with(grid, "四、结转下年度继续办理")[1][-7:] == ["103", "0", "0", "0", "0", "0", "103"]


def test_r003_long_labels_wrapped_in_a_narrow_cell_are_one_cell(r003):
    grid = grid_with(r003, "一、本年新收政府信息公开申请数量")
    i, row = row_with(grid, "1、申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请")
    assert row[1] == "（六）其他处理"
    assert row[-7:] == ["67", "3", "0", "0", "1", "0", "71"]
    _, row = row_with(grid, "2、申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请")
    assert row[-7:] == ["6", "0", "0", "0", "0", "0", "6"]
    assert grid.rows[i + 2][2:] == ["3、其他", "108", "2", "0", "0", "0", "0", "110"]


def test_r003_active_table_split_over_pages_3_and_4(r003):
    grid = grid_with(r003, "第二十条第（一）项")  # "第二十条 第（一）项" in the PDF
    assert sorted(set(grid.pages)) == [3, 4]
    assert row_with(grid, "规章")[1] == ["规章", "1", "0", "11"]
    assert row_with(grid, "行政规范性文件")[1] == ["行政规范性文件", "8", "26", "66"]
    assert row_with(grid, "行政处罚")[1][:2] == ["行政处罚", "3985758"]
    assert row_with(grid, "行政事业性收费")[1][:2] == ["行政事业性收费", "96171.6"]
    review = grid_with(r003, "未经复议直接起诉")
    assert review.rows[-1] == ["72", "64", "178", "37", "351", "13", "4", "8", "1", "26",
                               "12", "1", "1", "6", "20"]


def test_r003_text_around_the_tables(r003):
    assert len(r003.grids) == 3
    assert line_with(r003, "（五）政府信息公开监督保障情况").page == 3
    assert line_with(r003, "全年收取政府信息公开信息处理费3940元").page == 6


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("name, reason", [
    ("not_a_pdf.pdf", "not a PDF"),
    ("truncated.pdf", "corrupt or unreadable PDF"),
    ("encrypted.pdf", "encrypted PDF (password required)"),
    ("zero_pages.pdf", "PDF has no pages"),
    ("scanned.pdf", "no text layer (scanned PDF?)"),
])
def test_bad_files_raise_ingest_error_with_a_reason(name, reason):
    path = str(BAD / name)
    with pytest.raises(IngestError) as info:
        load_pdf(path)
    assert info.value.path == path
    assert reason in info.value.reason
    assert "\n" not in str(info.value)


def test_missing_file_raises_ingest_error():
    with pytest.raises(IngestError, match="file not found"):
        load_pdf(str(BAD / "does_not_exist.pdf"))


def test_pdf_with_owner_restrictions_only_is_read():
    # encrypted, but the user password is empty: any viewer opens it, so do we
    doc = load_pdf(str(BAD / "restricted.pdf"))
    assert doc.page_count == 1
    assert doc.text == "This text is encrypted with a user password."


# --------------------------------------------------------------------------- stitching rule


def test_fragments_with_different_column_counts_line_up_by_x_position():
    """The real fixtures split with equal column counts; other WPS exports give a header
    fragment with fewer column boundaries (8-9) than the body (10).  Columns are matched
    by x position (the left border may be shifted a few points), so the value columns
    line up; cells stay in the column where they start."""
    from index.load_pdf import _Fragment, _GridBuilder

    values = [310, 342, 370, 398, 427, 455, 483]
    header = _Fragment(rows=[["（本列数据的勾稽关系为…）", "申请人情况", "", "", "", "", "", ""],
                             ["", "自然人", "法人或其他组织", "", "", "", "", "总计"]],
                       xs=[76, *values], page=3, top=360, bottom=480, x0=76, x1=516)
    body = _Fragment(rows=[["一、本年新收政府信息公开申请数量", "", "", "21", "0", "0", "0", "0", "0", "21"],
                           ["", "（一）予以公开", "", "0", "0", "0", "0", "0", "0", "0"]],
                     xs=[73, 96, 138, *values], page=4, top=80, bottom=300, x0=73, x1=520)
    builder = _GridBuilder()
    builder.add(header)
    builder.add(body)
    grid = builder.grid()
    assert {len(row) for row in grid.rows} == {10}
    assert grid.rows[1][-7:] == ["自然人", "法人或其他组织", "", "", "", "", "总计"]
    assert grid.rows[2][-7:] == ["21", "0", "0", "0", "0", "0", "21"]
    assert grid.rows[0][0].startswith("（本列数据") and grid.rows[2][0].startswith("一、本年新收")
    assert grid.pages == [3, 3, 4, 4]


def test_fragments_whose_columns_do_not_match_are_right_aligned():
    from index.load_pdf import _Fragment, _GridBuilder

    first = _Fragment(rows=[["a", "1", "2"], ["b", "3", "4"]], xs=[70, 200, 300],
                      page=1, top=500, bottom=780, x0=70, x1=400)
    second = _Fragment(rows=[["c", "x", "5", "6"]], xs=[50, 120, 250, 350],
                       page=2, top=80, bottom=120, x0=50, x1=450)
    builder = _GridBuilder()
    builder.add(first)
    builder.add(second)
    assert builder.grid().rows == [["", "a", "1", "2"], ["", "b", "3", "4"], ["c", "x", "5", "6"]]
