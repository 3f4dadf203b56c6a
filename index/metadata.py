"""Who issued a report, for which year, at which administrative level.

Everything is read from the report itself: its title (file metadata or first
lines), the 统计期限 sentence, the 文号 and the publish date. The year is the year
the report covers, never the publish year.

Body names (``body_from_title``): a title names its body before the year, before
关于 or before 政府信息公开 ('…管理局关于报送2020年度…年度报告的函' → '…管理局'), or after
a leading year ('2024年上海市科委政府信息公开…' → '上海市科委'). Spaces, zero-width
characters, a crawler's '标题:' field, 《》 and letter wording (关于, 报送, 印发, 的函) are
never part of a name.

Levels (``level_of``): ``LEVEL_RULES`` is one ordered table of (level, pattern, why);
the first row whose pattern matches the body's name (parentheticals removed) decides,
so order matters: 片区管理局 is a township before 局 would make it a department, and
上海市人民政府 a province before 市人民政府 would make it a city.

Regions (``regions_of``): the place names at the front of a body (省, 自治区, 市, 州,
盟, 地区, 综合实验区, 新区, 县, 旗, 区) fill the province, city and county slots by
the same table: 淮安市洪泽区人民政府 → city 淮安市, county 洪泽区;
平潭综合实验区君山片区管理局 → city 平潭综合实验区.

Overrides (``read_overrides``): what rules cannot know (a county-level 市 named
without its prefecture, which county a township is in) staff write in a CSV file that
the build applies to what was read (``scripts/build_index.py --metadata FILE.csv``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import NianbaoError
from .document import Document

LEVELS = ("township", "county", "city", "province", "department")

# Characters OCR commonly confuses in place names, fixed only inside a body name
# (r013: 沭阳 printed as 沐阳 throughout).
OCR_PLACE_FIXES = {"沐阳": "沭阳"}

_TITLE_MARK = re.compile(r"(政府)?信息公开(工作)?(年度)?(报告|年报)")
_YEAR_IN_TITLE = re.compile(r"(20\d{2})\s*年")
_PERIOD = re.compile(r"(20\d{2})\s*年\s*1\s*月\s*1\s*日\s*(?:起)?\s*(?:至|到|—|-)\s*(20\d{2})\s*年\s*12\s*月\s*31\s*日")
_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,10}\s*[〔\[【(（]\s*(20\d{2})\s*[〕\]】)）]\s*\d{1,4}\s*号")
_PUBLISH = re.compile(r"(?:发布(?:时间|日期)|公开日期|成文日期|发文日期)\s*[:：]?\s*(20\d{2})[-年/.](\d{1,2})[-月/.](\d{1,2})")
_DATE_LINE = re.compile(r"^\s*(20\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*$")


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
_FIELD_NAMES = "标题|题名|名称|文件名称|文章标题"
_CRAWLER_FIELD = re.compile(rf"^\s*(?:[【\[](?:{_FIELD_NAMES})[】\]]\s*[:：]?|(?:{_FIELD_NAMES})\s*[:：])\s*")
# Characters that print as nothing or as a space: never part of a name.
_INVISIBLE = re.compile(r"[\s\u200b-\u200f\u2028-\u202f\u205f-\u2064\u3000\ufeff\xa0]+")
_CN_DIGITS = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")} | {"零": "0", "○": "0", "Ｏ": "0", "O": "0"}
_CN_YEAR = re.compile(r"二[〇零○ＯO][一二三四五六七八九〇零○ＯO]{2}(?=\s*年)")


def plain_title(text: str) -> str:
    """A title with its invisible characters and spaces removed and a year written in
    Chinese numerals ('二〇二一年') in digits."""
    text = _CN_YEAR.sub(lambda m: "".join(_CN_DIGITS[c] for c in m.group(0)), text)
    return _INVISIBLE.sub("", text)


def _clean_title(text: str) -> str:
    text = _CRAWLER_FIELD.sub("", re.sub(r"^[#\s*]+|[*\s]+$", "", text))
    text = re.split(r"[-—_|]{1,2}(?=[^\d])", text)[0]  # '…年度报告-沭阳县发改局' (site suffix)
    return plain_title(text).strip("《》")


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
# A zone's own name is two characters (平潭综合实验区, 雄安新区): a longer run before
# 综合实验区 is page text ('…信息公开平潭综合实验区').
_REGION = rf"(?:[^\W\d_{_NOT_PLACE}]{{2}}(?:综合实验区|新区)|[^\W\d_{_NOT_PLACE}]{{2,4}}?(?:省|自治区|市|州|盟|县|区|旗))"


# Where a title's body name ends: its year, letter wording, or the report's own name.
_NAME_END = re.compile(r"(?:20\d{2}\s*年|关于|(?:政府|政务)?信息公开)")
# Letter wording around a body name ('关于报送…的函', '…关于印发…的通知').
_LETTER_WORDS = r"(?:关于|报送|上报|呈报|提交|印发|转发|公布|发布|公开|的|之)"
_LEADING_LETTER = re.compile(rf"^(?:{_LETTER_WORDS})+")
_TRAILING_LETTER = re.compile(rf"(?:{_LETTER_WORDS}|[（(【\[《:：，,、])+$")


def body_from_title(title: str) -> str:
    """'彭阳县交岔乡人民政府2021年政府信息公开…' -> '彭阳县交岔乡人民政府';
    '2024年上海市科委政府信息公开…' -> '上海市科委';
    '平潭综合实验区海坛片区管理局 关于2021年度…' and
    '…管理局关于报送2020年度…年度报告的函' -> the 管理局, never '…关于' / '…关于报送'."""
    title = _LEADING_LETTER.sub("", plain_title(_CRAWLER_FIELD.sub("", title)).strip("《》"))
    end = _NAME_END.search(title)
    head = title[:end.start()] if end else title
    if len(_TRAILING_LETTER.sub("", head)) < 2 and end:
        # The year comes first: the name follows it ('2021年度XX县…').
        rest = _LEADING_LETTER.sub("", re.sub(r"^20\d{2}年度?", "", title[end.start():]))
        following = _NAME_END.search(rest)
        head = rest[:following.start()] if following else ""
    head = _TRAILING_LETTER.sub("", head)
    if head.endswith("人民"):
        head += "政府"  # '…县人民政府信息公开…' was cut inside 人民政府
    return head


def find_body(title: str, text: str, fields: dict[str, str] | None = None) -> str:
    """The issuing body as the report names it at its longest: the title's body,
    completed with the region prefix and the 人民政府/管理委员会 suffix the text gives it.
    ``fields`` are a crawler's header fields: its 发布机构 spells out a body the title
    only abbreviates, and stands in when the title names no body."""
    text = _fix_ocr(text)
    body = _fix_ocr(body_from_title(title))
    publisher = plain_title((fields or {}).get("发布机构", ""))
    if publisher and (not body or _spells_out(publisher, body)):
        body = publisher
    body = body or _body_from_text(text)
    for short, full in DEPARTMENT_ABBREVIATIONS.items():
        if body.endswith(short):
            body = body[: -len(short)] + full
    if not re.search(r"(人民政府|政府办公厅|政府办公室|委员会|办事处|[局厅委办署院]|中心)$", body):
        fuller = re.search(re.escape(body) + r"(人民政府|管理委员会|管委会)", text)
        if body.endswith("片区") and re.search(re.escape(body) + "管理局", text):
            body += "管理局"  # Pingtan's 片区 are governed by a 管理局
        elif fuller:
            body += DEPARTMENT_ABBREVIATIONS.get(fuller.group(1), fuller.group(1))
        elif re.search(r"(综合实验区|新区|开发区|示范区)$", body):
            body += "管理委员会"  # zones are governed by a 管委会
        elif re.search(r"(?<!片)[乡镇县区市]$", body):
            body += "人民政府"  # a report named after a place is its government's
    return _TRAILING_LETTER.sub("", _complete_with_prefix(body, text))


def _spells_out(full: str, body: str) -> bool:
    """Whether ``full`` is ``body`` with a region in front and/or a governing suffix
    behind ('平潭综合实验区君山片区管理局' spells out '君山片区'), not another body."""
    match = re.fullmatch(rf"(.*?){re.escape(body)}(人民政府|管理委员会|管委会|管理局|街道办事处|办事处)?", full)
    return bool(match and full != body and (not match.group(1) or re.search(r"(省|自治区|市|州|盟|县|旗|区)$",
                                                                                 match.group(1))))


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


def _name(body: str) -> str:
    """A body's name without parentheticals and invisible characters."""
    return plain_title(re.sub(r"（.*?）|\(.*?\)", "", body))


_PROVINCE = r"(?:[^省市县区]{2,7}?(?:省|自治区)|北京市|上海市|天津市|重庆市)"
_GOV = r"(?:人民政府|政府)"
_ZONE = r"(?:综合实验区|新区|开发区|高新区|园区|实验区|示范区|试验区|保税区|合作区)"

# The level of a body from its name, one row per kind of body: (level, pattern searched
# in the name without parentheticals, why). level_of() returns the level of the FIRST
# row that matches, so a specific row comes before the general one it would lose to.
# Names no row matches are departments. What rules cannot know goes in the staff
# override file (read_overrides).
LEVEL_RULES: tuple[tuple[str, str, str], ...] = (
    ("department", r"驻.{2,12}办事处$", "a government's office in another city, not a 街道办事处"),
    ("township", rf"(?:乡|镇|苏木|街道){_GOV}?$", "乡, 镇, 苏木 and their governments; 街道"),
    ("township", r"(?:乡|镇|街道)(?:办事处|办|管理委员会|管委会|工作委员会|工委)$", "街道办事处 and 乡镇 offices"),
    ("township", r"办事处$", "other 办事处 (街道 left out of the name)"),
    ("township", rf"片区(?:管理局|管理委员会|管委会|管理处|{_GOV})?$",
     "片区管理局: Pingtan's 片区 took over the former 乡镇 governments' work"),
    ("province", rf"^{_PROVINCE}{_GOV}?(?:办公厅|办公室)?$",
     "a province, autonomous region or municipality, its government and its general office"),
    ("city", rf"^[^市县旗]*(?:综合实验区|新区)(?:管理委员会|管委会|{_GOV})?$",
     "a zone directly under a province (平潭综合实验区管委会)"),
    ("county", rf"{_ZONE}(?:管理委员会|管委会|{_GOV})?$", "a zone inside a city or county"),
    ("county", rf"(?:市|州|盟|地区).+(?:市|县|旗|(?<!地)区){_GOV}?(?:办公室)?$",
     "a 县, 区, 旗 or 县级市 named under its prefecture (苏州市昆山市人民政府)"),
    ("county", rf"(?:县|旗|(?<!地)区){_GOV}?(?:办公室)?$", "县, 旗, 区 and their governments"),
    ("city", rf"(?:市|州|盟|地区){_GOV}?(?:办公室)?$", "地级市, 州, 盟, 地区 and their governments"),
    ("city", r"(?:行政公署|行署)$", "a prefecture's 行政公署"),
    ("department", r"", "any other body: 局, 委, 办, 中心, 厅, 站 …"),
)
_LEVEL_PATTERNS = [(level, re.compile(pattern)) for level, pattern, _ in LEVEL_RULES]


def level_of(body: str) -> str:
    """The level of the first LEVEL_RULES row that matches the body's name."""
    name = _name(body)
    for level, pattern in _LEVEL_PATTERNS:
        if pattern.search(name):
            return level
    return "department"


def short_name_of(body: str) -> str:
    """'彭阳县交岔乡人民政府' -> '交岔乡'; '淮安市人民政府' -> '淮安市';
    '平潭综合实验区君山片区管理局' -> '君山片区'; a government's general office and a
    department keep their full name ('沭阳县发展和改革局')."""
    name = _name(body)
    for suffix in ("人民政府办公厅", "人民政府办公室"):
        if name.endswith(suffix):
            return name  # the general office is known by its full name
    stem = re.sub(r"(人民政府|管理委员会|管委会|街道办事处|(?<=片区)(?:管理局|管理委员会|管委会|管理处))$", "", name)
    if stem.endswith("街道") or name.endswith("街道办事处"):
        stem = stem if stem.endswith("街道") else stem + "街道"
    parts = re.findall(r"[\u4e00-\u9fff]{2,6}?(?:省|自治区|市|州|盟|县|旗|片区|区|乡|镇|街道)", stem)
    if parts and "".join(parts) == stem:
        return parts[-1]
    if stem != name:
        return stem
    return name


# A place at the front of a body's name: a province, then cities, zones, counties.
_PLACE = re.compile(rf"^{_PROVINCE}|^[^\W\d_]{{2,8}}?(?:{_ZONE}|市|州|盟|地区|县|旗|(?<![片社])区)")
_SLOTS = ("province", "city", "county")


def region_level(chain: str) -> str:
    """The level of the place a chain of place names ends with ('淮安市洪泽区' → county),
    by LEVEL_RULES as if it were that place's government."""
    return level_of(chain if re.search(f"{_ZONE}$", chain) else chain + "人民政府")


def regions_of(body: str) -> tuple[str | None, str | None, str | None]:
    """Province, city and county named at the front of the body, each put in its slot
    by LEVEL_RULES: '淮安市洪泽区人民政府' → (None, 淮安市, 洪泽区); '上海市科学技术委员会'
    → (上海市, None, None); '平潭综合实验区君山片区管理局' → (None, 平潭综合实验区, None)."""
    name = _name(body)
    found: dict[str, str] = {}
    chain, rest, last = "", name, -1
    while True:
        match = _PLACE.search(rest)
        if not match:
            break
        chain += match.group(0)
        rest = rest[match.end():]
        level = region_level(chain)
        if level not in _SLOTS:
            break
        slot = max(_SLOTS.index(level), last + 1)  # a 市 under a 市 is a county-level city
        if slot >= len(_SLOTS):
            break
        found[_SLOTS[slot]] = match.group(0)
        last = slot
    return found.get("province"), found.get("city"), found.get("county")


def _find_doc_number(doc: Document, title: str = ""):
    """The report's own 文号: a line of its own near the top, a crawler's 文号 field, or
    a 文号 standing right before the report's title (a web page prints it above the
    heading: '岚经发〔2021〕17号 平潭综合实验区经济发展局2020年…'). 文号 cited inside
    sentences belong to other documents."""
    field_value = doc.source_fields.get("文号", "").strip()
    if field_value and _DOC_NUMBER.fullmatch(field_value):
        return _DOC_NUMBER.fullmatch(field_value)
    for line in doc.lines[:15]:
        text = re.sub(r"^\s*文号\s*[:：]\s*", "", line.text.strip())
        match = _DOC_NUMBER.fullmatch(text)
        if match:
            return match
    head = re.sub(r"\s+", "", title)[:6]
    if len(head) >= 4:
        opening = re.sub(r"[ \t\u3000]+", "", doc.text[:4000])
        for match in _DOC_NUMBER.finditer(opening):
            if opening[match.end():match.end() + len(head)] == head:
                return match
    return None


def extract_metadata(doc: Document) -> ReportMeta:
    text = doc.text
    title = find_title(doc)
    problems = []
    year = find_year(title, text)
    if year is None:
        problems.append("year not found (no year in the title or 统计期限)")
    body = find_body(title, text, doc.source_fields)
    if not body:
        problems.append("issuing body not found")
    number = _find_doc_number(doc, title)
    fields = "\n".join(f"{k}: {v}" for k, v in doc.source_fields.items())
    published = _PUBLISH.search(fields) or _PUBLISH.search(text[:5000])
    if not published:
        for line in reversed(doc.lines[-15:]):
            published = _DATE_LINE.match(line.text)
            if published:
                break
    province, city, county = regions_of(body)
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


# --- Staff overrides -------------------------------------------------------------------

OVERRIDE_COLUMNS = ("file", "body", "short_name", "level", "region", "parent_region")
# What an override can change, as ReportMeta fields (region/parent_region fill the
# province/city/county slot their name belongs to).
OVERRIDDEN_FIELDS = ("body", "short_name", "level", "province", "city", "county")


class MetadataFileError(NianbaoError, ValueError):
    """A staff metadata file that cannot be used; the message names the file, the line
    and the allowed values."""


@dataclass(frozen=True)
class Override:
    """One row of the staff file: a report's file, or a body as read, and what to set."""
    line: int
    file: str | None = None
    body: str | None = None
    short_name: str | None = None
    level: str | None = None
    slots: tuple[tuple[str, str], ...] = ()  # (province/city/county, name) from region/parent_region

    def describe(self) -> str:
        return f"line {self.line} ({'file ' + self.file if self.file else 'body ' + (self.body or '')})"


def _same_file(row_file: str, source_file: str) -> bool:
    source = source_file.replace("\\", "/")
    return row_file.replace("\\", "/") in (source, source.rsplit("/", 1)[-1])


@dataclass
class Overrides:
    """The rows of a staff metadata file (read_overrides). A row with a ``file`` matches
    that report (its path under the input folder, or its file name) and may rename its
    body; a row without one matches every report whose body was read as its ``body``.
    A report's body rows apply first, then its file row."""
    path: str
    sha256: str
    rows: list[Override]

    def file_row(self, source_file: str) -> Override | None:
        return next((r for r in self.rows if r.file and _same_file(r.file, source_file)), None)

    def body_rows(self, *bodies: str) -> list[Override]:
        names = {_name(b) for b in bodies if b}
        return [r for r in self.rows if not r.file and _name(r.body or "") in names]

    def matches(self, source_file: str, body: str) -> bool:
        return bool(self.file_row(source_file) or self.body_rows(body))

    def apply(self, meta: ReportMeta, source_file: str) -> dict[str, list]:
        """Set what the rows matching this report give; return {field: [read, set]}
        for each field that changed."""
        read = {f: getattr(meta, f) for f in OVERRIDDEN_FIELDS}
        file_row = self.file_row(source_file)
        if file_row and file_row.body:
            # A renamed body: its short name, level and regions follow the new name
            # unless the row gives them too.
            meta.body = file_row.body
            meta.short_name, meta.level = short_name_of(meta.body), level_of(meta.body)
            meta.province, meta.city, meta.county = regions_of(meta.body)
        for row in self.body_rows(read["body"], meta.body) + ([file_row] if file_row else []):
            meta.short_name = row.short_name or meta.short_name
            meta.level = row.level or meta.level
            for slot, name in row.slots:
                setattr(meta, slot, name)
        return {f: [read[f], getattr(meta, f)] for f in OVERRIDDEN_FIELDS if read[f] != getattr(meta, f)}

    def unmatched(self, source_files: set[str], bodies: set[str]) -> list[Override]:
        """Rows that match no report: a file not in the index, a body no report has."""
        names = {_name(b) for b in bodies if b}
        return [r for r in self.rows
                if (r.file and not any(_same_file(r.file, s) for s in source_files))
                or (not r.file and _name(r.body or "") not in names)]


def _region_slots(region: str, parent: str, where: str) -> tuple[tuple[str, str], ...]:
    """The province/city/county slots a row's region and parent region fill. The parent
    sits above the region: a region whose name reads as the parent's level moves one
    slot down (昆山市 under 苏州市 is a county-level city)."""
    slots: list[tuple[str, str]] = []
    above = -1
    for column, name in (("parent_region", parent), ("region", region)):
        if not name:
            continue
        level = region_level(_name(name))
        if level not in _SLOTS:
            raise MetadataFileError(f"{where}: {column} {name!r} is not a place name ending in 省, 自治区, 市, 州, "
                                    f"盟, 地区, 县, 旗, 区 or a zone (综合实验区, 新区, 开发区 …)")
        slot = max(_SLOTS.index(level), above + 1)
        if slot >= len(_SLOTS):
            raise MetadataFileError(f"{where}: region {name!r} cannot sit below parent_region {parent!r} "
                                    f"(a region is a province, city or county)")
        slots.append((_SLOTS[slot], _name(name)))
        above = slot
    return tuple(slots)


def _decode(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # gb18030: a CSV saved by Excel on Chinese Windows
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise MetadataFileError(f"metadata file {path}: not UTF-8 or GB18030 text")


def read_overrides(path: str | Path) -> Overrides:
    """Read and check a staff metadata file (CSV, header row, columns OVERRIDE_COLUMNS,
    empty cells change nothing). Raises MetadataFileError naming the first problem."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise MetadataFileError(f"metadata file {path}: cannot read it ({error.strerror or error})") from None
    text = _decode(data, path)
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter="\t" if "\t" in first and "," not in first else ",")
    header = [h.strip() for h in next(reader, [])]
    allowed = ", ".join(OVERRIDE_COLUMNS)
    if not any(header):
        raise MetadataFileError(f"metadata file {path} is empty: it needs a header row with columns {allowed}")
    unknown = [h for h in header if h not in OVERRIDE_COLUMNS]
    if unknown:
        raise MetadataFileError(f"metadata file {path}: unknown column {', '.join(map(repr, unknown))}; "
                                f"allowed columns: {allowed}")
    if len(set(header)) < len(header):
        raise MetadataFileError(f"metadata file {path}: a column is named twice in {header}")
    if "file" not in header and "body" not in header:
        raise MetadataFileError(f"metadata file {path}: needs a 'file' or a 'body' column to say which reports "
                                f"a row is for (allowed columns: {allowed})")
    rows: list[Override] = []
    seen: dict[tuple[str, str], int] = {}
    for cells in reader:
        where = f"metadata file {path}, line {reader.line_num}"
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            raise MetadataFileError(f"{where}: {len(cells)} cells but the header has {len(header)} columns")
        values = {h: c.strip() if h in ("file", "level") else plain_title(c) for h, c in zip(header, cells)}
        if not any(values.values()):
            continue  # a blank line
        file, body, level = values.get("file"), values.get("body"), values.get("level")
        if not file and not body:
            raise MetadataFileError(f"{where}: give the report's file or its body as read")
        if level and level not in LEVELS:
            raise MetadataFileError(f"{where}: level {level!r} is not one of: {', '.join(LEVELS)}")
        row = Override(line=reader.line_num, file=file or None, body=body or None,
                       short_name=values.get("short_name") or None, level=level or None,
                       slots=_region_slots(values.get("region", ""), values.get("parent_region", ""), where))
        if not file and not (row.short_name or row.level or row.slots):
            raise MetadataFileError(f"{where}: the row for body {body!r} sets nothing (give short_name, level, "
                                    f"region or parent_region; to rename a body, give its file)")
        key = ("file", file) if file else ("body", _name(body))
        if key in seen:
            raise MetadataFileError(f"{where}: {key[0]} {key[1]!r} is already on line {seen[key]}")
        seen[key] = reader.line_num
        rows.append(row)
    return Overrides(path=str(path), sha256=hashlib.sha256(data).hexdigest(), rows=rows)
