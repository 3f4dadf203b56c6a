"""Questions the reports cannot answer get help, not a stray sentence (issue 11).

``help_reason(question, query)`` says whether a question is one the service should
answer with help, and why: the first of ``HELP_RULES`` whose test holds (one loop,
like qa.understand.INTENT_RULES). ``answer_help`` then says what the service answers,
offers three example questions (qa.suggest) and, for "怎么申请", points to the
政府信息公开指南 where a report mentions it, citing the passage.

A help reply never states a figure: it gives no cell, and a quoted sentence about the
指南 is cut to its clauses without digits.

The rules fire when the question names no body in the index, or names one and nothing
else of the reports' subject ('平潭今天天气怎么样'); "how do I apply" is answered for the
body named. A question about a body's 低保 or 热线 is a text question about its report
(tests/qa_dev.jsonl q132), not help.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from index.factstore import FactStore
from index.served import Index, IndexNotFound

from .compose import Answer, Citation, Composer, section_title, sentences_of
from .understand import Catalog, Query, normalize_question, parse

log = logging.getLogger(__name__)

# 'how do I apply': the steps are in each body's 政府信息公开指南, not in its annual report.
_HOW_TO_APPLY = re.compile(
    r"(?:怎么|如何|怎样|咋|怎么样|要怎么|该怎么|可以怎么)(?:去|才能|才可以|可以|能)?(?:提出|提交|递交|办理)?申请"
    r"|申请(?:的)?(?:流程|程序|手续|步骤|条件|材料|方法)|(?:在哪|去哪|到哪|向谁|找谁|哪里|哪儿)(?:里|儿)?(?:能|可以|去)?"
    r"(?:提出|提交|递交)?申请|申请(?:表|书)(?:在哪|怎么|如何)|(?:我|本人)(?:要|想|想要|打算|准备|需要)(?:去)?申请")
# what a citizen wants about one person, household or village: not in any annual report
_PERSONAL = re.compile(
    r"名单|身份证|户口|我家|我们家|我们村|我村|我的|本人的|帮我|替我|给我办|个人信息|隐私|家庭住址|"
    r"进度|审批到哪|办到哪|什么时候能批|补贴.*(?:我|发到)")
# questions with nothing of the reports' subject
_DOMAIN = re.compile(
    r"公开|申请|政府|政务|信息|报告|年报|复议|诉讼|处罚|许可|强制|收费|规范性|规章|采购|问题|不足|措施|改进|整改|"
    r"工作|单位|部门|乡|镇|县|区|市|省|局|委|平台|网站|指南|目录|解读|培训|热线|年度|数字|多少|哪些|排名|最多|"
    r"统计|表格|文号|发布|低保|补助|补贴|资金|预算|决算|政策|会议|机构|人员|职能|制度|监督|考核|依法|条例|办|案|件")
# a follow-up in form: '…呢', '那…', '还有…' (qa.understand reads these as follow-ups too)
_CARRIES_ON = re.compile(r"呢[？?]?$|^(?:那|那么|还有|另外|再|换成|如果是|改成|同样|也|其中)")
_COUNT_ASKED = re.compile(r"多少|几件|几个|几次|数量|件数|比例|排名|最多|最少")
_HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class _Signals:
    text: str  # the question, normalised
    query: Query  # as understood with the conversation (a follow-up inherits the body)
    own: Query  # the question alone: '今天天气怎么样' after a question about 平潭 names nothing

    @property
    def names_nothing(self) -> bool:
        q = self.own
        return not (q.bodies or q.region or q.level or q.unknown_bodies or q.figure or q.clarify or q.years)


# (reason, test): the first that holds decides; None when none does.
HELP_RULES: list[tuple[str, "callable"]] = [
    # no Chinese at all ('asdfgh', 'what is this?'): the reports are in Chinese
    ("not_chinese", lambda s: not _HAN.search(s.text)),
    # '怎么申请' (申请 alone also reads as the 本年新收 figure: a count asked is not help)
    ("apply", lambda s: bool(_HOW_TO_APPLY.search(s.text)) and not _COUNT_ASKED.search(s.text)),
    ("personal", lambda s: bool(_PERSONAL.search(s.text)) and not s.own.bodies and s.own.figure is None),
    # ('自然人呢', '高龄津贴呢' carry on the conversation: not off topic)
    ("off_topic", lambda s: s.names_nothing and not _DOMAIN.search(s.text)
     and not (s.query.follow_up and _CARRIES_ON.search(s.text))),
    # a body named, and nothing of the reports' subject besides ('平潭今天天气怎么样')
    ("off_topic", lambda s: bool(s.own.bodies or s.own.region) and s.own.figure is None and not s.own.years
     and not s.own.level and len(_HAN.findall(s.own.rest)) >= 2 and not _DOMAIN.search(s.own.rest)
     and not (s.query.follow_up and _CARRIES_ON.search(s.text))),
]


def help_reason(question: str, query: Query, catalog: Catalog) -> str | None:
    """Why the question gets help ('not_chinese', 'apply', 'personal', 'off_topic'),
    or None when the reports may answer it. ``query`` is the question as understood
    in its conversation."""
    own = parse(question, catalog) if query.follow_up else query
    signals = _Signals(normalize_question(question), query, own)
    for reason, test in HELP_RULES:
        if test(signals):
            return reason
    return None


# ---------------------------------------------------------------------------- the reply
WHAT_WE_ANSWER = ("这里回答关于政府信息公开工作年度报告的问题：某个单位某一年收到多少政府信息公开申请、"
                  "行政处罚或行政许可多少件等报告表格里的数字，几个单位或几年之间的比较、排名和变化，"
                  "以及报告正文写的工作做法、存在的问题和改进措施。")
LEADS = {
    "not_chinese": "没有看懂这个问题。请用中文提问，说明单位、年份和想了解的内容。",
    "personal": "具体到个人、家庭或某个村的名单、办理进度等信息不在年度报告里，这里查不到；"
                "可以向负责的单位依申请公开，或直接咨询该单位。",
    "off_topic": "这个问题与政府信息公开工作年度报告无关，这里回答不了。",
    "apply": "申请政府信息公开的方式（向哪个机关申请、通过什么渠道、要写明哪些内容）写在各单位的"
             "《政府信息公开指南》里，年度报告本身不写申请步骤。",
}
# where a report mentions its 指南 or how requests are taken
# ('办事指南', '在线申请' are about 政务服务, not about requests for information)
_GUIDE = re.compile(r"信息公开指南|公开指南|申请渠道|申请方式|申请途径|申请接收")
_GUIDE_QUERY = "政府信息公开指南 申请渠道 申请方式"
MAX_GUIDE_REPORTS = 5
_ENUMERATOR = re.compile(r"^[\s#*]*(?:[（(][一二三四五六七八九十]+[)）]|[一二三四五六七八九十]+[、是])?\s*")


def answer_help(store: FactStore, catalog: Catalog, query: Query, index: Index, reason: str) -> Answer:
    """The help reply: why, what the service answers, (for 'apply') the 指南 pointer,
    and three example questions (also in ``suggestions``)."""
    from .suggest import example_questions, follow_ups  # qa.suggest answers its examples with qa.answer

    c = Composer(store, catalog, query)
    c.q.intent = "help"
    c.q.figure = c.q.condition = None  # '申请' in '怎么申请' is not the figure asked
    parts = [LEADS[reason]]
    if reason == "apply":
        parts.append(_guide_pointer(c, index))
    parts.append(WHAT_WE_ANSWER)
    try:
        # about the body asked when one is named ('平潭怎么申请'), else the index's examples
        suggestions = follow_ups(store, catalog, query) if query.bodies else []
        suggestions += [q for q in example_questions(index, 3) if q not in suggestions]
        suggestions = suggestions[:3]
    except Exception as error:  # noqa: BLE001 - help without examples is still help
        log.warning("no example questions for a help reply: %s", error)
        suggestions = []
    if suggestions:
        parts.append("可以这样问：" + "；".join(f"“{q}”" for q in suggestions) + "。")
    result = c.done("\n\n".join(p for p in parts if p))
    result.suggestions = suggestions
    return result


def _guide_pointer(c: Composer, index: Index) -> str:
    """Which reports mention the 指南, citing the passage: the body asked (its newest
    report that does), else the reports that do."""
    q = c.q
    if q.bodies:
        refs = [r for b in q.bodies for r in reversed(c.catalog.reports_of(b))]
        for ref in refs:
            found = _guide_sentence(c.store, index, {ref.id})
            if found:
                section, page, quote = found
                c.citations.append(Citation(ref.id, ref.title, ref.body, ref.year, section, page, quote))
                return f"{c.who(ref)}报告提到：“{quote}”该单位的指南一般在其政府网站“政府信息公开”栏目。"
        names = "、".join(dict.fromkeys(c.catalog.name_of(b) for b in q.bodies))
        return f"{names}的报告没有提到其政府信息公开指南；可以在该单位政府网站的“政府信息公开”栏目查找。"
    hits = _guide_reports(c.store, index)
    if not hits:
        return "索引中的报告都没有提到政府信息公开指南；可以在单位政府网站的“政府信息公开”栏目查找。"
    who = []
    for ref, (section, page, quote) in hits:
        c.citations.append(Citation(ref.id, ref.title, ref.body, ref.year, section, page, quote))
        who.append(c.who(ref))
    return (f"提到本单位政府信息公开指南的报告有：{'、'.join(who)}（摘录见出处）。"
            "问某个单位时请说明单位名称，例如“某某区怎么申请政府信息公开？”。")


def _guide_reports(store: FactStore, index: Index) -> list[tuple]:
    """Up to MAX_GUIDE_REPORTS reports whose text mentions the 指南, one passage each
    (BM25 over the passages; the stored sections when the index has no retrieval)."""
    from .retrieve import search

    by_id = {r.id: r for r in _catalog_reports(store, index)}
    out, seen = [], set()
    try:
        hits = search(index, _GUIDE_QUERY, k=60, mode="bm25", kind="text")
        candidates = [(h.report_id, h.section, h.section_title, h.page_start, h.text or "") for h in hits]
    except IndexNotFound as error:
        log.info("no retrieval index, reading the sections for the 指南: %s", error)
        candidates = [(s["report_id"], s["number"], s["title"], s["page_start"], s["text"] or "")
                      for s in store.sections(list(by_id))]
    for report_id, number, title, page, text in candidates:
        if report_id in seen or report_id not in by_id:
            continue
        quote = _guide_quote(text)
        if quote:
            seen.add(report_id)
            section = section_title({"title": title}, number) if isinstance(number, int) else (title or "")
            out.append((by_id[report_id], (section, page, quote)))
        if len(out) == MAX_GUIDE_REPORTS:
            break
    out.sort(key=lambda x: (x[0].name, x[0].year or 0))
    return out


def _catalog_reports(store: FactStore, index: Index):
    from .answer import catalog_of

    return catalog_of(index, store).reports


def _guide_sentence(store: FactStore, index: Index, report_ids: set[str]) -> tuple | None:
    """(section, page, quote) of the first passage of these reports that mentions the 指南."""
    from .retrieve import search

    try:
        hits = search(index, _GUIDE_QUERY, k=20, mode="bm25", kind="text", report_ids=report_ids)
        candidates = [(h.section, h.section_title, h.page_start, h.text or "") for h in hits]
    except IndexNotFound as error:
        log.info("no retrieval index, reading the sections for the 指南: %s", error)
        candidates = [(s["number"], s["title"], s["page_start"], s["text"] or "")
                      for s in store.sections(sorted(report_ids))]
    for number, title, page, text in candidates:
        quote = _guide_quote(text)
        if quote:
            section = section_title({"title": title}, number) if isinstance(number, int) else (title or "")
            return section, page, quote
    return None


def _guide_quote(text: str) -> str | None:
    """The clauses of the first sentence that mention the 指南, without any digit (a
    help reply states no figure), ending with 。; None when there is none."""
    for sent in sentences_of(text):
        if not _GUIDE.search(sent):
            continue
        clauses = [c for c in re.split(r"(?<=[，,；;])", sent.strip()) if c]
        keep = [c for c in clauses if _GUIDE.search(c) and not re.search(r"\d", c)]
        if not keep:
            continue
        # the clause with the 指南 and the one after it (what the 指南 does), digit-free
        first = clauses.index(keep[0])
        chosen = [clauses[first]]
        if first + 1 < len(clauses) and not re.search(r"\d", clauses[first + 1]):
            chosen.append(clauses[first + 1])
        quote = _ENUMERATOR.sub("", "".join(chosen)).strip("，,；;。 ")
        quote = re.sub(r"[*#]", "", quote)
        if len(quote) >= 8:
            return quote + "。"
    return None


__all__ = ["HELP_RULES", "help_reason", "answer_help"]
