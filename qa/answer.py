"""Answer a question over an index: ``answer(question, index, history=None) -> Answer``.

    >>> from qa.answer import answer
    >>> a = answer("交岔乡2021年收到多少申请？", "var/index")
    >>> a.answer, a.citations[0].quote
    ('彭阳县交岔乡2021年本年新收政府信息公开申请为 0 件。', '表三 本年新收政府信息公开申请数量 总计：0')

Figures come from the facts table (``qa.facts``). A free-text question is answered
with sentences quoted from the report: ``qa.retrieve.search`` (BM25, text passages,
filtered by body and year) gives the top passages (the stored sections when the index
has no retrieval stage); their sentences are ranked by the question's content words
(jieba, without stop words and without the body and year already used as filters),
weighted by rarity, plus a figure with the unit asked (多少条 -> N 条) for 多少/几
questions, the section the topic belongs in, the sub-heading a sentence stands under
and the passage's rank. The best sentence is completed (a clause cut at ；/：, a
sentence cut by a passage boundary) and, for problems/measures questions, extended to
the whole enumeration it belongs to (一是…二是…, （一）…（二）…, 一、二、). Sentences are
de-duplicated, headings glued to the text are removed, and each passage used is cited
with its section, page and the sentences quoted from it.

The first text question of a process loads jieba's dictionary and the BM25 index
(≈1.5–2 s); ``warm_up(index)`` does it ahead of time (for a server).
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from pathlib import Path

from index.factstore import FactStore
from index.template import STANDARD_TITLES
from index.served import Index, IndexNotFound, open_index

from .compose import Answer, Citation, Composer, compose, section_title, sentences_of, years_text
from .help import answer_help, help_reason
from .understand import Catalog, Query, QuestionError, check_question, understand


log = logging.getLogger(__name__)


def catalog_of(index: Index, store: FactStore) -> Catalog:
    """The names and reports of the index's build (qa.understand.Catalog), made once
    per build and kept on its Index."""
    return index.cached("catalog", lambda: Catalog.from_db(store))


def answer(question: str, index: Index | str | Path, history=None, *, text_mode: str | None = None,
           suggest: bool = True) -> Answer:
    """Answer one question (with earlier questions of the conversation in ``history``)
    from an ``index.served.Index`` or the index served from a directory. ``text_mode``
    is the retrieval mode of text answers (None: qa.retrieve.DEFAULT_MODE). With
    ``suggest``, the answer's ``suggestions`` hold questions to ask next
    (qa.suggest.follow_ups); qa.suggest itself answers its candidates without.

    Raises QuestionError for an empty or over-long question and IndexNotFound when
    there is no index."""
    question = check_question(question)
    index = open_index(index)  # the served build, resolved once for the whole answer
    with index.facts() as store:
        catalog = catalog_of(index, store)
        if not catalog.reports:
            return Answer("索引中还没有任何报告，无法回答。", intent="text")
        query = understand(question, history, catalog)
        reason = help_reason(question, query, catalog)
        if reason is not None:  # nothing the reports answer: say what they do (qa.help)
            return answer_help(store, catalog, query, index, reason)
        result = _answer_query(store, catalog, query, index, question, text_mode)
        if suggest and not result.suggestions:
            result.suggestions = _suggestions(store, catalog, query, index)
        return result


def _answer_query(store: FactStore, catalog: Catalog, query: Query, index: Index, question: str,
                  text_mode: str | None) -> Answer:
    if query.intent == "clarify":
        return ask_back(store, catalog, query)
    if query.intent == "text":
        return answer_text(store, catalog, query, index, text_mode)
    result = compose(store, catalog, query)
    if query.intent in ("lookup", "yesno") and len(query.bodies) == 1 and _EXPLAIN.search(question) \
            and result.citations:
        result = _with_explanation(result, store, catalog, query, index, text_mode)
    return result


def _suggestions(store: FactStore, catalog: Catalog, query: Query, index: Index) -> list[str]:
    """Follow-ups of the query, else (nothing to follow: a body not in the index) three
    example questions. Never raises: an answer without suggestions is still an answer."""
    from .suggest import example_questions, follow_ups

    try:
        return follow_ups(store, catalog, query) or example_questions(index, 3)
    except Exception as error:  # noqa: BLE001 - suggestions must never cost the answer
        log.warning("no suggestions for %r: %s", query.question, error)
        return []


# '是什么理由 / 最后是什么结果 / 为什么': the table gives the count, the text the story.
_EXPLAIN = re.compile(r"什么结果|结果(?:如何|怎么样|怎样)|最后.{0,6}结果|怎么处理|为什么|原因|理由|什么情况|怎么回事")


def _with_explanation(result: Answer, store: FactStore, catalog: Catalog, query: Query, index,
                      text_mode: str | None = None) -> Answer:
    """A figure answer followed by what the report's text says about it, when it says
    anything (from both the facts and the passages)."""
    text_query = Query(question=query.question, intent="text", bodies=list(query.bodies), years=list(query.years),
                       text_query=query.question)
    told = answer_text(store, catalog, text_query, index, text_mode)
    if not told.citations or "：" not in told.answer:
        return result
    result.answer += "\n\n报告正文的说明：" + told.answer.split("：", 1)[1]
    result.citations += told.citations
    return result


def ask_back(store: FactStore, catalog: Catalog, query: Query) -> Answer:
    """One name fits several bodies: name them and ask which, rather than guess."""
    c = Composer(store, catalog, query)
    options = "；".join(f"{catalog.name_of(b)}（{catalog.reports_of(b)[0].body}）" for b in query.clarify[:8])
    more = f"等 {len(query.clarify)} 个" if len(query.clarify) > 8 else ""
    return c.done(f"您问的是哪一个单位？这个名称对应索引中的{options}{more}。请说明全称或所属地区后再问。")


def warm_up(index: Index | str | Path) -> None:
    """Load what the first question would: the catalog of reports and its name index
    (≈ 1.5 s for 10,000 reports), jieba's dictionary, the BM25 index and (when the
    default retrieval uses vectors) the embedding model, once per build. Never raises."""
    try:
        index = open_index(index)
        with index.facts() as store:
            catalog_of(index, store).names  # the name index is made on first use: now
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        from .retrieve import warm_up as warm_up_retrieval

        warm_up_retrieval(index)
    except Exception as error:  # a cold first question is only slower
        log.warning("warm-up incomplete (the first question will be slower): %s", error)


# ---------------------------------------------------------------------- text questions
_STOP = set("""年 年度 报告 哪些 什么 如何 怎么 怎样 哪个 多少 主要 情况 工作 政府 信息 公开 政府信息 信息公开 政务
有 的 了 吗 呢 是 在 和 与 及 对 中 里 请问 一下 请 说 讲 提到 介绍 一 二 三 今年 去年 最新 这个 那个 我 你 他 它
其 该 本 方面 关于 有关 哪 些 做 做了 开展 进行 具体 内容 相关 一些 这些 那些 还 都 也 就 要 被 把 给""".split())
_SECTION_HINTS = [
    (re.compile(r"问题|不足|改进|整改|短板|差距|困难|毛病|缺点|打算|下一步|(?<![月日年])以后|今后|明年|将怎么做|要怎么做"), 5),
    (re.compile(r"做了|开展了|怎么做好|如何做好|是怎么做|是如何|亮点|成效|成绩|特色|经验|做法|主要工作|哪些工作"), 1),
    (re.compile(r"信息处理费|处理费|其他需要报告|其他事项|收取.*费"), 6),
    (re.compile(r"复议|诉讼"), 4),
    (re.compile(r"依申请|申请"), 3),
    (re.compile(r"主动公开|平台|网站|公众号|新媒体|解读|培训|制度|机制|监督|组织|领导"), 1),
    (re.compile(r"主动公开.*(?:多少|几)"), 2),  # how many: 二、主动公开政府信息情况 states it
]


_EXPANSIONS = [(re.compile(r"处理费|收费|收钱|费用"), ("收费", "收取", "处理费")),
               (re.compile(r"问题|不足|毛病|缺点|短板|差距|薄弱"), ("存在", "问题", "不足", "有待")),
               (re.compile(r"改进|整改|措施|打算|准备|下一步|(?<![月日年])以后|今后|明年|将怎么做|要怎么做|计划"),
                ("改进", "措施", "整改", "加强", "进一步", "下一步", "抓好", "推进")),
               (re.compile(r"培训|学习"), ("培训", "学习")),
               (re.compile(r"平台|渠道|网站"), ("网站", "平台", "公众号", "渠道"))]


def _keywords(text: str, drop: set[str]) -> list[str]:
    import jieba

    jieba.setLogLevel(logging.WARNING)

    words = []
    for w in jieba.lcut_for_search(text):
        w = w.strip()
        if len(w) < 2 or w in _STOP or re.fullmatch(r"[\d.]+|\W+", w):
            continue
        if any(w in name for name in drop):
            continue  # the body's own name says nothing about the topic
        words.append(w)
    for rx, extra in _EXPANSIONS:
        if rx.search(text):
            words += list(extra)
    words += re.findall(r"\d{1,2}月(?:\d{1,2}日)?", text)  # '9月以后': a date the answer should hold
    return list(dict.fromkeys(words))


TOP_PASSAGES = 8


def _retrieve(index, query: Query, refs, names: set[str] = frozenset(), mode: str | None = None) -> list[dict] | None:
    """The top text passages for a text question (rank 1 first), or None when the
    index has no retrieval stage (then the stored sections are used). The body and
    year, when they are filters, are taken out of the query: otherwise BM25 favours
    the short table-row passages, whose text is mostly the body's name and year."""
    try:
        from .retrieve import search
    except ImportError:  # pragma: no cover
        return None
    kwargs = {}
    if len(query.years) == 1:
        kwargs["year"] = query.years[0]
    ids = {r.id for r in refs}
    if query.bodies and ids:
        kwargs["report_ids"] = ids  # the named bodies' reports, not the whole index
    text = query.text_query or query.question
    if kwargs.get("year"):
        text = re.sub(r"(?:19|20)?\d{2}年度?", "", text)
    if len(query.bodies) == 1:
        for name in sorted((n for n in names if n and len(n) >= 2), key=len, reverse=True):
            text = text.replace(name, "")
    if len(re.sub(r"[\W\d]", "", text)) < 2:
        text = query.text_query or query.question
    try:
        # mode None: qa.retrieve.DEFAULT_MODE (hybrid; BM25 on an index without vectors)
        hits = search(index, text, k=TOP_PASSAGES * 2, mode=mode, kind="text", **kwargs)
    except IndexNotFound as error:  # retrieval is an optional stage: fall back to the sections
        log.info("text retrieval unavailable, answering from the stored sections: %s", error)
        return None
    out = []
    for h in hits:
        if h.kind != "text" or (ids and h.report_id not in ids):
            continue
        out.append({"id": h.id, "report_id": h.report_id, "number": h.section, "title": h.section_title,
                    "page": h.page_start, "text": h.text or "", "rank": len(out) + 1})
        if len(out) == TOP_PASSAGES:
            break
    return out


def _section_passages(index, p: dict) -> list[dict]:
    """All passages of the hit's section, in order (the hit alone when unknown)."""
    if not p.get("id"):
        return [p]
    try:
        from .retrieve import section_passages

        ps = section_passages(index, p["report_id"], p["number"])
    except IndexNotFound as error:
        log.info("section passages unavailable, reading the hit alone: %s", error)
        return [p]
    if not any(x.id == p["id"] for x in ps):
        return [p]
    return [{"id": x.id, "report_id": x.report_id, "number": x.section, "title": x.section_title,
             "page": x.page_start, "text": x.text or "", "rank": None} for x in ps]


_HEADING = re.compile(
    r"^\s*[#*\s]*[一二三四五六七][、.．]\s*(?:存在的?主要问题(?:及|和)?(?:改进|整改)?(?:情况|措施|方向)?|其他需要报告的事项|总体情况|"
    r"(?:行政机关)?主动公开政府信息(?:情况)?|收到和处理政府信息公开申请(?:情况)?|"
    r"政府信息公开行政复议[、和]?行政诉讼(?:情况)?)[*\s]*[。：:]?")


def _strip_heading(text: str) -> str:
    return _HEADING.sub("", text, count=1)


_GLUED_SUBHEAD = re.compile(
    r"(?m)^(\s*[（(][一二三四五六七八九十]+[)）]\s*(?:存在的?(?:主要)?问题|主要问题|问题|不足|"
    r"改进(?:情况|措施)|整改(?:情况|措施)|下一步(?:工作)?(?:打算|计划)?|工作(?:打算|计划)))"
    r"[ \t]*(?=\n|[^\s。：:，,；;）)])")


def _units(p: dict) -> list[str]:
    """The sentences of a passage, its section heading (a line of its own or glued to
    the first sentence) removed, and a sub-heading glued to its text ('（二）改进情况根据
    上述问题…') cut off as a sentence of its own."""
    text = (p.get("text") or "").strip()
    title = re.sub(r"[\s#*]", "", p.get("title") or "")
    first, _, rest = text.partition("\n")
    if title and re.sub(r"[\s#*]", "", first) == title and not re.search(r"[，,。；;！？]", title) \
            and not re.match(r"[（(]", title):
        text = rest
    text = _GLUED_SUBHEAD.sub(r"\1。", _strip_heading(text))
    out = []
    for sent in sentences_of(text):
        sent = _strip_heading(sent).strip()
        if len(sent) >= 6 and not _is_table_text(sent):
            out.append(sent)
    return out


def _is_table_text(sent: str) -> bool:
    """A table flattened into text: never a text answer (the facts hold its cells)."""
    return len(re.findall(r"\d", sent)) > 8 and bool(_TABLE_TEXT.search(sent))


_CN_NUM = {c: i for i, c in enumerate("一二三四五六七八九十", 1)}
_COUNT_Q = re.compile(r"多少|几[个条期场次项件篇家天人批份户]|数量|多大|金额")
_UNIT_Q = re.compile(r"(?:多少|几)\s*([个条期场次项件篇家天人批份户元]|万元|亿元)")
_LIST_Q = re.compile(r"问题|不足|短板|差距|困难|弱项|毛病|缺点|措施|改进|整改|举措|打算|计划|下一步|(?<![月日年])以后|今后|"
                     r"怎么做|做法|经验|亮点|哪些|有什么|有啥")
_SUBHEAD = re.compile(r"^[（(]([一二三四五六七八九十]+)[)）]\s*[^。；;]{0,16}[。：:]?$|^[一二三四五六七八九十]+[、.．][^。；;]{0,16}$")
_ENUM_AT = re.compile(r"(?:^|(?<=[\s:：;；，,。、]))(?P<shi>[一二三四五六七八九十]+)是"
                      r"|^[（(](?P<paren>[一二三四五六七八九十]+)[)）]"
                      r"|(?:^|(?<=[：:；;，,。]))(?P<dun>[一二三四五六七八九十]+)、"
                      r"|^(?P<arabic>\d{1,2})[.、．）)](?!\d)")
_DATE = re.compile(r"\d{4}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?|〔\d{4}〕\s*\d*\s*号|第[\d一二三四五六七八九十]+[条项]")
_OVERVIEW = re.compile("|".join(STANDARD_TITLES[n][:6] for n in range(1, 7)))


def _enums(sent: str) -> list[tuple[str, int]]:
    """The enumeration markers of a sentence: ('是', 2) for 二是, ('()', 1) for （一）,
    ('、', 1) for 一、, ('1.', 3) for 3. (a marker other than the first item must open
    the sentence or follow punctuation within it)."""
    out = []
    for m in _ENUM_AT.finditer(sent):
        style, value = next((k, v) for k, v in m.groupdict().items() if v)
        n = int(value) if style == "arabic" else _CN_NUM.get(value, 0) if len(value) == 1 else \
            (10 + _CN_NUM.get(value[-1], 0) if value.startswith("十") else 0)
        if m.start() > 14 and not out and n != 1:
            continue
        out.append(({"shi": "是", "paren": "()", "dun": "、", "arabic": "1."}[style], n))
    return out


def _has_number(sent: str) -> bool:
    return bool(re.search(r"\d", _DATE.sub("", sent)))


def _squash(text: str) -> str:
    return re.sub(r"[\s，,。；;：:、]", "", text)


def answer_text(store: FactStore, catalog: Catalog, query: Query, index, text_mode: str | None = None) -> Answer:
    c = Composer(store, catalog, query)
    missing = c.not_found()
    if missing is not None:
        return missing
    if query.bodies:
        refs = []
        for body in query.bodies:
            own = catalog.reports_of(body)
            chosen = [r for r in own if r.year in query.years] if query.years else own[-1:]
            refs += chosen
    else:
        refs = c.scope()
    if not refs:
        return c.done(f"索引中没有相应的报告。现有报告：{c.available()}。")
    names = set()
    for r in refs:
        names |= {r.name, r.body, r.body.replace("人民政府", "")}
        names |= catalog.aliases_of(r.body)
    question = query.text_query or query.question
    keywords = _keywords(re.sub(r"\d{2,4}年度?", "", question), names)
    hinted = [n for rx, n in _SECTION_HINTS if rx.search(question)]
    asks_count = bool(_COUNT_Q.search(question))
    unit = (_UNIT_Q.search(question) or [None, None])[1] if asks_count else None
    asks_list = bool(_LIST_Q.search(question)) and not asks_count
    problems_only = bool(_PROBLEM_Q.search(question)) and not _MEASURE_Q.search(question)
    asks_measures = bool(_MEASURE_Q.search(question))
    ref_by_id = {r.id: r for r in refs}

    if _ABOUT_Q.search(question) and not asks_count and len(refs) == 1:
        return _about(c, store, refs[0])
    if _DONE_Q.search(question) and not asks_count and len(refs) == 1 and not _SPECIFIC_TOPIC.search(question):
        outline = _work_outline(store, refs[0])
        if outline is not None:
            section, items = outline
            c.citations.append(Citation(refs[0].id, refs[0].title, refs[0].body, refs[0].year,
                                        section_title(section, 1), section.get("page_start"), "；".join(items)))
            return c.done(f"据{c.who(refs[0])}报告（{section_title(section, 1)}），主要工作有：" + "；".join(items) + "。")
    passages = _retrieve(index, query, refs, names, text_mode)
    if not passages:  # no retrieval stage (or nothing found): the stored sections
        passages = [{"id": None, "report_id": s["report_id"], "number": s["number"], "title": s["title"],
                     "page": s["page_start"], "text": s["text"] or "", "rank": None}
                    for s in store.sections(list(ref_by_id)) if s["number"] != 0]
    candidates = []  # (passage, unit index, sentence)
    seen = set()
    for p in passages:
        if p["report_id"] not in ref_by_id:
            continue
        heading = ""  # the sub-heading the sentence stands under: （一）存在问题。
        for i, sent in enumerate(_units(p)):
            if _SUBHEAD.match(sent):
                heading = sent
            key = (p["report_id"], _squash(sent))
            if key in seen:
                continue
            seen.add(key)
            candidates.append((p, i, sent, "" if heading == sent else heading))
    if not candidates:
        return c.done("报告中没有找到可以回答这个问题的文字。")
    # Score each sentence: question words it holds, weighted by rarity among the
    # candidates; a figure (with the unit asked: 多少条 -> N 条) when the question
    # asks how many; the section the topic belongs in; the passage's retrieval rank.
    df = Counter(w for _, _, sent, _h in candidates for w in set(k for k in keywords if k in sent))
    n = len(candidates)
    unit_rx = re.compile(r"\d[\d,.]*\s*(?:余|多)?\s*(?:万|亿)?\s*" + re.escape(unit)) if unit else None
    scored = []
    for p, i, sent, heading in candidates:
        words = sum(math.log(1 + n / (1 + df[w])) for w in keywords if w in sent)
        if heading:  # under （一）存在问题, a sentence need not say 问题 itself
            words += 0.7 * sum(math.log(1 + n / (1 + df[w])) for w in keywords if w in heading and w not in sent)
        title = p.get("title") or ""
        if title and p.get("number") in hinted:  # nor under 五、存在的主要问题及改进情况
            words += 0.5 * sum(math.log(1 + n / (1 + df[w])) for w in keywords
                               if w in title and w not in sent and w not in heading)
        score = words
        if asks_measures and not _PROBLEM_Q.search(question):
            # 打算怎么改进: a sentence that announces measures, not one that states problems
            if _MEASURE_LEAD.search(sent):
                score += 1.0
            elif _PROBLEM_WORDS.search(sent):
                score -= 1.5
        if heading and problems_only and _MEASURE_Q.search(heading):
            score -= 1.5  # under （二）改进情况 when the question asks for the problems
        elif heading and asks_measures and _PROBLEM_Q.search(heading) and not _MEASURE_Q.search(heading):
            score -= 1.5  # under （一）存在问题 when the question asks for the measures
        if asks_count:
            if unit_rx is not None and unit_rx.search(_DATE.sub("", sent)):
                score += 3.0 if words > 0 else 1.0
            elif _has_number(sent):
                score += 1.5 if words > 0 else 0.5
            else:
                score -= 1.0
        if isinstance(p.get("number"), int) and p["number"] in hinted:
            score += 2.0 if words > 0 else 0.3
        if _SUBHEAD.match(sent):
            score -= 1.0  # a bare heading such as （一）存在问题。
        if len(set(_OVERVIEW.findall(sent))) >= 3:
            # '全文包括总体情况、…、存在的主要问题及改进情况…': the report's outline answers
            # only '报告是关于什么的 / 包括哪些内容'
            if _ABOUT_Q.search(question):
                words, score = words + 1.0, score + 4.0
            else:
                score -= 3.0
        if _CONTACT.search(sent) and not _CONTACT_Q.search(question):
            continue  # a telephone or address line answers only a question about contacts
        if len(sent) < 12 or re.fullmatch(r"[\d\s年月日]+|.{2,20}(局|政府|委员会|办公室|办公厅)", sent):
            score -= 2.0  # a date or signature line
        digits = len(re.findall(r"\d", sent))
        if digits > 8 and digits > 0.15 * len(sent) and not re.search(r"[，,]", sent):
            score -= 3.0  # a table flattened into a line of text
        if p.get("rank"):
            score += 0.8 / p["rank"]
        scored.append((score, words, p, i, sent))
    scored.sort(key=lambda x: -x[0])
    best_score, best_words, best_p, best_i, best_sent = scored[0]
    if best_words <= 0 or best_score <= 0.8:
        return c.done("报告中没有找到能回答这个问题的语句。" +
                      (f"（检索范围：{'、'.join(c.who(r) for r in refs[:5])}报告）" if refs else ""))
    chosen = _read_on(index, best_p, best_i, keywords, asks_list, question)
    ref = ref_by_id[best_p["report_id"]]
    # One citation per passage used: its section, page and the sentences quoted.
    quotes: list[str] = []
    said: list[str] = []
    by_passage: dict = {}
    for p, sent in chosen:
        if p is None:  # the answer is cut short: the report goes on
            quotes.append("（以下从略）")
            continue
        sq = _squash(sent)
        if any(sq in s for s in said):
            continue  # the same sentence twice (overlapping passages, repeated text)
        said.append(sq)
        piece = sent if sent.endswith(_ENDS) else sent + "。"
        quotes.append(piece)
        key = p.get("id") or (p["report_id"], p.get("number"))
        by_passage.setdefault(key, (p, []))[1].append(piece)
    for p, pieces in by_passage.values():
        title = _section_label(p)
        quote = "".join(pieces).rstrip("；;：:，,")
        c.citations.append(Citation(ref.id, ref.title, ref.body, ref.year, title, p.get("page"), quote))
    for n in range(len(quotes) - 1, -1, -1):  # the last sentence quoted ends the answer
        if quotes[n] != "（以下从略）":
            quotes[n] = re.sub(r"[；;：:，,]$", "。", quotes[n])
            break
    body = "".join(quotes)
    section = c.citations[0].section if c.citations else ""
    text = f"据{c.who(ref)}报告" + (f"（{section}）" if section else "") + "：" + body
    others = [r for r in refs if r.id != ref.id]
    if others and not query.bodies:
        text += f"\n\n（在 {len(refs)} 份报告中检索，以上摘自最相关的一份。）"
    return c.done(text)


# '做了哪些工作 / 有哪些亮点': what section 一 lists under its sub-headings, whatever
# words the report uses (it rarely says 亮点 itself).
_DONE_Q = re.compile(r"做了哪些|做了什么|哪些工作|什么工作|主要工作|工作亮点|亮点|特色|有哪些做法|主要做法|干了什么|"
                     r"开展了哪些|成效|成绩")
# A question about one field of the work ('主动公开方面开设了哪些专栏') is answered from
# the text, not with the outline of section 一.
_SPECIFIC_TOPIC = re.compile(r"主动公开|依申请|申请|专栏|栏目|平台|网站|公众号|新媒体|微博|解读|培训|制度|机制|监督|"
                             r"考核|热线|会议|发布会|信息管理|政务服务|执法|预算|决算|采购")
_OUTLINE_ITEM = re.compile(r"[（(]([一二三四五六七八九十]{1,2})[)）]\s*([^。；;\n]{2,300}?)(?=[。；;\n]|$)")
# a sub-heading glued to its text ends at its topic word: '（一）主动公开政府信息的情况全面贯彻…'
_GLUED_HEAD = re.compile(r"^(.{2,20}?(?:情况|方面|工作|建设|管理|保障|机制))(?=.{6,})")
_OUTLINE_MAX_CHARS = 40


def _work_outline(store: FactStore, ref) -> tuple[dict, list[str]] | None:
    """Section 一's sub-headings ((一)…(二)…) in order, each cut at its first stop (a
    heading glued to its text is cut at 40 characters), or None when it has fewer
    than two."""
    section = store.section(ref.id, 1)
    if not section or not section.get("text"):
        return None
    items, expected = [], 1
    for m in _OUTLINE_ITEM.finditer(section["text"]):
        n = _CN_NUM.get(m.group(1)[-1], 0) + (10 if len(m.group(1)) == 2 else 0)
        if n != expected:
            continue
        head = m.group(2).strip()
        glued = _GLUED_HEAD.match(head) if len(head) > _OUTLINE_MAX_CHARS else None
        if glued:
            head = glued.group(1)
        elif len(head) > _OUTLINE_MAX_CHARS:
            head = head[:_OUTLINE_MAX_CHARS] + "…"
        items.append(f"（{m.group(1)}）{head}")
        expected += 1
    return (section, items) if len(items) >= 2 else None


def _about(c: Composer, store: FactStore, ref) -> Answer:
    """'报告是关于什么的 / 包括哪些内容': the report's parts as printed, and what its
    first part covers."""
    sections = [sec for sec in store.sections([ref.id]) if sec["number"] and 1 <= sec["number"] <= 6]
    titles = [section_title(sec, sec["number"]) for sec in sorted(sections, key=lambda x: x["number"])]
    if not titles:
        return c.done("报告中没有找到可以回答这个问题的文字。")
    text = f"{c.who(ref)}报告是该单位的政府信息公开工作年度报告，分为：" + "；".join(titles) + "。"
    outline = _work_outline(store, ref)
    if outline is not None:
        text += f"其中{section_title(outline[0], 1)}包括：" + "；".join(outline[1]) + "。"
    c.cite_report(ref, 0, quote=ref.title or ref.body)
    return c.done(text)


def _section_label(p: dict) -> str:
    """The section a passage is in, as printed when the heading is a numbered section
    heading ('五、存在的主要问题及改进措施'), else the standard one ('（一）主要问题' is a
    sub-heading the parser took for the section's title)."""
    number = p.get("number")
    title = (p.get("title") or "").strip()
    if isinstance(number, int) and 1 <= number <= 6 and not re.match(r"^[#*\s]*[一二三四五六七][、.．]", title):
        title = ""
    return section_title({"title": title}, number)


MAX_UNITS, MAX_CHARS = 8, 360
# A question asking for a list (存在哪些问题, 请全部列出来) gets the whole enumeration.
LIST_MAX_UNITS, LIST_MAX_CHARS = 16, 1200
_ENDS = ("。", "！", "？", "；", ";", "：", ":", "!", "?")
_PROBLEM_Q = re.compile(r"问题|不足|短板|差距|困难|弱项|毛病|缺点")
_MEASURE_Q = re.compile(r"措施|改进|整改|打算|计划|下一步|(?<![月日年])以后|今后|明年|将怎么做|要怎么做|怎么改|如何改|举措")
_TABLE_TEXT = re.compile(r"第二十条第|信息内容|申请人情况|[勾钩]稽关系|结果维持|本年新收政府信息公开申请数量|"
                         r"本年制发件数|上一年项目数量|法人或其他组织|属于国家秘密|本机关不掌握|结转下年度继续办理|"
                         r"信访举报投诉|(?:规章|规范性文件|行政许可|行政处罚|行政强制|重复申请)\d")
_ABOUT_Q = re.compile(r"关于什么|讲什么|讲了什么|说了什么|哪些内容|什么内容|包括哪些|包含哪些|主要内容|哪几个部分|哪些部分")
_CONTACT = re.compile(r"\d{3,4}-\d{7,8}|电子邮箱|邮编|@\w+\.")
_CONTACT_Q = re.compile(r"电话号码|联系|邮箱|地址|传真|怎么找|打什么电话")
_PROBLEM_WORDS = re.compile(r"有待|不足|不够|欠缺|差距|短板|薄弱|问题")
_EXAMPLES_START = re.compile(r"(?:如|比如|例如|譬如|主要(?:是|有|表现|体现)|具体(?:是|有|表现)|包括|一方面)")
_BARE_LEAD = re.compile(r"(?:主要|具体|分别|集中)?(?:是|有|为|表现在|体现在|如下)?[：:，,]?")  # '主要是：一是…'
_MEASURE_LEAD = re.compile(r"将|改进|整改|下一步|打算|计划|措施|做好以下|抓好|努力方向|工作安排|针对|推动")


def _section_units(index, p: dict) -> tuple[list[tuple[dict, str, tuple]], bool]:
    """(passage, sentence, (passage id, index in passage)) over the hit's whole
    section in reading order; a sentence cut by a passage boundary is joined again."""
    units: list[tuple[dict, str, list]] = []
    for q in _section_passages(index, p):
        for j, sent in enumerate(_units(q)):
            if j == 0 and units and not units[-1][1].endswith(_ENDS):
                prev = units[-1]
                units[-1] = (prev[0], prev[1] + sent, prev[2] + [(q.get("id"), j)])
                continue
            units.append((q, sent, [(q.get("id"), j)]))
    return units


def _read_on(index, p: dict, i: int, keywords: list[str], asks_list: bool,
             question: str = "") -> list[tuple[dict, str]]:
    """The best sentence and those that complete it, in reading order: a sentence cut
    at ；/：, and — for a question about problems or measures — the items of the
    enumeration it opens or belongs to (一是…二是…, （一）…（二）…, 1. 2.), up to the next
    sub-heading of another topic (or, for problems, the lead-in of the measures)."""
    units = _section_units(index, p)
    start = next((n for n, u in enumerate(units) if (p.get("id"), i) in u[2]), None)
    if start is None:  # pragma: no cover - the hit is always in its section
        units, start = [(p, s, [(p.get("id"), k)]) for k, s in enumerate(_units(p))], i
    problems_only = bool(_PROBLEM_Q.search(question)) and not _MEASURE_Q.search(question)
    first = units[start][1]
    if _SUBHEAD.match(first) and start + 1 < len(units):
        start += 1  # a heading such as （一）存在问题。: answer with what it heads
        first = units[start][1]
    own = _enums(first)
    if asks_list and (not own or own[0][1] > 1):
        # the best sentence is a later item, or the body of one ('一是重视程度需要提升。
        # 极少数干部…'): answer from the start of the enumeration it belongs to
        for back in range(start - 1, max(-1, start - 12), -1):
            sent = units[back][1]
            if _SUBHEAD.match(sent) or (problems_only and _MEASURE_LEAD.search(sent)):
                break
            e = _enums(sent)
            if e and e[-1][1] == 1 and (not own or e[-1][0] == own[0][0]) or \
                    e and e[0][1] == 1 and (not own or e[0][0] == own[0][0]):
                start = back
                break
        first = units[start][1]
        lead = units[start - 1][1] if start > 0 else ""
        if lead and not _enums(lead) and not _SUBHEAD.match(lead) and len(lead) <= 60 and \
                (lead.endswith(("：", ":")) or any(k in lead for k in keywords)) and \
                not (problems_only and _MEASURE_LEAD.search(lead)):
            start -= 1  # '…重点做好以下工作：' / '…也看到了一些不足和差距。'
            first = lead
    out = [units[start][:2]]
    size = len(first)
    enums = _enums(first)
    last = enums[-1] if enums else None
    opens = bool(re.search(r"[：:]$|主要|如下|以下|几个方面|不足|问题|差距|存在", first))
    j = start + 1
    max_units, max_chars = (LIST_MAX_UNITS, LIST_MAX_CHARS) if asks_list else (MAX_UNITS, MAX_CHARS)
    while j < len(units) and len(out) < max_units:
        sent = units[j][1]
        prev = out[-1][1]
        if size + len(sent) > max_chars and len(out) > 1:
            if asks_list and (e or prev.endswith(("；", ";"))):
                out.append((None, "……"))  # the enumeration goes on in the report
            break
        if _SUBHEAD.match(sent) and not any(k in sent for k in keywords):
            break  # （二）改进情况。: another topic starts
        e = _enums(sent)
        lead = ""
        if e:
            m = _ENUM_AT.search(sent)
            lead = sent[:m.start()] if m else ""
        if problems_only and _MEASURE_LEAD.search(lead or (sent if not e else "")) and \
                not prev.endswith(("；", ";", "，", ",")):
            break  # '2025年，将重点从以下方面做好改进：一是…': the measures begin
        if prev.endswith(("：", ":", "，", ",")) or (asks_list and prev.endswith(("；", ";"))):
            pass  # the sentence goes on (for a list, the clauses of one item after another)
        elif asks_list and len(out) == 1 and opens and _EXAMPLES_START.match(sent):
            pass  # '…仍存在一定差距。如依申请公开工作规范性还有待提高、…等。'
        elif asks_list and not e and _enums(prev) and len(prev) <= 20:
            pass  # '二是主动意识需要增强。' is an item's title: its body follows
        elif asks_list and e and last is None and e[0][1] == 1 and (
                any(k in lead for k in keywords) if len(lead) > 2 and not _BARE_LEAD.fullmatch(lead)
                else (opens or len(out) == 1)):
            pass  # the enumeration the sentence announces
        elif asks_list and e and last is not None and e[0][0] == last[0] and e[0][1] == last[1] + 1:
            pass  # the next item
        elif asks_list and last is not None and not e and any(
                _enums(s) and _enums(s)[0] == (last[0], last[1] + 1) for _, s, _k in units[j + 1:j + 3]):
            pass  # the item goes on for another sentence
        else:
            break
        if e:
            last = e[-1]
        out.append(units[j][:2])
        size += len(sent)
        j += 1
    return out


__all__ = ["answer", "warm_up", "Answer", "Citation", "QuestionError", "IndexNotFound", "years_text"]
