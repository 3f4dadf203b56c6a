"""Issue 11, sources and browse tab, without a browser: the links an answer gives, the
source view's page, parser notes and checks in plain Chinese, clean section text.
Over a real index of real reports (tests/fixtures/real, pingtan, data)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from index import template as T
from ui.check_words import check_in_words
from ui.highlight import quote_spans, row_spans
from ui.links import browse_url, official, report_links_html, short_quote, source_url
from ui.notes import GENERIC, note_in_chinese, notes_in_chinese
from ui.section_text import TABLE_SECTIONS, clean_title, text_blocks, without_title

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "fixtures" / "real"
PINGTAN = ROOT / "tests" / "fixtures" / "pingtan"
PDF, TXT, MD, HTML = ("r001_huaian_hongze_2023", "r004_pingtan_2019", "r011_shanghai_stcsm_2024",
                      "r014_shanghai_govoffice_2019")
DOCX = "000_8d3f9a9668695af1"  # 交岔乡 2021 as a Word file with real tables
ENGLISH = re.compile(r"[A-Za-z]{3,}")


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    from index.build import build

    inputs = tmp_path_factory.mktemp("src_inputs")
    for f in REAL.iterdir():
        if f.suffix in (".pdf", ".txt", ".md", ".html"):
            shutil.copy(f, inputs / f.name)
    for f in sorted(PINGTAN.glob("p0*.txt")):
        shutil.copy(f, inputs / f.name)
    shutil.copy(ROOT / "tests" / "fixtures" / "seeds_docx" / f"{DOCX}.docx", inputs / f"{DOCX}.docx")
    out = tmp_path_factory.mktemp("src_index")
    build(inputs, out, progress=False, stages=None)
    return out


@pytest.fixture(scope="module")
def store(index_dir):
    from index.factstore import open_fact_store

    with open_fact_store(index_dir) as s:
        yield s


@pytest.fixture(scope="module")
def client(index_dir):
    from fastapi.testclient import TestClient

    from web.server import make_app

    return TestClient(make_app(index_dir, with_ui=False))


def first_sentence(store, rid: str, number: int) -> str:
    text = store.section(rid, number)["text"]
    return next(s for s in re.findall(r"[^。]{20,}。", text) if "、" not in s[:3])


# ------------------------------------------------------------------ links
def test_links_keep_the_old_call_and_carry_quote_row_and_official_page():
    old = report_links_html(TXT, "平潭 2019", 3)
    assert "查看报告原文" in old and "在“浏览报告”中打开" in old and "官方原文" not in old
    new = report_links_html(TXT, "平潭 2019", None, quote="我区政府信息公开工作取得了明显进展。", row="主动公开|规范性文件",
                            official_url="https://www.pingtan.gov.cn/x.htm")
    hrefs = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', new)]
    source, official_page, browse = hrefs
    parts = urlsplit(source)
    assert parts.path == f"/source/{TXT}" and parts.fragment == "nb-hit"
    assert parse_qs(parts.query) == {"q": ["我区政府信息公开工作取得了明显进展"], "row": ["主动公开|规范性文件"]}
    assert official_page == "https://www.pingtan.gov.cn/x.htm"
    assert parse_qs(urlsplit(browse).query)["report"] == [TXT]
    assert parse_qs(urlsplit(browse).query)["row"] == ["主动公开|规范性文件"]


def test_links_never_carry_a_script_address_or_unescaped_title():
    html = report_links_html("r1", '<b>"x"</b>', official_url="javascript:alert(1)")
    assert "javascript:" not in html and "官方原文" not in html and "<b>" not in html
    assert official("data:text/html,x") is None and official("https://a.gov.cn/") == "https://a.gov.cn/"


def test_a_long_quote_is_cut_at_a_sentence_in_links():
    quote = "。".join(["政府信息公开工作取得明显进展" * 3] * 20) + "。"
    short = short_quote(quote)
    assert 0 < len(short) <= 300 and quote.startswith(short)
    assert len(source_url("r1", 2, quote)) < 4000


# ------------------------------------------------------------------ source route
def test_pdf_source_redirects_to_the_file_inline_at_the_page(client):
    r = client.get(source_url(PDF, 3), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/api/reports/{PDF}/source#page=3"
    f = client.get(f"/api/reports/{PDF}/source")
    assert f.headers["content-type"] == "application/pdf"
    disposition = f.headers["content-disposition"]
    assert disposition.startswith("inline;")
    name = unquote(re.search(r"filename\*=UTF-8''(\S+)", disposition).group(1))
    assert name == "淮安市洪泽区人民政府_2023年报.pdf"
    assert PDF not in disposition


@pytest.mark.parametrize("rid", [TXT, MD, HTML, DOCX])
def test_text_source_view_marks_the_quote_and_has_no_script(client, store, rid):
    quote = first_sentence(store, rid, 5)
    r = client.get(source_url(rid, None, quote))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
    assert "<script" not in r.text.lower()
    marked = "".join(re.findall(r'<mark class="nb-hit"[^>]*>([^<]*)</mark>', r.text))
    assert re.sub(r"\s", "", marked) == re.sub(r"\s|。$", "", quote)
    assert r.text.count('id="nb-hit"') == 1


@pytest.mark.parametrize("rid", [HTML, DOCX])
def test_source_view_marks_the_cited_row_in_a_table(client, store, rid):
    r = client.get(source_url(rid, None, None, "依申请|本年新收"))
    row = re.search(r'<tr class="nb-hit-row" id="nb-hit">(.*?)</tr>', r.text)
    assert row and "本年新收政府信息公开申请数量" in row.group(1)
    total = next(c["value"] for c in store.report_facts(rid, T.APPLICATION, ["本年新收"]) if c["col"] == "总计")
    assert f">{total}<" in row.group(1)


def test_source_view_marks_a_row_printed_as_run_together_text(client):
    r = client.get(source_url(TXT, None, None, "主动公开|规范性文件"))
    assert re.search(r'<mark class="nb-hit" id="nb-hit">规范性文件898989</mark>', r.text)


def test_source_view_links_the_official_page_from_the_crawler_header(client):
    url = re.search(r"原文链接: (\S+)", (REAL / f"{TXT}.txt").read_text(encoding="utf-8")).group(1)
    r = client.get(source_url(TXT))
    assert f'href="{url}"' in r.text and "官方原文" in r.text
    assert "官方原文" not in client.get(source_url(HTML)).text  # its metadata gives none


def test_source_view_errors(client):
    assert client.get("/source/r999").status_code == 404
    assert client.get(f"/source/{TXT}", params={"q": "字" * 1001}).status_code == 422


def test_source_view_is_a_rate_limited_page_route():
    from web.limits import classify

    assert classify("GET", f"/source/{TXT}") == "stream"
    assert classify("POST", f"/source/{TXT}") == "blocked"
    assert classify("GET", "/source/a/b") == "blocked"


# ------------------------------------------------------------------ notes and checks
def test_every_parser_note_of_the_real_reports_reads_as_chinese(store):
    notes = [p for r in store.list_reports(limit=10_000)[0] for p in json.loads(r["problems"] or "[]")]
    assert len(notes) > 50
    for note in notes:
        said = note_in_chinese(note)
        assert said != GENERIC, note
        assert not ENGLISH.search(said), (note, said)
    assert notes_in_chinese(["row 主动公开|规范性文件: 10 readings of '898989'"]) == [
        "表二“行政规范性文件”一行的数字印成了连在一起的“898989”，有 10 种拆分读法，无法确定，这一行的数字标为“读数不确定”。"]


@pytest.mark.parametrize("problem", [
    "year not found (no year in the title or 统计期限)", "issuing body not found",
    "read by OCR: page(s) 1, 3; 2 cell(s) uncertain", "sections not found: 五, 六",
    "template version not recognised (no 第二十条 headers or 其他处理 rows)", "no standard table found",
    "table 依申请 not found", "依申请: （六）其他处理 printed as one row (2019 style); 2021 sub-rows absent",
    "主动公开: 2 rows without values and 3 unlabelled number rows; not assigned",
    "row 依申请|总计: unreadable (no value; raw '')"])
def test_each_kind_of_note_index_writes_has_a_chinese_sentence(problem):
    said = note_in_chinese(problem)
    assert said != GENERIC and not ENGLISH.search(said.replace("OCR", "")), said


def test_checks_in_plain_words_have_no_formula(store):
    rows = [c for r in store.list_reports(limit=10_000)[0] for c in store.report_checks(r["id"])]
    assert {c["rule"] for c in rows} >= {"勾稽关系", "申请人合计", "办理结果合计", "复议诉讼合计", "正文与表格"}
    for c in rows:
        what, numbers = check_in_words(c["rule"], c["scope"], c["passed"], c["detail"])
        for said in (what, numbers):
            assert not re.search(r"→|≠|\bvs\b| \+ ", said), (c["detail"], said)
        if c["passed"] == 0 and c["rule"] != "正文与表格":
            assert "对不上" in numbers and "相差" in numbers


# ------------------------------------------------------------------ sections
def test_sections_show_no_markdown_and_no_table_text(store):
    for rid in (TXT, MD, "p001_junshan_2020", "p023_gwhbgs_2019"):
        for sec in store.sections([rid]):
            title = clean_title(sec["title"], sec["number"])
            blocks = text_blocks(without_title(sec["text"] or "", title), sec["number"] in TABLE_SECTIONS)
            words = "\n".join(str(v) for k, v in blocks if k != "table")
            assert "|" not in words and "##" not in words and "**" not in words, (rid, sec["number"])
            assert not re.search(r"规章\d|规范性文件\d{3}|第二十条第", words), (rid, sec["number"], words[:200])
            assert len(title) <= 40 and not re.search(r"\d{3}", title), title


def test_markdown_tables_outside_the_table_sections_stay_tables():
    blocks = text_blocks("收费情况如下：\n| 项目 | 金额 |\n|---|---|\n| 收费 | 0 |\n## 说明\n无。")
    assert blocks == [("p", "收费情况如下："), ("table", [["项目", "金额"], ["收费", "0"]]), ("h", "说明"), ("p", "无。")]


def test_quote_and_row_are_found_across_line_breaks():
    text = "一、总体情况\n市科委设立政务公开工作\n协调小组，统筹协调。\n规章 0 0 0\n规范性文件 13 0 55"
    spans = quote_spans(text, "市科委设立政务公开工作协调小组，统筹协调。")
    assert [text[s:e] for s, e in spans] == ["市科委设立政务公开工作\n协调小组，统筹协调"]
    assert [text[s:e] for s, e in row_spans(text, "主动公开|规范性文件")] == ["规范性文件 13 0 55"]
    assert T.printed_label("规范性文件")
