"""The collector as it runs for real: `python -m collector serve` (uvicorn) on a loopback port,
driven over HTTP and raw sockets."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import jsonschema
import pytest

from collector.schema import event_schema
from tests.support.contract import body, event
from tests.support.servers import CollectorProcess, free_port


@pytest.fixture(scope='module')
def server(tmp_path_factory, new_db):
    port = free_port()
    accounts = f'[accounts.shop]\ncollector_url = "http://127.0.0.1:{port}/collect"\norigins = ["https://shop.example"]\n'
    process = CollectorProcess(tmp_path_factory.mktemp('server'), accounts, port=port, extra_args=['--body-timeout', '1'],
                               db=new_db())
    process.start()
    yield process
    process.stop()


def post(server, data: bytes, **headers) -> httpx.Response:
    return httpx.post(server.url + '/collect', content=data, headers={'Content-Type': 'text/plain', **headers},
                      timeout=10)


def raw_exchange(server, head: bytes, body_parts=(), pause=0.0, read_timeout=5.0) -> tuple[bytes, int]:
    """Send `head` then each of `body_parts` (pausing between them) on a raw socket; returns what
    the server answered and how many body bytes it took before answering or closing."""
    sock = socket.create_connection(('127.0.0.1', server.port), timeout=read_timeout)
    sent = 0
    try:
        sock.sendall(head)
        sock.setblocking(False)
        answer = b''
        for part in body_parts:
            try:
                chunk = sock.recv(65536)
                if chunk or answer == b'':
                    answer += chunk
                if answer:
                    break
            except BlockingIOError:
                pass
            try:
                sock.sendall(part)
                sent += len(part)
            except (BlockingIOError, OSError):
                break
            if pause:
                time.sleep(pause)
        sock.setblocking(True)
        sock.settimeout(read_timeout)
        try:
            while b'\r\n\r\n' not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except OSError:
            pass
        return answer, sent
    finally:
        sock.close()


def test_statuses_over_real_http(server):
    assert post(server, body([event()])).status_code == 204
    assert post(server, b'{').status_code == 400
    assert post(server, body([event()], account='nobody')).status_code == 404
    assert post(server, body([event() for _ in range(101)])).status_code == 413
    assert post(server, body([event()]), Origin='https://evil.example').status_code == 403


def test_a_declared_10_mb_body_is_refused_before_it_is_sent(server):
    head = (b'POST /collect HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n'
            b'Content-Length: 10485760\r\n\r\n')
    answer, sent = raw_exchange(server, head)
    assert answer.startswith(b'HTTP/1.1 413')
    assert sent == 0


def test_a_chunked_10_mb_body_is_cut_off_not_buffered(server):
    head = b'POST /collect HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n'
    chunk = b'%x\r\n' % 16384 + b'x' * 16384 + b'\r\n'
    answer, sent = raw_exchange(server, head, [chunk] * 640, pause=0.001)
    assert answer.startswith(b'HTTP/1.1 413')
    assert sent < 2 * 1024 * 1024, f'the server took {sent} bytes before refusing'


def test_a_slow_drip_is_cut_off(server):
    head = b'POST /collect HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 200\r\n\r\n'
    started = time.monotonic()
    answer, _ = raw_exchange(server, head, [b'{'] * 200, pause=0.1, read_timeout=10)
    assert answer.startswith(b'HTTP/1.1 408')
    assert time.monotonic() - started < 6


def test_many_clients_at_once_store_every_accepted_event_exactly_once(server):
    """50 clients post batches of 10 at once; a quarter of the events are sent twice."""
    before = server.last_seq('shop')
    sent_ids = set()
    lock = threading.Lock()
    statuses = []

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=30) as http:
            previous = []
            for _ in range(10):
                repeat = rng.sample(previous, min(len(previous), 3))
                fresh = [event() for _ in range(10 - len(repeat))]
                answer = http.post(server.url + '/collect', content=body(fresh + repeat))
                with lock:
                    statuses.append(answer.status_code)
                    if answer.status_code == 204:
                        sent_ids.update(e['id'] for e in fresh)
                previous = fresh

    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(client, range(50)))
    assert set(statuses) == {204}
    stored = server.events('shop', since=before)
    ids = [e['id'] for e in stored]
    assert len(ids) == len(set(ids)), 'an event was stored twice'
    assert set(ids) == sent_ids, 'an accepted event is missing'
    schema = event_schema()
    for stored_event in stored[:50]:
        jsonschema.validate({k: v for k, v in stored_event.items() if k not in ('seq', 'received_at')}, schema)


def test_the_tag_route_serves_the_built_bundle(server):
    answer = httpx.get(server.url + '/tags/shop.js', headers={'Accept-Encoding': 'br'})
    assert answer.status_code == 200 and answer.headers['content-encoding'] == 'br'
    assert answer.text.startswith('"use strict";') and '"shop"' in answer.text
    assert json.dumps(server.url + '/collect') in answer.text
