"""scripts/bench_pg.py and scripts/project_scale.py on two small generated corpora (issue 14).

bench_pg runs for real (the pipeline, SQLite, a throw-away PostgreSQL cluster it starts
itself) on 20 and 40 reports from scripts/make_scale_corpus.py; project_scale then reads
the two JSON files. The figures must agree with the corpus's truth.jsonl (fact rows), the
PostgreSQL server's CPU must be read, a second one-report rebuild must catch up instead of
copying, and the projection of the counts must follow them. No timing is asserted.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from pg_cluster import server_bin

ROOT = Path(__file__).parent.parent
FORMATS = ("txt", "md", "html")


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if server_bin() is None:
        pytest.skip("PostgreSQL's server is not installed (`make postgres`)")
    make, bench = _script("make_scale_corpus"), _script("bench_pg")
    out = {}
    for n in (20, 40):
        corpus = tmp_path_factory.mktemp(f"corpus{n}")
        make.generate(corpus, n, seed=3, formats=FORMATS)
        result = tmp_path_factory.mktemp(f"result{n}") / "bench.json"
        assert bench.main(["--corpus", str(corpus), "--work", str(tmp_path_factory.mktemp(f"work{n}")),
                           "--runs", "1", "--facts-runs", "2", "--incremental-runs", "2", "--server-questions", "0",
                           "--structured", "10", "--text", "5", "--follow-ups", "5", "--json", str(result)]) == 0
        truth = [json.loads(line) for line in (corpus / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
        out[n] = (json.loads(result.read_text(encoding="utf-8")), truth)
    return out


def test_both_stores_hold_every_cell_of_the_corpus(runs):
    for n, (result, truth) in runs.items():
        cells = sum(len(r["cells"]) for r in truth)
        for store in ("sqlite", "postgres"):
            held = result["stores"][store]["holdings"]
            assert held["reports_rows"] == n and held["facts_rows"] == cells, (n, store)
            assert 0 < held["text_passages"] < held["passages"] and held["bm25_bytes"] > 0
        assert result["stores"]["postgres"]["holdings"]["pg_schema_bytes"] > 0
        assert "pg_schema_bytes" not in result["stores"]["sqlite"]["holdings"]


def test_cpu_seconds_and_load_are_recorded_beside_wall_time(runs):
    result, _ = runs[40]
    sqlite, postgres = result["stores"]["sqlite"]["build"], result["stores"]["postgres"]["build"]
    assert sqlite["cpu_s"] > 0 and "pg_cpu_s" not in sqlite and sqlite["load_mean"] >= 0
    assert postgres["pg_cpu_s"] > 0  # the server's processes, read from /proc
    assert result["reports_per_shard"] > 0 and result["commit"]


def test_the_second_one_report_rebuild_catches_up_in_both_stores(runs):
    result, _ = runs[40]
    for store in ("sqlite", "postgres"):
        inc = result["stores"][store]["incremental"]
        assert [r["started_from"] for r in inc["runs"]] == ["copied", "caught-up"], store


def test_projection_follows_the_counts_and_says_what_will_not_hold(runs, tmp_path, capsys):
    project = _script("project_scale")
    files = []
    for n, (result, _) in runs.items():
        files.append(tmp_path / f"{n}.json")
        files[-1].write_text(json.dumps(result), encoding="utf-8")
    out = tmp_path / "projection.json"
    assert project.main([*map(str, files), "--to", "1000", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    proj = json.loads(out.read_text(encoding="utf-8"))["stores"]
    for store in ("sqlite", "postgres"):
        assert proj[store]["reports"]["projected"] == pytest.approx(1000)
        per_report = [runs[n][0]["stores"][store]["holdings"]["facts_rows"] / n for n in runs]
        assert min(per_report) * 900 < proj[store]["fact rows"]["projected"] < max(per_report) * 1100
        assert proj[store]["fact rows"]["shape"] == "linear"
    assert "What will not hold at 1,000 reports" in printed and "| **total** |" in printed
    assert project.main([str(files[0]), str(files[0])]) == 2  # one size: nothing to fit
