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

from dataclasses import dataclass
from typing import NamedTuple, Protocol

from collector.validation import RejectedEvent, ValidEvent

__all__ = ['Erasure', 'EventStore', 'StoreBusy', 'StoreResult', 'StoredEvent', 'is_postgres_url', 'open_store',
           'sample_text']

# Requests waiting for their group's commit, per process: past it the answer is 503 at once.
MAX_WAITING_WRITES = 2000
# Rows of one group transaction (events and set-aside events): a group stays short.
MAX_ROWS_PER_TRANSACTION = 5000


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


class EventStore(Protocol):
    async def start(self) -> None:
        """Open connections and apply migrations (called once the event loop runs)."""

    async def write(self, account: str, events: list[ValidEvent], rejected: list[RejectedEvent]) -> StoreResult: ...

    async def read(self, account: str, since: int, limit: int) -> list[StoredEvent]: ...

    async def read_rejects(self, account: str, since: int, limit: int) -> list[dict]: ...

    async def erase(self, account: str, email: str | None, cid: str | None) -> Erasure: ...

    async def read_erasures(self, account: str, since: int, limit: int) -> list[dict]: ...

    async def prune(self, before_ms: int, batch: int) -> int: ...

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


