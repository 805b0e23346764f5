"""Rate limiting per (account, client address): a token bucket each, shared by the worker processes.

A client may send `burst` requests at once and `rate` per second after that; past it the collector
answers 429 with `Retry-After` (whole seconds), which the tag honours. The client address is the
one `access.ClientAddresses` resolves: each shopper behind a store's proxy has a bucket of their
own, and an abusive client empties only theirs.

Two homes for the buckets, one rule (`take_token`):
- `RateLimiter`: a dict in this process (tests, a single process).
- `SharedRateLimiter`: a fixed table in a memory-mapped file that every worker of one server maps
  (`python -m collector serve` creates it), guarded by `flock`, so `--workers N` does not
  multiply the limit by N. A bucket lives in one of PROBE_SLOTS slots picked by a salted hash of
  its key; when all are taken, the one idle longest is reused (it would have refilled anyway).
Both use `time.monotonic`, which is the same clock in every process of the machine.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import mmap
import os
import struct
import time
from pathlib import Path

__all__ = ['RateLimiter', 'SharedRateLimiter', 'create_rate_file', 'take_token']

MAX_BUCKETS = 100_000
SHARED_SLOTS = 65_536
PROBE_SLOTS = 8
_SALT_BYTES = 16
_SLOT = struct.Struct('<Qdd')  # key hash (0: free), tokens, last refill time


def take_token(tokens: float, last: float, now: float, rate: float, burst: int) -> tuple[float, int]:
    """The bucket after one request at `now`: (tokens left, seconds to wait: 0 when allowed)."""
    tokens = min(float(burst), tokens + max(0.0, now - last) * rate)
    if tokens >= 1.0:
        return tokens - 1.0, 0
    return tokens, max(1, math.ceil((1.0 - tokens) / rate))


class RateLimiter:
    """Buckets in this process's memory (bounded: idle ones are forgotten past MAX_BUCKETS)."""

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
        tokens, wait = take_token(tokens, last, now, self.rate, self.burst)
        if len(self._buckets) >= MAX_BUCKETS and key not in self._buckets:
            cutoff = now - self.burst / self.rate
            self._buckets = {k: v for k, v in self._buckets.items() if v[1] > cutoff}
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets.clear()
        self._buckets[key] = (tokens, now)
        return wait


def create_rate_file(path: str | Path) -> None:
    """Create the shared bucket table at `path`: a random salt, then SHARED_SLOTS free slots."""
    with open(path, 'wb') as file:
        file.write(os.urandom(_SALT_BYTES))
        file.truncate(_SALT_BYTES + SHARED_SLOTS * _SLOT.size)


class SharedRateLimiter:
    """Buckets in the table file at `path`, shared by every process that maps it."""

    def __init__(self, path: str | Path, rate_per_s: float, burst: int, clock=time.monotonic):
        self.rate = rate_per_s
        self.burst = burst
        self.clock = clock
        self._file = open(path, 'r+b')
        self._map = mmap.mmap(self._file.fileno(), 0)
        self._salt = bytes(self._map[:_SALT_BYTES])
        self._slots = (len(self._map) - _SALT_BYTES) // _SLOT.size

    def _hash(self, account: str, client: str) -> int:
        digest = hashlib.blake2b(f'{account}\n{client}'.encode('utf-8', 'surrogatepass'), digest_size=8,
                                 key=self._salt).digest()
        return int.from_bytes(digest, 'little') or 1

    def check(self, account: str, client: str) -> int:
        """0 when the request may go on, else the seconds to wait (at least 1)."""
        if self.rate <= 0:
            return 0
        key = self._hash(account, client)
        first = key % self._slots
        fcntl.flock(self._file, fcntl.LOCK_EX)
        try:
            now = self.clock()
            chosen, free, idlest = None, None, None
            for step in range(PROBE_SLOTS):
                offset = _SALT_BYTES + ((first + step) % self._slots) * _SLOT.size
                slot_key, tokens, last = _SLOT.unpack_from(self._map, offset)
                if slot_key == key:
                    chosen = (offset, tokens, last)
                    break
                if slot_key == 0:
                    free = offset if free is None else free
                elif idlest is None or last < idlest[1]:
                    idlest = (offset, last)
            if chosen is None:
                chosen = (free if free is not None else idlest[0], float(self.burst), now)
            offset, tokens, last = chosen
            tokens, wait = take_token(tokens, last, now, self.rate, self.burst)
            _SLOT.pack_into(self._map, offset, key, tokens, now)
            return wait
        finally:
            fcntl.flock(self._file, fcntl.LOCK_UN)

    def close(self) -> None:
        self._map.close()
        self._file.close()
