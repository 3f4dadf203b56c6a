#!/usr/bin/env python
"""Parse throughput: text reports/s and PDF pages/s (load + sections + metadata + tables + checks).

    python scripts/bench_parse.py [--runs 5]
    python scripts/bench_parse.py --input var/scale/r1k --runs 3    # a generated corpus instead

Parses every text/markdown/HTML fixture and every PDF fixture (or those of ``--input``,
plus its Word files) `--runs` times and prints the median rate of the runs. No index is
written: this measures parsing alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.parse import parse_report  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"


def rate(paths: list[Path], units) -> float:
    started = time.perf_counter()
    total = 0
    for path in paths:
        parsed = parse_report(path)
        total += units(parsed)
    return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--input", help="a folder of reports instead of the test fixtures")
    args = parser.parse_args()
    if args.input:
        files = sorted(Path(args.input).iterdir())
        text = [p for p in files if p.suffix in (".txt", ".md", ".html")]
        pdfs = [p for p in files if p.suffix == ".pdf"]
        docx = [p for p in files if p.suffix == ".docx"]
        if docx:
            docx_rates = [rate(docx, lambda r: 1) for _ in range(args.runs)]
            print(f"Word: {len(docx)} files, median {statistics.median(docx_rates):.1f} reports/s "
                  f"(runs: {', '.join(f'{r:.1f}' for r in docx_rates)})")
    else:
        text = sorted(p for folder in ("seeds", "real") for p in (FIXTURES / folder).iterdir()
                      if p.suffix in (".txt", ".md", ".html"))
        pdfs = sorted(p for folder in ("real", "seeds_pdf") if (FIXTURES / folder).exists()
                      for p in (FIXTURES / folder).glob("*.pdf"))
    text_rates = [rate(text, lambda r: 1) for _ in range(args.runs)]
    pdf_rates = [rate(pdfs, lambda r: r.page_count or 0) for _ in range(args.runs)]
    print(f"text/markdown/HTML: {len(text)} files, median {statistics.median(text_rates):.1f} reports/s "
          f"(runs: {', '.join(f'{r:.1f}' for r in text_rates)})")
    print(f"PDF: {len(pdfs)} files, {sum(parse_report(p).page_count for p in pdfs)} pages, "
          f"median {statistics.median(pdf_rates):.1f} pages/s (runs: {', '.join(f'{r:.1f}' for r in pdf_rates)})")


if __name__ == "__main__":
    main()
