"""A check's result (index/checks.py: rule, scope, detail) in plain words.

    what, numbers = check_in_words("勾稽关系", "总计", 0,
        "本年新收 + 上年结转 = 总计 + 结转下年度: 2 + 0 vs 0 + 0 → 2 ≠ 0")
    # what:    '表三“总计”一栏：收到的申请（本年新收加上年结转）应等于处理完的（总计）加结转下年度的'
    # numbers: '报告中一边是 2，另一边是 0，相差 2。'
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from index import template as T

RULES = {
    "勾稽关系": "收到的申请（本年新收加上年结转）应等于处理完的（总计）加结转下年度的",
    "申请人合计": "各类申请人的数字加起来应等于总计",
    "办理结果合计": "各项办理结果（予以公开、部分公开、不予公开……其他处理）加起来应等于（七）总计",
    "复议诉讼合计": "维持、纠正、其他结果、尚未审结的件数加起来应等于总计",
    "正文与表格": "正文里说的收到申请数应与表三的本年新收总计一致",
}
_BY_COLUMN = ("勾稽关系", "办理结果合计")  # the scope is a column of table 三
_SIDES = re.compile(r"→\s*(-?[\d.]+)\s*[=≠]\s*(-?[\d.]+)")
_TEXT_VS_TABLE = re.compile(r"正文「(?P<text>.*?)」\s*vs\s*表格.*?总计\s*(?P<n>-?[\d.]+)(?P<rest>.*)$")


def _scope(rule: str, scope: str | None) -> str:
    if not scope:
        return ""
    if rule in _BY_COLUMN:
        return f"表三“{scope}”一栏："
    if rule == "复议诉讼合计":
        return f"表四“{T.printed_label(scope)}”："
    if rule == "申请人合计":
        return f"表三“{T.printed_label(scope)}”一行："
    return ""


def _num(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except (InvalidOperation, TypeError):
        return None


def check_in_words(rule: str, scope: str | None, passed, detail: str | None) -> tuple[str, str]:
    """(what is checked, what the report's numbers say), both in plain Chinese."""
    what = _scope(rule, scope) + RULES.get(rule, rule or "校验")
    detail = detail or ""
    m = _TEXT_VS_TABLE.search(detail)
    if m:
        numbers = f"正文写“{m['text']}”，表三本年新收总计为 {m['n']}"
        carried = re.search(r"上年结转\s*(-?[\d.]+)", m["rest"])
        if carried:
            numbers += f"（另有上年结转 {carried.group(1)}）"
        return what, numbers + ("，两者一致。" if passed else "，两者对不上。" if passed == 0 else "。")
    m = _SIDES.search(detail)
    if passed is None or not m:
        return what, "有数字读不出或未填报，无法核对。" if passed is None else (detail or "—")
    left, right = m.group(1), m.group(2)
    if passed:
        return what, f"报告中两边都是 {left}，相符。"
    a, b = _num(left), _num(right)
    gap = f"，相差 {abs(a - b)}" if a is not None and b is not None else ""
    return what, f"报告中一边是 {left}，另一边是 {right}{gap}，对不上。"
