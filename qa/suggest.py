"""What to ask: the index's coverage, example questions drawn from it, and follow-ups.

    from qa.suggest import coverage, coverage_line, example_questions, follow_up_questions
    coverage_line(coverage(index))      # '收录 20 份报告 · 2019–2025年 · 乡镇 5 份、…'
    example_questions(index)            # six questions of different kinds the index answers
    follow_up_questions(result, question, index)   # what to ask next after an answer

Nothing here is written for particular reports: every example names a body, year and
figure read from the index being served, and is chosen only when the index holds a
non-zero value for it (a citizen's first click should not answer "0"). Among bodies,
those with more reports come first (they show what the service does across years);
each kind of example takes a body not used yet when one qualifies, so the examples
show off different reports. Ties are broken by name, so the same index always gives
the same examples, and another index gives others.

``example_questions`` also runs each candidate through ``qa.answer.answer`` and keeps
it only when the answer is of the expected kind and (for a figure) states the value;
the examples are made once per build (``Index.cached``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from index.factstore import FactStore
from index.served import Index, open_index

from . import facts as F
from .understand import Catalog, Figure, Query, ReportRef, find_figure

# Short level names for the coverage line and for questions (qa.understand reads
# these words as the level: see _LEVEL_PATTERNS).
LEVEL_SHORT = {"township": "乡镇", "county": "县区", "city": "市级", "province": "省级", "department": "部门"}
# How a question names all bodies of a level ('2024年各乡镇…分别是多少').
LEVEL_EACH = {"township": "各乡镇", "county": "各县区", "city": "各市", "province": "各省级单位", "department": "各部门"}
_LEVEL_ORDER = ["township", "county", "city", "province", "department"]
MAX_REGIONS = 5


# ---------------------------------------------------------------------------- coverage
def coverage(index: Index | str) -> dict:
    """What the index covers, for the page's first screen: {"reports": N, "years":
    [sorted], "levels": {level: reports}, "regions": [regions, most reports first],
    "bodies": N}. A report's region is its province, else its city, else its county."""
    index = open_index(index)

    def make() -> dict:
        with index.facts() as store:
            return _coverage(_catalog(index, store))
    return dict(index.cached("coverage", make))  # once per build, not per page load


def _coverage(catalog: Catalog) -> dict:
    levels = Counter(r.level for r in catalog.reports if r.level)
    regions = Counter(r.province or r.city or r.county for r in catalog.reports if r.province or r.city or r.county)
    return {
        "reports": len(catalog.reports),
        "years": catalog.years(),
        "levels": {lv: levels[lv] for lv in sorted(levels, key=lambda x: (-levels[x], _level_rank(x)))},
        "regions": [name for name, _ in sorted(regions.items(), key=lambda kv: (-kv[1], kv[0]))][:MAX_REGIONS],
        "bodies": len(catalog.bodies),
    }


def _level_rank(level: str) -> int:
    return _LEVEL_ORDER.index(level) if level in _LEVEL_ORDER else len(_LEVEL_ORDER)


def coverage_line(cov: dict) -> str:
    """One line for the first screen: '收录 20 份报告 · 12 个单位 · 2019–2025年 · 县区 3 份、
    乡镇 5 份… · 平潭综合实验区、淮安市…'."""
    if not cov.get("reports"):
        return "索引中还没有任何报告。"
    parts = [f"收录 {cov['reports']} 份报告", f"{cov.get('bodies', 0)} 个单位"]
    years = cov.get("years") or []
    if years:
        parts.append(f"{years[0]}–{years[-1]}年" if len(years) > 1 else f"{years[0]}年")
    levels = cov.get("levels") or {}
    if levels:
        shown = [f"{LEVEL_SHORT.get(lv, lv)} {n} 份" for lv, n in list(levels.items())[:4]]
        parts.append("、".join(shown) + ("…" if len(levels) > 4 else ""))
    regions = cov.get("regions") or []
    if regions:
        parts.append("、".join(regions) + ("等" if len(regions) >= MAX_REGIONS else ""))
    return " · ".join(parts)


# ---------------------------------------------------------------------------- figures asked
@dataclass(frozen=True)
class _Asked:
    """A figure as the examples ask it: the words (which qa.understand reads back as
    the same figure) and how a question about one value and about a ranking say it."""

    words: str  # '收到的政府信息公开申请'
    lookup: str  # '收到多少政府信息公开申请'
    most: str  # '收到的政府信息公开申请最多'

    @property
    def figure(self) -> Figure:
        found = find_figure(self.words)
        assert found is not None, self.words  # the vocabulary of qa.understand reads these words
        return found


FIGURES = [
    _Asked("收到的政府信息公开申请", "收到多少政府信息公开申请", "收到的政府信息公开申请最多"),
    _Asked("行政处罚", "行政处罚多少件", "行政处罚最多"),
    _Asked("行政许可", "行政许可多少件", "行政许可最多"),
    _Asked("予以公开的申请", "予以公开的申请有多少件", "予以公开的申请最多"),
    _Asked("制发的规范性文件", "制发了多少件规范性文件", "制发的规范性文件最多"),
    _Asked("行政事业性收费", "行政事业性收费金额是多少", "行政事业性收费最多"),
    _Asked("行政复议", "被申请行政复议多少件", "行政复议最多"),
]
# After a figure, the figure people ask next (a request: how it ended; a decision: the other kind).
RELATED = {"收到的政府信息公开申请": "予以公开的申请", "予以公开的申请": "收到的政府信息公开申请",
           "行政处罚": "行政许可", "行政许可": "行政处罚", "制发的规范性文件": "行政许可",
           "行政事业性收费": "行政处罚", "行政复议": "收到的政府信息公开申请"}
_TEXT_EXAMPLE = "{who}报告中提到存在哪些主要问题？"
_MEASURES = "{who}打算怎么改进政府信息公开工作？"
_META_DATE = "{who}报告是哪天发布的？"
_META_NUMBER = "{who}报告的文号是什么？"


def _catalog(index: Index, store: FactStore) -> Catalog:
    from .answer import catalog_of  # qa.answer imports this module

    return catalog_of(index, store)


def _bodies_by_reports(catalog: Catalog) -> list[str]:
    """Bodies with more reports first, then by name (deterministic)."""
    return sorted(catalog.bodies, key=lambda b: (-len(catalog.reports_of(b)), catalog.name_of(b), b))


def _who(ref: ReportRef) -> str:
    return f"{ref.name}{ref.year}年" if ref.year else ref.name


class _Values:
    """Figure values read once per (figure, reports): the examples ask the store a few
    times, not once per candidate."""

    def __init__(self, store: FactStore):
        self.store = store
        self._memo: dict[tuple, dict[str, F.FigureValue]] = {}

    def of(self, asked: _Asked, refs: list[ReportRef]) -> dict[str, F.FigureValue]:
        key = (asked.words, tuple(r.id for r in refs))
        if key not in self._memo:
            self._memo[key] = {v.report.id: v for v in F.figure_values(self.store, refs, asked.figure)}
        return self._memo[key]

    def nonzero(self, asked: _Asked, ref: ReportRef) -> F.FigureValue | None:
        v = self.of(asked, [ref]).get(ref.id)
        return v if v is not None and v.status == "ok" and v.number else None


# ---------------------------------------------------------------------------- examples
@dataclass
class _Candidate:
    kind: str  # lookup | list | trend | rank | text | metadata
    question: str
    body: str | None
    expect: str | None = None  # what the answer must state (the value, the date)


def example_questions(index: Index | str, n: int = 6) -> list[str]:
    """Up to ``n`` example questions of different kinds (a figure of one body and year,
    a list of a level's bodies in a year, a body's trend, a ranking, a question
    answered from the text, a question about the report itself), each answered by
    this index with a non-zero figure where it asks one. Same index, same examples."""
    index = open_index(index)
    examples = index.peek("example_questions")
    if examples is None:
        # made outside the build's lock (answering the candidates may load the BM25
        # index or the embedding model); two threads at once both make them, one is kept
        made = _examples(index)
        examples = index.cached("example_questions", lambda: made)
    return list(examples[:n]) if n <= len(examples) else list(examples)


MAX_EXAMPLES = 12  # made once per build; example_questions(n) takes the first n
# How far the candidates look: the bodies with the most reports, the largest (level, year)
# groups and years, and a few candidates of each kind.
SCAN_BODIES, SCAN_GROUPS, PER_KIND = 60, 4, 6


def _examples(index: Index) -> list[str]:
    from .answer import answer  # qa.answer imports this module

    with index.facts() as store:
        catalog = _catalog(index, store)
        if not catalog.reports:
            return []
        by_kind = _candidates(store, catalog)
    chosen: list[str] = []
    used: set[str] = set()
    kinds = list(by_kind)
    # Round one: one example of each kind, a body not used yet when one qualifies;
    # then more of each kind, in the same order, up to MAX_EXAMPLES.
    for round_ in range(MAX_EXAMPLES):
        added = False
        for kind in kinds:
            pool = by_kind[kind]
            if round_ >= 1 and len(chosen) >= MAX_EXAMPLES:
                break
            fresh = sorted(pool, key=lambda c: (c.body in used if c.body else False))
            for cand in fresh:
                if cand.question in chosen:
                    continue
                pool.remove(cand)
                if _answers(answer, index, cand):
                    chosen.append(cand.question)
                    if cand.body:
                        used.add(cand.body)
                    added = True
                    break
        if not added or len(chosen) >= MAX_EXAMPLES:
            break
    return chosen[:MAX_EXAMPLES]


_EXPECTED_INTENT = {"lookup": ("lookup",), "list": ("list",), "trend": ("trend",), "rank": ("rank",),
                    "text": ("text",), "metadata": ("metadata",)}


def _answers(answer, index: Index, cand: _Candidate) -> bool:
    """Whether the product answers the candidate as meant: the intended kind, with
    sources, stating the expected value."""
    try:
        result = answer(cand.question, index, suggest=False)
    except Exception:  # a candidate the product cannot take is simply not shown
        return False
    if result.intent not in _EXPECTED_INTENT[cand.kind] or not result.citations:
        return False
    if cand.kind == "text" and not result.answer.startswith("据"):
        return False
    return cand.expect is None or cand.expect in result.answer


def _candidates(store: FactStore, catalog: Catalog) -> dict[str, list[_Candidate]]:
    """Every candidate of each kind, best first (bodies with more reports, newer years,
    figures in FIGURES order)."""
    values = _Values(store)
    # at 10,000 reports the examples still read only a few bodies and groups
    bodies = _bodies_by_reports(catalog)[:SCAN_BODIES]
    out: dict[str, list[_Candidate]] = {k: [] for k in ("lookup", "list", "trend", "rank", "text", "metadata")}
    # a figure of one body and year (the body's newest year with a non-zero value)
    for asked in FIGURES:
        for body in bodies:
            for ref in reversed(catalog.reports_of(body)):
                v = values.nonzero(asked, ref)
                if v is not None and ref.year:
                    out["lookup"].append(_Candidate("lookup", f"{_who(ref)}{asked.lookup}？", body, v.text_value))
                    break
    # a list across the bodies of a level in a year, and a ranking over a year's bodies:
    # the (group, figure) with the most non-zero values first (never an all-zero table)
    lists, ranks = [], []
    sizes = Counter((r.level, r.year) for r in catalog.reports if r.level and r.year)
    groups = sorted((g for g, n in sizes.items() if n >= 2), key=lambda g: (-sizes[g], -g[1], _level_rank(g[0])))
    for level, year in groups[:SCAN_GROUPS]:
        refs = [r for r in catalog.reports if r.level == level and r.year == year]
        for order, asked in enumerate(FIGURES):
            shown = sum(1 for v in values.of(asked, refs).values() if v.status == "ok" and v.number)
            if shown >= 2:
                lists.append((-shown, order, -year, _Candidate(
                    "list", f"{year}年{LEVEL_EACH[level]}{asked.words}分别是多少？", None)))
    per_year = Counter(r.year for r in catalog.reports if r.year)
    for year in sorted(per_year, key=lambda y: (-per_year[y], -y))[:SCAN_GROUPS]:
        refs = [r for r in catalog.reports if r.year == year]
        for order, asked in enumerate(FIGURES):
            vals = [v for v in values.of(asked, refs).values() if v.status == "ok" and v.number]
            if len(vals) >= 2:
                top = max(vals, key=lambda v: v.number)
                ranks.append((-len(vals), order, -year, _Candidate(
                    "rank", f"{year}年哪个单位{asked.most}？", None, top.text_value)))
    out["list"] = [c for *_key, c in sorted(lists, key=lambda x: x[:3])]
    out["rank"] = [c for *_key, c in sorted(ranks, key=lambda x: x[:3])]
    # a trend of a body with three years or more, not flat at zero
    for body in bodies:
        refs = [r for r in catalog.reports_of(body) if r.year]
        if len({r.year for r in refs}) < 3:
            continue
        for asked in FIGURES:
            vals = values.of(asked, refs)
            if sum(1 for v in vals.values() if v.status == "ok" and v.number) >= 2:
                out["trend"].append(_Candidate("trend", f"{catalog.name_of(body)}历年{asked.words}有什么变化？", body))
                break
        if len(out["trend"]) >= PER_KIND:
            break
    # a question answered from the text (section 五: problems), a body's newest report
    for body in bodies:
        ref = catalog.reports_of(body)[-1]
        section = store.section(ref.id, 5)
        if section and len(section.get("text") or "") >= 60 and ref.year:
            out["text"].append(_Candidate("text", _TEXT_EXAMPLE.format(who=_who(ref)), body))
        if len(out["text"]) >= PER_KIND:
            break
    # a question about the report itself (its date, else its 文号)
    for body in bodies:
        for ref in reversed(catalog.reports_of(body)):
            row = store.report(ref.id)
            if row is None or not ref.year:
                continue
            if row["publish_date"]:
                y, m, d = (int(x) for x in row["publish_date"].split("-"))
                out["metadata"].append(_Candidate("metadata", _META_DATE.format(who=_who(ref)), body, f"{y}年{m}月{d}日"))
                break
            if row["doc_number"]:
                out["metadata"].append(_Candidate("metadata", _META_NUMBER.format(who=_who(ref)), body,
                                                  row["doc_number"]))
                break
        if len(out["metadata"]) >= PER_KIND:
            break
    return out


# ---------------------------------------------------------------------------- follow-ups
def follow_up_questions(result, question: str, index: Index | str, n: int = 3) -> list[str]:
    """Up to ``n`` questions to ask after ``result`` (a qa.answer Answer, or its
    to_dict()) answered ``question``: another year of the same body, the same figure
    over the body's years, a related figure, what the report's text says; each one the
    index holds a report (and, for a figure, a value) for."""
    from .understand import understand

    index = open_index(index)
    with index.facts() as store:
        catalog = _catalog(index, store)
        query = understand(question, None, catalog)
        asked = result.query if hasattr(result, "query") else {}
        interp = result.interpretation if hasattr(result, "interpretation") else (result or {}).get("interpretation")
        # a follow-up question ('2020年呢') gets its body and years from the answer
        if interp:
            names = {catalog.name_of(b): b for b in catalog.bodies}
            bodies = [names[x] for x in interp.get("bodies") or [] if x in names]
            if bodies:
                query.bodies = bodies
            if interp.get("years"):
                query.years = list(interp["years"])
            if interp.get("intent"):
                query.intent = interp["intent"]
            if interp.get("level"):
                query.level = interp["level"]
            fig = interp.get("figure")
            if fig:
                query.figure = Figure(fig["name"], fig["table"], tuple(fig["rows"]), tuple(fig["columns"]),
                                      fig.get("unit") or "")
        elif asked:
            query.bodies = asked.get("bodies") or query.bodies
            query.years = asked.get("years") or query.years
        return follow_ups(store, catalog, query, n)


def follow_ups(store: FactStore, catalog: Catalog, query: Query, n: int = 3) -> list[str]:
    """The follow-ups of one understood query (qa.answer calls this with its query)."""
    values = _Values(store)
    out: list[str] = []
    asked = _asked_for(query.figure)
    body = query.bodies[0] if len(query.bodies) == 1 else None
    refs = catalog.reports_of(body) if body else []
    ref = next((r for r in reversed(refs) if r.year in query.years), None) if query.years else (refs[-1] if refs else None)
    if body and ref is not None:
        name = catalog.name_of(body)
        if asked is not None and query.intent != "trend":
            # another year of the same body (the year before, else the one after)
            others = [r for r in refs if r.year and r.year != ref.year and values.of(asked, [r]).get(r.id)
                      and values.of(asked, [r])[r.id].has_number]
            if others:
                other = min(others, key=lambda r: (abs(r.year - ref.year), r.year > ref.year))
                out.append(f"{_who(other)}{asked.lookup}？")
            if len({r.year for r in refs if r.year}) >= 3:
                out.append(f"{name}历年{asked.words}有什么变化？")
        if asked is not None:
            related = next(f for f in FIGURES if f.words == RELATED[asked.words])
            v = values.of(related, [ref]).get(ref.id)
            if v is not None and v.has_number:
                out.append(f"{_who(ref)}{related.lookup}？")
        elif query.intent in ("text", "metadata", "lookup", "yesno"):
            for fig in FIGURES:
                if values.nonzero(fig, ref) is not None:
                    out.append(f"{_who(ref)}{fig.lookup}？")
                    break
        section = store.section(ref.id, 5)
        if section and len(section.get("text") or "") >= 60:
            text_q = _TEXT_EXAMPLE.format(who=_who(ref))
            if query.intent == "text" and "问题" in (query.question or ""):
                text_q = _MEASURES.format(who=_who(ref))
            if text_q != query.question:
                out.append(text_q)
        if query.intent == "trend" and asked is not None:
            latest = next((r for r in reversed(refs) if values.nonzero(asked, r) is not None), None)
            if latest is not None:
                out.insert(0, f"{_who(latest)}{asked.lookup}？")
    elif asked is not None and not query.unknown_bodies:
        # several bodies (a list, a ranking): the top body's other figure, another year
        years = query.years or catalog.years()[-1:]
        scope = [r for r in catalog.reports if r.year in years and (not query.level or r.level == query.level)
                 and (not query.bodies or r.body in query.bodies)]
        vals = [v for v in values.of(asked, scope).values() if v.status == "ok" and v.number]
        if vals:
            top = max(vals, key=lambda v: (v.number, v.report.name))
            top_refs = catalog.reports_of(top.report.body)
            if len({r.year for r in top_refs if r.year}) >= 3:
                out.append(f"{top.report.name}历年{asked.words}有什么变化？")
            out.append(f"{_who(top.report)}{asked.lookup}？")
        # the same question another year, when that year has two non-zero values to show
        nearest = sorted((y for y in catalog.years() if y not in years), key=lambda x: (abs(x - years[0]), x > years[0]))
        for y in nearest[:2]:
            there = [r for r in catalog.reports if r.year == y and (not query.level or r.level == query.level)]
            if sum(1 for v in values.of(asked, there).values() if v.status == "ok" and v.number) >= 2:
                out.append(f"{y}年{LEVEL_EACH[query.level]}{asked.words}分别是多少？" if query.level in LEVEL_EACH
                           else f"{y}年哪个单位{asked.most}？")
                break
    seen: list[str] = []
    for q in out:
        if q not in seen and q != query.question:
            seen.append(q)
    return seen[:n]


def _asked_for(figure: Figure | None) -> _Asked | None:
    """The example figure a query's figure is (same table and rows), or None."""
    if figure is None:
        return None
    for asked in FIGURES:
        f = asked.figure
        if f.table == figure.table and f.rows == figure.rows:
            return asked
    return None


__all__ = ["coverage", "coverage_line", "example_questions", "follow_up_questions", "follow_ups", "FIGURES"]
