"""The origin rule, in one object: which browser pages may send an account's events, and the CORS
headers of every answer (`POST /collect`, its preflight).

- An account open to any origin (`origins = ["*"]`) takes any request.
- An account listing origins takes a browser page on one of them, and refuses a page on any other
  and `Origin: null` (an opaque origin: a sandboxed frame, a file, a page whose Referrer-Policy
  hides it; a refused beacon's events stay in the tag's outbox and go by the next fetch, which
  always carries the real origin).
- A Shopify account (`platform = "shopify"`) also takes `Origin: null`: its checkout pixel runs in
  Shopify's sandboxed iframe, an opaque origin (tracker/pixel_main.py). It is answered with
  `Access-Control-Allow-Origin: *` (no credentials: the pixel sends none), so that the pixel reads
  the status. Every other account still refuses `null`.
- A request without `Origin` does not come from a browser page (browsers send it on every POST)
  and is taken: the header is a browser's statement, not a credential, and a non-browser client
  could write any value.
- The demo server also takes its own origin, known from its bind, never from `Host`.

Credentials (`Access-Control-Allow-Credentials`) are only ever granted to a listed origin, never
reflected to an arbitrary one.
"""

from __future__ import annotations

from collector.accounts import Account

__all__ = ['OriginPolicy']

MAX_AGE_S = 86400


def sandboxed_pixel(account: Account, origin: str | None) -> bool:
    """True for `Origin: null` on a Shopify account: its checkout pixel's sandbox."""
    return origin == 'null' and account.platform == 'shopify'


class OriginPolicy:
    """See the module docstring. `own_origin`: the demo server's own origin ('' otherwise)."""

    def __init__(self, accounts: dict[str, Account], own_origin: str = ''):
        self.accounts = accounts
        self.own_origin = own_origin
        self._listed = {origin for account in accounts.values() for origin in account.origins if origin != '*'}
        self._open = any('*' in account.origins for account in accounts.values())

    def lists(self, account: Account, origin: str | None) -> bool:
        """True when `origin` is one the account names (or the demo's own): a page there is the
        store's own, and may be answered with credentials."""
        if not origin or origin == 'null':
            return False
        return origin in account.origins or (bool(self.own_origin) and origin == self.own_origin)

    def allows(self, account: Account, origin: str | None) -> bool:
        """True when a `POST /collect` with this `Origin` header may send `account`'s events."""
        if '*' in account.origins or origin is None or sandboxed_pixel(account, origin):
            return True
        return self.lists(account, origin)

    def response_headers(self, origin: str | None, account: Account | None) -> dict[str, str]:
        """CORS for a collect answer. A listed origin is echoed with credentials (a beacon is sent
        with credentials); any other page gets `*` without credentials where the account is open
        to any origin or there is no usable account (400, 404), so that the tag can see the status
        and stop retrying."""
        if not origin:
            return {}
        expose = {'Access-Control-Expose-Headers': 'Retry-After', 'Vary': 'Origin'}
        if account is not None and self.lists(account, origin):
            return {'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', **expose}
        if account is None or '*' in account.origins or sandboxed_pixel(account, origin):
            return {'Access-Control-Allow-Origin': '*', **expose}
        return {'Vary': 'Origin'}

    def preflight_headers(self, origin: str | None) -> dict[str, str]:
        """An `OPTIONS /collect` answer's headers (the account is not known before the body)."""
        headers = {'Vary': 'Origin'}
        listed = bool(origin) and origin != 'null' and origin in self._listed
        if listed or (origin and self._open):
            headers.update({
                'Access-Control-Allow-Origin': origin if listed else '*',
                'Access-Control-Allow-Methods': 'POST, OPTIONS',
                'Access-Control-Allow-Headers': 'Content-Type',
                'Access-Control-Max-Age': str(MAX_AGE_S),
            })
            if listed:
                headers['Access-Control-Allow-Credentials'] = 'true'
        return headers
