"""The visitor cookie and the 30-minute session (tracker/session.py), with time passed in."""

from __future__ import annotations

import itertools

import pytest

from tracker import session

T = 1_764_201_600_000
MINUTE = 60_000


def ids():
    counter = itertools.count(1)
    return lambda: f'id{next(counter)}'


def test_a_first_visit_makes_a_visitor_and_a_session():
    state = session.touch(None, T, ids(), None)
    assert state == {'cid': 'id1', 'sid': 'id2', 'seen': T, 'first': True, 'new_visitor': True, 'new_session': True,
                     'write': True}


def test_activity_within_30_minutes_continues_the_session():
    previous = {'cid': 'c', 'sid': 's', 'seen': T, 'first': True}
    state = session.touch(previous, T + 30 * MINUTE, ids(), None)
    assert (state['sid'], state['new_session'], state['seen']) == ('s', False, T + 30 * MINUTE)


def test_more_than_30_minutes_idle_starts_a_new_session_for_the_same_visitor():
    previous = {'cid': 'c', 'sid': 's', 'seen': T, 'first': True}
    state = session.touch(previous, T + 30 * MINUTE + 1, ids(), None)
    assert (state['cid'], state['sid'], state['new_session'], state['new_visitor']) == ('c', 'id1', True, False)


def test_the_cookie_is_rewritten_at_most_every_few_seconds_while_nothing_changes():
    previous = {'cid': 'c', 'sid': 's', 'seen': T, 'first': True}
    assert session.touch(previous, T + 1000, ids(), None)['write'] is False
    assert session.touch(previous, T + 1000, ids(), None)['seen'] == T
    assert session.touch(previous, T + session.SEEN_WRITE_INTERVAL_MS, ids(), None)['write'] is True


def test_a_clock_set_back_keeps_the_session():
    state = session.touch({'cid': 'c', 'sid': 's', 'seen': T, 'first': True}, T - 5 * MINUTE, ids(), None)
    assert (state['sid'], state['seen'], state['write']) == ('s', T - 5 * MINUTE, True)


def test_the_cookie_value_is_a_query_string_magento_can_parse():
    value = session.cookie_value({'cid': 'c-1', 'sid': 's_2', 'seen': T, 'first': True})
    assert value == f'cid=c-1&sid=s_2&seen={T}&nv=1'
    assert session.read_visitor(value) == {'cid': 'c-1', 'sid': 's_2', 'seen': T, 'first': True}
    assert session.cookie_value({'cid': 'c-1', 'sid': 's_2', 'seen': T, 'first': False}) == f'cid=c-1&sid=s_2&seen={T}'


@pytest.mark.parametrize('text', [None, '', 'garbage', 'sid=x', 'cid=bad id&sid=x', 'cid=' + 'x' * 65])
def test_an_unusable_cookie_means_a_new_visitor(text):
    assert session.read_visitor(text) is None


def test_a_cookie_with_foreign_or_broken_fields_keeps_what_it_can():
    state = session.read_visitor('other=1&cid=abc&sid=%ZZ&seen=notanumber&x')
    assert state == {'cid': 'abc', 'sid': None, 'seen': None, 'first': False}
    assert session.touch(state, T, ids(), None)['new_session'] is True


@pytest.mark.parametrize('host, configured, expected', [
    ('www.shop.example', '', 'shop.example'),
    ('shop.example', '', 'shop.example'),
    ('checkout.shop.example', '', 'checkout.shop.example'),
    ('WWW.Shop.Example', '', 'shop.example'),
    ('www.shop.example', 'shop.example', 'shop.example'),
    ('127.0.0.1', '', None),
    ('localhost', '', None),
    ('[::1]', '', None),
    ('', '', None),
])
def test_cookie_domain(host, configured, expected):
    assert session.cookie_domain(host, configured) == expected


def test_the_first_session_is_marked_until_a_new_one_starts():
    first = session.touch(None, T, ids(), None)
    assert session.touch(first, T + MINUTE, ids(), None)['first'] is True
    assert session.touch(first, T + 31 * MINUTE, ids(), None)['first'] is False


def test_attribution_rules_start_or_keep_a_session():
    previous = {'cid': 'c', 'sid': 's', 'seen': T, 'first': False}
    assert session.touch(previous, T + 11 * MINUTE, ids(), 'new')['new_session'] is True
    assert session.touch(previous, T + 50 * MINUTE, ids(), 'keep')['sid'] == 's'


def test_a_value_an_older_tag_wrote_with_2_prefix_is_read():
    state = session.read_visitor('2_cid%3Dold-1%26sid%3Ds9%26seen%3D' + str(T))
    assert (state['cid'], state['sid'], state['seen']) == ('old-1', 's9', T)
