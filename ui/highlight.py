"""Finding a cited passage or table row in a report's text, and showing it marked.

    spans = quote_spans(text, "交岔乡认真贯彻落实《条例》。")   # [(start, end)] in text
    spans = row_spans(text, "依申请|本年新收")                  # the row's label and its numbers
    html = marked_html(text, spans, first_id="nb-hit")          # escaped, <mark> around spans

A quote is found sentence by sentence, ignoring white space (PDF and Markdown text
break lines inside sentences; the answer joins the sentences it quotes). A row is found
by the label the standard tables print for it (index.template.printed_label), without
its enumerator (（一）, 1.), preferring a place where numbers follow the label.
"""

from __future__ import annotations

import re

from index import template as T

from .markup import esc

MIN_PIECE = 6  # shorter pieces of a quote ('一、', '0件。') would match anywhere
_SENTENCE_END = re.compile(r"(?<=[。！？；;!?])")
_GAP = re.compile(r"[\s。！？；;!?，,：:]{1,3}")
_ENUM = re.compile(r"^\s*(?:[（(][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+、|\d+[.．、])\s*")


def _squash(text: str) -> tuple[str, list[int]]:
    """The text without white space, and each kept character's index in the text."""
    kept, where = [], []
    for i, ch in enumerate(text):
        if not ch.isspace():
            kept.append(ch)
            where.append(i)
    return "".join(kept), where


def quote_pieces(quote: str) -> list[str]:
    """The sentences of a quote worth looking for (without their end punctuation)."""
    out = []
    for part in _SENTENCE_END.split((quote or "").replace("（以下从略）", "。")):
        part = re.sub(r"\s+", "", part).strip("。！？；;!?，,：:")
        if len(part) >= MIN_PIECE:
            out.append(part)
    return out


def quote_spans(text: str, quote: str | None) -> list[tuple[int, int]]:
    """Where the sentences of ``quote`` are in ``text`` (each sentence's first place)."""
    if not quote or not text:
        return []
    flat, where = _squash(text)
    spans = []
    for piece in quote_pieces(quote):
        at = flat.find(piece)
        if at >= 0:
            spans.append((where[at], where[at + len(piece) - 1] + 1))
    return merge(spans, text)


def row_labels(row: str | None) -> list[str]:
    """The words a report may print for a table row key, without enumerators: the
    templates' label ('行政规范性文件', '本机关不掌握相关政府信息'), then the key's own
    words ('规范性文件': how 2019-style reports print it)."""
    if not row:
        return []
    key = row.split("|", 1)[1] if "|" in row else row
    out = []
    for label in (T.printed_label(key) or key, key.split("-")[-1]):
        label = label.split()[-1] if label.split() else label  # '（四）无法提供 1.本机关…' -> '1.本机关…'
        label = _ENUM.sub("", label)
        if label and label not in out:
            out.append(label)
    return out


def row_spans(text: str, row: str | None) -> list[tuple[int, int]]:
    """The row's label in ``text`` and the numbers printed after it: the first place where
    numbers follow (trying each of row_labels in turn), else the first label's first place."""
    if not text:
        return []
    flat, where = _squash(text)
    first = None
    for label in row_labels(row):
        at = flat.find(label)
        while at >= 0:
            end = at + len(label)
            numbers = re.match(r"[-\d.,，|]*\d", flat[end:])
            if numbers:
                end += numbers.end()
                return [(where[at], where[end - 1] + 1)]
            first = first or (where[at], where[end - 1] + 1)
            at = flat.find(label, at + 1)
    return [first] if first else []


def matches_row(cells: list[str], row: str | None) -> bool:
    """Whether a table row (its cell strings) is the row ``row`` (its label is in a cell)."""
    labels = row_labels(row)
    heads = [_ENUM.sub("", re.sub(r"\s+", "", c or "")) for c in cells[:3]]
    return any(h.startswith(label) for h in heads for label in labels)


def merge(spans: list[tuple[int, int]], text: str | None = None) -> list[tuple[int, int]]:
    """Overlapping spans as one; with ``text``, also spans only punctuation apart (the
    '；' between two quoted clauses is marked with them)."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and (s <= out[-1][1] or (text is not None and _GAP.fullmatch(text[out[-1][1]:s]))):
            out[-1] = (out[-1][0], max(e, out[-1][1]))
        else:
            out.append((s, e))
    return out


def marked_html(text: str, spans: list[tuple[int, int]], first_id: str | None = None,
                offset: int = 0) -> str:
    """``text`` escaped, with <mark class="nb-hit"> around each span (spans are positions
    in a larger text that starts ``offset`` characters before this one); the first mark
    gets ``first_id``."""
    out, pos = [], 0
    for s, e in spans:
        s, e = max(s - offset, 0), min(e - offset, len(text))
        if e <= s or s < pos:
            continue
        out.append(esc(text[pos:s]))
        ident = f' id="{first_id}"' if first_id else ""
        first_id = None
        out.append(f'<mark class="nb-hit"{ident}>{esc(text[s:e])}</mark>')
        pos = e
    out.append(esc(text[pos:]))
    return "".join(out)


def mark_grid_row(grid: str, key: str, ident: str | None = None) -> str:
    """A table of ui.markup.grid_html with the row ``key`` marked (class nb-hit-row, and
    ``ident`` as its id): its header cell is the row's printed label."""
    label = re.escape(esc(T.printed_label(key)))
    attrs = ' class="nb-hit-row"' + (f' id="{ident}"' if ident else "")
    return re.sub(rf"<tr(\s[^>]*)?>(<th[^>]*>{label}</th>)", rf"<tr{attrs}>\2", grid, count=1)
