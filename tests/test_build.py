"""Building an index from a folder: summary, rejects, incremental updates, crash safety."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import FIXTURES
from index.build import build, current_dir, open_store
from qa.answer import answer

ROOT = Path(__file__).parent.parent
BAD = FIXTURES / "bad"


def copy(files, folder):
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy(f, folder / Path(f).name)
    return folder


def test_sample_reports_build_into_a_store(tmp_path):
    summary = build(ROOT / "data", tmp_path / "index", progress=False)
    assert summary.total_reports == 5 and not summary.rejected
    db = open_store(tmp_path / "index")
    years = dict(db.execute("SELECT short_name, year FROM reports").fetchall())
    assert years == {"交岔乡": 2021, "群峰乡": 2021, "官厅镇": 2021, "柔远镇": 2020, "大溪乡": 2021}
    # every report has its three tables as facts and its six sections
    for rid, tables, sections in db.execute(
            "SELECT r.id, (SELECT COUNT(DISTINCT tbl) FROM facts f WHERE f.report_id = r.id), "
            "(SELECT COUNT(*) FROM sections s WHERE s.report_id = r.id AND s.number > 0) FROM reports r"):
        assert (tables, sections) == (3, 6), rid


def test_bad_inputs_are_reported_and_do_not_stop_the_build(tmp_path):
    inputs = copy([BAD / "truncated.pdf", BAD / "scanned.pdf", BAD / "empty.txt", BAD / "not_a_report.txt",
                   BAD / "bad_notzip.docx", FIXTURES / "gbk" / "seed_000_gbk.txt", BAD / "no_tables_seed_000.txt",
                   FIXTURES / "seeds" / "001_cbb814ea69df7004.txt"], tmp_path / "in")
    summary = build(inputs, tmp_path / "index", progress=False)
    reasons = dict(summary.rejected)
    assert set(reasons) == {"truncated.pdf", "scanned.pdf", "empty.txt", "not_a_report.txt", "bad_notzip.docx"}
    assert "scanned" in reasons["scanned.pdf"] or "text layer" in reasons["scanned.pdf"]
    assert "empty" in reasons["empty.txt"]
    assert "not a government information-disclosure annual report" in reasons["not_a_report.txt"]
    db = open_store(tmp_path / "index")
    indexed = {r[0]: r[1] for r in db.execute("SELECT source_file, body FROM reports")}
    assert indexed["seed_000_gbk.txt"] == "彭阳县交岔乡人民政府"  # GBK decoded
    assert set(indexed) == {"seed_000_gbk.txt", "no_tables_seed_000.txt", "001_cbb814ea69df7004.txt"}
    # a report without tables is indexed, with the problem recorded and no invented facts
    problems = db.execute("SELECT problems FROM reports WHERE source_file = 'no_tables_seed_000.txt'").fetchone()[0]
    assert "template version not recognised" in problems or "not found" in problems
    assert db.execute("SELECT COUNT(*) FROM facts f JOIN reports r ON r.id = f.report_id "
                      "WHERE r.source_file = 'no_tables_seed_000.txt'").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM rejects").fetchone()[0] == 5


def test_rebuild_reparses_only_changed_files_and_drops_removed_ones(tmp_path):
    inputs = copy(sorted((ROOT / "data").glob("*.txt")), tmp_path / "in")
    build(inputs, tmp_path / "index", progress=False)
    first = current_dir(tmp_path / "index")
    changed = inputs / "002_5c7fe3973992ed22.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n（补充说明）\n", encoding="utf-8")
    (inputs / "004_a04ca5119211b350.txt").unlink()
    summary = build(inputs, tmp_path / "index", progress=False)
    assert [r.source_file for r in summary.reports] == ["002_5c7fe3973992ed22.txt"]
    assert summary.unchanged == 3 and summary.removed == ["004_a04ca5119211b350.txt"]
    assert current_dir(tmp_path / "index") != first
    assert open_store(tmp_path / "index").execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 4


def test_files_are_hashed_again_only_when_size_or_mtime_changed(tmp_path):
    """A rebuild of 10,000 files should not read them all: the store keeps each file's
    size, mtime and hash, and trusts them while size and mtime stay the same."""
    inputs = copy(sorted((ROOT / "data").glob("*.txt"))[:2], tmp_path / "in")
    build(inputs, tmp_path / "index", progress=False)
    stats = dict(open_store(tmp_path / "index").execute("SELECT source_file, content_hash FROM file_stats").fetchall())
    assert len(stats) == 2
    touched = inputs / "000_8d3f9a9668695af1.txt"
    os.utime(touched)  # newer mtime, same bytes: hashed again, found unchanged
    summary = build(inputs, tmp_path / "index", progress=False)
    assert summary.reports == [] and summary.unchanged == 2
    # same size and mtime but other bytes is taken as unchanged (as rsync and make do)
    st = touched.stat()
    text = touched.read_text(encoding="utf-8")
    touched.write_text(text.replace("交岔乡", "交叉乡", 1), encoding="utf-8")
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert build(inputs, tmp_path / "index", progress=False).reports == []
    os.utime(touched)  # once the mtime moves, the change is seen
    assert [r.source_file for r in build(inputs, tmp_path / "index", progress=False).reports] == [touched.name]


def test_killed_build_leaves_the_previous_index_serving(tmp_path):
    index = tmp_path / "index"
    build(ROOT / "data", index, progress=False)
    served = current_dir(index)
    inputs = copy(sorted((FIXTURES / "seeds_pdf").glob("*.pdf")) + sorted((FIXTURES / "real").glob("r00[123]*.pdf")),
                  tmp_path / "in")
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "build_index.py"), "--input", str(inputs),
                                "--index", str(index), "--quiet"], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not list((index / "builds").glob("*.partial")):
        time.sleep(0.05)
    time.sleep(1.0)  # mid-way through the PDFs
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert current_dir(index) == served
    db = sqlite3.connect(served / "reports.db")
    assert db.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 5
    # the served index still answers questions
    reply = answer("交岔乡2021年收到多少政府信息公开申请？", index)
    assert "0" in reply.answer and reply.citations[0].report_id == "000_8d3f9a9668695af1"
    # and the next build cleans up after the killed one
    build(ROOT / "data", index, progress=False)
    assert not list((index / "builds").glob("*.partial"))


def test_build_script_prints_a_summary(tmp_path):
    inputs = copy([FIXTURES / "real" / "r001_huaian_hongze_2023.pdf", BAD / "empty.txt"], tmp_path / "in")
    result = subprocess.run([sys.executable, "scripts/build_index.py", "--input", str(inputs), "--index",
                             str(tmp_path / "index"), "--quiet"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "r001_huaian_hongze_2023" in out and "主动公开/依申请/复议诉讼" in out.replace("依申请/主动公开", "")
    assert "reports indexed: 1 new or changed" in out
    assert "files rejected: 1" in out and "empty.txt: empty file" in out


def test_a_new_parser_reads_every_report_again(tmp_path, monkeypatch):
    """Unchanged files are not read again, unless the parser that read them was another
    version (its metadata rules or layouts changed: 片区管理局 became township in issue 9)."""
    import index.build as B

    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("000_8d3f9a9668695af1.txt", "003_fb8decbe9b2e9cc0.txt"):
        shutil.copy(ROOT / "data" / name, inputs / name)
    index = tmp_path / "index"
    assert len(build(inputs, index, progress=False).reports) == 2
    assert build(inputs, index, progress=False).unchanged == 2
    monkeypatch.setattr(B, "PARSER_VERSION", B.PARSER_VERSION + "-next")
    again = build(inputs, index, progress=False)
    assert len(again.reports) == 2 and again.unchanged == 0
    assert build(inputs, index, progress=False).unchanged == 2
