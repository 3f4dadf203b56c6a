"""Answer a question over an index: ``answer(question, index_dir, history=None) -> Answer``.

    >>> from qa.answer import answer
    >>> a = answer("交岔乡2021年收到多少申请？", "var/index")
    >>> a.answer, a.citations[0].quote
    ('彭阳县交岔乡2021年本年新收政府信息公开申请为 0 件。', '表三 本年新收政府信息公开申请数量 总计：0')

Figures come from the facts table (``qa.facts``), free-text questions from passages
(``qa.retrieve.search`` when it is available, else the stored sections) from which
the sentences that answer are extracted.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections import Counter
from pathlib import Path

from index.build import current_dir, open_store
from index.sections import STANDARD_TITLES

from . import facts as F
from .compose import Answer, Citation, Composer, compose, section_title, sentences_of, years_text
from .understand import Catalog, Query, QuestionError, check_question, understand


class IndexNotFound(FileNotFoundError):
    """No index has been built at the directory given."""


_CATALOGS: dict[str, tuple[float, Catalog]] = {}


def _catalog(db: sqlite3.Connection, index_dir: str | Path) -> Catalog:
    build = current_dir(index_dir)
    key = str(build)
    stamp = (Path(build) / "reports.db").stat().st_mtime if build else 0.0
    cached = _CATALOGS.get(key)
    if cached and cached[0] == stamp:
        return cached[1]
    catalog = Catalog.from_db(db)
    _CATALOGS[key] = (stamp, catalog)
    return catalog


def open_index(index_dir: str | Path) -> sqlite3.Connection:
    if current_dir(index_dir) is None:
        raise IndexNotFound(f"no index at {index_dir}: build one with scripts/build_index.py")
    return open_store(index_dir)


def answer(question: str, index_dir: str | Path, history=None) -> Answer:
    """Answer one question (with earlier questions of the conversation in ``history``).

    Raises QuestionError for an empty or over-long question and IndexNotFound when
    ``index_dir`` holds no index."""
    question = check_question(question)
    db = open_index(index_dir)
    try:
        catalog = _catalog(db, index_dir)
        if not catalog.reports:
            return Answer("索引中还没有任何报告，无法回答。", intent="text")
        query = understand(question, history, catalog)
        if query.intent == "text":
            return answer_text(db, catalog, query, index_dir)
        return compose(db, catalog, query)
    finally:
        db.close()


# ---------------------------------------------------------------------- text questions
_STOP = set("""年 年度 报告 哪些 什么 如何 怎么 怎样 哪个 多少 主要 情况 工作 政府 信息 公开 政府信息 信息公开 政务
有 的 了 吗 呢 是 在 和 与 及 对 中 里 请问 一下 请 说 讲 提到 介绍 一 二 三 今年 去年 最新 这个 那个 我 你 他 它
其 该 本 方面 关于 有关 哪 些 做 做了 开展 进行 具体 内容 相关 一些 这些 那些 还 都 也 就 要 被 把 给""".split())
_SECTION_HINTS = [
    (re.compile(r"问题|不足|改进|整改|短板|差距|困难"), 5),
    (re.compile(r"信息处理费|处理费|其他需要报告|其他事项|收取.*费"), 6),
    (re.compile(r"复议|诉讼"), 4),
    (re.compile(r"依申请|申请"), 3),
    (re.compile(r"主动公开|平台|网站|公众号|新媒体|解读|培训|制度|机制|监督|组织|领导"), 1),
]


_EXPANSIONS = [(re.compile(r"处理费|收费|收钱|费用"), ("收费", "收取", "处理费")),
               (re.compile(r"问题|不足"), ("存在", "问题", "不足", "有待")),
               (re.compile(r"改进|整改|措施"), ("改进", "措施", "整改", "加强")),
               (re.compile(r"培训|学习"), ("培训", "学习")),
               (re.compile(r"平台|渠道|网站"), ("网站", "平台", "公众号", "渠道"))]


def _keywords(text: str, drop: set[str]) -> list[str]:
    import jieba

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
    return list(dict.fromkeys(words))


def _retrieve(index_dir, query: Query, refs, catalog: Catalog) -> list[dict]:
    """Passages for a text question: qa.retrieve when present, else the stored sections."""
    try:
        from .retrieve import search  # written alongside; optional
    except ImportError:
        return []
    kwargs = {}
    if len(query.years) == 1:
        kwargs["year"] = query.years[0]
    if len(query.bodies) == 1:
        kwargs["agency"] = query.bodies[0]
    try:
        hits = search(index_dir, query.text_query or query.question, k=8, **kwargs)
    except Exception:  # retrieval is an optional stage; fall back to sections
        return []
    ids = {r.id for r in refs}
    out = []
    for h in hits:
        rid = getattr(h, "report_id", None)
        if ids and rid not in ids:
            continue
        out.append({"report_id": rid, "number": getattr(h, "section_number", None) or getattr(h, "section", None),
                    "title": getattr(h, "section_title", None), "page": getattr(h, "page", None),
                    "text": getattr(h, "text", "") or "", "score": float(getattr(h, "score", 0) or 0)})
    return out


_HEADING = re.compile(
    r"^\s*[#*\s]*[一二三四五六七][、.．]\s*(?:存在的主要问题及(?:改进|整改)(?:情况|措施)|其他需要报告的事项|总体情况|"
    r"(?:行政机关)?主动公开政府信息情况|收到和处理政府信息公开申请情况|政府信息公开行政复议、行政诉讼情况)[*\s]*")


def _strip_heading(text: str) -> str:
    return _HEADING.sub("", text, count=1)


def answer_text(db: sqlite3.Connection, catalog: Catalog, query: Query, index_dir) -> Answer:
    c = Composer(db, catalog, query)
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
        names |= {a for a, bodies in catalog.aliases.items() if r.body in bodies}
    question = query.text_query or query.question
    keywords = _keywords(re.sub(r"\d{2,4}年度?", "", question), names)
    hinted = [n for rx, n in _SECTION_HINTS if rx.search(question)]
    ref_by_id = {r.id: r for r in refs}

    passages = [p for p in _retrieve(index_dir, query, refs, catalog) if p["report_id"] in ref_by_id]
    for s in F.sections(db, list(ref_by_id)):
        if s["number"] == 0:
            continue
        passages.append({"report_id": s["report_id"], "number": s["number"], "title": s["title"],
                         "page": s["page_start"], "text": _strip_heading(s["text"] or ""), "score": 0.0})
    # Score each sentence: keyword overlap weighted by rarity, plus the section hint.
    candidates = []
    for p in passages:
        for i, sent in enumerate(sentences_of(p["text"])):
            candidates.append((p, i, sent))
    if not candidates:
        return c.done("报告中没有找到可以回答这个问题的文字。")
    df = Counter()
    for _, _, sent in candidates:
        for w in set(k for k in keywords if k in sent):
            df[w] += 1
    n = len(candidates)
    scored = []
    for p, i, sent in candidates:
        score = sum(math.log(1 + n / (1 + df[w])) for w in keywords if w in sent)
        number = p.get("number")
        if isinstance(number, int) and number in hinted:
            score += 3.0 if score > 0 else 0.5
        if re.match(r"^[（(]?[一二三四五六七八九十]+[)）、]", sent) and len(sent) < 16:
            score -= 1  # a bare heading
        if len(sent) < 12 or re.fullmatch(r"[\d\s年月日]+|.{2,20}(局|政府|委员会|办公室|办公厅)", sent):
            score -= 2  # a date or signature line
        score += min(p.get("score", 0.0), 1.0) * 0.2
        scored.append((score, p, i, sent))
    scored.sort(key=lambda x: -x[0])
    best = scored[0]
    if best[0] <= 0.5:
        return c.done("报告中没有找到能回答这个问题的语句。" +
                      (f"（检索范围：{'、'.join(c.who(r) for r in refs[:5])}报告）" if refs else ""))
    # Answer from the best report and section: its best sentence and the sentences
    # that follow it (an enumeration 一是…二是… runs over several), in reading order.
    rid, number = best[1]["report_id"], best[1].get("number")
    same = [x for x in scored if x[1]["report_id"] == rid and x[1].get("number") == number]
    in_order = sorted(same, key=lambda x: x[2])
    start = next(i for i, x in enumerate(in_order) if x[2] == best[2])
    top = [in_order[start]]
    for x in in_order[start + 1:start + 4]:
        if re.match(r"^[（(]?[二三四五六][)）、]|^[（(][一二三四五六][)）]", x[3]) and x[0] < best[0] * 0.5:
            break  # the next heading (e.g. （二）改进措施) starts another topic
        if x[0] <= 0 and not re.match(r"^[一二三四五六七八九十]是|^\d[.、]", x[3]) \
                and not top[-1][3].endswith(("；", ";", "：", ":")):
            break  # signature, date or unrelated text
        top.append(x)
    ref = ref_by_id[rid]
    quotes = []
    for score, p, i, sent in top:
        if sent in quotes:
            continue
        quotes.append(sent)
        sec = {"title": p.get("title")}
        title = section_title(sec, p.get("number"))
        c.citations.append(Citation(ref.id, ref.title, ref.body, ref.year, title, p.get("page"), sent))
    section = c.citations[0].section if c.citations else ""
    text = f"据{c.who(ref)}报告" + (f"（{section}）" if section else "") + "：" + "".join(
        q if q.endswith(("。", "；", "！", "？")) else q + "。" for q in quotes)
    others = [r for r in refs if r.id != rid]
    if others and not query.bodies:
        text += f"\n\n（在 {len(refs)} 份报告中检索，以上摘自最相关的一份。）"
    return c.done(text)


__all__ = ["answer", "Answer", "Citation", "QuestionError", "IndexNotFound", "years_text"]
