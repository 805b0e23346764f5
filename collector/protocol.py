"""The HTTP connection, guarded against clients that hold the server's resources.

uvicorn's httptools protocol, with what it lacks for a server on the open internet:
- request headers must arrive within `--header-timeout` seconds of the connection opening (or of the first
  byte of a later request on a kept-alive connection): a slow-header client ("slowloris") is
  closed; the body has its own limit in the app (`--body-timeout`);
- request line and headers together at most MAX_HEADER_BYTES, and at most MAX_HEADER_COUNT
  headers: past either the answer is 431 and the connection is closed;
- at most `--max-connections` open connections per process: the next one closes the connection idle
  the longest (between requests, or still sending headers) to make room, so a flood of idle
  connections cannot keep `/healthz` or a shopper's request out. Only when every connection is
  busy with a request is the newcomer refused (503).

`python -m collector serve` runs uvicorn with `http=GuardedProtocol`.
"""

from __future__ import annotations

import time

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from collector.settings import from_env

__all__ = ['GuardedProtocol', 'MAX_HEADER_BYTES', 'MAX_HEADER_COUNT']

MAX_HEADER_BYTES = 16 * 1024
MAX_HEADER_COUNT = 100
# Read once per worker process, from the settings `serve` put in its environment.
_SETTINGS = from_env()


def _plain_answer(status: str, text: str) -> bytes:
    body = text.encode('ascii')
    return (f'HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n'
            f'content-length: {len(body)}\r\nconnection: close\r\n\r\n').encode('ascii') + body


class GuardedProtocol(HttpToolsProtocol):
    """See the module docstring."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._header_bytes = 0
        self._header_count = 0
        self._refusal: bytes | None = None
        self._reading_headers = False
        self._idle_since = time.monotonic()
        self._header_deadline = None
        self._start_header_clock()
        if len(self.connections) > _SETTINGS.max_connections:
            self._make_room()

    def _make_room(self) -> None:
        idle = [c for c in self.connections if c is not self and isinstance(c, GuardedProtocol) and c._is_idle()]
        if idle:
            min(idle, key=lambda c: c._idle_since).transport.close()
        else:
            self.transport.write(_plain_answer('503 Service Unavailable', 'too many connections\n'))
            self.transport.close()

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

    def connection_lost(self, exc) -> None:
        self._stop_header_clock()
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
        self._reading_headers = True
        self._start_header_clock()

    def on_url(self, url: bytes) -> None:
        self._count(len(url), 0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4, 1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._stop_header_clock()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        self._idle_since = time.monotonic()
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        if self._refusal is not None:
            self.transport.write(self._refusal)
            self.transport.close()
            return
        super().send_400_response(msg)
