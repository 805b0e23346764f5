"""The collector's background work for campaigns: closing idle sessions into summaries and
triggers (`SessionCloser`). It runs in every collector process and takes turns through the store,
so any number of collectors close each session once. Deliveries: `webhooks.Deliverer`.

A session that cannot be summarised (its events unreadable, or its summary refused by the
database) closes on its own as `unreadable`, with no trigger, and is logged: it never fails the
round nor holds up the sessions after it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, replace

from collector import programs
from collector.programs import IdleSession, TriggerLimits
from collector.sessions import SessionFold, trigger_of, trigger_payload
from collector.validation import identity_key
from collector.webhooks import payload_text

__all__ = ['Closing', 'SessionCloser', 'check_interval_s']

log = logging.getLogger('collector.sessions')

SESSIONS_PER_TRANSACTION = 20
MAX_CHECK_INTERVAL_S = 10.0
MIN_CHECK_INTERVAL_S = 0.2
NO_LIMITS = TriggerLimits()


def check_interval_s(session_timeout_s: float) -> float:
    """How often to look for idle sessions: a tenth of the timeout, within [0.2 s, 10 s]."""
    return min(MAX_CHECK_INTERVAL_S, max(MIN_CHECK_INTERVAL_S, session_timeout_s / 10))


@dataclass(frozen=True)
class Closing:
    """What closing one session stores: its summary, its identity key (for erasure and the trigger
    limits) and the trigger it would start (None: `reason` says why not)."""

    session: IdleSession
    summary: dict
    uid: str | None
    trigger_kind: str | None
    reason: str | None

    def texts(self, held_back: str | None) -> tuple[str, tuple[str, str, str] | None]:
        """(the summary's JSON text, (trigger id, type, payload text) or None). `held_back`: the
        daily limit that stops the trigger, if any; the summary then says so."""
        summary = dict(self.summary)
        kind = None if held_back is not None else self.trigger_kind
        if kind is None:
            summary['no_trigger'] = held_back or self.reason
            return payload_text(summary), None
        trigger_id = str(uuid.uuid4())
        return payload_text(summary), (trigger_id, kind, payload_text(trigger_payload(trigger_id, kind, summary,
                                                                                      summary['ended_at'])))

    def unreadable(self, why: str) -> Closing:
        """This session closed with nothing but its key: no identity, no trigger."""
        log.warning('session %s/%s/%s closed as unreadable: %s', *self.session[:3], why)
        account, cid, sid = self.session[:3]
        summary = {'account': account, 'cid': cid, 'sid': sid, 'uid': None, 'ended_at': self.summary['ended_at'],
                   'unreadable': why}
        return replace(self, summary=summary, uid=None, trigger_kind=None, reason='unreadable')


class _Reading:
    """One session being read for its closing (the `fold_for` object of programs.close_idle_sessions)."""

    def __init__(self, session: IdleSession, origins: tuple[str, ...]):
        self.session = session
        self.fold = SessionFold(session.account, session.cid, session.sid, origins, session.bot)
        self.failure: str | None = None

    def take(self, bodies: list[str]) -> None:
        if self.failure is not None:
            return
        try:
            self.fold.take(bodies)
        except Exception as error:  # a summary must never stop the closer (MemoryError included)
            self.failure = type(error).__name__

    def closing(self, now_ms: int) -> Closing:
        blank = Closing(self.session, {'ended_at': now_ms}, None, None, None)
        if self.failure is not None:
            return blank.unreadable(self.failure)
        try:
            summary = self.fold.summary(now_ms)
            kind, reason = trigger_of(summary)
        except Exception as error:  # as above
            return blank.unreadable(type(error).__name__)
        uid = identity_key(summary['uid']) if summary['uid'] is not None else None
        return Closing(self.session, summary, uid, kind, reason)


class SessionCloser:
    """Closes sessions idle for `timeout_s` (by receive time), SESSIONS_PER_TRANSACTION at a time.
    `origins`: account id -> its store origins (a basket url must be on one of them)."""

    def __init__(self, store, timeout_s: float, stats: Counter, origins: dict[str, tuple[str, ...]],
                 limits: TriggerLimits = NO_LIMITS, clock=time.time):
        self.store = store
        self.timeout_ms = int(timeout_s * 1000)
        self.interval_s = check_interval_s(timeout_s)
        self.stats = stats
        self.origins = origins
        self.limits = limits
        self.clock = clock

    def reading(self, session: IdleSession) -> _Reading:
        return _Reading(session, self.origins.get(session.account, ('*',)))

    async def close_idle(self) -> int:
        """Close every session idle long enough now; returns how many."""
        closed = 0
        while True:
            now_ms = int(self.clock() * 1000)
            count = await self.store.run(programs.close_idle_sessions(
                now_ms - self.timeout_ms, now_ms, SESSIONS_PER_TRANSACTION, self.reading, self.limits, self.stats))
            closed += count
            if count < SESSIONS_PER_TRANSACTION:
                break
            await asyncio.sleep(0)
        self.stats['sessions_closed'] += closed
        return closed
