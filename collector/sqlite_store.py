"""The SQLite engine of `storage.EventStore`: one file, one machine.

- WAL mode: readers never block the writer, and the worker processes of one server share the file.
- `UNIQUE(account, event_id)` with `INSERT OR IGNORE`: nothing is stored twice.
- Group commit: request handlers queue their rows; one writer thread writes everything waiting in
  one `BEGIN IMMEDIATE` transaction (which also makes `seq` follow commit order across processes),
  commits with `synchronous=FULL` (fsynced: a 204 survives a power loss), then wakes the event loop
  once for the whole group.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import sqlite3
import threading
import time
from pathlib import Path

from collector import migrations
from collector.storage import (
    MAX_ROWS_PER_TRANSACTION,
    MAX_SUMMARY_EVENTS,
    MAX_WAITING_WRITES,
    TOUCH_SESSION,
    BuildClosing,
    Erasure,
    StoreBusy,
    StoredEvent,
    StoredSummary,
    StoreResult,
    sample_text,
    sessions_touched,
    trigger_view,
)
from collector.validation import RejectedEvent, ValidEvent

__all__ = ['SQLiteEventStore']

_TOUCH_SESSION = ('INSERT INTO sessions (account, cid, sid, first_at, last_at, events) VALUES (?, ?, ?, ?, ?, ?)'
                  + TOUCH_SESSION)


@functools.lru_cache(maxsize=128)
def _insert_events(rows: int) -> str:
    """One statement for a request's events (at most 100): it returns the ids it stored."""
    return ('INSERT OR IGNORE INTO events (account, event_id, type, ts, cid, sid, uid, received_at, body) VALUES '
            + ','.join(['(?, ?, ?, ?, ?, ?, ?, ?, ?)'] * rows) + ' RETURNING event_id')


_INSERT_REJECTS = 'INSERT INTO rejects (account, received_at, reason, sample) VALUES (?, ?, ?, ?)'


def _connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    connection.execute('PRAGMA journal_mode=WAL')
    # FULL: every commit is fsynced before the 204 goes out, so an acknowledged batch survives a
    # power loss, not only a crash. With group commit it costs one fsync per group.
    connection.execute('PRAGMA synchronous=FULL')
    connection.execute('PRAGMA busy_timeout=10000')
    # Measured on the write path (README, "Collector throughput"): the unique index takes random
    # UUIDs, so index pages are read back often; mapping the file saves a copy per page read, and
    # checkpointing the WAL every 4,000 pages instead of 1,000 costs fewer, longer passes.
    connection.execute('PRAGMA mmap_size=268435456')
    connection.execute('PRAGMA wal_autocheckpoint=4000')
    return connection


def migrate(connection: sqlite3.Connection) -> int:
    """Apply the migrations this file has not had (`PRAGMA user_version`); returns the version."""
    connection.execute('BEGIN IMMEDIATE')
    try:
        version = connection.execute('PRAGMA user_version').fetchone()[0]
        for number, script in migrations.SQLITE:
            if number > version:
                for statement in script.split(';'):
                    if statement.strip():
                        connection.execute(statement)
                connection.execute(f'PRAGMA user_version = {int(number)}')
                version = number
        connection.execute('COMMIT')
    except BaseException:
        connection.execute('ROLLBACK')
        raise
    return version


class SQLiteEventStore:
    """See the module docstring and `storage.EventStore`."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._writes: queue.Queue = queue.Queue()
        self._closed = False
        self._reader_local = threading.local()
        self._writer: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        if self.path != ':memory:':
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        setup = _connect(self.path)
        try:
            migrate(setup)
        finally:
            setup.close()
        self._loop = asyncio.get_running_loop()
        self._writer = threading.Thread(target=self._write_loop, name='event-writer', daemon=True)
        self._writer.start()

    # -- writing ---------------------------------------------------------------------------------

    async def write(self, account: str, events: list[ValidEvent], rejected: list[RejectedEvent]) -> StoreResult:
        """Store a batch's events and set-aside events; returns once they are committed. Raises
        StoreBusy when too many writes wait or the database fails."""
        if self._closed or self._writer is None or self._writes.qsize() >= MAX_WAITING_WRITES:
            raise StoreBusy('too many writes waiting')
        done = self._loop.create_future()
        self._writes.put((account, events, rejected, int(time.time() * 1000), done))
        return await done

    def _write_loop(self) -> None:
        connection = _connect(self.path)
        while True:
            item = self._writes.get()
            if item is None:
                break
            work, rows = [item], len(item[1]) + len(item[2])
            while rows < MAX_ROWS_PER_TRANSACTION:
                try:
                    more = self._writes.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._writes.put(None)
                    break
                work.append(more)
                rows += len(more[1]) + len(more[2])
            outcomes = self._commit(connection, work)
            # One wake-up of the event loop per group, not one per request.
            self._loop.call_soon_threadsafe(_settle_all, outcomes)
        connection.close()

    def _commit(self, connection: sqlite3.Connection, work: list) -> list:
        results = []
        try:
            connection.execute('BEGIN IMMEDIATE')
            for account, events, rejected, received_at, _done in work:
                stored = 0
                if events:
                    params = []
                    for e in events:
                        params += (account, e.event_id, e.type, e.ts, e.cid, e.sid, e.uid, received_at, e.body.decode('utf-8'))
                    stored_ids = {row[0] for row in connection.execute(_insert_events(len(events)), params)}
                    stored = len(stored_ids)
                    for (cid, sid), count in sessions_touched(events, stored_ids).items():
                        connection.execute(_TOUCH_SESSION, (account, cid, sid, received_at, received_at, count))
                if rejected:
                    connection.executemany(_INSERT_REJECTS, [
                        (account, received_at, r.reason, sample_text(r.sample)) for r in rejected])
                results.append(StoreResult(stored, len(events) - stored, len(rejected)))
            connection.execute('COMMIT')
        except sqlite3.Error as error:
            try:
                connection.execute('ROLLBACK')
            except sqlite3.Error:
                pass
            busy = StoreBusy(f'database error: {error}')
            return [(item[-1], None, busy) for item in work]
        return [(item[-1], result, None) for item, result in zip(work, results, strict=True)]

    # -- reading ---------------------------------------------------------------------------------

    async def _off_thread(self, work, *args):
        """`work(*args)` in a worker thread; a database error (locked past the busy timeout, a full
        disk) is StoreBusy: the caller answers 503, never 500."""
        try:
            return await asyncio.to_thread(work, *args)
        except sqlite3.Error as error:
            raise StoreBusy(f'database error: {error}') from None

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
        return await self._off_thread(self.read_sync, account, since, limit)

    async def read_rejects(self, account: str, since: int, limit: int) -> list[dict]:
        """Events set aside by validation, oldest first."""
        return await self._off_thread(self.read_rejects_sync, account, since, limit)

    def erase_sync(self, account: str, email: str | None, cid: str | None) -> Erasure:
        connection = self._reader()
        with connection:
            connection.execute('BEGIN IMMEDIATE')
            if email is not None:
                cids = [row[0] for row in connection.execute(
                    'SELECT DISTINCT cid FROM events WHERE account = ? AND uid = ?', (account, email))]
                marks = [email, *cids]
            else:
                cids, marks = [cid], [cid]
            before = connection.total_changes
            if email is not None:
                connection.execute('DELETE FROM events WHERE account = ? AND uid = ?', (account, email))
            for visitor in cids:
                connection.execute('DELETE FROM events WHERE account = ? AND cid = ?', (account, visitor))
            events = connection.total_changes - before
            before = connection.total_changes
            for mark in marks:
                connection.execute('DELETE FROM rejects WHERE account = ? AND instr(sample, ?) > 0', (account, mark))
            rejects = connection.total_changes - before
            # What the sessions of these visitors left: their summaries and triggers hold the email.
            for table in ('sessions', 'summaries', 'triggers'):
                for visitor in cids:
                    connection.execute(f'DELETE FROM {table} WHERE account = ? AND cid = ?', (account, visitor))
                if email is not None and table != 'sessions':
                    connection.execute(f'DELETE FROM {table} WHERE account = ? AND uid = ?', (account, email))
            connection.execute('INSERT INTO erasures (account, erased_at, kind, events, rejects) VALUES (?, ?, ?, ?, ?)',
                               (account, int(time.time() * 1000), 'email' if email is not None else 'cid', events, rejects))
        return Erasure(events, rejects)

    async def erase(self, account: str, email: str | None, cid: str | None) -> Erasure:
        """Delete the events and set-aside samples of one shopper: those with `uid` = `email` and
        every event of the visitor ids seen with it; or every event of visitor `cid`."""
        return await self._off_thread(self.erase_sync, account, email, cid)

    def read_erasures_sync(self, account: str, since: int, limit: int) -> list[dict]:
        rows = self._reader().execute(
            'SELECT seq, erased_at, kind, events, rejects FROM erasures WHERE account = ? AND seq > ? ORDER BY seq LIMIT ?',
            (account, since, limit)).fetchall()
        return [{'seq': s, 'erased_at': at, 'kind': kind, 'events': e, 'rejects': r} for s, at, kind, e, r in rows]

    async def read_erasures(self, account: str, since: int, limit: int) -> list[dict]:
        return await self._off_thread(self.read_erasures_sync, account, since, limit)

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
            for table, column in (('summaries', 'ended_at'), ('triggers', 'created_at')):
                deleted += connection.execute(
                    f'DELETE FROM {table} WHERE seq IN (SELECT seq FROM {table} WHERE {column} < ? ORDER BY seq LIMIT ?)',
                    (before_ms, batch)).rowcount
            deleted += connection.execute(
                'DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE closed_at < ? LIMIT ?)',
                (before_ms, batch)).rowcount
        return deleted

    async def prune(self, before_ms: int, batch: int) -> int:
        """Delete at most `batch` events (and set-aside events) received before `before_ms`;
        returns how many went. One short transaction: intake waits at most that long."""
        return await self._off_thread(self.prune_sync, before_ms, batch)

    # -- sessions and triggers -------------------------------------------------------------------

    def close_idle_sessions_sync(self, cutoff_ms: int, now_ms: int, limit: int, build: BuildClosing) -> int:
        connection = self._reader()
        # Read and summarise outside the write lock (intake goes on meanwhile)...
        idle = connection.execute(
            'SELECT account, cid, sid, last_at FROM sessions WHERE closed_at IS NULL AND last_at < ? ORDER BY last_at '
            'LIMIT ?', (cutoff_ms, limit)).fetchall()
        closings = []
        for account, cid, sid, last_at in idle:
            bodies = [row[0] for row in connection.execute(
                'SELECT body FROM events WHERE account = ? AND cid = ? AND sid = ? ORDER BY seq LIMIT ?',
                (account, cid, sid, MAX_SUMMARY_EVENTS))]
            closings.append((account, cid, sid, last_at, *build(account, cid, sid, bodies, now_ms)))
        # ...then close in one short write: a session touched since (its last_at moved) stays
        # open, and one already closed by another closer is left alone, so each closes once.
        closed = 0
        with connection:
            connection.execute('BEGIN IMMEDIATE')
            for account, cid, sid, last_at, summary, uid, trigger in closings:
                if connection.execute('UPDATE sessions SET closed_at = ? WHERE account = ? AND cid = ? AND sid = ? '
                                      'AND closed_at IS NULL AND last_at = ?',
                                      (now_ms, account, cid, sid, last_at)).rowcount != 1:
                    continue
                closed += 1
                connection.execute('INSERT INTO summaries (account, cid, sid, ended_at, uid, body) VALUES (?, ?, ?, ?, ?, ?)',
                                   (account, cid, sid, now_ms, uid, summary))
                if trigger is not None:
                    trigger_id, kind, payload = trigger
                    connection.execute(
                        'INSERT INTO triggers (id, account, cid, sid, type, created_at, uid, payload, state, next_at) '
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                        (trigger_id, account, cid, sid, kind, now_ms, uid, payload, now_ms))
        return closed

    async def close_idle_sessions(self, cutoff_ms: int, now_ms: int, limit: int, build: BuildClosing) -> int:
        return await self._off_thread(self.close_idle_sessions_sync, cutoff_ms, now_ms, limit, build)

    def claim_triggers_sync(self, accounts: list[str], now_ms: int, until_ms: int, limit: int) -> list[dict]:
        connection = self._reader()
        marks = ','.join('?' * len(accounts))
        with connection:
            connection.execute('BEGIN IMMEDIATE')
            rows = connection.execute(
                f"SELECT seq, id, account, created_at, attempts, payload FROM triggers WHERE state IN ('pending', "
                f"'retrying') AND next_at <= ? AND claimed_until < ? AND account IN ({marks}) ORDER BY next_at LIMIT ?",
                (now_ms, now_ms, *accounts, limit)).fetchall()
            connection.executemany('UPDATE triggers SET claimed_until = ? WHERE seq = ?',
                                   [(until_ms, row[0]) for row in rows])
        return [dict(zip(('seq', 'id', 'account', 'created_at', 'attempts', 'payload'), row, strict=True))
                for row in rows]

    async def claim_triggers(self, accounts: list[str], now_ms: int, until_ms: int, limit: int) -> list[dict]:
        if not accounts or limit <= 0:
            return []
        return await self._off_thread(self.claim_triggers_sync, accounts, now_ms, until_ms, limit)

    def record_delivery_sync(self, seq, state, attempts, next_at, status, error, now_ms) -> None:
        connection = self._reader()
        with connection:
            connection.execute(
                'UPDATE triggers SET state = ?, attempts = ?, next_at = coalesce(?, next_at), claimed_until = 0, '
                "last_status = ?, last_error = ?, delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END "
                'WHERE seq = ?', (state, attempts, next_at, status, error, state, now_ms, seq))

    async def record_delivery(self, seq: int, state: str, attempts: int, next_at: int | None, status: int | None,
                              error: str, now_ms: int) -> None:
        await self._off_thread(self.record_delivery_sync, seq, state, attempts, next_at, status, error, now_ms)

    def read_sessions_sync(self, account: str, since: int, limit: int) -> list[StoredSummary]:
        rows = self._reader().execute(
            'SELECT s.seq, s.body, coalesce(x.late, 0) FROM summaries s LEFT JOIN sessions x ON x.account = s.account '
            'AND x.cid = s.cid AND x.sid = s.sid WHERE s.account = ? AND s.seq > ? ORDER BY s.seq LIMIT ?',
            (account, since, limit)).fetchall()
        return [StoredSummary(*row) for row in rows]

    async def read_sessions(self, account: str, since: int, limit: int) -> list[StoredSummary]:
        """Ended sessions' summaries of `account` after `since`, oldest first."""
        return await self._off_thread(self.read_sessions_sync, account, since, limit)

    def read_triggers_sync(self, account: str, since: int, limit: int) -> list[dict]:
        rows = self._reader().execute(
            'SELECT seq, payload, state, attempts, next_at, last_status, last_error, delivered_at FROM triggers '
            'WHERE account = ? AND seq > ? ORDER BY seq LIMIT ?', (account, since, limit)).fetchall()
        return [trigger_view(*row) for row in rows]

    async def read_triggers(self, account: str, since: int, limit: int) -> list[dict]:
        """Triggers of `account` after `since`, oldest first, with their delivery state."""
        return await self._off_thread(self.read_triggers_sync, account, since, limit)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._writes.put(None)
            if self._writer is not None:
                await asyncio.to_thread(self._writer.join, 10)


def _settle_all(outcomes: list) -> None:
    for future, result, error in outcomes:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
