"""The pre-init gate (tracker/gate.py): the page's first event is its pageview; held calls are
released after it, or when the page settles without one, or past MAX_HELD_EVENTS."""

from __future__ import annotations

from tracker import gate, journal


def make_gate():
    delivered = []
    log = journal.Journal(True)
    return gate.Gate(lambda events: delivered.append([e['id'] for e in events]), log), delivered, log


def event(event_id: str, kind: str = 'addtobasket') -> dict:
    return {'id': event_id, 'type': kind, 'store_id': None}


def test_calls_before_the_pageview_wait_for_it_and_take_its_store_id():
    door, delivered, log = make_gate()
    held = event('a')
    door.admit(held)
    assert delivered == []
    door.admit(event('p', 'pageview'))
    door.opened('uk')
    assert delivered == [['p'], ['a']] and held['store_id'] == 'uk'
    door.admit(event('b'))
    assert delivered[-1] == ['b'] and door.inited()


def test_settling_without_init_releases_once_with_a_warning():
    door, delivered, log = make_gate()
    door.admit(event('a'))
    door.settle()
    door.settle()
    assert delivered == [['a']]
    assert [e['c'] for e in log.entries() if e['k'] == 'warn'] == ['no_init']
    door.admit(event('b'))
    assert delivered[-1] == ['b'], 'released: later calls go straight on'


def test_past_the_cap_the_held_calls_go_on_without_the_pageview():
    door, delivered, log = make_gate()
    for n in range(gate.MAX_HELD_EVENTS):
        door.admit(event(str(n)))
    assert len(delivered) == 1 and len(delivered[0]) == gate.MAX_HELD_EVENTS
    assert [e['c'] for e in log.entries() if e['k'] == 'warn'] == ['too_many_held']
