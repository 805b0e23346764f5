"""Every SQL statement of the stores, written once, with `?` placeholders.

Both engines run these as written: SQLite takes `?`; PostgreSQL gets them through `numbered()`
(`?` -> `$1`, `$2`...). The dialect used is their common one (ON CONFLICT, RETURNING, row values,
partial indexes). What an engine does differently (its group insert, its transactions and lock)
stays in the engine; the schema is in `migrations.py`.
"""

from __future__ import annotations

import functools

from collector.storage import COALESCED, PENDING, PURCHASED, RETRYING, SHED

__all__ = ['numbered', 'in_list']


@functools.lru_cache(maxsize=512)
def numbered(query: str) -> str:
    """`query` with `?` placeholders numbered for PostgreSQL (`$1`, `$2`...). The statements of
    this module hold no `?` inside string literals."""
    parts = query.split('?')
    return parts[0] + ''.join(f'${n}{part}' for n, part in enumerate(parts[1:], 1))


def in_list(count: int) -> str:
    """`(?, ?, ...)` with `count` placeholders (at least one)."""
    return '(' + ', '.join(['?'] * max(1, count)) + ')'


# -- the write path ---------------------------------------------------------------------------

# The session touch of the write path: a new session, or more events of an open one; events for a
# session already closed leave it as it was and count as late. A session keeps the client address
# and bot reason of the request that opened it (a later bot reason is kept when it had none).
TOUCH_SESSION = """
INSERT INTO sessions (account, cid, sid, first_at, last_at, events, client, bot) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account, cid, sid) DO UPDATE SET
    last_at = CASE WHEN sessions.closed_at IS NULL THEN excluded.last_at ELSE sessions.last_at END,
    events = sessions.events + CASE WHEN sessions.closed_at IS NULL THEN excluded.events ELSE 0 END,
    late = sessions.late + CASE WHEN sessions.closed_at IS NULL THEN 0 ELSE excluded.events END,
    bot = coalesce(sessions.bot, excluded.bot)
"""

INSERT_REJECT = 'INSERT INTO rejects (account, received_at, reason, sample, cid, uid) VALUES (?, ?, ?, ?, ?, ?)'

# -- reads --------------------------------------------------------------------------------------

READ_EVENTS = 'SELECT seq, received_at, body FROM events WHERE account = ? AND seq > ? ORDER BY seq LIMIT ?'
READ_REJECTS = ('SELECT seq, received_at, reason, sample FROM rejects WHERE account = ? AND seq > ? '
                'ORDER BY seq LIMIT ?')
READ_ERASURES = ('SELECT seq, erased_at, kind, events, rejects, sessions, summaries, triggers FROM erasures '
                 'WHERE account = ? AND seq > ? ORDER BY seq LIMIT ?')
READ_SUMMARIES = ('SELECT s.seq, s.body, coalesce(x.late, 0) FROM summaries s LEFT JOIN sessions x ON x.account = '
                  's.account AND x.cid = s.cid AND x.sid = s.sid WHERE s.account = ? AND s.seq > ? ORDER BY s.seq '
                  'LIMIT ?')
READ_TRIGGERS = ('SELECT seq, payload, state, attempts, next_at, last_status, last_error, delivered_at FROM triggers '
                 'WHERE account = ? AND seq > ? ORDER BY seq LIMIT ?')
# The states of a trigger waiting for delivery, as SQL.
_WAITING = f"('{PENDING}', '{RETRYING}')"
TRIGGER_BACKLOG = f'SELECT account, count(*) FROM triggers WHERE state IN {_WAITING} GROUP BY account ORDER BY account'

# -- erasure ------------------------------------------------------------------------------------

VISITORS_OF_IDENTITY = 'SELECT DISTINCT cid FROM events WHERE account = ? AND uid = ?'
# Each erasure step deletes at most a batch of rows in a transaction of its own (intake waits
# for one batch at most); `?` is the batch size.
ERASE_STEPS = {
    'events': ('DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE account = ? AND uid = ? LIMIT ?)',
               'DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE account = ? AND cid = ? LIMIT ?)'),
    'rejects': ('DELETE FROM rejects WHERE seq IN (SELECT seq FROM rejects WHERE account = ? AND uid = ? LIMIT ?)',
                'DELETE FROM rejects WHERE seq IN (SELECT seq FROM rejects WHERE account = ? AND cid = ? LIMIT ?)'),
    'sessions': (None,
                 'DELETE FROM sessions WHERE (account, cid, sid) IN (SELECT account, cid, sid FROM sessions WHERE '
                 'account = ? AND cid = ? LIMIT ?)'),
    'summaries': ('DELETE FROM summaries WHERE seq IN (SELECT seq FROM summaries WHERE account = ? AND uid = ? '
                  'LIMIT ?)',
                  'DELETE FROM summaries WHERE seq IN (SELECT seq FROM summaries WHERE account = ? AND cid = ? '
                  'LIMIT ?)'),
    'triggers': ('DELETE FROM triggers WHERE seq IN (SELECT seq FROM triggers WHERE account = ? AND uid = ? '
                 'LIMIT ?)',
                 'DELETE FROM triggers WHERE seq IN (SELECT seq FROM triggers WHERE account = ? AND cid = ? LIMIT ?)'),
}
RECORD_ERASURE = ('INSERT INTO erasures (account, erased_at, kind, events, rejects, sessions, summaries, triggers) '
                  'VALUES (?, ?, ?, ?, ?, ?, ?, ?)')

# -- retention ------------------------------------------------------------------------------------

# (statement, which cutoff): the oldest rows come first in seq order, so each scan stops after a
# batch of matches.
PRUNE_STEPS = (
    ('DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE received_at < ? ORDER BY seq LIMIT ?)', 'events'),
    ('DELETE FROM rejects WHERE seq IN (SELECT seq FROM rejects WHERE received_at < ? ORDER BY seq LIMIT ?)',
     'rejects'),
    ('DELETE FROM summaries WHERE seq IN (SELECT seq FROM summaries WHERE ended_at < ? ORDER BY seq LIMIT ?)',
     'events'),
    ('DELETE FROM triggers WHERE seq IN (SELECT seq FROM triggers WHERE created_at < ? ORDER BY seq LIMIT ?)',
     'events'),
    ('DELETE FROM sessions WHERE (account, cid, sid) IN (SELECT account, cid, sid FROM sessions WHERE closed_at < ? '
     'LIMIT ?)', 'events'),
)

# -- sessions and triggers ----------------------------------------------------------------------

# A visitor's latest session (an order webhook's event joins it).
LATEST_SESSION = 'SELECT sid FROM sessions WHERE account = ? AND cid = ? ORDER BY last_at DESC LIMIT 1'
IDLE_SESSIONS = ('SELECT account, cid, sid, last_at, client, bot FROM sessions WHERE closed_at IS NULL AND last_at < ? '
                 'ORDER BY last_at LIMIT ?')
SESSION_EVENTS = ('SELECT seq, body FROM events WHERE account = ? AND cid = ? AND sid = ? AND seq > ? ORDER BY seq '
                  'LIMIT ?')
CLOSE_SESSION = ('UPDATE sessions SET closed_at = ? WHERE account = ? AND cid = ? AND sid = ? AND closed_at IS NULL '
                 'AND last_at = ?')
INSERT_SUMMARY = 'INSERT INTO summaries (account, cid, sid, ended_at, uid, body) VALUES (?, ?, ?, ?, ?, ?)'
INSERT_TRIGGER = ('INSERT INTO triggers (id, account, cid, sid, type, created_at, uid, client, payload, state, next_at) '
                  f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '{PENDING}', ?)")
# Triggers that count against a daily limit: every one made, except those merged into a later one
# or stopped by a purchase (and, for an identity, the one not yet attempted that a new one would
# replace).
_UNSENT = f"('{COALESCED}', '{PURCHASED}')"
TRIGGERS_OF_IDENTITY_SINCE = ('SELECT count(*) FROM triggers WHERE account = ? AND uid = ? AND created_at > ? '
                              f"AND state NOT IN {_UNSENT} AND NOT (state = '{PENDING}' AND attempts = 0)")
TRIGGERS_OF_CLIENT_SINCE = ('SELECT count(*) FROM triggers WHERE account = ? AND client = ? AND created_at > ? '
                            f'AND state NOT IN {_UNSENT}')
# A newer trigger for the same identity replaces one not yet attempted: one email, about the latest.
COALESCE_TRIGGERS = (f"UPDATE triggers SET state = '{COALESCED}', last_error = ? WHERE account = ? AND uid = ? "
                     f"AND state = '{PENDING}' AND attempts = 0")
# Due triggers, the most recently due first: a real shopper's new trigger goes before an old
# backlog (a flood of forged ones is shed from its oldest end, `SHED_CUTOFF`).
DUE_TRIGGERS = (f'SELECT seq, id, account, created_at, attempts, payload, type, cid, sid, uid FROM triggers '
                f'WHERE state IN {_WAITING} AND next_at <= ? AND claimed_until < ? AND account = ? '
                'ORDER BY next_at DESC LIMIT ?')
# An order (a transaction event: the tag's, or a Shopify order webhook's) of the visitor or the
# identity, received since their session began (account, cid, identity key, then the session's
# account, cid, sid).
PURCHASE_SINCE_SESSION = ("SELECT event_id FROM events WHERE account = ? AND (cid = ? OR uid = ?) "
                          "AND type = 'transaction' AND received_at >= "
                          '(SELECT first_at FROM sessions WHERE account = ? AND cid = ? AND sid = ?) LIMIT 1')
MARK_PURCHASED = f"UPDATE triggers SET state = '{PURCHASED}', last_error = ? WHERE seq = ?"
CLAIM_TRIGGER = 'UPDATE triggers SET claimed_until = ? WHERE seq = ?'
RECORD_DELIVERY = ('UPDATE triggers SET state = ?, attempts = ?, next_at = coalesce(?, next_at), claimed_until = 0, '
                   'last_status = ?, last_error = ?, delivered_at = CASE WHEN ? THEN ? ELSE delivered_at END '
                   'WHERE seq = ?')
SHED_CUTOFF = (f'SELECT next_at FROM triggers WHERE account = ? AND state IN {_WAITING} '
               'ORDER BY next_at DESC LIMIT 1 OFFSET ?')
SHED_TRIGGERS = (f"UPDATE triggers SET state = '{SHED}', last_error = ? WHERE account = ? AND state IN {_WAITING} "
                 'AND next_at < ? AND claimed_until < ?')
