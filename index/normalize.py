"""Text clean-up shared by every loader: decoding, full-width characters, spaces."""

from __future__ import annotations

import re
import unicodedata

from charset_normalizer import from_bytes

# Full-width digits, letters and ASCII punctuation become half-width; Chinese
# punctuation such as （ ） 、 “ ” is kept, because the template's labels use it.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)}  # ０-９
_FULLWIDTH.update({cp: cp - 0xFEE0 for cp in range(0xFF21, 0xFF3B)})  # Ａ-Ｚ
_FULLWIDTH.update({cp: cp - 0xFEE0 for cp in range(0xFF41, 0xFF5B)})  # ａ-ｚ
_FULLWIDTH.update({ord("．"): ".", ord("，"): "，", ord("－"): "-", ord("／"): "/",
                   ord("％"): "%", ord("＋"): "+"})
_SPACES = {ord(c): " " for c in "\u3000\u00a0\u2002\u2003\u2009\u200a\u202f\u205f"}
_INVISIBLE = {ord(c): None for c in "\u200b\u200c\u200d\ufeff\u00ad"}
# the three tables applied in that order, as one (translate is a third of parse time)
_NORMALIZE = {cp: chr(cp).translate(_INVISIBLE).translate(_SPACES).translate(_FULLWIDTH) or None
              for cp in {**_INVISIBLE, **_SPACES, **_FULLWIDTH}}

_CJK = r"[\u3400-\u9fff\uf900-\ufaff（）《》“”、，。：；！？]"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<={_CJK})[ \t]+(?={_CJK})")


def decode_bytes(data: bytes) -> str:
    """Decode a text file: UTF-8 (with or without BOM) first, then GB18030 (a
    superset of GBK/GB2312, the usual legacy encodings), then whatever
    charset-normalizer finds best."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    best = from_bytes(data).best()
    if best is None:
        raise UnicodeDecodeError("unknown", data[:20], 0, 1, "no text encoding fits")
    return str(best)


def normalize_text(text: str) -> str:
    """Half-width digits and Latin letters, one kind of space, no invisible characters.
    Line structure and tabs are kept: table parsers need them."""
    text = unicodedata.normalize("NFC", text)
    text = text.translate(_NORMALIZE)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def squeeze_cjk_spaces(text: str) -> str:
    """Remove spaces a PDF or OCR put between Chinese characters ('本 年 度' -> '本年度')."""
    return _SPACE_BETWEEN_CJK.sub("", text)


def compact(text: str) -> str:
    """A label with all white space removed and full-width normalised, for matching."""
    return re.sub(r"\s+", "", normalize_text(text))
