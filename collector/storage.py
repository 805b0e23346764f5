"""Event storage: one row per (account, event id), behind a small interface.

`EventStore` is what the app needs; two engines implement it, chosen by `open_store(db)`:
- `SQLiteEventStore` (`sqlite_store.py`, a file path: the default): one file, one machine;
- `PostgresEventStore` (`postgres_store.py`, a `postgresql://` URL): any number of collector
  processes on any number of machines sharing one database.

What both promise:
- a (account, event id) is stored once, whoever sends it again and whenever (a batch re-sent after
  a lost answer; two collectors receiving the same batch at the same moment);
- group commit: the rows of concurrent requests go to the database in one transaction, and each
  request is answered only once its rows are committed (a 204 means "durable");
- StoreBusy when the database cannot take the write now (too many writes waiting, a database
  error, an outage): the app answers 503 with Retry-After and the tag sends again;
- `seq` numbers grow in commit order, so a reader paging with `since` never skips a row.

Privacy: `erase` deletes everything stored for one shopper (an email address, or a visitor id),
and records that it happened (when, which kind of identifier, how many rows) without keeping the
identifier; `prune` deletes events older than a time, in small batches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, NamedTuple, Protocol

from collector.validation import RejectedEvent, ValidEvent

__all__ = ['MAX_SUMMARY_EVENTS', 'TOUCH_SESSION', 'BuildClosing', 'Erasure', 'EventStore', 'StoreBusy', 'StoreResult',
           'StoredEvent', 'StoredSummary', 'is_postgres_url', 'open_store', 'sample_text', 'sessions_touched',
           'trigger_view']

# Requests waiting for their group's commit, per process: past it the answer is 503 at once.
MAX_WAITING_WRITES = 2000
# Rows of one group transaction (events and set-aside events): a group stays short.
MAX_ROWS_PER_TRANSACTION = 5000
# Events of one session read to summarise it: a bot's endless session costs a bounded read.
MAX_SUMMARY_EVENTS = 10_000


class StoreBusy(Exception):
    """The store cannot take the write now (too much waiting, or the database failed): answer
    503 with Retry-After, so the tag tries again."""


class StoredEvent(NamedTuple):
    """An event as stored: its sequence number, when it was received (ms), its JSON text."""

    seq: int
    received_at: int
    body: str


@dataclass(frozen=True)
class StoreResult:
    """What a write did: events newly stored, events already there, events set aside."""

    stored: int
    duplicates: int
    rejected: int


class Erasure(NamedTuple):
    """What an erasure deleted."""

    events: int
    rejects: int


class StoredSummary(NamedTuple):
    """An ended session's summary as stored, and how many events came after it ended."""

    seq: int
    body: str
    late: int


# What closing a session produces, from (account, cid, sid, its event bodies oldest first,
# ended_at): (the summary's JSON text, its uid or None, (trigger id, trigger type, payload JSON
# text) or None).
BuildClosing = Callable[[str, str, str, list, int], tuple]

# The session touch of the write path, after each engine's `INSERT INTO sessions (account, cid,
# sid, first_at, last_at, events) ...`: a new session, or more events of an open one; events for
# a session already closed leave it as it was and count as late.
TOUCH_SESSION = """
ON CONFLICT (account, cid, sid) DO UPDATE SET
    last_at = CASE WHEN sessions.closed_at IS NULL THEN excluded.last_at ELSE sessions.last_at END,
    events = sessions.events + CASE WHEN sessions.closed_at IS NULL THEN excluded.events ELSE 0 END,
    late = sessions.late + CASE WHEN sessions.closed_at IS NULL THEN 0 ELSE excluded.events END
"""


def sessions_touched(events: list[ValidEvent], stored_ids) -> dict[tuple[str, str], int]:
    """(cid, sid) -> how many of `events` newly stored (ids in `stored_ids`) belong to it."""
    touched: dict[tuple[str, str], int] = {}
    for e in events:
        if e.event_id in stored_ids:
            key = (e.cid, e.sid)
            touched[key] = touched.get(key, 0) + 1
    return touched


def trigger_view(seq: int, payload: str, state: str, attempts: int, next_at: int, last_status: int | None,
                 last_error: str, delivered_at: int | None) -> dict:
    """A trigger as the read API shows it: what the webhook receives, its `seq`, and its delivery."""
    view = json.loads(payload)
    view['seq'] = seq
    view['delivery'] = {'state': state, 'attempts': attempts,
                        'next_attempt_at': next_at if state in ('pending', 'retrying') else None,
                        'last_status': last_status, 'last_error': last_error, 'delivered_at': delivered_at}
    return view


class EventStore(Protocol):
    async def start(self) -> None:
        """Open connections and apply migrations (called once the event loop runs)."""

    async def write(self, account: str, events: list[ValidEvent], rejected: list[RejectedEvent]) -> StoreResult: ...

    async def read(self, account: str, since: int, limit: int) -> list[StoredEvent]: ...

    async def read_rejects(self, account: str, since: int, limit: int) -> list[dict]: ...

    async def erase(self, account: str, email: str | None, cid: str | None) -> Erasure: ...

    async def read_erasures(self, account: str, since: int, limit: int) -> list[dict]: ...

    async def prune(self, before_ms: int, batch: int) -> int: ...

    async def close_idle_sessions(self, cutoff_ms: int, now_ms: int, limit: int, build: BuildClosing) -> int:
        """Close at most `limit` open sessions whose last event was received before `cutoff_ms`:
        each closed exactly once (whatever the number of collectors), its summary and trigger
        stored in the same transaction. Returns how many were closed."""

    async def claim_triggers(self, accounts: list[str], now_ms: int, until_ms: int, limit: int) -> list[dict]:
        """Due triggers (pending or retrying, next attempt passed, not claimed) of `accounts`,
        claimed until `until_ms` so that no other collector sends them meanwhile."""

    async def record_delivery(self, seq: int, state: str, attempts: int, next_at: int | None, status: int | None,
                              error: str, now_ms: int) -> None: ...

    async def read_sessions(self, account: str, since: int, limit: int) -> list[StoredSummary]: ...

    async def read_triggers(self, account: str, since: int, limit: int) -> list[dict]: ...

    async def close(self) -> None: ...


def is_postgres_url(db: str) -> bool:
    return db.startswith(('postgresql://', 'postgres://'))


def open_store(db: str) -> EventStore:
    """The store `db` names: a `postgresql://` URL, else a SQLite file path."""
    if is_postgres_url(db):
        from collector.postgres_store import PostgresEventStore

        return PostgresEventStore(db)
    from collector.sqlite_store import SQLiteEventStore

    return SQLiteEventStore(db)


def sample_text(sample: bytes) -> str:
    """A set-aside event's sample as text either engine stores: invalid UTF-8 and NUL (which
    PostgreSQL's text refuses) become U+FFFD, so a hostile sample cannot fail its group's
    transaction."""
    return sample.decode('utf-8', 'replace').replace('\x00', '\ufffd')


