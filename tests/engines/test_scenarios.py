"""Browser scenarios written once and run in every engine (tests/engines/drivers.py): the
documented flow, a reload within the session, leaving a page right after an event, the overlay
and its click-to-console, a 503 with Retry-After, the visitor cookie's attributes, and the
store's page left as it was; the Shopify checkout pixel in its sandboxed iframe."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.browser.conftest import CORE_ACCOUNT, SHOPIFY_ACCOUNT
from tests.browser.test_overlay import click_row
from tests.browser.test_tag_load import SNAPSHOT
from tests.engines.conftest import HOOKS_TAG
from tests.support.overlay import overlay_lines
from tracker.checkout import order_event_id

FLOW = ('<script>ometria.init("product", {pid: "P1"}, "uk"); ometria.identify("dev@example.com");'
        'var b = new ometria.Basket(); b.setId("B1").setTotal(10, "GBP").addLineItem("P1", 1, 10);'
        'ometria.setBasket(b); ometria.trackAddToBasket("P1", 2); ometria.trackCheckout("payment");'
        'ometria.trackTransaction("000000145");</script>')


def visitor_cookie(engine) -> dict:
    return next(c for c in engine.cookies() if c['name'] == 'ometria')


def session_of(engine) -> str:
    value = visitor_cookie(engine)['value']
    return dict(part.split('=', 1) for part in value.split('&'))['sid']


def wait_until(engine, script: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if engine.evaluate(script):
                return
        except Exception:  # the page is navigating: ask the next one
            pass
        assert time.monotonic() < deadline, f'{engine.name}: timed out waiting for {script}'
        time.sleep(0.05)


def test_the_documented_flow_is_stored_as_called(shop, engine):
    mark = shop.mark()
    engine.goto(shop.page(head=HOOKS_TAG, body=FLOW))
    events = shop.wait_events(mark, 6)
    assert [e['type'] for e in events] == ['pageview', 'identify', 'setbasket', 'addtobasket', 'checkout',
                                           'transaction']
    assert events[0]['page_type'] == 'product' and events[0]['page_data'] == {'pid': 'P1'}
    assert events[2]['basket']['items'] == [{'product_id': 'P1', 'quantity': 1, 'price': 10, 'variant_id': None}]
    assert events[5]['order_id'] == '000000145'
    assert len({e['cid'] for e in events}) == 1 and len({e['sid'] for e in events}) == 1


def test_a_reload_continues_the_session(shop, engine):
    url = shop.page(head=HOOKS_TAG, body='<script>ometria.init("homepage");</script>') + '#om_debug'
    engine.goto(url)
    first = overlay_lines(engine)
    sid = session_of(engine)
    assert first[:2] == ['NEW COOKIE ID', f'NEW SESSION: {sid}']
    engine.goto(shop.page(head=HOOKS_TAG, body='<script>ometria.init("basket");</script>') + '#om_debug')
    again = overlay_lines(engine)
    assert again[0] == f'EXISTING SESSION: {sid}'
    assert 'Event: pageview (basket)' in again


def test_leaving_right_after_an_event_loses_nothing_and_stores_it_once(shop, engine):
    shop.proxy.set(mode='pass', delay_s=0.3)
    next_page = shop.page(head=HOOKS_TAG, body='<p>next</p>', tag='none')
    mark = shop.mark()
    engine.goto(shop.page(head=HOOKS_TAG, body='<script>ometria.init("product", {pid: "9"});</script>'))
    engine.evaluate('url => { ometria.trackAddToBasket("9", 1);'
                    ' setTimeout(function () { location.href = url; }, 0); }', next_page)
    wait_until(engine, f'() => location.href === {next_page!r}')
    events = shop.wait_events(mark, 2, settle=1.5)
    assert sorted(e['type'] for e in events) == ['addtobasket', 'pageview']


def test_the_overlay_lists_the_flow_and_a_click_logs_the_details(shop, engine):
    engine.goto(shop.page(head=HOOKS_TAG, body=FLOW) + '#om_debug')
    lines = overlay_lines(engine)
    assert lines == ['NEW COOKIE ID', f'NEW SESSION: {session_of(engine)}', 'SOURCE CHANGED: (direct) / (none)',
                     'Not identified', 'Event: pageview (product)', 'Event: identify', 'Identified: dev@example.com',
                     'Event: setbasket', 'Event: addtobasket', 'Event: checkout (payment)',
                     'Event: transaction (000000145)']
    click_row(engine, 'Event: addtobasket')
    logged = engine.evaluate("() => window.__console.filter(function (m) {"
                             " return m.text.indexOf('[ometria] Event: addtobasket') === 0; })")
    assert len(logged) == 1 and logged[0]['level'] == 'log'
    assert logged[0]['args'][1] == {'product_id': 'P1', 'quantity': 2}


def test_a_503_with_retry_after_is_retried_after_the_wait(shop, engine):
    shop.proxy.set(mode='status', status=503, retry_after='2', times=1)
    mark = shop.mark()
    engine.goto(shop.page(head=HOOKS_TAG, body='<script>ometria.init("homepage");</script>'))
    events = shop.wait_events(mark, 1, timeout=15)
    first, second = shop.proxy.requests()[:2]
    assert first.outcome == 503 and second.outcome == 204
    assert second.time - first.time >= 1.9
    assert len(events) == 1


def test_the_visitor_cookie_is_first_party_lax_and_lasts_a_year(shop, engine):
    engine.goto(shop.page(head=HOOKS_TAG, body='<script>ometria.init("homepage");</script>'))
    wait_until(engine, "() => document.cookie.indexOf('ometria=') >= 0")
    cookie = visitor_cookie(engine)
    assert cookie['path'] == '/' and cookie['httpOnly'] is False and cookie['secure'] is False
    assert cookie['sameSite'] in ('Lax', 'lax')
    days = (cookie['expiry'] - time.time()) / 86400
    assert 364 < days <= 366, f'{engine.name}: the cookie lasts {days:.1f} days'


def test_one_new_global_and_no_prototype_changes(shop, engine):
    engine.goto(shop.page(head=f'{HOOKS_TAG}<script>{SNAPSHOT}</script>',
                          body='<script>window.__after = window.__snapshot();</script>'))
    before, after = engine.evaluate('() => [window.__before, window.__after]')
    added = sorted(set(after['globals']) - set(before['globals']) - {'__before', '__after'})
    assert added == ['ometria']
    assert after['enumerable'] == before['enumerable']
    assert after['own'] == before['own'], f'{engine.name}: the tag wrote to a built-in prototype'
    assert after['forInArray'] == ['0', '1'] and after['forInString'] == ['0', '1']


SIGNUP_FORMS = (
    '<form name="mc-embedded-subscribe-form"><input type="email" name="EMAIL"></form>'
    '<form name="mc-form"><input type="password" id="mc-password"></form>'
    '<form action="https://api.ometria.com/forms/signup"><input name="ue"></form>'
    '<input name="checkout[email]">'
    '<script>document.addEventListener("submit", function (e) { e.preventDefault(); });'
    'ometria.init("homepage");</script>')
# A Wunderkind overlay appears after the tag started; each field gets a value as a shopper's typing
# leaves it (a change, or the form's submit), in the order of the expected identifies.
SIGN_UP = """() => {
    function give(field, value, kind) {
        field.value = value;
        (kind === 'submit' ? field.form : field).dispatchEvent(new Event(kind, {bubbles: true, cancelable: true}));
    }
    var overlay = document.createElement('div');
    overlay.innerHTML = '<input type="email" id="bx-input-1"><input type="email" id="other-overlay">';
    document.body.appendChild(overlay);
    give(document.getElementById('mc-password'), 'password@example.com', 'change');
    give(document.getElementById('other-overlay'), 'other@example.com', 'change');
    give(document.getElementById('bx-input-1'), 'not an email', 'change');
    give(document.getElementById('bx-input-1'), 'bx@example.com', 'change');
    give(document.querySelector('[name=EMAIL]'), 'mc@example.com', 'submit');
    give(document.querySelector('[name=ue]'), 'ue@example.com', 'submit');
    give(document.querySelector('[name="checkout[email]"]'), 'checkout@example.com', 'change');
    return true;
}"""


def test_signup_forms_identify_without_jquery_even_when_added_later(shop, engine):
    """The deployed tag's signup forms (Mailchimp, Ometria's hosted form, a checkout's email field,
    Wunderkind overlays with their `bx:signup`), by delegation; never a password field."""
    mark = shop.mark()
    engine.goto(shop.page(head=HOOKS_TAG, body=SIGNUP_FORMS))
    wait_until(engine, "() => document.cookie.indexOf('ometria=') >= 0")
    engine.evaluate(SIGN_UP)
    events = shop.wait_events(mark, 6, settle=1.0)
    assert [(e['type'], e.get('email') or e.get('custom_type')) for e in events] == [
        ('pageview', None), ('identify', 'bx@example.com'), ('custom', 'bx:signup'), ('identify', 'mc@example.com'),
        ('identify', 'ue@example.com'), ('identify', 'checkout@example.com')]


def test_the_core_set_leaves_signup_forms_to_the_store(shop, engine):
    mark = shop.mark(CORE_ACCOUNT)
    engine.goto(shop.page(head=HOOKS_TAG, body=SIGNUP_FORMS, account=CORE_ACCOUNT))
    wait_until(engine, "() => document.cookie.indexOf('ometria=') >= 0")
    engine.evaluate(SIGN_UP)
    events = shop.wait_events(mark, 1, account=CORE_ACCOUNT, settle=1.5)
    assert [e['type'] for e in events] == ['pageview']


PIXEL_HOST = (Path(__file__).resolve().parents[2] / 'demo_site' / 'assets' / 'shopify-pixel-host.js').read_text()


def test_the_shopify_checkout_pixel_records_a_purchase_from_its_sandbox(shop, engine):
    """The compiled checkout pixel in an `<iframe sandbox="allow-scripts">` (an opaque origin: its
    requests say `Origin: null`, which only a Shopify account takes), run by the demo's stand-in
    for Shopify's pixel host: its state through the asynchronous `browser.cookie` and
    `browser.localStorage` (on the top page's), four customer events in, the checkout recorded,
    the visitor cookie written on the store's page."""
    shop.store.add('/shopify-pixel-host.js', PIXEL_HOST, content_type='text/javascript')
    # An order of its own in each engine: the collector stores an order's transaction once.
    order = str(time.time_ns())
    checkout = {'token': 't1', 'email': 'pixel@example.com', 'attributes': [],
                'totalPrice': {'amount': 12.5, 'currencyCode': 'GBP'}, 'order': {'id': f'gid://shopify/Order/{order}'},
                'lineItems': [{'quantity': 1, 'variant': {'id': '91', 'price': {'amount': 12.5}, 'product': {'id': '9'}}}]}
    config = {'pixel': f'{shop.collector.url}/tags/{SHOPIFY_ACCOUNT}.shopify-pixel.js', 'checkout': checkout,
              'init': {'data': {'customer': None, 'cart': None}, 'customerPrivacy': {'marketingAllowed': True}},
              'onLoad': [{'name': name, 'data': {} if name == 'page_viewed' else {'checkout': checkout}}
                         for name in ('page_viewed', 'checkout_started', 'checkout_contact_info_submitted',
                                      'checkout_completed')]}
    settings = json.dumps(config).replace('<', '\\u003c')
    body = (f'<script type="application/json" id="shopify-pixel">{settings}</script>'
            '<script src="/shopify-pixel-host.js"></script>')
    mark = shop.mark(SHOPIFY_ACCOUNT)
    engine.goto(shop.page(head=HOOKS_TAG, body=body, tag='none', path='/checkouts/cn/t1/information'))
    events = shop.wait_events(mark, 6, SHOPIFY_ACCOUNT)
    assert [(e['type'], e.get('page_type') or e.get('stage') or e.get('email') or e.get('order_id'))
            for e in events] == [('pageview', 'checkout'), ('setbasket', None), ('checkout', 'checkout'),
                                 ('checkout', 'contact'), ('identify', 'pixel@example.com'), ('transaction', order)]
    assert events[-1]['id'] == order_event_id(SHOPIFY_ACCOUNT, order)
    assert events[1]['basket']['url'].endswith('/cart/91:1')
    assert len({e['cid'] for e in events}) == 1
    assert f"cid={events[0]['cid']}" in visitor_cookie(engine)['value']
