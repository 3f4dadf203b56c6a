"""scripts/bench_build.py incremental: what it measures is a real rebuild of one changed
report, and it leaves the folder and the index as it found them (no timing asserted)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from index import layout

ROOT = Path(__file__).parent.parent


def test_incremental_benchmark_rebuilds_one_report_and_restores_it(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for path in sorted((ROOT / "data").glob("*.txt")):
        shutil.copy(path, inputs / path.name)
    before = {p.name: p.read_bytes() for p in inputs.iterdir()}
    index = tmp_path / "index"
    subprocess.run([sys.executable, "scripts/build_index.py", "--input", str(inputs), "--index", str(index),
                    "--quiet", "--no-embeddings"], cwd=ROOT, check=True, capture_output=True)
    out = tmp_path / "runs.json"
    for fresh in ([], ["--fresh-process"]):
        subprocess.run([sys.executable, "scripts/bench_build.py", "incremental", "--input", str(inputs), "--index",
                        str(index), "--runs", "2", "--pause", "0", "--no-embeddings", "--json", str(out), *fresh],
                       cwd=ROOT, check=True, capture_output=True)
        runs = json.loads(out.read_text(encoding="utf-8"))["runs"]
        assert [r["reports"] for r in runs] == [1, 1]
        assert all(r["cpu_seconds"] > 0 for r in runs)
        if not fresh:  # the first rebuild after a fresh build copies it; the next catches up
            assert [r["started_from"] for r in runs] == ["copied", "caught-up"]
            # the build's own CPU is part of the total, which adds its parse worker's
            assert all(0 < r["build_process_cpu_seconds"] <= r["cpu_seconds"] for r in runs)
        else:
            assert "process (imports, model load, exit)" in runs[0]["timings"]
    assert {p.name: p.read_bytes() for p in inputs.iterdir()} == before
    db = sqlite3.connect(layout.current_dir(index) / layout.DB_NAME)
    assert db.execute("SELECT COUNT(*) FROM passages WHERE text LIKE '%基准测试修改%'").fetchone()[0] == 0
    db.close()


def test_shards_benchmark_reports_rebuild_search_and_ranking(tmp_path):
    """scripts/bench_build.py shards on a real index: one shard (a small index), every text
    question searched, and the count of questions whose best passage is from their report
    is what the index's own search gives."""
    from index.build import build
    from index.retrieval_stage import RetrievalStage

    inputs = tmp_path / "in"
    inputs.mkdir()
    for path in sorted((ROOT / "tests" / "fixtures" / "pingtan").glob("p*.txt"))[:8]:
        shutil.copy(path, inputs / path.name)
    index = tmp_path / "index"
    build(inputs, index, progress=False, stages=[RetrievalStage(dense=False)])
    db = sqlite3.connect(layout.current_dir(index) / layout.DB_NAME)
    reports = db.execute("SELECT id, body, year FROM reports ORDER BY id").fetchall()
    db.close()
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(
        json.dumps({"kind": "text", "question": f"{body}{year}年政府信息公开工作存在的主要问题", "report_id": rid},
                   ensure_ascii=False) + "\n" for rid, body, year in reports), encoding="utf-8")
    out = tmp_path / "shards.json"
    subprocess.run([sys.executable, "scripts/bench_build.py", "shards", "--index", str(index), "--questions",
                    str(questions), "--runs", "1", "--json", str(out)], cwd=ROOT, check=True, capture_output=True)
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["shards"] == 1 and result["questions"] == len(reports) == 8
    from index.lexical import LexicalIndex

    lex = LexicalIndex.load(layout.bm25_dir(layout.current_dir(index)))
    first = [lex.search(f"{body}{year}年政府信息公开工作存在的主要问题", 1)[0][0] for _, body, year in reports]
    assert result["all_shards_top1_from_the_report"] == sum(
        pid.startswith(rid + ":") for pid, (rid, _, _) in zip(first, reports))
    assert result["rebuild_one_shard_cpu_s"] > 0 and set(result["median"]) == {"all shards", "scoped to the report"}
