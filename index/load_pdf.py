"""Load a PDF report (with a text layer) into a ``Document``.

What it does, page by page (each page is parsed once: tables and text come from the
same pdfplumber page object):

* Ruled tables: ``find_tables`` with the default "lines" strategy, on the page
  *without invisible white filled rectangles*.  Word/WPS exports put one white
  background rectangle behind every line of body text; pdfplumber would take those
  for a 1-column table covering the narrative (r001/r002 p1-2, r003 p1/p3).  A
  vertical ruling that stops at the height of a horizontal ruling which does not reach
  it (a table's top border drawn only over the value columns, r001 p3) gets that
  horizontal ruling extended, so the corner cell is not lost.  Tables that still look
  spurious are dropped: fewer than 2 rows or 2 columns, or no digit anywhere.
* ``grids``: one row of strings per table row; ``None``/merged-continuation cells are
  ''; the text of a merged cell is in its first (top-left) slot, as pdfplumber finds
  it.  Line breaks inside a cell are joined and spaces between Chinese characters
  removed ('商业\\n企业' -> '商业企业', '三\\n、\\n本\\n年…' -> '三、本年…').
* A table continued on the next page (the last thing on page n is a table and the
  first thing on page n+1 is a table, with no text between them apart from page
  numbers) is stitched into ONE ``Grid``.  Columns are aligned by their x position (a
  fragment's left border may be shifted; header fragments may have fewer column
  boundaries than body fragments: the union of boundaries is used and cells are placed
  at their starting column); if positions do not match, fragments are right-aligned,
  because the right-most columns are the value columns.
* ``lines``: the page's text outside the table regions, one ``Line`` per visual line,
  with ``normalize_text``, spaces between Chinese characters (and between a Chinese
  character and a digit, an artefact of font switches: '2023 年' -> '2023年') removed.
  Page-number lines ('- 3 -', '— 3 —', '第3页') are dropped.  A hard-wrapped line is
  joined with the next one only when that is safe: the line reaches the right margin,
  does not end with sentence punctuation, is not itself a bare heading, the next line
  is not a heading ('二、', '（一）', '1.') and no table sits between them.  Headings
  therefore stay at the start of their own line.
* ``title``: the PDF metadata Title (UTF-16 with either byte order, UTF-8, or
  PDFDocEncoding), else None.  ``line_after`` is the number of the last ``Line``
  before the table (0 if none).

* Scanned pages (``ocr``): with ``"auto"`` (the default) a page with fewer than 20
  characters of text and an image on it is read by OCR (index/ocr.py), which gives
  the same text lines and table fragments in the same coordinates; ``"force"`` OCRs
  every page, ``"off"`` none. A page scanned at under 100 dpi is not OCR'd in "auto"
  (at 40 dpi OCR gets one character in three wrong). ``Document.ocr_pages`` lists the pages OCR read, and a
  cell OCR read with doubt is in its Grid's ``doubtful``. A ruled OCR'd region
  without figures (a table header cut off by a page break) gives text lines, as a
  text layer would.

Raises :class:`IngestError` for: a missing file, a file that is not a PDF or is
corrupt, a PDF that needs a password, a PDF with zero pages, and a PDF without a text
layer (fewer than 20 non-space characters in all: a scan) that OCR is off for or
cannot read.  A PDF that is encrypted
but opens with the empty user password (owner-password restrictions only, common on
government sites) is read normally.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import pdfplumber
from pdfminer.pdftypes import resolve1
from pdfminer.utils import decode_text

from index.document import Document, Grid, IngestError, Line
from index.normalize import normalize_text, squeeze_cjk_spaces

MIN_TEXT_CHARS = 20

_CJK_CHAR = r"[\u3400-\u9fff\uf900-\ufaff（）《》“”、，。：；！？]"
_SPACE_CJK_DIGIT = re.compile(rf"(?<={_CJK_CHAR})[ \t]+(?=[0-9])|(?<=[0-9])[ \t]+(?={_CJK_CHAR})")
_MULTISPACE = re.compile(r"[ \t]{2,}")

_PAGE_NUMBER = re.compile(
    r"^\s*(?:[-—–－─_~·•]+\s*\d{1,4}\s*[-—–－─_~·•]+"  # - 3 -, — 3 —
    r"|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"  # 第3页 / 第3页 共6页
    r"|\d{1,4}\s*/\s*\d{1,4}"  # 3/6
    r"|page\s*\d{1,4}(?:\s*of\s*\d{1,4})?)\s*$",
    re.I,
)
_BARE_NUMBER = re.compile(r"^\s*\d{1,4}\s*$")
_NUM = "一二三四五六七八九十百零〇"
_HEADING = re.compile(
    rf"^\s*(?:[{_NUM}]+\s*[、.．]"  # 一、
    rf"|[（(]\s*[{_NUM}]+\s*[)）]"  # （一）
    r"|[（(]\s*\d{1,2}\s*[)）]"  # （1）
    r"|\d{1,2}\s*[、．.](?!\d)"  # 1、 1.
    rf"|第[{_NUM}\d]+[章节部分])"
)
# A line ending in one of these ends a sentence (or a clause the author broke on
# purpose); closing quotes/brackets after them are allowed.
_SENTENCE_END = re.compile(r"[。！？!?…][”’\"'）)」』]*\s*$")


# --------------------------------------------------------------------------- helpers


def _clean(text: str) -> str:
    """normalize_text + no spaces between Chinese characters (or Chinese and digits)."""
    text = normalize_text(text).replace("\n", " ").replace("\t", " ")
    text = squeeze_cjk_spaces(text)
    text = _SPACE_CJK_DIGIT.sub("", text)
    return _MULTISPACE.sub(" ", text).strip()


def _clean_cell(cell: str | None) -> str:
    if not cell:
        return ""
    return _clean(cell)


def _decode_meta(value) -> str | None:
    value = resolve1(value)
    if isinstance(value, bytes):
        if value.startswith(b"\xfe\xff"):
            text = value[2:].decode("utf-16-be", "replace")
        elif value.startswith(b"\xff\xfe"):  # WPS writes little-endian UTF-16
            text = value[2:].decode("utf-16-le", "replace")
        elif value.startswith(b"\xef\xbb\xbf"):
            text = value[3:].decode("utf-8", "replace")
        else:
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                text = decode_text(value)
    elif isinstance(value, str):
        text = value
    else:
        return None
    text = _clean(text.replace("\x00", ""))
    return text or None


def _is_white_fill(obj: dict) -> bool:
    """An invisible background: a filled, unstroked rectangle painted white."""
    if obj.get("object_type") != "rect" or not obj.get("fill") or obj.get("stroke"):
        return False
    color = obj.get("non_stroking_color")
    if color is None:
        return False
    values = list(color) if isinstance(color, (list, tuple)) else [color]
    try:
        values = [float(v) for v in values]
    except (TypeError, ValueError):
        return False
    if len(values) == 4:  # CMYK white is (0, 0, 0, 0)
        return all(abs(v) < 0.01 for v in values)
    return bool(values) and all(abs(v - 1) < 0.01 for v in values)


def _ruled_regions(page, tol: float = 3.0) -> list[tuple[float, float, float, float]]:
    """Bounding boxes of groups of touching visible rulings (lines, non-white rects)."""
    boxes = [(o["x0"], o["top"], o["x1"], o["bottom"]) for o in page.lines]
    boxes += [(o["x0"], o["top"], o["x1"], o["bottom"]) for o in page.rects if not _is_white_fill(o)]
    groups: list[list[float]] = []
    for b in sorted(boxes, key=lambda b: (b[1], b[0])):
        b = list(b)
        touching = [g for g in groups if b[0] <= g[2] + tol and g[0] <= b[2] + tol
                    and b[1] <= g[3] + tol and g[1] <= b[3] + tol]
        for g in touching:
            groups.remove(g)
            b = [min(b[0], g[0]), min(b[1], g[1]), max(b[2], g[2]), max(b[3], g[3])]
        groups.append(b)
    # merging can make a group overlap one that was already final: repeat until stable
    changed = True
    while changed:
        changed = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                a, c = groups[i], groups[j]
                if a[0] <= c[2] + tol and c[0] <= a[2] + tol and a[1] <= c[3] + tol and c[1] <= a[3] + tol:
                    groups[i] = [min(a[0], c[0]), min(a[1], c[1]), max(a[2], c[2]), max(a[3], c[3])]
                    del groups[j]
                    changed = True
                    break
            if changed:
                break
    return [tuple(g) for g in groups]


def _closing_edges(edges: list[dict], tol: float = 3.0) -> tuple[list[dict], list[dict]]:
    """Extra rulings that close a table frame: a vertical ruling whose end sits at the
    height of a horizontal ruling that stops short of it gets that horizontal ruling
    extended to it (and the same with the axes swapped)."""
    hs = [e for e in edges if e["orientation"] == "h"]
    vs = [e for e in edges if e["orientation"] == "v"]

    def extend(lines, perps, pos_key, lo_key, hi_key, end_keys, cross_key):
        extra = []
        for p in perps:
            x = p[cross_key]
            for end in end_keys:
                y = p[end]
                near = [ln for ln in lines if abs(ln[pos_key] - y) <= tol]
                if not near or any(ln[lo_key] - tol <= x <= ln[hi_key] + tol for ln in near):
                    continue
                ln = min(near, key=lambda e: min(abs(e[lo_key] - x), abs(e[hi_key] - x)))
                lo, hi = min(ln[lo_key], x), max(ln[hi_key], x)
                extra.append((ln, lo, hi))
        return extra

    new_h = []
    for ln, lo, hi in extend(hs, vs, "top", "x0", "x1", ("top", "bottom"), "x0"):
        new_h.append({"object_type": "line", "x0": lo, "x1": hi, "top": ln["top"],
                      "bottom": ln["top"], "width": hi - lo, "height": 0,
                      "y0": ln.get("y0", 0), "y1": ln.get("y0", 0), "doctop": ln.get("doctop", 0)})
    new_v = []
    for ln, lo, hi in extend(vs, hs, "x0", "top", "bottom", ("x0", "x1"), "top"):
        new_v.append({"object_type": "line", "x0": ln["x0"], "x1": ln["x0"], "top": lo,
                      "bottom": hi, "width": 0, "height": hi - lo,
                      "y0": 0, "y1": hi - lo, "doctop": lo})
    return new_h, new_v


def _plausible_table(rows: list[list[str]]) -> bool:
    filled = [r for r in rows if any(r)]
    if len(filled) < 2 or max((len(r) for r in rows), default=0) < 2:
        return False
    if max(sum(1 for c in r if c) for r in filled) < 2:
        return False
    return any(ch.isdigit() for r in filled for c in r for ch in c)


@dataclass
class _Fragment:
    rows: list[list[str]]
    xs: list[float]  # x0 of every column
    page: int
    top: float
    bottom: float
    x0: float
    x1: float
    doubtful: dict[tuple[int, int], list[str]] = field(default_factory=dict)  # OCR'd cells


@dataclass
class _TextLine:
    text: str
    page: int
    top: float
    x1: float
    size: float


@dataclass
class _GridBuilder:
    rows: list[list[str]] = field(default_factory=list)
    pages: list[int] = field(default_factory=list)
    xs: list[float] = field(default_factory=list)
    line_after: int = 0
    doubtful: dict[tuple[int, int], list[str]] = field(default_factory=dict)

    def add(self, frag: _Fragment, tol: float = 4.0) -> None:
        if not self.rows:
            self.rows = [list(r) for r in frag.rows]
            self.pages = [frag.page] * len(frag.rows)
            self.xs = list(frag.xs)
            self.doubtful = dict(frag.doubtful)
            return
        offset = len(self.rows)
        # x-position alignment: the left border maps to column 0 whatever its shift
        union = list(self.xs)
        for x in frag.xs[1:]:
            if not any(abs(x - u) <= tol for u in union[1:]):
                union.append(x)
        union = [union[0]] + sorted(union[1:])
        old_map = [0] + [_nearest(union, x) for x in self.xs[1:]]
        new_map = [0] + [_nearest(union, x) for x in frag.xs[1:]]
        injective = len(set(new_map)) == len(new_map) and len(set(old_map)) == len(old_map)
        if injective and len(union) == max(len(self.xs), len(frag.xs)):
            self.rows = [_remap(r, old_map, len(union)) for r in self.rows]
            frag_rows = [_remap(r, new_map, len(union)) for r in frag.rows]
            self.doubtful = {(i, old_map[j] if j < len(old_map) else j): c for (i, j), c in self.doubtful.items()}
            self.doubtful.update({(offset + i, new_map[j] if j < len(new_map) else j): c
                                  for (i, j), c in frag.doubtful.items()})
            self.xs = union
        else:  # positions disagree: right-align, the value columns are on the right
            width = max(len(self.xs), len(frag.xs))
            shift_old = {i: width - len(r) for i, r in enumerate(self.rows)}
            self.doubtful = {(i, j + shift_old[i]): c for (i, j), c in self.doubtful.items()}
            self.doubtful.update({(offset + i, j + width - len(frag.rows[i])): c
                                  for (i, j), c in frag.doubtful.items()})
            self.rows = [[""] * (width - len(r)) + r for r in self.rows]
            frag_rows = [[""] * (width - len(r)) + list(r) for r in frag.rows]
            self.xs = self.xs if len(self.xs) == width else list(frag.xs)
        self.rows.extend(frag_rows)
        self.pages.extend([frag.page] * len(frag_rows))

    def grid(self) -> Grid:
        return Grid(rows=self.rows, pages=list(self.pages), line_after=self.line_after,
                    doubtful=dict(self.doubtful))


def _nearest(values: list[float], x: float) -> int:
    return min(range(1, len(values)), key=lambda i: abs(values[i] - x)) if len(values) > 1 else 0


def _remap(row: list[str], mapping: list[int], width: int) -> list[str]:
    out = [""] * width
    for j, cell in enumerate(row):
        if cell:
            k = mapping[j] if j < len(mapping) else width - len(row) + j
            out[k] = (out[k] + " " + cell).strip() if out[k] else cell
    return out


# --------------------------------------------------------------------------- pages


def _read_page(page) -> tuple[list[_Fragment], list[_TextLine]]:
    pno = page.page_number
    regions = _ruled_regions(page)

    def keep(obj) -> bool:
        if not _is_white_fill(obj):
            return True
        # a white rectangle is a cell border only inside a region drawn with visible rulings
        return any(obj["x0"] >= r[0] - 2 and obj["top"] >= r[1] - 2 and obj["x1"] <= r[2] + 2
                   and obj["bottom"] <= r[3] + 2 for r in regions)

    ruled = page.filter(keep)
    new_h, new_v = _closing_edges(ruled.edges)
    settings = {"explicit_horizontal_lines": new_h, "explicit_vertical_lines": new_v}
    fragments: list[_Fragment] = []
    for table in ruled.find_tables(settings):
        rows = [[_clean_cell(c) for c in row] for row in table.extract()]
        if not _plausible_table(rows):
            continue
        xs = [col.bbox[0] for col in table.columns]
        x0, top, x1, bottom = table.bbox
        fragments.append(_Fragment(rows=rows, xs=xs, page=pno, top=top, bottom=bottom, x0=x0, x1=x1))

    boxes = [(f.x0 - 1, f.top - 1, f.x1 + 1, f.bottom + 1) for f in fragments]

    def outside(obj) -> bool:
        if obj.get("object_type") != "char":
            return True
        cx = (obj["x0"] + obj["x1"]) / 2
        cy = (obj["top"] + obj["bottom"]) / 2
        return not any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in boxes)

    text_page = page.filter(outside) if boxes else page
    lines = []
    for raw in text_page.extract_text_lines(return_chars=False):
        text = _clean(raw["text"])
        if text:
            lines.append(_TextLine(text=text, page=pno, top=raw["top"], x1=raw["x1"],
                                   size=max(1.0, raw["bottom"] - raw["top"])))
    return fragments, lines


def _ocr_page(page) -> tuple[list[_Fragment], list[_TextLine]]:
    """The page read by OCR, as _read_page would give it from a text layer."""
    from index import ocr

    pno = page.page_number
    read = ocr.read_image(ocr.render(page))
    fragments = []
    lines = [_TextLine(text=_clean(ln.text), page=pno, top=ln.top, x1=ln.x1, size=max(1.0, ln.size))
             for ln in read.lines if _clean(ln.text)]
    for t in read.tables:
        rows = [[_clean_cell(c) for c in row] for row in t.rows]
        if _plausible_table(rows):
            fragments.append(_Fragment(rows=rows, xs=t.xs, page=pno, top=t.top, bottom=t.bottom,
                                       x0=t.x0, x1=t.x1, doubtful=t.doubtful))
        else:
            # ruled, but no table of figures (a header cut off by the page break): its
            # words are text, as a text layer gives them
            step = (t.bottom - t.top) / max(1, len(rows))
            lines += [_TextLine(text=_clean(" ".join(c for c in row if c)), page=pno, top=t.top + k * step,
                                x1=t.x0, size=max(1.0, step)) for k, row in enumerate(rows) if any(row)]
    lines.sort(key=lambda ln: ln.top)
    return fragments, lines


MIN_SCAN_DPI = 100  # below it OCR reads garbled text (a 40 dpi page: one character in three wrong)


def _scan_dpi(page) -> float:
    """Resolution of the largest image on the page (pixels per inch of the page)."""
    best = 0.0
    for im in page.images:
        width_pt = max(1e-6, float(im["x1"]) - float(im["x0"]))
        src = im.get("srcsize") or (0, 0)
        best = max(best, float(src[0]) * 72 / width_pt)
    return best


def _needs_ocr(page, fragments, lines, ocr: str) -> bool:
    if ocr == "force":
        return True
    if ocr == "off":
        return False
    chars = sum(len(ln.text.replace(" ", "")) for ln in lines)
    chars += sum(len(c.replace(" ", "")) for f in fragments for r in f.rows for c in r)
    return chars < MIN_TEXT_CHARS and bool(page.images)


def _drop_page_numbers(lines: list[_TextLine], height: float) -> list[_TextLine]:
    out = [ln for ln in lines if not _PAGE_NUMBER.match(ln.text)]
    # a bare number is a page number only as the last line, low on the page
    if out and _BARE_NUMBER.match(out[-1].text) and out[-1].top > height * 0.88:
        out.pop()
    return out


def _is_bare_heading(text: str) -> bool:
    return bool(_HEADING.match(text)) and not re.search(r"[。！？；]", text)


# --------------------------------------------------------------------------- main


def _open(path: str):
    if not os.path.isfile(path):
        raise IngestError(path, "file not found")
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if b"%PDF" not in head:
        raise IngestError(path, "not a PDF (no %PDF header)")
    try:
        pdf = pdfplumber.open(path)
        pages = pdf.pages  # forces the page tree to be read
    except Exception as exc:  # pdfminer raises many kinds of errors on bad files
        raise IngestError(path, _open_error(exc)) from exc
    return pdf, pages


def _open_error(exc: BaseException) -> str:
    chain, e = [], exc
    while e is not None and len(chain) < 6:
        chain.append(e)
        e = e.__cause__ or e.__context__
    names = " ".join(type(e).__name__ + " " + str(e) for e in chain)
    if re.search(r"Password|Encrypt", names, re.I):
        return "encrypted PDF (password required)"
    detail = str(chain[-1]).strip().splitlines()[0][:80] if str(chain[-1]).strip() else ""
    return f"corrupt or unreadable PDF ({type(chain[-1]).__name__}{': ' + detail if detail else ''})"


def load_pdf(path: str, ocr: str = "auto") -> Document:
    """``ocr``: "auto" (OCR the pages without text), "force" (every page) or "off"."""
    from index.ocr import check_mode

    path = str(path)
    check_mode(ocr)
    pdf, pages = _open(path)
    ocr_pages: list[int] = []
    coarse: list[float] = []  # resolutions of scanned pages too coarse to OCR
    with pdf:
        if not pages:
            raise IngestError(path, "PDF has no pages")
        try:
            title = _decode_meta((pdf.doc.info[0] if pdf.doc.info else {}).get("Title"))
        except Exception:
            title = None
        # one stream of page items (text lines and table fragments) in reading order
        items: list[tuple[str, object]] = []
        text_chars = 0
        try:
            for page in pages:
                fragments, lines = _read_page(page)
                if _needs_ocr(page, fragments, lines, ocr):
                    dpi = _scan_dpi(page)
                    if dpi >= MIN_SCAN_DPI or ocr == "force":
                        fragments, lines = _ocr_page(page)
                        ocr_pages.append(page.page_number)
                    else:
                        coarse.append(dpi)
                lines = _drop_page_numbers(lines, page.height)
                text_chars += sum(len(ln.text.replace(" ", "")) for ln in lines)
                text_chars += sum(len(c.replace(" ", "")) for f in fragments for r in f.rows for c in r)
                page_items = [(ln.top, "text", ln) for ln in lines]
                page_items += [(f.top, "table", f) for f in fragments]
                page_items.sort(key=lambda it: it[0])
                items.extend((kind, obj) for _, kind, obj in page_items)
                page.close()  # free the page's cached layout
        except IngestError:
            raise
        except Exception as exc:
            raise IngestError(path, _open_error(exc)) from exc
        page_count = len(pages)
    if text_chars < MIN_TEXT_CHARS:
        if ocr_pages:
            raise IngestError(path, f"scanned PDF that OCR cannot read ({text_chars} characters "
                                    f"recognised on {len(ocr_pages)} page(s))")
        if coarse:
            raise IngestError(path, f"no text layer (scanned PDF?), and the scan ({min(coarse):.0f} dpi) is too "
                                    f"coarse for OCR (it needs at least {MIN_SCAN_DPI} dpi)")
        raise IngestError(path, "no text layer (scanned PDF?)" + (" and OCR is off" if ocr == "off" else ""))

    right = _right_margin([obj for kind, obj in items if kind == "text"])
    out_lines: list[Line] = []
    builders: list[_GridBuilder] = []
    prev_kind, prev_obj = None, None
    open_line: _TextLine | None = None  # last text line, still joinable
    for kind, obj in items:
        if kind == "table":
            if (prev_kind == "table" and builders and obj.page > prev_obj.page):
                builders[-1].add(obj)  # continuation on the next page
            else:
                b = _GridBuilder(line_after=len(out_lines))
                b.add(obj)
                builders.append(b)
            open_line = None
        else:
            if open_line is not None and _joinable(open_line, obj, right):
                last = out_lines[-1]
                last.text = _clean(_join(last.text, obj.text))
                open_line = _TextLine(last.text, obj.page, obj.top, obj.x1, obj.size)
            else:
                out_lines.append(Line(text=obj.text, lineno=len(out_lines) + 1, page=obj.page))
                open_line = obj
        prev_kind, prev_obj = kind, obj
    return Document(path=path, format="pdf", lines=out_lines, grids=[b.grid() for b in builders],
                    title=title, page_count=page_count, ocr_pages=ocr_pages)


def _right_margin(lines: list[_TextLine]) -> float:
    if not lines:
        return 0.0
    xs = sorted(ln.x1 for ln in lines)
    return xs[int(0.9 * (len(xs) - 1))]


def _joinable(prev: _TextLine, nxt: _TextLine, right: float) -> bool:
    if _SENTENCE_END.search(prev.text) or _is_bare_heading(prev.text) or _HEADING.match(nxt.text):
        return False
    if nxt.page not in (prev.page, prev.page + 1):
        return False
    return prev.x1 >= right - 1.5 * prev.size  # the line runs to the right margin: a hard wrap


def _join(a: str, b: str) -> str:
    if re.search(r"[A-Za-z0-9.,]$", a) and re.match(r"^[A-Za-z0-9]", b):
        # a word or number cut at the margin ('hzzwgk@126.' + 'com') joins without space
        # only when it was clearly cut inside a token; otherwise keep a space
        return a + ("" if re.search(r"[@./\-]\S*$", a) else " ") + b
    return a + b
