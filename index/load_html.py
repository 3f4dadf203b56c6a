"""Load a saved web page (a report published as HTML) into a ``Document``.

What it does:

* Decoding: UTF-8 first (valid UTF-8 is a strong signal), then the charset the page
  declares in ``<meta>``, then :func:`index.normalize.decode_bytes`.
* Site chrome: ``script``/``style``/``nav``/iframes/form controls and ``display:none``
  blocks are dropped, then the *report body* is chosen: the deepest element that holds the most
  of the report's section headings (一、总体情况, 主动公开政府信息情况, 收到和处理政府信息公开
  申请, 行政复议, 存在的主要问题, 其他需要报告的事项).  The report heading that sites put
  just above the article (``<h1>…年度报告</h1>``) is taken from right before that
  element.  A page without those headings falls back to a text-density walk (descend
  into the child container holding most of the text).  Everything outside the body
  (menus, breadcrumbs, a site's 索引号/发布机构 metadata table, footers) is left out.
* ``lines``: one ``Line`` per block (``p``, ``div``, ``h1``…, ``li``, …; ``<br>`` breaks a
  line); the inline runs of a block (``span``/``font``/``b``… as Word exports them) are
  joined, white space collapsed, spaces between Chinese characters removed,
  :func:`normalize_text` applied.  Text inside data tables is not in ``lines``.
* ``grids``: every ``<table>`` that is not a layout table (layout = holds a nested
  table, or has a single column) becomes a ``Grid``.  ``rowspan``/``colspan`` are
  expanded so that each row has one string per grid column: **a spanned cell's text is
  in its first (top-left) slot, the slots it covers are ''** (never repeated).  Blank
  cells (``&nbsp;``, ``<o:p> </o:p>``) are ''.  A rowspan that runs past the last row is
  clipped, as browsers do.  Rows are padded with '' to the widest row.
  ``line_after`` is the number of the last ``Line`` before the table (0 if none).
* ``title``: the report heading when one is found (``…政府信息公开…报告``), else the
  page's first ``<title>``.

Raises :class:`IngestError` for an empty file, binary data, undecodable bytes, or a
page with no text.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import CData, Comment, Declaration, Doctype, ProcessingInstruction

from index.document import Document, Grid, IngestError, Line, read_report_bytes
from index.normalize import compact, decode_bytes, normalize_text, squeeze_cjk_spaces

_SKIP = {
    "script", "style", "noscript", "template", "nav", "iframe", "frame", "frameset",
    "object", "embed", "applet", "svg", "canvas", "select", "option", "button", "input",
    "textarea", "head", "title", "meta", "link", "map", "audio", "video", "area",
}
_BLOCK = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd",
    "blockquote", "pre", "section", "article", "header", "footer", "main", "aside",
    "center", "address", "figure", "figcaption", "form", "hr", "tr", "td", "th",
    "caption", "fieldset", "legend", "details", "summary", "body", "html", "table",
    "thead", "tbody", "tfoot", "ucapcontent",
}
_LEAF_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "pre", "span",
                "font", "b", "strong", "a", "em", "i", "u", "blockquote", "caption"}
_NON_TEXT = (Comment, CData, Declaration, Doctype, ProcessingInstruction)

# Section headings of the report template (2019 and 2021 versions), compacted.
_MARKERS = ("总体情况", "主动公开政府信息情况", "收到和处理政府信息公开申请",
            "行政复议", "存在的主要问题", "其他需要报告的事项")
_TITLE_RE = re.compile(r"(政府信息公开|政务公开).{0,12}报告")
_HIDDEN_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_WS = re.compile(r"\s+")
_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-]+)", re.I)
_GB_ALIASES = {"gb2312", "gbk", "x-gbk", "gb_2312-80", "gb_2312", "cp936", "ms936", "euc-cn"}


def load_html(path: str) -> Document:
    data = read_report_bytes(path)
    text = _decode(data, path)

    soup = BeautifulSoup(text, "lxml")
    page_title = None
    if soup.title is not None:
        page_title = _clean(soup.title.get_text(" ")) or None
    _strip_chrome(soup)
    root = soup.body or soup
    core = _find_report_body(root)

    lines: list[Line] = []
    grids: list[Grid] = []
    heading = _preceding_title(core) if core is not root else None
    if heading:
        lines.append(Line(heading, 1))
    _Walker(lines, grids).run(core)

    if not lines and not any(any(c for c in row) for g in grids for row in g.rows):
        raise IngestError(path, "no text in HTML page")

    title = heading
    if title is None:
        for line in lines[:5]:
            if _looks_like_title(line.text):
                title = line.text
                break
    return Document(path=path, format="html", lines=lines, grids=grids,
                    title=title or page_title)


# --------------------------------------------------------------------------- decoding

def _decode(data: bytes, path: str) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise IngestError(path, "undecodable UTF-16 text") from None
    if b"\x00" in data[:8192]:
        raise IngestError(path, "binary data, not an HTML page")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    m = _META_CHARSET.search(data[:8192])
    if m:
        enc = m.group(1).decode("ascii", "replace").lower()
        if enc in _GB_ALIASES:
            enc = "gb18030"
        try:
            return data.decode(enc)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        text = decode_bytes(data)
    except UnicodeDecodeError:
        raise IngestError(path, "cannot decode the bytes in any known text encoding") from None
    bad = sum(1 for ch in text[:20000] if ord(ch) < 32 and ch not in "\t\n\r\f")
    if bad > 0.02 * min(len(text), 20000):
        raise IngestError(path, "binary data, not an HTML page")
    return text


# --------------------------------------------------------------------- page clean-up

def _strip_chrome(soup: BeautifulSoup) -> None:
    for tag in soup.find_all(list(_SKIP)):
        if tag.name == "title" and tag.parent is not None and tag.parent.name == "head":
            continue
        tag.decompose()
    for tag in soup.find_all(style=_HIDDEN_RE):
        tag.decompose()
    for tag in soup.find_all(attrs={"hidden": True}):
        tag.decompose()


def _clean(text: str) -> str:
    return squeeze_cjk_spaces(_WS.sub(" ", normalize_text(text)).strip())


def _looks_like_title(text: str) -> bool:
    return len(text) <= 80 and bool(_TITLE_RE.search(compact(text)))


def _find_report_body(root: Tag) -> Tag:
    """The deepest element holding the most report section headings (short blocks
    such as ``<p>一、总体情况</p>``; an introduction that lists the sections in one long
    sentence does not count); else the element a text-density walk ends in."""
    block_names = _BLOCK - {"body", "html", "table", "thead", "tbody", "tfoot", "tr"}
    seen: dict[int, Tag] = {}
    holders: dict[int, tuple[Tag, set[str], int]] = {}
    for s in root.find_all(string=True):
        if isinstance(s, _NON_TEXT):
            continue
        # the nearest block ancestor (a plain walk: find_parent builds a matcher per call,
        # which was half the time of parsing an HTML report)
        block = next((p for p in s.parents if p.name in block_names), None) or s.parent
        if block is None or id(block) in seen:
            continue
        seen[id(block)] = block
        txt = compact(block.get_text())
        if not txt or len(txt) > 40:
            continue
        found = {m for m in _MARKERS if m in txt}
        if not found:
            continue
        chain = [block, *block.parents]
        for depth, el in enumerate(reversed(chain)):
            entry = holders.setdefault(id(el), (el, set(), depth))
            entry[1].update(found)
    if holders:
        el, marks, _ = max(holders.values(), key=lambda e: (len(e[1]), e[2]))
        if len(marks) >= 2:
            return el
    # Fallback: descend while one child holds most of the text.
    node = root
    while True:
        total = len(compact(node.get_text()))
        if total == 0:
            return node
        nxt = None
        for child in node.find_all(True, recursive=False):
            if child.name in _LEAF_BLOCKS:
                continue  # never narrow the body down to one paragraph
            if len(compact(child.get_text())) >= 0.7 * total:
                nxt = child
                break
        if nxt is None:
            return node
        node = nxt


def _preceding_title(core: Tag) -> str | None:
    """A report heading placed just before the body (``<h1>…年度报告</h1>``), when the
    body itself does not start with one."""
    first = next((s for s in core.find_all(string=True) if _clean(str(s))), None)
    if first is not None:
        block = first.find_parent(list(_BLOCK - {"body", "html"}))
        if block is not None and _looks_like_title(_clean(block.get_text())):
            return None  # the body carries its own heading
    ancestors = {id(a) for a in core.parents}
    for el in core.find_all_previous(["h1", "h2", "h3", "h4", "h5", "h6", "p", "div",
                                      "td", "th", "span", "strong", "b", "font",
                                      "ucaptitle"], limit=60):
        if id(el) in ancestors:
            continue
        txt = _clean(el.get_text())
        if txt and _looks_like_title(txt):
            return txt
    return None


# ----------------------------------------------------------------------- text walk

class _Walker:
    def __init__(self, lines: list[Line], grids: list[Grid]):
        self.lines = lines
        self.grids = grids
        self.buf: list[str] = []

    def run(self, node: Tag) -> None:
        self._walk(node)
        self._flush()

    def _flush(self) -> None:
        if not self.buf:
            return
        text = _clean("".join(self.buf))
        self.buf = []
        if text:
            self.lines.append(Line(text, len(self.lines) + 1))

    def _walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, _NON_TEXT):
                    self.buf.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name in _SKIP:
                continue
            if name == "br":
                self._flush()
            elif name == "table" and not _is_layout_table(child):
                self._flush()
                rows, spanned = _table_rows(child)
                self.grids.append(Grid(rows=rows, line_after=len(self.lines), spanned=spanned))
            elif name in _BLOCK:
                self._flush()
                self._walk(child)
                self._flush()
            else:
                self._walk(child)


def _is_layout_table(table: Tag) -> bool:
    if table.find("table") is not None:
        return True
    widest = 0
    for tr in table.find_all("tr"):
        widest = max(widest, len(tr.find_all(["td", "th"], recursive=False)))
    return widest <= 1


def _cell_join(cell: Tag) -> str:
    out: list[str] = []

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, _NON_TEXT):
                    out.append(str(child))
            elif isinstance(child, Tag) and child.name not in _SKIP:
                if child.name == "br" or child.name in _BLOCK:
                    out.append(" ")
                    walk(child)
                    out.append(" ")
                else:
                    walk(child)

    walk(cell)
    return _clean("".join(out))


def _span(value, default: int = 1) -> int:
    try:
        n = int(str(value).strip().rstrip(";"))
    except (TypeError, ValueError):
        return default
    return n


def _table_rows(table: Tag) -> tuple[list[list[str]], set[tuple[int, int]]]:
    """The table's rows (spans expanded) and the slots covered by a colspan."""
    trs = [tr for tr in table.find_all("tr") if tr.find_all(["td", "th"], recursive=False)]
    n = len(trs)
    occupied: dict[int, set[int]] = {}
    spanned: set[tuple[int, int]] = set()
    rows: list[list[str]] = []
    for r, tr in enumerate(trs):
        taken = occupied.get(r, set())
        row: dict[int, str] = {c: "" for c in taken}
        col = 0
        for cell in tr.find_all(["td", "th"], recursive=False):
            while col in taken:
                col += 1
            cs = max(1, min(_span(cell.get("colspan")), 200))
            rs = _span(cell.get("rowspan"))
            rs = n - r if rs <= 0 else min(rs, n - r)  # rowspan=0: to the end; clip
            row[col] = _cell_join(cell)
            for k in range(1, cs):
                row[col + k] = ""
                spanned.add((r, col + k))
            for dr in range(1, rs):
                occupied.setdefault(r + dr, set()).update(range(col, col + cs))
                spanned.update((r + dr, col + k) for k in range(1, cs))
            col += cs
        width = max(row) + 1 if row else 0
        rows.append([row.get(c, "") for c in range(width)])
    width = max((len(r) for r in rows), default=0)
    return [r + [""] * (width - len(r)) for r in rows], spanned
