"""The facts store (index.factstore): what question answering, the API and the web page
read from an index, through the interface both stores implement (SQLite; PostgreSQL
with ``pytest --facts postgres``, see tests/conftest.py).

Runs against the session's real index (tests/conftest.py ``full_index``: the five
sample township reports and the 15 real ones) and checks values a person read from
the documents (tests/golden).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import golden_files, load_golden
from index.factstore import FactStore, SQLiteFactStore, open_fact_store

JIAOCHA = "000_8d3f9a9668695af1"  # 彭阳县交岔乡 2021 (2021 tables)
QUNFENG = "001_cbb814ea69df7004"  # 群峰乡 2021: one cell printed empty
GUANTING = "002_5c7fe3973992ed22"  # 官厅镇 2021: 行政事业性收费 0.7 万元
ROUYUAN = "003_fb8decbe9b2e9cc0"  # 柔远镇 2020 (2019 tables)
PINGTAN_2020 = "r005_pingtan_2020"  # fails two of its own sums
PINGTAN_2021 = "r006_pingtan_2021"  # three cells unreadable
SEEDS = [JIAOCHA, QUNFENG, GUANTING, ROUYUAN, "004_a04ca5119211b350"]


@pytest.fixture(scope="module")
def store(full_index):
    with open_fact_store(full_index) as opened:
        yield opened


def golden_of(report_id: str) -> dict:
    return next(g for g in map(load_golden, (p.stem for p in golden_files()))
                if Path(g["file"]).stem == report_id)


def test_the_served_store_is_the_one_the_build_wrote_and_read_only(store, facts_url):
    if facts_url is None:
        assert isinstance(store, SQLiteFactStore)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.db.execute("DELETE FROM facts")
    else:  # --facts postgres: the serving role in a read-only transaction
        import psycopg

        from index.pgstore import PostgresFactStore

        assert isinstance(store, PostgresFactStore)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            store.db.execute("DELETE FROM facts")
    assert isinstance(store, FactStore)


def test_no_index_says_how_to_build_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="scripts/build_index.py"):
        open_fact_store(tmp_path)


# ---------------------------------------------------------------------- reports
def test_catalog_lists_every_report_by_year(store):
    reports = store.catalog_reports()
    assert len(reports) == store.report_count() == 20
    assert [r["year"] for r in reports] == sorted(r["year"] for r in reports)
    jiaocha = next(r for r in reports if r["id"] == JIAOCHA)
    assert (jiaocha["body"], jiaocha["short_name"], jiaocha["level"], jiaocha["year"], jiaocha["template"]) \
        == ("彭阳县交岔乡人民政府", "交岔乡", "township", 2021, "2021")


def test_report_menu_is_by_level_then_name_then_year(store):
    menu = [(r["level"], r["short_name"] or r["body"], r["year"]) for r in store.reports_by_name()]
    assert menu == sorted(menu)
    assert [year for level, name, year in menu if name == "平潭综合实验区"] == list(range(2019, 2026))


def test_report_listing_filters_pages_and_counts(store):
    townships, count = store.list_reports(level="township")
    assert count == 5 and {r["id"] for r in townships} == set(SEEDS)
    page, count = store.list_reports(name="平潭", offset=1, limit=2)
    assert count == 7
    assert [r["year"] for r in page] == [2024, 2023]  # newest first, second page of two
    huaian, count = store.list_reports(region="淮安市")
    assert count == 3 and {r["short_name"] for r in huaian} == {"淮安市", "洪泽区"}


def test_one_report_carries_its_failed_check_and_uncertain_counts(store):
    r = store.report(PINGTAN_2020)
    assert (r["short_name"], r["year"], r["template"]) == ("平潭综合实验区", 2020, "2019")
    assert r["failed_checks"] == 2
    assert r["uncertain_cells"] == store.uncertain_counts([PINGTAN_2020])[PINGTAN_2020]
    assert store.report("no_such_report") is None


def test_titles_and_build_info(store, full_index):
    titles = store.report_titles([JIAOCHA, "no_such_report"])
    assert list(titles) == [JIAOCHA] and "交岔乡" in titles[JIAOCHA]
    info = store.build_info()
    assert info["report_count"] == "20" and info["built_at"] and Path(info["input_dir"]).is_dir()


# ---------------------------------------------------------------------- table cells
@pytest.mark.parametrize("report_id", SEEDS)
def test_every_cell_of_a_seed_report_is_as_printed(store, report_id):
    golden = golden_of(report_id)
    stored = {f"{c['tbl']}|{c['row']}|{c['col']}": c
              for table in ("主动公开", "依申请", "复议诉讼") for c in store.cells([report_id], table)}
    assert {key: c["value"] for key, c in stored.items()} == golden["cells"]


def test_a_known_cell_keeps_its_number_unit_and_flags(store):
    fee = next(c for c in store.cells([GUANTING, JIAOCHA], "主动公开")
               if c["report_id"] == GUANTING and (c["row"], c["col"]) == ("行政事业性收费", "本年收费金额"))
    assert (fee["value"], fee["number"], fee["unit"], fee["blank"], fee["uncertain"]) == ("0.7", 0.7, "万元", 0, 0)
    assert store.cells([], "主动公开") == []


def test_a_2019_table_is_told_by_its_columns(store):
    assert store.has_column(ROUYUAN, "主动公开", "本年新制作数量")
    assert not store.has_column(JIAOCHA, "主动公开", "本年新制作数量")


def test_blank_cells_are_the_ones_printed_empty(store):
    blanks = store.blank_cells([QUNFENG, JIAOCHA])
    assert [(c["report_id"], c["tbl"], c["row"], c["col"], c["value"]) for c in blanks] \
        == [(QUNFENG, "主动公开", "行政强制", "本年处理决定数量", None)]
    shanghai = "r014_shanghai_govoffice_2019"
    assert len(store.blank_cells([shanghai])) == list(golden_of(shanghai)["cells"].values()).count(None) == 135


def test_uncertain_cells_are_the_unreadable_ones(store):
    assert store.uncertain_counts([PINGTAN_2021, JIAOCHA]) == {PINGTAN_2021: 3}  # 交岔乡 has none
    uncertain = {f"{c['tbl']}|{c['row']}|{c['col']}" for c in store.report_facts(PINGTAN_2021) if c["uncertain"]}
    assert uncertain == set(golden_of(PINGTAN_2021)["unreadable"])


def test_reports_with_facts(store):
    assert store.reports_with_facts([JIAOCHA, "no_such_report"]) == {JIAOCHA}


def test_report_facts_come_in_reading_order(store):
    row = store.report_facts(JIAOCHA, "依申请", ["本年新收"])
    assert [c["col"] for c in row] == ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]
    assert {c["value"] for c in row} == {"0"}
    everything = store.report_facts(JIAOCHA)
    assert len(everything) == len(golden_of(JIAOCHA)["cells"]) == 200
    assert [c["tbl"] for c in everything][0] == "主动公开"


# ---------------------------------------------------------------------- sections
def test_sections_of_a_report(store):
    third = store.section(JIAOCHA, 3)
    assert third["title"] == "三、收到和处理政府信息公开申请情况" and "本年新收" in third["text"]
    assert store.section(JIAOCHA, 9) is None
    both = store.sections([ROUYUAN, JIAOCHA])
    assert [(s["report_id"], s["number"]) for s in both] == sorted((s["report_id"], s["number"]) for s in both)
    assert {s["report_id"] for s in both} == {ROUYUAN, JIAOCHA} and store.sections([]) == []


# ---------------------------------------------------------------------- checks
def test_failed_checks_of_a_report_give_the_equation(store):
    failed = store.failed_checks([PINGTAN_2020, JIAOCHA])
    assert [(c["report_id"], c["rule"]) for c in failed] == [(PINGTAN_2020, "办理结果合计")] * 2
    assert "≠" in failed[0]["detail"]
    checks = store.report_checks(PINGTAN_2020)
    assert [c["passed"] for c in checks].count(0) == 2 and any(c["passed"] == 1 for c in checks)


def test_failed_checks_across_reports(store):
    failing = {c["report_id"] for c in store.list_failed_checks()}
    assert PINGTAN_2020 in failing and JIAOCHA not in failing
    assert {c["report_id"] for c in store.list_failed_checks(year=2020)} == {PINGTAN_2020}
    assert store.list_failed_checks(level="township") == []
    assert {c["report_id"] for c in store.list_failed_checks(rule="办理结果合计")} >= {PINGTAN_2020}
    assert len(store.list_failed_checks(undecided=True)) >= len(store.list_failed_checks())
