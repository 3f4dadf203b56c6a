"""Make Word (.docx) and PDF versions of the seed reports, with real tables.

    .venv/bin/python scripts/make_seed_fixtures.py [--no-pdf] [--check-only]

For every ``tests/fixtures/seeds/<stem>.txt`` this writes
``tests/fixtures/seeds_docx/<stem>.docx`` (python-docx) and converts it with
LibreOffice (``soffice --headless --convert-to pdf``) to
``tests/fixtures/seeds_pdf/<stem>.pdf``.  The outputs share the seed's golden file, so
their tables must carry exactly the seed's cell values; the script checks that by
reading every .docx back with ``index.load_docx`` and comparing, row by row, the numbers
(and blank value cells) with the seed text.  It exits non-zero on any mismatch.

The seed text has its tables in one of two layouts, both parsed here:

* tab-separated rows, one line per table row (seeds 000, 002, 003), with label cells
  that drift between columns;
* one cell per line: a row is a block of lines separated by a blank line, each cell
  line starts with a tab, a line without a tab continues the previous cell
  ('商业' / '企业') (seeds 001, 004).

Each table block is recognised (主动公开 第二十条 table, 申请 table, 复议/诉讼 table) and
rebuilt in the layout of the official template, with merged cells where the template
merges them: the 第二十条 sub-headings across the table, value headers with fewer
columns widened; in the 申请 table the note over the three label columns and three
header rows, 申请人情况 over the 7 applicant columns, 法人或其他组织 over 5, 自然人/总计
down two rows, '三、本年度办理结果' down all outcome rows, each '（三）不予公开'-style group
label down its numbered rows, one-level rows across the label columns; in the 复议 table
the 行政复议 / 行政诉讼 / 未经复议直接起诉 / 复议后起诉 group headers.  Labels are the seed's
own (spaces inside Chinese removed); values are the seed's strings; blank stays blank.
Markdown in a seed ('#' headings, '**bold**') becomes Word headings and bold runs.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.load_docx import load_docx  # noqa: E402

SEEDS = ROOT / "tests" / "fixtures" / "seeds"
OUT_DOCX = ROOT / "tests" / "fixtures" / "seeds_docx"
OUT_PDF = ROOT / "tests" / "fixtures" / "seeds_pdf"

_NUM = re.compile(r"^-?\d+(?:\.\d+)?$")
_CJK = r"[\u3400-\u9fff（）《》“”、，。：；！？()]"


def squeeze(text: str) -> str:
    """Strip, full-width space to space, and drop spaces between Chinese characters."""
    text = text.replace("\u3000", " ").strip()
    text = re.sub(rf"(?<={_CJK})\s+(?={_CJK})", "", text)
    text = re.sub(rf"(?<=[\u3400-\u9fff])\s+(?=\d)|(?<=\d\.)\s+(?=[\u3400-\u9fff])", "", text)
    return re.sub(r"\s+", " ", text)


def is_value(cell: str) -> bool:
    return cell == "" or bool(_NUM.match(cell))


# ----------------------------------------------------------------------------- parse

@dataclass
class Block:
    kind: str  # 'text' | 'table'
    lines: list[str] = field(default_factory=list)  # text lines, or raw table lines
    rows: list[list[str]] = field(default_factory=list)  # table rows (cells stripped)
    layout: str = ""


def split_blocks(text: str) -> list[Block]:
    """Text lines (one block each) and table blocks.  A table block runs over lines
    with a tab, blank lines, and continuation lines (no tab, right after a one-cell
    line or another continuation), and ends at any other line."""
    raw = text.replace("\r\n", "\n").split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(raw):
        if "\t" not in raw[i]:
            if raw[i].strip():
                blocks.append(Block("text", [raw[i].strip()]))
            i += 1
            continue
        j = i
        cellish = False  # the previous line is a one-cell line or its continuation
        while j < len(raw):
            cur = raw[j]
            if "\t" in cur:
                cellish = cur.startswith("\t") and cur.count("\t") == 1
            elif not cur.strip():
                cellish = False
            elif not cellish:
                break
            j += 1
        lines = raw[i:j]
        while lines and not lines[-1].strip():
            lines.pop()
        blocks.append(table_block(lines))
        i += len(lines)
    return blocks


def table_block(lines: list[str]) -> Block:
    cell_lines = [ln for ln in lines if "\t" in ln]
    one_cell = all(ln.startswith("\t") and ln.count("\t") == 1 for ln in cell_lines)
    rows: list[list[str]] = []
    if one_cell:
        cur: list[str] | None = None
        for ln in lines:
            if not ln.strip() and "\t" not in ln:
                if cur is not None:
                    rows.append(cur)
                cur = None
            elif ln.startswith("\t"):
                cur = [] if cur is None else cur
                cur.append(ln[1:])
            else:  # continuation of the last cell
                assert cur is not None, ln
                cur[-1] = cur[-1].rstrip() + ln.strip()
        if cur is not None:
            rows.append(cur)
    else:
        rows = [ln.split("\t") for ln in lines if ln.strip()]
    rows = [[squeeze(c) for c in r] for r in rows]
    return Block("table", lines=lines, rows=rows, layout="cells" if one_cell else "tabs")


def split_tables(blocks: list[Block]) -> list[Block]:
    """Classify each table block (kind 'table:active' | 'table:requests' | 'table:review')."""
    out = []
    for b in blocks:
        if b.kind != "table":
            out.append(b)
            continue
        b.kind = "table:" + classify(b.rows)
        out.append(b)
    return out


def classify(rows: list[list[str]]) -> str:
    flat = "".join("".join(r) for r in rows)
    if "第二十条" in flat:
        return "active"
    if "申请人情况" in flat or "本年新收" in flat:
        return "requests"
    if "行政复议" in flat and "行政诉讼" in flat:
        return "review"
    raise SystemExit(f"unknown table: {flat[:80]}")


# ---------------------------------------------------------------------------- models

def fit(vals: list[str], k: int, where: str) -> list[str]:
    """The k value cells of a row: drop surplus blank cells at the end, then at the
    start (the seed's columns drift); never drop a value."""
    vals = list(vals)
    while len(vals) > k and vals[-1] == "":
        vals.pop()
    while len(vals) > k and vals[0] == "":
        vals.pop(0)
    if len(vals) != k:
        raise SystemExit(f"{where}: expected {k} values, got {vals}")
    return vals


def active_model(rows):
    """[('sec', label) | ('head', [labels]) | ('data', label, [values])]"""
    items = []
    k = 0
    for r in rows:
        cells = [c for c in r]
        nonblank = [c for c in cells if c]
        if not nonblank:
            continue
        first = next(i for i, c in enumerate(cells) if c)
        label = cells[first]
        if label.startswith("第二十条"):
            items.append(("sec", label))
            assert len(nonblank) == 1, r
        elif label == "信息内容":
            heads = nonblank[1:]
            k = len(heads)
            items.append(("head", ["信息内容", *heads]))
        else:
            vals = cells[first + 1:]
            assert all(is_value(v) for v in vals), r
            items.append(("data", label, fit(vals, k, label)))
    return items


_L1 = re.compile(r"^[一二三四五六七八九十]+、")
_L2 = re.compile(r"^[（(][一二三四五六七八九十]+[)）]")
_L3 = re.compile(r"^\d+\.")


def request_model(rows):
    """header labels and data rows (l1, l2, l3, values)."""
    note, applicant = "", "申请人情况"
    natural, legal, total = "自然人", "法人或其他组织", "总计"
    orgs: list[str] = []
    data = []
    l1 = l2 = ""
    started = False
    for r in rows:
        labels = [c for c in r if c and not is_value(c)]
        if not started and not any(_L1.match(c) for c in labels):
            for c in labels:
                if "勾稽" in c:
                    note = c
                elif c.replace(" ", "") == "申请人情况":
                    applicant = c
                elif c == "自然人":
                    natural = c
                elif "法人" in c:
                    legal = c
                elif c == "总计":
                    total = c
                else:
                    orgs.append(c)
            continue
        started = True
        last = max(i for i, c in enumerate(r) if c and not is_value(c))
        vals = fit(r[last + 1:], 7, "|".join(labels))
        a = b = c3 = ""
        for lab in labels:
            if _L1.match(lab):
                a = lab
            elif _L2.match(lab):
                b = lab
            elif _L3.match(lab):
                c3 = lab
            else:
                raise SystemExit(f"odd label {lab!r} in {r}")
        if a:
            l1, l2 = a, ""
        if b:
            l2 = b
        if a and not b and not c3:  # 一、 二、 四、: a row of its own
            data.append((l1, "", "", vals))
            l2 = ""
        else:
            data.append((l1, l2 if (b or c3) else "", c3, vals))
    assert len(orgs) == 5, orgs
    return dict(note=note, applicant=applicant, natural=natural, legal=legal, total=total,
                orgs=orgs, rows=data)


def review_model(rows):
    vals_rows = [r for r in rows if any(c for c in r) and all(is_value(c) for c in r)]
    assert len(vals_rows) == 1, rows
    vals = fit(vals_rows[0], 15, "复议 values")
    return vals


# ----------------------------------------------------------------------------- write

def set_cell(cell, text: str, size=9, bold=False, align=WD_ALIGN_PARAGRAPH.CENTER):
    p = cell.paragraphs[0]
    p.alignment = align
    if text:
        run = p.add_run(text)
        run.font.size = Pt(size)
        run.bold = bold


def widths(table, cms):
    for col, w in zip(table.columns, cms):
        col.width = Cm(w)
    for row in table.rows:
        for i, cell in enumerate(row.cells):
            if i < len(cms):
                cell.width = Cm(cms[i])


def new_table(doc, nrows, ncols, cms):
    t = doc.add_table(rows=nrows, cols=ncols)
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths(t, cms)
    return t


def write_active(doc, items):
    ncols = 1 + max(len(it[1]) - 1 for it in items if it[0] == "head")
    ncols = max(ncols, 4)
    t = new_table(doc, len(items), ncols, [5.0] + [(16.0 - 5.0) / (ncols - 1)] * (ncols - 1))
    for r, it in enumerate(items):
        if it[0] == "sec":
            cell = t.cell(r, 0).merge(t.cell(r, ncols - 1))
            set_cell(cell, it[1], bold=True)
            continue
        cells = it[1] if it[0] == "head" else [it[1], *it[2]]
        set_cell(t.cell(r, 0), cells[0], align=WD_ALIGN_PARAGRAPH.LEFT if it[0] == "data"
                 else WD_ALIGN_PARAGRAPH.CENTER)
        rest = cells[1:]
        for i, v in enumerate(rest):
            c0 = 1 + i
            c1 = ncols - 1 if i == len(rest) - 1 else c0
            cell = t.cell(r, c0) if c0 == c1 else t.cell(r, c0).merge(t.cell(r, c1))
            set_cell(cell, v)
    return t


def write_requests(doc, m):
    rows = m["rows"]
    n = 3 + len(rows)
    t = new_table(doc, n, 10, [1.0, 2.4, 4.8] + [1.15] * 7)
    set_cell(t.cell(0, 0).merge(t.cell(2, 2)), m["note"])
    set_cell(t.cell(0, 3).merge(t.cell(0, 9)), m["applicant"])
    set_cell(t.cell(1, 3).merge(t.cell(2, 3)), m["natural"])
    set_cell(t.cell(1, 4).merge(t.cell(1, 8)), m["legal"])
    set_cell(t.cell(1, 9).merge(t.cell(2, 9)), m["total"])
    for i, org in enumerate(m["orgs"]):
        set_cell(t.cell(2, 4 + i), org)
    left = WD_ALIGN_PARAGRAPH.LEFT
    # runs of equal l1 / l2 for the vertical merges
    r = 0
    while r < len(rows):
        l1, l2, l3, _ = rows[r]
        if not l2 and not l3:
            set_cell(t.cell(3 + r, 0).merge(t.cell(3 + r, 2)), l1, align=left)
            r += 1
            continue
        end = r
        while end + 1 < len(rows) and rows[end + 1][0] == l1 and (rows[end + 1][1] or rows[end + 1][2]):
            end += 1
        top = t.cell(3 + r, 0)
        set_cell(top.merge(t.cell(3 + end, 0)) if end > r else top, l1)
        s = r
        while s <= end:
            g = rows[s][1]
            if not rows[s][2]:  # group label alone: across the two label columns
                set_cell(t.cell(3 + s, 1).merge(t.cell(3 + s, 2)), g, align=left)
                s += 1
                continue
            e = s
            while e + 1 <= end and rows[e + 1][1] == g and rows[e + 1][2]:
                e += 1
            gcell = t.cell(3 + s, 1)
            set_cell(gcell.merge(t.cell(3 + e, 1)) if e > s else gcell, g, align=left)
            for q in range(s, e + 1):
                set_cell(t.cell(3 + q, 2), rows[q][2], align=left)
            s = e + 1
        r = end + 1
    for i, (_, _, _, vals) in enumerate(rows):
        for j, v in enumerate(vals):
            set_cell(t.cell(3 + i, 3 + j), v)
    return t


def write_review(doc, vals):
    t = new_table(doc, 4, 15, [1.1] * 15)
    sub = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    set_cell(t.cell(0, 0).merge(t.cell(0, 4)), "行政复议")
    set_cell(t.cell(0, 5).merge(t.cell(0, 14)), "行政诉讼")
    for i, s in enumerate(sub):
        set_cell(t.cell(1, i).merge(t.cell(2, i)), s)
    set_cell(t.cell(1, 5).merge(t.cell(1, 9)), "未经复议直接起诉")
    set_cell(t.cell(1, 10).merge(t.cell(1, 14)), "复议后起诉")
    for i, s in enumerate(sub + sub):
        set_cell(t.cell(2, 5 + i), s)
    for i, v in enumerate(vals):
        set_cell(t.cell(3, i), v)
    return t


def add_text(doc, line: str):
    m = re.match(r"^(#{1,6})\s*(.*)$", line)
    if m:
        level = min(len(m.group(1)), 3)
        h = doc.add_heading(level=level)
        h.add_run(m.group(2).replace("**", ""))
        return
    p = doc.add_paragraph()
    for k, part in enumerate(re.split(r"\*\*", line)):
        if part:
            run = p.add_run(part)
            run.bold = k % 2 == 1


def make_doc(seed: Path) -> tuple[Document, list]:
    blocks = split_tables(split_blocks(seed.read_text(encoding="utf-8")))
    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2.2)
    sec.top_margin = sec.bottom_margin = Cm(2.2)
    for style_name in ("Normal", "Heading 1", "Heading 2", "Heading 3"):
        st = doc.styles[style_name]
        st.font.name = "Times New Roman"
        rpr = st.element.get_or_add_rPr()
        rfonts = rpr.find(qn("w:rFonts"))
        if rfonts is None:
            rfonts = rpr.makeelement(qn("w:rFonts"), {})
            rpr.append(rfonts)
        rfonts.set(qn("w:eastAsia"), "宋体")
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = rpr.makeelement(qn("w:lang"), {})
            rpr.append(lang)
        lang.set(qn("w:eastAsia"), "zh-CN")  # so LibreOffice substitutes a Chinese font
    doc.styles["Normal"].font.size = Pt(11)
    cp = doc.core_properties
    cp.author = ""
    cp.last_modified_by = ""
    cp.comments = ""
    cp.keywords = ""
    cp.subject = ""
    first = next((b.lines[0] for b in blocks if b.kind == "text"), "")
    cp.title = first if "报告" in first else ""
    models = []
    for b in blocks:
        if b.kind == "text":
            add_text(doc, b.lines[0])
        elif b.kind == "table:active":
            m = active_model(b.rows)
            write_active(doc, m)
            models.append(("active", b, m))
        elif b.kind == "table:requests":
            m = request_model(b.rows)
            write_requests(doc, m)
            models.append(("requests", b, m))
        else:
            m = review_model(b.rows)
            write_review(doc, m)
            models.append(("review", b, m))
    return doc, models


# ----------------------------------------------------------------------------- check

def numbers(cells) -> list[str]:
    return [c for c in cells if _NUM.match(c)]


def check(seed: Path, docx_path: Path, models) -> list[str]:
    """Compare the .docx read back with load_docx against the seed text: per table,
    the rows that carry values must match one to one — same numbers in the same order
    (independent of any column alignment), and the same value cells (numbers and
    blanks) as the seed row."""
    problems = []
    d = load_docx(str(docx_path))
    if len(d.grids) != len(models):
        return [f"{len(d.grids)} tables in docx, {len(models)} in seed"]
    for g, (kind, block, m) in zip(d.grids, models):
        # seed side: raw rows that hold a value cell or are data rows
        if kind == "active":
            seed_rows = [(it[1], it[2]) for it in m if it[0] == "data"]
            grid_rows = [(r[0], r[1:]) for r in g.rows
                         if r[0] and not r[0].startswith("第二十条") and r[0] != "信息内容"]
            seed_raw = [numbers(r) for r in block.rows
                        if any(c for c in r) and not any(c.startswith(("第二十条", "信息内容")) for c in r if c)]
        elif kind == "requests":
            seed_rows = [("/".join(x for x in row[:3] if x), row[3]) for row in m["rows"]]
            grid_rows = [("", r[3:]) for r in g.rows[3:]]
            seed_raw = [numbers(r) for r in block.rows
                        if any(_L1.match(c) or _L2.match(c) or _L3.match(c) for c in r if c)]
        else:
            seed_rows = [("", m)]
            grid_rows = [("", g.rows[3])]
            seed_raw = [numbers(r) for r in block.rows if any(c for c in r) and all(is_value(c) for c in r)]
        if len(seed_rows) != len(grid_rows) or len(seed_raw) != len(grid_rows):
            problems.append(f"{kind}: {len(seed_raw)} seed rows vs {len(grid_rows)} docx rows")
            continue
        for (label, vals), (glabel, gvals), raw in zip(seed_rows, grid_rows, seed_raw):
            gnums = numbers(gvals)
            if gnums != raw:
                problems.append(f"{kind} {label}: seed numbers {raw} != docx {gnums}")
            gv = [v for v in gvals]
            # value slots: compare after dropping the '' of merged (widened) cells
            if kind == "active":
                gv = [v for v in gvals]
                want = list(vals) + [""] * (len(gvals) - len(vals))
                if gv != want:
                    problems.append(f"{kind} {label}: seed values {vals} != docx {gvals}")
                if glabel != label:
                    problems.append(f"{kind}: label {label!r} != {glabel!r}")
            elif gv != list(vals):
                problems.append(f"{kind} {label}: seed values {vals} != docx {gvals}")
    return problems


def docx_to_pdf(docx_path: Path, outdir: Path) -> Path:
    with tempfile.TemporaryDirectory() as profile:
        cmd = ["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
               "--convert-to", "pdf", "--outdir", str(outdir), str(docx_path)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=180)
    pdf = outdir / (docx_path.stem + ".pdf")
    if not pdf.exists():
        raise SystemExit(f"soffice made no PDF for {docx_path}")
    return pdf


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-pdf", action="store_true", help="write the .docx files only")
    ap.add_argument("--check-only", action="store_true",
                    help="compare existing .docx files with the seeds, write nothing")
    args = ap.parse_args(argv)
    OUT_DOCX.mkdir(parents=True, exist_ok=True)
    OUT_PDF.mkdir(parents=True, exist_ok=True)
    failed = False
    for seed in sorted(SEEDS.glob("*.txt")):
        doc, models = make_doc(seed)
        out = OUT_DOCX / (seed.stem + ".docx")
        if not args.check_only:
            doc.save(str(out))
        problems = check(seed, out, models)
        nvals = sum(len(numbers(r)) for _, b, _ in models for r in b.rows)
        status = "OK" if not problems else "MISMATCH"
        print(f"{seed.stem}: {len(models)} tables, {nvals} numbers compared: {status}")
        for p in problems:
            print("   ", p)
        failed |= bool(problems)
        if not args.check_only and not args.no_pdf:
            if shutil.which("soffice") is None:
                raise SystemExit("soffice (LibreOffice) not found")
            pdf = docx_to_pdf(out, OUT_PDF)
            print(f"    -> {out.relative_to(ROOT)} ({out.stat().st_size} B), "
                  f"{pdf.relative_to(ROOT)} ({pdf.stat().st_size} B)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
