"""The deployed tag's surface beyond the documented calls, in Chromium against the real collector:
every method takes ordinary and hostile arguments without throwing; shoppers are identified by
the landing URL (which leaves the address bar), by forms (observeEmailInputs, or the account's
opt-in), and the doctor catches a form whose identify hook broke; Magento's ommage cookie is
consumed once; setDebugLogging and _debug work as support engineers use them."""

from __future__ import annotations

import json

from tests.support.overlay import overlay_lines, rows

HOSTILE = ['undefined', 'null', 'NaN', 'Infinity', '{}', '[]', 'function () {}', '"x".repeat(100000)', 'Symbol("s")',
           'new Proxy({}, {get: function () { throw new Error("trap"); }})', 'document.body', '-1', '""']
METHODS = ['init', 'identify', 'setBasket', 'getBasket', 'trackAddToBasket', 'trackCheckout', 'trackTransaction',
           'track', 'setProfileData', 'viewProduct', 'setPageType', 'setPageData', 'getIdentity', 'isNewVisitor',
           'linkSession', 'observeEmailInputs', '_debug', 'ajaxFormSubmit', 'request']


def test_every_method_takes_ordinary_and_hostile_arguments_without_throwing(shop, page, page_errors):
    mark = shop.mark()
    page.goto(shop.page() + '#om_debug')
    thrown = page.evaluate("""([methods, hostile]) => {
        var thrown = [];
        var values = hostile.map(function (code) { return (0, eval)('(' + code + ')'); });
        methods.forEach(function (name) {
            values.forEach(function (a) { values.slice(0, 4).forEach(function (b) {
                try { ometria[name](a, b, a); } catch (e) { thrown.push(name + ': ' + e); }
            }); });
        });
        var b = new ometria.Basket();
        ['setId', 'setTotal', 'addLineItem', 'setUrl', 'setURL', 'setData', 'setProperties'].forEach(function (name) {
            values.forEach(function (a) { try { b[name](a, a, a, a, a); } catch (e) { thrown.push(name + ': ' + e); } });
        });
        ometria.init('product', {pid: '1001'}, 'uk');
        ometria.identify('shopper@example.com');
        ometria.track('wishlist', {pid: '1001'}, function () { window.tracked = true; });
        ometria.viewProduct(2002);
        ometria.setProfileData({first_name: 'Ada'});
        ometria.trackAddToBasket('1001', '2', {colour: 'red'});
        return thrown;
    }""", [METHODS, HOSTILE])
    assert thrown == []
    events = shop.wait_events(mark, 1, settle=1.0)
    recorded = [(e['type'], e.get('custom_type') or e.get('product_id') or e.get('email')) for e in events]
    for expected in [('custom', 'wishlist'), ('viewproduct', '2002'), ('identify', 'shopper@example.com'),
                     ('profile', None), ('addtobasket', '1001')]:
        assert expected in recorded, recorded
    assert page.evaluate('window.tracked') is True, 'the track callback ran'
    assert page_errors == []


def test_the_landing_url_identifies_and_leaves_the_address_bar_without_a_history_entry(shop, page, context,
                                                                                    page_errors):
    url = shop.page(body='<script>ometria.init("homepage");</script>')
    before_control = shop.mark()
    control = context.new_page()
    control.goto(url + '?utm_source=news&x=1#top')
    entries_without_the_tag_editing = control.evaluate('history.length')
    # The control page's own pageview must be stored before the mark (on a loaded machine it
    # could otherwise arrive after it and count as the page under test's).
    shop.wait_events(before_control, 1)
    control.close()
    mark = shop.mark()
    page.goto(url + '?utm_source=news&om_user=shopper%40example.com&x=1#top')
    assert page.evaluate('location.href') == url + '?utm_source=news&x=1#top'
    assert page.evaluate('history.length') == entries_without_the_tag_editing
    events = shop.wait_events(mark, 2)
    assert [e['type'] for e in events] == ['pageview', 'identify']
    assert events[1]['email'] == 'shopper@example.com' and 'om_user' not in events[0]['url']
    assert page_errors == []


FORM = ('<form id="signup"><input type="email" name="subscriber" id="subscriber"><input type="password" name="email_pw">'
        '<button>Sign up</button></form>'
        '<script>document.getElementById("signup").addEventListener("submit", function (e) { e.preventDefault(); });'
        'ometria.init("homepage");</script>')


def sign_up(page, email: str) -> None:
    page.fill('#subscriber', email)
    page.click('#signup button')


def test_with_the_opt_in_a_submitted_form_identifies(shop, page, page_errors):
    mark = shop.mark('forms')
    page.goto(shop.page(body=FORM, account='forms'))
    sign_up(page, 'signup@example.com')
    events = shop.wait_events(mark, 2, account='forms')
    assert [(e['type'], e.get('email')) for e in events] == [('pageview', None), ('identify', 'signup@example.com')]
    assert page_errors == []


def test_without_the_opt_in_a_form_identifies_nobody_and_the_doctor_says_so(shop, page, page_errors):
    mark = shop.mark()
    warned = []
    page.on('console', lambda m: warned.append(m.text) if m.type == 'warning' else None)
    page.goto(shop.page(body=FORM) + '#om_debug')
    sign_up(page, 'broken-hook@example.com')
    page.wait_for_timeout(2000)
    assert [e['type'] for e in shop.wait_events(mark, 1)] == ['pageview']
    warnings = [r['text'] for r in rows(page) if r['kind'] == 'warn']
    assert any('"broken-hook@example.com" was submitted and no ometria.identify followed' in w for w in warnings), warnings
    assert any('no ometria.identify followed' in w for w in warned)
    assert page_errors == []


def test_a_working_hook_gets_no_warning_and_observe_email_inputs_identifies(shop, page, page_errors):
    mark = shop.mark()
    body = FORM + '<input id="footer-email" type="text"><script>ometria.observeEmailInputs("#footer-email");' \
        'document.getElementById("signup").addEventListener("submit", function () {' \
        ' ometria.identify(document.getElementById("subscriber").value); });</script>'
    page.goto(shop.page(body=body) + '#om_debug')
    page.fill('#footer-email', 'not an email')
    page.press('#footer-email', 'Tab')
    page.fill('#footer-email', 'footer@example.com')
    page.press('#footer-email', 'Tab')
    sign_up(page, 'form@example.com')
    page.wait_for_timeout(2000)
    events = shop.wait_events(mark, 3)
    assert [(e['type'], e.get('email')) for e in events] == [
        ('pageview', None), ('identify', 'footer@example.com'), ('identify', 'form@example.com')]
    assert not [r for r in rows(page) if r['kind'] == 'warn']
    assert 'Identified from a form field (observeEmailInputs)' in overlay_lines(page)
    assert page_errors == []


def test_the_ommage_cookie_is_consumed_once(shop, page, context, page_errors):
    mark = shop.mark()
    url = shop.page(body='<script>ometria.init("confirmation");</script>')
    context.add_cookies([{'name': 'ommage', 'value': 'trans%3A100000777', 'url': url}])
    page.goto(url)
    events = shop.wait_events(mark, 2)
    assert [(e['type'], e.get('order_id')) for e in events] == [('pageview', None), ('transaction', '100000777')]
    assert not [c for c in context.cookies() if c['name'] == 'ommage'], 'cleared once read'
    assert page_errors == []


def test_set_debug_logging_turns_the_overlay_on_and_off_with_a_reload(shop, page, context, page_errors):
    page.goto(shop.page(body='<script>ometria.init("homepage");</script>'))
    with page.expect_navigation():
        page.evaluate('ometria.setDebugLogging(true)')
    assert 'Event: pageview (homepage)' in overlay_lines(page)
    with page.expect_navigation():
        page.evaluate('ometria.setDebugLogging(false)')
    assert rows(page) is None and not [c for c in context.cookies() if c['name'] == 'om_debug']
    assert page_errors == []


def test_debug_snapshot_names_the_visitor_the_session_and_the_identity(shop, page, context, page_errors):
    page.goto(shop.page(body='<script>ometria.init("homepage"); ometria.identify("a@b.co");</script>'))
    snapshot = page.evaluate('ometria._debug()')
    cookie = dict(p.split('=', 1) for p in next(c['value'] for c in context.cookies() if c['name'] == 'ometria').split('&'))
    assert (snapshot['cookieId'], snapshot['sessionId']) == (cookie['cid'], cookie['sid'])
    assert snapshot['userIdentity'] == 'a@b.co' and snapshot['isNewVisitor'] is True
    assert page.evaluate('ometria.getIdentity()') == 'a@b.co' and page.evaluate('ometria.isNewVisitor()') is True
    json.dumps(snapshot)
    assert page_errors == []
