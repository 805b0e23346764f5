"""The Shopify checkout pixel under CPython (tracker/pixel.py, sandbox.py, checkout.py): Shopify's
customer events in, the store's cookies and storage reached only through a stand-in for the pixel
API's asynchronous `browser` (answers come on a later timer, as promises do) by the pixel's
`ShopifyStore`, under the tag's env (FakeEnv here, as for every CPython test of the tag), the
collector's answers from the fake transport. The compiled pixel runs the same in a sandboxed iframe:
tests/browser/test_shopify_pixel.py."""

from __future__ import annotations

from urllib.parse import unquote

from collector.shopify import order_event
from tests.support.vectors import CPYTHON_ORIGIN, SETTINGS
from tests.unit.fakes import Browser, FakeEnv, FakeHooks, delivered_events
from tracker import checkout, journal, keys, page, pixel, sandbox

CHECKOUT = CPYTHON_ORIGIN + '/checkouts/cn/tok1/information'
THANK_YOU = CPYTHON_ORIGIN + '/checkouts/cn/tok1/thank-you'
ORDER_ID = '5550001'


class Later:
    """A promise's stand-in: `then(ok, fail)` answers on the next timer run (or never)."""

    def __init__(self, env: FakeEnv, value, answer: bool = True):
        self.env, self.value, self.answer = env, value, answer

    def then(self, ok, fail):
        if self.answer:
            self.env.set_timer(lambda: ok(self.value), 0)


class Shop:
    """Shopify's `browser` (cookie and localStorage of the top page) over `browser`'s jar and
    storage, as pixel_main.shop_storage hands it over; `answering=False`: no promise ever settles."""

    def __init__(self, env: FakeEnv | None, browser: Browser, answering: bool = True):
        self.env, self.browser, self.answering = env, browser, answering
        self.reads: list[str] = []
        self.writes: list[tuple] = []

    def api(self) -> dict:
        return {'cookie': self.cookie, 'set_cookie': self.set_cookie, 'item': self.item,
                'set_item': self.set_item, 'remove_item': self.remove_item}

    def cookie(self, name):
        self.reads.append(name)
        return Later(self.env, self.browser.cookies.get(name, ''), self.answering)

    def set_cookie(self, text):
        self.writes.append(('cookie', text))
        name, _, rest = text.partition('=')
        value = rest.split(';')[0]
        if 'Max-Age=0;' in text:
            self.browser.cookies.pop(name, None)
        else:
            self.browser.cookies[name] = value
        return Later(self.env, None)

    def item(self, key):
        self.reads.append(key)
        return Later(self.env, self.browser.storage.get(key), self.answering)

    def set_item(self, key, text):
        self.writes.append(('item', key))
        self.browser.storage[key] = text
        return Later(self.env, None)

    def remove_item(self, key):
        self.writes.append(('remove', key))
        self.browser.storage.pop(key, None)
        return Later(self.env, None)


def shopify_event(name: str, href: str, checkout_data: dict | None = None, event_id: str | None = None) -> dict:
    event = {'id': event_id or f'{name}-{href}', 'name': name,
             'context': {'document': {'location': {'href': href}, 'referrer': ''}}, 'data': {}}
    if checkout_data is not None:
        event['data']['checkout'] = checkout_data
    return event


def a_checkout(email: str = 'ann@example.com', attributes=None) -> dict:
    return {'token': 'tok1', 'email': email, 'attributes': attributes or [],
            'totalPrice': {'amount': 60.5, 'currencyCode': 'GBP'}, 'order': {'id': f'gid://shopify/Order/{ORDER_ID}'},
            'lineItems': [{'quantity': 2, 'variant': {'id': 'gid://shopify/ProductVariant/44001',
                                                      'price': {'amount': 25.0}, 'product': {'id': '8001'}}},
                          {'quantity': 1, 'variant': {'id': '44002', 'price': {'amount': 10.5},
                                                      'product': {'id': '8002'}}}]}


def open_pixel(browser: Browser, settings=SETTINGS, shop_init=None, answering=True, automated=False):
    shop = Shop(None, browser, answering)
    store = sandbox.ShopifyStore(shop.api(), settings['account_id'])
    env = FakeEnv(browser, store=store)
    shop.env = env
    the_pixel = pixel.Pixel(env, store, pixel.PixelHooks(automated, False), settings, shop_init or {},
                            journal.Journal(False))
    return the_pixel, env, shop


def storefront_visit(browser: Browser) -> dict:
    """A storefront page of the theme's tag: the visitor and session the pixel must carry on."""
    env = FakeEnv(browser, href=CPYTHON_ORIGIN + '/products/red-shoe')
    tag = page.Page(env, FakeHooks(env, {'template': 'product', 'product_id': 8001}), {}, SETTINGS, journal.Journal(False))
    tag.start()
    tag.loaded()
    env.run()
    return delivered_events(browser)[-1]


def buy(the_pixel, env):
    for event in (shopify_event('page_viewed', CHECKOUT), shopify_event('checkout_started', CHECKOUT, a_checkout()),
                  shopify_event('checkout_contact_info_submitted', CHECKOUT, a_checkout()),
                  shopify_event('checkout_shipping_info_submitted', CHECKOUT, a_checkout()),
                  shopify_event('payment_info_submitted', CHECKOUT, a_checkout()),
                  shopify_event('page_viewed', THANK_YOU), shopify_event('checkout_completed', THANK_YOU, a_checkout())):
        the_pixel.receive(event)
        env.advance(100)
    env.advance(5000)


def test_storefront_events_record_nothing_and_read_nothing():
    browser = Browser()
    the_pixel, env, shop = open_pixel(browser)
    for name in ('page_viewed', 'product_viewed', 'product_added_to_cart', 'cart_viewed'):
        the_pixel.receive(shopify_event(name, CPYTHON_ORIGIN + '/products/red-shoe', a_checkout()))
    env.advance(10_000)
    assert browser.sent == [] and shop.reads == [] and shop.writes == []


def test_a_checkout_is_the_storefront_visitors_from_first_step_to_order():
    browser = Browser()
    seen = storefront_visit(browser)
    before = len(delivered_events(browser))
    the_pixel, env, shop = open_pixel(browser)
    buy(the_pixel, env)
    events = delivered_events(browser)[before:]
    kinds = [(e['type'], e.get('page_type') or e.get('stage') or e.get('order_id') or e.get('email')) for e in events]
    assert kinds == [('pageview', 'checkout'), ('setbasket', None), ('checkout', 'checkout'), ('checkout', 'contact'),
                     ('identify', 'ann@example.com'), ('checkout', 'shipping'), ('checkout', 'payment'),
                     ('pageview', 'confirmation'), ('transaction', ORDER_ID)]
    assert {(e['cid'], e['sid']) for e in events} == {(seen['cid'], seen['sid'])}, 'one visitor, one session'
    basket = events[1]['basket']
    assert basket['total'] == 60.5 and basket['currency'] == 'GBP'
    assert [(i['product_id'], i['variant_id'], i['quantity'], i['price']) for i in basket['items']] == \
        [('8001', '44001', 2, 50.0), ('8002', '44002', 1, 10.5)]
    assert basket['url'] == CPYTHON_ORIGIN + '/cart/44001:2,44002:1'
    assert events[4]['via'] == 'pixel' and all(e.get('uid') == 'ann@example.com' for e in events[5:])
    assert events[-1]['extra'] == {'source': 'shopify_pixel', 'total': 60.5, 'currency': 'GBP'}
    assert not [r for r in shop.reads if not (r in pixel.cookie_names() or r.startswith('ometria:shop:'))]


def test_an_order_is_one_transaction_however_often_it_arrives_and_the_webhooks_is_the_same_event():
    browser = Browser()
    the_pixel, env, _ = open_pixel(browser)
    buy(the_pixel, env)
    # Shopify delivering the same event again, then firing it anew (a reloaded thank-you page).
    the_pixel.receive(shopify_event('checkout_completed', THANK_YOU, a_checkout()))
    the_pixel.receive(shopify_event('checkout_completed', THANK_YOU, a_checkout(), event_id='again'))
    again, env2, _ = open_pixel(browser)
    again.receive(shopify_event('checkout_completed', THANK_YOU, a_checkout(), event_id='another-frame'))
    env.advance(5000)
    env2.advance(5000)
    orders = [e for e in delivered_events(browser) if e['type'] == 'transaction']
    assert len(orders) == 1
    webhook = order_event(SETTINGS['account_id'], {'id': int(ORDER_ID), 'email': 'ann@example.com'}, None, None, 0)
    assert orders[0]['id'] == webhook['id'] == checkout.order_event_id(SETTINGS['account_id'], ORDER_ID)
    assert checkout.order_event_id('other', ORDER_ID) != orders[0]['id']
    assert checkout.order_event_id(SETTINGS['account_id'], ORDER_ID + '1') != orders[0]['id']


def test_without_the_cookie_the_visitor_is_the_one_the_cart_names():
    browser = Browser()
    cid = 'c0ffee00-0000-4000-8000-000000000001'
    the_pixel, env, shop = open_pixel(browser, shop_init={'data': {'cart': {'attributes': [
        {'key': '_ometria_cid', 'value': cid}]}}})
    buy(the_pixel, env)
    events = delivered_events(browser)
    assert events and {e['cid'] for e in events} == {cid}
    assert f'cid={cid}' in unquote(browser.cookies['ometria']), 'written back for the next storefront page'
    # The checkout's own attributes, when the cart snapshot has none; a bad id is nobody's.
    for attributes, expected in (([{'key': '_ometria_cid', 'value': cid}], cid),
                                 ([{'key': '_ometria_cid', 'value': 'x;sid=1'}], None)):
        fresh = Browser()
        the_pixel, env, _ = open_pixel(fresh)
        the_pixel.receive(shopify_event('checkout_started', CHECKOUT, a_checkout(attributes=attributes)))
        env.advance(5000)
        cids = {e['cid'] for e in delivered_events(fresh)}
        assert len(cids) == 1 and (cids == {expected} if expected else cids != {cid})


def test_a_consent_required_account_sends_and_writes_nothing_until_shopify_says_yes():
    browser = Browser()
    settings = {**SETTINGS, 'consent': 'required,,,refuse'}
    the_pixel, env, shop = open_pixel(browser, settings, {'customerPrivacy': {'marketingAllowed': False}})
    buy(the_pixel, env)
    assert browser.sent == [] and shop.writes == [], 'nothing sent or written before consent'
    the_pixel.consent_collected({'customerPrivacy': {'marketingAllowed': True, 'analyticsProcessingAllowed': True}})
    env.advance(5000)
    assert [e['type'] for e in delivered_events(browser)][-1] == 'transaction'
    assert 'ometria' in browser.cookies


def test_a_refusal_drops_what_was_held():
    browser = Browser()
    settings = {**SETTINGS, 'consent': 'required,,,refuse'}
    the_pixel, env, shop = open_pixel(browser, settings, {'customerPrivacy': {'marketingAllowed': False}})
    buy(the_pixel, env)
    the_pixel.consent_collected({'customerPrivacy': {'marketingAllowed': False}})
    env.advance(60_000)
    assert browser.sent == [] and not [w for w in shop.writes if w[0] != 'cookie' or 'om_consent' not in w[1]]


def test_when_the_store_never_answers_events_still_go_and_nothing_is_overwritten():
    browser = Browser()
    browser.cookies['ometria'] = 'cid=c0ffee00-0000-4000-8000-000000000009'
    the_pixel, env, shop = open_pixel(browser, answering=False)
    buy(the_pixel, env)
    env.advance(sandbox.PRIME_TIMEOUT_MS)
    assert [e['type'] for e in delivered_events(browser)][-1] == 'transaction'
    assert shop.writes == [] and browser.cookies['ometria'] == 'cid=c0ffee00-0000-4000-8000-000000000009'


INDEX = keys.storage_key(SETTINGS['account_id'], keys.PIXEL_INDEX)


def bought_while_the_collector_was_down() -> Browser:
    """A browser whose checkout pixel recorded a purchase the collector answered 503 to, the frame
    gone since (past its outbox's lease), the collector taking events again."""
    browser = Browser()
    browser.answer = 503
    the_pixel, env, _ = open_pixel(browser)
    buy(the_pixel, env)
    the_pixel.left()
    env.run()
    browser.answer = 204
    browser.now += 120_000
    return browser


def test_events_the_collector_did_not_take_wait_in_the_stores_storage_for_the_next_frame():
    browser = bought_while_the_collector_was_down()
    assert INDEX in browser.storage, "the pixel's outbox is listed, since storage cannot be listed"
    the_next, env2, _ = open_pixel(browser)
    the_next.receive(shopify_event('page_viewed', CHECKOUT, event_id='next-page'))
    env2.advance(5000)
    kinds = [e['type'] for e in delivered_events(browser)]
    assert kinds.count('transaction') == 1 and kinds.count('pageview') == 3
    assert not [k for k in browser.storage if k.startswith(keys.storage_key(SETTINGS['account_id'], keys.QUEUE))]


def test_an_automated_browsers_checkout_is_marked():
    browser = Browser()
    the_pixel, env, _ = open_pixel(browser, automated=True)
    buy(the_pixel, env)
    assert all(e.get('automated') for e in delivered_events(browser))


def test_a_storefront_page_takes_up_a_left_pixel_outbox_and_the_list_forgets_it():
    """The storefront tag lists storage: it takes up the pixel's outbox once its lease ran out (it
    is the store's storage, shared); the pixel's list of its keys then drops the key."""
    browser = bought_while_the_collector_was_down()
    storefront_visit(browser)
    assert [e['type'] for e in delivered_events(browser)].count('transaction') == 1
    assert INDEX in browser.storage, 'still listed: only the pixel writes its list'
    again, env2, _ = open_pixel(browser)
    again.receive(shopify_event('page_viewed', CHECKOUT, event_id='later'))
    env2.advance(5000)
    assert INDEX not in browser.storage and not [k for k in browser.storage if ':q:' in k]
