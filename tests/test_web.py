"""The citizens' web page in a real browser (Debian chromium driven by Playwright).

A real server (FastAPI + ui.web.mount under uvicorn, on 127.0.0.1) over a real index
built from data/. The browser asks the example question, a follow-up, opens a source
and the browse tab; screenshots go to tests/output/ (gitignored). No request may leave
the machine. A second index, from a report whose text carries <script> and an <img
onerror>, checks that report text is shown as text and never runs.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "output"
JIAOCHA = "000_8d3f9a9668695af1"  # 彭阳县交岔乡 2021
ROUYUAN = "003_fb8decbe9b2e9cc0"  # 沙坡头区柔远镇 2020
HONGZE = "r001_huaian_hongze_2023"  # 淮安市洪泽区 2023: table 四 does not add up
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = '<img src=x onerror="window.__xss=2">'
TIMEOUT = 30_000  # ms

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"Debian chromium not installed at {CHROMIUM} (apt-get install chromium)")]

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


# ------------------------------------------------------------------ servers
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _build(input_dir: Path, index_dir: Path, with_retrieval: bool, facts_url: str | None = None) -> None:
    from index.build import build

    stages = None
    if with_retrieval:
        try:
            from index.retrieval_stage import default_stages
        except ImportError:
            default_stages = None
        stages = default_stages() if default_stages else None
    build(input_dir, index_dir, progress=False, stages=stages, facts_url=facts_url)


class Server:
    """FastAPI + the page, under uvicorn in a thread of this process: mounted with
    ui.web.mount, or (plain=True) with a bare gr.mount_gradio_app as web.server does."""

    def __init__(self, index_dir: Path, plain: bool = False):
        import uvicorn
        from fastapi import FastAPI

        from ui.web import build_demo, mount

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        if plain:
            import gradio as gr

            app = gr.mount_gradio_app(FastAPI(), build_demo(index_dir), path="/")
        else:
            app = mount(FastAPI(), index_dir)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def site(tmp_path_factory, facts_url):
    index_dir = tmp_path_factory.mktemp("web_index")
    _build(ROOT / "data", index_dir, with_retrieval=True, facts_url=facts_url)
    with Server(index_dir, plain=True) as server:
        yield server.url


@pytest.fixture(scope="module")
def xss_site(tmp_path_factory, facts_url):
    """An index of a report whose section 一 carries markup, and of a real report whose
    table 四 fails its arithmetic (r001)."""
    inputs = tmp_path_factory.mktemp("xss_inputs")
    shutil.copy(ROOT / "tests" / "fixtures" / "real" / f"{HONGZE}.pdf", inputs / f"{HONGZE}.pdf")
    text = (ROOT / "data" / f"{JIAOCHA}.txt").read_text(encoding="utf-8")
    # Into every sentence of section 一 about 工作机制, so a question about it quotes one.
    head, sep, tail = text.partition("二、行政机关主动公开政府信息情况")
    assert sep and "工作机制" in head
    text = head.replace("工作机制", f"工作机制{XSS_SCRIPT}{XSS_IMG}") + sep + tail
    (inputs / f"{JIAOCHA}.txt").write_text(text, encoding="utf-8")
    index_dir = tmp_path_factory.mktemp("xss_index")
    _build(inputs, index_dir, with_retrieval=False, facts_url=facts_url)
    with Server(index_dir) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM,
                              args=["--headless", "--no-sandbox", "--disable-gpu",
                                    "--disable-background-networking", "--disable-component-update"])
        yield b
        b.close()


class Page:
    """A page that records every request it makes."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT)
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))

    def outside(self) -> list[str]:
        bad = []
        for url in self.requests:
            parsed = urlparse(url)
            if parsed.scheme in ("data", "blob"):
                continue
            if parsed.hostname not in ("127.0.0.1", "localhost"):
                bad.append(url)
        return bad

    def close(self):
        self.context.close()


def bot_messages(page):
    return page.locator("#nb-chat .message.bot, #nb-chat [data-testid='bot']")


def ask(page, question: str, before: int):
    page.fill("#nb-question textarea", question)
    page.click("#nb-send")
    return wait_answer(page, before)


def wait_answer(page, before: int):
    """The newest answer once there are more than ``before`` of them (a question is first
    echoed with a progress line; the answer replaces it)."""
    page.wait_for_function(
        """n => document.querySelectorAll("#nb-chat [data-testid='bot'] .nb-answer").length > n""", arg=before)
    last = page.locator("#nb-chat [data-testid='bot']").last
    last.wait_for()
    return last


def shot(page, name: str):
    page.screenshot(path=str(OUTPUT / name), full_page=True)


# ------------------------------------------------------------------ tests
def test_ask_follow_up_source_and_browse(site, browser):
    p = Page(browser)
    page = p.page
    try:
        page.goto(site)
        page.wait_for_selector("#nb-question textarea")
        assert "政府信息公开" in page.title() or "年报" in page.title()

        first = ask(page, "哪些乡镇2021年没有收到政府信息公开申请？", 0)
        text = first.inner_text()
        for name in ("交岔乡", "群峰乡", "官厅镇", "大溪乡"):
            assert name in text
        assert "柔远镇" not in text.split("来源")[0]
        sources = first.locator("details.nb-src")
        assert sources.count() == 4
        # Each source links to the report at the cited place (web.source_view) and to the browse tab.
        links = [a.get_attribute("href") for a in first.locator("details.nb-src a").all()]
        assert any(h.startswith("/source/") and "row=" in h and h.endswith("#nb-hit") for h in links)
        assert any(h.startswith("?report=") and "row=" in h for h in links)
        # Every township received 0 requests: no chart of empty bars (issue 11).
        assert first.locator("figure.nb-chart").count() == 0
        shot(page, "web_01_answer.png")

        # Open a source: the quoted table row appears.
        quote = sources.first.locator("blockquote")
        assert not quote.is_visible()
        sources.first.locator("summary").click()
        quote.wait_for(state="visible")
        assert "本年新收政府信息公开申请数量" in quote.inner_text()
        assert sources.first.locator("table.nb-table").is_visible()
        sources.first.scroll_into_view_if_needed()
        shot(page, "web_02_source_open.png")

        # A follow-up keeps the figure, the level and the condition, changes the year.
        second = ask(page, "那2020年呢？", 1)
        text = second.inner_text()
        answer_part = text.split("来源")[0]
        assert "柔远镇" in answer_part and "2020" in answer_part
        assert "交岔乡" not in answer_part
        assert second.locator("details.nb-src").count() >= 1
        shot(page, "web_03_follow_up.png")

        # The first example question (drawn from the index), clicked: answered, with sources.
        example = page.locator("#nb-examples button.nb-example").first
        asked = example.inner_text().strip()
        example.click()
        third = wait_answer(page, 2)
        assert page.locator("#nb-chat [data-testid='user']").last.inner_text().strip() == asked
        assert third.locator(".nb-interp").count() == 1 and third.locator("details.nb-src").count() >= 1
        assert "没有找到" not in third.inner_text()

        # A list whose figures are all 0 (the sample townships' 行政处罚 in 2021): its table, no
        # chart of empty bars (charts with bars: tests/test_page_chat.py).
        listed = ask(page, "2021年各乡镇行政处罚分别是多少？", 3)
        assert listed.locator(".nb-scroll").first.locator("tbody tr").count() == 4
        assert listed.locator("figure.nb-chart").count() == 0

        # The browse tab: pick a report, see metadata, checks, tables, sections.
        page.get_by_role("tab", name="浏览报告").click()
        page.wait_for_selector("#nb-meta table")
        picker = page.locator("#nb-report input")
        picker.click()
        page.get_by_role("option", name="柔远镇").first.click()
        page.wait_for_function(
            """() => (document.querySelector('#nb-meta') || {}).innerText?.includes('柔远镇')""")
        meta = page.locator("#nb-meta").inner_text()
        assert "沙坡头区柔远镇" in meta and "2020" in meta
        tables = page.locator("#nb-tables")
        assert tables.locator("table.nb-table").count() == 3
        assert "本年新收政府信息公开申请数量" in tables.inner_text()
        assert "校验" in page.locator("#nb-checks").inner_text()
        assert page.locator("#nb-checks tr.nb-pass, #nb-checks tr.nb-fail").count() > 0
        assert page.locator("#nb-sections details.nb-section").count() >= 6
        shot(page, "web_04_browse.png")

        # Filters: with the year filter at 2020, a question without a year asks about 2020.
        page.get_by_role("tab", name="问答").click()
        page.click("#nb-clear")
        page.wait_for_function("""() => document.querySelectorAll("#nb-chat [data-testid='bot']").length == 0""")
        page.locator("#nb-year input").click()
        page.get_by_role("option", name="2020年").click()
        filtered = ask(page, "哪些乡镇没有收到政府信息公开申请？", 0)
        text = filtered.inner_text()
        assert "已按筛选条件" in text and "柔远镇" in text.split("来源")[0]
        assert "交岔乡" not in text.split("来源")[0]
        shot(page, "web_05_filter.png")

        # The link a source gives opens the browse tab on that report.
        page.goto(site + f"?report={JIAOCHA}")
        page.wait_for_function(
            """() => (document.querySelector('#nb-meta') || {}).innerText?.includes('交岔乡')""")
        assert page.locator("#nb-tables table.nb-table").first.is_visible()

        assert p.outside() == [], f"requests left the machine: {p.outside()}"
        assert len(p.requests) > 5
    finally:
        p.close()


def test_report_text_is_shown_as_text_and_never_runs(xss_site, browser):
    p = Page(browser)
    page = p.page
    try:
        page.goto(xss_site + f"?report={JIAOCHA}")
        page.wait_for_function(
            """() => (document.querySelector('#nb-sections') || {}).innerText?.includes('总体情况')""")
        sections = page.locator("#nb-sections").inner_text()
        assert XSS_SCRIPT in sections
        assert 'onerror="window.__xss=2"' in sections
        shot(page, "web_06_xss_browse.png")

        page.get_by_role("tab", name="问答").click()
        reply = ask(page, "交岔乡是怎么健全工作机制的？", 0)
        reply.locator("details.nb-src summary").first.click()
        reply_text = reply.inner_text()
        assert "<script>window." in reply_text and "<img src=x onerror=" in reply_text
        assert page.get_by_text("<script>window.", exact=False).first.is_visible()
        shot(page, "web_07_xss_chat.png")

        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.locator("script:has-text('__xss')").count() == 0
        assert page.locator("img[src='x']").count() == 0

        # A report failing its checks: the failing ones are listed first, highlighted.
        page.goto(xss_site + f"?report={HONGZE}")
        page.wait_for_function(
            """() => (document.querySelector('#nb-meta') || {}).innerText?.includes('洪泽')""")
        failing = page.locator("#nb-checks tr.nb-fail")
        assert failing.count() >= 1 and failing.first.is_visible()
        assert "未通过" in failing.first.inner_text()
        background = failing.first.locator("td").first.evaluate("e => getComputedStyle(e).backgroundColor")
        assert background not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
        assert "未通过 " in page.locator("#nb-checks").inner_text()
        page.locator("#nb-checks").scroll_into_view_if_needed()
        shot(page, "web_08_failing_checks.png")
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert p.outside() == [], f"requests left the machine: {p.outside()}"
    finally:
        p.close()


def test_interpretation_line_and_the_chat_clear_icon_forgets(site, browser):
    """Issue 9: each answer says how the question was understood (我理解为：…), and the
    chat's own clear icon forgets the conversation (before: the old context still steered
    the next answer)."""
    p = Page(browser)
    page = p.page
    try:
        page.goto(site)
        page.wait_for_selector("#nb-question textarea")
        first = ask(page, "柔远镇2020年行政处罚多少件？", 0)
        line = first.locator(".nb-interp")
        assert line.inner_text().startswith("我理解为：柔远镇，2020年，行政处罚")
        labels = page.locator("#nb-chat button").evaluate_all(
            "bs => bs.map(b => b.getAttribute('aria-label') || b.getAttribute('title') || '')")
        clear_icon = page.locator("#nb-chat").get_by_role("button", name=re.compile(r"clear|清", re.I))
        assert clear_icon.count() >= 1, f"no clear icon among the chat's buttons: {labels}"
        clear_icon.first.click()
        page.wait_for_function("""() => document.querySelectorAll("#nb-chat [data-testid='bot']").length == 0""")
        after = ask(page, "那2021年呢？", 0)
        text = after.inner_text()
        assert "柔远镇" not in text and "行政处罚为" not in text  # nothing left to follow up on
        assert p.outside() == []
    finally:
        p.close()


def test_filters_are_added_only_when_understood(tmp_path, facts_url):
    """Unit check of the filter rewrite (no browser needed, but kept with the page tests)."""
    from index.factstore import open_fact_store
    from qa.understand import Catalog
    from ui.web import apply_filters

    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in (f"{JIAOCHA}.txt", f"{ROUYUAN}.txt"):
        shutil.copy(ROOT / "data" / name, inputs / name)
    _build(inputs, tmp_path / "idx", with_retrieval=False, facts_url=facts_url)
    with open_fact_store(tmp_path / "idx") as store:
        catalog = Catalog.from_db(store)
    q, note = apply_filters("哪些乡镇没有收到政府信息公开申请？", [], "2020", "", catalog)
    assert q.startswith("2020年") and "2020年" in note
    q, note = apply_filters("柔远镇2020年行政处罚多少件？", [], "2021", "township", catalog)
    assert q == "柔远镇2020年行政处罚多少件？"  # the question says year and body itself
    q, _ = apply_filters("那行政处罚呢？", ["哪些乡镇2021年没有收到申请"], "", "", catalog)
    assert q == "那行政处罚呢？"
    # A year filter set on the page beats the year an earlier question named (issue 9).
    q, note = apply_filters("那行政处罚呢？", ["哪些乡镇2021年没有收到申请"], "2020", "", catalog)
    assert "2020年" in q and "已按筛选条件" in note
    # A trend spans years: the year filter does not narrow it to one report.
    q, note = apply_filters("交岔乡历年收到的申请是怎么变化的", [], "2020", "", catalog)
    assert q == "交岔乡历年收到的申请是怎么变化的" and "不适用" in note


def test_chart_for_trend_and_none_for_single_lookup():
    from ui.web import chart_html

    facts = [{"report_id": f"r{y}", "table": "依申请", "row": "本年新收", "column": "总计", "value": str(v),
              "unit": "件", "blank": False, "uncertain": False, "agency": "平潭综合实验区管委会", "year": y}
             for y, v in ((2019, 12), (2020, 30), (2021, 0))]
    facts.append({"report_id": "r2022", "table": "依申请", "row": "本年新收", "column": "总计", "value": None,
                  "unit": "件", "blank": True, "uncertain": False, "agency": "平潭综合实验区管委会", "year": 2022})
    result = {"intent": "trend", "facts": facts, "query": {"figure_name": "本年新收政府信息公开申请"}}
    chart = chart_html(result, {})
    assert chart.count("nb-bar-row") == 4
    bars = chart.split("</figcaption>")[1]
    assert bars.index("2019年") < bars.index("2020年") < bars.index("2022年")
    # The title names the body, the figure and the years.
    assert "平潭综合实验区管委会 2019–2022年 本年新收政府信息公开申请" in chart.split("</figcaption>")[0]
    assert "width:100.0%" in chart and "未填报" in chart
    assert chart_html({"intent": "lookup", "facts": facts[:1]}, {}) == ""
    zeros = [dict(f, value="0") for f in facts[:3]]
    assert chart_html({"intent": "trend", "facts": zeros}, {}) == ""  # never an all-zero chart (issue 11)
    evil = dict(facts[0], report_id="x", agency="<script>alert(1)</script>", year=2019)
    assert "<script>" not in chart_html({"intent": "list", "facts": [evil, facts[1]]}, {})
