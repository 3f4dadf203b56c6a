"""Request and response shapes of the HTTP API (web.api), as pydantic models.

Requests and responses are kept apart; list responses are ``{"data": [...], "count": n}``
(``count`` is the number of matches before pagination). Every error is
``{"error": {"code": ..., "message": ...}}`` (``ErrorResponse``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from index.feedback import MAX_ANSWER_CHARS, MAX_BUILD_CHARS, MAX_COMMENT_CHARS
from qa.conversation import MAX_HISTORY_TURNS
from qa.understand import MAX_QUESTION_CHARS

__all__ = ["MAX_HISTORY_TURNS"]  # re-exported: the API's history limit


# ----------------------------------------------------------------------------- errors
class ErrorBody(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["no report with id 'r999'"])


class ErrorResponse(BaseModel):
    error: ErrorBody


# ----------------------------------------------------------------------------- ask
class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_QUESTION_CHARS * 4)


class AskRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"question": "哪些乡镇2021年没有收到政府信息公开申请？", "history": []},
        {"question": "那2020年呢？", "history": [
            {"role": "user", "content": "哪些乡镇2021年没有收到政府信息公开申请？"},
            {"role": "assistant", "content": "2021年乡镇（街道）中……"}]},
    ]})

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS,
                          description=f"the question, at most {MAX_QUESTION_CHARS} characters")
    history: list[Turn] = Field(default_factory=list, max_length=MAX_HISTORY_TURNS,
                                description="earlier turns of the conversation, oldest first")


class Citation(BaseModel):
    report_id: str
    title: str | None
    agency: str | None
    year: int | None
    section: str | None
    page: int | None
    quote: str


class FigureAsked(BaseModel):
    name: str = Field(examples=["本年新收政府信息公开申请"])
    table: str = Field(examples=["依申请"])
    rows: list[str] = Field(examples=[["本年新收"]])
    columns: list[str] = Field(examples=[["总计"]])
    unit: str


class ConditionAsked(BaseModel):
    op: str = Field(examples=["="])
    value: float | None = Field(examples=[0])
    text: str = Field(examples=["为0"])


class Interpretation(BaseModel):
    """How the question was understood (the page shows ``summary`` as 我理解为：…)."""

    intent: str = Field(examples=["list"])
    bodies: list[str] = Field(description="bodies named, as answers name them")
    unknown_bodies: list[str] = Field(description="names asked that are not in the index")
    region: str | None
    level: str | None
    years: list[int]
    figure: FigureAsked | None
    condition: ConditionAsked | None
    aggregate: str | None
    follow_up: bool
    summary: str = Field(examples=["乡镇（街道），2021年，本年新收政府信息公开申请，条件：为0；方式：列出符合条件的单位"])


class AskResponse(BaseModel):
    """The same object as ``python -m qa ask --json``."""

    answer: str
    citations: list[Citation]
    facts: list[dict]
    intent: str
    warnings: list[str]
    interpretation: Interpretation | None = None
    suggestions: list[str] = Field(default_factory=list, description="questions to ask next (qa.suggest)")


# ----------------------------------------------------------------------------- search
class SearchHit(BaseModel):
    passage_id: str
    rank: int
    score: float
    kind: str
    report_id: str
    section: int | None
    section_title: str | None
    page_start: int | None
    page_end: int | None
    text: str
    citation: Citation


class SearchResponse(BaseModel):
    query: str
    mode: str
    data: list[SearchHit]
    count: int


# ----------------------------------------------------------------------------- reports
class ReportPublic(BaseModel):
    id: str
    title: str | None
    body: str | None
    short_name: str | None
    level: str | None
    province: str | None
    city: str | None
    county: str | None
    year: int | None
    template: str | None
    format: str | None
    doc_number: str | None
    publish_date: str | None
    page_count: int | None
    failed_checks: int
    uncertain_cells: int
    url: str


class ReportsPublic(BaseModel):
    data: list[ReportPublic]
    count: int
    offset: int
    limit: int


class SectionPublic(BaseModel):
    number: int
    title: str | None
    text: str | None
    page_start: int | None
    page_end: int | None


class CellPublic(BaseModel):
    row: str
    column: str
    value: str | None = Field(description="the number as printed; null when blank or uncertain")
    number: float | None
    unit: str | None
    raw: str | None
    page: int | None
    blank: bool = Field(description="printed empty (未填报): never read as 0")
    uncertain: bool = Field(description="could not be read with certainty; see candidates")
    candidates: list[str] = []


class CheckPublic(BaseModel):
    rule: str
    scope: str | None
    passed: bool | None = Field(description="null when the check could not be decided")
    detail: str | None


class ReportDetail(ReportPublic):
    problems: list[str]
    source_file: str
    source_url: str
    sections: list[SectionPublic]
    tables: dict[str, list[CellPublic]] = Field(
        description="the three standard tables (主动公开, 依申请, 复议诉讼), cells in reading order")
    checks: list[CheckPublic]


# ----------------------------------------------------------------------------- facts
class FigurePublic(BaseModel):
    name: str
    table: str
    rows: list[str]
    columns: list[str]
    unit: str


class FactRow(BaseModel):
    report_id: str
    agency: str
    name: str
    level: str | None
    region: str | None
    year: int | None
    value: float | None = Field(description="null when blank, uncertain or missing")
    text_value: str | None
    unit: str | None
    status: Literal["ok", "blank", "partial", "uncertain", "missing"]
    blank: bool
    uncertain: bool
    page: int | None
    quote: str
    note: str


class FactsResponse(BaseModel):
    figure: FigurePublic
    condition: str | None
    columns: list[str]
    data: list[FactRow]
    count: int = Field(description="rows matching in all, on every page")
    offset: int
    limit: int | None = Field(description="rows per page; null: every row")
    next_offset: int | None = Field(description="offset of the next page; null on the last one")


# ----------------------------------------------------------------------------- checks
class CheckFailure(BaseModel):
    rule: str
    scope: str | None
    detail: str | None
    numbers: list[float] = Field(description="the report's numbers in the equation, in order")


class ReportChecks(BaseModel):
    report_id: str
    title: str | None
    agency: str | None
    level: str | None
    year: int | None
    failures: list[CheckFailure]
    url: str


class ChecksResponse(BaseModel):
    data: list[ReportChecks]
    count: int


# ----------------------------------------------------------------------------- feedback
class FeedbackCreate(BaseModel):
    """A reader's verdict on an answer (the page's 有用/有误 control)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"question": "交岔乡2021年收到多少申请？", "answer": "彭阳县交岔乡2021年本年新收政府信息公开申请为 0 件。",
         "verdict": "有误", "comment": "报告正文说收到 2 件"},
    ]})

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="the question answered")
    answer: str = Field(max_length=MAX_ANSWER_CHARS, description="the answer as shown")
    verdict: Literal["有用", "有误", "useful", "wrong"]
    comment: str = Field("", max_length=MAX_COMMENT_CHARS, description=f"at most {MAX_COMMENT_CHARS} characters")
    build: str | None = Field(None, max_length=MAX_BUILD_CHARS,
                              description="the index build that answered (default: the build served now)")


class FeedbackCreated(BaseModel):
    id: int
    verdict: Literal["useful", "wrong"]
    build: str


class FeedbackPublic(BaseModel):
    id: int
    created_at: str = Field(examples=["2026-12-03T16:50:00Z"], description="UTC")
    question: str
    answer: str
    verdict: Literal["useful", "wrong"]
    comment: str
    build: str = Field(description="the index build that answered")


class FeedbackList(BaseModel):
    data: list[FeedbackPublic]
    count: int
    offset: int
    limit: int


# ----------------------------------------------------------------------------- health
class Health(BaseModel):
    status: Literal["ok", "no_index"]
    reports: int
    built_at: str | None
    model: str | None = Field(description="embedding model the retrieval index was built with")
    retrieval: bool = Field(description="the index has a retrieval (search) part")
    ui: bool = Field(description="the citizens' page is mounted at /")
