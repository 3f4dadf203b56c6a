"""Read the three standard tables of a report into Facts, whatever the layout.

Input: a ``Document`` (lines, and grids for PDF/HTML/DOCX). Output: a ``TableResult``
with the template version, one ``Fact`` per cell of that version, and problems. The
rows, labels and columns come from the report's ``index.template.Template`` (recognised
by its markers), not from a test of the year.

How it works
------------
1. The document becomes a stream of *cells* grouped in physical *rows*: a grid row,
   a tab-separated line, a markdown pipe row, a block of one-cell-per-line lines
   (blank-line separated), or a plain line (one cell; a flattened web page is one
   huge cell). Empty cells (also '-', '—', '&nbsp;') are kept: in value positions
   they are blank (null) cells.
2. Every template row is located by its label (``RowSpec.labels``, compared on
   compacted text with parentheses/quotes normalised, so labels wrapped over lines
   still match), in template order, inside the region of its table (第二十条 …,
   申请人情况 …, 行政复议 …). Short generic labels ('其他', '总计') are only taken in
   order; longer ones may be found out of order (scrambled conversions); a label
   typo is matched by similarity on single cells.
3. A row's values are the cells after its label in the same physical row, up to the
   next label. Cell positions decide blanks: values are the last ``len(columns)``
   cells of a grid row; in text rows padding cells at either end are dropped.
4. Rows whose label carries no values (layouts that separated labels from numbers)
   take the orphan number rows of the table in order, when the counts agree.
5. A run of digits that holds several cells ('640020470', flattened pages) is cut
   by ``index.runtogether``; the template's arithmetic (applicant columns add up to
   总计, 复议诉讼 blocks add up, and across rows 一+二 = （七）总计+四 and the outcome
   rows add up to （七）总计) selects the readings. One reading -> exact; several ->
   every cell that differs is ``uncertain`` with ``candidates``; none -> uncertain.
   Flattened pages that write a paragraph after each table on the same line keep
   the paragraph's digits out of the row ('…0' + '2025年，我局…'; '0000000' +
   '7.属于…'), take table 四's numbers after its last header word, and find a label
   with a typo between the labels found around it ('其他法律和行政法规禁止公开').
   A wrong number stated confidently is the worst outcome: whenever a value is
   inferred rather than read from its own cell, the cell is flagged unless the
   inference is forced.
6. Documents read by OCR (``Document.ocr_pages``) get labels misread: a sub-row word
   with one character wrong still counts ('逾翔不补正'), a long label cell is matched
   by its best stretch, a short generic label ('其他') must be a whole grid cell, and
   two template rows read from one grid row are both flagged. A row holding a cell
   OCR read with doubt that cannot be lined up one cell per column is flagged whole.
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass, field

from . import template as T
from .document import Document, Fact
from .normalize import normalize_text
from .runtogether import (applicant_sum, both, integers_only, normalize_number,
                          review_blocks, split_run)


@dataclass
class TableResult:
    version: str | None
    facts: list[Fact] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def fact(self, key: str) -> Fact | None:
        return next((f for f in self.facts if f.key == key), None)

    def as_dict(self) -> dict[str, str | None]:
        return {f.key: f.value for f in self.facts}


# ------------------------------------------------------------------ cells and rows
_EMPTY_TEXTS = {"", "-", "—", "－", "——", "/", "―", "–", "--", "─", "无"}
_QUOTES = str.maketrans({"“": None, "”": None, '"': None, "‘": None, "’": None, "'": None,
                         "(": "（", ")": "）", "．": ".", ",": "，", ":": "：", ";": "；",
                         "*": None, "#": None, "`": None})
_PAGE_FOOTER = re.compile(r"^\s*[—－\-–―]+\s*\d{1,3}\s*[—－\-–―]+\s*$")
_PIPE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


@dataclass
class Cell:
    text: str  # as printed (normalised)
    ctext: str  # canonical compact text (no white space, （）, no quotes)
    spaces: frozenset[int]  # indices of ctext that followed white space
    row: int
    lineno: int | None
    page: int | None
    empty: bool
    grid: bool  # from a Grid (cell positions are column positions)
    col: int = 0  # index in its row
    start: int = 0  # offset of ctext in the stream
    candidates: tuple[str, ...] = ()  # OCR read this cell with doubt: its readings (Grid.doubtful)


def canon(text: str) -> tuple[str, frozenset[int]]:
    return _canon_normalized(normalize_text(text))


def _canon_normalized(text: str) -> tuple[str, frozenset[int]]:
    """canon() of a text already through normalize_text."""
    text = text.translate(_QUOTES)
    out: list[str] = []
    spaces: set[int] = set()
    pending = False
    for ch in text:
        if ch.isspace():
            pending = bool(out)
            continue
        if pending:
            spaces.add(len(out))
            pending = False
        out.append(ch)
    return "".join(out), frozenset(spaces)


def _canon_label(label: str) -> str:
    return canon(label)[0]


def _make_cell(text: str, row: int, lineno: int | None, page: int | None, grid: bool, col: int) -> Cell:
    stripped = normalize_text(text).strip()
    empty = stripped in _EMPTY_TEXTS
    ctext, spaces = ("", frozenset()) if empty else _canon_normalized(stripped)
    return Cell(stripped, ctext, spaces, row, lineno, page, empty, grid, col)


class Stream:
    """All cells of a document (or of its grids) in reading order."""

    def __init__(self, rows: list[list[Cell]]):
        self.rows = [r for r in rows if r]
        self.cells: list[Cell] = []
        parts: list[str] = []
        pos = 0
        for r_i, row in enumerate(self.rows):
            for c_i, cell in enumerate(row):
                cell.row = r_i
                cell.col = c_i
                cell.start = pos
                pos += len(cell.ctext)
                parts.append(cell.ctext)
                self.cells.append(cell)
        self.text = "".join(parts)
        self.owner: list[int] = []  # char -> cell index
        for i, cell in enumerate(self.cells):
            self.owner.extend([i] * len(cell.ctext))

    def cell_at(self, pos: int) -> int:
        """Index of the cell holding char ``pos`` (or the next cell with text)."""
        if pos >= len(self.owner):
            return len(self.cells)
        return self.owner[pos]

    def find_all(self, needle: str, lo: int, hi: int) -> list[int]:
        out, i = [], self.text.find(needle, lo, hi)
        while i >= 0:
            out.append(i)
            i = self.text.find(needle, i + 1, hi)
        return out


def _grid_row(grid, i: int, raw: list[str]) -> list[Cell]:
    cells = []
    for j, t in enumerate(raw):
        if (i, j) in grid.spanned:  # a colspan's covered slots are no cells
            continue
        cell = _make_cell(t or "", 0, None, grid.page_of(i), True, j)
        cell.candidates = tuple(grid.doubtful.get((i, j), ()))
        cells.append(cell)
    return cells


def _rows_from_grids(doc: Document) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for grid in doc.grids:
        for i, raw in enumerate(grid.rows):
            rows.append(_grid_row(grid, i, raw))
        rows.append([])  # grids are separate tables
    return rows


def _rows_from_lines(doc: Document) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    block: list[Cell] | None = None  # one-cell-per-line block in progress

    def close_block():
        nonlocal block
        if block:
            rows.append(block)
        block = None

    for line in doc.lines:
        text = line.text
        if _PAGE_FOOTER.match(text):
            continue
        if text.startswith("\t") and text.count("\t") == 1 and not text.strip() and block is not None:
            # an empty cell of a one-cell-per-line block ('\t\u3000')
            block.append(_make_cell("", 0, line.lineno, line.page, False, len(block)))
            continue
        if not text.strip():
            close_block()
            continue
        stripped = text.strip()
        if stripped.startswith("|") and stripped.count("|") >= 2:
            close_block()
            if _PIPE_SEP.match(stripped):
                continue
            inner = stripped.strip("|") if stripped.endswith("|") else stripped[1:]
            rows.append([_make_cell(t, 0, line.lineno, line.page, False, j)
                         for j, t in enumerate(inner.split("|"))])
            continue
        if text.startswith("\t") and text.count("\t") == 1:
            # one cell of a one-cell-per-line block
            if block is None:
                block = []
            block.append(_make_cell(text[1:], 0, line.lineno, line.page, False, len(block)))
            continue
        if block is not None and "\t" not in text:
            # a label wrapped onto the next line ('商业\n企业')
            if block:
                last = block[-1]
                block[-1] = _make_cell(last.text + text.strip(), 0, last.lineno, last.page, False, last.col)
            continue
        close_block()
        if "\t" in text:
            rows.append([_make_cell(t, 0, line.lineno, line.page, False, j)
                         for j, t in enumerate(text.split("\t"))])
        else:
            rows.append([_make_cell(text, 0, line.lineno, line.page, False, 0)])
    close_block()
    return rows


def _rows_merged(doc: Document) -> list[list[Cell]]:
    """Lines with each grid inserted after its anchor line (a PDF may keep a table's
    header in the text and only its numbers in the grid)."""
    by_anchor: dict[int, list] = {}
    for grid in doc.grids:
        by_anchor.setdefault(grid.line_after, []).append(grid)
    rows: list[list[Cell]] = []

    def add_grids(anchor: int) -> None:
        for grid in by_anchor.pop(anchor, []):
            rows.append([])
            for i, raw in enumerate(grid.rows):
                rows.append(_grid_row(grid, i, raw))
            rows.append([])

    add_grids(0)
    for line in doc.lines:
        sub = Document(doc.path, doc.format, [line])
        rows.extend(_rows_from_lines(sub))
        add_grids(line.lineno)
    for anchor in sorted(by_anchor):
        add_grids(anchor)
    return rows


# ------------------------------------------------------------------ version
def detect_template(text: str) -> T.Template | None:
    """The registered template whose markers (第二十条 headers) the text prints, else
    the one its hints (the (六)其他处理 row shape) point to."""
    return T.detect_template(canon(text)[0], _canon_label)


def detect_version(text: str) -> str | None:
    """'2019', '2021' (or another registered version); None when unrecognised."""
    template = detect_template(text)
    return template.version if template else None


# ------------------------------------------------------------------ values in cells
_NUM_HEAD = re.compile(r"^[-+]?\d(?:[\d.]|[-+](?=\d))*")
_UNIT = re.compile(r"^(万元|元|件|项|条|个|次)")
_NUMBERING_TAIL = re.compile(r"(\d[.、]|[（][一二三四五六七八九十\d]{1,2}[）]|[一二三四五六七八九十]{1,2}、)$")
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass
class Item:
    """One value position: a blank cell, or a run of one or more numbers."""

    text: str  # '' for a blank
    spaces: frozenset[int] = frozenset()
    cell: Cell | None = None
    whole: bool = True  # the run is a whole cell (cell border on both sides)

    @property
    def blank(self) -> bool:
        return self.text == ""


def _strip_numbering(s: str) -> str:
    while True:
        t = _NUMBERING_TAIL.sub("", s)
        if t == s:
            return s
        s = t


_YEAR_TAIL = re.compile(r"^(.+?)((?:19|20)\d\d)$")
_NUMBERING_DIGIT = re.compile(r"^(.+?)[1-9]$")


def _drop_text_lead(run: str, rest: str) -> str:
    """Digits at the end of a run that belong to the text after it, in flattened
    pages where a row runs straight into the next words: a sub-item number before a
    label this parser did not find ('0000000' + '7.属于行政执法案件'), or the year
    opening a narrative paragraph ('0' + '2025年，我局…')."""
    if rest[:1] == "年" and (m := _YEAR_TAIL.match(run)):
        return m.group(1)
    if rest[:1] == "." and _CJK.match(rest[1:2]) and (m := _NUMBERING_DIGIT.match(run)):
        return m.group(1)
    return run


def _part_item(cell: Cell, lo: int, hi: int, before_label: bool) -> tuple[str, Item | None]:
    """Classify the slice ctext[lo:hi] of a cell: ('blank'|'value'|'junk'|'none', item)."""
    if cell.empty:
        return ("blank", Item("", cell=cell)) if lo == 0 else ("none", None)
    s = cell.ctext[lo:hi]
    if before_label:
        s = _strip_numbering(s)
    if not s:
        return "none", None
    m = _NUM_HEAD.match(s)
    if not m:
        return "junk", None
    run = _drop_text_lead(m.group(0).rstrip(".-+"), s[len(m.group(0).rstrip(".-+")):])
    rest = s[len(run):]
    unit = _UNIT.match(rest)
    if unit:
        rest = rest[unit.end():]
    spaces = frozenset(i - lo for i in cell.spaces if lo < i < lo + len(run))
    whole = lo == 0 and not rest and hi >= len(cell.ctext)
    return "value", Item(run, spaces, cell, whole and not _CJK.search(s))


# ------------------------------------------------------------------ label search
_FLAT_CELL = 300
_GAP_MAX = 120  # the longest stretch between two found labels searched for a typo label  # a text cell this long is a flattened page (tables and narrative in one)
@dataclass
class Found:
    spec: T.RowSpec
    start: int
    end: int
    how: str = "label"  # 'label' | 'fuzzy' | 'prefix'


class _Tables:
    def __init__(self, stream: Stream, template: T.Template, ocr: bool = False):
        self.s = stream
        self.template = template
        self.ocr = ocr  # the document was (partly) read by OCR: labels may be misread
        self.claimed: list[tuple[int, int]] = []
        self.problems: list[str] = []

    # -- helpers
    def _free(self, a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in self.claimed)

    def _whole(self, p: int, v: str) -> bool:
        """In OCR'd grids a short generic label ('其他') is a whole cell: the 其他 in
        '（六）其他处理' is another row's label when OCR garbled the labels around it."""
        if not self.ocr or len(v) >= 4:
            return True
        cell = self.s.cells[self.s.cell_at(p)]
        if not cell.grid:
            return True
        # numbering as OCR reads it: '3.', '3、', '3' or a stray mark before the words
        return re.sub(r"^(?:[（][一二三四五六七八九十\d]{1,2}[）]|[\d一二三四五六七八九十]{1,2}[.、，]?|[^\u4e00-\u9fff])+",
                      "", cell.ctext) == v

    def _variants(self, spec: T.RowSpec) -> list[str]:
        vs = sorted({_canon_label(v) for v in spec.labels}, key=len, reverse=True)
        return vs

    def same_row_items(self, start: int, end: int, stop: int) -> list[Item]:
        """Value items after a label ending at ``end`` in the label's physical row,
        before ``stop`` (the start of the next label)."""
        s = self.s
        ci = s.cell_at(end - 1)
        row = s.cells[ci].row
        stop_cell = s.cell_at(stop) if stop < len(s.text) else len(s.cells)
        items: list[Item] = []
        seen_value = False
        j = ci
        while j < len(s.cells) and s.cells[j].row == row and j <= stop_cell:
            cell = s.cells[j]
            if j == stop_cell and (cell.empty or stop <= cell.start):
                break
            lo = end - cell.start if j == ci else 0
            hi = stop - cell.start if j == stop_cell else len(cell.ctext)
            if j == ci:
                # an annotation right after the label: '部分公开（区分处理的，…）'
                tail = cell.ctext[lo:hi]
                if tail.startswith("（"):
                    close = tail.find("）")
                    if close > 0:
                        lo += close + 1
                        tail = cell.ctext[lo:hi]
                # the rest of a long label run together with its numbers:
                # '逾期不补正、行政机关不再处理其政府信息公开申请0000000'
                m = re.match(r"^[^\d\-+]{1,30}(?=\d)", tail)
                if m and not cell.grid and _CJK.search(m.group(0)):
                    lo += m.end()
                if lo >= hi:
                    j += 1
                    continue
            kind, item = _part_item(cell, lo, hi, j == stop_cell)
            if kind in ("value", "blank"):
                items.append(item)
                seen_value = seen_value or kind == "value"
            elif kind == "junk":
                if seen_value:
                    break
                items = [i for i in items if not i.blank]  # blanks before junk were spacing
            j += 1
        return items

    def find_row(self, spec: T.RowSpec, cursor: int, limit: int, lo: int, hi: int) -> Found | None:
        """Locate a row label: in order (cursor..limit), then up to the region end,
        then anywhere in the region (only long labels), then by similarity."""
        variants = self._variants(spec)
        for a, b, min_len in ((cursor, limit, 0), (cursor, hi, 0), (lo, hi, 4)):
            for v in variants:
                if len(v) < min_len:
                    continue
                hits = [p for p in self.s.find_all(v, a, b) if self._free(p, p + len(v)) and self._whole(p, v)]
                if not hits:
                    continue
                # prefer an occurrence that carries values in its own row
                for p in hits:
                    if any(not it.blank for it in self.same_row_items(p, p + len(v), min(p + len(v) + 400, hi))):
                        return Found(spec, p, p + len(v))
                if a == cursor and b == limit:
                    return Found(spec, hits[0], hits[0] + len(v))
                # Out of order and without values: in a flattened page that is a word
                # of the narrative written between the tables ('…相关规章、规范性文件'),
                # not the row (a row the report leaves out, e.g. 规章 of a department).
                hits = [p for p in hits if len(self.s.cells[self.s.cell_at(p)].ctext) < _FLAT_CELL]
                if hits:
                    return Found(spec, hits[0], hits[0] + len(v))
        return None

    def fuzzy_row(self, spec: T.RowSpec, lo: int, hi: int) -> Found | None:
        """A label cell with a typo ('其他法律行政止公开'), or a label cut off by a
        broken conversion ('申请人逾期未按收费通知要求…')."""
        best, best_score = None, 0.0
        longest = self._variants(spec)[0]
        if len(longest) < 5:
            return None
        others = [self._variants(r)[0] for r in self.template.rows() if r.key != spec.key]
        for cell in self.s.cells:
            if cell.empty or cell.start < lo or cell.start >= hi or not self._free(cell.start, cell.start + len(cell.ctext)):
                continue
            text = re.sub(r"^([（][一二三四五六七八九十]{1,2}[）]|\d{1,2}[.、]|[一二三四五六七八九十]{1,2}、)+", "", cell.ctext)
            if not text:
                continue
            if len(text) > len(longest) * 2:
                if not (self.ocr and cell.grid):
                    continue
                # an OCR'd label cell holds the whole printed label, the template's
                # label with misread characters inside it: its best-matching stretch
                text = _best_window(text, longest)
            score = difflib.SequenceMatcher(None, text, longest).ratio()
            if len(text) >= 8 and longest.startswith(text[:8]) and score < 0.8:
                score = 0.8  # a label cut off by a line break
            if score < 0.75:
                continue
            if any(difflib.SequenceMatcher(None, text, o).ratio() >= score for o in others):
                continue
            if score > best_score:
                offset = cell.ctext.find(text)
                best, best_score = Found(spec, cell.start + offset, cell.start + len(cell.ctext), "fuzzy"), score
        return best

    def locate(self, specs: tuple[T.RowSpec, ...], lo: int, hi: int) -> dict[str, Found]:
        found: dict[str, Found] = {}
        cursor = lo
        for i, spec in enumerate(specs):
            limit = hi
            if i + 1 < len(specs):
                for v in self._variants(specs[i + 1]):
                    p = next((q for q in self.s.find_all(v, cursor, hi) if self._free(q, q + len(v))), None)
                    if p is not None:
                        limit = p
                        break
            f = self.find_row(spec, cursor, limit, lo, hi)
            if f is not None:
                found[spec.key] = f
                self.claimed.append((f.start, f.end))
                cursor = max(cursor, f.end)
        for spec in specs:
            if spec.key not in found:
                f = self.fuzzy_row(spec, lo, hi)
                if f is not None:
                    found[spec.key] = f
                    self.claimed.append((f.start, f.end))
        for i, spec in enumerate(specs):
            if spec.key not in found:
                a = max((found[r.key].end for r in specs[:i] if r.key in found), default=lo)
                b = min((found[r.key].start for r in specs[i + 1:] if r.key in found), default=hi)
                f = self.gap_row(spec, a, b)
                if f is not None:
                    found[spec.key] = f
                    self.claimed.append((f.start, f.end))
        return found

    def gap_row(self, spec: T.RowSpec, a: int, b: int) -> Found | None:
        """A label with a typo inside a flattened page ('2.其他法律和行政法规禁止公开',
        '7.属于行政执法案件'): between the labels found before and after it in template
        order, the words between two number runs that resemble the label best."""
        if not 0 < b - a <= _GAP_MAX:
            return None
        longest = self._variants(spec)[0]
        if len(longest) < 5:
            return None
        others = [self._variants(r)[0] for r in self.template.rows() if r.key != spec.key]
        best, best_score = None, 0.0
        for m in re.finditer(r"[^\d]+", self.s.text[a:b]):
            words = m.group(0).lstrip(".、")
            start = a + m.end() - len(words)
            if not _CJK.search(words) or not self._free(start, a + m.end()):
                continue
            score = difflib.SequenceMatcher(None, words, longest).ratio()
            if score < 0.8 or score <= best_score:
                continue
            if any(difflib.SequenceMatcher(None, words, o).ratio() >= score for o in others):
                continue
            best, best_score = Found(spec, start, a + m.end(), "fuzzy"), score
        return best

    # -- value rows (numbers without a label of their own)
    def value_rows(self, lo: int, hi: int, exclude_rows: set[int]) -> list[list[Item]]:
        out = []
        s = self.s
        rows_in = _rows_overlapping(s, lo, hi)
        for r in rows_in:
            if r in exclude_rows:
                continue
            cells = s.rows[r]
            items: list[Item] = []
            seen_value = False
            for cell in cells:
                kind, item = _part_item(cell, 0, len(cell.ctext), False)
                if kind in ("value", "blank"):
                    items.append(item)
                    seen_value = seen_value or kind == "value"
                elif kind == "junk":
                    if seen_value:
                        break
                    items = []
            if seen_value:
                out.append(items)
        return out


def _best_window(text: str, label: str) -> str:
    n = len(label)
    windows = [text[k:k + n] for k in range(0, len(text) - n + 1)]
    return max(windows, key=lambda w: difflib.SequenceMatcher(None, w, label).ratio())


def _rows_overlapping(s: Stream, lo: int, hi: int) -> list[int]:
    return sorted({c.row for c in s.cells
                   if (c.start < hi and c.start + len(c.ctext) > lo) or (c.empty and lo <= c.start < hi)})


# ------------------------------------------------------------------ readings
@dataclass
class RowReading:
    spec: T.RowSpec
    readings: list[tuple[str | None, ...]]  # candidate tuples (len == columns)
    raw: str = ""
    page: int | None = None
    inferred: bool = False  # the reading is an inference (not one number per cell)
    note: str = ""
    cells: list = field(default_factory=list)  # the cell of each column, when read one per cell
    doubtful: bool = False  # one of its cells was read by OCR with doubt


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def _row_constraint(spec: T.RowSpec):
    if spec.table == T.APPLICATION:
        return both(applicant_sum, integers_only)
    if spec.table == T.REVIEW:
        return both(review_blocks, integers_only)
    int_cols = [spec.unit_of(c) in ("件", "项") for c in spec.columns]

    def ints(values):
        return all(v is None or "." not in v or not is_int for v, is_int in zip(values, int_cols))
    return ints


def _trim(items: list[Item], n: int, grid: bool) -> list[Item]:
    """Drop padding cells around the values of a row (see module doc)."""
    if len(items) <= n:
        return items
    values = [i for i in items if not i.blank]
    if len(values) == n:
        return values
    if grid:
        return items[-n:]
    items = list(items)
    while len(items) > n and items[-1].blank:
        items.pop()
    while len(items) > n and items[0].blank:
        items.pop(0)
    return items


def read_items(spec: T.RowSpec, items: list[Item], n: int | None = None, constraint=None) -> RowReading:
    n = n or len(spec.columns)
    constraint = constraint or _row_constraint(spec)
    grid = any(i.cell is not None and i.cell.grid for i in items)
    items = _trim(items, n, grid)
    raw = " | ".join(i.text if not i.blank else "∅" for i in items)
    page = next((i.cell.page for i in items if i.cell is not None and i.cell.page), None)
    rr = RowReading(spec, [], raw, page, doubtful=any(i.cell is not None and i.cell.candidates for i in items))
    if not items:
        return rr
    if len(items) == n:
        values = []
        ok = True
        for it in items:
            if it.blank:
                values.append(None)
                continue
            v = normalize_number(it.text)
            if v is None or it.spaces:
                ok = False
                break
            values.append(v)
        if ok:
            rr.readings = [tuple(values)]
            rr.cells = [it.cell for it in items]
            # one well-formed number per cell: read as printed
            if spec.table == T.APPLICATION and not grid and n == 7 and items[-1].blank:
                # a text row whose last (总计) cell is empty while its applicant cells add
                # up to more than 0: a conversion may have lost the figure
                total = sum(float(v) for v in values[:6] if v is not None)
                if total > 0:
                    alt = values[:6] + [_fmt(total)]
                    rr.readings.append(tuple(alt))
                    rr.inferred = True
                    rr.note = "empty 总计 cell in a text row whose applicant cells add up to more than 0"
            return rr
    if len(items) > n:
        rr.note = f"{len(items)} values for {n} columns"
        rr.inferred = True
        rr.readings = [tuple(None if i.blank else normalize_number(i.text) for i in items[:n]),
                       tuple(None if i.blank else normalize_number(i.text) for i in items[-n:])]
        return rr
    # fewer positions than columns: some cells hold several numbers run together
    multi = [i for i in items if not i.blank and (not i.whole or i.spaces)]
    if not multi:
        rr.note = f"{len(items)} cells for {n} columns"
        rr.inferred = True
        rr.readings = []
        return rr
    rr.inferred = True
    rr.readings = _split_items(items, n, constraint)
    if not rr.readings:
        rr.note = "no reading of the run-together digits fits"
    return rr


def _split_items(items: list[Item], n: int, constraint) -> list[tuple[str | None, ...]]:
    """Cut the runs of a row into n values in total (blanks stay single)."""
    fixed = [1 if (it.blank or (it.whole and not it.spaces)) else 0 for it in items]
    free = [k for k, f in enumerate(fixed) if not f]
    need = n - sum(fixed)
    if need < len(free):
        return []
    readings: list[tuple[str | None, ...]] = []
    # distribute `need` values over the free runs
    for counts in _compositions(need, len(free)):
        per_item: list[list[tuple[str | None, ...]]] = []
        ok = True
        for k, it in enumerate(items):
            if it.blank:
                per_item.append([(None,)])
            elif fixed[k]:
                v = normalize_number(it.text)
                if v is None:
                    ok = False
                    break
                per_item.append([(v,)])
            else:
                c = counts[free.index(k)]
                splits = split_run(it.text, c)
                if not splits:
                    ok = False
                    break
                per_item.append(splits)
        if not ok:
            continue
        for combo in itertools.product(*per_item):
            values = tuple(v for part in combo for v in part)
            if len(values) == n and (constraint is None or constraint(values)):
                readings.append(values)
            if len(readings) > 5000:
                return readings
    return sorted(set(readings), key=readings.index)


def _compositions(total: int, parts: int):
    if parts == 0:
        if total == 0:
            yield ()
        return
    if parts == 1:
        if total >= 1:
            yield (total,)
        return
    for first in range(1, total - parts + 2):
        for rest in _compositions(total - first, parts - 1):
            yield (first,) + rest


# ------------------------------------------------------------------ cross-row checks
def _cross_filter(readings: dict[str, RowReading], template: T.Template) -> None:
    """Use 一+二 = （七）总计+四 and Σ outcome rows = （七）总计 (per column) to narrow the
    readings of rows that have several. Leaves readings untouched when no combination
    fits (reports do contain arithmetic errors)."""
    outcome = tuple(dict.fromkeys(k for shape in template.shapes() for k in shape.outcome_rows))
    keys = [k for k in ("本年新收", "上年结转", "总计", "结转下年度继续办理") + outcome
            if k in readings and readings[k].readings]
    ambiguous = [k for k in keys if len(readings[k].readings) > 1]
    if not ambiguous:
        return
    space = 1
    for k in ambiguous:
        space *= len(readings[k].readings)
    if space > 200000:
        return
    fixed = {k: readings[k].readings[0] for k in keys if len(readings[k].readings) == 1}

    def val(row, col, choice):
        t = choice.get(row) or fixed.get(row)
        if t is None:
            return None
        v = t[col]
        return None if v is None else float(v)

    def ok(choice) -> bool:
        for col in range(7):
            a, b, c, d = (val(k, col, choice) for k in ("本年新收", "上年结转", "总计", "结转下年度继续办理"))
            if None not in (a, b, c, d) and abs(a + b - c - d) > 1e-6:
                return False
            vals = [val(k, col, choice) for k in outcome if k in readings]
            if any(k in readings and not readings[k].readings for k in outcome):
                vals = [None]  # an unreadable outcome row: the sum cannot be checked
            if c is not None and vals and None not in vals and abs(sum(vals) - c) > 1e-6:
                return False
        return True

    survivors = []
    for combo in itertools.product(*(readings[k].readings for k in ambiguous)):
        choice = dict(zip(ambiguous, combo))
        if ok(choice):
            survivors.append(choice)
    if not survivors:
        return
    for k in ambiguous:
        kept = []
        for ch in survivors:
            if ch[k] not in kept:
                kept.append(ch[k])
        readings[k].readings = kept


# ------------------------------------------------------------------ main
_ACTIVE_ANCHORS = ("第二十条", "信息内容")
_ACTIVE_FIRST_ROW_GROUP = ("第二十条第（一）项", "第二十条第(一)项", "第二十条第一项")
_APP_ANCHORS = ("申请人情况", "勾稽关系", "本年新收政府信息公开申请数量")
_REVIEW_ANCHORS = ("行政复议", "未经复议直接起诉", "复议后起诉", "结果维持")
_REVIEW_END = ("存在的主要问题", "存在问题", "主要问题及改进", "改进情况", "其他需要报告")


def extract_tables(doc: Document) -> TableResult:
    full_text = doc.text + "\n" + "\n".join("\t".join(r) for g in doc.grids for r in g.rows)
    template = detect_template(full_text)
    result = TableResult(template.version if template else None)
    if template is None:
        result.problems.append("template version not recognised (no 第二十条 headers or 其他处理 rows)")
        return result

    streams = []
    if doc.grids:
        streams.append(("grids", Stream(_rows_from_grids(doc))))
        streams.append(("lines+grids", Stream(_rows_merged(doc))))
    else:
        streams.append(("lines", Stream(_rows_from_lines(doc))))

    readings: dict[str, RowReading] = {}
    found_tables: set[str] = set()
    app_specs: list[T.RowSpec] = list(template.application_rows)
    for name, stream in streams:
        missing = [t for t in T.TABLES if t not in found_tables]
        if not missing:
            break
        specs_here: list[T.RowSpec] = []
        got = _extract_from_stream(stream, template, missing, result.problems, specs_here, bool(doc.ocr_pages))
        if got.get(T.APPLICATION):
            app_specs = specs_here
        for table, rows in got.items():
            if rows:
                found_tables.add(table)
                readings.update(rows)

    if not found_tables:
        result.problems.append("no standard table found")
        return result
    for table in T.TABLES:
        if table not in found_tables:
            result.problems.append(f"table {table} not found")

    _cross_filter(readings, template)
    rows = list(template.active_rows) + list(app_specs) + list(template.review_rows)
    result.facts = _facts(readings, rows, found_tables, result.problems)
    _money_units_from_text(result.facts, full_text)
    return result


def _money_units_from_text(facts: list[Fact], text: str) -> None:
    """Amount columns default to 万元, but some reports print the unit in the cell
    ('251000元'); the printed unit wins."""
    compact = re.sub(r"\s+", "", text)
    for fact in facts:
        if fact.unit != "万元" or fact.value in (None, "0") or fact.uncertain:
            continue
        units = set(re.findall(rf"{re.escape(fact.value)}(万元|元)", compact))
        if units == {"元"}:
            fact.unit = "元"


def _extract_from_stream(stream: Stream, template: T.Template, tables: list[str], problems: list[str],
                         used_specs: list[T.RowSpec], ocr: bool = False) -> dict[str, dict[str, RowReading]]:
    text = stream.text
    ext = _Tables(stream, template, ocr)

    def first(needles, lo=0, hi=None):
        hits = [text.find(n, lo, hi if hi is not None else len(text)) for n in needles]
        hits = [h for h in hits if h >= 0]
        return min(hits) if hits else None

    # The table's own first heading beats a '第二十条' or '信息内容' in the narrative above it.
    a0 = first(_ACTIVE_FIRST_ROW_GROUP)
    if a0 is None:
        a0 = first(_ACTIVE_ANCHORS)
    b0 = first(_APP_ANCHORS, a0 or 0)
    if b0 is None:
        b0 = first(_APP_ANCHORS)
    c_from = b0 if b0 is not None else (a0 or 0)
    out: dict[str, dict[str, RowReading]] = {t: {} for t in tables}

    # ---- 依申请 first (its end anchors the 复议诉讼 table)
    app_specs = template.application_rows
    if template.one_row_other and b0 is not None:
        region = text[b0:]
        if not any(_has_word(region, m, ocr) for m in template.sub_row_words) and "其他处理" in region:
            # the report prints （六）其他处理 as ONE row (2019 style): keep it as
            # 依申请|其他处理; the three 2021 sub-rows are absent
            app_specs = template.one_row_other
            problems.append("依申请: （六）其他处理 printed as one row (2019 style); 2021 sub-rows absent")
    used_specs.extend(app_specs)
    app_found: dict[str, Found] = {}
    c0 = None
    if b0 is not None:
        c_guess = first(_REVIEW_ANCHORS, b0)
        # the review table starts after the last application row label
        app_hi = len(text)
        app_found = ext.locate(app_specs, b0, app_hi) if T.APPLICATION in tables or T.REVIEW in tables else {}
        last = max((f.end for f in app_found.values()), default=b0)
        c0 = first(_REVIEW_ANCHORS, last)
        if c0 is None:
            c0 = c_guess
    else:
        c0 = first(_REVIEW_ANCHORS, c_from)

    # ---- 主动公开
    if T.ACTIVE in tables and a0 is not None:
        hi = b0 if b0 is not None and b0 > a0 else (c0 if c0 is not None else len(text))
        specs = template.active_rows
        found = ext.locate(specs, a0, hi)
        out[T.ACTIVE] = _read_rows(ext, specs, found, a0, hi)

    if T.APPLICATION in tables and b0 is not None and app_found:
        hi = c0 if c0 is not None and c0 > b0 else len(text)
        # re-limit regions to the application table
        out[T.APPLICATION] = _read_rows(ext, app_specs, {k: f for k, f in app_found.items() if f.start < hi}, b0, hi)

    if T.REVIEW in tables and c0 is not None:
        end = first(_REVIEW_END, c0)
        hi = end if end is not None else min(len(text), c0 + 4000)
        out[T.REVIEW] = _read_review(ext, c0, hi)
    return out


def _has_word(text: str, word: str, ocr: bool) -> bool:
    """``word`` in ``text``; in OCR'd text also with one character misread
    ('逾翔不补正' for 逾期不补正)."""
    if word in text:
        return True
    if not ocr or len(word) < 4:
        return False
    n = len(word)
    for k in range(n):  # every other character in place
        head, tail = word[:k], word[k + 1:]
        pattern = re.escape(head) + "." + re.escape(tail)
        if re.search(pattern, text):
            return True
    return False


def _label_regions(ext: _Tables, found: dict[str, Found], hi: int) -> list[tuple[Found, int]]:
    """Found labels in document order with the start of the next label (any table)."""
    ordered = sorted(found.values(), key=lambda f: f.start)
    starts = sorted(a for a, _ in ext.claimed)
    out = []
    for f in ordered:
        nxt = next((a for a in starts if a >= f.end), hi)
        out.append((f, min(nxt, hi)))
    return out


def _read_rows(ext: _Tables, specs: tuple[T.RowSpec, ...], found: dict[str, Found], lo: int, hi: int) -> dict[str, RowReading]:
    s = ext.s
    result: dict[str, RowReading] = {}
    label_rows: set[int] = set()
    row_keys: dict[int, list[str]] = {}  # physical row -> template rows read from it
    unresolved: list[T.RowSpec] = []
    for f, stop in _label_regions(ext, found, hi):
        items = ext.same_row_items(f.start, f.end, stop)
        label_cell = s.cells[s.cell_at(f.end - 1)]
        label_rows.add(label_cell.row)
        if label_cell.grid:
            row_keys.setdefault(label_cell.row, []).append(f.spec.key)
        n = len(f.spec.columns)
        has_value = any(not i.blank for i in items)
        if has_value or (items and len(items) >= n):
            rr = read_items(f.spec, items)
            if rr.page is None:
                rr.page = s.cells[s.cell_at(f.start)].page
            result[f.spec.key] = rr
    if ext.ocr:
        # two template rows read from one OCR'd table row: a label was misread and
        # another row's label matched; neither row's figures can be trusted
        for keys in row_keys.values():
            if len(keys) > 1:
                for key in keys:
                    if key in result:
                        result[key].cells, result[key].doubtful = [], True
                        result[key].note = (result[key].note + "; " if result[key].note else "") + \
                            "rows " + " and ".join(keys) + " read from one OCR'd table row"
    for key, rr in result.items():
        if len(rr.readings) > 1 and rr.spec.table == T.ACTIVE:
            _apply_narrative_pins(rr, s.text)
    for spec in specs:
        if spec.key not in result:
            unresolved.append(spec)
    if unresolved:
        # rows with numbers but no label of their own, in document order
        orphans = [r for r in ext.value_rows(lo, hi, label_rows)]
        ncols = len(unresolved[0].columns)
        full = [r for r in orphans if len(_trim(r, ncols, False)) == ncols and all(len(u.columns) == ncols for u in unresolved)]
        if full and len(full) == len(unresolved):
            for spec, items in zip(unresolved, full):
                rr = read_items(spec, items)
                rr.note = (rr.note + "; " if rr.note else "") + "values from an unlabelled number row, assigned in template order"
                result[spec.key] = rr
            unresolved = []
        elif full:
            ext.problems.append(f"{specs[0].table}: {len(unresolved)} rows without values and {len(full)} unlabelled number rows; not assigned")
    return result


# Narrative sentences that state a 第二十条 figure outright, e.g. '本年度制发的规范性文件
# 88件', '现行有效行政规范性文件698件' (only for rows whose run-together digits have
# several readings; a pin that fits no reading is ignored).
_PIN_VERBS = {"本年制发件数": "(?:新)?(?:制发|制定)", "本年新制作数量": "(?:新)?制作", "本年废止件数": "废止",
              "现行有效件数": "现行有效"}
_PIN_NOUNS = {"规章": "规章", "规范性文件": "(?:行政)?规范性文件"}


def _apply_narrative_pins(rr: RowReading, text: str) -> None:
    noun = _PIN_NOUNS.get(rr.spec.key)
    if noun is None:
        return
    for ci, col in enumerate(rr.spec.columns):
        verb = _PIN_VERBS.get(col)
        if verb is None:
            continue
        pins = set(re.findall(rf"{verb}(?:的|了)?{noun}(?:共|合计)?(\d+)件", text))
        if len(pins) != 1:
            continue
        pin = pins.pop()
        kept = [r for r in rr.readings if r[ci] == pin]
        if kept:
            narrowed, rr.readings = len(kept) < len(rr.readings), kept
            if narrowed:
                rr.note = (rr.note + "; " if rr.note else "") + f"{col} pinned by the narrative ({pin}件)"


def _read_review(ext: _Tables, lo: int, hi: int) -> dict[str, RowReading]:
    """The 复议诉讼 table: usually one row of 15 values without row labels, sometimes
    three rows of five (one per 行政复议 / 未经复议直接起诉 / 复议后起诉)."""
    s = ext.s
    rows = []
    for r in _rows_overlapping(s, lo, hi):
        cells = s.rows[r]
        items: list[Item] = []
        seen_value = False
        for cell in cells:
            a = max(0, lo - cell.start)
            b = min(len(cell.ctext), hi - cell.start)
            if not cell.empty and b <= a:
                continue
            kind, item = _part_item(cell, a, b, False)
            if kind == "junk" and not cell.empty:
                # header words then the numbers in the same cell (flattened text)
                tail = cell.ctext[a:b]
                mt = re.search(r"[^\d.\-+]([\d.\-+]+)$", tail)
                if mt is None:
                    # the numbers after the last header word, narrative after them
                    mt = next(reversed(list(re.finditer(r"(?:总计|审结)([\d.\-+]+)(?=[\u3400-\u9fff])", tail))), None)
                if mt:
                    run = mt.group(1)
                    p = a + mt.start(1)
                    sp = frozenset(i - p for i in cell.spaces if p < i < p + len(run))
                    items = [Item(run, sp, cell, False)]
                    seen_value = True
                    continue
                if seen_value:
                    break
                items = []
                continue
            if kind in ("value", "blank"):
                items.append(item)
                seen_value = seen_value or kind == "value"
        if seen_value:
            rows.append(items)
    specs = ext.template.review_rows
    out: dict[str, RowReading] = {}
    if not rows:
        return out
    grid = any(i.cell is not None and i.cell.grid for r in rows for i in r)
    if len(rows) >= 3 and all(len(_trim(r, 5, grid)) == 5 for r in rows[:3]) and not any(
            len(_trim(r, 15, grid)) == 15 for r in rows):
        for spec, items in zip(specs, rows[:3]):
            out[spec.key] = read_items(spec, items)
        return out
    # one row of 15 (the first one that can hold 15 values)
    pseudo = T.RowSpec(T.REVIEW, "_all", (), tuple(f"{r.key}|{c}" for r in specs for c in r.columns), "件")
    for items in rows:
        rr = read_items(pseudo, items, 15, both(review_blocks, integers_only))
        if rr.readings or len(items) >= 2:
            break
    for i, spec in enumerate(specs):
        sub = RowReading(spec, [], rr.raw, rr.page, rr.inferred, rr.note, doubtful=rr.doubtful)
        if len(rr.cells) == 15:  # read one number per cell: OCR's doubts stay with their cells
            sub.cells = rr.cells[i * 5:(i + 1) * 5]
        seen = []
        for reading in rr.readings:
            part = tuple(reading[i * 5:(i + 1) * 5])
            if part not in seen:
                seen.append(part)
        sub.readings = seen
        out[spec.key] = sub
    return out


def _facts(readings: dict[str, RowReading], rows: list[T.RowSpec], found_tables: set[str], problems: list[str]) -> list[Fact]:
    facts: list[Fact] = []
    for spec in rows:
        rr = readings.get(spec.key)
        if rr is None:
            if spec.table in found_tables:
                problems.append(f"row {spec.table}|{spec.key} not found")
            for col in spec.columns:
                facts.append(Fact(spec.table, spec.key, col, None, spec.unit_of(col), "", None,
                                  blank=False, uncertain=True))
            continue
        if not rr.readings:
            problems.append(f"row {spec.table}|{spec.key}: unreadable ({rr.note or 'no value'}; raw {rr.raw!r})")
        elif len(rr.readings) > 1:
            problems.append(f"row {spec.table}|{spec.key}: {len(rr.readings)} readings of {rr.raw!r}")
        for ci, col in enumerate(spec.columns):
            values = []
            for reading in rr.readings:
                if reading[ci] not in values:
                    values.append(reading[ci])
            unit = spec.unit_of(col)
            cell = rr.cells[ci] if len(rr.cells) == len(spec.columns) else None
            if len(values) == 1 and cell is not None and cell.candidates:  # OCR read it with doubt
                facts.append(Fact(spec.table, spec.key, col, None, unit, rr.raw, rr.page,
                                  blank=False, uncertain=True, candidates=list(cell.candidates)))
            elif len(values) == 1 and cell is None and rr.doubtful:
                # OCR read a cell of the row with doubt, and the row's cells could not be
                # lined up one per column: any of them may be that cell
                facts.append(Fact(spec.table, spec.key, col, None, unit, rr.raw, rr.page,
                                  blank=False, uncertain=True, candidates=["" if v is None else v for v in values]))
            elif len(values) == 1:
                v = values[0]
                facts.append(Fact(spec.table, spec.key, col, v, unit, rr.raw, rr.page,
                                  blank=v is None, uncertain=False, reason=rr.note))
            else:
                facts.append(Fact(spec.table, spec.key, col, None, unit, rr.raw, rr.page,
                                  blank=False, uncertain=True,
                                  candidates=["" if v is None else v for v in values[:50]]))
    return facts


# ------------------------------------------------------------------ maintainer helper
def diff_against_golden(result: TableResult, golden: dict) -> list[str]:
    """Lines describing every cell where the parser and a golden file disagree:
    'key: parser=… golden=… [uncertain, candidates]'."""
    lines = []
    got = {f.key: f for f in result.facts}
    unreadable = set(golden.get("unreadable", []))
    for key, want in golden["cells"].items():
        f = got.get(key)
        if f is None:
            lines.append(f"{key}: MISSING golden={want!r}")
            continue
        exact = (not f.uncertain) and f.value == want
        if not exact or key in unreadable and not f.uncertain:
            flag = f" [uncertain {f.candidates}]" if f.uncertain else " [NOT FLAGGED]"
            if key in unreadable and not f.uncertain:
                flag += " (golden: unreadable)"
            lines.append(f"{key}: parser={f.value!r} golden={want!r}{flag} raw={f.raw[:60]!r}")
    return lines
