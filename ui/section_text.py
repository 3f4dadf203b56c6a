"""A report's text as a citizen should read it: paragraphs, headings and tables, with
no Markdown showing through and no table flattened into the prose.

    blocks = text_blocks(section_text, table_section=False)
    # [("p", "…"), ("h", "表二：主动公开政府信息情况"), ("table", [["规章", "0", …], …])]
    title = clean_title("二、主动公开政府信息情况第二十条第（一）项…规章000", 2)  # '二、主动公开政府信息情况'

Reports reach the index as text, Markdown (a PDF converted), HTML or PDF. Two things
leak through into section text:

- Markdown: ``| 规章 | 22 | 235 |`` rows and ``|---|`` rules become a table; ``## 表二``
  becomes a heading; ``**`` goes.
- A table read as a line of text: crawled pages print the standard tables as one run
  (``…规章000规范性文件898989第二十条…``). Sentences with the tables' own words
  (第二十条第（…）项, 信息内容, 勾稽关系, 申请人情况 …) or mostly digits and no comma are
  table text, not prose, and are left out; in sections 二–四 (the tables' own sections)
  only whole sentences ending in 。 are kept, since the table is shown as a table.
"""

from __future__ import annotations

import re

TABLE_SECTIONS = (2, 3, 4)
_TABLE_WORDS = re.compile(
    r"第二十条第[（(]|信息内容(?:本年|上一年|采购)|本年新制作数量|本年制发件数|勾稽关系|申请人情况|"
    r"结果维持|结果纠正|尚未审结|未经复议直接起诉|上一年项目数量|采购项目数量|本年处理决定数量|"
    r"本年收费金额|现行有效件数|^\s*\|")
_SENTENCE = re.compile(r"[^。！？]*[。！？]+[”’」）)]*|[^。！？]+$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*")
_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_STANDARD_TITLE = re.compile(
    r"^\s*([一二三四五六七八九十]+、\s*[^\d。，,；（(第]{2,30}(?:情况|事项|问题))")


def clean_title(title: str | None, number: int, standard: dict[int, str] | None = None) -> str:
    """A section heading without the text that runs on after it (a flattened table)."""
    title = _HEADING.sub("", (title or "").replace("**", "")).strip()
    m = _STANDARD_TITLE.match(title)
    if m and len(title) > len(m.group(1)) + 2:
        return m.group(1).strip()
    if title and len(title) <= 40 and not _TABLE_WORDS.search(title):
        return title
    return (standard or {}).get(number) or (m.group(1).strip() if m else title[:20])


def without_title(text: str, title: str) -> str:
    """The section's text without the heading it starts with (shown as its summary)."""
    squashed = re.sub(r"\s+", "", title)
    if not squashed:
        return text
    kept = 0
    for i, ch in enumerate(text):
        if ch.isspace():
            continue
        if kept == len(squashed):
            return text[i:].lstrip("：: \n")
        if ch != squashed[kept]:
            return text
        kept += 1
    return "" if kept == len(squashed) else text


def looks_like_table_text(sentence: str) -> bool:
    """A sentence that is a table read as text (see the module doc)."""
    s = re.sub(r"\s+", "", sentence)
    if not s:
        return True
    if _TABLE_WORDS.search(s):
        return True
    digits = sum(ch.isdigit() for ch in s)
    return digits >= 6 and digits > 0.3 * len(s) and not re.search(r"[，,；;]", s)


def prose(paragraph: str, whole_sentences_only: bool) -> str:
    """The sentences of a paragraph that are prose (table text left out)."""
    kept = []
    for m in _SENTENCE.finditer(paragraph):
        sentence = m.group(0)
        if not sentence.strip() or looks_like_table_text(sentence):
            continue
        if whole_sentences_only and not re.search(r"[。！？][”’」）)]*\s*$", sentence):
            continue
        kept.append(sentence)
    return "".join(kept).strip()


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    return [c.strip().replace("**", "") for c in inner.split("|")]


def text_blocks(text: str, table_section: bool = False) -> list[tuple[str, object]]:
    """Paragraphs ("p", str), headings ("h", str) and Markdown tables ("table", rows).
    In a table section (二–四) the Markdown tables are fragments of the standard table
    shown elsewhere: they and their captions are left out, and only whole sentences kept."""
    blocks: list[tuple[str, object]] = []
    rows: list[list[str]] = []

    def end_table():
        if rows and not table_section:
            blocks.append(("table", [r for r in rows if any(c for c in r)]))
        rows.clear()

    for line in (text or "").splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            if not _RULE.match(stripped):
                rows.append(_cells(stripped))
            continue
        end_table()
        if not stripped:
            continue
        if _HEADING.match(line) and stripped.startswith("#"):
            heading = _HEADING.sub("", stripped).replace("**", "").strip()
            if heading and not (table_section and re.match(r"^表[一二三四五]", heading)):
                blocks.append(("h", heading))
            continue
        kept = prose(stripped.replace("**", ""), whole_sentences_only=table_section)
        if kept:
            blocks.append(("p", kept))
    end_table()
    return blocks


def plain_text(blocks: list[tuple[str, object]]) -> str:
    """The blocks' words as one text (to look for a quote in)."""
    out = []
    for kind, value in blocks:
        out.append("\n".join(" ".join(r) for r in value) if kind == "table" else str(value))
    return "\n".join(out)
