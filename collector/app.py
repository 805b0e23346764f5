"""The collector and tag server as an ASGI application (Starlette).

Routes:
- `POST /collect`: a batch of events (the wire contract); `OPTIONS /collect` for preflights.
- `GET /tags/<account_id>.js`: the account's stamped tag (ETag/304, gzip, brotli).
- `GET /api/events?account=&since=&limit=`: stored events, oldest first (`since`: a `seq`).
- `GET /api/rejects?account=&since=`: events set aside by validation, with the reason.
- `GET /api/stats`: this process's counters.
- `GET /live?account=`: a page listing the latest events, refreshed every second.
- `GET /healthz`.
With `demo=True`, the demo store (`demo_site/`) is served too.

`create_app(settings)` builds it; `app_from_env()` builds it from `OMETRIA_*` environment
variables (what `python -m collector serve` sets for uvicorn's worker processes).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections import Counter
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from collector.accounts import Account, load_accounts
from collector.files import file_from
from collector.models import MAX_BODY_BYTES
from collector.ratelimit import RateLimiter
from collector.stamp import ACCOUNT_ID_PATTERN, StampError
from collector.storage import SQLiteEventStore, StoreBusy
from collector.tags import TagCache, TagUnavailable, choose_encoding
from collector.validation import check_batch

__all__ = ['Settings', 'create_app', 'app_from_env']

ROOT = Path(__file__).resolve().parent.parent
STATIC = Path(__file__).resolve().parent / 'static'
BODY_TIMEOUT_S = 10.0
TAG_MAX_AGE_S = 300
STORE_BUSY_RETRY_AFTER_S = 2
MAX_READ_LIMIT = 5000
LOOPBACK = {'127.0.0.1', '::1'}
PAGE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'"


@dataclass
class Settings:
    """How a server instance runs."""

    accounts: dict[str, Account]
    db_path: str = str(ROOT / 'var' / 'events.sqlite3')
    generic_path: str = str(ROOT / 'dist' / 'generic' / 'ometria.js')
    rate_per_s: float = 50.0
    burst: int = 200
    body_timeout_s: float = BODY_TIMEOUT_S
    demo: bool = False
    # Stamped into every tag this server serves, when set (else: the account's collector_url; in
    # demo mode, this server's own /collect).
    collector_url: str = ''
    # The read API and the live page show stored events (emails included): without a token they
    # answer loopback clients only; with one, whoever sends it (Authorization: Bearer, or ?token=).
    api_token: str = ''
    stats: Counter = field(default_factory=Counter)


class BodyTooLarge(Exception):
    pass


class BodyTimeout(Exception):
    pass


async def read_limited_body(request: Request, limit: int, timeout_s: float) -> bytes:
    """The request body, read while counting: BodyTooLarge past `limit` bytes (from the
    Content-Length, or while streaming a chunked body), BodyTimeout when it takes longer than
    `timeout_s` (a slow drip). Nothing past the limit is buffered."""
    declared = request.headers.get('content-length')
    if declared is not None:
        if not declared.isdigit():
            raise BodyTooLarge('bad Content-Length')
        if int(declared) > limit:
            raise BodyTooLarge(f'Content-Length {declared}')

    async def collect() -> bytes:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise BodyTooLarge(f'more than {limit} bytes')
        return bytes(body)

    try:
        async with asyncio.timeout(timeout_s):
            return await collect()
    except TimeoutError:
        raise BodyTimeout() from None


def create_app(settings: Settings) -> Starlette:
    """The ASGI application for `settings`."""
    store: SQLiteEventStore | None = None
    tags = TagCache(settings.generic_path)
    limiter = RateLimiter(settings.rate_per_s, settings.burst)
    stats = settings.stats

    def cors_headers(origin: str | None, account: Account | None) -> dict:
        """CORS for a collect answer. A page on an origin the account allows may read the
        answer; so may any page when there is no usable account (400, 404), so that the tag can
        see the status and stop retrying."""
        if not origin:
            return {}
        if account is None or account.allows_origin(origin):
            return {
                'Access-Control-Allow-Origin': origin,
                'Access-Control-Allow-Credentials': 'true',
                # Without this a cross-origin page cannot read Retry-After on a 429 or 503.
                'Access-Control-Expose-Headers': 'Retry-After',
                'Vary': 'Origin',
            }
        return {'Vary': 'Origin'}

    def answer(status: int, reason: str, origin: str | None, account: Account | None, extra: dict | None = None) -> Response:
        stats[f'status_{status}'] += 1
        headers = {**cors_headers(origin, account), **(extra or {})}
        if status == 204:
            return Response(status_code=204, headers=headers)
        return Response(reason + '\n', status_code=status, media_type='text/plain', headers=headers)

    async def collect(request: Request) -> Response:
        origin = request.headers.get('origin')
        try:
            body = await read_limited_body(request, MAX_BODY_BYTES, settings.body_timeout_s)
        except BodyTooLarge as error:
            return answer(413, f'body over {MAX_BODY_BYTES} bytes ({error})', origin, None, {'Connection': 'close'})
        except BodyTimeout:
            return answer(408, 'body not received in time', origin, None, {'Connection': 'close'})
        except ClientDisconnect:
            stats['client_disconnects'] += 1
            return Response(status_code=400)
        verdict = check_batch(body, settings.accounts)
        account = settings.accounts.get(verdict.account) if verdict.account else None
        if verdict.status != 204:
            return answer(verdict.status, verdict.reason, origin, account)
        if origin and not account.allows_origin(origin) and origin != str(request.base_url).rstrip('/'):
            stats['origin_refused'] += 1
            return answer(403, f'origin {origin} is not allowed for account {account.account_id}', origin, account)
        wait_s = limiter.check(account.account_id, request.client.host if request.client else '')
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
        allowed = origin and any(a.allows_origin(origin) for a in settings.accounts.values())
        headers = {'Vary': 'Origin'}
        if allowed:
            headers.update({
                'Access-Control-Allow-Origin': origin,
                'Access-Control-Allow-Credentials': 'true',
                'Access-Control-Allow-Methods': 'POST, OPTIONS',
                'Access-Control-Allow-Headers': 'Content-Type',
                'Access-Control-Max-Age': '86400',
            })
        return Response(status_code=204, headers=headers)

    async def tag_file(request: Request) -> Response:
        name = request.path_params['name']
        account_id = name[:-3] if name.endswith('.js') else ''
        account = settings.accounts.get(account_id) if ACCOUNT_ID_PATTERN.fullmatch(account_id) else None
        if account is None:
            return Response('no such tag\n', status_code=404, media_type='text/plain')
        own_url = str(request.base_url).rstrip('/') + '/collect'
        collector_url = settings.collector_url or (own_url if settings.demo else account.collector_url) or own_url
        try:
            tag = await asyncio.to_thread(tags.get, account.account_id, collector_url, account.cookie_domain)
        except (TagUnavailable, StampError) as error:
            return Response(f'tag unavailable: {error}\n', status_code=503, media_type='text/plain',
                            headers={'Retry-After': '5'})
        headers = {
            'ETag': tag.etag,
            'Cache-Control': f'public, max-age={TAG_MAX_AGE_S}',
            'Vary': 'Accept-Encoding',
            'Access-Control-Allow-Origin': '*',
            'Cross-Origin-Resource-Policy': 'cross-origin',
            'X-Content-Type-Options': 'nosniff',
        }
        if tag.etag in [t.strip() for t in request.headers.get('if-none-match', '').split(',')]:
            return Response(status_code=304, headers=headers)
        encoding = choose_encoding(request.headers.get('accept-encoding', ''))
        body = {'br': tag.brotli, 'gzip': tag.gzip, 'identity': tag.identity}[encoding]
        if encoding != 'identity':
            headers['Content-Encoding'] = encoding
        return Response(body, media_type='text/javascript; charset=utf-8', headers=headers)

    def may_read(request: Request) -> bool:
        if settings.api_token:
            given = request.headers.get('authorization', '').removeprefix('Bearer ').strip()
            given = given or request.query_params.get('token', '')
            return secrets.compare_digest(given, settings.api_token)
        return request.client is not None and request.client.host in LOOPBACK

    def read_params(request: Request) -> tuple[str, int, int] | Response:
        if not may_read(request):
            return JSONResponse({'error': 'the read API needs the server\'s --api-token, or a loopback client'},
                                status_code=403)
        account_id = request.query_params.get('account', '')
        if account_id not in settings.accounts:
            return JSONResponse({'error': f'unknown account {account_id!r}'}, status_code=404)
        try:
            since = int(request.query_params.get('since', '0'))
            limit = min(MAX_READ_LIMIT, int(request.query_params.get('limit', '1000')))
        except ValueError:
            return JSONResponse({'error': 'since and limit are integers'}, status_code=400)
        return account_id, since, max(0, limit)

    async def api_events(request: Request) -> Response:
        params = read_params(request)
        if isinstance(params, Response):
            return params
        return JSONResponse(await store.read(*params), headers={'Cache-Control': 'no-store'})

    async def api_rejects(request: Request) -> Response:
        params = read_params(request)
        if isinstance(params, Response):
            return params
        return JSONResponse(await store.read_rejects(*params), headers={'Cache-Control': 'no-store'})

    async def api_stats(request: Request) -> Response:
        if not may_read(request):
            return JSONResponse({'error': 'forbidden'}, status_code=403)
        return JSONResponse(dict(stats), headers={'Cache-Control': 'no-store'})

    async def live(request: Request) -> Response:
        if not may_read(request):
            return Response('the live page needs the server\'s --api-token (?token=), or a loopback client\n',
                            status_code=403, media_type='text/plain')
        return FileResponse(STATIC / 'live.html', headers={'Content-Security-Policy': PAGE_CSP, 'Cache-Control': 'no-store'})

    async def static(request: Request) -> Response:
        return file_from(STATIC, request.path_params['name'])

    async def healthz(request: Request) -> Response:
        return JSONResponse({'ok': True, 'accounts': sorted(settings.accounts)})

    @asynccontextmanager
    async def lifespan(app):
        nonlocal store
        store = SQLiteEventStore(settings.db_path)
        try:
            yield
        finally:
            store.close()

    routes = [
        Route('/collect', collect, methods=['POST']),
        Route('/collect', preflight, methods=['OPTIONS']),
        Route('/tags/{name}', tag_file, methods=['GET']),
        Route('/api/events', api_events, methods=['GET']),
        Route('/api/rejects', api_rejects, methods=['GET']),
        Route('/api/stats', api_stats, methods=['GET']),
        Route('/live', live, methods=['GET']),
        Route('/static/{name}', static, methods=['GET']),
        Route('/healthz', healthz, methods=['GET']),
    ]
    if settings.demo:
        from demo_site.app import demo_routes

        routes.extend(demo_routes())
    return Starlette(routes=routes, lifespan=lifespan)


def app_from_env() -> Starlette:
    """The app configured by environment variables (for uvicorn workers): OMETRIA_ACCOUNTS,
    OMETRIA_DB, OMETRIA_GENERIC, OMETRIA_RATE, OMETRIA_BURST, OMETRIA_DEMO, OMETRIA_BODY_TIMEOUT,
    OMETRIA_COLLECTOR_URL, OMETRIA_API_TOKEN."""
    settings = Settings(
        accounts=load_accounts(os.environ.get('OMETRIA_ACCOUNTS', str(ROOT / 'accounts.toml'))),
        db_path=os.environ.get('OMETRIA_DB', str(ROOT / 'var' / 'events.sqlite3')),
        generic_path=os.environ.get('OMETRIA_GENERIC', str(ROOT / 'dist' / 'generic' / 'ometria.js')),
        rate_per_s=float(os.environ.get('OMETRIA_RATE', '50')),
        burst=int(os.environ.get('OMETRIA_BURST', '200')),
        demo=os.environ.get('OMETRIA_DEMO', '') == '1',
        body_timeout_s=float(os.environ.get('OMETRIA_BODY_TIMEOUT', str(BODY_TIMEOUT_S))),
        collector_url=os.environ.get('OMETRIA_COLLECTOR_URL', ''),
        api_token=os.environ.get('OMETRIA_API_TOKEN', ''),
    )
    return create_app(settings)
