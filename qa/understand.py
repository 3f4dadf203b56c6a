"""Understand a question: which reports, which figure, what to do with it.

``understand(question, history, catalog)`` turns a Chinese question into a ``Query``:

- entities linked against the reports in the store (``Catalog``): issuing bodies by
  full name, short name or region (交岔乡, 彭阳县交岔乡, 洪泽区, 平潭), administrative
  levels (乡镇, 县区, 市, 省, 部门), years (2021年, 21年, 去年, 今年/最新, 2019到2023年);
- the figure asked for, through a vocabulary that maps how people speak to the
  canonical cells of ``index.template`` (收到/受理/有人申请 → 依申请 本年新收 总计,
  老百姓/个人 → 自然人, 收了多少钱 → 行政事业性收费 本年收费金额, 被告 → 行政诉讼 …);
- the intent: lookup, list, aggregate (sum/avg/count), rank, compare, trend, yesno, text;
- a condition for lists and counts (= 0, > N, < N, blank, failing a check).

A follow-up (``那官厅镇呢？``, ``2020年呢？``, ``行政处罚呢？``) inherits from the
previous turns whatever it leaves out. Typos are tolerated: one wrong character in a
body name (交叉乡 → 交岔乡), common OCR confusions (沐阳 → 沭阳) and full-width digits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from index import template as T
from index.errors import NianbaoError
from index.factstore import FactStore

from .names import NameMatcher, body_aliases, display_name, region_aliases

LEVEL_NAMES = {"township": "乡镇（街道）", "county": "县区", "city": "市", "province": "省级",
               "department": "部门"}
MAX_QUESTION_CHARS = 2000


class QuestionError(NianbaoError, ValueError):
    """A question that cannot be taken (empty, too long); the message says why."""


# ----------------------------------------------------------------------------- figures
@dataclass(frozen=True)
class Figure:
    """What to read from the tables: the sum of ``rows`` × ``columns`` of ``table``.

    A row ending in ``*`` matches the row and its sub-rows (``不予公开-*``). A column
    starting with ``@`` is resolved per template version (see ``resolve_column``)."""

    name: str  # how the answer names it, e.g. '本年新收政府信息公开申请'
    table: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    unit: str = "件"

    @property
    def key(self) -> str:
        return f"{self.table}|{','.join(self.rows)}|{','.join(self.columns)}"


# Columns of 主动公开 that differ between templates: each ``index.template.Template``
# maps these logical names to its own column.
COLUMN_WORDS = T.COLUMN_WORDS


def resolve_column(column: str, template: str | None) -> str | None:
    """The canonical column of a (possibly version-dependent) column for a report;
    None when the report's template has no such column (or is unknown)."""
    found = T.TEMPLATES.get(template or T.DEFAULT_VERSION)
    return found.column(column) if found else (None if column.startswith("@") else column)


_LEGAL = ("商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")

# (pattern, priority, table, rows, default column spec, name, unit)
# Higher priority wins; among equals the longer match wins.
_ROW_VOCAB: list[tuple[str, int, str, tuple[str, ...], str, str, str]] = [
    # 依申请: sub-rows
    (r"国家秘密|涉密", 3, T.APPLICATION, ("不予公开-属于国家秘密",), "总计", "不予公开（属于国家秘密）", "件"),
    (r"法律行政法规禁止|法律法规禁止", 3, T.APPLICATION, ("不予公开-其他法律行政法规禁止公开",), "总计",
     "不予公开（其他法律行政法规禁止公开）", "件"),
    (r"三安全|一稳定", 3, T.APPLICATION, ("不予公开-危及三安全一稳定",), "总计", "不予公开（危及“三安全一稳定”）", "件"),
    (r"第三方", 3, T.APPLICATION, ("不予公开-保护第三方合法权益",), "总计", "不予公开（保护第三方合法权益）", "件"),
    (r"内部事务", 3, T.APPLICATION, ("不予公开-属于三类内部事务信息",), "总计", "不予公开（属于三类内部事务信息）", "件"),
    (r"过程性信息|过程性", 3, T.APPLICATION, ("不予公开-属于四类过程性信息",), "总计", "不予公开（属于四类过程性信息）", "件"),
    (r"执法案卷", 3, T.APPLICATION, ("不予公开-属于行政执法案卷",), "总计", "不予公开（属于行政执法案卷）", "件"),
    (r"查询事项", 3, T.APPLICATION, ("不予公开-属于行政查询事项",), "总计", "不予公开（属于行政查询事项）", "件"),
    (r"不掌握", 3, T.APPLICATION, ("无法提供-本机关不掌握相关政府信息",), "总计", "无法提供（本机关不掌握相关政府信息）", "件"),
    (r"另行制作|没有现成", 3, T.APPLICATION, ("无法提供-没有现成信息需要另行制作",), "总计",
     "无法提供（没有现成信息需要另行制作）", "件"),
    (r"补正后.{0,6}不明确|仍不明确", 3, T.APPLICATION, ("无法提供-补正后申请内容仍不明确",), "总计",
     "无法提供（补正后申请内容仍不明确）", "件"),
    (r"信访|举报|投诉", 3, T.APPLICATION, ("不予处理-信访举报投诉类申请",), "总计", "不予处理（信访举报投诉类申请）", "件"),
    (r"重复申请", 3, T.APPLICATION, ("不予处理-重复申请",), "总计", "不予处理（重复申请）", "件"),
    (r"出版物", 3, T.APPLICATION, ("不予处理-要求提供公开出版物",), "总计", "不予处理（要求提供公开出版物）", "件"),
    (r"大量反复", 3, T.APPLICATION, ("不予处理-无正当理由大量反复申请",), "总计", "不予处理（无正当理由大量反复申请）", "件"),
    (r"重新出具|确认或重新", 3, T.APPLICATION, ("不予处理-要求行政机关确认或重新出具已获取信息",), "总计",
     "不予处理（要求行政机关确认或重新出具已获取信息）", "件"),
    (r"逾期不补正|不补正", 3, T.APPLICATION, ("其他处理-逾期不补正",), "总计", "其他处理（逾期不补正）", "件"),
    (r"逾期未.{0,6}缴|未缴费|没交费|不交费|收费通知", 3, T.APPLICATION, ("其他处理-逾期未缴费",), "总计",
     "其他处理（逾期未按收费通知缴纳费用）", "件"),
    (r"上一?年度?结转|去年结转|从上一?年.{0,4}转|上年度?转", 3, T.APPLICATION, ("上年结转",), "总计",
     "上年结转政府信息公开申请", "件"),
    # 依申请: rows and row groups
    (r"予以公开|全部公开|同意公开|全部给?公开|都给?公开了", 2, T.APPLICATION, ("予以公开",), "总计", "予以公开", "件"),
    (r"部分公开|公开了?一部分|一部分公开|区分处理", 2, T.APPLICATION, ("部分公开",), "总计", "部分公开", "件"),
    (r"不予公开|不公开|拒绝公开|不给公开|没给公开|没有给?公开|未予公开|没公开", 2, T.APPLICATION, ("不予公开-*",), "总计", "不予公开", "件"),
    (r"无法提供|没法提供|提供不了|不能提供", 2, T.APPLICATION, ("无法提供-*",), "总计", "无法提供", "件"),
    (r"不予处理|不处理", 2, T.APPLICATION, ("不予处理-*",), "总计", "不予处理", "件"),
    (r"其他处理", 2, T.APPLICATION, ("其他处理*",), "总计", "其他处理", "件"),
    (r"结转下|转下年|转入下|结转到|下年度继续|继续办理|结转", 2, T.APPLICATION, ("结转下年度继续办理",), "总计",
     "结转下年度继续办理", "件"),
    # Verbs alone: a row named in the question (行政许可处理了多少件) wins over them.
    (r"办结|办理结果|答复了?多少|答复.{0,3}件|处理了?多少|办理了?多少|办完|处理完", 1, T.APPLICATION, ("总计",),
     "总计", "办理结果总计", "件"),
    (r"新收|收到|受理|接到|接收|申请数|申请量|申请件|申请总数|有人申请|人申请|申请了|提出.{0,4}申请|"
     r"提交.{0,4}申请|依申请|申请公开|申请|要.{0,4}信息|索要|索取", 1, T.APPLICATION, ("本年新收",), "总计",
     "本年新收政府信息公开申请", "件"),
    # 主动公开
    (r"规章", 2, T.ACTIVE, ("规章",), "@issued", "规章", "件"),
    (r"规范性文件|红头文件", 2, T.ACTIVE, ("规范性文件",), "@issued", "行政规范性文件", "件"),
    (r"行政许可|许可|审批", 2, T.ACTIVE, ("行政许可",), "@decisions", "行政许可", "件"),
    (r"其他对外管理服务", 2, T.ACTIVE, ("其他对外管理服务事项",), "@decisions", "其他对外管理服务事项", "件"),
    (r"行政处罚|处罚|罚款|罚了", 2, T.ACTIVE, ("行政处罚",), "@decisions", "行政处罚", "件"),
    (r"行政强制|强制措施|强制", 2, T.ACTIVE, ("行政强制",), "@decisions", "行政强制", "件"),
    (r"行政事业性收费|事业性收费|收费|收了?多少钱|收.{0,3}钱|收取.{0,4}费", 2, T.ACTIVE, ("行政事业性收费",), "@fee",
     "行政事业性收费", "万元"),
    (r"政府集中采购|集中采购|采购", 2, T.ACTIVE, ("政府集中采购",), "采购项目数量", "政府集中采购", "项"),
    # 复议诉讼
    (r"未经复议直接起诉|直接起诉|直接告", 3, T.REVIEW, ("行政诉讼-未经复议直接起诉",), "总计",
     "行政诉讼（未经复议直接起诉）", "件"),
    (r"复议后起诉|复议后.{0,2}告|复议之后起诉", 3, T.REVIEW, ("行政诉讼-复议后起诉",), "总计", "行政诉讼（复议后起诉）", "件"),
    (r"行政复议|复议", 2, T.REVIEW, ("行政复议",), "总计", "行政复议", "件"),
    (r"行政诉讼|诉讼|被告|起诉|告上法庭|告上法院|告到法院|法院|打官司|被诉|官司|告政府", 2, T.REVIEW, ("行政诉讼-*",), "总计", "行政诉讼", "件"),
]
_ROW_VOCAB_RE = [(re.compile(p), prio, tbl, rows, col, name, unit)
                 for p, prio, tbl, rows, col, name, unit in _ROW_VOCAB]

# Words that are not the 行政事业性收费 figure although they mention a fee.
_NOT_FEE = re.compile(r"信息处理费|处理费")

_APPLICANT_VOCAB = [
    (r"法人或其他组织|法人和其他组织|法人", _LEGAL, "法人或其他组织"),
    (r"自然人|老百姓|个人|群众|公民|市民|居民|村民|普通人", ("自然人",), "自然人"),
    (r"商业企业|企业|公司|商家", ("商业企业",), "商业企业"),
    (r"科研机构|科研|研究机构|高校", ("科研机构",), "科研机构"),
    (r"社会公益组织|公益组织|社会组织", ("社会公益组织",), "社会公益组织"),
    (r"法律服务机构|律师|律所", ("法律服务机构",), "法律服务机构"),
]
_APPLICANT_REACH = 14  # characters either side of the figure's words
_REVIEW_COLUMN_VOCAB = [
    (r"维持", "结果维持"), (r"纠正|撤销|败诉|改判", "结果纠正"), (r"其他结果", "其他结果"),
    (r"尚未审结|未审结|还没.{0,2}(审结|结案|判)|在审|未结", "尚未审结"),
]
_ACTIVE_COLUMN_VOCAB = [
    (r"废止|废除|作废", "@repealed"), (r"现行有效|有效的|还有效|对外公开总数", "@in_force"),
    (r"新公开", "@published"), (r"制发|新制作|出台|制定|发布了?多少|印发|新发", "@issued"),
    (r"上一年项目|项目数量?", "@items"), (r"增减|增/减|增加或减少", "@change"),
    (r"处理决定|决定", "@decisions"),
]


def find_figure(text: str) -> Figure | None:
    """The figure a question names, or None."""
    best = None
    for regex, prio, tbl, rows, col, name, unit in _ROW_VOCAB_RE:
        for m in regex.finditer(text):
            if tbl == T.ACTIVE and rows == ("行政事业性收费",) and _NOT_FEE.search(text[max(0, m.start() - 4):m.end() + 4]):
                continue
            score = (prio, len(m.group(0)))
            if best is None or score > best[0]:
                best = (score, tbl, rows, col, name, unit, m.start(), m.end())
    if best is None:
        return None
    _, tbl, rows, col, name, unit, start, end = best
    columns: tuple[str, ...] = (col,)
    if tbl == T.APPLICATION:
        # Only applicant words near the figure name its column: '我是一名普通市民……请问
        # 收到多少申请' asks the total.
        near = text[max(0, start - _APPLICANT_REACH):end + _APPLICANT_REACH]
        for pattern, cols, label in _APPLICANT_VOCAB:
            if re.search(pattern, near):
                columns, name = cols, f"{name}（{label}）"
                break
    elif tbl == T.REVIEW:
        for pattern, column in _REVIEW_COLUMN_VOCAB:
            if re.search(pattern, text):
                columns, name = (column,), f"{name}（{column}）"
                break
    elif tbl == T.ACTIVE:
        if rows == ("政府集中采购",):
            if re.search(r"金额|多少钱|花了", text):
                columns, name, unit = ("采购总金额",), "政府集中采购（采购总金额）", ""
            else:
                name = "政府集中采购（采购项目数量）"
        elif rows != ("行政事业性收费",):
            for pattern, column in _ACTIVE_COLUMN_VOCAB:
                if re.search(pattern, text):
                    columns = (column,)
                    break
            if columns[0] != col or col != "@decisions":
                name = f"{name}（{COLUMN_WORDS.get(columns[0], columns[0])}）"
            if columns[0] in ("@items", "@change"):
                unit = "项"
    return Figure(name, tbl, rows, columns, unit)


# ----------------------------------------------------------------------------- catalog
@dataclass(frozen=True)
class ReportRef:
    id: str
    title: str
    body: str
    short_name: str
    level: str | None
    year: int | None
    province: str | None = None
    city: str | None = None
    county: str | None = None
    template: str | None = None

    @property
    def name(self) -> str:
        """How answers name the body: short but unambiguous, the way people say it
        (交岔乡, 洪泽区, 上海市科委, 沭阳县发改局, 上海市政府办公厅)."""
        return display_name(self.short_name or self.body)


def _body_aliases(ref: ReportRef) -> set[str]:
    return body_aliases(ref.body, ref.short_name)


@dataclass
class Catalog:
    """The reports of an index, with the names a question may use for them."""

    reports: list[ReportRef]
    aliases: dict[str, set[str]] = field(default_factory=dict)  # alias -> bodies
    regions: dict[str, set[str]] = field(default_factory=dict)  # region alias -> bodies

    def __post_init__(self):
        self._by_body: dict[str, list[ReportRef]] = {}
        own_names: dict[str, set[str]] = {}  # a body's full or short name -> bodies
        for ref in self.reports:
            self._by_body.setdefault(ref.body, []).append(ref)
            for name in (ref.body, ref.short_name):
                own_names.setdefault(name, set()).add(ref.body)
        for refs in self._by_body.values():
            refs.sort(key=lambda r: (r.year or 0, r.id))
        alias_bodies: dict[str, set[str]] = {}
        for ref in self.reports:
            for alias in _body_aliases(ref):
                alias_bodies.setdefault(alias, set()).add(ref.body)
        # An alias naming several bodies only identifies the ones whose own name it is.
        for alias, bodies in alias_bodies.items():
            if len(bodies) > 1:
                bodies = (own_names.get(alias, set()) & bodies) or bodies
            self.aliases[alias] = bodies
        for ref in self.reports:
            for alias in region_aliases(ref.province, ref.city, ref.county):
                self.regions.setdefault(alias, set()).add(ref.body)
        self._names = None  # NameMatcher, made on first use
        self._years: list[int] | None = None
        self._aliases_of: dict[str, set[str]] | None = None

    @property
    def names(self) -> NameMatcher:
        """Every alias and region name, indexed for matching inside a question."""
        if self._names is None:
            names = [(a, b, False) for a, b in self.aliases.items()]
            names += [(a, b, True) for a, b in self.regions.items() if a not in self.aliases]
            self._names = NameMatcher(names)
        return self._names

    @classmethod
    def from_db(cls, store: FactStore) -> "Catalog":
        """The catalog of a facts store (index.factstore.open_fact_store)."""
        rows = store.catalog_reports()
        refs = [ReportRef(r["id"], r["title"] or "", r["body"] or r["short_name"] or r["id"],
                          r["short_name"] or r["body"] or r["id"], r["level"], r["year"], r["province"],
                          r["city"], r["county"], r["template"]) for r in rows]
        return cls(refs)

    @property
    def bodies(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.reports:
            seen.setdefault(r.body, None)
        return list(seen)

    def aliases_of(self, body: str) -> set[str]:
        """The names a question may use for one body (the reverse of ``aliases``)."""
        if self._aliases_of is None:
            reverse: dict[str, set[str]] = {}
            for alias, bodies in self.aliases.items():
                for b in bodies:
                    reverse.setdefault(b, set()).add(alias)
            self._aliases_of = reverse  # whole or not at all: the server's threads share the catalog
        return set(self._aliases_of.get(body, ()))

    def reports_of(self, body: str) -> list[ReportRef]:
        return list(self._by_body.get(body, []))

    def years(self, bodies: list[str] | None = None) -> list[int]:
        if not bodies:  # the index's years, asked for by nearly every question: made once
            if self._years is None:
                self._years = sorted({r.year for r in self.reports if r.year})
            return list(self._years)
        refs = [r for b in dict.fromkeys(bodies) for r in self._by_body.get(b, [])]
        return sorted({r.year for r in refs if r.year})

    def name_of(self, body: str) -> str:
        refs = self.reports_of(body)
        return refs[0].name if refs else body

    def level_of(self, body: str) -> str | None:
        refs = self.reports_of(body)
        return refs[0].level if refs else None


# ----------------------------------------------------------------------------- query
@dataclass
class Condition:
    op: str  # '=', '>', '<', '>=', '<=', 'blank', 'failing', 'any'
    value: float | None = None

    def describe(self) -> str:
        if self.op == "blank":
            return "未填报"
        if self.op == "failing":
            return "未通过校验"
        if self.op == "=" and self.value == 0:
            return "为0"
        return f"{self.op} {fmt_number(self.value)}" if self.value is not None else self.op


@dataclass
class Query:
    question: str
    intent: str = "lookup"
    bodies: list[str] = field(default_factory=list)  # canonical bodies (reports.body)
    region: str | None = None  # a region filter (its name as asked)
    region_bodies: list[str] = field(default_factory=list)
    level: str | None = None
    years: list[int] = field(default_factory=list)
    year_words: str | None = None  # '去年' … as asked, for the answer
    figure: Figure | None = None
    condition: Condition | None = None
    aggregate: str | None = None  # 'sum' | 'avg' | 'count'
    order: str = "desc"
    k: int | None = None
    check_question: bool = False  # asks whether the report's numbers add up
    unknown_bodies: list[str] = field(default_factory=list)  # named but not in the index
    text_query: str = ""
    rest: str = ""  # the question with the names of bodies and regions taken out
    follow_up: bool = False
    clarify: list[str] = field(default_factory=list)  # bodies one name fits equally: ask back
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "intent": self.intent, "bodies": self.bodies, "region": self.region, "level": self.level,
            "years": self.years, "figure": self.figure.key if self.figure else None,
            "figure_name": self.figure.name if self.figure else None,
            "condition": None if self.condition is None else [self.condition.op, self.condition.value],
            "aggregate": self.aggregate, "order": self.order, "k": self.k,
            "check_question": self.check_question, "unknown_bodies": self.unknown_bodies,
            "follow_up": self.follow_up,
        }


INTENT_WORDS = {"lookup": "查一个数字", "list": "列出符合条件的单位", "aggregate": "合计/统计", "rank": "排名",
                "compare": "比较", "trend": "历年变化", "yesno": "是否", "text": "从报告正文找答案",
                "metadata": "报告的基本信息", "clarify": "需要确认问的是哪个单位",
                "help": "报告回答不了：说明能问什么"}


def interpretation(q: Query, catalog: "Catalog") -> dict:
    """How a question was understood, for the answer (``interpretation``) and the page's
    '我理解为：…' line: bodies, years, level, region, figure (table/rows/columns),
    intent, condition, and that line as ``summary``."""
    bodies = [catalog.name_of(b) for b in q.bodies]
    figure = None
    if q.figure is not None:
        figure = {"name": q.figure.name, "table": q.figure.table, "rows": list(q.figure.rows),
                  "columns": list(q.figure.columns), "unit": q.figure.unit}
    condition = None if q.condition is None else {"op": q.condition.op, "value": q.condition.value,
                                                   "text": q.condition.describe()}
    parts = []
    if bodies:
        parts.append("、".join(bodies))
    elif q.unknown_bodies:
        parts.append("、".join(q.unknown_bodies) + "（索引中没有）")
    if q.region and not bodies:
        parts.append(f"{q.region}范围内")
    if q.level and not bodies:
        parts.append(LEVEL_NAMES.get(q.level, q.level))
    parts.append(f"{q.years[0]}–{q.years[-1]}年" if len(q.years) > 2 and q.years == list(range(q.years[0], q.years[-1] + 1))
                 else ("、".join(f"{y}年" for y in q.years) if q.years else "（未指定年份）"))
    if q.intent == "text":
        parts.append(f"正文中关于“{q.text_query or q.question}”的内容"[:60])
    elif q.intent == "metadata":
        parts.append("报告的基本信息（文号、日期、链接、格式、所属地区）")
    elif figure:
        parts.append(figure["name"])
    if condition and q.intent in ("list", "aggregate", "yesno"):
        parts.append(f"条件：{condition['text']}")
    summary = "，".join(p for p in parts if p) + f"；方式：{INTENT_WORDS.get(q.intent, q.intent)}"
    if q.follow_up:
        summary += "（接着上一问）"
    return {"intent": q.intent, "bodies": bodies, "unknown_bodies": q.unknown_bodies, "region": q.region,
            "level": q.level, "years": q.years, "figure": figure, "condition": condition,
            "aggregate": q.aggregate, "follow_up": q.follow_up, "summary": summary}


def fmt_number(value: float | None) -> str:
    if value is None:
        return "—"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


# ----------------------------------------------------------------------------- normalising
# Input-method slips in the template's vocabulary, and the one place-name OCR confusion
# the metadata also fixes (index.metadata.OCR_PLACE_FIXES). Misspelt body names are
# handled generally by NameMatcher.near, not listed here.
_TYPOS = {"沐阳": "沭阳", "申清": "申请", "神请": "申请", "申情": "申请", "行证": "行政", "形政": "行政",
          "公升": "公开", "复仪": "复议", "付议": "复议", "诉送": "诉讼", "处发": "处罚", "处法": "处罚",
          "规范姓": "规范性", "结砖": "结转",
          "岂业": "企业", "收刀": "收到", "兽理": "受理", "少于等于": "<=", "多少个件": "多少件"}
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")  # zero-width and soft hyphens
_CN_DIGITS = {"〇": "0", "零": "0", "一": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5",
              "六": "6", "七": "7", "八": "8", "九": "9"}


def normalize_question(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"\s+", "", _INVISIBLE.sub("", text))
    for wrong, right in _TYPOS.items():
        text = text.replace(wrong, right)
    # Chinese-numeral years: 二〇二一年 → 2021年
    text = re.sub(r"[二][〇零][一二三四五六七八九〇零]{2}(?=年)",
                  lambda m: "".join(_CN_DIGITS[c] for c in m.group(0)), text)
    return text


def _cn_number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    small = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
    if text in small:
        return small[text]
    if len(text) == 2 and text[0] == "十" and text[1] in small:
        return 10 + small[text[1]]
    return None


# ----------------------------------------------------------------------------- entity linking
@dataclass
class _Mention:
    start: int
    end: int
    text: str
    bodies: set[str]
    region: bool = False


_HAN = re.compile(r"[\u4e00-\u9fff]+")


_UNKNOWN_BODY = re.compile(
    r"([\u4e00-\u9fff]{2,12}?(?:省|自治区|市|州|县|区|乡|镇|街道|局|委员会|委|办公厅|办公室))")
_LEAD_WORDS = re.compile(
    r"^(请问|请|问一下|问下|查询|查一下|查下|查|帮我查?|看看|看一下|告诉我|想知道|我想知道|那么|那|还有|和|与|跟|同|比|"
    r"对比|比较|在|的|年|去年|今年|前年|最新|关于|有关|及|以及|还是|或|或者|呢|吗|中|里|其中|、|，)+")
_GENERIC_NAME = re.compile(
    r"^(各|哪些|哪个|哪几个|所有|全部|全|本|该|这个|那个|几个|多少个|同|上级|下级|其他|其它|每个|每|某|"
    r"县级|市级|省级|区级|乡级|镇级|[一二两三四五六七八九十\d]+个)*(乡镇|区县|县区|县市区|市县|省市|乡|镇|县|区|市|省|街道|"
    r"片区|片区管理局|管理局|局|委|部门|单位|地区|地方|城市)$")
_FIGURE_WORDS = re.compile(r"申请|公开|处罚|许可|强制|收费|复议|诉讼|文件|规章|结转|报告|年度|政府信息|数量|情况")


def link_entities(text: str, catalog: Catalog) -> tuple[list[_Mention], list[str]]:
    """Bodies and regions named in a (normalised) question, and names not in the index."""
    index = catalog.names
    taken: list[tuple[int, int]] = []
    mentions: list[_Mention] = []

    def free(s: int, e: int) -> bool:
        return not any(s < te and e > ts for ts, te in taken)

    for rank, s in index.exact(text):
        alias, bodies, is_region = index.names[rank]
        e = s + len(alias)
        if free(s, e):
            # '淮安' inside '淮安市' belongs to the longer name already taken.
            taken.append((s, e))
            mentions.append(_Mention(s, e, alias, set(bodies), is_region))
    # One wrong character (交叉乡 for 交岔乡) in names of three or more characters: the
    # first free window for each name, names in matching order.
    done: set[int] = set()
    for rank, s in index.near(text):
        alias, bodies, is_region = index.names[rank]
        e = s + len(alias)
        if rank in done or not free(s, e) or any(m.bodies == bodies for m in mentions):
            continue
        done.add(rank)
        taken.append((s, e))
        mentions.append(_Mention(s, e, alias, set(bodies), is_region))
    mentions.sort(key=lambda m: m.start)
    # '上海' + '科委' read as two names is one body: 上海市科委. A place followed by a
    # department's name keeps only that place's departments ('平潭' + '市场监管局'); when
    # the place has no such department the pair names a body not in the index
    # ('平潭' + '发改局' is not 沭阳县发改局).
    merged: list[_Mention] = []
    unknown: list[str] = []
    for m in mentions:
        prev = merged[-1] if merged else None
        if prev and prev.end == m.start and not m.region:
            inside = {b for b in m.bodies if prev.text in b or b in catalog.regions.get(prev.text, ())}
            if inside:
                merged[-1] = _Mention(prev.start, m.end, prev.text + m.text, inside, False)
                continue
            if _is_place(prev, catalog) and not any(_is_place_body(b, catalog) for b in m.bodies):
                merged.pop()
                unknown.append(prev.text + m.text)
                continue
        merged.append(m)
    mentions = merged
    # Names of places or bodies that are not in the index; one right after a place
    # the index knows is that place's body ('平潭' + '教育局').
    masked = list(text)
    for s, e in taken:
        for i in range(s, e):
            masked[i] = "|"
    rest = re.sub(r"\d{2,4}年度?|\d+", lambda m: "|" * len(m.group(0)), "".join(masked))
    for run in re.finditer(r"[^|，。？?！!、；;：:“”\"'（）()《》\s]+", rest):
        chunk = run.group(0)
        found: list[list[int]] = []
        for m in _UNKNOWN_BODY.finditer(chunk):
            if found and found[-1][1] == m.start():
                found[-1][1] = m.end()  # 北京市 + 朝阳区 = 北京市朝阳区
            else:
                found.append([m.start(), m.end()])
        for start, end in found:
            raw = chunk[start:end]
            name = _LEAD_WORDS.sub("", raw)
            name = re.sub(r"^(的|年)+", "", name)
            if len(name) < 2 or _GENERIC_NAME.match(name) or _FIGURE_WORDS.search(name):
                continue
            if re.search(r"哪|几|多少|所有|全部|各|每", name) or re.match(r"^(这|那|该|本|有)", name):
                continue
            begin = run.start() + end - len(name)
            before = next((m for m in mentions if m.end == begin and _is_place(m, catalog)), None)
            if before is not None:
                mentions.remove(before)
                name = before.text + name
            unknown.append(name)
    return mentions, unknown


def _is_place_body(body: str, catalog: Catalog) -> bool:
    return catalog.level_of(body) in ("township", "county", "city", "province")


def _is_place(m: _Mention, catalog: Catalog) -> bool:
    """A mention that names a place (a region, or a place's government)."""
    return m.region or all(_is_place_body(b, catalog) for b in m.bodies)


# ----------------------------------------------------------------------------- years, levels
_YEAR = re.compile(r"(?<![\d.])(20[0-4]\d|19[89]\d)(?:年度?|(?![\d件个条项次万元%％人家份]))")
_SHORT_YEAR = re.compile(r"(?<![\d.])([12]\d)年(?!度?[\d])")
_RANGE = re.compile(r"(20[0-4]\d)年?(?:到|至|—|-|~|～)(20[0-4]\d)年?")
_RECENT_N = re.compile(r"(?:近|最近|过去)([\d一二两三四五六七八九十]{1,2})年")


def find_years(text: str, catalog: Catalog, bodies: list[str]) -> tuple[list[int], str | None, bool]:
    """Years named in a question, the relative word used, and whether it asks a span."""
    known = catalog.years(bodies) or catalog.years()
    every = catalog.years()
    newest = known[-1] if known else None
    latest = every[-1] if every else None
    rng = _RANGE.search(text)
    if rng:
        a, b = sorted((int(rng.group(1)), int(rng.group(2))))
        return list(range(a, b + 1)), None, True
    recent = _RECENT_N.search(text)
    if recent and known:
        n = _cn_number(recent.group(1)) or 3
        return known[-n:], recent.group(0), True
    years = [int(y) for y in _YEAR.findall(text)]
    years += [2000 + int(y) for y in _SHORT_YEAR.findall(text) if 15 <= int(y) <= 40]
    word = None
    if latest is not None:
        # 今年 is the newest report's year, 去年 the latest year before it, 前年 the one
        # before that (over all reports); 最新 is the newest report of the body asked.
        before = [y for y in every if y < latest]
        if "前年" in text:
            years.append(before[-2] if len(before) >= 2 else latest - 2)
            word = "前年"
        if re.search(r"去年(?!结转)|上一年(?!度?结转|项目)|上年(?!度?结转|项目)", text):
            years.append(before[-1] if before else latest - 1)
            word = "去年"
        if re.search(r"今年|当年", text):
            years.append(latest)
            word = word or "今年"
        elif re.search(r"最新|最近一年|最近一期|最近的", text):
            years.append(newest)
            word = word or "最新"
    seen: dict[int, None] = {}
    for y in years:
        seen.setdefault(y, None)
    return list(seen), word, False


_LEVEL_PATTERNS = [
    ("township", r"乡镇|街道|片区|(?:各|哪些|哪个|哪几个|几个|所有|多少个|个)(?:乡|镇)|乡级|镇级"),
    ("county", r"区县|县区|县市区|县级|区级|(?:各|哪些|哪个|哪几个|几个|所有|多少个|个)(?:县|区)(?!政府办)"),
    ("city", r"地级市|市级|设区的市|(?:各|哪些|哪个|哪几个|几个|所有|多少个|个)(?:市|城市)"),
    ("province", r"省级|(?:各|哪些|哪个|几个|所有)(?:省|直辖市)"),
    ("department", r"部门|委办局|职能部门|(?:各|哪些|哪个|几个|所有|多少个|个)(?:局|委)"),
]


def find_level(text: str) -> str | None:
    for level, pattern in _LEVEL_PATTERNS:
        if re.search(pattern, text):
            return level
    return None


# ----------------------------------------------------------------------------- intents
_TEXT_STRONG = re.compile(
    r"为什么|为何|原因|理由|怎么|如何|怎样|措施|举措|做法|经验|问题|不足|差距|短板|薄弱|困难|改进|关于什么|涉及|哪些内容|什么内容|哪些方面|整改|说了什么|说了啥|讲了什么|提到|"
    r"介绍|概述|概况|总结|方式|渠道|平台|途径|培训|制度|机制|计划|打算|安排|重点|亮点|工作内容|主要内容|"
    r"做了什么|做了哪些|开展了哪些|有哪些工作|干了什么|什么工作|哪些工作|网站|公众号|新媒体|政策解读|解读|"
    r"信息处理费|指南|目录|依据|条例|统计期限|什么时候|何时|哪天|日期|文号|联系|电话|地址")
_NUMERIC_CUE = re.compile(
    r"多少|几件|几个|几次|几项|几起|数量|数字|金额|件数|排名|排行|最多|最少|最高|最低|比|超过|多于|少于|"
    r"是否|有没有|有无|哪些(?:乡镇|乡|镇|县|区|市|单位|报告|部门|地方|机关)|合计|一共|总共|平均|变化|趋势|历年|\d")
_CHECK_WORDS = re.compile(
    r"勾稽|校验|核对|对不上|不平|不一致|不符|矛盾|算错|有错|错误|出错|数据有问题|数字有问题|数对不对|"
    r"数字对不对|加起来不对|逻辑错误|不合逻辑|对得上|对不对得上|准不准|准确吗")
_BLANK_WORDS = re.compile(r"未填报|没填|没有填|漏填|空白|空着|为空|留空|缺填|未填|填了吗|没写")
_YESNO = re.compile(r"是否|有没有|有无|是不是|吗[？?]?$|么[？?]?$|没有[？?]?$|了没[？?]?$|没[？?]?$|对不对|有吗")
_LIST = re.compile(r"哪些|哪几|哪个|列出|列一下|列举|都有谁|有谁|名单|清单|分别是")
_COUNT = re.compile(r"(?<![这那])(?:几个|多少个|几家|多少家|几份|多少份|几个单位|多少单位|几份报告|多少份报告|几所)")
_SUM = re.compile(r"一共|总共|合计|总和|加起来|累计|加总|共计|总数是|总量|全部加")
_AVG = re.compile(r"平均|均值|人均|平均每")
_RANK = re.compile(
    r"最多|最少|最高|最低|最大|最小|排名|排行|排序|前([\d一二两三四五六七八九十]{1,2})(?:名|个|位|家)?|"
    r"后([\d一二两三四五六七八九十]{1,2})(?:名|个|位|家)|倒数|top\s*(\d+)|第一|垫底|领先|哪个.{0,12}(?:多|少|高|低)")
_COMPARE = re.compile(r"相比|对比|比较|比一比|比起|和.{1,15}比|跟.{1,15}比|与.{1,15}比|哪个多|谁多|谁少|哪个少|"
                      r"差距|差多少|相差|多了多少|少了多少|增加了?多少|减少了?多少|增长了?多少|下降了?多少|"
                      r"增长|下降|增加|减少|高出|低于.{0,6}多少|\bvs\b")
_TREND = re.compile(r"历年|每年|逐年|趋势|变化|这几年|近几年|近年|多年|各年|历史|走势|年年|哪几年|各年度|每一年|历年来|"
                    r"是怎么变|变化情况|几年来")
_COND_GT = re.compile(r"(?:超过|多于|大于|高于|不少于|至少|>=|≥|>)\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*(?:件|个|项|次|起|万元)?(?:以上|及以上)")
_COND_LT = re.compile(r"(?:少于|低于|小于|不到|不足|<=|≤|<)\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*(?:件|个|项|次|起|万元)?(?:以下|及以下)")
_NEGATED = re.compile(r"(?<!有)(?<!是)没有|(?<!有)没(?!有)|未(?!填|通过|审结|结)|无(?!法)|零|为0|为零|是0|等于0|=0|一件也没|一个也没")
_POSITIVE = re.compile(r"有(?!没有|无|哪|多少|几)|收到了|受理了|发生了|存在")
_FOLLOW_UP = re.compile(r"呢[？?]?$|^(那|那么|还有|另外|再|换成|如果是|改成|同样|也|其中|这其中|里面|这里面|他们|它们|该单位)")


def _condition(text: str, figure: Figure | None) -> Condition | None:
    if _CHECK_WORDS.search(text):
        return Condition("failing")
    if _BLANK_WORDS.search(text):
        return Condition("blank")
    gt = _COND_GT.search(text)
    if gt:
        value = float(gt.group(1) or gt.group(2))
        op = ">=" if re.search(r"不少于|至少|>=|≥|及以上", gt.group(0)) else ">"
        return Condition(op, value)
    lt = _COND_LT.search(text)
    if lt:
        value = float(lt.group(1) or lt.group(2))
        op = "<=" if re.search(r"<=|≤|及以下", lt.group(0)) else "<"
        return Condition(op, value)
    if figure is None:
        return None
    if _NEGATED.search(text.replace("有没有", "")):
        return Condition("=", 0)
    if _POSITIVE.search(text):
        return Condition(">", 0)
    return None


def _rank_k(text: str) -> tuple[int | None, str]:
    m = _RANK.search(text)
    order = "asc" if re.search(r"最少|最低|最小|倒数|垫底|后\d|后[一二两三四五六七八九十]|(?:哪个|谁).{0,12}少", text) else "desc"
    k = None
    if m:
        for g in m.groups():
            if g:
                k = _cn_number(g)
                break
    if k is None and re.search(r"排名|排行|排序", text):
        k = None  # all, in order
    elif k is None:
        k = 1
    return k, order


def has_scope_beyond(query: Query) -> bool:
    return bool(query.level or query.region)


# Topics the three tables do not hold: a question about them is answered from the text
# (or the metadata), never with a table figure, whatever figure words it also has.
NON_TABLE_TOPICS = re.compile(
    r"热线|12345|来电|电话|低保|救助|补贴|审核率|人员|专人|编制|培训|会议|发布会|通气会|新闻|直播|访谈|"
    r"公众号|微博|微信|专栏|栏目|网站|平台|留言|信件|回复率|满意度|催办|提示|抽检|批次|解读|政策|标准|"
    r"经费|预算|资金|项目(?!数量)|条(?:信息|政务)|篇|期|场|人次|户|名单")
# Metadata the index keeps for every report (qa.metadata answers these).
METADATA_CUES = re.compile(
    r"文号|发文字号|原文链接|原文地址|链接|网址|哪天(?:发布|公开|公布|印发)|什么时候(?:发布|公开|公布|印发)|"
    r"何时(?:发布|公开|公布)|发布(?:时间|日期)|公开日期|公布日期|成文日期|表格?格式|格式|模板|哪一?版|版本|"
    r"哪一?种表|什么表格|哪套表|表格样式|"
    r"哪个(?:县|市|区|省|地方)|哪里的|什么地方|所属|属于哪|下面的|隶属|什么级别|哪一?级|层级")
# '多少次催办提示': a count of something that is not a table figure.
_COUNTED = re.compile(r"(?:多少|几)(?:个|件|次|条|场|期|篇|通|项|人|批|家|户)?([\u4e00-\u9fff0-9]{2,8})")


@dataclass(frozen=True)
class Signals:
    """What classify() looks at, computed once per question."""

    text: str
    q: Query
    has_scope: bool
    bodies: int
    years: int

    def has(self, rx: re.Pattern) -> bool:
        return bool(rx.search(self.text))


def _counts_non_figure(text: str) -> bool:
    for m in _COUNTED.finditer(text):
        obj = m.group(1)
        if re.match(r"(?:申请|件|个|的|信息公开|政府信息)", obj):
            continue
        if find_figure(obj) is None and NON_TABLE_TOPICS.search(obj):
            return True
    return False


def _asks_non_table_topic(s: Signals) -> bool:
    if not s.has(NON_TABLE_TOPICS) and not _counts_non_figure(s.text):
        return False
    # '政府信息公开平台收到多少申请' names a channel, but asks a table figure.
    return s.q.figure is None or _counts_non_figure(s.text) or not s.has(_NUMERIC_CUE) or \
        bool(re.search(r"(?:热线|12345|低保|催办|抽检|培训|发布会|通气会|直播)", s.text))


# The intents, in order: the first rule whose test holds decides (one loop, classify).
# (intent, aggregate, test)
INTENT_RULES: list[tuple[str, str | None, "callable"]] = [
    ("metadata", None, lambda s: s.has(METADATA_CUES) and not s.q.check_question
     and not (s.q.figure is not None and s.has(_NUMERIC_CUE) and not re.search(r"哪天|何时|什么时候|哪个(?:县|市|区|省)", s.text))),
    ("yesno", None, lambda s: s.q.check_question and not s.has(_LIST) and not s.has(_COUNT)
     and (s.has(_YESNO) or s.bodies == 1)),
    ("list", None, lambda s: s.q.check_question and not s.has(_LIST) and not s.has(_COUNT)),
    ("text", None, lambda s: _asks_non_table_topic(s) and not s.q.check_question),
    ("list", None, lambda s: s.q.figure is None and not s.q.check_question and s.q.condition is not None
     and s.q.condition.op == "blank" and not (s.q.bodies and s.has(_YESNO))),
    ("yesno", None, lambda s: s.q.figure is None and not s.q.check_question and s.q.condition is not None
     and s.q.condition.op == "blank"),
    ("text", None, lambda s: s.q.figure is None and not s.q.check_question
     and (s.has(_TEXT_STRONG) or not (s.has(_LIST) or s.has(_COUNT)))),
    ("text", None, lambda s: s.q.figure is not None and s.has(_TEXT_STRONG) and not s.has(_NUMERIC_CUE)),
    ("aggregate", "sum", lambda s: s.has(_SUM) and (s.bodies >= 2 or s.has_scope or s.years != 1 or not s.q.bodies)
     and not s.has(_RANK)),
    ("aggregate", "count", lambda s: s.has(_COUNT) and (s.has_scope or s.q.condition is not None or not s.q.bodies)),
    ("compare", None, lambda s: s.bodies >= 2 and not has_scope_beyond(s.q) and not _LIST.search(s.text.replace("哪个", ""))),
    ("rank", None, lambda s: s.has(_RANK) and not (s.bodies == 1 and s.years == 1 and not s.has_scope)),
    ("aggregate", "avg", lambda s: s.has(_AVG)),
    ("compare", None, lambda s: s.bodies >= 2 and not s.has(_LIST)),
    ("compare", None, lambda s: s.bodies <= 1 and s.years == 2 and (s.has(_COMPARE) or bool(re.search(r"和|与|跟|比", s.text)))),
    ("trend", None, lambda s: s.has(_TREND) and s.bodies <= 1 and not s.has_scope),
    ("trend", None, lambda s: s.bodies <= 1 and s.years > 2 and not s.has_scope),
    ("list", None, lambda s: s.has(_LIST) or (s.has_scope and not s.q.bodies and s.q.condition is not None)),
    ("yesno", None, lambda s: s.has(_YESNO)),
    ("list", None, lambda s: s.has_scope and not s.q.bodies),
    ("trend", None, lambda s: s.has(_TREND)),
    ("lookup", None, lambda s: True),
]


def classify(text: str, query: Query) -> str:
    """The intent of a question (before inheritance): the first of INTENT_RULES that
    holds. Sets the query's aggregate, and k/order for a ranking."""
    signals = Signals(text, query, bool(query.level or query.region or len(query.bodies) > 1),
                      len(query.bodies), len(query.years))
    for intent, aggregate, test in INTENT_RULES:
        if test(signals):
            if aggregate:
                query.aggregate = aggregate
            if intent == "rank":
                query.k, query.order = _rank_k(text)
            return intent
    return "lookup"  # pragma: no cover - the last rule always holds


# ----------------------------------------------------------------------------- understand
def _history_questions(history) -> list[str]:
    out = []
    for turn in history or []:
        if isinstance(turn, str):
            out.append(turn)
        elif isinstance(turn, dict):
            q = turn.get("question") or (turn.get("content") if turn.get("role", "user") == "user" else None)
            if q:
                out.append(q)
        elif isinstance(turn, Query):
            out.append(turn.question)
    return out


def check_question(question: str) -> str:
    if question is None or not str(question).strip():
        raise QuestionError("问题为空：请输入一个关于政府信息公开年度报告的问题。")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(f"问题过长（{len(question)} 字），上限 {MAX_QUESTION_CHARS} 字：请缩短后再问。")
    return question.strip()


# Words that ask about several bodies at once: a name that fits several is then no riddle.
_PLURAL = re.compile(r"各|所有|全部|哪些|哪个|哪几|都|分别|一共|合计|总共|加起来|排名|最多|最少|比较|对比|几个|多少个")
# '乡镇（平潭的片区管理局也算）': an aside that widens the scope names no filter.
_ASIDE = re.compile(r"[（(][^）)]{0,30}(?:也算|也包括|包括在内|在内|算上|也计入)[^）)]{0,10}[）)]")


def parse(question: str, catalog: Catalog) -> Query:
    """A single question, without history."""
    text = _ASIDE.sub("", normalize_question(question))
    q = Query(question=question)
    mentions, unknown = link_entities(text, catalog)
    # Text without the names, for levels and figures ('交岔乡' says nothing about 乡镇).
    plain = list(text)
    for m in mentions:
        for i in range(m.start, m.end):
            plain[i] = "|"
    plain_text = "".join(plain)
    q.rest = plain_text.replace("|", "")
    level = find_level(plain_text)
    for m in mentions:
        if m.region:
            # A region with a level word is a filter (淮安市的区县); a region alone names
            # the bodies in it.
            if level or _LIST.search(text) or _COUNT.search(text) or _SUM.search(text) or _RANK.search(text):
                q.region = m.text
                q.region_bodies = sorted(m.bodies)
            else:
                q.region = m.text
                q.region_bodies = sorted(m.bodies)
        elif level and m.text in catalog.regions and all(catalog.level_of(b) != level for b in m.bodies):
            # '淮安市的区县': the city names the region, the level the bodies asked for.
            q.region = m.text
            q.region_bodies = sorted(catalog.regions[m.text])
        else:
            if len(m.bodies) > 1:
                q.clarify = sorted(set(q.clarify) | m.bodies)
            for body in sorted(m.bodies):
                if body not in q.bodies:
                    q.bodies.append(body)
    if q.region and not q.bodies and not level and not (_LIST.search(text) or _COUNT.search(text)
                                                        or _SUM.search(text) or _RANK.search(text)):
        # '彭阳县收到多少申请': the index has no report of 彭阳县 itself.
        q.unknown_bodies.append(q.region)
    q.unknown_bodies += unknown
    q.level = level
    q.years, q.year_words, span = find_years(text, catalog, q.bodies)
    figure_text = re.sub(r"\d{2,4}年度?", "", plain_text)
    q.figure = find_figure(figure_text)
    q.check_question = bool(_CHECK_WORDS.search(text))
    q.condition = _condition(figure_text, q.figure)
    q.intent = classify(text, q)
    if q.clarify and not _PLURAL.search(text):
        q.intent = "clarify"  # one name, several bodies, a question about one of them
    else:
        q.clarify = []
    if span and q.intent == "lookup" and len(q.years) > 1:
        q.intent = "trend"
    if q.intent == "text":
        q.text_query = text
    if q.intent in ("lookup", "compare", "trend", "rank", "aggregate") and q.condition and q.condition.op == "failing":
        q.condition = None if q.intent != "aggregate" else q.condition
    if q.intent == "yesno" and q.condition and q.condition.op == "=":
        q.condition = None  # 'X有没有收到申请': the answer says yes or no by itself
    return q


def _is_follow_up(text: str, q: Query) -> bool:
    if _FOLLOW_UP.search(text):
        return True
    missing_subject = not q.bodies and not q.level and not q.region and not q.unknown_bodies
    if q.intent == "text":
        return missing_subject and not q.years and len(text) <= 20
    return (missing_subject or q.figure is None) and len(text) <= 14 and q.intent != "text"


def understand(question: str, history=None, catalog: Catalog | None = None) -> Query:
    """The query a question asks, inheriting what a follow-up leaves out from ``history``
    (earlier questions, oldest first: strings or {'question': …} dicts)."""
    question = check_question(question)
    if catalog is None:
        raise ValueError("understand() needs the catalog of the index (Catalog.from_db)")
    context: Query | None = None
    for previous in _history_questions(history):
        try:
            context = _with_context(parse(check_question(previous), catalog), context, previous)
        except QuestionError:
            continue
    return _with_context(parse(question, catalog), context, question)


def _with_context(q: Query, context: Query | None, question: str) -> Query:
    text = normalize_question(question)
    if context is None or not _is_follow_up(text, q):
        return q
    q.follow_up = True
    own_intent_signal = bool(_RANK.search(text) or _COUNT.search(text) or _SUM.search(text) or _AVG.search(text)
                             or _TREND.search(text) or _COMPARE.search(text) or _YESNO.search(text)
                             or _LIST.search(text))
    new_subject = bool(q.bodies or q.unknown_bodies or q.region)
    if not new_subject and not q.level:
        q.bodies = list(context.bodies)
        q.region, q.region_bodies = context.region, list(context.region_bodies)
        q.level = context.level
        if not q.unknown_bodies:
            q.unknown_bodies = list(context.unknown_bodies)
    if not q.years:
        q.years, q.year_words = list(context.years), context.year_words
    # A follow-up that names its own topic ('低保发了多少钱', '那他们打算怎么改进',
    # '文号呢') is about that topic: it keeps the subject, not the earlier figure.
    own_topic = q.intent in ("text", "metadata") and bool(
        _TEXT_STRONG.search(text) or NON_TABLE_TOPICS.search(text) or METADATA_CUES.search(text))
    if own_topic:
        q.text_query = text
        return q
    if q.figure is None and not q.check_question and context.figure is not None:
        # '自然人呢' / '维持的呢': only the column changes
        q.figure = find_figure(_figure_words(context.figure) + text) or context.figure
        q.check_question = context.check_question
        if q.condition is None or (q.condition.op not in ("blank", "failing")):
            q.condition = q.condition or context.condition
    elif q.figure is not None and q.condition is None and context.condition is not None \
            and context.condition.op not in ("blank", "failing"):
        q.condition = context.condition
    if q.figure is not None and context.intent in ("text", "metadata") and not own_intent_signal:
        q.intent = "lookup" if len(q.bodies) <= 1 else "compare"  # a figure after a text question
    elif not own_intent_signal or q.intent in ("text", "metadata"):
        q.intent = context.intent
        q.aggregate, q.k, q.order = context.aggregate, context.k, context.order
        if q.intent == "compare" and len(q.bodies) < 2 and len(q.years) < 2:
            q.intent = "lookup"
        if q.intent == "text":
            q.text_query = text if q.figure is None else context.text_query
            # keep the earlier topic words with the new subject
            if new_subject or q.years:
                q.text_query = _strip_subject(context.text_query) + text
        if q.intent == "lookup" and len(q.bodies) >= 2:
            q.intent = "compare"
    if _RANK.search(text) and q.figure is not None:
        q.intent = "rank"
        q.k, q.order = _rank_k(text)
    return q


def _figure_words(figure: Figure) -> str:
    """Words that make find_figure return a figure's row again."""
    for regex, _prio, tbl, rows, _col, _name, _unit in _ROW_VOCAB_RE:
        if tbl == figure.table and rows == figure.rows:
            first = regex.pattern.split("|")[0]
            return first if re.fullmatch(r"[\u4e00-\u9fff]+", first) else figure.name
    return figure.name


def _strip_subject(text: str) -> str:
    return re.sub(r"\d{2,4}年度?", "", text)
