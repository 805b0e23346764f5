"""Loading the built tag with a plain <script src>: the public object, and the store's page left
as it was (one new global, built-in prototypes untouched)."""

from __future__ import annotations

import json

# The documented calls, then the deployed tag's others (spec: deployed-tag.md section 1).
PUBLIC_NAMES = ['init', 'identify', 'Basket', 'setBasket', 'getBasket', 'trackAddToBasket', 'trackCheckout',
                'trackTransaction', 'track', 'setProfileData', 'viewProduct', 'setPageType', 'setPageData', 'getIdentity',
                'isNewVisitor', 'linkSession', 'observeEmailInputs', 'setDebugLogging', '_debug', 'ajaxFormSubmit',
                'request', 'setConsent', 'forget']

SNAPSHOT = """
window.__snapshot = function () {
  var builtins = {Array: Array, String: String, Number: Number, Boolean: Boolean, Function: Function,
                  Object: Object, Date: Date, RegExp: RegExp, Promise: Promise, Error: Error};
  var result = {globals: Object.getOwnPropertyNames(window).sort(), enumerable: {}, own: {}};
  Object.keys(builtins).forEach(function (name) {
    var proto = builtins[name].prototype, keys = [];
    for (var k in proto) { keys.push(k); }
    result.enumerable[name] = keys.sort();
    result.own[name] = Object.getOwnPropertyNames(proto).sort();
  });
  var arrayKeys = []; for (var i in [1, 2]) { arrayKeys.push(i); }
  var stringKeys = []; for (var j in 'ab') { stringKeys.push(j); }
  result.forInArray = arrayKeys; result.forInString = stringKeys;
  return result;
};
window.__before = window.__snapshot();
"""


def test_the_tag_publishes_exactly_the_documented_api(shop, page, page_errors):
    page.goto(shop.page())
    assert page.evaluate('Object.keys(window.ometria)') == PUBLIC_NAMES
    for name in PUBLIC_NAMES:
        assert page.evaluate(f'typeof ometria.{name}') == 'function'
    assert page_errors == []


def test_new_basket_works_from_plain_javascript(shop, page, page_errors):
    page.goto(shop.page())
    basket = page.evaluate("""() => {
        var b = new ometria.Basket();
        var same = b.setId('R1').setTotal(59.97, 'GBP').addLineItem('2001', 2, 39.98).addLineItem('2002', 1, 19.99, '2002-M')
                    .setUrl('https://shop.example/cart?id=1');
        var also = ometria.Basket();
        var detached = new ometria.Basket(), setId = detached.setId, add = detached.addLineItem;
        setId('D1');
        add('9', 1, 5);
        return {json: JSON.parse(JSON.stringify(b)), chained: same === b, size: b.size, plain: JSON.stringify(also),
                keys: Object.keys(b), detached: [detached.id, detached.size]};
    }""")
    assert basket['chained'] is True
    assert basket['keys'] == ['id', 'currency', 'total', 'url', 'items', 'size'], 'only the data are own properties'
    assert basket['detached'] == ['D1', 1], 'a method read off a basket stays bound to it'
    assert basket['size'] == 3
    assert basket['json'] == {
        'id': 'R1', 'currency': 'GBP', 'total': 59.97, 'url': 'https://shop.example/cart?id=1', 'size': 3,
        'items': [
            {'product_id': '2001', 'quantity': 2, 'price': 39.98, 'variant_id': None},
            {'product_id': '2002', 'quantity': 1, 'price': 19.99, 'variant_id': '2002-M'},
        ],
    }
    assert json.loads(basket['plain']) == {'id': None, 'currency': None, 'total': None, 'url': None, 'items': [],
                                           'size': 0}
    assert page_errors == []


def test_the_only_new_global_is_ometria_and_no_prototype_changes(shop, page, page_errors):
    url = shop.page(head=f'<script>{SNAPSHOT}</script>',
                    body='<script>window.__after = window.__snapshot();</script>')
    page.goto(url)
    before, after = page.evaluate('[window.__before, window.__after]')
    added = sorted(set(after['globals']) - set(before['globals']) - {'__before', '__after'})
    assert added == ['ometria']
    assert after['enumerable'] == before['enumerable']
    assert after['own'] == before['own'], 'the tag wrote to a built-in prototype'
    assert after['forInArray'] == ['0', '1'] and after['forInString'] == ['0', '1']
    assert page_errors == []
