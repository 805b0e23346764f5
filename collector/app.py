"""The collector and tag server as an ASGI application (Starlette).

Routes:
- `POST /collect`: a batch of events (the wire contract); `OPTIONS /collect` for preflights.
- `GET /tags/<account_id>.js`: the account's stamped tag (ETag/304 per encoding, gzip, brotli);
  `GET /tags/ometria.debug.js`: the debug module the tags fetch in debug mode.
- `GET /api/events?account=&since=&limit=`: stored events, oldest first (`since`: a `seq`).
- `GET /api/rejects?account=&since=`: events set aside by validation, with the reason.
- `GET /api/sessions?account=&since=`: ended sessions' summaries; `GET /api/triggers?account=`:
  the triggers they started, with their webhook delivery state (triggers.py, webhooks.py).
- `GET /api/stats`: this process's counters.
- `POST /api/erase` `{"account", "email"}` or `{"account", "cid"}`: erase one shopper's data;
  `GET /api/erasures?account=`: when erasures happened and what they deleted (no identifiers).
- `GET /live?account=`: a page listing the latest events, refreshed every second.
- `GET /healthz`.
With `demo`, the demo store (`demo_site/`) is served too.

Trust (see `access.py`): the read API and the live page need the API token; client addresses come
from forwarding headers only through `--trusted-proxies`; nothing a client sends (`Host`,
`X-Forwarded-Host`...) reaches a served tag, whose collector URL is the account's (or
`--collector-url`), fixed when the server starts.

`create_app(settings, accounts, store_factory)` builds it; `app_from_env()` builds it from the
`OMETRIA_*` environment variables `python -m collector serve` sets for uvicorn's workers.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Callable

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from collector.access import LIVE_COOKIE, ClientAddresses, ReadAccess
from collector.accounts import Account, load_accounts
from collector.background import every
from collector.bodies import BodyTimeout, BodyTooLarge, asgi_chunks, read_limited_body
from collector.files import file_from
from collector.models import MAX_BODY_BYTES
from collector.ratelimit import RateLimiter, SharedRateLimiter
from collector.settings import Settings, SettingsError, from_env
from collector.stamp import ACCOUNT_ID_PATTERN, StampError
from collector.storage import EventStore, StoreBusy, StoredEvent, StoredSummary, open_store
from collector.tags import DEBUG_FILE, TagCache, TagUnavailable, choose_encoding
from collector.triggers import SessionCloser, http_poster, new_http_client, run_deliveries
from collector.validation import check_batch
from collector.webhooks import Deliverer

__all__ = ['create_app', 'app_from_env', 'collector_urls', 'store_for']

STATIC = Path(__file__).resolve().parent / 'static'
TAG_MAX_AGE_S = 300
STORE_BUSY_RETRY_AFTER_S = 2
MAX_ERASE_BODY_BYTES = 4096
PRUNE_BATCH_ROWS = 500
PRUNE_PAUSE_S = 0.05
MAX_READ_LIMIT = 5000
MAX_SEQ = 2**63 - 1
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")
PAGE_HEADERS = {
    'Content-Security-Policy': PAGE_CSP,
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
}
READ_HEADERS = {'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff'}
VISITOR_ID = re.compile(r'[A-Za-z0-9_-]{1,64}')


def collector_urls(settings: Settings, accounts: dict[str, Account]) -> dict[str, str]:
    """The collect URL stamped into each account's tag: `--collector-url`; else, for the demo, the
    server's own address (from its bind: the demo store's pages send to it, on any port); else the
    account's `collector_url`. Raises SettingsError naming the accounts that have none: a tag
    must never take its collector from a request."""
    demo_url = settings.own_origin + '/collect' if settings.demo and settings.own_origin else ''
    urls = {account_id: settings.collector_url or demo_url or account.collector_url
            for account_id, account in accounts.items()}
    missing = sorted(account_id for account_id, url in urls.items() if not url)
    if missing:
        raise SettingsError(f'accounts without a collector URL: {", ".join(missing)} (set collector_url in the '
                            'accounts file, or --collector-url)')
    return urls


def store_for(settings: Settings) -> EventStore:
    """The event store the settings name (`--db`: a SQLite file, or a postgresql:// URL)."""
    return open_store(settings.db)


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


def webhook_targets(settings: Settings, accounts: dict[str, Account]) -> dict[str, tuple[str, str]]:
    """account id -> (webhook URL, secret) for the accounts that have one. A path (`/demo/webhook`)
    is the demo server's own receiver: resolved against its own origin with `--demo`, and no
    webhook otherwise (`serve` says so when it starts)."""
    targets = {}
    for account_id, account in accounts.items():
        if not account.webhook_url:
            continue
        url = account.webhook_url
        if url.startswith('/'):
            if not (settings.demo and settings.own_origin):
                continue
            url = settings.own_origin + url
        targets[account_id] = (url, account.webhook_secret)
    return targets


def create_app(settings: Settings, accounts: dict[str, Account] | None = None,
               store_factory: Callable[[Settings], EventStore] = store_for) -> ASGIApp:
    """The ASGI application for `settings` (`POST /collect` straight to its handler, everything
    else through Starlette); raises SettingsError when it cannot run safely."""
    accounts = load_accounts(settings.accounts_path) if accounts is None else accounts
    tag_urls = collector_urls(settings, accounts)
    webhooks = webhook_targets(settings, accounts)
    addresses = ClientAddresses(settings.proxy_networks())
    access = ReadAccess(settings.api_token)
    store: EventStore | None = None
    tags = TagCache(settings.generic_path)
    if settings.rate_file:
        limiter = SharedRateLimiter(settings.rate_file, settings.rate_per_s, settings.burst)
    else:
        limiter = RateLimiter(settings.rate_per_s, settings.burst)
    stats: Counter = Counter()

    def client_of(request: Request) -> tuple[str, str]:
        """(client address, scheme) of the request (see access.ClientAddresses)."""
        peer = request.client.host if request.client else ''
        return addresses.resolve(peer, request.headers.getlist('x-forwarded-for'),
                                 request.headers.get('x-forwarded-proto'), request.url.scheme)

    def origin_allowed(account: Account, origin: str | None) -> bool:
        """The rule for `POST /collect`. An account open to any origin ("*") takes any request. An
        account listing origins takes a browser page on one of them, and refuses a page on any
        other and `Origin: null` (an opaque origin: a sandboxed frame, a file, a page whose
        Referrer-Policy hides it; a refused beacon's events stay in the tag's outbox and go by the
        next fetch, which always carries the real origin). A request without `Origin` does not
        come from a browser page (browsers send it on every POST) and is taken: the header is a
        browser's statement, not a credential, and a non-browser client could write any value.
        The demo server also takes its own origin, known from its bind, never from `Host`."""
        if '*' in account.origins or origin is None:
            return True
        if origin == 'null':
            return False
        return account.allows_origin(origin) or (settings.demo and origin == settings.own_origin)

    def cors_headers(origin: str | None, account: Account | None) -> dict:
        """CORS for a collect answer. A listed origin is echoed with credentials (a beacon is sent
        with credentials); any other page gets `*` without credentials, where the account is open
        to any origin or there is no usable account (400, 404), so that the tag can see the status
        and stop retrying. An arbitrary origin is never echoed with credentials."""
        if not origin:
            return {}
        expose = {'Access-Control-Expose-Headers': 'Retry-After', 'Vary': 'Origin'}
        if account is not None and origin != 'null' and (
                origin in account.origins or (settings.demo and origin == settings.own_origin)):
            return {'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', **expose}
        if account is None or '*' in account.origins:
            return {'Access-Control-Allow-Origin': '*', **expose}
        return {'Vary': 'Origin'}

    def answer(status: int, reason: str, origin: str | None, account: Account | None,
               extra: dict | None = None) -> tuple[int, list, bytes]:
        stats[f'status_{status}'] += 1
        headers = [(k.encode('latin-1'), v.encode('latin-1')) for k, v in {**cors_headers(origin, account),
                                                                            **(extra or {})}.items()]
        if status == 204:
            return 204, headers, b''
        text = (reason + '\n').encode('utf-8', 'replace')
        headers += [(b'content-type', b'text/plain; charset=utf-8'), (b'content-length', str(len(text)).encode())]
        return status, headers, text

    async def collect(scope, receive, send) -> None:
        """`POST /collect` as a bare ASGI endpoint: the hot path skips Starlette's request,
        routing and response objects (measured: README, "Collector throughput")."""
        origin = declared = proto = None
        forwarded = []
        for name, value in scope['headers']:
            if name == b'origin':
                origin = origin if origin is not None else value.decode('latin-1')
            elif name == b'content-length':
                declared = declared if declared is not None else value.decode('latin-1')
            elif name == b'x-forwarded-for':
                forwarded.append(value.decode('latin-1'))
            elif name == b'x-forwarded-proto':
                proto = proto if proto is not None else value.decode('latin-1')
        try:
            status, headers, text = await accept(scope, receive, origin, declared, forwarded, proto)
        except ClientDisconnect:
            # Nobody reads this answer; it is sent so that no path ends without one.
            stats['client_disconnects'] += 1
            status, headers, text = 400, [], b''
        await send({'type': 'http.response.start', 'status': status, 'headers': headers})
        await send({'type': 'http.response.body', 'body': text})

    async def accept(scope, receive, origin, declared, forwarded, proto) -> tuple[int, list, bytes]:
        try:
            body = await read_limited_body(asgi_chunks(receive), declared, MAX_BODY_BYTES, settings.body_timeout_s)
        except BodyTooLarge as error:
            return answer(413, f'body over {MAX_BODY_BYTES} bytes ({error})', origin, None, {'Connection': 'close'})
        except BodyTimeout:
            return answer(408, 'body not received in time', origin, None, {'Connection': 'close'})
        verdict = check_batch(body, accounts)
        account = accounts.get(verdict.account) if verdict.account else None
        if verdict.status != 204:
            return answer(verdict.status, verdict.reason, origin, account)
        if not origin_allowed(account, origin):
            stats['origin_refused'] += 1
            return answer(403, f'origin {origin} is not allowed for account {account.account_id}', origin, account)
        if limiter.rate > 0:
            peer = scope['client'][0] if scope.get('client') else ''
            client = addresses.resolve(peer, forwarded, proto, scope.get('scheme', 'http'))[0]
            wait_s = limiter.check(account.account_id, client)
            if wait_s:
                return answer(429, 'rate limited', origin, account, {'Retry-After': str(wait_s)})
        try:
            result = await store.write(account.account_id, verdict.events, verdict.rejected)
        except StoreBusy as error:
            return answer(503, str(error), origin, account, {'Retry-After': str(STORE_BUSY_RETRY_AFTER_S)})
        stats['events_stored'] += result.stored
        stats['events_duplicate'] += result.duplicates
        stats['events_rejected'] += result.rejected
        return answer(204, '', origin, account)

    async def preflight(request: Request) -> Response:
        origin = request.headers.get('origin')
        listed = origin and origin != 'null' and any(origin in a.origins for a in accounts.values())
        open_to_all = any('*' in a.origins for a in accounts.values())
        headers = {'Vary': 'Origin'}
        if listed or (origin and open_to_all):
            headers.update({
                'Access-Control-Allow-Origin': origin if listed else '*',
                'Access-Control-Allow-Methods': 'POST, OPTIONS',
                'Access-Control-Allow-Headers': 'Content-Type',
                'Access-Control-Max-Age': '86400',
            })
            if listed:
                headers['Access-Control-Allow-Credentials'] = 'true'
        return Response(status_code=204, headers=headers)

    async def tag_file(request: Request) -> Response:
        name = request.path_params['name']
        account_id = name[:-3] if name.endswith('.js') else ''
        account = accounts.get(account_id) if ACCOUNT_ID_PATTERN.fullmatch(account_id) else None
        if account is None and name != DEBUG_FILE:
            return Response('no such tag\n', status_code=404, media_type='text/plain')
        try:
            if account is None:
                tag = await asyncio.to_thread(tags.debug_module)
            else:
                tag = await asyncio.to_thread(tags.get, account.tag_settings(tag_urls[account_id]))
        except (TagUnavailable, StampError) as error:
            return Response(f'tag unavailable: {error}\n', status_code=503, media_type='text/plain',
                            headers={'Retry-After': '5'})
        encoding = choose_encoding(request.headers.get('accept-encoding', ''))
        body, etag = tag.encoded(encoding)
        headers = {
            'ETag': etag,
            'Cache-Control': f'public, max-age={TAG_MAX_AGE_S}',
            'Vary': 'Accept-Encoding',
            'Access-Control-Allow-Origin': '*',
            'Cross-Origin-Resource-Policy': 'cross-origin',
            'X-Content-Type-Options': 'nosniff',
        }
        if etag in [t.strip() for t in request.headers.get('if-none-match', '').split(',')]:
            return Response(status_code=304, headers=headers)
        if encoding != 'identity':
            headers['Content-Encoding'] = encoding
        return Response(body, media_type='text/javascript; charset=utf-8', headers=headers)

    def may_read(request: Request) -> bool:
        return access.allows(request.headers.get('authorization', ''), request.cookies.get(LIVE_COOKIE, ''))

    def reader(handler):
        """The one guard of the read routes: 401 without the credential (access.py)."""
        async def guarded(request: Request) -> Response:
            if not may_read(request):
                return JSONResponse({'error': 'the read API needs the server\'s API token (Authorization: Bearer)'},
                                    status_code=401, headers={'WWW-Authenticate': 'Bearer', **READ_HEADERS})
            return await handler(request)
        return guarded

    def read_params(request: Request) -> tuple[str, int, int] | Response:
        account_id = request.query_params.get('account', '')
        if account_id not in accounts:
            return JSONResponse({'error': 'unknown account'}, status_code=404, headers=READ_HEADERS)
        since_text = request.query_params.get('since', '0')
        limit_text = request.query_params.get('limit', '1000')
        if not (since_text.isascii() and since_text.isdigit() and limit_text.isascii() and limit_text.isdigit()) \
                or int(since_text) > MAX_SEQ or len(limit_text) > 6:
            return JSONResponse({'error': f'since is an integer 0..{MAX_SEQ}, limit an integer 0..{MAX_READ_LIMIT}'},
                                status_code=400, headers=READ_HEADERS)
        return account_id, int(since_text), min(MAX_READ_LIMIT, int(limit_text))

    def unavailable(error: StoreBusy) -> Response:
        """The read API's answer while the database is unavailable: 503, try again shortly."""
        return JSONResponse({'error': str(error)}, status_code=503,
                            headers={'Retry-After': str(STORE_BUSY_RETRY_AFTER_S), **READ_HEADERS})

    def listing(method: str, as_json=None):
        """A read route over an account's rows after `since` (guarded by `reader`, parameters by
        `read_params`): the store's `method(account, since, limit)` as JSON, or through `as_json`
        where the rows are JSON text already. The store is looked up per request (it opens with
        the app's lifespan)."""
        @reader
        async def route(request: Request) -> Response:
            params = read_params(request)
            if isinstance(params, Response):
                return params
            try:
                rows = await getattr(store, method)(*params)
            except StoreBusy as error:
                return unavailable(error)
            if as_json is None:
                return JSONResponse(rows, headers=READ_HEADERS)
            return Response(as_json(rows), media_type='application/json', headers=READ_HEADERS)
        return route

    api_events = listing('read', events_json)
    api_rejects = listing('read_rejects')
    api_erasures = listing('read_erasures')
    api_sessions = listing('read_sessions', sessions_json)
    api_triggers = listing('read_triggers')

    @reader
    async def api_stats(request: Request) -> Response:
        return JSONResponse(dict(stats), headers=READ_HEADERS)

    @reader
    async def api_erase(request: Request) -> Response:
        try:
            body = await read_limited_body(request.stream(), request.headers.get('content-length'),
                                           MAX_ERASE_BODY_BYTES, settings.body_timeout_s)
            asked = json.loads(body)
        except (BodyTooLarge, BodyTimeout, ClientDisconnect, ValueError):
            asked = None
        if not isinstance(asked, dict) or asked.get('account') not in accounts or \
                (('email' in asked) == ('cid' in asked)):
            return JSONResponse({'error': 'give {"account", "email"} or {"account", "cid"}'}, status_code=400,
                                headers=READ_HEADERS)
        email, cid = asked.get('email'), asked.get('cid')
        if (email is not None and not (isinstance(email, str) and 0 < len(email) <= 320)) or \
                (cid is not None and not (isinstance(cid, str) and VISITOR_ID.fullmatch(cid))):
            return JSONResponse({'error': 'email is an address, cid a visitor id'}, status_code=400, headers=READ_HEADERS)
        try:
            erased = await store.erase(asked['account'], email, cid)
        except StoreBusy as error:
            return unavailable(error)
        stats['erasures'] += 1
        return JSONResponse({'events': erased.events, 'rejects': erased.rejects}, headers=READ_HEADERS)

    async def prune() -> None:
        """Delete events older than --retention-days, a small batch at a time (intake waits for at
        most one batch)."""
        cutoff = int(time.time() * 1000) - settings.retention_days * 86_400_000
        while await store.prune(cutoff, PRUNE_BATCH_ROWS) > 0:
            stats['pruned_batches'] += 1
            await asyncio.sleep(PRUNE_PAUSE_S)

    async def live(request: Request) -> Response:
        token = request.query_params.get('token')
        if token is not None:
            # The token's one appearance in a URL: swap it for a cookie and drop it from the address.
            if not access.token_matches(token):
                return Response('wrong token\n', status_code=401, media_type='text/plain', headers=PAGE_HEADERS)
            account = request.query_params.get('account', '')
            target = '/live' + (f'?account={account}' if ACCOUNT_ID_PATTERN.fullmatch(account) else '')
            response = RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)
            response.set_cookie(LIVE_COOKIE, access.session, httponly=True, samesite='strict', path='/',
                                secure=client_of(request)[1] == 'https')
            return response
        if not may_read(request):
            return Response('the live page needs the server\'s API token: open /live?token=<token>\n',
                            status_code=401, media_type='text/plain', headers=PAGE_HEADERS)
        return FileResponse(STATIC / 'live.html', headers=PAGE_HEADERS)

    async def static(request: Request) -> Response:
        return file_from(STATIC, request.path_params['name'])

    async def healthz(request: Request) -> Response:
        # Account ids are the operator's business: only a reader sees them.
        return JSONResponse({'ok': True, **({'accounts': sorted(accounts)} if may_read(request) else {})},
                            headers={'Cache-Control': 'no-store'})

    @asynccontextmanager
    async def lifespan(app):
        nonlocal store
        store = store_factory(settings)
        await store.start()
        background = [asyncio.create_task(SessionCloser(store, settings.session_timeout_s, stats).run())]
        # The HTTP client (and its TLS context) only where some account has a webhook.
        http = new_http_client() if webhooks else None
        if http is not None:
            background.append(asyncio.create_task(run_deliveries(Deliverer(store, webhooks, http_poster(http), stats,
                                                                   retry_base_ms=settings.webhook_retry_base_ms))))
        if settings.retention_days > 0:
            background.append(asyncio.create_task(every(settings.retention_interval_s, prune, stats, 'prune_errors')))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            if http is not None:
                await http.aclose()
            await store.close()

    routes = [
        Route('/collect', preflight, methods=['OPTIONS']),
        Route('/tags/{name}', tag_file, methods=['GET']),
        Route('/api/events', api_events, methods=['GET']),
        Route('/api/rejects', api_rejects, methods=['GET']),
        Route('/api/stats', api_stats, methods=['GET']),
        Route('/api/erase', api_erase, methods=['POST']),
        Route('/api/erasures', api_erasures, methods=['GET']),
        Route('/api/sessions', api_sessions, methods=['GET']),
        Route('/api/triggers', api_triggers, methods=['GET']),
        Route('/live', live, methods=['GET']),
        Route('/static/{name}', static, methods=['GET']),
        Route('/healthz', healthz, methods=['GET']),
    ]
    if settings.demo:
        from demo_site.app import demo_routes
        from demo_site.inbox import inbox_routes

        routes.extend(demo_routes(settings.api_token))
        demo_account = accounts.get('demo')
        routes.extend(inbox_routes(demo_account.webhook_secret if demo_account else '', Path(settings.demo_inbox),
                                   may_read))
    inner = Starlette(routes=routes, lifespan=lifespan)
    inner.state.stats = stats

    async def app(scope, receive, send) -> None:
        if scope['type'] == 'http' and scope['path'] == '/collect' and scope['method'] == 'POST':
            await collect(scope, receive, send)
        else:
            await inner(scope, receive, send)

    app.state = inner.state
    return app


def app_from_env() -> ASGIApp:
    """The app configured by the OMETRIA_* environment variables (for uvicorn's workers)."""
    return create_app(from_env())
