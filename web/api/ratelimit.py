"""The rate limit: a token bucket per client, in memory.

    limiter = RateLimiter(settings.rate_limit)   # requests a minute; 0 = off
    wait = limiter.take("ip:1.2.3.4")             # 0: served; else seconds until a token
"""

from __future__ import annotations

import threading
import time

AUTH_FAILURES_PER_MINUTE = 10  # wrong keys per client before 429 (guessing keys is slow)


class RateLimiter:
    """A token bucket per client: ``per_minute`` tokens, refilled continuously."""

    MAX_CLIENTS = 10_000

    def __init__(self, per_minute: float):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def wait(self, who: str) -> float:
        """Seconds until ``who`` has a token again (0: has one now); takes nothing."""
        if self.capacity <= 0:
            return 0.0
        with self._lock:
            tokens, last = self._buckets.get(who, (self.capacity, time.monotonic()))
        tokens = min(self.capacity, tokens + (time.monotonic() - last) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def take(self, who: str) -> float:
        """0 when a token was taken, else the seconds until one is available."""
        if self.capacity <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(who, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[who] = (tokens - 1, now)
                wait = 0.0
            else:
                self._buckets[who] = (tokens, now)
                wait = (1 - tokens) / self.rate
            if len(self._buckets) > self.MAX_CLIENTS:  # forget clients whose bucket is full again
                full = [k for k, (t, at) in self._buckets.items() if t + (now - at) * self.rate >= self.capacity]
                for k in full:
                    del self._buckets[k]
        return wait
