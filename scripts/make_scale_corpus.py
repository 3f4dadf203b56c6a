"""Generate a large corpus of synthetic annual reports with known answers.

    .venv/bin/python scripts/make_scale_corpus.py --out var/scale --n 1000 [--seed 0] \
        [--formats txt,md,html,docx,pdf]

Each report is a variant of the real and seed reports (``data/``, ``tests/fixtures/real``,
``tests/fixtures/seeds_docx``): a new issuing body (a township, town or 街道, now and then a
county or city government) under invented but plausible county/city/province names, a
year from 2019 to 2025 (the 2019 template for 2019-2020, the 2021 template after), and
table figures that obey the template's arithmetic:

* the six applicant columns add up to 总计 on every row of the 依申请 table;
* per column, 一 本年新收 + 二 上年结转 = 三（七）总计 + 四 结转下年度继续办理;
* per column, the outcome rows （一）…（六） add up to （七）总计;
* per block of table 四, 维持 + 纠正 + 其他 + 尚未审结 = 总计.

The narrative recombines real paragraphs (sections 一, 五, 六 of the sources) with the
sources' names and years replaced by the new ones; paragraphs that still name a real
place, give contact details or state application counts are left out, and the text about
applications is generated so that it agrees with the table.

Formats: ``txt`` (tab-separated table rows, or one cell per line, alternately), ``md``
(markdown pipe tables), ``html`` (``<table>`` with rowspan/colspan), ``docx`` (Word tables
with merged cells, python-docx) and ``pdf`` (a docx converted with LibreOffice: only one
report in 20, and skipped when ``soffice`` is not installed).

Beside the reports, ``truth.jsonl`` holds one line per file: file, format, layout,
template, metadata (body, short_name, level, year, province/city/county as the body names
them, publish_date), ``cells`` (every ``table|row|column`` key of
``index.template.cell_keys`` with the printed value, ``null`` for a blank cell) and
``narrative`` (the paragraphs of text written under each section, by section number as a
string: ``"0"`` the preamble, ``"1"``, ``"2"``, ``"3"``, ``"5"``, ``"6"``; section 四 has
none; the closing signature and date are left out), so that text questions have a known
answering report and section (scripts/bench_scale.py).

Deterministic: the same ``--seed`` gives byte-identical text/markdown/HTML files and the
same truth (report ``i`` does not depend on ``--n``). Generated reports are test data for
benchmarks only: they never go into ``tests/golden``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from index import template as T  # noqa: E402

SOURCE_DIRS = (ROOT / "data", ROOT / "tests" / "fixtures" / "real", ROOT / "tests" / "fixtures" / "seeds_docx")
ALL_FORMATS = ("txt", "md", "html", "docx", "pdf")
PDF_EVERY = 20  # one report in PDF_EVERY is a PDF (when pdf is asked for and soffice exists)

# ------------------------------------------------------------------------------ names

# Characters for invented place names: none is an administrative suffix
# (省市州盟县旗区乡镇街道), a word the metadata parser stops at, or part of an office name.
_NAME_CHARS = ("青安临永平丰兴宁长清德泰华嘉云桂汉洛白石金银松柏梅桃杏柳桥溪河湖山峰岭川源泉"
               "林田庄坪坝湾岗堡塘沟营关台阳明光富盛隆昌顺康乐福寿文武东西南北高龙虎鹤鹿凤"
               "玉翠碧霞丹紫黄红蓝江海波涛沙滩洲岩崖谷峪陵原野禾麦稻粟桑茶竹兰菊荷芦苇")
_PROVINCE_FIRST = "江河湘闽岭黔滇晋冀皖赣陇秦蜀桂辽吉琼燕楚越齐鄂"
_PROVINCE_SECOND = "南北东西川海阳宁原陵平安兴丰"
_REAL_PROVINCES = {"江西", "江南", "河南", "河北", "河东", "湘西", "湘南", "辽宁", "海南", "江北", "湘东",
                   "闽西", "闽南", "闽东", "闽北", "黔南", "黔东", "黔西", "滇西", "晋南", "晋东", "冀南",
                   "皖南", "皖北", "皖西", "赣南", "赣西", "赣东", "陇南", "陇西", "陇东", "桂林", "吉安",
                   "河西", "晋城", "晋中", "辽阳", "吉林", "安阳", "兴安", "平安", "齐河", "越西"}


def _place(rng: random.Random, used: set[str]) -> str:
    while True:
        name = rng.choice(_NAME_CHARS) + rng.choice(_NAME_CHARS)
        if name[0] != name[1] and name not in used:
            used.add(name)
            return name


@dataclass
class Body:
    body: str  # as the report names itself
    short_name: str
    level: str
    province: str | None  # regions the body names (what the metadata parser reports)
    city: str | None
    county: str | None
    hierarchy: dict  # the whole invented hierarchy, named or not
    unit: str  # 乡/镇/街道/县/区/市: how the text refers to itself (我乡, 全镇 …)


def make_body(rng: random.Random) -> Body:
    used: set[str] = set()
    while True:
        p = rng.choice(_PROVINCE_FIRST) + rng.choice(_PROVINCE_SECOND)
        if p not in _REAL_PROVINCES and p[0] != p[1]:
            break
    used.add(p)
    province, city = p + "省", _place(rng, used) + "市"
    county = _place(rng, used) + rng.choice("县县县区")
    hierarchy = {"province": province, "city": city, "county": county}
    kind = rng.choices(("township", "street", "county", "city"), (70, 14, 11, 5))[0]
    if kind in ("township", "street"):
        if kind == "township":
            suffix = rng.choice("乡镇镇")
            local = _place(rng, used) + suffix
            tail, unit = local + "人民政府", suffix
        else:
            local = _place(rng, used) + "街道"
            tail, unit = local + "办事处", "街道"
            county = county[:-1] + "区"  # 街道 are in urban districts
            hierarchy["county"] = county
        hierarchy["township"] = local
        depth = rng.choices((1, 2, 3), (6, 3, 1))[0]
        prefix = [province, city, county][3 - depth:]
        body = "".join(prefix) + tail
        return Body(body, local, "township",
                    province if depth == 3 else None, city if depth >= 2 else None, county,
                    hierarchy, unit)
    if kind == "county":
        depth = rng.choices((1, 2), (3, 1))[0]
        prefix = [province, city][2 - depth:]
        return Body("".join(prefix) + county + "人民政府", county, "county",
                    province if depth == 2 else None, city, county, hierarchy, county[-1])
    return Body(province + city + "人民政府", city, "city", province, city, None, hierarchy, "市")


# ------------------------------------------------------------------------------ figures

def _dec(rng: random.Random, hi: float) -> str:
    """A money amount as printed: up to two decimals, no trailing zeros."""
    x = rng.choice((0.0, round(rng.uniform(0, hi), rng.choice((0, 1, 2)))))
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _scale(level: str) -> int:
    return {"township": 1, "county": 8, "city": 40}[level]


def active_figures(rng: random.Random, version: str, level: str) -> dict[tuple[str, str], str | None]:
    s = _scale(level)
    out: dict[tuple[str, str], str | None] = {}
    if version == "2021":
        regs = 0 if level != "city" else rng.randint(0, 6)
        out.update({("规章", "本年制发件数"): regs, ("规章", "本年废止件数"): rng.randint(0, regs),
                    ("规章", "现行有效件数"): regs + (rng.randint(0, 60) if level == "city" else 0)})
        made = rng.randint(0, 3 * s)
        out.update({("规范性文件", "本年制发件数"): made,
                    ("规范性文件", "本年废止件数"): rng.randint(0, made + 1),
                    ("规范性文件", "现行有效件数"): made + rng.randint(0, 10 * s)})
        for row in ("行政许可", "行政处罚", "行政强制"):
            out[(row, "本年处理决定数量")] = rng.choice((0, rng.randint(0, 40 * s)))
        out[("行政事业性收费", "本年收费金额")] = _dec(rng, 50.0 * s)
    else:
        for row in ("规章", "规范性文件"):
            made = 0 if (row == "规章" and level != "city") else rng.randint(0, 3 * s)
            shown = rng.randint(0, made)
            out.update({(row, "本年新制作数量"): made, (row, "本年新公开数量"): shown,
                        (row, "对外公开总数量"): shown + rng.randint(0, 10 * s)})
        for row in ("行政许可", "其他对外管理服务事项", "行政处罚", "行政强制"):
            last = rng.randint(0, 30 * s)
            out.update({(row, "上一年项目数量"): last, (row, "本年增/减"): rng.randint(-min(last, 5 * s), 5 * s),
                        (row, "处理决定数量"): rng.choice((0, rng.randint(0, 50 * s)))})
        last = rng.randint(0, 3 * s)
        out.update({("行政事业性收费", "上一年项目数量"): last,
                    ("行政事业性收费", "本年增/减"): rng.randint(-last, 2)})
        out.update({("政府集中采购", "采购项目数量"): rng.randint(0, 5 * s),
                    ("政府集中采购", "采购总金额"): _dec(rng, 80.0 * s)})
    result = {k: str(v) for k, v in out.items()}
    if rng.random() < 0.15:  # some reports leave zero cells of table 二 blank
        for k, v in result.items():
            if v == "0" and rng.random() < 0.5:
                result[k] = None
    return result


# Outcome rows that receive most applications, by weight.
_OUTCOME_WEIGHTS = {"予以公开": 40, "部分公开": 8, "无法提供-本机关不掌握相关政府信息": 14,
                    "不予处理-信访举报投诉类申请": 4, "不予处理-重复申请": 3,
                    "不予公开-保护第三方合法权益": 2, "不予公开-属于三类内部事务信息": 1,
                    "不予公开-属于四类过程性信息": 2, "无法提供-没有现成信息需要另行制作": 3,
                    "无法提供-补正后申请内容仍不明确": 2, "不予公开-属于国家秘密": 1}


def application_figures(rng: random.Random, version: str, level: str) -> dict[tuple[str, str], str]:
    rows = T.APPLICATION_ROWS_2019 if version == "2019" else T.APPLICATION_ROWS_2021
    outcome = [r.key for r in rows[2:-2]]
    weights = [_OUTCOME_WEIGHTS.get(k, 1) for k in outcome]
    s = _scale(level)
    cols = T.APPLICANT_COLUMNS[:-1]
    col_weight = {"自然人": 1.0, "商业企业": 0.25, "科研机构": 0.03, "社会公益组织": 0.03,
                  "法律服务机构": 0.08, "其他": 0.1}
    values = {(r.key, c): 0 for r in rows for c in cols}
    if rng.random() < 0.4 and level == "township":
        pass  # no applications at all, as many townships report
    else:
        for c in cols:
            lam = 6 * s * col_weight[c]
            new = max(0, int(rng.gauss(lam, lam / 2 + 0.5))) if rng.random() < 0.8 else 0
            carried = rng.randint(0, max(0, new // 8))
            pending = rng.randint(0, max(0, (new + carried) // 6))
            handled = new + carried - pending
            values[("本年新收", c)], values[("上年结转", c)] = new, carried
            values[("结转下年度继续办理", c)], values[("总计", c)] = pending, handled
            for _ in range(handled):
                values[(rng.choices(outcome, weights)[0], c)] += 1
    out = {}
    for r in rows:
        total = 0
        for c in cols:
            out[(r.key, c)] = str(values[(r.key, c)])
            total += values[(r.key, c)]
        out[(r.key, "总计")] = str(total)
    return out


def review_figures(rng: random.Random, level: str) -> dict[tuple[str, str], str]:
    s = _scale(level)
    out = {}
    for spec in T.REVIEW_ROWS:
        parts = [0, 0, 0, 0]
        if rng.random() < (0.25 if level == "township" else 0.8):
            n = rng.randint(0, 3 * s)
            for _ in range(n):
                parts[rng.choices(range(4), (6, 1, 2, 2))[0]] += 1
        for c, v in zip(T.REVIEW_COLUMNS[:-1], parts):
            out[(spec.key, c)] = str(v)
        out[(spec.key, "总计")] = str(sum(parts))
    return out


# ------------------------------------------------------------------------------ tables

@dataclass
class Table:
    """A table as a grid: ``cells[(r, c)] = (text, rowspan, colspan)`` at each merged
    cell's top-left slot; slots a merged cell covers are absent."""

    nrows: int
    ncols: int
    cells: dict = field(default_factory=dict)

    def put(self, r: int, c: int, text: str | None, rs: int = 1, cs: int = 1) -> None:
        self.cells[(r, c)] = ("" if text is None else text, rs, cs)

    def covered(self) -> set[tuple[int, int]]:
        out = set()
        for (r, c), (_, rs, cs) in self.cells.items():
            out |= {(r + i, c + j) for i in range(rs) for j in range(cs)} - {(r, c)}
        return out

    def matrix(self) -> list[list[str]]:
        """Rows with one string per column; covered slots are ''."""
        m = [[""] * self.ncols for _ in range(self.nrows)]
        for (r, c), (text, _, _) in self.cells.items():
            m[r][c] = text
        return m


_ACTIVE_BLOCKS_2021 = (
    ("第二十条第（一）项", ("本年制发件数", "本年废止件数", "现行有效件数"), ("规章", "规范性文件")),
    ("第二十条第（五）项", ("本年处理决定数量",), ("行政许可",)),
    ("第二十条第（六）项", ("本年处理决定数量",), ("行政处罚", "行政强制")),
    ("第二十条第（八）项", ("本年收费金额（单位：万元）",), ("行政事业性收费",)),
)
_ACTIVE_BLOCKS_2019 = (
    ("第二十条第（一）项", ("本年新制作数量", "本年新公开数量", "对外公开总数量"), ("规章", "规范性文件")),
    ("第二十条第（五）项", ("上一年项目数量", "本年增/减", "处理决定数量"), ("行政许可", "其他对外管理服务事项")),
    ("第二十条第（六）项", ("上一年项目数量", "本年增/减", "处理决定数量"), ("行政处罚", "行政强制")),
    ("第二十条第（八）项", ("上一年项目数量", "本年增/减"), ("行政事业性收费",)),
    ("第二十条第（九）项", ("采购项目数量", "采购总金额"), ("政府集中采购",)),
)
_ROW_LABEL = {"2021": {"规范性文件": "行政规范性文件"}, "2019": {}}


def active_table(version: str, values: dict) -> Table:
    blocks = _ACTIVE_BLOCKS_2021 if version == "2021" else _ACTIVE_BLOCKS_2019
    specs = {r.key: r for r in (T.ACTIVE_ROWS_2021 if version == "2021" else T.ACTIVE_ROWS_2019)}
    nrows = sum(2 + len(rows) for _, _, rows in blocks)
    t = Table(nrows, 4)
    r = 0
    for head, columns, rows in blocks:
        t.put(r, 0, head, cs=4)
        t.put(r + 1, 0, "信息内容")
        for i, col in enumerate(columns):
            t.put(r + 1, 1 + i, col, cs=4 - 1 - i if i == len(columns) - 1 else 1)
        r += 2
        for key in rows:
            t.put(r, 0, _ROW_LABEL[version].get(key, key))
            cols = specs[key].columns
            for i, col in enumerate(cols):
                t.put(r, 1 + i, values[(key, col)], cs=4 - 1 - i if i == len(cols) - 1 else 1)
            r += 1
    return t


# 依申请 rows as printed: (level-1 label, level-2 label, level-3 label) per canonical row.
_APP_LABELS = {
    "本年新收": ("一、本年新收政府信息公开申请数量", "", ""),
    "上年结转": ("二、上年结转政府信息公开申请数量", "", ""),
    "予以公开": ("三、本年度办理结果", "（一）予以公开", ""),
    "部分公开": ("三、本年度办理结果", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）", ""),
    "总计": ("三、本年度办理结果", "（七）总计", ""),
    "结转下年度继续办理": ("四、结转下年度继续办理", "", ""),
    "其他处理": ("三、本年度办理结果", "（六）其他处理", ""),
}
_GROUPS = {"不予公开": "（三）不予公开", "无法提供": "（四）无法提供", "不予处理": "（五）不予处理",
           "其他处理": "（六）其他处理"}
_SUB_LABELS = {
    "其他处理-逾期不补正": "申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "其他处理-逾期未缴费": "申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "其他处理-其他": "其他",
    "不予公开-危及三安全一稳定": "危及“三安全一稳定”",
}


def _app_labels(version: str) -> list[tuple[str, tuple[str, str, str]]]:
    rows = T.APPLICATION_ROWS_2019 if version == "2019" else T.APPLICATION_ROWS_2021
    out, counters = [], {}
    for spec in rows:
        if spec.key in _APP_LABELS:
            out.append((spec.key, _APP_LABELS[spec.key]))
            continue
        group, _, sub = spec.key.partition("-")
        counters[group] = counters.get(group, 0) + 1
        text = _SUB_LABELS.get(spec.key, sub)
        out.append((spec.key, ("三、本年度办理结果", _GROUPS[group], f"{counters[group]}.{text}")))
    return out


def application_table(version: str, values: dict, social_label: str) -> Table:
    labels = _app_labels(version)
    t = Table(3 + len(labels), 10)
    t.put(0, 0, "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", rs=3, cs=3)
    t.put(0, 3, "申请人情况", cs=7)
    t.put(1, 3, "自然人", rs=2)
    t.put(1, 4, "法人或其他组织", cs=5)
    t.put(1, 9, "总计", rs=2)
    for i, org in enumerate(("商业企业", "科研机构", social_label, "法律服务机构", "其他")):
        t.put(2, 4 + i, org)
    r = 0
    while r < len(labels):
        l1, l2, l3 = labels[r][1]
        if not l2:
            t.put(3 + r, 0, l1, cs=3)
            r += 1
            continue
        end = r
        while end + 1 < len(labels) and labels[end + 1][1][0] == l1 and labels[end + 1][1][1]:
            end += 1
        t.put(3 + r, 0, l1, rs=end - r + 1)
        s = r
        while s <= end:
            g = labels[s][1][1]
            if not labels[s][1][2]:
                t.put(3 + s, 1, g, cs=2)
                s += 1
                continue
            e = s
            while e + 1 <= end and labels[e + 1][1][1] == g and labels[e + 1][1][2]:
                e += 1
            t.put(3 + s, 1, g, rs=e - s + 1)
            for q in range(s, e + 1):
                t.put(3 + q, 2, labels[q][1][2])
            s = e + 1
        r = end + 1
    for i, (key, _) in enumerate(labels):
        for j, col in enumerate(T.APPLICANT_COLUMNS):
            t.put(3 + i, 3 + j, values[(key, col)])
    return t


def review_table(values: dict) -> Table:
    t = Table(4, 15)
    sub = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
    t.put(0, 0, "行政复议", cs=5)
    t.put(0, 5, "行政诉讼", cs=10)
    for i, s in enumerate(sub):
        t.put(1, i, s, rs=2)
    t.put(1, 5, "未经复议直接起诉", cs=5)
    t.put(1, 10, "复议后起诉", cs=5)
    for i, s in enumerate(sub + sub):
        t.put(2, 5 + i, s)
    for b, spec in enumerate(T.REVIEW_ROWS):
        for i, col in enumerate(T.REVIEW_COLUMNS):
            t.put(3, 5 * b + i, values[(spec.key, col)])
    return t


# ------------------------------------------------------------------------------ narrative

_DROP = re.compile(r"https?:|www\.|\.gov\.cn|\.com|@|电话|邮编|邮箱|地址[:：]|联系|传真|\d{3,4}[-—]\d{6,8}|"
                   r"第二十条|申请人情况|勾稽|本年新收|上年结转|结转下年度|予以公开\s*\d|"
                   r"附件|下载|当前位置|来源[:：]|索引号|发布机构|扫一扫|打印|关闭|"
                   r"(?:规章|规范性文件|行政许可|行政处罚|行政强制|收费)\D{0,8}\d")  # figures of table 二
_HEADINGISH = re.compile(r"^[#\s*]*[一二三四五六七八九十]\s*[、.．]")
_REAL_PLACES = ("宁夏", "自治区", "福建", "江苏", "上海", "平潭", "淮安", "洪泽", "沭阳", "沐阳", "中卫", "沙坡头",
                "彭阳", "原州", "固原", "永定", "张家界", "湖南", "官厅", "群峰", "大溪", "柔远", "交岔", "宿迁",
                "卫政办", "宁政办", "彭政", "中政", "固政", "永政", "张政", "闽", "苏政", "沪府", "淮政", "宿政",
                "科委", "科学技术委员会", "发展和改革", "发改", "管委会", "管理委员会", "实验区", "浦东", "长三角")
_SELF = re.compile(r"(我|全|本|该)(乡|镇|街道|县|区)(?![\u4e00-\u9fff]?(?:政府|人民政府)[\u4e00-\u9fff]{0,2}门户)")


@dataclass
class Paragraph:
    text: str
    year: int
    level: str  # level of the source's body


def _stem(name: str | None) -> str | None:
    if not name:
        return None
    stem = re.sub(r"(人民政府|管理委员会|街道办事处|办事处|自治区|街道|省|市|县|区|乡|镇)$", "", name)
    return stem if len(stem) >= 2 else None


def _split_paragraphs(text: str) -> list[str]:
    out = []
    for line in text.split("\n"):
        line = re.sub(r"\s+", "", line.strip()).strip("*#")
        if not line:
            continue
        if len(line) <= 420:
            out.append(line)
            continue
        chunk = ""
        for sentence in re.findall(r"[^。]*。?", line):
            if chunk and len(chunk) + len(sentence) > 320:
                out.append(chunk)
                chunk = ""
            chunk += sentence
        if chunk:
            out.append(chunk)
    return out


@lru_cache(maxsize=1)
def source_paragraphs() -> dict[int, tuple[Paragraph, ...]]:
    """Real paragraphs of sections 一, 五 and 六, with every source's own names
    replaced by placeholders ({BODY}, {SHORT}, {SELF…}); those still naming a real
    place are dropped."""
    from index.load import is_supported, load_document
    from index.metadata import extract_metadata
    from index.sections import split_sections

    docs = []
    for folder in SOURCE_DIRS:
        for path in sorted(folder.glob("*")):
            if path.suffix.lower() == ".pdf" or not is_supported(path):
                continue
            try:
                doc = load_document(path)
            except Exception:  # a fixture that does not load is simply not a source
                continue
            docs.append((doc, extract_metadata(doc)))
    names: set[str] = set(_REAL_PLACES)
    for _, meta in docs:
        for n in (meta.body, meta.short_name, meta.province, meta.city, meta.county):
            if n:
                names.add(n)
                if _stem(n):
                    names.add(_stem(n))
    out: dict[int, list[Paragraph]] = {1: [], 5: [], 6: []}
    seen: set[str] = set()
    for doc, meta in docs:
        own = [(meta.body, "{BODY}"), (meta.short_name, "{SHORT}")]
        for name in sorted({meta.body, meta.short_name, meta.county, meta.city, meta.province} - {None},
                           key=len, reverse=True):
            own.append((name, "{SHORT}" if name == meta.short_name else "{REGION}"))
        for section in split_sections(doc.lines):
            if section.number not in out:
                continue
            for para in _split_paragraphs(section.text):
                if len(para) < 40 or _HEADINGISH.match(para) or _DROP.search(para) or "申请" in para:
                    continue
                if section.title and para.startswith(re.sub(r"\s+", "", section.title)[:6]):
                    continue
                for name, placeholder in own:
                    if name:
                        para = para.replace(name, placeholder)
                if any(n in para for n in names) or "}{BODY}" in para or re.search(r"[我本该]局|[我本]委", para):
                    continue
                para = _SELF.sub(lambda m: m.group(1) + "{UNIT}", para)
                if para in seen:
                    continue
                seen.add(para)
                out[section.number].append(Paragraph(para, meta.year or 2021, meta.level))
    return {k: tuple(v) for k, v in out.items()}


def _fill(p: Paragraph, body: Body, year: int) -> str:
    shift = year - p.year

    def move(m):
        y = int(m.group(0))
        return str(y + shift) if 2010 <= y <= 2026 else m.group(0)

    text = re.sub(r"(?<!\d)20\d{2}(?!\d)", move, p.text)
    region = body.hierarchy.get("county") if body.level == "township" else body.hierarchy.get("city")
    return (text.replace("{BODY}", body.body).replace("{SHORT}", body.short_name)
            .replace("{REGION}", region or body.short_name).replace("{UNIT}", body.unit))


# ------------------------------------------------------------------------------ report

@dataclass
class Report:
    index: int
    fmt: str
    layout: str
    body: Body
    year: int
    version: str
    title: str
    blocks: list  # ('h', text) | ('p', text) | ('table', Table)
    cells: dict  # 'table|row|column' -> value or None
    publish_date: str
    narrative: dict = field(default_factory=dict)  # section number -> paragraphs written under it

    @property
    def stem(self) -> str:
        return f"{self.index:05d}_{self.fmt}"


def _formats_for(i: int, formats: tuple[str, ...]) -> tuple[str, str]:
    """(format, layout) of report i: one in PDF_EVERY is a PDF when asked for; the rest
    go round the other formats, text alternating between its two layouts."""
    if "pdf" in formats and i % PDF_EVERY == PDF_EVERY - 1:
        return "pdf", "docx"
    slots = []
    for f in formats:
        if f == "txt":
            slots += [("txt", "tab"), ("txt", "cells")]
        elif f == "md":
            slots.append(("md", "pipes"))
        elif f == "html":
            slots.append(("html", "rowspan"))
        elif f == "docx":
            slots.append(("docx", "docx"))
    if not slots:
        return "pdf", "docx"
    return slots[i % len(slots)]


def make_report(i: int, seed: int, formats: tuple[str, ...]) -> Report:
    rng = random.Random(seed * 1_000_003 + i)
    fmt, layout = _formats_for(i, formats)
    body = make_body(rng)
    year = rng.randint(2019, 2025)
    version = "2019" if year <= 2020 else "2021"
    active = active_figures(rng, version, body.level)
    application = application_figures(rng, version, body.level)
    review = review_figures(rng, body.level)
    cells: dict[str, str | None] = {}
    for spec in T.rows_for(version):
        source = {T.ACTIVE: active, T.APPLICATION: application, T.REVIEW: review}[spec.table]
        for col in spec.columns:
            cells[f"{spec.table}|{spec.key}|{col}"] = source[(spec.key, col)]

    short = body.short_name
    title = f"{body.body}{year}年{rng.choice(('', '度'))}政府信息公开工作年度报告"
    pools = source_paragraphs()

    def pick(section: int, lo: int, hi: int) -> list[str]:
        pool = pools.get(section) or ()
        # townships read like townships: their paragraphs come from township reports
        fitting = tuple(p for p in pool if (p.level == "township") == (body.level == "township"))
        pool = fitting or pool
        k = min(len(pool), rng.randint(lo, hi))
        return [_fill(p, body, year) for p in rng.sample(pool, k)]

    blocks: list = [("title", title)]
    narrative: dict[int, list[str]] = {}

    def text(section: int, paragraphs: list[str]) -> None:
        narrative.setdefault(section, []).extend(paragraphs)
        blocks.extend(("p", t) for t in paragraphs)

    text(0, [rng.choice((
        f"本报告是{body.body}根据《中华人民共和国政府信息公开条例》（以下简称《条例》）第五十条规定编制。"
        f"所列政府信息公开数据统计期限为{year}年1月1日至{year}年12月31日。",
        f"根据《中华人民共和国政府信息公开条例》规定，现公布{body.body}{year}年政府信息公开工作年度报告。"
        f"本报告中所列数据的统计期限自{year}年1月1日起至{year}年12月31日止。",
    ))])
    blocks.append(("h", "一、总体情况"))
    text(1, pick(1, 3, 6))
    blocks.append(("h", "二、主动公开政府信息情况"))
    posted = rng.randint(20, 400) * _scale(body.level)
    text(2, [f"{year}年，{short}通过政府门户网站、政务新媒体和公开栏主动公开政府信息{posted}条。"])
    blocks.append(("table", active_table(version, active)))
    blocks.append(("h", "三、收到和处理政府信息公开申请情况"))
    received = int(application[("本年新收", "总计")])
    if received == 0:
        text(3, [f"{year}年，{short}未收到政府信息公开申请。"])
    else:
        done = application[("总计", "总计")]
        text(3, [f"{year}年，{short}共收到政府信息公开申请{received}件，均在法定期限内答复，办结{done}件。"])
    social = "社会公益组织" if rng.random() < 0.8 else "社会组织"
    blocks.append(("table", application_table(version, application, social)))
    blocks.append(("h", "四、政府信息公开行政复议、行政诉讼情况"))
    blocks.append(("table", review_table(review)))
    blocks.append(("h", rng.choice(("五、存在的主要问题及改进情况", "五、政府信息公开工作存在的主要问题及改进情况"))))
    text(5, pick(5, 1, 3))
    blocks.append(("h", "六、其他需要报告的事项"))
    text(6, pick(6, 0, 1) or [f"{year}年，{short}未收取信息处理费。"])
    month, day = rng.randint(1, 3), rng.randint(1, 28)
    blocks.append(("p", body.body))
    blocks.append(("p", f"{year + 1}年{month}月{day}日"))
    return Report(i, fmt, layout, body, year, version, title, blocks, cells,
                  f"{year + 1}-{month:02d}-{day:02d}", narrative)


# ------------------------------------------------------------------------------ writers

def _cell_lines(t: Table) -> list[str]:
    """One cell per line, a blank line between table rows (as Word-to-text exports do)."""
    out = []
    for r in range(t.nrows):
        for c in range(t.ncols):
            if (r, c) in t.cells:
                out.append("\t" + t.cells[(r, c)][0])
        out.append("")
    return out


def render_text(rep: Report) -> str:
    lines: list[str] = []
    for kind, value in rep.blocks:
        if kind == "table":
            if rep.layout == "tab":
                lines += ["\t".join(row) for row in value.matrix()]
            else:
                lines += _cell_lines(value)
            lines.append("")
        else:
            lines += [value, ""]
    return "\n".join(lines) + "\n"


def render_markdown(rep: Report) -> str:
    lines: list[str] = []
    for kind, value in rep.blocks:
        if kind == "title":
            lines += [f"# {value}", ""]
        elif kind == "h":
            lines += [f"## {value}", ""]
        elif kind == "p":
            lines += [value, ""]
        else:
            m = value.matrix()
            lines.append("| " + " | ".join(m[0]) + " |")
            lines.append("|" + "---|" * value.ncols)
            lines += ["| " + " | ".join(row) + " |" for row in m[1:]]
            lines.append("")
    return "\n".join(lines)


def render_html(rep: Report) -> str:
    parts = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\">",
             f"<title>{escape(rep.title)}</title></head><body>", "<div class=\"article\">"]
    for kind, value in rep.blocks:
        if kind == "title":
            parts.append(f"<h1>{escape(value)}</h1>")
        elif kind == "h":
            parts.append(f"<h2>{escape(value)}</h2>")
        elif kind == "p":
            parts.append(f"<p>{escape(value)}</p>")
        else:
            parts.append("<table border=\"1\" cellspacing=\"0\">")
            for r in range(value.nrows):
                tds = []
                for c in range(value.ncols):
                    if (r, c) not in value.cells:
                        continue
                    text, rs, cs = value.cells[(r, c)]
                    span = (f" rowspan=\"{rs}\"" if rs > 1 else "") + (f" colspan=\"{cs}\"" if cs > 1 else "")
                    tds.append(f"<td{span}>{escape(text) if text else '&nbsp;'}</td>")
                parts.append("<tr>" + "".join(tds) + "</tr>")
            parts.append("</table>")
    parts += ["</div>", "</body></html>", ""]
    return "\n".join(parts)


def write_docx(rep: Report, path: Path) -> None:
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt
    from docx.table import _Cell

    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.left_margin = sec.right_margin = sec.top_margin = sec.bottom_margin = Cm(2.0)
    style = doc.styles["Normal"]
    style.font.size = Pt(10.5)
    rpr = style.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    rfonts.set(qn("w:eastAsia"), "宋体")
    core = doc.core_properties
    core.title, core.author, core.last_modified_by = rep.title, "", ""
    for kind, value in rep.blocks:
        if kind == "title":
            doc.add_heading(value, level=1)
        elif kind == "h":
            doc.add_heading(value, level=2)
        elif kind == "p":
            doc.add_paragraph(value)
        else:
            t = doc.add_table(rows=value.nrows, cols=value.ncols)
            t.style = "Table Grid"
            # merge on the XML cells directly: Table.cell() re-walks the table each call
            tcs = [list(tr.tc_lst) for tr in t._tbl.tr_lst]
            for (r, c), (text, rs, cs) in sorted(value.cells.items()):
                tc = tcs[r][c]
                if rs > 1 or cs > 1:
                    tc = tc.merge(tcs[r + rs - 1][c + cs - 1])
                cell = _Cell(tc, t)
                if text:
                    run = cell.paragraphs[0].add_run(text)
                    run.font.size = Pt(7.5 if value.ncols > 4 else 9)
    # python-docx keeps creation/modification times of "now": fix them for determinism
    import datetime as _dt

    core.created = core.modified = _dt.datetime(2026, 1, 1)
    doc.save(str(path))


def _to_pdf(docx_files: list[Path], outdir: Path) -> None:
    if not docx_files:
        return
    with tempfile.TemporaryDirectory() as profile:
        cmd = ["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
               "--convert-to", "pdf", "--outdir", str(outdir), *map(str, docx_files)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120 + 30 * len(docx_files))


def truth_record(rep: Report) -> dict:
    b = rep.body
    return {
        "file": f"{rep.stem}.{rep.fmt}",
        "format": rep.fmt,
        "layout": rep.layout,
        "template": rep.version,
        "metadata": {"body": b.body, "short_name": b.short_name, "level": b.level, "year": rep.year,
                     "province": b.province, "city": b.city, "county": b.county,
                     "publish_date": rep.publish_date, "title": rep.title},
        "hierarchy": b.hierarchy,
        "cells": rep.cells,
        "narrative": {str(k): v for k, v in sorted(rep.narrative.items())},
    }


def generate(out: str | Path, n: int, seed: int = 0, formats=ALL_FORMATS, progress: bool = False) -> list[dict]:
    """Write n reports and truth.jsonl into `out`; return the truth records."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    formats = tuple(f.strip() for f in formats if f.strip())
    unknown = set(formats) - set(ALL_FORMATS)
    if unknown:
        raise ValueError(f"unknown formats {sorted(unknown)}; choose from {ALL_FORMATS}")
    if "pdf" in formats and shutil.which("soffice") is None:
        print("soffice (LibreOffice) not found: no PDF reports", file=sys.stderr)
        formats = tuple(f for f in formats if f != "pdf")
    records, pdf_sources = [], []
    tmp = Path(tempfile.mkdtemp(prefix="scale_docx_"))
    try:
        for i in range(n):
            rep = make_report(i, seed, formats)
            path = out / f"{rep.stem}.{rep.fmt}"
            if rep.fmt == "txt":
                path.write_text(render_text(rep), encoding="utf-8")
            elif rep.fmt == "md":
                path.write_text(render_markdown(rep), encoding="utf-8")
            elif rep.fmt == "html":
                path.write_text(render_html(rep), encoding="utf-8")
            elif rep.fmt == "docx":
                write_docx(rep, path)
            else:
                src = tmp / f"{rep.stem}.docx"
                write_docx(rep, src)
                pdf_sources.append(src)
            records.append(truth_record(rep))
            if progress and (i + 1) % 100 == 0:
                print(f"{i + 1}/{n}", file=sys.stderr)
        for k in range(0, len(pdf_sources), 25):
            _to_pdf(pdf_sources[k:k + 25], out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(out / "truth.jsonl", "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return records


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for the reports and truth.jsonl")
    ap.add_argument("--n", type=int, required=True, help="number of reports")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--formats", default=",".join(ALL_FORMATS),
                    help="comma-separated subset of " + ",".join(ALL_FORMATS))
    args = ap.parse_args(argv)
    records = generate(args.out, args.n, args.seed, args.formats.split(","), progress=True)
    by_format: dict[str, int] = {}
    for r in records:
        by_format[r["format"]] = by_format.get(r["format"], 0) + 1
    print(f"{len(records)} reports in {args.out}: "
          + ", ".join(f"{k} {v}" for k, v in sorted(by_format.items())) + "; truth in truth.jsonl")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
