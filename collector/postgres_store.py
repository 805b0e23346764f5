"""The PostgreSQL engine of `storage.EventStore`: collectors on any number of machines, one database.

Driver: asyncpg (binary protocol, its own pool, no thread hand-off). Measured on this project's
group insert (unnest arrays, ON CONFLICT DO NOTHING RETURNING), one connection, same machine:
groups of 10 rows, asyncpg 13.4k rows/s against psycopg 3's 10.4k; groups of 200 rows, 52.6k
against 26.7k (README, "Running on PostgreSQL").

- Dedupe: `UNIQUE (account, event_id)` and `INSERT ... ON CONFLICT DO NOTHING`. Two collectors
  inserting the same id at the same moment: the second waits for the first's commit and skips it.
- Group commit: requests queue their rows in this process; one writer task sends everything
  waiting as one `INSERT ... SELECT FROM unnest(...)` per table, in one transaction. Each request
  is answered after the commit.
- Commit order: every group transaction first takes one transaction-scoped advisory lock, so
  groups of all collectors commit one at a time and `seq` follows commit order: a reader paging
  with `since` never skips a row committed late with a smaller `seq`. A group is milliseconds
  long, and while it commits the next one gathers, so this costs no throughput.
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
import time

import asyncpg

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

__all__ = ['POOL_MAX_CONNECTIONS', 'PostgresEventStore', 'migrate']

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
# Sessions in key order, so that concurrent transactions lock them in the same order.
_TOUCH_SESSIONS = """
INSERT INTO sessions (account, cid, sid, first_at, last_at, events)
SELECT a, c, s, r, r, n FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::int[]) AS t(a, c, s, r, n)
ORDER BY a, c, s
""" + TOUCH_SESSION
_INSERT_REJECTS = """
INSERT INTO rejects (account, received_at, reason, sample)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[])
"""
_CONNECTION_ERRORS = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


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

    async def write(self, account: str, events: list[ValidEvent], rejected: list[RejectedEvent]) -> StoreResult:
        """Store a batch's events and set-aside events; returns once they are committed. Raises
        StoreBusy when too many writes wait or the database is unavailable."""
        if self._closed or self._writer is None or len(self._pending) >= MAX_WAITING_WRITES:
            raise StoreBusy('too many writes waiting')
        done = asyncio.get_running_loop().create_future()
        self._pending.append((account, events, rejected, int(time.time() * 1000), done))
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
                    rows += len(item[1]) + len(item[2])
                try:
                    results = await self._commit(work)
                except StoreBusy as busy:
                    results = [busy] * len(work)
                except asyncio.CancelledError:
                    _settle(work, [StoreBusy('shutting down')] * len(work))
                    raise
                except Exception as error:  # noqa: BLE001 -- the writer lives on; these requests get 503
                    results = [StoreBusy(f'database error: {type(error).__name__}')] * len(work)
                _settle(work, results)
            if self._closed:
                return

    async def _commit(self, work: list) -> list[StoreResult]:
        await self._ensure_migrated()
        columns = ([], [], [], [], [], [], [], [], [])
        accounts, event_ids, types, times, cids, sids, uids, received, bodies = columns
        reject_columns = ([], [], [], [])
        for account, events, rejected, received_at, _done in work:
            for e in events:
                accounts.append(account)
                event_ids.append(e.event_id)
                types.append(e.type)
                times.append(e.ts)
                cids.append(e.cid)
                sids.append(e.sid)
                uids.append(e.uid)
                received.append(received_at)
                bodies.append(e.body.decode('utf-8'))
            for r in rejected:
                reject_columns[0].append(account)
                reject_columns[1].append(received_at)
                reject_columns[2].append(r.reason)
                reject_columns[3].append(sample_text(r.sample))
        try:
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                async with self._pool.acquire() as connection:
                    async with connection.transaction():
                        await connection.execute('SELECT pg_advisory_xact_lock($1)', COMMIT_ORDER_LOCK)
                        inserted = await connection.fetch(_INSERT_EVENTS, *columns) if accounts else []
                        results, touched = _attribute(work, inserted)
                        if touched[0]:
                            await connection.execute(_TOUCH_SESSIONS, *touched)
                        if reject_columns[0]:
                            await connection.execute(_INSERT_REJECTS, *reject_columns)
        except _CONNECTION_ERRORS as error:
            raise StoreBusy(f'database unavailable: {type(error).__name__}') from None
        return results

    # -- reading and maintenance -----------------------------------------------------------------

    async def _fetch(self, query: str, *args) -> list:
        try:
            await self._ensure_migrated()
            async with asyncio.timeout(READ_TIMEOUT_S):
                return await self._pool.fetch(query, *args)
        except _CONNECTION_ERRORS as error:
            raise StoreBusy(f'database unavailable: {type(error).__name__}') from None

    async def read(self, account: str, since: int, limit: int) -> list[StoredEvent]:
        """Stored events of `account` after sequence number `since`, oldest first."""
        rows = await self._fetch('SELECT seq, received_at, body FROM events WHERE account = $1 AND seq > $2 '
                                 'ORDER BY seq LIMIT $3', account, since, limit)
        return [StoredEvent(*row) for row in rows]

    async def read_rejects(self, account: str, since: int, limit: int) -> list[dict]:
        rows = await self._fetch('SELECT seq, received_at, reason, sample FROM rejects WHERE account = $1 AND seq > $2 '
                                 'ORDER BY seq LIMIT $3', account, since, limit)
        return [dict(row) for row in rows]

    async def read_erasures(self, account: str, since: int, limit: int) -> list[dict]:
        rows = await self._fetch('SELECT seq, erased_at, kind, events, rejects FROM erasures WHERE account = $1 '
                                 'AND seq > $2 ORDER BY seq LIMIT $3', account, since, limit)
        return [dict(row) for row in rows]

    async def erase(self, account: str, email: str | None, cid: str | None) -> Erasure:
        """Delete the events and set-aside samples of one shopper: those with `uid` = `email` and
        every event of the visitor ids seen with it; or every event of visitor `cid`."""
        try:
            await self._ensure_migrated()
            async with asyncio.timeout(READ_TIMEOUT_S), self._pool.acquire() as connection, connection.transaction():
                await connection.execute('SELECT pg_advisory_xact_lock($1)', COMMIT_ORDER_LOCK)
                if email is not None:
                    cids = [row[0] for row in await connection.fetch(
                        'SELECT DISTINCT cid FROM events WHERE account = $1 AND uid = $2',
                        account, email)]
                    marks = [email, *cids]
                    events = _count(await connection.execute(
                        'DELETE FROM events WHERE account = $1 AND (uid = $2 OR cid = ANY($3))',
                        account, email, cids))
                else:
                    marks = [cid]
                    events = _count(await connection.execute('DELETE FROM events WHERE account = $1 AND cid = $2',
                                                             account, cid))
                # What the sessions of these visitors left: their summaries and triggers hold the email.
                visitors = [cid] if email is None else cids
                for table in ('sessions', 'summaries', 'triggers'):
                    await connection.execute(f'DELETE FROM {table} WHERE account = $1 AND cid = ANY($2)', account,
                                             visitors)
                if email is not None:
                    for table in ('summaries', 'triggers'):
                        await connection.execute(f'DELETE FROM {table} WHERE account = $1 AND uid = $2', account, email)
                rejects = 0
                for mark in marks:
                    rejects += _count(await connection.execute(
                        'DELETE FROM rejects WHERE account = $1 AND strpos(sample, $2) > 0', account, mark))
                await connection.execute(
                    'INSERT INTO erasures (account, erased_at, kind, events, rejects) VALUES ($1, $2, $3, $4, $5)',
                    account, int(time.time() * 1000), 'email' if email is not None else 'cid', events, rejects)
        except _CONNECTION_ERRORS as error:
            raise StoreBusy(f'database unavailable: {type(error).__name__}') from None
        return Erasure(events, rejects)

    async def prune(self, before_ms: int, batch: int) -> int:
        """Delete at most `batch` events (and set-aside events) received before `before_ms`."""
        try:
            await self._ensure_migrated()
            async with asyncio.timeout(READ_TIMEOUT_S), self._pool.acquire() as connection, connection.transaction():
                deleted = _count(await connection.execute(
                    'DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE received_at < $1 ORDER BY seq LIMIT $2)',
                    before_ms, batch))
                deleted += _count(await connection.execute(
                    'DELETE FROM rejects WHERE seq IN (SELECT seq FROM rejects WHERE received_at < $1 ORDER BY seq '
                    'LIMIT $2)', before_ms, batch))
                for table, column in (('summaries', 'ended_at'), ('triggers', 'created_at')):
                    deleted += _count(await connection.execute(
                        f'DELETE FROM {table} WHERE seq IN (SELECT seq FROM {table} WHERE {column} < $1 ORDER BY seq '
                        'LIMIT $2)', before_ms, batch))
                deleted += _count(await connection.execute(
                    'DELETE FROM sessions WHERE ctid IN (SELECT ctid FROM sessions WHERE closed_at < $1 LIMIT $2)',
                    before_ms, batch))
        except _CONNECTION_ERRORS as error:
            raise StoreBusy(f'database unavailable: {type(error).__name__}') from None
        return deleted

    # -- sessions and triggers -------------------------------------------------------------------

    async def close_idle_sessions(self, cutoff_ms: int, now_ms: int, limit: int, build: BuildClosing) -> int:
        """See `storage.EventStore`. Sessions are read and summarised without a lock; then one short
        transaction under the commit-order lock closes those whose `last_at` has not moved and that
        are still open: closers of several collectors take turns, and each session closes once."""
        try:
            await self._ensure_migrated()
            async with asyncio.timeout(WRITE_TIMEOUT_S), self._pool.acquire() as connection:
                idle = await connection.fetch(
                    'SELECT account, cid, sid, last_at FROM sessions WHERE closed_at IS NULL AND last_at < $1 '
                    'ORDER BY last_at LIMIT $2', cutoff_ms, limit)
                closings = []
                for account, cid, sid, last_at in idle:
                    bodies = [row[0] for row in await connection.fetch(
                        'SELECT body FROM events WHERE account = $1 AND cid = $2 AND sid = $3 ORDER BY seq LIMIT $4',
                        account, cid, sid, MAX_SUMMARY_EVENTS)]
                    closings.append((account, cid, sid, last_at, *build(account, cid, sid, bodies, now_ms)))
                closed = 0
                async with connection.transaction():
                    await connection.execute('SELECT pg_advisory_xact_lock($1)', COMMIT_ORDER_LOCK)
                    for account, cid, sid, last_at, summary, uid, trigger in closings:
                        done = await connection.execute(
                            'UPDATE sessions SET closed_at = $1 WHERE account = $2 AND cid = $3 AND sid = $4 '
                            'AND closed_at IS NULL AND last_at = $5', now_ms, account, cid, sid, last_at)
                        if _count(done) != 1:
                            continue
                        closed += 1
                        await connection.execute('INSERT INTO summaries (account, cid, sid, ended_at, uid, body) '
                                                 'VALUES ($1, $2, $3, $4, $5, $6)', account, cid, sid, now_ms, uid,
                                                 summary)
                        if trigger is not None:
                            trigger_id, kind, payload = trigger
                            await connection.execute(
                                'INSERT INTO triggers (id, account, cid, sid, type, created_at, uid, payload, state, '
                                "next_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $6)",
                                trigger_id, account, cid, sid, kind, now_ms, uid, payload)
        except _CONNECTION_ERRORS as error:
            raise StoreBusy(f'database unavailable: {type(error).__name__}') from None
        return closed

    async def claim_triggers(self, accounts: list[str], now_ms: int, until_ms: int, limit: int) -> list[dict]:
        if not accounts or limit <= 0:
            return []
        rows = await self._fetch(
            'UPDATE triggers SET claimed_until = $1 WHERE seq IN (SELECT seq FROM triggers WHERE state IN '
            "('pending', 'retrying') AND next_at <= $2 AND claimed_until < $2 AND account = ANY($3) ORDER BY next_at "
            'LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING seq, id, account, created_at, attempts, payload',
            until_ms, now_ms, accounts, limit)
        return [dict(row) for row in rows]

    async def record_delivery(self, seq: int, state: str, attempts: int, next_at: int | None, status: int | None,
                              error: str, now_ms: int) -> None:
        await self._fetch(
            'UPDATE triggers SET state = $1, attempts = $2, next_at = coalesce($3, next_at), claimed_until = 0, '
            "last_status = $4, last_error = $5, delivered_at = CASE WHEN $1 = 'delivered' THEN $6 ELSE delivered_at END "
            'WHERE seq = $7', state, attempts, next_at, status, error, now_ms, seq)

    async def read_sessions(self, account: str, since: int, limit: int) -> list[StoredSummary]:
        rows = await self._fetch(
            'SELECT s.seq, s.body, coalesce(x.late, 0) FROM summaries s LEFT JOIN sessions x ON x.account = s.account '
            'AND x.cid = s.cid AND x.sid = s.sid WHERE s.account = $1 AND s.seq > $2 ORDER BY s.seq LIMIT $3',
            account, since, limit)
        return [StoredSummary(*row) for row in rows]

    async def read_triggers(self, account: str, since: int, limit: int) -> list[dict]:
        rows = await self._fetch(
            'SELECT seq, payload, state, attempts, next_at, last_status, last_error, delivered_at FROM triggers '
            'WHERE account = $1 AND seq > $2 ORDER BY seq LIMIT $3', account, since, limit)
        return [trigger_view(*row) for row in rows]

    async def close(self) -> None:
        """Finish the group being written (at most WRITE_TIMEOUT_S), answer 503 to what waits, close."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._writer is not None:
            try:
                await asyncio.wait_for(self._writer, WRITE_TIMEOUT_S + 1)
            except BaseException:  # noqa: BLE001 -- cancelled or failed: what waits gets 503 below
                pass
        _settle(list(self._pending), [StoreBusy('shutting down')] * len(self._pending))
        self._pending.clear()
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), 5)
            except (asyncio.TimeoutError, *_CONNECTION_ERRORS):
                self._pool.terminate()


def _settle(work: list, results: list) -> None:
    for item, result in zip(work, results, strict=True):
        done = item[-1]
        if done.done():
            continue
        if isinstance(result, StoreBusy):
            done.set_exception(result)
        else:
            done.set_result(result)


def _attribute(work: list, inserted: list) -> tuple[list[StoreResult], tuple[list, list, list, list, list]]:
    """What a group's insert did, in one pass: each request's StoreResult (a row counts for the
    first request of the group that sent it), and the group's session touch as unnest columns in
    key order: per (account, cid, sid), the latest receive time and how many events were new."""
    new = {(row[0], row[1]) for row in inserted}
    results = []
    touched: dict[tuple[str, str, str], list[int]] = {}
    for account, events, rejected, received_at, _done in work:
        stored_ids = {e.event_id for e in events if (account, e.event_id) in new}
        new -= {(account, event_id) for event_id in stored_ids}
        results.append(StoreResult(len(stored_ids), len(events) - len(stored_ids), len(rejected)))
        for (cid, sid), count in sessions_touched(events, stored_ids).items():
            entry = touched.setdefault((account, cid, sid), [received_at, 0])
            entry[0] = max(entry[0], received_at)
            entry[1] += count
    keys = sorted(touched)
    return results, ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], [touched[k][0] for k in keys],
                     [touched[k][1] for k in keys])


def _count(status: str) -> int:
    """Rows a command touched, from its status ('DELETE 3')."""
    return int(status.rsplit(' ', 1)[-1]) if status and status[-1].isdigit() else 0
