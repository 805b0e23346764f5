"""Consent in Chromium against the real collector: a consent-required account sets no cookie,
stores nothing and sends nothing before consent, and loses none of the page's calls when consent
comes; a refusal or a withdrawal leaves nothing behind; the choice is remembered; Cookiebot,
OneTrust and Google Consent Mode are followed whichever loads first; Global Privacy Control;
ometria.forget()."""

from __future__ import annotations

import urllib.request

import pytest

from tests.support.overlay import overlay_lines, rows
from tests.support.servers import StorePages, self_signed_certificate

CALLS = ('<script>ometria.init("product", {pid: "1001"}, "uk"); ometria.identify("shopper@example.com");'
         'ometria.trackAddToBasket("1001", 1);</script>')
# Stubs of the consent tools, behaving as their public documentation says.
COOKIEBOT = ('<script>window.Cookiebot = {consent: {necessary: true, marketing: false}, hasResponse: false};'
             'window.acceptAll = function () { Cookiebot.consent.marketing = true; Cookiebot.hasResponse = true;'
             ' window.dispatchEvent(new Event("CookiebotOnAccept")); };'
             'window.declineAll = function () { Cookiebot.hasResponse = true;'
             ' window.dispatchEvent(new Event("CookiebotOnDecline")); };</script>')
ONETRUST = ('<script>window.OnetrustActiveGroups = ",C0001,"; var answered = false;'
            'window.OneTrust = {IsAlertBoxClosed: function () { return answered; }};'
            'window.acceptAll = function () { answered = true; window.OnetrustActiveGroups = ",C0001,C0002,C0004,";'
            ' window.dispatchEvent(new CustomEvent("OneTrustGroupsUpdated", {detail: ["C0001", "C0002", "C0004"]})); };'
            'window.declineAll = function () { answered = true;'
            ' window.dispatchEvent(new CustomEvent("OneTrustGroupsUpdated", {detail: ["C0001"]})); };</script>')
GCM = ('<script>window.dataLayer = window.dataLayer || []; function gtag() { dataLayer.push(arguments); }'
       'gtag("consent", "default", {analytics_storage: "denied", ad_storage: "denied"});'
       'window.acceptAll = function () { gtag("consent", "update", {analytics_storage: "granted"}); };'
       'window.declineAll = function () { gtag("consent", "update", {analytics_storage: "denied"}); };</script>')


def tag_traces(page, context) -> dict:
    """What the tag left in this browser: its cookies and storage keys."""
    return {'cookies': sorted(c['name'] for c in context.cookies()),
            'storage': page.evaluate("Object.keys(localStorage).filter(function (k) { return k.indexOf('ometria') === 0; })")}


def test_pending_leaves_no_trace_and_sends_nothing_then_consent_sends_everything(shop, page, context, page_errors):
    mark = shop.mark('consent')
    page.goto(shop.page(body=CALLS, account='consent') + '#om_debug')
    page.wait_for_timeout(1500)
    assert tag_traces(page, context) == {'cookies': ['om_debug'], 'storage': []}
    assert shop.proxy.requests() == [] and shop.events(mark, 'consent') == []
    assert 'CONSENT: pending' in overlay_lines(page)
    page.evaluate('ometria.setConsent(true)')
    events = shop.wait_events(mark, 3, account='consent')
    assert [e['type'] for e in events] == ['pageview', 'identify', 'addtobasket']
    assert events[0]['ts'] < page.evaluate('Date.now()') - 1000, 'the events keep the time of the calls'
    traces = tag_traces(page, context)
    assert {'ometria', 'om_consent'} <= set(traces['cookies'])
    assert 'ometria:consent:uid' in traces['storage']
    assert 'CONSENT: granted' in overlay_lines(page)
    assert page_errors == []


def test_a_refusal_leaves_only_the_choice_and_the_choice_is_remembered(shop, page, context, page_errors):
    mark = shop.mark('consent')
    page.goto(shop.page(body=CALLS, account='consent'))
    page.evaluate('ometria.setConsent(false); ometria.trackAddToBasket("2", 1)')
    page.goto(shop.page(body=CALLS, account='consent'))
    page.wait_for_timeout(1500)
    assert tag_traces(page, context) == {'cookies': ['om_consent'], 'storage': []}
    assert next(c['value'] for c in context.cookies() if c['name'] == 'om_consent') == '0'
    assert shop.proxy.requests() == [] and shop.events(mark, 'consent') == []
    page.evaluate('ometria.setConsent(true)')
    page.goto(shop.page(body='<script>ometria.init("listing");</script>', account='consent'))
    events = shop.wait_events(mark, 1, account='consent')
    assert [e['page_type'] for e in events][-1] == 'listing', 'granted and remembered: the next page sends at once'
    assert page_errors == []


def test_withdrawing_consent_deletes_what_the_tag_stored_and_stops_it(shop, page, context, page_errors):
    mark = shop.mark('consent')
    page.goto(shop.page(body=CALLS, account='consent'))
    page.evaluate('ometria.setConsent(true)')
    shop.wait_events(mark, 3, account='consent')
    page.evaluate('ometria.setConsent(false)')
    page.evaluate('ometria.trackAddToBasket("3", 1)')
    page.wait_for_timeout(1000)
    assert tag_traces(page, context) == {'cookies': ['om_consent'], 'storage': []}
    assert len(shop.events(mark, 'consent')) == 3
    assert page_errors == []


@pytest.mark.parametrize('tool, stub', [('cookiebot', COOKIEBOT), ('onetrust', ONETRUST), ('gcm', GCM)])
@pytest.mark.parametrize('order', ['tool first', 'tag first'])
@pytest.mark.parametrize('answer', ['acceptAll', 'declineAll'])
def test_consent_tools_are_followed_whichever_loads_first(tool, stub, order, answer, shop, page, context, page_errors):
    mark = shop.mark(tool)
    tag = f'<script src="{shop.tag_url(tool)}"></script>'
    head = stub + tag if order == 'tool first' else tag + stub
    page.goto(shop.page(head=head, body=CALLS, tag='none', account=tool))
    page.wait_for_timeout(500)
    assert shop.events(mark, tool) == [] and 'ometria' not in tag_traces(page, context)['cookies']
    page.evaluate(f'{answer}()')
    if answer == 'acceptAll':
        assert [e['type'] for e in shop.wait_events(mark, 3, account=tool)] == ['pageview', 'identify', 'addtobasket']
    else:
        page.wait_for_timeout(1000)
        assert shop.events(mark, tool) == [] and tag_traces(page, context) == {'cookies': ['om_consent'], 'storage': []}
    assert page_errors == []


def test_a_tool_that_already_has_the_answer_lets_the_tag_start_at_once(shop, page, page_errors):
    mark = shop.mark('cookiebot')
    answered = COOKIEBOT.replace('marketing: false}, hasResponse: false', 'marketing: true}, hasResponse: true')
    page.goto(shop.page(head=answered + f'<script src="{shop.tag_url("cookiebot")}"></script>', body=CALLS, tag='none',
                        account='cookiebot'))
    assert len(shop.wait_events(mark, 3, account='cookiebot')) == 3
    assert page_errors == []


def test_global_privacy_control_is_a_refusal(shop, page, context, page_errors):
    mark = shop.mark('consent')
    page.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', {get: function () { return true; }});")
    page.goto(shop.page(body=CALLS, account='consent'))
    page.wait_for_timeout(1500)
    assert shop.events(mark, 'consent') == [] and tag_traces(page, context) == {'cookies': [], 'storage': []}
    assert page_errors == []


def test_an_unanswered_consent_page_gets_a_warning(shop, page, page_errors):
    page.goto(shop.page(body=CALLS, account='consent') + '#om_debug')
    page.wait_for_timeout(2600)
    warnings = [r['text'] for r in rows(page) if r['kind'] == 'warn']
    assert any('got no answer: nothing was stored or sent' in w for w in warnings), warnings
    assert page_errors == []


def test_forget_deletes_the_visitor_and_the_next_call_starts_a_new_one(shop, page, context, page_errors):
    mark = shop.mark()
    page.goto(shop.page(body=CALLS))
    first = shop.wait_events(mark, 3)
    page.evaluate('ometria.forget()')
    assert tag_traces(page, context) == {'cookies': [], 'storage': []}
    page.evaluate('ometria.trackAddToBasket("9", 1)')
    later = shop.wait_events(mark, 4)[-1]
    assert later['cid'] != first[0]['cid'] and later['uid'] is None
    assert page_errors == []


def test_on_https_only_this_hosts_own_cookie_grants_consent(shop, page, context, tmp_path, page_errors):
    """A sibling subdomain can set `om_consent=1` for the whole parent domain; it grants nothing.
    The choice the tag keeps is a `__Host-` cookie, which the browser lets only this host set."""
    secure_store = StorePages(tls=self_signed_certificate(tmp_path, 'shop.test'))
    try:
        tag = urllib.request.urlopen(shop.tag_url('consent')).read().decode()
        secure_store.add('/tag.js', tag, content_type='text/javascript')
        secure_store.add('/', '<!doctype html><script src="/tag.js"></script>' + CALLS)
        context.add_cookies([{'name': 'om_consent', 'value': '1', 'domain': '.shop.test', 'path': '/',
                              'secure': True}])
        mark = shop.mark('consent')
        page.goto(secure_store.url('/', host='www.shop.test'))
        page.wait_for_timeout(1000)
        assert 'ometria' not in {c['name'] for c in context.cookies()} and shop.events(mark, 'consent') == []
        page.evaluate('ometria.setConsent(true)')
        shop.wait_events(mark, 3, account='consent')
        own = next(c for c in context.cookies() if c['name'] == '__Host-om_consent')
        assert own['value'] == '1' and own['secure'] is True and own['domain'] == 'www.shop.test'
        page.goto(secure_store.url('/', host='www.shop.test'))
        later = shop.wait_events(mark, 5, account='consent')[3:]
        assert [e['type'] for e in later] == ['pageview', 'addtobasket'], 'granted at once (the identity is known)' 
        assert page_errors == []
    finally:
        secure_store.close()
