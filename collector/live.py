"""The live page: the latest events, ended sessions and triggers of an account, for the holder of
the API token.

The token never travels in a request line (which reverse proxies and access logs record): the
operator opens `/live?account=<id>#token=<token>`; the fragment stays in the browser, whose
sign-in script POSTs the token as JSON to `/live/session` and gets an `HttpOnly`,
`SameSite=Strict` cookie holding a value derived from the token (`access.py`), then reloads the
page without the fragment. Without the cookie `/live` answers 401 with that sign-in page (it holds
no data). Both pages send `Referrer-Policy: no-referrer` and forbid framing.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from collector.access import LIVE_COOKIE, ClientAddresses, ReadAccess
from collector.bodies import BodyTimeout, BodyTooLarge, read_limited_body

__all__ = ['LivePage', 'PAGE_HEADERS', 'STATIC']

STATIC = Path(__file__).resolve().parent / 'static'
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")
PAGE_HEADERS = {
    'Content-Security-Policy': PAGE_CSP,
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
}
MAX_SIGN_IN_BYTES = 1024


class LivePage:
    """`GET /live` and `POST /live/session` (see the module docstring)."""

    def __init__(self, access: ReadAccess, addresses: ClientAddresses, body_timeout_s: float):
        self.access = access
        self.addresses = addresses
        self.body_timeout_s = body_timeout_s

    async def page(self, request: Request) -> Response:
        if self.access.allows(request.headers.get('authorization', ''), request.cookies.get(LIVE_COOKIE, '')):
            return FileResponse(STATIC / 'live.html', headers=PAGE_HEADERS)
        return FileResponse(STATIC / 'live-sign-in.html', status_code=401, headers=PAGE_HEADERS)

    async def session(self, request: Request) -> Response:
        """The token, POSTed as `{"token": ...}` (JSON only: a cross-site form cannot send it),
        swapped for the live page's cookie."""
        if request.headers.get('content-type', '').split(';')[0].strip().lower() != 'application/json':
            return Response('send {"token": ...} as application/json\n', status_code=415, media_type='text/plain',
                            headers=PAGE_HEADERS)
        try:
            body = await read_limited_body(request.stream(), request.headers.get('content-length'), MAX_SIGN_IN_BYTES,
                                           self.body_timeout_s)
            token = json.loads(body).get('token')
        except (BodyTooLarge, BodyTimeout, ClientDisconnect, ValueError, AttributeError, RecursionError):
            token = None
        if not isinstance(token, str) or not self.access.token_matches(token):
            return Response('wrong token\n', status_code=401, media_type='text/plain', headers=PAGE_HEADERS)
        peer = request.client.host if request.client else ''
        scheme = self.addresses.resolve(peer, request.headers.getlist('x-forwarded-for'),
                                        request.headers.get('x-forwarded-proto'), request.url.scheme)[1]
        response = Response(status_code=204, headers=PAGE_HEADERS)
        response.set_cookie(LIVE_COOKIE, self.access.session, httponly=True, samesite='strict', path='/',
                            secure=scheme == 'https')
        return response

    def routes(self) -> list[Route]:
        return [Route('/live', self.page, methods=['GET']), Route('/live/session', self.session, methods=['POST'])]
