"""Only real shoppers count, seen in Chromium: a page no one sees yet (prerendered by a speculation
rule, or a Safari preview) sends and stores nothing, and a prerendered one starts once shown; a
browser driven by automation (`navigator.webdriver`) sends its events marked; a person's first
input of a session (never a script's) sends the `human` mark once. (The collector's side:
tests/unit/test_bots.py and test_sessions.py; the same rules under CPython: tests/unit/test_human.py.)

A prerender is simulated the way the page sees one: `document.prerendering` true, then false and
a `prerenderingchange` event; a preview by `navigator.loadPurpose` "preview"."""

from __future__ import annotations

import time

import pytest

from tests.browser.test_demo_triggers import SESSION_TIMEOUT_S, start_demo
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.support.contract import BROWSER_USER_AGENT
from tests.support.overlay import overlay_lines
from tests.support.servers import API_TOKEN, http_json, wait_for
from tests.support.user_agents import BOTS, PEOPLE

PRERENDERING = """
window.__prerendering = true;
Object.defineProperty(Document.prototype, 'prerendering', {configurable: true,
  get: function () { return window.__prerendering; }});
// A page that was prerendered says when it was shown: its navigation entry's activationStart.
const entries = Performance.prototype.getEntriesByType;
Performance.prototype.getEntriesByType = function (kind) {
  return kind === 'navigation' ? [{activationStart: 1234}] : entries.call(this, kind);
};
"""
# The page is shown: the time it was, in ms.
SHOW = """() => {
  const shownAt = Date.now();
  window.__prerendering = false;
  document.dispatchEvent(new Event('prerenderingchange'));
  return shownAt;
}"""
PREVIEW = "Object.defineProperty(Navigator.prototype, 'loadPurpose', {configurable: true, get: () => 'preview'});"
# What a store's page does at once: the documented call, and a reference to a function kept for later.
PAGE_CALLS = '<script>ometria.init("homepage"); window.keptIdentify = ometria.identify;</script>'
# What the tag could have left: its cookie, its storage.
TRACES = """() => [document.cookie, Object.keys(localStorage).filter(k => k.indexOf('ometria') === 0)]"""
# Longer than the tag's settle delay (page.SETTLE_DELAY_MS) and a delivery round.
QUIET_S = 3.0


def collector_requests(page, shop) -> list[str]:
    sent: list[str] = []
    page.on('request', lambda request: sent.append(request.url) if request.url.startswith(shop.proxy.url) else None)
    return sent


def test_a_prerendered_page_sends_and_stores_nothing_until_shown_then_starts_with_its_calls(shop, page, page_errors):
    page.add_init_script(PRERENDERING)
    sent = collector_requests(page, shop)
    since = shop.mark()
    page.goto(shop.page(body=PAGE_CALLS))
    time.sleep(QUIET_S)
    assert sent == [] and shop.events(since) == []
    assert page.evaluate(TRACES) == ['', []], 'no cookie, no storage before the page is shown'
    assert page.evaluate("typeof ometria.init") == 'function'

    shown_at = page.evaluate(SHOW)
    page.evaluate("keptIdentify('shown@example.com')")
    events = shop.wait_events(since, 2)
    assert [e['type'] for e in events] == ['pageview', 'identify']
    assert events[0]['page_type'] == 'homepage'
    assert all(e['ts'] >= shown_at for e in events), 'made when the page was shown'
    assert page.evaluate(TRACES)[1], 'the tag stores its outbox and session once shown'
    assert page_errors == []


def test_a_prerendered_page_in_debug_mode_says_it_waited(shop, page, page_errors):
    page.add_init_script(PRERENDERING)
    page.goto(shop.page(body=PAGE_CALLS) + '#om_debug')
    page.evaluate(SHOW)
    lines = overlay_lines(page)
    assert 'PRERENDERED: waited until shown' in lines
    assert 'Event: pageview (homepage)' in lines
    assert page_errors == []


def test_a_preview_does_nothing_at_all(shop, page, page_errors):
    page.add_init_script(PREVIEW)
    sent = collector_requests(page, shop)
    since = shop.mark()
    page.goto(shop.page(body=PAGE_CALLS + '<script>ometria.identify("preview@example.com")</script>'))
    page.mouse.click(5, 5)
    time.sleep(QUIET_S)
    assert sent == [] and shop.events(since, marks=True) == []
    assert page.evaluate(TRACES) == ['', []]
    assert page_errors == [], "the page's calls still work: they are queued, never sent"


@pytest.fixture
def webdriver_browser(playwright):
    """Chromium as automation leaves it: `navigator.webdriver` true (the other tests' Chromium
    runs without it, as a shopper's: tests/conftest.py)."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def webdriver_page(webdriver_browser):
    return webdriver_browser.new_context(user_agent=BROWSER_USER_AGENT).new_page()


def test_a_webdriver_browser_sends_its_events_marked_automated(shop, webdriver_page):
    page = webdriver_page
    assert page.evaluate('navigator.webdriver') is True
    since = shop.mark()
    page.goto(shop.page(body=PAGE_CALLS + '<script>ometria.identify("robot@example.com")</script>') + '#om_debug')
    events = shop.wait_events(since, 2)
    assert [(e['type'], e.get('automated')) for e in events] == [('pageview', True), ('identify', True)]
    assert 'AUTOMATED BROWSER: events marked, no campaign' in overlay_lines(page)


def test_a_shoppers_browser_sends_nothing_marked_automated(shop, page):
    assert page.evaluate('navigator.webdriver') is False
    since = shop.mark()
    page.goto(shop.page(body=PAGE_CALLS))
    assert [e.get('automated') for e in shop.wait_events(since, 1)] == [None]


def test_a_persons_first_input_of_a_session_sends_one_human_mark_and_a_scripts_none(shop, page, page_errors):
    since = shop.mark()
    page.goto(shop.page(body=PAGE_CALLS + '<button id="b">a button</button>'))
    page.evaluate("""() => {
        for (const kind of ['pointerdown', 'keydown', 'touchstart', 'scroll']) {
            document.getElementById('b').dispatchEvent(new Event(kind, {bubbles: true}));
            window.dispatchEvent(new Event(kind));
        }
    }""")
    shop.wait_events(since, 1)
    time.sleep(1.0)
    assert [e['type'] for e in shop.events(since, marks=True)] == ['pageview'], "a script's events are no person's"

    page.click('#b')
    page.keyboard.press('a')
    marks = wait_marks(shop, since, 1)
    assert [(m['input'], m['url']) for m in marks] == [('pointerdown', page.url)]

    page.goto(shop.page(body=PAGE_CALLS + '<button id="b">a button</button>'))
    page.click('#b')
    time.sleep(1.0)
    assert len([e for e in shop.events(since, marks=True) if e['type'] == 'human']) == 1, 'once per session'
    assert page_errors == []


def wait_marks(shop, since: int, count: int, timeout: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        marks = [e for e in shop.events(since, marks=True) if e['type'] == 'human']
        if len(marks) >= count or time.monotonic() > deadline:
            return marks
        time.sleep(0.1)


def test_from_one_email_link_only_a_person_starts_a_campaign(tmp_path, browser, webdriver_browser):
    """Five visits of the same kind of email link (`?om_user=`: the visitor is identified on
    landing, and views a product), each from its own browser, each left alone until its session
    ends: a link scanner's real browser that does nothing more, Googlebot, a headless Chromium
    and a webdriver-driven one start no trigger; a shopper in Instagram's in-app browser who
    presses a key once gets `browse_abandonment`."""
    demo = start_demo(tmp_path)
    try:
        visits = {  # uid: (browser, user agent, the person's input or None)
            'scanner@example.com': (browser, BROWSER_USER_AGENT, None),
            'googlebot@example.com': (browser, BOTS['Googlebot'][0], None),
            'headless@example.com': (browser, BOTS['HeadlessChrome'][0], None),
            'webdriver@example.com': (webdriver_browser, BROWSER_USER_AGENT, None),
            'instagram@example.com': (browser, PEOPLE['Instagram (iOS)'], 'keydown'),
        }
        for uid, (chromium, agent, person) in visits.items():
            context = chromium.new_context(user_agent=agent)
            page = context.new_page()
            since = demo.last_seq('demo')
            page.goto(f'{demo.url}/p/1001?om_user={uid}')
            if person:
                page.keyboard.press('ArrowDown')
            # The pageview and the identify, and the person's mark.
            expected = 3 if person else 2
            wait_for(lambda since=since, uid=uid, expected=expected:
                     len([e for e in demo.events('demo', since) if e.get('uid') == uid]) >= expected,
                     what=f'the events of {uid}')
            context.close()
        wait_for(lambda: set(visits) <= {s['uid'] for s in http_json(f'{demo.url}/api/sessions?account=demo')},
                 timeout=SESSION_TIMEOUT_S * 6, what='every session to end')
        sessions = {s['uid']: s for s in http_json(f'{demo.url}/api/sessions?account=demo')}
        why = {uid: (s.get('no_trigger'), s.get('bot')) for uid, s in sessions.items()}
        assert why == {
            'scanner@example.com': ('no_interaction', None),
            'googlebot@example.com': ('bot', 'crawler'),
            'headless@example.com': ('bot', 'headless'),
            'webdriver@example.com': ('bot', 'automated'),
            'instagram@example.com': (None, None),
        }
        triggers = http_json(f'{demo.url}/api/triggers?account=demo')
        assert [(t['type'], t['session']['uid']) for t in triggers] == [('browse_abandonment', 'instagram@example.com')]
        # The live page says so too (its CSP forbids eval: wait with locators).
        live = browser.new_page()
        live.goto(f'{demo.url}/live?account=demo#token={API_TOKEN}')
        for reason in ('crawler', 'headless', 'automated'):
            live.locator('#sessions td.bot', has_text=f'none: bot ({reason})').wait_for(timeout=10000)
        live.locator('#sessions td', has_text='none: no_interaction').wait_for(timeout=10000)
        assert live.locator('#sessions td', has_text='started').count() == 1
    finally:
        demo.stop()
