"""Split a report's lines into the six standard sections.

一、总体情况 / 二、主动公开政府信息情况 / 三、收到和处理政府信息公开申请情况 /
四、政府信息公开行政复议、行政诉讼情况 / 五、存在的主要问题及改进情况 / 六、其他需要报告的事项

Headings vary (markdown '#', bold '**', '一.' or '一 ' numbering, extra words, typos
like 行政法复议) and one is sometimes missing (a report may go straight from section
四 to '（一）存在的主要问题'). Tables also contain lines that look like headings
('一、本年新收…', '四、结转下年度继续办理'), so a heading must name its section's topic,
and section numbers only go forward. Text before section 一 (title, preamble) is
kept as section 0.

Non-standard layouts (the numeral is never trusted, the topic decides):
- an extra numbered section with a topic of its own ('二、政务公开工作主要任务落实情况')
  opens no section: its text stays with the standard section before it, and the
  standard sections after it are found by topic however they are numbered (一、三…七);
- an extra section on 信息处理费 ('五、信息处理费收取情况', a table) is section 六 when
  the report has no 其他需要报告的事项 heading, since 六 is where the template reports
  信息处理费; sections are then returned in printed order (… 4, 6, 5);
- a numeral without its '、' ('一总体情况2020年…') is a heading when the standard title
  follows at once;
- a lost heading is found by its first sub-heading, also when a year opens it
  ('（一）2024 年工作中存在问题的改进情况').
A section the report does not print at all stays missing (parse lists it in the
report's problems): nothing is invented for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .document import Line
from .template import STANDARD_TITLES


# Phrases that identify each section's heading. A heading is a line opening with a
# Chinese numeral ('三、', '## 三.', '**三、') whose first words name the topic; the
# numeral itself is not trusted (reports renumber, e.g. 其他事项 printed as 五、).
# Strong phrases are the standard titles; weak ones are variants, used only to
# fill a section that has no strong heading.
_STRONG = {
    1: ("总体情况", "总体工作情况", "总体概况"),
    2: ("主动公开政府信息", "主动公开情况"),
    3: ("收到和处理政府信息公开申请", "收到和处理政府信息公开", "政府信息公开申请办理情况"),
    4: ("行政复议", "行政诉讼", "行政法复议", "被申请复议"),
    5: ("存在的主要问题", "主要问题及改进", "存在问题及改进"),
    6: ("其他需要报告",),
}
_WEAK = {
    1: ("概述", "基本情况"),
    2: ("主动公开",),
    3: ("依申请公开", "申请情况", "收到和处理"),
    4: ("复议", "诉讼"),
    5: ("存在问题", "主要问题", "改进情况", "改进措施"),
    6: ("其他事项", "其他需报告"),
}
_HEADING = re.compile(r"^[#\s*]*[一二三四五六七八九十]\s*([、.．,，:：\s]\s*[*\s]*)?(.*)$")
# A numeral printed without its '、' ('一总体情况2020年…') is a heading only when the
# standard title follows at once.
_BARE_TITLES = ("总体情况", "主动公开政府信息", "收到和处理政府信息公开申请", "政府信息公开行政复议",
                "存在的主要问题", "其他需要报告")
# A numbered heading on 信息处理费 (a table some reports insert as '五、信息处理费收取情况')
# holds what the template's section 六 reports: it stands for 六 when the report has no
# 其他需要报告的事项 heading. Any other extra heading ('二、政务公开工作主要任务落实情况')
# opens no section: its text stays with the standard section before it.
_FEE_TOPIC = ("信息处理费",)
# '（一）2024 年工作中存在问题的改进情况': a year phrase before a sub-heading's topic
_YEAR_LEAD = re.compile(r"^\d{4}年度?(工作中|工作|度)?")
# A heading's topic must appear within this many characters of its start.
_TOPIC_WINDOW = 24


@dataclass
class Section:
    number: int  # 0 = title and preamble, 1-6 = the standard sections
    title: str  # the heading as printed (or the standard title when it was missing)
    text: str
    line_start: int
    line_end: int
    page_start: int | None = None
    page_end: int | None = None


def _topic(head: str, phrases: dict[int, tuple[str, ...]]) -> int | None:
    head = re.sub(r"[\s*#]", "", head)[:_TOPIC_WINDOW]
    for number, words in phrases.items():
        if any(word in head for word in words):
            return number
    return None


def _unnumbered_heading(text: str, number: int) -> bool:
    """'（一）存在的主要问题' or '存在的主要问题及改进情况' standing for a missing heading."""
    head = re.sub(r"^[#\s*]*([（(][一二三四五六][）)])?", "", text)
    head = _YEAR_LEAD.sub("", re.sub(r"\s", "", head[:20]))[:12]
    return any(head.startswith(topic) for topic in _STRONG[number] + _WEAK[number])


def find_headings(lines: list[Line]) -> dict[int, int]:
    """Map section number -> index in `lines` where it starts."""
    strong, weak, fee = [], [], []
    for i, line in enumerate(lines):
        match = _HEADING.match(line.text.strip())
        if not match:
            continue
        head = match.group(2)
        if match.group(1) is None and not re.sub(r"[\s*#]", "", head).startswith(_BARE_TITLES):
            continue
        if (number := _topic(head, _STRONG)) is not None:
            strong.append((i, number))
        elif (number := _topic(head, _WEAK)) is not None:
            weak.append((i, number))
        elif re.sub(r"[\s*#]", "", head).startswith(_FEE_TOPIC):
            fee.append(i)
    starts: dict[int, int] = {}
    last = 0
    for i, number in strong:
        if number > last:
            starts[number] = i
            last = number

    def window(number: int) -> range:
        lo = max([starts[n] + 1 for n in starts if n < number], default=0)
        hi = min([starts[n] for n in starts if n > number], default=len(lines))
        return range(lo, hi)

    for number in range(1, 7):
        if number in starts:
            continue
        span = window(number)
        found = next((i for i, n in weak if n == number and i in span), None)
        if found is None:
            found = next((i for i in span if _unnumbered_heading(lines[i].text.strip(), number)), None)
        if found is not None:
            starts[number] = found
    if 6 not in starts and 4 in starts:
        found = next((i for i in fee if i > starts[4] and i not in starts.values()), None)
        if found is not None:
            starts[6] = found
    return dict(sorted(starts.items()))


_SENTENCE_END = tuple("。！？；：:!?;”」）)】") + ("报告", "情况", "事项")
_STARTS_BLOCK = re.compile(r"^\s*(#|\*\*|[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[)）]|\d+[、.．]|[-•·])")


def _prose_text(chunk: list[Line]) -> str:
    """The section's text with hard-wrapped prose lines joined (PDF-to-markdown and
    OCR text wrap mid-sentence: '…（以' / '下简称《条例》）…'). Table-like lines
    (tabs, pipes, lone numbers) are left as they are."""
    out: list[str] = []
    for line in chunk:
        text = line.text.rstrip()
        prev = out[-1] if out else ""
        if (prev and text.strip() and len(prev) >= 15 and not prev.endswith(_SENTENCE_END)
                and "\t" not in prev + text and "|" not in prev + text
                and not _STARTS_BLOCK.match(text) and not re.fullmatch(r"[\d\s.,%-]+", text)):
            out[-1] = prev + text.strip()
        else:
            out.append(text)
    return "\n".join(out).strip()


def split_sections(lines: list[Line]) -> list[Section]:
    """The report's sections in order; section 0 holds whatever precedes section 一."""
    starts = find_headings(lines)
    # in line order: a 信息处理费 section standing for 六 may come before 五
    bounds = [(0, 0)] + sorted(starts.items(), key=lambda item: item[1])
    sections = []
    for k, (number, start) in enumerate(bounds):
        end = bounds[k + 1][1] if k + 1 < len(bounds) else len(lines)
        chunk = lines[start:end]
        if not chunk:
            continue
        if number == 0:
            title = STANDARD_TITLES[0]
        else:
            title = re.sub(r"^[#\s*]+|[*\s]+$", "", chunk[0].text.strip())[:60]
        pages = [line.page for line in chunk if line.page is not None]
        sections.append(Section(
            number=number,
            title=title,
            text=_prose_text(chunk),
            line_start=chunk[0].lineno,
            line_end=chunk[-1].lineno,
            page_start=min(pages) if pages else None,
            page_end=max(pages) if pages else None,
        ))
    return [s for s in sections if s.text]
