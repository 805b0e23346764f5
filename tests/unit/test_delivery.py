"""Delivery (tracker/delivery.py) under CPython with the fake browser: batching, the persistent
outbox, retries, drops, unload, several pages and tabs. tests/browser/test_delivery.py does the
same against the compiled tag and a real collector."""

from __future__ import annotations

import json

from tests.unit.fakes import Browser, FakeEnv, delivered_events
from tracker import delivery, outbox

ACCOUNT = 'shop'
URL = 'https://collector.test/collect'


def open_page(browser: Browser):
    env = FakeEnv(browser)
    states = []
    sender = delivery.Delivery(env, ACCOUNT, URL, lambda ids, state: states.append((tuple(ids), state)))
    sender.start()
    return env, sender, states


def make_events(browser: Browser, count: int, kind: str = 'addtobasket') -> list[dict]:
    return [{'id': browser.next_uuid(), 'type': kind, 'ts': int(browser.now)} for _ in range(count)]


def outbox_keys(browser: Browser) -> list[str]:
    return [k for k in browser.storage if k.startswith(f'ometria:{ACCOUNT}:q:')]


def test_events_of_one_task_travel_in_one_request_after_being_written_to_storage():
    browser = Browser()
    seen_in_storage = []

    def answer(body):
        seen_in_storage.append(sum(len(json.loads(browser.storage[k])['entries']) for k in outbox_keys(browser)))
        return 204

    browser.answer = answer
    env, sender, _ = open_page(browser)
    sender.enqueue(make_events(browser, 3))
    env.run()
    assert len(browser.sent) == 1 and len(browser.sent[0].body['events']) == 3
    assert seen_in_storage == [3], 'the outbox is written before the attempt'
    assert outbox_keys(browser) == [], 'accepted events leave the outbox'


def test_server_errors_are_retried_with_backoff_keeping_the_ids():
    browser = Browser()
    statuses = iter([500, 503, 0, 204])
    browser.answer = lambda body: next(statuses)
    env, sender, _ = open_page(browser)
    events = make_events(browser, 2)
    sender.enqueue(events)
    env.run()
    times = [browser.now]
    for _ in range(3):
        env.advance(min(t[0] for t in env.timers) - browser.now)
        times.append(browser.now)
    assert [r.status for r in browser.sent] == [500, 503, 0, 204]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert gaps == [750, 1500, 3000], 'equal jitter with random() = 0.5 in the fakes'
    assert all([e['id'] for e in r.body['events']] == [e['id'] for e in events] for r in browser.sent)
    assert sender.stats['retries'] == 3 and sender.stats['accepted'] == 2


def test_retry_after_is_honoured():
    browser = Browser()
    browser.answer = lambda body: (429, '5') if len(browser.sent) == 1 else 204
    env, sender, _ = open_page(browser)
    sender.enqueue(make_events(browser, 1))
    env.run()
    env.advance(4999)
    assert len(browser.sent) == 1
    env.advance(1)
    assert [r.status for r in browser.sent] == [429, 204]


def test_a_rejected_batch_is_dropped_and_counted_without_blocking_the_next():
    browser = Browser()
    browser.answer = lambda body: 400 if body['events'][0]['type'] == 'poison' else 204
    env, sender, states = open_page(browser)
    poison = make_events(browser, 1, 'poison')
    sender.enqueue(poison)
    env.run()
    good = make_events(browser, 2)
    sender.enqueue(good)
    env.run()
    assert [r.status for r in browser.sent] == [400, 204]
    assert [e['id'] for e in delivered_events(browser)] == [e['id'] for e in good]
    assert sender.stats['dropped_rejected'] == 1
    assert json.loads(browser.storage[f'ometria:{ACCOUNT}:drops']) == {'rejected': 1}
    assert ((poison[0]['id'],), 'dropped') in states


def test_a_refused_batch_is_halved_until_only_the_bad_event_is_dropped():
    """A collector that refuses a whole batch for one bad event (an older collector, a stricter
    validator) costs that event alone: the tag sends the batch again in halves."""
    browser = Browser()
    browser.answer = lambda body: 400 if any(e['type'] == 'poison' for e in body['events']) else 204
    env, sender, states = open_page(browser)
    events = make_events(browser, 3) + make_events(browser, 1, 'poison') + make_events(browser, 4)
    sender.enqueue(events)
    env.run()
    delivered = [e['id'] for e in delivered_events(browser)]
    assert sorted(delivered) == sorted(e['id'] for e in events if e['type'] != 'poison')
    assert sender.stats['dropped_rejected'] == 1 and sender.stats['accepted'] == 7
    # 8 refused, its first half refused, a quarter accepted, the next quarter refused, then one
    # accepted and the bad one dropped alone; the rest goes whole.
    assert [(len(r.body['events']), r.status) for r in browser.sent] == [
        (8, 400), (4, 400), (2, 204), (2, 400), (1, 204), (1, 400), (4, 204)]
    assert ((events[3]['id'],), 'dropped') in states
    sender.enqueue(make_events(browser, 5))
    env.run()
    assert len(browser.sent[-1].body['events']) == 5, 'whole batches again once the bad event is gone'


def test_a_collector_outage_across_page_loads_loses_nothing_and_does_not_storm():
    browser = Browser()
    browser.answer = 0  # connection refused
    made = []
    for _ in range(5):
        env, sender, _ = open_page(browser)
        events = make_events(browser, 3)
        made += events
        sender.enqueue(events)
        env.run()
        env.advance(2000)
        sender.unload(True)  # the shopper clicks on
    requests_while_down = len(browser.sent)
    browser.answer = 204
    env, sender, _ = open_page(browser)
    env.advance(10 * 60 * 1000)
    delivered = [e['id'] for e in delivered_events(browser)]
    assert sorted(delivered) == sorted(e['id'] for e in made) and len(delivered) == len(set(delivered))
    assert outbox_keys(browser) == []
    # Each page: a few fetches within the backoff, then one beacon at unload.
    assert requests_while_down <= 5 * 4, requests_while_down


def test_a_closed_tab_is_adopted_once_its_lease_runs_out():
    browser = Browser()
    browser.answer = 0
    env_a, sender_a, _ = open_page(browser)
    lost_tab = make_events(browser, 2)
    sender_a.enqueue(lost_tab)
    env_a.run()  # tab A crashes here: no unload, its key stays with a lease
    browser.answer = 204
    env_b, sender_b, _ = open_page(browser)
    env_b.run()
    assert delivered_events(browser) == [], 'a live lease is respected'
    env_b.advance(delivery.LEASE_MS + delivery.ADOPT_INTERVAL_MS + 5000)
    sender_b.enqueue(make_events(browser, 1))
    env_b.run()
    assert {e['id'] for e in lost_tab} <= {e['id'] for e in delivered_events(browser)}
    assert outbox_keys(browser) == []


def test_two_live_tabs_keep_their_own_outboxes():
    browser = Browser()
    browser.answer = 0
    env_a, sender_a, _ = open_page(browser)
    env_b, sender_b, _ = open_page(browser)
    a_events, b_events = make_events(browser, 2), make_events(browser, 2)
    sender_a.enqueue(a_events)
    sender_b.enqueue(b_events)
    env_a.run()
    env_b.run()
    assert len(outbox_keys(browser)) == 2
    browser.answer = 204
    sender_a.online()
    sender_b.online()
    env_a.run()
    env_b.run()
    assert len(delivered_events(browser)) == 4 and outbox_keys(browser) == []


def test_unload_sends_pending_events_by_beacon_within_the_budget_and_keeps_them():
    browser = Browser()
    browser.answer = 0
    env, sender, _ = open_page(browser)
    big = [{**e, 'blob': 'x' * 20_000} for e in make_events(browser, 6)]
    sender.enqueue(big)
    env.run()
    sender.unload(True)
    beacons = [r for r in browser.sent if r.beacon]
    assert 1 <= len(beacons) and sum(len(json.dumps(r.body)) for r in beacons) <= outbox.UNLOAD_BUDGET_BYTES
    kept = json.loads(browser.storage[outbox_keys(browser)[0]])
    assert len(kept['entries']) == 6 and kept['lease'] == 0, 'kept, and free for the next page at once'


def test_without_storage_the_same_rules_hold_in_memory():
    browser = Browser(storage_broken=True)
    statuses = iter([503, 204])
    browser.answer = lambda body: next(statuses)
    env, sender, _ = open_page(browser)
    sender.enqueue(make_events(browser, 2))
    env.run()
    env.advance(2000)
    assert [r.status for r in browser.sent] == [503, 204]
    assert browser.storage == {}


def test_a_thousand_calls_in_one_task_go_in_ten_requests_with_a_bounded_outbox():
    browser = Browser()
    env, sender, _ = open_page(browser)
    sender.enqueue(make_events(browser, 1000))
    stored = json.loads(browser.storage.get(outbox_keys(browser)[0], '{}')) if outbox_keys(browser) else None
    env.run()
    assert len(browser.sent) == 10 and len(delivered_events(browser)) == 1000
    assert stored is None or len(stored['entries']) <= outbox.MAX_OUTBOX_EVENTS
    assert outbox_keys(browser) == []


def test_past_the_cap_the_oldest_are_dropped_and_counted():
    browser = Browser()
    browser.answer = 0
    env, sender, states = open_page(browser)
    sender.enqueue(make_events(browser, outbox.MAX_OUTBOX_EVENTS + 10))
    env.run()
    assert sender.stats['dropped_cap'] == 10
    assert json.loads(browser.storage[f'ometria:{ACCOUNT}:drops'])['cap'] == 10


def test_hidden_after_pagehide_neither_takes_the_lease_back_nor_beacons_twice():
    """Browsers fire visibilitychange (hidden) after pagehide when a page is left."""
    browser = Browser()
    browser.answer = 0
    env, sender, _ = open_page(browser)
    sender.enqueue(make_events(browser, 2))
    env.run()
    sender.unload(True)
    sender.unload(False)
    assert len([r for r in browser.sent if r.beacon]) == 1
    assert json.loads(browser.storage[outbox_keys(browser)[0]])['lease'] == 0
    sender.resume()
    assert json.loads(browser.storage[outbox_keys(browser)[0]])['lease'] > browser.now
