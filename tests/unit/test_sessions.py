"""Session summaries and triggers from hand-made sessions (collector/sessions.py, triggers.py), and
the webhook's signature, retry schedule and deliverer (collector/webhooks.py)."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter

import pytest

from collector.programs import IdleSession
from collector.sessions import MAX_LISTED, MAX_SUMMARY_BYTES, SessionFold, trigger_of
from collector.sqlite_store import SQLiteEventStore
from collector.triggers import SessionCloser
from collector.webhooks import (
    RETRY_FOR_MS,
    RETRY_MAX_DELAY_MS,
    Deliverer,
    outcome_of,
    retry_delay_ms,
    sign,
    verify,
)
from tests.support.contract import event, human

T0 = 1_764_403_200_000
EMAIL = 'shopper@example.com'


def session(*events: dict, person: bool = True) -> list[dict]:
    """Events of one visit: same cid and sid, ts one minute apart; with the tag's mark of a
    person's input first (`person`)."""
    marked = (human(), *events) if person else events
    return [{**e, 'cid': 'c1', 'sid': 's1', 'ts': T0 + n * 60_000} for n, e in enumerate(marked)]


def product_view(pid: str, **fields) -> dict:
    return event('pageview', page_type='product', page_data={'pid': pid}, **fields)


def basket(*items: tuple[str, int], url: str = 'https://shop.example/cart?q=Q42', **fields) -> dict:
    lines = [{'product_id': pid, 'quantity': qty, 'price': 10.0, 'variant_id': None} for pid, qty in items]
    return event('setbasket', basket={'id': 'Q42', 'currency': 'GBP', 'total': 10.0 * sum(q for _, q in items),
                                      'url': url, 'size': sum(q for _, q in items), 'items': lines}, **fields)


def summarize(events: list[dict], origins=('*',)) -> dict:
    fold = SessionFold('demo', 'c1', 's1', origins)
    fold.take([json.dumps(e) for e in events])
    return fold.summary(T0 + 3_600_000)


def outcome(*events: dict) -> tuple[dict, str | None]:
    summary = summarize(session(*events))
    return summary, trigger_of(summary)[0]


def closing_of(bodies: list[str], ended_at: int, bot: str | None = None):
    """What the closer makes of one session's stored events (`bot`: the reason its requests gave)."""
    reading = SessionCloser(None, 1, Counter(), {'demo': ('*',)}).reading(IdleSession('demo', 'c1', 's1', T0, '', bot))
    reading.take(bodies)
    return reading.closing(ended_at)


def test_an_identified_shopper_who_leaves_a_basket_starts_abandoned_basket():
    summary, kind = outcome(event('pageview', page_type='homepage', page_data={}), product_view('1001', uid=EMAIL),
                            event('addtobasket', uid=EMAIL, product_id='1001', quantity=1), basket(('1001', 1), uid=EMAIL))
    assert kind == 'abandoned_basket'
    assert summary['uid'] == EMAIL and summary['pageviews'] == 2
    assert summary['products_viewed'] == ['1001']
    assert summary['added_to_basket'] == [{'product_id': '1001', 'quantity': 1}]
    assert summary['basket']['url'] == 'https://shop.example/cart?q=Q42'
    # Four events and the mark of a person before them, a minute apart.
    assert (summary['started_at'], summary['last_activity_at'], summary['ended_at']) == (T0, T0 + 240_000,
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
    closing = closing_of(bodies, T0 + 1)
    summary_text, trigger = closing.texts(None)
    trigger_id, kind, payload = trigger
    assert closing.uid == EMAIL
    assert kind == 'browse_abandonment'
    body = json.loads(payload)
    assert body == {'id': trigger_id, 'type': kind, 'account': 'demo', 'created_at': T0 + 1,
                    'session': json.loads(summary_text)}
    assert closing.texts(None)[1][0] != trigger_id


def test_a_trigger_held_back_by_a_daily_limit_leaves_its_reason_in_the_summary():
    closing = closing_of([json.dumps(e) for e in session(product_view('1', uid=EMAIL))], T0 + 1)
    summary_text, trigger = closing.texts('identity_daily_limit')
    assert trigger is None and json.loads(summary_text)['no_trigger'] == 'identity_daily_limit'


def test_a_summary_says_why_a_session_starts_no_trigger():
    assert outcome(product_view('1'))[0] and trigger_of(outcome(product_view('1'))[0]) == (None, 'anonymous')
    bought = outcome(product_view('1', uid=EMAIL), event('transaction', uid=EMAIL, order_id='A1'))[0]
    assert trigger_of(bought) == (None, 'purchased')
    closing = closing_of([json.dumps(e) for e in session(product_view('1'))], T0 + 1)
    assert json.loads(closing.texts(None)[0])['no_trigger'] == 'anonymous'


def test_identities_are_compared_as_keys_and_their_channel_is_kept():
    """The identity key (ASCII letters lower-cased) is what erasure and the limits compare; the
    summary keeps the identity as sent, and how it was learned."""
    mixed = 'Shopper@Example.COM'
    closing = closing_of([json.dumps(e) for e in session(
        event('identify', uid=mixed, email=mixed, via='url'), product_view('1', uid=mixed))], T0 + 1)
    assert closing.uid == 'shopper@example.com' and closing.summary['uid'] == mixed
    assert closing.summary['identity_via'] == 'url'
    earlier = closing_of([json.dumps(e) for e in session(product_view('1', uid=EMAIL))], T0 + 1)
    assert earlier.summary['identity_via'] == 'earlier_session'


def test_a_one_page_visit_starts_a_trigger_only_with_the_mark_of_a_person():
    """An email-link scanner opens the landing page (identified by its `om_user`) and nothing else:
    that starts nothing; a shopper who touched the page, or saw a second one, does."""
    landing = (event('identify', uid=EMAIL, email=EMAIL, via='url'), product_view('1', uid=EMAIL))
    scanned = summarize(session(*landing, person=False))
    assert trigger_of(scanned) == (None, 'no_interaction') and scanned['human'] is False
    assert trigger_of(summarize(session(*landing)))[0] == 'browse_abandonment'
    assert trigger_of(summarize(session(*landing, product_view('2', uid=EMAIL), person=False)))[0] == 'browse_abandonment'


def test_a_bots_session_starts_no_trigger_and_says_why():
    bodies = [json.dumps(e) for e in session(product_view('1', uid=EMAIL), product_view('2', uid=EMAIL))]
    crawled = closing_of(bodies, T0 + 1, bot='crawler')
    assert crawled.summary['bot'] == 'crawler' and crawled.trigger_kind is None and crawled.reason == 'bot'
    automated = closing_of(bodies[:2] + [json.dumps({**json.loads(bodies[2]), 'automated': True})], T0 + 1)
    assert automated.summary['bot'] == 'automated' and automated.reason == 'bot'
    assert closing_of(bodies, T0 + 1).trigger_kind == 'browse_abandonment'


def test_a_summary_carries_the_sessions_ometria_email_campaign():
    """A campaign's abandoned baskets can be counted: the summary (and so the trigger) carries the
    session's `ecamp`, the last one its events carried."""
    closing = closing_of([json.dumps(e) for e in session(
        product_view('1', uid=EMAIL), product_view('2', uid=EMAIL, ecamp='77'), product_view('3', uid=EMAIL))],
        T0 + 1)
    assert closing.summary['ecamp'] == '77'
    assert outcome(product_view('1', uid=EMAIL))[0]['ecamp'] is None


@pytest.mark.parametrize(('url', 'kept'), [
    ('https://shop.example/cart?q=Q42', True),
    ('https://SHOP.example/cart', True),
    ('javascript:alert(1)', False),
    ('https://evil.example/phish', False),
    ('http://shop.example/cart', False),
    ('https://shop.example.evil.example/cart', False),
    ('https://shop.example:8443/cart', False),
    ('//shop.example/cart', False),
    ('https://shop.example /cart', False),
])
def test_a_basket_url_reaches_a_trigger_only_on_the_stores_own_origins(url, kept):
    summary = summarize(session(basket(('1', 1), uid=EMAIL, url=url)), origins=('https://shop.example',))
    assert (summary['basket']['url'] == url) == kept
    assert ('basket_url_dropped' in summary) == (not kept)
    assert trigger_of(summary)[0] == 'abandoned_basket', 'the basket still counts, without its link'


def test_an_account_open_to_any_origin_keeps_a_basket_url_on_its_pages_own_origin():
    here = basket(('1', 1), uid=EMAIL, url='https://shop.example/cart')
    assert here['url'] == 'https://shop.example/p/1', "the page the basket was set on (the factory's)"
    elsewhere = json.loads(json.dumps(here))
    elsewhere['basket']['url'] = 'https://evil.example/cart'
    assert summarize(session(here))['basket']['url'] == 'https://shop.example/cart'
    assert summarize(session(elsewhere))['basket']['url'] is None


def test_a_summary_is_bounded_whatever_the_session_holds():
    """Thousands of distinct product pages, adds and orders, a basket of 200 lines with the
    longest ids the contract allows: the summary keeps MAX_LISTED of each list and stays within
    MAX_SUMMARY_BYTES."""
    long = 'x' * 250
    events = [product_view(f'{n}{long}', uid=EMAIL) for n in range(2000)]
    events += [event('addtobasket', uid=EMAIL, product_id=f'{n}{long}', quantity=1) for n in range(500)]
    big = basket(*[(f'{n}{long}', 1) for n in range(200)], uid=EMAIL)
    for item in big['basket']['items']:
        item['variant_id'] = long
    events.append(big)
    summary = summarize(session(*events))
    assert len(summary['products_viewed']) == MAX_LISTED and len(summary['added_to_basket']) == MAX_LISTED
    assert len(json.dumps(summary)) <= MAX_SUMMARY_BYTES and summary['truncated'] is True
    assert summary['basket']['items'], 'some lines are kept'


# -- the webhook ---------------------------------------------------------------------------------

def test_a_signature_verifies_and_a_changed_body_id_secret_or_old_timestamp_does_not():
    body = b'{"id":"x"}'
    header = sign('s3cret-s3cret-s3cret', body, 1_764_403_200, 'delivery-1')
    assert verify('s3cret-s3cret-s3cret', body, header, 'delivery-1', now_s=1_764_403_260)
    assert not verify('s3cret-s3cret-s3cret', body + b' ', header, 'delivery-1', now_s=1_764_403_260)
    assert not verify('s3cret-s3cret-s3cret', body, header, 'delivery-2', now_s=1_764_403_260), 'replayed as new'
    assert not verify('another-secret-here', body, header, 'delivery-1', now_s=1_764_403_260)
    assert not verify('s3cret-s3cret-s3cret', body, header, 'delivery-1', now_s=1_764_403_200 + 301)
    assert not verify('s3cret-s3cret-s3cret', body, 'garbage', 'delivery-1', now_s=1_764_403_200)


@pytest.mark.parametrize('header', ['t=1764403200,v1=\u00e9\u00e9', 't=\u0661\u0667,v1=00', 't=,v1=', ',,,', 't=1=2',
                                    'v1=00', 't=99999999999999999999999999,v1=00'])
def test_a_malformed_signature_header_is_refused_without_an_error(header):
    assert verify('s3cret-s3cret-s3cret', b'{}', header, 'delivery-1', now_s=1_764_403_200) is False


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


def test_a_dead_receiver_holds_only_its_own_accounts_slots(tmp_path):
    """Six triggers for an account whose receiver never answers, one for another account: the
    other is delivered at once; the dead account has at most MAX_IN_FLIGHT_PER_ACCOUNT going."""
    hang = asyncio.Event()
    sent = []

    async def post(url, body, headers):
        sent.append((url, headers['Ometria-Delivery']))
        if 'dead' in url:
            await hang.wait()
        return 204

    async def scenario():
        store = SQLiteEventStore(tmp_path / 'events.sqlite3')
        await store.start()
        rows = [(f't{n}', 'dead', f'c{n}') for n in range(6)] + [('t99', 'live', 'c99')]
        with __import__('sqlite3').connect(tmp_path / 'events.sqlite3') as db:
            db.executemany("INSERT INTO triggers (id, account, cid, sid, type, created_at, payload, state, next_at) "
                           "VALUES (?, ?, ?, 's', 'browse_abandonment', 0, '{}', 'pending', 0)", rows)
        deliverer = Deliverer(store, {'dead': ('http://dead/', 'k' * 16), 'live': ('http://live/', 'k' * 16)}, post,
                              Counter())
        await deliverer.round()
        await asyncio.sleep(0.2)
        in_flight = dict(deliverer.in_flight)
        hang.set()
        await deliverer.drain()
        with __import__('sqlite3').connect(tmp_path / 'events.sqlite3') as db:
            states = dict(db.execute('SELECT id, state FROM triggers').fetchall())
        await store.close()
        return in_flight, states

    in_flight, states = asyncio.run(scenario())
    assert ('http://live/', 't99') in sent
    assert states['t99'] == 'delivered'
    assert in_flight['dead'] <= 4


def test_unreadable_events_are_skipped_and_the_session_still_closes():
    bodies = ['not json', json.dumps({'type': 5}),
              json.dumps(session(product_view('1'), person=False)[0])]
    closing = closing_of(bodies, T0)
    summary = json.loads(closing.texts(None)[0])
    assert summary['unreadable_events'] == 2 and summary['pageviews'] == 1 and closing.texts(None)[1] is None


def test_a_session_whose_summary_fails_closes_as_unreadable_without_a_trigger(monkeypatch):
    def fail(self, bodies):
        raise MemoryError()

    monkeypatch.setattr(SessionFold, 'take', fail)
    closing = closing_of([json.dumps(e) for e in session(product_view('1', uid=EMAIL))], T0)
    summary_text, trigger = closing.texts(None)
    assert trigger is None and closing.uid is None
    assert json.loads(summary_text)['unreadable'] == 'MemoryError'
