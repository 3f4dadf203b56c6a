"""List readers' verdicts on answers (the page's 有用/有误 control, POST /api/feedback).

    .venv/bin/python scripts/feedback.py                    # newest first, a table
    .venv/bin/python scripts/feedback.py --verdict wrong    # only 有误
    .venv/bin/python scripts/feedback.py --csv > feedback.csv
    .venv/bin/python scripts/feedback.py --json --limit 0   # all of them, as JSON

Verdicts are kept in a SQLite file: $NIANBAO_FEEDBACK, default var/feedback.db (or --file),
outside the index's builds so rebuilding keeps them. Each row has the question, the
answer as shown, the verdict, the reader's comment, the time (UTC) and the index build
that answered. The same list is GET /api/feedback (with an API key).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index.feedback import COLUMNS, VERDICT_WORDS, FeedbackError, FeedbackStore, FeedbackUnavailable  # noqa: E402
from index.settings import Settings  # noqa: E402

VERDICT_SHOWN = {"useful": "有用", "wrong": "有误"}
CUT = 40  # characters of a question, answer or comment in the table


def _cut(text: str, n: int = CUT) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[:n - 1] + "…"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="List readers' verdicts on answers (newest first).")
    parser.add_argument("--file", help="feedback file (default $NIANBAO_FEEDBACK, else var/feedback.db)")
    parser.add_argument("--verdict", choices=list(VERDICT_WORDS), help="only this verdict (useful/wrong, 有用/有误)")
    parser.add_argument("--limit", type=int, default=100, help="at most this many rows (0: all; default 100)")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="CSV with every column, full text")
    form.add_argument("--json", action="store_true", help="JSON with every column, full text")
    args = parser.parse_args(argv)
    if args.limit < 0:
        parser.error("--limit must be 0 (all) or more")
    store = FeedbackStore(args.file or Settings.from_env().feedback)
    try:
        rows, total = store.list(verdict=args.verdict, limit=args.limit or None)
    except (FeedbackError, FeedbackUnavailable) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"data": rows, "count": total}, ensure_ascii=False, indent=1))
    elif args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    elif not rows:
        print(f"No feedback in {store.path}.")
    else:
        print("id\ttime (UTC)\tverdict\tquestion\tanswer\tcomment\tbuild")
        for r in rows:
            print("\t".join([str(r["id"]), r["created_at"], VERDICT_SHOWN[r["verdict"]], _cut(r["question"]),
                             _cut(r["answer"]), _cut(r["comment"]), r["build"]]))
        shown = f"{len(rows)} of {total}" if len(rows) < total else str(total)
        print(f"{shown} verdict(s) in {store.path}.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
