"""Valid events and batches of the wire contract, for collector tests and load generators."""

from __future__ import annotations

import json
import time
import uuid

# What a shopper's browser sends as its user agent: a request without one like it is a bot's
# (collector/bots.py), and a bot's session starts no trigger.
BROWSER_USER_AGENT = ('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 '
                      'Safari/537.36')
SHOPPER_HEADERS = {'User-Agent': BROWSER_USER_AGENT}


def human(**fields) -> dict:
    """The tag's mark of a person's first input in a session (a trigger of a one-page session needs it)."""
    return event('human', input='pointerdown', **fields)


def event(event_type: str = 'addtobasket', **fields) -> dict:
    """A valid event of `event_type` (every type of the contract; a test fails when one is missing),
    with `fields` replacing its own."""
    base = {
        'id': str(uuid.uuid4()),
        'type': event_type,
        'ts': int(time.time() * 1000),
        'cid': 'c' + uuid.uuid4().hex[:16],
        'sid': 's' + uuid.uuid4().hex[:16],
        'uid': None,
        'url': 'https://shop.example/p/1',
        'store_id': None,
    }
    own = {
        'pageview': {'page_type': 'product', 'page_data': {'pid': '4521'}, 'referrer': None},
        'identify': {'email': 'shopper@example.com', 'profile': None},
        'setbasket': {'basket': {'id': 'R1', 'currency': 'GBP', 'total': 59.97, 'url': None, 'size': 3,
                                 'items': [{'product_id': '2001', 'quantity': 2, 'price': 39.98, 'variant_id': None},
                                           {'product_id': '2002', 'quantity': 1, 'price': 19.99,
                                            'variant_id': '2002-M', 'props': {'size': 'M'}}]}},
        'addtobasket': {'product_id': '4521', 'quantity': 1},
        'checkout': {'stage': 'payment'},
        'transaction': {'order_id': '000000145'},
        'custom': {'custom_type': 'wishlist', 'data': {'pid': '4521'}},
        'profile': {'uid': 'shopper@example.com', 'profile': {'name': 'A Shopper'}},
        'viewproduct': {'product_id': '4521'},
        'human': {'input': 'scroll'},
    }[event_type]
    return {**base, **own, **fields}


def batch(events: list[dict], account: str = 'shop', **fields) -> dict:
    return {'v': 1, 'account': account, 'sent_at': int(time.time() * 1000), 'events': events, **fields}


def body(events: list[dict], account: str = 'shop', **fields) -> bytes:
    return json.dumps(batch(events, account, **fields)).encode()
