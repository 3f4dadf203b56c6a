#!/usr/bin/env python
"""Score the question-answering system on a dev set.

    python scripts/evaluate.py tests/qa_dev.jsonl --index var/index [--show-failures]
    python scripts/evaluate.py tests/qa_dev.jsonl --index var/index --text-mode hybrid

Each line of the dev set is {"id", "intent", "question", "history", "expect":
{"contains": [...], "not_contains": [...]}, "cite": [report ids]}. An answer is
correct when its text holds every ``contains`` string (whitespace ignored), none of
the ``not_contains`` ones, and it cites every expected report (an empty ``cite``
means it must cite nothing: the not-found answers). Prints accuracy, citation
accuracy and latency p50/p95 per intent, and **wrong figures stated**: wrong answers
that state a number as fact (a figure in the answer's first sentence that is neither a
year nor a number of the question) instead of saying they cannot answer ("没有…",
"无法…", "读数不确定", a question back). The target is zero. Exit status 1 when a
question errors.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.answer import IndexNotFound, answer  # noqa: E402
from qa.understand import QuestionError  # noqa: E402


@dataclass
class Result:
    case: dict
    ok_text: bool
    ok_cite: bool
    intent: str
    seconds: float
    answer: str
    cited: list[str]
    error: str = ""

    @property
    def correct(self) -> bool:
        return self.ok_text and self.ok_cite and not self.error

    @property
    def wrong_figure(self) -> bool:
        """A wrong answer whose first sentence states a number that is not one the
        question asks for (the expected figures count as asked: an answer right in its
        figures but wrong elsewhere, e.g. a missing citation, states no wrong figure)."""
        expected = " ".join(self.case.get("expect", {}).get("contains", []))
        return not self.correct and states_figure(self.answer, self.case.get("question", "") + " " + expected)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# An answer that declines or asks back states no figure, whatever numbers it lists.
_DECLINES = re.compile(r"^(?:索引中(?:还)?没有|没有找到|报告中没有|无法|不能确定|没有看懂|您问的是|请问您|"
                       r"[^。]{0,40}(?:读数不确定|未填报|没有.{0,20}报告))")
_DATE = re.compile(r"(?:\d{4}年)?\d{1,2}月(?:\d{1,2}日)?|\d{4}-\d{2}-\d{2}")
_FIGURE = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])")


def states_figure(answer: str, question: str) -> bool:
    """Whether an answer's first sentence states a number as fact: a number that is
    not a year (2021年, 2019–2025) or part of a date (9月1日), and not one of
    ``question`` (the question and the figures it expects)."""
    first = re.split(r"[。\n]", answer.strip(), maxsplit=1)[0]
    if not first or _DECLINES.search(first):
        return False
    first = _DATE.sub("", first)  # a date is not a figure
    asked = set(_FIGURE.findall(question))
    for m in _FIGURE.finditer(first):
        number, after = m.group(0), first[m.end():m.end() + 1]
        if re.fullmatch(r"(19|20)\d\d", number) and after in ("年", "–", "-", "、", "和", "至", ""):
            continue
        if number not in asked:
            return True
    return False


def load_cases(path: str | Path) -> list[dict]:
    cases = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                cases.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise SystemExit(f"Error: {path}:{n}: not JSON ({error.msg})")
    return cases


def run_case(case: dict, index_dir: str | Path, text_mode: str | None = None) -> Result:
    started = time.perf_counter()
    try:
        a = answer(case["question"], index_dir, case.get("history") or None, text_mode=text_mode)
    except (QuestionError, IndexNotFound) as error:
        return Result(case, False, False, "", time.perf_counter() - started, "", [], str(error))
    seconds = time.perf_counter() - started
    text = _squash(a.answer)
    expect = case.get("expect", {})
    ok_text = all(_squash(s) in text for s in expect.get("contains", [])) and \
        not any(_squash(s) in text for s in expect.get("not_contains", []))
    cited = [c.report_id for c in a.citations]
    wanted = case.get("cite", [])
    ok_cite = all(r in cited for r in wanted) if wanted else not cited
    return Result(case, ok_text, ok_cite, a.intent, seconds, a.answer, cited)


def evaluate(cases: list[dict], index_dir: str | Path, text_mode: str | None = None) -> list[Result]:
    return [run_case(c, index_dir, text_mode) for c in cases]


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


def summary(results: list[Result]) -> dict[str, dict]:
    groups: dict[str, list[Result]] = {}
    for r in results:
        groups.setdefault(r.case.get("intent", "?"), []).append(r)
    groups["ALL"] = results
    out = {}
    for name, rs in groups.items():
        out[name] = {
            "n": len(rs),
            "accuracy": sum(r.correct for r in rs) / len(rs),
            "citation_accuracy": sum(r.ok_cite for r in rs) / len(rs),
            "intent_accuracy": sum(r.intent == r.case.get("intent") for r in rs) / len(rs),
            "wrong_figures": sum(r.wrong_figure for r in rs),
            "p50_ms": _pct([r.seconds for r in rs], 0.5) * 1000,
            "p95_ms": _pct([r.seconds for r in rs], 0.95) * 1000,
        }
    return out


def print_report(stats: dict[str, dict], out=sys.stdout) -> None:
    print(f"{'intent':10} {'n':>4} {'accuracy':>9} {'citations':>9} {'intent ok':>9} {'wrong fig':>9} "
          f"{'p50 ms':>8} {'p95 ms':>8}", file=out)
    for name, s in sorted(stats.items(), key=lambda kv: (kv[0] == "ALL", kv[0])):
        print(f"{name:10} {s['n']:>4} {s['accuracy']:>9.0%} {s['citation_accuracy']:>9.0%} "
              f"{s['intent_accuracy']:>9.0%} {s['wrong_figures']:>9} {s['p50_ms']:>8.0f} {s['p95_ms']:>8.0f}",
              file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dev_set", help="JSONL file of questions with expected answers")
    parser.add_argument("--index", required=True, help="index directory (scripts/build_index.py)")
    parser.add_argument("--show-failures", action="store_true", help="print each wrong answer")
    parser.add_argument("--json", action="store_true", help="print the per-intent figures as JSON")
    parser.add_argument("--text-mode", choices=("bm25", "hybrid", "dense"),
                        help="retrieval mode for text questions (default: qa.retrieve.DEFAULT_MODE, hybrid)")
    args = parser.parse_args(argv)
    if not Path(args.dev_set).exists():
        print(f"Error: dev set {args.dev_set} not found", file=sys.stderr)
        return 1
    try:
        results = evaluate(load_cases(args.dev_set), args.index, args.text_mode)
    except IndexNotFound as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    stats = summary(results)
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=1))
    else:
        print_report(stats)
    if args.show_failures:
        for r in results:
            if not r.correct:
                c = r.case
                flag = "  WRONG FIGURE STATED" if r.wrong_figure else ""
                print(f"\n[{c['id']}] {c['intent']} -> {r.intent}{flag}  history={c.get('history')}\n  Q: {c['question']}\n"
                      f"  expected {c['expect']} cite={c.get('cite')}\n  cited {r.cited[:6]}\n  A: {r.error or r.answer[:300]}")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
