"""The standard annual-report templates: tables, rows, columns, labels and arithmetic.

Every fact the product stores is keyed by (table, row, column) using the canonical
names defined here, whatever the layout or file format of the report. A report
format is one ``Template`` object in the registry ``TEMPLATES``; the parser
(``index.tables``), the checks (``index.checks``), the figure reader (``qa.facts``)
and question understanding (``qa.understand``) ask the template instead of testing
the year. Two entries are built in:

* ``2019``: the trial format (国办公开办函〔2019〕60号) used for reports on 2019-2020:
  第二十条 table with 本年新制作数量/本年新公开数量/对外公开总数量 and
  上一年项目数量/本年增/减/处理决定数量, plus 第（九）项 政府集中采购; one (六)其他处理 row.
* ``2021``: the revised format used from reports on 2021: 本年制发件数/本年废止件数/
  现行有效件数, 本年处理决定数量, 本年收费金额; three (六)其他处理 rows.

A new format is one more entry: build a ``Template`` (``dataclasses.replace`` of a
built-in one is the short way) and ``register`` it; ``unregister`` removes it
(tests/test_templates.py does this with a toy third format).

Golden files (tests/golden/*.json) and the parser both use exactly these keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

# Table ids
ACTIVE = "主动公开"  # 二、主动公开政府信息情况 (第二十条)
APPLICATION = "依申请"  # 三、收到和处理政府信息公开申请情况
REVIEW = "复议诉讼"  # 四、政府信息公开行政复议、行政诉讼情况

TABLES = (ACTIVE, APPLICATION, REVIEW)


@dataclass(frozen=True)
class RowSpec:
    """One row of a standard table: its canonical key, the label variants that
    identify it in a report, and the columns its values fill (left to right)."""

    table: str
    key: str
    labels: tuple[str, ...]
    columns: tuple[str, ...]
    unit: str | None = None  # unit of every column unless a column overrides it
    column_units: tuple[tuple[str, str], ...] = ()
    printed: str | None = None  # the label as the template prints it (for quotes); default: the key

    def unit_of(self, column: str) -> str | None:
        return dict(self.column_units).get(column, self.unit)


# ---------------------------------------------------------------- 主动公开 (第二十条)
_2021_DOCS = ("本年制发件数", "本年废止件数", "现行有效件数")
_2021_DECISIONS = ("本年处理决定数量",)
_2021_FEES = ("本年收费金额",)
_2019_DOCS = ("本年新制作数量", "本年新公开数量", "对外公开总数量")
_2019_ITEMS = ("上一年项目数量", "本年增/减", "处理决定数量")
_2019_FEES = ("上一年项目数量", "本年增/减")
_2019_PURCHASE = ("采购项目数量", "采购总金额")

ACTIVE_ROWS_2021 = (
    RowSpec(ACTIVE, "规章", ("规章",), _2021_DOCS, "件"),
    RowSpec(ACTIVE, "规范性文件", ("行政规范性文件", "规范性文件"), _2021_DOCS, "件", printed="行政规范性文件"),
    RowSpec(ACTIVE, "行政许可", ("行政许可",), _2021_DECISIONS, "件"),
    RowSpec(ACTIVE, "行政处罚", ("行政处罚",), _2021_DECISIONS, "件"),
    RowSpec(ACTIVE, "行政强制", ("行政强制",), _2021_DECISIONS, "件"),
    RowSpec(ACTIVE, "行政事业性收费", ("行政事业性收费",), _2021_FEES, "万元"),
)

ACTIVE_ROWS_2019 = (
    RowSpec(ACTIVE, "规章", ("规章",), _2019_DOCS, "件"),
    RowSpec(ACTIVE, "规范性文件", ("规范性文件", "行政规范性文件"), _2019_DOCS, "件"),
    RowSpec(ACTIVE, "行政许可", ("行政许可",), _2019_ITEMS, "项"),
    RowSpec(ACTIVE, "其他对外管理服务事项", ("其他对外管理服务事项",), _2019_ITEMS, "项"),
    RowSpec(ACTIVE, "行政处罚", ("行政处罚",), _2019_ITEMS, "项"),
    RowSpec(ACTIVE, "行政强制", ("行政强制",), _2019_ITEMS, "项"),
    RowSpec(ACTIVE, "行政事业性收费", ("行政事业性收费",), _2019_FEES, "项"),
    # 采购总金额 has no printed unit in the template; reports write 万元 or 元 in the cell.
    RowSpec(ACTIVE, "政府集中采购", ("政府集中采购",), _2019_PURCHASE, "项",
            (("采购总金额", "万元"),)),
)

# ---------------------------------------------------------------- 依申请
APPLICANT_COLUMNS = ("自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计")
# Header variants seen in real reports, mapped to the canonical column.
APPLICANT_COLUMN_ALIASES = {"社会组织": "社会公益组织", "商业企业": "商业企业"}


def _app(key: str, *labels: str, printed: str | None = None) -> RowSpec:
    return RowSpec(APPLICATION, key, labels or (key,), APPLICANT_COLUMNS, "件", printed=printed)


_APPLICATION_HEAD = (
    _app("本年新收", "本年新收政府信息公开申请数量", "本年新收",
         printed="本年新收政府信息公开申请数量"),
    _app("上年结转", "上年结转政府信息公开申请数量", "上年结转",
         printed="上年结转政府信息公开申请数量"),
    _app("予以公开", "予以公开",
         printed="（一）予以公开"),
    _app("部分公开", "部分公开",
         printed="（二）部分公开"),
    _app("不予公开-属于国家秘密", "属于国家秘密",
         printed="（三）不予公开 1.属于国家秘密"),
    _app("不予公开-其他法律行政法规禁止公开", "其他法律行政法规禁止公开",
         printed="（三）不予公开 2.其他法律行政法规禁止公开"),
    _app("不予公开-危及三安全一稳定", "危及“三安全一稳定”", "危及三安全一稳定", "危及\"三安全一稳定\"",
         printed="（三）不予公开 3.危及“三安全一稳定”"),
    _app("不予公开-保护第三方合法权益", "保护第三方合法权益",
         printed="（三）不予公开 4.保护第三方合法权益"),
    _app("不予公开-属于三类内部事务信息", "属于三类内部事务信息",
         printed="（三）不予公开 5.属于三类内部事务信息"),
    _app("不予公开-属于四类过程性信息", "属于四类过程性信息",
         printed="（三）不予公开 6.属于四类过程性信息"),
    _app("不予公开-属于行政执法案卷", "属于行政执法案卷",
         printed="（三）不予公开 7.属于行政执法案卷"),
    _app("不予公开-属于行政查询事项", "属于行政查询事项",
         printed="（三）不予公开 8.属于行政查询事项"),
    _app("无法提供-本机关不掌握相关政府信息", "本机关不掌握相关政府信息",
         printed="（四）无法提供 1.本机关不掌握相关政府信息"),
    _app("无法提供-没有现成信息需要另行制作", "没有现成信息需要另行制作",
         printed="（四）无法提供 2.没有现成信息需要另行制作"),
    _app("无法提供-补正后申请内容仍不明确", "补正后申请内容仍不明确",
         printed="（四）无法提供 3.补正后申请内容仍不明确"),
    _app("不予处理-信访举报投诉类申请", "信访举报投诉类申请",
         printed="（五）不予处理 1.信访举报投诉类申请"),
    _app("不予处理-重复申请", "重复申请",
         printed="（五）不予处理 2.重复申请"),
    _app("不予处理-要求提供公开出版物", "要求提供公开出版物",
         printed="（五）不予处理 3.要求提供公开出版物"),
    _app("不予处理-无正当理由大量反复申请", "无正当理由大量反复申请",
         printed="（五）不予处理 4.无正当理由大量反复申请"),
    _app("不予处理-要求行政机关确认或重新出具已获取信息", "要求行政机关确认或重新出具已获取信息",
         printed="（五）不予处理 5.要求行政机关确认或重新出具已获取信息"),
)
_APPLICATION_TAIL = (
    _app("总计", "（七）总计", "(七)总计", "总计",
         printed="（七）总计"),
    _app("结转下年度继续办理", "结转下年度继续办理", "结转下年度"),
)

APPLICATION_ROWS_2019 = _APPLICATION_HEAD + (
    _app("其他处理", "（六）其他处理", "(六)其他处理", "其他处理",
         printed="（六）其他处理"),
) + _APPLICATION_TAIL

APPLICATION_ROWS_2021 = _APPLICATION_HEAD + (
    _app("其他处理-逾期不补正", "申请人无正当理由逾期不补正", "逾期不补正",
         printed="（六）其他处理 1.申请人无正当理由逾期不补正"),
    _app("其他处理-逾期未缴费", "申请人逾期未按收费通知要求缴纳费用", "逾期未按收费通知要求缴纳费用",
         printed="（六）其他处理 2.申请人逾期未按收费通知要求缴纳费用"),
    _app("其他处理-其他", "3.其他", "其他",
         printed="（六）其他处理 3.其他"),
) + _APPLICATION_TAIL

# Rows that add up to 三、（七）总计 (the outcome rows), per version.
OUTCOME_ROWS_2019 = tuple(r.key for r in APPLICATION_ROWS_2019[2:-2])
OUTCOME_ROWS_2021 = tuple(r.key for r in APPLICATION_ROWS_2021[2:-2])

# ---------------------------------------------------------------- 复议诉讼
REVIEW_COLUMNS = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
REVIEW_ROWS = (
    RowSpec(REVIEW, "行政复议", ("行政复议",), REVIEW_COLUMNS, "件"),
    RowSpec(REVIEW, "行政诉讼-未经复议直接起诉", ("未经复议直接起诉",), REVIEW_COLUMNS, "件",
            printed="行政诉讼 未经复议直接起诉"),
    RowSpec(REVIEW, "行政诉讼-复议后起诉", ("复议后起诉",), REVIEW_COLUMNS, "件",
            printed="行政诉讼 复议后起诉"),
)



# ---------------------------------------------------------------- arithmetic
@dataclass(frozen=True)
class Rule:
    """An identity the report's own numbers must satisfy (勾稽关系), as ``index.checks`` runs it.

    ``per="column"``: one equation per column in ``scopes``; the terms are rows.
    ``per="row"``: one equation per row in ``scopes``; the terms are columns.
    Terms are (name printed in the equation, row key or column): Σ left = Σ right.
    ``requires``: a row that must be in the report for the rule to run at all;
    ``present_only``: skip the scopes (rows) the report does not have."""

    name: str
    table: str
    per: str
    scopes: tuple[str, ...]
    left: tuple[tuple[str, str], ...]
    right: tuple[tuple[str, str], ...]
    requires: str | None = None
    present_only: bool = False


def standard_rules(application_rows: tuple[RowSpec, ...], outcome_rows: tuple[str, ...],
                   review_rows: tuple[RowSpec, ...] = REVIEW_ROWS) -> tuple[Rule, ...]:
    """The four identities every format so far prints under its tables."""
    cols = APPLICANT_COLUMNS
    return (
        Rule("勾稽关系", APPLICATION, "column", cols, (("本年新收", "本年新收"), ("上年结转", "上年结转")),
             (("总计", "总计"), ("结转下年度", "结转下年度继续办理")), requires="本年新收"),
        Rule("申请人合计", APPLICATION, "row", tuple(r.key for r in application_rows),
             tuple((c, c) for c in cols[:-1]), (("总计", "总计"),), requires="本年新收"),
        Rule("办理结果合计", APPLICATION, "column", cols, tuple((k, k) for k in outcome_rows),
             (("（七）总计", "总计"),), requires="本年新收"),
        Rule("复议诉讼合计", REVIEW, "row", tuple(r.key for r in review_rows),
             tuple((c, c) for c in REVIEW_COLUMNS[:-1]), (("总计", "总计"),), present_only=True),
    )


# ---------------------------------------------------------------- templates
@dataclass(frozen=True, eq=False)
class Template:
    """One report format: how to recognise it, its rows, columns, labels and arithmetic.

    ``markers``: strings only this format prints around its tables (第二十条 column
    headers); the format with the most of them wins. ``markers[0]`` must be a column
    of its own (``qa.facts`` recognises a stored report by it). ``hints``: regexes on
    the compact text that decide when the markers tie. ``columns``: the logical
    columns of question understanding ('@issued' …) mapped to this format's column
    (None: the format has no such column). ``one_row_other``: 依申请 rows to read
    instead when a report of this format prints （六）其他处理 as one row, i.e. when
    none of ``sub_row_words`` is in its table (r001, r002 do). ``carried``: the
    (previous count, change) columns whose sum is next year's previous count
    (``index.crossyear``). ``outcome_rows`` (the rows that add up to （七）总计) and
    ``rules`` default to the standard ones for ``application_rows``."""

    version: str
    title: str
    markers: tuple[str, ...]
    active_rows: tuple[RowSpec, ...]
    application_rows: tuple[RowSpec, ...]
    columns: dict[str, str | None]
    review_rows: tuple[RowSpec, ...] = REVIEW_ROWS
    hints: tuple[str, ...] = ()
    one_row_other: tuple[RowSpec, ...] = ()
    sub_row_words: tuple[str, ...] = ()
    carried: tuple[str, str] | None = None
    outcome_rows: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()

    def __post_init__(self):
        if not self.outcome_rows:  # between 一/二 (本年新收, 上年结转) and （七）总计/结转下年度
            object.__setattr__(self, "outcome_rows", tuple(r.key for r in self.application_rows[2:-2]))
        if not self.rules:
            object.__setattr__(self, "rules", standard_rules(self.application_rows, self.outcome_rows,
                                                             self.review_rows))

    def rows(self) -> tuple[RowSpec, ...]:
        """All rows of the three tables, in reading order."""
        return self.active_rows + self.application_rows + self.review_rows

    def one_row_shape(self) -> Template:
        """This format as read when （六）其他处理 is printed as one row."""
        if not self.one_row_other:
            return self
        return replace(self, application_rows=self.one_row_other, one_row_other=(), outcome_rows=(), rules=())

    def shapes(self) -> tuple[Template, ...]:
        """The format and its one-row variant (when it has one)."""
        return (self, self.one_row_shape()) if self.one_row_other else (self,)

    def column(self, logical: str) -> str | None:
        """The column of a (possibly logical '@…') column in this format."""
        return self.columns.get(logical) if logical.startswith("@") else logical


# Logical columns of 主动公开 that differ between formats, and how answers name them.
COLUMN_WORDS = {"@issued": "本年制发", "@published": "本年新公开", "@repealed": "本年废止",
                "@in_force": "现行有效", "@decisions": "本年处理决定数量", "@fee": "本年收费金额",
                "@items": "上一年项目数量", "@change": "本年增/减"}

TEMPLATE_2019 = Template(
    version="2019",
    title="2019年版表格格式（旧版：第二十条表为“上一年项目数量/本年增减/处理决定数量”）",
    markers=("本年新制作数量", "对外公开总数量", "上一年项目数量", "政府集中采购"),
    hints=(r"（六）其他处理[\d\s（]",),
    active_rows=ACTIVE_ROWS_2019,
    application_rows=APPLICATION_ROWS_2019,
    columns={"@issued": "本年新制作数量", "@published": "本年新公开数量", "@repealed": None,
             "@in_force": "对外公开总数量", "@decisions": "处理决定数量", "@fee": None,
             "@items": "上一年项目数量", "@change": "本年增/减"},
    carried=("上一年项目数量", "本年增/减"),
)

TEMPLATE_2021 = Template(
    version="2021",
    title="2021年版表格格式（新版：第二十条表为“本年制发/本年废止/现行有效件数”）",
    markers=("本年制发件数", "现行有效件数", "本年处理决定数量", "本年收费金额"),
    hints=("逾期不补正", "逾期未按收费通知"),
    active_rows=ACTIVE_ROWS_2021,
    application_rows=APPLICATION_ROWS_2021,
    columns={"@issued": "本年制发件数", "@published": "本年制发件数", "@repealed": "本年废止件数",
             "@in_force": "现行有效件数", "@decisions": "本年处理决定数量", "@fee": "本年收费金额",
             "@items": None, "@change": None},
    one_row_other=APPLICATION_ROWS_2019,
    sub_row_words=("逾期不补正", "逾期未按收费", "逾期未缴费"),
)

# ---------------------------------------------------------------- the registry
TEMPLATES: dict[str, Template] = {}
TEMPLATE_VERSIONS = ("2019", "2021")  # the built-in formats
DEFAULT_VERSION = "2021"  # the current format: how a question reads a report of unknown format
_derived: dict[str, dict] = {}  # row labels and order over all formats, rebuilt on (un)register


def register(template: Template) -> Template:
    """Add a format. Its version must be new."""
    if template.version in TEMPLATES:
        raise ValueError(f"template {template.version!r} is already registered")
    TEMPLATES[template.version] = template
    _derived.clear()
    return template


def unregister(version: str) -> Template:
    """Remove a format (tests that register a toy one)."""
    template = template_for(version)
    del TEMPLATES[version]
    _derived.clear()
    return template


def templates() -> list[Template]:
    """Registered formats, in registration order."""
    return list(TEMPLATES.values())


def template_for(version: str) -> Template:
    try:
        return TEMPLATES[version]
    except KeyError:
        raise ValueError(f"unknown template version {version!r}; expected one of {tuple(TEMPLATES)}") from None


def detect_template(text: str, canon: Callable[[str], str] = lambda s: s) -> Template | None:
    """The format of a report from its compact text (``canon`` is how the text was
    compacted, applied to the markers too): the most markers, else the first hint
    that matches, later formats first (they print more specific rows)."""
    score = {t.version: sum(canon(m) in text for m in t.markers) for t in templates()}
    best = max(score.values(), default=0)
    winners = [v for v, n in score.items() if n == best]
    if best and len(winners) == 1:
        return TEMPLATES[winners[0]]
    for template in reversed(templates()):
        if any(re.search(h, text) for h in template.hints):
            return template
    return None


register(TEMPLATE_2019)
register(TEMPLATE_2021)


def _shared() -> dict:
    """Printed labels and a reading order of the row keys of every registered format."""
    if not _derived:
        labels: dict[str, str] = {}
        order: list[str] = []
        for template in templates():
            for shape in template.shapes():
                pending: list[str] = []
                for spec in shape.rows():
                    if spec.printed:
                        labels[spec.key] = spec.printed  # a later format's wording wins
                    if spec.key not in order:
                        pending.append(spec.key)
                    elif pending:  # new rows go before the next row already known
                        at = order.index(spec.key)
                        order[at:at] = pending
                        pending = []
                order.extend(pending)
        _derived.update(labels=labels, order={key: i for i, key in enumerate(order)})
    return _derived


def printed_label(row: str) -> str:
    """How the templates print a row key ('予以公开' -> '（一）予以公开')."""
    return _shared()["labels"].get(row, row)


def row_order() -> dict[str, int]:
    """Row key -> position in reading order, over every registered format."""
    return _shared()["order"]


def rows_for(version: str, single_other: bool | None = None) -> tuple[RowSpec, ...]:
    """All rows of the three tables of a template version, in reading order.

    ``single_other``: the 依申请 table prints （六）其他处理 as one row. Some reports in
    the 2021 format do (r001, r002), so it is a separate switch; by default it follows
    the version."""
    template = template_for(version)
    return (template.one_row_shape() if single_other else template).rows()


def cell_keys(version: str, single_other: bool | None = None) -> list[str]:
    """Every cell of a version as 'table|row|column' (the golden-file key form)."""
    return [f"{r.table}|{r.key}|{c}" for r in rows_for(version, single_other) for c in r.columns]


# The six standard sections of every report (0: the title and preamble before them).
STANDARD_TITLES = {
    0: "标题与前言",
    1: "总体情况",
    2: "主动公开政府信息情况",
    3: "收到和处理政府信息公开申请情况",
    4: "政府信息公开行政复议、行政诉讼情况",
    5: "存在的主要问题及改进情况",
    6: "其他需要报告的事项",
}
