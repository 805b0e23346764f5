"""The #om_debug overlay in Chromium: switching it on and off, its messages and their details,
delivery states, the integration doctor, and safety in a hostile page (CSP, Trusted Types,
HTML in ids)."""

from __future__ import annotations

import base64
import hashlib
import re
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.overlay import ROWS, overlay_lines, rows, wait_caught_up

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / 'test-results'


def click_row(page, text):
    page.evaluate("""text => {
        var host = document.querySelector('ometria-debug');
        Array.from(host.shadowRoot.querySelectorAll('.entry')).find(function (row) {
            return row.querySelector('.text').textContent === text; }).click();
    }""", text)


def test_without_the_switch_the_tag_leaves_dom_and_console_alone(shop, page):
    messages = []
    requested = []
    page.on('console', lambda m: messages.append(m.text))
    page.on('request', lambda r: requested.append(r.url))
    page.goto(shop.page(body='<script>ometria.init("product", {}); ometria.trackAddToBasket();'
                             'ometria.identify("nope");</script>'))
    page.wait_for_timeout(2600)
    assert page.evaluate("document.querySelector('ometria-debug')") is None
    assert page.evaluate('document.body.children.length') == 2
    assert [m for m in messages if 'ometria' in m] == []
    assert not [url for url in requested if 'debug' in url], 'the debug module is fetched only in debug mode'


def test_the_switch_is_remembered_for_a_day_and_off_clears_it(shop, page, context):
    page.goto(shop.page(body='<script>ometria.init("homepage");</script>') + '#om_debug')
    assert overlay_lines(page)[:5] == ['NEW COOKIE ID', f'NEW SESSION: {page_sid(context)}', 'SOURCE CHANGED: (direct) / (none)',
                                       'Not identified', 'Event: pageview (homepage)']
    cookie = next(c for c in context.cookies() if c['name'] == 'om_debug')
    assert 23.9 * 3600 < cookie['expires'] - time.time() <= 24 * 3600
    page.goto(shop.page(body='<script>ometria.init("listing");</script>'))
    assert overlay_lines(page)[:4] == [f'EXISTING SESSION: {page_sid(context)}', 'SOURCE CONTINUED: (direct) / (none)',
                                       'Not identified', 'Event: pageview (listing)']
    page.goto(shop.page(body='<script>ometria.init("listing");</script>') + '#om_debug=off')
    assert rows(page) is None
    assert not [c for c in context.cookies() if c['name'] == 'om_debug']
    page.goto(shop.page(body='<script>ometria.init("listing");</script>'))
    assert rows(page) is None


def page_sid(context) -> str:
    value = next(c['value'] for c in context.cookies() if c['name'] == 'ometria')
    return dict(p.split('=', 1) for p in value.split('&'))['sid']


def test_every_event_message_and_its_details_on_click(shop, page):
    logged = []
    page.on('console', lambda m: logged.append(m))
    body = ('<script>ometria.init("product", {pid: "P1"}, "uk"); ometria.identify("dev@example.com");'
            'var b = new ometria.Basket(); b.setId("B1").setTotal(10, "GBP").addLineItem("P1", 1, 10);'
            'ometria.setBasket(b); ometria.trackAddToBasket("P1", 2); ometria.trackCheckout("payment");'
            'ometria.trackTransaction("000000145");</script>')
    page.goto(shop.page(body=body) + '#om_debug')
    assert overlay_lines(page) == [
        'NEW COOKIE ID', f'NEW SESSION: {page_sid(page.context)}', 'SOURCE CHANGED: (direct) / (none)', 'Not identified',
        'Event: pageview (product)', 'Event: identify',
        'Identified: dev@example.com', 'Event: setbasket', 'Event: addtobasket', 'Event: checkout (payment)',
        'Event: transaction (000000145)',
    ]
    expectations = {
        'Event: pageview (product)': {'page_type': 'product', 'page_data': {'pid': 'P1'}},
        'Event: setbasket': {'basket': {'id': 'B1', 'currency': 'GBP', 'total': 10, 'url': None, 'size': 1,
                                        'items': [{'product_id': 'P1', 'quantity': 1, 'price': 10, 'variant_id': None}]}},
        'Event: addtobasket': {'product_id': 'P1', 'quantity': 2},
        'Event: transaction (000000145)': {'order_id': '000000145'},
        'Event: identify': {'email': 'dev@example.com', 'profile': None, 'via': 'call'},
        'Identified: dev@example.com': {'identity': 'dev@example.com'},
    }
    for text, details in expectations.items():
        logged.clear()
        click_row(page, text)
        page.wait_for_timeout(50)
        message = next(m for m in logged if m.text.startswith('[ometria] ' + text))
        assert message.type == 'log'
        assert message.args[1].json_value() == details


def test_each_event_line_follows_its_delivery_state(shop, page):
    shop.proxy.set(mode='status', status=503, retry_after='1', times=1)
    page.goto(shop.page(body='<script>ometria.init("homepage");</script>') + '#om_debug')
    page.wait_for_function(f'(({ROWS})() || []).some(function (r) {{ return r.state === "retrying"; }})')
    page.wait_for_function(f'(({ROWS})() || []).some(function (r) {{ return r.state === "sent"; }})', timeout=5000)
    shop.proxy.set(mode='status', status=400)
    page.evaluate('ometria.trackAddToBasket("x")')
    page.wait_for_function(f'(({ROWS})() || []).some(function (r) {{ return r.state === "dropped"; }})')
    states = {r['text']: r['state'] for r in rows(page) if r['kind'] == 'event'}
    assert states == {'Event: pageview (homepage)': 'sent', 'Event: addtobasket': 'dropped'}


HOSTILE = '<img src=x onerror="window.pwned=1">'
SVG = '"><svg onload="window.pwned=2">'


def test_hostile_strings_show_as_text_under_csp_and_trusted_types(shop, page, page_errors):
    calls = (f'ometria.init("product", {{pid: {HOSTILE!r}}}, {SVG!r});'
             f'ometria.identify("a@b.co"); ometria.trackTransaction({SVG!r});'
             f'ometria.trackCheckout({HOSTILE!r}); ometria.init({HOSTILE!r});')
    shop.store.add('/hostile.js', calls, content_type='text/javascript')
    csp = (f"default-src 'self'; script-src 'self' {shop.collector.url}; connect-src {shop.proxy.url}; "
           "require-trusted-types-for 'script'; trusted-types 'none'")
    violations = []
    page.on('console', lambda m: violations.append(m.text) if 'Content Security Policy' in m.text
            or 'TrustedHTML' in m.text else None)
    page.add_init_script("document.addEventListener('securitypolicyviolation', function (e) {"
                         " (window.violations = window.violations || []).push(e.violatedDirective); });")
    page.goto(shop.page(body='<script src="/hostile.js"></script>', headers={'Content-Security-Policy': csp}) +
              '#om_debug')
    shown = overlay_lines(page)
    assert f'Event: transaction ({SVG})' in shown
    assert f'Event: checkout ({HOSTILE})' in shown
    assert any(HOSTILE in line for line in shown)
    overlay = page.evaluate("document.querySelector('ometria-debug').shadowRoot")
    assert overlay is not None
    assert page.evaluate("document.querySelector('ometria-debug').shadowRoot.querySelectorAll('img, svg').length") == 0
    page.wait_for_timeout(300)
    assert page.evaluate('window.pwned') is None
    assert page.evaluate('window.violations || []') == []
    assert violations == []
    assert page_errors == []


def test_the_overlay_sits_top_right_collapses_and_scrolls(shop, page):
    calls = ''.join(f'ometria.trackAddToBasket("sku-{i}");' for i in range(80))
    page.goto(shop.page(head='<style>div { display: none !important; } * { font-size: 40px !important; }</style>',
                        body=f'<script>ometria.init("listing");{calls}</script>') + '#om_debug')
    wait_caught_up(page)
    box = page.locator('ometria-debug').bounding_box()
    width = page.viewport_size['width']
    assert box['y'] <= 10 and abs(box['x'] + box['width'] - (width - 8)) <= 2
    assert box['height'] <= page.viewport_size['height'] * 0.75, 'the list scrolls instead of growing'
    scrollable = page.evaluate("""(() => { var list = document.querySelector('ometria-debug').shadowRoot
        .querySelector('[part=entries]'); return list.scrollHeight > list.clientHeight; })()""")
    assert scrollable
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / 'overlay.png'))
    page.evaluate("document.querySelector('ometria-debug').shadowRoot.querySelector('[role=button]').click()")
    collapsed = page.locator('ometria-debug').bounding_box()
    assert collapsed['height'] < 60


def test_the_overlay_moves_to_the_lower_corner_and_stays_there_for_the_tab(shop, page):
    page.goto(shop.page(body='<script>ometria.init("homepage");</script>') + '#om_debug')
    wait_caught_up(page)
    page.evaluate("document.querySelector('ometria-debug').shadowRoot.querySelector('.dock').click()")
    height = page.viewport_size['height']
    box = page.locator('ometria-debug').bounding_box()
    assert abs(box['y'] + box['height'] - (height - 8)) <= 2
    page.goto(shop.page(body='<script>ometria.init("listing");</script>'))
    wait_caught_up(page)
    box = page.locator('ometria-debug').bounding_box()
    assert abs(box['y'] + box['height'] - (height - 8)) <= 2
    page.evaluate("document.querySelector('ometria-debug').shadowRoot.querySelector('.dock').click()")
    assert page.locator('ometria-debug').bounding_box()['y'] <= 10


def test_entries_wait_for_the_body(shop, page, page_errors):
    head_calls = ('<script src="{TAG}"></script>'
                  '<script>ometria.init("homepage"); ometria.identify("early@example.com");</script>')
    page.goto(shop.page(head=head_calls, body='', tag='none') + '#om_debug')
    assert page_errors == []
    assert 'Event: pageview (homepage)' in overlay_lines(page) and 'Identified: early@example.com' in overlay_lines(page)


DOCTOR = [
    ('no init', '<script>ometria.identify("a@b.co");</script>', 'No ometria.init() on this page'),
    ('unknown page type', '<script>ometria.init("landing");</script>', 'Unknown page type "landing"'),
    ('product without pid', '<script>ometria.init("product", {sku: "X"});</script>', 'Product page without a product id'),
    ('basket total', '<script>ometria.init("basket"); var b = new ometria.Basket(); b.setTotal(99, "GBP");'
                     'b.addLineItem("1", 2, 10); ometria.setBasket(b);</script>', 'Basket total 99 differs from its lines'),
    ('currency', '<script>ometria.init("basket"); var b = new ometria.Basket(); b.setTotal(10, "£");'
                 'b.addLineItem("1", 1, 10); ometria.setBasket(b);</script>', 'Currency "£" is not a three-letter'),
    ('invalid identify', '<script>ometria.init("homepage"); ometria.identify("not an email");</script>',
     'is neither an email address nor omid:<id>'),
    ('add without product', '<script>ometria.init("homepage"); ometria.trackAddToBasket();</script>',
     'trackAddToBasket needs a product id'),
    ('onLoad exception', '<script>window.ometria = {onLoad: function () { ometria.init("homepage"); ometria.idenfiy("x"); }};'
                         '</script><script src="{TAG}"></script>', 'ometria.onLoad threw'),
    ('loaded twice', '<script>ometria.init("homepage");</script><script src="{TAG}"></script>', 'loaded twice'),
    ('confirmation without transaction', '<script>ometria.init("confirmation");</script>',
     'This confirmation page recorded no transaction'),
]


@pytest.mark.parametrize('situation, body, warning', DOCTOR, ids=[d[0] for d in DOCTOR])
def test_the_doctor_warns_in_its_situation(situation, body, warning, shop, page):
    warned = []
    page.on('console', lambda m: warned.append(m.text) if m.type == 'warning' else None)
    tag = 'none' if situation == 'onLoad exception' else 'sync'
    page.goto(shop.page(body=body, tag=tag) + '#om_debug')
    page.wait_for_timeout(2600)
    warnings = [r['text'] for r in rows(page) if r['kind'] == 'warn']
    assert any(warning in w for w in warnings), warnings
    assert any(warning in w for w in warned), 'the warning is written to the console too'


def test_a_correct_integration_gets_no_warning(shop, page):
    body = ('<script>ometria.init("basket", null, "uk"); ometria.identify("ok@example.com");'
            'var b = new ometria.Basket(); b.setId("B9").setTotal(35, "GBP").addLineItem("1", 2, 10)'
            '.addLineItem("2", 1, 15); ometria.setBasket(b); ometria.trackAddToBasket("3");</script>')
    page.goto(shop.page(body=body) + '#om_debug')
    page.wait_for_timeout(2600)
    assert [r['text'] for r in rows(page) if r['kind'] in ('warn', 'note')] == []


def twin_of(tag: str) -> str:
    """The file name of the journaled twin `tag` loads in debug mode."""
    return re.search(r'"(ometria[\w.-]*\.journal\.js)"', tag).group(1)


def self_hosted_page(shop, debug_module: bytes, csp: str = "script-src 'self' 'unsafe-inline'",
                     twin: bytes | None = None) -> str:
    """A store that serves the tag, its journaled twin and the debug module itself, under its own
    CSP (the twin: the tag's own, unless `twin` is given)."""
    tag = urllib.request.urlopen(shop.tag_url()).read().decode()
    twin_name = twin_of(tag)
    shop.store.add('/static/om/shop.js', tag, content_type='text/javascript')
    shop.store.add(f'/static/om/{twin_name}', (twin or (ROOT / 'dist' / 'generic' / twin_name).read_bytes()).decode(),
                   content_type='text/javascript')
    shop.store.add('/static/om/ometria.debug.js', debug_module.decode(), content_type='text/javascript')
    return shop.page(body='<script>ometria.init("homepage");</script>', head='<script src="/static/om/shop.js"></script>',
                     tag='none', headers={'Content-Security-Policy': csp})


def test_a_self_hosted_tag_loads_its_twin_and_debug_module_from_its_own_folder(shop, page, page_errors):
    debug = (ROOT / 'dist' / 'generic' / 'ometria.debug.js').read_bytes()
    requested = []
    page.on('request', lambda r: requested.append(r.url))
    page.goto(self_hosted_page(shop, debug) + '#om_debug')
    assert 'Event: pageview (homepage)' in overlay_lines(page)
    loaded = [url for url in requested if 'debug' in url or 'journal' in url]
    twin = twin_of(urllib.request.urlopen(shop.tag_url()).read().decode())
    assert loaded == [shop.store.url(f'/static/om/{twin}'), shop.store.url('/static/om/ometria.debug.js')]
    assert page_errors == []


def test_a_tampered_twin_is_refused_and_the_tag_runs_itself(shop, page, page_errors):
    """The twin is pinned by its integrity: a changed file does not run, and the tag starts on
    its own, with the calls the page made meanwhile (only the overlay is missing)."""
    debug = (ROOT / 'dist' / 'generic' / 'ometria.debug.js').read_bytes()
    twin = twin_of(urllib.request.urlopen(shop.tag_url()).read().decode())
    tampered = (ROOT / 'dist' / 'generic' / twin).read_bytes() + b'window.tampered = 1;'
    since = shop.mark()
    page.goto(self_hosted_page(shop, debug, twin=tampered) + '#om_debug')
    assert [e['type'] for e in shop.wait_events(since, 1)] == ['pageview']
    assert page.evaluate('window.tampered') is None
    assert page.evaluate("document.querySelector('ometria-debug')") is None
    page.evaluate('ometria.identify("after@example.com")')
    assert [e['type'] for e in shop.wait_events(since, 2)] == ['pageview', 'identify']
    assert page_errors == []


def test_a_tampered_debug_module_is_refused_by_its_integrity(shop, page, page_errors):
    tampered = (ROOT / 'dist' / 'generic' / 'ometria.debug.js').read_bytes() + b'window.tampered = 1;'
    page.goto(self_hosted_page(shop, tampered) + '#om_debug')
    page.wait_for_timeout(1000)
    assert page.evaluate('window.tampered') is None
    assert page.evaluate("document.querySelector('ometria-debug')") is None
    assert page.evaluate('typeof ometria.init') == 'function', 'the tag itself carries on'
    assert page_errors == []


def test_calls_made_while_the_twin_loads_are_replayed_in_order(shop, page, page_errors):
    """In debug mode the page's calls wait for the journaled twin and then run in the order made;
    a call that answers with a value answers nothing meanwhile, and the overlay says so."""
    body = ('<script>window.early = ometria.getIdentity(); ometria.init("basket");'
            'ometria.identify("early@example.com"); ometria.trackAddToBasket("9", 2);'
            'window.kept = ometria.trackCheckout;</script>')
    since = shop.mark()
    page.goto(shop.page(body=body) + '#om_debug')
    assert [e['type'] for e in shop.wait_events(since, 3)] == ['pageview', 'identify', 'addtobasket']
    assert page.evaluate('window.early === undefined')
    assert page.evaluate('ometria.getIdentity()') == 'early@example.com'
    # A function the store kept from before the hand-over reaches the running tag.
    page.evaluate('window.kept("payment")')
    assert [e['type'] for e in shop.wait_events(since, 4)][-1] == 'checkout'
    lines = overlay_lines(page)
    assert any(line.startswith('ometria.getIdentity() was called while the debug tag loaded') for line in lines), lines
    assert page_errors == []


def test_a_twin_that_runs_but_does_not_take_over_leaves_the_tag_to_start_itself(shop, page, page_errors):
    """Whatever the file beside the tag does once run (here: a script that is no twin, pinned by
    its own integrity), the tag sees whether a twin took over, and starts itself if not."""
    tag = urllib.request.urlopen(shop.tag_url()).read().decode()
    impostor = b'window.impostorRan = 1;'
    integrity = 'sha384-' + base64.b64encode(hashlib.sha384(impostor).digest()).decode()
    pinned = re.search(r'"(sha384-[^"]+)"', tag[tag.index(twin_of(tag)):]).group(1)
    shop.store.add('/static/om/shop.js', tag.replace(pinned, integrity), content_type='text/javascript')
    shop.store.add(f'/static/om/{twin_of(tag)}', impostor.decode(), content_type='text/javascript')
    since = shop.mark()
    page.goto(shop.page(body='<script>ometria.init("homepage");</script>',
                        head='<script src="/static/om/shop.js"></script>', tag='none') + '#om_debug')
    assert [e['type'] for e in shop.wait_events(since, 1)] == ['pageview']
    assert page.evaluate('window.impostorRan') == 1
    assert page_errors == []
