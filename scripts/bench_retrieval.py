#!/usr/bin/env python
"""Benchmark passage retrieval: recall@5 and MRR for dense, BM25 and hybrid search.

    python scripts/bench_retrieval.py                # builds var/bench-retrieval once, reuses it
    python scripts/bench_retrieval.py --sweep        # also try fusions, their weights and BM25 tokenizers
    python scripts/bench_retrieval.py --runs 3       # latency: median of 3 runs per mode

Two question sets, reported apart:

- ``tests/retrieval_questions.jsonl`` (issue 3, "old"): direct / colloquial / paraphrase /
  table questions, many of them using the report's own words.
- ``tests/retrieval_colloquial.jsonl`` (issue 9, "colloquial"): blind questions in
  citizens' words that share few words with the passage ('有哪些工作亮点' where section 一
  never says 亮点), all answered by text passages.

One JSON object a line: ``id``, ``question``, ``report_id`` (gold report), ``quotes``
(substrings of the gold passage; whitespace is ignored when matching, so they survive
re-chunking) and ``style``. A hit is correct when it comes from the gold report and
contains one of the quotes. The corpus is data/, tests/fixtures/real/ and
tests/fixtures/pingtan/ (Pingtan bodies whose reports are nearly identical in wording,
which is what makes the colloquial set hard).

Each set is scored in up to three views:

- ``open``: the whole corpus, no filters (the issue-3 view);
- ``text``: the whole corpus, text passages only (``kind="text"``, as text answers ask);
- ``scoped``: the gold report's text passages only, question without the year, which is
  what ``qa/answer.py`` searches once it knows the body and year (``report_ids``,
  ``kind="text"``): does the right section come first?

Accuracy is deterministic; latency is the median over ``--runs`` runs of each run's
per-query p50 / p95. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
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
COLLOQUIAL = ROOT / "tests" / "retrieval_colloquial.jsonl"
CORPUS = [ROOT / "data", ROOT / "tests" / "fixtures" / "real", ROOT / "tests" / "fixtures" / "pingtan"]
MODES = ("dense", "bm25", "hybrid")
VIEWS = ("open", "text", "scoped")
# tried by --sweep: score fusion with these BM25 shares, and reciprocal-rank fusion
# with these (BM25 weight, dense weight, RRF k)
SHARES = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9]
WEIGHTS = [(1, 1, 60), (2, 1, 60), (3, 1, 60), (1, 2, 60), (1, 1, 10), (2, 1, 10), (1, 2, 10), (1.5, 1, 20)]
_YEAR = re.compile(r"(?:19|20)\d{2}年度?")


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
    """One folder with (hard links to) every corpus file, as build() reads a single folder
    (symbolic links to files outside the input folder are refused by the build)."""
    folder = work / "input"
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {}
    for source in CORPUS:
        for path in sorted(source.iterdir()):
            if path.is_file() and path.suffix.lower() in (".txt", ".md", ".html", ".htm", ".pdf", ".docx"):
                wanted[path.name] = path
    for link in folder.iterdir():
        if link.name not in wanted or link.is_symlink():
            link.unlink()
    for name, path in wanted.items():
        link = folder / name
        if not link.exists():
            try:
                os.link(path, link)
            except OSError:  # another file system
                shutil.copy2(path, link)
    return folder


def build_index(work: Path) -> Path:
    from index.build import build
    from index.retrieval_stage import RetrievalStage
    from index.settings import Settings

    index = work / "index"
    started = time.perf_counter()
    stage = RetrievalStage(settings=Settings.from_env())  # NIANBAO_EMBEDDING_BACKEND …
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
        "table_rows_top1": sum(1 for q in questions if ranked[q["id"]] and ranked[q["id"]][0].kind != "text"),
    }


def search_view(index: Path, question: dict, mode: str, view: str, k: int = 10):
    from qa.retrieve import search

    if view == "open":
        return search(index, question["question"], k=k, mode=mode)
    if view == "text":
        return search(index, question["question"], k=k, mode=mode, kind="text")
    query = _YEAR.sub("", question["question"]) or question["question"]
    return search(index, query, k=k, mode=mode, kind="text", report_ids={question["report_id"]})


def run_mode(index: Path, questions: list[dict], mode: str, view: str = "open", k: int = 10,
             clear_cache: bool = True):
    from index.embeddings import _query_vector

    if clear_cache:  # every timed run pays for embedding its questions, as a new question does
        _query_vector.cache_clear()
    ranked, times = {}, []
    for q in questions:
        started = time.perf_counter()
        ranked[q["id"]] = search_view(index, q, mode, view, k)
        times.append(time.perf_counter() - started)
    return ranked, times


def table(rows: list[tuple[str, dict]], title: str) -> str:
    out = [f"\n### {title}\n", "| mode | n | recall@1 | recall@5 | MRR@10 | top-1 table row |",
           "|---|---|---|---|---|---|"]
    out += [f"| {name} | {m['n']} | {m['r1']:.3f} | {m['r5']:.3f} | {m['mrr']:.3f} | {m['table_rows_top1']} |"
            for name, m in rows]
    return "\n".join(out)


def sweep(index: Path, sets: dict[str, list[dict]]) -> None:
    """Fusion weights and BM25 tokenizers, on the same candidate lists, per set and view."""
    from index import lexical, passages as passage_store, store
    from index.build import current_dir
    from qa import retrieve

    opened = retrieve.open_index(index)
    original = opened.lexical
    db = store.open_readonly(current_dir(index))
    passages = passage_store.load_passages(db)
    db.close()
    rows = []
    for tokenizer in ("char", "jieba", "char+jieba"):
        opened.lexical = lexical.LexicalIndex.from_passages(passages, tokenizer)
        for name, questions in sets.items():
            for view in VIEWS:
                asked = _in_view(questions, view)
                ranked, _ = run_mode(index, asked, "bm25", view, clear_cache=False)
                rows.append((f"{name} / {view}: bm25 {tokenizer}", evaluate(ranked, asked)))
    opened.lexical = original
    print(table(rows, "BM25 tokenizers"))
    saved = (retrieve.FUSION, retrieve.BM25_SHARE, retrieve.BM25_WEIGHT, retrieve.DENSE_WEIGHT, retrieve.RRF_K)
    settings = [(f"score bm25 share {share}", ("score", share) + saved[2:]) for share in SHARES]
    settings += [(f"rrf bm25×{b} dense×{d} k={k}", ("rrf", saved[1], b, d, k)) for b, d, k in WEIGHTS]
    rows = []
    for label, setting in settings:
        (retrieve.FUSION, retrieve.BM25_SHARE, retrieve.BM25_WEIGHT, retrieve.DENSE_WEIGHT,
         retrieve.RRF_K) = setting
        for name, questions in sets.items():
            for view in VIEWS:
                asked = _in_view(questions, view)
                ranked, _ = run_mode(index, asked, "hybrid", view, clear_cache=False)
                rows.append((f"{name} / {view}: {label}", evaluate(ranked, asked)))
    retrieve.FUSION, retrieve.BM25_SHARE, retrieve.BM25_WEIGHT, retrieve.DENSE_WEIGHT, retrieve.RRF_K = saved
    print(table(rows, "Fusion (hybrid mode)"))


def _in_view(questions: list[dict], view: str) -> list[dict]:
    """The questions a view applies to: the text-only views leave out questions about
    table figures (style 'table'), which only table-row passages answer."""
    return questions if view == "open" else [q for q in questions if q["style"] != "table"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default=str(ROOT / "var" / "bench-retrieval"),
                        help="folder for the corpus links and the index (reused between runs)")
    parser.add_argument("--questions", default=str(QUESTIONS), help="the old (issue 3) question set")
    parser.add_argument("--colloquial", default=str(COLLOQUIAL), help="the blind colloquial set (issue 9)")
    parser.add_argument("--runs", type=int, default=3, help="runs per mode; latency is their median")
    parser.add_argument("--sweep", action="store_true", help="also compare fusion weights and tokenizers")
    parser.add_argument("--misses", action="store_true", help="list the questions each mode misses at 5")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    sets = {"old": load_questions(Path(args.questions)), "colloquial": load_questions(Path(args.colloquial))}
    index = build_index(Path(args.work))

    from qa.retrieve import search

    search(index, "预热", k=1, mode="hybrid")  # load the model and open the index once
    latency: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
    for name, all_questions in sets.items():
        for view in VIEWS:
            questions = _in_view(all_questions, view)
            results = {}
            for mode in MODES:
                for run in range(args.runs):
                    ranked, times = run_mode(index, questions, mode, view)
                    if name == "old" and view == "open":  # latency on one fixed workload
                        times.sort()
                        latency[mode].append((statistics.median(times), times[int(0.95 * (len(times) - 1))]))
                results[mode] = ranked  # deterministic: the last run's ranking stands for all
            overall = [(mode, evaluate(results[mode], questions)) for mode in MODES]
            print(table(overall, f"{name} set, {view} view ({len(questions)} questions)"))
            if name == "old" and view == "open":
                for style in sorted({q["style"] for q in questions}):
                    subset = [q for q in questions if q["style"] == style]
                    print(table([(mode, evaluate(results[mode], subset)) for mode in MODES],
                                f"{name} set, {view} view, style: {style}"))
            if args.misses:
                for mode, metrics in overall:
                    print(f"\n{name}/{view} {mode} misses@5: {', '.join(metrics['misses']) or '-'}")
    print(f"\n### Latency (ms per query, k=10, old set, open view; median of {args.runs} runs)\n")
    print("| mode | p50 | p95 | p50 per run |\n|---|---|---|---|")
    for mode in MODES:
        p50s = [p * 1000 for p, _ in latency[mode]]
        p95s = [p * 1000 for _, p in latency[mode]]
        print(f"| {mode} | {statistics.median(p50s):.1f} | {statistics.median(p95s):.1f} | "
              f"{', '.join(f'{p:.1f}' for p in p50s)} |")
    if args.sweep:
        sweep(index, sets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
