"""The demo store's routes, mounted by the collector's app with `--demo` (collector/app.py).

The cart, the signed-in email and the last order live in cookies, so the store keeps working
across server restarts (the journey tests stop and start the collector mid-way). The cart's id
is also in a `cart` cookie, as Shopify's is (the Shopify flavour's tag names the cart by it).

The Shopify flavour also has what Shopify gives a store: `POST /cart/update.js` (the cart's
attributes), the cart permalink `/cart/<variant>:<quantity>,...` (it rebuilds the cart), and,
when an order is placed, a signed `orders/create` webhook POSTed to the collector's
`/shopify/webhooks/demo-shopify` (what Shopify sends the subscribed URL).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from collector.files import file_from
from demo_site import catalog, ommage, pages

ASSETS = Path(__file__).resolve().parent / 'assets'
CART_COOKIE = 'demo_cart'
# Shopify's own cookie holding the cart's token.
SHOPIFY_CART_COOKIE = 'cart'
MAX_CART_ATTRIBUTES = 10
USER_COOKIE = 'demo_user'
ORDER_COOKIE = 'demo_order'
# Where an order placed lands: Shopify's thank-you page has its own path (the checkout pixel tells
# it by its URL: tracker/checkout.py).
THANK_YOU = {'plain': 'confirmation', 'magento': 'confirmation', 'shopify': 'checkouts/thank-you'}
MAX_CART_LINES = 50


def read_cookie_json(request: Request, name: str, default):
    try:
        return json.loads(unquote(request.cookies.get(name, '')))
    except ValueError:
        return default


def read_cart(request: Request) -> tuple[list, str | None]:
    """(cart entries, cart id); the id is None until something was put in the cart."""
    data = read_cookie_json(request, CART_COOKIE, {})
    if not isinstance(data, dict) or not isinstance(data.get('id'), str):
        return [], None
    entries = data.get('entries')
    return (entries if isinstance(entries, list) else []), data['id']


def cart_attributes(request: Request) -> dict:
    """The cart's attributes (Shopify's: what `/cart/update.js` set), text to text."""
    attributes = read_cookie_json(request, CART_COOKIE, {})
    attributes = attributes.get('attributes') if isinstance(attributes, dict) else None
    if not isinstance(attributes, dict):
        return {}
    return {k: v for k, v in attributes.items() if isinstance(k, str) and isinstance(v, str)}


def write_cart(response: Response, entries: list, cart_id: str, attributes: dict | None = None) -> None:
    data = {'id': cart_id, 'entries': entries[:MAX_CART_LINES]}
    if attributes:
        data['attributes'] = dict(list(attributes.items())[:MAX_CART_ATTRIBUTES])
    response.set_cookie(CART_COOKIE, quote(json.dumps(data)), max_age=30 * 86400, path='/', samesite='lax')
    response.set_cookie(SHOPIFY_CART_COOKIE, cart_id, max_age=30 * 86400, path='/', samesite='lax')


def cart_for_page(request: Request) -> dict | None:
    entries, cart_id = read_cart(request)
    return catalog.cart_summary(entries, cart_id) if cart_id else None


def user_of(request: Request) -> str | None:
    value = unquote(request.cookies.get(USER_COOKIE, ''))
    return value if '@' in value else None


def flavour_routes(flavour: str, live_url: str, orders_hook: tuple[str, str] | None = None) -> list[Route]:
    """The routes of one flavour of the store; its pages link to the live page at `live_url`.
    `orders_hook`: (URL, secret) where the Shopify flavour's orders are POSTed, signed."""
    prefix = pages.PREFIX[flavour]

    def render(page: pages.Page, request: Request, status: int = 200) -> HTMLResponse:
        here = request.url.path + (f'?{request.url.query}' if request.url.query else '')
        return HTMLResponse(pages.layout(page, user_of(request), cart_for_page(request), here, live_url),
                            status_code=status, headers={'Cache-Control': 'no-store'})

    async def home(request: Request):
        return render(pages.home(flavour), request)

    async def category(request: Request):
        page = pages.listing(flavour, request.path_params['category'])
        return render(page or pages.not_found(flavour), request, 200 if page else 404)

    async def search(request: Request):
        return render(pages.search_results(flavour, request.query_params.get('q', '')[:100]), request)

    async def product(request: Request):
        item = catalog.product(request.path_params['pid'])
        if item is None:
            return render(pages.not_found(flavour), request, 404)
        return render(pages.product_page(flavour, item), request)

    async def basket(request: Request):
        cart = cart_for_page(request) or catalog.cart_summary([], '')
        return render(pages.basket_page(flavour, cart), request)

    async def checkout(request: Request):
        step = request.path_params['step']
        if step not in pages.CHECKOUT_STEPS:
            return render(pages.not_found(flavour), request, 404)
        if request.method == 'POST':
            index = pages.CHECKOUT_STEPS.index(step)
            if index + 1 < len(pages.CHECKOUT_STEPS):
                return RedirectResponse(f'{prefix}/checkout/{pages.CHECKOUT_STEPS[index + 1]}', status_code=303)
            return await place_order(request)
        return render(pages.checkout_page(flavour, step, user_of(request), cart_for_page(request),
                                          cart_attributes(request)), request)

    async def place_order(request: Request) -> Response:
        entries, cart_id = read_cart(request)
        summary = catalog.cart_summary(entries, cart_id or '')
        order_id = f'{secrets.randbelow(10**9):09d}'
        if flavour == 'shopify':
            order_id = str(10**9 + secrets.randbelow(10**9))
            # Shopify's order webhook, unless the shopper's demo form says this order has none.
            wanted = 'webhook=1' in (await request.body()).decode('utf-8', 'replace').split('&')
            if orders_hook is not None and wanted:
                await send_order(orders_hook, order_id, summary, user_of(request), cart_attributes(request))
        response = RedirectResponse(f'{prefix}/{THANK_YOU[flavour]}', status_code=303)
        response.set_cookie(ORDER_COOKIE, quote(json.dumps({'id': order_id, 'total': summary['total']})), path='/')
        new_cart_id = 'R' + secrets.token_hex(4)
        write_cart(response, [], new_cart_id)
        user = user_of(request)
        if flavour == 'magento':
            # As the extension's orderPlaced observer does, and the fresh, empty quote after it.
            commands = [ommage.basket_command(catalog.cart_summary([], new_cart_id)), ommage.transaction_command(order_id)]
            if user:
                commands.append(ommage.identify_command('checkout', user))
            ommage.add_commands(request, response, *commands)
        return response

    async def confirmation(request: Request):
        order = read_cookie_json(request, ORDER_COOKIE, None)
        if not isinstance(order, dict):
            return RedirectResponse(f'{prefix}/', status_code=303)
        return render(pages.confirmation_page(flavour, str(order.get('id')), float(order.get('total') or 0),
                                              user_of(request)), request)

    async def login(request: Request):
        if request.method == 'POST':
            form = parse_qs((await request.body()).decode('utf-8', 'replace'))
            email = form.get('email', [''])[0].strip()[:200]
            target = form.get('next', [''])[0] or f'{prefix}/'
            if not target.startswith('/') or target.startswith('//'):
                target = f'{prefix}/'
            response = RedirectResponse(target, status_code=303)
            if '@' in email:
                response.set_cookie(USER_COOKIE, quote(email), max_age=30 * 86400, path='/', samesite='lax')
                if flavour == 'magento':
                    ommage.add_commands(request, response, ommage.identify_command('customer_login', email))
            return response
        return render(pages.login_page(flavour, request.query_params.get('next', f'{prefix}/')), request)

    return [
        Route(f'{prefix}/', home),
        Route(f'{prefix}/c/{{category}}', category),
        Route(f'{prefix}/search', search),
        Route(f'{prefix}/p/{{pid}}', product),
        Route(f'{prefix}/basket', basket),
        Route(f'{prefix}/checkout/{{step}}', checkout, methods=['GET', 'POST']),
        Route(f'{prefix}/{THANK_YOU[flavour]}', confirmation),
        Route(f'{prefix}/login', login, methods=['GET', 'POST']),
    ]


async def send_order(hook: tuple[str, str], order_id: str, summary: dict, email: str | None, attributes: dict) -> None:
    """POST an `orders/create` webhook for this order to `hook` (URL, secret), signed as Shopify
    signs it (base64 HMAC-SHA256 of the body); what the collector answers is not the shopper's
    business (Shopify would retry a failure)."""
    url, secret = hook
    order = {'id': int(order_id), 'name': f'#{order_id[-4:]}', 'email': email, 'currency': catalog.CURRENCY,
             'total_price': f'{summary["total"]:.2f}', 'cart_token': summary['id'],
             'note_attributes': [{'name': k, 'value': v} for k, v in attributes.items()],
             'line_items': [{'product_id': line['pid'], 'variant_id': line['sku'], 'quantity': line['qty'],
                             'price': f'{line["unit"]:.2f}'} for line in summary['lines']]}
    body = json.dumps(order).encode('utf-8')
    signature = base64.b64encode(hmac.new(secret.encode('utf-8'), body, hashlib.sha256).digest()).decode('ascii')
    headers = {'Content-Type': 'application/json', 'X-Shopify-Topic': 'orders/create',
               'X-Shopify-Hmac-Sha256': signature, 'X-Shopify-Webhook-Id': secrets.token_hex(8),
               'X-Shopify-Shop-Domain': 'northwind-demo.myshopify.com'}
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            await client.post(url, content=body, headers=headers)
    except httpx.HTTPError:
        pass


async def cart_update(request: Request) -> Response:
    """Shopify's `POST /cart/update.js` {attributes: {name: value}}: set the cart's attributes."""
    entries, cart_id = read_cart(request)
    try:
        change = json.loads(await request.body())
    except ValueError:
        change = None
    given = change.get('attributes') if isinstance(change, dict) else None
    if not isinstance(given, dict):
        return JSONResponse({'error': 'give {"attributes": {...}}'}, status_code=400)
    attributes = {**cart_attributes(request), **{str(k)[:64]: str(v)[:256] for k, v in given.items()}}
    cart_id = cart_id or 'R' + secrets.token_hex(4)
    response = JSONResponse({**catalog.cart_summary(entries, cart_id), 'attributes': attributes})
    write_cart(response, entries, cart_id, attributes)
    return response


async def cart_permalink(request: Request) -> Response:
    """Shopify's cart permalink `/cart/<variant>:<quantity>,...`: a cart of those lines, then the
    basket page (what an abandoned-basket email links to)."""
    entries = []
    for part in request.path_params['lines'].split(',')[:MAX_CART_LINES]:
        sku, _, qty = part.partition(':')
        item = catalog.product(sku) or next((p for p in catalog.PRODUCTS if p.variant(sku) is not None), None)
        if item is not None and qty.isascii() and qty.isdigit() and len(qty) <= 2 and int(qty) > 0:
            entries.append({'sku': sku, 'pid': item.product_id, 'qty': int(qty)})
    response = RedirectResponse('/s/basket', status_code=303)
    write_cart(response, entries, 'R' + secrets.token_hex(4))
    return response


async def cart_api(request: Request) -> Response:
    """POST {action: add|set|remove, pid, sku, qty}: change the cart, answer its summary."""
    entries, cart_id = read_cart(request)
    cart_id = cart_id or 'R' + secrets.token_hex(4)
    if request.method == 'POST':
        try:
            change = json.loads(await request.body())
        except ValueError:
            return JSONResponse({'error': 'not JSON'}, status_code=400)
        if not isinstance(change, dict):
            return JSONResponse({'error': 'not an object'}, status_code=400)
        item = catalog.product(str(change.get('pid', '')))
        if item is None:
            return JSONResponse({'error': 'no such product'}, status_code=404)
        sku = str(change.get('sku') or item.product_id)
        try:
            qty = int(str(change.get('qty', 1)).strip())
        except ValueError:
            qty = 1
        action = change.get('action')
        existing = next((e for e in entries if e.get('sku') == sku), None)
        if action == 'add' and qty > 0:
            if existing:
                existing['qty'] = existing['qty'] + qty
            else:
                entries.append({'sku': sku, 'pid': item.product_id, 'qty': qty})
        elif action == 'set' and existing and qty > 0:
            existing['qty'] = qty
        elif action in ('remove', 'set') and existing:
            entries.remove(existing)
    summary = catalog.cart_summary(entries, cart_id)
    response = JSONResponse(summary)
    write_cart(response, entries, cart_id, cart_attributes(request))
    if request.method == 'POST' and change.get('flavour') == 'magento':
        # Magento's basket observer: the whole basket in the cookie channel (and who it belongs to).
        commands = [ommage.basket_command(summary)]
        user = user_of(request)
        if user:
            commands.append(ommage.identify_command('checkout_billing', user))
        ommage.add_commands(request, response, *commands)
    return response


async def newsletter(request: Request) -> Response:
    try:
        form = json.loads(await request.body())
        email = str(form.get('email', '')).strip()
    except (ValueError, AttributeError):
        return JSONResponse({'ok': False}, status_code=400)
    response = JSONResponse({'ok': '@' in email, 'email': email})
    if '@' in email and form.get('flavour') == 'magento':
        ommage.add_commands(request, response, ommage.identify_command('newsletter', email))
    return response


async def cart_link(request: Request) -> Response:
    """The extension's basket deep link (`/omcart/cartlink/index?id=&token=`): back to the basket
    when the token is the quote's."""
    cart_id = request.query_params.get('id', '')
    if not cart_id or request.query_params.get('token') != ommage.cart_token(cart_id):
        return RedirectResponse('/m/', status_code=303)
    return RedirectResponse('/m/basket', status_code=303)


async def asset(request: Request) -> Response:
    return file_from(ASSETS, request.path_params['name'])


async def image(request: Request) -> Response:
    item = catalog.product(request.path_params['pid'])
    if item is None:
        return Response('not found\n', status_code=404, media_type='text/plain')
    return Response(pages.product_svg(item), media_type='image/svg+xml',
                    headers={'Cache-Control': 'public, max-age=3600'})


def demo_routes(api_token: str, orders_hook: tuple[str, str] | None = None) -> list:
    """The demo store's routes. Its pages link to the live page with the server's API token (the
    demo server is bound to loopback and opened by the developer running it): one click opens
    the live events; the live page swaps the token for a cookie at once. `orders_hook`: (URL,
    secret) of the collector's Shopify order webhook for the Shopify flavour, when its account
    (`demo-shopify`) is set up."""
    token = f'#token={quote(api_token, safe="")}' if api_token else ''
    live_url = '/live?account=demo' + token
    return [
        Route('/api/cart', cart_api, methods=['GET', 'POST']),
        Route('/api/newsletter', newsletter, methods=['POST']),
        Route('/omcart/cartlink/index', cart_link),
        Route('/cart/update.js', cart_update, methods=['POST']),
        Route('/cart/{lines}', cart_permalink),
        Route('/assets/img/{pid}.svg', image),
        Route('/assets/{name}', asset),
        *flavour_routes('plain', live_url),
        *flavour_routes('magento', live_url),
        *flavour_routes('shopify', f'/live?account={pages.SHOPIFY_ACCOUNT}' + token, orders_hook),
    ]
