"""`POST /collect`: the one hot route, as a bare ASGI endpoint (no Starlette request, routing or
response objects: measured in README, "Collector throughput").

Cheap before expensive: the body is read under its limits (413, 408), its envelope opened once
(400, 413), then the account (404), the page's origin (403) and the client's rate (429) are
checked before any event is validated; a body that is not an envelope is rate-limited too. Then
each event is checked on its own (`validation.py`), and the batch is stored (204 once committed;
503 while the store is unavailable; 400 when the database refuses this request's own rows).

A bot's request (its user agent, or the tag's mark of an automated browser: `bots.py`) is stored
with its reason, which marks its session (it starts no trigger), or, for an account with
`bots = "drop"`, answered 204 and not stored; either way its events are counted by policy and
reason (`bot_events_flag_crawler`, `bot_events_drop_headless`...).

Set-aside events are all counted, and at most MAX_REJECTS_STORED_PER_REQUEST of a request, and
MAX_REJECTS_STORED_PER_ACCOUNT_HOUR of an account in an hour (per process), are kept for
inspection: a few bytes of `{}` must not make the database grow.

Anonymous clients are told short reasons about their input, never an exception's name or text.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from starlette.requests import ClientDisconnect

from collector import bots
from collector.access import ClientAddresses, network_of
from collector.bodies import BodyTimeout, BodyTooLarge, asgi_chunks, read_limited_body
from collector.cors import OriginPolicy
from collector.models import MAX_BODY_BYTES
from collector.storage import StoreBusy, StoreRefused, Write
from collector.validation import BatchVerdict, check_events, open_envelope

__all__ = ['Intake', 'RejectBudget']

log = logging.getLogger('collector.intake')

STORE_BUSY_RETRY_AFTER_S = 2
MAX_REJECTS_STORED_PER_REQUEST = 10
MAX_REJECTS_STORED_PER_ACCOUNT_HOUR = 1000
HOUR_S = 3600
# The rate-limit bucket of a client whose body names no account (it is not an envelope).
NO_ACCOUNT = ''


class RejectBudget:
    """How many set-aside events an account may still store this hour, in this process."""

    def __init__(self, per_hour: int = MAX_REJECTS_STORED_PER_ACCOUNT_HOUR, clock=time.monotonic):
        self.per_hour = per_hour
        self.clock = clock
        self._hour = None
        self._used: Counter = Counter()

    def take(self, account: str, wanted: int) -> int:
        """How many of `wanted` rows may be stored now (and counts them)."""
        hour = int(self.clock() // HOUR_S)
        if hour != self._hour:
            self._hour, self._used = hour, Counter()
        granted = max(0, min(wanted, self.per_hour - self._used[account]))
        self._used[account] += granted
        return granted


class Intake:
    """The `POST /collect` endpoint (an ASGI app); see the module docstring."""

    def __init__(self, accounts: dict, origins: OriginPolicy, addresses: ClientAddresses, limiter, store,
                 stats: Counter, body_timeout_s: float, budget: RejectBudget | None = None):
        self.accounts = accounts
        self.origins = origins
        self.addresses = addresses
        self.limiter = limiter
        self.store = store
        self.stats = stats
        self.body_timeout_s = body_timeout_s
        self.budget = budget or RejectBudget()
        self._last_warning = 0.0

    async def __call__(self, scope, receive, send) -> None:
        origin = declared = proto = agent = None
        forwarded = []
        for name, value in scope['headers']:
            if name == b'origin':
                origin = origin if origin is not None else value.decode('latin-1')
            elif name == b'content-length':
                declared = declared if declared is not None else value.decode('latin-1')
            elif name == b'x-forwarded-for':
                forwarded.append(value.decode('latin-1'))
            elif name == b'x-forwarded-proto':
                proto = proto if proto is not None else value.decode('latin-1')
            elif name == b'user-agent':
                agent = agent if agent is not None else value.decode('latin-1')
        try:
            status, headers, text = await self.accept(scope, receive, origin, declared, forwarded, proto, agent)
        except ClientDisconnect:
            # Nobody reads this answer; it is sent so that no path ends without one.
            self.stats['client_disconnects'] += 1
            status, headers, text = 400, [], b''
        await send({'type': 'http.response.start', 'status': status, 'headers': headers})
        await send({'type': 'http.response.body', 'body': text})

    def answer(self, status: int, reason: str, origin: str | None, account, extra: dict | None = None):
        self.stats[f'status_{status}'] += 1
        headers = [(k.encode('latin-1'), v.encode('latin-1')) for k, v in {
            **self.origins.response_headers(origin, account), **(extra or {})}.items()]
        if status == 204:
            return 204, headers, b''
        text = (reason + '\n').encode('utf-8', 'replace')
        headers += [(b'content-type', b'text/plain; charset=utf-8'), (b'content-length', str(len(text)).encode())]
        return status, headers, text

    def rate_wait(self, account_id: str, client: str) -> int:
        return self.limiter.check(account_id, client) if self.limiter.rate > 0 else 0

    async def accept(self, scope, receive, origin, declared, forwarded, proto, agent):
        try:
            body = await read_limited_body(asgi_chunks(receive), declared, MAX_BODY_BYTES, self.body_timeout_s)
        except BodyTooLarge as error:
            return self.answer(413, f'body over {MAX_BODY_BYTES} bytes ({error})', origin, None, {'Connection': 'close'})
        except BodyTimeout:
            return self.answer(408, 'body not received in time', origin, None, {'Connection': 'close'})
        peer = scope['client'][0] if scope.get('client') else ''
        client = network_of(self.addresses.resolve(peer, forwarded, proto, scope.get('scheme', 'http'))[0])
        opened = open_envelope(body)
        if isinstance(opened, BatchVerdict):
            wait_s = self.rate_wait(opened.account if opened.account in self.accounts else NO_ACCOUNT, client)
            if wait_s:
                return self.answer(429, 'rate limited', origin, None, {'Retry-After': str(wait_s)})
            if opened.account is not None and opened.account not in self.accounts:
                return self.answer(404, f'unknown account {opened.account!r}', origin, None)
            return self.answer(opened.status, opened.reason, origin, self.accounts.get(opened.account))
        account = self.accounts.get(opened.account)
        if account is None:
            return self.answer(404, f'unknown account {opened.account!r}', origin, None)
        if not self.origins.allows(account, origin):
            self.stats['origin_refused'] += 1
            return self.answer(403, f'origin {origin} is not allowed for account {account.account_id}', origin, account)
        wait_s = self.rate_wait(account.account_id, client)
        if wait_s:
            return self.answer(429, 'rate limited', origin, account, {'Retry-After': str(wait_s)})
        verdict = check_events(opened)
        if verdict.status != 204:
            return self.answer(verdict.status, verdict.reason, origin, account)
        bot = bots.classify(agent) or (bots.AUTOMATED if verdict.automated else None)
        if bot is not None:
            self.stats[f'bot_events_{account.bots}_{bot}'] += len(verdict.events)
            if account.bots == 'drop':
                return self.answer(204, '', origin, account)
        return await self.store_batch(verdict, account, origin, client, bot)

    async def store_batch(self, verdict: BatchVerdict, account, origin, client: str, bot: str | None):
        """Store a checked batch (its events, and what may be kept of those set aside); the answer."""
        events, rejected = verdict.events, verdict.rejected
        kept = rejected[:self.budget.take(account.account_id, min(len(rejected), MAX_REJECTS_STORED_PER_REQUEST))]
        self.stats['rejects_not_kept'] += len(rejected) - len(kept)
        try:
            result = await self.store.write(Write(account.account_id, events, kept, int(time.time() * 1000), client,
                                                  bot))
        except StoreBusy as error:
            self.warn(f'store unavailable: {error}')
            return self.answer(503, 'the store is unavailable: try again later', origin, account,
                               {'Retry-After': str(STORE_BUSY_RETRY_AFTER_S)})
        except StoreRefused:
            self.stats['store_refused'] += 1
            return self.answer(400, 'the batch holds a value that cannot be stored', origin, account)
        self.stats['events_stored'] += result.stored
        self.stats['events_duplicate'] += result.duplicates
        self.stats['events_rejected'] += len(rejected)
        return self.answer(204, '', origin, account)

    def warn(self, message: str) -> None:
        """Log `message` for the operator, at most once every 10 s (an outage must not flood the log)."""
        now = time.monotonic()
        if now - self._last_warning >= 10:
            self._last_warning = now
            log.warning(message)
