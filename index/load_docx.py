"""Load a Word .docx report into a ``Document``.

* The body is read in order (``w:p`` and ``w:tbl`` children of ``w:body``, also inside
  content controls ``w:sdt``), so each table lands between the right paragraphs.
* ``lines``: one ``Line`` per non-empty paragraph (a manual line break ``w:br`` inside a
  paragraph starts a new line), :func:`normalize_text` applied, runs of spaces
  collapsed.  Table text is not in ``lines``.
* ``grids``: one ``Grid`` per top-level table.  Merged cells are expanded so that every
  row has one string per grid column: horizontally merged cells (``w:gridSpan``) and
  vertically merged continuations (``w:vMerge`` without ``restart``) give '' — **the
  merged text is only in the first (top-left) cell**.  ``w:gridBefore``/``w:gridAfter``
  give leading/trailing ''.  Rows are padded to the grid width.  Paragraphs within a
  cell are joined with a space, spaces between Chinese characters removed.
  A table nested in a cell is flattened into that cell's text.
* ``title``: the core-properties title if set, else a heading among the first lines
  that reads like a report title (``…政府信息公开…报告``).

Raises :class:`IngestError` for an empty file, a file that is not a zip (incl. a
legacy .doc), a zip without ``word/document.xml``, or XML python-docx cannot open.
"""

from __future__ import annotations

import re
import zipfile

from docx import Document as open_docx
from docx.oxml.ns import qn

from index.document import Document, Grid, IngestError, Line
from index.normalize import compact, normalize_text, squeeze_cjk_spaces

_P, _TBL, _SDT, _SDTCONTENT = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:sdtContent")
_TR, _TC, _TCPR, _TRPR = qn("w:tr"), qn("w:tc"), qn("w:tcPr"), qn("w:trPr")
_GRIDSPAN, _VMERGE, _VAL = qn("w:gridSpan"), qn("w:vMerge"), qn("w:val")
_GRIDBEFORE, _GRIDAFTER = qn("w:gridBefore"), qn("w:gridAfter")
_T, _TAB, _BR, _CR = qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:cr")
_DELTEXT, _INS, _DEL = qn("w:delText"), qn("w:ins"), qn("w:del")
_SPACES = re.compile(r" {2,}")
_TITLE_RE = re.compile(r"(政府信息公开|政务公开).{0,12}报告")
# a title line that already names its body: '…人民政府…', '…乡2021年…', '2021年…'
_TITLE_START = re.compile(r"^.{0,30}?(人民政府|办公厅|办公室|委员会|[省市县区乡镇局委办厅]|\d{4}\s*年)")


def load_docx(path: str) -> Document:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise IngestError(path, f"cannot read file: {exc.strerror or exc}") from None
    if not head:
        raise IngestError(path, "empty file")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise IngestError(path, "legacy Word .doc (OLE2) file, not .docx")
    if not zipfile.is_zipfile(path):
        raise IngestError(path, "not a .docx file (not a zip archive, or truncated)")
    try:
        with zipfile.ZipFile(path) as zf:
            if "word/document.xml" not in zf.namelist():
                raise IngestError(path, "not a .docx file (zip without word/document.xml)")
    except zipfile.BadZipFile as exc:
        raise IngestError(path, f"corrupt zip archive: {exc}") from None
    try:
        doc = open_docx(path)
    except IngestError:
        raise
    except Exception as exc:  # python-docx/lxml raise many kinds on broken parts
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise IngestError(path, f"cannot open .docx: {reason}") from None

    lines: list[Line] = []
    grids: list[Grid] = []
    for el in _body_items(doc.element.body):
        if el.tag == _P:
            for piece in _paragraph_text(el).split("\n"):
                text = _clean_line(piece)
                if text:
                    lines.append(Line(text, len(lines) + 1))
        else:
            rows, spanned = _table_rows(el)
            grids.append(Grid(rows=rows, line_after=len(lines), spanned=spanned))

    if not lines and not any(any(c for c in row) for g in grids for row in g.rows):
        raise IngestError(path, "no text in .docx")

    title = None
    try:
        title = _clean_line(doc.core_properties.title or "") or None
    except Exception:
        title = None
    if title is None:
        title = _heading_title(lines)
    return Document(path=path, format="docx", lines=lines, grids=grids, title=title)


def _heading_title(lines: list[Line]) -> str | None:
    """A report-title heading among the first lines; a heading broken over two lines
    ('永定区大溪乡2021年' / '政府信息公开工作年度报告') is joined."""
    for i, line in enumerate(lines[:6]):
        if len(line.text) <= 80 and _TITLE_RE.search(compact(line.text)):
            title = line.text
            if i > 0 and not _TITLE_START.match(title):
                prev = lines[i - 1].text
                if len(prev) <= 30 and "〔" not in prev and not re.search(r"[。，；：！？]$", prev):
                    title = prev + title
            return title
    return None


def _body_items(parent):
    """Paragraphs and tables in body order, looking inside content controls."""
    for child in parent.iterchildren():
        if child.tag in (_P, _TBL):
            yield child
        elif child.tag == _SDT:
            content = child.find(_SDTCONTENT)
            if content is not None:
                yield from _body_items(content)


def _paragraph_text(p) -> str:
    """Text of one ``w:p`` (runs, hyperlinks, fields, insertions; not deletions);
    tabs as '\\t', breaks as '\\n'."""
    out: list[str] = []
    for el in p.iter(_T, _TAB, _BR, _CR):
        if any(anc.tag == _DEL for anc in el.iterancestors()):
            continue
        if el.tag == _T:
            out.append(el.text or "")
        elif el.tag == _TAB:
            out.append("\t")
        elif el.tag == _BR:
            # page/column breaks separate text too; treat every break as a line end
            out.append("\n")
        else:
            out.append("\n")
    return "".join(out)


def _clean_line(text: str) -> str:
    text = normalize_text(text)
    return _SPACES.sub(" ", text).strip()


def _cell_text(tc) -> str:
    parts: list[str] = []
    for el in tc.iter(_P):
        parts.append(_paragraph_text(el).replace("\n", " ").replace("\t", " "))
    text = normalize_text(" ".join(parts))
    return squeeze_cjk_spaces(re.sub(r"\s+", " ", text)).strip()


def _int_val(el, default: int) -> int:
    if el is None:
        return default
    try:
        return int(el.get(_VAL))
    except (TypeError, ValueError):
        return default


def _table_rows(tbl) -> tuple[list[list[str]], set[tuple[int, int]]]:
    """The table's rows (merges expanded) and the slots covered by a gridSpan."""
    rows: list[list[str]] = []
    spanned: set[tuple[int, int]] = set()
    for tr in tbl.iterchildren(_TR):
        row: list[str] = []
        trpr = tr.find(_TRPR)
        before = _int_val(trpr.find(_GRIDBEFORE), 0) if trpr is not None else 0
        after = _int_val(trpr.find(_GRIDAFTER), 0) if trpr is not None else 0
        row.extend([""] * before)
        for tc in _row_cells(tr):
            tcpr = tc.find(_TCPR)
            span = 1
            continuation = False
            if tcpr is not None:
                span = max(1, _int_val(tcpr.find(_GRIDSPAN), 1))
                vm = tcpr.find(_VMERGE)
                if vm is not None and vm.get(_VAL) in (None, "continue"):
                    continuation = True
            row.append("" if continuation else _cell_text(tc))
            spanned.update((len(rows), len(row) + k) for k in range(span - 1))
            row.extend([""] * (span - 1))
        row.extend([""] * after)
        rows.append(row)
    width = max((len(r) for r in rows), default=0)
    return [r + [""] * (width - len(r)) for r in rows], spanned


def _row_cells(tr):
    """``w:tc`` cells of a row, including cells wrapped in content controls or
    custom-XML elements (but not cells of a table nested in a cell)."""
    for child in tr.iterchildren():
        if child.tag == _TC:
            yield child
        elif child.tag not in (_TRPR, qn("w:tblPrEx")):
            for tc in child.iter(_TC):
                owner = next((a for a in tc.iterancestors() if a.tag in (_TC, _TR)), None)
                if owner is tr:
                    yield tc
