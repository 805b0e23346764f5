"""Shopper journeys through the demo store, in both integration flavours, against the real
server and database: the store (`python -m collector serve --demo`) and, in its own process, the
collector its tag sends to, so that the collector can be stopped mid-journey while the store
stays up; on SQLite, and on PostgreSQL with two collector workers. What is asserted is what the
database holds at the end."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from tests.support.overlay import overlay_lines
from tests.support.servers import API_TOKEN, CollectorProcess, free_port, wait_for_events

EMAIL = 'shopper@example.com'


class Demo:
    def __init__(self, store: CollectorProcess, collector: CollectorProcess):
        self.store = store
        self.collector = collector

    def stored(self, since: int = 0) -> list[dict]:
        """The events in the collector's database, in the order they were stored."""
        rows = self.collector.sql('SELECT seq, body FROM events WHERE account = ? AND seq > ? ORDER BY seq', 'demo', since)
        # The tag's mark of a person (`human`: the first click of a session) is left out: these
        # journeys compare what the store's pages record (the mark: tests/unit/test_human.py).
        events = [{'seq': seq, **json.loads(body)} for seq, body in rows]
        return [e for e in events if e['type'] != 'human']

    def mark(self) -> int:
        events = self.stored()
        return events[-1]['seq'] if events else 0

    def wait_stored(self, since: int, count: int, timeout: float = 30) -> list[dict]:
        return wait_for_events(lambda: self.stored(since), count, timeout, 1.0, summary)


@pytest.fixture(scope='module', params=['sqlite', 'postgresql-2-workers'])
def demo(tmp_path_factory, request):
    """The store, and its collector on SQLite, or on PostgreSQL with two worker processes."""
    store_port, collector_port = free_port(), free_port()
    accounts = (f'[accounts.demo]\ncollector_url = "http://127.0.0.1:{collector_port}/collect"\n'
                f'origins = ["http://127.0.0.1:{store_port}"]\n')
    on_postgres = request.param != 'sqlite'
    collector = CollectorProcess(tmp_path_factory.mktemp('collector'), accounts, port=collector_port,
                                 db=request.getfixturevalue('postgres').database('demo') if on_postgres else None,
                                 extra_args=['--workers', '2'] if on_postgres else [])
    store = CollectorProcess(tmp_path_factory.mktemp('store'), accounts, port=store_port, demo=True,
                             extra_args=['--collector-url', f'http://127.0.0.1:{collector_port}/collect'])
    collector.start()
    store.start()
    yield Demo(store, collector)
    store.stop()
    collector.stop()


def summary(events: list[dict]) -> list[tuple]:
    """Each event's type and its key field, for comparing journeys."""
    keys = {
        'pageview': lambda e: (e['page_type'], e['page_data'].get('pid') or e['page_data'].get('query')
                               or e['page_data'].get('step')),
        'identify': lambda e: e['email'],
        'setbasket': lambda e: e['basket']['size'],
        'addtobasket': lambda e: (e['product_id'], e['quantity']),
        'checkout': lambda e: e['stage'],
        'transaction': lambda e: 'order',
        'custom': lambda e: e['custom_type'],
    }
    return [(e['type'], keys[e['type']](e)) for e in events]


def ready(page, flavour: str) -> None:
    """Wait for the tag (async in the Magento flavour) to have started on this page."""
    page.wait_for_function("window.ometria && typeof window.ometria.init === 'function'")
    if flavour == 'magento':
        page.wait_for_timeout(100)


def go(page, flavour, action) -> None:
    with page.expect_navigation():
        action()
    ready(page, flavour)


def add_to_basket(page, qty: str, variant: str | None = None) -> None:
    if variant:
        page.select_option('#variant', variant)
    page.fill('#qty', qty)
    page.click('#add')
    page.wait_for_selector('#added:not([hidden])')


def journey(page, demo: Demo, flavour: str, on_half_way=None, on_checkout=None) -> dict:
    """A new visitor browses, searches, opens a product, picks a variant, adds two items, changes a
    quantity, signs in, checks out in steps and confirms."""
    prefix = '' if flavour == 'plain' else '/m'
    seen = {}
    page.goto(f'{demo.store.url}{prefix}/#om_debug')
    ready(page, flavour)
    seen['home'] = overlay_lines(page)
    # As a developer would: move the overlay off the store's header (it stays there for the tab).
    page.evaluate("document.querySelector('ometria-debug').shadowRoot.querySelector('.dock').click()")
    go(page, flavour, lambda: page.click('nav >> text=Boots'))
    page.fill('.search input', 'boot')
    go(page, flavour, lambda: page.press('.search input', 'Enter'))
    go(page, flavour, lambda: page.click('.card >> text=Fell walking boot'))
    page.select_option('#variant', '1001-42')
    page.wait_for_timeout(150)
    add_to_basket(page, '1')
    seen['product'] = overlay_lines(page)
    if on_half_way:
        on_half_way()
    go(page, flavour, lambda: page.click('nav >> text=Jackets'))
    go(page, flavour, lambda: page.click('.card >> text=Storm shell jacket'))
    add_to_basket(page, '2', '2001-M')
    go(page, flavour, lambda: page.click('#basket-link'))
    page.fill('tr[data-sku="1001-42"] .qty', '3')
    page.press('tr[data-sku="1001-42"] .qty', 'Tab')
    page.wait_for_selector('#cart[data-updated]')
    go(page, flavour, lambda: page.click('#login-link'))
    page.fill('#login-form input[name=email]', EMAIL)
    go(page, flavour, lambda: page.click('#sign-in'))
    seen['signed_in'] = overlay_lines(page)
    if on_checkout:
        on_checkout()
    go(page, flavour, lambda: page.click('#checkout'))
    for _ in range(3):
        go(page, flavour, lambda: page.click('#next'))
    seen['order_id'] = page.text_content('#order-id')
    page.wait_for_timeout(300)
    seen['confirmation'] = overlay_lines(page)
    return seen


PLAIN = [
    ('pageview', ('homepage', None)), ('pageview', ('listing', None)), ('pageview', ('search', 'boot')),
    ('pageview', ('product', '1001')), ('addtobasket', ('1001', 1)), ('setbasket', 1),
    ('pageview', ('listing', None)), ('pageview', ('product', '2001')), ('addtobasket', ('2001', 2)), ('setbasket', 3),
    ('pageview', ('basket', None)), ('setbasket', 5), ('pageview', (None, None)), ('pageview', ('basket', None)),
    ('identify', EMAIL), ('pageview', ('checkout', None)), ('checkout', 1), ('pageview', ('checkout', None)),
    ('checkout', 2), ('pageview', ('checkout', None)), ('checkout', 3), ('pageview', ('confirmation', None)),
    ('setbasket', 0), ('transaction', 'order'),
]
# Magento 2: the basket, the identity and the order reach the tag only through the ommage cookie the
# store's server writes, read on the next page load (after that page's pageview).
MAGENTO = [
    ('pageview', ('homepage', None)), ('pageview', ('listing', None)), ('pageview', ('search', 'boot')),
    ('pageview', ('product', '1001')), ('pageview', ('product', '1001-42')), ('addtobasket', ('1001', 1)),
    ('pageview', ('listing', None)), ('setbasket', 1), ('pageview', ('product', '2001')),
    ('pageview', ('product', '2001-M')), ('addtobasket', ('2001', 2)),
    ('pageview', ('basket', None)), ('setbasket', 3), ('pageview', (None, None)), ('setbasket', 5),
    ('pageview', ('basket', None)), ('identify', EMAIL), ('pageview', ('checkout', 'details')),
    ('pageview', ('checkout', 'delivery')), ('pageview', ('checkout', 'payment')), ('pageview', ('confirmation', None)),
    ('setbasket', 0), ('transaction', 'order'),
]


def check_journey(events: list[dict], expected: list, seen: dict) -> None:
    assert summary(events) == expected
    assert len({e['sid'] for e in events}) == 1, 'one session'
    assert len({e['cid'] for e in events}) == 1, 'one visitor'
    signed_in = next(i for i, e in enumerate(events) if e['type'] == 'identify')
    # The page that identifies may already carry the identity on its pageview (Magento: the cookie
    # is read as the tag starts, before the page's init).
    assert all(e['uid'] is None for e in events[:signed_in - 1]), 'no identity before the sign-in'
    assert events[signed_in - 1]['type'] == 'pageview'
    assert all(e['uid'] == EMAIL for e in events[signed_in:]), 'one identity from the sign-in on'
    transaction = next(e for e in events if e['type'] == 'transaction')
    assert transaction['order_id'] == seen['order_id']
    assert len({e['id'] for e in events}) == len(events)
    basket = [e for e in events if e['type'] == 'setbasket'][2]['basket']
    assert basket['currency'] == 'GBP' and basket['total'] == 3 * 129 + 2 * 189
    assert {i['variant_id']: i['quantity'] for i in basket['items']} == {'1001-42': 3, '2001-M': 2}


@pytest.mark.parametrize('flavour, expected', [('plain', PLAIN), ('magento', MAGENTO)])
def test_a_shopper_journey(flavour, expected, demo, page, page_errors):
    mark = demo.mark()
    seen = journey(page, demo, flavour)
    events = demo.wait_stored(mark, len(expected))
    check_journey(events, expected, seen)
    assert seen['home'][:2] == ['NEW COOKIE ID', f'NEW SESSION: {events[0]["sid"]}']
    assert 'Event: addtobasket' in seen['product']
    assert 'Event: identify' in seen['signed_in'] and f'Identified: {EMAIL}' in seen['signed_in']
    if flavour == 'plain':
        assert 'Event: setbasket' in seen['product']
    else:
        assert 'Magento cookie (ommage): identify' in seen['signed_in'], 'the identity came through the cookie'
        html = page.content()
        for call in ('ometria.identify(', 'setBasket(', 'trackTransaction('):
            assert call not in html, f'the Magento pages do not call {call}'
    assert f'Event: transaction ({seen["order_id"]})' in seen['confirmation']
    assert page_errors == []


def test_the_journey_with_the_collector_stopped_mid_way(demo, page, page_errors):
    mark = demo.mark()
    seen = journey(page, demo, 'plain', on_half_way=demo.collector.stop, on_checkout=demo.collector.start)
    events = demo.wait_stored(mark, len(PLAIN), timeout=60)
    check_journey(events, PLAIN, seen)
    assert page_errors == []


def test_a_returning_visitor_the_next_day(demo, page, context, page_errors):
    start = datetime.datetime.now(tz=datetime.timezone.utc)
    page.clock.install(time=start)
    mark = demo.mark()
    page.goto(f'{demo.store.url}/login')
    ready(page, 'plain')
    page.fill('#login-form input[name=email]', EMAIL)
    go(page, 'plain', lambda: page.click('#sign-in'))
    first_day = demo.wait_stored(mark, 3)
    assert summary(first_day) == [('pageview', (None, None)), ('pageview', ('homepage', None)), ('identify', EMAIL)]
    page.clock.fast_forward('24:00:00')
    mark = demo.mark()
    page.goto(f'{demo.store.url}/c/bags#om_debug')
    ready(page, 'plain')
    next_day = demo.wait_stored(mark, 1)
    assert summary(next_day) == [('pageview', ('listing', None))], 'no second identify'
    visit = next_day[0]
    assert visit['cid'] == first_day[0]['cid'], 'same visitor'
    assert visit['sid'] != first_day[0]['sid'], 'new session'
    assert visit['uid'] == EMAIL, 'identity still known'
    assert visit['ts'] - first_day[-1]['ts'] >= 24 * 3600 * 1000
    lines = overlay_lines(page)
    assert lines[0] == f'NEW SESSION: {visit["sid"]}' and f'Identified: {EMAIL}' in lines
    assert page_errors == []


def test_a_product_page_with_the_overlay_open(demo, page, page_errors):
    """Also saves test-results/demo-overlay.png, the picture in the README (docs/demo-overlay.png)."""
    page.set_viewport_size({'width': 1280, 'height': 760})
    page.goto(f'{demo.store.url}/p/2002#om_debug')
    ready(page, 'plain')
    add_to_basket(page, '1', '2002-M')
    page.wait_for_function("""Array.from(document.querySelector('ometria-debug').shadowRoot
        .querySelectorAll('.entry')).filter(function (e) { return e.getAttribute('data-state') === 'sent'; }).length >= 3""")
    lines = overlay_lines(page)
    assert lines[-2:] == ['Event: addtobasket', 'Event: setbasket']
    artifacts = Path(__file__).resolve().parents[2] / 'test-results'
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / 'demo-overlay.png'))
    assert page_errors == []


def test_the_stores_live_events_link_opens_the_live_page_in_one_click(demo, page, context, page_errors):
    """The demo opens its read API to the developer who runs it: the store's link carries the
    server's token once, in the address's fragment (never sent in a request line); the live page
    swaps it for a cookie and drops it from the address."""
    page.goto(f'{demo.store.url}/')
    ready(page, 'plain')
    with context.expect_page() as opened:
        page.click('text=live events')
    live = opened.value
    # A selector, not a JS predicate: the live page's CSP forbids the eval a predicate needs.
    live.wait_for_selector('#status:has-text("refreshed")')
    assert live.url == f'{demo.store.url}/live?account=demo', 'the token left the address bar'
    assert 'Cannot read' not in live.text_content('#status')
    assert page_errors == []


def test_an_ometria_email_click_signs_up_and_follows_a_recommendation(demo, page, context, page_errors):
    """The email campaign (`om_campaign`) stays beside the link's `utm_*` on every event of the
    visit; the footer's Mailchimp-style newsletter form identifies with no store code; a
    recommended product's link sends `rec:click`; the live page shows both."""
    mark = demo.mark()
    page.goto(f'{demo.store.url}/p/1001?om_campaign=77&utm_source=ometria&utm_medium=email&utm_campaign=boots#om_debug')
    ready(page, 'plain')
    assert 'SOURCE CHANGED: ometria / email (campaign boots), Ometria campaign 77' in overlay_lines(page)
    page.fill('#mce-EMAIL', EMAIL)
    page.click('#newsletter button')
    page.wait_for_selector('#newsletter-done:not([hidden])')
    go(page, 'plain', lambda: page.click('.recommended .card'))
    events = demo.wait_stored(mark, 4)
    assert summary(events) == [('pageview', ('product', '1001')), ('identify', EMAIL),
                               ('pageview', ('product', '1002')), ('custom', 'rec:click')]
    assert [e.get('ecamp') for e in events] == ['77'] * 4
    assert events[0]['source']['campaign'] == 'boots' and events[1]['via'] == 'form'
    assert events[3]['data'] == {'onsiteRecInstance': 'pdp-similar', 'onsiteRecEngine': 'similar-items',
                                 'onsiteRecIsPrimaryEngine': True}
    live = context.new_page()
    live.goto(f'{demo.collector.url}/live?account=demo#token={API_TOKEN}')
    live.wait_for_selector('td.detail:has-text("rec:click")')
    assert 'email campaign 77' in live.text_content('#events')
    assert page_errors == []
