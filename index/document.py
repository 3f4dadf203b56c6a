"""What a loader turns a file into, and what the table parser turns that into.

Loaders (``load_pdf``, ``load_docx``, ``load_html``, ``load_text``) each return a
``Document``: the report's text as numbered lines (with the PDF page where known)
and, for formats with real tables, the tables as ``Grid``s of cell strings. The
rest of the pipeline (sections, metadata, tables, checks) never looks at the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import NianbaoError


class IngestError(NianbaoError):
    """A file that cannot be indexed; the message says why, in one line."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass
class Line:
    text: str
    lineno: int  # 1-based, in the document's own text stream
    page: int | None = None  # 1-based PDF page; None for formats without pages


@dataclass
class Grid:
    """One table as the file lays it out: rows of cell strings, '' for an empty
    cell (or the continuation of a merged cell). A table split across PDF pages is
    stitched into one Grid; ``pages[i]`` is the page of ``rows[i]``."""

    rows: list[list[str]]
    pages: list[int | None] = field(default_factory=list)
    line_after: int = 0  # lineno of the last Line before the table (anchors it in the text)
    # (row, column) slots covered by a horizontally merged cell (colspan/gridSpan): not
    # cells of their own, unlike a printed blank. Empty when the format does not say.
    spanned: set[tuple[int, int]] = field(default_factory=set)
    # (row, column) -> candidate readings of a cell OCR read with doubt (index.ocr);
    # the table parser flags these cells uncertain. Empty for text layers.
    doubtful: dict[tuple[int, int], list[str]] = field(default_factory=dict)

    def page_of(self, i: int) -> int | None:
        return self.pages[i] if i < len(self.pages) else None


@dataclass
class Document:
    path: str
    format: str  # 'pdf' | 'docx' | 'html' | 'txt' | 'md'
    lines: list[Line]
    grids: list[Grid] = field(default_factory=list)
    title: str | None = None  # from file metadata (PDF Title, HTML <title>, crawler header)
    page_count: int | None = None
    # Fields a crawler or the page recorded about the document (发布时间, 文号, 来源 …).
    source_fields: dict[str, str] = field(default_factory=dict)
    ocr_pages: list[int] = field(default_factory=list)  # PDF pages read by OCR (index.ocr)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass
class Fact:
    """One cell of a standard table (see index.template for the keys)."""

    table: str
    row: str
    column: str
    value: str | None  # normalised number as text ('12', '0.7', '-185'); None when blank
    unit: str | None = None
    raw: str = ""  # the text the value was read from
    page: int | None = None
    blank: bool = False
    uncertain: bool = False
    candidates: list[str] = field(default_factory=list)  # readings the digits allow, when uncertain
    # Why a value that was not read one number per cell is what it is ('现行有效件数
    # pinned by the narrative (253件)', 'cross-year: …'); '' when read as printed.
    reason: str = ""

    @property
    def key(self) -> str:
        return f"{self.table}|{self.row}|{self.column}"

    @property
    def number(self) -> float | None:
        return None if self.value is None or self.uncertain else float(self.value)


def read_report_bytes(path: str) -> bytes:
    """A file's bytes, or IngestError when it cannot be read or holds nothing."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise IngestError(path, f"cannot read file: {exc.strerror or exc}") from None
    if not data.strip():
        raise IngestError(path, "empty file")
    return data
