"""The SQLite engine of `storage.EventStore`: one file, one machine.

What is SQLite's own here (everything else is in `programs.py` and `sql.py`):
- WAL mode: readers never block the writer, and the worker processes of one server share the file.
- Group commit: request handlers queue their rows; one writer thread writes everything waiting in
  one `BEGIN IMMEDIATE` transaction (which also makes `seq` follow commit order across
  processes), commits with `synchronous=FULL` (fsynced: a 204 survives a power loss), then wakes
  the event loop once for the whole group. A group that fails on one request's data is written
  again request by request.
- Programs run in a worker thread on its own connection; their BEGIN is `BEGIN IMMEDIATE`.
- Shoppers' writes go first. SQLite's busy handler polls a locked database ever more slowly
  (every 100 ms after the first 228 ms), so a writer waiting for the lock missed every gap
  between the short transactions of a long program (an erasure, 45 of them) and waited for the
  whole program. Now the intake writer asks for the lock every `INTAKE_LOCK_POLL_S` itself, and a
  program pauses `PROGRAM_PAUSE_BETWEEN_TRANSACTIONS_S` before each transaction after its first.
- Migrations: `PRAGMA user_version`, under `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import sqlite3
import threading
import time
from pathlib import Path

from collector import migrations, sql
from collector.storage import (
    MAX_ROWS_PER_TRANSACTION,
    MAX_WAITING_WRITES,
    StoreBusy,
    StoreRefused,
    StoreResult,
    Write,
    sessions_touched,
)

__all__ = ['SQLiteEventStore', 'migrate']

log = logging.getLogger('collector.store')

BUSY_TIMEOUT_MS = 10_000
# How often the intake writer asks for a lock another connection holds, and how long a program
# of several transactions leaves the lock free between them: a few polls' worth, so a waiting
# intake writer (of any worker process) always gets in.
INTAKE_LOCK_POLL_S = 0.002
PROGRAM_PAUSE_BETWEEN_TRANSACTIONS_S = 0.01

# What SQLite (or its Python binding) raises for a value it cannot take: that request's fault.
_DATA_ERRORS = (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.InterfaceError, UnicodeError, OverflowError)


@functools.lru_cache(maxsize=128)
def _insert_events(rows: int) -> str:
    """One statement for a request's events (at most 100): it returns the ids it stored."""
    return ('INSERT INTO events (account, event_id, type, ts, cid, sid, uid, received_at, body) VALUES '
            + ','.join(['(?, ?, ?, ?, ?, ?, ?, ?, ?)'] * rows) + ' ON CONFLICT (account, event_id) DO NOTHING '
            'RETURNING event_id')


def _connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    connection.execute('PRAGMA journal_mode=WAL')
    # FULL: every commit is fsynced before the 204 goes out, so an acknowledged batch survives a
    # power loss, not only a crash. With group commit it costs one fsync per group.
    connection.execute('PRAGMA synchronous=FULL')
    connection.execute(f'PRAGMA busy_timeout={BUSY_TIMEOUT_MS}')
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


def _begin_first(connection: sqlite3.Connection) -> None:
    """`BEGIN IMMEDIATE`, asking again every INTAKE_LOCK_POLL_S while another connection holds
    the lock, for at most BUSY_TIMEOUT_MS; then raises like SQLite's own busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    connection.execute('PRAGMA busy_timeout=0')
    try:
        while True:
            try:
                connection.execute('BEGIN IMMEDIATE')
                return
            except sqlite3.OperationalError as error:
                if connection.in_transaction or 'locked' not in str(error) or time.monotonic() > deadline:
                    raise
            time.sleep(INTAKE_LOCK_POLL_S)
    finally:
        connection.execute(f'PRAGMA busy_timeout={BUSY_TIMEOUT_MS}')


def _rollback(connection: sqlite3.Connection) -> None:
    try:
        connection.execute('ROLLBACK')
    except sqlite3.Error:
        pass


def _perform(connection: sqlite3.Connection, op, paused: bool):
    """One operation of a program; `paused`: pause before it if it begins a transaction."""
    if op.kind == 'fetch':
        return connection.execute(op.sql, op.args).fetchall()
    if op.kind == 'execute':
        return connection.execute(op.sql, op.args).rowcount
    if op.kind == 'begin':
        if paused:
            time.sleep(PROGRAM_PAUSE_BETWEEN_TRANSACTIONS_S)
        connection.execute('BEGIN IMMEDIATE')
    else:
        connection.execute('COMMIT')
    return None


def drive(connection: sqlite3.Connection, program):
    """Run a program of `programs.py` on `connection`, in this thread; returns its result. A
    value SQLite refuses is raised inside the program as StoreRefused (after rolling back its
    transaction); any other database error ends it as StoreBusy. Every transaction after the
    program's first starts after a pause (see the module docstring)."""
    committed = False
    outcome, failure = None, None
    while True:
        try:
            op = program.send(outcome) if failure is None else program.throw(failure)
        except StopIteration as done:
            return done.value
        except BaseException:
            if connection.in_transaction:
                _rollback(connection)
            raise
        outcome, failure = None, None
        try:
            outcome = _perform(connection, op, committed)
            committed = committed or op.kind == 'commit'
        except _DATA_ERRORS as error:
            if connection.in_transaction:
                _rollback(connection)
            failure = StoreRefused(f'{type(error).__name__}: {error}')
        except sqlite3.Error as error:
            if connection.in_transaction:
                _rollback(connection)
            program.close()
            raise StoreBusy(f'database error: {error}') from None


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

    async def write(self, write: Write) -> StoreResult:
        """Store one request's rows; returns once they are committed (see `storage.EventStore`)."""
        if self._closed or self._writer is None or self._writes.qsize() >= MAX_WAITING_WRITES:
            raise StoreBusy('too many writes waiting')
        done = self._loop.create_future()
        self._writes.put((write, done))
        return await done

    def _write_loop(self) -> None:
        connection = _connect(self.path)
        while True:
            item = self._writes.get()
            if item is None:
                break
            work, rows = [item], len(item[0].events) + len(item[0].rejected)
            while rows < MAX_ROWS_PER_TRANSACTION:
                try:
                    more = self._writes.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._writes.put(None)
                    break
                work.append(more)
                rows += len(more[0].events) + len(more[0].rejected)
            outcomes = self._commit(connection, [write for write, _ in work])
            # One wake-up of the event loop per group, not one per request.
            self._loop.call_soon_threadsafe(_settle_all, [(done, outcome) for (_, done), outcome in
                                                          zip(work, outcomes, strict=True)])
        connection.close()

    def _commit(self, connection: sqlite3.Connection, writes: list[Write]) -> list:
        """Each write's StoreResult, StoreRefused or StoreBusy: the group in one transaction, or,
        when that fails on a value SQLite refuses, each write in one of its own."""
        try:
            _begin_first(connection)
            results = [_write_rows(connection, write) for write in writes]
            connection.execute('COMMIT')
            return results
        except _DATA_ERRORS:
            _rollback(connection)
        except sqlite3.Error as error:
            _rollback(connection)
            log.warning('group write failed: %s', error)
            return [StoreBusy(f'database error: {error}')] * len(writes)
        outcomes = []
        for write in writes:
            try:
                _begin_first(connection)
                outcomes.append(_write_rows(connection, write))
                connection.execute('COMMIT')
            except _DATA_ERRORS as error:
                _rollback(connection)
                log.warning('a request of account %s refused by the database: %s', write.account, error)
                outcomes.append(StoreRefused(f'{type(error).__name__}'))
            except sqlite3.Error as error:
                _rollback(connection)
                outcomes.append(StoreBusy(f'database error: {error}'))
        return outcomes

    # -- programs --------------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        connection = getattr(self._reader_local, 'connection', None)
        if connection is None:
            connection = _connect(self.path)
            self._reader_local.connection = connection
        return connection

    async def run(self, program):
        """Run `program` (programs.py) in a worker thread; StoreBusy when the database is locked
        past its busy timeout, full or failing."""
        return await asyncio.to_thread(lambda: drive(self._reader(), program))

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._writes.put(None)
            if self._writer is not None:
                await asyncio.to_thread(self._writer.join, 10)


def _write_rows(connection: sqlite3.Connection, write: Write) -> StoreResult:
    """One request's rows, inside the caller's transaction."""
    stored = 0
    if write.events:
        params = []
        for e in write.events:
            params += (write.account, e.event_id, e.type, e.ts, e.cid, e.sid, e.uid, write.received_at,
                       e.body.decode('utf-8'))
        stored_ids = {row[0] for row in connection.execute(_insert_events(len(write.events)), params)}
        stored = len(stored_ids)
        for (cid, sid), count in sessions_touched(write.events, stored_ids).items():
            connection.execute(sql.TOUCH_SESSION, (write.account, cid, sid, write.received_at, write.received_at,
                                                   count, write.client, write.bot))
    if write.rejected:
        connection.executemany(sql.INSERT_REJECT, [
            (write.account, write.received_at, r.reason, r.sample.decode('utf-8', 'replace'), r.cid, r.uid)
            for r in write.rejected])
    return StoreResult(stored, len(write.events) - stored, len(write.rejected))


def _settle_all(outcomes: list) -> None:
    for future, outcome in outcomes:
        if future.done():
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
