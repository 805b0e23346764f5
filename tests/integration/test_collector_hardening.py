"""The collector tried as an attacker would, against real uvicorn processes on loopback: behind a
same-host reverse proxy, with forged Host and X-Forwarded-For headers, hostile bodies, slow and
oversized headers, a flood of idle connections, several workers, and a kill -9 mid-load."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.contract import body, event
from tests.support.servers import API_TOKEN, CollectorProcess, ReverseProxy, free_port

READER = {'Authorization': f'Bearer {API_TOKEN}'}


def accounts_for(port: int) -> str:
    return (f'[accounts.shop]\ncollector_url = "http://127.0.0.1:{port}/collect"\norigins = ["https://shop.example"]\n'
            f'[accounts.open]\ncollector_url = "http://127.0.0.1:{port}/collect"\norigins = ["*"]\n')


def start(tmp_path_factory, new_db, *extra: str, port: int | None = None) -> CollectorProcess:
    port = port or free_port()
    process = CollectorProcess(tmp_path_factory.mktemp('hardening'), accounts_for(port), port=port,
                               extra_args=list(extra), db=new_db())
    process.start()
    return process


@pytest.fixture(scope='module')
def server(tmp_path_factory, new_db):
    process = start(tmp_path_factory, new_db, '--header-timeout', '1.5', '--max-connections', '40')
    yield process
    process.stop()


@pytest.fixture(scope='module')
def proxied(tmp_path_factory, new_db):
    """A collector behind a reverse proxy on the same host that it does not know about."""
    process = start(tmp_path_factory, new_db)
    proxy = ReverseProxy(process.port)
    yield process, proxy
    proxy.close()
    process.stop()


def get(url: str, headers: dict | None = None, source: str = '127.0.0.1') -> tuple[int, dict, bytes]:
    """GET over a connection from loopback address `source` (127.0.0.x: distinct clients)."""
    parsed = httpx.URL(url)
    connection = http.client.HTTPConnection(parsed.host, parsed.port, timeout=10, source_address=(source, 0))
    try:
        connection.putrequest('GET', parsed.raw_path.decode(), skip_host='Host' in (headers or {}),
                              skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def post(url: str, data: bytes, headers: dict | None = None, source: str = '127.0.0.1') -> int:
    parsed = httpx.URL(url)
    connection = http.client.HTTPConnection(parsed.host, parsed.port, timeout=10, source_address=(source, 0))
    try:
        connection.request('POST', '/collect', body=data, headers={'Content-Type': 'text/plain', **(headers or {})})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


# -- access and trust --------------------------------------------------------------------------

def test_behind_a_same_host_proxy_the_read_api_stays_closed(proxied):
    _, proxy = proxied
    for path in ('/api/events?account=shop', '/api/rejects?account=shop', '/api/stats', '/live?account=shop'):
        assert get(proxy.url + path)[0] == 401, path
        assert get(proxy.url + path, {'X-Forwarded-For': '127.0.0.1'})[0] == 401, 'a spoofed address opens nothing'
    assert get(proxy.url + '/api/events?account=shop', READER)[0] == 200
    status, _, answer = get(proxy.url + '/healthz')
    assert status == 200 and json.loads(answer) == {'ok': True}


def test_a_forged_host_cannot_poison_the_served_tag(proxied):
    process, proxy = proxied
    honest = get(proxy.url + '/tags/shop.js', {'Accept-Encoding': 'identity'})
    for forged in ({'Host': 'attacker.example'}, {'Host': 'attacker.example', 'X-Forwarded-Host': 'attacker.example',
                                                  'X-Forwarded-Proto': 'https', 'Forwarded': 'host=attacker.example'}):
        status, headers, tag = get(proxy.url + '/tags/shop.js', {'Accept-Encoding': 'identity', **forged})
        assert status == 200 and tag == honest[2] and headers['etag'] == honest[1]['etag']
        assert b'attacker' not in tag and json.dumps(f'{process.url}/collect').encode() in tag
    direct = get(process.url + '/tags/shop.js', {'Accept-Encoding': 'identity', 'Host': 'attacker.example'})
    assert direct[2] == honest[2]


def test_the_read_api_is_closed_to_loopback_and_opens_with_the_token(server):
    assert get(server.url + '/api/events?account=shop')[0] == 401
    assert get(server.url + '/api/events?account=shop', {'Authorization': f'BEARER {API_TOKEN}'})[0] == 200
    assert get(server.url + '/api/events?account=shop', {'Authorization': 'Bearer \u00e9\u00e9'.encode('latin-1')})[0] == 401
    status, headers, _ = get(server.url + '/live?account=shop')
    assert status == 401 and headers['referrer-policy'] == 'no-referrer'


def test_the_live_page_sends_its_protective_headers(server):
    status, headers, page = get(server.url + '/live?account=shop')
    assert status == 401 and b'live-sign-in.js' in page
    signed_in = httpx.post(server.url + '/live/session', json={'token': API_TOKEN}, timeout=10)
    assert signed_in.status_code == 204 and 'httponly' in signed_in.headers['set-cookie'].lower()
    cookie = signed_in.headers['set-cookie'].split(';', 1)[0]
    status, headers, page = get(server.url + '/live?account=shop', {'Cookie': cookie})
    assert status == 200 and b'Live events' in page
    assert "frame-ancestors 'none'" in headers['content-security-policy']
    assert headers['x-content-type-options'] == 'nosniff' and headers['referrer-policy'] == 'no-referrer'


def test_the_token_never_reaches_the_access_log(tmp_path_factory, new_db):
    """The live page's sign-in carries the token in a POST body, which no access log records; a
    token put in a URL opens nothing. A token shorter than 16 characters is refused at start."""
    process = start(tmp_path_factory, new_db, '--access-log', '--log-level', 'info')
    try:
        assert httpx.post(process.url + '/live/session', json={'token': API_TOKEN}, timeout=10).status_code == 204
        assert get(process.url + f'/live?account=shop&token={API_TOKEN}')[0] == 401
        assert get(process.url + '/api/events?account=shop', READER)[0] == 200
        time.sleep(0.3)
        log = process.log_path.read_text()
        assert '/live/session' in log, 'the access log is on'
        assert API_TOKEN not in log, 'a token someone put in a URL is blanked out of the log too'
    finally:
        process.stop()
    short = CollectorProcess(tmp_path_factory.mktemp('short-token'), accounts_for(free_port()), db=new_db())
    short.env = {'OMETRIA_API_TOKEN': 'short'}
    with pytest.raises(RuntimeError, match='at least 16'):
        short.start()


def test_forwarding_headers_count_only_from_a_trusted_proxy(tmp_path_factory, new_db):
    """Rate limits per shopper behind the store's proxy; no one escapes theirs by spoofing."""
    process = start(tmp_path_factory, new_db, '--trusted-proxies', '127.0.0.1/32', '--rate', '0.01', '--burst', '2')
    proxy = ReverseProxy(process.port)
    try:
        def send(source: str, headers: dict | None = None, through=proxy.url) -> int:
            return post(through, body([event()], account='open'), headers, source=source)

        assert [send('127.0.0.2') for _ in range(3)] == [204, 204, 429]
        assert send('127.0.0.2', {'X-Forwarded-For': '127.0.0.9'}) == 429, 'a spoofed entry sits left of the real one'
        assert [send('127.0.0.3') for _ in range(2)] == [204, 204], 'another shopper behind the proxy has their own'
        # Straight to the collector from an untrusted peer, X-Forwarded-For is not believed.
        assert [send('127.0.0.4', {'X-Forwarded-For': f'127.0.0.{n}'}, process.url) for n in (20, 21, 22)] == \
            [204, 204, 429]
    finally:
        proxy.close()
        process.stop()


def test_the_rate_limit_holds_across_worker_processes(tmp_path_factory, new_db):
    process = start(tmp_path_factory, new_db, '--workers', '3', '--rate', '0.01', '--burst', '6')
    try:
        data = body([event()], account='open')
        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses = list(pool.map(lambda _: post(process.url, data), range(30)))
        assert statuses.count(204) == 6 and statuses.count(429) == 24
    finally:
        process.stop()


def test_an_account_without_a_collector_url_refuses_to_start(tmp_path):
    process = CollectorProcess(tmp_path, '[accounts.bare]\norigins = ["*"]\n')
    with pytest.raises(RuntimeError, match='bare'):
        process.start()


# -- hostile bodies ----------------------------------------------------------------------------

def events_after(server, since: int) -> list[dict]:
    status, _, answer = get(server.url + f'/api/events?account=shop&since={since}&limit=5000', READER)
    assert status == 200, 'the read API must always answer'
    return json.loads(answer)


@pytest.mark.parametrize('name, mangle, good_survives', [
    ('deep nesting in one event', lambda t, bad: t.replace('"MARK"', '[' * 5000 + '1' + ']' * 5000), False),
    ('20 levels in one event', lambda t, bad: t.replace('"MARK"', '[' * 20 + '1' + ']' * 20), True),
    ('a lone surrogate escape', lambda t, bad: t.replace('MARK', 'a\\ud800b'), True),
    ('an id with a trailing newline', lambda t, bad: t.replace(bad['id'], bad['id'] + '\\n'), True),
    ('a key given twice', lambda t, bad: t.replace('"type": "pageview"', '"type": "pageview", "type": "checkout"', 1),
     True),
])
def test_hostile_bodies_never_cost_a_server_error_or_the_read_api(server, name, mangle, good_survives):
    since = server.last_seq('shop')
    bad, good = event('pageview', page_data={'x': 'MARK'}), event('pageview')
    data = mangle(json.dumps({'v': 1, 'account': 'shop', 'sent_at': 1, 'events': [bad, good]}), bad).encode()
    status = post(server.url, data, {'Origin': 'https://shop.example'})
    assert status in (204, 400), name
    stored = events_after(server, since)
    if good_survives:
        assert status == 204 and good['id'] in [e['id'] for e in stored], f'{name}: the good event was lost'
    for row in stored:
        json.dumps(row).encode('utf-8')


def test_invalid_utf8_is_repaired_not_fatal(server):
    since = server.last_seq('shop')
    bad, good = event('pageview', page_type='MARK'), event('pageview')
    data = body([bad, good]).replace(b'MARK', b'M\xff\xc3(K')
    assert post(server.url, data) == 204
    stored = {e['id']: e for e in events_after(server, since)}
    assert stored[bad['id']]['page_type'] == 'M\ufffd\ufffd(K' and good['id'] in stored


@pytest.mark.parametrize('query', ['since=9223372036854775808', 'since=99999999999999999999999', 'limit=-5',
                                   'since=%F0%9F%98%80'])
def test_read_parameters_out_of_range_are_400_not_500(server, query):
    assert get(server.url + f'/api/events?account=shop&{query}', READER)[0] == 400


# -- connections and headers -------------------------------------------------------------------

def test_slow_headers_are_cut_off(server):
    sock = socket.create_connection(('127.0.0.1', server.port), timeout=10)
    try:
        started = time.monotonic()
        sock.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n')
        answer = b''
        reset = False
        while True:
            try:
                sock.sendall(b'X-a: b\r\n')
            except OSError:
                break
            chunk = b''
            sock.settimeout(0.3)
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                pass
            except ConnectionResetError:
                # The server answered 408 and closed while our last header bytes were unread: the
                # kernel resets the connection and may drop the answer before we read it.
                reset = True
                break
            answer += chunk
            if chunk == b'' and answer:
                break
            if time.monotonic() - started > 8:
                break
        assert answer.startswith(b'HTTP/1.1 408') or (reset and not answer), answer[:40]
        assert time.monotonic() - started < 4
    finally:
        sock.close()


@pytest.mark.parametrize('headers', [
    {'X-Big': 'x' * 20_000},
    {f'X-Many-{n}': 'y' for n in range(150)},
])
def test_oversized_headers_get_431(server, headers):
    sock = socket.create_connection(('127.0.0.1', server.port), timeout=10)
    try:
        head = 'GET /healthz HTTP/1.1\r\nHost: x\r\n' + ''.join(f'{k}: {v}\r\n' for k, v in headers.items()) + '\r\n'
        sock.sendall(head.encode())
        answer = sock.recv(4096)
        assert answer.startswith(b'HTTP/1.1 431'), answer[:60]
    finally:
        sock.close()


def test_a_flood_of_idle_connections_does_not_keep_healthz_out(server):
    idle = []
    try:
        for _ in range(120):
            sock = socket.create_connection(('127.0.0.1', server.port), timeout=5)
            sock.sendall(b'GET /healthz HTTP/1.1\r\n')
            idle.append(sock)
        time.sleep(0.2)
        for _ in range(5):
            assert httpx.get(server.url + '/healthz', timeout=5).status_code == 200
    finally:
        for sock in idle:
            sock.close()


# -- durability --------------------------------------------------------------------------------

def test_a_204_survives_kill_9(tmp_path_factory, new_db):
    """Clients post while the collector is killed with SIGKILL; after a restart, every event it
    acknowledged with a 204 is in the database."""
    process = start(tmp_path_factory, new_db, '--rate', '0')
    acknowledged: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def client(seed: int) -> None:
        while not stop.is_set():
            batch = [event() for _ in range(10)]
            try:
                status = post(process.url, body(batch))
            except OSError:
                continue
            if status == 204:
                with lock:
                    acknowledged.update(e['id'] for e in batch)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    os.kill(process.process.pid, signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join()
    process.process.wait()
    process.start()
    try:
        stored = {e['id'] for e in process.events('shop')}
        assert len(acknowledged) > 100
        assert acknowledged <= stored, f'{len(acknowledged - stored)} acknowledged events lost'
    finally:
        process.stop()


def test_posting_an_unknown_uuid_twice_across_restarts_stores_it_once(tmp_path_factory, new_db):
    process = start(tmp_path_factory, new_db)
    try:
        sample = event(id=str(uuid.uuid4()))
        assert post(process.url, body([sample])) == 204
        process.stop()
        process.start()
        assert post(process.url, body([sample])) == 204
        assert [e['id'] for e in process.events('shop')].count(sample['id']) == 1
    finally:
        process.stop()
