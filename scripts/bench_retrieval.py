#!/usr/bin/env python
"""Benchmark passage retrieval: recall@5 and MRR for dense, BM25 and hybrid search.

    python scripts/bench_retrieval.py                # builds var/bench-retrieval once, reuses it
    python scripts/bench_retrieval.py --sweep        # also try fusion weights and BM25 tokenizers

Questions: tests/retrieval_questions.jsonl, one JSON object a line: ``id``, ``question``,
``report_id`` (gold report), ``quotes`` (substrings of the gold passage; whitespace is
ignored when matching, so they survive re-chunking) and ``style`` (direct / colloquial /
paraphrase / table). A hit is correct when it comes from the gold report and contains
one of the quotes. The corpus is data/ plus the real reports in tests/fixtures/real/.
Prints markdown tables (overall, per style, latency).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

QUESTIONS = ROOT / "tests" / "retrieval_questions.jsonl"
CORPUS = [ROOT / "data", ROOT / "tests" / "fixtures" / "real"]
MODES = ("dense", "bm25", "hybrid")


def load_questions(path: Path = QUESTIONS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def is_gold(hit, question: dict) -> bool:
    text = _norm(hit.text)
    return hit.report_id == question["report_id"] and any(_norm(q) in text for q in question["quotes"])


def gold_rank(hits, question: dict) -> int | None:
    return next((i for i, h in enumerate(hits, 1) if is_gold(h, question)), None)


def corpus_dir(work: Path) -> Path:
    """One folder with (links to) every corpus file, as build() reads a single folder."""
    folder = work / "input"
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {}
    for source in CORPUS:
        for path in sorted(source.iterdir()):
            if path.is_file() and path.suffix.lower() in (".txt", ".md", ".html", ".htm", ".pdf", ".docx"):
                wanted[path.name] = path
    for link in folder.iterdir():
        if link.name not in wanted:
            link.unlink()
    for name, path in wanted.items():
        link = folder / name
        if not link.exists():
            link.symlink_to(path)
    return folder


def build_index(work: Path) -> Path:
    from index.build import build
    from index.retrieval_stage import RetrievalStage

    index = work / "index"
    started = time.perf_counter()
    stage = RetrievalStage()
    summary = build(corpus_dir(work), index, progress=False, stages=[stage])
    seconds = time.perf_counter() - started
    print(f"index: {summary.total_reports} reports ({len(summary.reports)} parsed, "
          f"{summary.unchanged} unchanged, {len(summary.rejected)} rejected); "
          f"{stage.embedded_passages} passages embedded in {seconds:.1f} s", file=sys.stderr)
    return index


def evaluate(ranked: dict[str, list], questions: list[dict]) -> dict:
    ranks = [gold_rank(ranked[q["id"]], q) for q in questions]
    n = len(questions) or 1
    return {
        "n": len(questions),
        "r1": sum(1 for r in ranks if r == 1) / n,
        "r5": sum(1 for r in ranks if r and r <= 5) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
        "misses": [q["id"] for q, r in zip(questions, ranks) if not r or r > 5],
    }


def run_mode(index: Path, questions: list[dict], mode: str, k: int = 10):
    from qa.retrieve import search

    ranked, times = {}, []
    for q in questions:
        started = time.perf_counter()
        ranked[q["id"]] = search(index, q["question"], k=k, mode=mode)
        times.append(time.perf_counter() - started)
    return ranked, times


def table(rows: list[tuple[str, dict]], title: str) -> str:
    out = [f"\n### {title}\n", "| mode | n | recall@1 | recall@5 | MRR@10 |", "|---|---|---|---|---|"]
    out += [f"| {name} | {m['n']} | {m['r1']:.3f} | {m['r5']:.3f} | {m['mrr']:.3f} |" for name, m in rows]
    return "\n".join(out)


def sweep(index: Path, questions: list[dict]) -> None:
    """Fusion weights and BM25 tokenizers, on the same candidate lists."""
    from index import lexical, passages as passage_store, store
    from index.build import current_dir
    from qa import retrieve

    opened = retrieve.open_index(index)
    original = opened.lexical
    rows = []
    db = store.open_readonly(current_dir(index))
    passages = passage_store.load_passages(db)
    db.close()
    for tokenizer in ("char", "jieba", "char+jieba"):
        opened.lexical = lexical.LexicalIndex.from_passages(passages, tokenizer)
        ranked, _ = run_mode(index, questions, "bm25")
        rows.append((f"bm25 {tokenizer}", evaluate(ranked, questions)))
    opened.lexical = original
    print(table(rows, "BM25 tokenizers"))
    rows = []
    saved = (retrieve.BM25_WEIGHT, retrieve.DENSE_WEIGHT, retrieve.RRF_K)
    for bm25_weight, dense_weight, rrf_k in [(1, 1, 60), (1.5, 1, 60), (2, 1, 60), (3, 1, 60),
                                             (1, 1.5, 60), (1, 1, 10), (2, 1, 10), (1.5, 1, 20)]:
        retrieve.BM25_WEIGHT, retrieve.DENSE_WEIGHT, retrieve.RRF_K = bm25_weight, dense_weight, rrf_k
        ranked, _ = run_mode(index, questions, "hybrid")
        rows.append((f"hybrid bm25×{bm25_weight} dense×{dense_weight} k={rrf_k}", evaluate(ranked, questions)))
    retrieve.BM25_WEIGHT, retrieve.DENSE_WEIGHT, retrieve.RRF_K = saved
    print(table(rows, "Fusion weights"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default=str(ROOT / "var" / "bench-retrieval"),
                        help="folder for the corpus links and the index (reused between runs)")
    parser.add_argument("--questions", default=str(QUESTIONS))
    parser.add_argument("--sweep", action="store_true", help="also compare fusion weights and tokenizers")
    parser.add_argument("--misses", action="store_true", help="list the questions each mode misses at 5")
    args = parser.parse_args(argv)
    questions = load_questions(Path(args.questions))
    index = build_index(Path(args.work))

    from qa.retrieve import search

    search(index, "预热", k=1, mode="hybrid")  # load the model and open the index once
    results, latency = {}, {}
    for mode in MODES:
        ranked, times = run_mode(index, questions, mode)
        results[mode] = ranked
        latency[mode] = times
    overall = [(mode, evaluate(results[mode], questions)) for mode in MODES]
    print(table(overall, f"All questions ({len(questions)})"))
    styles = sorted({q["style"] for q in questions})
    for style in styles:
        subset = [q for q in questions if q["style"] == style]
        print(table([(mode, evaluate(results[mode], subset)) for mode in MODES], f"Style: {style}"))
    print("\n### Latency (ms per query, k=10)\n\n| mode | p50 | p95 |\n|---|---|---|")
    for mode in MODES:
        times = sorted(latency[mode])
        print(f"| {mode} | {statistics.median(times) * 1000:.1f} | {times[int(0.95 * (len(times) - 1))] * 1000:.1f} |")
    if args.misses:
        for mode, metrics in overall:
            print(f"\n{mode} misses@5: {', '.join(metrics['misses']) or '-'}")
    if args.sweep:
        sweep(index, questions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
