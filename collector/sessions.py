"""What a session amounted to, once it has ended: its summary and the trigger it starts (the
contract: `session end and triggers` in README). Pure functions over the session's stored events,
oldest first; no clock, no database.

- `summarize(account, cid, sid, events, ended_at)`: the summary.
- `trigger_type(summary, added_to_basket)`: 'abandoned_basket', 'browse_abandonment' or None.
- `trigger_payload(trigger_id, trigger_type, summary, created_at)`: the body POSTed to the webhook.
"""

from __future__ import annotations

__all__ = ['ABANDONED_BASKET', 'BROWSE_ABANDONMENT', 'summarize', 'trigger_payload', 'trigger_type']

ABANDONED_BASKET = 'abandoned_basket'
BROWSE_ABANDONMENT = 'browse_abandonment'
PRODUCT_PAGE_TYPE = 'product'


def summarize(account: str, cid: str, sid: str, events: list[dict], ended_at: int) -> dict:
    """The summary of one session from its events (each a stored event's JSON, oldest first).

    `uid`: the last non-null uid; `store_id`: the last non-null store id; `started_at` /
    `last_activity_at`: smallest and largest event `ts`; `products_viewed`: product ids of product
    pageviews, in first-view order, once each; `added_to_basket`: every addtobasket; `basket`: the
    last setbasket's basket (null if none); `transactions`: order ids of transactions."""
    uid = store_id = basket = None
    viewed: list[str] = []
    added: list[dict] = []
    orders: list[str] = []
    times = [e['ts'] for e in events if isinstance(e.get('ts'), int)]
    for event in events:
        if event.get('uid') is not None:
            uid = event['uid']
        if event.get('store_id') is not None:
            store_id = event['store_id']
        kind = event.get('type')
        if kind == 'pageview' and event.get('page_type') == PRODUCT_PAGE_TYPE:
            pid = (event.get('page_data') or {}).get('pid')
            if isinstance(pid, str) and pid not in viewed:
                viewed.append(pid)
        elif kind == 'addtobasket':
            added.append({'product_id': event['product_id'], 'quantity': event['quantity']})
        elif kind == 'setbasket':
            basket = event['basket']
        elif kind == 'transaction':
            orders.append(event['order_id'])
    return {
        'account': account, 'cid': cid, 'sid': sid, 'uid': uid, 'store_id': store_id,
        'started_at': min(times) if times else None, 'last_activity_at': max(times) if times else None,
        'ended_at': ended_at,
        'pageviews': sum(1 for e in events if e.get('type') == 'pageview'),
        'products_viewed': viewed,
        'added_to_basket': added,
        'basket': basket,
        'transactions': orders,
    }


def trigger_type(summary: dict) -> str | None:
    """At most one trigger per session. None for an anonymous session and for one with a
    transaction; `abandoned_basket` when the session has basket items: its last basket has at
    least one item, or, when it set no basket, it has at least one addtobasket (a basket emptied
    again has none); `browse_abandonment` when it viewed a product, has no basket items and no
    addtobasket."""
    if summary['uid'] is None or summary['transactions']:
        return None
    basket = summary['basket']
    has_items = bool(basket.get('items')) if basket is not None else bool(summary['added_to_basket'])
    if has_items:
        return ABANDONED_BASKET
    if summary['products_viewed'] and not summary['added_to_basket']:
        return BROWSE_ABANDONMENT
    return None


def trigger_payload(trigger_id: str, kind: str, summary: dict, created_at: int) -> dict:
    """The JSON object a webhook receives."""
    return {'id': trigger_id, 'type': kind, 'account': summary['account'], 'created_at': created_at,
            'session': summary}
