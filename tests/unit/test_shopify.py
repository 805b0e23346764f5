"""Shopify's theme data layer under CPython (tracker/shopify.py, engine.init_from_data_layer): what
the vector tests/vectors/shopify-datalayer.json does not cover, the cart attribute that names the
visitor in the store's orders, and the data layers that are not Shopify's. (The vector runs in
the four engines too: tests/engines/test_vectors.py.)"""

from __future__ import annotations

import json

from tests.support.vectors import CPYTHON_ORIGIN, SETTINGS, VECTOR_DIR, normalize, run_in_cpython
from tests.unit.fakes import Browser, FakeEnv, FakeHooks, delivered_events
from tests.unit.test_vectors import check_expectations
from tracker import journal, page, shopify

CART = [[8001, 44001, 1, 5000]]


def open_page(browser: Browser, raw: dict, path: str = '/products/red-shoe'):
    env = FakeEnv(browser, href=CPYTHON_ORIGIN + path)
    tag = page.Page(env, FakeHooks(env, raw), {'raw_data': raw}, SETTINGS, journal.Journal(False))
    tag.start()
    tag.loaded()
    env.run()
    return env


def test_the_visitor_id_goes_into_each_cart_once():
    browser = Browser()
    browser.cookies['cart'] = 'c1-first'
    pages = [open_page(browser, {'template': 'product', 'product_id': 8001, 'cart': CART}) for _ in range(3)]
    cid = delivered_events(browser)[0]['cid']
    asked = [call for env in pages for call in env.page.get('cart_attributes', [])]
    assert asked == [('/cart/update.js', '_ometria_cid', cid)], 'once for this cart'
    browser.cookies['cart'] = 'c1-second'
    again = open_page(browser, {'template': 'cart', 'cart': CART}, '/cart')
    assert again.page.get('cart_attributes') == [('/cart/update.js', '_ometria_cid', cid)], 'a new cart: again'


def test_no_cart_attribute_without_a_cart_or_its_lines():
    browser = Browser()
    assert 'cart_attributes' not in open_page(browser, {'template': 'product', 'cart': CART}).page, 'no cart cookie'
    browser.cookies['cart'] = 'c1-empty'
    assert 'cart_attributes' not in open_page(browser, {'template': 'index', 'cart': []}, '/').page


def test_a_data_layer_without_a_template_is_not_shopifys():
    assert shopify.read_shop({'type': 'product', 'data': {'id': 1}}, CPYTHON_ORIGIN + '/') is None
    assert shopify.read_shop({'template': 42}, CPYTHON_ORIGIN + '/') is None
    assert shopify.read_shop(['template'], CPYTHON_ORIGIN + '/') is None


def test_any_part_of_the_template_counts_and_an_unknown_one_is_no_type():
    read = [shopify.read_shop({'template': t}, CPYTHON_ORIGIN + '/x')['page_type']
            for t in ('product.alternate', 'alternate.collection', 'page.contact', 'constructor', '')]
    assert read == ['product', 'listing', None, None, None]


def test_shopifys_own_hosts_link_the_session_and_a_checkout_url_is_a_checkout():
    on_shopify = shopify.read_shop({'template': 'index'}, 'https://checkout.shopify.com/123/checkouts/abc')
    assert on_shopify['linked'] and on_shopify['checkout'] and on_shopify['page_type'] == 'checkout'
    own = shopify.read_shop({'template': 'index'}, 'https://shop.myshopify.com/?checkout_url=/x')
    assert not own['linked'] and own['checkout']
    browser = Browser()
    open_page(browser, {'template': 'index'}, '/')
    env = FakeEnv(browser, href='https://checkout.shopify.com/1/checkouts/abc')
    tag = page.Page(env, FakeHooks(env, {'template': 'index'}), {'raw_data': {'template': 'index'}}, SETTINGS,
                    journal.Journal(False))
    tag.start()
    env.run()
    last = delivered_events(browser)[-2:]
    assert [(e['type'], e.get('linked')) for e in last] == [('pageview', True), ('checkout', True)]


def test_an_empty_cart_is_sent_only_once_a_basket_was():
    browser = Browser()
    open_page(browser, {'template': 'index', 'cart': []}, '/')
    assert [e['type'] for e in delivered_events(browser)] == ['pageview'], 'a new visitor: nothing to clear'
    open_page(browser, {'template': 'product', 'product_id': 8001, 'cart': CART})
    open_page(browser, {'template': 'cart', 'cart': []}, '/cart')
    assert [(e['type'], e.get('basket', {}).get('size')) for e in delivered_events(browser)][1:] == [
        ('pageview', None), ('setbasket', 1), ('pageview', None), ('setbasket', 0)], 'emptied: said so'


def test_the_cart_learns_no_visitor_id_before_consent():
    """A consent-required account: the visitor id leaves the page only once the shopper agreed."""
    browser = Browser()
    browser.cookies['cart'] = 'c1-consent'
    settings = {**SETTINGS, 'consent': 'required,,,refuse'}
    raw = {'template': 'product', 'product_id': 8001, 'cart': CART}
    env = FakeEnv(browser, href=CPYTHON_ORIGIN + '/products/red-shoe')
    target = {'raw_data': raw}
    tag = page.Page(env, FakeHooks(env, raw), target, settings, journal.Journal(False))
    tag.start()
    env.run()
    assert 'cart_attributes' not in env.page, 'pending: nothing leaves'
    target['setConsent'](True, None, None)
    env.run()
    later = FakeEnv(browser, href=CPYTHON_ORIGIN + '/cart')
    page.Page(later, FakeHooks(later, {**raw, 'template': 'cart'}), {'raw_data': {**raw, 'template': 'cart'}}, settings,
              journal.Journal(False)).start()
    later.run()
    assert [name for _, name, _ in later.page['cart_attributes']] == ['_ometria_cid'], 'granted: the next page says'


def test_the_shopify_set_reads_the_data_layer_without_magentos_code():
    """The `shopify` set is built without MAGENTO: the vector gives the same events there (its
    hook once read raw_data only with Magento's flag, and a Shopify store's tag recorded nothing)."""
    vector = json.loads((VECTOR_DIR / 'shopify-datalayer.json').read_text(encoding='utf-8'))
    result = run_in_cpython(vector, left_out=frozenset({'MAGENTO', 'CONSENT', 'FORMS'}))
    check_expectations(vector, normalize(result['events'], result['lines'], CPYTHON_ORIGIN))
