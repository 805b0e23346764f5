"""Shopify's signed order webhooks: `POST /shopify/webhooks/<account_id>`.

A Shopify store subscribes its `orders/create` webhook to this route. Shopify signs each call:
`X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body with the secret the account's
`shopify_webhook_secret` holds. The answers:
- 404: no such account, or it takes no Shopify webhooks (no secret set);
- 413: a body over MAX_ORDER_BODY_BYTES; 408: a body that takes longer than the body timeout;
- 401: a missing or wrong signature (compared in constant time): nothing is read or stored;
- 200 and nothing stored: a signed call of another topic, or an order that names no visitor and
  no valid email (a point-of-sale order without a customer), or one the database refuses:
  counted in `/api/stats` (Shopify retries any other answer for two days, then deletes the
  subscription);
- 400: a signed body that is not a JSON object with an order `id`;
- 200: the order stored as that visitor's `transaction` event; 503 while the store is busy
  (Shopify retries).

The event: its id is made from the account and the order id (`tracker.checkout.order_event_id`,
the very function the checkout pixel makes its transaction's id with), so the order is stored once
however often and by whichever way it arrives (Shopify's retries carry the same
`X-Shopify-Webhook-Id`; the pixel's transaction is the same event). Its visitor
is the `_ometria_cid` cart attribute the storefront tag set (the order's `note_attributes`), its
identity the order's email; its session the visitor's latest one (an order is the end of a
visit), else one of its own. `programs.claim_triggers` then never sends an `abandoned_basket`
for a session whose visitor or identity ordered since it began, and
`collector serve --purchase-grace` holds those triggers long enough for the webhook to arrive.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections import Counter

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from collector import programs
from collector.bodies import BodyTimeout, BodyTooLarge, read_limited_body
from collector.read_api import error, unavailable
from collector.storage import StoreBusy, StoreRefused, Write
from collector.validation import IDENTITY, VISITOR, ValidEvent, check_event
from tracker import limits
from tracker.checkout import order_event_id
from tracker.shopify import CID_ATTRIBUTE

__all__ = ['MAX_ORDER_BODY_BYTES', 'ORDER_TOPIC', 'ShopifyWebhooks', 'order_event', 'order_visitor', 'signature_ok']

ORDER_TOPIC = 'orders/create'
# (CID_ATTRIBUTE: the cart attribute the storefront tag writes the visitor id into, which Shopify
# copies into the order's `note_attributes`; the tag's own name for it.)
# An order of 250 lines with their taxes, discounts and properties is about 400 KB of JSON.
MAX_ORDER_BODY_BYTES = 1024 * 1024
# Of an order, what the transaction's `extra` keeps (printable strings only, each at most this long).
EXTRA_FIELDS = ('name', 'total_price', 'currency')
MAX_EXTRA_CHARS = 64
_GID_PREFIX = 'gid://shopify/Order/'


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is the base64 HMAC-SHA256 of `body` with `secret` (constant time)."""
    if not header or not secret:
        return False
    expected = base64.b64encode(hmac.new(secret.encode('utf-8'), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, header.strip().encode('ascii', 'replace'))


def order_id_of(order: dict) -> str | None:
    """The order's id as text (a number, or Shopify's `gid://shopify/Order/<n>`: its number), or None."""
    value = order.get('id')
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    text = str(value).removeprefix(_GID_PREFIX)
    return text if 0 < len(text) <= limits.MAX_ID_LENGTH and text.isprintable() else None


def order_visitor(order: dict) -> str | None:
    """The visitor id the order's `CID_ATTRIBUTE` note attribute holds, when it is one; else None."""
    attributes = order.get('note_attributes')
    for item in attributes if isinstance(attributes, list) else []:
        if isinstance(item, dict) and item.get('name') == CID_ATTRIBUTE and isinstance(item.get('value'), str):
            return item['value'] if VISITOR.fullmatch(item['value']) else None
    return None


def _stable_id(*parts: str) -> str:
    """A UUID v4 (the contract's event id) made from `parts`: the same parts, the same id."""
    digest = hashlib.sha256('\x00'.join(parts).encode('utf-8')).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def order_event(account: str, order: dict, cid: str | None, sid: str | None, now_ms: int) -> dict | None:
    """The transaction event of `order` (a parsed `orders/create` body) for `account`, or None when
    it names neither a visitor nor a valid email. `cid`: `order_visitor(order)`; `sid`: that
    visitor's latest session id, or None."""
    order_id = order_id_of(order)
    email = order.get('email')
    # Printable text only, here and below: a lone surrogate (valid JSON as an escape) cannot be
    # written as UTF-8, and a control character is nobody's address or order name.
    email = email if isinstance(email, str) and len(email) <= limits.MAX_IDENTITY_LENGTH and \
        email.isprintable() and IDENTITY.fullmatch(email) else None
    if order_id is None or (cid is None and email is None):
        return None
    own = _stable_id(account, 'shopify-order', order_id).replace('-', '')
    url = order.get('order_status_url')
    return {
        'id': order_event_id(account, order_id),
        'type': 'transaction',
        'ts': now_ms,
        'cid': cid or 'shopify-' + own[:24],
        'sid': sid or 'order-' + own[:24],
        'uid': email,
        'url': url if isinstance(url, str) and len(url) <= limits.MAX_URL_LENGTH and url.isprintable() else '',
        'store_id': None,
        'order_id': order_id,
        'extra': {'source': 'shopify_webhook', **{key: order[key] for key in EXTRA_FIELDS
                                                  if isinstance(order.get(key), str)
                                                  and len(order[key]) <= MAX_EXTRA_CHARS and order[key].isprintable()}},
    }


class ShopifyWebhooks:
    """The route (see the module docstring) over `store`, for `accounts`."""

    def __init__(self, store, accounts: dict, stats: Counter, body_timeout_s: float):
        self.store = store
        self.accounts = accounts
        self.stats = stats
        self.body_timeout_s = body_timeout_s

    async def orders(self, request: Request) -> Response:
        account = self.accounts.get(request.path_params['account_id'])
        if account is None or not account.shopify_webhook_secret:
            return error(404, 'no Shopify account of that id')
        try:
            body = await read_limited_body(request.stream(), request.headers.get('content-length'),
                                           MAX_ORDER_BODY_BYTES, self.body_timeout_s)
        except BodyTooLarge:
            return error(413, f'an order is at most {MAX_ORDER_BODY_BYTES} bytes')
        except (BodyTimeout, ClientDisconnect):
            return error(408, 'the body took too long')
        if not signature_ok(account.shopify_webhook_secret, body, request.headers.get('x-shopify-hmac-sha256')):
            self.stats['shopify_webhooks_unsigned'] += 1
            return error(401, 'X-Shopify-Hmac-Sha256 does not sign this body')
        if request.headers.get('x-shopify-topic') != ORDER_TOPIC:
            self.stats['shopify_webhooks_other_topics'] += 1
            return Response(status_code=200)
        try:
            order = json.loads(body)
        except (ValueError, RecursionError):
            order = None
        if not isinstance(order, dict) or order_id_of(order) is None:
            return error(400, 'an order is a JSON object with an id')
        return await self._store(account.account_id, order)

    async def _store(self, account_id: str, order: dict) -> Response:
        now_ms = int(time.time() * 1000)
        try:
            cid = order_visitor(order)
            sid = await self.store.run(programs.latest_session(account_id, cid)) if cid is not None else None
            event = order_event(account_id, order, cid, sid, now_ms)
            if event is None:
                self.stats['shopify_orders_unattributed'] += 1
                return Response(status_code=200)
            raw = json.dumps(event, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
            checked = check_event(raw, event, flawed=False)
            if not isinstance(checked, ValidEvent):
                self.stats['shopify_orders_unattributed'] += 1
                return Response(status_code=200)
            result = await self.store.write(Write(account_id, [checked], [], now_ms))
        except StoreBusy:
            return unavailable()
        except StoreRefused:
            # Answered 200 all the same: Shopify retries any other answer for two days, then
            # deletes the subscription.
            self.stats['shopify_orders_refused'] += 1
            return Response(status_code=200)
        self.stats['shopify_orders_stored' if result.stored else 'shopify_orders_again'] += 1
        return Response(status_code=200)

    def routes(self) -> list[Route]:
        return [Route('/shopify/webhooks/{account_id}', self.orders, methods=['POST'])]
