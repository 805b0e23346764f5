"""What the tag remembers for an account across pages and sessions, as pure functions over the
stored text (`keys.py` names the keys; the engine reads and writes them):

- the identity (`uid`): the last value `identify` sent, as a JSON string;
- the last basket sent (`basket`): {'sid', 'fp'}: a basket is sent again only when its
  fingerprint changed, or in a new session;
- the orders recorded (`orders`): the last REMEMBERED_ORDERS order ids, so a reloaded
  confirmation page sends nothing more.

Pure: imports only `prims`.
"""

from tracker import prims

REMEMBERED_ORDERS = 20


def identity_in(text):
    """The identity held in `text`, or None."""
    value = prims.from_json(text)
    return value if prims.is_string(value) else None


def identity_text(identity):
    return prims.to_json(identity)


def basket_already_sent(text, sid, fingerprint):
    """True when `text` says this basket was already sent in session `sid`."""
    last = prims.from_json(text)
    return prims.is_plain_object(last) and prims.read_key(last, 'sid') == sid and prims.read_key(last, 'fp') == fingerprint


def basket_text(sid, fingerprint):
    return prims.to_json({'sid': sid, 'fp': fingerprint})


def orders_in(text):
    """The order ids held in `text` (a list, maybe empty)."""
    orders = prims.from_json(text)
    return orders if prims.is_list(orders) else []


def orders_text(orders, order_id):
    """The text remembering `orders` and `order_id`, the oldest forgotten past REMEMBERED_ORDERS."""
    kept = prims.slice_list(orders, 0, None)
    prims.append(kept, order_id)
    start = len(kept) - REMEMBERED_ORDERS if len(kept) > REMEMBERED_ORDERS else 0
    return prims.to_json(prims.slice_list(kept, start, None))
