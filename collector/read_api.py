"""The read API and erasure: what the operator's credential opens (`access.py`).

- `GET /api/events|rejects|sessions|triggers|erasures?account=&since=&limit=`: an account's rows
  after `since` (a `seq`), oldest first; `limit` at most MAX_READ_LIMIT.
- `GET /api/stats`: this process's counters, and the triggers waiting for delivery per account.
- `POST /api/erase` `{"account", "email"}` or `{"account", "cid"}`: erase one shopper. Only with
  `Authorization: Bearer <token>`: the live page's cookie is not enough, so that another site
  cannot make a logged-in browser erase anything.

Every route answers 401 without the credential, 400 for parameters out of range, 404 for an
unknown account and 503 (Retry-After) while the database is unavailable: never 500.
"""

from __future__ import annotations

import json
import time
from collections import Counter

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector import programs
from collector.access import LIVE_COOKIE, ReadAccess
from collector.bodies import BodyTimeout, BodyTooLarge, read_limited_body
from collector.storage import StoreBusy, StoredEvent, StoredSummary
from collector.validation import IDENTITY, VISITOR, identity_key

__all__ = ['ReadApi', 'READ_HEADERS', 'events_json', 'sessions_json']

READ_HEADERS = {'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff'}
STORE_BUSY_RETRY_AFTER_S = 2
MAX_READ_LIMIT = 5000
MAX_SEQ = 2**63 - 1
MAX_ERASE_BODY_BYTES = 4096


def json_array_with(objects: list[tuple[str, str]]) -> bytes:
    """A JSON array of stored JSON objects, each given as (its text, `"key":value` pairs to add),
    built without parsing the objects again."""
    parts = [text.rstrip()[:-1] + ',' + added + '}' for text, added in objects]
    return ('[' + ','.join(parts) + ']').encode('utf-8', 'replace')


def events_json(rows: list[StoredEvent]) -> bytes:
    """The read API's answer: each stored event's own JSON text with its `seq` and `received_at`."""
    return json_array_with([(row.body, f'"seq":{row.seq},"received_at":{row.received_at}') for row in rows])


def sessions_json(rows: list[StoredSummary]) -> bytes:
    """The sessions API's answer: each summary's JSON text with its `seq` and the count of events
    received after the session ended (`late_events`)."""
    return json_array_with([(row.body, f'"seq":{row.seq},"late_events":{row.late}') for row in rows])


def unavailable() -> Response:
    """The answer while the database is unavailable: 503, try again shortly."""
    return JSONResponse({'error': 'the store is unavailable: try again later'}, status_code=503,
                        headers={'Retry-After': str(STORE_BUSY_RETRY_AFTER_S), **READ_HEADERS})


def error(status: int, text: str) -> Response:
    return JSONResponse({'error': text}, status_code=status, headers=READ_HEADERS)


class ReadApi:
    """The read routes and erasure over `store` (its `run`), for `accounts`, behind `access`."""

    def __init__(self, store, accounts: dict, access: ReadAccess, stats: Counter, body_timeout_s: float):
        self.store = store
        self.accounts = accounts
        self.access = access
        self.stats = stats
        self.body_timeout_s = body_timeout_s

    def may_read(self, request: Request) -> bool:
        return self.access.allows(request.headers.get('authorization', ''), request.cookies.get(LIVE_COOKIE, ''))

    def guarded(self, handler, bearer_only: bool = False):
        """`handler` behind the one guard of the read routes: 401 without the credential."""
        async def route(request: Request) -> Response:
            allowed = self.access.allows(request.headers.get('authorization', ''), '') if bearer_only \
                else self.may_read(request)
            if not allowed:
                return JSONResponse({'error': 'the read API needs the server\'s API token (Authorization: Bearer)'},
                                    status_code=401, headers={'WWW-Authenticate': 'Bearer', **READ_HEADERS})
            return await handler(request)
        return route

    def params(self, request: Request) -> tuple[str, int, int] | Response:
        """(account, since, limit) of a listing, or the 400/404 answer."""
        account_id = request.query_params.get('account', '')
        if account_id not in self.accounts:
            return error(404, 'unknown account')
        since_text = request.query_params.get('since', '0')
        limit_text = request.query_params.get('limit', '1000')
        # Lengths first: int() of a few thousand digits is slow, and past 4,300 digits it raises.
        if not (0 < len(since_text) <= 19 and 0 < len(limit_text) <= 6 and since_text.isascii()
                and since_text.isdigit() and limit_text.isascii() and limit_text.isdigit()) \
                or int(since_text) > MAX_SEQ:
            return error(400, f'since is an integer 0..{MAX_SEQ}, limit an integer 0..{MAX_READ_LIMIT}')
        return account_id, int(since_text), min(MAX_READ_LIMIT, int(limit_text))

    def listing(self, program, as_json=None):
        """A read route: the rows `program(account, since, limit)` gives, as JSON (through
        `as_json` where the rows are JSON text already)."""
        async def route(request: Request) -> Response:
            params = self.params(request)
            if isinstance(params, Response):
                return params
            try:
                rows = await self.store.run(program(*params))
            except StoreBusy:
                return unavailable()
            if as_json is None:
                return JSONResponse(rows, headers=READ_HEADERS)
            return Response(as_json(rows), media_type='application/json', headers=READ_HEADERS)
        return self.guarded(route)

    async def stats_route(self, request: Request) -> Response:
        answer = dict(self.stats)
        try:
            answer['trigger_backlog'] = await self.store.run(programs.trigger_backlog())
        except StoreBusy:
            answer['trigger_backlog'] = None
        return JSONResponse(answer, headers=READ_HEADERS)

    async def erase_route(self, request: Request) -> Response:
        try:
            body = await read_limited_body(request.stream(), request.headers.get('content-length'),
                                           MAX_ERASE_BODY_BYTES, self.body_timeout_s)
            asked = json.loads(body)
        except (BodyTooLarge, BodyTimeout, ClientDisconnect, ValueError, RecursionError):
            asked = None
        if not isinstance(asked, dict) or asked.get('account') not in self.accounts or \
                (('email' in asked) == ('cid' in asked)) or set(asked) - {'account', 'email', 'cid'}:
            return error(400, 'give {"account", "email"} or {"account", "cid"}')
        email, cid = asked.get('email'), asked.get('cid')
        if 'email' in asked and not (isinstance(email, str) and IDENTITY.fullmatch(email)):
            return error(400, 'email is an email address (or omid:<id>)')
        if 'cid' in asked and not (isinstance(cid, str) and VISITOR.fullmatch(cid)):
            return error(400, 'cid is a visitor id')
        program = programs.erase(asked['account'], identity_key(email) if email is not None else None, cid,
                                 int(time.time() * 1000))
        try:
            erased = await self.store.run(program)
        except StoreBusy:
            return unavailable()
        self.stats['erasures'] += 1
        return JSONResponse(erased.as_dict(), headers=READ_HEADERS)

    def routes(self) -> list[Route]:
        return [
            Route('/api/events', self.listing(programs.read_events, events_json), methods=['GET']),
            Route('/api/rejects', self.listing(programs.read_rejects), methods=['GET']),
            Route('/api/erasures', self.listing(programs.read_erasures), methods=['GET']),
            Route('/api/sessions', self.listing(programs.read_sessions, sessions_json), methods=['GET']),
            Route('/api/triggers', self.listing(programs.read_triggers), methods=['GET']),
            Route('/api/stats', self.guarded(self.stats_route), methods=['GET']),
            Route('/api/erase', self.guarded(self.erase_route, bearer_only=True), methods=['POST']),
        ]
