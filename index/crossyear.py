"""Settle run-together cells of a body's 2019-format reports from its next year's report.

In the 2019 template, 第二十条 rows 行政许可 … 行政事业性收费 give 上一年项目数量 and
本年增/减, so a body's report for year Y+1 should print as 上一年项目数量 the sum
上一年项目数量 + 本年增/减 of its report for year Y. Flattened web pages run those cells
together ('行政许可3960181'); the identity picks the readings of both rows that agree.

The identity does not always hold in real reports (bodies recount their items: of
the Pingtan departments whose 2019 and 2020 rows are both readable and not all zero,
most break it), so it is used only when it is plausible for the pair as a whole:

- every row readable in both reports has at least one pair of readings that keeps the
  identity (one row that cannot keep it shows the body did not count that way), and
- at least one row keeps it with a non-zero count (all-zero rows prove nothing);

then a cell is settled only when every pair of readings that keeps the identity gives
it the same value (exactly one value fits), and its ``reason`` says so. Only rows
holding one run of digits (raw without '|' or blanks) are re-read.

The step works on the store, after every changed report of a build is saved, for the
bodies those reports belong to (index.build): it first undoes what it settled before
for the body (``reason`` starting 'cross-year'; the parse-time ``candidates`` are kept),
then decides again, so the result depends only on the reports in the index, whatever
order they came in and whichever of them changed.
"""

from __future__ import annotations

import itertools
import json

from . import template as T
from .store import StoreWriter
from .runtogether import split_run

REASON = "cross-year"
MAX_PAIRS = 20000  # readings compared per row pair (a 10-digit run has a few hundred)

Reading = tuple[str | None, ...]


def settle_body(db: StoreWriter, body: str) -> set[str]:
    """Re-decide the cross-year cells of one body's reports; the ids of the reports
    whose facts changed (the caller commits). Only templates with ``carried`` columns
    (index.template: the 2019 one) have the identity; a pair is always one template."""
    changed: set[str] = set()
    for template in T.templates():
        if template.carried:
            changed |= _settle_template(db, body, template)
    return changed


def _settle_template(db: StoreWriter, body: str, template: T.Template) -> set[str]:
    reports = db.reports_of_body(body, template.version)
    changed = _undo(db, [r["id"] for r in reports])
    by_year: dict[int, list[str]] = {}
    for r in reports:
        by_year.setdefault(r["year"], []).append(r["id"])
    for year, ids in sorted(by_year.items()):
        after = by_year.get(year + 1)
        if len(ids) != 1 or not after or len(after) != 1:
            continue  # two reports of one body and year: which one continues is unknown
        changed |= _settle_pair(db, template, ids[0], after[0])
    return changed


def _undo(db: StoreWriter, report_ids: list[str]) -> set[str]:
    return db.unsettle(report_ids, REASON)


def _row(db: StoreWriter, report_id: str, spec: T.RowSpec) -> tuple[list, list[Reading]]:
    """The row's facts in column order and the readings they allow ([] = unreadable)."""
    facts = db.row_facts(report_id, T.ACTIVE, spec.key)
    cells = [facts.get(c) for c in spec.columns]
    if any(f is None for f in cells):
        return [], []
    if not any(f["uncertain"] for f in cells):
        return cells, [tuple(None if f["blank"] else f["value"] for f in cells)]
    raw = cells[0]["raw"] or ""
    if not raw or "|" in raw or "∅" in raw or any(f["raw"] != raw for f in cells):
        return cells, []
    allowed = []
    for f in cells:
        if f["uncertain"]:
            allowed.append(set(json.loads(f["candidates"])) if f["candidates"] else None)
        else:
            allowed.append({f["value"]})
    readings = [r for r in split_run(raw, len(spec.columns))
                if all(a is None or v in a for v, a in zip(r, allowed))]
    return cells, readings


def _keeps(before: Reading, after: Reading) -> bool:
    if None in (before[0], before[1], after[0]):
        return False
    return abs(float(before[0]) + float(before[1]) - float(after[0])) < 1e-9


def _settle_pair(db: StoreWriter, template: T.Template, first: str, second: str) -> set[str]:
    previous, change = template.carried
    rows = []
    evidence = False
    for spec in (s for s in template.active_rows if s.columns[:2] == template.carried):
        cells_a, read_a = _row(db, first, spec)
        cells_b, read_b = _row(db, second, spec)
        if not read_a or not read_b:
            continue
        if len(read_a) * len(read_b) > MAX_PAIRS:
            continue
        fits = [(a, b) for a, b in itertools.product(read_a, read_b) if _keeps(a, b)]
        if not fits:
            return set()  # this body did not carry its counts over: trust the identity nowhere
        evidence = evidence or any(float(b[0]) != 0 for _, b in fits)
        rows.append((spec, cells_a, cells_b, fits))
    if not evidence:
        return set()
    changed: set[str] = set()
    for spec, cells_a, cells_b, fits in rows:
        for side, cells, other in ((0, cells_a, second), (1, cells_b, first)):
            for ci, fact in enumerate(cells):
                if not fact["uncertain"]:
                    continue
                values = {pair[side][ci] for pair in fits}
                if len(values) != 1:
                    continue
                value = values.pop()
                if value is None:
                    continue
                why = (f"{REASON}: the only reading of {fact['raw']!r} for which the {template.version}-format "
                       f"identity next year's {previous} = {previous} + {change} holds with report {other} "
                       f"(the identity holds for every readable row of the two reports)")
                db.settle(fact["report_id"], T.ACTIVE, spec.key, fact["col"], value, why)
                changed.add(fact["report_id"])
    return changed
