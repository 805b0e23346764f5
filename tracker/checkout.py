"""Shopify's checkout, as its web pixel sees it: what each of Shopify's customer events means to
the tag. The checkout pixel (`pixel.py`) records what `calls_for` answers.

`calls_for(event)`: for one Shopify event (`{id, name, context, data}`), the calls to record, in
order, each a list: `['pageview', page_type]`, `['basket', basket]`, `['checkout', stage]`,
`['identify', email]`, `['transaction', order_id, extra]`. Nothing for a storefront event (the
theme's tag records those) and nothing for an event it does not know:
- `page_viewed`: a pageview on a checkout page (`checkout`) or a thank-you / order status page
  (`confirmation`), never on a storefront page (PAGE_TYPES: the first mark found in the URL's path);
- `checkout_started`: the basket (`checkout.lineItems`, `totalPrice`, the cart permalink that
  rebuilds it) and the `checkout` stage; the contact, address, shipping and payment steps: their
  stage (STAGES);
- `checkout_contact_info_submitted` and `checkout_completed`: identify with `checkout.email`;
- `checkout_completed`: the transaction of `checkout.order.id` (Shopify's `gid://` ids are read as
  their number, as the order webhook's are), its `extra` the total and currency.

`order_event_id(account_id, order_id)`: the id of an order's transaction event, made from the
account and the order id alone: the pixel's transaction and the order webhook's
(`collector/shopify.py`, which calls this very function) are one event, stored once.
`visitor_of(attributes)`: the visitor id the storefront tag wrote into the cart's attributes
(`shopify.CID_ATTRIBUTE`), from Shopify's `[{key, value}]` list, or None.

Pure: imports only `prims`, `session`, `shopify` and `urls`.
"""

from tracker import prims, session, shopify, urls

# A mark in a checkout URL's path and the page type it means, in the order they are tried.
PAGE_TYPES = [['/thank-you', 'confirmation'], ['/thank_you', 'confirmation'], ['/orders/', 'confirmation'],
              ['/checkouts/', 'checkout'], ['/checkout', 'checkout']]
STAGES = {
    'checkout_started': 'checkout',
    'checkout_contact_info_submitted': 'contact',
    'checkout_address_info_submitted': 'address',
    'checkout_shipping_info_submitted': 'shipping',
    'payment_info_submitted': 'payment',
}
IDENTIFYING = ['checkout_contact_info_submitted', 'checkout_completed']
PAGE_VIEWED = 'page_viewed'
STARTED = 'checkout_started'
COMPLETED = 'checkout_completed'
# What the transaction's `extra` says made it (the order webhook's says `shopify_webhook`).
PIXEL_SOURCE = 'shopify_pixel'


def plain_id(value):
    """An id as text: a Shopify `gid://shopify/<Type>/<n>` as its `<n>`, a number as JavaScript
    writes it, other text as it is; None for anything else."""
    if prims.is_string(value) and prims.starts_with(value, 'gid://'):
        return prims.substring(value, prims.last_find(value, '/') + 1, None)
    return shopify.id_text(value)


def page_type_of(href):
    """The page type of a checkout URL (PAGE_TYPES), or None for a storefront page."""
    if not prims.is_string(href):
        return None
    path = prims.substring(urls.url_parts(href)['base'], len(urls.origin_of(href)), None)
    for mark in PAGE_TYPES:
        if prims.find(path, mark[0]) >= 0:
            return mark[1]
    return None


def _amount(money):
    amount = prims.read_key(money, 'amount')
    return amount if prims.is_number(amount) and prims.is_finite(amount) else None


def basket_of(checkout, href):
    """The basket of Shopify's `checkout` object, in the shape a store's basket has (`basket.py`):
    each line's price is its line's (unit price times quantity, as the theme's data layer gives),
    its URL the cart permalink on the page's origin; None without a list of line items."""
    lines = prims.read_key(checkout, 'lineItems')
    if not prims.is_list(lines):
        return None
    items = []
    links = []
    for line in lines:
        variant = prims.read_key(line, 'variant')
        quantity = prims.read_key(line, 'quantity')
        unit = _amount(prims.read_key(variant, 'price'))
        variant_id = plain_id(prims.read_key(variant, 'id'))
        prims.append(items, {'product_id': plain_id(prims.read_key(prims.read_key(variant, 'product'), 'id')),
                             'variant_id': variant_id, 'quantity': quantity,
                             'price': unit * quantity if unit != None and prims.is_number(quantity) else None})
        if variant_id != None and prims.is_number(quantity) and prims.is_finite(quantity):
            prims.append(links, variant_id + ':' + prims.number_text(quantity))
    total = prims.read_key(checkout, 'totalPrice')
    return {'id': plain_id(prims.read_key(checkout, 'token')), 'total': _amount(total),
            'currency': prims.read_key(total, 'currencyCode'), 'items': items,
            'url': shopify.cart_url(urls.origin_of(href), links)}


def visitor_of(attributes):
    """The visitor id in Shopify's attribute list `[{key, value}]` (`shopify.CID_ATTRIBUTE`), when
    it is one; else None."""
    if not prims.is_list(attributes):
        return None
    for item in attributes:
        if prims.read_key(item, 'key') == shopify.CID_ATTRIBUTE:
            value = prims.read_key(item, 'value')
            return value if session.valid_id(value) else None
    return None


def href_of(event):
    """The URL of the page a Shopify event happened on (`context.document.location.href`), or None."""
    href = prims.read_key(prims.read_key(prims.read_key(prims.read_key(event, 'context'), 'document'), 'location'),
                          'href')
    return href if prims.is_string(href) else None


def calls_for(event):
    """What one Shopify event records; see the module docstring."""
    name = prims.read_key(event, 'name')
    href = href_of(event)
    calls = []
    if not prims.is_string(name):
        return calls
    if name == PAGE_VIEWED:
        page_type = page_type_of(href)
        if page_type != None:
            prims.append(calls, ['pageview', page_type])
        return calls
    checkout = prims.read_key(prims.read_key(event, 'data'), 'checkout')
    if not prims.is_plain_object(checkout):
        return calls
    if name == STARTED:
        found = basket_of(checkout, href)
        if found != None:
            prims.append(calls, ['basket', found])
    if prims.has_key(STAGES, name):
        prims.append(calls, ['checkout', STAGES[name]])
    email = prims.read_key(checkout, 'email')
    if prims.find_item(IDENTIFYING, name) >= 0 and prims.is_string(email) and len(email) > 0:
        prims.append(calls, ['identify', email])
    if name == COMPLETED:
        order_id = plain_id(prims.read_key(prims.read_key(checkout, 'order'), 'id'))
        if order_id != None:
            total = prims.read_key(checkout, 'totalPrice')
            prims.append(calls, ['transaction', order_id, {'source': PIXEL_SOURCE, 'total': _amount(total),
                                                           'currency': prims.read_key(total, 'currencyCode')}])
    return calls


def order_event_id(account_id, order_id):
    """The UUID (v4 in form) of `order_id`'s transaction event for `account_id`: four FNV-1a hashes
    (`prims.hash_text`) of the two, each under its own prefix. Only ever the same order gives the
    same id; it is no secret (neither is a random id once sent)."""
    text = account_id + '\n' + order_id
    digits = prims.hash_text('0' + text) + prims.hash_text('1' + text) + prims.hash_text('2' + text) + \
        prims.hash_text('3' + text)
    return prims.substring(digits, 0, 8) + '-' + prims.substring(digits, 8, 12) + '-4' + \
        prims.substring(digits, 13, 16) + '-8' + prims.substring(digits, 17, 20) + '-' + prims.substring(digits, 20, 32)
