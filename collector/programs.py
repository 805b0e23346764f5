"""The stores' algorithms, written once for both engines: reads, erasure, retention, closing
sessions, trigger claims and delivery records.

Each is a *program*: a generator that yields the database operations it needs and receives their
results, so that it holds no connection, no thread and no event loop:

    rows = yield fetch(sql.READ_EVENTS, account, since, limit)   # -> list of tuples
    count = yield execute(sql.CLOSE_SESSION, ...)                # -> rows changed
    yield BEGIN ... yield COMMIT                                 # one transaction

An engine runs a program with `store.run(program)`: SQLite in a worker thread on its own
connection (BEGIN is `BEGIN IMMEDIATE`, the database's one writer), PostgreSQL with awaits on a
pooled connection (BEGIN also takes the commit-order lock, so rows get their `seq` in commit
order). When the database refuses a statement for the data in it, the engine rolls the
transaction back and raises `StoreRefused` inside the program, which may carry on without those
rows; any other failure ends the program with `StoreBusy`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, NamedTuple

from collector import sql
from collector.sessions import ABANDONED_BASKET
from collector.storage import (
    DELIVERED,
    WAITING,
    ClaimedTrigger,
    Delivery,
    Erasure,
    StoredEvent,
    StoredSummary,
    StoreRefused,
)

__all__ = [
    'BEGIN',
    'COMMIT',
    'ERASE_BATCH_ROWS',
    'IdleSession',
    'Op',
    'TriggerLimits',
    'claim_triggers',
    'close_idle_sessions',
    'erase',
    'execute',
    'fetch',
    'latest_session',
    'prune',
    'read_erasures',
    'read_events',
    'read_rejects',
    'read_sessions',
    'read_triggers',
    'record_delivery',
    'shed_backlog',
    'trigger_backlog',
]

# Rows one erasure or retention step deletes in its own short transaction: intake waits for one
# step at most (measured: ~10-40 ms for 500 rows on this machine's SQLite file).
ERASE_BATCH_ROWS = 500
# Events of one session read to summarise it, and how many are read at a time: a bot's endless
# session costs a bounded read and bounded memory.
MAX_SUMMARY_EVENTS = 10_000
SESSION_PAGE_ROWS = 200
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Op:
    """One database operation a program asks for: 'fetch' (rows), 'execute' (rows changed),
    'begin' or 'commit'."""

    kind: str
    sql: str = ''
    args: tuple = ()


BEGIN = Op('begin')
COMMIT = Op('commit')


def fetch(query: str, *args) -> Op:
    return Op('fetch', query, args)


def execute(query: str, *args) -> Op:
    return Op('execute', query, args)


# -- reads --------------------------------------------------------------------------------------

def read_events(account: str, since: int, limit: int):
    """Stored events of `account` after sequence number `since`, oldest first."""
    rows = yield fetch(sql.READ_EVENTS, account, since, limit)
    return [StoredEvent(*row) for row in rows]


def read_rejects(account: str, since: int, limit: int):
    """Events set aside by validation, oldest first."""
    rows = yield fetch(sql.READ_REJECTS, account, since, limit)
    return [{'seq': s, 'received_at': at, 'reason': why, 'sample': sample} for s, at, why, sample in rows]


def read_erasures(account: str, since: int, limit: int):
    """The record of erasures: when, which kind of identifier, how many rows of each table."""
    rows = yield fetch(sql.READ_ERASURES, account, since, limit)
    names = ('seq', 'erased_at', 'kind', 'events', 'rejects', 'sessions', 'summaries', 'triggers')
    return [dict(zip(names, row, strict=True)) for row in rows]


def read_sessions(account: str, since: int, limit: int):
    """Ended sessions' summaries of `account` after `since`, oldest first."""
    rows = yield fetch(sql.READ_SUMMARIES, account, since, limit)
    return [StoredSummary(*row) for row in rows]


def read_triggers(account: str, since: int, limit: int):
    """Triggers of `account` after `since`, oldest first, each as the webhook receives it with its
    `seq` and its `delivery` state."""
    rows = yield fetch(sql.READ_TRIGGERS, account, since, limit)
    return [trigger_view(*row) for row in rows]


def trigger_view(seq: int, payload: str, state: str, attempts: int, next_at: int, last_status: int | None,
                 last_error: str, delivered_at: int | None) -> dict:
    view = json.loads(payload)
    view['seq'] = seq
    view['delivery'] = {'state': state, 'attempts': attempts,
                        'next_attempt_at': next_at if state in WAITING else None,
                        'last_status': last_status, 'last_error': last_error, 'delivered_at': delivered_at}
    return view


def trigger_backlog():
    """account -> triggers waiting for delivery (pending or retrying)."""
    rows = yield fetch(sql.TRIGGER_BACKLOG)
    return {account: count for account, count in rows}


# -- erasure and retention ----------------------------------------------------------------------

def _drain(statement: str, args: tuple, batch: int):
    """Run a batched DELETE until it deletes fewer than `batch` rows, each batch in a transaction
    of its own; returns how many rows went."""
    total = 0
    while True:
        yield BEGIN
        count = yield execute(statement, *args, batch)
        yield COMMIT
        total += count
        if count < batch:
            return total


def erase(account: str, identity: str | None, cid: str | None, now_ms: int, batch: int = ERASE_BATCH_ROWS):
    """Delete everything stored of one shopper: for an `identity` (an identity key, see
    `validation.identity_key`), the rows that carry it and every row of the visitor ids seen with
    it (their anonymous visits too); for a `cid`, every row of that visitor. Events, set-aside
    events, sessions, summaries and triggers, a batch per short transaction. Records that it
    happened (when, the kind of identifier, the counts) without the identifier; returns Erasure."""
    if identity is not None:
        rows = yield fetch(sql.VISITORS_OF_IDENTITY, account, identity)
        visitors = sorted({row[0] for row in rows})
    else:
        visitors = [cid]
    counts = {}
    for table, (by_identity, by_visitor) in sql.ERASE_STEPS.items():
        counts[table] = 0
        if identity is not None and by_identity is not None:
            counts[table] += yield from _drain(by_identity, (account, identity), batch)
        for visitor in visitors:
            counts[table] += yield from _drain(by_visitor, (account, visitor), batch)
    erased = Erasure(**counts)
    yield BEGIN
    yield execute(sql.RECORD_ERASURE, account, now_ms, 'email' if identity is not None else 'cid', erased.events,
                  erased.rejects, erased.sessions, erased.summaries, erased.triggers)
    yield COMMIT
    return erased


def prune(events_before_ms: int, rejects_before_ms: int, batch: int):
    """One retention step: at most `batch` rows of each table older than its cutoff (events,
    summaries, triggers and closed sessions: `events_before_ms`; set-aside events:
    `rejects_before_ms`), in one short transaction; returns how many rows went."""
    cutoffs = {'events': events_before_ms, 'rejects': rejects_before_ms}
    deleted = 0
    yield BEGIN
    for statement, cutoff in sql.PRUNE_STEPS:
        deleted += yield execute(statement, cutoffs[cutoff], batch)
    yield COMMIT
    return deleted


# -- closing sessions ---------------------------------------------------------------------------

class IdleSession(NamedTuple):
    """An open session whose last event was received long enough ago: its key, that time, the
    client address and bot reason its requests gave."""

    account: str
    cid: str
    sid: str
    last_at: int
    client: str
    bot: str | None


@dataclass(frozen=True)
class TriggerLimits:
    """How many triggers one identity, and one client address, may start per day (0: no limit);
    how long an `abandoned_basket` trigger waits before it is first sent, so that an order
    arriving meanwhile (a Shopify order webhook comes after the session, sometimes minutes after)
    stops it (`claim_triggers`)."""

    per_identity_per_day: int = 0
    per_client_per_day: int = 0
    purchase_grace_ms: int = 0


def close_idle_sessions(cutoff_ms: int, now_ms: int, limit: int, fold_for: Callable, limits: TriggerLimits,
                        stats) -> object:
    """Close at most `limit` open sessions whose last event was received before `cutoff_ms`.

    Each session's events are read a page at a time (at most MAX_SUMMARY_EVENTS) into
    `fold_for(session)`, an object with `take(bodies)` and `closing(now_ms)` (`triggers.py`); its
    closing has `uid`, `trigger_kind`, `session` and `texts(reason)`. Then one short transaction
    closes the sessions whose `last_at` has not moved and that are still open (so each closes once,
    whatever the number of collectors), storing each summary and trigger. A trigger over the daily
    limits is not made (its summary says why); an identity's trigger not yet attempted is replaced
    by the newer one. When the database refuses one session's rows, the sessions are closed one by
    one, and the refused one closes as unreadable: one hostile session never stops the others.
    Returns how many closed; `stats` counts what was held back, by reason."""
    idle = yield fetch(sql.IDLE_SESSIONS, cutoff_ms, limit)
    closings = []
    for row in idle:
        session = IdleSession(*row)
        fold = fold_for(session)
        after, read = 0, 0
        while read < MAX_SUMMARY_EVENTS:
            page = min(SESSION_PAGE_ROWS, MAX_SUMMARY_EVENTS - read)
            rows = yield fetch(sql.SESSION_EVENTS, session.account, session.cid, session.sid, after, page)
            fold.take([body for _, body in rows])
            read += len(rows)
            if len(rows) < page:
                break
            after = rows[-1][0]
        closings.append(fold.closing(now_ms))
    try:
        yield BEGIN
        closed = 0
        for closing in closings:
            closed += yield from _close(closing, now_ms, limits, stats)
        yield COMMIT
        return closed
    except StoreRefused:
        pass
    closed = 0
    for closing in closings:
        try:
            yield BEGIN
            closed += yield from _close(closing, now_ms, limits, stats)
            yield COMMIT
        except StoreRefused:
            stats['sessions_refused'] += 1
            yield BEGIN
            closed += yield from _close(closing.unreadable('the database refused its summary'), now_ms, limits, stats)
            yield COMMIT
    return closed


def _close(closing, now_ms: int, limits: TriggerLimits, stats):
    """Close one session inside the caller's transaction: 1 when it closed here, 0 when it moved
    on or another collector closed it."""
    session = closing.session
    changed = yield execute(sql.CLOSE_SESSION, now_ms, session.account, session.cid, session.sid, session.last_at)
    if changed != 1:
        return 0
    held_back = None
    if closing.trigger_kind is not None:
        held_back = yield from _over_limits(closing, now_ms, limits)
    if held_back is not None:
        stats[f'triggers_held_back_{held_back}'] += 1
    summary, trigger = closing.texts(held_back)
    yield execute(sql.INSERT_SUMMARY, session.account, session.cid, session.sid, now_ms, closing.uid, summary)
    if trigger is not None:
        trigger_id, kind, payload = trigger
        yield execute(sql.COALESCE_TRIGGERS, f'replaced by trigger {trigger_id}', session.account, closing.uid)
        first_at = now_ms + limits.purchase_grace_ms if kind == ABANDONED_BASKET else now_ms
        yield execute(sql.INSERT_TRIGGER, trigger_id, session.account, session.cid, session.sid, kind, now_ms,
                      closing.uid, session.client, payload, first_at)
    return 1


def _over_limits(closing, now_ms: int, limits: TriggerLimits):
    """'identity_daily_limit' or 'client_daily_limit' when a trigger for this session would pass
    a daily limit, else None. A pending trigger of the same identity that this one replaces does
    not count against the identity's limit."""
    session = closing.session
    since = now_ms - DAY_MS
    if limits.per_identity_per_day > 0:
        rows = yield fetch(sql.TRIGGERS_OF_IDENTITY_SINCE, session.account, closing.uid, since)
        if rows[0][0] >= limits.per_identity_per_day:
            return 'identity_daily_limit'
    if limits.per_client_per_day > 0 and session.client:
        rows = yield fetch(sql.TRIGGERS_OF_CLIENT_SINCE, session.account, session.client, since)
        if rows[0][0] >= limits.per_client_per_day:
            return 'client_daily_limit'
    return None


# -- deliveries ---------------------------------------------------------------------------------

def latest_session(account: str, cid: str):
    """The id of the visitor's latest session, or None."""
    rows = yield fetch(sql.LATEST_SESSION, account, cid)
    return rows[0][0] if rows else None


def claim_triggers(account: str, now_ms: int, until_ms: int, limit: int):
    """Due triggers of `account` (pending or retrying, next attempt passed, not claimed), the most
    recently due first, claimed until `until_ms` so that no other collector sends them meanwhile.
    An `abandoned_basket` whose visitor or identity has an order received since its session
    began is never sent: it becomes PURCHASED. The orders are looked for before the claiming
    transaction (a visitor's events can be many: reading them must not hold intake's lock); a
    trigger that became due in between is left for the next round."""
    due = yield fetch(sql.DUE_TRIGGERS, now_ms, now_ms, account, limit)
    orders = {}
    for row in due:
        if row[6] == ABANDONED_BASKET:
            found = yield fetch(sql.PURCHASE_SINCE_SESSION, account, row[7], row[9], account, row[7], row[8])
            orders[row[0]] = found[0][0] if found else None
    yield BEGIN
    rows = yield fetch(sql.DUE_TRIGGERS, now_ms, now_ms, account, limit)
    claimed = []
    for row in rows:
        seq = row[0]
        if row[6] == ABANDONED_BASKET:
            if seq not in orders:
                continue
            if orders[seq] is not None:
                yield execute(sql.MARK_PURCHASED, f'a purchase since the session began: event {orders[seq]}', seq)
                continue
        yield execute(sql.CLAIM_TRIGGER, until_ms, seq)
        claimed.append(ClaimedTrigger(*row[:6]))
    yield COMMIT
    return claimed


def record_delivery(delivery: Delivery):
    """Record one attempt's outcome and give the claim back."""
    yield BEGIN
    yield execute(sql.RECORD_DELIVERY, delivery.state, delivery.attempts, delivery.next_at, delivery.status,
                  delivery.error, delivery.state == DELIVERED, delivery.at, delivery.seq)
    yield COMMIT


def shed_backlog(account: str, keep: int, now_ms: int):
    """Past `keep` triggers waiting for delivery, the oldest of `account` are given up ('shed'),
    so that a flood cannot queue a day of backlog in front of real shoppers; returns how many."""
    rows = yield fetch(sql.SHED_CUTOFF, account, keep)
    if not rows:
        return 0
    yield BEGIN
    count = yield execute(sql.SHED_TRIGGERS, f'shed: more than {keep} triggers waiting', account, rows[0][0], now_ms)
    yield COMMIT
    return count
