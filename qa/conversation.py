"""How long a conversation may be: one limit for the API (``/api/ask``'s ``history``)
and the web page (its server-side chat), kept here, below both.

    from qa.conversation import MAX_HISTORY_TURNS, trim_history
"""

from __future__ import annotations

MAX_HISTORY_TURNS = 20
MAX_MESSAGES = MAX_HISTORY_TURNS * 2  # a chat of N turns is 2N messages


def trim_history(messages: list, asked: list) -> tuple[list, list]:
    """The page's chat (2 messages a turn) and its asked questions, cut to the last
    MAX_HISTORY_TURNS turns (the API refuses longer histories; the page forgets the oldest)."""
    return list(messages)[-MAX_MESSAGES:], list(asked)[-MAX_HISTORY_TURNS:]
