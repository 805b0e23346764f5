"""Request bodies read under limits: at most a number of bytes, within a time. Used by every
route that takes a body (`POST /collect`, `POST /api/erase`, the demo's webhook receiver)."""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect

__all__ = ['BodyTimeout', 'BodyTooLarge', 'asgi_chunks', 'read_limited_body']


class BodyTooLarge(Exception):
    pass


class BodyTimeout(Exception):
    pass


async def read_limited_body(chunks, declared: str | None, limit: int, timeout_s: float) -> bytes:
    """A request body from the async iterator `chunks`, read while counting: BodyTooLarge past
    `limit` bytes (from the `declared` Content-Length, or while streaming a chunked body),
    BodyTimeout when it takes longer than `timeout_s` (a slow drip). Nothing past the limit is
    buffered. ClientDisconnect passes through."""
    if declared is not None:
        if not declared.isdigit():
            raise BodyTooLarge('bad Content-Length')
        if int(declared) > limit:
            raise BodyTooLarge(f'Content-Length {declared}')

    async def collect() -> bytes:
        body = bytearray()
        async for chunk in chunks:
            body += chunk
            if len(body) > limit:
                raise BodyTooLarge(f'more than {limit} bytes')
        return bytes(body)

    try:
        async with asyncio.timeout(timeout_s):
            return await collect()
    except TimeoutError:
        raise BodyTimeout() from None


async def asgi_chunks(receive):
    """The body chunks of an ASGI request (ClientDisconnect when the client goes away)."""
    while True:
        message = await receive()
        if message['type'] == 'http.disconnect':
            raise ClientDisconnect()
        yield message.get('body', b'')
        if not message.get('more_body', False):
            return
