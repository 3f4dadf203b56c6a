"""Load test of POST /api/ask and of the web page on a server on this machine (loopback only).

    NIANBAO_RATE_LIMIT=0 .venv/bin/python -m qa serve --index var/index --port 8000 &
    .venv/bin/python scripts/load_test.py --url http://127.0.0.1:8000 --clients 50 --duration 60
    .venv/bin/python scripts/load_test.py --clients 50 --duration 60 --page-share 0.5

``--page-share F``: that share of the clients asks through the page's own routes instead
(the Gradio queue: POST /gradio_api/queue/join, then the answer from the event stream
GET /gradio_api/queue/data), each client one browser session with its follow-ups.

N concurrent clients each post a question, wait for the answer, and post the next (a
mix of lookups, lists, comparisons, trends, text questions and follow-ups over the
bundled sample reports) for D seconds. Prints requests, errors (429s counted apart),
p50/p95/max latency and throughput; ``--json`` prints the same as one JSON object.

Bounded on purpose: the host must be localhost or 127.0.0.0/8, at most 200 clients and
600 seconds. The server rate-limits anonymous /api/ask per client IP, so start it with
NIANBAO_RATE_LIMIT=0 (or every request past the first minute's budget is a 429).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import random
import re
import uuid
import statistics
import sys
import time
from urllib.parse import urlsplit

import httpx

MAX_CLIENTS = 200
MAX_DURATION = 600

FIRST = "哪些乡镇2021年没有收到政府信息公开申请？"
QUESTIONS = [
    {"question": FIRST},
    {"question": "交岔乡2021年收到多少申请？"},
    {"question": "官厅镇2021年主动公开了多少规范性文件？"},
    {"question": "群峰乡和大溪乡2021年的行政复议数量比较"},
    {"question": "柔远镇2020年政府信息公开工作存在哪些问题？"},
    {"question": "2021年各乡镇收到的申请一共多少件？"},
    {"question": "大溪乡有没有被提起行政诉讼？"},
    {"question": "交岔乡收取信息处理费了吗？"},
    {"question": "哪个乡镇的行政处罚最多？"},
    {"question": "那2020年呢？", "history": [{"role": "user", "content": FIRST}]},
]


def check_loopback(url: str) -> str:
    """The URL's host, if it is this machine; SystemExit otherwise."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return host
    try:
        if ipaddress.ip_address(host) in ipaddress.ip_network("127.0.0.0/8"):
            return host
    except ValueError:
        pass
    raise SystemExit(f"Error: refusing to load-test {host!r}: only localhost or 127.0.0.0/8")


def page_fn_index(page_html: str, api_name: str = "ask_and_store") -> int:
    """The id of the page's event that asks a question, from the config the page embeds."""
    m = re.search(r"window\.gradio_config = (\{.*?\});\s*</script>", page_html, re.S)
    if not m:
        raise ValueError("the page embeds no gradio_config")
    for dep in json.loads(m.group(1))["dependencies"]:
        if dep.get("api_name") == api_name:
            return dep["id"]
    raise ValueError(f"the page has no event {api_name!r}")


async def page_ask(http: httpx.AsyncClient, fn_index: int, session: str, question: str) -> tuple[int, list | None]:
    """Ask as the page does: join the queue, then read the session's event stream until
    the answer. (HTTP status, the event's output data or None)."""
    join = await http.post("/gradio_api/queue/join", json={
        "data": [question, None, None, "", ""], "event_data": None, "fn_index": fn_index,
        "trigger_id": 0, "session_hash": session})
    if join.status_code != 200:
        return join.status_code, None
    event = join.json()["event_id"]
    async with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
        if stream.status_code != 200:
            return stream.status_code, None
        async for line in stream.aiter_lines():
            if not line.startswith("data:"):
                continue
            msg = json.loads(line[5:])
            if msg.get("event_id") == event and msg.get("msg") == "process_completed":
                ok = msg.get("success", True) and msg.get("output", {}).get("data") is not None
                return (200 if ok else 500), msg.get("output", {}).get("data")
    return 599, None  # the stream closed before the answer


async def client_loop(http: httpx.AsyncClient, stop_at: float, rng: random.Random, out: dict,
                      fn_index: int | None = None) -> None:
    session = uuid.uuid4().hex[:11]
    while time.monotonic() < stop_at:
        payload = rng.choice(QUESTIONS)
        started = time.perf_counter()
        try:
            if fn_index is None:
                r = await http.post("/api/ask", json=payload)
                status = r.status_code
            else:
                status, _ = await page_ask(http, fn_index, session, payload["question"])
                out["page_requests"] += 1
        except httpx.HTTPError as error:
            status = type(error).__name__
        elapsed = time.perf_counter() - started
        out["requests"] += 1
        if status == 200:
            out["latencies"].append(elapsed)
        elif status == 429:
            out["rate_limited"] += 1
        else:
            out["errors"] += 1
            out["error_kinds"][str(status)] = out["error_kinds"].get(str(status), 0) + 1


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))]


async def run(url: str, clients: int, duration: float, seed: int, timeout: float, page_share: float = 0.0) -> dict:
    out = {"requests": 0, "page_requests": 0, "errors": 0, "rate_limited": 0, "error_kinds": {}, "latencies": []}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as http:
        health = await http.get("/api/health")
        health.raise_for_status()
        page_clients = round(clients * page_share)
        fn_index = None
        if page_clients:
            fn_index = page_fn_index((await http.get("/")).text)
        started = time.monotonic()
        stop_at = started + duration
        await asyncio.gather(*(client_loop(http, stop_at, random.Random(seed + i), out,
                                           fn_index if i < page_clients else None) for i in range(clients)))
        wall = time.monotonic() - started
    lat = out.pop("latencies")
    return {"clients": clients, "page_clients": page_clients, "duration_s": round(wall, 1),
            "requests": out["requests"], "page_requests": out["page_requests"],
            "ok": len(lat), "errors": out["errors"], "rate_limited": out["rate_limited"],
            "error_kinds": out["error_kinds"],
            "p50_ms": round(percentile(lat, 50) * 1000, 1), "p95_ms": round(percentile(lat, 95) * 1000, 1),
            "max_ms": round(max(lat) * 1000, 1) if lat else None,
            "mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else None,
            "throughput_rps": round(len(lat) / wall, 1) if wall else 0.0,
            "reports": health.json().get("reports")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load-test POST /api/ask on a local server.")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="server (localhost/127.0.0.0/8 only)")
    parser.add_argument("--clients", type=int, default=50, help=f"concurrent clients (1-{MAX_CLIENTS}, default 50)")
    parser.add_argument("--duration", type=float, default=60, help=f"seconds (1-{MAX_DURATION}, default 60)")
    parser.add_argument("--timeout", type=float, default=60, help="per-request timeout, seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--page-share", type=float, default=0.0,
                        help="share of the clients that ask through the web page's routes (0-1, default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    check_loopback(args.url)
    if not 1 <= args.clients <= MAX_CLIENTS:
        parser.error(f"--clients must be 1-{MAX_CLIENTS}")
    if not 1 <= args.duration <= MAX_DURATION:
        parser.error(f"--duration must be 1-{MAX_DURATION} seconds")
    if not 0 <= args.page_share <= 1:
        parser.error("--page-share must be between 0 and 1")
    try:
        result = asyncio.run(run(args.url.rstrip("/"), args.clients, args.duration, args.seed, args.timeout,
                                 args.page_share))
    except httpx.HTTPError as error:
        print(f"Error: cannot reach {args.url}: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"{result['clients']} clients, {result['duration_s']} s against {args.url} "
              f"({result['reports']} reports)")
        print(f"page clients {result['page_clients']}, page requests {result['page_requests']}")
        print(f"requests {result['requests']}  ok {result['ok']}  errors {result['errors']}  "
              f"rate-limited {result['rate_limited']}")
        print(f"latency p50 {result['p50_ms']} ms  p95 {result['p95_ms']} ms  max {result['max_ms']} ms")
        print(f"throughput {result['throughput_rps']} answers/s")
        if result["error_kinds"]:
            print(f"errors by kind: {result['error_kinds']}")
        if result["rate_limited"]:
            print("note: 429s mean the server's rate limit applies; start it with NIANBAO_RATE_LIMIT=0")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
