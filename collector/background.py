"""The collector's background work, started with the app and stopped with it: closing idle
sessions (`triggers.SessionCloser`), delivering triggers (`webhooks.Deliverer`, only where some
account has a webhook) and retention (deleting what is older than `--retention-days`, a small
batch per short transaction). Each runs rounds until cancelled; a round that fails (the database
is busy or away) is counted and the next one tries again.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from collector import programs
from collector.programs import TriggerLimits
from collector.triggers import SessionCloser
from collector.webhooks import Deliverer, http_poster, new_http_client

__all__ = ['Background', 'every']

PRUNE_BATCH_ROWS = 500
PRUNE_PAUSE_S = 0.05
DAY_MS = 86_400_000
# Set-aside events are kept for inspection, not for the record: never longer than this.
MAX_REJECT_RETENTION_DAYS = 14


async def every(interval_s: float, round_, stats: Counter, error_key: str) -> None:
    """Await `round_()` every `interval_s` seconds until cancelled; failures count in `stats`."""
    while True:
        try:
            await round_()
        except Exception:  # a database outage: try again next round
            stats[error_key] += 1
        await asyncio.sleep(interval_s)


class Background:
    """The background tasks of one collector process over `store`, for `settings`; `origins`:
    account id -> store origins; `webhooks`: account id -> (url, secret)."""

    def __init__(self, store, settings, origins: dict, webhooks: dict, stats: Counter):
        self.store = store
        self.settings = settings
        self.origins = origins
        self.webhooks = webhooks
        self.stats = stats
        self.tasks: list[asyncio.Task] = []
        self.http = None

    def start(self) -> None:
        settings = self.settings
        limits = TriggerLimits(settings.triggers_per_identity_day, settings.triggers_per_client_day,
                               int(settings.purchase_grace_s * 1000))
        closer = SessionCloser(self.store, settings.session_timeout_s, self.stats, self.origins, limits)
        self.tasks.append(asyncio.create_task(every(closer.interval_s, closer.close_idle, self.stats,
                                                    'session_close_errors')))
        # The HTTP client (and its TLS context) only where some account has a webhook.
        if self.webhooks:
            self.http = new_http_client()
            deliverer = Deliverer(self.store, self.webhooks, http_poster(self.http), self.stats,
                                  retry_base_ms=settings.webhook_retry_base_ms)
            self.tasks.append(asyncio.create_task(deliverer.run()))
        if settings.retention_days > 0:
            self.tasks.append(asyncio.create_task(every(settings.retention_interval_s, self.prune, self.stats,
                                                        'prune_errors')))

    async def prune(self) -> None:
        """Delete what is older than --retention-days (set-aside events: at most
        MAX_REJECT_RETENTION_DAYS), a small batch at a time (intake waits for one batch at most)."""
        now_ms = int(time.time() * 1000)
        days = self.settings.retention_days
        events_before = now_ms - days * DAY_MS
        rejects_before = now_ms - min(days, MAX_REJECT_RETENTION_DAYS) * DAY_MS
        while await self.store.run(programs.prune(events_before, rejects_before, PRUNE_BATCH_ROWS)) > 0:
            self.stats['pruned_batches'] += 1
            await asyncio.sleep(PRUNE_PAUSE_S)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.http is not None:
            await self.http.aclose()
