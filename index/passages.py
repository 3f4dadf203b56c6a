"""Cut a parsed report into passages: the units of retrieval and of citation.

* ``kind='text'``: a few hundred characters of one section, cut at paragraph (line)
  boundaries, long paragraphs at sentence ends; a passage never crosses a section.
  Each keeps its section number and title, its line span and its page span.
* ``kind='table_row'``: one row of a standard table, written out from the facts
  (``交岔乡 2021 依申请 本年新收 自然人 0 商业企业 0 … 总计 0``), so text search can
  find figures.

What gets indexed (``Passage.indexed_text``) is the passage text prefixed with the
report's region, body, short name and year, and the section title (measured: it lets
BM25 tell apart the same template paragraph in different reports). The embedding sees
only body, year and text (``dense_text``), and only text passages are embedded:
table rows, short and full of numbers, crowd out the right passage in dense search.

Passages are stored in the ``passages`` table of the build's ``reports.db`` (created
here; the rest of the schema is in index.store).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, fields

from .store import no_fsync_per_commit

TARGET_CHARS = 300  # a passage is cut once it reaches about this size …
MAX_CHARS = 450  # … and a paragraph longer than this is split at sentence ends
MIN_CHARS = 60  # a shorter tail is merged into the previous passage

TABLE_SECTION = {"主动公开": 2, "依申请": 3, "复议诉讼": 4}

SCHEMA = """
CREATE TABLE IF NOT EXISTS passages (
    id TEXT PRIMARY KEY, report_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
    body TEXT, short_name TEXT, level TEXT, region TEXT, year INTEGER,
    section INTEGER, section_title TEXT, page_start INTEGER, page_end INTEGER,
    line_start INTEGER, line_end INTEGER, text TEXT NOT NULL, indexed_text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_by_report ON passages (report_id, seq);
"""


@dataclass
class Passage:
    id: str  # '<report id>:<section>:<n>' or '<report id>:t:<table>:<row>'
    report_id: str
    seq: int  # order within the report
    kind: str  # 'text' | 'table_row'
    body: str | None
    short_name: str | None
    level: str | None
    region: str | None  # province/city/county named by the body, space-separated
    year: int | None
    section: int  # 0-6
    section_title: str | None
    page_start: int | None
    page_end: int | None
    line_start: int | None
    line_end: int | None
    text: str  # as printed (what a citation quotes)
    indexed_text: str = ""  # prefix + text: what BM25 sees (dense_text() for the embedding)

    @property
    def page(self) -> int | None:
        return self.page_start


# Bump when the cutting or the indexed text changes: the retrieval stage then redoes
# every report's passages and vectors from the store on the next build.
PASSAGE_VERSION = "4"


def prefix(meta, section_title: str | None = None) -> str:
    """What BM25 sees before the passage: region, body, short name, year, section title
    (measured on tests/retrieval_questions.jsonl: recall@1 0.64 without, 0.86 with)."""
    names = [r for r in (meta.province, meta.city, meta.county) if r]
    names += [n for n in (meta.body or meta.title, meta.short_name) if n]
    year = f" {meta.year}年" if meta.year else ""
    title = f" {section_title}" if section_title else ""
    return f"【{' '.join(dict.fromkeys(names))}{year}{title}】"


def dense_text(passage) -> str:
    """What the embedding model sees: body and year, then the text. Measured: the full
    BM25 prefix (region, section title) hurts m3e-small; no prefix hurts more."""
    name = passage.body or passage.short_name or ""
    year = f" {passage.year}年" if passage.year else ""
    return f"【{name}{year}】\n{passage.text}"


# ------------------------------------------------------------------ text passages
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")


def _split_long(text: str) -> list[str]:
    """A paragraph longer than MAX_CHARS, cut at sentence ends (or hard, failing that)."""
    parts = [p for p in _SENTENCE_END.split(text) if p]
    out: list[str] = []
    for part in parts:
        while len(part) > MAX_CHARS:  # a 'sentence' with no end mark (flattened tables)
            cut = max(part.rfind("，", 0, MAX_CHARS), part.rfind(" ", 0, MAX_CHARS))
            cut = cut + 1 if cut > TARGET_CHARS // 2 else TARGET_CHARS
            out.append(part[:cut])
            part = part[cut:]
        out.append(part)
    return out


def _units(section) -> list[tuple[str, int]]:
    """(text, line number) pieces of a section, in order, none longer than MAX_CHARS."""
    lines = section.text.split("\n")
    # Section.text is the section's lines joined and stripped: a section after 0 starts
    # with its heading line; blank lines stripped from the ends are put at the end.
    first = section.line_start or 1
    units = []
    for i, line in enumerate(lines):
        line = line.strip()
        if not line:
            continue
        pieces = [line] if len(line) <= MAX_CHARS else _split_long(line)
        units.extend((piece, first + i) for piece in pieces)
    return units


def _page_span(section, line_start: int, line_end: int, line_pages: dict | None):
    if line_pages:
        pages = [line_pages[n] for n in range(line_start, line_end + 1) if line_pages.get(n)]
        if pages:
            return min(pages), max(pages)
    return section.page_start, section.page_end


def section_passages(section) -> list[tuple[str, int, int]]:
    """Chunks of one section: (text, first line, last line)."""
    chunks: list[list[tuple[str, int]]] = []
    current: list[tuple[str, int]] = []
    size = 0
    for text, line in _units(section):
        if current and size + len(text) > MAX_CHARS:
            chunks.append(current)
            current, size = [], 0
        current.append((text, line))
        size += len(text)
        if size >= TARGET_CHARS:
            chunks.append(current)
            current, size = [], 0
    if current:
        if chunks and size < MIN_CHARS and sum(len(t) for t, _ in chunks[-1]) + size <= MAX_CHARS + MIN_CHARS:
            chunks[-1].extend(current)
        else:
            chunks.append(current)
    out = []
    for chunk in chunks:
        # joined without a separator when a paragraph was cut mid-way, else by a newline
        text = chunk[0][0]
        for (prev, prev_line), (piece, line) in zip(chunk, chunk[1:]):
            text += ("" if line == prev_line else "\n") + piece
        out.append((text, chunk[0][1], chunk[-1][1]))
    return out


def _bare(text: str) -> str:
    return re.sub(r"[\s#*]", "", text)


def _region(meta) -> str | None:
    names = [r for r in (meta.province, meta.city, meta.county) if r]
    return " ".join(names) or None


# ------------------------------------------------------------------ table-row passages
def _value(fact) -> str:
    if fact.uncertain:
        return "?" + (f"（{'/'.join(fact.candidates)}）" if fact.candidates else "")
    if fact.blank or fact.value is None:
        return "空"
    return f"{fact.value}{fact.unit or ''}" if fact.unit and fact.unit != "件" else fact.value


def table_rows(parsed) -> list[tuple[str, str, list]]:
    """(table, row, facts in column order) for each row with facts, in report order."""
    rows: dict[tuple[str, str], list] = {}
    for fact in parsed.facts:
        rows.setdefault((fact.table, fact.row), []).append(fact)
    return [(t, r, facts) for (t, r), facts in rows.items()]


def passages_for(parsed, line_pages: dict[int, int] | None = None) -> list[Passage]:
    """All passages of a parsed report (index.parse.ParsedReport), in order.

    ``line_pages`` (line number -> PDF page) makes the page span of each passage exact;
    without it a passage gets its section's page span (or the report's parsed
    ``line_pages`` attribute, when the parser provides one)."""
    meta = parsed.meta
    line_pages = line_pages or getattr(parsed, "line_pages", None)
    common = dict(report_id=parsed.id, body=meta.body, short_name=meta.short_name,
                  level=meta.level, region=_region(meta), year=meta.year)
    out: list[Passage] = []
    for section in parsed.sections:
        head = prefix(meta, section.title if section.number else None)
        if section.number and _bare(section.text) == _bare(section.title or "") \
                and not re.search(r"[，,。；;！？]", section.title or ""):
            continue  # a heading alone (its table went to the facts): nothing to cite
        # (a heading line that runs on into the text, '六、其他需要报告的事项2023年，无收取
        # 信息处理费情况。' on a flattened page, is the section's text: kept)
        for n, (text, first, last) in enumerate(section_passages(section)):
            page_start, page_end = _page_span(section, first, last, line_pages)
            out.append(Passage(
                id=f"{parsed.id}:{section.number}:{n}", seq=len(out), kind="text",
                section=section.number, section_title=section.title,
                page_start=page_start, page_end=page_end, line_start=first, line_end=last,
                text=text, indexed_text=f"{head}\n{text}", **common))
    name = meta.short_name or meta.body or ""
    year = str(meta.year) if meta.year else ""
    titles = {s.number: s.title for s in parsed.sections}
    for table, row, facts in table_rows(parsed):
        cells = " ".join(f"{f.column} {_value(f)}" for f in facts)
        text = " ".join(p for p in (name, year, table, row.replace("-", " "), cells) if p)
        pages = [f.page for f in facts if f.page]
        number = TABLE_SECTION.get(table, 0)
        out.append(Passage(
            id=f"{parsed.id}:t:{table}:{row}", seq=len(out), kind="table_row",
            section=number, section_title=titles.get(number),
            page_start=min(pages) if pages else None, page_end=max(pages) if pages else None,
            line_start=None, line_end=None,
            text=text, indexed_text=f"{prefix(meta)}\n{text}", **common))
    return out


# ------------------------------------------------------------------ storage
_COLUMNS = [f.name for f in fields(Passage)]


def connect(db_path) -> sqlite3.Connection:
    """The build's store, for writing passages (see index.store.no_fsync_per_commit)."""
    db = sqlite3.connect(db_path)
    db.row_factory = sqlite3.Row
    no_fsync_per_commit(db)
    db.executescript(SCHEMA)
    return db


def save_passages(db: sqlite3.Connection, report_id: str, passages: list[Passage]) -> None:
    delete_passages(db, report_id)
    db.executemany(
        f"INSERT INTO passages ({','.join(_COLUMNS)}) VALUES ({','.join('?' * len(_COLUMNS))})",
        [tuple(getattr(p, c) for c in _COLUMNS) for p in passages])


def delete_passages(db: sqlite3.Connection, report_id: str) -> None:
    db.execute("DELETE FROM passages WHERE report_id = ?", (report_id,))


def row_to_passage(row) -> Passage:
    return Passage(**{c: row[c] for c in _COLUMNS})


def load_passages(db: sqlite3.Connection, report_ids: list[str] | None = None) -> list[Passage]:
    """Passages of the given reports (all reports when None), by report and order."""
    sql = f"SELECT {','.join(_COLUMNS)} FROM passages"
    if report_ids is None:
        return [row_to_passage(r) for r in db.execute(sql + " ORDER BY report_id, seq")]
    out: list[Passage] = []
    for i in range(0, len(report_ids), 500):  # SQLite caps the number of parameters
        chunk = report_ids[i:i + 500]
        out.extend(row_to_passage(r) for r in db.execute(
            f"{sql} WHERE report_id IN ({','.join('?' * len(chunk))}) ORDER BY report_id, seq", chunk))
    return sorted(out, key=lambda p: (p.report_id, p.seq))


# ---------------------------------------------------------------- housekeeping of a build
def has_kind(db: sqlite3.Connection, kinds) -> bool:
    marks = ",".join("?" * len(kinds))
    return db.execute(f"SELECT 1 FROM passages WHERE kind IN ({marks}) LIMIT 1", tuple(kinds)).fetchone() is not None


def delete_all(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM passages")


def delete_orphans(db: sqlite3.Connection) -> None:
    """Passages of reports the store no longer has (e.g. after a failed earlier stage).
    The orphans' report ids come from the (report_id, seq) index first: a plain
    ``DELETE … WHERE report_id NOT IN (…)`` reads every passage row (1 s at 10k reports,
    most of a one-report rebuild's housekeeping); this reads the index (0.04 s)."""
    gone = [r[0] for r in db.execute(
        "SELECT DISTINCT report_id FROM passages WHERE report_id NOT IN (SELECT id FROM reports)")]
    for report_id in gone:
        delete_passages(db, report_id)


def reports_without_passages(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT id FROM reports WHERE id NOT IN (SELECT DISTINCT report_id FROM passages)")]
