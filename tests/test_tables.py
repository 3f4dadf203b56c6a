"""Table extraction against the golden files (tests/golden/*.json).

Bar: 100% of cells exact on the seeds (txt, and their .docx/.pdf versions when
present) and on r001-r003, r014, r015; on the other real reports (tests/fixtures/real and
the Pingtan 片区/department reports in tests/fixtures/pingtan) >= 95% of the readable cells
exact, every inexact cell flagged uncertain, and every cell the golden lists as unreadable
flagged (BELOW_BAR: known gaps where only the last two are asserted).

Run ``python -m tests.test_tables`` (or ``python tests/test_tables.py``) for a
per-document report and the cell diffs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from index.document import IngestError  # noqa: E402
from index.tables import diff_against_golden, extract_tables  # noqa: E402

GOLDEN = ROOT / "tests" / "golden"
FIXTURES = ROOT / "tests" / "fixtures"
STRICT_REAL = ("r001", "r002", "r003", "r014", "r015")
# real reports with golden files: the first 15, and the Pingtan 片区/department reports (issue 9)
REAL_FOLDERS = ("real", "pingtan")
# Known parser gaps (issue 9): the parser flags every cell it misses here (0 wrong and
# unflagged), but reads fewer than 95% of the readable cells. For these the 95% bar is not
# asserted; the never-wrong checks still are. Remove an entry once the parser reads the report.
BELOW_BAR: dict[str, str] = {}  # none left: p003 and p014 reached the bar with the layout rules of issue 9


def _load(path: Path):
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        from index.load_pdf import load_pdf
        return load_pdf(str(path))
    if suffix == ".docx":
        from index.load_docx import load_docx
        return load_docx(str(path))
    if suffix in (".html", ".htm"):
        from index.load_html import load_html
        return load_html(str(path))
    from index.load_text import load_text
    return load_text(str(path))


def cases() -> list[tuple[str, Path, Path, bool]]:
    """(id, fixture, golden, strict) for every golden file and fixture version."""
    out = []
    for golden in sorted(GOLDEN.glob("*.json")):
        data = json.loads(golden.read_text(encoding="utf-8"))
        name = data.get("file", "")
        stem = golden.stem
        if stem.startswith("seed_"):
            num = stem.split("_", 1)[1]
            for folder in ("seeds", "seeds_docx", "seeds_pdf"):
                for fx in sorted((FIXTURES / folder).glob(f"{num}_*")) if (FIXTURES / folder).is_dir() else []:
                    out.append((f"{stem}:{fx.suffix[1:]}", fx, golden, True))
        else:
            found = [FIXTURES / folder / name for folder in REAL_FOLDERS if (FIXTURES / folder / name).exists()]
            found = found or [m for folder in REAL_FOLDERS for m in sorted((FIXTURES / folder).glob(stem + ".*"))]
            if not found:
                continue
            out.append((stem, found[0], golden, stem.split("_")[0] in STRICT_REAL))
    return out


def score(fixture: Path, golden_path: Path) -> dict:
    golden = json.loads(golden_path.read_text(encoding="utf-8"))
    doc = _load(fixture)
    result = extract_tables(doc)
    facts = {f.key: f for f in result.facts}
    cells = golden["cells"]
    exact = uncertain = wrong_unflagged = 0
    for key, want in cells.items():
        f = facts.get(key)
        if f is not None and not f.uncertain and f.value == want:
            exact += 1
        elif f is not None and f.uncertain:
            uncertain += 1
        else:
            wrong_unflagged += 1
    unreadable = set(golden.get("unreadable", []))
    unreadable_unflagged = [k for k in unreadable if not (k in facts and facts[k].uncertain)]
    readable = [k for k in cells if k not in unreadable]
    exact_readable = sum(1 for k in readable if k in facts and not facts[k].uncertain and facts[k].value == cells[k])
    return {"total": len(cells), "exact": exact, "readable": len(readable), "exact_readable": exact_readable, "uncertain": uncertain,
            "wrong_unflagged": wrong_unflagged, "unreadable_unflagged": unreadable_unflagged,
            "version_ok": result.version == golden.get("template"), "version": result.version,
            "diff": diff_against_golden(result, golden), "problems": result.problems}


CASES = cases()


@pytest.mark.parametrize("case_id,fixture,golden,strict", CASES, ids=[c[0] for c in CASES])
def test_tables_against_golden(case_id, fixture, golden, strict):
    try:
        s = score(fixture, golden)
    except (ImportError, ModuleNotFoundError) as exc:  # loader not written yet
        pytest.skip(f"loader missing: {exc}")
    detail = "\n".join(s["diff"][:60])
    assert s["version_ok"], f"version {s['version']}"
    if strict:
        assert s["exact"] == s["total"], f"{s['exact']}/{s['total']} exact\n{detail}"
    else:
        assert s["wrong_unflagged"] == 0, f"{s['wrong_unflagged']} wrong cells not flagged\n{detail}"
        assert not s["unreadable_unflagged"], f"unreadable cells not flagged: {s['unreadable_unflagged']}"
        if case_id in BELOW_BAR:
            return
        # cells a careful reader cannot determine (golden 'unreadable') cannot be exact:
        # the 95% bar is over the readable cells
        assert s["exact_readable"] >= 0.95 * s["readable"], f"{s['exact_readable']}/{s['readable']} readable cells exact\n{detail}"


def test_no_tables_is_not_an_error(tmp_path):
    from index.load_text import load_text
    p = tmp_path / "plain.txt"
    p.write_text("某某乡2021年政府信息公开工作年度报告\n一、总体情况\n今年无特别事项。\n", encoding="utf-8")
    result = extract_tables(load_text(str(p)))
    assert result.facts == []
    assert result.problems


def test_missing_review_table_is_a_problem(tmp_path):
    from index.load_text import load_text
    seed = next((FIXTURES / "seeds").glob("002_*"))
    text = seed.read_text(encoding="utf-8")
    cut = text.index("#### 四、")
    p = tmp_path / "no_review.txt"
    p.write_text(text[:cut], encoding="utf-8")
    result = extract_tables(load_text(str(p)))
    assert result.version == "2021"
    assert any("复议诉讼" in pr for pr in result.problems)
    assert all(f.uncertain for f in result.facts if f.table == "复议诉讼")
    assert result.fact("依申请|本年新收|总计").value == "0"


def test_run_together_rows():
    from index.runtogether import applicant_sum, both, integers_only, review_blocks, split_run
    assert split_run("230 000023", 7, both(applicant_sum, integers_only)) == [("23", "0", "0", "0", "0", "0", "23")]
    assert split_run("000", 3) == [("0", "0", "0")]
    assert len(split_run("3960181", 3)) > 1  # ambiguous without arithmetic
    assert split_run("21317000001324019", 15, both(review_blocks, integers_only)) == [
        ("2", "1", "3", "1", "7", "0", "0", "0", "0", "0", "13", "2", "4", "0", "19")]
    assert split_run("75394432.52元", 1) == [("75394432.52",)]
    assert ("2648", "-18", "538") in split_run("2648-18538", 3)


def test_load_text_bad_and_gbk():
    from index.load_text import load_text
    with pytest.raises(IngestError):
        load_text(str(FIXTURES / "bad" / "empty.txt"))
    gbk = FIXTURES / "gbk" / "seed_000_gbk.txt"
    raw = gbk.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    doc = load_text(str(gbk))
    utf = load_text(str(next((FIXTURES / "seeds").glob("000_*"))))
    assert [l.text for l in doc.lines] == [l.text for l in utf.lines]
    assert extract_tables(doc).as_dict() == extract_tables(utf).as_dict()


def test_load_text_crawler_header_and_flattened_body():
    from index.load_text import load_text
    doc = load_text(str(FIXTURES / "real" / "r004_pingtan_2019.txt"))
    assert doc.title == "平潭综合实验区2019年度政府信息公开工作年度报告"
    assert not any(l.text.startswith(("标题:", "原文链接:", "本地目录:", "====")) for l in doc.lines)
    heads = [l.text[:6] for l in doc.lines]
    assert any(h.startswith("一、总体情况") for h in heads)
    assert any(h.startswith("四、政府信息") for h in heads)
    # table text is kept intact on its line
    assert any("规章000规范性文件898989" in l.text for l in doc.lines)
    assert [l.lineno for l in doc.lines] == list(range(1, len(doc.lines) + 1))


def test_load_text_drops_page_footers():
    from index.load_text import load_text
    doc = load_text(str(FIXTURES / "real" / "r012_shanghai_govoffice_2025.md"))
    assert doc.format == "md"
    assert not any(l.text.strip().startswith("—") and l.text.strip().endswith("—") for l in doc.lines)


def report() -> None:
    for case_id, fixture, golden, strict in CASES:
        try:
            s = score(fixture, golden)
        except Exception as exc:  # noqa: BLE001
            print(f"{case_id:40s} ERROR {type(exc).__name__}: {exc}")
            continue
        pct = 100.0 * s["exact"] / max(1, s["total"])
        print(f"{case_id:40s} {'strict' if strict else '95%':6s} exact {s['exact']:3d}/{s['total']:3d} "
              f"({pct:5.1f}%) uncertain {s['uncertain']:3d} wrong-unflagged {s['wrong_unflagged']:3d}"
              f" unreadable-unflagged {len(s['unreadable_unflagged'])} readable-exact {s['exact_readable']}/{s['readable']}"
              f" version {s['version']}")
        if "-v" in sys.argv:
            for line in s["diff"]:
                print("      ", line)
            for p in s["problems"]:
                print("       problem:", p)


if __name__ == "__main__":
    report()


def test_amount_unit_printed_in_the_cell_wins_over_the_template_default():
    """r014 prints 政府集中采购 采购总金额 as '251000元'; the template's default is 万元."""
    from index.load import load_document
    facts = {f.key: f for f in extract_tables(load_document(FIXTURES / "real" / "r014_shanghai_govoffice_2019.html")).facts}
    assert (facts["主动公开|政府集中采购|采购总金额"].value, facts["主动公开|政府集中采购|采购总金额"].unit) == ("251000", "元")
    r003 = {f.key: f for f in extract_tables(load_document(FIXTURES / "real" / "r003_huaian_city_2024.pdf")).facts}
    assert (r003["主动公开|行政事业性收费|本年收费金额"].value, r003["主动公开|行政事业性收费|本年收费金额"].unit) == ("96171.6", "万元")


def test_table_label_words_in_the_narrative_above_the_table_are_not_rows(tmp_path):
    """Scale corpus seed 0, report 00345: a sentence before table 二 mentioning 信息内容 and
    '…等规章制度…' was read as the 规章 row. The table starts at its own 第二十条第（一）项."""
    from index.load import load_document
    source = FIXTURES / "seeds" / "000_8d3f9a9668695af1.txt"
    text = source.read_text(encoding="utf-8").replace(
        "二、行政机关主动公开政府信息情况\n",
        "二、行政机关主动公开政府信息情况\n\n及时更新政府信息内容，先后下发《管理办法》等规章制度13件，全年共发布133条。\n")
    edited = tmp_path / source.name
    edited.write_text(text, encoding="utf-8")
    facts = {f.key: f for f in extract_tables(load_document(edited)).facts}
    assert [facts[f"主动公开|规章|{c}"].value for c in ("本年制发件数", "本年废止件数", "现行有效件数")] == ["0", "0", "0"]
