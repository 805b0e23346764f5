"""The work one request can cause: the worst bodies found against the collector (a key repeated
13,000 times once froze a worker for 8.5 s) each cost at most WORST_BODY_CPU_S of the event loop's
time, from the bytes to the rows to store; and the cheap limits around them (client networks,
the set-aside budget)."""

from __future__ import annotations

import json
import time

import pytest

from collector.access import network_of
from collector.intake import RejectBudget
from collector.models import MAX_BODY_BYTES
from collector.validation import BatchVerdict, check_events, open_envelope
from tests.support.contract import event

# What the slowest body may cost the event loop (the bound; typical bodies cost ~0.1 ms).
WORST_BODY_CPU_S = 0.050


def envelope_text(events_text: str, account: str = 'shop') -> bytes:
    return ('{"v":1,"account":"%s","sent_at":1,"events":[%s]}' % (account, events_text)).encode()


def padded(make_events, limit: int = MAX_BODY_BYTES) -> bytes:
    """The largest body `make_events(n)` gives within the body limit."""
    low, high = 1, limit
    while low < high:
        middle = (low + high + 1) // 2
        if len(make_events(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return make_events(low)


WORST_BODIES = {
    'one key 13,000 times': lambda: padded(lambda n: envelope_text('{' + ','.join(['"a":1'] * n) + '}')),
    'one key 13,000 times, unknown account': lambda: padded(
        lambda n: envelope_text('{' + ','.join(['"a":1'] * n) + '}', account='nobody')),
    'a key repeated in the envelope': lambda: padded(lambda n: ('{' + ','.join(['"v":1'] * n) + '}').encode()),
    'events of 256 distinct keys': lambda: padded(lambda n: envelope_text(','.join(
        ['{' + ','.join(f'"k{i}":{i}' for i in range(256)) + '}'] * min(n, 100)))),
    'events of 257 keys (over the limit)': lambda: padded(lambda n: envelope_text(','.join(
        ['{' + ','.join(f'"k{i}":{i}' for i in range(257)) + '}'] * min(n, 100)))),
    'thousands of empty objects': lambda: padded(lambda n: envelope_text('{"a":[' + ','.join(['{}'] * n) + ']}')),
    '5,000 levels of nesting': lambda: envelope_text('[' * 5000 + ']' * 5000),
    '16 levels in every event': lambda: envelope_text(','.join(['{"a":' * 16 + '1' + '}' * 16] * 100)),
    'escaped lone surrogates': lambda: padded(lambda n: envelope_text('"' + '\\ud800' * n + '"')),
    'invalid UTF-8': lambda: padded(lambda n: envelope_text('"' + 'a' * 10 + '"') + b'\xff' * n),
    'a 60 KiB string of escapes': lambda: padded(lambda n: envelope_text(json.dumps({'x': '\\"' * n}))),
    '100 valid baskets of 200 lines': lambda: envelope_text(','.join(
        [json.dumps(event('setbasket', basket={'id': 'R', 'currency': 'GBP', 'total': 1.0, 'url': None, 'size': 200,
                                               'items': [{'product_id': str(i), 'quantity': 1, 'price': 1.0,
                                                          'variant_id': None} for i in range(200)]}))] * 3)),
    '100 valid events': lambda: envelope_text(','.join(json.dumps(event('pageview')) for _ in range(100))),
}


@pytest.mark.parametrize('name', list(WORST_BODIES))
def test_no_body_costs_the_event_loop_more_than_50_ms(name):
    """The best of three runs (a garbage collection or a busy machine is no cost of the body's;
    a quadratic one costs seconds every time)."""
    body = WORST_BODIES[name]()
    assert len(body) <= MAX_BODY_BYTES

    def cost() -> float:
        started = time.process_time()
        opened = open_envelope(body)
        if not isinstance(opened, BatchVerdict):
            check_events(opened)
        return time.process_time() - started

    spent = min(cost() for _ in range(3))
    assert spent < WORST_BODY_CPU_S, f'{name}: {1000 * spent:.1f} ms of CPU'


def test_a_key_given_twice_in_one_event_costs_only_that_event():
    good, bad = event('pageview'), event('pageview')
    text = envelope_text(json.dumps(bad).replace('"type": "pageview"', '"type": "pageview", "type": "checkout"')
                         + ',' + json.dumps(good))
    verdict = check_events(open_envelope(text))
    assert [e.event_id for e in verdict.events] == [good['id']]
    rejected = verdict.rejected
    assert rejected[0].reason == "a key is given twice: 'type'" and rejected[0].cid == bad['cid']


def test_a_key_given_twice_in_the_envelope_is_400():
    verdict = check_events(open_envelope(b'{"v":1,"account":"shop","account":"other","sent_at":1,"events":[{}]}'))
    assert verdict.status == 400 and 'twice' in verdict.reason


def test_reasons_quote_nothing_raw():
    """A reason is stored and shown: control characters in what a client sent are escaped."""
    bad = event('pageview')
    text = json.dumps(bad).replace('"type": "pageview"', '"type": "pageview", "\\u0000x": 1, "\\u0000x": 2')
    [rejected] = check_events(open_envelope(envelope_text(text))).rejected
    assert '\x00' not in rejected.reason and '\\x00x' in rejected.reason
    verdict = open_envelope(envelope_text('[' * 5000 + ']' * 5000))
    assert isinstance(verdict, BatchVerdict) and 'recursion' not in verdict.reason.lower()


@pytest.mark.parametrize(('address', 'client'), [
    ('203.0.113.9', '203.0.113.9'),
    ('2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'),
    ('2001:db8:1:2:ffff::1', '2001:db8:1:2::/64'),
    ('::ffff:203.0.113.9', '203.0.113.9'),
    ('not an address', 'not an address'),
])
def test_a_client_is_an_ipv4_address_or_an_ipv6_64(address, client):
    """One subscriber holds a whole /64: its addresses share one rate-limit bucket and one
    trigger limit."""
    assert network_of(address) == client


def test_set_aside_events_stored_per_account_and_hour_are_bounded():
    now = [0.0]
    budget = RejectBudget(per_hour=25, clock=lambda: now[0])
    assert [budget.take('shop', 10) for _ in range(4)] == [10, 10, 5, 0]
    assert budget.take('other', 10) == 10, 'each account its own budget'
    now[0] = 3600.0
    assert budget.take('shop', 10) == 10, 'a new hour, a new budget'
