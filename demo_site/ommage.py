"""The Magento flavour's server side of the `ommage` cookie, written as Magento 2's Ometria
extension writes it (its Cookiechannel helper and cart/customer/order observers): commands joined
with `;`, fields with `:`, items as query strings, the whole value URL-encoded as PHP's
`setcookie` does, a session cookie on path `/`. A new command replaces an older one of its kind.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote_plus, unquote_plus, urlencode

from starlette.requests import Request
from starlette.responses import Response

COOKIE_NAME = 'ommage'


def cart_token(cart_id: str) -> str:
    """The extension's token: the first 12 hex digits of an md5 over the quote (here its id)."""
    return hashlib.md5(f'quote-{cart_id}'.encode()).hexdigest()[:12]


def basket_command(cart: dict) -> str:
    fields = ['basket', cart['id'], f'{cart["total"]:.4f}', cart['currency'], cart_token(cart['id'])]
    fields += [urlencode({'i': line['pid'], 'v': line['sku'], 'q': line['qty'], 't': f'{line["line"]:.4f}'})
               for line in cart['lines'][:30]]
    return ':'.join(fields)


def identify_command(how: str, email: str) -> str:
    return ':'.join(['identify', how, urlencode({'e': email})])


def transaction_command(order_id: str) -> str:
    return f'trans:{order_id}'


def add_commands(request: Request, response: Response, *commands: str) -> None:
    """Set the cookie to what the request carried plus `commands` (each replacing one of its kind)."""
    existing = unquote_plus(request.cookies.get(COOKIE_NAME, ''))
    kept = [c for c in existing.split(';') if c and c.split(':', 1)[0] not in {n.split(':', 1)[0] for n in commands}]
    value = ';'.join(kept + list(commands))
    response.headers.append('set-cookie', f'{COOKIE_NAME}={quote_plus(value)}; Path=/; SameSite=Lax')
