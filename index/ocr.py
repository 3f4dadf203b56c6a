"""Read a page image (a scanned PDF page) into the text lines and table fragments that
``index.load_pdf`` builds from a text layer.

Engine: RapidOCR (``rapidocr-onnxruntime``; PP-OCRv4 Chinese detection and recognition
models shipped inside the wheel, nothing downloaded at run time). The engine is created
once per process (:func:`engine`), so a build loads it once. We call its detector and
its recognition model directly: its own decoder keeps only the best character, and we
need each character's probability and runner-up to flag doubtful digits.

A page, step by step:

1. Render at ``OCR_DPI`` (200; scans are 150-300 dpi) and drop strongly red pixels (the
   round seal stamped over the signature would otherwise hide the text under it).
2. Detect text boxes; their median slope is the page's skew: the image and the boxes
   are rotated back, so table rulings become horizontal and vertical.
3. Rulings: a morphological opening of the binarised page with a long horizontal
   (vertical) kernel keeps the table lines and drops the text. Each group of touching
   rulings that spans a good part of the page is a table; its row and column lines are
   the clustered line positions (plus the group's bounding box, for tables drawn
   without outer borders). Two neighbouring slots are one merged cell when the ruling
   between them is missing (< 50% inked). As pdfplumber does, a merged cell's text goes
   to its top-left slot and the other slots are ''.
4. Text boxes are cut where they cross a column line (the detector sometimes joins
   neighbouring numbers), then assigned to the cell holding their centre; a cell with
   ink but no box (the detector misses lone small digits such as '0') is recognised
   from its own crop. Boxes outside the tables are grouped into lines.
5. Every box is recognised in one batch. A table cell whose text is a number is
   *doubtful* when one of its digits was read with probability < ``DIGIT_CONFIDENCE``,
   or when the cell has ink but reads as nothing: its candidates are the reading and
   the readings with each doubtful digit replaced by the model's runner-up digits.
   ``index.tables`` marks such cells uncertain with those candidates;
   ``index.ocr_review`` adds the cells whose confident reading breaks the template's
   arithmetic where one confusable digit would fix it.
6. A cell in a row and a column of numbers that reads as something else ('省', '口',
   a lone '/') is a number OCR could not read (:func:`misread_numbers`): it is
   emptied, so the row keeps its column positions, and doubtful. An empty column at a
   table's edge is dropped only when its outer side is not ruled (a frame line drawn
   past the border); a ruled one is a column printed empty.

Coordinates given back are PDF points (as pdfplumber's), so load_pdf's stitching of
tables across pages and its joining of wrapped lines work unchanged.
"""

from __future__ import annotations

import math
import re
import unicodedata
import threading
from dataclasses import dataclass, field

import numpy as np

OCR_DPI = 200
DET_SCALE = 0.75  # text boxes are found on a 150 dpi copy (2.5x faster), read at 200 dpi
DIGIT_CONFIDENCE = 0.9  # below: a digit is doubtful (measured: see BENCHMARKS.md)
ALT_MIN_PROB = 0.02  # a runner-up digit below this is not a candidate
MODES = ("auto", "off", "force")

_NUMBER = re.compile(r"^-?\d[\d,，]*(?:\.\d+)?$")
_lock = threading.Lock()
_engine = None
ENGINE_LOADS = 0  # how many times this process loaded the models (once, normally)


class OcrUnavailable(RuntimeError):
    pass


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"ocr mode {mode!r}: must be one of {', '.join(MODES)}")
    return mode


def engine():
    """The OCR engine, created on first use and shared by every page of the process."""
    global _engine, ENGINE_LOADS
    with _lock:
        if _engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
                from rapidocr_onnxruntime.utils import infer_engine
            except ImportError as error:  # pragma: no cover - depends on the install
                raise OcrUnavailable(f"OCR engine not installed ({error})") from error
            # onnxruntime's worker threads spin while waiting: on a busy 2-core machine
            # that made a page 2-3x slower. RapidOCR has no setting for it.
            make_opts = infer_engine.OrtInferSession._init_sess_opts

            def no_spinning(config):
                opts = make_opts(config)
                opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
                return opts

            infer_engine.OrtInferSession._init_sess_opts = staticmethod(no_spinning)
            try:
                _engine = RapidOCR()
                ENGINE_LOADS += 1
            finally:
                infer_engine.OrtInferSession._init_sess_opts = staticmethod(make_opts)
        return _engine


def engine_loaded() -> bool:
    return _engine is not None


# --------------------------------------------------------------------------- results


@dataclass
class Reading:
    text: str
    probs: list[float] = field(default_factory=list)  # per character
    alts: list[list[tuple[str, float]]] = field(default_factory=list)  # runners-up per character

    @property
    def confidence(self) -> float:
        return min(self.probs) if self.probs else 0.0


@dataclass
class OcrCell:
    text: str
    candidates: list[str] = field(default_factory=list)  # non-empty: doubtful


@dataclass
class OcrTable:
    rows: list[list[str]]
    xs: list[float]  # x0 of every column, points
    top: float
    bottom: float
    x0: float
    x1: float
    doubtful: dict[tuple[int, int], list[str]] = field(default_factory=dict)


@dataclass
class OcrLine:
    text: str
    top: float
    x1: float
    size: float


@dataclass
class OcrPage:
    tables: list[OcrTable]
    lines: list[OcrLine]
    chars: int  # characters read in all

    @property
    def doubtful_cells(self) -> int:
        return sum(len(t.doubtful) for t in self.tables)


# --------------------------------------------------------------------------- image


def render(pdf_page, dpi: int = OCR_DPI) -> np.ndarray:
    """RGB pixels of a pdfplumber page (rendered by pypdfium2, pdfplumber's renderer)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf_page.pdf.stream)
    try:
        page = doc[pdf_page.page_number - 1]
        img = page.render(scale=dpi / 72).to_numpy()
        page.close()
    finally:
        doc.close()
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return np.ascontiguousarray(img[:, :, :3])


def _drop_red(img: np.ndarray) -> np.ndarray:
    """Strongly red pixels (a seal) become the paper colour; black print is kept."""
    r, g, b = (img[:, :, k].astype(np.int16) for k in range(3))
    red = (r - np.maximum(g, b)) > 60
    if not red.any():
        return img
    out = img.copy()
    paper = np.median(img.reshape(-1, 3), axis=0).astype(np.uint8)
    out[red] = paper
    return out


def _binary(grey: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 12)


def _skew(boxes: list[np.ndarray]) -> float:
    """The page's skew in degrees, from the slope of long text boxes."""
    angles = []
    for b in boxes:
        w = np.linalg.norm(b[1] - b[0])
        h = np.linalg.norm(b[3] - b[0])
        if w > 4 * h and w > 60:
            angles.append(math.degrees(math.atan2(b[1][1] - b[0][1], b[1][0] - b[0][0])))
    return float(np.median(angles)) if len(angles) >= 3 else 0.0


# --------------------------------------------------------------------------- rulings


@dataclass
class _Table:
    x0: int
    y0: int
    x1: int
    y1: int
    xs: list[int]
    ys: list[int]
    owner: dict[tuple[int, int], tuple[int, int]]  # slot -> top-left slot of its cell
    extent: dict[tuple[int, int], tuple[int, int]]  # top-left slot -> bottom-right slot
    ruled: list[float] = field(default_factory=list)  # inked share of each column line (xs)


def _cluster(values: list[float], tol: float) -> list[int]:
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tol:
            out[-1].append(v)
        else:
            out.append([v])
    return [int(round(sum(c) / len(c))) for c in out]


def _text_mask(shape, boxes: list[np.ndarray]) -> np.ndarray:
    """The core of every text box (shrunk by a quarter of its height): a "ruling" found
    there is a stroke of a character."""
    mask = np.zeros(shape, np.uint8)
    for b in boxes:
        x0, y0 = b.min(axis=0)
        x1, y1 = b.max(axis=0)
        m = 0.25 * min(x1 - x0, y1 - y0)
        xa, ya, xb, yb = int(x0 + m), int(y0 + m), int(x1 - m), int(y1 - m)
        if xb > xa and yb > ya:
            mask[max(0, ya):yb, max(0, xa):xb] = 1
    return mask


def _not_text(segments, text: np.ndarray, axis: int):
    out = []
    for pos, a, b in segments:
        p = min(int(round(pos)), (text.shape[0] if axis == 1 else text.shape[1]) - 1)
        line = text[p, a:b] if axis == 1 else text[a:b, p]
        if line.size == 0 or line.mean() < 0.5:  # a ruling may cross a box, not run inside text
            out.append((pos, a, b))
    return out


def _find_tables(bw: np.ndarray, dpi: int, boxes: list[np.ndarray]) -> list[_Table]:
    import cv2

    h, w = bw.shape
    k_h = max(20, int(dpi * 0.25))
    # short enough for the column lines of a 0.15-inch row; character strokes that
    # survive it are dropped by the text mask and by the row-line test below
    k_v = max(12, int(dpi * 0.12))
    text = _text_mask(bw.shape, boxes)
    horiz = cv2.morphologyEx(bw, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (k_h, 1)))
    vert = cv2.morphologyEx(bw, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, k_v)))
    # bridge the small gaps blur and JPEG leave in a ruling
    horiz = cv2.dilate(horiz, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 3)))
    vert = cv2.dilate(vert, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 5)))
    mask = cv2.bitwise_or(horiz, vert)
    n, _, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(mask, np.ones((5, 5), np.uint8)))
    tol = max(4, int(dpi * 0.04))
    tables = []
    for k in range(1, n):
        x, y, bw_, bh, _ = stats[k]
        if bw_ < w * 0.25 or bh < dpi * 0.2:
            continue
        x1, y1 = x + bw_, y + bh
        hs = _not_text([(p + y, a + x, b + x) for p, a, b in _segments(horiz[y:y1, x:x1], 1, k_h)], text, 1)
        vs = _not_text([(p + x, a + y, b + y) for p, a, b in _segments(vert[y:y1, x:x1], 0, k_v)], text, 0)
        # the frame: the long rulings (a bold heading just above a table can touch it)
        frame = [s for s in hs if s[2] - s[1] >= 0.5 * bw_]
        if len(frame) < 2:
            continue
        # a table cut by the page break may have no ruling along the cut: the ends of
        # its long column lines are its edge
        posts = [s for s in vs if s[2] - s[1] >= 0.5 * bh]
        top = min([s[0] for s in frame] + [s[1] for s in posts])
        bottom = max([s[0] for s in frame] + [s[2] for s in posts])
        left = min([s[1] for s in frame] + [s[0] for s in posts])
        right = max([s[2] for s in frame] + [s[0] for s in posts])
        hs = [s for s in hs if top - tol <= s[0] <= bottom + tol]
        ys = _cluster([s[0] for s in hs] + [top, bottom], tol)
        # a column line runs from one row line to another; a column of vertical text
        # (本年度办理结果, its strokes stacked) opens into a "line" that does not
        row_h = float(np.median(np.diff(ys))) if len(ys) > 1 else 0.0
        end_tol = min(2 * tol, 0.3 * row_h)
        vs = [s for s in vs if left - tol <= s[0] <= right + tol and _near(s[1], ys, end_tol)
              and _near(s[2], ys, end_tol)]
        # and a column line spans two rows or more, or lines up with another one
        # (or sits in the first or last row: a table cut by a page break)
        vs = [s for s in vs if s[2] - s[1] >= 1.5 * row_h
              or abs(s[1] - ys[0]) <= end_tol or abs(s[2] - ys[-1]) <= end_tol
              or any(o is not s and abs(o[0] - s[0]) <= tol and (o[1] >= s[2] - tol or o[2] <= s[1] + tol)
                     for o in vs)]
        xs = _cluster([s[0] for s in vs] + [left, right], tol)
        # likewise a row line runs between column lines (drops long strokes of text)
        hs = [s for s in hs if _near(s[1], xs, 2 * tol) and _near(s[2], xs, 2 * tol)]
        ys = _cluster([s[0] for s in hs] + [top, bottom], tol)
        if len(ys) < 3 or len(xs) < 3:
            continue
        tables.append(_cells(horiz, vert, int(left), int(top), int(right), int(bottom), xs, ys))
    tables.sort(key=lambda t: t.y0)
    return tables


def _near(v: float, positions: list[int], tol: float) -> bool:
    return any(abs(v - p) <= tol for p in positions)


def _segments(part: np.ndarray, axis: int, min_len: float) -> list[tuple[float, int, int]]:
    """(position, start, end) of the rulings at least min_len long: horizontal ones
    (axis=1: y, x0, x1) or vertical ones (axis=0: x, y0, y1)."""
    import cv2

    n, _, stats, cents = cv2.connectedComponentsWithStats(part)
    out = []
    for k in range(1, n):
        x, y, w, h = stats[k][:4]
        if axis == 1 and w >= min_len:
            out.append((float(cents[k][1]), int(x), int(x + w)))
        elif axis == 0 and h >= min_len:
            out.append((float(cents[k][0]), int(y), int(y + h)))
    return out


def _inked(band: np.ndarray) -> float:
    if band.size == 0:
        return 0.0
    along = band.max(axis=0) if band.shape[0] < band.shape[1] else band.max(axis=1)
    return float((along > 0).mean())


def _cells(horiz, vert, x0, y0, x1, y1, xs, ys) -> _Table:
    rows, cols = len(ys) - 1, len(xs) - 1
    parent = {(i, j): (i, j) for i in range(rows) for j in range(cols)}

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    t = 4
    for i in range(rows):
        for j in range(cols):
            ya, yb = ys[i] + t, ys[i + 1] - t
            xa, xb = xs[j] + t, xs[j + 1] - t
            if j + 1 < cols and _inked(vert[ya:yb, xs[j + 1] - t:xs[j + 1] + t + 1]) < 0.5:
                union((i, j), (i, j + 1))
            if i + 1 < rows and _inked(horiz[ys[i + 1] - t:ys[i + 1] + t + 1, xa:xb].T) < 0.5:
                union((i, j), (i + 1, j))
    owner = {s: find(s) for s in parent}
    extent: dict[tuple[int, int], tuple[int, int]] = {}
    for s, o in owner.items():
        e = extent.get(o, o)
        extent[o] = (max(e[0], s[0]), max(e[1], s[1]))
    ruled = [_inked(vert[y0:y1, max(0, x - t):x + t + 1]) for x in xs]
    return _Table(x0, y0, x1, y1, xs, ys, owner, extent, ruled)


# --------------------------------------------------------------------------- recognition


def _recognize(eng, crops: list[np.ndarray]) -> list[Reading]:
    """Recognise text crops with the engine's model, keeping per-character probabilities
    and runners-up (CTC: a character's probability is its best frame's)."""
    rec = eng.text_rec
    chars = rec.postprocess_op.character
    out: list[Reading | None] = [None] * len(crops)
    order = np.argsort([c.shape[1] / max(1, c.shape[0]) for c in crops])
    batch = 8
    _, img_h, img_w = rec.rec_image_shape
    for start in range(0, len(crops), batch):
        idx = order[start:start + batch]
        ratio = max([img_w / img_h] + [crops[i].shape[1] / max(1, crops[i].shape[0]) for i in idx])
        norm = np.concatenate([rec.resize_norm_img(crops[i], ratio)[None] for i in idx]).astype(np.float32)
        preds = rec.session(norm)[0]  # (batch, frames, classes), softmaxed
        for k, i in enumerate(idx):
            out[i] = _decode(preds[k], chars)
    return out  # type: ignore[return-value]


def _decode(pred: np.ndarray, chars: list[str]) -> Reading:
    best = pred.argmax(axis=1)
    text, probs, alts = [], [], []
    t = 0
    frames = len(best)
    while t < frames:
        c = best[t]
        end = t
        while end + 1 < frames and best[end + 1] == c:
            end += 1
        if c != 0:
            peak = t + int(pred[t:end + 1, c].argmax())
            row = pred[peak]
            top = np.argsort(row)[::-1][:4]
            text.append(chars[c])
            probs.append(float(row[c]))
            alts.append([(chars[a], float(row[a])) for a in top if a not in (c, 0) and row[a] >= ALT_MIN_PROB])
        t = end + 1
    return Reading("".join(text), probs, alts)


def _crop(img: np.ndarray, box: np.ndarray) -> np.ndarray:
    import cv2

    w = int(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3])))
    h = int(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2])))
    w, h = max(w, 2), max(h, 2)
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(box.astype(np.float32), dst)
    crop = cv2.warpPerspective(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    if h >= 1.5 * w:  # vertical text (a merged label written top to bottom)
        crop = np.rot90(crop)
    return crop


def _rect(x0, y0, x1, y1) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)


# --------------------------------------------------------------------------- page


def read_image(img: np.ndarray, dpi: int = OCR_DPI) -> OcrPage:
    """OCR one page image (RGB, ``dpi`` pixels per inch)."""
    import cv2

    eng = engine()
    img = _drop_red(img)
    small = cv2.resize(img, None, fx=DET_SCALE, fy=DET_SCALE, interpolation=cv2.INTER_AREA)
    boxes, _ = eng.text_det(small)
    boxes = [np.asarray(b, dtype=np.float32) / DET_SCALE for b in (boxes if boxes is not None else [])]
    angle = _skew(boxes)
    if abs(angle) > 0.05:
        h, w = img.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
        boxes = [cv2.transform(b[None], m)[0] for b in boxes]
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    bw = _binary(grey)
    tables = _find_tables(bw, dpi, boxes)
    boxes = _split_at_columns(boxes, tables)

    # which box goes where
    in_cell: dict[tuple[int, int, int], list[int]] = {}
    free: list[int] = []
    for b_i, b in enumerate(boxes):
        cx, cy = b[:, 0].mean(), b[:, 1].mean()
        for t_i, t in enumerate(tables):
            if t.x0 <= cx <= t.x1 and t.y0 <= cy <= t.y1:
                i = _index(t.ys, cy)
                j = _index(t.xs, cx)
                if i is not None and j is not None:
                    in_cell.setdefault((t_i, *t.owner[(i, j)]), []).append(b_i)
                break
        else:
            free.append(b_i)
    crops = [_crop(img, b) for b in boxes]
    # cells with ink but no detected box: recognise the ink itself
    extra: dict[tuple[int, int, int], int] = {}
    for t_i, t in enumerate(tables):
        for (i, j), end in t.extent.items():
            if (t_i, i, j) in in_cell:
                continue
            box = _ink_box(bw, t, (i, j), end, dpi, margin=0.0)
            if box is not None:
                extra[(t_i, i, j)] = len(crops)
                crops.append(_crop(img, box))
    readings = _recognize(eng, crops) if crops else []
    scale = 72.0 / dpi

    cells: dict[tuple[int, int, int], OcrCell] = {}
    for t_i, t in enumerate(tables):
        for (i, j) in t.extent:
            ids = in_cell.get((t_i, i, j), [])
            if ids:
                cell = _cell_text([(boxes[k], readings[k]) for k in ids])
                # text was detected but read as nothing: not a blank
                cells[(t_i, i, j)] = cell if cell.text.strip() else OcrCell("", ["?"])
            elif (t_i, i, j) in extra:
                r = readings[extra[(t_i, i, j)]]
                cell = _cell_from([r])
                if not cell.text.strip() or (r.confidence < 0.5 and not cell.candidates):
                    cell = OcrCell(cell.text, [cell.text] if cell.text else ["?"])
                cells[(t_i, i, j)] = cell
    _second_opinion(eng, img, bw, tables, cells, dpi)

    out_tables = []
    for t_i, t in enumerate(tables):
        n_rows, n_cols = len(t.ys) - 1, len(t.xs) - 1
        rows = [[""] * n_cols for _ in range(n_rows)]
        doubtful: dict[tuple[int, int], list[str]] = {}
        for (ti, i, j), cell in cells.items():
            if ti != t_i:
                continue
            rows[i][j] = cell.text
            if cell.candidates:
                doubtful[(i, j)] = cell.candidates
        xs = [x * scale for x in t.xs[:-1]]
        ruled = list(t.ruled) or [0.0] * len(t.xs)
        # an empty column at an edge whose outer side has no ruling is a frame ruling
        # drawn past the table's border; a ruled one is a column printed empty (seed
        # 003: the 行政复议 block of a table cut by a page break)
        while rows and len(rows[0]) > 2 and not any(r[-1] for r in rows) and ruled[-1] < 0.5:
            rows = [r[:-1] for r in rows]
            xs = xs[:-1]
            ruled = ruled[:-1]
        while rows and len(rows[0]) > 2 and not any(r[0] for r in rows) and ruled[0] < 0.5:
            rows = [r[1:] for r in rows]
            xs = xs[1:]
            ruled = ruled[1:]
            doubtful = {(i, j - 1): c for (i, j), c in doubtful.items()}
        misread_numbers(rows, doubtful)
        out_tables.append(OcrTable(rows=rows, xs=xs, top=t.y0 * scale,
                                   bottom=t.y1 * scale, x0=t.x0 * scale, x1=t.x1 * scale, doubtful=doubtful))
    lines = _lines([(boxes[k], readings[k]) for k in free], scale)
    chars = sum(len(r.text) for r in readings)
    return OcrPage(out_tables, lines, chars)


def _ink_box(bw: np.ndarray, t: _Table, start: tuple[int, int], end: tuple[int, int], dpi: int,
             margin: float) -> np.ndarray | None:
    """A box around the ink inside a cell (borders excluded), ``margin`` × the ink's
    height added on each side; None for an empty cell."""
    (i, j), (i2, j2) = start, end
    inset = max(4, int(dpi * 0.025))
    xa, xb = t.xs[j] + inset, t.xs[j2 + 1] - inset
    ya, yb = t.ys[i] + inset, t.ys[i2 + 1] - inset
    if xb - xa < 4 or yb - ya < 4:
        return None
    ink = np.argwhere(bw[ya:yb, xa:xb] > 0)
    if len(ink) < max(12, dpi * dpi // 4000):
        return None
    (ry0, rx0), (ry1, rx1) = ink.min(axis=0), ink.max(axis=0)
    pad = max(3, int(dpi * 0.02), int(margin * (ry1 - ry0)))
    return _rect(xa + rx0 - pad, ya + ry0 - pad, xa + rx1 + pad, ya + ry1 + pad)


def _second_opinion(eng, img, bw, tables: list[_Table], cells: dict, dpi: int) -> None:
    """Read every doubtful numeric cell again from a looser crop of its ink (a tight
    box around one small digit is what the model reads worst). A confident second
    reading settles the cell when it agrees, or when the first read nothing; when they
    disagree, both stay candidates."""
    keys = [k for k, c in cells.items() if c.candidates]
    if not keys:
        return
    crops, used = [], []
    for t_i, i, j in keys:
        t = tables[t_i]
        box = _ink_box(bw, t, (i, j), t.extent[(i, j)], dpi, margin=0.5)
        if box is not None:
            crops.append(_crop(img, box))
            used.append((t_i, i, j))
    for key, r in zip(used, _recognize(eng, crops) if crops else []):
        first, second = cells[key], _cell_from([r])
        sure = bool(second.text) and not second.candidates and _NUMBER.match(second.text)
        if sure and (second.text == first.text or first.candidates == ["?"]):
            cells[key] = second
        else:
            merged = [c for c in dict.fromkeys(first.candidates + ([second.text] if sure else second.candidates))
                      if c and c != "?"]
            cells[key] = OcrCell(first.text, merged or ["?"])


# glyphs OCR gives to a digit it cannot read well, and the digit they stand for
_GLYPH_DIGIT = {"/": "1", "／": "1", "\\": "1", "|": "1", "一": "1", "-": "1", "—": "1", "－": "1",
                "B": "8", "口": "0", "o": "0", "O": "0", "D": "0", "S": "5", "s": "5", "Z": "2",
                "z": "2", "g": "9", "q": "9", "b": "6", "G": "6", "T": "7", "l": "1", "I": "1"}
# what a report may print in an empty cell
_BLANK_MARKS = {"-", "—", "－", "——", "/", "／", "―", "–", "--", "─", "无"}


_WITH_UNIT = re.compile(r"^-?\d[\d,，]*(?:\.\d+)?(?:万元|元|件|项|个|次)$")


def _is_number(text: str) -> bool:
    """One number or several (a merged cell), a printed unit allowed ('0元')."""
    parts = text.split()
    return bool(parts) and all(_NUMBER.match(p) or _WITH_UNIT.match(p) for p in parts)


def misread_numbers(rows: list[list[str]], doubtful: dict[tuple[int, int], list[str]]) -> None:
    """A cell in a row of numbers and a column of numbers that reads as something
    else ('省', '口', 'B', '·', a lone '/') is a number OCR could not read: its text
    becomes '' (the row keeps its column positions) and it is doubtful (in place).
    A dash or slash the table prints in three cells or more is its blank mark and
    stays a blank."""
    rows_n: dict[int, int] = {}
    cols_n: dict[int, int] = {}
    marks: dict[str, int] = {}
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            if _is_number(text):
                rows_n[i] = rows_n.get(i, 0) + 1
                cols_n[j] = cols_n.get(j, 0) + 1
            elif text.strip() in _BLANK_MARKS:
                marks[text.strip()] = marks.get(text.strip(), 0) + 1
    for i, row in enumerate(rows):
        filled = sum(1 for t in row if t.strip())
        # a row of numbers (a one-row table's columns have no other number to go by)
        number_row = rows_n.get(i, 0) >= max(2, filled / 2)
        for j, raw in enumerate(row):
            text = raw.replace(" ", "")
            if not text or _is_number(raw) or len(text) > 3:
                continue
            if rows_n.get(i, 0) < 1 or (cols_n.get(j, 0) < 2 and not number_row):
                continue
            if (i, j) in doubtful:  # read with doubt already: keep the numeric readings
                row[j] = ""
                doubtful[(i, j)] = [c for c in doubtful[(i, j)] if _is_number(c)] or ["?"]
                continue
            if text in _BLANK_MARKS and marks.get(text, 0) >= 3:
                continue
            digits = "".join(_GLYPH_DIGIT.get(ch, "") for ch in text)
            cands = [digits] if len(digits) == len(text) else []
            if text in _BLANK_MARKS:
                cands.append("")  # or the blank it prints
            row[j] = ""
            doubtful[(i, j)] = cands or ["?"]


def _index(edges: list[int], v: float) -> int | None:
    for k in range(len(edges) - 1):
        if edges[k] <= v < edges[k + 1]:
            return k
    return None


def _split_at_columns(boxes: list[np.ndarray], tables: list[_Table]) -> list[np.ndarray]:
    """Cut a box that runs across a table's column line into one box per column."""
    out = []
    for b in boxes:
        x0, x1 = float(b[:, 0].min()), float(b[:, 0].max())
        y0, y1 = float(b[:, 1].min()), float(b[:, 1].max())
        cy = (y0 + y1) / 2
        cuts = []
        least = 0.5 * (y1 - y0)  # a character's width: a box poking over a line is not cut
        for t in tables:
            if t.y0 <= cy <= t.y1 and t.x0 <= (x0 + x1) / 2 <= t.x1:
                cuts = [x for x in t.xs[1:-1] if x0 + least < x < x1 - least]
                break
        if not cuts or (y1 - y0) > 1.5 * (x1 - x0):
            out.append(b)
            continue
        edges = [x0] + cuts + [x1]
        for a, c in zip(edges, edges[1:]):
            if c - a > least:
                out.append(_rect(a + 2 if a != x0 else a, y0, c - 2 if c != x1 else c, y1))
    return out


def _cell_text(items: list[tuple[np.ndarray, Reading]]) -> OcrCell:
    """The boxes of one cell in reading order (top to bottom, left to right)."""
    items = sorted(items, key=lambda it: (float(it[0][:, 1].mean()), float(it[0][:, 0].min())))
    lines: list[list[tuple[np.ndarray, Reading]]] = []
    for it in items:
        cy = float(it[0][:, 1].mean())
        if lines:
            last = lines[-1][-1][0]
            if abs(float(last[:, 1].mean()) - cy) < 0.5 * float(np.ptp(last[:, 1])):
                lines[-1].append(it)
                continue
        lines.append([it])
    ordered = []
    for line in lines:
        prev = None
        for b, r in sorted(line, key=lambda it: float(it[0][:, 0].min())):
            # numbers in separate boxes a character apart are separate numbers: keep the gap
            if prev is not None and float(b[:, 0].min()) - float(prev[:, 0].max()) > 0.8 * float(np.ptp(b[:, 1])):
                ordered.append(Reading(" ", [1.0], [[]]))
            ordered.append(r)
            prev = b
    return _cell_from(ordered)


# glyphs the model also gives to a printed digit: they count as that digit
_AS_DIGIT = {"O": "0", "o": "0", "〇": "0", "Ｏ": "0", "D": "0", "l": "1", "I": "1", "|": "1", "丨": "1"}


# a lone 一 in a number cell is a 1 or a dash (= blank): never taken on trust
_WEAK_DIGIT = {"一": "1"}


def _as_digit(ch: str) -> str:
    """A glyph as the digit it stands for ('１' and '1' are one reading)."""
    ch = unicodedata.normalize("NFKC", ch)
    return _AS_DIGIT.get(ch, ch)


def _cell_from(readings: list[Reading]) -> OcrCell:
    groups: list[list[Reading]] = [[]]
    for r in readings:
        if r.text == " ":
            groups.append([])
        else:
            groups[-1].append(r)
    groups = [g for g in groups if g]
    if len(groups) > 1:  # several numbers in one cell (a merged cell): each read on its own
        parts = [_one_value(g) for g in groups]
        if all(_NUMBER.match(p.text) for p in parts):
            text = " ".join(p.text for p in parts)
            return OcrCell(text, [text] if any(p.candidates for p in parts) else [])
    return _one_value(readings)


def _one_value(readings: list[Reading]) -> OcrCell:
    text = "".join(r.text for r in readings).strip()
    chars = [(ch, p, a) for r in readings for ch, p, a in zip(r.text, r.probs, r.alts) if ch != " "]
    as_digits = "".join(_AS_DIGIT.get(ch, _WEAK_DIGIT.get(ch, ch)) for ch, _, _ in chars)
    if not _NUMBER.match(as_digits):
        return OcrCell(text)
    if as_digits == "1" and chars[0][0] in _WEAK_DIGIT:
        return OcrCell("1", ["1", ""])
    doubtful: list[tuple[int, list[str]]] = []
    for k, (ch, p, alts) in enumerate(chars):
        digit = as_digits[k]
        if not digit.isdigit():
            continue
        if ch in _WEAK_DIGIT:
            doubtful.append((k, []))
            continue
        same = p + sum(q for a, q in alts if _as_digit(a) == digit)
        if same < DIGIT_CONFIDENCE:
            others = [_as_digit(a) for a, _ in alts]
            doubtful.append((k, [d for d in dict.fromkeys(others) if d.isdigit() and d != digit]))
    if not doubtful:
        return OcrCell(as_digits)
    candidates = [as_digits]
    for k, others in doubtful:
        for d in others:
            cand = as_digits[:k] + d + as_digits[k + 1:]
            if cand not in candidates:
                candidates.append(cand)
    return OcrCell(as_digits, candidates)


def _lines(items: list[tuple[np.ndarray, Reading]], scale: float) -> list[OcrLine]:
    """Boxes outside tables grouped into visual lines (boxes that overlap vertically)."""
    items = [it for it in items if it[1].text.strip()]
    items.sort(key=lambda it: float(it[0][:, 1].min()))
    groups: list[list[tuple[np.ndarray, Reading]]] = []
    for it in items:
        y0, y1 = float(it[0][:, 1].min()), float(it[0][:, 1].max())
        for g in groups[-3:]:
            gy0 = min(float(b[:, 1].min()) for b, _ in g)
            gy1 = max(float(b[:, 1].max()) for b, _ in g)
            overlap = min(y1, gy1) - max(y0, gy0)
            if overlap > 0.5 * min(y1 - y0, gy1 - gy0):
                g.append(it)
                break
        else:
            groups.append([it])
    out = []
    for g in groups:
        g.sort(key=lambda it: float(it[0][:, 0].min()))
        parts = []
        prev_x1 = None
        heights = [float(np.ptp(b[:, 1])) for b, _ in g]
        size = float(np.median(heights))
        for b, r in g:
            if prev_x1 is not None and float(b[:, 0].min()) - prev_x1 > 1.5 * size:
                parts.append(" ")
            parts.append(r.text)
            prev_x1 = float(b[:, 0].max())
        top = min(float(b[:, 1].min()) for b, _ in g)
        x1 = max(float(b[:, 0].max()) for b, _ in g)
        out.append(OcrLine("".join(parts), top * scale, x1 * scale, size * scale))
    out.sort(key=lambda ln: ln.top)
    return out
