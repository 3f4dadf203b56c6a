"""Shared fixtures: the real reports in tests/fixtures and their golden files."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Servers the tests start write readers' feedback to a file of the test run, never into
# the checkout's var/feedback.db (the fuzz tests post to /api/feedback too).
os.environ.setdefault("NIANBAO_FEEDBACK", str(Path(tempfile.mkdtemp(prefix="nb-feedback-")) / "feedback.db"))

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures"
GOLDEN = TESTS / "golden"
# where the documents of golden files live (pingtan: the 片区/department reports of issue 9)
GOLDEN_FIXTURE_FOLDERS = ("seeds", "real", "pingtan")


def golden_files() -> list[Path]:
    return sorted(GOLDEN.glob("*.json"))


def load_golden(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def fixture_path(golden: dict) -> Path:
    """Where the document a golden file describes lives."""
    name = golden["file"]
    for folder in GOLDEN_FIXTURE_FOLDERS:
        if (FIXTURES / folder / name).exists():
            return FIXTURES / folder / name
    raise FileNotFoundError(name)


def seed_variants(golden_name: str) -> list[Path]:
    """A seed's text file and its generated .docx/.pdf versions (same golden file)."""
    golden = load_golden(golden_name)
    text = fixture_path(golden)
    paths = [text]
    for folder, suffix in (("seeds_docx", ".docx"), ("seeds_pdf", ".pdf")):
        candidate = FIXTURES / folder / (text.stem + suffix)
        if candidate.exists():
            paths.append(candidate)
    return paths


def pytest_addoption(parser):
    parser.addoption("--facts", choices=("sqlite", "postgres"), default="sqlite",
                     help="where the index-building fixtures put the facts: the build's reports.db (default) "
                          "or a throw-away PostgreSQL cluster the session starts (tests/pg_cluster.py)")


@pytest.fixture(scope="session")
def postgres_url():
    """A throw-away PostgreSQL cluster on loopback for the session (its URL)."""
    from pg_cluster import PostgresCluster, server_bin

    if server_bin() is None:
        pytest.skip("PostgreSQL's server is not installed (`make postgres`)")
    with PostgresCluster() as url:
        yield url


@pytest.fixture(scope="session")
def facts_url(request):
    """What index-building fixtures pass as build(facts_url=…): None (SQLite), or with
    ``--facts postgres`` the session's PostgreSQL cluster."""
    if request.config.getoption("--facts") == "postgres":
        return request.getfixturevalue("postgres_url")
    return None


@pytest.fixture
def fresh_index(tmp_path):
    return tmp_path / "index"


@pytest.fixture(scope="session")
def full_index(tmp_path_factory, facts_url):
    """The whole product's index (store, passages, embeddings, BM25) over the sample
    reports and the 15 real ones, built once per test session with the real model."""
    import shutil

    from index.build import build
    from index.retrieval_stage import default_stages

    inputs = tmp_path_factory.mktemp("all_reports")
    for path in list((TESTS.parent / "data").glob("*")) + list((FIXTURES / "real").glob("r*")):
        if path.is_file():
            shutil.copy(path, inputs / path.name)
    index_dir = tmp_path_factory.mktemp("full_index")
    build(inputs, index_dir, progress=False, stages=default_stages(), facts_url=facts_url)
    return index_dir


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, facts_url):
    """An index of every report in tests/fixtures (the five samples, the 15 real
    reports and the 93 Pingtan reports: 113), with passages and BM25 but no vectors
    (text answers use BM25), built once per test session: what the blind set runs on."""
    import shutil

    from index.build import build
    from index.retrieval_stage import RetrievalStage

    inputs = tmp_path_factory.mktemp("corpus_reports")
    sources = list((TESTS.parent / "data").glob("*")) + list((FIXTURES / "real").glob("r*")) + \
        list((FIXTURES / "pingtan").glob("p*.txt"))
    for path in sources:
        if path.is_file():
            shutil.copy(path, inputs / path.name)
    index_dir = tmp_path_factory.mktemp("corpus_index")
    build(inputs, index_dir, progress=False, stages=[RetrievalStage(dense=False)], facts_url=facts_url)
    return index_dir
