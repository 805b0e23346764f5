"""Shopify's theme data layer: the `window.ometria.raw_data` that a Shopify store's theme snippet
writes before the tag loads, as the deployed tag's Shopify plugin reads it. It is told apart from
Magento's (`datalayer.py`) by its `template` key, and the tag initialises the page from it by
itself (`engine.Engine.init_from_data_layer`), as it does from Magento's.

`read_shop(raw, href)`: None when `raw` is not Shopify's; else what the page records,
{'page_type', 'page_data', 'store_id', 'order_id', 'basket', 'email', 'checkout', 'linked'}:
- page type: the first part of the dot-separated `template` that TEMPLATE_PAGE_TYPES knows
  (`product.alternate` is a product page); on a URL holding `checkouts` or `checkout_url` (a
  checkout that still runs theme scripts), `checkout`, and `checkout` True (`trackCheckout`);
- page data: a product page's `{pid: product_id}`; a collection's `{category_id (or "all"),
  attributes: [{id: collection_handle, type: "category"}], nitems: collection_count, page:
  current_page}`; a search's `{search: search_terms, nitems: search_count, page: current_page}`;
- order id: a confirmation page's `order` (recorded as its transaction);
- basket: from `cart`, a list of `[product id, variant id, quantity, line price in cents]`:
  each line's price is its line price / 100, the total `cart_total` / 100, the currency
  `shop_currency`, the URL the cart permalink `<origin>/cart/<variant>:<quantity>,...` (it
  rebuilds the cart on any device: what an abandoned-basket email links to); None without a
  `cart` list (the engine sends an empty one only to a visitor whose basket was sent before);
- email: `customer_email`, when it is a string (the signed-in customer);
- store id: `site` (else "default");
- linked: the page's host ends with `.shopify.com` (a session linked to Shopify's own pages).
Every id read (product, category, order, site) is prefixed with `namespace` when that is a
non-empty string. What the values are worth is the engine's business (coerce.py), as for any call.

Pure: imports only `prims` and `urls`.
"""

from tracker import prims, urls

# A `template` part and the page type it means, in the order the parts are tried.
TEMPLATE_PAGE_TYPES = {
    'index': 'homepage',
    'collection': 'listing',
    'search': 'listing',
    'cart': 'basket',
    'confirmation': 'confirmation',
    'product': 'product',
}
CENTS_PER_UNIT = 100
# Shopify's cookie naming the shopper's cart, and the cart attribute the tag writes the visitor id
# into (Shopify copies it into the order: collector/shopify.py reads it from the order webhook).
CART_COOKIE = 'cart'
CID_ATTRIBUTE = '_ometria_cid'
# Where a storefront page changes its cart's attributes (Shopify's Ajax API).
CART_UPDATE_PATH = '/cart/update.js'
CHECKOUT_MARKS = ['checkouts', 'checkout_url']
LINKED_HOST_SUFFIX = '.shopify.com'


def is_shop(raw):
    """True when `raw` is Shopify's data layer (its `template` is text)."""
    return prims.is_plain_object(raw) and prims.is_string(prims.read_key(raw, 'template'))


def _units(cents):
    return cents / CENTS_PER_UNIT if prims.is_finite(cents) else None


def id_text(value):
    """An id as text: a string as it is, a finite number as JavaScript writes it; else None."""
    if prims.is_string(value):
        return value
    return prims.number_text(value) if prims.is_finite(value) else None


def cart_url(origin, links):
    """The cart permalink `<origin>/cart/<variant>:<quantity>,...` of `links` (each
    `<variant>:<quantity>`), which rebuilds the cart on any device; None without a line."""
    return origin + '/cart/' + prims.join(links, ',') if len(links) > 0 else None


def _page_type(template):
    for part in prims.split_text(template, '.'):
        if prims.has_key(TEMPLATE_PAGE_TYPES, part):
            return [part, TEMPLATE_PAGE_TYPES[part]]
    return [None, None]


def _basket(raw, origin, ns):
    lines = prims.read_key(raw, 'cart')
    if not prims.is_list(lines):
        return None
    items = []
    links = []
    for line in lines:
        if prims.is_list(line) and len(line) >= 4:
            prims.append(items, {'product_id': ns(line[0]), 'variant_id': line[1], 'quantity': line[2],
                                 'price': _units(line[3])})
            variant = id_text(line[1])
            quantity = id_text(line[2])
            if variant != None and quantity != None:
                prims.append(links, variant + ':' + quantity)
    return {'id': None, 'total': _units(prims.read_key(raw, 'cart_total')),
            'currency': prims.read_key(raw, 'shop_currency'), 'items': items,
            'url': cart_url(origin, links)}


def read_shop(raw, href):
    """What Shopify's data layer `raw` says of the page at `href` (see the module docstring), or None."""
    if not is_shop(raw):
        return None
    namespace = prims.read_key(raw, 'namespace')

    def ns(value):
        text = id_text(value)
        if prims.is_string(namespace) and len(namespace) > 0 and text != None:
            return namespace + text
        return value

    found = _page_type(raw['template'])
    part = found[0]
    page_type = found[1]
    page_data = {}
    order_id = None
    if part == 'product':
        page_data['pid'] = ns(prims.read_key(raw, 'product_id'))
    elif part == 'collection':
        category = prims.read_key(raw, 'collection_id')
        page_data['category_id'] = ns(category) if category != None else 'all'
        page_data['attributes'] = [{'id': prims.read_key(raw, 'collection_handle'), 'type': 'category'}]
        page_data['nitems'] = prims.read_key(raw, 'collection_count')
        page_data['page'] = prims.read_key(raw, 'current_page')
    elif part == 'search':
        page_data['search'] = prims.read_key(raw, 'search_terms')
        page_data['nitems'] = prims.read_key(raw, 'search_count')
        page_data['page'] = prims.read_key(raw, 'current_page')
    elif part == 'confirmation':
        order_id = ns(prims.read_key(raw, 'order'))
    checkout = False
    for mark in CHECKOUT_MARKS:
        if prims.find(href, mark) >= 0:
            checkout = True
    if checkout:
        page_type = 'checkout'
    site = prims.read_key(raw, 'site')
    email = prims.read_key(raw, 'customer_email')
    return {
        'page_type': page_type,
        'page_data': page_data,
        'store_id': ns(site if site != None else 'default'),
        'order_id': order_id,
        'basket': _basket(raw, urls.origin_of(href), ns),
        'email': email if prims.is_string(email) else None,
        'checkout': checkout,
        'linked': prims.ends_with(urls.host_of(href), LINKED_HOST_SUFFIX),
    }
