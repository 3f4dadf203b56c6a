"""The scale benchmark (scripts/bench_scale.py) on a small generated corpus.

Twenty reports from scripts/make_scale_corpus.py (text, Markdown, HTML), indexed with the
real pipeline and the real embedding model. The query set must agree with truth.jsonl,
our answers must be right, the baseline's chunks must be real chunks of the reports,
and the judge must reject wrong answers. Generated data stays in tmp.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from decimal import Decimal
from html import escape
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
N = 20
SEED = 5
FORMATS = ("txt", "md", "html")  # html: tables kept apart from the text lines (the baseline lays them out)
SIZES = {"structured": 40, "text": 20, "follow-up": 20}


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    from index.build import build
    from index.retrieval_stage import default_stages

    bench = _script("bench_scale")
    corpus = tmp_path_factory.mktemp("scale_corpus")
    _script("make_scale_corpus").generate(corpus, N, seed=SEED, formats=FORMATS)
    index_dir = tmp_path_factory.mktemp("scale_index")
    build(corpus, index_dir, progress=False, stages=default_stages())  # truth.jsonl is rejected, not indexed
    records = bench.load_truth(corpus)
    names = bench.names_by_report(records)
    queries = bench.make_queries(records, names, SEED, SIZES["structured"], SIZES["text"], SIZES["follow-up"])
    return bench, corpus, index_dir, records, queries


@pytest.fixture(scope="module")
def ours(bench):
    module, _, index_dir, _, queries = bench
    return module.run_ours(queries, index_dir)[0]


@pytest.fixture(scope="module")
def baseline(bench, tmp_path_factory):
    module, corpus, _, records, queries = bench
    b = module.Baseline(tmp_path_factory.mktemp("baseline"))
    built = b.build(corpus, records, progress=False)
    return b, built, module.run_baseline(queries, b)


def _accuracy(results, kind):
    rs = [r for r in results if r["kind"] == kind]
    return sum(r["ok"] for r in rs) / len(rs)


def test_query_set_has_the_sizes_asked_and_every_expected_value_comes_from_truth(bench):
    module, _, _, records, queries = bench
    by_id = {r["report_id"]: r for r in records}
    assert {k: sum(q["kind"] == k for q in queries) for k in module.KINDS} == SIZES
    assert len({(q["question"], *q["history"]) for q in queries}) == len(queries)
    for q in queries:
        record = by_id[q["report_id"]]
        expect = q["expect"]
        if q["kind"] == "text":
            assert expect["sections"], q
            for n in expect["sections"]:
                assert record["narrative"][str(n)], q
            if "contains" in expect:
                assert f"主动公开政府信息{expect['contains']}条" in "".join(record["narrative"]["2"])
            continue
        values = [record["cells"][k] for k in expect["cells"]]
        assert None not in values, q  # blank cells are not asked about
        assert Decimal(expect["value"]) == sum(Decimal(v) for v in values), q
        if "yes" in expect:
            assert expect["yes"] == (Decimal(expect["value"]) > 0)
        if q["kind"] == "follow-up":
            assert len(q["history"]) == 1 and q["question"].endswith("呢？"), q
        else:
            meta = record["metadata"]
            assert f"{meta['year']}年" in q["question"]
            assert meta["short_name"] in q["question"] or meta["body"] in q["question"]


def test_query_set_is_the_same_for_a_seed_and_differs_for_another(bench):
    module, _, _, records, queries = bench
    names = module.names_by_report(records)
    assert module.make_queries(records, names, SEED, 40, 20, 20) == queries
    assert module.make_queries(records, names, SEED + 1, 40, 20, 20) != queries


def test_a_short_name_that_two_bodies_share_is_not_used(bench):
    module, _, _, records, _ = bench
    a, b = (json.loads(json.dumps(r)) for r in records[:2])
    b["metadata"]["short_name"] = a["metadata"]["short_name"]
    names = module.names_by_report([a, b])
    assert names == {a["report_id"]: a["metadata"]["body"], b["report_id"]: b["metadata"]["body"]}


def test_truth_narrative_is_the_text_of_the_report(bench):
    _, corpus, _, records, _ = bench
    for r in records:
        text = re.sub(r"\s+", "", (corpus / r["file"]).read_text(encoding="utf-8"))
        assert set(r["narrative"]) >= {"0", "1", "2", "3", "5", "6"}
        for paragraphs in r["narrative"].values():
            for p in paragraphs:
                assert re.sub(r"\s+", "", p) in text or re.sub(r"\s+", "", escape(p)) in text, (r["file"], p)


def test_ours_answers_figures_and_follow_ups_right(ours):
    assert _accuracy(ours, "structured") >= 0.9
    assert _accuracy(ours, "follow-up") >= 0.9
    assert _accuracy(ours, "text") >= 0.6
    assert all(r["ms"] > 0 for r in ours)


def test_judge_rejects_a_wrong_number_a_wrong_report_and_a_wrong_section(bench, ours):
    module, _, index_dir, _, queries = bench
    from qa.answer import answer

    lookup = next(q for q in queries if q["sub"].startswith("lookup:") and len(q["expect"]["cells"]) == 1)
    result = answer(lookup["question"], index_dir).to_dict()
    assert module.judge_ours(lookup, result) == (True, "")
    wrong = dict(lookup, expect=dict(lookup["expect"], value=str(Decimal(lookup["expect"]["value"]) + 1)))
    assert not module.judge_ours(wrong, result)[0]
    other = dict(lookup, report_id="00999_txt")
    assert not module.judge_ours(other, result)[0]
    text = next(q for q in queries if q["kind"] == "text")
    result = answer(text["question"], index_dir).to_dict()
    moved = dict(text, expect=dict(text["expect"], sections=[4]))
    assert not module.judge_ours(moved, result)[0]
    assert not module.judge_ours(lookup, {"answer": "", "citations": [], "facts": []})[0]


def test_baseline_answers_with_real_chunks_of_the_reports(bench, baseline):
    module, corpus, _, records, queries = bench
    b, built, results = baseline
    chunks = {r["report_id"]: module.chunks_of(module.document_text(corpus / r["file"])) for r in records}
    assert built["reports"] == N and built["chunks"] == sum(len(c) for c in chunks.values())
    stored = set(b.collection.get(include=[])["ids"])
    assert len(results) == len(queries)
    for r in results:
        assert len(r["top"]) == module.TOP_K and set(r["top"]) <= stored
        report_id, n = r["top"][0].split("#")
        assert r["got"] == chunks[report_id][int(n)]
        assert len(r["got"]) <= module.CHUNK_CHARS
    # the tables are in the baseline's text, HTML ones included
    html = next(r for r in records if r["format"] == "html")
    assert "本年新收政府信息公开申请数量" in module.document_text(corpus / html["file"])


def test_baseline_build_resumes_without_embedding_again(bench, baseline):
    module, corpus, _, records, _ = bench
    b = baseline[0]
    again = b.build(corpus, records, progress=False)
    assert again["reports_added"] == 0 and again["chunks_added"] == 0 and again["reports"] == N


def test_baseline_is_wrong_more_often_than_ours_on_figures(ours, baseline):
    assert _accuracy(baseline[2], "structured") < _accuracy(ours, "structured")


def test_run_prints_a_table_and_writes_every_figure(bench, baseline, tmp_path, capsys):
    module, corpus, index_dir, _, _ = bench
    out = tmp_path / "run.json"
    code = module.main(["run", "--corpus", str(corpus), "--index", str(index_dir), "--seed", str(SEED),
                        "--structured", "6", "--text", "3", "--follow-ups", "3", "--quiet",
                        "--baseline-dir", str(baseline[0].folder), "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| system | questions | n | accuracy | p50 ms | p95 ms |" in printed
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data["stats"]) == {"ours", "baseline"}
    for system in ("ours", "baseline"):
        assert {k: v["n"] for k, v in data["stats"][system].items()} == {"structured": 6, "text": 3, "follow-up": 3}
    assert data["config"]["index_reports"] == N


def test_server_memory_is_read_from_proc():
    import os

    got = _script("bench_scale").memory_mb(os.getpid())
    assert got["peak_rss_mb"] >= got["server_peak_rss_mb"] > 0 and got["processes"] >= 1
