"""The citizens' web page: ask questions of the annual reports, browse the reports.

    from ui.web import build_demo, mount
    demo = build_demo("var/index")          # a gr.Blocks
    app = mount(FastAPI(), "var/index")     # the page at '/', next to the API routes

Two tabs:

- 问答: the first screen says what the index covers (qa.suggest.coverage_line) and offers
  example questions drawn from it (qa.suggest.example_questions), the input box first.
  A question is echoed at once with a progress line, then the answer replaces it: one
  bubble (ui.answer_view) with the interpretation, the answer and its table, a chart
  when it helps, one plain warning line, the sources, follow-up questions, and copy and
  feedback buttons. Follow-up questions work: the earlier questions go to
  ``qa.answer.answer`` as history. Filters for year and level are added to the question
  text when the question does not say them itself, and only when ``qa.understand``
  reads the result as meaning that filter.
- 浏览报告 (ui.browse): pick a report; its metadata, check results, its three tables and
  its sections.

The parts: ui.markup (escaping, grids, base styles), ui.view (the served index),
ui.answer_view (one answer), ui.links (links to a report), ui.browse, and the page
script (PAGE_JS below: follow-up and copy buttons, feedback, accessible names, keeping
the new answer in view). Gradio's sanitiser keeps scripts out of chat messages, so the
buttons in a bubble are plain HTML and one delegated listener handles them.

Everything that comes from a report is HTML-escaped before it is shown: report text is
text, never markup, and no script from a report runs. Nothing is loaded from outside
the machine (gradio serves its own assets; the theme uses system fonts; analytics off:
``python -m qa serve`` sets GRADIO_ANALYTICS_ENABLED=False and HF_HUB_OFFLINE before
gradio is imported).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections import OrderedDict
from pathlib import Path

import gradio as gr

from index.feedback import MAX_COMMENT_CHARS, VERDICTS, FeedbackError, FeedbackUnavailable, record_feedback
from index.served import IndexNotFound
from index.settings import Settings
from qa.answer import answer, catalog_of
from qa.conversation import trim_history
from qa.suggest import coverage, coverage_line, example_questions
from qa.understand import LEVEL_NAMES, Catalog, QuestionError, understand

from . import answer_view, browse, markup
from .answer_view import answer_html, answer_plain, chart_html, message_html, progress_html
from .browse import BrowseTab
from .markup import LEVEL_LABELS, esc
from .view import IndexView

log = logging.getLogger(__name__)

N_EXAMPLES = 6  # example buttons on the first screen (fewer shown when the index gives fewer)
# Words that make qa.understand read a level (see qa.understand._LEVEL_PATTERNS).
LEVEL_WORDS = {"township": "乡镇", "county": "县区", "city": "市级", "province": "省级", "department": "部门"}
FOLLOW_UP_START = re.compile(r"^(那么|那|还有|另外|再|换成|如果是|改成|同样|也)")
# Colours with text contrast >= 4.5:1 (the default orange primary gave 2.8:1).
THEME = gr.themes.Default(
    primary_hue=gr.themes.colors.blue,
    font=[gr.themes.Font("PingFang SC"), gr.themes.Font("Microsoft YaHei"), gr.themes.Font("Noto Sans CJK SC"),
          gr.themes.Font("sans-serif")],
    font_mono=[gr.themes.Font("monospace")],
)

PAGE_CSS = """
#nb-coverage { color: #374151; margin: 0 0 4px 0; }
/* No empty box above the input: the chat shows from the first question on. */
#nb-chat:not(:has([data-testid="user"])) { display: none; }
#nb-examples-head { font-weight: 600; margin-top: 4px; }
#nb-examples { gap: 6px; }
#nb-examples button.nb-example { font-size: 15px; font-weight: 400; text-align: left; justify-content: flex-start;
  white-space: normal; height: auto; min-height: 36px; flex: 0 1 auto; }
#nb-send, .primary { background: #1d4ed8 !important; border-color: #1d4ed8 !important; color: #fff !important; }
#nb-question textarea::placeholder { color: #6b7280; opacity: 1; }
#nb-tabs button[role="tab"][aria-selected="true"] { color: #1d4ed8; }
#nb-tabs button[role="tab"][aria-selected="true"]::after { background-color: #1d4ed8; }
#nb-chat .message-row.bot-row { max-width: 100%; }
#nb-chat .md.chatbot { opacity: 1; }  /* gradio dims answers to 0.8: grey text fell below 4.5:1 */
#nb-chat .nb-table th, #nb-chat .nb-table td { padding: 3px 8px; }
footer a, footer button { color: #4b5563 !important; }
@media (max-width: 640px) {
  #nb-examples button.nb-example { font-size: 15px; width: 100%; }
  #nb-ask-row { flex-wrap: wrap; gap: 8px; }
  #nb-ask-row > :first-child { flex: 1 1 100%; }
  #nb-ask-row > button { flex: 1 1 40%; }
  #nb-chat .message-row { margin-left: 0 !important; margin-right: 0 !important; padding-left: 4px; padding-right: 4px; }
}
"""
# Each part of the page brings its own styles.
CSS = markup.CSS + answer_view.CSS + browse.CSS + PAGE_CSS


# ------------------------------------------------------------------------ filters
def apply_filters(question: str, history: list[str], year, level, catalog: Catalog | None) -> tuple[str, str]:
    """The question to ask given the page's filters, and a note saying what was done.

    A filter is added to the question text only where the question does not name a year
    (or a body/level/region) itself, and only if qa.understand reads the new text as
    meaning that filter; otherwise the question is asked as typed and the note says so."""
    year = int(year) if year not in (None, "", "全部") else None
    level = level or None
    if (year is None and level is None) or catalog is None:
        return question, ""
    try:
        # The question's own words decide (a filter set on the page beats a year the
        # conversation mentioned earlier); the follow-up still inherits the rest.
        q = understand(question, None, catalog)
        with_history = understand(question, history or None, catalog)
    except QuestionError:
        return question, ""
    if with_history.intent == "trend" and year is not None and not q.years:
        return question, f"年份筛选（{year}年）不适用于历年变化的问题，已按全部年份回答。"
    prefix, wanted = "", []
    if year is not None and not q.years:
        prefix += f"{year}年"
        wanted.append(f"{year}年")
    add_level = level is not None and level in LEVEL_WORDS and not (q.bodies or q.level or q.region)
    if add_level:
        prefix += LEVEL_WORDS[level]
        wanted.append(LEVEL_NAMES.get(level, level))
    if not prefix:
        return question, ""
    m = FOLLOW_UP_START.match(question)
    candidate = question[:m.end()] + prefix + question[m.end():] if m else prefix + question
    try:
        check = understand(candidate, history or None, catalog)
    except QuestionError:
        return question, ""
    ok = (year is None or bool(q.years) or check.years == [year]) and (not add_level or check.level == level)
    if ok:
        return candidate, f"已按筛选条件（{'、'.join(wanted)}）提问：{candidate}"
    return question, f"筛选条件（{'、'.join(wanted)}）无法套用到这个问题，已按原问题回答。"


# ------------------------------------------------------------------------ answers kept for feedback
class AnswerLog:
    """The answers this page gave, by id, for the feedback buttons: what was asked, what
    was answered (plain text) and from which index build. The newest ``limit`` are kept."""

    def __init__(self, limit: int = 5000):
        self.limit = limit
        self._items: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, question: str, answer_text: str, build: str) -> str:
        answer_id = uuid.uuid4().hex[:16]
        with self._lock:
            self._items[answer_id] = {"question": question, "answer": answer_text, "build": build}
            while len(self._items) > self.limit:
                self._items.popitem(last=False)
        return answer_id

    def get(self, answer_id: str) -> dict | None:
        with self._lock:
            return self._items.get(answer_id)


# ------------------------------------------------------------------------ the page script
# Runs once per page (gr.HTML js_on_load, so it travels with the Blocks however mounted).
# Feedback goes through a gradio event (a hidden box and button): web.limits lets the page
# run code only through /gradio_api/queue/join, so no server function and no extra route.
PAGE_JS = r"""
if (!window.__nbPage) {
  window.__nbPage = true;
  const q = (sel, root) => (root || document).querySelector(sel);
  const qa = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  // Chinese accessible names for what gradio names in English or not at all.
  const NAMES = [
    ['#nb-question textarea', '输入问题'],
    ['#nb-chat [role="log"]', '问答对话'],
    ['#nb-chat [aria-label="chatbot conversation"]', '问答对话'],
    ['#nb-year input', '年份筛选'],
    ['#nb-level input', '层级筛选'],
    ['#nb-chat button[aria-label="Clear"]', '清空对话'],
  ];
  const name = () => {
    for (const [sel, label] of NAMES) {
      for (const el of qa(sel)) {
        if (el.getAttribute('aria-label') !== label) el.setAttribute('aria-label', label);
        if (el.hasAttribute('title') && el.getAttribute('title') !== label) el.setAttribute('title', label);
      }
    }
    for (const el of qa('.nb-fb-text')) if (!el.getAttribute('aria-label')) el.setAttribute('aria-label', '哪里有误（可不填）');
    // gradio names each message "bot's message: <its whole markup>"
    for (const el of qa('#nb-chat [aria-label^="bot\'s message"]')) el.setAttribute('aria-label', '回答');
    for (const el of qa('#nb-chat [aria-label^="user\'s message"]')) {
      el.setAttribute('aria-label', '提问：' + el.textContent.trim().slice(0, 80));
    }
  };
  const ask = text => {
    const box = q('#nb-question textarea');
    if (!box) return;
    box.value = text;
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => q('#nb-send').click(), 50);  // after gradio has taken the new value
  };
  const copy = async text => {
    try { await navigator.clipboard.writeText(text); return true; }
    catch (e) {
      const area = document.createElement('textarea');
      area.value = text; area.setAttribute('readonly', ''); area.style.position = 'fixed'; area.style.opacity = '0';
      document.body.appendChild(area); area.select();
      const ok = document.execCommand('copy'); area.remove(); return ok;
    }
  };
  const waiting = {};
  window.__nbFeedbackDone = reply => {
    let r = {};
    try { r = JSON.parse(reply || '{}'); } catch (e) { return; }
    const done = waiting[r.id];
    if (done) { delete waiting[r.id]; done(!!r.ok); }
  };
  const feedback = (aid, verdict, comment) => new Promise(resolve => {
    const box = q('#nb-fb-data textarea, #nb-fb-data input'), go = q('#nb-fb-go');
    if (!box || !go || !aid) { resolve(false); return; }
    const id = aid + ':' + Date.now();
    waiting[id] = resolve;
    setTimeout(() => { if (waiting[id]) { delete waiting[id]; resolve(false); } }, 20000);
    box.value = JSON.stringify({id: id, answer: aid, verdict: verdict, comment: comment});
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => go.click(), 50);
  });
  const say = (bubble, text) => { const s = q('.nb-status', bubble); if (s) s.textContent = text; };
  document.addEventListener('click', async ev => {
    const button = ev.target.closest('.nb-answer button');
    if (!button) return;
    const bubble = button.closest('.nb-answer');
    if (button.classList.contains('nb-ask')) { ask(button.textContent.trim()); return; }
    if (button.classList.contains('nb-copy')) {
      const text = (q('.nb-plain', bubble) || {}).textContent || '';
      window.__nbCopied = text;
      say(bubble, (await copy(text)) ? '已复制' : '复制失败，请手动选择文字复制');
      return;
    }
    const aid = (q('.nb-aid', bubble) || {}).textContent || '';
    const tools = button.closest('.nb-tools');
    // 有用 is stored at once; 有误 first opens the comment box (what is wrong, optional)
    // and is stored, with the comment, by 提交: one row per verdict either way.
    if (button.classList.contains('nb-fb-up')) {
      for (const b of qa('.nb-fb', tools)) b.setAttribute('aria-pressed', b === button ? 'true' : 'false');
      tools.classList.remove('nb-fb-open');
      const done = await feedback(aid, 'useful', '');
      say(bubble, done ? '已记录，谢谢！' : '暂时无法记录，请稍后再试');
      if (done) for (const b of qa('.nb-fb', tools)) b.disabled = true;
      return;
    }
    if (button.classList.contains('nb-fb-down')) {
      for (const b of qa('.nb-fb', tools)) b.setAttribute('aria-pressed', b === button ? 'true' : 'false');
      tools.classList.add('nb-fb-open');
      say(bubble, '哪里有误？可以写几句（可不填），然后点“提交”。');
      const box = q('.nb-fb-text', bubble);
      if (box) box.focus();
      return;
    }
    if (button.classList.contains('nb-fb-send')) {
      const text = (q('.nb-fb-text', bubble) || {}).value || '';
      const done = await feedback(aid, 'wrong', text);
      say(bubble, done ? '已记录，谢谢！' : '暂时无法记录，请稍后再试');
      if (done) {
        tools.classList.remove('nb-fb-open');
        for (const b of qa('.nb-fb', tools)) b.disabled = true;
      }
    }
  });
  // Keep the newest question and its answer in view: when a question is echoed and when
  // its answer replaces the progress line, scroll the question to the top of the screen.
  let seen = '';
  const follow = () => {
    const users = qa('#nb-chat [data-testid="user"]');
    const bots = qa('#nb-chat [data-testid="bot"]');
    const last = bots[bots.length - 1];
    const key = users.length + ':' + bots.length + ':' + (last && q('.nb-progress', last) ? 'wait' : 'done');
    if (key === seen) return;
    seen = key;
    const asked = users[users.length - 1];
    if (asked && bots.length) asked.scrollIntoView({block: 'start'});
  };
  new MutationObserver(() => { name(); follow(); }).observe(document.body, {childList: true, subtree: true});
  // A dropdown's list closes when the keyboard leaves it: gradio opens it on any key,
  // Tab included, and leaves it open once the focus has gone.
  // Only a Tab does this: a click elsewhere is gradio's own business (it closes the list
  // itself, and an Escape sent then would fight the list the click opens).
  let tabbed = false;
  document.addEventListener('keydown', ev => { tabbed = ev.key === 'Tab'; }, true);
  document.addEventListener('mousedown', () => { tabbed = false; }, true);
  document.addEventListener('focusout', ev => {
    const input = ev.target;
    if (!tabbed || !(input instanceof HTMLInputElement) || input.getAttribute('role') !== 'combobox') return;
    setTimeout(() => {
      if (document.activeElement !== input && input.getAttribute('aria-expanded') === 'true') {
        input.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}));
      }
    }, 0);
  });
  name();
}
"""


# ------------------------------------------------------------------------ the page
def _first_screen(view: IndexView) -> tuple[str, list[str]]:
    """The coverage line and the example questions of the build being served."""
    index = view.index()
    if index is None:
        return "还没有建立索引。", []
    try:
        return coverage_line(coverage(index)), example_questions(index, N_EXAMPLES)
    except Exception:  # the page still opens; the log says why
        log.exception("coverage or examples failed")
        return "", []


def build_demo(index_dir: str | Path, feedback_file: str | Path | None = None) -> gr.Blocks:
    """The page (gr.Blocks) for the index at ``index_dir``; readers' 有用/有误 go to
    ``feedback_file`` (default: the default settings' file, var/feedback.db)."""
    view = IndexView(index_dir)
    # the settings are read at the edge (python -m qa serve, web.server): here only their default
    feedback_file = Path(feedback_file) if feedback_file is not None else Settings().feedback
    answers = AnswerLog()

    def choices_now():
        reports = view.reports()
        years = sorted({r["year"] for r in reports if r.get("year")}, reverse=True)
        levels = sorted({r["level"] for r in reports if r.get("level")})
        year_choices = [("全部年份", "")] + [(f"{y}年", str(y)) for y in years]
        level_choices = [("全部层级", "")] + [(LEVEL_LABELS.get(lv, lv), lv) for lv in levels]
        return year_choices, level_choices

    def reply_to(question, asked, year, level) -> tuple[str, str | None]:
        """The bubble answering ``question``, and the question as asked (None on failure)."""
        try:
            index = view.served.get()  # one build for the whole answer
            names = view.short_names(index)
            with index.facts() as store:
                effective, note = apply_filters(question, asked, year, level, catalog_of(index, store))
                result = answer(effective, index, asked or None)
                data = result.to_dict()
                data["query"] = getattr(result, "query", {}) or {}
                plain = answer_plain(data, note, names, store)
                answer_id = answers.add(effective, plain, index.build_id)
                return answer_html(data, note, names, store, answer_id, plain), effective
        except QuestionError as error:
            return message_html(str(error)), None
        except (IndexNotFound, FileNotFoundError):
            return message_html("还没有建立索引，暂时无法回答。请联系管理员建立索引。"), None
        except Exception:  # keep the page usable; the log has the details
            log.exception("answering %r failed", question)
            return message_html("抱歉，回答这个问题时出错了，请换个说法再试。"), None

    def ask_and_store(question, msgs, asked_, year, level):
        """Two steps: the question echoed with a progress line at once, then the answer.
        (Its name is the event's api_name, which scripts/load_test.py asks by.)"""
        question = (question or "").strip()
        msgs, asked_ = list(msgs or []), list(asked_ or [])
        if not question:
            yield gr.update(), gr.update(), msgs, asked_
            return
        pending = msgs + [{"role": "user", "content": esc(question)},
                          {"role": "assistant", "content": progress_html()}]
        yield "", pending, msgs, asked_
        reply, effective = reply_to(question, asked_, year, level)
        msgs = pending[:-1] + [{"role": "assistant", "content": reply}]
        if effective is not None:
            asked_.append(effective)
        msgs, asked_ = trim_history(msgs, asked_)  # the API's history limit
        yield "", msgs, msgs, asked_

    def feedback(payload: str) -> str:
        """One 有用/有误 from the page script ({"id", "answer", "verdict", "comment"} as
        JSON), stored with its answer; replies {"id", "ok"}."""
        try:
            data = json.loads(payload or "{}")
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        ok = record(str(data.get("answer") or ""), str(data.get("verdict") or ""), str(data.get("comment") or ""))
        return json.dumps({"id": str(data.get("id") or ""), "ok": ok})

    def record(answer_id: str, rating: str, comment: str) -> bool:
        kept = answers.get(answer_id)
        if kept is None or rating not in VERDICTS:
            return False
        try:
            record_feedback(feedback_file, kept["question"], kept["answer"], rating,
                            comment[:MAX_COMMENT_CHARS], kept["build"])
        except (FeedbackError, FeedbackUnavailable) as error:
            log.warning("feedback not stored: %s", error)
            return False
        return True

    def on_load():
        year_choices, level_choices = choices_now()
        line, examples = _first_screen(view)
        buttons = [gr.update(value=q, visible=True) for q in examples]
        buttons += [gr.update(visible=False)] * (N_EXAMPLES - len(examples))
        return (gr.Dropdown(choices=year_choices), gr.Dropdown(choices=level_choices), coverage_html(line),
                *buttons)

    year_choices, level_choices = choices_now()
    line, examples = _first_screen(view)
    with gr.Blocks(title="政府信息公开年报问答", analytics_enabled=False) as demo:
        # The page's own styles and script travel with it: whoever mounts it (mount() below,
        # or a plain gr.mount_gradio_app as web.server does) gets them.
        gr.HTML(f"<style>{CSS}</style>", elem_id="nb-style", container=False, padding=False,
                js_on_load=PAGE_JS)
        gr.Markdown("# 政府信息公开工作年度报告问答\n"
                    "用日常的话提问，答案来自各级政府发布的《政府信息公开工作年度报告》，"
                    "每个答案都附有出处，点开可看报告原文摘录。")
        cover = gr.HTML(coverage_html(line), elem_id="nb-coverage", container=False, padding=False)
        with gr.Tabs(elem_id="nb-tabs") as tabs:
            with gr.Tab("问答", id="ask", elem_id="nb-tab-ask"):
                # No empty box above the input (hidden by CSS until the first question) and
                # no fixed height: the chat grows with its content and the page scrolls.
                chatbot = gr.Chatbot(label="问答对话", show_label=False, elem_id="nb-chat", height=None,
                                     min_height=0, max_height=None, autoscroll=True,
                                     sanitize_html=True, render_markdown=True, latex_delimiters=[],
                                     feedback_options=None, buttons=[], placeholder=None)
                with gr.Row(elem_id="nb-ask-row"):
                    box = gr.Textbox(label="输入问题", show_label=False, scale=5, elem_id="nb-question", max_lines=3,
                                     placeholder="例如：某地某年收到多少政府信息公开申请？", autofocus=False)
                    send = gr.Button("提问", variant="primary", scale=1, elem_id="nb-send", min_width=80)
                    reset = gr.Button("清空对话", scale=1, elem_id="nb-clear", min_width=80)
                gr.HTML('<div id="nb-examples-head">可以这样问（点击即可提问）：</div>', container=False, padding=False)
                with gr.Row(elem_id="nb-examples"):
                    example_buttons = [
                        gr.Button(examples[i] if i < len(examples) else "", size="sm", elem_classes=["nb-example"],
                                  visible=i < len(examples), min_width=0)
                        for i in range(N_EXAMPLES)]
                with gr.Row():
                    year_filter = gr.Dropdown(year_choices, value="", label="年份筛选", elem_id="nb-year",
                                              scale=1, min_width=140)
                    level_filter = gr.Dropdown(level_choices, value="", label="层级筛选", elem_id="nb-level",
                                               scale=1, min_width=140)
                asked = gr.State([])
                messages = gr.State([])
                # What the feedback buttons send and get back (see PAGE_JS); never shown.
                with gr.Row(elem_classes=["nb-hidden"]):
                    feedback_in = gr.Textbox(elem_id="nb-fb-data", label="反馈内容", max_lines=1)
                    feedback_go = gr.Button("记录反馈", elem_id="nb-fb-go")
                    feedback_out = gr.Textbox(elem_id="nb-fb-result", label="反馈结果")
            browse_tab = BrowseTab(view)

        outputs = [box, chatbot, messages, asked]
        settings = dict(show_progress="hidden")
        box.submit(ask_and_store, [box, messages, asked, year_filter, level_filter], outputs, **settings)
        send.click(ask_and_store, [box, messages, asked, year_filter, level_filter], outputs, **settings)
        for button in example_buttons:
            button.click(ask_and_store, [button, messages, asked, year_filter, level_filter], outputs, **settings)
        reset.click(lambda: ("", [], [], []), None, outputs)
        # The chat's own clear icon (🗑) must forget the conversation as well.
        chatbot.clear(lambda: ([], []), None, [messages, asked])
        feedback_go.click(feedback, feedback_in, feedback_out, show_progress="hidden").then(
            None, feedback_out, None, js="reply => { window.__nbFeedbackDone(reply); return []; }")
        demo.load(on_load, None, [year_filter, level_filter, cover, *example_buttons], show_progress="hidden")
        browse_tab.wire(demo, tabs)
    demo.nianbao_theme = THEME
    demo.nianbao_css = CSS
    return demo


def coverage_html(line: str) -> str:
    return f'<p id="nb-coverage-line">{esc(line)}</p>' if line else ""


def mount(app, index_dir: str | Path, path: str = "/", feedback_file: str | Path | None = None):
    """Mount the page on a FastAPI app at ``path`` (default '/'); returns the app. Feedback
    goes to ``feedback_file``, else to the API's settings' file when the app has them."""
    if feedback_file is None:
        api = getattr(app.state, "api", None)
        feedback_file = getattr(getattr(api, "settings", None), "feedback", None)
    demo = build_demo(index_dir, feedback_file)
    # No uploads, run history or monitoring: the page needs none (web.limits also refuses their routes).
    return gr.mount_gradio_app(app, demo, path=path, theme=THEME, css=CSS, footer_links=[],
                               ssr_mode=False, run_history=False, enable_monitoring=False,
                               max_file_size=1, show_error=False)


__all__ = ["build_demo", "mount", "THEME", "CSS", "apply_filters", "answer_html", "chart_html"]
