"""The collector app through Starlette's TestClient: every status of the contract, CORS, dedupe,
set-aside events, the read API and tag serving. (tests/unit/test_collector_server.py repeats the
important ones against a real uvicorn process.)"""

from __future__ import annotations

import gzip
import json

import brotli
import pytest
from starlette.testclient import TestClient

from collector import sqlite_store
from collector.accounts import AccountsError, parse_accounts
from collector.app import create_app, webhook_targets
from collector.settings import Settings, SettingsError
from tests.support.contract import batch, body, event

TOKEN = 's3cret-read-token-01'
READER = {'Authorization': f'Bearer {TOKEN}'}
ACCOUNTS = parse_accounts({'accounts': {
    'shop': {'origins': ['https://shop.example'], 'collector_url': 'https://collect.shop.example/collect'},
    'open': {'origins': ['https://open.example'], 'collector_url': 'https://c.example/collect'},
    'strict': {'origins': ['https://strict.example'], 'collector_url': 'https://c.example/collect', 'bots': 'drop'},
    'shopify': {'origins': ['https://shopify.example'], 'collector_url': 'https://c.example/collect',
                'platform': 'shopify'},
}})
DEBUG_MODULE = '"use strict";(function(){/* the overlay */})();' + 'y();' * 300
GENERIC = ('"use strict";var a="__OM_ACCOUNT_ID__",c="__OM_COLLECTOR_URL__",d="__OM_COOKIE_DOMAIN__",'
           'f="__OM_IDENTIFY_FORMS__",g="__OM_CONSENT__";' + 'x();' * 300)


@pytest.fixture
def make_client(tmp_path):
    generic = tmp_path / 'generic.js'
    generic.write_text(GENERIC)
    (tmp_path / 'ometria.debug.js').write_text(DEBUG_MODULE)
    clients = []

    def make(client_address='127.0.0.1', **overrides):
        settings = Settings(db=str(tmp_path / 'events.sqlite3'), generic_path=str(generic),
                            **{'rate_per_s': 0, 'api_token': TOKEN, **overrides})
        client = TestClient(create_app(settings, ACCOUNTS), base_url='http://collector.test',
                            client=(client_address, 50000), headers=READER)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


def post(client, data: bytes, **headers):
    return client.post('/collect', content=data, headers={'Content-Type': 'text/plain;charset=UTF-8', **headers})


def stored(client, account='shop'):
    return client.get(f'/api/events?account={account}').json()


def test_204_stores_every_event_once_in_order(client):
    events = [event('pageview'), event('identify'), event('setbasket')]
    answer = post(client, body(events))
    assert answer.status_code == 204 and answer.content == b''
    rows = stored(client)
    assert [r['id'] for r in rows] == [e['id'] for e in events]
    assert {k: v for k, v in rows[2].items() if k not in ('seq', 'received_at')} == events[2]


GOOGLEBOT = ('Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) '
             'Chrome/126.0.6478.126 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)')


def test_a_bots_events_are_stored_and_counted_by_reason_or_dropped_where_the_account_says(client):
    """`bots = "flag"` (the default) stores a bot's events, its session marked (sessions start no
    trigger: test_sessions.py); `bots = "drop"` answers 204 and stores nothing. Both count."""
    assert post(client, body([event('pageview')]), **{'User-Agent': GOOGLEBOT}).status_code == 204
    assert post(client, body([event('pageview', automated=True)])).status_code == 204
    assert len(stored(client)) == 2
    assert post(client, body([event('pageview')], account='strict'), **{'User-Agent': GOOGLEBOT}).status_code == 204
    assert post(client, body([event('pageview')], account='strict'), **{'User-Agent': ''}).status_code == 204
    assert stored(client, 'strict') == []
    stats = client.get('/api/stats').json()
    assert (stats['bot_events_flag_crawler'], stats['bot_events_flag_automated']) == (1, 1)
    assert (stats['bot_events_drop_crawler'], stats['bot_events_drop_no_user_agent']) == (1, 1)


def test_the_same_batch_twice_stores_each_event_once(client):
    data = body([event(), event()])
    assert post(client, data).status_code == 204
    assert post(client, data).status_code == 204
    assert len(stored(client)) == 2
    assert client.get('/api/stats').json()['events_duplicate'] == 2


def test_a_bad_event_is_set_aside_without_costing_the_batch(client):
    good, bad = event(), {**event(), 'quantity': -1}
    assert post(client, body([good, bad])).status_code == 204
    assert [r['id'] for r in stored(client)] == [good['id']]
    rejects = client.get('/api/rejects?account=shop').json()
    assert len(rejects) == 1 and 'quantity' in rejects[0]['reason'] and bad['id'] in rejects[0]['sample']


@pytest.mark.parametrize('data', [
    b'', b'not json', b'[]', b'{"v":1}', b'{"v":2,"account":"shop","sent_at":1,"events":[{}]}',
    json.dumps(batch([])).encode(), json.dumps({**batch([event()]), 'extra': 1}).encode(),
    b'\xff\xfe', json.dumps(batch([event()], account='bad id')).encode(),
], ids=['empty', 'text', 'array', 'no-account', 'version-2', 'no-events', 'unknown-key', 'not-utf8', 'bad-account'])
def test_400_for_anything_that_is_not_the_envelope(client, data):
    assert post(client, data).status_code == 400
    assert stored(client) == []


def test_404_for_an_unknown_account(client):
    assert post(client, body([event()], account='nobody')).status_code == 404


def test_413_for_a_body_over_64_kib(client):
    big = body([event('pageview', page_data={'x': 'y' * 70_000})])
    assert post(client, big).status_code == 413


def test_413_for_a_chunked_body_over_64_kib_without_content_length(client):
    def chunks():
        for _ in range(100):
            yield b'x' * 1024

    answer = client.post('/collect', content=chunks())
    assert answer.status_code == 413


def test_413_for_more_than_100_events(client):
    assert post(client, body([event() for _ in range(101)])).status_code == 413
    assert post(client, body([event() for _ in range(100)])).status_code == 204


def test_429_with_retry_after_when_a_client_sends_too_fast(make_client):
    client = make_client(rate_per_s=1, burst=2)
    statuses = [post(client, body([event()])).status_code for _ in range(4)]
    assert statuses[:2] == [204, 204] and statuses[2] == 429
    answer = post(client, body([event()]), Origin='https://shop.example')
    assert answer.status_code == 429 and int(answer.headers['retry-after']) >= 1
    # A page on another origin can read Retry-After only when it is exposed.
    assert answer.headers['access-control-expose-headers'] == 'Retry-After'


def test_503_with_retry_after_when_the_store_is_saturated(client, monkeypatch):
    monkeypatch.setattr(sqlite_store, 'MAX_WAITING_WRITES', 0)
    answer = post(client, body([event()]))
    assert answer.status_code == 503 and answer.headers['retry-after'] == '2'
    assert stored(client) == []


def test_cors_for_an_allowed_origin_echoes_it_with_credentials(client):
    answer = post(client, body([event()]), Origin='https://shop.example')
    assert answer.status_code == 204
    assert answer.headers['access-control-allow-origin'] == 'https://shop.example'
    assert answer.headers['access-control-allow-credentials'] == 'true'


def test_another_origin_is_refused_and_cannot_read_the_answer(client):
    answer = post(client, body([event()]), Origin='https://evil.example')
    assert answer.status_code == 403
    assert 'access-control-allow-origin' not in answer.headers
    assert stored(client) == []


def test_a_drop_status_is_readable_so_the_tag_stops_retrying(client):
    answer = post(client, b'garbage', Origin='https://anywhere.example')
    assert answer.status_code == 400
    assert answer.headers['access-control-allow-origin'] == '*'
    assert 'access-control-allow-credentials' not in answer.headers, 'an arbitrary origin never gets credentials'


def test_origin_null_is_refused_for_an_account_that_lists_origins(client):
    answer = post(client, body([event()]), Origin='null')
    assert answer.status_code == 403 and 'access-control-allow-origin' not in answer.headers
    assert stored(client) == []


def test_origin_null_is_taken_for_a_shopify_account_its_checkout_pixels_sandbox(client):
    answer = post(client, body([event()], 'shopify'), Origin='null')
    assert answer.status_code == 204
    assert answer.headers['access-control-allow-origin'] == '*', 'the pixel reads the status'
    assert 'access-control-allow-credentials' not in answer.headers
    assert len(stored(client, 'shopify')) == 1
    other = post(client, body([event()], 'shopify'), Origin='https://evil.example')
    assert other.status_code == 403 and len(stored(client, 'shopify')) == 1, 'only null, not any origin'


def test_a_request_without_origin_is_not_a_browser_page_and_is_taken(client):
    assert post(client, body([event()])).status_code == 204


def test_options_is_answered_for_allowed_origins(client):
    answer = client.options('/collect', headers={'Origin': 'https://shop.example',
                                                 'Access-Control-Request-Method': 'POST'})
    assert answer.status_code == 204
    assert answer.headers['access-control-allow-origin'] == 'https://shop.example'
    assert 'POST' in answer.headers['access-control-allow-methods']
    other = client.options('/collect', headers={'Origin': 'https://evil.example'})
    assert other.status_code == 204 and 'access-control-allow-origin' not in other.headers


def test_read_api_pages_with_since_and_refuses_unknown_accounts(client):
    post(client, body([event() for _ in range(5)]))
    rows = stored(client)
    later = client.get(f'/api/events?account=shop&since={rows[2]["seq"]}').json()
    assert [r['id'] for r in later] == [r['id'] for r in rows[3:]]
    assert client.get('/api/events?account=nobody').status_code == 404
    assert client.get('/api/events?account=shop&since=x').status_code == 400


def test_tag_is_stamped_with_the_accounts_collect_url_whatever_the_host(client):
    answer = client.get('/tags/shop.js', headers={'Accept-Encoding': 'identity'})
    assert answer.status_code == 200
    assert answer.headers['content-type'] == 'text/javascript; charset=utf-8'
    assert '"shop"' in answer.text and '"https://collect.shop.example/collect"' in answer.text
    assert 'max-age' in answer.headers['cache-control'] and answer.headers['etag']
    forged = client.get('/tags/shop.js', headers={'Accept-Encoding': 'identity', 'Host': 'attacker.example',
                                                  'X-Forwarded-Host': 'attacker.example'})
    assert forged.content == answer.content and forged.headers['etag'] == answer.headers['etag']
    configured = client.get('/tags/open.js', headers={'Accept-Encoding': 'identity'})
    assert '"https://c.example/collect"' in configured.text


def test_an_account_without_a_collector_url_stops_the_server(tmp_path):
    accounts = parse_accounts({'accounts': {'bare': {'origins': ['*']}}})
    with pytest.raises(SettingsError, match='bare'):
        create_app(Settings(db=str(tmp_path / 'e.sqlite3')), accounts)
    app = create_app(Settings(db=str(tmp_path / 'e.sqlite3'), collector_url='https://c.example/collect'), accounts)
    assert app is not None


def test_each_encoding_has_its_own_etag(client):
    etags = {coding: client.get('/tags/shop.js', headers={'Accept-Encoding': coding}).headers['etag']
             for coding in ('identity', 'gzip', 'br')}
    assert len(set(etags.values())) == 3
    gzip_etag = etags['gzip']
    assert client.get('/tags/shop.js', headers={'Accept-Encoding': 'br', 'If-None-Match': gzip_etag}).status_code == 200
    assert client.get('/tags/shop.js', headers={'Accept-Encoding': 'gzip', 'If-None-Match': gzip_etag}).status_code == 304


def test_tag_revalidation_answers_304(client):
    first = client.get('/tags/shop.js')
    again = client.get('/tags/shop.js', headers={'If-None-Match': first.headers['etag']})
    assert again.status_code == 304 and again.content == b''


def test_tag_compression_follows_accept_encoding(client):
    identity = client.get('/tags/shop.js', headers={'Accept-Encoding': 'identity'}).content
    raw_br = client.get('/tags/shop.js', headers={'Accept-Encoding': 'gzip, br'})
    assert raw_br.headers['content-encoding'] == 'br'
    with client.stream('GET', '/tags/shop.js', headers={'Accept-Encoding': 'gzip'}) as response:
        assert response.headers['content-encoding'] == 'gzip'
        assert gzip.decompress(b''.join(response.iter_raw())) == identity
    with client.stream('GET', '/tags/shop.js', headers={'Accept-Encoding': 'br'}) as response:
        compressed = b''.join(response.iter_raw())
        assert brotli.decompress(compressed) == identity
        assert len(compressed) < len(identity)


@pytest.mark.parametrize('path', ['/tags/nobody.js', '/tags/sh%20op.js', '/tags/shop.css', '/tags/..%2Fshop.js',
                                  '/tags/' + 'a' * 65 + '.js'])
def test_tag_404_for_unknown_or_malformed_accounts(client, path):
    assert client.get(path).status_code == 404


def test_live_page_swaps_its_token_for_a_cookie_and_sends_safe_headers(make_client):
    """The token reaches the server only in a POST body (from the URL's fragment, by the sign-in
    page's script), never in a request line that a proxy or access log records."""
    browser = make_client()
    browser.headers.clear()
    sign_in = browser.get('/live?account=shop')
    assert sign_in.status_code == 401 and '/static/live-sign-in.js' in sign_in.text and 'Live events' in sign_in.text
    assert browser.get(f'/live?account=shop&token={TOKEN}').status_code == 401, 'a token in the URL opens nothing'
    assert browser.post('/live/session', content=json.dumps({'token': TOKEN}),
                        headers={'Content-Type': 'application/x-www-form-urlencoded'}).status_code == 415
    assert browser.post('/live/session', json={'token': 'wrong-token-wrong-token'}).status_code == 401
    first = browser.post('/live/session', json={'token': TOKEN})
    assert first.status_code == 204
    cookie = first.headers['set-cookie']
    assert 'HttpOnly' in cookie and 'SameSite=strict' in cookie and TOKEN not in cookie
    page = browser.get('/live?account=shop')
    assert page.status_code == 200 and 'Live events' in page.text and 'live.js' in page.text
    for answer in (sign_in, first, page):
        assert answer.headers['referrer-policy'] == 'no-referrer'
        assert "frame-ancestors 'none'" in answer.headers['content-security-policy']
        assert answer.headers['x-content-type-options'] == 'nosniff'
    assert "script-src 'self'" in page.headers['content-security-policy']
    assert browser.get('/api/events?account=shop').status_code == 200, 'the cookie opens the read API'


@pytest.mark.parametrize('client_address', ['127.0.0.1', '::1', '203.0.113.9'])
def test_the_read_api_is_closed_without_the_token_loopback_included(make_client, client_address):
    reader = make_client()
    anonymous = make_client(client_address)
    anonymous.headers.clear()
    for path in ('/api/events?account=shop', '/api/rejects?account=shop', '/api/stats', '/live?account=shop'):
        assert anonymous.get(path).status_code == 401, path
    assert anonymous.get('/api/events?account=shop', headers={'Authorization': 'Bearer wrong'}).status_code == 401
    assert anonymous.get('/api/events?account=shop', headers={'Authorization': 'bEaReR ' + TOKEN}).status_code == 200
    assert anonymous.get('/api/events?account=shop', headers={'Authorization': 'Bearer üß'.encode()}).status_code == 401
    assert anonymous.get('/healthz').json() == {'ok': True}, 'no account ids for anonymous callers'
    assert post(anonymous, body([event()])).status_code == 204, 'collecting is open to all'
    assert 'accounts' in reader.get('/healthz', headers=READER).json()


def test_with_no_token_configured_nobody_reads(make_client):
    client = make_client(api_token='')
    assert client.get('/api/events?account=shop', headers={'Authorization': 'Bearer '}).status_code == 401


@pytest.mark.parametrize('query', ['since=9223372036854775808', 'since=-1', 'since=1e3', 'limit=99999999999999999999',
                                   'since=%C2%B2', 'limit=%EF%BC%91', 'since='])
def test_read_parameters_out_of_range_are_400(client, query):
    assert client.get(f'/api/events?account=shop&{query}').status_code == 400


@pytest.mark.parametrize('path', ['/static/live.js', '/static/live.css'])
def test_static_files_are_served(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize('path', ['/static/nope.js', '/static/..%2Fapp.py', '/static/.hidden', '/static/..%5Capp.py'])
def test_static_files_outside_the_folder_are_404(client, path):
    assert client.get(path).status_code == 404


def test_stamping_happens_once_per_account_whatever_the_requests(make_client, monkeypatch):
    """Nothing a client sends grows the tag cache or makes the server stamp (and compress) again."""
    from collector import tags

    calls = []
    real_stamp = tags.stamp
    monkeypatch.setattr(tags, 'stamp', lambda *args: calls.append(args) or real_stamp(*args))
    client = make_client()
    for n in range(30):
        headers = {'Host': f'h{n}.example', 'X-Forwarded-Host': f'x{n}.example', 'Origin': f'https://o{n}.example',
                   'Accept-Encoding': ['br', 'gzip', 'identity', f'x{n}'][n % 4], 'Cookie': f'c={n}'}
        assert client.get('/tags/shop.js', headers=headers).status_code == 200
    assert len(calls) == 1


def test_the_debug_module_is_served_beside_the_tags_for_every_account(client):
    answer = client.get('/tags/ometria.debug.js', headers={'Accept-Encoding': 'identity'})
    assert answer.status_code == 200 and answer.text == DEBUG_MODULE
    assert answer.headers['access-control-allow-origin'] == '*', 'fetched with crossorigin (SRI)'
    assert answer.headers['content-type'] == 'text/javascript; charset=utf-8' and answer.headers['etag']
    assert client.get('/tags/ometria.debug.js', headers={'If-None-Match': answer.headers['etag'],
                                                         'Accept-Encoding': 'identity'}).status_code == 304


def test_a_shopify_accounts_checkout_pixel_is_served_stamped_and_no_other_accounts(client, tmp_path):
    """What a merchant pastes into Shopify, from the generic pixel bundle of the account's set."""
    assert client.get('/tags/shopify.shopify-pixel.js').status_code == 503, 'not built yet: try again'
    (tmp_path / 'ometria.core.pixel.js').write_text(GENERIC.replace('x();', 'p();'))
    answer = client.get('/tags/shopify.shopify-pixel.js', headers={'Accept-Encoding': 'identity'})
    assert answer.status_code == 200 and '"shopify"' in answer.text and 'p();' in answer.text
    assert '"https://c.example/collect"' in answer.text and '__OM_' not in answer.text
    for path in ('/tags/shop.shopify-pixel.js', '/tags/nobody.shopify-pixel.js', '/tags/.shopify-pixel.js',
                 '/tags/ometria.core.pixel.js'):
        assert client.get(path).status_code == 404, path


def test_each_account_is_stamped_from_its_feature_sets_bundle(tmp_path, caplog):
    """A `custom` account's tag comes from the smallest bundle once it is built; until then (a
    server started before `make build` saw the account) from the full one, said once in the log."""
    generic = tmp_path / 'ometria.js'
    generic.write_text(GENERIC)
    (tmp_path / 'ometria.debug.js').write_text(DEBUG_MODULE)
    (tmp_path / 'ometria.journal.js').write_text('"use strict";/* the full twin */')
    accounts = parse_accounts({'accounts': {
        'own': {'origins': ['https://own.example'], 'collector_url': 'https://c.example/collect', 'platform': 'custom'},
    }})
    settings = Settings(db=str(tmp_path / 'events.sqlite3'), generic_path=str(generic), rate_per_s=0, api_token=TOKEN)
    with TestClient(create_app(settings, accounts), base_url='http://collector.test') as client:
        plain = {'Accept-Encoding': 'identity'}
        assert 'x();' in client.get('/tags/own.js', headers=plain).text
        assert client.get('/tags/own.js', headers=plain).status_code == 200
        assert [r.message for r in caplog.records].count(
            'tag own: ometria.core.js is not built (run `make build`): serving the full bundle') == 1
        (tmp_path / 'ometria.core.js').write_text(GENERIC.replace('x();', 'z();'))
        (tmp_path / 'ometria.core.journal.js').write_text('"use strict";/* the core twin */')
        core = client.get('/tags/own.js', headers=plain)
        assert 'z();' in core.text and 'x();' not in core.text and '"own"' in core.text
        assert client.get('/tags/ometria.core.journal.js', headers=plain).text == '"use strict";/* the core twin */'
        assert client.get('/tags/ometria.journal.js', headers=plain).text == '"use strict";/* the full twin */'
        # Only the twins of the sets in use: another set's name is not a file this server serves.
        for name in ('ometria.legacy-magento.journal.js', 'ometria.core.js', 'ometria.journal.js.map', 'generic.js'):
            assert client.get(f'/tags/{name}').status_code == 404, name


@pytest.mark.parametrize(('webhook', 'problem'), [
    ({'webhook_url': 'https://hooks.example/om', 'webhook_secret': 'short'}, 'at least 16'),
    ({'webhook_url': 'ftp://hooks.example/om', 'webhook_secret': 'x' * 16}, 'http'),
    ({'webhook_secret': 'x' * 16}, 'without webhook_url'),
    ({'webhook_url': 'https://hooks.example/om'}, 'at least 16'),
])
def test_a_webhook_needs_an_http_url_and_a_real_secret(webhook, problem):
    with pytest.raises(AccountsError, match=problem):
        parse_accounts({'accounts': {'shop': {'origins': ['*'], **webhook}}})


@pytest.mark.parametrize('entry', [
    {'platform': 'shopify', 'shopify_webhook_secret': 'short'},
    {'platform': 'magento', 'shopify_webhook_secret': 'x' * 32},
    {'shopify_webhook_secret': 'x' * 32},
    {'platform': 'shopify', 'shopify_webhook_secret': 42},
])
def test_a_shopify_webhook_secret_is_a_real_secret_of_a_shopify_account(entry):
    with pytest.raises(AccountsError, match='shopify_webhook_secret'):
        parse_accounts({'accounts': {'shop': {'origins': ['*'], **entry}}})
    good = parse_accounts({'accounts': {'shop': {'origins': ['*'], 'platform': 'shopify',
                                                 'shopify_webhook_secret': 'x' * 32}}})
    assert good['shop'].shopify_webhook_secret == 'x' * 32 and 'x' * 32 not in repr(good['shop'])


@pytest.mark.parametrize('grace_s', [-1.0, float('nan'), 86_401.0])
def test_a_purchase_grace_is_between_none_and_a_day(grace_s):
    with pytest.raises(SettingsError, match='--purchase-grace'):
        Settings(purchase_grace_s=grace_s).check()
    assert Settings().purchase_grace_s == 300.0


def test_a_webhook_path_is_for_the_demo_server_only():
    accounts = parse_accounts({'accounts': {'shop': {'origins': ['*'], 'collector_url': 'https://c.example/collect',
                                                     'webhook_url': '/demo/webhook', 'webhook_secret': 'x' * 16}}})
    assert webhook_targets(Settings(), accounts) == {}
    assert webhook_targets(Settings(demo=True, own_origin='http://127.0.0.1:8000'), accounts) == {
        'shop': ('http://127.0.0.1:8000/demo/webhook', 'x' * 16)}
