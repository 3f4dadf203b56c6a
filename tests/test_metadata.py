"""Every document's issuing body, level and year, as its golden file records them."""

import csv
import re

import pytest

from conftest import FIXTURES, fixture_path, golden_files, load_golden
from index.load import load_document
from index.metadata import (LEVEL_RULES, body_from_title, extract_metadata, level_of, plain_title, regions_of,
                            short_name_of)

GOLDEN_NAMES = [p.stem for p in golden_files()]


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_metadata_matches_golden(name):
    golden = load_golden(name)
    meta = extract_metadata(load_document(fixture_path(golden)))
    expected = golden["metadata"]
    assert (meta.body, meta.level, meta.year) == (expected["body"], expected["level"], expected["year"])


def test_year_is_the_year_covered_not_the_publish_year():
    """r004 covers 2019 and was published 2020-01-20."""
    meta = extract_metadata(load_document(fixture_path(load_golden("r004_pingtan_2019"))))
    assert meta.year == 2019
    assert meta.publish_date == "2020-01-20"


def test_ocr_confusion_in_place_name_is_fixed():
    """r013 prints 沭阳 as 沐阳 throughout."""
    meta = extract_metadata(load_document(fixture_path(load_golden("r013_shuyang_county_2025"))))
    assert meta.body == "沭阳县人民政府"
    assert "沐阳" not in meta.title


def test_document_number_is_the_reports_own():
    """Seed 004 carries its 文号 above the title; documents cited in sentences are not it."""
    meta = extract_metadata(load_document(fixture_path(load_golden("seed_004"))))
    assert meta.doc_number == "永大政〔2021〕69号"
    r012 = extract_metadata(load_document(fixture_path(load_golden("r012_shanghai_govoffice_2025"))))
    assert r012.doc_number is None  # it only cites 国办公开办函〔2021〕30号


@pytest.mark.parametrize("body, level, short", [
    ("彭阳县交岔乡人民政府", "township", "交岔乡"),
    ("原州区官厅镇人民政府", "township", "官厅镇"),
    ("淮安市洪泽区人民政府", "county", "洪泽区"),
    ("淮安市人民政府", "city", "淮安市"),
    ("上海市人民政府办公厅", "province", "上海市人民政府办公厅"),
    ("江苏省人民政府", "province", "江苏省"),
    ("沭阳县发展和改革局", "department", "沭阳县发展和改革局"),
    ("平潭综合实验区管理委员会", "city", "平潭综合实验区"),
    ("南京市玄武区新街口街道办事处", "township", "新街口街道"),
    ("平潭综合实验区君山片区管理局", "township", "君山片区"),
])
def test_level_and_short_name_from_body(body, level, short):
    assert level_of(body) == level
    assert short_name_of(body) == short


# --- Every report of the corpus against its MANIFEST -------------------------------------

def _without_parentheticals(name: str) -> str:
    """'平潭综合实验区管理委员会（平潭综合实验区党工委管委会）' -> '平潭综合实验区管理委员会'."""
    return re.sub(r"（.*?）|\(.*?\)", "", name)


def corpus_reports():
    """(file, body, level, year) of every report in tests/fixtures/seeds (from its golden
    file), tests/fixtures/real and tests/fixtures/pingtan (from their MANIFEST.tsv)."""
    cases = []
    for golden_path in golden_files():
        golden = load_golden(golden_path.stem)
        path = fixture_path(golden)
        if path.parent.name == "seeds":
            meta = golden["metadata"]
            cases.append(pytest.param(path, meta["body"], meta["level"], meta["year"], id=path.name))
    for folder in ("real", "pingtan"):
        with open(FIXTURES / folder / "MANIFEST.tsv", encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                body = row.get("body") or row["agency"]
                cases.append(pytest.param(FIXTURES / folder / row["file"], body, row["level"], int(row["year"]),
                                          id=row["file"]))
    return cases


CORPUS = corpus_reports()


def test_corpus_has_every_fixture_report():
    """The parametrised test below covers every report file of the three folders."""
    listed = {case.values[0].name for case in CORPUS}
    files = {p.name for folder in ("seeds", "real", "pingtan") for p in (FIXTURES / folder).iterdir()
             if p.name != "MANIFEST.tsv"}
    assert listed == files
    assert len(listed) == 5 + 15 + 93


@pytest.mark.parametrize("path, body, level, year", CORPUS)
def test_body_level_and_year_match_the_manifest(path, body, level, year):
    """Issue 9: the 14 片区 reports of Pingtan were classed department."""
    meta = extract_metadata(load_document(path))
    assert (_without_parentheticals(meta.body), meta.level, meta.year) == (_without_parentheticals(body), level, year)


# --- Titles in every form: the body never keeps letter wording --------------------------

@pytest.mark.parametrize("title, body", [
    # letters (issue 9)
    ("平潭综合实验区海坛片区管理局 关于2021年度政府信息公开工作年度报告", "平潭综合实验区海坛片区管理局"),
    ("平潭综合实验区海坛片区管理局关于报送2020年度政府信息公开工作年度报告的函", "平潭综合实验区海坛片区管理局"),
    ("关于报送平潭综合实验区海坛片区管理局2020年度政府信息公开工作年度报告的函", "平潭综合实验区海坛片区管理局"),
    ("平潭综合实验区公安局关于2019年政府信息公开工作年度报告的报告", "平潭综合实验区公安局"),
    ("彭阳县交岔乡人民政府关于印发《彭阳县交岔乡2021年度政府信息公开工作年度报告》的通知", "彭阳县交岔乡人民政府"),
    # spaces and invisible characters inside the name
    ("平潭综合实验区 海坛片区管理局 2022年度政府信息公开工作年度报告", "平潭综合实验区海坛片区管理局"),
    ("平潭综合实验区\u200b君山片区管理局\u3000 2020 年政府信息公开工作年度报告", "平潭综合实验区君山片区管理局"),
    # crawler headers and quotes
    ("标题: 平潭综合实验区君山片区管理局2020年政府信息公开工作年度报告", "平潭综合实验区君山片区管理局"),
    ("【标题】平潭综合实验区君山片区管理局2020年政府信息公开工作年度报告", "平潭综合实验区君山片区管理局"),
    ("《平潭综合实验区公安局2019年政府信息公开工作年度报告》", "平潭综合实验区公安局"),
    # the year first, last, or in Chinese numerals
    ("2024年上海市科委政府信息公开工作年度报告", "上海市科委"),
    ("2021年度沭阳县人民政府信息公开工作年度报告", "沭阳县人民政府"),
    ("沭阳县人民政府政府信息公开工作年度报告（2021年度）", "沭阳县人民政府"),
    ("彭阳县交岔乡人民政府二〇二一年政府信息公开工作年度报告", "彭阳县交岔乡人民政府"),
    ("政府信息公开工作年度报告", ""),
])
def test_body_from_title_in_every_form(title, body):
    assert body_from_title(title) == body


@pytest.mark.parametrize("fixture, printed, letter", [
    ("p005_haitan_2020.txt", "平潭综合实验区海坛片区管理局2020年度政府信息公开工作年度报告",
     "平潭综合实验区海坛片区管理局关于报送2020年度政府信息公开工作年度报告的函"),
    ("p006_haitan_2022.txt", "平潭综合实验区海坛片区管理局 2022年度政府信息公开工作年度报告",
     "平潭综合实验区海坛片区管理局 关于2022年度政府信息公开工作年度报告"),
    ("p006_haitan_2022.txt", "平潭综合实验区海坛片区管理局 2022年度政府信息公开工作年度报告",
     "平潭综合实验区 海坛片区管理局2022年度政府信息公开工作年度报告"),
])
def test_report_titled_as_a_letter_keeps_its_body(tmp_path, fixture, printed, letter):
    """Issue 9: a real report whose title is a letter gave a body ending in 关于 / 关于报送."""
    text = (FIXTURES / "pingtan" / fixture).read_text(encoding="utf-8")
    assert printed in text
    path = tmp_path / fixture
    path.write_text(text.replace(printed, letter), encoding="utf-8")
    meta = extract_metadata(load_document(path))
    assert (meta.body, meta.short_name, meta.level) == ("平潭综合实验区海坛片区管理局", "海坛片区", "township")
    assert meta.title == plain_title(letter)


def test_body_named_only_by_the_crawler_publisher_field(tmp_path):
    """A title that names no body: the crawler's 发布机构 field names it."""
    source = FIXTURES / "pingtan" / "p030_gzj_2019.txt"
    text = source.read_text(encoding="utf-8")
    assert "发布机构: 平潭综合实验区国有资产管理局" in text
    path = tmp_path / source.name
    path.write_text(text.replace("平潭综合实验区国有资产管理局 2019年政府信息公开工作年度报告",
                                 "2019年政府信息公开工作年度报告")
                    .replace("平潭综合实验区国有资产管理局2019年政府信息公开工作年度报告",
                             "2019年政府信息公开工作年度报告"), encoding="utf-8")
    meta = extract_metadata(load_document(path))
    assert (meta.body, meta.year) == ("平潭综合实验区国有资产管理局", 2019)


def test_title_naming_the_body_by_its_everyday_name_is_completed_from_the_text(tmp_path):
    """'君山片区2020年…' → the 管理局 the text spells out, with its zone in front."""
    source = FIXTURES / "pingtan" / "p001_junshan_2020.txt"
    text = source.read_text(encoding="utf-8")
    path = tmp_path / source.name
    path.write_text(text.replace("平潭综合实验区君山片区管理局2020年", "君山片区2020年"), encoding="utf-8")
    assert "平潭综合实验区君山片区管理局" in path.read_text(encoding="utf-8")  # the page's breadcrumb
    meta = extract_metadata(load_document(path))
    assert (meta.body, meta.level, meta.city) == ("平潭综合实验区君山片区管理局", "township", "平潭综合实验区")


# --- The level rule table ---------------------------------------------------------------

LEVEL_EXAMPLES = [
    ("平潭综合实验区君山片区管理局", "township"),
    ("平潭综合实验区海坛片区管理局", "township"),
    ("彭阳县交岔乡人民政府", "township"),
    ("沙坡头区柔远镇人民政府", "township"),
    ("南京市玄武区新街口街道办事处", "township"),
    ("南京市玄武区新街口街道", "township"),
    ("达拉特旗昭君镇管理委员会", "township"),
    ("新街口办事处", "township"),
    ("淮安市洪泽区人民政府", "county"),
    ("沭阳县人民政府", "county"),
    ("沭阳县人民政府办公室", "county"),
    ("苏州市昆山市人民政府", "county"),
    ("上海市浦东新区人民政府", "county"),
    ("淮安市淮安经济技术开发区管理委员会", "county"),
    ("淮安市人民政府", "city"),
    ("延边朝鲜族自治州人民政府", "city"),
    ("锡林郭勒盟行政公署", "city"),
    ("平潭综合实验区管理委员会（平潭综合实验区党工委管委会）", "city"),
    ("江苏省人民政府", "province"),
    ("上海市人民政府办公厅", "province"),
    ("宁夏回族自治区人民政府办公厅", "province"),
    ("沭阳县发展和改革局", "department"),
    ("上海市科学技术委员会", "department"),
    ("平潭综合实验区管委会办公室", "department"),
    ("平潭综合实验区财政金融局", "department"),
    ("淮安市人民政府驻北京办事处", "department"),
    ("沭阳县乡村振兴局", "department"),
    ("江苏省政务服务中心", "department"),
]


@pytest.mark.parametrize("body, level", LEVEL_EXAMPLES)
def test_level_from_the_rule_table(body, level):
    assert level_of(body) == level


def test_every_level_rule_decides_some_example():
    """No row of LEVEL_RULES is shadowed by the rows before it."""
    def first_row(body):
        name = re.sub(r"（.*?）", "", body)
        return next(i for i, (_, pattern, _) in enumerate(LEVEL_RULES) if re.search(pattern, name))
    assert {first_row(body) for body, _ in LEVEL_EXAMPLES} == set(range(len(LEVEL_RULES)))


@pytest.mark.parametrize("body, regions", [
    ("淮安市洪泽区人民政府", (None, "淮安市", "洪泽区")),
    ("苏州市昆山市人民政府", (None, "苏州市", "昆山市")),
    ("上海市科学技术委员会", ("上海市", None, None)),
    ("北京市朝阳区人民政府", ("北京市", None, "朝阳区")),
    ("宁夏回族自治区固原市原州区官厅镇人民政府", ("宁夏回族自治区", "固原市", "原州区")),
    ("沭阳县发展和改革局", (None, None, "沭阳县")),
    # Pingtan's departments and 片区 sit in the city-level 平潭综合实验区 (issue 9: "平潭的片区")
    ("平潭综合实验区君山片区管理局", (None, "平潭综合实验区", None)),
    ("平潭综合实验区财政金融局", (None, "平潭综合实验区", None)),
    ("平潭综合实验区管理委员会（平潭综合实验区党工委管委会）", (None, "平潭综合实验区", None)),
])
def test_regions_named_by_the_body(body, regions):
    assert regions_of(body) == regions


def test_every_pingtan_report_is_in_the_pingtan_region():
    for path in sorted((FIXTURES / "pingtan").glob("p*.txt")):
        meta = extract_metadata(load_document(path))
        assert meta.city == "平潭综合实验区", path.name
        assert meta.short_name.endswith("片区") == (meta.level == "township"), path.name
