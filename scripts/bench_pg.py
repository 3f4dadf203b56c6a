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
  the first copies the served build (directory, and PostgreSQL schema), the next ones
  catch up the spare build (index.build); medians of each kind apart;
* ``/api/facts`` over all townships (one figure, ``level=township``; in-process
  FastAPI app, an API key, the rate limit off): the whole table (CSV) and the first JSON
  page, median and p95 of ``--facts-runs``;
* what the stores hold: fact, section, report and passage rows (text passages: what a
  build with embeddings would embed), bytes on disk (the SQLite file, the PostgreSQL
  schema with its indexes and TOAST, the build's reports.db, the BM25 shards);
* the peak memory of ``python -m qa serve`` answering ``--server-questions`` questions
  over HTTP (bench_scale's server run; 0 skips it);
* beside every wall time, CPU seconds: the build process and its parse worker
  (``os.times``) and, for PostgreSQL, the server's processes (``/proc``: the
  postmaster's own and reaped children's time plus the live backends'); and the load
  average sampled every 5 s while it ran (the machine may be shared).

``--json FILE`` writes every number (scripts/project_scale.py reads two or more of
these files and projects them to a larger corpus).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
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


class Meter:
    """Wall and CPU seconds of a stretch of work, and the load average meanwhile.

    CPU: this process and its reaped children (the parse worker) from ``os.times``;
    ``pg_pid``: also the PostgreSQL server's (postmaster + reaped backends + live ones)."""

    def __init__(self, pg_pid: int | None = None):
        self.pg_pid = pg_pid

    def __enter__(self) -> Meter:
        self.loads: list[float] = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self.t0, self.cpu0, self.pg0 = time.perf_counter(), _own_cpu(), pg_cpu(self.pg_pid)
        return self

    def _sample(self) -> None:
        while not self._stop.wait(5):
            self.loads.append(os.getloadavg()[0])

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.t0
        self.cpu = _own_cpu() - self.cpu0
        self.pg = pg_cpu(self.pg_pid) - self.pg0 if self.pg_pid else 0.0
        self._stop.set()
        self._thread.join()
        self.loads.append(os.getloadavg()[0])

    def figures(self) -> dict:
        out = {"wall_s": round(self.wall, 2), "cpu_s": round(self.cpu, 2),
               "load_mean": round(statistics.mean(self.loads), 2), "load_max": round(max(self.loads), 2)}
        if self.pg_pid:
            out["pg_cpu_s"] = round(self.pg, 2)
        return out


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int, reaped: bool) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0  # gone meanwhile: its time is in the parent's reaped-children figure
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if reaped else 0)
    return ticks / _TICK


def pg_cpu(postmaster: int | None) -> float:
    """CPU seconds the server has used so far: the postmaster with the backends it has
    reaped (cutime/cstime), plus the backends alive now."""
    if not postmaster:
        return 0.0
    total = _proc_cpu(postmaster, reaped=True)
    for kids in Path(f"/proc/{postmaster}/task").glob("*/children"):
        try:
            total += sum(_proc_cpu(int(k), reaped=False) for k in kids.read_text().split())
        except OSError:
            pass
    return total


def postmaster_pid(cluster) -> int | None:
    if cluster is None or cluster.dir is None:
        return None  # a server of --facts-url: its processes are not ours to read
    return int((cluster.dir / "data" / "postmaster.pid").read_text().split()[0])


def build_store(corpus: Path, index_dir: Path, facts_url: str | None, pg_pid: int | None) -> dict:
    from index.build import build
    from index.retrieval_stage import RetrievalStage

    shutil.rmtree(index_dir, ignore_errors=True)
    with Meter(pg_pid if facts_url else None) as meter:
        summary = build(corpus, index_dir, progress=False, stages=[RetrievalStage(dense=False)],
                        facts_url=facts_url)
    seconds = meter.wall
    return {"reports": summary.total_reports, "rejected": len(summary.rejected), "seconds": round(seconds, 1),
            "reports_per_s": round(summary.total_reports / seconds, 1), "timings": summary.timings,
            **meter.figures()}


def _du(path: Path) -> int:
    """Bytes on disk under a path (hard links into another build counted here too)."""
    if not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_blocks * 512
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())


def holdings(index_dir: Path) -> dict:
    """Rows and bytes of the served build: facts, sections, reports, passages; files on disk
    and, with the facts in PostgreSQL, the schema (tables, indexes, TOAST)."""
    import sqlite3

    from index import layout, pgstore

    build = layout.current_dir(index_dir)
    out = {"store_file_bytes": _du(layout.store_file(build)), "bm25_bytes": _du(layout.bm25_dir(build)),
           "bm25_shards": sum(1 for p in layout.bm25_dir(build).iterdir() if p.is_dir())
           if layout.bm25_dir(build).exists() else 0}
    db = sqlite3.connect(f"file:{layout.store_file(build)}?mode=ro", uri=True)
    try:
        out["passages"] = db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        out["text_passages"] = db.execute("SELECT COUNT(*) FROM passages WHERE kind = 'text'").fetchone()[0]
        rec = pgstore.recorded(build)
        if rec is None:
            for table in ("reports", "sections", "facts", "checks"):
                out[f"{table}_rows"] = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        db.close()
    if rec is not None:
        import psycopg

        url, schema = rec
        with psycopg.connect(url) as pg:
            for table in ("reports", "sections", "facts", "checks"):
                out[f"{table}_rows"] = pg.execute(f'SELECT COUNT(*) FROM "{schema}".{table}').fetchone()[0]
            out["pg_schema_bytes"] = int(pg.execute(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'm')",
                (schema,)).fetchone()[0])
            out["pg_facts_bytes"] = int(pg.execute(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r' "
                "AND (c.relname LIKE 'facts\\_y%%' OR c.relname = 'facts_other')", (schema,)).fetchone()[0])
    return out


def server_memory(queries: list[dict], index_dir: Path, n: int) -> dict:
    """Peak RSS of ``python -m qa serve`` (no page) answering n questions over HTTP."""
    results, info = bench_scale.run_server(queries[:n], index_dir, None, False, 600,
                                           Path(tempfile.gettempdir()) / f"bench_pg_server_{os.getpid()}.log")
    return {"questions": len(results), "right": sum(r["ok"] for r in results), "startup_s": info["startup_s"],
            "after_start": info["after_start"], "after_ask": info["after_ask"]}


def facts_latency(index_dir: Path, runs: int) -> dict:
    """/api/facts over all townships: the whole table (the CSV download; JSON comes in
    pages) and the first JSON page sorted by name (only the page's reports read)."""
    from fastapi.testclient import TestClient

    from index.settings import Settings
    from web.api.app import create_app
    from web.api.keys import KeyStore

    keys = Path(tempfile.mkdtemp(prefix="bench-keys-")) / "keys.db"
    key = KeyStore(keys).create("bench")
    app = create_app(index_dir, Settings(), keys_file=keys, rate_limit=0)
    times: dict[str, list[float]] = {"whole": [], "first_page": []}
    rows = page_rows = None
    with Meter() as meter, TestClient(app) as client:
        for i in range(runs + 1):
            for what, extra in (("whole", {"format": "csv"}), ("first_page", {})):
                t0 = time.perf_counter()
                r = client.get("/api/facts", params={**FACTS_QUERY, **extra}, headers={"X-API-Key": key})
                ms = (time.perf_counter() - t0) * 1000
                r.raise_for_status()
                if i:  # the first request warms the catalog
                    times[what].append(ms)
                if what == "whole":
                    rows = r.content.decode("utf-8-sig").count("\n") - 1  # less the header
                else:
                    page_rows = len(r.json()["data"])
    shutil.rmtree(keys.parent, ignore_errors=True)
    return {"rows": rows, "p50_ms": round(statistics.median(times["whole"]), 1),
            "p95_ms": round(percentile(times["whole"], 0.95), 1),
            "first_page": {"rows": page_rows, "p50_ms": round(statistics.median(times["first_page"]), 1),
                           "p95_ms": round(percentile(times["first_page"], 0.95), 1)},
            "runs": runs, "load_mean": meter.figures()["load_mean"]}


def incremental(corpus: Path, indexes: dict[str, Path], url: str, runs: int, pg_pid: int | None) -> dict[str, dict]:
    """Seconds to rebuild after one file changed, per store (median and every run, with
    CPU seconds, load and the build's own timings)."""
    from index.build import build
    from index.retrieval_stage import RetrievalStage

    victim = sorted(corpus.glob("*.txt"))[0]
    original = victim.read_bytes()
    seconds: dict[str, list[float]] = {store: [] for store in STORES}
    detail: dict[str, list[dict]] = {store: [] for store in STORES}
    try:
        for i in range(runs):
            victim.write_bytes(original + b"\n" * (i + 1))
            for store in STORES:
                pg = store == "postgres"
                with Meter(pg_pid if pg else None) as meter:
                    summary = build(corpus, indexes[store], progress=False, stages=[RetrievalStage(dense=False)],
                                    facts_url=url if pg else None)
                seconds[store].append(round(meter.wall, 2))
                detail[store].append({**meter.figures(), "started_from": summary.started_from,
                                      "timings": summary.timings})
                assert len(summary.reports) == 1, summary.reports
    finally:
        victim.write_bytes(original)
    out = {}
    for store, v in seconds.items():
        out[store] = {"median_s": statistics.median(v), "runs_s": v, "runs": detail[store]}
        for how in ("copied", "caught-up"):  # the first rebuild has no spare build: it copies the served one
            walls = [r["wall_s"] for r in detail[store] if r["started_from"] == how]
            if walls:
                out[store][f"{how}_median_s"] = statistics.median(walls)
    return out


def question_runs(queries: list[dict], index_dir: Path) -> dict:
    with Meter() as meter:
        results, _ = bench_scale.run_ours(queries, index_dir)
    return {**bench_scale.summarise(results), "load_mean": meter.figures()["load_mean"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True, help="folder made by scripts/make_scale_corpus.py")
    ap.add_argument("--work", required=True, help="folder for the two indexes (replaced)")
    ap.add_argument("--facts-url", help="a PostgreSQL server (default: a throw-away cluster in a temp dir)")
    ap.add_argument("--runs", type=int, default=3, help="runs of the question set per store (default 3)")
    ap.add_argument("--facts-runs", type=int, default=20, help="/api/facts requests per store (default 20)")
    ap.add_argument("--incremental-runs", type=int, default=3,
                    help="one-report rebuilds per store (default 3: the first copies, the others catch up)")
    ap.add_argument("--structured", type=int, default=200)
    ap.add_argument("--text", type=int, default=100)
    ap.add_argument("--follow-ups", type=int, default=100)
    ap.add_argument("--server-questions", type=int, default=100,
                    help="questions asked of `python -m qa serve` for its peak memory, per store (0: skip)")
    ap.add_argument("--json", help="write every number to this file")
    args = ap.parse_args(argv)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the cluster on the way out
    cluster = None
    url = args.facts_url
    if url is None:
        from pg_cluster import PostgresCluster

        cluster = PostgresCluster({"shared_buffers": "512MB"})
        url = cluster.start()
    from index import lexical

    pg_pid = postmaster_pid(cluster)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    out: dict = {"machine": f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                 "corpus": str(args.corpus), "corpus_files": sum(1 for p in Path(args.corpus).iterdir()
                                                                 if p.name != "truth.jsonl"),
                 "commit": commit, "reports_per_shard": lexical.REPORTS_PER_SHARD,
                 "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "stores": {}}
    try:
        work = Path(args.work)
        indexes = {store: work / store for store in STORES}
        for store in STORES:
            print(f"building {store} …", file=sys.stderr, flush=True)
            out["stores"][store] = {"build": build_store(Path(args.corpus), indexes[store],
                                                         url if store == "postgres" else None, pg_pid)}
            out["stores"][store]["holdings"] = holdings(indexes[store])
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
        if args.server_questions:
            for store in STORES:
                print(f"server memory, {store} …", file=sys.stderr, flush=True)
                out["stores"][store]["server"] = server_memory(queries, indexes[store], args.server_questions)
        if args.incremental_runs:
            print("incremental rebuilds …", file=sys.stderr, flush=True)
            for store, figures in incremental(Path(args.corpus), indexes, url, args.incremental_runs,
                                              pg_pid).items():
                out["stores"][store]["incremental"] = figures
        out["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    finally:
        if cluster is not None:
            cluster.stop()
        if args.json:  # what was measured survives a failure in a later phase (no "finished")
            Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    print_report(out)
    return 0


def print_report(out: dict) -> None:
    print(f"\n{out['machine']}; corpus {out['corpus']}; commit {out.get('commit')}, "
          f"{out.get('reports_per_shard')} reports per BM25 shard; {out.get('started')} – {out.get('finished')}\n")
    print("| store | reports | build s | reports/s | CPU s (build + worker) | PostgreSQL CPU s | load mean (max) | "
          "parse s | store s | crossyear s | passages s | lexical s | other s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for store, s in out["stores"].items():
        b, t = s["build"], s["build"]["timings"]
        print(f"| {store} | {b['reports']} | {b['seconds']} | **{b['reports_per_s']}** | {b.get('cpu_s', '')} | "
              f"{b.get('pg_cpu_s', '–')} | {b.get('load_mean', '')} ({b.get('load_max', '')}) | "
              f"{t.get('parse', 0):.1f} | {t.get('store', 0):.1f} | {t.get('crossyear', 0):.1f} | "
              f"{t.get('passages', 0):.1f} | {t.get('lexical', 0):.1f} | {t.get('other', 0):.1f} |")
    print("\n| store | reports | sections | facts | checks | passages (text) | SQLite file MB | PostgreSQL schema MB "
          "(facts) | BM25 MB (shards) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    mb = lambda b: f"{b / 2**20:,.0f}" if b else "–"  # noqa: E731
    for store, s in out["stores"].items():
        h = s.get("holdings")
        if h:
            print(f"| {store} | {h['reports_rows']:,} | {h['sections_rows']:,} | {h['facts_rows']:,} | "
                  f"{h['checks_rows']:,} | {h['passages']:,} ({h['text_passages']:,}) | {mb(h['store_file_bytes'])} | "
                  f"{mb(h.get('pg_schema_bytes'))} ({mb(h.get('pg_facts_bytes'))}) | "
                  f"{mb(h['bm25_bytes'])} ({h['bm25_shards']}) |")
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
            runs = ", ".join(f"{r['wall_s']:.2f} (CPU {r['cpu_s']:.2f}"
                             + (f" + PostgreSQL {r['pg_cpu_s']:.2f}" if "pg_cpu_s" in r else "")
                             + f", start {r['timings'].get('start', 0):.2f}, {r['started_from']}, "
                             f"load {r['load_mean']})" for r in inc.get("runs", []))
            print(f"| {store} | **{inc['median_s']:.2f}** | {runs or ', '.join(map(str, inc['runs_s']))} |")
    print("\n| store | /api/facts over all townships | rows | p50 ms | p95 ms |")
    print("| --- | --- | --- | --- | --- |")
    for store, s in out["stores"].items():
        f = s["facts_api"]
        print(f"| {store} | {FACTS_QUERY}, the whole table (CSV) | {f['rows']} | **{f['p50_ms']}** | {f['p95_ms']} |")
        if "first_page" in f:
            page = f["first_page"]
            print(f"| {store} | the first JSON page | {page['rows']} | **{page['p50_ms']}** | {page['p95_ms']} |")
    if all("server" in s for s in out["stores"].values()):
        print("\n| store | `python -m qa serve`: RSS after start MB | peak after the questions MB | questions (right) |")
        print("| --- | --- | --- | --- |")
        for store, s in out["stores"].items():
            m = s["server"]
            print(f"| {store} | {m['after_start']['rss_mb']} | {m['after_ask']['server_peak_rss_mb']} | "
                  f"{m['questions']} ({m['right']}) |")


if __name__ == "__main__":
    sys.exit(main())
