"""The collector's background rounds (retention, session closing, webhook deliveries): each runs
one round, sleeps, and runs again until cancelled; a round that fails (the database is busy or
away) is counted and the next round tries again."""

from __future__ import annotations

import asyncio
from collections import Counter

__all__ = ['every']


async def every(interval_s: float, round_, stats: Counter, error_key: str) -> None:
    """Await `round_()` every `interval_s` seconds until cancelled; failures count in `stats`."""
    while True:
        try:
            await round_()
        except Exception:  # noqa: BLE001 -- a database outage: try again next round
            stats[error_key] += 1
        await asyncio.sleep(interval_s)
