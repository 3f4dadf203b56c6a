"""The parser's notes on a report (``reports.problems``, written in English by index/) in
Chinese a citizen understands: one sentence per note.

    >>> note_in_chinese("row 主动公开|规范性文件: 10 readings of '222233'")
    '表二“规范性文件”一行的数字印成了连在一起的“222233”，有 10 种拆分读法，无法确定，这一行的数字标为“读数不确定”。'

Every kind of note index/ writes has a pattern here (index/metadata.py, index/parse.py,
index/tables.py: grep ``problems.append``); a note of a kind not listed is shown with a
general sentence, never in English.
"""

from __future__ import annotations

import re

from index import template as T

TABLE_NAMES = {T.ACTIVE: "表二（主动公开）", T.APPLICATION: "表三（依申请公开）", T.REVIEW: "表四（复议诉讼）"}
SHORT_TABLE = {T.ACTIVE: "表二", T.APPLICATION: "表三", T.REVIEW: "表四"}


def _row(table: str, key: str) -> str:
    return f"{SHORT_TABLE.get(table, table)}“{T.printed_label(key)}”一行"


def _raw(raw: str) -> str:
    return f"（原文“{raw}”）" if raw else ""


def _pages(text: str) -> str:
    return "、".join(p.strip() for p in text.split(",") if p.strip())


# (pattern, function of the match -> sentence), in the order index/ can write them.
_NOTES: list[tuple[re.Pattern, object]] = [
    (re.compile(r"^row (?P<t>[^|]+)\|(?P<k>[^:]+): (?P<n>\d+) readings of '(?P<raw>.*)'$"),
     lambda m: f"{_row(m['t'], m['k'])}的数字印成了连在一起的“{m['raw']}”，有 {m['n']} 种拆分读法，"
               f"无法确定，这一行的数字标为“读数不确定”。"),
    (re.compile(r"^row (?P<t>[^|]+)\|(?P<k>[^:]+): unreadable \((?P<note>.*?); raw '(?P<raw>.*)'\)$"),
     lambda m: f"{_row(m['t'], m['k'])}的数字（原文“{m['raw']}”）无法拆分成各栏的数字，标为“读数不确定”。"
     if "run-together" in m["note"] else
     f"{_row(m['t'], m['k'])}的数字{_raw(m['raw'])}读不出来，标为“读数不确定”。"),
    (re.compile(r"^row (?P<t>[^|]+)\|(?P<k>.+) not found$"),
     lambda m: f"报告的{_row(m['t'], m['k'])}没有找到，这一行标为“读数不确定”。"),
    (re.compile(r"^table (?P<t>.+) not found$"),
     lambda m: f"报告中没有找到{TABLE_NAMES.get(m['t'], m['t'])}。"),
    (re.compile(r"^no standard table found$"),
     lambda m: "报告中没有找到标准的统计表（表二、表三、表四），表中的数字无法读取。"),
    (re.compile(r"^template version not recognised"),
     lambda m: "没能判断报告的统计表是2019年版还是2021年版的格式，表中的数字可能读不全。"),
    (re.compile(r"^依申请: （六）其他处理 printed as one row"),
     lambda m: "表三“（六）其他处理”只印了一行（2019年版格式），没有2021年版的三个细分行。"),
    (re.compile(r"^(?P<t>[^:]+): (?P<a>\d+) rows without values and (?P<b>\d+) unlabelled number rows"),
     lambda m: f"{TABLE_NAMES.get(m['t'], m['t'])}中有 {m['a']} 行没有读到数字，另有 {m['b']} 行数字缺少行名，"
               f"对不上号，没有采用。"),
    (re.compile(r"^read by OCR: page\(s\) (?P<p>[\d, ]+); (?P<n>\d+) cell\(s\) uncertain$"),
     lambda m: f"第 {_pages(m['p'])} 页是扫描的图片，文字由电脑识别（OCR）读出，可能有错字；"
               + (f"其中 {m['n']} 个数字读得不确定。" if m["n"] != "0" else "表中数字都读得清楚。")),
    (re.compile(r"^sections not found: (?P<s>.+)$"),
     lambda m: f"报告中没有找到第{'、'.join(x.strip() for x in m['s'].split(','))}部分。"),
    (re.compile(r"^year not found"),
     lambda m: "报告的标题和统计期限中都没有写明年份，年份不详。"),
    (re.compile(r"^issuing body not found$"),
     lambda m: "没有从报告中读出发布机关的名称。"),
]
GENERIC = "读取这份报告时遇到一处不规范的地方，相关数字可能不完整。"


def note_in_chinese(problem: str) -> str:
    """One parser note as a Chinese sentence (a general one for a kind not known here)."""
    text = str(problem).strip()
    for pattern, say in _NOTES:
        m = pattern.search(text)
        if m:
            return say(m)
    if re.search(r"[\u4e00-\u9fff]", text) and not re.search(r"[A-Za-z]{3,}", text):
        return text  # already Chinese (e.g. a staff note)
    return GENERIC


def notes_in_chinese(problems: list) -> list[str]:
    """Each note once, in Chinese, in the order written."""
    out: list[str] = []
    for p in problems:
        sentence = note_in_chinese(p)
        if sentence not in out:
            out.append(sentence)
    return out
