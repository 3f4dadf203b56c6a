"""Find the passages that answer a question: dense (m3e + chroma), BM25, or both.

    from qa.retrieve import search
    hits = search("var/index", "交岔乡2021年收到多少政府信息公开申请", k=5, year=2021)
    hits[0].report_id, hits[0].section, hits[0].page_start, hits[0].text

``mode``: ``'hybrid'`` (the default: BM25 and dense scores fused, see below),
``'bm25'`` or ``'dense'``. Filters: ``year`` (int), ``level`` (township/county/city/
province/department), ``agency`` (matched against each report's body, short name
and title, either way round: '交岔乡' and '彭阳县交岔乡人民政府' both match),
``report_ids`` and ``kind`` ('text' for text questions: a table-row passage never
answers them). Filters are a chroma ``where`` for dense search and a mask over the
BM25 scores, so both lists only ever hold allowed passages.

An index built with ``--no-embeddings`` has no vectors: the default mode then
searches with BM25 alone (logged once per index), while an explicit ``mode='dense'``
or ``'hybrid'`` raises IndexNotFound saying so.

The build's files (BM25 shards, vectors, passages) are read through its
``index.served.Index``, opened once per served build; the embedding model is loaded
once per process; the first query of a process pays for loading.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from pathlib import Path

from index import vectors
from index.embeddings import embed_query
from index.passages import Passage
from index.served import Index, IndexNotFound, open_index

MODES = ("bm25", "hybrid", "dense")
# Chosen with scripts/bench_retrieval.py (BENCHMARKS.md, issue 9) on the blind
# colloquial set (tests/retrieval_colloquial.jsonl: citizens' words, '有哪些工作亮点'
# where section 一 never says 亮点), without losing on the issue-3 set. Recall@5 over
# the whole corpus, text passages (colloquial 54 / old 68 questions):
# bm25 0.667 / 0.956, hybrid (score fusion below) 0.741 / 0.971, dense 0.648 / 0.750.
# BM25 alone matches the colloquial questions on their body name and year, not on
# what they ask; the embedding carries the meaning.
DEFAULT_MODE = "hybrid"
LEVELS = ("township", "county", "city", "province", "department")

# Hybrid fusion. 'score' (the default): each list's scores divided by its best
# score, then BM25_SHARE * bm25 + (1 - BM25_SHARE) * dense; BM25 leads and the
# embedding reorders passages BM25 scores alike. Of 15 fusions swept it was the only
# one that won on the colloquial set and lost on no view of the old set (0.75 loses one
# old question, 0.85 two colloquial ones: a narrow optimum). 'rrf': weighted reciprocal-rank fusion,
# sum(weight / (RRF_K + rank)); with the weights below it won the colloquial set
# within one report (MRR 0.621 vs 0.574) but lost on the old set (0.917 vs 0.944).
FUSION = "score"
BM25_SHARE = 0.8
RRF_K = 10
BM25_WEIGHT = 2.0
DENSE_WEIGHT = 1.0
CANDIDATES = 50  # passages taken from each list before fusion

log = logging.getLogger(__name__)


@dataclass
class Hit(Passage):
    score: float = 0.0
    rank: int = 0  # 1-based
    bm25_rank: int | None = None
    dense_rank: int | None = None


def quiet_model_loading() -> None:
    """No progress bars or advisory logs when the embedding model loads on the first
    dense query (the CLI and API print answers, not 'Loading weights: 100%'): through
    the libraries' own switches, not the environment."""
    for name in ("sentence_transformers", "transformers", "huggingface_hub", "chromadb"):
        logging.getLogger(name).setLevel(logging.WARNING if name == "chromadb" else logging.ERROR)
    try:
        from huggingface_hub.utils import disable_progress_bars
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        disable_progress_bars()
    except ImportError:  # pragma: no cover - only quietens output
        pass


def warm_up(index: Index | str | Path) -> None:
    """Open the index and, when the default mode uses vectors and the build has them,
    load the embedding model (importing it costs seconds: a server does it before
    its first question, not during it). Raises IndexNotFound."""
    index = open_index(index)
    index.lexical  # noqa: B018 - load the BM25 shards now
    if DEFAULT_MODE != "bm25" and index.has_vectors:
        quiet_model_loading()
        embed_query("预热", index.model, index.onnx_dir)


def section_passages(index: Index | str | Path, report_id: str, section: int) -> list[Passage]:
    """The text passages of one section of one report, in reading order (to read on
    past a hit: an enumeration 一是…二是… may run into the next passage)."""
    return open_index(index).section_passages(report_id, section)


def _agency_reports(index: Index, agency: str) -> set[str]:
    """Reports whose body, short name or title names the agency (either way round)."""
    agency = agency.strip()
    out = set()
    for r in index.report_names():
        names = [n for n in (r["body"], r["short_name"], r["title"]) if n]
        if any(agency in n or (len(n) >= 2 and n in agency and n != r["title"]) for n in names):
            out.add(r["id"])
    return out


def _where(report_ids: set[str] | None, year: int | None, level: str | None,
           kind: str | None = None) -> dict | None:
    clauses = []
    if kind is not None:
        clauses.append({"kind": kind})
    if report_ids is not None:
        clauses.append({"report_id": {"$in": sorted(report_ids)}})
    if year is not None:
        clauses.append({"year": year})
    if level is not None:
        clauses.append({"level": level})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _check(query: str, k: int, mode: str, level: str | None, year) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    if level is not None and level not in LEVELS:
        raise ValueError(f"unknown level {level!r}: use one of {', '.join(LEVELS)}")
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if year is not None and not isinstance(year, int):
        raise ValueError(f"year must be an int, not {year!r}")
    if not query or not query.strip():
        raise ValueError("empty query")


def fuse(ranked: list[tuple[list[str], float]], rrf_k: int = RRF_K) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion of (ids best first, weight) lists."""
    scores: dict[str, float] = {}
    for ids, weight in ranked:
        for rank, pid in enumerate(ids, 1):
            scores[pid] = scores.get(pid, 0.0) + weight / (rrf_k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


def fuse_scores(bm25: list[tuple[str, float]], dense: list[tuple[str, float]],
                bm25_share: float = BM25_SHARE) -> list[tuple[str, float]]:
    """Score fusion of (id, score) lists: each divided by its best score, then
    weighted; a passage missing from one list gets 0 there."""
    def scaled(hits):
        best = max((score for _, score in hits), default=0.0)
        return {pid: score / best for pid, score in hits} if best > 0 else {}

    b, d = scaled(bm25), scaled(dense)
    scores = {pid: bm25_share * b.get(pid, 0.0) + (1 - bm25_share) * d.get(pid, 0.0) for pid in b.keys() | d.keys()}
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def search(index: Index | str | Path, query: str, k: int = 5, year: int | None = None,
           agency: str | None = None, level: str | None = None, mode: str | None = None,
           kind: str | None = None, report_ids: set[str] | None = None) -> list[Hit]:
    """The k passages best matching `query`, best first (fewer when the filters leave
    fewer). ``mode`` None means DEFAULT_MODE; ``kind`` 'text' or 'table_row' keeps
    only passages of that kind; ``report_ids`` only passages of those reports (what
    question answering uses once it knows the reports). Raises IndexNotFound, or
    ValueError for a bad argument."""
    defaulted = mode is None
    mode = mode or DEFAULT_MODE
    _check(query, k, mode, level, year)
    index = open_index(index)
    if defaulted and mode != "bm25" and not index.has_vectors:
        mode = "bm25"  # built with --no-embeddings: BM25 still answers (has_vectors logged why)
    if agency:
        named = _agency_reports(index, agency)
        report_ids = named if report_ids is None else named & set(report_ids)
    if report_ids is not None and not report_ids:
        return []
    n = max(CANDIDATES, k) if mode == "hybrid" else k
    bm25: list[tuple[str, float]] = []
    dense: list[tuple[str, float]] = []
    if kind is not None and kind not in ("text", "table_row"):
        raise ValueError(f"unknown kind {kind!r}: use 'text' or 'table_row'")
    if mode in ("bm25", "hybrid"):
        bm25 = index.lexical.search(query, n, report_ids, year, level, kind)
    if mode in ("dense", "hybrid"):
        quiet_model_loading()
        dense = vectors.query(index.collection, embed_query(query, index.model, index.onnx_dir), n,
                              _where(report_ids, year, level, kind))
    bm25_rank = {pid: i for i, (pid, _) in enumerate(bm25, 1)}
    dense_rank = {pid: i for i, (pid, _) in enumerate(dense, 1)}
    if mode == "bm25":
        ranked = bm25
    elif mode == "dense":
        ranked = dense
    elif FUSION == "rrf":
        ranked = fuse([([p for p, _ in bm25], BM25_WEIGHT), ([p for p, _ in dense], DENSE_WEIGHT)], RRF_K)
    else:
        ranked = fuse_scores(bm25, dense, BM25_SHARE)
    hits = []
    found = index.passages([pid for pid, _ in ranked])
    for pid, score in ranked:
        passage = found.get(pid)
        if passage is None:  # chroma and the passages table disagree: skip, never crash
            continue
        if kind is not None and passage.kind != kind:
            continue
        hits.append(Hit(**{f.name: getattr(passage, f.name) for f in fields(Passage)},
                        score=score, rank=len(hits) + 1,
                        bm25_rank=bm25_rank.get(pid), dense_rank=dense_rank.get(pid)))
        if len(hits) == k:
            break
    return hits


__all__ = ["search", "warm_up", "section_passages", "open_index", "fuse", "fuse_scores", "Hit", "IndexNotFound",
           "MODES", "DEFAULT_MODE"]
