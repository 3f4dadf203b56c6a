"""Load test of POST /api/ask on a server on this machine (loopback only).

    NIANBAO_RATE_LIMIT=0 .venv/bin/python -m qa serve --index var/index --port 8000 &
    .venv/bin/python scripts/load_test.py --url http://127.0.0.1:8000 --clients 50 --duration 60

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


async def client_loop(http: httpx.AsyncClient, stop_at: float, rng: random.Random, out: dict) -> None:
    while time.monotonic() < stop_at:
        payload = rng.choice(QUESTIONS)
        started = time.perf_counter()
        try:
            r = await http.post("/api/ask", json=payload)
            status = r.status_code
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


async def run(url: str, clients: int, duration: float, seed: int, timeout: float) -> dict:
    out = {"requests": 0, "errors": 0, "rate_limited": 0, "error_kinds": {}, "latencies": []}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as http:
        health = await http.get("/api/health")
        health.raise_for_status()
        started = time.monotonic()
        stop_at = started + duration
        await asyncio.gather(*(client_loop(http, stop_at, random.Random(seed + i), out) for i in range(clients)))
        wall = time.monotonic() - started
    lat = out.pop("latencies")
    return {"clients": clients, "duration_s": round(wall, 1), "requests": out["requests"],
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
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    check_loopback(args.url)
    if not 1 <= args.clients <= MAX_CLIENTS:
        parser.error(f"--clients must be 1-{MAX_CLIENTS}")
    if not 1 <= args.duration <= MAX_DURATION:
        parser.error(f"--duration must be 1-{MAX_DURATION} seconds")
    try:
        result = asyncio.run(run(args.url.rstrip("/"), args.clients, args.duration, args.seed, args.timeout))
    except httpx.HTTPError as error:
        print(f"Error: cannot reach {args.url}: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"{result['clients']} clients, {result['duration_s']} s against {args.url} "
              f"({result['reports']} reports)")
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
