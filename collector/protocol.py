"""The HTTP connection, guarded against clients that hold the server's resources.

uvicorn's httptools protocol, with what it lacks for a server on the open internet:
- request headers must arrive within `--header-timeout` seconds of the connection opening (or of
  the first byte of a later request on a kept-alive connection): a slow-header client
  ("slowloris") is closed; the body has its own limit in the app (`--body-timeout`);
- request line and headers together at most MAX_HEADER_BYTES, and at most MAX_HEADER_COUNT
  headers: past either the answer is 431 and the connection is closed;
- an answer must make progress: a client that leaves it unread (the connection's write buffer
  full) for `--write-timeout` seconds is cut off ("slow read");
- at most MAX_PIPELINED_REQUESTS requests queued behind the one being answered on a connection;
- at most `--max-connections-per-client` open connections per client address (an IPv6 /64;
  trusted proxies are not counted): past it a new connection is refused with 503;
- at most `--max-connections` open connections per process: the next one closes the connection
  idle the longest (between requests, or still sending headers), else the one whose answer has
  stood unread the longest, else the one with the most pipelined requests queued (browsers do not
  pipeline), to make room, so that a flood of idle, unread or pipelining connections cannot keep
  `/healthz` or a shopper's request out. Only when every connection is busy with one request at a
  time, making progress, is the newcomer refused (503).

`python -m collector serve` runs uvicorn with `http=GuardedProtocol`.
"""

from __future__ import annotations

import time
from collections import Counter

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from collector.access import ClientAddresses, network_of
from collector.settings import from_env

__all__ = ['GuardedProtocol', 'MAX_HEADER_BYTES', 'MAX_HEADER_COUNT', 'MAX_PIPELINED_REQUESTS']

MAX_HEADER_BYTES = 16 * 1024
MAX_HEADER_COUNT = 100
# Browsers do not pipeline HTTP/1.1 requests; a few queued is already more than any of them sends.
MAX_PIPELINED_REQUESTS = 4
# Read once per worker process, from the settings `serve` put in its environment.
_SETTINGS = from_env()
_PROXIES = ClientAddresses(_SETTINGS.proxy_networks())


def _plain_answer(status: str, text: str) -> bytes:
    body = text.encode('ascii')
    return (f'HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n'
            f'content-length: {len(body)}\r\nconnection: close\r\n\r\n').encode('ascii') + body


class GuardedProtocol(HttpToolsProtocol):
    """See the module docstring."""

    # Open connections per client network, in this process.
    per_client: Counter = Counter()

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._header_bytes = 0
        self._header_count = 0
        self._refusal: bytes | None = None
        self._idle_since = time.monotonic()
        self._header_deadline = None
        self._write_deadline = None
        self._stalled_since: float | None = None
        self._client = None
        self._start_header_clock()
        peer = (transport.get_extra_info('peername') or ('',))[0]
        if not _PROXIES.trusts(str(peer)):
            self._client = network_of(str(peer))
            GuardedProtocol.per_client[self._client] += 1
            if GuardedProtocol.per_client[self._client] > _SETTINGS.max_connections_per_client:
                self._refuse('too many connections from your address\n')
                return
        if len(self.connections) > _SETTINGS.max_connections:
            self._make_room()

    def _refuse(self, text: str) -> None:
        self.transport.write(_plain_answer('503 Service Unavailable', text))
        self.transport.close()

    def _make_room(self) -> None:
        others = [c for c in self.connections if c is not self and isinstance(c, GuardedProtocol)]
        idle = [c for c in others if c._is_idle()]
        if idle:
            min(idle, key=lambda c: c._idle_since).transport.close()
            return
        stalled = [c for c in others if c._stalled_since is not None]
        if stalled:
            min(stalled, key=lambda c: c._stalled_since).transport.abort()
            return
        pipelining = [c for c in others if c.pipeline]
        if pipelining:
            # Browsers do not pipeline: a connection with requests queued behind its current one
            # is a client holding the server's slots, not a shopper.
            max(pipelining, key=lambda c: len(c.pipeline)).transport.abort()
            return
        self._refuse('too many connections\n')

    def _is_idle(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _start_header_clock(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(_SETTINGS.header_timeout_s, self._headers_too_slow)

    def _stop_header_clock(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_plain_answer('408 Request Timeout', 'request headers not received in time\n'))
            self.transport.close()

    def pause_writing(self) -> None:
        """The answer is not being read: the client has `--write-timeout` seconds to read on."""
        super().pause_writing()
        if self._stalled_since is None:
            self._stalled_since = time.monotonic()
            self._write_deadline = self.loop.call_later(_SETTINGS.write_timeout_s, self._reads_too_slow)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._stalled_since = None
        if self._write_deadline is not None:
            self._write_deadline.cancel()
            self._write_deadline = None

    def _reads_too_slow(self) -> None:
        self._write_deadline = None
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc) -> None:
        self._stop_header_clock()
        if self._write_deadline is not None:
            self._write_deadline.cancel()
            self._write_deadline = None
        if self._client is not None:
            GuardedProtocol.per_client[self._client] -= 1
            if GuardedProtocol.per_client[self._client] <= 0:
                del GuardedProtocol.per_client[self._client]
            self._client = None
        super().connection_lost(exc)

    def _count(self, size: int, headers: int) -> None:
        self._header_bytes += size
        self._header_count += headers
        if self._header_bytes > MAX_HEADER_BYTES or self._header_count > MAX_HEADER_COUNT:
            self._refusal = _plain_answer('431 Request Header Fields Too Large',
                                          f'at most {MAX_HEADER_COUNT} headers and {MAX_HEADER_BYTES} bytes\n')
            # Stops the parser: uvicorn answers a parser error with send_400_response, below.
            raise ValueError('request headers over the limit')

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._header_count = 0
        self._start_header_clock()

    def on_url(self, url: bytes) -> None:
        self._count(len(url), 0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4, 1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._stop_header_clock()
        super().on_headers_complete()
        if len(self.pipeline) > MAX_PIPELINED_REQUESTS:
            # More requests queued than any client needs: whoever sends them is not a browser.
            self.transport.abort()

    def on_response_complete(self) -> None:
        self._idle_since = time.monotonic()
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        if self._refusal is not None:
            self.transport.write(self._refusal)
            self.transport.close()
            return
        super().send_400_response(msg)

