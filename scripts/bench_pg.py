#!/usr/bin/env python
"""SQLite and PostgreSQL facts side by side on one corpus, in one run (issue 14).

    .venv/bin/python scripts/make_scale_corpus.py --out var/scale/r10k --n 10000 --seed 0 --formats txt,md,html
    .venv/bin/python scripts/bench_pg.py --corpus var/scale/r10k --work var/scale/pg10k --runs 3

Builds the corpus twice with the same stages (passages and BM25, no vectors: the
embedding model is the same cost for both stores and 85 % of a full build), once into
the build's reports.db and once into PostgreSQL (``NIANBAO_FACTS_URL``: a throw-away
cluster started like the tests' (tests/pg_cluster.py) unless ``--facts-url`` names a
server), and prints for each store:

* build throughput (reports/s) and where the time went (parse, store, crossyear, …);
* ``qa.answer`` latency and accuracy on scripts/bench_scale.py's question set
  (structured, text, follow-up; text answers from BM25: no vectors), ``--runs`` times,
  the stores taking turns; p50/p95 per run, and the median run's;
* incremental rebuild after one report changed (a line appended to one text file,
  taken away again at the end), ``--incremental-runs`` times, the stores taking turns:
  SQLite copies the served build directory, PostgreSQL the served schema;
* ``/api/facts`` over all townships (one figure, ``level=township``; in-process
  FastAPI app, an API key, the rate limit off): median and p95 of ``--facts-runs``.

``--json FILE`` writes every number.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "scripts", ROOT / "tests"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import bench_scale  # noqa: E402 - the question set and its judge
from bench_scale import KINDS, percentile  # noqa: E402

STORES = ("sqlite", "postgres")
FACTS_QUERY = {"figure": "本年新收 总计", "level": "township"}


def build_store(corpus: Path, index_dir: Path, facts_url: str | None) -> dict:
    from index.build import build
    from index.retrieval_stage import RetrievalStage

    shutil.rmtree(index_dir, ignore_errors=True)
    started = time.perf_counter()
    summary = build(corpus, index_dir, progress=False, stages=[RetrievalStage(dense=False)], facts_url=facts_url)
    seconds = time.perf_counter() - started
    return {"reports": summary.total_reports, "rejected": len(summary.rejected), "seconds": round(seconds, 1),
            "reports_per_s": round(summary.total_reports / seconds, 1), "timings": summary.timings}


def facts_latency(index_dir: Path, runs: int) -> dict:
    from fastapi.testclient import TestClient

    from index.settings import Settings
    from web.api.app import create_app
    from web.api.keys import KeyStore

    keys = Path(tempfile.mkdtemp(prefix="bench-keys-")) / "keys.db"
    key = KeyStore(keys).create("bench")
    app = create_app(index_dir, Settings(), keys_file=keys, rate_limit=0)
    times, rows = [], None
    with TestClient(app) as client:
        for i in range(runs + 1):
            t0 = time.perf_counter()
            r = client.get("/api/facts", params=FACTS_QUERY, headers={"X-API-Key": key})
            ms = (time.perf_counter() - t0) * 1000
            r.raise_for_status()
            if i:  # the first request warms the catalog
                times.append(ms)
            rows = len(r.json()["data"])
    shutil.rmtree(keys.parent, ignore_errors=True)
    return {"rows": rows, "p50_ms": round(statistics.median(times), 1), "p95_ms": round(percentile(times, 0.95), 1),
            "runs": runs}


def incremental(corpus: Path, indexes: dict[str, Path], url: str, runs: int) -> dict[str, dict]:
    """Seconds to rebuild after one file changed, per store (median and every run)."""
    from index.build import build
    from index.retrieval_stage import RetrievalStage

    victim = sorted(corpus.glob("*.txt"))[0]
    original = victim.read_bytes()
    seconds: dict[str, list[float]] = {store: [] for store in STORES}
    try:
        for i in range(runs):
            victim.write_bytes(original + b"\n" * (i + 1))
            for store in STORES:
                t0 = time.perf_counter()
                summary = build(corpus, indexes[store], progress=False, stages=[RetrievalStage(dense=False)],
                                facts_url=url if store == "postgres" else None)
                seconds[store].append(round(time.perf_counter() - t0, 2))
                assert len(summary.reports) == 1, summary.reports
    finally:
        victim.write_bytes(original)
    return {store: {"median_s": statistics.median(v), "runs_s": v} for store, v in seconds.items()}


def question_runs(queries: list[dict], index_dir: Path) -> dict:
    results, _ = bench_scale.run_ours(queries, index_dir)
    return bench_scale.summarise(results)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True, help="folder made by scripts/make_scale_corpus.py")
    ap.add_argument("--work", required=True, help="folder for the two indexes (replaced)")
    ap.add_argument("--facts-url", help="a PostgreSQL server (default: a throw-away cluster in a temp dir)")
    ap.add_argument("--runs", type=int, default=3, help="runs of the question set per store (default 3)")
    ap.add_argument("--facts-runs", type=int, default=20, help="/api/facts requests per store (default 20)")
    ap.add_argument("--incremental-runs", type=int, default=3, help="one-report rebuilds per store (default 3)")
    ap.add_argument("--structured", type=int, default=200)
    ap.add_argument("--text", type=int, default=100)
    ap.add_argument("--follow-ups", type=int, default=100)
    ap.add_argument("--json", help="write every number to this file")
    args = ap.parse_args(argv)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the cluster on the way out
    cluster = None
    url = args.facts_url
    if url is None:
        from pg_cluster import PostgresCluster

        cluster = PostgresCluster({"shared_buffers": "512MB"})
        url = cluster.start()
    out: dict = {"machine": f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                 "corpus": str(args.corpus), "stores": {}}
    try:
        work = Path(args.work)
        indexes = {store: work / store for store in STORES}
        for store in STORES:
            print(f"building {store} …", file=sys.stderr, flush=True)
            out["stores"][store] = {"build": build_store(Path(args.corpus), indexes[store],
                                                         url if store == "postgres" else None)}
        qargs = argparse.Namespace(corpus=args.corpus, index=indexes["sqlite"], limit_reports=0, seed=0,
                                   structured=args.structured, text=args.text, follow_ups=args.follow_ups)
        queries, info = bench_scale.query_set(qargs)
        out["queries"] = info["queries"]
        runs: dict[str, list[dict]] = {store: [] for store in STORES}
        for i in range(args.runs):
            for store in STORES:  # taking turns: a slower moment of the machine hits both
                print(f"questions, run {i + 1}, {store} …", file=sys.stderr, flush=True)
                runs[store].append(question_runs(queries, indexes[store]))
        for store in STORES:
            out["stores"][store]["questions"] = runs[store]
            out["stores"][store]["facts_api"] = facts_latency(indexes[store], args.facts_runs)
        if args.incremental_runs:
            print("incremental rebuilds …", file=sys.stderr, flush=True)
            for store, figures in incremental(Path(args.corpus), indexes, url, args.incremental_runs).items():
                out["stores"][store]["incremental"] = figures
    finally:
        if cluster is not None:
            cluster.stop()
    print_report(out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def print_report(out: dict) -> None:
    print(f"\n{out['machine']}; corpus {out['corpus']}\n")
    print("| store | reports | build s | reports/s | parse s | store s | crossyear s | passages s | lexical s | other s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for store, s in out["stores"].items():
        b, t = s["build"], s["build"]["timings"]
        print(f"| {store} | {b['reports']} | {b['seconds']} | **{b['reports_per_s']}** | {t.get('parse', 0):.1f} | "
              f"{t.get('store', 0):.1f} | {t.get('crossyear', 0):.1f} | {t.get('passages', 0):.1f} | "
              f"{t.get('lexical', 0):.1f} | {t.get('other', 0):.1f} |")
    print("\n| store | questions | n | right | p50 ms (median run; runs) | p95 ms (median run) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for store, s in out["stores"].items():
        for kind in KINDS:
            per_run = [r[kind] for r in s["questions"] if kind in r]
            if not per_run:
                continue
            p50s = [r["p50_ms"] for r in per_run]
            mid = sorted(per_run, key=lambda r: r["p50_ms"])[len(per_run) // 2]
            print(f"| {store} | {kind} | {mid['n']} | {mid['correct']} | **{mid['p50_ms']:.2f}** "
                  f"({', '.join(f'{p:.2f}' for p in p50s)}) | {mid['p95_ms']:.2f} |")
    if all("incremental" in s for s in out["stores"].values()):
        print("\n| store | one report changed: rebuild s, median | runs |")
        print("| --- | --- | --- |")
        for store, s in out["stores"].items():
            inc = s["incremental"]
            print(f"| {store} | **{inc['median_s']:.2f}** | {', '.join(f'{x:.2f}' for x in inc['runs_s'])} |")
    print("\n| store | /api/facts over all townships | rows | p50 ms | p95 ms |")
    print("| --- | --- | --- | --- | --- |")
    for store, s in out["stores"].items():
        f = s["facts_api"]
        print(f"| {store} | {FACTS_QUERY} | {f['rows']} | **{f['p50_ms']}** | {f['p95_ms']} |")


if __name__ == "__main__":
    sys.exit(main())
