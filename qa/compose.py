"""Compose a cited answer from a query and the facts of the store.

Every number an answer states comes from a cell it cites (or is the sum, average or
difference of cited cells, named as such). Blank cells are 未填报, never 0; uncertain
cells give no number; reports failing their arithmetic checks carry a warning. When
the index has no report for the body or year asked, the answer says so and names
what it does have.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from index import template as T
from index.factstore import FactStore
from index.template import STANDARD_TITLES

from . import facts as F
from .understand import LEVEL_NAMES, Catalog, Figure, Query, ReportRef, fmt_number, interpretation

MAX_TABLE_ROWS = 30
MAX_LISTED_BODIES = 8
# What kind of body a name not in the index is, by its last characters.
_LEVEL_BY_SUFFIX = {"乡": "township", "镇": "township", "街道": "township", "片区": "township",
                    "县": "county", "区": "county", "市": "city", "省": "province", "局": "department",
                    "委": "department", "办": "department", "委员会": "department"}  # a not-found answer lists the index's bodies only up to this many


@dataclass
class Citation:
    report_id: str
    title: str
    agency: str
    year: int | None
    section: str
    page: int | None
    quote: str


@dataclass
class Answer:
    answer: str
    citations: list[Citation] = field(default_factory=list)
    facts: list[dict] = field(default_factory=list)
    intent: str = "lookup"
    warnings: list[str] = field(default_factory=list)
    query: dict = field(default_factory=dict)  # the query as parsed (internal keys)
    interpretation: dict = field(default_factory=dict)  # how the question was understood, for people
    suggestions: list[str] = field(default_factory=list)  # questions to ask next (qa.suggest)

    def to_dict(self) -> dict:
        return {"answer": self.answer, "citations": [asdict(c) for c in self.citations],
                "facts": self.facts, "intent": self.intent, "warnings": self.warnings,
                "interpretation": self.interpretation or None, "suggestions": self.suggestions}


class Composer:
    """Builds the answer of one query; collects citations, facts and warnings."""

    def __init__(self, store: FactStore, catalog: Catalog, query: Query):
        self.store, self.catalog, self.q = store, catalog, query
        self.citations: list[Citation] = []
        self.facts: list[dict] = []
        self.warnings: list[str] = []
        self._checked: set[str] = set()

    # ------------------------------------------------------------------ helpers
    def year_label(self, ref: ReportRef) -> str:
        return f"{ref.year}年" if ref.year else "（年份不详）"

    def who(self, ref: ReportRef) -> str:
        return f"{ref.name}{self.year_label(ref)}"

    def cite_value(self, value: F.FigureValue) -> None:
        ref = value.report
        if not value.cells:
            return
        number = F.TABLE_SECTIONS.get(value.figure.table, 3)
        sec = self.store.section(ref.id, number)
        pages = [c.page for c in value.cells if c.page]
        self.citations.append(Citation(
            ref.id, ref.title, ref.body, ref.year, section_title(sec, number),
            pages[0] if pages else (sec or {}).get("page_start"), value.quote))
        for cell in value.cells:
            d = cell.to_dict()
            d.update({"agency": ref.body, "year": ref.year})
            self.facts.append(d)
        if value.status == "uncertain":
            self.warnings.append(f"{self.who(ref)}报告：{value.reason}，未给出数字。")
        elif value.status == "partial":
            self.warnings.append(f"{self.who(ref)}报告：{value.figure.name}{value.reason}。")
        elif value.status == "blank":
            self.warnings.append(f"{self.who(ref)}报告：{value.figure.name}一栏为空（未填报），不按 0 计。")
        self.warn_checks([ref])

    def cite_report(self, ref: ReportRef, section_number: int = 0, quote: str = "") -> None:
        sec = self.store.section(ref.id, section_number)
        self.citations.append(Citation(ref.id, ref.title, ref.body, ref.year,
                                       section_title(sec, section_number),
                                       (sec or {}).get("page_start"), quote or ref.title))

    def warn_checks(self, refs: list[ReportRef]) -> None:
        todo = [r for r in refs if r.id not in self._checked]
        if not todo:
            return
        failed = F.failed_checks(self.store, [r.id for r in todo])
        scanned = self.store.read_by_ocr([r.id for r in todo])  # one query for all, not one a report
        for ref in todo:
            self._checked.add(ref.id)
            checks = failed.get(ref.id) or []
            if checks:
                shown = "；".join(f"{c['rule']}（{c['scope']}）：{c['detail']}" for c in checks[:2])
                more = f" 等 {len(checks)} 项" if len(checks) > 2 else ""
                self.warnings.append(f"{self.who(ref)}报告未通过校验{more}：{shown}")
            if ref.id in scanned:
                self.warnings.append(f"{self.who(ref)}报告是扫描件，表格数字由文字识别（OCR）读出，"
                                     "可能有误读，请以报告原文为准。")

    def value_phrase(self, v: F.FigureValue, with_name: bool = True) -> str:
        name = v.figure.name if with_name else ""
        if v.status == "ok":
            return f"{name}为 {v.text_value} {v.unit}".replace("  ", " ").strip()
        if v.status == "partial":
            return f"{name}为 {v.text_value} {v.unit}（{v.reason}）".strip()
        if v.status == "blank":
            return f"{name}一栏未填报（表格为空）"
        if v.status == "uncertain":
            return f"{name}读数不确定（{v.reason}），不给出数字"
        return f"没有{name}的数据（{v.reason}）"

    def short_value(self, v: F.FigureValue) -> str:
        if v.has_number:
            return f"{v.text_value}" + ("（部分未填报）" if v.status == "partial" else "")
        return {"blank": "未填报", "uncertain": "读数不确定", "missing": "无此项"}.get(v.status, "—")

    def table(self, header: list[str], rows: list[list[str]]) -> str:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in rows[:MAX_TABLE_ROWS]:
            lines.append("| " + " | ".join(str(c) for c in row) + " |")
        if len(rows) > MAX_TABLE_ROWS:
            lines.append(f"| …共 {len(rows)} 行 |" + " |" * (len(header) - 1))
        return "\n".join(lines)

    def done(self, text: str) -> Answer:
        seen, citations = set(), []
        for c in self.citations:
            key = (c.report_id, c.quote)
            if key not in seen:
                seen.add(key)
                citations.append(c)
        warnings = list(dict.fromkeys(self.warnings))
        return Answer(text.strip(), citations, self.facts, self.q.intent, warnings, self.q.to_dict(),
                      interpretation(self.q, self.catalog))

    # ------------------------------------------------------------------ scope
    def available(self, bodies: list[str] | None = None) -> str:
        """What the index holds, for a not-found answer: the bodies asked about with
        their years, or (for the whole index) a summary and the names nearest to what
        was asked."""
        if not bodies and len(self.catalog.bodies) > MAX_LISTED_BODIES:
            years = self.catalog.years()
            span = f"{years[0]}–{years[-1]}年" if years else ""
            return (f"索引共收录 {len(self.catalog.bodies)} 个单位的 {len(self.catalog.reports)} 份报告"
                    f"（{span}）" + self.nearest_hint())
        parts = []
        for body in (bodies or self.catalog.bodies):
            years = [r.year for r in self.catalog.reports_of(body) if r.year]
            years_txt = "、".join(str(y) for y in sorted(set(years))) + "年" if years else "年份不详"
            parts.append(f"{self.catalog.name_of(body)}（{years_txt}）")
        return "；".join(parts)

    def nearest_hint(self) -> str:
        """'；相近的单位有：…' for names asked that are not in the index (else the
        index's bodies of the same kind: '；索引中的乡镇（街道）有：…')."""
        names: list[str] = []
        for mention in self.q.unknown_bodies:
            for alias in self.catalog.names.nearest(mention):
                for body in sorted(self.catalog.aliases.get(alias, ())):
                    name = self.catalog.name_of(body)
                    if name not in names:
                        names.append(name)
        if names:
            return f"；相近的单位有：{'、'.join(names[:5])}"
        levels = set()
        for m in self.q.unknown_bodies:
            suffix = max((k for k in _LEVEL_BY_SUFFIX if m.endswith(k)), key=len, default=None)
            if suffix:
                levels.add(_LEVEL_BY_SUFFIX[suffix])
        if len(levels) == 1:
            level = levels.pop()
            same = [self.catalog.name_of(b) for b in self.catalog.bodies if self.catalog.level_of(b) == level]
            if same:
                more = f"等 {len(same)} 个" if len(same) > MAX_LISTED_BODIES else ""
                return f"；索引中的{LEVEL_NAMES[level]}有：{'、'.join(same[:MAX_LISTED_BODIES])}{more}"
        return ""

    def scope(self, latest_only: bool = False) -> list[ReportRef]:
        q = self.q
        if q.bodies:
            refs = [r for b in q.bodies for r in self.catalog.reports_of(b)]
        elif q.region_bodies:
            refs = [r for r in self.catalog.reports if r.body in q.region_bodies]
        else:
            refs = list(self.catalog.reports)
        if q.level and not q.bodies:
            refs = [r for r in refs if r.level == q.level]
        if q.years:
            refs = [r for r in refs if r.year in q.years]
        elif latest_only:
            newest: dict[str, ReportRef] = {}
            for r in refs:
                if r.body not in newest or (r.year or 0) > (newest[r.body].year or 0):
                    newest[r.body] = r
            refs = list(newest.values())
        return sorted(refs, key=lambda r: (r.level or "", r.body, r.year or 0))

    def scope_words(self) -> str:
        q = self.q
        parts = []
        if q.bodies:
            parts.append("、".join(self.catalog.name_of(b) for b in q.bodies))
            if not q.years:
                parts.append("历年")
        if q.years:
            parts.append(years_text(q.years))
        if q.region:
            parts.append(f"{q.region}范围内")
        if q.level:
            parts.append(LEVEL_NAMES.get(q.level, q.level))
        elif not q.bodies:
            parts.append("各单位")
        return "".join(parts)

    def not_found(self) -> Answer | None:
        """An answer when the body or year asked has no report in the index."""
        q = self.q
        if q.unknown_bodies and not q.bodies:
            names = "、".join(dict.fromkeys(q.unknown_bodies))
            extra = ""
            if q.region_bodies:
                extra = f"该地区内索引中有：{self.available(q.region_bodies)}。"
                return self.done(f"索引中没有{names}本级的报告，无法回答。{extra}")
            return self.done(f"索引中没有{names}的报告，无法回答。现有报告：{self.available()}。")
        if q.bodies and q.years:
            missing = [b for b in q.bodies
                       if not any(r.year in q.years for r in self.catalog.reports_of(b))]
            if missing and (len(missing) == len(q.bodies) or q.intent not in ("compare",)):
                names = "、".join(self.catalog.name_of(b) for b in missing)
                return self.done(f"索引中没有{names}{years_text(q.years)}的报告，无法回答。"
                                 f"现有：{self.available(missing)}。")
        if not q.bodies and (q.level or q.years or q.region) and not self.scope(latest_only=True):
            what = self.scope_words()
            return self.done(f"索引中没有{what}的报告，无法回答。现有报告：{self.available()}。")
        return None


_NUMERALS = "〇一二三四五六"


def section_title(sec: dict | None, number: int | None) -> str:
    """The section heading as printed, or the standard one when the printed heading
    runs into the text (flattened pages)."""
    title = ((sec or {}).get("title") or "").strip()
    if title and len(title) <= 30 and not re.search(r"[，。；]", title):
        return title
    if isinstance(number, int) and 1 <= number <= 6:
        return f"{_NUMERALS[number]}、{STANDARD_TITLES[number]}"
    return STANDARD_TITLES.get(number, "") if isinstance(number, int) else title[:30]


def years_text(years: list[int]) -> str:
    years = sorted(set(years))
    if len(years) > 2 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}–{years[-1]}年"
    return "、".join(str(y) for y in years) + "年"


def _matches(value: F.FigureValue, op: str, x: float | None) -> bool:
    if op == "blank":
        return value.status == "blank"
    if not value.has_number:
        return False
    n = value.number
    return {"=": n == x, ">": n > x, "<": n < x, ">=": n >= x, "<=": n <= x, "any": True}.get(op, False)


# ---------------------------------------------------------------------- intents
def compose(store: FactStore, catalog: Catalog, q: Query) -> Answer:
    c = Composer(store, catalog, q)
    missing = c.not_found()
    if missing is not None:
        return missing
    if q.intent == "metadata":
        from .report_info import answer_metadata

        return answer_metadata(c)
    handler = {
        "lookup": _lookup, "yesno": _yesno, "list": _list, "aggregate": _aggregate, "rank": _rank,
        "compare": _compare, "trend": _trend,
    }.get(q.intent)
    if handler is None:
        raise ValueError(f"no composer for intent {q.intent!r}")
    if q.figure is None and q.intent not in ("list", "yesno", "aggregate"):
        return c.done("没有看懂要查的是哪一项数字。可以问例如：收到多少申请、予以公开多少件、"
                      "行政处罚多少件、收费金额、行政复议或行政诉讼多少件。")
    return handler(c)


def _reports_for_bodies(c: Composer) -> list[tuple[str, list[ReportRef], bool]]:
    """Per body asked: its reports for the years asked (or its newest), and whether
    the newest was taken because no year was given."""
    out = []
    for body in c.q.bodies:
        refs = c.catalog.reports_of(body)
        if c.q.years:
            out.append((body, [r for r in refs if r.year in c.q.years], False))
        elif refs:
            out.append((body, [refs[-1]], len(refs) > 1))
    return out


def _newest_note(c: Composer, body: str, ref: ReportRef) -> str:
    others = [r.year for r in c.catalog.reports_of(body) if r.year and r.id != ref.id]
    if not others:
        return ""
    return f"（未指定年份，取最新一期{ref.year}年报告；另有{years_text(others)}的报告）"


def _parts(c: Composer, v: F.FigureValue) -> str:
    """'（其中保护第三方合法权益 1 件）': the non-zero parts of a figure that is a group of
    rows (不予公开 and its eight reasons) or a 复议/诉讼 total (its results), so that
    '是什么理由 / 结果怎么样' is answered by the table itself."""
    if not v.has_number or not v.number:
        return ""
    fig = v.figure
    parts = []
    if fig.rows and fig.rows[0].endswith("*") and len(fig.columns) == 1:
        for cell in v.cells:
            if cell.number and not cell.blank and not cell.uncertain:
                parts.append(f"{cell.row.split('-', 1)[-1]} {cell.value}")
    if fig.table == T.REVIEW and fig.columns == ("总计",):
        for column in T.REVIEW_COLUMNS[:-1]:
            part = Figure(f"{fig.name}（{column}）", fig.table, fig.rows, (column,), fig.unit)
            for pv in F.figure_values(c.store, [v.report], part):
                if pv.has_number and pv.number:
                    parts.append(f"{column} {pv.text_value}")
                    c.cite_value(pv)
    if len(parts) == 1 and fig.table != T.REVIEW and parts[0].endswith(f" {v.text_value}"):
        return f"（均为{parts[0].rsplit(' ', 1)[0]}）"
    return f"（其中{'，'.join(parts)}）" if parts else ""


def _lookup(c: Composer) -> Answer:
    q = c.q
    if not q.bodies:
        return _list(c)
    sentences, rows = [], []
    for body, refs, newest in _reports_for_bodies(c):
        values = F.figure_values(c.store, refs, q.figure)
        for v in values:
            c.cite_value(v)
            note = _newest_note(c, body, v.report) if newest else ""
            sentences.append(f"{c.who(v.report)}{c.value_phrase(v)}{_parts(c, v)}{note}。")
            rows.append([v.report.name, f"{v.report.year}", c.short_value(v), v.unit])
    text = "".join(sentences)
    if len(rows) > 1:
        text += "\n\n" + c.table(["单位", "年份", q.figure.name, "计量单位"], rows)
    return c.done(text)


def _yesno(c: Composer) -> Answer:
    q = c.q
    if q.check_question or (q.figure is None and q.condition and q.condition.op == "failing"):
        return _check_yesno(c)
    if q.figure is None:
        if q.condition and q.condition.op == "blank":
            return _blank_yesno(c)
        return _list(c)
    if not q.bodies:
        return _list(c)
    sentences = []
    for body, refs, newest in _reports_for_bodies(c):
        for v in F.figure_values(c.store, refs, q.figure):
            c.cite_value(v)
            note = _newest_note(c, body, v.report) if newest else ""
            cond = q.condition
            if cond and cond.op == "blank":
                head = "是的，未填报：" if v.status == "blank" else ("已填报：" if v.has_number else "无法判断：")
            elif v.status in ("blank", "uncertain", "missing"):
                head = "无法判断："
            else:
                op, x = (cond.op, cond.value) if cond and cond.op not in ("failing",) else (">", 0.0)
                head = "是的，" if _matches(v, op, x) else ("没有，" if op == ">" and x == 0 else "否，")
            sentences.append(f"{head}{c.who(v.report)}{c.value_phrase(v)}{_parts(c, v)}{note}。")
    return c.done("".join(sentences))


def _check_yesno(c: Composer) -> Answer:
    refs = [r for _, refs, _ in _reports_for_bodies(c) for r in refs] if c.q.bodies else c.scope()
    if not refs:
        return c.done(f"索引中没有相应的报告。现有报告：{c.available()}。")
    failed = F.failed_checks(c.store, [r.id for r in refs])
    sentences = []
    for ref in refs:
        checks = failed.get(ref.id) or []
        if checks:
            shown = "；".join(f"{x['rule']}（{x['scope']}）：{x['detail']}" for x in checks[:3])
            more = f"等 {len(checks)} 项" if len(checks) > 3 else f"{len(checks)} 项"
            sentences.append(f"是的，{c.who(ref)}报告有数字对不上（未通过校验{more}）：{shown}。")
            c.cite_report(ref, 3, "；".join(x["detail"] for x in checks[:3]))
        else:
            sentences.append(f"没有发现问题：{c.who(ref)}报告的表格通过了全部可判定的校验。")
            c.cite_report(ref, 3, "校验全部通过")
        c._checked.add(ref.id)
    return c.done("".join(sentences))


def _blank_yesno(c: Composer) -> Answer:
    refs = [r for _, refs, _ in _reports_for_bodies(c) for r in refs]
    blanks = F.blank_cells(c.store, [r.id for r in refs])
    sentences = []
    for ref in refs:
        cells = blanks.get(ref.id) or []
        if cells:
            shown = "、".join(f"{F.TABLE_NUMBERS.get(x.table)} {F.row_label(x.row)} {x.column}" for x in cells[:5])
            sentences.append(f"是的，{c.who(ref)}报告有 {len(cells)} 个单元格未填报（为空，不按 0 计），例如：{shown}。")
            c.cite_report(ref, F.TABLE_SECTIONS.get(cells[0].table, 3), cells[0].quote)
        else:
            sentences.append(f"没有，{c.who(ref)}报告的表格没有空白单元格。")
            c.cite_report(ref, 3, "表格无空白单元格")
    return c.done("".join(sentences))


def _list(c: Composer) -> Answer:
    q = c.q
    cond = q.condition
    if q.figure is None:
        if q.check_question or (cond and cond.op == "failing"):
            return _list_failing(c)
        if cond and cond.op == "blank":
            return _list_blank(c)
        refs = c.scope()
        if not refs:
            return c.done(f"索引中没有{c.scope_words()}的报告。现有报告：{c.available()}。")
        rows = [[r.name, r.body, str(r.year or ""), LEVEL_NAMES.get(r.level or "", r.level or ""), r.id] for r in refs]
        for r in refs:
            c.cite_report(r, 0, r.title)
        names = "、".join(dict.fromkeys(f"{r.name}{c.year_label(r)}" for r in refs))
        return c.done(f"{c.scope_words()}共 {len(refs)} 份报告：{names}。\n\n"
                      + c.table(["单位", "全称", "年份", "层级", "报告"], rows))
    refs = c.scope()
    values = F.figure_values(c.store, refs, q.figure)
    if cond is None or cond.op == "failing":
        chosen = [v for v in values if v.status != "missing"]
        head = f"{c.scope_words()}的{q.figure.name}如下（共 {len(chosen)} 份报告）："
    else:
        chosen = [v for v in values if _matches(v, cond.op, cond.value)]
        if cond.op in (">", ">="):
            chosen.sort(key=lambda v: -(v.number or 0))
        desc = cond.describe()
        if not chosen:
            text = f"{c.scope_words()}中没有{q.figure.name}{desc}的报告。"
            unknown = [v for v in values if not v.has_number and v.status != "missing"]
            if unknown:
                text += "另有 " + "、".join(f"{c.who(v.report)}（{c.short_value(v)}）" for v in unknown) + " 无法判断。"
            for v in values:
                if v.has_number:
                    c.cite_value(v)
            return c.done(text)
        names = "、".join(f"{c.who(v.report)}" for v in chosen)
        head = f"{c.scope_words()}中{q.figure.name}{desc}的共有 {len(chosen)} 份报告：{names}。"
    for v in chosen:
        c.cite_value(v)
    excluded = [v for v in values if v not in chosen and v.status in ("blank", "uncertain")]
    if excluded and cond is not None and cond.op != "blank":
        head += "另有 " + "、".join(f"{c.who(v.report)}（{c.short_value(v)}）" for v in excluded) + " 无法判断，未列入。"
        for v in excluded:
            c.cite_value(v)
    rows = [[v.report.name, str(v.report.year or ""), c.short_value(v), v.unit] for v in chosen]
    return c.done(head + "\n\n" + c.table(["单位", "年份", q.figure.name, "计量单位"], rows))


def _list_failing(c: Composer) -> Answer:
    refs = c.scope()
    failed = F.failed_checks(c.store, [r.id for r in refs])
    bad = [r for r in refs if failed.get(r.id)]
    if not bad:
        for r in refs[:5]:
            c.cite_report(r, 3, "校验全部通过")
        return c.done(f"{c.scope_words()}中没有未通过校验的报告（共检查 {len(refs)} 份）。")
    rows = []
    for r in bad:
        checks = failed[r.id]
        rows.append([r.name, str(r.year or ""), str(len(checks)),
                     "；".join(f"{x['rule']}（{x['scope']}）" for x in checks[:3])])
        c.cite_report(r, 3, "；".join(x["detail"] for x in checks[:2]))
        c._checked.add(r.id)
    names = "、".join(c.who(r) for r in bad)
    return c.done(f"{c.scope_words()}中有 {len(bad)} 份报告的数字未通过校验（勾稽关系或合计对不上）：{names}。\n\n"
                  + c.table(["单位", "年份", "未通过项数", "例如"], rows))


def _list_blank(c: Composer) -> Answer:
    refs = c.scope()
    blanks = F.blank_cells(c.store, [r.id for r in refs])
    with_blank = [r for r in refs if blanks.get(r.id)]
    if not with_blank:
        return c.done(f"{c.scope_words()}中没有含空白（未填报）单元格的报告。")
    rows = []
    for r in with_blank:
        cells = blanks[r.id]
        rows.append([r.name, str(r.year or ""), str(len(cells)),
                     "；".join(f"{F.TABLE_NUMBERS.get(x.table)} {F.row_label(x.row)} {x.column}" for x in cells[:2])])
        c.cite_report(r, F.TABLE_SECTIONS.get(cells[0].table, 3), cells[0].quote)
    names = "、".join(f"{c.who(r)}（{len(blanks[r.id])} 个）" for r in with_blank)
    return c.done(f"{c.scope_words()}中有 {len(with_blank)} 份报告含未填报（空白）的单元格：{names}。"
                  "空白按未填报处理，不按 0 计。\n\n" + c.table(["单位", "年份", "空白单元格数", "例如"], rows))


def _aggregate(c: Composer) -> Answer:
    q = c.q
    if q.aggregate == "count":
        return _count(c)
    if q.figure is None:
        return _list(c)
    refs = c.scope(latest_only=not q.bodies)
    values = F.figure_values(c.store, refs, q.figure)
    if q.condition and q.condition.op not in ("failing", "blank"):
        values = [v for v in values if _matches(v, q.condition.op, q.condition.value)]
    usable = [v for v in values if v.has_number]
    skipped = [v for v in values if not v.has_number and v.status != "missing"]
    for v in usable + skipped:
        c.cite_value(v)
    if not usable:
        return c.done(f"{c.scope_words()}没有可用的{q.figure.name}数字。")
    total = sum(v.number for v in usable)
    unit = usable[0].unit
    who = ("、".join(c.who(v.report) for v in usable) if q.bodies and len(q.bodies) == 1
           else f"{len(usable)} 份报告")
    if q.bodies and len(q.bodies) == 1:
        who = f"{usable[0].report.name}{years_text([v.report.year for v in usable if v.report.year])}"
    unreadable = [v for v in skipped if v.status == "uncertain"]
    if unreadable:
        # The true total is not known: say so before giving the partial one.
        result = (f"无法给出准确{'平均' if q.aggregate == 'avg' else '合计'}：" + "、".join(
            f"{c.who(v.report)}" for v in unreadable[:8]) + f"的{q.figure.name}读数不确定。"
            f"其余 {len(usable)} 份报告合计 {fmt_number(round(total, 6))} {unit}。")
    elif q.aggregate == "avg":
        result = f"{who}的{q.figure.name}平均为 {fmt_number(round(total / len(usable), 2))} {unit}" \
                 f"（{len(usable)} 份报告合计 {fmt_number(round(total, 6))} {unit}）。"
    else:
        scope = "" if q.bodies else f"{c.scope_words()}，"
        result = f"{scope}{who}的{q.figure.name}合计 {fmt_number(round(total, 6))} {unit}。"
    if skipped and not unreadable:
        result += "未计入：" + "、".join(f"{c.who(v.report)}（{c.short_value(v)}）" for v in skipped) + "。"
    rows = [[v.report.name, str(v.report.year or ""), c.short_value(v)] for v in usable + skipped]
    return c.done(result + "\n\n" + c.table(["单位", "年份", q.figure.name], rows))


def _count(c: Composer) -> Answer:
    q = c.q
    cond = q.condition
    if q.figure is None:
        if q.check_question or (cond and cond.op == "failing"):
            answer = _list_failing(c)
        elif cond and cond.op == "blank":
            answer = _list_blank(c)
        else:
            answer = _list(c)
        return answer
    refs = c.scope()
    values = F.figure_values(c.store, refs, q.figure)
    if cond is None or cond.op == "failing":
        chosen = [v for v in values if v.has_number]
        desc = "有数据"
    else:
        chosen = [v for v in values if _matches(v, cond.op, cond.value)]
        desc = cond.describe()
    for v in chosen:
        c.cite_value(v)
    names = "、".join(c.who(v.report) for v in chosen)
    text = f"{c.scope_words()}中{q.figure.name}{desc}的共有 {len(chosen)} 份报告" + (f"：{names}。" if chosen else "。")
    unknown = [v for v in values if v not in chosen and v.status in ("blank", "uncertain")]
    if unknown:
        text += "另有 " + "、".join(f"{c.who(v.report)}（{c.short_value(v)}）" for v in unknown) + " 无法判断，未计入。"
    rows = [[v.report.name, str(v.report.year or ""), c.short_value(v)] for v in chosen]
    if rows:
        text += "\n\n" + c.table(["单位", "年份", q.figure.name], rows)
    return c.done(text)


def _could_exceed(v: F.FigureValue, bound: float, order: str) -> bool:
    """Whether an unreadable figure could beat ``bound``: its cells' possible readings
    decide when it is one cell with candidates; otherwise it could."""
    if v.status == "blank":
        return False  # 未填报 is not a number the report states
    cells = [x for x in v.cells if not x.blank]
    if len(cells) != 1 or not cells[0].candidates:
        return True
    try:
        readings = [float(x) for x in cells[0].candidates]
    except ValueError:
        return True
    return any(r > bound for r in readings) if order == "desc" else any(r < bound for r in readings)


def _rank(c: Composer) -> Answer:
    q = c.q
    refs = c.scope(latest_only=not q.bodies)
    values = F.figure_values(c.store, refs, q.figure)
    usable = [v for v in values if v.has_number]
    skipped = [v for v in values if not v.has_number and v.status != "missing"]
    if not usable:
        return c.done(f"{c.scope_words()}没有可比较的{q.figure.name}数字。")
    usable.sort(key=lambda v: (v.number, v.report.year or 0), reverse=q.order == "desc")
    k = q.k or len(usable)
    top = usable[:k]
    for v in top:
        c.cite_value(v)
    word = "最多" if q.order == "desc" else "最少"
    note = "" if q.years or q.bodies else "（未指定年份，各单位取最新一期报告）"
    # A report whose figure cannot be read may be the one asked for: say so first.
    doubtful = [v for v in skipped if _could_exceed(v, top[-1].number, q.order)]
    if doubtful:
        text = (f"无法确定{c.scope_words()}中{q.figure.name}{word}的是哪个：" + "、".join(
            f"{c.who(v.report)}（{c.short_value(v)}）" for v in doubtful[:8]) + " 的数字无法读出，可能排在前面。"
            f"在数字可读的 {len(usable)} 份报告中，" + "、".join(
                f"{c.who(v.report)}（{v.text_value} {v.unit}）" for v in top[:max(k, 3)]) + f" 居前{note}。")
        for v in doubtful[:8]:
            c.cite_value(v)
        shown = usable[:max(k, min(5, len(usable)))]
        rows = [[str(i + 1), v.report.name, str(v.report.year or ""), f"{v.text_value}", v.unit]
                for i, v in enumerate(shown)]
        return c.done(text + "\n\n" + c.table(["名次", "单位", "年份", q.figure.name, "计量单位"], rows))
    if len(top) == 1:
        v = top[0]
        ties = [u for u in usable[1:] if u.number == v.number]
        text = f"{c.scope_words()}中{q.figure.name}{word}的是{c.who(v.report)}：{v.text_value} {v.unit}{note}。"
        if ties:
            text += "并列的还有：" + "、".join(c.who(u.report) for u in ties[:10]) + "。"
            for u in ties[:10]:
                c.cite_value(u)
    else:
        text = (f"{c.scope_words()}中{q.figure.name}{'从多到少' if q.order == 'desc' else '从少到多'}"
                f"前 {len(top)} 位{note}：" + "、".join(f"{c.who(v.report)}（{v.text_value}）" for v in top) + "。")
    if skipped:
        text += "未参与排名：" + "、".join(f"{c.who(v.report)}（{c.short_value(v)}）" for v in skipped) + "。"
    shown = usable[:max(k, min(5, len(usable)))]
    rows = [[str(i + 1), v.report.name, str(v.report.year or ""), f"{v.text_value}", v.unit] for i, v in enumerate(shown)]
    return c.done(text + "\n\n" + c.table(["名次", "单位", "年份", q.figure.name, "计量单位"], rows))


def _compare(c: Composer) -> Answer:
    q = c.q
    pairs: list[F.FigureValue] = []
    if len(q.bodies) >= 2:
        for body, refs, _ in _reports_for_bodies(c):
            if not refs:
                c.warnings.append(f"索引中没有{c.catalog.name_of(body)}{years_text(q.years)}的报告"
                                  f"（现有：{c.available([body])}）。")
                continue
            pairs += F.figure_values(c.store, refs[-1:], q.figure)
    else:
        body = q.bodies[0] if q.bodies else None
        if body is None:
            return _rank(c)
        refs = [r for r in c.catalog.reports_of(body) if r.year in q.years]
        missing = sorted(set(q.years) - {r.year for r in refs})
        if missing:
            return c.done(f"索引中没有{c.catalog.name_of(body)}{years_text(missing)}的报告，无法比较。"
                          f"现有：{c.available([body])}。")
        pairs = F.figure_values(c.store, refs, q.figure)
    for v in pairs:
        c.cite_value(v)
    if len(pairs) < 2:
        text = "".join(f"{c.who(v.report)}{c.value_phrase(v)}。" for v in pairs)
        return c.done(text + "可比较的报告不足两份。")
    parts = [f"{c.who(v.report)}{c.value_phrase(v, with_name=False)}" for v in pairs]
    text = f"{q.figure.name}：" + "；".join(parts) + "。"
    a, b = pairs[0], pairs[1]
    if a.has_number and b.has_number and len(pairs) == 2:
        diff = b.number - a.number
        unit = a.unit
        if len(q.bodies) >= 2:
            if diff == 0:
                text += "两者相同。"
            else:
                more, less = (b, a) if diff > 0 else (a, b)
                text += f"{c.who(more.report)}比{c.who(less.report)}多 {fmt_number(round(abs(diff), 6))} {unit}。"
        else:
            if diff == 0:
                text += f"{b.report.year}年与{a.report.year}年持平。"
            else:
                text += (f"{b.report.year}年比{a.report.year}年{'增加' if diff > 0 else '减少'} "
                         f"{fmt_number(round(abs(diff), 6))} {unit}。")
    elif len(pairs) == 2:
        text += "其中一方没有可用数字，无法计算差值。"
    rows = [[v.report.name, str(v.report.year or ""), c.short_value(v), v.unit] for v in pairs]
    return c.done(text + "\n\n" + c.table(["单位", "年份", q.figure.name, "计量单位"], rows))


def _trend(c: Composer) -> Answer:
    q = c.q
    if not q.bodies:
        return _list(c)
    body = q.bodies[0]
    refs = c.catalog.reports_of(body)
    if q.years:
        refs = [r for r in refs if r.year in q.years]
    values = F.figure_values(c.store, refs, q.figure)
    for v in values:
        c.cite_value(v)
    name = c.catalog.name_of(body)
    if len(values) == 1:
        v = values[0]
        return c.done(f"索引中{name}只有{c.year_label(v.report)}一份报告：{c.value_phrase(v)}。")
    series = "、".join(f"{v.report.year}年 {c.short_value(v)}" for v in values)
    yrs = years_text([v.report.year for v in values if v.report.year])
    text = f"{name}{yrs}的{q.figure.name}（{values[0].unit}）：{series}。"
    usable = [v for v in values if v.has_number]
    if len(usable) >= 2:
        hi = max(usable, key=lambda v: v.number)
        lo = min(usable, key=lambda v: v.number)
        first, last = usable[0], usable[-1]
        change = last.number - first.number
        direction = "增加" if change > 0 else ("减少" if change < 0 else "持平")
        text += (f"最高为{hi.report.year}年（{hi.text_value}），最低为{lo.report.year}年（{lo.text_value}）；"
                 f"{last.report.year}年比{first.report.year}年{direction}"
                 + (f" {fmt_number(round(abs(change), 6))}" if change else "") + "。")
    rows = [[str(v.report.year or ""), c.short_value(v), v.unit] for v in values]
    return c.done(text + "\n\n" + c.table(["年份", q.figure.name, "计量单位"], rows))


_HEAD_START = re.compile(r"^\s*(?:[（(]?[一二三四五六七八九十]+[)）、.．]|\d+[.、．]|#)")


def sentences_of(text: str) -> list[str]:
    """The sentences of a passage, in order: split at 。！？ and at ；/; (an enumeration
    一是…；二是… gives one item each). Hard-wrapped lines (PDF, markdown) belong to one
    sentence unless a heading starts or a short heading line ends ('（一）主要问题');
    markdown emphasis is dropped."""
    text = re.sub(r"\*\*|__", "", text)
    joined = ""
    prev = ""
    for line in text.split("\n"):
        if not line.strip():
            continue
        glue = prev and not re.search(r"[。！？；;:：]\s*$", prev) and not _HEAD_START.match(line) \
            and not (_HEAD_START.match(prev) and len(prev.strip()) <= 20 and not re.search(r"[。！？；;，,]", prev))
        joined += ("" if glue else "\n") + line if joined else line
        prev = line
    parts = re.split(r"(?<=[。！？；;!?])|\n+", joined)
    out = []
    for p in parts:
        p = re.sub(r"^[#>*\s]+", "", p).strip()
        if len(p) >= 6:
            out.append(p)
    return out
