"""Who issued a report, for which year, at which administrative level.

Everything is read from the report itself: its title (file metadata or first
lines), the 统计期限 sentence, the 文号 and the publish date. The year is the year
the report covers, never the publish year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .document import Document

LEVELS = ("township", "county", "city", "province", "department")

# Characters OCR commonly confuses in place names, fixed only inside a body name
# (r013: 沭阳 printed as 沐阳 throughout).
OCR_PLACE_FIXES = {"沐阳": "沭阳"}

_MUNICIPALITIES = ("北京市", "上海市", "天津市", "重庆市")
_TITLE_MARK = re.compile(r"(政府)?信息公开(工作)?(年度)?(报告|年报)")
_YEAR_IN_TITLE = re.compile(r"(20\d{2})\s*年")
_PERIOD = re.compile(r"(20\d{2})\s*年\s*1\s*月\s*1\s*日\s*(?:起)?\s*(?:至|到|—|-)\s*(20\d{2})\s*年\s*12\s*月\s*31\s*日")
_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,10}\s*[〔\[【(（]\s*(20\d{2})\s*[〕\]】)）]\s*\d{1,4}\s*号")
_PUBLISH = re.compile(r"(?:发布(?:时间|日期)|公开日期|成文日期|发文日期)\s*[:：]?\s*(20\d{2})[-年/.](\d{1,2})[-月/.](\d{1,2})")
_DATE_LINE = re.compile(r"^\s*(20\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*$")
_GOV_SUFFIXES = ("人民政府办公厅", "人民政府办公室", "人民政府", "管理委员会", "街道办事处", "办事处")
_BODY_TAIL = re.compile(
    r"([\u4e00-\u9fff（）()]{2,40}?(?:人民政府办公厅|人民政府办公室|人民政府|管理委员会|管委会|街道办事处|"
    r"[局厅委办署院]|委员会|中心|办公室))$")


@dataclass
class ReportMeta:
    title: str
    body: str  # full issuing body, e.g. 彭阳县交岔乡人民政府
    short_name: str  # e.g. 交岔乡
    level: str  # one of LEVELS
    year: int | None
    province: str | None = None
    city: str | None = None
    county: str | None = None
    doc_number: str | None = None  # 文号
    publish_date: str | None = None  # ISO date
    official_url: str | None = None  # the page the report was published on
    problems: list[str] = field(default_factory=list)

    @property
    def regions(self) -> list[str]:
        return [r for r in (self.province, self.city, self.county) if r]


_TITLE_FULL = re.compile(r"信息公开.{0,8}?(年度报告|年报|工作报告)")
_CRAWLER_FIELD = re.compile(r"^\s*(标题|题名|名称)\s*[:：]\s*")


def _clean_title(text: str) -> str:
    text = _CRAWLER_FIELD.sub("", re.sub(r"^[#\s*]+|[*\s]+$", "", text))
    text = re.split(r"[-—_|]{1,2}(?=[^\d])", text)[0]  # '…年度报告-沭阳县发改局' (site suffix)
    return re.sub(r"\s+", "", text).strip("《》")


def find_title(doc: Document) -> str:
    """The report title: file metadata if it names a report, else the first line (or
    two lines, when the title wraps) that does."""
    if doc.title and _TITLE_FULL.search(doc.title) and len(doc.title) <= 80 and _YEAR_IN_TITLE.search(doc.title):
        return _clean_title(doc.title)  # a generic '政府信息公开工作年度报告' names no one
    head = [line.text.strip() for line in doc.lines[:40] if line.text.strip()]
    for i, text in enumerate(head):
        cleaned = _clean_title(text)
        if len(cleaned) > 60 or cleaned.startswith(("根据", "本报告", "本年度报告", "按照")):
            continue
        if _TITLE_FULL.search(cleaned):
            before = _clean_title(head[i - 1]) if i else ""
            names_body = re.match(r"^[^\d]{2,}", cleaned) and not cleaned.startswith(("政府信息", "信息公开"))
            if before and len(before) <= 30 and not re.search(r"[。，；：:]$", before) and not names_body:
                return before + cleaned  # '永定区大溪乡2021年' + '政府信息公开工作年度报告'
            return cleaned
        if i + 1 < len(head) and len(cleaned) <= 40:
            joined = cleaned + _clean_title(head[i + 1])
            if _TITLE_FULL.search(joined) and len(joined) <= 60 and _YEAR_IN_TITLE.search(joined):
                return joined
    return _clean_title(doc.title or "")


def find_year(title: str, text: str) -> int | None:
    """The year covered: the 统计期限 when stated, else the year in the title."""
    period = _PERIOD.search(text)
    if period and period.group(1) == period.group(2):
        return int(period.group(1))
    match = _YEAR_IN_TITLE.search(title) or re.search(r"(20\d{2})\s*年?度?", title)
    if match:
        return int(match.group(1))
    match = re.search(r"^[#\s]*(20\d{2})\s*$", text[:500], re.M)  # a bare '# 2021' heading
    if match:
        return int(match.group(1))
    match = re.search(r"(20\d{2})\s*年(?:度)?(?:，|,|\s)*(?:我|全)", text[:3000])
    return int(match.group(1)) if match else None


def _fix_ocr(name: str) -> str:
    for wrong, right in OCR_PLACE_FIXES.items():
        name = name.replace(wrong, right)
    return name


# Abbreviations reports use for their own body in titles.
DEPARTMENT_ABBREVIATIONS = {"科委": "科学技术委员会", "发改局": "发展和改革局", "发改委": "发展和改革委员会",
                            "管委会": "管理委员会", "市府办": "市人民政府办公室"}
_NOT_PLACE = "与请向在由和对的于及将为按照经据报送是了"
_REGION = rf"[^\W\d_{_NOT_PLACE}]{{2,4}}?(?:省|自治区|市|州|盟|县|区|旗)"


def body_from_title(title: str) -> str:
    """'彭阳县交岔乡人民政府2021年政府信息公开…' -> '彭阳县交岔乡人民政府';
    '2024年上海市科委政府信息公开…' -> '上海市科委'."""
    title = re.sub(r"\s+", "", title)
    match = _YEAR_IN_TITLE.search(title)
    if match and match.start() >= 2:
        head = title[:match.start()]
    else:
        rest = title[match.end():] if match else title
        head = re.split(r"(?:度)?(?:政府)?信息公开", rest.lstrip("度"))[0]
    return re.sub(r"^关于|的$", "", head)


def find_body(title: str, text: str) -> str:
    """The issuing body as the report names it at its longest: the title's body,
    completed with the region prefix and the 人民政府/管理委员会 suffix the text gives it."""
    text = _fix_ocr(text)
    body = _fix_ocr(body_from_title(title)) or _body_from_text(text)
    for short, full in DEPARTMENT_ABBREVIATIONS.items():
        if body.endswith(short):
            body = body[: -len(short)] + full
    if not re.search(r"(人民政府|政府办公厅|政府办公室|委员会|办事处|[局厅委办署院]|中心)$", body):
        fuller = re.search(re.escape(body) + r"(人民政府|管理委员会|管委会)", text)
        if fuller:
            body += DEPARTMENT_ABBREVIATIONS.get(fuller.group(1), fuller.group(1))
        elif re.search(r"(综合实验区|新区|开发区|示范区)$", body):
            body += "管理委员会"  # zones are governed by a 管委会
        elif re.search(r"[乡镇县区市]$", body):
            body += "人民政府"  # a report named after a place is its government's
    return _complete_with_prefix(body, text)


def _body_from_text(text: str) -> str:
    """No usable title: the first '…乡/镇/县…' body named in the opening text."""
    match = re.search(rf"((?:{_REGION}){{0,2}}[^\W\d_{_NOT_PLACE}]{{2,4}}?[乡镇](?:人民政府)?)", text[:3000])
    if match:
        return match.group(1)
    match = re.search(r"([\u4e00-\u9fff]{2,20}?(?:人民政府|管理委员会|局|委员会))", text[:3000])
    return match.group(1) if match else ""


def _complete_with_prefix(body: str, text: str) -> str:
    """The longest 'region + body' spelled out in the text, e.g. 淮安市 + 洪泽区人民政府."""
    if not body:
        return body
    best = body
    for match in re.finditer(rf"((?:{_REGION}){{1,2}}){re.escape(body)}", text):
        candidate = match.group(1) + body
        if len(candidate) > len(best):
            best = candidate
    return best


def level_of(body: str) -> str:
    name = re.sub(r"（.*?）|\(.*?\)", "", body)
    government = re.sub(r"(人民政府办公厅|人民政府办公室|人民政府|管理委员会|管委会)$", "", name)
    if government == name:
        # Not a government or its general office: a functional department (局/委/办…),
        # unless it is a township's 街道办事处.
        return "township" if name.endswith(("街道办事处", "办事处", "街道")) else "department"
    if re.search(r"(综合实验区|新区|经济技术开发区|高新技术产业开发区)$", government):
        return "city" if not re.search(r"[县区]", government[:-5]) else "county"
    if government.endswith(("乡", "镇", "街道")):
        return "township"
    if government.endswith(("省", "自治区")) or government in _MUNICIPALITIES:
        return "province"
    if government.endswith(("县", "旗", "区")) or re.search(r"市.+市$", government):
        return "county"
    if government.endswith(("市", "州", "盟")):
        return "city"
    return "department"


def short_name_of(body: str) -> str:
    """'彭阳县交岔乡人民政府' -> '交岔乡'; '淮安市人民政府' -> '淮安市'; departments keep
    their own name without the region chain ('沭阳县发展和改革局' -> '发展和改革局')."""
    name = re.sub(r"（.*?）|\(.*?\)", "", body)
    for suffix in ("人民政府办公厅", "人民政府办公室"):
        if name.endswith(suffix):
            return name  # the general office is known by its full name
    stem = re.sub(r"(人民政府|管理委员会|管委会|街道办事处)$", "", name)
    if stem.endswith("街道") or name.endswith("街道办事处"):
        stem = stem if stem.endswith("街道") else stem + "街道"
    parts = re.findall(r"[\u4e00-\u9fff]{2,6}?(?:省|自治区|市|州|盟|县|旗|区|乡|镇|街道)", stem)
    if parts and "".join(parts) == stem:
        return parts[-1]
    if stem != name:
        return stem
    return name


def regions_of(body: str, text: str) -> tuple[str | None, str | None, str | None]:
    """Province, city and county named in the body (or, for a province's bodies, itself)."""
    name = re.sub(r"（.*?）|\(.*?\)", "", body)
    province = re.match(r"^([\u4e00-\u9fff]{2,7}?(?:省|自治区))", name)
    municipality = next((m for m in _MUNICIPALITIES if name.startswith(m)), None)
    rest = name[province.end():] if province else name
    city = re.match(r"^([\u4e00-\u9fff]{2,6}?(?:市|州|盟))", rest)
    rest2 = rest[city.end():] if city else rest
    county = re.match(r"^([\u4e00-\u9fff]{2,6}?(?:县|旗|区|市))", rest2)
    if municipality:
        return municipality, None, county.group(1) if county else None
    return (province.group(1) if province else None,
            city.group(1) if city else None,
            county.group(1) if county else None)


def _find_doc_number(doc: Document):
    """The report's own 文号: a line of its own near the top, or a crawler's 文号 field
    (文号 cited inside sentences belong to other documents)."""
    field_value = doc.source_fields.get("文号", "").strip()
    if field_value and _DOC_NUMBER.fullmatch(field_value):
        return _DOC_NUMBER.fullmatch(field_value)
    for line in doc.lines[:15]:
        text = re.sub(r"^\s*文号\s*[:：]\s*", "", line.text.strip())
        match = _DOC_NUMBER.fullmatch(text)
        if match:
            return match
    return None


def extract_metadata(doc: Document) -> ReportMeta:
    text = doc.text
    title = find_title(doc)
    problems = []
    year = find_year(title, text)
    if year is None:
        problems.append("year not found (no year in the title or 统计期限)")
    body = find_body(title, text)
    if not body:
        problems.append("issuing body not found")
    number = _find_doc_number(doc)
    fields = "\n".join(f"{k}: {v}" for k, v in doc.source_fields.items())
    published = _PUBLISH.search(fields) or _PUBLISH.search(text[:5000])
    if not published:
        for line in reversed(doc.lines[-15:]):
            published = _DATE_LINE.match(line.text)
            if published:
                break
    province, city, county = regions_of(body, text)
    return ReportMeta(
        title=_fix_ocr(title) or body,
        body=body,
        short_name=short_name_of(body),
        level=level_of(body),
        year=year,
        province=province,
        city=city,
        county=county,
        doc_number=re.sub(r"\s+", "", number.group(0)) if number else None,
        publish_date="%s-%02d-%02d" % (published.group(1), int(published.group(2)), int(published.group(3)))
        if published else None,
        problems=problems,
        official_url=_find_official_url(doc),
    )


_URL = re.compile(r"https?://[^\s<>\"'）)，。；]+")


def _find_official_url(doc: Document) -> str | None:
    """The page the report was published on: a crawler's 原文链接/来源 field, else a
    '原文链接：http…' line near the top of the document."""
    for key in ("原文链接", "原文地址", "来源链接", "链接", "url", "URL"):
        m = _URL.search(doc.source_fields.get(key, ""))
        if m:
            return m.group(0)
    for line in doc.lines[:20]:
        if re.search(r"原文链接|原文地址|来源", line.text):
            m = _URL.search(line.text)
            if m:
                return m.group(0)
    return None
