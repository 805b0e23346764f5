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
"""

from __future__ import annotations

__all__ = ['POSTGRES', 'SQLITE']

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
)
