"""The visitor of a page (tracker/visitor.py): the cookie touched by each call, read at most once a
second, and the journal lines that say what happened."""

from __future__ import annotations

from tests.unit.fakes import Browser, FakeEnv
from tracker import journal, session, visitor


def make_visitor(browser: Browser):
    env = FakeEnv(browser, href='https://www.shop.test/')
    log = journal.Journal(True)
    return visitor.Visitor(env, 'shop', '', log), log


def test_a_first_visit_makes_a_visitor_and_a_session_and_says_so():
    browser = Browser()
    person, log = make_visitor(browser)
    state = person.start({'kind': 'direct', 'source': None, 'ecamp': None})
    assert [e['c'] for e in log.entries()] == ['new_visitor', 'new_session', 'source_changed']
    assert session.read_visitor(browser.cookies['ometria'])['cid'] == state['cid']
    assert browser.cookie_writes[-1][3] == 'shop.test', 'the host without www.'


def test_a_burst_of_calls_reads_the_cookie_once():
    browser = Browser()
    person, _ = make_visitor(browser)
    person.start({'kind': 'direct', 'source': None, 'ecamp': None})
    reads = []
    original = person._env.read_cookie
    person._env.read_cookie = lambda name: reads.append(name) or original(name)
    for _ in range(50):
        person.touch()
    assert reads == []
    browser.now += visitor.COOKIE_READ_INTERVAL_MS
    person.touch()
    assert reads == ['ometria']


def test_thirty_idle_minutes_start_a_new_session_for_the_same_visitor():
    browser = Browser()
    person, log = make_visitor(browser)
    first = person.start({'kind': 'direct', 'source': None, 'ecamp': None})
    browser.now += session.SESSION_IDLE_TIMEOUT_MS + 1
    later = person.touch()
    assert later['cid'] == first['cid'] and later['sid'] != first['sid']
    assert log.entries()[-1]['c'] == 'new_session' and log.entries()[-1]['a'] == [later['sid']]
