"""Rate limiting per (account, client address): a token bucket each.

A client may send `burst` requests at once and `rate` per second after that; past it the collector
answers 429 with `Retry-After` (whole seconds), which the tag honours. Buckets idle for long are
forgotten so memory stays bounded.
"""

from __future__ import annotations

import math
import time

__all__ = ['RateLimiter']

MAX_BUCKETS = 100_000


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: int, clock=time.monotonic):
        self.rate = rate_per_s
        self.burst = burst
        self.clock = clock
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def check(self, account: str, client: str) -> int:
        """0 when the request may go on, else the seconds to wait (at least 1)."""
        if self.rate <= 0:
            return 0
        now = self.clock()
        key = (account, client)
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._set(key, tokens - 1.0, now)
            return 0
        self._set(key, tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self.rate))

    def _set(self, key, tokens: float, now: float) -> None:
        if len(self._buckets) >= MAX_BUCKETS and key not in self._buckets:
            cutoff = now - self.burst / self.rate
            self._buckets = {k: v for k, v in self._buckets.items() if v[1] > cutoff}
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets.clear()
        self._buckets[key] = (tokens, now)
