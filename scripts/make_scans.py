#!/usr/bin/env python
"""Make realistic scanned versions of PDF reports (for OCR tests and benchmarks).

    python scripts/make_scans.py tests/fixtures/real/r002_huaian_hongze_2024.pdf --out var/scans
    python scripts/make_scans.py report.pdf --out var/scans --quality poor --seal
    python scripts/make_scans.py report.pdf --out var/scans --pages 3,4   # mixed: only pages 3-4 scanned

Each chosen page is rendered (pypdfium2) at the quality's resolution, then made to look
like a page that was printed, stamped and scanned: a red seal over the last page's
signature (``--seal``), a grey, slightly uneven paper background, a slight rotation, a
blur, and JPEG compression; the JPEG goes into the PDF as the page (no text layer, no
Title in the metadata, as a scanner writes it). Pages not chosen keep their text layer
(a mixed PDF). The degradation is seeded from the file name: the same input gives the
same scan.

Qualities (``--quality``): ``good`` 200 dpi, ≤0.4° rotation, light blur, JPEG q85;
``fair`` 150 dpi, ≤0.8°, blur 0.7 px, q60, grey paper; ``poor`` 150 dpi, ≤1.5°, blur
1.0 px, q35, darker paper with noise.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFilter, ImageFont


@dataclass(frozen=True)
class Quality:
    dpi: int
    max_rotation: float  # degrees, either way
    blur: float  # Gaussian radius in pixels
    jpeg: int  # JPEG quality
    paper: int  # background grey level (255 = white)
    noise: float  # std of the per-pixel noise


QUALITIES = {
    "good": Quality(dpi=200, max_rotation=0.4, blur=0.4, jpeg=85, paper=245, noise=2.0),
    "fair": Quality(dpi=150, max_rotation=0.8, blur=0.7, jpeg=60, paper=228, noise=5.0),
    "poor": Quality(dpi=150, max_rotation=1.5, blur=1.0, jpeg=35, paper=212, noise=9.0),
}


def _font(size: int):
    for path in ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
                 "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
                 "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"):
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return None  # no CJK font: the seal is a ring and a star only


def _seal(img: Image.Image, rng: random.Random, dpi: int) -> None:
    """A red round official seal over the lower right (where the body signs and dates)."""
    w, h = img.size
    r = int(dpi * 0.8)  # a 4 cm seal
    text_bottom = _last_ink_row(img)
    cx = int(w * rng.uniform(0.62, 0.72))
    cy = min(h - r - 10, max(r + 10, text_bottom - int(r * 0.6)))
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    red = (214, 40, 40, 150)
    d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=red, width=max(3, r // 18))
    star = [(cx + r * 0.28 * math.cos(math.radians(-90 + k * 36)) * (1 if k % 2 == 0 else 0.4),
             cy + r * 0.28 * math.sin(math.radians(-90 + k * 36)) * (1 if k % 2 == 0 else 0.4))
            for k in range(10)]
    d.polygon(star, fill=red)
    font = _font(max(10, r // 5))
    if font is not None:
        text = "人民政府办公室"
        for k, ch in enumerate(text):  # along the upper arc
            angle = math.radians(-150 + k * 120 / (len(text) - 1))
            x, y = cx + r * 0.72 * math.cos(angle), cy + r * 0.72 * math.sin(angle)
            d.text((x, y), ch, fill=red, font=font, anchor="mm")
    img.paste(Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB"))


def _last_ink_row(img: Image.Image) -> int:
    grey = np.asarray(img.convert("L"))
    rows = np.where((grey[: int(grey.shape[0] * 0.88)] < 128).sum(axis=1) > 2)[0]  # above the page number
    return int(rows[-1]) if len(rows) else img.size[1] // 2


def degrade(img: Image.Image, q: Quality, rng: random.Random, seal: bool) -> Image.Image:
    img = img.convert("RGB")
    if seal:
        _seal(img, rng, q.dpi)
    # paper: ink stays dark, white becomes grey with a gentle gradient and noise
    a = np.asarray(img).astype(np.float32)
    h, w = a.shape[:2]
    grad = np.linspace(0, rng.uniform(-8, 8), w, dtype=np.float32)[None, :, None]
    a = a * (q.paper / 255.0) + grad
    nrng = np.random.default_rng(rng.randrange(2**32))
    a += nrng.normal(0, q.noise, size=(h, w, 1)).astype(np.float32)
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    angle = rng.uniform(-q.max_rotation, q.max_rotation)
    fill = (q.paper,) * 3
    img = img.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=fill)
    if q.blur:
        img = img.filter(ImageFilter.GaussianBlur(q.blur))
    return img


def scan_pdf(src: Path, dst: Path, quality: str = "fair", seal: bool = False,
             pages: set[int] | None = None) -> Path:
    """Write the scanned version of ``src`` to ``dst``; ``pages`` (1-based) limits the
    scanned pages (the others keep their text layer)."""
    q = QUALITIES[quality]
    rng = random.Random(hashlib.sha256(f"{src.name}:{quality}".encode()).hexdigest())
    source = pdfium.PdfDocument(str(src))
    out = pdfium.PdfDocument.new()
    n = len(source)
    for i in range(n):
        if pages is not None and i + 1 not in pages:
            out.import_pages(source, [i])
            continue
        page = source[i]
        width, height = page.get_size()
        img = page.render(scale=q.dpi / 72).to_pil()
        img = degrade(img, q, rng, seal=seal and i == n - 1)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=q.jpeg)
        buf.seek(0)
        new_page = out.new_page(width, height)
        image = pdfium.PdfImage.new(out)
        image.load_jpeg(buf, inline=True)
        image.set_matrix(pdfium.PdfMatrix().scale(width, height))
        new_page.insert_obj(image)
        new_page.gen_content()
    dst.parent.mkdir(parents=True, exist_ok=True)
    out.save(str(dst))
    return dst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pdfs", nargs="+", type=Path, help="text-layer PDFs to scan")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--quality", choices=sorted(QUALITIES), default="fair")
    parser.add_argument("--seal", action="store_true", help="a red seal over the last page's signature")
    parser.add_argument("--pages", help="comma-separated 1-based pages to scan (default: all)")
    args = parser.parse_args(argv)
    pages = {int(p) for p in args.pages.split(",")} if args.pages else None
    for src in args.pdfs:
        dst = args.out / f"{src.stem}_scan_{args.quality}.pdf"
        scan_pdf(src, dst, args.quality, args.seal, pages)
        print(dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
