"""What the tag remembers across pages (tracker/memory.py), as pure functions over stored text."""

from __future__ import annotations

from tracker import memory


def test_identity_round_trips_and_anything_else_reads_as_none():
    assert memory.identity_in(memory.identity_text('a@b.co')) == 'a@b.co'
    for text in (None, '', 'not json', '42', '{"a": 1}'):
        assert memory.identity_in(text) is None


def test_a_basket_counts_as_sent_only_in_the_same_session_with_the_same_fingerprint():
    text = memory.basket_text('s1', 'fp1')
    assert memory.basket_already_sent(text, 's1', 'fp1')
    assert not memory.basket_already_sent(text, 's2', 'fp1'), 'a new session sends it again'
    assert not memory.basket_already_sent(text, 's1', 'fp2')
    assert not memory.basket_already_sent('garbage', 's1', 'fp1')


def test_orders_keep_the_last_twenty():
    text = None
    for n in range(memory.REMEMBERED_ORDERS + 5):
        text = memory.orders_text(memory.orders_in(text), f'o{n}')
    orders = memory.orders_in(text)
    assert len(orders) == memory.REMEMBERED_ORDERS and orders[0] == 'o5' and orders[-1] == 'o24'
    assert memory.orders_in('{"x": 1}') == []
