"""The report's own arithmetic (勾稽关系) and narrative-versus-table checks.

Real reports fail these; a failure is recorded with its numbers, never "fixed".
Blank cells count as 0 in sums (the template leaves zero cells blank in places);
a check that touches an uncertain cell is recorded as not decidable (passed=None).

Rules (the data is ``index.template.Rule``, one tuple per template; these are the
standard ones both built-in templates use)
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


def check_tables(facts: list[Fact], template: str | None = None) -> list[CheckResult]:
    """Run the arithmetic rules of the report's template (``index.template.Rule``).

    ``template``: its version; by default the registered format whose rows the facts
    fill best. A format with a one-row （六）其他处理 variant is checked in the shape
    the report printed."""
    cells = _Cells(facts)
    shape = _shape(cells, template)
    results: list[CheckResult] = []
    for rule in shape.rules if shape else ():
        if rule.requires and not cells.has_row(rule.table, rule.requires):
            continue
        for scope in rule.scopes:
            if rule.present_only and not cells.has_row(rule.table, scope):
                continue
            results.append(_equation(rule.name, scope, _terms(cells, rule, scope, rule.left),
                                     _terms(cells, rule, scope, rule.right)))
    return results


def _terms(cells: _Cells, rule: T.Rule, scope: str, terms) -> list[tuple[str, Decimal | None]]:
    if rule.per == "column":  # terms are rows, read in the scope column
        return [(name, cells.get(rule.table, row, scope)) for name, row in terms]
    return [(name, cells.get(rule.table, scope, column)) for name, column in terms]


def _shape(cells: _Cells, version: str | None) -> T.Template | None:
    """The template shape whose rows the facts fill best (the first on a tie)."""
    candidates = T.template_for(version).shapes() if version else \
        [shape for template in T.templates() for shape in template.shapes()]
    rows = {key.split("|")[1] for key in cells.by_key}
    if not rows:
        return None
    return max(candidates, key=lambda shape: sum(spec.key in rows for spec in shape.rows()))


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


def run_checks(facts: list[Fact], text: str, template: str | None = None) -> list[CheckResult]:
    return check_tables(facts, template) + check_narrative(facts, text)
