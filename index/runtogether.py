"""Recover the numbers of a table row whose cells ran together ('640020470').

Web pages flattened to text lose the cell borders: '一、本年新收政府信息公开申请数量
640020470' is seven numbers. ``split_run`` enumerates every way to cut such a run
into ``n`` well-formed values and keeps those a constraint accepts (the template's
arithmetic: six applicant columns add up to 总计; 维持+纠正+其他+尚未审结 = 总计 for each
block of the 复议诉讼 table). The caller decides: one reading left -> exact; several
-> every cell that differs between them is uncertain, with the readings as candidates;
none -> uncertain.

A value is '0' or has no leading zero; it may carry a sign ('-185') and decimals
('252.31'); a trailing unit ('元', '万元', '件', '项') is dropped. Spaces in the run
are unreliable in flattened pages, so they never exclude a reading here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

Reading = tuple[str, ...]
Constraint = Callable[[Sequence[str | None]], bool]

_UNIT_TAIL = re.compile(r"(万元|元|件|项|条|个|次|人次)$")
_RUN_CHARS = re.compile(r"^[-+]?[\d.\-+]*$")
MAX_INT_DIGITS = 12  # no table value is longer (采购总金额 in 元 reaches 9-10 digits)
MAX_DEC_DIGITS = 2  # decimals of a value cut out of a run (amounts in 万元/元)
MAX_READINGS = 20000


def clean_run(text: str) -> tuple[str, frozenset[int]]:
    """Digits/sign/point characters of a run, and the indices (in that string) that
    were preceded by white space."""
    text = text.strip()
    while True:
        stripped = _UNIT_TAIL.sub("", text).rstrip()
        if stripped == text:
            break
        text = stripped
    out: list[str] = []
    spaces: set[int] = set()
    pending_space = False
    for ch in text:
        if ch.isspace():
            pending_space = bool(out)
            continue
        if pending_space:
            spaces.add(len(out))
            pending_space = False
        out.append(ch)
    return "".join(out), frozenset(spaces)


def normalize_number(token: str) -> str | None:
    """'0012' -> None (ill-formed), '+3' -> '3', '-185' -> '-185', '252.310' -> '252.310'."""
    m = re.fullmatch(r"([-+]?)(0|[1-9]\d*)(\.\d+)?", token)
    if not m:
        return None
    sign = "-" if m.group(1) == "-" else ""
    return f"{sign}{m.group(2)}{m.group(3) or ''}"


def split_run(text: str, n: int, constraint: Constraint | None = None,
              max_decimals: int = MAX_DEC_DIGITS) -> list[Reading]:
    """All readings of ``text`` as ``n`` values that satisfy ``constraint``.

    >>> split_run('230000023', 7, applicant_sum)
    [('23', '0', '0', '0', '0', '0', '23')]
    """
    digits, _ = clean_run(text)
    if not digits or n <= 0 or not _RUN_CHARS.match(digits):
        return []
    if n == 1:
        value = normalize_number(digits)
        if value is None:
            return []
        reading = (value,)
        return [reading] if constraint is None or constraint(reading) else []
    readings: list[Reading] = []
    _enumerate(digits, 0, n, [], readings, constraint, max_decimals)
    return readings


def _value_ends(s: str, i: int, max_decimals: int) -> list[int]:
    """End indices j such that s[i:j] is one well-formed value."""
    ends: list[int] = []
    j = i
    if j < len(s) and s[j] in "-+":
        j += 1
    if j >= len(s) or not s[j].isdigit():
        return ends
    if s[j] == "0":
        int_ends = [j + 1]
    else:
        int_ends = []
        k = j
        while k < len(s) and s[k].isdigit() and k - j < MAX_INT_DIGITS:
            k += 1
            int_ends.append(k)
    for e in int_ends:
        ends.append(e)
        if e < len(s) and s[e] == "." and max_decimals > 0:
            d = e + 1
            while d < len(s) and s[d].isdigit() and d - e - 1 < max_decimals:
                d += 1
                ends.append(d)
    return ends


def _enumerate(s: str, i: int, left: int, acc: list[str], out: list[Reading],
               constraint: Constraint | None, max_decimals: int) -> None:
    if len(out) >= MAX_READINGS:
        return
    if left == 0:
        if i == len(s):
            reading = tuple(acc)
            if constraint is None or constraint(reading):
                out.append(reading)
        return
    remaining = len(s) - i
    if remaining < left:  # every value takes at least one character
        return
    for j in _value_ends(s, i, max_decimals):
        if left == 1 and j != len(s):
            continue
        value = normalize_number(s[i:j])
        if value is None:
            continue
        acc.append(value)
        _enumerate(s, j, left - 1, acc, out, constraint, max_decimals)
        acc.pop()


# ------------------------------------------------------------------ constraints
def _num(v: str | None) -> float:
    return 0.0 if v is None else float(v)


def _close(a: float, b: float) -> bool:
    return abs(a - b) < 1e-6


def applicant_sum(values: Sequence[str | None]) -> bool:
    """依申请 rows: 自然人 + 商业企业 + 科研机构 + 社会公益组织 + 法律服务机构 + 其他 = 总计."""
    if len(values) != 7 or values[6] is None:
        return True
    return _close(sum(_num(v) for v in values[:6]), _num(values[6]))


def review_blocks(values: Sequence[str | None]) -> bool:
    """复议诉讼: in each block of five, 维持 + 纠正 + 其他 + 尚未审结 = 总计."""
    if len(values) % 5:
        return False
    for b in range(0, len(values), 5):
        block = values[b:b + 5]
        if block[4] is None:
            continue
        if not _close(sum(_num(v) for v in block[:4]), _num(block[4])):
            return False
    return True


def integers_only(values: Sequence[str | None]) -> bool:
    """Counts (件/项) are whole numbers."""
    return all(v is None or "." not in v for v in values)


def both(*constraints: Constraint | None) -> Constraint:
    def check(values: Sequence[str | None]) -> bool:
        return all(c is None or c(values) for c in constraints)
    return check
