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
