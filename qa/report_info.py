"""Answers about a report itself, from its metadata: 文号, publication date, the official
page, the table format, the body's region and level.

These are read from the ``reports`` row the build wrote (index.metadata), never from
the tables; a field the report does not give is said to be missing, not guessed.
"""

from __future__ import annotations

import re
from collections import Counter

from index import template as T

from .compose import Answer, Composer, years_text
from .understand import LEVEL_NAMES, ReportRef

# (cue, field): what a metadata question asks, in the order the answer gives them.
FIELDS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"文号|发文字号"), "doc_number"),
    (re.compile(r"哪天|什么时候|何时|发布(?:时间|日期)|公开日期|公布日期|成文日期|发布的|公开的|公布的|印发"), "publish_date"),
    (re.compile(r"链接|网址|原文地址|原文"), "official_url"),
    (re.compile(r"格式|模板|版本|哪一?版|哪一?种表|什么表格|哪套表|表格样式"), "template"),
    (re.compile(r"哪个(?:县|市|区|省|地方)|哪里|什么地方|所属|属于哪|下面|隶属|哪个地区"), "region"),
    (re.compile(r"级别|哪一?级|层级"), "level"),
]
_PARENT = re.compile(r"([^\W\d_在的和与及时间向对将为了是从到由经按于本该我全各]{2,4}?(?:自治州|市|州|县|区|旗))人民政府")


def asked_fields(question: str) -> list[str]:
    return [name for rx, name in FIELDS if rx.search(question)] or ["publish_date"]


def answer_metadata(c: Composer) -> Answer:
    q = c.q
    refs = _reports(c)
    if not refs:
        return c.done(f"索引中没有相应的报告。{c.nearest_hint()}")
    fields = asked_fields(q.question)
    sentences = []
    for ref in refs:
        row = c.store.report(ref.id) or {}
        said = []
        for name in fields:
            said.append(_say(c, ref, row, name))
        sentences.append(f"{c.who(ref)}报告：" + "；".join(said) + "。")
        c.cite_report(ref, 0, quote=ref.title or ref.body)
    return c.done("".join(sentences))


def _reports(c: Composer) -> list[ReportRef]:
    q = c.q
    out = []
    for body in q.bodies:
        own = c.catalog.reports_of(body)
        out += [r for r in own if r.year in q.years] if q.years else own[-1:]
    return out


def _say(c: Composer, ref: ReportRef, row, name: str) -> str:
    value = row[name] if row and name in row.keys() else None
    if name == "doc_number":
        return f"文号为 {value}" if value else "报告没有标注文号"
    if name == "publish_date":
        if not value:
            return "报告没有给出发布日期"
        y, m, d = (int(x) for x in value.split("-"))
        return f"发布日期为 {y}年{m}月{d}日（{value}）"
    if name == "official_url":
        return f"原文链接：{value}" if value else "报告没有给出原文链接"
    if name == "template":
        template = T.TEMPLATES.get(value or "")
        return f"使用{template.title}" if template else "表格格式无法判断（没有找到标准表格）"
    if name == "level":
        return f"层级为{LEVEL_NAMES.get(ref.level, ref.level or '不详')}"
    regions = [r for r in (ref.province, ref.city, ref.county) if r]
    if regions:
        return f"所属地区为{''.join(regions)}"
    parent = _parent_from_text(c, ref)
    if parent:
        return f"报告中提到的上级政府为{parent}（元数据中没有所属地区）"
    return "报告没有写明所属地区"


def _parent_from_text(c: Composer, ref: ReportRef) -> str | None:
    """The government a report names most often besides its own body (a township's
    report names its county's or city's government: 洪江市人民政府)."""
    text = "".join((s.get("text") or "") for s in c.store.sections([ref.id]))
    own = ref.short_name or ref.body
    adjacent = re.search(r"([\u4e00-\u9fff]{2,5}?(?:市|县|区|旗))" + re.escape(own), text)
    if adjacent:
        return adjacent.group(1)
    counts = Counter(m.group(1) for m in _PARENT.finditer(text) if m.group(1) not in own)
    return counts.most_common(1)[0][0] if counts else None


__all__ = ["answer_metadata", "asked_fields", "years_text"]
