"""The PostgreSQL engine of `storage.EventStore`: collectors on any number of machines, one database.

Driver: asyncpg (binary protocol, its own pool, no thread hand-off). Measured on this project's
group insert (unnest arrays, ON CONFLICT DO NOTHING RETURNING), one connection, same machine:
groups of 10 rows, asyncpg 13.4k rows/s against psycopg 3's 10.4k; groups of 200 rows, 52.6k
against 26.7k (README, "Running on PostgreSQL").

What is PostgreSQL's own here (everything else is in `programs.py` and `sql.py`):
- Group commit: requests queue their rows in this process; one writer task sends everything
  waiting in one transaction: the events as one `INSERT ... SELECT FROM unnest(...)`, the session
  touches and set-aside events with the shared statements. Each request is answered after the
  commit. A group that fails on one request's data (a value PostgreSQL refuses) is written again
  request by request, so one client's rows never fail another's request.
- Commit order: every transaction (groups and programs alike) first takes one transaction-scoped
  advisory lock, so transactions of all collectors commit one at a time and `seq` follows commit
  order: a reader paging with `since` never skips a row committed late with a smaller `seq`.
- Outages: every write is bounded by WRITE_TIMEOUT_S (the pool's acquire, the transaction); a
  refused connection, a lost one, a restart or a timeout answers 503 (StoreBusy) and the tag sends
  again. The pool replaces dead connections by itself; migrations not yet applied (the database
  was down at start) are applied on the first write that reaches it.
- Pool: at most POOL_MAX_CONNECTIONS per collector process (the writer, reads, background work):
  N processes need N x POOL_MAX_CONNECTIONS of the server's `max_connections`.
"""

from __future__ import annotations

import asyncio
import collections
import logging

import asyncpg

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

__all__ = ['POOL_MAX_CONNECTIONS', 'PostgresEventStore', 'migrate']

log = logging.getLogger('collector.store')

POOL_MAX_CONNECTIONS = 4
CONNECT_TIMEOUT_S = 3.0
WRITE_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 10.0
# Advisory lock keys (any two constants of this project's own).
MIGRATION_LOCK = 0x6F6D_0001
COMMIT_ORDER_LOCK = 0x6F6D_0002

_INSERT_EVENTS = """
INSERT INTO events (account, event_id, type, ts, cid, sid, uid, received_at, body)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::bigint[],
                     $9::text[])
ON CONFLICT (account, event_id) DO NOTHING
RETURNING account, event_id
"""
_LOCK = 'SELECT pg_advisory_xact_lock($1)'
_CONNECTION_ERRORS = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
# What PostgreSQL refuses for the data in it (SQLSTATE classes 22 and 23, and values the driver
# cannot encode): the fault of the request that sent it.
_DATA_ERRORS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, UnicodeError)


async def migrate(connection: asyncpg.Connection) -> int:
    """Apply the migrations the database has not had, under an advisory lock (collectors starting
    together take turns); returns the version."""
    async with connection.transaction():
        await connection.execute('SELECT pg_advisory_xact_lock($1)', MIGRATION_LOCK)
        await connection.execute('CREATE TABLE IF NOT EXISTS schema_migrations '
                                 '(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())')
        version = await connection.fetchval('SELECT coalesce(max(version), 0) FROM schema_migrations')
        for number, script in migrations.POSTGRES:
            if number > version:
                await connection.execute(script)
                await connection.execute('INSERT INTO schema_migrations (version) VALUES ($1)', number)
                version = number
    return version


def _count(status: str) -> int:
    """Rows a command touched, from its status ('DELETE 3')."""
    return int(status.rsplit(' ', 1)[-1]) if status and status[-1].isdigit() else 0


async def drive(connection: asyncpg.Connection, program):
    """Run a program of `programs.py` on `connection`; returns its result. BEGIN also takes the
    commit-order lock. A value PostgreSQL refuses is raised inside the program as StoreRefused
    (after rolling back its transaction); any other failure ends it (the caller makes it StoreBusy)."""
    transaction = None
    outcome, failure = None, None
    try:
        while True:
            try:
                op = program.send(outcome) if failure is None else program.throw(failure)
            except StopIteration as done:
                return done.value
            outcome, failure = None, None
            try:
                if op.kind == 'fetch':
                    outcome = [tuple(row) for row in await connection.fetch(sql.numbered(op.sql), *op.args)]
                elif op.kind == 'execute':
                    outcome = _count(await connection.execute(sql.numbered(op.sql), *op.args))
                elif op.kind == 'begin':
                    transaction = connection.transaction()
                    await transaction.start()
                    await connection.execute(_LOCK, COMMIT_ORDER_LOCK)
                else:
                    await transaction.commit()
                    transaction = None
            except _DATA_ERRORS as error:
                if transaction is not None:
                    await transaction.rollback()
                    transaction = None
                failure = StoreRefused(f'{type(error).__name__}')
    finally:
        if transaction is not None:
            try:
                await transaction.rollback()
            except _CONNECTION_ERRORS:
                pass
        program.close()


class PostgresEventStore:
    """See the module docstring and `storage.EventStore`."""

    def __init__(self, url: str):
        self.url = url
        self._pool: asyncpg.Pool | None = None
        self._migrated = False
        self._migrating = asyncio.Lock()
        self._pending: collections.deque = collections.deque()
        self._wake = asyncio.Event()
        self._writer: asyncio.Task | None = None
        self._closed = False

    async def start(self) -> None:
        # min_size=0: the collector starts (and answers 503) while the database is unreachable.
        self._pool = asyncpg.create_pool(self.url, min_size=0, max_size=POOL_MAX_CONNECTIONS,
                                         timeout=CONNECT_TIMEOUT_S, command_timeout=READ_TIMEOUT_S,
                                         max_inactive_connection_lifetime=60.0)
        await self._pool
        try:
            await self._ensure_migrated()
        except StoreBusy:
            pass
        self._writer = asyncio.create_task(self._write_loop())

    async def _ensure_migrated(self) -> None:
        if self._migrated:
            return
        async with self._migrating:
            if self._migrated:
                return
            try:
                async with asyncio.timeout(WRITE_TIMEOUT_S):
                    async with self._pool.acquire() as connection:
                        await migrate(connection)
            except _CONNECTION_ERRORS as error:
                raise StoreBusy(f'database unavailable: {type(error).__name__}') from None
            self._migrated = True

    # -- writing ---------------------------------------------------------------------------------

    async def write(self, write: Write) -> StoreResult:
        """Store one request's rows; returns once they are committed (see `storage.EventStore`)."""
        if self._closed or self._writer is None or len(self._pending) >= MAX_WAITING_WRITES:
            raise StoreBusy('too many writes waiting')
        done = asyncio.get_running_loop().create_future()
        self._pending.append((write, done))
        self._wake.set()
        return await done

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                work, rows = [], 0
                while self._pending and rows < MAX_ROWS_PER_TRANSACTION:
                    item = self._pending.popleft()
                    work.append(item)
                    rows += len(item[0].events) + len(item[0].rejected)
                writes = [write for write, _ in work]
                try:
                    outcomes = await self._commit(writes)
                except asyncio.CancelledError:
                    _settle(work, [StoreBusy('shutting down')] * len(work))
                    raise
                except Exception as error:  # the writer lives on; these requests get 503
                    log.warning('group write failed: %s', error)
                    outcomes = [StoreBusy(f'database error: {type(error).__name__}')] * len(work)
                _settle(work, outcomes)
            if self._closed:
                return

    async def _commit(self, writes: list[Write]) -> list:
        """Each write's StoreResult, StoreRefused or StoreBusy: the group in one transaction, or,
        when that fails on a value PostgreSQL refuses, each write in one of its own."""
        await self._ensure_migrated()
        try:
            return await self._transaction(writes)
        except _DATA_ERRORS:
            pass
        except _CONNECTION_ERRORS as error:
            return [StoreBusy(f'database unavailable: {type(error).__name__}')] * len(writes)
        outcomes = []
        for write in writes:
            try:
                outcomes += await self._transaction([write])
            except _DATA_ERRORS as error:
                log.warning('a request of account %s refused by the database: %s', write.account,
                            type(error).__name__)
                outcomes.append(StoreRefused(type(error).__name__))
            except _CONNECTION_ERRORS as error:
                outcomes.append(StoreBusy(f'database unavailable: {type(error).__name__}'))
        return outcomes

    async def _transaction(self, writes: list[Write]) -> list[StoreResult]:
        columns = ([], [], [], [], [], [], [], [], [])
        for write in writes:
            for e in write.events:
                for column, value in zip(columns, (write.account, e.event_id, e.type, e.ts, e.cid, e.sid, e.uid,
                                                   write.received_at, e.body.decode('utf-8')), strict=True):
                    column.append(value)
        async with asyncio.timeout(WRITE_TIMEOUT_S):
            async with self._pool.acquire() as connection:
                async with connection.transaction():
                    await connection.execute(_LOCK, COMMIT_ORDER_LOCK)
                    inserted = await connection.fetch(_INSERT_EVENTS, *columns) if columns[0] else []
                    results, touches = _attribute(writes, {(row[0], row[1]) for row in inserted})
                    if touches:
                        await connection.executemany(sql.numbered(sql.TOUCH_SESSION), touches)
                    rejects = [(write.account, write.received_at, r.reason, r.sample.decode('utf-8', 'replace'), r.cid,
                                r.uid) for write in writes for r in write.rejected]
                    if rejects:
                        await connection.executemany(sql.numbered(sql.INSERT_REJECT), rejects)
        return results

    # -- programs --------------------------------------------------------------------------------

    async def run(self, program):
        """Run `program` (programs.py) on a pooled connection; StoreBusy when the database is
        unavailable."""
        try:
            await self._ensure_migrated()
            async with asyncio.timeout(CONNECT_TIMEOUT_S + 1):
                connection = await self._pool.acquire()
        except _CONNECTION_ERRORS as error:
            program.close()
            raise StoreBusy(f'database unavailable: {type(error).__name__}') from None
        try:
            return await drive(connection, program)
        except _CONNECTION_ERRORS as error:
            raise StoreBusy(f'database unavailable: {type(error).__name__}') from None
        finally:
            await self._pool.release(connection)

    async def close(self) -> None:
        """Finish the group being written (at most WRITE_TIMEOUT_S), answer 503 to what waits, close."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._writer is not None:
            try:
                await asyncio.wait_for(self._writer, WRITE_TIMEOUT_S + 1)
            except BaseException:  # cancelled or failed: what waits gets 503 below
                pass
        _settle(list(self._pending), [StoreBusy('shutting down')] * len(self._pending))
        self._pending.clear()
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), 5)
            except (asyncio.TimeoutError, *_CONNECTION_ERRORS):
                self._pool.terminate()


def _settle(work: list, outcomes: list) -> None:
    for (_, done), outcome in zip(work, outcomes, strict=True):
        if done.done():
            continue
        if isinstance(outcome, Exception):
            done.set_exception(outcome)
        else:
            done.set_result(outcome)


def _attribute(writes: list[Write], inserted: set[tuple[str, str]]) -> tuple[list[StoreResult], list[tuple]]:
    """What a group's insert did, in one pass: each write's StoreResult (an (account, id) counts for
    the first write of the group that sent it), and the session touches (the shared TOUCH_SESSION's
    parameters, in key order): per session, the latest receive time, how many events were new, and
    the client and bot reason of its first write."""
    remaining = set(inserted)
    results = []
    touched: dict[tuple[str, str, str], list] = {}
    for write in writes:
        stored_ids = {e.event_id for e in write.events if (write.account, e.event_id) in remaining}
        remaining -= {(write.account, event_id) for event_id in stored_ids}
        results.append(StoreResult(len(stored_ids), len(write.events) - len(stored_ids), len(write.rejected)))
        for (cid, sid), count in sessions_touched(write.events, stored_ids).items():
            entry = touched.setdefault((write.account, cid, sid), [write.received_at, 0, write.client, write.bot])
            entry[0] = max(entry[0], write.received_at)
            entry[1] += count
            entry[3] = entry[3] or write.bot
    return results, [(account, cid, sid, last_at, last_at, count, client, bot)
                     for (account, cid, sid), (last_at, count, client, bot) in sorted(touched.items())]
