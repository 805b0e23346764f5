"""The journal (tracker/journal.py) and its reading by the debug module (tracker/debug_view.py)."""

from __future__ import annotations

from tracker import debug_view, journal


def test_the_journal_records_nothing_with_the_switch_off():
    log = journal.Journal(False)
    log.line('new_visitor', [], None)
    log.warn(['no_init'])
    assert log.entries() == []


def test_a_late_follower_sees_the_whole_story_then_each_change():
    log = journal.Journal(True)
    log.line('new_session', ['s1'], None)
    log.event('pageview', 'product', {'page_type': 'product'}, ['e1'])
    seen = []
    log.follow(lambda entry: seen.append((entry['c'], entry['s'])))
    assert seen == [('new_session', None), ('pageview', None)]
    log.state(['e1'], 'sent')
    log.state(['e1'], 'sent')
    assert seen[-1] == ('pageview', 'sent') and len(seen) == 3, 'a change is told once'


def test_the_journal_is_bounded():
    log = journal.Journal(True)
    for _ in range(journal.MAX_JOURNAL_ENTRIES + 50):
        log.note(['basket_unchanged'])
    assert len(log.entries()) == journal.MAX_JOURNAL_ENTRIES


def test_the_debug_view_words_entries_and_runs_the_doctor_on_checks():
    log = journal.Journal(True)
    log.check('pageview', {'page_type': 'landing', 'page_data': {}})
    log.event('pageview', 'landing', None, ['e1'])
    log.check('basket', {'currency': 'GBP', 'total': 99, 'items': [{'price': 10, 'quantity': 2}]})
    log.event('checkout', 3, None, ['e2'])
    log.refuse([['add_bad', '4521']])
    lines = debug_view.lines(log.entries())
    assert lines[0].startswith('Unknown page type "landing"')
    assert lines[1] == 'Event: pageview (landing)'
    assert lines[2].startswith('Basket total 99 differs from its lines (prices add up to 10, price x quantity to 20)')
    assert lines[3:] == ['Event: checkout (3)', 'trackAddToBasket("4521", ...): nothing sent']
