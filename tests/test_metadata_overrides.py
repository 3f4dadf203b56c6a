"""The staff metadata file (scripts/build_index.py --metadata FILE.csv): what it sets,
how the build records it, and the errors a bad file gives before anything is written."""

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES
from index.build import build, current_dir
from index.metadata import LEVELS, OVERRIDE_COLUMNS, MetadataFileError, read_overrides

ROOT = Path(__file__).parent.parent
REPORTS = [FIXTURES / "pingtan" / "p001_junshan_2020.txt", FIXTURES / "pingtan" / "p015_czjrj_2019.txt",
           FIXTURES / "real" / "r004_pingtan_2019.txt"]
STAFF_FILE = """file,body,short_name,level,region,parent_region
p001_junshan_2020.txt,,君山,,,
,平潭综合实验区财政金融局,财政金融局,,平潭综合实验区,福建省
r004_pingtan_2019.txt,平潭综合实验区管理委员会（平潭综合实验区党工委管委会）,平潭,,,福建省
"""


def inputs(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for path in REPORTS:
        shutil.copy(path, folder / path.name)
    return folder


def write(tmp_path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run_build(folder, index, *extra):
    return subprocess.run([sys.executable, "scripts/build_index.py", "--input", str(folder), "--index", str(index),
                           "--quiet", "--no-embeddings", *map(str, extra)],
                          cwd=ROOT, capture_output=True, text=True)


def reports(index) -> dict[str, tuple]:
    db = sqlite3.connect(current_dir(index) / "reports.db")
    rows = db.execute("SELECT source_file, body, short_name, level, province, city, county FROM reports")
    return {r[0]: r[1:] for r in rows}


def build_info(index) -> dict[str, str]:
    db = sqlite3.connect(current_dir(index) / "reports.db")
    return dict(db.execute("SELECT key, value FROM build_info"))


def test_metadata_file_overrides_what_was_read_and_is_recorded(tmp_path):
    staff = write(tmp_path, "bodies.csv", STAFF_FILE)
    result = run_build(inputs(tmp_path), tmp_path / "index", "--metadata", staff)
    assert result.returncode == 0, result.stderr
    assert reports(tmp_path / "index") == {
        # a file row: the short name staff use
        "p001_junshan_2020.txt": ("平潭综合实验区君山片区管理局", "君山", "township", None, "平潭综合实验区", None),
        # a body row: short name, region and parent region
        "p015_czjrj_2019.txt": ("平潭综合实验区财政金融局", "财政金融局", "department", "福建省", "平潭综合实验区", None),
        # a file row renaming the body: level and regions follow the new name
        "r004_pingtan_2019.txt": ("平潭综合实验区管理委员会（平潭综合实验区党工委管委会）", "平潭", "city", "福建省",
                                  "平潭综合实验区", None),
    }
    info = build_info(tmp_path / "index")
    assert info["metadata_file"] == str(staff.resolve())
    recorded = json.loads(info["metadata_overridden"])
    assert recorded["p001_junshan_2020.txt"] == {"short_name": ["君山片区", "君山"]}
    assert recorded["r004_pingtan_2019.txt"]["body"] == ["平潭综合实验区管理委员会",
                                                         "平潭综合实验区管理委员会（平潭综合实验区党工委管委会）"]
    assert "metadata overridden: 3 reports" in result.stdout
    assert "p001_junshan_2020.txt: short_name 君山片区 → 君山" in result.stdout
    # the passages (what BM25 and the level filter see) carry the overridden values
    db = sqlite3.connect(current_dir(tmp_path / "index") / "reports.db")
    assert set(db.execute("SELECT DISTINCT short_name FROM passages WHERE report_id = 'p001_junshan_2020'")) == {
        ("君山",)}


def test_changed_metadata_file_rereads_the_reports_it_touched(tmp_path):
    folder, index = inputs(tmp_path), tmp_path / "index"
    build(folder, index, progress=False, metadata_file=write(tmp_path, "a.csv", STAFF_FILE))
    only_level = write(tmp_path, "b.csv", "file,level\np001_junshan_2020.txt,department\n")
    summary = build(folder, index, progress=False, metadata_file=only_level)
    assert summary.unchanged == 0  # all three were overridden before: read again
    assert reports(index)["p001_junshan_2020.txt"][1:3] == ("君山片区", "department")
    assert reports(index)["p015_czjrj_2019.txt"][1] == "平潭综合实验区财政金融局"  # the old row is undone
    summary = build(folder, index, progress=False)  # no file: only what it overrode is read again
    assert (len(summary.reports), summary.unchanged) == (1, 2)
    assert reports(index)["p001_junshan_2020.txt"][2] == "township"
    assert json.loads(build_info(index)["metadata_overridden"]) == {}


def test_rows_matching_no_report_are_listed(tmp_path):
    staff = write(tmp_path, "bodies.csv", "file,body,level\np999_nowhere.txt,,township\n,某某局,county\n")
    summary = build(inputs(tmp_path), tmp_path / "index", progress=False, metadata_file=staff)
    assert summary.overrides_unmatched == ["line 2 (file p999_nowhere.txt)", "line 3 (body 某某局)"]
    assert not summary.overridden


def test_excel_csv_in_gb18030_with_a_township_region(tmp_path):
    """A CSV saved by Excel on Chinese Windows; a county-level 市 placed under its city."""
    staff = write(tmp_path, "bodies.csv", "body,level,region,parent_region\n某某镇人民政府,township,昆山市,苏州市\n",
                  encoding="gb18030")
    row = read_overrides(staff).rows[0]
    assert row.slots == (("city", "苏州市"), ("county", "昆山市"))


@pytest.mark.parametrize("text, message", [
    ("file,levle\nx.txt,township\n", "unknown column 'levle'; allowed columns: " + ", ".join(OVERRIDE_COLUMNS)),
    ("file,level\nx.txt,towns\n", "line 2: level 'towns' is not one of: " + ", ".join(LEVELS)),
    ("level\ntownship\n", "needs a 'file' or a 'body' column"),
    ("file,body,level\n,,township\n", "line 2: give the report's file or its body"),
    ("body,short_name\n某某局,\n", "line 2: the row for body '某某局' sets nothing"),
    ("file,region\nx.txt,君山片区\n", "line 2: region '君山片区' is not a place name"),
    ("file,level\nx.txt,township\nx.txt,county\n", "line 3: file 'x.txt' is already on line 2"),
    ("", "is empty"),
])
def test_bad_metadata_file_is_an_error_before_anything_is_written(tmp_path, text, message):
    staff = write(tmp_path, "bodies.csv", text)
    with pytest.raises(MetadataFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build(inputs(tmp_path), tmp_path / "index", progress=False, metadata_file=staff)
    assert not (tmp_path / "index").exists()


def test_build_script_reports_a_bad_metadata_file_in_one_line(tmp_path):
    staff = write(tmp_path, "bodies.csv", "file,level\np001_junshan_2020.txt,乡镇\n")
    result = run_build(inputs(tmp_path), tmp_path / "index", "--metadata", staff)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"Error: metadata file {staff}, line 2: level '乡镇' is not one of: "
                                     "township, county, city, province, department")
    assert not (tmp_path / "index").exists()
