"""Readers' verdicts on answers (有用 / 有误, with an optional comment), kept in their own
SQLite file (``Settings.feedback``, from NIANBAO_FEEDBACK; default var/feedback.db).

    record_feedback(settings, "交岔乡2021年收到多少申请？", "…为 0 件。", "wrong", "应为 2 件", build)
    FeedbackStore(settings.feedback).list(verdict="wrong")     # (rows, how many in all)

The file lives outside the index's build directories, so a rebuild (which switches
``current`` to a new build) keeps every verdict; each row records the build that gave
the answer, so staff can tell an answer fixed by a later build from one still wrong.
The page (ui/) and ``POST /api/feedback`` write it; ``scripts/feedback.py`` and
``GET /api/feedback`` (with an API key) read it. Nothing about the reader is stored
(no address, no key): only what was asked, what was answered and what they said.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import NianbaoError
from .settings import Settings

log = logging.getLogger(__name__)

# verdicts as stored, and the words the page may send for them
VERDICTS = ("useful", "wrong")
VERDICT_WORDS = {"useful": "useful", "wrong": "wrong", "有用": "useful", "有误": "wrong"}
MAX_QUESTION_CHARS = 2000  # as qa.understand.MAX_QUESTION_CHARS (a question longer is never answered)
MAX_ANSWER_CHARS = 20_000  # an answer longer is kept cut, marked with …
MAX_COMMENT_CHARS = 1000
MAX_BUILD_CHARS = 100

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,          -- UTC, 2026-12-03T16:50:00Z
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('useful', 'wrong')),
    comment TEXT NOT NULL DEFAULT '',
    build TEXT NOT NULL DEFAULT ''      -- the index build that answered (builds/<id>)
);
CREATE INDEX IF NOT EXISTS feedback_by_verdict ON feedback (verdict, id);
"""
COLUMNS = ("id", "created_at", "question", "answer", "verdict", "comment", "build")


class FeedbackError(NianbaoError, ValueError):
    """Feedback that cannot be taken (unknown verdict, empty question, comment too long);
    the message says which and what is allowed."""


class FeedbackUnavailable(NianbaoError, OSError):
    """The feedback file cannot be opened or written (the API answers 503)."""


@dataclass(frozen=True)
class Feedback:
    """One verdict, checked: what ``FeedbackStore.record`` writes."""

    question: str
    answer: str
    verdict: str
    comment: str = ""
    build: str = ""

    @classmethod
    def checked(cls, question: str, answer: str, verdict: str, comment: str | None = "",
                build: str | None = "") -> "Feedback":
        """The feedback with its verdict read (有用/有误 or useful/wrong) and its sizes
        checked; raises FeedbackError naming the field at fault."""
        question = (question or "").strip()
        if not question:
            raise FeedbackError("question: empty (the question the answer was given to)")
        if len(question) > MAX_QUESTION_CHARS:
            raise FeedbackError(f"question: {len(question)} characters, at most {MAX_QUESTION_CHARS}")
        word = (verdict or "").strip()
        if word not in VERDICT_WORDS:
            raise FeedbackError(f"verdict: {verdict!r} is not one of {', '.join(VERDICT_WORDS)}")
        comment = (comment or "").strip()
        if len(comment) > MAX_COMMENT_CHARS:
            raise FeedbackError(f"comment: {len(comment)} characters, at most {MAX_COMMENT_CHARS}")
        build = (build or "").strip()
        if len(build) > MAX_BUILD_CHARS:
            raise FeedbackError(f"build: {len(build)} characters, at most {MAX_BUILD_CHARS}")
        answer = (answer or "").strip()
        if len(answer) > MAX_ANSWER_CHARS:
            answer = answer[:MAX_ANSWER_CHARS - 1] + "…"  # ours, not the reader's: kept, cut
        return cls(question, answer, VERDICT_WORDS[word], comment, build)


class FeedbackStore:
    """The feedback file: one connection per call (the page's threads and the API
    write it at once; SQLite serialises the writes)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10)
            db.row_factory = sqlite3.Row
            db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as error:
            raise FeedbackUnavailable(f"the feedback file {self.path} cannot be opened ({error})") from error
        self._secure()
        return db

    def _secure(self) -> None:
        """Mode 600: comments are readers' words, for staff only."""
        try:
            if (self.path.stat().st_mode & 0o777) != 0o600:
                os.chmod(self.path, 0o600)
        except OSError as error:  # not its owner: say so, feedback is still kept
            log.warning("cannot make %s mode 600: %s", self.path, error)

    def record(self, feedback: Feedback) -> int:
        """Store one checked verdict; returns its id."""
        db = self._connect()
        try:
            cursor = db.execute(
                "INSERT INTO feedback (created_at, question, answer, verdict, comment, build) VALUES (?,?,?,?,?,?)",
                (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), feedback.question, feedback.answer,
                 feedback.verdict, feedback.comment, feedback.build))
            db.commit()
            return int(cursor.lastrowid)
        except sqlite3.Error as error:
            raise FeedbackUnavailable(f"the feedback file {self.path} cannot be written ({error})") from error
        finally:
            db.close()

    def list(self, *, verdict: str | None = None, offset: int = 0, limit: int | None = 100) -> tuple[list[dict], int]:
        """Verdicts, newest first (only ``verdict`` when given), and how many match in all."""
        if verdict is not None and verdict not in VERDICT_WORDS:
            raise FeedbackError(f"verdict: {verdict!r} is not one of {', '.join(VERDICT_WORDS)}")
        if not self.path.exists():
            return [], 0
        where, args = "", []
        if verdict is not None:
            where, args = " WHERE verdict = ?", [VERDICT_WORDS[verdict]]
        db = self._connect()
        try:
            total = db.execute(f"SELECT COUNT(*) FROM feedback{where}", args).fetchone()[0]
            rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback{where} ORDER BY id DESC "
                              "LIMIT ? OFFSET ?", [*args, -1 if limit is None else limit, offset]).fetchall()
        except sqlite3.Error as error:
            raise FeedbackUnavailable(f"the feedback file {self.path} cannot be read ({error})") from error
        finally:
            db.close()
        return [dict(r) for r in rows], int(total)


def feedback_path(settings_or_path: Settings | str | Path | None) -> Path:
    """The feedback file of a Settings (its ``feedback``), or the path given."""
    if isinstance(settings_or_path, Settings):
        return settings_or_path.feedback
    return Path(settings_or_path) if settings_or_path is not None else Settings().feedback


def record_feedback(settings_or_path: Settings | str | Path | None, question: str, answer: str, verdict: str,
                    comment: str | None = "", build: str | None = "") -> int:
    """Store a reader's verdict on an answer; returns its id. ``verdict`` is 有用/有误
    (or useful/wrong); ``build`` the index build that answered (``index.served.Index.build_id``).
    Raises FeedbackError for feedback that cannot be taken and FeedbackUnavailable
    when the file cannot be written."""
    return FeedbackStore(feedback_path(settings_or_path)).record(
        Feedback.checked(question, answer, verdict, comment, build))


__all__ = ["VERDICTS", "VERDICT_WORDS", "MAX_COMMENT_CHARS", "Feedback", "FeedbackError", "FeedbackUnavailable",
           "FeedbackStore", "record_feedback", "feedback_path"]
