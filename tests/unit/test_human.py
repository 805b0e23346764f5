"""The tag's mark of a person (tracker/engine.py `human`, bound to the page's inputs in
tracker/page.py): the first input of a session sends one `human` event; later inputs, on this page
or the next ones of the session, send nothing more; a new session gets its own. And the mark of an
automated browser: every event it makes carries `automated: true`. (In real browsers:
tests/browser/test_real_visitors.py.)"""

from __future__ import annotations

from tests.support.vectors import CPYTHON_ORIGIN, SETTINGS
from tests.unit.fakes import Browser, FakeEnv, FakeHooks, delivered_events
from tracker import journal, page

THIRTY_ONE_MINUTES_MS = 31 * 60 * 1000


def open_page(browser: Browser):
    env = FakeEnv(browser, href=CPYTHON_ORIGIN + '/')
    target: dict = {}
    tag = page.Page(env, FakeHooks(env), target, SETTINGS, journal.Journal(False))
    tag.start()
    target['init']('homepage', None, None)
    tag.loaded()
    env.run()
    return env, tag


def touch(env, kind: str) -> None:
    """A person's input, as the browser reports it to what the tag bound (browser_hooks.watch_input)."""
    for on_input in env.page['input_watchers']:
        on_input(kind)


def test_the_first_input_of_a_session_sends_one_human_event():
    browser = Browser()
    env, tag = open_page(browser)
    touch(env, 'scroll')
    touch(env, 'pointerdown')
    tag.left()
    env, tag = open_page(browser)
    touch(env, 'keydown')
    env.advance(THIRTY_ONE_MINUTES_MS)
    tag.left()
    env, tag = open_page(browser)
    touch(env, 'touchstart')
    env.advance(5000)
    sent = [(e['type'], e.get('input'), e['sid']) for e in delivered_events(browser)]
    humans = [entry for entry in sent if entry[0] == 'human']
    assert [kind for _, kind, _ in humans] == ['scroll', 'touchstart']
    assert humans[0][2] != humans[1][2], 'one per session'


def test_an_automated_browser_marks_every_event_it_makes():
    robot, person = Browser(automated=True), Browser()
    for browser in (robot, person):
        env, tag = open_page(browser)
        touch(env, 'pointerdown')
        env.advance(5000)
    marked = [e.get('automated') for e in delivered_events(robot)]
    assert marked == [True, True], 'its pageview and its human mark'
    assert [e.get('automated') for e in delivered_events(person)] == [None, None]
