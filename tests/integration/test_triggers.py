"""Session end and triggers against a real collector on each engine: sessions close after the
timeout by receive time, exactly once; summaries and triggers as the contract says; webhook
calls signed (checked with README's own snippet), retried with the same id, stopped by 410,
delivered once across a collector restart mid-delivery; a dead receiver does not slow intake."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import httpx

from tests.support.contract import SHOPPER_HEADERS, body, event, human
from tests.support.servers import API_TOKEN, CollectorProcess, WebhookReceiver, free_port, http_json, wait_for

ROOT = Path(__file__).resolve().parents[2]
SECRET = 'test-webhook-secret-0123456789'
TIMEOUT_S = 1.0


def readme_verifier():
    """`verify_ometria_signature` exactly as README gives it to store developers."""
    text = (ROOT / 'README.md').read_text(encoding='utf-8')
    code = re.search(r'```python\n(import hashlib.*?def verify_ometria_signature.*?)```', text, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, 'README.md', 'exec'), namespace)  # the README's own snippet, under test
    return namespace['verify_ometria_signature']


verify = readme_verifier()


def accounts_for(port: int, hook: str, dead_hook: str = 'http://127.0.0.1:9/hook') -> str:
    return (f'[accounts.shop]\ncollector_url = "http://127.0.0.1:{port}/collect"\norigins = ["*"]\n'
            f'webhook_url = "{hook}"\nwebhook_secret = "{SECRET}"\n'
            f'[accounts.dead]\ncollector_url = "http://127.0.0.1:{port}/collect"\norigins = ["*"]\n'
            f'webhook_url = "{dead_hook}"\nwebhook_secret = "{SECRET}"\n')


def start(tmp_path, new_db, hook: WebhookReceiver, *extra: str, dead_hook: str = 'http://127.0.0.1:9/hook'):
    port = free_port()
    process = CollectorProcess(tmp_path, accounts_for(port, hook.url, dead_hook), port=port, db=new_db(),
                               extra_args=['--session-timeout', str(TIMEOUT_S), '--webhook-retry-base', '300', *extra])
    process.start()
    return process


def visit(process, *events: dict, account: str = 'shop') -> tuple[str, str]:
    """Post one session's events (same cid and sid), as a shopper's browser (its user agent, and
    the tag's mark of a person's input first); returns (cid, sid)."""
    cid, sid = 'c' + uuid.uuid4().hex[:12], 's' + uuid.uuid4().hex[:12]
    stamped = [{**e, 'cid': cid, 'sid': sid} for e in (human(), *events)]
    assert httpx.post(process.url + '/collect', content=body(stamped, account=account), headers=SHOPPER_HEADERS,
                      timeout=10).status_code == 204
    return cid, sid


def sessions(process, account: str = 'shop') -> list[dict]:
    return http_json(f'{process.url}/api/sessions?account={account}')


def triggers(process, account: str = 'shop') -> list[dict]:
    return http_json(f'{process.url}/api/triggers?account={account}')


def basket_event(uid: str) -> dict:
    return event('setbasket', uid=uid, basket={'id': 'Q42', 'currency': 'GBP', 'total': 129.0,
                                               'url': 'https://shop.example/cart?q=Q42', 'size': 1,
                                               'items': [{'product_id': '1001', 'quantity': 1, 'price': 129.0,
                                                          'variant_id': None}]})


def product(pid: str, uid: str | None) -> dict:
    return event('pageview', uid=uid, page_type='product', page_data={'pid': pid})


def test_four_shoppers_four_summaries_two_signed_triggers(tmp_path, new_db, receiver):
    process = start(tmp_path, new_db, receiver)
    try:
        leaver = visit(process, product('1001', 'leaver@example.com'),
                       event('addtobasket', uid='leaver@example.com', product_id='1001', quantity=1),
                       basket_event('leaver@example.com'))
        visit(process, product('1001', 'buyer@example.com'), basket_event('buyer@example.com'),
              event('transaction', uid='buyer@example.com', order_id='A1'))
        browser = visit(process, product('2003', 'browser@example.com'), product('1001', 'browser@example.com'))
        visit(process, product('1001', None), event('addtobasket', uid=None, product_id='1001', quantity=1))
        summaries = wait_for(lambda: len(sessions(process)) == 4 and sessions(process), what='4 sessions')
        calls = receiver.wait_calls(2)
        time.sleep(TIMEOUT_S * 2)
        assert len(receiver.calls) == 2, 'one trigger per session at most, sent once'
        by_type = {call.json['type']: call for call in calls}
        assert set(by_type) == {'abandoned_basket', 'browse_abandonment'}
        abandoned = by_type['abandoned_basket']
        signature, delivery = abandoned.headers['ometria-signature'], abandoned.headers['ometria-delivery']
        assert verify(SECRET, abandoned.body, signature, delivery)
        assert not verify('not-the-secret-0000', abandoned.body, signature, delivery)
        assert not verify(SECRET, abandoned.body, signature, str(uuid.uuid4())), 'a replay under a new id'
        for garbled in (signature.replace('t=', 't=\u0661'), signature + '\u00e9', 't=1,v1=\u00e9', '', 'x'):
            assert verify(SECRET, abandoned.body, garbled, delivery) is False
        assert abandoned.headers['ometria-delivery'] == abandoned.json['id']
        session = abandoned.json['session']
        assert (session['cid'], session['sid'], session['uid']) == (*leaver, 'leaver@example.com')
        assert session['basket']['url'] == 'https://shop.example/cart?q=Q42'
        assert by_type['browse_abandonment'].json['session']['products_viewed'] == ['2003', '1001']
        assert by_type['browse_abandonment'].json['session']['sid'] == browser[1]
        assert sorted(s['uid'] or '' for s in summaries) == ['', 'browser@example.com', 'buyer@example.com',
                                                              'leaver@example.com']
        assert [s['seq'] for s in summaries] == sorted(s['seq'] for s in summaries)
        listed = wait_for(lambda: all(t['delivery']['state'] == 'delivered' for t in triggers(process))
                          and triggers(process), what='delivered triggers')
        assert sorted(t['id'] for t in listed) == sorted(c.json['id'] for c in calls)
        assert all(t['delivery']['attempts'] == 1 and t['delivery']['last_status'] == 200 for t in listed)
    finally:
        process.stop()


def test_an_event_after_the_end_is_stored_counted_late_and_triggers_nothing(tmp_path, new_db, receiver):
    process = start(tmp_path, new_db, receiver)
    try:
        cid, sid = visit(process, product('1', 'late@example.com'))
        wait_for(lambda: sessions(process), what='the session to end')
        receiver.wait_calls(1)
        late = {**event('addtobasket', uid='late@example.com', product_id='1', quantity=1), 'cid': cid, 'sid': sid}
        assert httpx.post(process.url + '/collect', content=body([late]), headers=SHOPPER_HEADERS,
                          timeout=10).status_code == 204
        time.sleep(TIMEOUT_S * 3)
        assert late['id'] in [e['id'] for e in process.events('shop')]
        [summary] = sessions(process)
        assert summary['late_events'] == 1 and summary['added_to_basket'] == []
        assert len(receiver.calls) == 1 and len(triggers(process)) == 1
    finally:
        process.stop()


def test_a_failing_receiver_gets_the_same_id_until_it_answers_and_410_stops(tmp_path, new_db, receiver):
    receiver.answers = [503, 500, 200, 410]
    process = start(tmp_path, new_db, receiver)
    try:
        visit(process, product('1', 'retry@example.com'))
        calls = receiver.wait_calls(3)
        assert len({c.headers['ometria-delivery'] for c in calls}) == 1
        [listed] = wait_for(lambda: [t for t in triggers(process) if t['delivery']['state'] == 'delivered'],
                            what='delivered')
        assert listed['delivery']['attempts'] == 3
        visit(process, product('2', 'gone@example.com'))
        wait_for(lambda: [t for t in triggers(process) if t['delivery']['state'] == 'gave_up'], what='gave up')
        time.sleep(1.0)
        assert len(receiver.calls) == 4, 'a 410 is not retried'
        gone = [t for t in triggers(process) if t['delivery']['state'] == 'gave_up'][0]
        assert gone['delivery']['last_status'] == 410 and gone['delivery']['next_attempt_at'] is None
    finally:
        process.stop()


def test_a_restart_mid_delivery_sends_the_same_trigger_again_once(tmp_path, new_db, receiver):
    receiver.answers = ['hang']
    process = start(tmp_path, new_db, receiver)
    try:
        visit(process, product('1', 'restart@example.com'))
        [first] = receiver.wait_calls(1)
        process.stop()
        receiver.release()
        process.start()
        calls = receiver.wait_calls(2)
        time.sleep(TIMEOUT_S * 2)
        assert len(receiver.calls) == 2
        assert {c.headers['ometria-delivery'] for c in calls} == {first.headers['ometria-delivery']}
        [listed] = wait_for(lambda: [t for t in triggers(process) if t['delivery']['state'] == 'delivered'],
                            what='delivered')
        assert listed['id'] == first.headers['ometria-delivery'] and len(sessions(process)) == 1
    finally:
        process.stop()


def test_a_hanging_receiver_neither_slows_intake_nor_holds_other_accounts(tmp_path, new_db, receiver):
    stuck = WebhookReceiver()
    stuck.answers = ['hang'] * 20
    process = start(tmp_path, new_db, receiver, dead_hook=stuck.url)
    try:
        for n in range(8):
            visit(process, product(str(n), f'd{n}@example.com'), account='dead')
        stuck.wait_calls(4)
        visit(process, product('9', 'alive@example.com'))
        receiver.wait_calls(1, timeout=10)
        assert len(stuck.calls) == 4, 'at most 4 deliveries of one account at once'
        slowest = 0.0
        for _ in range(20):
            started = time.monotonic()
            visit(process, event('pageview', page_type='homepage', page_data={}))
            slowest = max(slowest, time.monotonic() - started)
        assert slowest < 1.0, f'intake took {slowest:.2f} s while a receiver hung'
    finally:
        stuck.close()
        process.stop()


def test_the_session_and_trigger_lists_need_the_token(tmp_path, new_db, receiver):
    process = start(tmp_path, new_db, receiver)
    try:
        for route in ('sessions', 'triggers'):
            answer = httpx.get(f'{process.url}/api/{route}?account=shop', timeout=10)
            assert answer.status_code == 401
            answer = httpx.get(f'{process.url}/api/{route}?account=shop&since=x',
                               headers={'Authorization': f'Bearer {API_TOKEN}'}, timeout=10)
            assert answer.status_code == 400
    finally:
        process.stop()


def test_erasing_a_shopper_takes_their_summaries_and_triggers_too(tmp_path, new_db, receiver):
    process = start(tmp_path, new_db, receiver)
    try:
        visit(process, product('1', 'erase-me@example.com'))
        keep = visit(process, product('2', 'keep-me@example.com'))
        receiver.wait_calls(2)
        answer = httpx.post(process.url + '/api/erase', json={'account': 'shop', 'email': 'erase-me@example.com'},
                            headers={'Authorization': f'Bearer {API_TOKEN}'}, timeout=10)
        assert answer.status_code == 200
        listed = json.dumps(sessions(process)) + json.dumps(triggers(process))
        assert 'erase-me@example.com' not in listed
        assert [s['sid'] for s in sessions(process)] == [keep[1]] and len(triggers(process)) == 1
    finally:
        process.stop()
