"""The demo store's HTML, in two flavours that integrate the tag differently:

- "plain" (`/`): the tag in the head, then inline calls as the Ometria documentation shows
  (`init` with page type and data, `identify` when signed in, `setBasket` when there is a cart,
  `trackTransaction` on the confirmation page); clicks call `trackAddToBasket` and AJAX cart changes
  rebuild the basket (assets/store.js).
- "magento" (`/m/`): like the Magento extension: a `window.ometria.raw_data` data layer, the tag
  loaded async after DOM-ready, an `onLoad` hook for identify and basket, `init()` re-called when
  a variant is picked.
- "shopify" (`/s/`): like a Shopify theme: Shopify's `raw_data` (template, product, collection,
  search, customer, the cart in cents) and the async tag of the `demo-shopify` account; no call
  at all. Its checkout and thank-you pages run no tag (Shopify runs no theme script there): the
  order reaches the collector as a signed `orders/create` webhook (app.py).

Every value from the catalogue, the cart or the visitor is escaped for its context.
"""

from __future__ import annotations

import html
import json
from urllib.parse import quote

from demo_site import catalog

STORE_NAME = 'Northwind Outfitters'
PREFIX = {'plain': '', 'magento': '/m', 'shopify': '/s'}
SHOPIFY_ACCOUNT = 'demo-shopify'


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def js(value) -> str:
    """A value as a JavaScript literal, safe inside an inline <script>."""
    return json.dumps(value).replace('<', '\\u003c').replace('>', '\\u003e').replace('&', '\\u0026')


class Page:
    """What a page needs to render: its content, and what the tag must be told about it."""

    def __init__(self, flavour: str, title: str, body: str, page_type: str | None, page_data: dict | None = None,
                 raw_data: dict | None = None, extra_calls: str = '', shop: dict | None = None,
                 pixel: dict | None = None):
        """`shop`: the page's fields of Shopify's data layer (None: a page where Shopify runs no
        theme script); `pixel`: on such a page, the checkout pixel's stand-in host
        (assets/shopify-pixel-host.js) and what it publishes (`shopify_pixel`)."""
        self.flavour = flavour
        self.shop = shop
        self.pixel = pixel
        self.title = title
        self.body = body
        self.page_type = page_type
        self.page_data = page_data
        self.raw_data = raw_data
        self.extra_calls = extra_calls


def basket_call(cart: dict | None) -> str:
    return f'DemoStore.sendBasket({js(cart)});' if cart is not None else ''


def shop_cart(cart: dict | None) -> dict:
    """The cart as Shopify's theme snippet writes it: lines [product, variant, quantity, line price
    in cents], the total in cents."""
    lines = cart['lines'] if cart else []
    return {'cart': [[line['pid'], line['sku'], line['qty'], line['line_pence']] for line in lines],
            'cart_total': round(cart['total'] * 100) if cart else 0, 'shop_currency': catalog.CURRENCY}


def shop_checkout(cart: dict | None, user: str | None, attributes: dict, order_id: str | None = None) -> dict:
    """The checkout as Shopify's pixel events carry it (`data.checkout`), amounts in pounds."""
    lines = cart['lines'] if cart else []
    return {'token': cart['id'] if cart else '', 'email': user, 'currencyCode': catalog.CURRENCY,
            'attributes': [{'key': k, 'value': v} for k, v in attributes.items()],
            'totalPrice': {'amount': cart['total'] if cart else 0, 'currencyCode': catalog.CURRENCY},
            'order': {'id': f'gid://shopify/Order/{order_id}'} if order_id else None,
            'lineItems': [{'quantity': line['qty'], 'title': line['name'],
                           'variant': {'id': f'gid://shopify/ProductVariant/{line["sku"]}', 'price': {'amount': line['unit']},
                                       'product': {'id': f'gid://shopify/Product/{line["pid"]}'}}} for line in lines]}


def shopify_pixel(checkout: dict, attributes: dict, on_load: list[str]) -> dict:
    """A checkout page's pixel host settings: the pixel, Shopify's `init` snapshot, the checkout, and
    the events published as the page loads (each with the checkout)."""
    return {'pixel': f'/tags/{SHOPIFY_ACCOUNT}.shopify-pixel.js', 'checkout': checkout,
            'init': {'context': {}, 'data': {'customer': {'email': checkout['email']} if checkout['email'] else None,
                                             'cart': {'attributes': [{'key': k, 'value': v} for k, v in attributes.items()]}},
                     'customerPrivacy': {'analyticsProcessingAllowed': True, 'marketingAllowed': True,
                                         'preferencesProcessingAllowed': True, 'saleOfDataAllowed': True}},
            'onLoad': [{'name': 'page_viewed', 'data': {}}] + [{'name': name, 'data': {'checkout': checkout}}
                                                             for name in on_load]}


def tracking(page: Page, user: str | None, cart: dict | None) -> tuple[str, str]:
    """The (head, end of body) HTML that loads and calls the tag for this page."""
    if page.flavour == 'shopify':
        if page.shop is None and page.pixel is not None:
            return '', (f'<script type="application/json" id="shopify-pixel">{js(page.pixel)}</script>'
                        '<script src="/assets/shopify-pixel-host.js"></script>')
        if page.shop is None:
            return '', ''
        raw = {**page.shop, 'customer_email': user, **shop_cart(cart)}
        return ('<script src="/assets/store.js"></script><script>\nwindow.ometria = window.ometria || {};\n'
                f'window.ometria.raw_data = {js(raw)};\n</script>'
                f'<script src="/tags/{SHOPIFY_ACCOUNT}.js" async></script>'), ''
    if page.flavour == 'plain':
        head = '<script src="/tags/demo.js"></script><script src="/assets/store.js"></script>'
        calls = [f'ometria.init({js(page.page_type)}, {js(page.page_data)}, {js(catalog.STORE_ID)});']
        if user:
            calls.append(f'ometria.identify({js(user)});')
        calls.append(basket_call(cart))
        calls.append(page.extra_calls)
        return head, '<script>\n' + '\n'.join(c for c in calls if c) + '\n</script>'
    # Magento 2's extension calls neither identify nor setBasket in JavaScript (its pages are
    # full-page cached): the visitor and the basket reach the tag through the ommage cookie its
    # server writes (demo_site/ommage.py).
    raw = {'store': 1, 'store_url': '/m/', **(page.raw_data or {})}
    hook = [page.extra_calls]
    head = (
        '<script src="/assets/store.js"></script><script>\n'
        'window.ometria = window.ometria || {};\n'
        f'window.ometria.raw_data = {js(raw)};\n'
        f'window.ometria.onLoad = function () {{ {" ".join(c for c in hook if c)} }};\n'
        'document.addEventListener("DOMContentLoaded", function () { setTimeout(function () {\n'
        '  var s = document.createElement("script"); s.src = "/tags/demo.js"; s.async = true;\n'
        '  document.head.appendChild(s);\n'
        '}, 50); });\n</script>'
    )
    return head, ''


def layout(page: Page, user: str | None, cart: dict | None, here: str, live_url: str = '/live?account=demo') -> str:
    prefix = PREFIX[page.flavour]
    head, tail = tracking(page, user, cart)
    count = cart['count'] if cart else 0
    nav = ''.join(f'<a href="{prefix}/c/{key}">{esc(name)}</a>' for key, name in catalog.CATEGORIES.items())
    account = (f'<span class="who">{esc(user)}</span>' if user
               else f'<a href="{prefix}/login?next={quote(here, safe="")}" id="login-link">Sign in</a>')
    other = {'plain': '/m/', 'magento': '/s/', 'shopify': '/'}[page.flavour]
    flavour_note = {'plain': 'Plain integration (inline calls)',
                    'magento': 'Magento-style integration (raw_data, async tag)',
                    'shopify': 'Shopify-style integration (theme data layer, order webhook)'}[page.flavour]
    return f"""<!doctype html>
<html lang="en" data-flavour="{page.flavour}" data-prefix="{prefix}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(page.title)} · {STORE_NAME}</title>
<link rel="stylesheet" href="/assets/store.css">
{head}
</head>
<body>
<header class="top">
  <a class="logo" href="{prefix}/">{STORE_NAME}</a>
  <nav>{nav}</nav>
  <form class="search" action="{prefix}/search" role="search"><input name="q" placeholder="Search" aria-label="Search"></form>
  <div class="account">{account}
    <a href="{prefix}/basket" id="basket-link">Basket (<span id="basket-count">{count}</span>)</a></div>
</header>
<p class="flavour">{flavour_note} · <a href="{other}">switch</a> ·
  <a href="{esc(live_url)}" target="_blank" rel="noreferrer">live events</a></p>
<main>
{page.body}
</main>
<footer>
  <form id="newsletter" class="newsletter" name="mc-embedded-subscribe-form">
    <label>Newsletter: <input type="email" name="EMAIL" id="mce-EMAIL" placeholder="you@example.com" required></label>
    <button>Sign up</button> <span id="newsletter-done" hidden>Thanks for signing up!</span>
  </form>
  <p>A demo store for the Ometria tag. Nothing here is for sale.</p>
</footer>
{tail}
</body>
</html>
"""


def product_card(product: catalog.Product, prefix: str, query: str = '') -> str:
    return (f'<li class="card"><a href="{prefix}/p/{product.product_id}{esc(query)}">'
            f'<img src="/assets/img/{product.product_id}.svg" alt="" width="160" height="120">'
            f'<span class="name">{esc(product.name)}</span>'
            f'<span class="price">{catalog.money(product.price_pence)}</span></a></li>')


def grid(products, prefix: str) -> str:
    if not products:
        return '<p class="empty">Nothing found.</p>'
    return '<ul class="grid">' + ''.join(product_card(p, prefix) for p in products) + '</ul>'


def home(flavour: str) -> Page:
    prefix = PREFIX[flavour]
    body = ('<section class="hero"><h1>Kit for wet weekends</h1><p>Boots, jackets and bags that have seen some '
            'weather.</p></section><h2>Bestsellers</h2>' + grid(catalog.PRODUCTS[::3], prefix))
    return Page(flavour, 'Home', body, 'homepage', None, {'type': 'homepage'}, shop={'template': 'index'})


def listing(flavour: str, category: str) -> Page | None:
    if category not in catalog.CATEGORIES:
        return None
    prefix = PREFIX[flavour]
    name = catalog.CATEGORIES[category]
    products = catalog.in_category(category)
    body = f'<h1>{esc(name)}</h1>' + grid(products, prefix)
    index = list(catalog.CATEGORIES).index(category) + 1
    shop = {'template': 'collection', 'collection_id': index, 'collection_handle': category,
            'collection_count': len(products), 'current_page': 1}
    return Page(flavour, name, body, 'listing', None, {'type': 'listing', 'category': {'id': index, 'path': f'1/{index}'}},
                shop=shop)


def search_results(flavour: str, query: str) -> Page:
    prefix = PREFIX[flavour]
    found = catalog.search(query)
    body = f'<h1>Search: {esc(query)}</h1><p>{len(found)} result(s)</p>' + grid(found, prefix)
    shop = {'template': 'search', 'search_terms': query, 'search_count': len(found), 'current_page': 1}
    return Page(flavour, f'Search {query}', body, 'search', {'query': query}, {'type': 'search', 'query': query},
                shop=shop)


def product_page(flavour: str, product: catalog.Product) -> Page:
    prefix = PREFIX[flavour]
    options = ''.join(f'<option value="{esc(v.variant_id)}">{esc(v.label)}</option>' for v in product.variants)
    body = f"""<article class="product" data-pid="{esc(product.product_id)}">
  <img src="/assets/img/{product.product_id}.svg" alt="{esc(product.name)}" width="320" height="240">
  <div>
    <h1>{esc(product.name)}</h1>
    <p class="price">{catalog.money(product.price_pence)}</p>
    <p>{esc(product.blurb)}</p>
    <form id="add-to-basket" data-pid="{esc(product.product_id)}">
      <label>Option <select name="sku" id="variant">{options}</select></label>
      <label>Quantity <input name="qty" id="qty" value="1" size="3" inputmode="numeric"></label>
      <button id="add">Add to basket</button>
      <span id="added" hidden>Added!</span>
    </form>
  </div>
</article>
<h2>You may also like</h2>{recommended(product, prefix)}"""
    raw = {'type': 'product', 'data': product_data(product, None),
           'product_map': {v.variant_id: product_data(product, v) for v in product.variants}}
    return Page(flavour, product.name, body, 'product', {'pid': product.product_id}, raw,
                shop={'template': 'product', 'product_id': product.product_id})


def recommended(product: catalog.Product, prefix: str) -> str:
    """An onsite recommendation, linked the way Ometria's recommendations link (`prodRecInstance`,
    `recommendationEngine`, `primaryEngine`): the tag sends a `rec:click` from the page it opens."""
    index = catalog.PRODUCTS.index(product)
    other = catalog.PRODUCTS[(index + 1) % len(catalog.PRODUCTS)]
    query = '?prodRecInstance=pdp-similar&recommendationEngine=similar-items&primaryEngine=true'
    return '<ul class="grid recommended">' + product_card(other, prefix, query) + '</ul>'


def product_data(product: catalog.Product, variant: catalog.Variant | None) -> dict:
    """A product as the Magento extension writes it in raw_data.data (a child for a variant)."""
    return {
        'id': variant.variant_id if variant else product.product_id,
        'sku': (variant.variant_id if variant else product.product_id).upper(),
        'name': product.name + (f' ({variant.label})' if variant else ''),
        'url': f'/m/p/{product.product_id}',
        'in_stock': True,
        'price': product.price,
        'currency': catalog.CURRENCY,
    }


def basket_page(flavour: str, cart: dict) -> Page:
    rows = ''.join(
        f'<tr data-sku="{esc(line["sku"])}" data-pid="{esc(line["pid"])}"><td>{esc(line["name"])}</td>'
        f'<td><input class="qty" value="{line["qty"]}" size="3" aria-label="Quantity"></td>'
        f'<td>{catalog.money(line["line_pence"])}</td><td><button class="remove">Remove</button></td></tr>'
        for line in cart['lines']
    )
    prefix = PREFIX[flavour]
    body = (f'<h1>Your basket</h1><table id="cart"><thead><tr><th>Item</th><th>Qty</th><th>Price</th><th></th></tr>'
            f'</thead><tbody>{rows}</tbody></table>'
            f'<p class="total">Total: <strong id="cart-total">{catalog.money(round(cart["total"] * 100))}</strong></p>'
            f'<p><a class="button" id="checkout" href="{prefix}/checkout/details">Checkout</a></p>')
    if not cart['lines']:
        body = '<h1>Your basket</h1><p class="empty">Your basket is empty.</p>'
    return Page(flavour, 'Basket', body, 'basket', None, {'type': 'basket'}, shop={'template': 'cart'})


CHECKOUT_STEPS = ['details', 'delivery', 'payment']


# The Shopify checkout's pixel events of each step: published as its form is submitted.
STEP_PIXEL_EVENTS = {'details': 'checkout_contact_info_submitted',
                     'delivery': 'checkout_address_info_submitted checkout_shipping_info_submitted',
                     'payment': 'payment_info_submitted'}


def checkout_page(flavour: str, step: str, user: str | None, cart: dict | None = None,
                  attributes: dict | None = None) -> Page:
    """A checkout step; on the Shopify flavour, with the checkout pixel (Shopify runs no theme
    script there) and, on the last step, the choice whether Shopify sends the order webhook."""
    number = CHECKOUT_STEPS.index(step) + 1
    prefix = PREFIX[flavour]
    fields = {
        'details': f'<label>Email <input name="email" type="email" value="{esc(user or "")}" required></label>',
        'delivery': '<label>Address <input name="address" value="1 Harbour Street" required></label>',
        'payment': '<label>Card <input name="card" value="4242 4242 4242 4242" required></label>',
    }[step]
    pixel = None
    marks = ''
    if flavour == 'shopify':
        pixel = shopify_pixel(shop_checkout(cart, user, attributes or {}), attributes or {},
                              ['checkout_started'] if step == 'details' else [])
        marks = f' data-pixel-event="{STEP_PIXEL_EVENTS[step]}"'
        if step == 'payment':
            fields += ('<label><input type="checkbox" name="webhook" id="send-webhook" value="1" checked> '
                       'Shopify sends the order webhook</label>')
    action = f'{prefix}/checkout/{step}'
    body = (f'<h1>Checkout · step {number} of 3: {step}</h1><form method="post" action="{action}" id="checkout-form"'
            f'{marks}>{fields}<button id="next">{"Place order" if step == "payment" else "Continue"}</button></form>')
    extra = f'ometria.trackCheckout({number});' if flavour == 'plain' else ''
    return Page(flavour, f'Checkout: {step}', body, 'checkout', None, {'type': 'checkout', 'data': {'step': step}},
                extra_calls=extra, pixel=pixel)


def confirmation_page(flavour: str, order_id: str, total: float, user: str | None = None) -> Page:
    """The thank-you page; on the Shopify flavour, the checkout pixel's `checkout_completed`."""
    body = (f'<h1>Thank you!</h1><p>Your order <strong id="order-id">{esc(order_id)}</strong> is on its way '
            f'({catalog.money(round(total * 100))}).</p>')
    extra = f'ometria.trackTransaction({js(order_id)});' if flavour == 'plain' else ''
    pixel = None
    if flavour == 'shopify':
        paid = {'id': order_id, 'total': total, 'lines': []}
        pixel = shopify_pixel(shop_checkout(paid, user, {}, order_id), {}, ['checkout_completed'])
    return Page(flavour, 'Order placed', body, 'confirmation', None,
                {'type': 'confirmation', 'data': {'id': order_id}}, extra_calls=extra, pixel=pixel)


def login_page(flavour: str, next_url: str) -> Page:
    prefix = PREFIX[flavour]
    body = (f'<h1>Sign in</h1><form method="post" action="{prefix}/login" id="login-form">'
            f'<input type="hidden" name="next" value="{esc(next_url)}">'
            '<label>Email <input name="email" type="email" required></label>'
            '<label>Password <input name="password" type="password" value="demo" required></label>'
            '<button id="sign-in">Sign in</button></form>')
    return Page(flavour, 'Sign in', body, None, None, {}, shop={'template': 'customers.login'})


def not_found(flavour: str) -> Page:
    return Page(flavour, 'Not found', '<h1>Not found</h1>', None, None, {}, shop={'template': '404'})


def product_svg(product: catalog.Product) -> str:
    """A drawing of the product: a shape per kind, in the product's colour."""
    colour = product.colour
    shapes = {
        'boot': (f'<path d="M90 40 h50 v90 q0 15 15 20 l60 18 q20 6 20 26 v16 H90 z" fill="{colour}"/>'
                 '<rect x="86" y="200" width="164" height="14" rx="5" fill="#333"/>'
                 '<path d="M100 70 h30 M100 90 h30 M100 110 h30" stroke="#fff8" stroke-width="4"/>'),
        'jacket': (f'<path d="M120 40 l40 15 40-15 50 30 -20 60 -20-8 v108 H110 V122 l-20 8 -20-60 z" fill="{colour}"/>'
                   '<path d="M160 55 v155" stroke="#0005" stroke-width="4"/>'
                   '<circle cx="172" cy="100" r="4" fill="#fff9"/><circle cx="172" cy="140" r="4" fill="#fff9"/>'),
        'bag': (f'<rect x="90" y="80" width="140" height="130" rx="22" fill="{colour}"/>'
                '<path d="M125 80 q35-60 70 0" fill="none" stroke="#333" stroke-width="10"/>'
                '<rect x="115" y="120" width="90" height="40" rx="8" fill="#fff3"/>'),
    }
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 240" width="320" height="240">'
            f'<rect width="320" height="240" fill="#f4f1ea"/>{shapes[product.shape]}'
            f'<text x="12" y="228" font-family="sans-serif" font-size="14" fill="#555">{esc(product.name)}</text></svg>')
