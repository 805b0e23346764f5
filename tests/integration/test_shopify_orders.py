"""Shopify's signed order webhooks (collector/shopify.py) against a real collector on each engine:
only a body signed with the account's secret is taken; an order becomes its visitor's
transaction once, however often it arrives; and an abandoned-basket trigger waiting out its
purchase grace is never sent to a shopper whose order came meanwhile, while one who did not buy
gets theirs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

import httpx
import pytest

from tests.integration.test_triggers import SECRET, basket_event, sessions, triggers, visit
from tests.support.contract import event
from tests.support.servers import CollectorProcess, free_port, http_json, wait_for

SHOPIFY_SECRET = 'shopify-webhook-secret-0123456789abcdef'
SESSION_TIMEOUT_S = 1.0
GRACE_S = 4.0


def accounts_for(port: int, hook: str) -> str:
    return (f'[accounts.shop]\ncollector_url = "http://127.0.0.1:{port}/collect"\norigins = ["*"]\n'
            f'platform = "shopify"\nshopify_webhook_secret = "{SHOPIFY_SECRET}"\n'
            f'webhook_url = "{hook}"\nwebhook_secret = "{SECRET}"\n'
            f'[accounts.plain]\ncollector_url = "http://127.0.0.1:{port}/collect"\norigins = ["*"]\n')


@pytest.fixture
def collector(tmp_path, new_db, receiver):
    port = free_port()
    process = CollectorProcess(tmp_path, accounts_for(port, receiver.url), port=port, db=new_db(),
                               extra_args=['--session-timeout', str(SESSION_TIMEOUT_S)])
    process.env['OMETRIA_PURCHASE_GRACE'] = str(GRACE_S)
    process.start()
    yield process
    process.stop()


def order(order_id: int, email: str | None = 'buyer@example.com', cid: str | None = None, **fields) -> dict:
    """An `orders/create` body as Shopify sends it (the fields the collector reads, and others)."""
    return {'id': order_id, 'name': f'#{order_id % 10000}', 'email': email, 'total_price': '129.00',
            'currency': 'GBP', 'checkout_token': uuid.uuid4().hex, 'cart_token': uuid.uuid4().hex,
            'note_attributes': [{'name': '_ometria_cid', 'value': cid}] if cid else [],
            'line_items': [{'product_id': 1001, 'variant_id': 5001, 'quantity': 1, 'price': '129.00'}],
            'order_status_url': f'https://shop.example/orders/{order_id}/authenticate', **fields}


def send(process, body: bytes | dict, secret: str = SHOPIFY_SECRET, account: str = 'shop',
         topic: str = 'orders/create', signature: str | bytes | None = None, webhook_id: str = 'w1') -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if signature is None:
        signature = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    headers = {'Content-Type': 'application/json', 'X-Shopify-Topic': topic, 'X-Shopify-Shop-Domain': 'shop.myshopify.com',
               'X-Shopify-Webhook-Id': webhook_id, 'X-Shopify-Hmac-Sha256': signature}
    return httpx.post(f'{process.url}/shopify/webhooks/{account}', content=raw, headers=headers, timeout=10)


def transactions(process) -> list[dict]:
    return [e for e in http_json(f'{process.url}/api/events?account=shop&limit=5000') if e['type'] == 'transaction']


def test_only_a_body_signed_with_the_accounts_secret_is_taken(collector):
    body = order(1001)
    assert send(collector, body, secret='another-secret-0123456789abcdef').status_code == 401
    assert send(collector, body, signature='').status_code == 401
    assert send(collector, body, signature='not base64 at all \u00e9'.encode('latin-1')).status_code == 401
    raw = json.dumps(body).encode()
    signed = send(collector, raw).request.headers['X-Shopify-Hmac-Sha256']
    assert send(collector, raw + b' ', signature=signed).status_code == 401, 'a changed body'
    assert send(collector, body, account='plain').status_code == 404, 'an account without a Shopify secret'
    assert send(collector, body, account='nope').status_code == 404
    assert send(collector, b'x' * (1024 * 1024 + 1)).status_code == 413
    assert send(collector, b'[1, 2]').status_code == 400
    assert send(collector, {'id': None}).status_code == 400
    assert send(collector, order(1002), topic='orders/updated').status_code == 200
    assert [t['order_id'] for t in transactions(collector)] == ['1001'], 'the signed order only, once'
    stats = http_json(f'{collector.url}/api/stats')
    assert stats['shopify_webhooks_unsigned'] == 4 and stats['shopify_webhooks_other_topics'] == 1


def test_an_order_is_its_visitors_transaction_once_however_often_it_arrives(collector):
    cid, sid = visit(collector, basket_event('buyer@example.com'), account='shop')
    for webhook_id in ('w1', 'w1', 'w2'):  # Shopify's retry, and a second subscription
        assert send(collector, order(2001, cid=cid), webhook_id=webhook_id).status_code == 200
    assert send(collector, order(2002, email=None)).status_code == 200, 'no visitor, no email: nothing to store'
    stored = transactions(collector)
    assert [(t['order_id'], t['cid'], t['sid'], t['uid']) for t in stored] == [('2001', cid, sid, 'buyer@example.com')]
    assert stored[0]['extra'] == {'source': 'shopify_webhook', 'name': '#2001', 'total_price': '129.00',
                                  'currency': 'GBP'}
    stats = http_json(f'{collector.url}/api/stats')
    assert (stats['shopify_orders_stored'], stats['shopify_orders_again'], stats['shopify_orders_unattributed']) == \
        (1, 2, 1)


def test_an_order_after_the_session_stops_its_abandoned_basket_and_only_its_own(collector, receiver):
    """Three shoppers leave a basket; their sessions end. During the purchase grace, one's order
    arrives naming the visitor (the cart attribute), one's naming only the email; the third buys
    nothing. Only the third gets an abandoned-basket email; the other two are recorded as purchased."""
    by_cid, _ = visit(collector, basket_event('cart-attribute@example.com'))
    visit(collector, basket_event('email-only@example.com'))
    visit(collector, basket_event('leaver@example.com'))
    wait_for(lambda: len(sessions(collector)) >= 3, timeout=15, what='the three sessions to end')
    assert all(t['delivery']['state'] == 'pending' for t in triggers(collector)), 'held for the grace'
    assert send(collector, order(3001, email='someone-else@example.com', cid=by_cid)).status_code == 200
    assert send(collector, order(3002, email='Email-Only@example.com')).status_code == 200
    calls = wait_for(lambda: receiver.calls, timeout=GRACE_S + 10, what='the leaver’s trigger')
    states = wait_for(lambda: (lambda s: s if 'pending' not in s.values() else None)(
        {t['session']['uid']: t['delivery']['state'] for t in triggers(collector)}), timeout=10, what='every trigger')
    assert states == {'cart-attribute@example.com': 'purchased', 'email-only@example.com': 'purchased',
                      'leaver@example.com': 'delivered'}
    assert [json.loads(c.body)['session']['uid'] for c in receiver.calls] == ['leaver@example.com']
    assert len(calls) == 1


def test_an_order_from_before_the_session_stops_nothing(collector, receiver):
    """A shopper who bought last week and leaves a basket today still gets the email."""
    assert send(collector, order(4001, email='returning@example.com')).status_code == 200
    visit(collector, event('pageview'), basket_event('returning@example.com'))
    wait_for(lambda: [t['delivery']['state'] for t in triggers(collector)] == ['delivered'],
             timeout=SESSION_TIMEOUT_S + GRACE_S + 10, what='the trigger delivered')
    assert len(receiver.calls) == 1


def test_an_order_with_unwritable_or_control_text_is_kept_without_it(collector):
    """Shopify signs whatever the store holds: a lone surrogate (valid JSON as an escape, not
    writable as UTF-8) or a control character in a name or an email never costs a 5xx; the order
    is stored without that text, or, with no usable email and no visitor, counted."""
    named = json.dumps(order(5001, name='#5\ud800', currency='GB\u0000P')).encode()
    assert b'\\ud800' in named
    assert send(collector, named).status_code == 200
    assert send(collector, order(5002, email='lone\ud800@example.com')).status_code == 200
    assert send(collector, order(5003, email='nul\u0000@example.com')).status_code == 200
    stored = {t['order_id']: t for t in transactions(collector)}
    assert set(stored) == {'5001'} and stored['5001']['extra'] == {'source': 'shopify_webhook', 'total_price': '129.00'}
    assert http_json(f'{collector.url}/api/stats')['shopify_orders_unattributed'] == 2
