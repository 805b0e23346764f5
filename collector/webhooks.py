"""Triggers delivered to each account's webhook: the signature, the retry schedule (pure), and the
`Deliverer` that claims due triggers from the store and POSTs them.

Signature (README, "Session end and triggers"): `Ometria-Signature: t=<unix seconds>,v1=<hex
HMAC-SHA256(secret, "<t>." + raw body)>`; the receiver recomputes it, compares in constant time
and refuses timestamps older than 5 minutes (`verify`, which the README's snippet copies).

Outcomes: a 2xx is `delivered`; a 410 means the receiver asks to stop (`gave_up`, never retried);
anything else, a connection error or no answer within DELIVERY_TIMEOUT_S is retried after
`retry_delay_ms(attempts)` (growing, jittered, at most an hour) until RETRY_FOR_MS after the
trigger was created, then `gave_up`. State lives in the store, so a restart resumes the schedule
and re-sends with the same trigger id (receivers dedupe on it).

Isolation: deliveries run as their own tasks, at most MAX_IN_FLIGHT at once and
MAX_IN_FLIGHT_PER_ACCOUNT for one account, so a slow or dead receiver holds only its own slots,
and nothing here touches `POST /collect`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time

__all__ = ['Deliverer', 'outcome_of', 'payload_text', 'retry_delay_ms', 'sign', 'verify']

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


def sign(secret: str, body: bytes, unix_s: int) -> str:
    """The `Ometria-Signature` header value for `body` sent at `unix_s`."""
    mac = hmac.new(secret.encode('utf-8'), str(unix_s).encode('ascii') + b'.' + body, hashlib.sha256)
    return f't={unix_s},v1={mac.hexdigest()}'


def verify(secret: str, body: bytes, header: str, now_s: float | None = None) -> bool:
    """True when `header` signs `body` with `secret` and is at most 5 minutes old."""
    try:
        parts = dict(item.split('=', 1) for item in header.split(','))
        sent = int(parts['t'])
    except (KeyError, ValueError):
        return False
    now_s = time.time() if now_s is None else now_s
    if abs(now_s - sent) > SIGNATURE_TOLERANCE_S:
        return False
    expected = sign(secret, body, sent).split('v1=', 1)[1]
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
        return 'delivered', None
    if status == 410:
        return 'gave_up', None
    if now_ms - created_at >= RETRY_FOR_MS:
        return 'gave_up', None
    return 'retrying', now_ms + retry_delay_ms(attempts, rng, base_ms)


class Deliverer:
    """Claims due triggers of accounts with a webhook and delivers them (see the module docstring).
    `store` has `claim_triggers` and `record_delivery`; `webhooks` maps an account id to its
    (url, secret); `post(url, body, headers)` returns the status (raises OSError-like errors on
    failure); `stats` counts outcomes."""

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

    def free_slots(self) -> int:
        return MAX_IN_FLIGHT - len(self.tasks)

    async def round(self) -> int:
        """Claim what is due, account by account (as many as the account's free slots), and start
        delivering it; returns how many deliveries started."""
        if not self.webhooks or self.free_slots() <= 0:
            return 0
        started = 0
        for account in self.webhooks:
            room = min(self.free_slots(), MAX_IN_FLIGHT_PER_ACCOUNT - self.in_flight.get(account, 0))
            if room <= 0:
                continue
            now_ms = int(self.clock() * 1000)
            for trigger in await self.store.claim_triggers([account], now_ms, now_ms + CLAIM_FOR_MS, room):
                self.in_flight[account] = self.in_flight.get(account, 0) + 1
                task = asyncio.create_task(self.deliver(trigger))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
                started += 1
        return started

    async def deliver(self, trigger: dict) -> None:
        account = trigger['account']
        try:
            url, secret = self.webhooks[account]
            body = trigger['payload'].encode('utf-8')
            headers = {'Content-Type': 'application/json', 'Ometria-Delivery': trigger['id'],
                       'Ometria-Signature': sign(secret, body, int(self.clock())), 'User-Agent': 'ometria-collector'}
            status, error = None, ''
            try:
                async with asyncio.timeout(DELIVERY_TIMEOUT_S):
                    status = await self.post(url, body, headers)
            except TimeoutError:
                error = f'no answer within {DELIVERY_TIMEOUT_S:g} s'
            except asyncio.CancelledError:
                await self.release(trigger)
                raise
            except Exception as failure:  # noqa: BLE001 -- any transport failure is a retry
                error = f'{type(failure).__name__}: {failure}'[:MAX_ERROR_CHARS]
            attempts = trigger['attempts'] + 1
            now_ms = int(self.clock() * 1000)
            state, next_at = outcome_of(status, attempts, trigger['created_at'], now_ms, base_ms=self.retry_base_ms)
            if status is not None and state != 'delivered':
                error = f'HTTP {status}'
            self.stats[f'webhook_{state}'] += 1
            try:
                await self.store.record_delivery(trigger['seq'], state, attempts, next_at, status, error, now_ms)
            except Exception:  # noqa: BLE001 -- the claim expires and the trigger is sent again, same id
                self.stats['webhook_record_errors'] += 1
        finally:
            self.in_flight[account] -= 1

    async def release(self, trigger: dict) -> None:
        """Give back the claim of a delivery cut short by shutdown: due again now, attempt not
        counted (the receiver may have it: it dedupes on the id)."""
        now_ms = int(self.clock() * 1000)
        state = 'retrying' if trigger['attempts'] else 'pending'
        try:
            await self.store.record_delivery(trigger['seq'], state, trigger['attempts'], now_ms, None,
                                             'collector stopped during the delivery', now_ms)
        except Exception:  # noqa: BLE001 -- then the claim expires by itself
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


def payload_text(payload: dict) -> str:
    """The exact JSON text a trigger is stored and sent as."""
    return json.dumps(payload, separators=(',', ':'), ensure_ascii=False)
