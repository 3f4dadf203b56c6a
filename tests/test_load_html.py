"""What ``index.load_html.load_html`` gives for real saved report pages, and how it
refuses bad files.

Every value asserted here was read off the fixtures' HTML source (and its rendering):
r014 (上海市人民政府办公厅 2019, rowspan=20 labels, inconsistent colspans, &nbsp; cells)
and r015 (沭阳县发改局 2023, Word-exported spans, site chrome, a metadata table).
Mapping grids to the template is not tested here.

Bad fixtures (tests/fixtures/bad/bad_*.html), hand-made: bad_empty.html (0 bytes),
bad_binary.html (PNG header + binary bytes), bad_notext.html (only a script, a style,
a <nav> and an &nbsp; div).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from index.document import Document, Grid, IngestError
from index.load_html import load_html

FIXTURES = Path(__file__).resolve().parent / "fixtures"
R014 = FIXTURES / "real" / "r014_shanghai_govoffice_2019.html"
R015 = FIXTURES / "real" / "r015_shuyang_fgj_2023.html"
BAD = FIXTURES / "bad"


@pytest.fixture(scope="module")
def r014() -> Document:
    return load_html(str(R014))


@pytest.fixture(scope="module")
def r015() -> Document:
    return load_html(str(R015))


def _grid_with(doc: Document, text: str) -> Grid:
    hits = [g for g in doc.grids if any(text in c for row in g.rows for c in row)]
    assert len(hits) == 1, f"{len(hits)} grids contain {text!r}"
    return hits[0]


def _row(grid: Grid, label: str) -> list[str]:
    rows = [r for r in grid.rows if any(c.startswith(label) for c in r)]
    assert len(rows) == 1, f"{len(rows)} rows start with {label!r}"
    return rows[0]


def _line_index(doc: Document, text: str) -> int:
    return next(l.lineno for l in doc.lines if l.text == text)


# --------------------------------------------------------------------------- r015

def test_r015_format_title_and_sections(r015):
    assert r015.format == "html"
    assert r015.title == "沭阳县发展和改革局2023年政府信息公开年度报告"
    texts = [l.text for l in r015.lines]
    assert texts[0] == "沭阳县发展和改革局2023年政府信息公开年度报告"
    for heading in ("一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
                    "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及整改措施",
                    "六、其他需要报告的事项"):
        assert heading in texts
    assert [l.lineno for l in r015.lines] == list(range(1, len(r015.lines) + 1))
    assert texts[-2:] == ["沭阳县发展和改革局", "2024年1月17日"]


def test_r015_runs_joined_into_paragraphs(r015):
    # the paragraph is ~30 <font> runs in the source; it must be one line
    para = next(l.text for l in r015.lines if l.text.startswith("2023年，我局严格审签程序"))
    assert "全年共审核发布各类公开政府信息249条" in para
    assert para.endswith("全年受理网络问政182件。")
    intro = r015.lines[1].text
    assert intro.startswith("根据《中华人民共和国政府信息公开条例》（以下简称《条例》）要求")
    assert "统计时限为2023年1月1日至2023年12月31日" in intro


def test_r015_no_site_chrome(r015):
    text = r015.text
    for chrome in ("走进沭阳", "办事服务", "数据开放", "繁體版", "无障碍", "智能问答", "请输入关键词",
                   "索引号", "014314799/2024-00002", "采集时间", "websiteId", "font-family"):
        assert chrome not in text, chrome
    # table cells are not repeated in the lines
    assert "一、本年新收政府信息公开申请数量" not in text


def test_r015_grids(r015):
    # the metadata (索引号) table sits outside the report body: only the 3 report tables
    assert len(r015.grids) == 3
    active, requests, review = r015.grids
    assert [len(g.rows) for g in r015.grids] == [14, 28, 4]
    assert all(len(r) == 4 for r in active.rows)
    assert _row(active, "规范性文件") == ["规范性文件", "8", "0", "18"]
    assert active.rows[0] == ["第二十条第（一）项", "", "", ""]  # colspan=4
    assert _row(active, "行政事业性收费") == ["行政事业性收费", "0", "", ""]
    # Word-exported labels split over per-character spans are joined
    assert requests.rows[5][0] == "三、本年度办理结果"
    assert requests.rows[0][3] == "申请人情况"
    assert requests.rows[1][3] == "自然人" and requests.rows[1][9] == "总计"
    assert requests.rows[2][4:9] == ["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"]
    # <o:p> </o:p> cells are blank
    assert _row(requests, "一、本年新收") == ["一、本年新收政府信息公开申请数量", "", "", "26",
                                         "", "", "", "", "", "26"]
    assert _row(requests, "（七）总计")[3:] == ["26", "", "", "", "", "", "26"]
    # rowspan=22 label: first slot only, '' below
    assert [r[0] for r in requests.rows[6:27]] == [""] * 21
    assert requests.rows[27][0] == "四、结转下年度继续办理"
    assert review.rows[3] == ["0", "0", "0", "1", "1"] + ["0"] * 10
    assert review.rows[0][0] == "行政复议" and review.rows[0][5] == "行政诉讼"


def test_r015_grids_anchor_after_their_headings(r015):
    active, requests, review = r015.grids
    lines = {l.lineno: l.text for l in r015.lines}
    assert lines[active.line_after] == "二、主动公开政府信息情况"
    assert lines[requests.line_after] == "三、收到和处理政府信息公开申请情况"
    assert lines[review.line_after] == "四、政府信息公开行政复议、行政诉讼情况"


# --------------------------------------------------------------------------- r014

def test_r014_lines(r014):
    assert r014.title == "2019年上海市人民政府办公厅政府信息公开工作年度报告"
    texts = [l.text for l in r014.lines]
    assert texts[0] == "2019年上海市人民政府办公厅政府信息公开工作年度报告"
    assert texts[1] == "发布日期：2020-01-31"
    assert "一、总体情况" in texts
    assert texts[-2:] == ["六、其他需要报告的事项", "无。"]
    # the intro names every section in one sentence: it must not be taken as the body
    assert len(r014.lines) == 36


def test_r014_request_table(r014):
    g = _grid_with(r014, "申请人情况")
    assert len(g.rows) == 26 and all(len(r) == 10 for r in g.rows)
    assert _row(g, "一、本年新收") == ["一、本年新收政府信息公开申请数量", "", "", "821", "35",
                                   "", "", "2", "1", "859"]
    assert _row(g, "二、上年结转")[3:] == ["18", "", "", "", "", "", "18"]
    # rowspan=20: '三、本年度办理结果' in its first slot, '' in the 19 rows it covers
    assert g.rows[5][:2] == ["三、本年度办理结果", "（一）予以公开"]
    assert [r[0] for r in g.rows[6:25]] == [""] * 19
    assert g.rows[5][3:] == ["258", "12", "", "", "1", "1", ""]  # 总计 column blank
    # rowspan=8 group label
    assert g.rows[7][1:4] == ["（三）不予公开", "1.属于国家秘密", "14"]
    assert [r[1] for r in g.rows[8:15]] == [""] * 7
    assert _row(g, "6.属于四类过程性信息")[3:] == ["3", "1", "", "", "", "", ""]
    assert _row(g, "1.本机关不掌握相关政府信息")[3:] == ["252", "12", "", "", "1", "", ""]
    assert _row(g, "（六）其他处理")[3:] == [""] * 7
    assert _row(g, "（七）总计")[3:] == ["767", "35", "", "", "2", "1", "805"]
    assert _row(g, "四、结转下年度继续办理")[3:] == ["72", "", "", "", "", "", "72"]


def test_r014_article20_table_inconsistent_colspans(r014):
    g = _grid_with(r014, "第二十条第（一）项")
    assert len(g.rows) == 18 and all(len(r) == 5 for r in g.rows)
    # header with <br>: '本年新<br />制作数量' joined
    assert g.rows[1] == ["信息内容", "本年新制作数量", "本年新公开数量", "", "对外公开总数量"]
    assert _row(g, "规章") == ["规章", "13", "13", "", "524"]
    # the value rows of (五) put colspan=2 on the first value: the layout is kept as is
    assert _row(g, "行政许可") == ["行政许可", "0", "", "0", "0"]
    assert _row(g, "政府集中采购") == ["政府集中采购", "6", "", "251000元", ""]


def test_r014_review_table(r014):
    g = _grid_with(r014, "复议后起诉")
    assert len(g.rows) == 4 and all(len(r) == 15 for r in g.rows)
    assert g.rows[3] == ["5", "", "", "2", "7", "8", "", "", "1", "9", "", "", "", "", ""]


def test_r014_reencoded_as_gbk(tmp_path):
    """The same page saved in GB2312/GBK with a matching <meta> reads the same."""
    raw = R014.read_text(encoding="utf-8").replace('<meta charset="utf-8">',
                                                   '<meta charset="gb2312">')
    path = tmp_path / "r014_gbk.html"
    path.write_bytes(raw.encode("gb18030"))
    doc = load_html(str(path))
    ref = load_html(str(R014))
    assert [l.text for l in doc.lines] == [l.text for l in ref.lines]
    assert [g.rows for g in doc.grids] == [g.rows for g in ref.grids]


# ----------------------------------------------------------------------- bad input

@pytest.mark.parametrize("name,reason", [
    ("bad_empty.html", "empty file"),
    ("bad_binary.html", "binary data"),
    ("bad_notext.html", "no text"),
])
def test_bad_html_raises(name, reason):
    path = BAD / name
    with pytest.raises(IngestError) as exc:
        load_html(str(path))
    assert reason in exc.value.reason
    assert exc.value.path == str(path)
    assert "\n" not in str(exc.value)


def test_missing_file_raises(tmp_path):
    with pytest.raises(IngestError):
        load_html(str(tmp_path / "nope.html"))
