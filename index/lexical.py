"""BM25 over the passages (bm25s), persisted in ``<build dir>/bm25``, in shards.

Tokens: Chinese character unigrams and bigrams plus whole ASCII words/numbers
(``tokenize``). Measured on tests/retrieval_questions.jsonl (scripts/bench_retrieval.py
--sweep), MRR@10: char 0.913, jieba lcut_for_search 0.837, char+jieba 0.915 (same
recall@5 as char, twice the tokens): char it is.

Shards: a report's passages go to shard ``crc32(report id) % n``. An index of up to
ONE_SHARD_MAX reports is one shard, so its scores are exactly BM25 over everything (the
113-report test index is); a larger one has about one shard per REPORTS_PER_SHARD
reports. A build redoes only the shards of reports that were added, changed or removed.
Shard size is a trade, measured at 10,000 reports (440,804 passages; BENCHMARKS.md, issue
14, ``scripts/bench_build.py shards``): 250 reports a shard (40 shards) rebuild in
≈ 1.3 s CPU, 50 (200 shards) in ≈ 0.2–0.3 s; but a search over every shard costs ≈ 2.7x
as much (≈ 32–42 ms CPU against ≈ 12–15: bm25s scores each shard token by token), each
shard keeps its own vocabulary in memory (≈ 365 MB loaded against ≈ 143; 85 MB since
the vocabulary is kept as arrays, ``Shard.compact_vocabulary``) and loading
takes ≈ 1 s CPU against ≈ 0.4–0.6; and a search over every shard ranks worse, each
shard having its own, noisier, term statistics (the best passage is from the report the
question names for 68 of 100 bench_scale text questions against 87; 100-report shards:
78). Text answers search the reports of the body asked
about, and such a search reads only the shards holding them (``shards_of``: at 50,000
reports, 0.3 ms a search against 7.6 ms for asking each of the 1,000 shards). A search merges
the shards' hits by score (shards of dozens of mixed reports have near-identical term
statistics, so their scores compare). Shards load memory-mapped: a server keeps only the pages its queries touch.

Files: ``manifest.json`` (tokenizer, shard count, format), and per shard
``s<nnn>/``: bm25s's own files, ``ids.json`` (passage id of each document, in index
order), ``reports.json`` (the shard's report ids) and ``fields.npz`` (per passage:
report number in reports.json, year, level and kind codes, for filters).
"""

from __future__ import annotations

import json
import math
import os
import re
import resource
import shutil
import zlib
from pathlib import Path

import numpy as np

from . import layout

BM25_DIR = layout.BM25_DIR
TOKENIZER = "char"  # 'char' | 'char+jieba' | 'jieba'
REPORTS_PER_SHARD = 50  # measured: a shard of 50 reports rebuilds in ≈ 0.25 s CPU (250: ≈ 1.2 s)
ONE_SHARD_MAX = 250  # up to this many reports, one shard: exact BM25 over the whole index
FORMAT = 2  # bump when the files change: the next build redoes every shard
LEVELS = ("", "township", "county", "city", "province", "department")
KINDS = ("text", "table_row")

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


class Shard:
    """One bm25s index over the passages of some reports, with their filter fields."""

    def __init__(self, retriever, ids: list[str], reports: list[str], fields: dict[str, np.ndarray]):
        self.retriever = retriever
        self.ids = ids
        self.reports = reports
        self._report_number = {r: i for i, r in enumerate(reports)}
        self.report = fields["report"]
        self.year = fields["year"]
        self.level = fields["level"]
        self.kind = fields["kind"]
        self._token_hash = self._token_id = None  # a loaded shard's vocabulary (compact_vocabulary)

    @classmethod
    def from_passages(cls, passages: list, tokenizer: str) -> "Shard":
        import bm25s

        reports = list(dict.fromkeys(p.report_id for p in passages))
        number = {r: i for i, r in enumerate(reports)}
        fields = {
            "report": np.array([number[p.report_id] for p in passages], dtype=np.int32),
            "year": np.array([p.year if p.year is not None else -1 for p in passages], dtype=np.int32),
            "level": np.array([_code(LEVELS, p.level or "") for p in passages], dtype=np.int8),
            "kind": np.array([_code(KINDS, p.kind) for p in passages], dtype=np.int8),
        }
        retriever = None
        if passages:
            corpus = [tokenize(p.indexed_text, tokenizer) or ["∅"] for p in passages]
            # scipy builds the same matrix ≈ 20 % faster than bm25s's numpy default (a
            # 50-report shard: 0.084 s against 0.107 s CPU); bm25s imports it anyway
            retriever = bm25s.BM25(csc_backend="auto")
            retriever.index(corpus, show_progress=False)
        return cls(retriever, [p.id for p in passages], reports, fields)

    def save(self, directory: Path) -> None:
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.retriever is not None:
            self.retriever.save(str(tmp), show_progress=False)
        (tmp / "ids.json").write_text(json.dumps(self.ids, ensure_ascii=False), encoding="utf-8")
        (tmp / "reports.json").write_text(json.dumps(self.reports, ensure_ascii=False), encoding="utf-8")
        np.savez(tmp / "fields.npz", report=self.report, year=self.year, level=self.level, kind=self.kind)
        shutil.rmtree(directory, ignore_errors=True)
        tmp.rename(directory)

    @classmethod
    def load(cls, directory: Path) -> "Shard":
        import bm25s

        ids = json.loads((directory / "ids.json").read_text(encoding="utf-8"))
        reports = json.loads((directory / "reports.json").read_text(encoding="utf-8"))
        with np.load(directory / "fields.npz") as npz:
            fields = {k: npz[k] for k in npz.files}
        retriever = bm25s.BM25.load(str(directory), mmap=True, show_progress=False) if ids else None
        if retriever is not None:
            # plain ndarray views of the same mapped pages: bm25s slices these per query
            # token, and each slice of a np.memmap is a new memmap object (200 shards, the
            # bench_scale text questions over every shard: 45 → 33 ms CPU a search)
            for name in ("data", "indices", "indptr"):
                retriever.scores[name] = np.asarray(retriever.scores[name])
        shard = cls(retriever, ids, reports, fields)
        shard.compact_vocabulary()
        return shard

    def compact_vocabulary(self) -> None:
        """Keep the vocabulary as two sorted arrays (a token's 64-bit hash, its id: 16
        bytes a token) instead of bm25s's dict and set, 1.3 of a 50-report shard's 1.8 MB
        in memory: 200 shards (10,000 reports) loaded in 85 MB, not 353. A loaded shard
        is only searched, never saved."""
        if self.retriever is None:
            return
        vocab = self.retriever.vocab_dict
        hashes = np.fromiter((hash(t) for t in vocab), dtype=np.int64, count=len(vocab))
        order = np.argsort(hashes)
        self._token_hash = hashes[order]
        self._token_id = np.fromiter(vocab.values(), dtype=np.int64, count=len(vocab))[order]
        self.retriever.vocab_dict, self.retriever.unique_token_ids_set = {}, None

    def token_ids(self, tokens: list[str]) -> list[int]:
        """The ids of the tokens this shard has (bm25s's get_tokens_ids)."""
        if self._token_hash is None:
            return self.retriever.get_tokens_ids(tokens)
        if not len(self._token_hash):
            return []
        hashes = np.array([hash(t) for t in tokens], dtype=np.int64)
        at = np.minimum(np.searchsorted(self._token_hash, hashes), len(self._token_hash) - 1)
        return self._token_id[at[self._token_hash[at] == hashes]].tolist()

    def mask(self, report_ids: set[str] | None, year: int | None, level: str | None,
             kind: str | None) -> np.ndarray | None | bool:
        """A bool per passage that the filters keep; None when nothing is filtered out;
        False when no passage of this shard can match."""
        keep = None
        if report_ids is not None:
            numbers = [self._report_number[r] for r in report_ids if r in self._report_number]
            if not numbers:
                return False
            keep = np.isin(self.report, numbers)
        for values, wanted in ((self.year, year), (self.level, _code(LEVELS, level) if level else None),
                               (self.kind, _code(KINDS, kind) if kind else None)):
            if wanted is not None:
                keep = (values == wanted) if keep is None else keep & (values == wanted)
        return keep

    def search(self, tokens: list[str], k: int, mask) -> list[tuple[str, float]]:
        if self.retriever is None or mask is False:
            return []
        known = self.token_ids(tokens)  # the query's tokens this shard has
        if not known:
            return []
        scores = self.retriever.get_scores_from_ids(known)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(k, int((scores > 0).sum()))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]  # ties: in index order
        return [(self.ids[i], float(scores[i])) for i in top]


def _code(values: tuple[str, ...], value: str) -> int:
    return values.index(value) if value in values else -1


def shard_of(report_id: str, shards: int) -> int:
    return zlib.crc32(report_id.encode("utf-8")) % shards


def shard_count(reports: int) -> int:
    if reports <= ONE_SHARD_MAX:
        return 1
    return max(1, math.ceil(reports / REPORTS_PER_SHARD))


class LexicalIndex:
    """A loaded BM25 index: its shards, searched together."""

    def __init__(self, shards: list[Shard], tokenizer: str = TOKENIZER):
        self.shards = shards
        self.tokenizer = tokenizer
        # which shards hold a report: a search scoped to a few reports (nearly every
        # answer) reads their shards only, not every shard of a 50,000-report index
        self.shards_of: dict[str, list[int]] = {}
        for i, shard in enumerate(shards):
            for report_id in shard.reports:
                self.shards_of.setdefault(report_id, []).append(i)

    @classmethod
    def from_passages(cls, passages: list, tokenizer: str | None = None) -> "LexicalIndex":
        """One in-memory shard over `passages` (benchmarks try tokenizers this way)."""
        tokenizer = tokenizer or TOKENIZER
        return cls([Shard.from_passages(passages, tokenizer)], tokenizer)

    @classmethod
    def load(cls, directory: str | Path) -> "LexicalIndex":
        directory = Path(directory)
        manifest = _manifest(directory)
        if manifest is None:
            raise FileNotFoundError(f"{directory} holds no BM25 index of format {FORMAT}: rebuild the index")
        allow_open_files(FILES_PER_SHARD * manifest["shards"])
        shards = [Shard.load(directory / _shard_dir(i)) for i in range(manifest["shards"])]
        return cls(shards, manifest["tokenizer"])

    def search(self, query: str, k: int, report_ids: set[str] | None = None, year: int | None = None,
               level: str | None = None, kind: str | None = None) -> list[tuple[str, float]]:
        """(passage id, BM25 score) of the k best passages with a positive score among
        those the filters keep, best first."""
        tokens = tokenize(query, self.tokenizer)
        if not tokens:
            return []
        hits: list[tuple[str, float]] = []
        if report_ids is None:
            shards = self.shards
        else:
            shards = [self.shards[i] for i in sorted({i for r in report_ids for i in self.shards_of.get(r, ())})]
        for shard in shards:
            hits.extend(shard.search(tokens, k, shard.mask(report_ids, year, level, kind)))
        hits.sort(key=lambda hit: -hit[1])
        return hits[:k]


# A loaded shard maps its three score arrays (data, indices, indptr), and each map keeps
# a file descriptor open: 1,000 shards (50,000 reports) hold 3,000.
FILES_PER_SHARD = 3
_OTHER_FILES = 1024  # the rest of the process: sockets, stores, the parse worker's pipes, an index being swapped in


def allow_open_files(needed: int) -> None:
    """Let this process keep ``needed`` more files open: the soft limit (often 1,024) is
    raised up to the hard one; an OSError says plainly when even that is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * needed + _OTHER_FILES  # twice: the served index and the one replacing it
    if soft == resource.RLIM_INFINITY or soft >= want:
        return
    if hard != resource.RLIM_INFINITY and hard < want:
        raise OSError(f"the BM25 index needs about {want:,} open files ({needed // FILES_PER_SHARD:,} shards) "
                      f"and this process may open only {hard:,}: raise the limit (ulimit -n, or "
                      f"LimitNOFILE= for a systemd service)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else want, hard))


def _shard_dir(i: int) -> str:
    return f"s{i:03d}"


def _manifest(directory: Path) -> dict | None:
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if manifest.get("format") == FORMAT else None


def link_from(served_build: str | Path, build_dir: str | Path) -> None:
    """Make ``<build dir>/bm25`` the served build's shards, as hard links: shard files are
    only ever replaced whole (Shard.save, update), never written in place, so the two
    builds can share them. A file already linked to the served one (the same inode: a
    spare build being caught up shares all but the shards the served build redid) is
    left alone: relinking all 1,600 files of 200 shards took ≈ 0.3 s, mostly waiting on
    the file system."""
    source, target = Path(served_build) / BM25_DIR, Path(build_dir) / BM25_DIR
    if not source.exists():
        shutil.rmtree(target, ignore_errors=True)
        return
    _link_tree(source, target)


def _link_tree(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    have = {entry.name: entry for entry in os.scandir(target)}
    for entry in os.scandir(source):
        mine = have.pop(entry.name, None)
        if entry.is_dir(follow_symlinks=False):
            if mine is not None and not mine.is_dir(follow_symlinks=False):
                os.unlink(mine.path)
            _link_tree(Path(entry.path), target / entry.name)
        elif mine is None or mine.inode() != entry.inode():
            if mine is not None:
                _remove(mine)
            os.link(entry.path, target / entry.name)
    for gone in have.values():  # not in the served build
        _remove(gone)


def _remove(entry: os.DirEntry) -> None:
    if entry.is_dir(follow_symlinks=False):
        shutil.rmtree(entry.path)
    else:
        os.unlink(entry.path)


def update(build_dir: str | Path, report_ids: list[str], load_passages, changed: set[str] | None,
           tokenizer: str | None = None) -> int:
    """Bring ``<build dir>/bm25`` in step with the reports now indexed (`report_ids`).

    ``changed``: reports added, changed or removed since the copied index was made
    (None: unknown, redo everything). ``load_passages(report_ids)`` returns the passages
    of those reports. Every shard is redone when the index is missing, of another
    format or tokenizer, or its shard count is off by 2x for the number of reports.
    Returns the number of shards rebuilt."""
    directory = Path(build_dir) / BM25_DIR
    tokenizer = tokenizer or TOKENIZER
    manifest = _manifest(directory)
    ideal = shard_count(len(report_ids))
    full = (changed is None or manifest is None or manifest["tokenizer"] != tokenizer
            or not (ideal / 2 < manifest["shards"] <= max(1, ideal * 2)))
    shards = ideal if full else manifest["shards"]
    members: dict[int, list[str]] = {}
    for rid in report_ids:
        members.setdefault(shard_of(rid, shards), []).append(rid)
    todo = range(shards) if full else sorted({shard_of(rid, shards) for rid in changed})
    if full:
        shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    for i in todo:
        Shard.from_passages(load_passages(members.get(i, [])), tokenizer).save(directory / _shard_dir(i))
    # written anew and renamed: the file may be a hard link into the served build (index.build)
    tmp = directory / "manifest.json.tmp"
    tmp.write_text(json.dumps({"format": FORMAT, "tokenizer": tokenizer, "shards": shards}), encoding="utf-8")
    os.replace(tmp, directory / "manifest.json")
    return len(todo)
