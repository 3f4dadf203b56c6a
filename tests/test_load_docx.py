"""What ``index.load_docx.load_docx`` gives for the seed reports' Word versions, and
how it refuses bad files.

The .docx files (tests/fixtures/seeds_docx/) are made by scripts/make_seed_fixtures.py
from the seed texts, with real Word tables and merged cells (gridSpan / vMerge) laid out
like the official template; the values asserted below were checked against the seed
text and by opening the generated files (and their PDFs) in LibreOffice.

Bad fixtures (tests/fixtures/bad/bad_*.docx), hand-made: bad_empty.docx (0 bytes),
bad_notzip.docx (a line of UTF-8 text), bad_truncated.docx (first 3000 bytes of a real
.docx), bad_legacy.docx (OLE2 header of a Word 97 .doc), bad_nodocument.docx (a zip
without word/document.xml), bad_brokenxml.docx (word/document.xml cut off mid-table),
bad_notext.docx (a valid package whose paragraphs are blank).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from index.document import Document, IngestError
from index.load_docx import load_docx

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEEDS = FIXTURES / "seeds"
DOCX = FIXTURES / "seeds_docx"
BAD = FIXTURES / "bad"
STEMS = ["000_8d3f9a9668695af1", "001_cbb814ea69df7004", "002_5c7fe3973992ed22",
         "003_fb8decbe9b2e9cc0", "004_a04ca5119211b350"]
_NUM = re.compile(r"^-?\d+(?:\.\d+)?$")


def _load(stem: str) -> Document:
    return load_docx(str(DOCX / f"{stem}.docx"))


@pytest.fixture(scope="module")
def d000() -> Document:
    return _load(STEMS[0])


def _row(grid, label):
    rows = [r for r in grid.rows if any(c.startswith(label) for c in r)]
    assert len(rows) == 1, label
    return rows[0]


def test_000_lines_and_title(d000):
    assert d000.format == "docx"
    assert d000.title == "彭阳县交岔乡人民政府 2021 年政府信息公开工作年度报告"
    texts = [l.text for l in d000.lines]
    assert texts[0] == d000.title
    assert "一、总体情况" in texts
    assert texts[-1].startswith("电子版可分别在“彭阳县人民政府”门户网站(www.pengyang.gov.cn)")
    assert [l.lineno for l in d000.lines] == list(range(1, len(texts) + 1))
    assert all(l.page is None for l in d000.lines)
    # table text is not in the lines
    assert not any("本年新收政府信息公开申请数量" in t for t in texts)


def test_000_tables_in_body_order(d000):
    assert len(d000.grids) == 3
    lines = {l.lineno: l.text for l in d000.lines}
    assert [lines[g.line_after] for g in d000.grids] == [
        "二、行政机关主动公开政府信息情况",
        "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况",
    ]
    assert [(len(g.rows), len(g.rows[0])) for g in d000.grids] == [(14, 4), (28, 10), (4, 15)]
    assert all(len(r) == len(g.rows[0]) for g in d000.grids for r in g.rows)


def test_000_merged_cells_expanded(d000):
    active, requests, review = d000.grids
    # gridSpan across the table: text in the first cell only
    assert active.rows[0] == ["第二十条第（一）项", "", "", ""]
    assert _row(active, "行政许可") == ["行政许可", "0", "", ""]
    # the note over 3 columns x 3 rows; 申请人情况 over 7 columns
    assert requests.rows[0][:4] == ["(本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和)",
                                    "", "", "申请人情况"]
    assert requests.rows[0][4:] == [""] * 6
    assert requests.rows[1][:3] == ["", "", ""] and requests.rows[2][:3] == ["", "", ""]
    assert requests.rows[1][3:] == ["自然人", "法人或其他组织", "", "", "", "", "总计"]
    assert requests.rows[2][3:] == ["", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", ""]
    # '三、本年度办理结果' merged down the 22 outcome rows (予以公开 … 总计)
    assert requests.rows[5][:2] == ["三、本年度办理结果", "(一)予以公开"]
    assert [r[0] for r in requests.rows[6:27]] == [""] * 21
    assert requests.rows[27][0] == "四、结转下年度继续办理"
    # '(三)不予公开' merged down its 8 rows
    assert requests.rows[7][1:3] == ["(三)不予公开", "1.属于国家秘密"]
    assert [r[1] for r in requests.rows[8:15]] == [""] * 7
    assert [r[2] for r in requests.rows[7:15]][-1] == "8.属于行政查询事项"
    # one-level rows span the three label columns
    assert _row(requests, "一、本年新收") == ["一、本年新收政府信息公开申请数量", "", ""] + ["0"] * 7
    assert review.rows[0][0] == "行政复议" and review.rows[0][1:5] == [""] * 4
    assert review.rows[0][5] == "行政诉讼"
    assert review.rows[1][0] == "结果维持" and review.rows[2][0] == ""  # vMerge
    assert review.rows[3] == ["0"] * 15


def _seed_numbers(stem: str) -> list[str]:
    """Numbers in the seed text's table cells, in reading order (both seed layouts:
    tab-separated rows and one tab-led cell per line)."""
    out = []
    for line in (SEEDS / f"{stem}.txt").read_text(encoding="utf-8").splitlines():
        if "\t" not in line:
            continue
        for cell in line.split("\t"):
            cell = cell.replace("\u3000", " ").strip()
            if _NUM.match(cell):
                out.append(cell)
    return out


@pytest.mark.parametrize("stem,count", list(zip(STEMS, [200, 199, 200, 193, 198])))
def test_docx_numbers_match_seed_text(stem, count):
    doc = _load(stem)
    assert len(doc.grids) == 3
    docx_numbers = [c for g in doc.grids for r in g.rows for c in r if _NUM.match(c)]
    seed = _seed_numbers(stem)
    assert len(seed) == count
    assert docx_numbers == seed


def test_blank_cells_stay_blank():
    d001 = _load(STEMS[1])
    assert _row(d001.grids[0], "行政强制") == ["行政强制", "", "", ""]  # '　' in the seed
    d003 = _load(STEMS[3])
    assert d003.grids[2].rows[3] == [""] * 5 + ["0"] * 10  # 复议 cells empty in the seed
    d002 = _load(STEMS[2])
    assert _row(d002.grids[0], "行政事业性收费") == ["行政事业性收费", "0.7", "", ""]


def test_2019_layout_and_single_other_row():
    d003 = _load(STEMS[3])
    active, requests, _ = d003.grids
    assert _row(active, "其他对外管理服务事项") == ["其他对外管理服务事项", "63", "0", "0"]
    assert _row(active, "行政事业性收费") == ["行政事业性收费", "1", "0", ""]
    assert _row(active, "政府集中采购") == ["政府集中采购", "0", "0", ""]
    assert requests.rows[2][4:9] == ["商业企业", "科研机构", "社会组织", "法律服务机构", "其他"]
    assert _row(requests, "(六)其他处理")[1:3] == ["(六)其他处理", ""]
    assert len(requests.rows) == 26


def test_title_fallbacks():
    # 004: no core-properties title; the heading is broken over two paragraphs
    assert _load(STEMS[4]).title == "永定区大溪乡2021年政府信息公开工作年度报告"
    # 002: no title anywhere ('# 2021' heading)
    assert _load(STEMS[2]).title is None


@pytest.mark.parametrize("name,reason", [
    ("bad_empty.docx", "empty file"),
    ("bad_notzip.docx", "not a zip archive"),
    ("bad_truncated.docx", "not a zip archive"),
    ("bad_legacy.docx", "legacy Word .doc"),
    ("bad_nodocument.docx", "without word/document.xml"),
    ("bad_brokenxml.docx", "cannot open .docx"),
    ("bad_notext.docx", "no text"),
])
def test_bad_docx_raises(name, reason):
    path = BAD / name
    with pytest.raises(IngestError) as exc:
        load_docx(str(path))
    assert reason in exc.value.reason
    assert exc.value.path == str(path)
    assert "\n" not in str(exc.value)
