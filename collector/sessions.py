"""What a session amounted to, once it has ended: its summary and the trigger it starts (the
contract: "Session end and triggers" in README). Pure: no clock, no database.

`SessionFold(account, cid, sid, origins)` takes the session's stored events page by page
(`take(bodies)`, each a stored event's JSON text, oldest first), keeping only what a summary
needs, within bounds: the events are decoded into the few fields a summary reads; products
viewed and adds to basket are kept up to MAX_LISTED each; the basket keeps its lines' ids,
quantities and prices; the summary's JSON is at most MAX_SUMMARY_BYTES. An event that cannot be
read is skipped and counted. `summary(ended_at)` is the summary; `trigger_of(summary)` the
trigger it starts (or None, and why not).

Trigger data come from shoppers' pages, so the summary is made safe to email from: a basket `url`
is kept only when it is an http(s) URL on one of the account's origins (for an account open to
any origin: the origin of the page the basket was set on), else it is dropped and the summary
says so; and the summary says how its identity was learned (`identity_via`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import msgspec

from collector.bots import AUTOMATED

__all__ = ['ABANDONED_BASKET', 'BROWSE_ABANDONMENT', 'MAX_LISTED', 'MAX_SUMMARY_BYTES', 'SessionFold', 'trigger_of',
           'trigger_payload']

ABANDONED_BASKET = 'abandoned_basket'
BROWSE_ABANDONMENT = 'browse_abandonment'
PRODUCT_PAGE_TYPE = 'product'
MAX_LISTED = 50
MAX_SUMMARY_BYTES = 32 * 1024
MAX_TEXT_CHARS = 256
# How an identity was learned when the session holds no identify of it: an earlier session's.
EARLIER_SESSION = 'earlier_session'
BASKET_URL_DROPPED = "not an http(s) URL on one of the store's origins"
# A session of fewer pageviews starts a trigger only with the tag's mark of a person's input.
MIN_PAGEVIEWS_WITHOUT_INPUT = 2


class _Item(msgspec.Struct):
    product_id: Any = None
    quantity: Any = None
    price: Any = None
    variant_id: Any = None


class _Basket(msgspec.Struct):
    id: Any = None
    currency: Any = None
    total: Any = None
    url: Any = None
    size: Any = None
    items: list[_Item] = []


class _PageData(msgspec.Struct):
    pid: Any = None


class _Event(msgspec.Struct):
    """The fields of a stored event a summary reads; msgspec skips the rest without building them."""

    type: str = ''
    ts: Any = None
    uid: Any = None
    url: Any = None
    store_id: Any = None
    page_type: Any = None
    page_data: _PageData | None = None
    product_id: Any = None
    quantity: Any = None
    basket: _Basket | None = None
    order_id: Any = None
    email: Any = None
    via: Any = None
    ecamp: Any = None
    automated: Any = None


_decode = msgspec.json.Decoder(_Event).decode
_encode = msgspec.json.Encoder().encode


def _text(value) -> str | None:
    return value[:MAX_TEXT_CHARS] if isinstance(value, str) else None


def _origin(url) -> str | None:
    """`scheme://host[:port]` of an http(s) URL (host lower-cased), else None."""
    if not isinstance(url, str) or len(url) > 4096:
        return None
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme not in ('http', 'https') or not host or any(c.isspace() for c in url):
        return None
    return f'{parts.scheme}://{host}' + (f':{port}' if port is not None else '')


class SessionFold:
    """See the module docstring. `origins`: the account's store origins (`*`: any)."""

    def __init__(self, account: str, cid: str, sid: str, origins: tuple[str, ...] = ('*',), bot: str | None = None):
        self.key = (account, cid, sid)
        self.bot = bot
        self.human = False
        self.origins = origins
        self.uid = self.store_id = self.basket = None
        self.identity_via: dict[str, str] = {}
        self.first_ts = self.last_ts = None
        self.pageviews = 0
        self.viewed: list[str] = []
        self.added: list[dict] = []
        self.orders: list[str] = []
        self.unreadable = 0
        self.url_dropped = False
        self.ecamp = None

    def take(self, bodies: list[str]) -> None:
        """Fold the next stored events (JSON texts, oldest first) into the summary."""
        for body in bodies:
            try:
                self._take(_decode(body))
            except (msgspec.DecodeError, msgspec.ValidationError, TypeError, ValueError, AttributeError):
                self.unreadable += 1

    def _take(self, event: _Event) -> None:
        self._take_common(event)
        kind = event.type
        if kind == 'human':
            self.human = True
        elif kind == 'pageview':
            self.pageviews += 1
            pid = event.page_data.pid if event.page_data is not None else None
            if event.page_type == PRODUCT_PAGE_TYPE and isinstance(pid, str) and pid not in self.viewed \
                    and len(self.viewed) < MAX_LISTED:
                self.viewed.append(_text(pid))
        elif kind == 'addtobasket' and len(self.added) < MAX_LISTED:
            self.added.append({'product_id': _text(event.product_id), 'quantity': event.quantity})
        elif kind == 'setbasket' and event.basket is not None:
            self.basket = self._basket(event.basket, event.url)
        elif kind == 'transaction' and len(self.orders) < MAX_LISTED:
            self.orders.append(_text(event.order_id))
        elif kind == 'identify' and isinstance(event.email, str):
            self.identity_via[event.email] = _text(event.via) or 'call'

    def _take_common(self, event: _Event) -> None:
        """What any event says: its time, identity, store, campaign and automation."""
        if isinstance(event.ts, int):
            self.first_ts = event.ts if self.first_ts is None else min(self.first_ts, event.ts)
            self.last_ts = event.ts if self.last_ts is None else max(self.last_ts, event.ts)
        if isinstance(event.uid, str):
            self.uid = event.uid
        if event.store_id is not None:
            self.store_id = _text(event.store_id)
        if isinstance(event.ecamp, str):
            self.ecamp = _text(event.ecamp)
        if event.automated is True and self.bot is None:
            self.bot = AUTOMATED

    def _basket(self, basket: _Basket, page_url) -> dict:
        url = _text(basket.url)
        if url is not None:
            origin = _origin(url)
            allowed = (_origin(page_url),) if '*' in self.origins else self.origins
            if origin is None or origin not in allowed:
                url, self.url_dropped = None, True
            else:
                self.url_dropped = False
        return {'id': _text(basket.id), 'currency': _text(basket.currency), 'total': basket.total, 'url': url,
                'size': basket.size,
                'items': [{'product_id': _text(i.product_id), 'quantity': i.quantity, 'price': i.price,
                           'variant_id': _text(i.variant_id)} for i in basket.items[:200]]}

    def summary(self, ended_at: int) -> dict:
        """The summary of what was taken: uid, store id and the Ometria email campaign `ecamp` (each
        the last non-null), why its sender is a bot (`bot`: a `bots.REASONS`, or None), whether a
        person's input was seen (`human`: the tag's `human` event), first and last event time, pageviews, products viewed (product
        pageviews, first-view order, once each), adds to basket, the last basket, order ids; how
        the identity was learned; and what was left out (`basket_url_dropped`, `unreadable_events`, `truncated`)."""
        account, cid, sid = self.key
        summary = {
            'account': account, 'cid': cid, 'sid': sid, 'uid': self.uid, 'store_id': self.store_id,
            'started_at': self.first_ts, 'last_activity_at': self.last_ts, 'ended_at': ended_at,
            'pageviews': self.pageviews, 'products_viewed': self.viewed, 'added_to_basket': self.added,
            'basket': self.basket, 'transactions': self.orders,
            'identity_via': (self.identity_via.get(self.uid, EARLIER_SESSION) if self.uid is not None else None),
            'ecamp': self.ecamp, 'bot': self.bot, 'human': self.human,
        }
        if self.url_dropped:
            summary['basket_url_dropped'] = BASKET_URL_DROPPED
        if self.unreadable:
            summary['unreadable_events'] = self.unreadable
        basket = summary['basket']
        while len(_encode(summary)) > MAX_SUMMARY_BYTES and basket is not None and basket['items']:
            basket['items'] = basket['items'][:len(basket['items']) // 2]
            summary['truncated'] = True
        return summary


def trigger_of(summary: dict) -> tuple[str | None, str | None]:
    """(trigger type, None), or (None, why no trigger): at most one per session.

    `abandoned_basket` when the session is identified, has basket items (its last basket has at
    least one item, or, when it set no basket, it has at least one addtobasket: a basket emptied
    again has none) and no transaction; `browse_abandonment` when identified, it viewed a product,
    and has no basket items, no addtobasket and no transaction. Either only for a session with
    evidence of a person: at least MIN_PAGEVIEWS_WITHOUT_INPUT pageviews, or the tag's `human`
    mark (an email-link scanner opens the landing page, identified by its `om_user`, and nothing
    else). Else none: `bot` (a bot's session: bots.py), `anonymous`, `purchased`,
    `nothing_to_follow_up` or `no_interaction`."""
    if summary.get('bot') is not None:
        return None, 'bot'
    if summary['uid'] is None:
        return None, 'anonymous'
    if summary['transactions']:
        return None, 'purchased'
    basket = summary['basket']
    has_items = bool(basket.get('items')) if basket is not None else bool(summary['added_to_basket'])
    kind = None
    if has_items:
        kind = ABANDONED_BASKET
    elif summary['products_viewed'] and not summary['added_to_basket']:
        kind = BROWSE_ABANDONMENT
    if kind is None:
        return None, 'nothing_to_follow_up'
    if summary['pageviews'] < MIN_PAGEVIEWS_WITHOUT_INPUT and not summary.get('human'):
        return None, 'no_interaction'
    return kind, None


def trigger_payload(trigger_id: str, kind: str, summary: dict, created_at: int) -> dict:
    """The JSON object a webhook receives."""
    return {'id': trigger_id, 'type': kind, 'account': summary['account'], 'created_at': created_at,
            'session': summary}
