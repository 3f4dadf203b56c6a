#!/usr/bin/env python
"""Build or update the index from a folder of reports.

    python scripts/build_index.py --input data --index var/index

Indexes every .pdf/.docx/.html/.txt/.md file under --input (re-parsing only new or
changed files; scanned PDF pages are read by OCR, see --ocr), then prints a summary:
reports indexed, tables found per report, uncertain cells, failed checks, reports and
pages read by OCR, and rejected files with the reason (including files over the limits
of index.limits: NIANBAO_MAX_FILE_MB, NIANBAO_MAX_TEXT_CHARS, NIANBAO_PARSE_TIMEOUT,
NIANBAO_PARSE_MEMORY_MB). Exit status 0 even when some files are rejected (they are
listed); 1 when the build itself fails, another build of the index is running, or the
--metadata file is unusable (nothing is written then).

    python scripts/build_index.py --input data --index var/index --metadata bodies.csv

applies a staff metadata file (columns file, body, short_name, level, region,
parent_region; see README) to what was read from the reports.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index.build import BuildLocked, build  # noqa: E402
from index.metadata import MetadataFileError  # noqa: E402
from index.retrieval_stage import RetrievalStage  # noqa: E402
from index.settings import EmbeddingModelMissing, Settings  # noqa: E402


def print_summary(summary, out=sys.stdout, per_report: bool = True) -> None:
    print(f"\nIndex: {summary.build_dir}", file=out)
    if summary.reports and per_report:
        print(f"{'report':40} {'tables':24} {'cells':>5} {'uncertain':>9} {'checks failed':>13}", file=out)
        for r in summary.reports:
            tables = "/".join(r.tables) or "(none)"
            print(f"{r.id[:40]:40} {tables:24} {r.cells:>5} {r.uncertain:>9} {r.failed_checks:>13}", file=out)
    print(f"\nreports indexed: {len(summary.reports)} new or changed, {summary.unchanged} unchanged, "
          f"{len(summary.removed)} removed; {summary.total_reports} in the index", file=out)
    print(f"uncertain cells: {sum(r.uncertain for r in summary.reports)}; "
          f"reports failing a check: {sum(1 for r in summary.reports if r.failed_checks)}", file=out)
    scanned = [r for r in summary.reports if r.ocr_pages]
    if scanned:
        print(f"read by OCR: {len(scanned)} reports, {sum(r.ocr_pages for r in scanned)} pages; "
              f"uncertain cells in them: {sum(r.uncertain for r in scanned)}", file=out)
    if summary.rejected:
        print(f"files rejected: {len(summary.rejected)}", file=out)
        for source, reason in summary.rejected:
            print(f"  {source}: {reason}", file=out)
    else:
        print("files rejected: 0", file=out)
    if summary.overridden or summary.overrides_unmatched:
        print(f"metadata overridden: {len(summary.overridden)} reports", file=out)
        if per_report:
            for source, changes in summary.overridden.items():
                told = "; ".join(f"{name} {read or '-'} → {new or '-'}" for name, (read, new) in changes.items())
                print(f"  {source}: {told}", file=out)
        for row in summary.overrides_unmatched:
            print(f"  metadata row matching no report: {row}", file=out)
    split = ", ".join(f"{name} {seconds:.1f}" for name, seconds in summary.timings.items())
    print(f"time: {summary.seconds:.1f} s ({split})", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True, help="folder (or single file) of reports")
    parser.add_argument("--index", required=True, help="index directory to create or update")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--brief", action="store_true",
                        help="totals only, no line per report (for large folders)")
    parser.add_argument("--no-embeddings", action="store_true",
                        help="passages and BM25 without embeddings (fast; the default search falls back "
                             "to BM25, dense/hybrid asked for by name are unavailable)")
    parser.add_argument("--no-passages", action="store_true",
                        help="structured store only: skip passages, embeddings and the BM25 index")
    parser.add_argument("--metadata", metavar="FILE.csv",
                        help="staff metadata overrides: CSV with columns file, body, short_name, level, region, "
                             "parent_region (see README)")
    parser.add_argument("--ocr", choices=("auto", "off", "force"), default="auto",
                        help="OCR of scanned PDF pages: auto = only pages without text (default), "
                             "off = reject scanned PDFs, force = OCR every PDF page")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()  # read once, here at the edge, and passed down
        stages = [] if args.no_passages else [RetrievalStage(dense=not args.no_embeddings, settings=settings)]
        summary = build(args.input, args.index, progress=not args.quiet, stages=stages,
                        metadata_file=args.metadata, limits=settings.limits, ocr=args.ocr,
                        facts_url=settings.facts_url)
    # ValueError: a limit; EmbeddingModelMissing: no model, or one the ONNX backend cannot run
    except (FileNotFoundError, MetadataFileError, BuildLocked, ValueError, EmbeddingModelMissing) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    print_summary(summary, per_report=not args.brief)
    return 0


if __name__ == "__main__":
    sys.exit(main())
