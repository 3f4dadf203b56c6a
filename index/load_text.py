"""Load a plain-text or markdown report (.txt / .md) into a Document.

* bytes are decoded with ``normalize.decode_bytes`` (UTF-8, GB18030/GBK, ...) and
  cleaned with ``normalize.normalize_text``;
* a crawler header (``标题:`` / ``发布时间:`` / ``原文链接:`` / ``本地目录:`` ... up to
  ``=== 正文 ===``) is removed; its ``标题:`` becomes ``Document.title``;
* page-footer lines such as ``— 3 —`` are dropped;
* a body flattened to one long line (a web page's text squeezed into one line) is
  split before the section headings (``一、总体情况`` ..., whatever their numeral, and
  ``五、信息处理费收取情况``; see index.sections) and, outside the tables,
  before ``（一）…`` sub-headings, so the section splitter can work; the table text
  itself is left intact (its row labels such as ``一、本年新收…`` are not headings).

Tables stay in the lines (``grids`` is empty): ``index.tables`` reads them there.
"""

from __future__ import annotations

import os
import re

from .document import Document, IngestError, Line, read_report_bytes
from .normalize import decode_bytes, normalize_text

# Crawler header: 'key: value' lines before the '=== 正文 ===' marker.
_HEADER_KEYS = ("标题", "发布时间", "文号", "发布机构", "栏目", "原文链接", "本地目录", "来源", "采集时间")
_HEADER_LINE = re.compile(r"^\s*(%s)\s*[:：]" % "|".join(_HEADER_KEYS))
_BODY_MARKER = re.compile(r"^\s*=+\s*正文\s*=+\s*$")
_PAGE_FOOTER = re.compile(r"^\s*[—－\-–―]+\s*\d{1,3}\s*[—－\-–―]+\s*$|^\s*第\s*\d{1,3}\s*页(\s*[/，,]?\s*共\s*\d{1,3}\s*页)?\s*$")

# Section headings (as in index.sections): a numeral, then a section's topic nearby.
# The numeral is not trusted: reports insert their own sections and renumber the rest
# ('三、主动公开…' after an extra 二; '六、存在的主要问题' after a 五、信息处理费 table), so
# any numeral may open any topic. A numeral printed without its '、' ('一总体情况')
# counts only when the standard title follows at once.
_TOPICS = ("总体情况", "总体概况", "概述", "基本情况", "主动公开", "收到和处理", "依申请公开", "申请情况",
           "处理政府信息公开申请", "复议", "诉讼", "存在的主要问题", "存在问题", "主要问题", "改进情况",
           "改进措施", "其他需要报告", "其他事项", "其他需报告", "信息处理费")
_BARE_TOPICS = ("总体情况", "主动公开政府信息", "收到和处理政府信息公开申请", "政府信息公开行政复议",
                "存在的主要问题", "其他需要报告")
_CJK = re.compile(r"[\u3400-\u9fff]")
_SECTION_START = re.compile(r"([一二三四五六七八九十])\s*([、.．])?")
_SUBHEADING_START = re.compile(r"[（(][一二三四五六七八九十]{1,2}[）)]")
_TOPIC_WINDOW = 24
# A line this long with several headings in it is a flattened body.
_FLAT_MIN_CHARS = 600


def load_text(path: str) -> Document:
    fmt = "md" if path.lower().endswith((".md", ".markdown")) else "txt"
    data = read_report_bytes(path)
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(path, "binary content, not a text file")
    try:
        text = decode_bytes(data)
    except UnicodeDecodeError as exc:
        raise IngestError(path, "undecodable bytes (not UTF-8/GB18030/GBK text)") from exc
    text = normalize_text(text)
    if "\ufffd" in text and text.count("\ufffd") > max(3, len(text) // 200):
        raise IngestError(path, "undecodable bytes (replacement characters in decoded text)")

    raw_lines = text.split("\n")
    fields, raw_lines = _strip_crawler_header(raw_lines)
    title = fields.get("标题") or None

    lines: list[Line] = []
    for raw in raw_lines:
        raw = raw.rstrip("\r")
        if raw.endswith(" ") and not raw.startswith("\t"):
            raw = raw.rstrip(" ")
        if _PAGE_FOOTER.match(raw):
            continue
        pieces = _split_flattened(raw) if len(raw) >= _FLAT_MIN_CHARS else [raw]
        for piece in pieces:
            lines.append(Line(text=piece, lineno=len(lines) + 1))
    # Drop leading/trailing empty lines only (inner blank lines separate table cells).
    while lines and not lines[-1].text.strip():
        lines.pop()
    if not any(line.text.strip() for line in lines):
        raise IngestError(path, "no text after removing the crawler header")
    if title is None:
        title = _guess_title(lines)
    return Document(path=os.fspath(path), format=fmt, lines=lines, title=title, source_fields=fields)


def _strip_crawler_header(raw_lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """Remove a crawler's 'key: value' header (and the 正文 marker); return its fields."""
    marker = next((i for i, s in enumerate(raw_lines[:40]) if _BODY_MARKER.match(s)), None)
    head = raw_lines[:marker] if marker is not None else []
    if marker is None:
        # No marker: a header is a run of key: value lines at the very top.
        i = 0
        while i < len(raw_lines) and i < 20 and (_HEADER_LINE.match(raw_lines[i]) or not raw_lines[i].strip()):
            i += 1
        if i and sum(1 for s in raw_lines[:i] if _HEADER_LINE.match(s)) >= 2:
            head, marker = raw_lines[:i], i - 1
        else:
            return {}, raw_lines
    elif not any(_HEADER_LINE.match(s) for s in head):
        return {}, raw_lines[marker + 1:]
    fields = {}
    for s in head:
        m = re.match(r"^\s*([^:：\s]{1,8})\s*[:：]\s*(.*)$", s)
        if m and m.group(2).strip():
            fields.setdefault(m.group(1), m.group(2).strip())
    return fields, raw_lines[marker + 1:]


def _guess_title(lines: list[Line]) -> str | None:
    prev = ""
    for line in lines[:10]:
        s = line.text.strip().lstrip("#").strip()
        if s and "年度报告" in s and len(s) <= 80:
            if len(s) < 8 and prev:  # a title wrapped over two lines
                return prev + s
            return s
        if s:
            prev = s
    return None


def _is_section_heading_at(text: str, pos: int) -> bool:
    m = _SECTION_START.match(text, pos)
    if not m:
        return False
    if m.group(2) is None:  # '。一总体情况', never '统一主动公开政府信息'
        return (pos == 0 or not _CJK.match(text[pos - 1])) and text.startswith(_BARE_TOPICS, m.end())
    window = text[m.end(): m.end() + _TOPIC_WINDOW]
    return any(t in window for t in _TOPICS)


# Topics of the headings that come after the tables (the sub-heading zone ends there).
_AFTER_TABLES = ("存在的主要问题", "存在问题", "主要问题", "改进情况", "改进措施", "其他需要报告", "信息处理费")


def _topic_at(text: str, pos: int, topics: tuple[str, ...]) -> bool:
    window = text[pos + 1: pos + 2 + _TOPIC_WINDOW]
    return any(t in window for t in topics)


def _split_flattened(line: str) -> list[str]:
    """Split a flattened body before its section headings and (outside the tables)
    before （一）-style sub-headings. Table text is kept on the line it started on."""
    cuts: list[int] = []
    for m in _SECTION_START.finditer(line):
        if m.start() > 0 and _is_section_heading_at(line, m.start()):
            cuts.append(m.start())
    if len(cuts) < 2:
        return [line]
    # Table zone: from the first 第二十条 (or section 二's heading) to section 五's heading.
    zone_start = line.find("第二十条")
    zone_end = next((c for c in cuts if _topic_at(line, c, _AFTER_TABLES)), len(line))
    if zone_start < 0:
        zone_start = next((c for c in cuts if _topic_at(line, c, ("主动公开",))), len(line))
    for m in _SUBHEADING_START.finditer(line):
        p = m.start()
        if p > 0 and not (zone_start <= p < zone_end):
            cuts.append(p)
    cuts = sorted(set(cuts))
    pieces, prev = [], 0
    for c in cuts:
        piece = line[prev:c].rstrip()
        if piece.strip():
            pieces.append(piece)
        prev = c
    pieces.append(line[prev:].rstrip())
    return [p.strip() for p in pieces if p.strip()]
