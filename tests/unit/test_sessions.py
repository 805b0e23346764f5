"""Session summaries and triggers from hand-made sessions (collector/sessions.py), and the
webhook's signature and retry schedule (collector/webhooks.py)."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter

import pytest

from collector.sessions import summarize, trigger_type
from collector.triggers import build_closing
from collector.webhooks import (
    RETRY_FOR_MS,
    RETRY_MAX_DELAY_MS,
    Deliverer,
    outcome_of,
    retry_delay_ms,
    sign,
    verify,
)
from tests.support.contract import event

T0 = 1_764_403_200_000
EMAIL = 'shopper@example.com'


def session(*events: dict) -> list[dict]:
    """Events of one visit: same cid and sid, ts one minute apart."""
    return [{**e, 'cid': 'c1', 'sid': 's1', 'ts': T0 + n * 60_000} for n, e in enumerate(events)]


def product_view(pid: str, **fields) -> dict:
    return event('pageview', page_type='product', page_data={'pid': pid}, **fields)


def basket(*items: tuple[str, int], url: str = 'https://shop.example/cart?q=Q42', **fields) -> dict:
    lines = [{'product_id': pid, 'quantity': qty, 'price': 10.0, 'variant_id': None} for pid, qty in items]
    return event('setbasket', basket={'id': 'Q42', 'currency': 'GBP', 'total': 10.0 * sum(q for _, q in items),
                                      'url': url, 'size': sum(q for _, q in items), 'items': lines}, **fields)


def outcome(*events: dict) -> tuple[dict, str | None]:
    summary = summarize('demo', 'c1', 's1', session(*events), T0 + 3_600_000)
    return summary, trigger_type(summary)


def test_an_identified_shopper_who_leaves_a_basket_starts_abandoned_basket():
    summary, kind = outcome(event('pageview', page_type='homepage', page_data={}), product_view('1001', uid=EMAIL),
                            event('addtobasket', uid=EMAIL, product_id='1001', quantity=1), basket(('1001', 1), uid=EMAIL))
    assert kind == 'abandoned_basket'
    assert summary['uid'] == EMAIL and summary['pageviews'] == 2
    assert summary['products_viewed'] == ['1001']
    assert summary['added_to_basket'] == [{'product_id': '1001', 'quantity': 1}]
    assert summary['basket']['url'] == 'https://shop.example/cart?q=Q42'
    assert (summary['started_at'], summary['last_activity_at'], summary['ended_at']) == (T0, T0 + 180_000,
                                                                                        T0 + 3_600_000)


def test_a_basket_emptied_again_has_no_basket_items():
    """Its last basket decides, not the addtobasket before it; and with an addtobasket in the
    session it is no browse abandonment either."""
    summary, kind = outcome(product_view('1', uid=EMAIL), event('addtobasket', uid=EMAIL, product_id='1', quantity=1),
                            basket(('1', 1), uid=EMAIL), basket(uid=EMAIL))
    assert summary['basket']['items'] == [] and kind is None


def test_a_basket_emptied_without_an_addtobasket_is_browse_abandonment():
    assert outcome(product_view('1', uid=EMAIL), basket(('1', 1), uid=EMAIL), basket(uid=EMAIL))[1] == \
        'browse_abandonment'


def test_identity_arriving_in_the_last_event_counts_for_the_whole_session():
    summary, kind = outcome(product_view('7'), event('addtobasket', product_id='7', quantity=2),
                            event('identify', uid=EMAIL, email=EMAIL))
    assert summary['uid'] == EMAIL and kind == 'abandoned_basket'


def test_a_transaction_then_a_new_basket_starts_nothing():
    _summary, kind = outcome(basket(('1', 1), uid=EMAIL), event('transaction', uid=EMAIL, order_id='A1'),
                             basket(('2', 1), uid=EMAIL))
    assert kind is None and _summary['transactions'] == ['A1']


def test_only_an_addtobasket_is_an_abandoned_basket():
    summary, kind = outcome(event('addtobasket', uid=EMAIL, product_id='9', quantity=3))
    assert kind == 'abandoned_basket' and summary['basket'] is None and summary['pageviews'] == 0


def test_an_anonymous_session_starts_nothing():
    assert outcome(product_view('1'), event('addtobasket', product_id='1', quantity=1))[1] is None


def test_products_viewed_keep_first_view_order_without_repeats():
    summary, kind = outcome(product_view('3', uid=EMAIL), product_view('1', uid=EMAIL), product_view('3', uid=EMAIL),
                            event('pageview', uid=EMAIL, page_type='basket', page_data={}))
    assert summary['products_viewed'] == ['3', '1'] and kind == 'browse_abandonment'


def test_a_session_that_only_browses_non_product_pages_starts_nothing():
    assert outcome(event('pageview', uid=EMAIL, page_type='homepage', page_data={}))[1] is None


def test_the_last_store_id_and_uid_win():
    summary, _ = outcome(event('pageview', uid='a@x.co', store_id='uk', page_type='homepage', page_data={}),
                         event('pageview', uid='b@x.co', store_id='fr', page_type='homepage', page_data={}),
                         event('pageview', uid=None, store_id=None, page_type='homepage', page_data={}))
    assert (summary['uid'], summary['store_id']) == ('b@x.co', 'fr')


def test_closing_a_session_gives_the_summary_text_and_a_trigger_with_a_fresh_id():
    bodies = [json.dumps(e) for e in session(product_view('1', uid=EMAIL))]
    summary_text, uid, trigger = build_closing('demo', 'c1', 's1', bodies, T0 + 1)
    trigger_id, kind, payload = trigger
    assert uid == EMAIL
    assert kind == 'browse_abandonment'
    body = json.loads(payload)
    assert body == {'id': trigger_id, 'type': kind, 'account': 'demo', 'created_at': T0 + 1,
                    'session': json.loads(summary_text)}
    assert build_closing('demo', 'c1', 's1', bodies, T0 + 1)[2][0] != trigger_id


# -- the webhook ---------------------------------------------------------------------------------

def test_a_signature_verifies_and_a_changed_body_secret_or_old_timestamp_does_not():
    body = b'{"id":"x"}'
    header = sign('s3cret-s3cret-s3cret', body, 1_764_403_200)
    assert verify('s3cret-s3cret-s3cret', body, header, now_s=1_764_403_260)
    assert not verify('s3cret-s3cret-s3cret', body + b' ', header, now_s=1_764_403_260)
    assert not verify('another-secret-here', body, header, now_s=1_764_403_260)
    assert not verify('s3cret-s3cret-s3cret', body, header, now_s=1_764_403_200 + 301)
    assert not verify('s3cret-s3cret-s3cret', body, 'garbage', now_s=1_764_403_200)


def test_retry_delays_grow_with_jitter_and_stop_growing_at_an_hour():
    rng = random.Random(7)
    delays = [retry_delay_ms(n, rng) for n in range(1, 30)]
    assert 5_000 <= delays[0] < 15_000 and 10_000 <= delays[1] < 30_000
    assert max(delays) < 1.5 * RETRY_MAX_DELAY_MS and min(delays[12:]) >= 0.5 * RETRY_MAX_DELAY_MS
    assert len(set(delays)) > 20, 'jittered'


@pytest.mark.parametrize(('status', 'age_ms', 'state'), [
    (200, 0, 'delivered'), (204, 0, 'delivered'), (410, 0, 'gave_up'), (500, 0, 'retrying'), (None, 0, 'retrying'),
    (301, 0, 'retrying'), (500, RETRY_FOR_MS - 1, 'retrying'), (500, RETRY_FOR_MS, 'gave_up'),
])
def test_each_answer_decides_the_next_state(status, age_ms, state):
    now = T0 + age_ms
    got, next_at = outcome_of(status, 3, T0, now, random.Random(1))
    assert got == state and (next_at is not None) == (state == 'retrying')
    if next_at is not None:
        assert next_at > now


class FakeStore:
    def __init__(self, triggers):
        self.triggers = triggers
        self.recorded = []

    async def claim_triggers(self, accounts, now_ms, until_ms, limit):
        due = [t for t in self.triggers if t['account'] in accounts][:limit]
        self.triggers = [t for t in self.triggers if t not in due]
        return due

    async def record_delivery(self, seq, state, attempts, next_at, status, error, now_ms):
        self.recorded.append((seq, state, attempts, status))


def test_a_dead_receiver_holds_only_its_own_accounts_slots():
    """Six triggers for an account whose receiver never answers, one for another account: the
    other is delivered at once; the dead account has at most MAX_IN_FLIGHT_PER_ACCOUNT going."""
    triggers = [{'seq': n, 'id': f't{n}', 'account': 'dead', 'created_at': T0, 'attempts': 0, 'payload': '{}'}
                for n in range(6)] + [{'seq': 99, 'id': 't99', 'account': 'live', 'created_at': T0, 'attempts': 0,
                                       'payload': '{}'}]
    store = FakeStore(triggers)
    hang = asyncio.Event()
    sent = []

    async def post(url, body, headers):
        sent.append((url, headers['Ometria-Delivery']))
        if 'dead' in url:
            await hang.wait()
        return 204

    async def scenario():
        deliverer = Deliverer(store, {'dead': ('http://dead/', 'k' * 16), 'live': ('http://live/', 'k' * 16)}, post,
                              Counter())
        await deliverer.round()
        await asyncio.sleep(0.05)
        in_flight = dict(deliverer.in_flight)
        hang.set()
        await deliverer.drain()
        return in_flight

    in_flight = asyncio.run(scenario())
    assert ('http://live/', 't99') in sent
    assert (99, 'delivered', 1, 204) in store.recorded
    assert in_flight['dead'] <= 4


def test_a_session_whose_events_cannot_be_read_still_closes_without_a_trigger():
    bodies = ['not json', json.dumps({'type': 'addtobasket', 'uid': EMAIL, 'ts': T0})]  # no product_id
    summary_text, uid, trigger = build_closing('demo', 'c1', 's1', bodies, T0)
    assert trigger is None and uid is None and json.loads(summary_text)['unreadable'] is True
