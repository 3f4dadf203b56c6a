#!/usr/bin/env python
"""Benchmark what suggestions cost (qa.suggest): making a build's example questions, and
the follow-ups every answer carries.

    python scripts/bench_suggest.py --index var/index [--set tests/qa_dev.jsonl] [--runs 3]

Prints the median of --runs runs of ``example_questions`` on a fresh ``Index`` of the
served build (nothing cached: each run finds and answers its candidates again), then,
for every question of the set (with its history), the median time of
``answer(..., suggest=False)`` and ``answer(..., suggest=True)`` over --runs runs, and
the median and 90th percentile over the questions of each and of their difference.
The first answer of each question is not timed (it loads jieba and the BM25 index).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index.served import Index, open_index  # noqa: E402
from qa.answer import answer  # noqa: E402
from qa.suggest import example_questions  # noqa: E402


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", default="var/index")
    parser.add_argument("--set", default="tests/qa_dev.jsonl", help="questions (JSON lines with question, history)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    build = open_index(args.index).build_dir
    cases = [json.loads(line) for line in Path(args.set).read_text(encoding="utf-8").splitlines() if line.strip()]

    example_runs = []
    for _ in range(args.runs):
        fresh = Index(build)
        started = time.perf_counter()
        examples = example_questions(fresh)
        example_runs.append(_ms(started))
        fresh.close()
    print(f"example_questions: {statistics.median(example_runs):.0f} ms (median of {args.runs}, "
          f"{len(examples)} examples, fresh Index each run)")

    index = open_index(args.index)
    plain, with_suggestions, added, helps = [], [], [], 0
    for case in cases:
        q, history = case["question"], case.get("history") or None
        helps += answer(q, index, history).intent == "help"  # warm: not timed
        times = {False: [], True: []}
        for _ in range(args.runs):
            for suggest in (False, True):
                started = time.perf_counter()
                answer(q, index, history, suggest=suggest)
                times[suggest].append(_ms(started))
        a, b = statistics.median(times[False]), statistics.median(times[True])
        plain.append(a)
        with_suggestions.append(b)
        added.append(b - a)
    print(f"{len(cases)} questions of {args.set} ({helps} answered with help), per question the median of "
          f"{args.runs} runs:")
    for name, values in (("answer, no suggestions", plain), ("answer with suggestions", with_suggestions),
                         ("added by suggestions", added)):
        print(f"  {name:24s} median {statistics.median(values):7.1f} ms   p90 {_pct(values, 0.9):7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
