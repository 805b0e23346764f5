"""Delivery policy (tracker/outbox.py): what answers mean, how long to wait, batch and outbox limits."""

from __future__ import annotations

import pytest

from tracker import outbox


@pytest.mark.parametrize('status, verdict', [
    (200, 'accepted'), (204, 'accepted'), (400, 'rejected'), (404, 'rejected'), (413, 'rejected'),
    (0, 'retry'), (403, 'retry'), (408, 'retry'), (429, 'retry'), (500, 'retry'), (502, 'retry'), (503, 'retry'),
])
def test_classify(status, verdict):
    assert outbox.classify(status) == verdict


def test_retry_delays_double_with_equal_jitter_up_to_five_minutes():
    assert [outbox.retry_delay_ms(n, 0.0) for n in range(1, 6)] == [500, 1000, 2000, 4000, 8000]
    assert [outbox.retry_delay_ms(n, 0.999999) for n in range(1, 4)] == [999, 1999, 3999]
    assert outbox.retry_delay_ms(30, 0.0) == 150_000
    assert outbox.retry_delay_ms(30, 0.999999) == 299_999
    assert outbox.retry_delay_ms(1000, 0.5) == 225_000


@pytest.mark.parametrize('header, expected', [('5', 5000), (' 12 ', 12000), ('0', 0), ('1.5', 1500),
                                              ('99999999', outbox.RETRY_AFTER_MAX_MS), (None, None), ('soon', None),
                                              ('-1', None), ('Wed, 21 Oct 2015 07:28:00 GMT', None)])
def test_retry_after(header, expected):
    assert outbox.retry_after_ms(header) == expected


def entry(n: int, size: int = 100, ts: int = 0) -> dict:
    return {'e': {'id': f'e{n}', 'ts': ts or n}, 'b': size, 'n': 0}


def test_a_batch_holds_at_most_100_events_and_the_byte_limit():
    entries = [entry(i) for i in range(250)]
    assert len(outbox.select_batch(entries, {}, outbox.MAX_BATCH_BYTES, outbox.MAX_BATCH_EVENTS)) == 100
    big = [entry(i, size=20_000) for i in range(5)]
    assert [e['e']['id'] for e in outbox.select_batch(big, {}, outbox.MAX_BATCH_BYTES, outbox.MAX_BATCH_EVENTS)] == ['e0', 'e1']


def test_a_batch_skips_events_in_flight():
    entries = [entry(i) for i in range(4)]
    batch = outbox.select_batch(entries, {'e0': True, 'e2': True}, 10_000, outbox.MAX_BATCH_EVENTS)
    assert [e['e']['id'] for e in batch] == ['e1', 'e3']


def test_split_size_halves_a_refused_batch_down_to_the_single_event():
    assert [outbox.split_size(n) for n in (100, 9, 2, 1, 0)] == [50, 4, 1, 0, 0]


def test_an_event_over_32_kib_is_refused_when_made():
    assert outbox.new_entry({'id': 'x', 'ts': 1, 'blob': 'y' * 40_000}) is None
    assert outbox.new_entry({'id': 'x', 'ts': 1})['b'] == len('{"id":"x","ts":1}')


def test_caps_drop_the_oldest():
    entries = [entry(i) for i in range(outbox.MAX_OUTBOX_EVENTS + 5)]
    dropped = outbox.enforce_caps(entries)
    assert [e['e']['id'] for e in dropped] == [f'e{i}' for i in range(5)]
    assert len(entries) == outbox.MAX_OUTBOX_EVENTS
    heavy = [entry(i, size=300_000) for i in range(5)]
    assert len(outbox.enforce_caps(heavy)) == 2 and len(heavy) == 3


def test_merge_adds_unknown_ids_in_time_order_and_ignores_junk():
    entries = [entry(1, ts=10), entry(2, ts=30)]
    added = outbox.merge_entries(entries, [entry(2, ts=30), entry(3, ts=20), {'bad': 1}, None, entry(4, ts=40)])
    assert [e['e']['id'] for e in added] == ['e3', 'e4']
    assert [e['e']['id'] for e in entries] == ['e1', 'e3', 'e2', 'e4']


def test_a_failure_backs_off_and_a_retry_after_holds_instead():
    backoff = outbox.no_backoff()
    first = outbox.after_failure(backoff, 1_000, 0.5, None)
    assert first == {'failures': 1, 'retry_at': 1_750, 'hold_until': 0}
    held = outbox.after_failure(first, 2_000, 0.5, 30_000)
    assert held == {'failures': 2, 'retry_at': 1_750, 'hold_until': 32_000}
    assert outbox.wait_until(held) == 32_000, 'the later of the two'


def test_a_new_page_tries_at_once_but_keeps_the_count_and_the_hold():
    backoff = {'failures': 4, 'retry_at': 90_000, 'hold_until': 50_000}
    assert outbox.page_loaded(backoff) == {'failures': 4, 'retry_at': 0, 'hold_until': 50_000}
    assert outbox.back_online(backoff) == {'failures': 0, 'retry_at': 0, 'hold_until': 50_000}
    assert not outbox.is_clear(backoff) and outbox.is_clear(outbox.no_backoff())


@pytest.mark.parametrize('saved', [None, 'x', [], {'failures': '1', 'retry_at': 0, 'hold_until': 0}, {'failures': 1}])
def test_a_malformed_saved_backoff_reads_as_none(saved):
    assert outbox.backoff_from(saved) == outbox.no_backoff()


def test_flush_and_unload_share_one_body():
    entries = [outbox.new_entry({'id': 'a', 'ts': 1}), outbox.new_entry({'id': 'b', 'ts': 2})]
    body = outbox.batch_body('shop', 5, entries)
    assert body == '{"v":1,"account":"shop","sent_at":5,"events":[{"id":"a","ts":1},{"id":"b","ts":2}]}'
