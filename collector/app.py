"""The collector and tag server as an ASGI application, put together from plain parts:

| route | part |
|---|---|
| `POST /collect` (`OPTIONS` for preflights) | `intake.Intake` (a bare ASGI endpoint), `cors.OriginPolicy` |
| `GET /tags/<account_id>.js`, `/tags/ometria.debug.js` | `tags.TagRoute` |
| `GET /api/events, rejects, sessions, triggers, erasures, stats`; `POST /api/erase` | `read_api.ReadApi` |
| `POST /shopify/webhooks/<account_id>` (Shopify's signed order webhooks) | `shopify.ShopifyWebhooks` |
| `GET /live`, `POST /live/session` | `live.LivePage` |
| `GET /healthz`, `/static/<file>` | here |
| background: closing sessions, deliveries, retention | `background.Background` |

With `demo`, the demo store (`demo_site/`) is served too.

Trust (see `access.py`): the read API and the live page need the API token; client addresses come
from forwarding headers only through `--trusted-proxies`; nothing a client sends (`Host`,
`X-Forwarded-Host`...) reaches a served tag, whose collector URL is the account's (or
`--collector-url`), fixed when the server starts.

`create_app(settings, accounts, store)` builds it (the store, built before the app by
`engines.open_store`, is started and closed by the app's lifespan); `app_from_env()` builds it
from the `OMETRIA_*` environment variables `python -m collector serve` sets for uvicorn's workers.
"""

from __future__ import annotations

from collections import Counter
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from collector.access import ClientAddresses, ReadAccess, redact_tokens_in_logs
from collector.accounts import Account, load_accounts
from collector.background import Background
from collector.cors import OriginPolicy
from collector.engines import open_store
from collector.files import file_from
from collector.intake import Intake
from collector.live import STATIC, LivePage
from collector.ratelimit import RateLimiter, SharedRateLimiter
from collector.read_api import ReadApi
from collector.settings import Settings, SettingsError, from_env
from collector.shopify import ShopifyWebhooks
from collector.storage import EventStore
from collector.tags import TagCache, TagRoute

__all__ = ['app_from_env', 'collector_urls', 'create_app', 'webhook_targets']


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


def rate_limiter(settings: Settings):
    """The rate limit's buckets: shared by the workers through `--rate-file`, else this process's."""
    if settings.rate_file:
        return SharedRateLimiter(settings.rate_file, settings.rate_per_s, settings.burst)
    return RateLimiter(settings.rate_per_s, settings.burst)


def create_app(settings: Settings, accounts: dict[str, Account] | None = None,
               store: EventStore | None = None) -> ASGIApp:
    """The ASGI application for `settings`; raises SettingsError when it cannot run safely."""
    settings.check()
    redact_tokens_in_logs()
    accounts = load_accounts(settings.accounts_path) if accounts is None else accounts
    store = open_store(settings.db) if store is None else store
    tag_urls = collector_urls(settings, accounts)
    addresses = ClientAddresses(settings.proxy_networks())
    access = ReadAccess(settings.api_token)
    stats: Counter = Counter()
    origins = OriginPolicy(accounts, settings.own_origin if settings.demo else '')
    intake = Intake(accounts, origins, addresses, rate_limiter(settings), store, stats, settings.body_timeout_s)
    read_api = ReadApi(store, accounts, access, stats, settings.body_timeout_s)
    background = Background(store, settings, {a.account_id: a.origins for a in accounts.values()},
                            webhook_targets(settings, accounts), stats)

    async def preflight(request: Request) -> Response:
        return Response(status_code=204, headers=origins.preflight_headers(request.headers.get('origin')))

    async def static(request: Request) -> Response:
        return file_from(STATIC, request.path_params['name'])

    async def healthz(request: Request) -> Response:
        # Account ids are the operator's business: only a reader sees them.
        return JSONResponse({'ok': True, **({'accounts': sorted(accounts)} if read_api.may_read(request) else {})},
                            headers={'Cache-Control': 'no-store'})

    @asynccontextmanager
    async def lifespan(app):
        await store.start()
        background.start()
        try:
            yield
        finally:
            await background.stop()
            await store.close()

    routes = [
        Route('/collect', preflight, methods=['OPTIONS']),
        Route('/tags/{name}', TagRoute(accounts, tag_urls, TagCache(settings.generic_path)).serve, methods=['GET']),
        *read_api.routes(),
        *ShopifyWebhooks(store, accounts, stats, settings.body_timeout_s).routes(),
        *LivePage(access, addresses, settings.body_timeout_s).routes(),
        Route('/static/{name}', static, methods=['GET']),
        Route('/healthz', healthz, methods=['GET']),
    ]
    if settings.demo:
        from demo_site.app import demo_routes
        from demo_site.inbox import inbox_routes
        from demo_site.pages import SHOPIFY_ACCOUNT as SHOPIFY_DEMO_ACCOUNT

        shop = accounts.get(SHOPIFY_DEMO_ACCOUNT)
        orders_hook = ((f'{settings.own_origin}/shopify/webhooks/{SHOPIFY_DEMO_ACCOUNT}', shop.shopify_webhook_secret)
                       if shop is not None and shop.shopify_webhook_secret and settings.own_origin else None)
        routes.extend(demo_routes(settings.api_token, orders_hook))
        demo_account = accounts.get('demo')
        routes.extend(inbox_routes(demo_account.webhook_secret if demo_account else '', Path(settings.demo_inbox),
                                   read_api.may_read))
    inner = Starlette(routes=routes, lifespan=lifespan)
    inner.state.stats = stats

    async def app(scope, receive, send) -> None:
        if scope['type'] == 'http' and scope['path'] == '/collect' and scope['method'] == 'POST':
            await intake(scope, receive, send)
        else:
            await inner(scope, receive, send)

    app.state = inner.state
    return app


def app_from_env() -> ASGIApp:
    """The app configured by the OMETRIA_* environment variables (for uvicorn's workers)."""
    return create_app(from_env())
