"""The citizens' web page: ask questions of the annual reports, browse the reports.

    from ui.web import build_demo, mount
    demo = build_demo("var/index")          # a gr.Blocks
    app = mount(FastAPI(), "var/index")     # the page at '/', next to the API routes

Two tabs:

- 问答: a chat. Each answer is followed by its sources; each source opens (HTML
  ``<details>``) to the quoted passage or the full table row it comes from, with links
  to the report file (``/api/reports/{id}/source``, served by web.api) and to the report
  in the browse tab (``?report={id}``). Follow-up questions work: the earlier questions
  go to ``qa.answer.answer`` as history. Filters for year and level are added to the
  question text when the question does not say them itself, and only when
  ``qa.understand`` reads the result as meaning that filter. A list, ranking or trend
  gets a bar chart (plain HTML, no script).
- 浏览报告 (ui.browse): pick a report; its metadata, check results, its three tables and
  its sections.

The parts: ui.markup (escaping, grids, base styles), ui.view (the served index),
ui.answer_view (one answer: text, sources, chart), ui.links (links to a report), ui.browse.

Everything that comes from a report is HTML-escaped before it is shown: report text is
text, never markup, and no script from a report runs. Nothing is loaded from outside
the machine (gradio serves its own assets; the theme uses system fonts; analytics off:
``python -m qa serve`` sets GRADIO_ANALYTICS_ENABLED=False and HF_HUB_OFFLINE before
gradio is imported).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import gradio as gr

from index.served import IndexNotFound
from qa.answer import answer, catalog_of
from qa.conversation import trim_history
from qa.understand import LEVEL_NAMES, Catalog, QuestionError, understand

from . import answer_view, browse, markup
from .answer_view import answer_markdown, chart_html
from .browse import BrowseTab
from .markup import LEVEL_LABELS, esc
from .view import IndexView

log = logging.getLogger(__name__)

EXAMPLES = [
    "哪些乡镇2021年没有收到政府信息公开申请？",
    "柔远镇2020年行政处罚多少件？",
    "交岔乡是怎么做好主动公开的？",
    "2021年哪个乡镇收到的申请最多？",
    "2021年各乡镇行政处罚分别是多少？",
]
# Words that make qa.understand read a level (see qa.understand._LEVEL_PATTERNS).
LEVEL_WORDS = {"township": "乡镇", "county": "县区", "city": "市级", "province": "省级", "department": "部门"}
FOLLOW_UP_START = re.compile(r"^(那么|那|还有|另外|再|换成|如果是|改成|同样|也)")
THEME = gr.themes.Default(
    font=[gr.themes.Font("PingFang SC"), gr.themes.Font("Microsoft YaHei"), gr.themes.Font("Noto Sans CJK SC"),
          gr.themes.Font("sans-serif")],
    font_mono=[gr.themes.Font("monospace")],
)

# Each part of the page brings its own styles.
CSS = markup.CSS + answer_view.CSS + browse.CSS


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


# ------------------------------------------------------------------------ the page
def build_demo(index_dir: str | Path) -> gr.Blocks:
    """The page (gr.Blocks) for the index at ``index_dir``."""
    view = IndexView(index_dir)

    def choices_now():
        reports = view.reports()
        years = sorted({r["year"] for r in reports if r.get("year")}, reverse=True)
        levels = sorted({r["level"] for r in reports if r.get("level")})
        year_choices = [("全部年份", "")] + [(f"{y}年", str(y)) for y in years]
        level_choices = [("全部层级", "")] + [(LEVEL_LABELS.get(lv, lv), lv) for lv in levels]
        return year_choices, level_choices

    def ask(question, messages, asked, year, level):
        question = (question or "").strip()
        messages = list(messages or [])
        asked = list(asked or [])
        if not question:
            return "", messages, asked, gr.update()
        names = {}
        try:
            index = view.served.get()  # one build for the whole answer
            names = view.short_names(index)
            with index.facts() as store:
                effective, note = apply_filters(question, asked, year, level, catalog_of(index, store))
                result = answer(effective, index, asked or None)
                data = result.to_dict()
                data["query"] = getattr(result, "query", {}) or {}
                reply = answer_markdown(data, note, names, store)
            chart = chart_html(data, names)
            asked.append(effective)
        except QuestionError as error:
            reply, chart = esc(str(error)), ""
        except (IndexNotFound, FileNotFoundError):
            reply, chart = "还没有建立索引，暂时无法回答。请联系管理员建立索引。", ""
        except Exception:  # keep the page usable; the log has the details
            log.exception("answering %r failed", question)
            reply, chart = "抱歉，回答这个问题时出错了，请换个说法再试。", ""
        messages += [{"role": "user", "content": esc(question)}, {"role": "assistant", "content": reply}]
        return "", messages, asked, gr.update(value=chart, visible=bool(chart))

    def clear():
        return [], [], [], gr.update(value="", visible=False)  # chat, its copy, history, chart

    def on_load():
        year_choices, level_choices = choices_now()
        return gr.Dropdown(choices=year_choices), gr.Dropdown(choices=level_choices)

    year_choices, level_choices = choices_now()
    with gr.Blocks(title="政府信息公开年报问答", analytics_enabled=False) as demo:
        # The page's own styles travel with it: whoever mounts it (mount() below, or a plain
        # gr.mount_gradio_app as web.server does) gets the chart bars and the highlights.
        gr.HTML(f"<style>{CSS}</style>", elem_id="nb-style", container=False, padding=False, js_on_load=None)
        gr.Markdown("# 政府信息公开工作年度报告问答\n"
                    "用日常的话提问，答案来自各级政府发布的《政府信息公开工作年度报告》，"
                    "每个答案都附有出处，点开可看报告原文摘录。")
        with gr.Tabs(elem_id="nb-tabs") as tabs:
            with gr.Tab("问答", id="ask", elem_id="nb-tab-ask"):
                with gr.Row():
                    year_filter = gr.Dropdown(year_choices, value="", label="年份筛选", elem_id="nb-year",
                                              scale=1)
                    level_filter = gr.Dropdown(level_choices, value="", label="层级筛选", elem_id="nb-level",
                                               scale=1)
                chatbot = gr.Chatbot(label="对话", show_label=False, elem_id="nb-chat", height=560,
                                     sanitize_html=True, render_markdown=True, latex_delimiters=[], feedback_options=None,
                                     buttons=["copy"],
                                     placeholder="请在下方输入问题，或点击示例问题。")
                with gr.Row():
                    box = gr.Textbox(placeholder="例如：哪些乡镇2021年没有收到政府信息公开申请？", show_label=False,
                                     scale=5, elem_id="nb-question", max_lines=3)
                    send = gr.Button("提问", variant="primary", scale=1, elem_id="nb-send")
                    reset = gr.Button("清空对话", scale=1, elem_id="nb-clear")
                gr.Markdown("**示例问题**（点击即可提问）：")
                with gr.Row():
                    example_buttons = [gr.Button(q, size="sm", elem_classes=["nb-example"]) for q in EXAMPLES]
                chart = gr.HTML("", visible=False, elem_id="nb-chart", js_on_load=None)
                asked = gr.State([])
                messages = gr.State([])
            browse_tab = BrowseTab(view)

        inputs = [box, messages, asked, year_filter, level_filter]

        def ask_and_store(question, msgs, asked_, year, level):
            text, new_msgs, new_asked, chart_update = ask(question, msgs, asked_, year, level)
            new_msgs, new_asked = trim_history(new_msgs, new_asked)  # the API's history limit
            return text, new_msgs, new_msgs, new_asked, chart_update

        outputs = [box, chatbot, messages, asked, chart]
        box.submit(ask_and_store, inputs, outputs)
        send.click(ask_and_store, inputs, outputs)
        for button, q in zip(example_buttons, EXAMPLES):
            button.click(lambda m, a, y, lv, q=q: ask_and_store(q, m, a, y, lv),
                         [messages, asked, year_filter, level_filter], outputs)
        reset.click(lambda: ("", *clear()), None, [box, chatbot, messages, asked, chart])
        # The chat's own clear icon (🗑) must forget the conversation as well.
        chatbot.clear(lambda: clear()[1:], None, [messages, asked, chart])
        demo.load(on_load, None, [year_filter, level_filter])
        browse_tab.wire(demo, tabs)
    demo.nianbao_theme = THEME
    demo.nianbao_css = CSS
    return demo


def mount(app, index_dir: str | Path, path: str = "/"):
    """Mount the page on a FastAPI app at ``path`` (default '/'); returns the app."""
    demo = build_demo(index_dir)
    # No uploads, run history or monitoring: the page needs none (web.limits also refuses their routes).
    return gr.mount_gradio_app(app, demo, path=path, theme=THEME, css=CSS, footer_links=[],
                               ssr_mode=False, run_history=False, enable_monitoring=False,
                               max_file_size=1, show_error=False)


__all__ = ["build_demo", "mount", "THEME", "CSS", "apply_filters", "answer_markdown", "chart_html"]
