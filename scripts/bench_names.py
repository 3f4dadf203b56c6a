#!/usr/bin/env python
"""Benchmark finding body names in a question (qa.names.NameMatcher) at scale.

    python scripts/bench_names.py [--bodies 2500] [--runs 5]

Makes the aliases of N synthetic townships and N synthetic departments (qa.names
.body_aliases, the same generator the catalog uses), then times exact plus
one-character matching of a few questions; prints the number of names and, per
question, the median of --runs runs (each the mean of 10 matches) in milliseconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.names import NameMatcher, body_aliases  # noqa: E402

CHARS = "东西南北中华阳山河湖海江城新安平和兴隆福寿康宁永定长乐清泉石桥"
DEPARTMENTS = ("市场监督管理局", "自然资源局", "发展和改革局", "财政局", "公安局")
QUESTIONS = ("东西县南北镇2021年收到多少申请", "哪些乡镇2021年没有收到政府信息公开申请",
             "我是一名普通市民平时很关心政府信息公开工作想请教一下平潭2021年一共收到多少件申请")


def matcher(bodies: int, seed: int = 1) -> NameMatcher:
    rng = random.Random(seed)
    names: dict[str, set[str]] = {}
    for _ in range(bodies):
        county = "".join(rng.sample(CHARS, 2)) + "县"
        for body in (f"{county}{''.join(rng.sample(CHARS, 2))}{rng.choice('乡镇')}人民政府",
                     f"{county}{rng.choice(DEPARTMENTS)}"):
            for alias in body_aliases(body):
                names.setdefault(alias, set()).add(body)
    return NameMatcher([(a, b, False) for a, b in names.items()])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", type=int, default=2500, help="townships, and as many departments")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    m = matcher(args.bodies)
    print(f"{len(m.names)} names")
    for question in QUESTIONS:
        runs = []
        for _ in range(args.runs):
            started = time.perf_counter()
            for _ in range(10):
                m.exact(question)
                m.near(question)
            runs.append((time.perf_counter() - started) / 10 * 1000)
        print(f"{statistics.median(runs):7.2f} ms  {question[:16]}…")
    return 0


if __name__ == "__main__":
    sys.exit(main())
