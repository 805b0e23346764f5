"""Calls made before `init` are held in memory, but not without bound: past MAX_HELD_EVENTS they
are released to the outbox (whose caps are counted), so a page looping before `init` cannot grow
the tag's memory, and nothing it recorded is lost."""

from __future__ import annotations

from tests.support.vectors import run_in_cpython
from tracker.gate import MAX_HELD_EVENTS


def calls_then_init(count: int) -> dict:
    steps = [{'page': {'path': '/p/1'}}]
    steps += [{'call': 'trackAddToBasket', 'args': [str(n)]} for n in range(count)]
    steps.append({'call': 'init', 'args': ['product', {'pid': '1'}, 'uk']})
    return {'steps': steps}


def test_calls_under_the_cap_wait_for_the_pageview():
    result = run_in_cpython(calls_then_init(MAX_HELD_EVENTS - 1))
    types = [e['type'] for e in result['events']]
    assert types == ['pageview'] + ['addtobasket'] * (MAX_HELD_EVENTS - 1)
    assert not any('before ometria.init()' in line for line in result['lines'][0])


def test_calls_over_the_cap_are_released_in_order_and_none_is_lost():
    count = MAX_HELD_EVENTS * 3 + 7
    result = run_in_cpython(calls_then_init(count))
    events = result['events']
    adds = [e['product_id'] for e in events if e['type'] == 'addtobasket']
    assert adds == [str(n) for n in range(count)]
    assert [e['type'] for e in events].count('pageview') == 1
    assert sum('calls were made before ometria.init()' in line for line in result['lines'][0]) == 1
