#!/usr/bin/env python
"""Answer accuracy and latency at scale: ours against a plain chromadb baseline, and the
server's peak memory (issue 5).

    # a corpus with known answers and its index
    .venv/bin/python scripts/make_scale_corpus.py --out var/scale/r1000 --n 1000 --formats txt,md,html,docx
    .venv/bin/python scripts/build_index.py --input var/scale/r1000 --index var/scale/idx1000 --quiet

    .venv/bin/python scripts/bench_scale.py run --corpus var/scale/r1000 --index var/scale/idx1000 --json run1.json
    .venv/bin/python scripts/bench_scale.py baseline-build --corpus var/scale/r1000 --index var/scale/idx1000
    .venv/bin/python scripts/bench_scale.py server --corpus var/scale/r1000 --index var/scale/idx1000 --json rss1.json
    .venv/bin/python scripts/bench_scale.py queries --corpus var/scale/r1000 --index var/scale/idx1000 --out q.jsonl

The query set is generated from the corpus's ``truth.jsonl`` (deterministic for a
``--seed``): *structured* questions (one figure of one report, phrased the way
tests/qa_dev.jsonl asks, plus yes/no questions), *text* questions (whose answer is a
passage of a known report and section: problems or measures, 信息处理费, the 主动公开 count, a topic
of section 一) and *follow-ups* (a structured question, then 「自然人呢？」, 「行政处罚呢？」
or 「那某某镇呢？」 with the first question as history). Every expected value comes from
truth.jsonl; blank cells are not asked about, and a body whose short name several bodies
of the index share is named in full.

``run`` answers the set two ways and prints accuracy and p50/p95 per kind:

* **ours**: ``qa.answer.answer`` in-process, after ``warm_up`` and one untimed answer of
  each kind. Structured: the answer cites only the expected report, reads exactly the
  expected cells and states the expected number (compared as numbers); yes/no: says yes
  or no as truth does. Text: the first source is the expected report and, when the
  product names the section, one whose narrative holds the topic (for the 主动公开 count,
  the answer also holds the number). Follow-ups: as structured.
* **baseline**: chromadb top-5 over plain chunks of each report's text (``index.load``,
  tables laid out as rows of tab-separated cells where they stand, cut every 300
  characters: no sections, facts or BM25), embedded with our model; its answer is the
  top-1 chunk. Structured (lenient to the baseline): the chunk is from the expected
  report and holds the row's label and the expected number somewhere in it. Text: the
  chunk is from the expected report. A follow-up is asked as the previous question and
  the follow-up together. Time = query embedding + chroma query. The collection is built
  once under ``INDEX/bench_baseline`` (``--baseline-dir``), resumably; ``run`` builds what
  is missing first.

``server`` starts ``python -m qa serve`` on the index (rate limit off, a throw-away API
key for one hybrid ``/api/search`` so the embedding model loads too), posts the query set
to ``/api/ask`` one request at a time, and prints the server's peak RSS (VmHWM of it and
its children) and HTTP p50/p95; then stops the server it started.

``--limit-reports N`` keeps the first N reports of truth.jsonl for the query set and the
baseline (smoke runs); the index is searched whole. ``--json FILE`` writes every number.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

KINDS = ("structured", "text", "follow-up")
BASELINE_DIR = "bench_baseline"  # under the index directory unless --baseline-dir
CHUNK_CHARS = 300
TOP_K = 5


class BenchError(Exception):
    """A problem with the inputs (corpus, index, baseline); the message says which."""


# ============================================================================ truth
def load_truth(corpus: str | Path) -> list[dict]:
    """truth.jsonl of a corpus made by scripts/make_scale_corpus.py; each record gets its
    report id (the index names a report after its file's stem)."""
    path = Path(corpus) / "truth.jsonl"
    if not path.exists():
        raise BenchError(f"{path} not found: make the corpus with scripts/make_scale_corpus.py")
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            record["report_id"] = Path(record["file"]).stem
            records.append(record)
    if records and "narrative" not in records[0]:
        raise BenchError(f"{path} has no narrative: regenerate the corpus with the current "
                         "scripts/make_scale_corpus.py (text questions need it)")
    return records


def indexed_reports(index_dir: str | Path) -> set[str]:
    from index.build import current_dir
    from index.factstore import open_fact_store

    if current_dir(index_dir) is None:
        raise BenchError(f"no index at {index_dir}: build one with scripts/build_index.py")
    with open_fact_store(index_dir) as store:  # SQLite or PostgreSQL, as the build recorded
        return {row["id"] for row in store.catalog_reports()}


def names_by_report(records: list[dict]) -> dict[str, str]:
    """How questions name each report's body: its short name when no other body of the
    index has that short name, else its full name."""
    bodies_of: dict[str, set[str]] = {}
    for r in records:
        bodies_of.setdefault(r["metadata"]["short_name"], set()).add(r["metadata"]["body"])
    out = {}
    for r in records:
        meta = r["metadata"]
        out[r["report_id"]] = meta["short_name"] if len(bodies_of[meta["short_name"]]) == 1 else meta["body"]
    return out


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except (InvalidOperation, TypeError):
        return None


def _fmt(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# ============================================================================ figures asked
@dataclass(frozen=True)
class Figure:
    """A figure a question asks: the cells of a report whose sum is the answer, per
    template version ('*' in a row: every sub-row of a group), and the label its row
    prints in the table (the baseline's chunk must hold it)."""

    key: str
    phrasings: tuple[str, ...]  # with {name} and {year}
    cells: dict  # template -> tuple of 'table|row|column' patterns
    label: str

    def keys(self, record: dict) -> list[str] | None:
        patterns = self.cells.get(record["template"])
        if not patterns:
            return None
        keys = []
        for pattern in patterns:
            if "*" in pattern:
                table, row, column = pattern.split("|")
                prefix = row.rstrip("*")
                keys += [k for k in record["cells"] if k.startswith(f"{table}|{prefix}") and k.endswith(f"|{column}")]
            elif pattern in record["cells"]:
                keys.append(pattern)
        return keys or None

    def value(self, record: dict) -> tuple[list[str], str] | None:
        """(cells, their sum as printed) for a report, or None when the template has no
        such cells or one of them is blank (not asked about)."""
        keys = self.keys(record)
        if not keys or any(record["cells"][k] is None for k in keys):
            return None
        return keys, _fmt(sum(Decimal(record["cells"][k]) for k in keys))


def _both(*keys: str) -> dict:
    return {"2019": keys, "2021": keys}


FIGURES = {f.key: f for f in (
    Figure("received", ("{name}{year}年收到多少政府信息公开申请？", "{name}{year}年受理了多少政府信息公开申请",
                        "{name}{year}年申请数是多少"), _both("依申请|本年新收|总计"), "本年新收"),
    Figure("received_person", ("{name}{year}年自然人申请多少件", "{name}{year}年个人申请了多少件"),
           _both("依申请|本年新收|自然人"), "本年新收"),
    Figure("received_company", ("{name}{year}年商业企业申请了多少件",), _both("依申请|本年新收|商业企业"), "本年新收"),
    Figure("carried_in", ("{name}{year}年上年结转申请多少件",), _both("依申请|上年结转|总计"), "上年结转"),
    Figure("granted", ("{name}{year}年予以公开多少件",), _both("依申请|予以公开|总计"), "予以公开"),
    Figure("partly", ("{name}{year}年部分公开多少件",), _both("依申请|部分公开|总计"), "部分公开"),
    Figure("refused", ("{name}{year}年不予公开多少件",), _both("依申请|不予公开-*|总计"), "不予公开"),
    Figure("unable", ("{name}{year}年无法提供的申请有多少",), _both("依申请|无法提供-*|总计"), "无法提供"),
    Figure("not_held", ("{name}{year}年因本机关不掌握相关政府信息无法提供的有多少件",),
           _both("依申请|无法提供-本机关不掌握相关政府信息|总计"), "不掌握"),
    Figure("handled", ("{name}{year}年办结了多少件申请",), _both("依申请|总计|总计"), "总计"),
    Figure("carried_out", ("{name}{year}年结转下年度继续办理多少件",), _both("依申请|结转下年度继续办理|总计"), "结转下年度"),
    Figure("penalties", ("{name}{year}年行政处罚多少件",),
           {"2021": ("主动公开|行政处罚|本年处理决定数量",), "2019": ("主动公开|行政处罚|处理决定数量",)}, "行政处罚"),
    Figure("licences", ("{name}{year}年行政许可有多少",),
           {"2021": ("主动公开|行政许可|本年处理决定数量",), "2019": ("主动公开|行政许可|处理决定数量",)}, "行政许可"),
    Figure("enforcement", ("{name}{year}年行政强制多少件",),
           {"2021": ("主动公开|行政强制|本年处理决定数量",), "2019": ("主动公开|行政强制|处理决定数量",)}, "行政强制"),
    Figure("norms_issued", ("{name}{year}年行政规范性文件制发了多少件",),
           {"2021": ("主动公开|规范性文件|本年制发件数",), "2019": ("主动公开|规范性文件|本年新制作数量",)}, "规范性文件"),
    Figure("norms_in_force", ("{name}{year}年现行有效的规范性文件有多少件",),
           {"2021": ("主动公开|规范性文件|现行有效件数",), "2019": ("主动公开|规范性文件|对外公开总数量",)}, "规范性文件"),
    Figure("fees", ("{name}{year}年行政事业性收费多少万元",), {"2021": ("主动公开|行政事业性收费|本年收费金额",)},
           "行政事业性收费"),
    Figure("purchases", ("{name}{year}年政府集中采购项目数量",), {"2019": ("主动公开|政府集中采购|采购项目数量",)},
           "政府集中采购"),
    Figure("reviews", ("{name}{year}年行政复议多少件",), _both("复议诉讼|行政复议|总计"), "行政复议"),
    Figure("reviews_upheld", ("{name}{year}年行政复议结果维持多少件",), _both("复议诉讼|行政复议|结果维持"), "行政复议"),
    Figure("lawsuits", ("{name}{year}年行政诉讼多少件",), _both("复议诉讼|行政诉讼-*|总计"), "行政诉讼"),
    Figure("lawsuits_direct", ("{name}{year}年未经复议直接起诉的行政诉讼有多少件",),
           _both("复议诉讼|行政诉讼-未经复议直接起诉|总计"), "直接起诉"),
)}

# Yes/no questions: (key, phrasing, figure); yes when the figure is above 0.
YESNO = (("applied", "{name}{year}年有人申请信息公开吗", "received"),
         ("sued", "{name}{year}年有没有被告上法庭", "lawsuits"))
YESNO_SHARE = 0.15

# Follow-ups that change the column or the row: (first figure, follow-up, figure asked).
FOLLOW_FIGURE = (("received", "自然人呢？", "received_person"), ("received", "商业企业呢？", "received_company"),
                 ("reviews", "维持的呢？", "reviews_upheld"), ("received", "行政处罚呢？", "penalties"),
                 ("received", "行政复议呢？", "reviews"), ("penalties", "予以公开呢？", "granted"))
# Figures a follow-up naming another body may start from.
FOLLOW_BODY = ("received", "penalties", "reviews", "granted", "licences")

@dataclass(frozen=True)
class TextTopic:
    """A text question: where its answer is (a fixed section, or every section whose
    narrative holds one of ``words``) and what that section must say for the question
    to be asked of a report (``needs``)."""

    key: str
    phrasings: tuple[str, ...]  # with {name} and {year}
    weight: int
    section: int | None = None
    words: tuple[str, ...] = ()
    needs: str = ""  # a regex the section's narrative must match


TEXT_TOPICS = (
    # section 五 of a generated report may hold only measures, or only problems
    TextTopic("problems", ("{name}{year}年政府信息公开工作存在哪些问题", "{name}{year}年政务公开还有什么不足"), 2,
              section=5, needs=r"问题|不足|差距|短板|薄弱|有待"),
    TextTopic("measures", ("{name}{year}年下一步有哪些改进措施", "{name}{year}年政务公开打算怎么改进"), 2,
              section=5, needs=r"将|改进|整改|加强|下一步|措施"),
    TextTopic("fee", ("{name}{year}年收取信息处理费了吗", "{name}{year}年收了信息处理费吗"), 2, words=("处理费",)),
    TextTopic("posted", ("{name}{year}年主动公开了多少条政府信息",), 2, section=2),  # also checks the number
    # topics of section 一: asked where section 一 talks about them
    TextTopic("training", ("{name}{year}年开展了哪些政务公开培训",), 1, words=("培训",)),
    TextTopic("interpretation", ("{name}{year}年政策解读工作是怎么做的",), 1, words=("解读",)),
    TextTopic("new_media", ("{name}{year}年政务新媒体建设情况",), 1, words=("新媒体",)),
    TextTopic("secrecy", ("{name}{year}年信息公开保密审查是怎么做的",), 1, words=("保密审查",)),
)
_POSTED = re.compile(r"主动公开政府信息(\d+)条")
_ANY_POSTED = re.compile(r"主动公开[^。；]{0,12}?\d+\s*条")


# ============================================================================ query set
def _q(qid: str, kind: str, sub: str, record: dict, question: str, expect: dict,
       history: list[str] = (), label: str = "") -> dict:
    return {"id": qid, "kind": kind, "sub": sub, "question": question, "history": list(history),
            "report_id": record["report_id"], "expect": expect, "label": label}


def _structured_one(rng: random.Random, record: dict, name: str) -> dict | None:
    meta = record["metadata"]
    if rng.random() < YESNO_SHARE:
        key, phrasing, figure = rng.choice(YESNO)
        got = FIGURES[figure].value(record)
        if got is None:
            return None
        cells, value = got
        return {"sub": f"yesno:{key}", "question": phrasing.format(name=name, year=meta["year"]),
                "expect": {"yes": Decimal(value) > 0, "cells": cells, "value": value},
                "label": FIGURES[figure].label}
    figure = rng.choice(list(FIGURES.values()))
    got = figure.value(record)
    if got is None:
        return None
    cells, value = got
    question = rng.choice(figure.phrasings).format(name=name, year=meta["year"])
    return {"sub": f"lookup:{figure.key}", "question": question, "expect": {"cells": cells, "value": value},
            "label": figure.label}


def _text_one(rng: random.Random, record: dict, name: str) -> dict | None:
    topic = rng.choices(TEXT_TOPICS, [t.weight for t in TEXT_TOPICS])[0]
    narrative = {int(n): "".join(paras) for n, paras in record["narrative"].items()}
    expect: dict = {}
    if topic.section is not None:
        text = narrative.get(topic.section, "")
        if not text or (topic.needs and not re.search(topic.needs, text)):
            return None
        sections = [topic.section]
        if topic.key == "posted":
            m = _POSTED.search(text)
            others = [t for n, t in narrative.items() if n != topic.section]
            if not m or any(_ANY_POSTED.search(t) for t in others):
                return None  # a recombined paragraph elsewhere states another count
            expect["contains"] = m.group(1)
    else:
        sections = sorted(n for n, text in narrative.items() if n != 0 and any(w in text for w in topic.words))
        if not sections or (topic.key != "fee" and 1 not in sections):
            return None
    expect["sections"] = sections
    question = rng.choice(topic.phrasings).format(name=name, year=record["metadata"]["year"])
    return {"sub": f"text:{topic.key}", "question": question, "expect": expect, "label": ""}


def _follow_up_one(rng: random.Random, record: dict, names: dict, by_year: dict, records: list[dict]) -> dict | None:
    meta = record["metadata"]
    name = names[record["report_id"]]
    if rng.random() < 0.5:
        first_key, follow, then_key = rng.choice(FOLLOW_FIGURE)
        first, then = FIGURES[first_key].value(record), FIGURES[then_key].value(record)
        if first is None or then is None:
            return None
        target = record
        sub = f"follow-up:{'column' if then_key.startswith(first_key) else 'row'}"
        first_q = FIGURES[first_key].phrasings[0].format(name=name, year=meta["year"])
    else:
        figure = FIGURES[rng.choice(FOLLOW_BODY)]
        same_year = [r for r in by_year.get(meta["year"], []) if r["metadata"]["body"] != meta["body"]]
        target = rng.choice(same_year or records)
        if target["metadata"]["body"] == meta["body"]:
            return None
        first, then = figure.value(record), figure.value(target)
        if first is None or then is None:
            return None
        other = names[target["report_id"]]
        year = target["metadata"]["year"]
        follow = f"那{other}呢？" if year == meta["year"] else f"那{other}{year}年呢？"
        sub, then_key = "follow-up:body", figure.key
        first_q = figure.phrasings[0].format(name=name, year=meta["year"])
    cells, value = then
    return {"sub": sub, "question": follow, "history": [first_q], "target": target,
            "expect": {"cells": cells, "value": value}, "label": FIGURES[then_key].label}


def make_queries(records: list[dict], names: dict, seed: int = 0, structured: int = 200, text: int = 100,
                 follow_ups: int = 100) -> list[dict]:
    """The query set: ``structured`` + ``text`` + ``follow_ups`` questions about ``records``
    (fewer when the records cannot supply them), deterministic for a seed."""
    rng = random.Random(seed)
    asked = [r for r in records if r["report_id"] in names]
    if not asked:
        raise BenchError("no report of truth.jsonl is in the index")
    # one report per (body, year): a second one would make the expected answer ambiguous
    seen: dict[tuple, int] = {}
    for r in asked:
        k = (r["metadata"]["body"], r["metadata"]["year"])
        seen[k] = seen.get(k, 0) + 1
    asked = [r for r in asked if seen[(r["metadata"]["body"], r["metadata"]["year"])] == 1]
    by_year: dict[int, list[dict]] = {}
    for r in asked:
        by_year.setdefault(r["metadata"]["year"], []).append(r)
    out: list[dict] = []
    asked_before: set[tuple] = set()
    for kind, n in (("structured", structured), ("text", text), ("follow-up", follow_ups)):
        made, tries = 0, 0
        while made < n and tries < 50 * n:
            tries += 1
            record = rng.choice(asked)
            name = names[record["report_id"]]
            if kind == "structured":
                got = _structured_one(rng, record, name)
            elif kind == "text":
                got = _text_one(rng, record, name)
            else:
                got = _follow_up_one(rng, record, names, by_year, asked)
            if got is None or (got["question"], *got.get("history", ())) in asked_before:
                continue
            asked_before.add((got["question"], *got.get("history", ())))
            made += 1
            target = got.pop("target", record)
            out.append(_q(f"{kind[0]}{made:04d}", kind, got["sub"], target, got["question"], got["expect"],
                          got.get("history", ()), got["label"]))
    return out


def query_set(args) -> tuple[list[dict], dict]:
    """The query set of the command line's corpus, index and sizes, and facts about it."""
    records = load_truth(args.corpus)
    in_index = indexed_reports(args.index)
    present = [r for r in records if r["report_id"] in in_index]
    names = names_by_report(present)  # over the whole index: a short name must be unique there
    pool = present[:args.limit_reports] if args.limit_reports else present
    queries = make_queries(pool, {r["report_id"]: names[r["report_id"]] for r in pool}, args.seed,
                           args.structured, args.text, args.follow_ups)
    if not queries:
        raise BenchError("no questions: --structured, --text and --follow-ups are all 0")
    info = {"corpus": str(args.corpus), "index": str(args.index), "truth_reports": len(records),
            "index_reports": len(in_index), "truth_reports_not_in_index": len(records) - len(present),
            "asked_about_reports": len(pool), "seed": args.seed,
            "queries": {k: sum(q["kind"] == k for q in queries) for k in KINDS}}
    return queries, info


# ============================================================================ judging
_STATED = re.compile(r"为\s*(-?\d+(?:\.\d+)?)")
_NUMERALS = "一二三四五六"
_SECTION_WORDS = ((1, "总体"), (2, "主动公开"), (3, "申请"), (4, "复议"), (4, "诉讼"), (5, "问题"), (5, "改进"),
                  (6, "其他"), (0, "前言"), (0, "标题"))


def section_number(title: str | None) -> int | None:
    """The section a citation names ('五、存在的主要问题及改进情况' -> 5), or None."""
    title = re.sub(r"[#*\s]", "", title or "")
    if not title:
        return None
    m = re.match(r"([一二三四五六])[、.．]", title)
    if m:
        return _NUMERALS.index(m.group(1)) + 1
    return next((n for n, word in _SECTION_WORDS if word in title), None)


def _has_number(text: str, value: str) -> bool:
    return bool(re.search(rf"(?<![\d.]){re.escape(value)}(?![\d]|\.\d)", text))


def judge_ours(q: dict, result: dict) -> tuple[bool, str]:
    """(correct, why not) of an answer given as Answer.to_dict() or /api/ask JSON."""
    cited = [c["report_id"] for c in result.get("citations") or []]
    text = result.get("answer") or ""
    expect = q["expect"]
    if not cited:
        return False, "no source"
    if q["kind"] == "text":
        if cited[0] != q["report_id"]:
            return False, f"first source {cited[0]}"
        section = section_number(result["citations"][0].get("section"))
        if section is not None and section not in expect["sections"]:
            return False, f"section {section}, expected {expect['sections']}"
        if expect.get("contains") and not _has_number(text, expect["contains"]):
            return False, f"no {expect['contains']} in the answer"
        return True, ""
    if set(cited) != {q["report_id"]}:
        return False, f"sources {sorted(set(cited))[:3]}"
    read = sorted(f"{f['table']}|{f['row']}|{f['column']}" for f in result.get("facts") or []
                  if f.get("report_id") == q["report_id"])
    if read != sorted(expect["cells"]):
        return False, f"read {read[:3]}{'…' if len(read) > 3 else ''}"
    if "yes" in expect:
        said = "yes" if text.startswith("是的") else "no" if text.startswith(("没有", "否")) else "?"
        wanted = "yes" if expect["yes"] else "no"
        return (said == wanted), ("" if said == wanted else f"said {said}, expected {wanted}")
    m = _STATED.search(text)
    if not m:
        return False, "no number stated"
    if _number(m.group(1)) != Decimal(expect["value"]):
        return False, f"stated {m.group(1)}, expected {expect['value']}"
    return True, ""


def judge_baseline(q: dict, report_id: str, chunk: str) -> tuple[bool, str]:
    """Lenient: the top-1 chunk is from the expected report (text) and, for figures,
    holds the row's label and the expected number anywhere in it."""
    if report_id != q["report_id"]:
        return False, f"top chunk from {report_id}"
    if q["kind"] == "text":
        return True, ""
    flat = re.sub(r"\s+", "", chunk)
    if q["label"] not in flat:
        return False, f"no {q['label']} in the chunk"
    if not _has_number(chunk, q["expect"]["value"]):
        return False, f"no {q['expect']['value']} in the chunk"
    return True, ""


# ============================================================================ figures of a run
def percentile(values: list[float], p: float) -> float:
    """Nearest rank, as scripts/evaluate.py computes it."""
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


def summarise(results: list[dict], by: str = "kind") -> dict[str, dict]:
    groups: dict[str, list[dict]] = {}
    for r in results:
        groups.setdefault(r[by], []).append(r)
    out = {}
    for name, rs in groups.items():
        ms = [r["ms"] for r in rs]
        out[name] = {"n": len(rs), "correct": sum(r["ok"] for r in rs), "accuracy": sum(r["ok"] for r in rs) / len(rs),
                     "p50_ms": round(percentile(ms, 0.5), 2), "p95_ms": round(percentile(ms, 0.95), 2),
                     "max_ms": round(max(ms), 2)}
    return out


def print_table(title: str, stats: dict[str, dict[str, dict]], out=None) -> None:
    """stats: system -> kind -> figures. A markdown table (pastes into BENCHMARKS.md)."""
    out = out or sys.stdout
    print(f"\n{title}\n", file=out)
    print("| system | questions | n | accuracy | p50 ms | p95 ms |", file=out)
    print("| --- | --- | --- | --- | --- | --- |", file=out)
    for system, kinds in stats.items():
        for kind in KINDS:
            s = kinds.get(kind)
            if s:
                print(f"| {system} | {kind} | {s['n']} | {s['accuracy']:.1%} ({s['correct']}) | "
                      f"{s['p50_ms']:.1f} | {s['p95_ms']:.1f} |", file=out)


def print_breakdown(stats: dict[str, dict[str, dict]], out=None) -> None:
    out = out or sys.stdout
    subs = sorted({sub for kinds in stats.values() for sub in kinds})
    systems = list(stats)
    print("\nBy question type (accuracy, n):\n", file=out)
    print("| type | " + " | ".join(systems) + " |", file=out)
    print("| --- |" + " --- |" * len(systems), file=out)
    for sub in subs:
        cells = []
        for system in systems:
            s = stats[system].get(sub)
            cells.append(f"{s['accuracy']:.0%} ({s['correct']}/{s['n']})" if s else "")
        print(f"| {sub} | " + " | ".join(cells) + " |", file=out)


def print_failures(system: str, results: list[dict], limit: int, out=None) -> None:
    out = out or sys.stdout
    wrong = [r for r in results if not r["ok"]]
    if not wrong or limit <= 0:
        return
    print(f"\n{system}: {len(wrong)} wrong; the first {min(limit, len(wrong))}:", file=out)
    for r in wrong[:limit]:
        history = f" (after {r['history'][0]!r})" if r.get("history") else ""
        print(f"  [{r['id']} {r['sub']} {r['report_id']}] {r['question']}{history}\n"
              f"      {r['why']} | {r['got'][:140]!r}", file=out)


# ============================================================================ ours
def run_ours(queries: list[dict], index_dir: str | Path) -> tuple[list[dict], dict]:
    from qa.answer import answer, warm_up

    started = time.perf_counter()
    warm_up(index_dir)
    warm_up_s = time.perf_counter() - started
    for kind in KINDS:  # the catalog, jieba and the first SQL of each kind: not in the timings
        first = next((q for q in queries if q["kind"] == kind), None)
        if first:
            answer(first["question"], index_dir, _history(first))
    results = []
    for q in queries:
        t0 = time.perf_counter()
        a = answer(q["question"], index_dir, _history(q))
        ms = (time.perf_counter() - t0) * 1000
        result = a.to_dict()
        ok, why = judge_ours(q, result)
        results.append(_result(q, ok, why, ms, result.get("answer") or ""))
    return results, {"warm_up_s": round(warm_up_s, 2), "warm_up_total_s": round(time.perf_counter() - started, 2)}


def _history(q: dict) -> list[dict] | None:
    """History as the web page and /api/ask send it (earlier user turns)."""
    return [{"role": "user", "content": h} for h in q["history"]] or None


def _result(q: dict, ok: bool, why: str, ms: float, got: str) -> dict:
    return {"id": q["id"], "kind": q["kind"], "sub": q["sub"], "report_id": q["report_id"], "question": q["question"],
            "history": q["history"], "ok": ok, "why": why, "ms": round(ms, 3), "got": got}


# ============================================================================ baseline
def document_text(path: str | Path) -> str:
    """A report's text as our loader reads it, with each table laid out where it stands
    (one row per line, cells separated by tabs): formats whose tables are real tables
    (HTML, Word) keep them apart from the text lines."""
    from index.load import load_document

    doc = load_document(path)
    grids = sorted(doc.grids, key=lambda g: g.line_after)
    out: list[str] = []

    def put_tables(upto: int) -> None:
        while grids and grids[0].line_after <= upto:
            out.extend("\t".join(row).rstrip("\t") for row in grids.pop(0).rows)

    put_tables(0)
    for line in doc.lines:
        out.append(line.text)
        put_tables(line.lineno)
    put_tables(10 ** 9)
    return "\n".join(out)


def chunks_of(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Plain fixed-size chunks: no sections, no overlap."""
    return [text[i:i + size] for i in range(0, len(text), size) if text[i:i + size].strip()]


class Baseline:
    """chromadb top-k over plain chunks, in its own folder: a collection, a manifest (model,
    chunk size, corpus) and the reports done (a build resumes where it stopped)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._collection = None

    @property
    def collection(self):
        if self._collection is None:
            import chromadb
            from chromadb.config import Settings

            from index.embeddings import LocalEmbeddingFunction

            self.folder.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(self.folder / "chroma"),
                                               settings=Settings(anonymized_telemetry=False, allow_reset=False))
            # our embedding function, so chroma never fetches its default model; vectors are passed in
            self._collection = client.get_or_create_collection(
                "chunks", embedding_function=LocalEmbeddingFunction(), configuration={"hnsw": {"space": "cosine"}})
        return self._collection

    def done(self) -> set[str]:
        path = self.folder / "done.txt"
        return set(path.read_text(encoding="utf-8").split()) if path.exists() else set()

    def check_manifest(self, corpus: str | Path) -> None:
        from index.settings import Settings

        want = {"model": Settings.from_env().model_name, "chunk_chars": CHUNK_CHARS, "corpus": str(Path(corpus).resolve())}
        path = self.folder / "manifest.json"
        if path.exists():
            have = json.loads(path.read_text(encoding="utf-8"))
            if have != want:
                raise BenchError(f"{self.folder} holds a baseline of {have}, not {want}: "
                                 "delete the folder or pass another --baseline-dir")
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(want, ensure_ascii=False), encoding="utf-8")

    def build(self, corpus: str | Path, records: list[dict], batch: int = 8, progress: bool = True) -> dict:
        """Chunk, embed and add the reports not done yet; returns what it did."""
        from tqdm import tqdm

        from index.embeddings import embed

        self.check_manifest(corpus)
        done = self.done()
        todo = [r for r in records if r["report_id"] not in done]
        started, chunks_added = time.perf_counter(), 0
        bar = tqdm(total=len(todo), desc="baseline chunks", unit="report", disable=not progress or not todo)
        with open(self.folder / "done.txt", "a", encoding="utf-8") as log:
            for i in range(0, len(todo), batch):
                ids, texts, metas, finished = [], [], [], []
                for r in todo[i:i + batch]:
                    for n, chunk in enumerate(chunks_of(document_text(Path(corpus) / r["file"]))):
                        ids.append(f"{r['report_id']}#{n:03d}")
                        texts.append(chunk)
                        metas.append({"report_id": r["report_id"]})
                    finished.append(r["report_id"])
                if ids:
                    vectors = embed(texts)
                    self.collection.upsert(ids=ids, embeddings=[v for v in vectors], documents=texts, metadatas=metas)
                log.write("".join(f"{rid}\n" for rid in finished))
                log.flush()
                chunks_added += len(ids)
                bar.update(len(finished))
        bar.close()
        seconds = time.perf_counter() - started
        return {"reports_added": len(todo), "chunks_added": chunks_added, "seconds": round(seconds, 1),
                "chunks_per_s": round(chunks_added / seconds, 1) if chunks_added and seconds else None,
                "reports": len(self.done()), "chunks": self.collection.count()}

    def search(self, text: str, k: int = TOP_K) -> list[tuple[str, str, str]]:
        """(chunk id, report id, chunk text) of the k nearest chunks, best first."""
        return self.nearest(query_vector(text), k)

    def nearest(self, vector, k: int = TOP_K) -> list[tuple[str, str, str]]:
        got = self.collection.query(query_embeddings=[vector], n_results=k, include=["documents", "metadatas"])
        return [(cid, meta["report_id"], doc)
                for cid, meta, doc in zip(got["ids"][0], got["metadatas"][0], got["documents"][0])]


def query_vector(text: str):
    """A question's vector by the model itself (index.embeddings.embed_query keeps an LRU
    cache of question vectors: a benchmark must not time cache hits)."""
    from index.embeddings import embed

    return embed([text])[0]


def run_baseline(queries: list[dict], baseline: Baseline) -> list[dict]:
    if baseline.collection.count() == 0:
        raise BenchError(f"the baseline at {baseline.folder} is empty")
    for q in queries[:3]:  # load the model and the HNSW index (just written, maybe): not timed
        baseline.search(q["question"])
    results = []
    for q in queries:
        text = " ".join(q["history"] + [q["question"]])  # no other state than the previous question
        t0 = time.perf_counter()
        vector = query_vector(text)
        t1 = time.perf_counter()
        hits = baseline.nearest(vector)
        t2 = time.perf_counter()
        chunk_id, report_id, chunk = hits[0]
        ok, why = judge_baseline(q, report_id, chunk)
        r = _result(q, ok, why, (t2 - t0) * 1000, chunk)
        r.update({"embed_ms": round((t1 - t0) * 1000, 3), "chroma_ms": round((t2 - t1) * 1000, 3),
                  "top": [h[0] for h in hits]})
        results.append(r)
    return results


def _baseline_for(args) -> Baseline:
    return Baseline(args.baseline_dir or Path(args.index) / BASELINE_DIR)


def _baseline_records(args) -> list[dict]:
    records = load_truth(args.corpus)
    in_index = indexed_reports(args.index)
    records = [r for r in records if r["report_id"] in in_index]
    return records[:args.limit_reports] if args.limit_reports else records


# ============================================================================ server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in kB; {} when it has gone."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for children in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                kids = [int(x) for x in children.read_text().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


def memory_mb(pid: int) -> dict:
    """RSS now and peak RSS of the server and of its children (MB)."""
    procs = [pid] + _descendants(pid)
    status = {p: _proc_status(p) for p in procs}
    mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
    return {"rss_mb": mb(sum(s.get("VmRSS", 0) for s in status.values())),
            "peak_rss_mb": mb(sum(s.get("VmHWM", 0) for s in status.values())),
            "server_peak_rss_mb": mb(status[pid].get("VmHWM", 0)), "processes": len(procs)}


def run_server(queries: list[dict], index_dir: str | Path, port: int | None, with_ui: bool,
               startup_timeout: float, log_path: Path) -> tuple[list[dict], dict]:
    import httpx

    from web.api.keys import KeyStore

    port = port or _free_port()
    url = f"http://127.0.0.1:{port}"
    scratch = Path(tempfile.mkdtemp(prefix="bench_scale_keys_"))
    keys_file = scratch / "api_keys.db"
    key = KeyStore(keys_file).create("bench_scale")
    env = dict(os.environ, NIANBAO_RATE_LIMIT="0", HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               NIANBAO_API_KEYS=str(keys_file))
    cmd = [sys.executable, "-m", "qa", "serve", "--index", str(index_dir), "--port", str(port)]
    if not with_ui:
        cmd.append("--no-ui")
    info: dict = {"url": url, "ui": with_ui}
    with open(log_path, "w", encoding="utf-8") as log:
        started = time.perf_counter()
        server = subprocess.Popen(cmd, cwd=str(ROOT), env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            with httpx.Client(base_url=url, timeout=120) as client:
                health = _wait_healthy(client, server, startup_timeout, log_path)
                info["startup_s"] = round(time.perf_counter() - started, 1)
                info["reports"] = health.get("reports")
                info["after_start"] = memory_mb(server.pid)
                results = []
                for q in queries:
                    body = {"question": q["question"], "history": _history(q) or []}
                    t0 = time.perf_counter()
                    response = client.post("/api/ask", json=body)
                    ms = (time.perf_counter() - t0) * 1000
                    if response.status_code != 200:
                        results.append(_result(q, False, f"HTTP {response.status_code}", ms, response.text))
                        continue
                    data = response.json()
                    ok, why = judge_ours(q, data)
                    results.append(_result(q, ok, why, ms, data.get("answer") or ""))
                info["after_ask"] = memory_mb(server.pid)
                t0 = time.perf_counter()
                response = client.get("/api/search", params={"q": queries[0]["question"], "mode": "hybrid", "k": 5},
                                      headers={"X-API-Key": key})
                info["hybrid_search"] = {"status": response.status_code,
                                         "first_ms": round((time.perf_counter() - t0) * 1000, 1)}
                info["end"] = memory_mb(server.pid)
        finally:
            _stop(server)
            for p in scratch.iterdir():
                p.unlink()
            scratch.rmdir()
    return results, info


def _wait_healthy(client, server, timeout: float, log_path: Path) -> dict:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"the server exited with status {server.returncode}; see {log_path}")
        try:
            response = client.get("/api/health", timeout=5)
            if response.status_code == 200 and response.json().get("status") == "ok":
                return response.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise BenchError(f"the server did not answer /api/health within {timeout:.0f} s; see {log_path}")


def _stop(server: subprocess.Popen) -> None:
    """Stop the server this script started (by its pid): Ctrl-C, then SIGTERM, then SIGKILL."""
    if server.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 15), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        server.send_signal(sig)
        try:
            server.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


# ============================================================================ commands
def cmd_queries(args) -> int:
    queries, info = query_set(args)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    try:
        for q in queries:
            out.write(json.dumps(q, ensure_ascii=False) + "\n")
    finally:
        if args.out:
            out.close()
    print(f"{len(queries)} questions ({info['queries']}) about {info['asked_about_reports']} reports"
          + (f", written to {args.out}" if args.out else ""), file=sys.stderr)
    return 0


def cmd_baseline_build(args) -> int:
    baseline = _baseline_for(args)
    did = baseline.build(args.corpus, _baseline_records(args), progress=not args.quiet)
    print(f"baseline {baseline.folder}: {did['reports']} reports, {did['chunks']} chunks "
          f"(this run: {did['reports_added']} reports, {did['chunks_added']} chunks in {did['seconds']} s"
          + (f", {did['chunks_per_s']} chunks/s" if did["chunks_per_s"] else "") + ")")
    return 0


def cmd_run(args) -> int:
    queries, info = query_set(args)
    report: dict = {"command": "run", "config": {**info, "chunk_chars": CHUNK_CHARS, "top_k": TOP_K}}
    stats: dict[str, dict] = {}
    subs: dict[str, dict] = {}
    results: dict[str, list[dict]] = {}
    if not args.no_ours:
        ours, warm = run_ours(queries, args.index)
        results["ours"] = ours
        report["ours_warm_up"] = warm
    if not args.no_baseline:
        baseline = _baseline_for(args)
        report["baseline_build"] = baseline.build(args.corpus, _baseline_records(args), progress=not args.quiet)
        results["baseline"] = run_baseline(queries, baseline)
    for system, rs in results.items():
        stats[system] = summarise(rs)
        subs[system] = summarise(rs, by="sub")
    limited = f", questions about the first {info['asked_about_reports']}" if args.limit_reports else ""
    title = (f"{info['index_reports']} reports in the index{limited} (seed {args.seed}): "
             + ", ".join(f"{v} {k}" for k, v in info["queries"].items()) + " questions")
    print_table(title, stats)
    print_breakdown(subs)
    if "baseline" in results:
        b = report["baseline_build"]
        rs = results["baseline"]
        split = {part: round(percentile([r[f"{part}_ms"] for r in rs], 0.5), 2) for part in ("embed", "chroma")}
        report["baseline_split_p50_ms"] = split
        print(f"\nbaseline: chromadb top-{TOP_K} over {b['chunks']} plain {CHUNK_CHARS}-character chunks of "
              f"{b['reports']} reports (no facts, no BM25); its answer is the top-1 chunk. Lenient: a figure is "
              "right when that chunk is from the right report and holds the row label and the number anywhere. "
              f"Time = query embedding (p50 {split['embed']} ms) + chroma query (p50 {split['chroma']} ms).")
    if "ours" in results:
        w = report["ours_warm_up"]
        print(f"ours: qa.answer.answer in-process; warm_up {w['warm_up_s']} s, then one untimed answer per kind "
              f"({w['warm_up_total_s']} s in all) before timing.")
    for system, rs in results.items():
        print_failures(system, rs, args.show_failures)
    report.update({"stats": stats, "by_type": subs,
                   "results": {system: rs for system, rs in results.items()} if args.json_results else {}})
    _write_json(args.json, report)
    return 0


def cmd_server(args) -> int:
    queries, info = query_set(args)
    log_path = Path(args.log or Path(tempfile.gettempdir()) / f"bench_scale_server_{os.getpid()}.log")
    results, server = run_server(queries, args.index, args.port, not args.no_ui, args.startup_timeout, log_path)
    stats = summarise(results)
    print_table(f"Server (python -m qa serve{' --no-ui' if args.no_ui else ''}), {info['index_reports']} reports, "
                f"{len(queries)} questions posted one at a time to /api/ask", {"HTTP": stats})
    print(f"\nstart-up {server['startup_s']} s; RSS after start {server['after_start']['rss_mb']} MB, after the "
          f"questions {server['after_ask']['rss_mb']} MB, after one hybrid /api/search "
          f"({server['hybrid_search']['first_ms']} ms, HTTP {server['hybrid_search']['status']}) "
          f"{server['end']['rss_mb']} MB; **peak RSS {server['end']['peak_rss_mb']} MB** "
          f"({server['end']['processes']} process(es)); log: {log_path}")
    print_failures("HTTP", results, args.show_failures)
    _write_json(args.json, {"command": "server", "config": info, "server": server, "stats": {"http": stats},
                            "by_type": {"http": summarise(results, by="sub")}})
    return 0


def _write_json(path: str | None, data: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        print(f"\nfigures written to {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, sizes: bool = True):
        p.add_argument("--corpus", required=True, help="folder made by scripts/make_scale_corpus.py (with truth.jsonl)")
        p.add_argument("--index", required=True, help="its index (scripts/build_index.py)")
        p.add_argument("--limit-reports", type=int, default=0,
                       help="ask about (and chunk for the baseline) only the first N reports of truth.jsonl")
        if sizes:
            p.add_argument("--seed", type=int, default=0, help="query-set seed (default 0)")
            p.add_argument("--structured", type=int, default=200, help="structured questions (default 200)")
            p.add_argument("--text", type=int, default=100, help="text questions (default 100)")
            p.add_argument("--follow-ups", type=int, default=100, help="follow-up questions (default 100)")
            p.add_argument("--show-failures", type=int, default=10, help="wrong answers to print per system")
            p.add_argument("--json", help="write every figure to this JSON file")

    q = sub.add_parser("queries", help="write the query set as JSON lines")
    common(q)
    q.add_argument("--out", help="file (default: stdout)")
    q.set_defaults(func=cmd_queries)
    b = sub.add_parser("baseline-build", help="build or resume the baseline's chroma collection")
    common(b, sizes=False)
    b.add_argument("--baseline-dir", help=f"default: INDEX/{BASELINE_DIR}")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_baseline_build)
    r = sub.add_parser("run", help="answer the query set with ours and the baseline")
    common(r)
    r.add_argument("--baseline-dir", help=f"default: INDEX/{BASELINE_DIR}")
    r.add_argument("--no-baseline", action="store_true", help="ours only")
    r.add_argument("--no-ours", action="store_true", help="baseline only")
    r.add_argument("--json-results", action="store_true", help="also write every question's result to --json")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)
    s = sub.add_parser("server", help="peak RSS and HTTP latency of python -m qa serve")
    common(s)
    s.add_argument("--port", type=int, help="default: a free port")
    s.add_argument("--no-ui", action="store_true", help="serve the API only (python -m qa serve --no-ui)")
    s.add_argument("--startup-timeout", type=float, default=900, help="seconds to wait for /api/health")
    s.add_argument("--log", help="the server's output (default: a file in the temp folder)")
    s.set_defaults(func=cmd_server)
    args = parser.parse_args(argv)
    for name in ("structured", "text", "follow_ups", "limit_reports"):
        if getattr(args, name, 0) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    try:
        return args.func(args)
    except BenchError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
