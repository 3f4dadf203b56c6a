#!/usr/bin/env python
"""OCR of scanned reports: cell accuracy per scan quality, and throughput.

    python scripts/bench_ocr.py [--qualities good,fair,poor] [--runs 3] [--out var/ocr_bench]

Makes scanned versions (scripts/make_scans.py, a red seal on the last page) of the PDFs
that have golden files (tests/fixtures/real/r001-r003 and tests/fixtures/seeds_pdf),
parses them with OCR (index.parse.parse_report) and compares every cell with the golden
file: exact (right and not flagged), flagged uncertain, wrong and not flagged; and the
metadata (body, level, year). Throughput is OCR'd pages per second over the whole parse
(render, OCR, tables, checks) of the fair scan of r002, the median of ``--runs`` runs,
with the CPU seconds per page (both cores count); the model is loaded once, before the
clock starts (as in a build). Prints Markdown tables: per quality, per document and
quality, and the CPU seconds per OCR'd page of each quality's parses with the load
average seen during them (the machine may be shared: CPU time is the figure to compare).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from make_scans import scan_pdf  # noqa: E402

from index import ocr  # noqa: E402
from index.parse import parse_report  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
GOLDEN = ROOT / "tests" / "golden"


def golden_pdfs() -> list[tuple[Path, dict]]:
    """(text-layer PDF, golden) for every PDF with a golden file."""
    out = []
    for g in sorted(GOLDEN.glob("*.json")):
        data = json.loads(g.read_text(encoding="utf-8"))
        if g.stem.startswith("seed_"):
            num = g.stem.split("_", 1)[1]
            pdfs = sorted((FIXTURES / "seeds_pdf").glob(f"{num}_*.pdf"))
        else:
            pdfs = [FIXTURES / "real" / data["file"]] if data["file"].endswith(".pdf") else []
        out += [(p, data) for p in pdfs if p.exists()]
    return out


def score(parsed, golden: dict) -> dict:
    facts = {f.key: f for f in parsed.facts}
    exact = flagged = wrong = 0
    wrong_keys = []
    for key, want in golden["cells"].items():
        f = facts.get(key)
        if f is not None and f.uncertain:
            flagged += 1
        elif f is not None and f.value == want:
            exact += 1
        else:
            wrong += 1
            wrong_keys.append(f"{key}: {None if f is None else f.value!r} (golden {want!r})")
    meta = golden["metadata"]
    meta_ok = (parsed.meta.body, parsed.meta.level, parsed.meta.year) == (meta["body"], meta["level"], meta["year"])
    return {"cells": len(golden["cells"]), "exact": exact, "flagged": flagged, "wrong": wrong,
            "wrong_keys": wrong_keys, "meta_ok": meta_ok,
            "meta": (parsed.meta.body, parsed.meta.level, parsed.meta.year)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--qualities", default="good,fair,poor")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "ocr_bench")
    parser.add_argument("--only", help="substring of the file names to keep")
    parser.add_argument("-v", "--verbose", action="store_true", help="list wrong cells")
    args = parser.parse_args(argv)
    sources = [(p, g) for p, g in golden_pdfs() if not args.only or args.only in p.name]
    ocr.engine()  # loaded once, as a build does
    rows = []
    per_doc: dict[str, dict[str, dict]] = {}
    cost: dict[str, tuple[float, int, list[float]]] = {}
    for quality in args.qualities.split(","):
        scans = [(scan_pdf(p, args.out / quality / p.name, quality, seal=True), g) for p, g in sources]
        total = {"cells": 0, "exact": 0, "flagged": 0, "wrong": 0, "meta_ok": 0, "files": 0, "pages": 0}
        cpu_started, loads = time.process_time(), [os.getloadavg()[0]]
        for scan, golden in scans:
            parsed = parse_report(scan)
            loads.append(os.getloadavg()[0])
            s = score(parsed, golden)
            per_doc.setdefault(scan.name, {})[quality] = s
            for k in ("cells", "exact", "flagged", "wrong"):
                total[k] += s[k]
            total["meta_ok"] += s["meta_ok"]
            total["files"] += 1
            total["pages"] += len(parsed.ocr_pages)
            print(f"{quality} {scan.name}: {s['exact']}/{s['cells']} exact, {s['flagged']} flagged, "
                  f"{s['wrong']} wrong; metadata {'ok' if s['meta_ok'] else s['meta']}", file=sys.stderr)
            if args.verbose:
                for w in s["wrong_keys"]:
                    print("   wrong", w, file=sys.stderr)
        rows.append((quality, total))
        cost[quality] = (time.process_time() - cpu_started, total["pages"], loads)
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores; {platform.python_version()}; "
          f"OCR at {ocr.OCR_DPI} dpi; command: python scripts/bench_ocr.py --qualities {args.qualities} "
          f"--runs {args.runs}\n")
    print("| scan quality | files | OCR'd pages | cells | exact | flagged uncertain | wrong, not flagged | metadata right |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for quality, t in rows:
        pct = 100 * t["exact"] / t["cells"] if t["cells"] else 0
        print(f"| {quality} | {t['files']} | {t['pages']} | {t['cells']} | {t['exact']} ({pct:.1f}%) | "
              f"{t['flagged']} | {t['wrong']} | {t['meta_ok']}/{t['files']} |")
    qualities = [q for q, _ in rows]
    print("\n| document | " + " | ".join(qualities) + " |")
    print("| --- |" + " --- |" * len(qualities))
    for name, by_q in per_doc.items():
        cells = []
        for q in qualities:
            s = by_q.get(q)
            if s is None:
                cells.append("")
                continue
            pct = 100 * s["exact"] / s["cells"]
            cells.append(f"{s['exact']}/{s['cells']} ({pct:.1f}%), {s['flagged']} flagged, {s['wrong']} wrong")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n| scan quality | CPU s per OCR'd page (parse of every file) | load average during it |")
    print("| --- | --- | --- |")
    for q, (cpu_s, pages, loads) in cost.items():
        print(f"| {q} | {cpu_s / max(1, pages):.1f} | {min(loads):.1f}–{max(loads):.1f} |")
    if args.runs > 0:  # throughput: one scanned report parsed --runs times (wall clock and CPU per page)
        speed_src = next(p for p, _ in sources if "r002" in p.name) if any("r002" in p.name for p, _ in sources) \
            else sources[0][0]
        speed_scan = scan_pdf(speed_src, args.out / "speed" / speed_src.name, "fair", seal=True)
        rates, cpu = [], []
        speed_loads = [os.getloadavg()[0]]
        for _ in range(args.runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            pages = len(parse_report(speed_scan).ocr_pages)
            rates.append(pages / (time.perf_counter() - started))
            cpu.append((time.process_time() - cpu_started) / pages)
            speed_loads.append(os.getloadavg()[0])
        print(f"\nthroughput on {speed_scan.name} (fair scan, {pages} pages): median "
              f"{statistics.median(rates):.2f} pages/s (runs: {', '.join(f'{r:.2f}' for r in rates)}); "
              f"CPU {statistics.median(cpu):.1f} s/page (runs: {', '.join(f'{c:.1f}' for c in cpu)}); "
              f"load average {min(speed_loads):.1f}–{max(speed_loads):.1f} during the runs")
    print(f"\nload average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
