"""Flag OCR'd figures that break the report's own arithmetic where a misread digit
would explain it.

OCR misreads a digit now and then with high confidence (r002: 部分公开 总计 read as 6
where the page prints 9). Such a cell passes the confidence test of index/ocr.py, but
it breaks a sum of the template (index/checks.py). For every cell on an OCR'd page
whose number is in a failing check, each reading that changes one digit into a
look-alike (6/9/8/0/3/5, 1/7/4, 2/7) is tried: a reading that makes a failing check
pass without making any other check fail is a *fix*. Every cell with a fix is flagged
uncertain, its candidates the fixes first and the reading as OCR gave it last; its
value is withheld as for every uncertain cell. A failing check that no single
look-alike fixes is left as it is (reports do print wrong totals: index/checks.py
records them), and nothing is ever corrected silently.

The other way round, a cell OCR read *with doubt* (index/ocr.py: a digit below the
confidence bar, candidates the reading and the runner-up digits) is settled when the
template's arithmetic forces it (:func:`settle_doubtful`): with each candidate in
turn, the checks the cell takes part in are decided (every other term certain); a
candidate fits when every such check passes. When exactly one candidate fits, it is
stored with its ``reason`` if it is OCR's own reading (a sum confirms it), or if two
checks or more decided it (a row and a column: a total the report printed wrong
cannot make two independent sums pick a runner-up digit); otherwise the cell stays
uncertain. As with run-together digits
(index/tables.py), an inference is stored only when it is forced.
"""

from __future__ import annotations

from . import template as T
from .checks import check_tables
from .document import Fact

LOOK_ALIKE = {"0": "689", "1": "74", "2": "7", "3": "85", "4": "1", "5": "63", "6": "0589",
              "7": "12", "8": "0369", "9": "068"}


def _variants(value: str) -> list[str]:
    out = []
    for k, ch in enumerate(value):
        for alt in LOOK_ALIKE.get(ch, ""):
            cand = value[:k] + alt + value[k + 1:]
            if cand != value and not (len(cand) > 1 and cand[0] == "0" and "." not in cand[:2]):
                out.append(cand)
    return out


MIN_CHECKS = 2  # independent sums that must agree before a runner-up digit is taken


def settle_doubtful(facts: list[Fact], ocr_pages: set[int]) -> list[Fact]:
    """Settle (in place) the doubtful OCR'd cells whose value the arithmetic forces;
    return the settled facts. Repeats while settling one cell decides another's checks."""
    settled: list[Fact] = []
    changed = True
    while changed:
        changed = False
        for fact in facts:
            if not (fact.uncertain and fact.page in ocr_pages and fact.candidates):
                continue
            cands = [c for c in dict.fromkeys(fact.candidates) if c == "" or _is_number(c)]
            if not cands:
                continue
            base = {(c.rule, c.scope) for c in check_tables(facts) if c.passed is not None}
            fits: list[tuple[str, list[str]]] = []
            for cand in cands:
                fact.value, fact.uncertain, fact.blank = (cand or None), False, cand == ""
                decided = [c for c in check_tables(facts) if c.passed is not None and (c.rule, c.scope) not in base]
                if decided and all(c.passed for c in decided):
                    fits.append((cand, [f"{c.rule} {c.scope}" for c in decided]))
            fact.value, fact.uncertain, fact.blank = None, True, False
            # OCR's own reading confirmed by a sum, or a runner-up forced by two sums
            if len(fits) == 1 and len(fits[0][1]) >= (1 if fits[0][0] == cands[0] else MIN_CHECKS):
                value, rules = fits[0]
                fact.reason = (f"OCR read it with doubt ({' or '.join(c or '(blank)' for c in cands)}); "
                               f"only {value or '(blank)'} fits the template's arithmetic ({'; '.join(rules)})")
                fact.value, fact.uncertain, fact.blank = (value or None), False, value == ""
                fact.candidates = []
                settled.append(fact)
                changed = True
    return settled


def _is_number(text: str) -> bool:
    return text.lstrip("-").replace(".", "", 1).isdigit()


def _failing(facts: list[Fact]) -> set[tuple[str, str]]:
    return {(c.rule, c.scope) for c in check_tables(facts) if c.failed}


def flag_misreads(facts: list[Fact], ocr_pages: set[int]) -> list[Fact]:
    """Flag (in place) the OCR'd cells whose one-digit look-alike fixes a failing check;
    return the flagged facts."""
    failing = _failing(facts)
    if not failing:
        return []
    suspects = [f for f in facts if f.page in ocr_pages and not f.uncertain and f.value is not None
                and _is_number(f.value) and _involved(f, failing)]
    fixes: dict[int, list[str]] = {}
    suspect_ids = {id(f) for f in suspects}
    for k, fact in enumerate(facts):
        if id(fact) not in suspect_ids:
            continue
        read = fact.value
        for cand in _variants(read):
            fact.value = cand
            now = _failing(facts)
            if now < failing:  # fixes at least one, breaks none
                fixes.setdefault(k, []).append(cand)
        fact.value = read
    flagged = []
    for k, cands in fixes.items():
        fact = facts[k]
        fact.candidates = cands + [fact.value]
        fact.value = None
        fact.uncertain = True
        fact.blank = False
        flagged.append(fact)
    return flagged


def _involved(fact: Fact, failing: set[tuple[str, str]]) -> bool:
    """Is the cell part of a failing check (checks name their row or column)?"""
    for rule, scope in failing:
        if rule == "复议诉讼合计" and fact.table == T.REVIEW and fact.row == scope:
            return True
        if rule == "申请人合计" and fact.table == T.APPLICATION and fact.row == scope:
            return True
        if rule in ("勾稽关系", "办理结果合计") and fact.table == T.APPLICATION and fact.column == scope:
            return True
    return False
