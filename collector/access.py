"""Who is asking: the client's address, and whether it may read stored events.

Client address. The TCP peer is the client, unless the peer is one of the configured trusted
proxies (`--trusted-proxies`); then `X-Forwarded-For` is read from the right, skipping the
trusted proxies' own entries, and the first entry that is not a trusted proxy is the client. A
client can write whatever it likes into X-Forwarded-For, but only to the left of what its proxy
appends, so it cannot pass for someone else. `X-Forwarded-Proto` is believed on the same terms.

Read access. The read API and the live page show stored events, shoppers' emails included: they
answer only a request carrying the server's API token, as `Authorization: Bearer <token>` (any
case of "Bearer"), or the live page's session cookie. The token appears in a URL once: the first
load of the live page (`/live?token=...`), which sets the cookie and redirects to the same page
without the token, so it does not stay in the address bar, the history or a `Referer`. No token
configured: nobody can read. Being on loopback grants nothing (behind a reverse proxy on the same
host, everyone is on loopback).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re

__all__ = ['LIVE_COOKIE', 'ClientAddresses', 'ReadAccess', 'TokenRedaction', 'network_of', 'redact_tokens_in_logs']

LIVE_COOKIE = 'om_live'
MAX_FORWARDED_ENTRIES = 32


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def network_of(address: str) -> str:
    """The client a rate limit and a trigger limit count: an IPv4 address as it is, an IPv6 address
    as its /64 network (one subscriber gets a whole /64: each of its addresses is the same client).
    Anything that is not an address is kept as given, cut to 64 characters."""
    parsed = _address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f'{parsed}/64', strict=False))
    return str(parsed) if parsed is not None else address[:64]


class ClientAddresses:
    """Client addresses through the trusted proxies (see the module docstring)."""

    def __init__(self, trusted_networks: tuple = ()):
        self.trusted = tuple(trusted_networks)

    def is_trusted(self, address) -> bool:
        return address is not None and any(address in network for network in self.trusted)

    def trusts(self, peer: str) -> bool:
        """True when the TCP peer `peer` (an address's text) is one of the trusted proxies."""
        return bool(self.trusted) and self.is_trusted(_address(peer))

    def resolve(self, peer: str, forwarded_for: list[str], forwarded_proto: str | None, scheme: str) -> tuple[str, str]:
        """(client address, scheme) of a request from TCP peer `peer` with these header values."""
        if not self.trusted or not self.is_trusted(_address(peer)):
            return peer, scheme
        entries = [part.strip() for value in forwarded_for for part in value.split(',')][-MAX_FORWARDED_ENTRIES:]
        client = peer
        for entry in reversed(entries):
            address = _address(entry)
            if address is None:
                # Not an address: whoever wrote it is the hop after it, already in `client`.
                break
            client = str(address)
            if not self.is_trusted(address):
                break
        proto = (forwarded_proto or '').split(',')[-1].strip().lower()
        return client, proto if proto in ('http', 'https') else scheme


class ReadAccess:
    """The read API's credential (see the module docstring)."""

    def __init__(self, token: str):
        self.token = token.encode('utf-8') if token else b''
        # The cookie holds a value derived from the token, not the token itself.
        self.session = hmac.new(self.token, b'ometria live page', hashlib.sha256).hexdigest() if token else ''

    @property
    def configured(self) -> bool:
        return bool(self.token)

    def token_matches(self, given: str) -> bool:
        """True when `given` is the token (compared in constant time, any characters)."""
        return bool(self.token) and hmac.compare_digest(given.encode('utf-8', 'surrogatepass'), self.token)

    def allows(self, authorization: str, cookie: str) -> bool:
        """True for a request with this Authorization header and live-page cookie value."""
        if not self.token:
            return False
        scheme, _, credential = authorization.strip().partition(' ')
        if scheme.lower() == 'bearer' and self.token_matches(credential.strip()):
            return True
        return bool(cookie) and hmac.compare_digest(cookie.encode('utf-8', 'surrogatepass'), self.session.encode())


class TokenRedaction(logging.Filter):
    """Blanks `token=...` out of log records (uvicorn's access log records each request line): a
    token someone put in a URL does not land in the log."""

    _TOKEN = re.compile(r'(token=)[^&\s#"]*', re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(self._TOKEN.sub(r'\1***', a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = self._TOKEN.sub(r'\1***', record.msg)
        return True


def redact_tokens_in_logs() -> None:
    """Install TokenRedaction on uvicorn's access log (once per process)."""
    access_log = logging.getLogger('uvicorn.access')
    if not any(isinstance(f, TokenRedaction) for f in access_log.filters):
        access_log.addFilter(TokenRedaction())
