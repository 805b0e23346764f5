"""The collector's background work for campaigns: closing idle sessions into summaries and
triggers (`SessionCloser`), and running the webhook `Deliverer` (webhooks.py). Both run in every
collector process and take turns through the store, so any number of collectors close each
session once and send each trigger by one of them at a time.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter

import httpx

from collector.background import every
from collector.sessions import summarize, trigger_payload, trigger_type
from collector.webhooks import DELIVERY_TIMEOUT_S, Deliverer, payload_text

__all__ = ['SessionCloser', 'build_closing', 'check_interval_s', 'http_poster', 'run_deliveries']

SESSIONS_PER_TRANSACTION = 20
MAX_CHECK_INTERVAL_S = 10.0
MIN_CHECK_INTERVAL_S = 0.2
DELIVERY_INTERVAL_S = 1.0


def check_interval_s(session_timeout_s: float) -> float:
    """How often to look for idle sessions: a tenth of the timeout, within [0.2 s, 10 s]."""
    return min(MAX_CHECK_INTERVAL_S, max(MIN_CHECK_INTERVAL_S, session_timeout_s / 10))


def build_closing(account: str, cid: str, sid: str, bodies: list[str], ended_at: int) -> tuple:
    """What closing a session stores: its summary's JSON text, its uid (for erasure) and its
    trigger (id, type, payload text) or None (storage.BuildClosing)."""
    events = []
    for body in bodies:
        try:
            events.append(json.loads(body))
        except ValueError:
            continue
    try:
        summary = summarize(account, cid, sid, events, ended_at)
    except (KeyError, TypeError, ValueError):
        # Stored events met the contract when they came; should one not, the session still
        # closes (a session that cannot close would hold up every one after it), with no trigger.
        summary = summarize(account, cid, sid, [], ended_at)
        summary['unreadable'] = True
        return payload_text(summary), None, None
    kind = trigger_type(summary)
    trigger = None
    if kind is not None:
        trigger_id = str(uuid.uuid4())
        trigger = (trigger_id, kind, payload_text(trigger_payload(trigger_id, kind, summary, ended_at)))
    return payload_text(summary), summary['uid'], trigger


class SessionCloser:
    """Closes sessions idle for `timeout_s` (by receive time), SESSIONS_PER_TRANSACTION at a time."""

    def __init__(self, store, timeout_s: float, stats: Counter, clock=time.time):
        self.store = store
        self.timeout_ms = int(timeout_s * 1000)
        self.interval_s = check_interval_s(timeout_s)
        self.stats = stats
        self.clock = clock

    async def close_idle(self) -> int:
        """Close every session idle long enough now; returns how many."""
        closed = 0
        while True:
            now_ms = int(self.clock() * 1000)
            count = await self.store.close_idle_sessions(now_ms - self.timeout_ms, now_ms, SESSIONS_PER_TRANSACTION,
                                                         build_closing)
            closed += count
            if count < SESSIONS_PER_TRANSACTION:
                break
            await asyncio.sleep(0)
        self.stats['sessions_closed'] += closed
        return closed

    async def run(self) -> None:
        await every(self.interval_s, self.close_idle, self.stats, 'session_close_errors')


def http_poster(client: httpx.AsyncClient):
    """`post(url, body, headers) -> status` over `client`, reading no more than the status line
    and headers of the answer (a receiver cannot make the collector download anything)."""
    async def post(url: str, body: bytes, headers: dict) -> int:
        async with client.stream('POST', url, content=body, headers=headers) as answer:
            return answer.status_code
    return post


async def run_deliveries(deliverer: Deliverer) -> None:
    """Claim and deliver due triggers every DELIVERY_INTERVAL_S, until cancelled."""
    try:
        await every(DELIVERY_INTERVAL_S, deliverer.round, deliverer.stats, 'webhook_claim_errors')
    finally:
        await deliverer.drain()


def new_http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_S, follow_redirects=False, trust_env=False)
