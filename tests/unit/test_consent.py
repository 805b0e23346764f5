"""Consent (tracker/consent.py, and its orchestration in tracker/page.py) under CPython: what a
consent-required page writes, keeps and sends in each state, and the consent tools' states."""

from __future__ import annotations

import pytest

from tests.support.vectors import CPYTHON_ORIGIN, SETTINGS
from tests.unit.fakes import Browser, FakeEnv, FakeHooks, delivered_events
from tracker import consent, consent_tools, journal, page, prims

REQUIRED = {**SETTINGS, 'consent': 'required,,,refuse'}


def open_page(browser: Browser, settings=REQUIRED, path='/'):
    env = FakeEnv(browser, href=CPYTHON_ORIGIN + path)
    target = {}
    log = journal.Journal(True)
    tag = page.Page(env, FakeHooks(env), target, settings, log)
    tag.start()
    tag.loaded()
    env.run()
    return env, target, tag, log


def call(target, name, *args):
    """A published function called as a store's JavaScript would (missing arguments undefined)."""
    return target[name](*(list(args) + [prims.UNDEFINED] * 3)[:3])


def shop(target):
    call(target, 'init', 'product', {'pid': '1'}, 'uk')
    call(target, 'identify', 'shopper@example.com')
    call(target, 'trackAddToBasket', '1', 2)


def test_pending_stores_nothing_and_sends_nothing_then_a_grant_sends_it_all_as_it_happened():
    browser = Browser()
    env, target, tag, log = open_page(browser)
    shop(target)
    env.advance(5000)
    assert browser.sent == [] and browser.cookies == {} and browser.storage == {}
    called_at = browser.now - 5000
    call(target, 'setConsent', True)
    env.run()
    events = delivered_events(browser)
    assert [e['type'] for e in events] == ['pageview', 'identify', 'addtobasket']
    assert all(e['ts'] == called_at for e in events), 'the time of the call, not of the consent'
    assert browser.cookies[consent.HOST_COOKIE_NAME] == '1'
    assert 'ometria' in browser.cookies and events[0]['cid'] in browser.cookies['ometria']
    assert browser.storage['ometria:shop:uid'] == '"shopper@example.com"'
    assert ['CONSENT: pending', 'CONSENT: granted'] == [e['a'][0] and 'CONSENT: ' + e['a'][0]
                                                        for e in log.entries() if e['c'] == 'consent']


def test_a_refusal_drops_what_was_held_and_keeps_the_tag_silent():
    browser = Browser()
    env, target, tag, log = open_page(browser)
    shop(target)
    call(target, 'setConsent', False)
    shop(target)
    env.advance(10_000)
    assert browser.sent == [] and browser.storage == {}
    assert browser.cookies == {consent.HOST_COOKIE_NAME: '0'}


def test_the_choice_is_remembered_by_the_next_page():
    browser = Browser()
    env, target, tag, log = open_page(browser)
    call(target, 'setConsent', True)
    tag.left()
    env, target, tag, log = open_page(browser, path='/next')
    call(target, 'init', 'listing')
    env.run()
    assert [e['page_type'] for e in delivered_events(browser)] == ['listing']
    refused = Browser(cookies={consent.HOST_COOKIE_NAME: '0'})
    env, target, tag, log = open_page(refused)
    shop(target)
    env.advance(5000)
    assert refused.sent == [] and set(refused.cookies) == {consent.HOST_COOKIE_NAME}


def test_a_sibling_subdomains_cookie_never_grants_consent_on_https():
    """`om_consent=1` set for the parent domain by another subdomain is visible here, but only this
    host's own `__Host-om_consent` grants; a plain cookie may only refuse. On http (development),
    where no `__Host-` cookie exists, the plain one is the tag's own."""
    sibling = Browser(cookies={consent.COOKIE_NAME: '1'})
    env, target, tag, log = open_page(sibling)
    shop(target)
    env.advance(5000)
    assert sibling.sent == [] and 'ometria' not in sibling.cookies, 'still pending'
    refusing = Browser(cookies={consent.COOKIE_NAME: '0'})
    env, target, tag, log = open_page(refusing)
    shop(target)
    env.advance(5000)
    assert refusing.sent == [] and 'CONSENT: denied' in ['CONSENT: ' + e['a'][0] for e in log.entries()
                                                         if e['c'] == 'consent']
    assert consent.cookie_name('http://shop.test/') == consent.COOKIE_NAME
    assert consent.cookie_name('https://shop.test/') == consent.HOST_COOKIE_NAME


def test_withdrawing_deletes_the_visitor_the_outbox_and_the_identity_and_sends_nothing_more():
    browser = Browser()
    browser.answer = 503
    env, target, tag, log = open_page(browser)
    call(target, 'setConsent', True)
    shop(target)
    env.run()
    assert any(key.startswith('ometria:shop:q:') for key in browser.storage), 'an outbox waits for a retry'
    sent_before = len(browser.sent)
    call(target, 'setConsent', False)
    env.advance(60_000)
    assert len(browser.sent) == sent_before
    assert not [key for key in browser.storage if key.startswith('ometria:shop:')]
    assert 'ometria' not in browser.cookies and browser.cookies[consent.HOST_COOKIE_NAME] == '0'


def test_global_privacy_control_refuses_until_the_shopper_says_otherwise():
    browser = Browser(gpc=True)
    env, target, tag, log = open_page(browser)
    shop(target)
    env.advance(5000)
    assert browser.sent == []
    ignoring = Browser(gpc=True)
    env, target, tag, log = open_page(ignoring, {**SETTINGS, 'consent': 'required,,,ignore'})
    shop(target)
    call(target, 'setConsent', True)
    env.run()
    assert [e['type'] for e in delivered_events(ignoring)] == ['pageview', 'identify', 'addtobasket']


def test_accounts_without_the_setting_behave_as_before():
    browser = Browser(gpc=True)
    env, target, tag, log = open_page(browser, SETTINGS)
    shop(target)
    env.run()
    assert len(delivered_events(browser)) == 3 and 'ometria' in browser.cookies
    assert not [e for e in log.entries() if e['c'] == 'consent']


def test_forget_starts_a_new_visitor():
    browser = Browser()
    env, target, tag, log = open_page(browser, SETTINGS)
    shop(target)
    env.run()
    first = delivered_events(browser)[0]['cid']
    call(target, 'forget')
    assert 'ometria' not in browser.cookies and not [k for k in browser.storage if k.startswith('ometria:shop:')]
    assert call(target, 'getIdentity') is None
    call(target, 'trackAddToBasket', '2', 1)
    env.run()
    last = delivered_events(browser)[-1]
    assert last['cid'] != first and last['uid'] is None


def test_an_unanswered_consent_page_gets_a_warning():
    browser = Browser()
    env, target, tag, log = open_page(browser)
    env.advance(page.SETTLE_DELAY_MS + 10)
    assert 'consent_pending' in [e['c'] for e in log.entries() if e['k'] == 'warn']


@pytest.mark.parametrize('text, expected', [
    ('', {'required': False, 'tool': '', 'category': '', 'honour_gpc': True}),
    ('required,cookiebot,marketing,ignore', {'required': True, 'tool': 'cookiebot', 'category': 'marketing',
                                              'honour_gpc': False}),
])
def test_settings(text, expected):
    assert consent.settings_from(text) == expected


@pytest.mark.parametrize('tool, values, category, decision', [
    ('cookiebot', [{'marketing': True}, True], 'marketing', True),
    ('cookiebot', [{'marketing': False}, True], 'marketing', False),
    ('cookiebot', [{'marketing': False}, False], 'marketing', None),
    ('onetrust', [',C0001,C0004,', False], 'C0004', True),
    ('onetrust', [',C0001,', True], 'C0004', False),
    ('onetrust', [',C0001,', False], 'C0004', None),
    ('gcm', [['consent', 'default', {'analytics_storage': 'denied'}]], 'analytics_storage', None),
    ('gcm', [['consent', 'update', {'analytics_storage': 'granted'}]], 'analytics_storage', True),
    ('gcm', [['consent', 'update', {'analytics_storage': 'denied'}]], 'analytics_storage', False),
    ('gcm', [['event', 'x']], 'analytics_storage', None),
])
def test_tool_states(tool, values, category, decision):
    assert consent_tools.TOOLS[tool]['decide'](values, category) is decision


def test_each_tool_is_read_somehow():
    for name, entry in consent_tools.TOOLS.items():
        assert set(entry) == {'reads', 'events', 'refusals', 'data_layer', 'decide'}, name
        assert entry['reads'] or entry['data_layer'], name + ': nothing to read'

