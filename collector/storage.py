"""Event storage: one row per (account, event id), behind a small interface.

`EventStore` is what the app needs; `SQLiteEventStore` is the default engine:
- one file, WAL mode, so readers never block the writer and several server processes can share it;
- `UNIQUE(account, event_id)` with `INSERT OR IGNORE`: a batch sent again after a lost answer
  stores nothing twice;
- group commit: request handlers hand their rows to one writer thread, which writes everything
  waiting in one transaction and answers each handler once its rows are committed and fsynced. A
  204 therefore means "on disk", and throughput does not die on one transaction per event.

Privacy: `erase` deletes everything stored for one shopper (an email address, or a visitor id),
and records that it happened (when, which kind of identifier, how many rows) without keeping the
identifier; `prune` deletes events older than a time, in small batches.

Another engine (PostgreSQL, say) implements the same methods.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

from collector.validation import RejectedEvent, ValidEvent

__all__ = ['Erasure', 'EventStore', 'SQLiteEventStore', 'StoreBusy', 'StoreResult', 'StoredEvent']

MAX_WAITING_WRITES = 2000
MAX_WRITES_PER_TRANSACTION = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    ts INTEGER NOT NULL,
    cid TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (account, event_id)
);
CREATE TABLE IF NOT EXISTS rejects (
    seq INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    sample TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rejects_by_account ON rejects (account, seq);
CREATE TABLE IF NOT EXISTS erasures (
    seq INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    erased_at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    events INTEGER NOT NULL,
    rejects INTEGER NOT NULL
);
"""


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
    async def write(self, account: str, events: list[ValidEvent], rejected: list[RejectedEvent]) -> StoreResult: ...

    async def read(self, account: str, since: int, limit: int) -> list[StoredEvent]: ...

    async def read_rejects(self, account: str, since: int, limit: int) -> list[dict]: ...

    async def erase(self, account: str, email: str | None, cid: str | None) -> Erasure: ...

    async def read_erasures(self, account: str, since: int, limit: int) -> list[dict]: ...

    async def prune(self, before_ms: int, batch: int) -> int: ...

    def close(self) -> None: ...


def _connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    connection.execute('PRAGMA journal_mode=WAL')
    # FULL: every commit is fsynced before the 204 goes out, so an acknowledged batch survives a
    # power loss, not only a crash. With group commit it costs one fsync per group: measured at
    # 82-95k events/s either way in the same run (README, "What a 204 means").
    connection.execute('PRAGMA synchronous=FULL')
    connection.execute('PRAGMA busy_timeout=10000')
    return connection


class SQLiteEventStore:
    """The SQLite engine; see the module docstring."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ':memory:':
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        setup = _connect(self.path)
        setup.executescript(_SCHEMA)
        setup.close()
        self._writes: queue.Queue = queue.Queue()
        self._closed = False
        self._reader_local = threading.local()
        self._writer = threading.Thread(target=self._write_loop, name='event-writer', daemon=True)
        self._writer.start()

    # -- writing ---------------------------------------------------------------------------------

    async def write(self, account: str, events: list[ValidEvent], rejected: list[RejectedEvent]) -> StoreResult:
        """Store a batch's events and set-aside events; returns once they are committed. Raises
        StoreBusy when too many writes wait or the database fails."""
        if self._closed or self._writes.qsize() >= MAX_WAITING_WRITES:
            raise StoreBusy('too many writes waiting')
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._writes.put((account, events, rejected, int(time.time() * 1000), loop, done))
        return await done

    def _write_loop(self) -> None:
        connection = _connect(self.path)
        while True:
            item = self._writes.get()
            if item is None:
                break
            work = [item]
            while len(work) < MAX_WRITES_PER_TRANSACTION:
                try:
                    more = self._writes.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._writes.put(None)
                    break
                work.append(more)
            self._commit(connection, work)
        connection.close()

    def _commit(self, connection: sqlite3.Connection, work: list) -> None:
        results = []
        try:
            connection.execute('BEGIN IMMEDIATE')
            for account, events, rejected, received_at, _loop, _done in work:
                before = connection.total_changes
                connection.executemany(
                    'INSERT OR IGNORE INTO events (account, event_id, type, ts, cid, received_at, body) '
                    'VALUES (?, ?, ?, ?, ?, ?, ?)',
                    [(account, e.event_id, e.type, e.ts, e.cid, received_at, e.body.decode('utf-8')) for e in events],
                )
                stored = connection.total_changes - before
                if rejected:
                    connection.executemany(
                        'INSERT INTO rejects (account, received_at, reason, sample) VALUES (?, ?, ?, ?)',
                        [(account, received_at, r.reason, r.sample.decode('utf-8', 'replace')) for r in rejected],
                    )
                results.append(StoreResult(stored, len(events) - stored, len(rejected)))
            connection.execute('COMMIT')
        except sqlite3.Error as error:
            try:
                connection.execute('ROLLBACK')
            except sqlite3.Error:
                pass
            for *_rest, loop, done in work:
                loop.call_soon_threadsafe(_settle, done, None, StoreBusy(f'database error: {error}'))
            return
        for (*_rest, loop, done), result in zip(work, results, strict=True):
            loop.call_soon_threadsafe(_settle, done, result, None)

    # -- reading ---------------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        connection = getattr(self._reader_local, 'connection', None)
        if connection is None:
            connection = _connect(self.path)
            self._reader_local.connection = connection
        return connection

    def read_sync(self, account: str, since: int, limit: int) -> list[StoredEvent]:
        rows = self._reader().execute(
            'SELECT seq, received_at, body FROM events WHERE account = ? AND seq > ? ORDER BY seq LIMIT ?',
            (account, since, limit),
        ).fetchall()
        return [StoredEvent(seq, received_at, body) for seq, received_at, body in rows]

    def read_rejects_sync(self, account: str, since: int, limit: int) -> list[dict]:
        rows = self._reader().execute(
            'SELECT seq, received_at, reason, sample FROM rejects WHERE account = ? AND seq > ? ORDER BY seq LIMIT ?',
            (account, since, limit),
        ).fetchall()
        return [{'seq': s, 'received_at': r, 'reason': why, 'sample': sample} for s, r, why, sample in rows]

    async def read(self, account: str, since: int, limit: int) -> list[StoredEvent]:
        """Stored events of `account` after sequence number `since`, oldest first."""
        return await asyncio.to_thread(self.read_sync, account, since, limit)

    async def read_rejects(self, account: str, since: int, limit: int) -> list[dict]:
        """Events set aside by validation, oldest first."""
        return await asyncio.to_thread(self.read_rejects_sync, account, since, limit)

    def erase_sync(self, account: str, email: str | None, cid: str | None) -> Erasure:
        connection = self._reader()
        with connection:
            connection.execute('BEGIN IMMEDIATE')
            if email is not None:
                cids = [row[0] for row in connection.execute(
                    "SELECT DISTINCT cid FROM events WHERE account = ? AND json_extract(body, '$.uid') = ?",
                    (account, email))]
                marks = [email, *cids]
            else:
                cids, marks = [cid], [cid]
            before = connection.total_changes
            if email is not None:
                connection.execute("DELETE FROM events WHERE account = ? AND json_extract(body, '$.uid') = ?",
                                   (account, email))
            for visitor in cids:
                connection.execute('DELETE FROM events WHERE account = ? AND cid = ?', (account, visitor))
            events = connection.total_changes - before
            before = connection.total_changes
            for mark in marks:
                connection.execute('DELETE FROM rejects WHERE account = ? AND instr(sample, ?) > 0', (account, mark))
            rejects = connection.total_changes - before
            connection.execute('INSERT INTO erasures (account, erased_at, kind, events, rejects) VALUES (?, ?, ?, ?, ?)',
                               (account, int(time.time() * 1000), 'email' if email is not None else 'cid', events, rejects))
        return Erasure(events, rejects)

    async def erase(self, account: str, email: str | None, cid: str | None) -> Erasure:
        """Delete the events and set-aside samples of one shopper: those with `uid` = `email` and
        every event of the visitor ids seen with it; or every event of visitor `cid`."""
        return await asyncio.to_thread(self.erase_sync, account, email, cid)

    def read_erasures_sync(self, account: str, since: int, limit: int) -> list[dict]:
        rows = self._reader().execute(
            'SELECT seq, erased_at, kind, events, rejects FROM erasures WHERE account = ? AND seq > ? ORDER BY seq LIMIT ?',
            (account, since, limit)).fetchall()
        return [{'seq': s, 'erased_at': at, 'kind': kind, 'events': e, 'rejects': r} for s, at, kind, e, r in rows]

    async def read_erasures(self, account: str, since: int, limit: int) -> list[dict]:
        return await asyncio.to_thread(self.read_erasures_sync, account, since, limit)

    def prune_sync(self, before_ms: int, batch: int) -> int:
        connection = self._reader()
        with connection:
            connection.execute('BEGIN IMMEDIATE')
            # The oldest rows come first in seq order: the scan stops after `batch` matches.
            deleted = connection.execute(
                'DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE received_at < ? ORDER BY seq LIMIT ?)',
                (before_ms, batch)).rowcount
            deleted += connection.execute(
                'DELETE FROM rejects WHERE seq IN (SELECT seq FROM rejects WHERE received_at < ? ORDER BY seq LIMIT ?)',
                (before_ms, batch)).rowcount
        return deleted

    async def prune(self, before_ms: int, batch: int) -> int:
        """Delete at most `batch` events (and set-aside events) received before `before_ms`;
        returns how many went. One short transaction: intake waits at most that long."""
        return await asyncio.to_thread(self.prune_sync, before_ms, batch)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._writes.put(None)
            self._writer.join(timeout=10)


def _settle(future: asyncio.Future, result, error) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
