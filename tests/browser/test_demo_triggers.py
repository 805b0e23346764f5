"""Session end, seen from the demo store: three shoppers in Chromium against the real demo server
(`python -m collector serve --demo --session-timeout 8`), whose own webhook receiver
(`/demo/webhook`, demo_site/inbox.py) checks every call's signature. The one who signs in, adds
to the basket and leaves starts one `abandoned_basket` with the basket's deep link; the one who
buys starts nothing; the one who only browses products starts `browse_abandonment`."""

from __future__ import annotations

import time
from urllib.parse import unquote

import pytest

from tests.support.contract import BROWSER_USER_AGENT
from tests.support.servers import API_TOKEN, CollectorProcess, free_port, http_json, wait_for

# Long enough that a slow page load under a loaded CI machine does not end a visit half-way (the
# tag keeps its sid: what came after would be late events of an ended session).
SESSION_TIMEOUT_S = 8
SECRET = 'demo-test-webhook-secret-0123'
SHOPIFY_SECRET = 'demo-test-shopify-secret-0123'


def start_demo(workdir) -> CollectorProcess:
    """The demo server, its sessions ending after SESSION_TIMEOUT_S, its triggers sent to its inbox."""
    port = free_port()
    accounts = ''.join(
        f'[accounts.{account}]\ncollector_url = "http://127.0.0.1:{port}/collect"\norigins = ["http://127.0.0.1:{port}"]\n'
        f'webhook_url = "/demo/webhook"\nwebhook_secret = "{SECRET}"\n{more}'
        for account, more in (('demo', ''), ('demo-shopify', f'platform = "shopify"\n'
                                                              f'shopify_webhook_secret = "{SHOPIFY_SECRET}"\n')))
    server = CollectorProcess(workdir, accounts, port=port, demo=True,
                              extra_args=['--session-timeout', str(SESSION_TIMEOUT_S),
                                          '--demo-inbox', str(workdir / 'inbox.jsonl')])
    server.start()
    return server


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    server = start_demo(tmp_path_factory.mktemp('demo-triggers'))
    yield server
    server.stop()


def sign_in(page, base: str, email: str) -> None:
    page.goto(f'{base}/login')
    page.fill('#login-form input[name=email]', email)
    with page.expect_navigation():
        page.click('#sign-in')


def add_to_basket(page, base: str, product_path: str) -> None:
    page.goto(base + product_path)
    page.fill('#qty', '1')
    page.click('#add')
    page.wait_for_selector('#added:not([hidden])')


def leave(context, base: str, uid: str, last_is, account: str = 'demo') -> None:
    """The shopper closes the tab once their last event (`last_is(event)`) is stored: a real tab
    stays open long enough; a test's closing context can cut the tag's last request short."""
    deadline = time.monotonic() + 20
    while not any(e.get('uid') == uid and last_is(e)
                  for e in http_json(f'{base}/api/events?account={account}&limit=5000')):
        assert time.monotonic() < deadline, (f'the last event of {uid} never arrived; the server counted '
                                             f'{http_json(base + "/api/stats")}')
        time.sleep(0.1)
    for page in context.pages:
        page.close(run_before_unload=True)
    context.close()


def check_out(page) -> None:
    """From a basket page: the three checkout steps, then the order placed."""
    with page.expect_navigation():
        page.click('#checkout')
    for _ in range(3):
        with page.expect_navigation():
            page.click('#next')
    assert page.text_content('#order-id')


def product_view(pid: str):
    return lambda e: e['type'] == 'pageview' and e['page_data'].get('pid') == pid


def test_each_shopper_gets_the_trigger_their_visit_deserves(demo, browser):
    base = demo.url
    leaver = browser.new_context(user_agent=BROWSER_USER_AGENT)
    page = leaver.new_page()
    sign_in(page, base, 'leaver@example.com')
    add_to_basket(page, base, '/p/1001')
    leave(leaver, base, 'leaver@example.com', lambda e: e['type'] == 'setbasket')

    buyer = browser.new_context(user_agent=BROWSER_USER_AGENT)
    page = buyer.new_page()
    sign_in(page, base, 'buyer@example.com')
    add_to_basket(page, base, '/p/2001')
    page.goto(f'{base}/basket')
    check_out(page)
    leave(buyer, base, 'buyer@example.com', lambda e: e['type'] == 'transaction')

    browsing = browser.new_context(user_agent=BROWSER_USER_AGENT)
    page = browsing.new_page()
    sign_in(page, base, 'browser@example.com')
    page.goto(f'{base}/p/1001')
    page.goto(f'{base}/p/2001')
    leave(browsing, base, 'browser@example.com', product_view('2001'))

    inbox_url = f'{base}/demo/webhook.json'
    deadline = time.monotonic() + SESSION_TIMEOUT_S * 5
    calls = []
    while time.monotonic() < deadline:
        calls = http_json(inbox_url)
        if len(calls) >= 2:
            break
        time.sleep(0.25)
    time.sleep(SESSION_TIMEOUT_S)  # anything else would have come by now
    calls = http_json(inbox_url)
    by_uid = {call['trigger']['session']['uid']: call for call in calls}
    sessions = http_json(f'{base}/api/sessions?account=demo')
    shown = [(x['uid'], x['pageviews'], x['products_viewed'], len(x['added_to_basket']), x['transactions'],
              x['late_events'], x.get('no_trigger'), x.get('bot')) for x in sessions]
    assert len(calls) == 2 and set(by_uid) == {'leaver@example.com', 'browser@example.com'}, f'{sorted(by_uid)} {shown}'
    assert all(call['signature_ok'] for call in calls)
    abandoned = by_uid['leaver@example.com']['trigger']
    assert abandoned['type'] == 'abandoned_basket'
    assert abandoned['session']['basket']['url'] == f'{base}/basket'
    assert [line['product_id'] for line in abandoned['session']['basket']['items']] == ['1001']
    browsed = by_uid['browser@example.com']['trigger']
    assert browsed['type'] == 'browse_abandonment' and browsed['session']['products_viewed'] == ['1001', '2001']
    # The collector's own record agrees: three ended sessions with those shoppers, each trigger delivered.
    assert {'leaver@example.com', 'buyer@example.com', 'browser@example.com'} <= {s['uid'] for s in sessions}
    triggers = http_json(f'{base}/api/triggers?account=demo')
    assert sorted(t['delivery']['state'] for t in triggers) == ['delivered', 'delivered']


def test_the_inbox_and_the_live_page_show_the_triggers_to_the_token_holder_only(demo, page):
    assert page.goto(f'{demo.url}/demo/webhook').status == 401
    page.goto(f'{demo.url}/live?account=demo#token={API_TOKEN}')
    # (The live page's CSP forbids eval: wait with locators, not page functions.)
    page.locator('#triggers tbody td.state-delivered').nth(1).wait_for(timeout=10000)
    assert page.locator('#sessions tbody tr').count() >= 3
    page.goto(f'{demo.url}/demo/webhook')
    assert page.locator('#received tbody tr').count() >= 2
    assert 'abandoned_basket' in page.text_content('#received')


def test_on_shopify_a_buyer_whose_order_comes_by_webhook_gets_no_basket_email_and_a_leaver_does(demo, browser):
    """The Shopify flavour (/s/): the theme's data layer on storefront pages, the checkout pixel
    on checkout and thank-you pages. The buyer's order reaches the collector first as a signed
    webhook naming the visitor (the cart attribute the tag wrote), then from the pixel as the same
    event: one transaction; their session starts nothing, and the order is theirs (same cid as
    their storefront pages). The leaver gets `abandoned_basket` with the cart permalink."""
    base = demo.url
    buyer = browser.new_context(user_agent=BROWSER_USER_AGENT)
    page = buyer.new_page()
    sign_in(page, base, 'shopify-buyer@example.com')
    add_to_basket(page, base, '/s/p/1001')
    page.goto(f'{base}/s/basket')
    wait_for(lambda: '_ometria_cid' in unquote(next((c['value'] for c in buyer.cookies() if c['name'] == 'demo_cart'), '')),
             what="the visitor id in the cart's attributes")
    check_out(page)
    leave(buyer, base, 'shopify-buyer@example.com', lambda e: e['type'] == 'transaction', 'demo-shopify')

    leaver = browser.new_context(user_agent=BROWSER_USER_AGENT)
    page = leaver.new_page()
    sign_in(page, base, 'shopify-leaver@example.com')
    add_to_basket(page, base, '/s/p/2001')
    page.goto(f'{base}/s/basket')
    leave(leaver, base, 'shopify-leaver@example.com', lambda e: e['type'] == 'setbasket', 'demo-shopify')

    def shopify_calls():
        return [c for c in http_json(f'{base}/demo/webhook.json') if c['trigger']['account'] == 'demo-shopify']

    calls = wait_for(shopify_calls, timeout=SESSION_TIMEOUT_S * 5, what='the leaver’s trigger')
    time.sleep(SESSION_TIMEOUT_S)  # the buyer's would have come by now
    calls = shopify_calls()
    assert [(c['trigger']['type'], c['trigger']['session']['uid']) for c in calls] == [
        ('abandoned_basket', 'shopify-leaver@example.com')]
    basket = calls[0]['trigger']['session']['basket']
    assert basket['url'].startswith(f'{base}/cart/') and basket['url'].endswith(':1')
    events = http_json(f'{base}/api/events?account=demo-shopify&limit=5000')
    order = next(e for e in events if e['type'] == 'transaction')
    assert order['uid'] == 'shopify-buyer@example.com' and order['extra']['source'] == 'shopify_webhook'
    theirs = [e['type'] for e in events if e['cid'] == order['cid']]
    assert theirs[0] == 'pageview' and theirs.count('transaction') == 1 and {'identify', 'setbasket'} <= set(theirs)
    assert all(e['cid'] == order['cid'] for e in events if e.get('uid') == order['uid']), 'one visitor throughout'
    sessions = {s['uid']: s for s in http_json(f'{base}/api/sessions?account=demo-shopify')}
    assert sessions['shopify-buyer@example.com']['no_trigger'] == 'purchased'
    # The permalink rebuilds the leaver's cart on any device.
    fresh = browser.new_context(user_agent=BROWSER_USER_AGENT).new_page()
    fresh.goto(basket['url'])
    assert fresh.url == f'{base}/s/basket' and fresh.locator('#cart tbody tr').count() == 1


def shop_and_pay(page, base: str, email: str, product: str, webhook: bool) -> None:
    """A Shopify-flavour shopper signs in, fills the cart (the theme's tag writes their visitor id
    into its attributes), then checks out, where only the checkout pixel runs; `webhook`: whether
    Shopify sends the order webhook."""
    sign_in(page, base, email)
    add_to_basket(page, base, product)
    page.goto(f'{base}/s/basket')
    wait_for(lambda: '_ometria_cid' in unquote(next((c['value'] for c in page.context.cookies()
                                                     if c['name'] == 'demo_cart'), '')),
             what="the visitor id in the cart's attributes")
    with page.expect_navigation():
        page.click('#checkout')
    for step in range(3):
        if step == 2 and not webhook:
            page.uncheck('#send-webhook')
        with page.expect_navigation():
            page.click('#next')


def test_on_shopify_the_checkout_pixel_carries_the_shopper_from_storefront_to_thank_you_page(demo, browser):
    """The checkout pixel in its sandbox (an opaque origin: the frame's own cookie and storage
    throw): one shopper's events from the storefront to the thank-you page, one visitor (cid) and
    session throughout; the order recorded by the pixel alone (no webhook) stops the
    abandoned-basket email; another shopper's thank-you page never loads, their order comes by
    webhook: one transaction, no email either."""
    base = demo.url
    buyer = browser.new_context(user_agent=BROWSER_USER_AGENT)
    page = buyer.new_page()
    shop_and_pay(page, base, 'pixel-buyer@example.com', '/s/p/1001', webhook=False)
    assert page.url.endswith('/s/checkouts/thank-you') and page.text_content('#order-id')
    sandbox = page.frame_locator('#web-pixel').locator('body')
    assert sandbox.evaluate('''() => [() => document.cookie, () => localStorage.length, () => navigator.locks.query()]
        .map(read => { try { read(); return 'works'; } catch (e) { return 'throws'; } })''') == ['throws'] * 3
    order_id = page.text_content('#order-id')
    leave(buyer, base, 'pixel-buyer@example.com', lambda e: e['type'] == 'transaction', 'demo-shopify')

    lost = browser.new_context(user_agent=BROWSER_USER_AGENT)
    page = lost.new_page()
    page.route('**/s/checkouts/thank-you', lambda route: route.abort())
    try:
        shop_and_pay(page, base, 'no-thanks@example.com', '/s/p/2001', webhook=True)
    except Exception:  # the thank-you page failing is the point
        pass
    leave(lost, base, 'no-thanks@example.com', lambda e: e['type'] == 'transaction', 'demo-shopify')

    events = http_json(f'{base}/api/events?account=demo-shopify&limit=5000')
    mine = [e for e in events if e['cid'] == next(e['cid'] for e in events if e.get('uid') == 'pixel-buyer@example.com')]
    summary = [(e['type'], e.get('page_type') or e.get('stage') or e.get('order_id') or '') for e in mine]
    print('\n'.join(f'{e["type"]:<11} {e["cid"]} {e["sid"]} {e.get("url", "")}' for e in mine))
    assert summary[0][0] == 'pageview' and ('transaction', order_id) == summary[-1]
    assert {('pageview', 'checkout'), ('checkout', 'checkout'), ('checkout', 'contact'), ('checkout', 'shipping'),
            ('checkout', 'payment'), ('pageview', 'confirmation')} <= set(summary)
    assert len({e['sid'] for e in mine}) == 1, 'one session from storefront to thank-you page'
    assert mine[-1]['extra']['source'] == 'shopify_pixel'
    theirs = [e for e in events if e['type'] == 'transaction' and e.get('uid') == 'no-thanks@example.com']
    assert len(theirs) == 1 and theirs[0]['extra']['source'] == 'shopify_webhook'
    assert ('checkout', 'payment') in {(e['type'], e.get('stage')) for e in events if e['cid'] == theirs[0]['cid']}

    def closed():
        sessions = {s['uid']: s for s in http_json(f'{base}/api/sessions?account=demo-shopify')}
        buyers = [sessions.get(uid) for uid in ('pixel-buyer@example.com', 'no-thanks@example.com')]
        return buyers if all(s and s.get('no_trigger') for s in buyers) else None

    buyers = wait_for(closed, timeout=SESSION_TIMEOUT_S * 5, what="the buyers' sessions to end")
    assert [s['no_trigger'] for s in buyers] == ['purchased', 'purchased']
    calls = [c for c in http_json(f'{base}/demo/webhook.json') if c['trigger']['account'] == 'demo-shopify'
             and c['trigger']['session']['uid'] in ('pixel-buyer@example.com', 'no-thanks@example.com')]
    assert calls == [], 'no abandoned-basket email to a buyer'
