"""Real servers for the browser tests, on loopback ports:

- `CollectorProcess`: the collector (`python -m collector serve`) as its own process, with its own
  SQLite file and accounts file: what a store would run.
- `FaultProxy`: an HTTP front for `/collect` that the tags are stamped with. It passes requests to
  the collector, counts them, and on demand fails them the way real networks and servers do:
  connection reset, 500/503, 429 with Retry-After, 400, a delay, or a held answer.
- `StorePages`: the store's own origin, serving pages a test registers (HTML and headers).

Different ports are different origins, so the tag's requests are cross-origin as on real stores.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from collector.engines import engine_of

ROOT = Path(__file__).resolve().parents[2]
# The read API's credential in every collector the tests start (passed in the environment, as an
# operator would, so that it does not show in `ps`).
API_TOKEN = 'test-read-token-0123'
# What `make` builds before the tests run (the full bundle; every other file beside it).
GENERIC = ROOT / 'dist' / 'generic' / 'ometria.js'
# The bundles of two feature sets: every feature, and none (with their twins, and the debug module).
FULL_AND_CORE = ('ometria.js', 'ometria.journal.js', 'ometria.core.js', 'ometria.core.journal.js', 'ometria.debug.js',
                 'ometria.core.pixel.js')


def full_and_core_bundles(folder: Path) -> Path:
    """A generic folder holding only the full and the core feature sets (copied from dist/generic;
    and the core checkout pixel, which `make` builds for the repository's Shopify demo account):
    a collector serving it stamps a `custom` account from the core bundle and every other
    account from the full one (its own set is not built), so that tests run both. Returns the
    full bundle's path, for `CollectorProcess(generic=...)`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in FULL_AND_CORE:
        shutil.copyfile(GENERIC.with_name(name), folder / name)
    return folder / 'ometria.js'


def ephemeral_ports_start() -> int:
    """The first port the kernel hands out for port 0 and for client connections (Linux)."""
    try:
        return int(Path('/proc/sys/net/ipv4/ip_local_port_range').read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A free port for a server that binds it later (a collector process, whose accounts name it).
    Taken at random below the kernel's ephemeral range: a port from there (port 0) could meanwhile
    become another server's port 0 or a client connection's own end, and the server then fails with
    EADDRINUSE (a CI run lost a session's whole browser stack to that)."""
    top = ephemeral_ports_start()
    while True:
        port = top - 1 - secrets.randbelow(min(12000, top - 1025))
        with socket.socket() as sock:
            try:
                sock.bind(('127.0.0.1', port))
            except OSError:
                continue
            return port


def self_signed_certificate(folder: Path, host: str) -> tuple[Path, Path]:
    """A throwaway certificate for `host` and its subdomains (openssl), valid for a day."""
    cert, key = folder / 'cert.pem', folder / 'key.pem'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', str(key), '-out', str(cert),
                    '-days', '1', '-subj', f'/CN={host}', '-addext', f'subjectAltName=DNS:{host},DNS:*.{host}'],
                   check=True, capture_output=True)
    return cert, key


def http_json(url: str, timeout: float = 10.0, token: str | None = API_TOKEN):
    """GET `url` as JSON, with the read API's token (None: without a credential)."""
    headers = {'Authorization': f'Bearer {token}'} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
        return json.loads(response.read())


def wait_for(predicate, timeout: float = 20.0, what: str = 'condition'):
    """`predicate()` once it is truthy (polled every 0.1 s); fails naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f'timed out waiting for {what}')


def wait_for_events(read, count: int, timeout: float, settle: float, describe=None) -> list[dict]:
    """`read()` (the events stored so far) once it holds at least `count` events and nothing more
    came for `settle` seconds, so that a test also sees an event stored once too often. Fails
    after `timeout` seconds with what was stored (`describe(events)`, default: their types)."""
    deadline = time.monotonic() + timeout
    events = []
    while time.monotonic() < deadline:
        events = read()
        if len(events) >= count:
            time.sleep(settle)
            again = read()
            if len(again) == len(events):
                return events
            events = again
            continue
        time.sleep(0.05)
    shown = describe(events) if describe else [e['type'] for e in events]
    raise AssertionError(f'expected {count} events, got {len(events)}: {shown}')


def run_sql(db, query: str, *params) -> list[tuple]:
    """`query` (with `?` placeholders) on a SQLite file or a postgresql:// URL; the rows."""
    if engine_of(str(db)) == 'sqlite':
        import sqlite3

        with sqlite3.connect(db) as connection:
            return connection.execute(query, params).fetchall()
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import asyncpg

    parts = query.split('?')
    numbered = parts[0] + ''.join(f'${n}{part}' for n, part in enumerate(parts[1:], 1))

    async def run():
        connection = await asyncpg.connect(str(db))
        try:
            return [tuple(row) for row in await connection.fetch(numbered, *params)]
        finally:
            await connection.close()

    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


class CollectorProcess:
    """`python -m collector serve` on a free port; `stop()` ends it, `start()` starts it again
    on the same port and database (a collector restart)."""

    def __init__(self, workdir: Path, accounts_toml: str, port: int | None = None, extra_args=(), demo=False,
                 db: str | None = None, generic: Path = GENERIC):
        self.workdir = workdir
        # The full bundle; the other bundles, the twins and the debug module are beside it.
        self.generic = generic
        self.port = port or free_port()
        # A SQLite file of its own, or the database URL given (postgresql://...).
        self.db = db or workdir / 'events.sqlite3'
        self.accounts_path = workdir / 'accounts.toml'
        self.accounts_path.write_text(accounts_toml)
        self.extra_args = list(extra_args)
        self.demo = demo
        self.process: subprocess.Popen | None = None
        self.log_path = workdir / f'collector-{self.port}.log'
        # Environment variables of the server process (over the test's API token). Abandoned-basket
        # triggers go out as soon as their session ends, unless a test sets a purchase grace.
        self.env: dict[str, str] = {'OMETRIA_PURCHASE_GRACE': '0'}

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.port}'

    def start(self, timeout: float = 20.0) -> None:
        command = [
            sys.executable, '-m', 'collector', 'serve', '--port', str(self.port), '--db', str(self.db),
            '--accounts', str(self.accounts_path), '--generic', str(self.generic),
            '--rate', '0', *self.extra_args,
        ]
        if self.demo:
            command.append('--demo')
        log = open(self.log_path, 'ab')
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                        env={**os.environ, 'PYTHONUNBUFFERED': '1', 'OMETRIA_API_TOKEN': API_TOKEN,
                                             **self.env})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f'collector exited: {self.log_path.read_text()[-2000:]}')
            try:
                http_json(self.url + '/healthz', timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError('collector did not start')

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def sql(self, query: str, *params) -> list[tuple]:
        """Run `query` (`?` placeholders) on the collector's database, SQLite or PostgreSQL, as an
        operator would; returns the rows."""
        return run_sql(self.db, query, *params)

    def events(self, account: str, since: int = 0) -> list[dict]:
        """Every event stored for `account` after `since`, read page by page."""
        events = []
        while True:
            page = http_json(f'{self.url}/api/events?account={account}&since={since}&limit=5000')
            events += page
            if len(page) < 5000:
                return events
            since = page[-1]['seq']

    def rejects(self, account: str, since: int = 0) -> list[dict]:
        return http_json(f'{self.url}/api/rejects?account={account}&since={since}&limit=5000')

    def last_seq(self, account: str) -> int:
        events = self.events(account)
        return events[-1]['seq'] if events else 0


@dataclass
class Fault:
    """What the proxy does to the next requests. `mode`: 'pass', 'reset' (close the connection:
    a network error), 'status' (answer `status` without forwarding), 'hold' (keep the request
    until `release()`, then forward). `times`: how many requests it applies to (None: all).
    `delay_s` delays every forwarded request. `retry_after` is sent with a status answer."""

    mode: str = 'pass'
    status: int = 503
    retry_after: str | None = None
    times: int | None = None
    delay_s: float = 0.0
    match: str | None = None  # only requests whose body contains this text


@dataclass
class ProxyRecord:
    time: float
    body: bytes
    outcome: int  # HTTP status answered, or 0 for a reset


class FaultProxy:
    """The collector URL the tags are stamped with; see the module docstring."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.fault = Fault()
        self.records: list[ProxyRecord] = []
        self.lock = threading.Lock()
        self.held = threading.Event()
        self.held.set()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def cors(self):
                origin = self.headers.get('Origin')
                if origin:
                    self.send_header('Access-Control-Allow-Origin', origin)
                    self.send_header('Access-Control-Allow-Credentials', 'true')
                    self.send_header('Access-Control-Expose-Headers', 'Retry-After')
                    self.send_header('Vary', 'Origin')

            def do_OPTIONS(self):
                self.send_response(204)
                self.cors()
                self.send_header('Access-Control-Allow-Methods', 'POST')
                self.send_header('Access-Control-Allow-Headers', 'Content-Type')
                self.send_header('Content-Length', '0')
                self.end_headers()

            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length)
                fault = proxy.take_fault(body)
                if fault.mode == 'reset':
                    proxy.record(body, 0)
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if fault.mode == 'status':
                    proxy.record(body, fault.status)
                    self.send_response(fault.status)
                    self.cors()
                    if fault.retry_after is not None:
                        self.send_header('Retry-After', fault.retry_after)
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                if fault.mode == 'hold':
                    proxy.held.wait(60)
                if fault.delay_s:
                    time.sleep(fault.delay_s)
                status, headers, answer = proxy.forward(body, dict(self.headers))
                proxy.record(body, status)
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ('content-length', 'connection', 'date', 'server', 'transfer-encoding'):
                        self.send_header(name, value)
                self.send_header('Content-Length', str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.port}/collect'

    def set(self, **fault) -> None:
        with self.lock:
            self.fault = Fault(**fault)
            if self.fault.mode == 'hold':
                self.held.clear()

    def release(self) -> None:
        self.held.set()

    def reset(self) -> None:
        self.release()
        with self.lock:
            self.fault = Fault()
            self.records = []

    def take_fault(self, body: bytes) -> Fault:
        with self.lock:
            fault = self.fault
            if fault.match is not None and fault.match.encode() not in body:
                return Fault(delay_s=fault.delay_s)
            if fault.times is not None:
                if fault.times <= 0:
                    return Fault()
                fault.times -= 1
            return fault

    def record(self, body: bytes, outcome: int) -> None:
        with self.lock:
            self.records.append(ProxyRecord(time.monotonic(), body, outcome))

    def requests(self) -> list[ProxyRecord]:
        with self.lock:
            return list(self.records)

    def forward(self, body: bytes, headers: dict) -> tuple[int, list, bytes]:
        connection = http.client.HTTPConnection('127.0.0.1', self.upstream_port, timeout=30)
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() in ('content-type', 'origin')}
            connection.request('POST', '/collect', body=body, headers=forwarded)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        except OSError:
            return 502, [], b''
        finally:
            connection.close()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@dataclass
class WebhookCall:
    """One POST a webhook receiver got: its headers (lower-case names) and raw body."""

    headers: dict
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class WebhookReceiver:
    """A store's webhook endpoint on a free port. It records every call, and answers each with
    the next of `answers` (an int status, or 'hang' to hold the request until `release()`), then
    200 once they run out; each answer after `delay_s` seconds."""

    def __init__(self):
        self.calls: list[WebhookCall] = []
        self.answers: list = []
        self.delay_s = 0.0
        self._released = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
                with receiver._lock:
                    receiver.calls.append(WebhookCall({k.lower(): v for k, v in self.headers.items()}, body))
                    answer = receiver.answers.pop(0) if receiver.answers else 200
                if answer == 'hang':
                    receiver._released.wait(30)
                    answer = 200
                time.sleep(receiver.delay_s)
                self.send_response(answer)
                self.send_header('Content-Length', '0')
                self.end_headers()

        self.server = ThreadingHTTPServer(('127.0.0.1', free_port()), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.server.server_address[1]}/hook'

    def release(self) -> None:
        self._released.set()

    def wait_calls(self, count: int, timeout: float = 20.0) -> list[WebhookCall]:
        deadline = time.monotonic() + timeout
        while len(self.calls) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f'expected {count} webhook calls, got {len(self.calls)}')
            time.sleep(0.05)
        return list(self.calls)

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@dataclass
class StoredPage:
    body: bytes
    headers: dict = field(default_factory=dict)
    content_type: str = 'text/html; charset=utf-8'


class StorePages:
    """The store's origin: pages registered by path. `{TAG}` in a page is replaced by the tag's
    URL for the account given when registering (default: the test account)."""

    def __init__(self, tls: tuple[Path, Path] | None = None):
        """`tls`: (certificate, key) files to serve https instead of http."""
        self.pages: dict[str, StoredPage] = {}
        self.scheme = 'https' if tls else 'http'
        store = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split('?', 1)[0]
                page = store.pages.get(path)
                if page is None:
                    self.send_response(404)
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header('Content-Type', page.content_type)
                self.send_header('Cache-Control', 'no-store')
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.send_header('Content-Length', str(len(page.body)))
                self.end_headers()
                self.wfile.write(page.body)

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str, host: str = '127.0.0.1') -> str:
        return f'{self.scheme}://{host}:{self.port}{path}'

    def add(self, path: str, html: str, headers: dict | None = None, content_type: str | None = None) -> str:
        self.pages[path] = StoredPage(html.encode('utf-8'), headers or {}, content_type or 'text/html; charset=utf-8')
        return self.url(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ReverseProxy:
    """A reverse proxy in front of a server on loopback, forwarding as nginx does when set up the
    common way (`proxy_set_header Host $host; proxy_set_header X-Forwarded-For
    $proxy_add_x_forwarded_for;`): the client's Host is passed on, the client's address is
    appended to whatever X-Forwarded-For the client sent, and the upstream connection comes from
    127.0.0.1, like every request a proxy on the same host makes."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def relay(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ('connection', 'keep-alive', 'x-forwarded-for', 'content-length')}
                client_chain = self.headers.get_all('X-Forwarded-For') or []
                headers['X-Forwarded-For'] = ', '.join([*client_chain, self.client_address[0]])
                if body is not None:
                    headers['Content-Length'] = str(len(body))
                connection = http.client.HTTPConnection('127.0.0.1', proxy.upstream_port, timeout=30,
                                                        source_address=('127.0.0.1', 0))
                try:
                    connection.request(self.command, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    answer = response.read()
                    self.send_response(response.status)
                    for name, value in response.getheaders():
                        if name.lower() not in ('content-length', 'connection', 'transfer-encoding', 'date', 'server'):
                            self.send_header(name, value)
                    self.send_header('Content-Length', str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                finally:
                    connection.close()

            do_GET = do_POST = do_OPTIONS = relay

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.port}'

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
