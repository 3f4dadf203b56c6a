"""The standard annual-report template: the three tables, their rows and columns.

Every fact the product stores is keyed by (table, row, column) using the canonical
names defined here, whatever the layout or file format of the report. Two template
versions exist:

* ``2019``: the trial format (国办公开办函〔2019〕60号) used for reports on 2019-2020:
  第二十条 table with 本年新制作数量/本年新公开数量/对外公开总数量 and
  上一年项目数量/本年增/减/处理决定数量, plus 第（九）项 政府集中采购; one (六)其他处理 row.
* ``2021``: the revised format used from reports on 2021: 本年制发件数/本年废止件数/
  现行有效件数, 本年处理决定数量, 本年收费金额; three (六)其他处理 rows.

Golden files (tests/golden/*.json) and the parser both use exactly these keys.
"""

from __future__ import annotations

from dataclasses import dataclass

# Table ids
ACTIVE = "主动公开"  # 二、主动公开政府信息情况 (第二十条)
APPLICATION = "依申请"  # 三、收到和处理政府信息公开申请情况
REVIEW = "复议诉讼"  # 四、政府信息公开行政复议、行政诉讼情况

TABLES = (ACTIVE, APPLICATION, REVIEW)
TEMPLATE_VERSIONS = ("2019", "2021")


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
    RowSpec(ACTIVE, "规范性文件", ("行政规范性文件", "规范性文件"), _2021_DOCS, "件"),
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


def _app(key: str, *labels: str) -> RowSpec:
    return RowSpec(APPLICATION, key, labels or (key,), APPLICANT_COLUMNS, "件")


_APPLICATION_HEAD = (
    _app("本年新收", "本年新收政府信息公开申请数量", "本年新收"),
    _app("上年结转", "上年结转政府信息公开申请数量", "上年结转"),
    _app("予以公开", "予以公开"),
    _app("部分公开", "部分公开"),
    _app("不予公开-属于国家秘密", "属于国家秘密"),
    _app("不予公开-其他法律行政法规禁止公开", "其他法律行政法规禁止公开"),
    _app("不予公开-危及三安全一稳定", "危及“三安全一稳定”", "危及三安全一稳定", "危及\"三安全一稳定\""),
    _app("不予公开-保护第三方合法权益", "保护第三方合法权益"),
    _app("不予公开-属于三类内部事务信息", "属于三类内部事务信息"),
    _app("不予公开-属于四类过程性信息", "属于四类过程性信息"),
    _app("不予公开-属于行政执法案卷", "属于行政执法案卷"),
    _app("不予公开-属于行政查询事项", "属于行政查询事项"),
    _app("无法提供-本机关不掌握相关政府信息", "本机关不掌握相关政府信息"),
    _app("无法提供-没有现成信息需要另行制作", "没有现成信息需要另行制作"),
    _app("无法提供-补正后申请内容仍不明确", "补正后申请内容仍不明确"),
    _app("不予处理-信访举报投诉类申请", "信访举报投诉类申请"),
    _app("不予处理-重复申请", "重复申请"),
    _app("不予处理-要求提供公开出版物", "要求提供公开出版物"),
    _app("不予处理-无正当理由大量反复申请", "无正当理由大量反复申请"),
    _app("不予处理-要求行政机关确认或重新出具已获取信息", "要求行政机关确认或重新出具已获取信息"),
)
_APPLICATION_TAIL = (
    _app("总计", "（七）总计", "(七)总计", "总计"),
    _app("结转下年度继续办理", "结转下年度继续办理", "结转下年度"),
)

APPLICATION_ROWS_2019 = _APPLICATION_HEAD + (
    _app("其他处理", "（六）其他处理", "(六)其他处理", "其他处理"),
) + _APPLICATION_TAIL

APPLICATION_ROWS_2021 = _APPLICATION_HEAD + (
    _app("其他处理-逾期不补正", "申请人无正当理由逾期不补正", "逾期不补正"),
    _app("其他处理-逾期未缴费", "申请人逾期未按收费通知要求缴纳费用", "逾期未按收费通知要求缴纳费用"),
    _app("其他处理-其他", "3.其他", "其他"),
) + _APPLICATION_TAIL

# Rows that add up to 三、（七）总计 (the outcome rows), per version.
OUTCOME_ROWS_2019 = tuple(r.key for r in APPLICATION_ROWS_2019[2:-2])
OUTCOME_ROWS_2021 = tuple(r.key for r in APPLICATION_ROWS_2021[2:-2])

# ---------------------------------------------------------------- 复议诉讼
REVIEW_COLUMNS = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
REVIEW_ROWS = (
    RowSpec(REVIEW, "行政复议", ("行政复议",), REVIEW_COLUMNS, "件"),
    RowSpec(REVIEW, "行政诉讼-未经复议直接起诉", ("未经复议直接起诉",), REVIEW_COLUMNS, "件"),
    RowSpec(REVIEW, "行政诉讼-复议后起诉", ("复议后起诉",), REVIEW_COLUMNS, "件"),
)


def rows_for(version: str, single_other: bool | None = None) -> tuple[RowSpec, ...]:
    """All rows of the three tables of a template version, in reading order.

    ``single_other``: the 依申请 table prints （六）其他处理 as one row (the 2019 shape).
    Some reports in the 2021 format still do (r001, r002), so it is a separate switch;
    by default it follows the version."""
    if version not in TEMPLATE_VERSIONS:
        raise ValueError(f"unknown template version {version!r}; expected one of {TEMPLATE_VERSIONS}")
    if single_other is None:
        single_other = version == "2019"
    active = ACTIVE_ROWS_2019 if version == "2019" else ACTIVE_ROWS_2021
    application = APPLICATION_ROWS_2019 if single_other else APPLICATION_ROWS_2021
    return active + application + REVIEW_ROWS


def cell_keys(version: str, single_other: bool | None = None) -> list[str]:
    """Every cell of a version as 'table|row|column' (the golden-file key form)."""
    return [f"{r.table}|{r.key}|{c}" for r in rows_for(version, single_other) for c in r.columns]


# Column headers that identify the version of a 第二十条 table.
VERSION_MARKERS = {"2019": ("本年新制作数量", "对外公开总数量", "上一年项目数量", "政府集中采购"),
                   "2021": ("本年制发件数", "现行有效件数", "本年处理决定数量", "本年收费金额")}
