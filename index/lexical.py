"""BM25 over the passages (bm25s), persisted in ``<build dir>/bm25``.

Tokens: Chinese character unigrams and bigrams plus whole ASCII words/numbers
(``tokenize``). Measured on tests/retrieval_questions.jsonl (scripts/bench_retrieval.py
--sweep), MRR@10: char 0.913, jieba lcut_for_search 0.837, char+jieba 0.915 (same
recall@5 as char, twice the tokens): char it is.
The index is rebuilt from the ``passages`` table at the end of each build: a few
thousand passages take well under a second.

Files: bm25s's own files, plus ``ids.json`` (passage id of each document, in index
order) and ``meta.json`` (fields used to post-filter: report_id, year, level).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np

BM25_DIR = "bm25"
TOKENIZER = "char"  # 'char' | 'char+jieba' | 'jieba'

_RUN = re.compile(r"[\u3400-\u9fff]+|[A-Za-z]+|\d+(?:\.\d+)?")


def char_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for run in _RUN.findall(text):
        if "\u3400" <= run[0] <= "\u9fff":
            tokens.extend(run)
            tokens.extend(run[i:i + 2] for i in range(len(run) - 1))
        else:
            tokens.append(run.lower())
    return tokens


def jieba_tokens(text: str) -> list[str]:
    import jieba

    jieba.setLogLevel(60)
    return [w for w in jieba.lcut_for_search(text) if _RUN.fullmatch(w)]


def tokenize(text: str, kind: str | None = None) -> list[str]:
    kind = kind or TOKENIZER
    if kind == "char":
        return char_tokens(text)
    if kind == "jieba":
        return jieba_tokens(text)
    if kind == "char+jieba":
        return char_tokens(text) + ["w:" + w for w in jieba_tokens(text) if len(w) > 2]
    raise ValueError(f"unknown tokenizer {kind!r}: use 'char', 'jieba' or 'char+jieba'")


class LexicalIndex:
    """A loaded BM25 index: ids, filter fields, and the bm25s retriever."""

    def __init__(self, retriever, ids: list[str], meta: list[dict], tokenizer: str = TOKENIZER):
        self.retriever = retriever
        self.ids = ids
        self.meta = meta
        self.tokenizer = tokenizer
        self._vocab = retriever.vocab_dict if retriever is not None else {}
        self._report = np.array([m["report_id"] for m in meta], dtype=object)
        self._year = np.array([m["year"] if m["year"] is not None else -1 for m in meta], dtype=np.int64)
        self._level = np.array([m["level"] or "" for m in meta], dtype=object)

    @classmethod
    def from_passages(cls, passages: list, tokenizer: str | None = None) -> "LexicalIndex":
        import bm25s

        tokenizer = tokenizer or TOKENIZER
        ids = [p.id for p in passages]
        meta = [{"report_id": p.report_id, "year": p.year, "level": p.level} for p in passages]
        if not passages:
            return cls(None, [], [], tokenizer)
        corpus = [tokenize(p.indexed_text, tokenizer) or ["∅"] for p in passages]
        retriever = bm25s.BM25()
        retriever.index(corpus, show_progress=False)
        return cls(retriever, ids, meta, tokenizer)

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.retriever is not None:
            self.retriever.save(str(tmp), show_progress=False)
        (tmp / "ids.json").write_text(json.dumps(self.ids, ensure_ascii=False), encoding="utf-8")
        (tmp / "meta.json").write_text(json.dumps({"tokenizer": self.tokenizer, "passages": self.meta},
                                                  ensure_ascii=False), encoding="utf-8")
        shutil.rmtree(directory, ignore_errors=True)
        tmp.rename(directory)

    @classmethod
    def load(cls, directory: str | Path) -> "LexicalIndex":
        import bm25s

        directory = Path(directory)
        ids = json.loads((directory / "ids.json").read_text(encoding="utf-8"))
        info = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        retriever = bm25s.BM25.load(str(directory), show_progress=False) if ids else None
        return cls(retriever, ids, info["passages"], info.get("tokenizer", TOKENIZER))

    def scores(self, query: str) -> np.ndarray:
        if self.retriever is None:
            return np.zeros(0, dtype=np.float32)
        tokens = [t for t in tokenize(query, self.tokenizer) if t in self._vocab]
        if not tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        return self.retriever.get_scores(tokens)

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """(passage id, BM25 score) of the k best passages with a positive score; `mask`
        (bool per passage) keeps only the passages a filter allows."""
        scores = self.scores(query)
        if scores.size == 0:
            return []
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(k, int((scores > 0).sum()))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top]

    def mask(self, report_ids: set[str] | None = None, year: int | None = None,
             level: str | None = None) -> np.ndarray | None:
        if report_ids is None and year is None and level is None:
            return None
        keep = np.ones(len(self.ids), dtype=bool)
        if report_ids is not None:
            keep &= np.isin(self._report, list(report_ids))
        if year is not None:
            keep &= self._year == year
        if level is not None:
            keep &= self._level == level
        return keep


def rebuild(build_dir: str | Path, passages: list, tokenizer: str | None = None) -> LexicalIndex:
    index = LexicalIndex.from_passages(passages, tokenizer)
    index.save(Path(build_dir) / BM25_DIR)
    return index
