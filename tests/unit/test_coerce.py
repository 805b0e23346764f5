"""Coercion of integrators' values (tracker/coerce.py), as the wire contract says."""

from __future__ import annotations

import math

import pytest

from tracker import coerce, doctor, prims


def run(function, *args):
    """The function's result and its notes, worded as the debug overlay shows them."""
    notes = []
    result = function(*args, notes)
    return result, [doctor.line_text('note', note[0], note[1:]) for note in notes]


@pytest.mark.parametrize('value, expected', [
    (4521, '4521'), (4521.0, '4521'), ('000000145', '000000145'), ('uk:6547001', 'uk:6547001'), (12.5, '12.5'),
    (None, None), (prims.UNDEFINED, None), ('', None),
])
def test_ids(value, expected):
    assert run(coerce.coerce_id, value, 'pid')[0] == expected


@pytest.mark.parametrize('value', [True, {}, [], float('nan'), float('inf'), 'x' * 257, lambda: 1])
def test_values_that_are_not_ids_are_refused_with_a_note(value):
    result, notes = run(coerce.coerce_id, value, 'pid')
    assert result is None and len(notes) == 1 and notes[0].startswith('pid ')


@pytest.mark.parametrize('value, expected, noted', [
    (19.99, 19.99, False), (0, 0, False), (-5, -5, False), ('£1,234.50', 1234.5, True), ('1,200.00', 1200.0, True),
    ('19.99', 19.99, False), ('-3.5', -3.5, False), (None, None, False),
])
def test_money(value, expected, noted):
    result, notes = run(coerce.coerce_money, value, 'price')
    assert result == expected and bool(notes) == noted


@pytest.mark.parametrize('value', ['abc', '1.2.3', '', '--1', float('nan'), {}, True])
def test_unreadable_money_is_null_with_a_note(value):
    result, notes = run(coerce.coerce_money, value, 'price')
    assert result is None and notes


@pytest.mark.parametrize('value, expected', [(None, 1), (prims.UNDEFINED, 1), (2, 2), ('2', 2), (' 3 ', 3), (2.7, 2),
                                             ('2.9', 2), (1_000_000, 1_000_000)])
def test_quantities(value, expected):
    assert run(coerce.coerce_quantity, value, 'quantity')[0] == expected


@pytest.mark.parametrize('value', [0, -2, 'abc', 0.5, float('inf'), float('nan'), {}, True, 1_000_001])
def test_bad_quantities_are_refused(value):
    result, notes = run(coerce.coerce_quantity, value, 'quantity')
    assert result is None and notes


def test_a_quantity_given_as_text_is_noted():
    assert run(coerce.coerce_quantity, '2', 'quantity')[1] == ['quantity "2" read as 2']
    assert run(coerce.coerce_quantity, 2, 'quantity')[1] == []


@pytest.mark.parametrize('value, expected', [(1, 1), (2.5, 2.5), ('billing', 'billing'), ('checkout', 'checkout')])
def test_checkout_stages_are_kept_as_given(value, expected):
    assert run(coerce.coerce_stage, value)[0] == expected


@pytest.mark.parametrize('value', [None, '', {}, [], float('nan'), True, 'x' * 129])
def test_bad_stages_are_refused(value):
    assert run(coerce.coerce_stage, value)[0] is None


def test_plain_copy_keeps_json_data_and_drops_the_rest():
    source = {'a': [1, 'x', None, True, {'b': 2.5}], 'fn': lambda: 1, 'nan': math.nan, 'u': prims.UNDEFINED}
    assert coerce.plain_copy(source, 0) == {'a': [1, 'x', None, True, {'b': 2.5}], 'nan': None}


def test_plain_copy_cuts_cycles_and_depth():
    cyclic = {'name': 'x'}
    cyclic['self'] = cyclic
    copied = coerce.plain_copy(cyclic, 0)
    depth = 0
    while isinstance(copied, dict):
        copied = copied['self']
        depth += 1
    assert depth == coerce.MAX_OBJECT_DEPTH


def test_plain_copy_bounds_width():
    wide = {str(i): i for i in range(500)}
    assert len(coerce.plain_copy(wide, 0)) == coerce.MAX_OBJECT_KEYS
    assert len(coerce.plain_copy(list(range(500)), 0)) == coerce.MAX_LIST_ITEMS


def test_oversized_objects_are_refused():
    result, notes = run(coerce.coerce_object, {'x': 'y' * 5000}, 'props', 2048)
    assert result is None and 'larger than 2048 bytes' in notes[0]


def test_lone_surrogates_become_replacement_characters():
    assert coerce.clean_text('a\ud800b') == 'a\ufffdb'
    assert run(coerce.coerce_id, 'id\udfff', 'pid')[0] == 'id\ufffd'
