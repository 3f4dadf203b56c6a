"""Command line: ask a question of an index.

    python -m qa ask "交岔乡2021年收到多少申请？" --index var/index
    python -m qa ask "那官厅镇呢？" --index var/index --history "交岔乡2021年收到多少申请？"
    python -m qa ask "平潭历年收到的申请" --index var/index --json

Prints the answer, then its sources (one line per citation) and any warnings; with
--json, one JSON object {"answer", "citations", "facts", "intent", "warnings"}.
Errors (no index, empty or over-long question) are one line on stderr, exit status 1.

    python -m qa serve --index var/index [--host 127.0.0.1] [--port 8000]

serves the API (/api/…, docs at /docs) and the web page (/) in one process (web.server);
it reads the settings from the environment (index.settings.Settings.from_env), the one
place the server's settings come from.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .answer import IndexNotFound, answer
from .understand import QuestionError


def format_answer(result) -> str:
    lines = [result.answer]
    if result.citations:
        lines.append("\n来源：")
        for c in result.citations:
            where = "，".join(x for x in (c.section, f"第{c.page}页" if c.page else "") if x)
            lines.append(f"- [{c.report_id}] {c.agency} {c.year or ''}年 {where}：{c.quote}")
    if result.warnings:
        lines.append("\n注意：")
        lines += [f"- {w}" for w in result.warnings]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa", description="Ask questions of an annual-report index.")
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--index", required=True, help="index directory (scripts/build_index.py)")
    ask.add_argument("--history", action="append", default=[],
                     help="an earlier question of the conversation (repeat, oldest first)")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    serve = sub.add_parser("serve", help="serve the API and the web page (one process)")
    serve.add_argument("--index", required=True, help="index directory (scripts/build_index.py)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--no-ui", action="store_true", help="serve the API only, without the web page")
    serve.add_argument("--forwarded-allow-ips", default="",
                       help="comma-separated addresses or networks of reverse proxies whose X-Forwarded-For "
                            "header names the client (default: none, the header is ignored)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return run_server(args)
    try:
        result = answer(args.question, args.index, args.history or None)
    except (QuestionError, IndexNotFound) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    else:
        print(format_answer(result))
    return 0


def run_server(args) -> int:
    from index.build import current_dir

    from index.integrity import index_problem

    if current_dir(args.index) is None:
        print(f"Error: no index at {args.index}: build one with scripts/build_index.py", file=sys.stderr)
        return 1
    problem = index_problem(args.index, thorough=True)
    if problem:
        print(f"Error: cannot serve {args.index}: {problem}; rebuild it with scripts/build_index.py",
              file=sys.stderr)
        return 1
    from index.settings import Settings

    quiet_gradio()
    try:
        settings = Settings.from_env()
        from web.security import trusted_proxies  # the top layer, imported only to serve

        trusted_proxies(args.forwarded_allow_ips)
    except ValueError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    from web.server import serve

    serve(args.index, args.host, args.port, settings=settings, with_ui=not args.no_ui,
          forwarded_allow_ips=args.forwarded_allow_ips)
    return 0


def quiet_gradio() -> None:
    """Before gradio or huggingface_hub is imported (both read these at import): no
    analytics, no model downloads, no telemetry; the page then makes no outbound request."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


if __name__ == "__main__":
    sys.exit(main())
