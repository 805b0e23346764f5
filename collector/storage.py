"""Event storage: what the app needs from a store, and the named rows that cross into and out of it.

`EventStore` is the interface; `engines.py` opens the engine a database URL names (SQLite file or
PostgreSQL URL). This module imports no engine: the engines import it.

What every engine promises:
- an (account, event id) is stored once, whoever sends it again and whenever (a batch re-sent after
  a lost answer; two collectors receiving the same batch at the same moment);
- group commit: the rows of concurrent requests go to the database in one transaction, and each
  request is answered only once its rows are committed (a 204 means "durable"). When a group
  fails on the data of one request (a value the database refuses), each request of the group is
  written again on its own: only that request fails (StoreRefused), never its neighbours;
- StoreBusy when the database cannot take the write now (too many writes waiting, an outage):
  the app answers 503 with Retry-After and the tag sends again;
- `seq` numbers grow in commit order, so a reader paging with `since` never skips a row.

The algorithms over the stored rows (reads, erasure, pruning, closing sessions, trigger claims)
are written once, in `programs.py`, as statements in one SQL dialect (`sql.py`); an engine runs
them (`run(program)`) and keeps only what really differs: its group-commit writer, its
transactions and commit-order lock, its migration runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

from collector.validation import RejectedEvent, ValidEvent

__all__ = [
    'COALESCED',
    'DELIVERED',
    'GAVE_UP',
    'PENDING',
    'PURCHASED',
    'RETRYING',
    'SHED',
    'WAITING',
    'ClaimedTrigger',
    'Delivery',
    'Erasure',
    'EventStore',
    'StoreBusy',
    'StoreRefused',
    'StoreResult',
    'StoredEvent',
    'StoredSummary',
    'Write',
    'sessions_touched',
]

# A trigger's delivery states: waiting (PENDING, never tried; RETRYING), done (DELIVERED; GAVE_UP
# after a 410 or 24 hours), or never sent (COALESCED into a newer trigger of the same identity;
# SHED from a backlog too long; PURCHASED: an abandoned basket whose visitor or identity has an
# order received since the session began).
PENDING = 'pending'
RETRYING = 'retrying'
DELIVERED = 'delivered'
GAVE_UP = 'gave_up'
COALESCED = 'coalesced'
SHED = 'shed'
PURCHASED = 'purchased'
WAITING = (PENDING, RETRYING)

# Requests waiting for their group's commit, per process: past it the answer is 503 at once.
MAX_WAITING_WRITES = 2000
# Rows of one group transaction (events and set-aside events): a group stays short.
MAX_ROWS_PER_TRANSACTION = 5000


class StoreBusy(Exception):
    """The store cannot take the work now (too much waiting, or the database is unavailable):
    answer 503 with Retry-After. The message is for the operator's log, not for clients."""


class StoreRefused(Exception):
    """The database refused this request's own rows (a value it cannot hold), after they were
    tried apart from the rest of their group: answer 400, the request cannot succeed as sent."""


@dataclass(frozen=True)
class Write:
    """One request's rows: its valid events and set-aside events, when it was received (ms), the
    client address it came from (its network: daily trigger limits count per client), and why its
    sender is a bot (None: nothing says so)."""

    account: str
    events: list[ValidEvent]
    rejected: list[RejectedEvent]
    received_at: int
    client: str = ''
    bot: str | None = None


@dataclass(frozen=True)
class StoreResult:
    """What a write did: events newly stored, events already there, events set aside."""

    stored: int
    duplicates: int
    rejected: int


@dataclass(frozen=True)
class Erasure:
    """What an erasure deleted, table by table."""

    events: int = 0
    rejects: int = 0
    sessions: int = 0
    summaries: int = 0
    triggers: int = 0

    def as_dict(self) -> dict:
        return {'events': self.events, 'rejects': self.rejects, 'sessions': self.sessions,
                'summaries': self.summaries, 'triggers': self.triggers}


class StoredEvent(NamedTuple):
    """An event as stored: its sequence number, when it was received (ms), its JSON text."""

    seq: int
    received_at: int
    body: str


class StoredSummary(NamedTuple):
    """An ended session's summary as stored, and how many events came after it ended."""

    seq: int
    body: str
    late: int


@dataclass(frozen=True)
class ClaimedTrigger:
    """A trigger claimed for delivery: its row, id, account, creation time, attempts so far and
    the exact JSON text to send."""

    seq: int
    id: str
    account: str
    created_at: int
    attempts: int
    payload: str


@dataclass(frozen=True)
class Delivery:
    """The outcome of one delivery attempt, to record: the trigger's new state, its attempts, when
    to try next (None: keep), the HTTP status (None: no answer) and the error text."""

    seq: int
    state: str
    attempts: int
    next_at: int | None
    status: int | None
    error: str
    at: int


def sessions_touched(events: list[ValidEvent], stored_ids) -> dict[tuple[str, str], int]:
    """(cid, sid) -> how many of `events` newly stored (ids in `stored_ids`) belong to it."""
    touched: dict[tuple[str, str], int] = {}
    for e in events:
        if e.event_id in stored_ids:
            key = (e.cid, e.sid)
            touched[key] = touched.get(key, 0) + 1
    return touched


class EventStore(Protocol):
    async def start(self) -> None:
        """Open connections and apply migrations (called once the event loop runs)."""

    async def write(self, write: Write) -> StoreResult:
        """Store one request's rows; returns once they are committed. StoreBusy: try again later;
        StoreRefused: these rows cannot be stored."""

    async def run(self, program):
        """Run a program of `programs.py` (reads, erasure, pruning, closing, claims) and return
        its result; StoreBusy when the database is unavailable."""

    async def close(self) -> None: ...
