"""NIANBAO_FACTS_URL: the facts in PostgreSQL (index.pgstore), one schema per build.

Runs against a throw-away cluster the session starts (tests/conftest.py ``postgres_url``,
tests/pg_cluster.py) and builds the five sample reports (no passages: seconds). Checks
that both stores answer every read the same way, that each build writes its own schema
and a failed or killed build leaves the served facts untouched, that the readers cannot
write, and the year partitions. The QA, API and page suites run against PostgreSQL too
with ``pytest --facts postgres`` (the Makefile's test target does).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from conftest import FIXTURES
from index import layout, pgstore, store
from index.build import BuildStage, build, current_dir
from index.factstore import SQLiteFactStore, open_fact_store
from index.integrity import index_problem
from index.pgstore import PostgresFactStore
from index.settings import Settings
from qa.answer import answer

ROOT = Path(__file__).parent.parent
DATA = ROOT / "data"
JIAOCHA = "000_8d3f9a9668695af1"
QUNFENG = "001_cbb814ea69df7004"  # one cell printed empty


def _schemas(url: str, index_dir: Path) -> set[str]:
    prefix = pgstore._index_prefix(layout.builds_dir(index_dir) / "x")
    with psycopg.connect(url) as db:
        return {r[0] for r in db.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                                         (prefix,))}


def _served_schema(index_dir: Path) -> str:
    return layout.recorded_facts(current_dir(index_dir))[1]


def _inputs(tmp_path: Path, files) -> Path:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    for f in files:
        shutil.copy(f, folder / Path(f).name)
    return folder


@pytest.fixture(scope="module")
def both(tmp_path_factory, postgres_url):
    """The sample reports plus two real ones (a failed check, uncertain cells), built
    once into SQLite and once into PostgreSQL."""
    inputs = _inputs(tmp_path_factory.mktemp("both"), [*DATA.glob("*.txt"),
                                                       FIXTURES / "real" / "r005_pingtan_2020.txt",
                                                       FIXTURES / "real" / "r006_pingtan_2021.txt"])
    sqlite_index, pg_index = tmp_path_factory.mktemp("sqlite_index"), tmp_path_factory.mktemp("pg_index")
    build(inputs, sqlite_index, progress=False)
    build(inputs, pg_index, progress=False, facts_url=postgres_url)
    return sqlite_index, pg_index


def _plain(rows) -> list[dict]:
    """Rows as dicts with booleans as SQLite's 0/1 (the readers treat them alike)."""
    out = []
    for r in rows:
        d = dict(r)
        out.append({k: (int(v) if isinstance(v, bool) else v) for k, v in d.items()})
    return out


def test_both_stores_answer_every_read_alike(both):
    with open_fact_store(both[0]) as lite, open_fact_store(both[1]) as pg:
        assert isinstance(lite, SQLiteFactStore) and isinstance(pg, PostgresFactStore)
        ids = [r["id"] for r in lite.catalog_reports()]
        assert len(ids) == 7
        assert _plain(pg.catalog_reports()) == _plain(lite.catalog_reports())
        assert _plain(pg.reports_by_name()) == _plain(lite.reports_by_name())
        assert pg.report_titles(ids) == lite.report_titles(ids)
        assert pg.read_by_ocr(ids) == lite.read_by_ocr(ids)
        for query in ({}, {"year": 2021}, {"level": "township"}, {"region": "彭阳"}, {"name": "平潭"},
                      {"name": "100%_"}, {"offset": 2, "limit": 3}):
            rows_pg, n_pg = pg.list_reports(**query)
            rows_lite, n_lite = lite.list_reports(**query)
            assert (_plain(rows_pg), n_pg) == (_plain(rows_lite), n_lite), query
        for rid in ids:
            assert _plain([pg.report(rid)]) == _plain([lite.report(rid)])
            assert _plain(pg.report_facts(rid)) == _plain(lite.report_facts(rid)), rid
            assert _plain(pg.report_checks(rid)) == _plain(lite.report_checks(rid))
            assert pg.section(rid, 1) == lite.section(rid, 1)
        for table in ("主动公开", "依申请", "复议诉讼"):
            key = lambda r: (r["report_id"], r["row"], r["col"])  # noqa: E731 - cells come in any order
            assert sorted(_plain(pg.cells(ids, table)), key=key) == sorted(_plain(lite.cells(ids, table)), key=key)
            assert pg.reports_with_table(ids, table) == lite.reports_with_table(ids, table)
        assert _plain(pg.blank_cells(ids)) == _plain(lite.blank_cells(ids))
        assert pg.uncertain_counts(ids) == lite.uncertain_counts(ids)
        assert pg.reports_with_facts(ids + ["nope"]) == lite.reports_with_facts(ids + ["nope"])
        assert pg.sections(ids) == lite.sections(ids)
        assert pg.report_count() == lite.report_count() == 7
        assert sorted(_plain(pg.failed_checks(ids)), key=str) == sorted(_plain(lite.failed_checks(ids)), key=str)
        for query in ({}, {"undecided": True}, {"year": 2020}):
            assert _plain(pg.list_failed_checks(**query)) == _plain(lite.list_failed_checks(**query))
        column = lite.report_facts(JIAOCHA, "主动公开")[0]["col"]
        assert pg.has_column(JIAOCHA, "主动公开", column) is lite.has_column(JIAOCHA, "主动公开", column) is True
        assert pg.has_column(JIAOCHA, "主动公开", "no such column") is False
        assert pg.report(JIAOCHA)["uncertain_cells"] == lite.report(JIAOCHA)["uncertain_cells"]
        pg_info, lite_info = pg.build_info(), lite.build_info()
        assert pg_info["report_count"] == lite_info["report_count"] == "7"
        assert pg_info["facts_schema"] == _served_schema(both[1])


def test_questions_get_the_same_answers_from_both_stores(both):
    for question in ("交岔乡2021年收到多少政府信息公开申请？", "群峰乡2021年行政复议的结果纠正数是多少？",
                     "哪些乡镇没有收到政府信息公开申请？"):
        a, b = answer(question, both[0]), answer(question, both[1])
        assert a.answer == b.answer and a.answer
        assert [c.report_id for c in a.citations] == [c.report_id for c in b.citations]


def test_readers_run_as_the_serving_role_and_cannot_write(both):
    with open_fact_store(both[1]) as pg:
        assert pg.db.execute("SELECT current_user AS u").fetchone()["u"] == pgstore.READ_ROLE
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            pg.db.execute("UPDATE facts SET value = '1'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # a read-write transaction: no privilege
            with pg.db.transaction():
                pg.db.execute("SET TRANSACTION READ WRITE")
                pg.db.execute("DELETE FROM checks")
        assert pg.report_count() == 7


def test_facts_are_partitioned_by_the_reports_year(both, postgres_url):
    schema = _served_schema(both[1])
    with psycopg.connect(postgres_url) as db:
        db.execute(f"SET search_path TO {schema}")
        partitions = {r[0] for r in db.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
            "WHERE p.relname = 'facts' AND n.nspname = %s", (schema,))}
        years = {r[0] for r in db.execute("SELECT DISTINCT year FROM reports")}
        assert partitions == {f"facts_y{y}" for y in years} | {"facts_other"}
        for year in years:
            assert db.execute(f"SELECT COUNT(*) FROM facts_y{year} f JOIN reports r ON r.id = f.report_id "
                              "WHERE r.year <> %s", (year,)).fetchone()[0] == 0
            assert db.execute(f"SELECT COUNT(*) FROM facts_y{year}").fetchone()[0] > 0


def test_each_build_writes_its_own_schema_and_prunes_old_ones(tmp_path, postgres_url):
    index = tmp_path / "index"
    inputs = _inputs(tmp_path, DATA.glob("*.txt"))
    build(inputs, index, progress=False, facts_url=postgres_url)
    first = _served_schema(index)
    (inputs / f"{QUNFENG}.txt").unlink()
    summary = build(inputs, index, progress=False, facts_url=postgres_url)
    second = _served_schema(index)
    assert second != first and summary.removed == [f"{QUNFENG}.txt"] and summary.unchanged == 4
    assert _schemas(postgres_url, index) == {first, second}  # the previous build is kept
    with psycopg.connect(postgres_url) as db:  # the previous schema was not written to
        assert db.execute(f"SELECT COUNT(*) FROM {first}.reports").fetchone()[0] == 5
        assert db.execute(f"SELECT COUNT(*) FROM {second}.reports").fetchone()[0] == 4
        assert db.execute(f"SELECT COUNT(*) FROM {second}.facts WHERE report_id = %s",
                          (JIAOCHA,)).fetchone()[0] == db.execute(
            f"SELECT COUNT(*) FROM {first}.facts WHERE report_id = %s", (JIAOCHA,)).fetchone()[0] > 100
    build(inputs, index, progress=False, facts_url=postgres_url)
    assert _schemas(postgres_url, index) == {second, _served_schema(index)}
    with open_fact_store(index) as facts:
        assert facts.report_count() == 4


def _rows(url: str, schema: str) -> dict[str, list[tuple]]:
    """Every row of a build's facts tables, in key order (build_info apart: it dates the build)."""
    order = {"reports": "id", "sections": "report_id, number", "facts": "report_id, tbl, row, col",
             "checks": "report_id, seq", "rejects": "source_file", "file_stats": "source_file"}
    with psycopg.connect(url) as db:
        return {t: db.execute(f"SELECT * FROM {schema}.{t} ORDER BY {o}").fetchall() for t, o in order.items()}


def test_a_rebuild_catches_up_the_spare_schema_instead_of_copying_the_served_one(tmp_path, postgres_url):
    """Issue 14: a rebuild moved the rows of the few changed reports into the schema of
    the build one behind (renamed), not the whole served schema; it must hold what a
    fresh build of the same files holds."""
    index = tmp_path / "index"
    inputs = _inputs(tmp_path, [*DATA.glob("*.txt"), FIXTURES / "real" / "r006_pingtan_2021.txt"])
    assert build(inputs, index, progress=False, facts_url=postgres_url).started_from == "new"
    spare = _served_schema(index)
    (inputs / f"{QUNFENG}.txt").unlink()
    assert build(inputs, index, progress=False, facts_url=postgres_url).started_from == "copied"  # no spare yet
    served = _served_schema(index)
    jiaocha = inputs / f"{JIAOCHA}.txt"
    jiaocha.write_text(jiaocha.read_text(encoding="utf-8").replace("交岔乡", "交岔镇", 1), encoding="utf-8")
    summary = build(inputs, index, progress=False, facts_url=postgres_url)
    assert summary.started_from == "caught-up" and [r.id for r in summary.reports] == [JIAOCHA]
    caught_up = _served_schema(index)
    assert _schemas(postgres_url, index) == {served, caught_up}  # the spare's schema became this build's
    with psycopg.connect(postgres_url) as db:  # the served build's rows were read, not written
        assert db.execute(f"SELECT COUNT(*) FROM {served}.reports").fetchone()[0] == 5
    assert spare not in _schemas(postgres_url, index)
    fresh = tmp_path / "fresh"
    build(inputs, fresh, progress=False, facts_url=postgres_url)
    mine, theirs = _rows(postgres_url, caught_up), _rows(postgres_url, _served_schema(fresh))
    assert len(mine["reports"]) == 5 and len(mine["facts"]) > 500
    assert mine == theirs
    with open_fact_store(index) as facts:
        assert facts.report_count() == 5 and any("交岔镇" in (r["body"] or "") for r in facts.catalog_reports())


def _last_analyzed(url: str, schema: str) -> dict[str, object]:
    """When each table of a build's schema was last analyzed (PostgreSQL's own record)."""
    with psycopg.connect(url) as db:
        return dict(db.execute("SELECT relname, last_analyze FROM pg_stat_user_tables WHERE schemaname = %s "
                               "AND (relname IN ('reports', 'sections', 'checks') OR relname LIKE 'facts\\_y%%')",
                               (schema,)).fetchall())


def test_a_caught_up_build_analyzes_only_the_tables_its_changes_made_stale(tmp_path, postgres_url, monkeypatch):
    """ANALYZE was most of a caught-up rebuild's server time. The spare's tables bring
    their statistics through the rename; a caught-up build analyzes a table again only
    when its changed rows pass autovacuum's share since that table's last ANALYZE."""
    index = tmp_path / "index"
    inputs = _inputs(tmp_path, [*DATA.glob("*.txt"), FIXTURES / "real" / "r006_pingtan_2021.txt"])
    build(inputs, index, progress=False, facts_url=postgres_url)
    spare = _last_analyzed(postgres_url, _served_schema(index))
    assert len(spare) >= 4 and all(spare.values())  # a new schema is analyzed whole
    (inputs / f"{QUNFENG}.txt").unlink()
    assert build(inputs, index, progress=False, facts_url=postgres_url).started_from == "copied"
    copied = _last_analyzed(postgres_url, _served_schema(index))
    assert all(copied.values()) and all(copied[t] > spare[t] for t in spare)

    # no table past the thresholds: the caught-up schema keeps the spare's statistics
    jiaocha = inputs / f"{JIAOCHA}.txt"
    jiaocha.write_text(jiaocha.read_text(encoding="utf-8").replace("交岔乡", "交岔镇", 1), encoding="utf-8")
    monkeypatch.setattr(pgstore, "_STALE_ROWS", 10**9)
    assert build(inputs, index, progress=False, facts_url=postgres_url).started_from == "caught-up"
    assert _last_analyzed(postgres_url, _served_schema(index)) == spare
    with open_fact_store(index) as facts:
        assert facts.report_count() == 5 and any("交岔镇" in (r["body"] or "") for r in facts.catalog_reports())

    # by the default rule: the copied schema, caught up with two changes of one report
    # (≈ 600 of ≈ 1,200 fact rows), has its facts analyzed; 2 of 5 report rows are not enough
    monkeypatch.undo()
    jiaocha.write_text(jiaocha.read_text(encoding="utf-8").replace("交岔镇", "交岔乡", 1), encoding="utf-8")
    assert build(inputs, index, progress=False, facts_url=postgres_url).started_from == "caught-up"
    now = _last_analyzed(postgres_url, _served_schema(index))
    partitions = [t for t in now if t.startswith("facts_y")]
    assert partitions and all(now[t] > copied[t] for t in partitions)
    assert now["reports"] == copied["reports"]


class _Fails(BuildStage):
    def finish(self, build_dir):
        raise RuntimeError("stage failed")


def test_a_failed_build_leaves_the_served_facts_and_drops_its_schema(tmp_path, postgres_url):
    index = tmp_path / "index"
    inputs = _inputs(tmp_path, DATA.glob("*.txt"))
    build(inputs, index, progress=False, facts_url=postgres_url)
    served = _served_schema(index)
    (inputs / f"{QUNFENG}.txt").unlink()
    with pytest.raises(RuntimeError, match="stage failed"):
        build(inputs, index, progress=False, stages=[_Fails()], facts_url=postgres_url)
    assert _served_schema(index) == served and _schemas(postgres_url, index) == {served}
    with open_fact_store(index) as facts:
        assert facts.report_count() == 5


class _CatchesUp(BuildStage):
    def catch_up(self, report_ids, build_dir, served_dir):
        pass


class _FailsAfterCatchingUp(_CatchesUp):
    def finish(self, build_dir):
        raise RuntimeError("stage failed")


def test_a_failed_catching_up_build_leaves_the_served_facts_and_the_next_build_copies(tmp_path, postgres_url):
    """The spare build's schema is renamed for the new build before anything is written:
    a failure drops it, the served schema is never written, the next build copies."""
    index = tmp_path / "index"
    inputs = _inputs(tmp_path, DATA.glob("*.txt"))
    build(inputs, index, progress=False, stages=[_CatchesUp()], facts_url=postgres_url)
    (inputs / f"{QUNFENG}.txt").unlink()
    build(inputs, index, progress=False, stages=[_CatchesUp()], facts_url=postgres_url)
    served = _served_schema(index)
    with open_fact_store(index) as facts:
        before = _plain(facts.catalog_reports())
    shutil.copy(DATA / f"{QUNFENG}.txt", inputs)
    with pytest.raises(RuntimeError, match="stage failed"):
        build(inputs, index, progress=False, stages=[_FailsAfterCatchingUp()], facts_url=postgres_url)
    assert _served_schema(index) == served and _schemas(postgres_url, index) == {served}
    with open_fact_store(index) as facts:
        assert _plain(facts.catalog_reports()) == before and facts.report_count() == 4
    summary = build(inputs, index, progress=False, stages=[_CatchesUp()], facts_url=postgres_url)
    assert summary.started_from == "copied" and summary.total_reports == 5


def test_killed_build_leaves_the_served_facts_and_the_next_build_drops_its_schema(tmp_path, postgres_url):
    index = tmp_path / "index"
    build(DATA, index, progress=False, facts_url=postgres_url)
    served = _served_schema(index)
    inputs = _inputs(tmp_path, sorted((FIXTURES / "seeds_pdf").glob("*.pdf")) +
                     sorted((FIXTURES / "real").glob("r00[123]*.pdf")))
    served_dir = current_dir(index)
    env = dict(os.environ, NIANBAO_FACTS_URL=postgres_url)  # the setting, end to end
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "build_index.py"), "--input", str(inputs),
                                "--index", str(index), "--quiet", "--no-passages"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not list((index / "builds").glob("*.partial/facts.txt")):
        time.sleep(0.05)
    time.sleep(1.0)  # mid-way through the PDFs
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert current_dir(index) == served_dir and _served_schema(index) == served
    assert len(_schemas(postgres_url, index)) == 2  # the killed build's, orphaned
    assert "0" in answer("交岔乡2021年收到多少政府信息公开申请？", index).answer
    build(DATA, index, progress=False, facts_url=postgres_url)
    assert _schemas(postgres_url, index) == {served, _served_schema(index)}


def test_an_index_moves_between_sqlite_and_postgresql(tmp_path, postgres_url):
    index = tmp_path / "index"
    inputs = _inputs(tmp_path, DATA.glob("*.txt"))
    build(inputs, index, progress=False)
    summary = build(inputs, index, progress=False, facts_url=postgres_url)
    assert len(summary.reports) == 5  # the new store starts empty: every report read into it
    assert layout.facts_file(current_dir(index)).exists()
    with open_fact_store(index) as facts:
        assert isinstance(facts, PostgresFactStore) and facts.report_count() == 5
    in_postgres = _served_schema(index)
    summary = build(inputs, index, progress=False)
    assert len(summary.reports) == 5 and not layout.facts_file(current_dir(index)).exists()
    with open_fact_store(index) as facts:
        assert isinstance(facts, SQLiteFactStore) and facts.report_count() == 5
    assert _schemas(postgres_url, index) == {in_postgres}  # the previous build's, kept with it
    build(inputs, index, progress=False)  # its spare build kept its facts in PostgreSQL: copied, not caught up
    assert _schemas(postgres_url, index) == set()  # pruned with its build
    with open_fact_store(index) as facts:
        assert isinstance(facts, SQLiteFactStore) and facts.report_count() == 5


def test_integrity_says_when_the_facts_schema_is_gone(tmp_path, postgres_url):
    index = tmp_path / "index"
    build(_inputs(tmp_path, [DATA / f"{JIAOCHA}.txt"]), index, progress=False, facts_url=postgres_url)
    assert index_problem(index) is None
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"DROP SCHEMA {_served_schema(index)} CASCADE")
    problem = index_problem(index)
    assert problem and "PostgreSQL" in problem


def test_api_says_503_when_the_facts_schema_is_gone(tmp_path, postgres_url):
    from fastapi.testclient import TestClient

    from web.api.app import create_app
    from web.api.keys import KeyStore

    index = tmp_path / "index"
    build(_inputs(tmp_path, [DATA / f"{JIAOCHA}.txt"]), index, progress=False, facts_url=postgres_url)
    keys = tmp_path / "keys.db"
    key = KeyStore(keys).create("t")
    with TestClient(create_app(index, Settings(), keys_file=keys, rate_limit=0)) as client:
        assert client.get(f"/api/reports/{JIAOCHA}", headers={"X-API-Key": key}).status_code == 200
        with psycopg.connect(postgres_url, autocommit=True) as db:
            db.execute(f"DROP SCHEMA {_served_schema(index)} CASCADE")
        r = client.get(f"/api/reports/{JIAOCHA}", headers={"X-API-Key": key})
        assert r.status_code == 503 and r.json()["error"]["code"] == "index_unavailable"
        assert "PostgreSQL" in r.json()["error"]["message"]


def test_readers_reconnect_after_the_server_restarts(tmp_path):
    from pg_cluster import PostgresCluster

    index = tmp_path / "index"
    cluster = PostgresCluster()  # its own server: the session's stays up for the other tests
    url = cluster.start()
    try:
        build(_inputs(tmp_path, [DATA / f"{JIAOCHA}.txt"]), index, progress=False, facts_url=url)
        with open_fact_store(index) as facts:
            assert facts.report_count() == 1  # the pooled connection is made
        cluster.restart()  # … and dropped by the server
        with open_fact_store(index) as facts:  # the pool's check replaces it
            assert facts.report_count() == 1
    finally:
        cluster.stop()


def test_the_setting_selects_postgresql_and_refuses_other_urls():
    assert Settings.from_env({"NIANBAO_FACTS_URL": " postgresql://u@db:5432/nianbao "}).facts_url == \
        "postgresql://u@db:5432/nianbao"
    assert Settings.from_env({}).facts_url is None
    with pytest.raises(ValueError, match="NIANBAO_FACTS_URL"):
        Settings.from_env({"NIANBAO_FACTS_URL": "mysql://u@db/nianbao"})


def test_the_writer_interface_is_the_same_for_both_stores():
    abstract = store.StoreWriter.__abstractmethods__
    assert not (abstract - set(vars(store.SQLiteWriter))) and not (abstract - set(vars(pgstore.PostgresWriter)))
