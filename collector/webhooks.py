"""Triggers delivered to each account's webhook: the signature, the retry schedule (pure), and the
`Deliverer` that claims due triggers from the store and POSTs them.

Signature (README, "Session end and triggers"): `Ometria-Signature: t=<unix seconds>,v1=<hex
HMAC-SHA256(secret, "<t>.<delivery id>." + raw body)>`: the time, the `Ometria-Delivery` id and the
body are all signed, so a replay under a new id or a new time does not verify. The receiver
recomputes it, compares in constant time and refuses timestamps older than 5 minutes (`verify`,
which the README's snippet copies; it refuses a malformed or non-ASCII header without raising).

Outcomes: a 2xx is `delivered`; a 410 means the receiver asks to stop (`gave_up`, never retried);
anything else, a connection error or no answer within DELIVERY_TIMEOUT_S is retried after
`retry_delay_ms(attempts)` (growing, jittered, at most an hour) until RETRY_FOR_MS after the
trigger was created, then `gave_up`. State lives in the store, so a restart resumes the schedule
and re-sends with the same trigger id (receivers dedupe on it).

Isolation: deliveries run as their own tasks, at most MAX_IN_FLIGHT at once and
MAX_IN_FLIGHT_PER_ACCOUNT for one account, so a slow or dead receiver holds only its own slots,
and nothing here touches `POST /collect`. A slot that frees is filled at once (not at the next
round), and the most recently due trigger goes first: a real shopper's trigger is not queued
behind an old backlog, and past MAX_BACKLOG_PER_ACCOUNT waiting triggers the oldest are shed
(counted: `webhook_shed`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time

import httpx

from collector import programs
from collector.storage import DELIVERED, GAVE_UP, PENDING, RETRYING, ClaimedTrigger, Delivery

__all__ = ['Deliverer', 'http_poster', 'new_http_client', 'outcome_of', 'payload_text', 'retry_delay_ms', 'sign',
           'verify']

DELIVERY_TIMEOUT_S = 10.0
RETRY_BASE_MS = 10_000
RETRY_MAX_DELAY_MS = 3_600_000
RETRY_FOR_MS = 24 * 3_600_000
MAX_IN_FLIGHT = 32
MAX_IN_FLIGHT_PER_ACCOUNT = 4
SIGNATURE_TOLERANCE_S = 300
# A claim outlives one delivery attempt; a collector that dies mid-delivery holds it this long.
CLAIM_FOR_MS = int(DELIVERY_TIMEOUT_S * 1000) + 5_000
SHUTDOWN_GRACE_S = 1.0
MAX_ERROR_CHARS = 200
DELIVERY_INTERVAL_S = 1.0
MAX_BACKLOG_PER_ACCOUNT = 10_000
SHED_INTERVAL_S = 10.0


def signed_text(body: bytes, unix_s: int, delivery_id: str) -> bytes:
    """What the signature covers: `<unix seconds>.<delivery id>.<raw body>`."""
    return f'{unix_s}.{delivery_id}.'.encode('ascii') + body


def sign(secret: str, body: bytes, unix_s: int, delivery_id: str) -> str:
    """The `Ometria-Signature` header value for `body` sent at `unix_s` as delivery `delivery_id`."""
    mac = hmac.new(secret.encode('utf-8'), signed_text(body, unix_s, delivery_id), hashlib.sha256)
    return f't={unix_s},v1={mac.hexdigest()}'


def verify(secret: str, body: bytes, header: str, delivery_id: str, now_s: float | None = None) -> bool:
    """True when `header` signs `body` as delivery `delivery_id` with `secret` and is at most 5
    minutes old. A malformed header (or one with anything but ASCII) is False, never an error."""
    if not (isinstance(header, str) and header.isascii() and isinstance(delivery_id, str) and delivery_id.isascii()):
        return False
    try:
        parts = dict(item.split('=', 1) for item in header.split(','))
        sent = int(parts['t'])
    except (KeyError, ValueError):
        return False
    now_s = time.time() if now_s is None else now_s
    if abs(now_s - sent) > SIGNATURE_TOLERANCE_S:
        return False
    expected = sign(secret, body, sent, delivery_id).split('v1=', 1)[1]
    return hmac.compare_digest(expected, parts.get('v1', ''))


def retry_delay_ms(attempts: int, rng: random.Random | None = None, base_ms: int = RETRY_BASE_MS) -> int:
    """How long to wait after the `attempts`-th failed attempt: `base_ms` (10 s) doubling, at most
    an hour, times a random factor in [0.5, 1.5) so that receivers coming back are not hit all at
    once."""
    base = min(RETRY_MAX_DELAY_MS, base_ms * 2 ** min(max(attempts - 1, 0), 20))
    return int(base * (0.5 + (rng or random).random()))


def outcome_of(status: int | None, attempts: int, created_at: int, now_ms: int,
               rng: random.Random | None = None, base_ms: int = RETRY_BASE_MS) -> tuple[str, int | None]:
    """The trigger's state after attempt number `attempts` answered `status` (None: no answer)."""
    if status is not None and 200 <= status < 300:
        return DELIVERED, None
    if status == 410:
        return GAVE_UP, None
    if now_ms - created_at >= RETRY_FOR_MS:
        return GAVE_UP, None
    return RETRYING, now_ms + retry_delay_ms(attempts, rng, base_ms)


class Deliverer:
    """Claims due triggers of accounts with a webhook and delivers them (see the module docstring).
    `store` runs programs; `webhooks` maps an account id to its (url, secret); `post(url, body,
    headers)` returns the status (raises on a transport failure); `stats` counts outcomes."""

    def __init__(self, store, webhooks: dict[str, tuple[str, str]], post, stats, clock=time.time,
                 retry_base_ms: int = RETRY_BASE_MS):
        self.retry_base_ms = retry_base_ms
        self.store = store
        self.webhooks = webhooks
        self.post = post
        self.stats = stats
        self.clock = clock
        self.in_flight: dict[str, int] = {}
        self.tasks: set[asyncio.Task] = set()
        self.wake = asyncio.Event()
        self.shed_at: dict[str, float] = {}

    def free_slots(self) -> int:
        return MAX_IN_FLIGHT - len(self.tasks)

    async def run(self) -> None:
        """Claim and deliver until cancelled: a round every DELIVERY_INTERVAL_S, and at once when a
        delivery frees a slot. A round that fails (the database is away) is counted."""
        try:
            while True:
                self.wake.clear()
                try:
                    await self.round()
                except Exception:  # a database outage: try again next round
                    self.stats['webhook_claim_errors'] += 1
                try:
                    await asyncio.wait_for(self.wake.wait(), DELIVERY_INTERVAL_S)
                except TimeoutError:
                    pass
        finally:
            await self.drain()

    async def round(self) -> int:
        """Claim what is due, account by account (as many as the account's free slots), and start
        delivering it; returns how many deliveries started."""
        if not self.webhooks or self.free_slots() <= 0:
            return 0
        started = 0
        for account in self.webhooks:
            await self.shed(account)
            room = min(self.free_slots(), MAX_IN_FLIGHT_PER_ACCOUNT - self.in_flight.get(account, 0))
            if room <= 0:
                continue
            now_ms = int(self.clock() * 1000)
            for trigger in await self.store.run(programs.claim_triggers(account, now_ms, now_ms + CLAIM_FOR_MS, room)):
                self.in_flight[account] = self.in_flight.get(account, 0) + 1
                task = asyncio.create_task(self.deliver(trigger))
                self.tasks.add(task)
                task.add_done_callback(self.finished)
                started += 1
        return started

    def finished(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        self.wake.set()

    async def shed(self, account: str) -> None:
        """At most every SHED_INTERVAL_S: give up the oldest of the account's waiting triggers past
        MAX_BACKLOG_PER_ACCOUNT."""
        now = self.clock()
        if now - self.shed_at.get(account, 0.0) < SHED_INTERVAL_S:
            return
        self.shed_at[account] = now
        self.stats['webhook_shed'] += await self.store.run(
            programs.shed_backlog(account, MAX_BACKLOG_PER_ACCOUNT, int(now * 1000)))

    async def deliver(self, trigger: ClaimedTrigger) -> None:
        account = trigger.account
        try:
            url, secret = self.webhooks[account]
            body = trigger.payload.encode('utf-8')
            headers = {'Content-Type': 'application/json', 'Ometria-Delivery': trigger.id,
                       'Ometria-Signature': sign(secret, body, int(self.clock()), trigger.id),
                       'User-Agent': 'ometria-collector'}
            status, error = None, ''
            try:
                async with asyncio.timeout(DELIVERY_TIMEOUT_S):
                    status = await self.post(url, body, headers)
            except TimeoutError:
                error = f'no answer within {DELIVERY_TIMEOUT_S:g} s'
            except asyncio.CancelledError:
                await self.release(trigger)
                raise
            except Exception as failure:  # any transport failure is a retry
                error = f'{type(failure).__name__}: {failure}'[:MAX_ERROR_CHARS]
            attempts = trigger.attempts + 1
            now_ms = int(self.clock() * 1000)
            state, next_at = outcome_of(status, attempts, trigger.created_at, now_ms, base_ms=self.retry_base_ms)
            if status is not None and state != DELIVERED:
                error = f'HTTP {status}'
            self.stats[f'webhook_{state}'] += 1
            try:
                await self.store.run(programs.record_delivery(
                    Delivery(trigger.seq, state, attempts, next_at, status, error, now_ms)))
            except Exception:  # the claim expires and the trigger is sent again, same id
                self.stats['webhook_record_errors'] += 1
        finally:
            self.in_flight[account] -= 1

    async def release(self, trigger: ClaimedTrigger) -> None:
        """Give back the claim of a delivery cut short by shutdown: due again now, attempt not
        counted (the receiver may have it: it dedupes on the id)."""
        now_ms = int(self.clock() * 1000)
        state = RETRYING if trigger.attempts else PENDING
        try:
            await self.store.run(programs.record_delivery(
                Delivery(trigger.seq, state, trigger.attempts, now_ms, None, 'collector stopped during the delivery',
                         now_ms)))
        except Exception:  # then the claim expires by itself
            self.stats['webhook_record_errors'] += 1

    async def drain(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """At shutdown: let deliveries under way finish for `grace_s`, then cut the rest short
        (their claims are given back)."""
        if not self.tasks:
            return
        _done, pending = await asyncio.wait(list(self.tasks), timeout=grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def http_poster(client: httpx.AsyncClient):
    """`post(url, body, headers) -> status` over `client`, reading no more than the status line
    and headers of the answer (a receiver cannot make the collector download anything)."""
    async def post(url: str, body: bytes, headers: dict) -> int:
        async with client.stream('POST', url, content=body, headers=headers) as answer:
            return answer.status_code
    return post


def new_http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_S, follow_redirects=False, trust_env=False)


def payload_text(payload: dict) -> str:
    """The exact JSON text a trigger is stored and sent as."""
    return json.dumps(payload, separators=(',', ':'), ensure_ascii=False)
