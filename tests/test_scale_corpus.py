"""The scale-corpus generator (scripts/make_scale_corpus.py) and the parser on new names.

Twelve generated reports (text in both layouts, markdown, HTML, Word) are indexed with
the structured build only; every report's metadata and every cell must equal
truth.jsonl, and every arithmetic check must pass. Generated data stays in tmp: it
never goes into tests/golden.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from index import template as T
from index.build import build, open_store

ROOT = Path(__file__).parent.parent
N = 12
SEED = 0
FORMATS = ("txt", "md", "html", "docx")  # PDF needs LibreOffice (slow): exercised by the benchmark


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _generator():
    return _script("make_scale_corpus")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    gen = _generator()
    reports = tmp_path_factory.mktemp("scale_reports")
    records = gen.generate(reports, N, seed=SEED, formats=FORMATS)
    truth_dir = tmp_path_factory.mktemp("scale_truth")
    shutil.move(str(reports / "truth.jsonl"), truth_dir / "truth.jsonl")  # not a report to index
    index_dir = tmp_path_factory.mktemp("scale_index")
    summary = build(reports, index_dir, progress=False, stages=[])
    return gen, reports, truth_dir / "truth.jsonl", records, index_dir, summary


def _num(v):
    return Decimal(v) if v is not None else Decimal(0)


def test_truth_file_lists_every_report_with_every_cell(corpus):
    _, reports, truth, records, _, _ = corpus
    lines = [json.loads(line) for line in truth.read_text(encoding="utf-8").splitlines()]
    assert lines == records and len(lines) == N
    assert {r["file"] for r in lines} == {p.name for p in reports.iterdir()}
    assert {r["format"] for r in lines} == set(FORMATS)
    assert {r["layout"] for r in lines if r["format"] == "txt"} == {"tab", "cells"}
    assert {r["template"] for r in lines} == {"2019", "2021"}
    for r in lines:
        assert 2019 <= r["metadata"]["year"] <= 2025
        assert r["template"] == ("2019" if r["metadata"]["year"] <= 2020 else "2021")
        assert sorted(r["cells"]) == sorted(T.cell_keys(r["template"]))


def test_generated_figures_obey_the_template_arithmetic(corpus):
    records = corpus[3]
    for r in records:
        c = {k: _num(v) for k, v in r["cells"].items()}
        rows = T.APPLICATION_ROWS_2019 if r["template"] == "2019" else T.APPLICATION_ROWS_2021
        outcome = [s.key for s in rows[2:-2]]
        app = lambda row, col: c[f"依申请|{row}|{col}"]  # noqa: E731
        for spec in rows:
            assert sum(app(spec.key, col) for col in T.APPLICANT_COLUMNS[:-1]) == app(spec.key, "总计")
        for col in T.APPLICANT_COLUMNS:
            assert app("本年新收", col) + app("上年结转", col) == app("总计", col) + app("结转下年度继续办理", col)
            assert sum(app(row, col) for row in outcome) == app("总计", col)
        for spec in T.REVIEW_ROWS:
            parts = sum(c[f"复议诉讼|{spec.key}|{col}"] for col in T.REVIEW_COLUMNS[:-1])
            assert parts == c[f"复议诉讼|{spec.key}|总计"]


def test_generation_is_deterministic_for_a_seed(corpus, tmp_path):
    gen, reports, _, records, _, _ = corpus
    again = gen.generate(tmp_path, N, seed=SEED, formats=FORMATS)
    assert again == records
    for r in records:
        if r["format"] != "docx":
            assert (tmp_path / r["file"]).read_bytes() == (reports / r["file"]).read_bytes()
    other = gen.generate(tmp_path / "other", 3, seed=SEED + 1, formats=FORMATS)
    assert [r["metadata"]["body"] for r in other] != [r["metadata"]["body"] for r in records[:3]]


def test_parser_reads_every_generated_report_exactly(corpus):
    """What scripts/bench_build.py accuracy reports at 1k and 10k reports, on a few."""
    compare_with_truth = _script("bench_build").compare_with_truth
    _, _, _, records, index_dir, summary = corpus
    assert not summary.rejected
    assert summary.total_reports == N
    db = open_store(index_dir)
    try:
        result = compare_with_truth(db, records)
    finally:
        db.close()
    assert result["problems"] == []
    assert result["cells_exact"] == result["cells"] == sum(len(r["cells"]) for r in records)
    assert result["reports_exact"] == N


def test_every_arithmetic_check_of_every_generated_report_passes(corpus):
    index_dir = corpus[4]
    db = open_store(index_dir)
    try:
        rules = {row[0]: row[1] for row in db.execute(
            "SELECT rule, COUNT(DISTINCT report_id) FROM checks GROUP BY rule")}
        for rule in ("勾稽关系", "申请人合计", "办理结果合计", "复议诉讼合计"):
            assert rules.get(rule) == N, (rule, rules)
        bad = db.execute("SELECT report_id, rule, scope, detail FROM checks "
                         "WHERE passed IS NULL OR passed = 0").fetchall()
        assert not bad, [tuple(b) for b in bad]
    finally:
        db.close()


def test_blank_cell_before_a_merged_last_cell_stays_in_its_column(tmp_path):
    """Seed 7, report 3 (HTML, 2019 template): 行政事业性收费 prints a blank 上一年项目数量
    and 本年增/减 = 2 in a cell spanning two columns."""
    from index.parse import parse_report

    record = _generator().generate(tmp_path, 4, seed=7, formats=FORMATS)[3]
    assert record["format"] == "html"
    parsed = parse_report(tmp_path / record["file"])
    got = {f.key: f.value for f in parsed.facts if f.row == "行政事业性收费"}
    want = {k: v for k, v in record["cells"].items() if "|行政事业性收费|" in k}
    assert got == want
