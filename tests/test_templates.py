"""Report templates are data (index.template): a third format is one registry entry.

The toy format below is the 2019 one with a column renamed (本年新制作数量 ->
本年新印发数量), one more 第二十条 row (政务服务事项: 受理 = 办结 + 在办) and an
arithmetic rule for it. It is registered through the public API at test time; the
parser, the checks, the facts store reader and question understanding handle a report
in it without any other code knowing it exists. The report is seed 003 (柔远镇 2020,
a 2019-format report from data/) rewritten into the toy format.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from index import store as S
from index import template as T
from index.factstore import SQLiteFactStore
from index.parse import parse_report
from qa.facts import figure_values, row_label
from qa.understand import Catalog, resolve_column, understand

ROOT = Path(__file__).resolve().parent.parent
SEED = next((ROOT / "data").glob("003_*.txt"))  # 沙坡头区柔远镇 2020, 2019 format
TOY = "2019-toy"
RENAMED = "本年新印发数量"
SERVICE_COLUMNS = ("受理数量", "办结数量", "在办数量")


def toy_template() -> T.Template:
    base = T.template_for("2019")
    rename = {"本年新制作数量": RENAMED}
    active = tuple(dataclasses.replace(r, columns=tuple(rename.get(c, c) for c in r.columns))
                   for r in base.active_rows)
    service = T.RowSpec(T.ACTIVE, "政务服务事项", ("政务服务事项",), SERVICE_COLUMNS, "件",
                        printed="第二十条第（十）项 政务服务事项")
    rule = T.Rule("政务服务合计", T.ACTIVE, "row", ("政务服务事项",),
                  (("办结数量", "办结数量"), ("在办数量", "在办数量")), (("受理数量", "受理数量"),))
    return dataclasses.replace(
        base, version=TOY, title="玩具格式（测试用）", markers=(RENAMED, "对外公开总数量", "上一年项目数量", "政务服务事项"),
        hints=(), active_rows=active + (service,), columns={**base.columns, "@issued": RENAMED},
        rules=base.rules + (rule,), carried=None)


def toy_report(tmp_path: Path, in_progress: int = 2) -> Path:
    """Seed 003 in the toy format: 规章 2/2/5, 政务服务事项 12/10/in_progress, and three
    applications from individuals, all answered 予以公开."""
    text = SEED.read_text(encoding="utf-8")
    edits = [
        ("信息内容\t本年新制作数量\t本年新公开数量\t对外公开总数量\n规章\t0\t0\t0",
         f"信息内容\t{RENAMED}\t本年新公开数量\t对外公开总数量\n规章\t2\t2\t5"),
        ("政府集中采购\t0\t0\n",
         "政府集中采购\t0\t0\n第二十条第（十）项\n信息内容\t" + "\t".join(SERVICE_COLUMNS)
         + f"\n政务服务事项\t12\t10\t{in_progress}\n"),
        ("一、本年新收政府信息公开申请数量\t\t0\t0\t0\t0\t0\t0\t0",
         "一、本年新收政府信息公开申请数量\t\t3\t0\t0\t0\t0\t0\t3"),
        ("(一) 予以公开\t0\t0\t0\t0\t0\t0\t0", "(一) 予以公开\t3\t0\t0\t0\t0\t0\t3"),
        ("(七) 总计\t0\t0\t0\t0\t0\t0\t0", "(七) 总计\t3\t0\t0\t0\t0\t0\t3"),
    ]
    for old, new in edits:
        assert text.count(old) == 1, old  # the seed still reads as this test expects
        text = text.replace(old, new)
    path = tmp_path / f"toy_{in_progress}.txt"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def toy():
    template = T.register(toy_template())
    try:
        yield template
    finally:
        T.unregister(TOY)


def test_a_registered_template_parses_a_report_in_its_format(toy, tmp_path):
    report = parse_report(toy_report(tmp_path))
    facts = {f.key: f for f in report.facts}
    assert report.template == TOY
    assert facts[f"主动公开|规章|{RENAMED}"].value == "2"
    assert facts["主动公开|规章|对外公开总数量"].value == "5"
    assert [facts[f"主动公开|政务服务事项|{c}"].value for c in SERVICE_COLUMNS] == ["12", "10", "2"]
    assert "主动公开|规章|本年新制作数量" not in facts
    assert facts["依申请|本年新收|自然人"].value == "3"
    assert not report.uncertain_cells
    rules = {c.rule for c in report.checks}
    assert {"勾稽关系", "办理结果合计", "政务服务合计"} <= rules
    assert not report.failed_checks


def test_the_template_rule_fails_when_the_report_does_not_add_up(toy, tmp_path):
    report = parse_report(toy_report(tmp_path, in_progress=3))
    failed = report.failed_checks
    assert [(c.rule, c.scope) for c in failed] == [("政务服务合计", "政务服务事项")]
    assert "13 ≠ 12" in failed[0].detail


def test_questions_read_the_toy_column_through_the_template(toy, tmp_path):
    db = S.connect(tmp_path / "index")
    S.save_report(db, parse_report(toy_report(tmp_path)))
    db.commit()
    fact_store = SQLiteFactStore(db)
    catalog = Catalog.from_db(fact_store)
    query = understand("柔远镇2020年新制作了多少件规章？", catalog=catalog)
    assert query.figure.rows == ("规章",) and query.figure.columns == ("@issued",)
    assert resolve_column("@issued", TOY) == RENAMED
    [value] = figure_values(fact_store, [r for r in catalog.reports if r.template == TOY], query.figure)
    assert value.status == "ok" and value.text_value == "2"
    assert value.cells[0].column == RENAMED
    assert row_label("政务服务事项") == "第二十条第（十）项 政务服务事项"


def test_unregistering_restores_the_built_in_formats(tmp_path):
    T.register(toy_template())
    T.unregister(TOY)
    assert [t.version for t in T.templates()] == list(T.TEMPLATE_VERSIONS)
    # without the toy entry, the same report reads as the 2019 format it came from
    report = parse_report(toy_report(tmp_path))
    assert report.template == "2019"
    assert "主动公开|政务服务事项|受理数量" not in {f.key for f in report.facts}
    assert row_label("政务服务事项") == "政务服务事项"


def test_registry_refuses_a_duplicate_and_names_the_known_versions():
    with pytest.raises(ValueError, match="already registered"):
        T.register(T.template_for("2021"))
    with pytest.raises(ValueError, match="'2019', '2021'"):
        T.template_for("2030")
