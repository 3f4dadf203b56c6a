#!/usr/bin/env python
"""Project scripts/bench_pg.py's measurements to a larger corpus (issue 14: 280k reports).

    .venv/bin/python scripts/project_scale.py pg10k.json pg50k.json [--to 280000] [--json out.json]

Reads two or more ``bench_pg.py --json`` files measured on corpora of different sizes
(the same generator, seed and formats: scripts/make_scale_corpus.py) and fits every
measured quantity, per store, as a function of the number of reports n:

* ``a + b·n`` (least squares; exact through two points), the projection used;
* the growth exponent k of ``y ∝ n^k`` between the smallest and the largest corpus,
  to tell what looks flat (k < 0.25: the projection is the measured range, not a line
  through it), linear (0.75–1.25) or faster than linear (> 1.25: the line under-projects;
  the power law is printed beside it).

Quantities: the build's wall and CPU seconds and each stage's seconds (parse, store,
crossyear, passages, lexical, start, other; PostgreSQL's server CPU), rows (reports,
sections, facts, passages), bytes (the SQLite file, the PostgreSQL schema, the BM25
shards), question p50/p95 per kind (the median run), ``/api/facts`` over all townships,
the server's memory and the one-report rebuild. The embedding model is not in these
builds: its time is projected from the text passages at ``--passages-per-s`` (measured
in BENCHMARKS.md, "Scale: Build": 64.3 passages/s at 10k on a quiet machine).

Then it prints what will not hold at the target size: BM25 shards searched per text
question, the size of one SQLite file, the full build's embedding time, ``/api/facts``
returning every township's row, the PostgreSQL schema copied whole by each rebuild.
Wall times on a shared machine carry its load (bench_pg records it): the CPU-second
projections are the steadier ones.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

KINDS = ("structured", "text", "follow-up")
STAGES = ("start", "parse", "store", "crossyear", "passages", "lexical", "other")


def quantities(store: dict) -> dict[str, float]:
    """name -> value of one store in one run (names carry their unit)."""
    q: dict[str, float] = {}
    b = store["build"]
    q["build wall s"] = b["seconds"]
    if "cpu_s" in b:
        q["build CPU s (build + worker)"] = b["cpu_s"]
    if "pg_cpu_s" in b:
        q["build PostgreSQL CPU s"] = b["pg_cpu_s"]
    for stage in STAGES:
        if stage in b["timings"]:
            q[f"build {stage} s"] = b["timings"][stage]
    h = store.get("holdings", {})
    for key, name in (("reports_rows", "reports"), ("sections_rows", "sections"), ("facts_rows", "fact rows"),
                      ("checks_rows", "check rows"), ("passages", "passages"), ("text_passages", "text passages"),
                      ("bm25_shards", "BM25 shards")):
        if key in h:
            q[name] = h[key]
    for key, name in (("store_file_bytes", "reports.db MB"), ("pg_schema_bytes", "PostgreSQL schema MB"),
                      ("pg_facts_bytes", "PostgreSQL facts MB"), ("bm25_bytes", "BM25 MB")):
        if h.get(key):
            q[name] = h[key] / 2**20
    for kind in KINDS:
        runs = [r[kind] for r in store.get("questions", []) if kind in r]
        if runs:
            mid = sorted(runs, key=lambda r: r["p50_ms"])[len(runs) // 2]
            q[f"{kind} p50 ms"] = mid["p50_ms"]
            q[f"{kind} p95 ms"] = mid["p95_ms"]
    f = store.get("facts_api")
    if f:
        q["/api/facts rows"] = f["rows"]
        q["/api/facts p50 ms"] = f["p50_ms"]
        q["/api/facts p95 ms"] = f["p95_ms"]
        if "first_page" in f:
            q["/api/facts first page p50 ms"] = f["first_page"]["p50_ms"]
    m = store.get("server")
    if m:
        q["server RSS after start MB"] = m["after_start"]["rss_mb"]
        q["server peak RSS MB"] = m["after_ask"]["server_peak_rss_mb"]
    inc = store.get("incremental")
    if inc:
        for how in ("copied", "caught-up"):
            runs = sorted((r for r in inc.get("runs") or [] if r["started_from"] == how), key=lambda r: r["wall_s"])
            if not runs:
                continue
            mid = runs[len(runs) // 2]
            q[f"one-report rebuild, {how}: wall s"] = mid["wall_s"]
            q[f"one-report rebuild, {how}: CPU s"] = mid["cpu_s"] + mid.get("pg_cpu_s", 0.0)
            q[f"one-report rebuild, {how}: start s"] = mid["timings"].get("start", 0.0)
    return q


def fit(points: list[tuple[float, float]]) -> tuple[float, float, float | None]:
    """(a, b, k): least-squares a + b·n, and the exponent k of y ∝ n^k between the end
    points (None when a value is not positive)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    a = my - b * mx
    (x0, y0), (x1, y1) = min(points), max(points)
    k = math.log(y1 / y0) / math.log(x1 / x0) if y0 > 0 and y1 > 0 and x1 != x0 else None
    return a, b, k


def shape(k: float | None) -> str:
    if k is None:
        return "–"
    if k < 0.25:
        return "flat"
    if k <= 0.75:
        return "sublinear"
    if k <= 1.25:
        return "linear"
    return "faster than linear"


def project(runs: list[dict], target: int) -> dict[str, dict[str, dict]]:
    """store -> quantity -> {measured: {n: value}, a, b, k, shape, linear, power}."""
    out: dict[str, dict[str, dict]] = {}
    for store in runs[0]["stores"]:
        series: dict[str, list[tuple[float, float]]] = {}
        for run in runs:
            n = run["stores"][store]["build"]["reports"]
            for name, value in quantities(run["stores"][store]).items():
                series.setdefault(name, []).append((n, float(value)))
        out[store] = {}
        for name, points in series.items():
            if len(points) < 2:
                continue
            a, b, k = fit(points)
            (x0, y0), (x1, y1) = min(points), max(points)
            linear = a + b * target
            power = y1 * (target / x1) ** k if k is not None else None
            if shape(k) == "flat":  # no trend to extend: the measured range is the honest figure
                linear = max(y for _, y in points)
            out[store][name] = {"measured": {int(x): round(y, 3) for x, y in sorted(points)}, "a": a, "b": b,
                                "k": None if k is None else round(k, 2), "shape": shape(k),
                                "projected": round(linear, 2), "power": None if power is None else round(power, 2)}
    return out


def _fmt(x: float | None) -> str:
    if x is None:
        return "–"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.2f}" if abs(x) < 10 else f"{x:.1f}"


def print_table(proj: dict, target: int) -> None:
    sizes = sorted({n for q in proj.values() for f in q.values() for n in f["measured"]})
    for store, q in proj.items():
        print(f"\n{store}\n")
        print("| quantity | " + " | ".join(f"{n:,} measured" for n in sizes)
              + f" | growth k (y ∝ n^k) | shape | {target:,} projected (a + b·n) | {target:,} if y ∝ n^k |")
        print("| --- |" + " --- |" * (len(sizes) + 4))
        for name, f in q.items():
            if not any(f["measured"].values()):
                continue  # e.g. 'start' of a fresh build
            cells = [_fmt(f["measured"].get(n)) for n in sizes]
            print(f"| {name} | " + " | ".join(cells) + f" | {_fmt(f['k'])} | {f['shape']} | **{_fmt(f['projected'])}** "
                  f"| {_fmt(f['power'])} |")


def where_time_goes(proj: dict, target: int, passages_per_s: float) -> dict[str, dict[str, float]]:
    """Projected seconds of a full build per stage (wall), with the embedding added."""
    out = {}
    for store, q in proj.items():
        stages = {s: max(0.0, q[f"build {s} s"]["projected"]) for s in STAGES if f"build {s} s" in q}
        text = q.get("text passages", {}).get("projected")
        if text:
            stages["embed (projected from text passages)"] = text / passages_per_s
        out[store] = stages
    return out


def print_where(where: dict[str, dict[str, float]], target: int, passages_per_s: float) -> None:
    print(f"\nA full build of {target:,} reports, projected wall seconds per stage (embedding at "
          f"{passages_per_s} passages/s):\n")
    names = list(dict.fromkeys(n for stages in where.values() for n in stages))
    print("| stage | " + " | ".join(where) + " |")
    print("| --- |" + " --- |" * len(where))
    for name in names:
        cells = []
        for store, stages in where.items():
            total = sum(stages.values())
            v = stages.get(name)
            cells.append("–" if v is None else f"{v / 3600:.2f} h ({v / total:.0%})")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("| **total** | " + " | ".join(f"**{sum(s.values()) / 3600:.1f} h**" for s in where.values()) + " |")


def warnings(proj: dict, target: int, shard_size: int | None, passages_per_s: float) -> list[str]:
    """What the projection says will not hold at the target size."""
    out = []
    if shard_size:
        out.append(f"BM25: {math.ceil(target / shard_size):,} shards of {shard_size} reports, every one searched "
                   "by a text question that names no body (each shard a memory-mapped bm25s index)")
    for store, q in proj.items():
        for kind in ("text", "structured"):
            p95 = q.get(f"{kind} p95 ms", {}).get("projected")
            limit = 100 if kind == "text" else 20
            p50 = q.get(f"{kind} p50 ms", {}).get("projected")
            if p50 is not None and p50 > limit:
                out.append(f"{store}: {kind} p50 projected {p50:.0f} ms, over the {limit} ms target")
            elif p95 is not None and p95 > limit:
                out.append(f"{store}: {kind} p95 projected {p95:.0f} ms (p50 within the {limit} ms target)")
        size = q.get("reports.db MB", {}).get("projected")
        if store == "sqlite" and size:
            out.append(f"sqlite: one reports.db of {size / 1024:.1f} GB (facts, sections, passages)")
        rows = q.get("/api/facts rows", {}).get("projected")
        ms = q.get("/api/facts p50 ms", {}).get("projected")
        page_ms = q.get("/api/facts first page p50 ms", {}).get("projected")
        if rows and ms and page_ms is None:
            out.append(f"{store}: /api/facts over all townships returns ≈ {rows:,.0f} rows in one response, "
                       f"≈ {ms / 1000:.1f} s (p50): it needs paging")
        elif rows and ms:
            out.append(f"{store}: /api/facts over all townships: the first JSON page ≈ {page_ms:,.0f} ms; "
                       f"the whole table (CSV, ≈ {rows:,.0f} rows) ≈ {ms / 1000:.1f} s")
        start = q.get("one-report rebuild, copied: start s", {}).get("projected")
        if start:
            what = "schema" if store == "postgres" else "build directory"
            out.append(f"{store}: a rebuild without a spare build (the first after a fresh build, or after a crash) "
                       f"copies the served {what}: ≈ {start:.0f} s projected for that copy alone")
        text = q.get("text passages", {}).get("projected")
        if text and store == "sqlite":
            out.append(f"embedding: ≈ {text:,.0f} text passages, {text / passages_per_s / 3600:.1f} h of the model "
                       f"at {passages_per_s} passages/s (2 cores): a full rebuild with vectors is a night's work")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="bench_pg.py --json files of corpora of different sizes")
    ap.add_argument("--to", type=int, default=280_000, help="reports to project to (default 280,000)")
    ap.add_argument("--passages-per-s", type=float, default=64.3,
                    help="embedding speed for the model's share (default 64.3, BENCHMARKS.md at 10k)")
    ap.add_argument("--json", help="write the projection to this file")
    args = ap.parse_args(argv)
    runs = [json.loads(Path(p).read_text(encoding="utf-8")) for p in args.runs]
    sizes = {r["stores"]["sqlite"]["build"]["reports"] for r in runs}
    if len(sizes) < 2:
        print("error: give runs of at least two corpus sizes", file=sys.stderr)
        return 2
    runs.sort(key=lambda r: r["stores"]["sqlite"]["build"]["reports"])
    proj = project(runs, args.to)
    for r in runs:
        b = {s: v["build"] for s, v in r["stores"].items()}
        print(f"{r['corpus']}: commit {r.get('commit')}, {r.get('reports_per_shard')} reports per BM25 shard, "
              + ", ".join(f"{s} build at load {v.get('load_mean', '?')}" for s, v in b.items()))
    print_table(proj, args.to)
    where = where_time_goes(proj, args.to, args.passages_per_s)
    print_where(where, args.to, args.passages_per_s)
    print(f"\nWhat will not hold at {args.to:,} reports:\n")
    for line in warnings(proj, args.to, runs[-1].get("reports_per_shard"), args.passages_per_s):
        print(f"- {line}")
    if args.json:
        Path(args.json).write_text(json.dumps({"target": args.to, "stores": proj, "build_hours": where},
                                              ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
