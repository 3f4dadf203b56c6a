#!/usr/bin/env python
"""Benchmark index builds: reports/s end to end, split into parse, store and the
retrieval stage's parts; and the incremental rebuild after one report changes.

    python scripts/bench_build.py full --input var/scale/r1k --runs 3            # fresh index each run
    python scripts/bench_build.py full --input var/scale/r10k --runs 3 --no-embeddings   # parse + facts + BM25
    python scripts/bench_build.py incremental --input var/scale/r10k --index var/scale/idx10k --runs 3
    python scripts/bench_build.py incremental --input var/scale/r10k --index var/scale/idx10k --runs 5 --fresh-process
    python scripts/bench_build.py accuracy --input var/scale/r10k --index var/scale/idx10k  # vs truth.jsonl
    python scripts/bench_build.py model-load --runs 5   # a fresh process loading the model, each backend (onnx, torch)
    python scripts/bench_build.py backends --index var/index --n 512 --runs 2   # the backends' vectors and speed
    python scripts/bench_build.py shards --index var/scale/idx10k --questions q10k.jsonl --runs 3   # what the BM25 shard size costs

``full`` builds a fresh index (in --work, deleted afterwards unless --keep) per run,
with the embedding cache empty, so every passage goes through the model.
``incremental`` needs a built index of --input: each run changes one text report of
the folder (appends a new sentence to its section 六) and rebuilds, which is what staff
do when one report is corrected; the embedding model is loaded first, as in a running
process (a fresh process adds its import and load). With ``--fresh-process`` each rebuild is a new
``scripts/build_index.py`` process instead, timed end to end (Python start, imports,
model load when something is embedded, the build, the summary). The file is restored at
the end.

``model-load`` starts a fresh Python per run and backend that imports what a build
imports, loads the embedding model (int8, index.embeddings: ``onnx``, the ONNX export
run by onnxruntime, made first if missing; ``torch``, sentence-transformers) and embeds
one text, and reports wall and CPU seconds (CPU seconds: what the
process itself spent, steadier than wall time on a shared machine).
The builds use the settings of the environment (``NIANBAO_EMBEDDING_BACKEND`` …). ``incremental`` and
``full`` runs also record the build's CPU seconds (its own and its parse worker's, and
its own alone: ``build_process_cpu_seconds``).

``shards`` measures the two sides of the BM25 shard size (index.lexical) on a built
index: CPU seconds and resident memory to load the shards, CPU seconds to rebuild one
shard from its passages (three shards, median), and
CPU milliseconds per BM25 search of the text questions of a ``scripts/bench_scale.py
queries`` file, over every shard (no filter) and scoped to the question's report's text
passages (what text answers search once they know the body: shards without the report
are skipped). p50/p95 per run, then the median of the runs. Ranking over every shard: how
many questions' best passage is from their report.

``backends`` embeds the same N text passages of a built index (a fixed sample) with each
backend and variant (ONNX int8, torch int8, torch float32), batched as a build does,
and reports CPU seconds and passages/s per run, and the cosine of each to torch float32
and of ONNX int8 to torch int8 (mean and min).

``accuracy`` compares an index built from a generated corpus (scripts/make_scale_corpus.py)
with the corpus's ``truth.jsonl``: metadata and every table cell, exact.

Prints one line per run and the medians; ``--json FILE`` writes every run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from index.build import build  # noqa: E402
from index.retrieval_stage import RetrievalStage  # noqa: E402
from index.settings import Settings  # noqa: E402

CHANGE = "\n本机关将继续做好政府信息公开工作（基准测试修改 {stamp}）。\n"  # new text each run: no cache hit


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children (the parse worker)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def one_build(input_dir: Path, index_dir: Path, passages: bool, dense: bool = True) -> dict:
    stage = RetrievalStage(dense=dense, settings=Settings.from_env()) if passages else None
    cpu, own = _cpu(), _own_cpu()
    summary = build(input_dir, index_dir, progress=False, stages=[stage] if stage else [])
    cpu, own = _cpu() - cpu, _own_cpu() - own
    run = {"started_from": getattr(summary, "started_from", "copied"),
           "reports": len(summary.reports), "total_reports": summary.total_reports, "cpu_seconds": round(cpu, 2),
           # the build's own process, without its parse worker (starting it: imports, ≈ 0.3 s CPU)
           "build_process_cpu_seconds": round(own, 2),
           "rejected": len(summary.rejected), "seconds": round(summary.seconds, 2),
           "reports_per_s": round(len(summary.reports) / summary.seconds, 2) if summary.reports else None,
           "timings": summary.timings}
    if stage is not None:
        run["passages_embedded"] = stage.embedded_passages
        embed = summary.timings.get("embed", 0.0)
        run["passages_per_s"] = round(stage.embedded_passages / embed, 1) if embed else None
        run["bm25_shards_rebuilt"] = stage.lexical_shards_rebuilt
    parse = summary.timings.get("parse", 0.0)
    run["parse_reports_per_s"] = round(len(summary.reports) / parse, 1) if parse else None
    return run


def _line(run: dict) -> str:
    split = ", ".join(f"{k} {v:.2f}" for k, v in run["timings"].items())
    rate = f"{run['reports_per_s']} reports/s" if run["reports_per_s"] else "-"
    extra = f"; {run['passages_embedded']} passages embedded ({run['passages_per_s']}/s)" \
        if "passages_embedded" in run else ""
    own = f", {run['build_process_cpu_seconds']} s of it the build's process" if "build_process_cpu_seconds" in run else ""
    return (f"{run['reports']} reports in {run['seconds']} s ({run.get('cpu_seconds')} s CPU{own}) = {rate} [{split}]{extra} "
            f"({run.get('started_from', '')})")


def full(args) -> list[dict]:
    runs = []
    work = Path(args.work)
    for i in range(args.runs):
        index_dir = work / f"run{i}"
        shutil.rmtree(index_dir, ignore_errors=True)
        run = one_build(Path(args.input), index_dir, not args.no_passages, not args.no_embeddings)
        print(f"run {i + 1}: {_line(run)}", flush=True)
        runs.append(run)
        if not args.keep:
            shutil.rmtree(index_dir, ignore_errors=True)
    return runs


def _changeable(input_dir: Path) -> Path:
    for path in sorted(input_dir.iterdir()):
        if path.suffix in (".txt", ".md") and "六、" in path.read_text(encoding="utf-8", errors="ignore"):
            return path
    raise SystemExit(f"no .txt/.md report with a section 六 in {input_dir}")


def fresh_process_build(input_dir: Path, index_dir: Path, passages: bool, dense: bool = True) -> dict:
    """One ``scripts/build_index.py`` process, timed from start to exit."""
    command = [sys.executable, str(ROOT / "scripts" / "build_index.py"), "--input", str(input_dir),
               "--index", str(index_dir), "--quiet", "--brief"]
    command += [] if passages else ["--no-passages"]
    command += [] if dense or not passages else ["--no-embeddings"]
    started, cpu = time.perf_counter(), _cpu()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    if done.returncode:
        raise SystemExit(done.stderr)
    split = re.search(r"^time: ([\d.]+) s \((.*)\)$", done.stdout, re.M)
    timings = {name: float(value) for name, value in
               (part.rsplit(" ", 1) for part in split.group(2).split(", ") if part)} if split else {}
    timings["process (imports, model load, exit)"] = round(seconds - float(split.group(1)), 3) if split else 0.0
    changed = re.search(r"reports indexed: (\d+) new or changed", done.stdout)
    return {"started_from": "process", "reports": int(changed.group(1)) if changed else 0,
            "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "reports_per_s": None, "timings": timings}


LOAD_PROBE = """
import dataclasses, os, sys, time
started = time.perf_counter()
sys.path.insert(0, {root!r})
import index.build, index.retrieval_stage
from index import embeddings
from index.settings import Settings
settings = dataclasses.replace(Settings.from_env(), embedding_backend={backend!r})
imported = time.perf_counter()
embeddings.embed(["加载模型"], settings.model_name, settings.onnx_dir)
t = os.times()
print(imported - started, time.perf_counter() - started, t.user + t.system, "torch" in sys.modules)
"""
BACKENDS = ("onnx", "torch")


def model_load(args) -> list[dict]:
    """Fresh processes loading the model with each backend, alternately (the ONNX
    export is made before the runs if missing: a one-off, not a load)."""
    from index import embeddings

    settings = dataclasses.replace(Settings.from_env(), embedding_backend="onnx")
    embeddings.get_model(settings.model_name, settings.onnx_dir)
    runs = []
    for i in range(args.runs):
        for name in BACKENDS:
            done = subprocess.run([sys.executable, "-W", "ignore", "-c", LOAD_PROBE.format(root=str(ROOT), backend=name)],
                                  capture_output=True, text=True, check=True)
            imports, wall, cpu, torch = done.stdout.split()[-4:]
            imports, wall, cpu = float(imports), float(wall), float(cpu)
            runs.append({"loader": name, "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
                         "imports_seconds": round(imports, 2), "imported_torch": torch == "True"})
            print(f"run {i + 1}: {name}: {wall:.2f} s wall ({imports:.2f} s importing the build), {cpu:.2f} s CPU, "
                  f"torch imported: {torch}", flush=True)
    for name in BACKENDS:
        mine = [r for r in runs if r["loader"] == name]
        print(f"median {name}: {statistics.median(r['seconds'] for r in mine):.2f} s wall, "
              f"{statistics.median(r['cpu_seconds'] for r in mine):.2f} s CPU")
    return runs


def backends(args) -> dict:
    import random
    import sqlite3

    from index import embeddings, layout, passages
    from index.retrieval_stage import DENSE_KINDS

    db = sqlite3.connect(layout.store_file(layout.current_dir(Path(args.index))))
    db.row_factory = sqlite3.Row
    stored = [p for p in passages.load_passages(db) if p.kind in DENSE_KINDS]
    db.close()
    texts = [passages.dense_text(p) for p in random.Random(0).sample(stored, min(args.n, len(stored)))]
    onnx = Settings.from_env()
    variants = {"onnx int8": dataclasses.replace(onnx, embedding_backend="onnx", embedding_quantize=True),
                "torch int8": dataclasses.replace(onnx, embedding_backend="torch", embedding_quantize=True),
                "torch float32": dataclasses.replace(onnx, embedding_backend="torch", embedding_quantize=False)}
    result = {"passages": len(texts), "runs": {}, "vectors": {}}
    for name, settings in variants.items():
        embeddings.get_model(settings.model_name, settings.onnx_dir)  # loaded (and exported) before timing
        for i in range(args.runs):
            started, cpu = time.perf_counter(), time.process_time()
            vectors = embeddings.embed(texts, settings.model_name, settings.onnx_dir)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            result["runs"].setdefault(name, []).append({"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2)})
            print(f"{name} run {i + 1}: {len(texts) / seconds:.1f} passages/s, {cpu:.1f} s CPU", flush=True)
        result["vectors"][name] = vectors
    got = result.pop("vectors")
    result["cosine"] = {}
    for a, b in (("onnx int8", "torch float32"), ("torch int8", "torch float32"), ("onnx int8", "torch int8")):
        cosines = (got[a] * got[b]).sum(axis=1)
        result["cosine"][f"{a} / {b}"] = {"mean": round(float(cosines.mean()), 4), "min": round(float(cosines.min()), 4)}
        print(f"cosine {a} / {b}: mean {cosines.mean():.4f}, min {cosines.min():.4f}")
    return result


def incremental(args) -> list[dict]:
    input_dir, index_dir = Path(args.input), Path(args.index)
    target = _changeable(input_dir)
    original = target.read_bytes()
    rebuild = fresh_process_build if args.fresh_process else one_build
    if not args.fresh_process and not args.no_passages and not args.no_embeddings:
        from index.embeddings import embed

        embed(["加载模型"])  # a running process (a server, a watcher) has the model loaded
    runs = []
    try:
        for i in range(args.runs):
            # A run that copies the served store (1.2 GB at 10k) leaves the kernel writing
            # it out; back to back, the next run waits for that. Staff rebuilds are not
            # back to back: start each from written-out disks.
            os.sync()
            time.sleep(args.pause)
            head, _, tail = original.decode("utf-8").rpartition("六、")
            target.write_text(head + "六、" + tail.rstrip() + CHANGE.format(stamp=time.time_ns()), encoding="utf-8")
            run = rebuild(input_dir, index_dir, not args.no_passages, not args.no_embeddings)
            run["changed_file"] = target.name
            print(f"run {i + 1}: {_line(run)}", flush=True)
            runs.append(run)
    finally:
        if target.read_bytes() != original:
            target.write_bytes(original)
            rebuild(input_dir, index_dir, not args.no_passages, not args.no_embeddings)  # leave the index as found
    return runs


def _rss_mb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return int(status.read().split("VmRSS:")[1].split()[0]) // 1024


def shards(args) -> dict:
    import sqlite3

    from index import layout, lexical, passages
    from index.build import current_dir

    build_dir = current_dir(args.index)
    rss, cpu = _rss_mb(), time.process_time()
    lex = lexical.LexicalIndex.load(layout.bm25_dir(build_dir))
    load_cpu, load_rss = time.process_time() - cpu, _rss_mb() - rss
    questions = [json.loads(line) for line in Path(args.questions).read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    questions = [q for q in questions if q["kind"] == "text"]
    db = sqlite3.connect(f"file:{layout.store_file(build_dir)}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    rebuild = []
    for shard in sorted({0, len(lex.shards) // 2, len(lex.shards) - 1}):
        cpu = time.process_time()
        lexical.Shard.from_passages(passages.load_passages(db, lex.shards[shard].reports), lex.tokenizer)
        rebuild.append(time.process_time() - cpu)
    db.close()
    result = {"index": str(build_dir), "shards": len(lex.shards),
              "reports_per_shard": round(statistics.mean(len(s.reports) for s in lex.shards), 1),
              "passages": sum(len(s.ids) for s in lex.shards), "questions": len(questions),
              "load_cpu_s": round(load_cpu, 2), "load_rss_mb": load_rss,
              "rebuild_one_shard_cpu_s": round(statistics.median(rebuild), 3), "runs": []}
    # ranking over every shard: how often the best passage is from the question's report
    # (the question names its body; each passage is indexed with its body's name)
    result["all_shards_top1_from_the_report"] = sum(
        1 for q in questions if (lex.search(q["question"], 1) or [("",)])[0][0].startswith(q["report_id"] + ":"))
    for _ in range(args.runs):
        run = {}
        for name, scoped in (("all shards", False), ("scoped to the report", True)):
            times = []
            for q in questions:
                cpu = time.process_time_ns()
                if scoped:
                    lex.search(q["question"], 20, report_ids={q["report_id"]}, kind="text")
                else:
                    lex.search(q["question"], 20)
                times.append((time.process_time_ns() - cpu) / 1e6)
            times.sort()
            run[name] = {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2)}
        result["runs"].append(run)
    result["median"] = {name: {k: round(statistics.median(r[name][k] for r in result["runs"]), 2)
                               for k in ("p50_ms", "p95_ms")} for name in result["runs"][0]}
    print(f"{result['shards']} shards ({result['reports_per_shard']} reports, "
          f"{result['passages'] / result['shards']:.0f} passages each): one shard rebuilt in "
          f"{result['rebuild_one_shard_cpu_s']} s CPU (median of {len(rebuild)}); loading them: "
          f"{result['load_cpu_s']} s CPU, {load_rss} MB more resident memory")
    for name, m in result["median"].items():
        runs = ", ".join(str(r[name]["p50_ms"]) for r in result["runs"])
        print(f"BM25 search, {name}: p50 {m['p50_ms']} ms CPU ({runs}), p95 {m['p95_ms']} ms "
              f"({len(questions)} text questions, median of {args.runs} runs)")
    print(f"over every shard, the best passage is from the question's report for "
          f"{result['all_shards_top1_from_the_report']} of {len(questions)} questions")
    return result


META_KEYS = ("body", "short_name", "level", "year", "province", "city", "county", "publish_date")


def compare_with_truth(db, records: list[dict]) -> dict:
    """Index vs truth.jsonl: counts of reports, cells and metadata fields read exactly,
    and the first differences (an uncertain cell counts as not exact)."""
    out = {"reports": len(records), "reports_exact": 0, "cells": 0, "cells_exact": 0,
           "metadata_fields": 0, "metadata_exact": 0, "missing_reports": 0, "problems": []}
    for r in records:
        row = db.execute("SELECT * FROM reports WHERE source_file = ?", (r["file"],)).fetchone()
        if row is None:
            out["missing_reports"] += 1
            out["problems"].append(f"{r['file']}: not in the index")
            continue
        before = len(out["problems"])
        for key in META_KEYS:
            out["metadata_fields"] += 1
            if row[key] == r["metadata"][key]:
                out["metadata_exact"] += 1
            else:
                out["problems"].append(f"{r['file']} {key}: parsed {row[key]!r}, truth {r['metadata'][key]!r}")
        if row["template"] != r["template"]:
            out["problems"].append(f"{r['file']} template {row['template']} != {r['template']}")
        facts = {f"{f['tbl']}|{f['row']}|{f['col']}": f for f in
                 db.execute("SELECT * FROM facts WHERE report_id = ?", (row["id"],))}
        for key in set(facts) - set(r["cells"]):
            out["problems"].append(f"{r['file']} {key}: parsed a cell the report does not have")
        for key, value in r["cells"].items():
            out["cells"] += 1
            f = facts.get(key)
            if f is not None and not f["uncertain"] and f["value"] == value and bool(f["blank"]) == (value is None):
                out["cells_exact"] += 1
            else:
                parsed = "missing" if f is None else f"{f['value']!r} (uncertain={f['uncertain']})"
                out["problems"].append(f"{r['file']} {key}: parsed {parsed}, truth {value!r}")
        out["reports_exact"] += len(out["problems"]) == before
    return out


def accuracy(args) -> dict:
    from index.build import open_store

    truth = Path(args.input) / "truth.jsonl"
    records = [json.loads(line) for line in truth.read_text(encoding="utf-8").splitlines() if line.strip()]
    db = open_store(args.index)
    try:
        result = compare_with_truth(db, records)
    finally:
        db.close()
    print(f"reports read exactly: {result['reports_exact']} / {result['reports']} "
          f"({result['missing_reports']} not in the index)")
    print(f"cells read exactly: {result['cells_exact']} / {result['cells']}")
    print(f"metadata fields right: {result['metadata_exact']} / {result['metadata_fields']}")
    for line in result["problems"][:args.show]:
        print("  " + line)
    return result


def medians(runs: list[dict]) -> dict:
    out = {"runs": len(runs), "seconds": statistics.median(r["seconds"] for r in runs)}
    for key in ("cpu_seconds", "build_process_cpu_seconds"):
        if all(key in r for r in runs):
            out[key] = statistics.median(r[key] for r in runs)
    for key in ("reports_per_s", "parse_reports_per_s", "passages_per_s"):
        values = [r[key] for r in runs if r.get(key)]
        if values:
            out[key] = statistics.median(values)
    names = {k for r in runs for k in r["timings"]}
    out["timings"] = {k: round(statistics.median(r["timings"].get(k, 0.0) for r in runs), 2) for k in sorted(names)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_full = sub.add_parser("full", help="fresh builds of a folder")
    p_full.add_argument("--input", required=True)
    p_full.add_argument("--work", default=str(ROOT / "var" / "bench-build"), help="where the indexes go")
    p_full.add_argument("--keep", action="store_true", help="keep the last index (e.g. to query it)")
    p_inc = sub.add_parser("incremental", help="rebuilds after one report changed")
    p_inc.add_argument("--input", required=True)
    p_inc.add_argument("--index", required=True, help="an index already built from --input")
    p_inc.add_argument("--pause", type=float, default=5.0, help="seconds between runs, after a sync")
    p_inc.add_argument("--fresh-process", action="store_true",
                       help="each rebuild a new scripts/build_index.py process, timed end to end")
    p_load = sub.add_parser("model-load", help="a fresh process loading the embedding model, each backend")
    p_load.add_argument("--runs", type=int, default=5)
    p_load.add_argument("--json", help="write the runs to this file")
    p_shards = sub.add_parser("shards", help="what the BM25 shard size costs: one shard's rebuild, a search")
    p_shards.add_argument("--index", required=True, help="a built index")
    p_shards.add_argument("--questions", required=True, help="a scripts/bench_scale.py queries file (its text questions)")
    p_shards.add_argument("--runs", type=int, default=3)
    p_shards.add_argument("--json", help="write the figures to this file")
    p_back = sub.add_parser("backends", help="the backends' vectors and speed on the same passages")
    p_back.add_argument("--index", required=True, help="a built index (its text passages are embedded)")
    p_back.add_argument("--n", type=int, default=512, help="passages (a fixed random sample)")
    p_back.add_argument("--runs", type=int, default=2)
    p_back.add_argument("--json", help="write the runs and cosines to this file")
    p_acc = sub.add_parser("accuracy", help="an index of a generated corpus vs its truth.jsonl")
    p_acc.add_argument("--input", required=True, help="the generated corpus (with truth.jsonl)")
    p_acc.add_argument("--index", required=True)
    p_acc.add_argument("--show", type=int, default=20, help="differences to print")
    p_acc.add_argument("--json", help="write the counts and differences to this file")
    for p in (p_full, p_inc):
        p.add_argument("--runs", type=int, default=3)
        p.add_argument("--no-passages", action="store_true", help="structured store only (parse + facts)")
        p.add_argument("--no-embeddings", action="store_true",
                       help="parse + facts + passages + BM25, no embeddings or chroma")
        p.add_argument("--json", help="write the runs and medians to this file")
    args = parser.parse_args(argv)
    if args.command == "accuracy":
        result = accuracy(args)
        if args.json:
            Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        return 0 if result["cells_exact"] == result["cells"] and not result["problems"] else 1
    if args.command in ("shards", "backends"):
        result = shards(args) if args.command == "shards" else backends(args)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
        return 0
    if args.command == "model-load":
        runs = model_load(args)
        if args.json:
            Path(args.json).write_text(json.dumps(runs, indent=1), encoding="utf-8")
        return 0
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    runs = full(args) if args.command == "full" else incremental(args)
    result = {"command": " ".join(sys.argv), "started": started, "input": args.input,
              "runs": runs, "median": medians(runs)}
    print("median:", json.dumps(result["median"], ensure_ascii=False))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
