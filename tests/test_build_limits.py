"""Issue 10: a build refuses, with the reason and without stopping, the files that would
hang it or reach outside its input folder; one build at a time; removed reports' space
comes back. Real reports from tests/fixtures, real builds (index.build), real processes."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from index.build import BuildLocked, _BuildLock, build, current_dir
from index.limits import FileLimits

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "fixtures" / "real"
SEED_DOCX = ROOT / "tests" / "fixtures" / "seeds_docx" / "000_8d3f9a9668695af1.docx"
TXT = REAL / "r004_pingtan_2019.txt"


def _reasons(summary) -> dict[str, str]:
    return dict(summary.rejected)


def _indexed(index_dir: Path) -> set[str]:
    db = sqlite3.connect(current_dir(index_dir) / "reports.db")
    try:
        return {r[0] for r in db.execute("SELECT source_file FROM reports")}
    finally:
        db.close()


def test_file_over_the_size_limit_is_refused_and_the_build_goes_on(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(REAL / "r001_huaian_hongze_2023.pdf", inputs)  # 293 KB
    shutil.copy(TXT, inputs)  # 17 KB
    summary = build(inputs, tmp_path / "index", progress=False, limits=FileLimits(max_mb=0.1))
    reason = _reasons(summary)["r001_huaian_hongze_2023.pdf"]
    assert "0.3 MB" in reason and "limit is 0.1 MB" in reason and "NIANBAO_MAX_FILE_MB" in reason
    assert _indexed(tmp_path / "index") == {TXT.name}


def test_docx_that_inflates_past_the_limit_is_refused_unread(tmp_path):
    """A zip bomb: the real seed .docx with 60 MB of zeros added (60 KB compressed)."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    bomb = inputs / "bomb.docx"
    shutil.copy(SEED_DOCX, bomb)
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/media/padding.xml", b"\0" * (60 * 1024 * 1024))
    assert bomb.stat().st_size < 1024 * 1024
    shutil.copy(SEED_DOCX, inputs / "plain.docx")
    summary = build(inputs, tmp_path / "index", progress=False, limits=FileLimits(max_mb=5))
    assert re.search(r"inflates to 6\d MB; the limit is 5 MB", _reasons(summary)["bomb.docx"])
    assert _indexed(tmp_path / "index") == {"plain.docx"}


def test_document_with_text_over_the_character_limit_is_refused(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(TXT, inputs)
    shutil.copy(REAL / "r010_pingtan_2025.txt", inputs)
    short = len((REAL / "r010_pingtan_2025.txt").read_text(encoding="utf-8"))
    long = len(TXT.read_text(encoding="utf-8"))
    assert short < long
    summary = build(inputs, tmp_path / "index", progress=False, limits=FileLimits(max_chars=(short + long) // 2))
    assert "characters; the limit is" in _reasons(summary)[TXT.name]
    assert _indexed(tmp_path / "index") == {"r010_pingtan_2025.txt"}


def test_parse_past_the_time_limit_is_stopped_and_the_next_file_still_parses(tmp_path):
    """A 48-page PDF made of r003's 6 pages 8 times (≈ 4.6 s to parse on a quiet machine)
    against a limit of 1 s; the text report after it parses in ≈ 0.05 s."""
    import pypdfium2 as pdfium

    inputs = tmp_path / "in"
    inputs.mkdir()
    long_pdf = pdfium.PdfDocument.new()
    source = pdfium.PdfDocument(REAL / "r003_huaian_city_2024.pdf")
    for _ in range(8):
        long_pdf.import_pages(source)
    long_pdf.save(inputs / "a_slow.pdf")
    shutil.copy(TXT, inputs / "b_quick.txt")
    # ocr="off": a PDF that may need OCR gets 5x the limit (index.limits.OCR_TIME_FACTOR)
    summary = build(inputs, tmp_path / "index", progress=False, limits=FileLimits(timeout=1), ocr="off")
    assert "longer than 1 s" in _reasons(summary)["a_slow.pdf"]
    assert _indexed(tmp_path / "index") == {"b_quick.txt"}


def test_limits_come_from_the_environment_and_bad_values_are_refused():
    from index.settings import Settings

    env = {"NIANBAO_MAX_FILE_MB": "2.5", "NIANBAO_PARSE_TIMEOUT": "0"}
    limits = Settings.from_env(env).limits
    assert limits.max_bytes == int(2.5 * 1024 * 1024) and limits.timeout == 0
    with pytest.raises(ValueError, match="NIANBAO_MAX_TEXT_CHARS"):
        Settings.from_env({**env, "NIANBAO_MAX_TEXT_CHARS": "lots"})


def test_build_script_names_a_bad_limit_in_one_line(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_index.py"), "--input", str(REAL),
                        "--index", str(tmp_path / "i"), "--no-passages", "--quiet"],
                       env=dict(os.environ, NIANBAO_MAX_FILE_MB="-1"), capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [
        "Error: NIANBAO_MAX_FILE_MB must be positive, not -1.0"]


# ------------------------------------------------------------------ symlinks
def test_symlinks_out_of_the_input_folder_are_skipped_with_a_reason(tmp_path):
    inputs = tmp_path / "in"
    outside = tmp_path / "outside"
    inputs.mkdir()
    outside.mkdir()
    shutil.copy(TXT, inputs / "real.txt")
    shutil.copy(REAL / "r010_pingtan_2025.txt", outside / "elsewhere.txt")
    (inputs / "passwd.txt").symlink_to("/etc/passwd")
    (inputs / "readme.txt").symlink_to(outside / "elsewhere.txt")
    (inputs / "folder").symlink_to(outside, target_is_directory=True)
    (inputs / "inside.txt").symlink_to(inputs / "real.txt")
    summary = build(inputs, tmp_path / "index", progress=False)
    reasons = _reasons(summary)
    for name in ("passwd.txt", "readme.txt", "folder"):
        assert "outside the input folder" in reasons[name], reasons
    assert _indexed(tmp_path / "index") == {"real.txt", "inside.txt"}
    db = sqlite3.connect(current_dir(tmp_path / "index") / "reports.db")
    texts = " ".join(r[0] or "" for r in db.execute("SELECT text FROM sections"))
    db.close()
    assert "root:" not in texts


# ------------------------------------------------------------------ input folder recorded absolute
def test_relative_input_is_recorded_absolute_and_source_serves_it_from_any_cwd(tmp_path):
    work = tmp_path / "work"
    (work / "reports").mkdir(parents=True)
    shutil.copy(TXT, work / "reports")
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_index.py"), "--input", "reports",
                        "--index", "idx", "--no-passages", "--quiet"], cwd=work, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    db = sqlite3.connect(current_dir(work / "idx") / "reports.db")
    recorded = dict(db.execute("SELECT key, value FROM build_info"))["input_dir"]
    rid = db.execute("SELECT id FROM reports").fetchone()[0]
    db.close()
    assert recorded == str((work / "reports").resolve())
    # a file of the same name where a relative path would wrongly point, from the server's cwd
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "reports").mkdir(parents=True)
    (elsewhere / "reports" / TXT.name).write_text("wrong file", encoding="utf-8")
    sys.path.insert(0, str(ROOT / "tests"))
    from test_served_surface import Server

    server = Server(work / "idx", tmp_path / "keys.db", "--no-ui", cwd=elsewhere)
    try:
        got = httpx.get(f"{server.url}/api/reports/{rid}/source")
    finally:
        server.stop()
    assert got.status_code == 200 and got.content == TXT.read_bytes()


# ------------------------------------------------------------------ one build at a time
def test_second_concurrent_build_exits_with_a_clear_message(tmp_path):
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    # the first build: another process holding the index's build lock (as a running build does)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from index.build import _BuildLock\n"
                               f"with _BuildLock(Path({str(index_dir)!r})):\n"
                               "    print('locked', flush=True); sys.stdin.read()"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        r = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_index.py"), "--input", str(TXT),
                            "--index", str(index_dir), "--no-passages", "--quiet"], capture_output=True, text=True)
        assert r.returncode == 1
        assert r.stderr.strip().splitlines() == [r.stderr.strip()] and "already running" in r.stderr
        assert f"pid {holder.pid}" in r.stderr and "Traceback" not in r.stderr
        with pytest.raises(BuildLocked):
            build(TXT, index_dir, progress=False)
    finally:
        holder.stdin.close()
        holder.wait(10)
    assert build(TXT, index_dir, progress=False).total_reports == 1  # free again


def test_lock_is_released_when_a_build_fails(tmp_path):
    from index.build import BuildStage

    class Failing(BuildStage):
        def finish(self, build_dir):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        build(TXT, tmp_path / "index", progress=False, stages=[Failing()])
    assert build(TXT, tmp_path / "index", progress=False).total_reports == 1


# ------------------------------------------------------------------ space and stale rejects
def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def test_index_shrinks_after_reports_are_removed_and_stale_rejects_go(tmp_path):
    """Store, BM25 and vectors (real embeddings) of 8 reports, then 7 removed."""
    from index.retrieval_stage import default_stages

    inputs = tmp_path / "in"
    inputs.mkdir()
    for path in [*(ROOT / "data").glob("*.txt"), TXT, REAL / "r005_pingtan_2020.txt", REAL / "r006_pingtan_2021.txt"]:
        shutil.copy(path, inputs)
    (inputs / "notes.xyz").write_text("not a report", encoding="utf-8")
    index_dir = tmp_path / "index"
    build(inputs, index_dir, progress=False, stages=default_stages())
    before = {part: _size(current_dir(index_dir) / part) for part in ("reports.db", "chroma", "bm25")}
    for path in inputs.iterdir():
        if path.name != TXT.name:
            path.unlink()
    summary = build(inputs, index_dir, progress=False, stages=default_stages())
    assert summary.total_reports == 1
    after = {part: _size(current_dir(index_dir) / part) for part in ("reports.db", "chroma", "bm25")}
    build(inputs, tmp_path / "fresh", progress=False, stages=default_stages())  # the one report from scratch
    fresh = {part: _size(current_dir(tmp_path / "fresh") / part) for part in ("reports.db", "chroma", "bm25")}
    for part in before:
        assert after[part] < before[part], (part, before, after)
        assert after[part] <= fresh[part] * 1.1, (part, after, fresh)  # as small as if never larger
    db = sqlite3.connect(current_dir(index_dir) / "reports.db")
    assert db.execute("SELECT COUNT(*) FROM rejects").fetchone()[0] == 0
    assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0
    db.close()
    from qa.retrieve import search

    hits = search(index_dir, "平潭 政府信息公开", k=3, mode="dense")
    assert hits and {h.report_id for h in hits} == {summary_id(index_dir)}


def summary_id(index_dir: Path) -> str:
    db = sqlite3.connect(current_dir(index_dir) / "reports.db")
    try:
        return db.execute("SELECT id FROM reports").fetchone()[0]
    finally:
        db.close()


def test_parse_over_the_memory_limit_is_refused_and_the_build_finishes(tmp_path):
    """A worker capped at 1 MB of address space (less than it already uses) fails any
    parse that needs new memory, as a PDF's does: the file is refused with the reason, the
    worker is restarted for the next file, and the build completes."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(REAL / "r001_huaian_hongze_2023.pdf", inputs / "a.pdf")
    shutil.copy(TXT, inputs / "b.txt")
    summary = build(inputs, tmp_path / "index", progress=False, limits=FileLimits(memory_mb=1))
    assert "memory" in _reasons(summary)["a.pdf"], summary.rejected
    assert summary.total_reports == len(summary.reports) <= 1


_PARSE_HOLDING_FILES = """
import os, sys
from index.lexical import allow_open_files
from index.limits import FileLimits, ParseWorker
allow_open_files(1100)
held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]  # as a loaded 50k index holds
with ParseWorker(FileLimits(timeout=60)) as worker:
    print(max(held) > 1024, len(worker.parse(sys.argv[1]).facts))
"""


def test_a_process_holding_thousands_of_files_still_parses_in_its_worker():
    """select() refuses descriptors past 1,023: a build in a process that had loaded a
    50k index's BM25 shards (3,000 open files) stopped at its first changed report."""
    done = subprocess.run([sys.executable, "-c", _PARSE_HOLDING_FILES, str(TXT)], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.split()
    assert done[0] == "True" and int(done[1]) > 100, done
