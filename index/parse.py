"""One file in, one checked report out: load, sections, metadata, tables, checks."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from .checks import CheckResult, run_checks
from .document import Document, Fact, IngestError
from .load import load_document
from .metadata import ReportMeta, extract_metadata
from .ocr_review import flag_misreads, settle_doubtful
from .sections import Section, split_sections
from .tables import extract_tables


@dataclass
class ParsedReport:
    id: str
    source_file: str
    content_hash: str
    format: str
    meta: ReportMeta
    sections: list[Section]
    facts: list[Fact]
    checks: list[CheckResult]
    template: str | None
    page_count: int | None
    problems: list[str] = field(default_factory=list)
    line_pages: dict[int, int] = field(default_factory=dict)  # lineno -> PDF page
    ocr_pages: list[int] = field(default_factory=list)  # PDF pages read by OCR

    @property
    def uncertain_cells(self) -> int:
        return sum(f.uncertain for f in self.facts)

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if c.failed]

    @property
    def tables_found(self) -> list[str]:
        return sorted({f.table for f in self.facts})


def file_hash(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def report_id(path: str | Path) -> str:
    """A readable, URL-safe id from the file name (the store makes it unique)."""
    stem = Path(path).stem
    return re.sub(r"[^\w\u4e00-\u9fff-]+", "_", stem).strip("_") or "report"


def _is_report(doc: Document) -> bool:
    text = doc.text
    return "信息公开" in text and ("年度报告" in text or "年报" in text or "申请" in text)


def parse_report(path: str | Path, source_file: str | None = None, limits=None, ocr: str = "auto") -> ParsedReport:
    """Parse one file. Raises IngestError when it is not an indexable report, or is over
    ``limits`` (index.limits.FileLimits: size, inflated size, text length). ``ocr``
    ("auto", "off", "force") is for PDFs: see index.load_pdf."""
    if limits is not None:
        from .limits import check_file

        check_file(path, limits)
    doc = load_document(path, ocr=ocr)
    if limits is not None:
        from .limits import check_text

        check_text(path, doc.text, limits)
    if not doc.text.strip() and not doc.grids:
        raise IngestError(str(path), "no text found")
    if not _is_report(doc):
        raise IngestError(str(path), ("scanned PDF whose OCR text is " if doc.ocr_pages else "")
                          + "not a government information-disclosure annual report "
                          "(no 政府信息公开 / 年度报告 in its text)")
    meta = extract_metadata(doc)
    sections = split_sections(doc.lines)
    tables = extract_tables(doc)
    if doc.ocr_pages:
        # a doubtful digit the arithmetic forces is settled; a misread digit must not
        # pass for a figure
        settle_doubtful(tables.facts, set(doc.ocr_pages))
        flag_misreads(tables.facts, set(doc.ocr_pages))
    narrative = "\n".join(s.text for s in sections if s.number in (0, 1, 3))
    checks = run_checks(tables.facts, narrative, tables.version)
    problems = list(meta.problems) + list(tables.problems)
    if doc.ocr_pages:
        doubtful = sum(f.uncertain for f in tables.facts)
        problems.append(f"read by OCR: page(s) {', '.join(map(str, doc.ocr_pages))}; "
                        f"{doubtful} cell(s) uncertain")
    missing = sorted(set(range(1, 7)) - {s.number for s in sections})
    if missing:
        problems.append("sections not found: " + ", ".join("一二三四五六"[n - 1] for n in missing))
    return ParsedReport(
        id=report_id(path),
        source_file=source_file or str(path),
        content_hash=file_hash(path),
        format=doc.format,
        meta=meta,
        sections=sections,
        facts=tables.facts,
        checks=checks,
        template=tables.version,
        page_count=doc.page_count,
        problems=problems,
        line_pages={line.lineno: line.page for line in doc.lines if line.page is not None},
        ocr_pages=list(doc.ocr_pages),
    )
