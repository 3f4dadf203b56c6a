"""Cells settled from outside their own row (issue 9, 'settle more cells honestly'):
a body's next 2019-format report (index.crossyear, at build time) and the report's own
narrative (index.tables pins). Real reports; every settled value is checked against
the golden file read from the original page, and carries its reason."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from conftest import FIXTURES, load_golden
from index import store
from index.build import build, current_dir
from index.parse import parse_report
from index.retrieval_stage import RetrievalStage

R2019 = FIXTURES / "real" / "r004_pingtan_2019.txt"
R2020 = FIXTURES / "real" / "r005_pingtan_2020.txt"
ITEM_ROWS = ("行政许可", "其他对外管理服务事项", "行政处罚", "行政强制", "行政事业性收费")


def facts(index_dir, report_id: str) -> dict[str, sqlite3.Row]:
    db = store.open_readonly(current_dir(index_dir))
    try:
        return {f"{f['tbl']}|{f['row']}|{f['col']}": f
                for f in db.execute("SELECT * FROM facts WHERE report_id = ?", (report_id,))}
    finally:
        db.close()


def item_cells(cells: dict) -> dict:
    return {k: f for k, f in cells.items() if k.split("|")[1] in ITEM_ROWS}


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    return folder


def test_next_years_report_settles_the_run_together_2019_rows(inputs, tmp_path):
    """r004_pingtan_2019 prints '行政许可3960181', '行政处罚26480430' … (golden: 'listed as
    unreadable'); with r005_pingtan_2020 indexed, 2020's 上一年项目数量 = 2019's 上一年项目数量
    + 本年增/减 leaves one reading of 14 cells, each as the original page has it."""
    index_dir = tmp_path / "index"
    shutil.copy(R2019, inputs)
    build(inputs, index_dir, progress=False)
    alone = item_cells(facts(index_dir, "r004_pingtan_2019"))
    assert sum(f["uncertain"] for f in alone.values()) == 14

    shutil.copy(R2020, inputs)  # r004 itself is unchanged: its neighbour is what changed
    summary = build(inputs, index_dir, progress=False)
    assert summary.unchanged == 1
    settled = {}
    for rid in ("r004_pingtan_2019", "r005_pingtan_2020"):
        golden = load_golden(rid)["cells"]
        for key, f in facts(index_dir, rid).items():
            if (f["reason"] or "").startswith("cross-year"):
                assert not f["uncertain"] and f["value"] == golden[key], (rid, key, f["value"])
                settled[(rid, key)] = f["value"]
    assert settled[("r004_pingtan_2019", "主动公开|行政许可|上一年项目数量")] == "396"
    assert settled[("r004_pingtan_2019", "主动公开|行政许可|处理决定数量")] == "181"
    assert settled[("r004_pingtan_2019", "主动公开|行政事业性收费|本年增/减")] == "0"
    assert settled[("r005_pingtan_2020", "主动公开|行政处罚|上一年项目数量")] == "2648"
    assert len(settled) == 14
    after = facts(index_dir, "r004_pingtan_2019")
    # 行政强制 '126025' keeps two readings that both continue into 2020 (126|0|25 -> 126,
    # 1260|2|5 -> 1262): still uncertain
    assert after["主动公开|行政强制|上一年项目数量"]["uncertain"] == 1
    assert "r005_pingtan_2020" in after["主动公开|行政许可|上一年项目数量"]["reason"]


def test_removing_the_next_years_report_undoes_what_it_settled(inputs, tmp_path):
    """Incremental builds: r004's cells go back to uncertain when r005 leaves the index."""
    index_dir = tmp_path / "index"
    shutil.copy(R2019, inputs)
    shutil.copy(R2020, inputs)
    build(inputs, index_dir, progress=False)
    assert facts(index_dir, "r004_pingtan_2019")["主动公开|行政许可|上一年项目数量"]["value"] == "396"
    (inputs / R2020.name).unlink()
    build(inputs, index_dir, progress=False)
    cell = facts(index_dir, "r004_pingtan_2019")["主动公开|行政许可|上一年项目数量"]
    assert cell["uncertain"] == 1 and cell["value"] is None and cell["reason"] is None


def test_settled_cells_reach_the_table_row_passages(inputs, tmp_path):
    """The table-row passage of an unchanged report shows the value its neighbour settled."""
    index_dir = tmp_path / "index"
    shutil.copy(R2019, inputs)
    stage = RetrievalStage(dense=False)
    build(inputs, index_dir, progress=False, stages=[stage])
    shutil.copy(R2020, inputs)
    build(inputs, index_dir, progress=False, stages=[stage])
    db = sqlite3.connect(current_dir(index_dir) / store.DB_NAME)
    text = db.execute("SELECT text FROM passages WHERE report_id = 'r004_pingtan_2019' AND kind = 'table_row' "
                      "AND text LIKE '%行政许可%'").fetchone()[0]
    db.close()
    assert "上一年项目数量 396" in text and "处理决定数量 181" in text


def test_a_body_whose_counts_do_not_carry_over_settles_nothing(inputs, tmp_path):
    """p089/p090_zrzysthj: 2019 行政许可 '000' (0 items) but 2020 上一年项目数量 2, 20 or 201:
    the body did not carry its counts over, so its ambiguous 行政强制 '7020'/'7114' stays
    uncertain although only one 2019 reading (7|0|20) would keep the identity."""
    index_dir = tmp_path / "index"
    for name in ("p089_zrzysthj_2019", "p090_zrzysthj_2020"):
        shutil.copy(FIXTURES / "pingtan" / f"{name}.txt", inputs)
    build(inputs, index_dir, progress=False)
    for rid in ("p089_zrzysthj_2019", "p090_zrzysthj_2020"):
        cells = facts(index_dir, rid)
        assert not [k for k, f in cells.items() if f["reason"] and f["reason"].startswith("cross-year")]
        assert cells["主动公开|行政强制|上一年项目数量"]["uncertain"] == 1


def test_narrative_states_the_cells_of_a_run_together_row():
    """p029_gwhbgs_2025 prints '规范性文件97253' (9|7|253, 9|72|53, 9|725|3) and says
    '现行有效行政规范性文件共253件': 本年废止件数 and 现行有效件数 were uncertain."""
    report = parse_report(FIXTURES / "pingtan" / "p029_gwhbgs_2025.txt")
    row = {f.column: f for f in report.facts if f.table == "主动公开" and f.row == "规范性文件"}
    assert [(row[c].value, row[c].uncertain) for c in ("本年制发件数", "本年废止件数", "现行有效件数")] == \
        [("9", False), ("7", False), ("253", False)]
    assert "现行有效件数 pinned by the narrative (253件)" in row["现行有效件数"].reason


def test_a_store_built_before_the_reason_column_gains_it(tmp_path):
    db = sqlite3.connect(tmp_path / store.DB_NAME)
    db.execute("CREATE TABLE facts (report_id TEXT NOT NULL, tbl TEXT NOT NULL, row TEXT NOT NULL, "
               "col TEXT NOT NULL, value TEXT, number REAL, unit TEXT, raw TEXT, page INTEGER, "
               "blank INTEGER NOT NULL DEFAULT 0, uncertain INTEGER NOT NULL DEFAULT 0, candidates TEXT, "
               "PRIMARY KEY (report_id, tbl, row, col))")
    db.close()
    db = store.connect(tmp_path)
    assert "reason" in {r[1] for r in db.execute("PRAGMA table_info(facts)")}
    db.close()
