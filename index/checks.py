"""The report's own arithmetic (勾稽关系) and narrative-versus-table checks.

Real reports fail these; a failure is recorded with its numbers, never "fixed".
Blank cells count as 0 in sums (the template leaves zero cells blank in places);
a check that touches an uncertain cell is recorded as not decidable (passed=None).

Rules
- ``勾稽关系``: per applicant column, 一 本年新收 + 二 上年结转 = 三（七）总计 + 四 结转下年度.
- ``申请人合计``: per row of the 依申请 table, the six applicant columns add up to 总计.
- ``办理结果合计``: per column, the outcome rows (（一）…（六）) add up to （七）总计.
- ``复议诉讼合计``: per block of table 四, 维持 + 纠正 + 其他 + 尚未审结 = 总计.
- ``正文与表格``: the text says no application was received while 本年新收 总计 > 0, or
  states a number of received applications that differs from the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from . import template as T
from .document import Fact


@dataclass
class CheckResult:
    rule: str
    scope: str  # the column, row or block checked
    passed: bool | None  # None: not decidable (uncertain or missing cells)
    detail: str  # the equation with the report's numbers

    @property
    def failed(self) -> bool:
        return self.passed is False


class _Cells:
    def __init__(self, facts: list[Fact]):
        self.by_key = {f.key: f for f in facts}

    def get(self, table: str, row: str, column: str) -> Decimal | None:
        """The cell's number (blank = 0); None when missing or uncertain."""
        fact = self.by_key.get(f"{table}|{row}|{column}")
        if fact is None or fact.uncertain:
            return None
        return Decimal(fact.value) if fact.value is not None else Decimal(0)

    def has_row(self, table: str, row: str) -> bool:
        return any(k.startswith(f"{table}|{row}|") for k in self.by_key)


def _fmt(n: Decimal | None) -> str:
    return "?" if n is None else format(n.normalize(), "f")


def _equation(rule: str, scope: str, left: list[tuple[str, Decimal | None]],
              right: list[tuple[str, Decimal | None]]) -> CheckResult:
    values = [v for _, v in left + right]
    lhs = " + ".join(name for name, _ in left)
    rhs = " + ".join(name for name, _ in right)
    if any(v is None for v in values):
        passed, sums = None, "?"
    else:
        a, b = sum(v for _, v in left), sum(v for _, v in right)
        passed = a == b
        sums = f"{_fmt(a)} {'=' if passed else '≠'} {_fmt(b)}"
    numbers = " + ".join(_fmt(v) for _, v in left) + " vs " + " + ".join(_fmt(v) for _, v in right)
    return CheckResult(rule, scope, passed, f"{lhs} = {rhs}: {numbers} → {sums}")


def check_tables(facts: list[Fact]) -> list[CheckResult]:
    cells = _Cells(facts)
    results: list[CheckResult] = []
    app = T.APPLICATION
    if cells.has_row(app, "本年新收"):
        single_other = cells.has_row(app, "其他处理")
        rows = T.APPLICATION_ROWS_2019 if single_other else T.APPLICATION_ROWS_2021
        outcome_rows = [r.key for r in rows[2:-2]]
        for column in T.APPLICANT_COLUMNS:
            results.append(_equation(
                "勾稽关系", column,
                [("本年新收", cells.get(app, "本年新收", column)), ("上年结转", cells.get(app, "上年结转", column))],
                [("总计", cells.get(app, "总计", column)), ("结转下年度", cells.get(app, "结转下年度继续办理", column))],
            ))
        for row in rows:
            parts = [(c, cells.get(app, row.key, c)) for c in T.APPLICANT_COLUMNS[:-1]]
            results.append(_equation("申请人合计", row.key, parts, [("总计", cells.get(app, row.key, "总计"))]))
        for column in T.APPLICANT_COLUMNS:
            parts = [(r, cells.get(app, r, column)) for r in outcome_rows]
            results.append(_equation("办理结果合计", column, parts, [("（七）总计", cells.get(app, "总计", column))]))
    for row in T.REVIEW_ROWS:
        if not cells.has_row(T.REVIEW, row.key):
            continue
        parts = [(c, cells.get(T.REVIEW, row.key, c)) for c in T.REVIEW_COLUMNS[:-1]]
        results.append(_equation("复议诉讼合计", row.key, parts, [("总计", cells.get(T.REVIEW, row.key, "总计"))]))
    return results


_NONE_RECEIVED = re.compile(r"(未收到|没有收到|未接到|没有接到|未受理)[^。；，\d]{0,12}?申请")
_RECEIVED_N = re.compile(
    r"(?:共|累计|全年)?(?:收到|新收)[^。；，\d]{0,16}?(?:政府信息公开|依申请公开)?[^。；，\d]{0,6}申请[^。；，\d]{0,6}?(\d+)\s*(?:件|个|条|宗)")


def check_narrative(facts: list[Fact], text: str) -> list[CheckResult]:
    """Compare what the text says about applications received with table 三."""
    cells = _Cells(facts)
    received = cells.get(T.APPLICATION, "本年新收", "总计")
    if received is None:
        return []
    results = []
    none = _NONE_RECEIVED.search(text)
    if none and "申请" in none.group(0):
        passed = received == 0
        results.append(CheckResult(
            "正文与表格", "本年新收", passed,
            f"正文「{none.group(0)}」 vs 表格 本年新收 总计 {_fmt(received)}"))
    stated = _RECEIVED_N.search(text)
    if stated:
        n = Decimal(stated.group(1))
        carried = cells.get(T.APPLICATION, "上年结转", "总计") or Decimal(0)
        # Some reports count last year's carried-over applications in '收到N件'.
        passed = n in (received, received + carried)
        results.append(CheckResult(
            "正文与表格", "本年新收", passed,
            f"正文「{stated.group(0)}」 vs 表格 本年新收 总计 {_fmt(received)}"
            + (f"（上年结转 {_fmt(carried)}）" if carried else "")))
    return results


def run_checks(facts: list[Fact], text: str) -> list[CheckResult]:
    return check_tables(facts) + check_narrative(facts, text)
