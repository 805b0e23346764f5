"""How real storefronts load and call the tag (spec/real-clients), in Chromium against the real
collector: async loading, pre-existing objects, double includes, old prototype-patching
libraries, the visitor cookie's attributes."""

from __future__ import annotations

import time
import urllib.request

from tests.support.servers import StorePages, self_signed_certificate


def test_async_load_after_dom_ready_with_a_data_layer_and_hooks(shop, page, page_errors):
    head = ('<script>window.ometria = window.ometria || {}; ometria.raw_data = {type: "product", store: 2, '
            'data: {id: 77, sku: "S", name: "Shoe"}};'
            'window.hooks = []; ometria.onLoad = function () { hooks.push("onLoad"); ometria.identify("a@b.co"); };'
            'window.onOmetriaLoaded = function () { hooks.push("onOmetriaLoaded:" + typeof ometria.init); };</script>')
    mark = shop.mark()
    page.goto(shop.page(head=head, tag='async'))
    page.wait_for_function('window.hooks.length == 2')
    assert page.evaluate('hooks') == ['onLoad', 'onOmetriaLoaded:function']
    events = shop.wait_events(mark, 2)
    assert [(e['type'], e.get('page_data'), e['store_id']) for e in events] == [
        ('pageview', {'pid': '77'}, '2'), ('identify', None, '2')]
    assert page.evaluate('ometria.raw_data.data.sku') == 'S'
    assert page_errors == []


def test_an_existing_object_is_merged_into_and_stubs_are_replaced(shop, page, page_errors):
    head = ('<script>window.stubCalls = 0; window.ometria = {identify: function () { stubCalls++; }, '
            'custom: {kept: true}, trackAddToBasket: "not a function"};</script>')
    mark = shop.mark()
    page.goto(shop.page(head=head, body='<script>ometria.init("homepage"); ometria.identify("x@y.co");'
                                         'ometria.trackAddToBasket("1");</script>'))
    assert page.evaluate('ometria.custom') == {'kept': True}
    assert page.evaluate('stubCalls') == 0
    assert [e['type'] for e in shop.wait_events(mark, 3)] == ['pageview', 'identify', 'addtobasket']
    assert page_errors == []


def test_a_frozen_or_foreign_global_is_replaced_keeping_its_data(shop, page, page_errors):
    head = '<script>window.ometria = Object.freeze({raw_data: {type: "content", store: 3}});</script>'
    mark = shop.mark()
    page.goto(shop.page(head=head))
    assert page.evaluate('Object.isFrozen(ometria)') is False
    assert page.evaluate('ometria.raw_data.type') == 'content'
    events = shop.wait_events(mark, 1)
    assert (events[0]['page_type'], events[0]['store_id']) == ('content', '3')
    assert page_errors == []


def test_an_element_named_ometria_does_not_stop_the_tag(shop, page, page_errors):
    mark = shop.mark()
    page.goto(shop.page(head='', body='<div id="ometria"></div><script src="{TAG}"></script>'
                                      '<script>ometria.init("listing");</script>', tag='none'))
    assert shop.wait_events(mark, 1)[0]['page_type'] == 'listing'
    assert page_errors == []


def test_loading_the_tag_twice_keeps_one_tag(shop, page, page_errors):
    head = ('<script>window.runs = {onLoad: 0, loaded: 0}; window.ometria = {onLoad: function () { runs.onLoad++; '
            'ometria.init("homepage"); }}; window.onOmetriaLoaded = function () { runs.loaded++; };</script>')
    body = ('<script src="{TAG}"></script><script>ometria.trackAddToBasket("after-second");</script>'
            '<script>var s = document.createElement("script"); s.src = "{TAG}"; document.body.appendChild(s);</script>')
    mark = shop.mark()
    page.goto(shop.page(head=head, body=body) + '#om_debug')
    page.wait_for_timeout(300)
    page.evaluate('ometria.trackCheckout("billing")')
    events = shop.wait_events(mark, 3)
    assert [e['type'] for e in events] == ['pageview', 'addtobasket', 'checkout']
    assert page.evaluate('runs') == {'onLoad': 1, 'loaded': 1}
    warnings = page.evaluate("""Array.from(document.querySelector('ometria-debug').shadowRoot
        .querySelectorAll('.entry.warn')).map(e => e.textContent)""")
    assert any('loaded twice' in w for w in warnings)
    assert page_errors == []


def test_prototype_patching_libraries_do_not_change_what_is_sent(shop, page, page_errors):
    """Old Prototype.js / MooTools sites add enumerable methods to built-in prototypes, and
    Prototype.js 1.6 adds Array.prototype.toJSON, which breaks a naive JSON.stringify."""
    patch = ('<script>Array.prototype.append = function (x) { this.push("MOO"); return this; };'
             'Array.prototype.each = function () {}; String.prototype.strip = function () { return "X"; };'
             'String.prototype.startsWith = function () { return false; };'
             'Array.prototype.toJSON = function () { return JSON.stringify(this.slice()); };'
             'Object.prototype.polluted = "yes";</script>')
    body = ('<script>ometria.init("product", {pid: 5, tags: ["a", "b"]}, "uk"); var b = new ometria.Basket();'
            'b.addLineItem("1", " 2 ", 5).addLineItem("2", 1, 5, {sizes: ["S", "M"]}); b.setTotal(15, "GBP");'
            'ometria.setBasket(b); ometria.identify(" Pat@Example.com ");</script>')
    mark, rejects = shop.mark(), shop.reject_mark()
    page.goto(shop.page(head=patch, body=body))
    events = shop.wait_events(mark, 3)
    assert events[0]['page_data'] == {'pid': '5', 'tags': ['a', 'b']}
    assert events[1]['basket']['items'] == [
        {'product_id': '1', 'quantity': 2, 'price': 5, 'variant_id': None},
        {'product_id': '2', 'quantity': 1, 'price': 5, 'variant_id': None, 'props': {'sizes': ['S', 'M']}},
    ]
    assert events[2]['email'] == 'Pat@Example.com'
    assert shop.rejects(rejects) == []
    assert page_errors == []


def test_the_visitor_cookie_as_magento_reads_it(shop, page, context):
    url = shop.page(body='<script>ometria.init("homepage");</script>', host='www.shop.test')
    mark = shop.mark()
    page.goto(url)
    events = shop.wait_events(mark, 1)
    cookie = next(c for c in context.cookies() if c['name'] == 'ometria')
    assert cookie['domain'] == '.shop.test'
    assert cookie['path'] == '/'
    assert cookie['sameSite'] == 'Lax'
    assert cookie['secure'] is False
    days = (cookie['expires'] - time.time()) / 86400
    assert 364 < days <= 365
    fields = dict(part.split('=', 1) for part in cookie['value'].split('&'))
    assert fields['cid'] == events[0]['cid'] and fields['sid'] == events[0]['sid']
    assert abs(int(fields['seen']) - events[0]['ts']) < 10_000


def test_the_visitor_cookie_is_secure_on_https(shop, page, context, tmp_path):
    secure_store = StorePages(tls=self_signed_certificate(tmp_path, 'shop.test'))
    try:
        tag = urllib.request.urlopen(shop.tag_url()).read().decode()
        secure_store.add('/tag.js', tag, content_type='text/javascript')
        secure_store.add('/', '<!doctype html><script src="/tag.js"></script><script>ometria.init("homepage");</script>')
        page.goto(secure_store.url('/', host='www.shop.test'))
        page.wait_for_function("document.cookie.indexOf('ometria=') >= 0")
        cookie = next(c for c in context.cookies() if c['name'] == 'ometria')
        assert cookie['secure'] is True and cookie['domain'] == '.shop.test' and cookie['sameSite'] == 'Lax'
    finally:
        secure_store.close()


def test_the_visitor_stays_across_pages_and_tabs(shop, context):
    first, second = context.new_page(), context.new_page()
    mark = shop.mark()
    first.goto(shop.page(body='<script>ometria.init("homepage");</script>'))
    second.goto(shop.page(body='<script>ometria.init("listing");</script>'))
    events = shop.wait_events(mark, 2)
    assert events[0]['cid'] == events[1]['cid'] and events[0]['sid'] == events[1]['sid']
    first.close()
    second.close()


def test_hostile_calls_never_throw_into_the_page_nor_send_anything_invalid(shop, page, page_errors):
    mark, rejects = shop.mark(), shop.reject_mark()
    page.goto(shop.page())
    thrown = page.evaluate("""() => {
        var thrown = [], values = [undefined, null, NaN, Infinity, -1, 0, '', {}, [], function () {},
            Object.create(null), new Proxy({}, {get: function () { throw new Error('trap'); }}), Symbol('s'),
            '\\ud800', 'x'.repeat(1000000), document.body, 10n];
        var names = ['init', 'identify', 'setBasket', 'getBasket', 'trackAddToBasket', 'trackCheckout', 'trackTransaction'];
        names.forEach(function (name) {
            values.forEach(function (a) { values.forEach(function (b) {
                try { ometria[name](a, b, a); } catch (e) { thrown.push(name + ': ' + e); }
            }); });
        });
        var basket = new ometria.Basket();
        ['setId', 'setTotal', 'addLineItem', 'setUrl', 'setURL'].forEach(function (name) {
            values.forEach(function (a) { try { basket[name](a, a, a, a, a); } catch (e) { thrown.push(name + ': ' + e); } });
        });
        return thrown;
    }""")
    assert thrown == []
    stored = shop.wait_events(mark, 20, timeout=30, settle=1.5)
    assert {e['type'] for e in stored} >= {'pageview', 'addtobasket', 'checkout', 'transaction'}
    assert shop.rejects(rejects) == [], 'the tag sent events the contract refuses'
    assert page_errors == []


SHOPIFY_THEME = """<script>window.ometria = window.ometria || {}; ometria.raw_data = {template: "product",
  product_id: 8001, customer_email: "shopper@example.com", shop_currency: "GBP", cart_total: 5000,
  cart: [[8001, 44001, 1, 5000]]}; window.loaded = 0; window.onOmetriaLoaded = function () { loaded++; };</script>"""


def test_a_shopify_theme_page_initialises_itself_and_names_its_visitor_in_the_cart(shop, page, context, page_errors):
    """Shopify's theme snippet writes raw_data and never calls init: the tag records the page,
    the customer and the cart by itself, calls onOmetriaLoaded, and writes its visitor id into the
    cart's attributes through Shopify's /cart/update.js, once for this cart (tests/unit/test_shopify.py:
    the rules; tests/vectors/shopify-datalayer.json: every field)."""
    updates = []

    def cart_update(route):
        updates.append((route.request.method, route.request.headers.get('content-type'), route.request.post_data_json))
        route.fulfill(status=200, content_type='application/json', body='{}')

    page.route('**/cart/update.js', cart_update)
    url = shop.page(head=SHOPIFY_THEME)
    context.add_cookies([{'name': 'cart', 'value': 'c1-7a3f', 'url': url}])
    mark = shop.mark()
    page.goto(url)
    events = shop.wait_events(mark, 3)
    assert [(e['type'], e.get('page_type') or e.get('email') or e.get('basket', {}).get('url')) for e in events] == [
        ('pageview', 'product'), ('identify', 'shopper@example.com'),
        ('setbasket', url.split('/page-')[0] + '/cart/44001:1')]
    assert page.evaluate('loaded') == 1
    page.reload()
    shop.wait_events(mark, 4)
    assert updates == [('POST', 'application/json', {'attributes': {'_ometria_cid': events[0]['cid']}})]
    assert page_errors == []
