"""The stores' schema, as numbered migrations: each engine applies the ones it has not applied yet
when it opens, in order, inside one transaction that also records the new version.

Several collectors starting together take turns: SQLite through `BEGIN IMMEDIATE` (one writer),
PostgreSQL through a transaction-scoped advisory lock taken before anything else. A migration is
never edited once released; a change is a new entry at the end of both lists.

Tables (both engines, same columns):
- `events`: one row per (account, event id); `seq` orders them as committed; `body` is the
  event's JSON text as received (after repair).
- `rejects`: events set aside by validation, with the reason and a sample of what was sent.
- `erasures`: that an erasure happened and what it deleted, without the identifier.
- (2) `events.sid`, `events.uid` (the event's identity, so that erasure never parses stored JSON
  in SQL) and an index by visitor; `sessions`: each session's first and last receive
  time, its event count, when it was closed and how many events came after that (late);
  `summaries`: one per ended session; `triggers`: one per session at most, with its delivery
  state (`pending`, `retrying`, `delivered`, `gave_up`), attempts, next attempt and claim.
- (3) identities compared as keys (ASCII letters lower-cased: `validation.identity_key`) and
  indexed, so that erasure finds `Victim@X.com` from `victim@x.com` without a scan; events indexed
  by session (a summary pages through them); set-aside events keep the visitor and identity they
  name (erasure matches them exactly); sessions and triggers keep the client address's network
  (daily trigger limits per client) and sessions a bot reason; erasures count every table.
"""

from __future__ import annotations

__all__ = ['POSTGRES', 'SQLITE']

# Migration 2 of both engines (released: a change is a migration 3, never an edit here).
_SESSIONS_AND_TRIGGERS = """
ALTER TABLE events ADD COLUMN sid TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN uid TEXT;
{backfill_uid};
CREATE INDEX events_by_visitor ON events (account, cid);
CREATE TABLE sessions (
    account TEXT NOT NULL,
    cid TEXT NOT NULL,
    sid TEXT NOT NULL,
    first_at {time} NOT NULL,
    last_at {time} NOT NULL,
    events INTEGER NOT NULL,
    closed_at {time},
    late INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, cid, sid)
);
CREATE INDEX sessions_open ON sessions (last_at) WHERE closed_at IS NULL;
CREATE TABLE summaries (
    seq {seq},
    account TEXT NOT NULL,
    cid TEXT NOT NULL,
    sid TEXT NOT NULL,
    ended_at {time} NOT NULL,
    uid TEXT,
    body TEXT NOT NULL,
    UNIQUE (account, cid, sid)
);
CREATE INDEX summaries_by_account ON summaries (account, seq);
CREATE TABLE triggers (
    seq {seq},
    id TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    cid TEXT NOT NULL,
    sid TEXT NOT NULL,
    type TEXT NOT NULL,
    created_at {time} NOT NULL,
    uid TEXT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at {time} NOT NULL,
    claimed_until {time} NOT NULL DEFAULT 0,
    last_status INTEGER,
    last_error TEXT NOT NULL DEFAULT '',
    delivered_at {time},
    UNIQUE (account, cid, sid)
);
CREATE INDEX triggers_due ON triggers (next_at) WHERE state IN ('pending', 'retrying');
CREATE INDEX triggers_by_account ON triggers (account, seq);
"""

def _sessions_and_triggers(time_type: str, seq_type: str, backfill_uid: str) -> str:
    """Migration 2, the same tables in both engines; the types of times (ms) and of `seq`, and how
    the events stored before it get their `uid` column, differ."""
    return _SESSIONS_AND_TRIGGERS.format(time=time_type, seq=seq_type, backfill_uid=backfill_uid)


# Migration 3 of both engines; `{identity_key}` lower-cases ASCII letters of `uid` and nothing else,
# as validation.identity_key does (SQLite's lower() is ASCII-only; PostgreSQL's follows the
# collation, hence translate()).
_IDENTITY_KEYS_AND_LIMITS = """
UPDATE events SET uid = {identity_key} WHERE uid IS NOT NULL;
DROP INDEX events_by_visitor;
CREATE INDEX events_by_session ON events (account, cid, sid, seq);
CREATE INDEX events_by_identity ON events (account, uid) WHERE uid IS NOT NULL;
ALTER TABLE rejects ADD COLUMN cid TEXT;
ALTER TABLE rejects ADD COLUMN uid TEXT;
CREATE INDEX rejects_by_visitor ON rejects (account, cid) WHERE cid IS NOT NULL;
CREATE INDEX rejects_by_identity ON rejects (account, uid) WHERE uid IS NOT NULL;
CREATE INDEX rejects_by_time ON rejects (received_at);
ALTER TABLE sessions ADD COLUMN client TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN bot TEXT;
UPDATE summaries SET uid = {identity_key} WHERE uid IS NOT NULL;
CREATE INDEX summaries_by_identity ON summaries (account, uid) WHERE uid IS NOT NULL;
ALTER TABLE triggers ADD COLUMN client TEXT NOT NULL DEFAULT '';
UPDATE triggers SET uid = {identity_key} WHERE uid IS NOT NULL;
CREATE INDEX triggers_by_identity ON triggers (account, uid, created_at) WHERE uid IS NOT NULL;
CREATE INDEX triggers_by_client ON triggers (account, client, created_at);
DROP INDEX triggers_due;
CREATE INDEX triggers_due ON triggers (account, next_at) WHERE state IN ('pending', 'retrying');
ALTER TABLE erasures ADD COLUMN sessions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE erasures ADD COLUMN summaries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE erasures ADD COLUMN triggers INTEGER NOT NULL DEFAULT 0
"""
_UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'


SQLITE = (
    (1, """
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
"""),
    (2, _sessions_and_triggers('INTEGER', 'INTEGER PRIMARY KEY', "UPDATE events SET uid = json_extract(body, '$.uid')")),
    (3, _IDENTITY_KEYS_AND_LIMITS.format(identity_key='lower(uid)')),
)

POSTGRES = (
    (1, """
CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account TEXT NOT NULL,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    ts BIGINT NOT NULL,
    cid TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (account, event_id)
);
CREATE INDEX events_by_account ON events (account, seq);
CREATE TABLE rejects (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    sample TEXT NOT NULL
);
CREATE INDEX rejects_by_account ON rejects (account, seq);
CREATE TABLE erasures (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account TEXT NOT NULL,
    erased_at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    events INTEGER NOT NULL,
    rejects INTEGER NOT NULL
);
"""),
    # jsonb refuses a \u0000 escape, which a shopper's page may send in any field: such rows keep a
    # NULL uid (their visitor's other events still lead an erasure to them by cid).
    (2, _sessions_and_triggers('BIGINT', 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
                               "UPDATE events SET uid = body::jsonb ->> 'uid' WHERE strpos(body, '\\u0000') = 0")),
    (3, _IDENTITY_KEYS_AND_LIMITS.format(identity_key=f"translate(uid, '{_UPPER}', '{_UPPER.lower()}')")),
)
