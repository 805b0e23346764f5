"""The shared vectors (tests/vectors/*.json) under CPython, against the Python source. Their
browser twin is tests/engines/test_vectors.py (every engine); both must produce the same events and lines."""

from __future__ import annotations

import jsonschema
import pytest

from collector.schema import event_schema
from tests.support.vectors import CPYTHON_ORIGIN, load_vectors, normalize, run_in_cpython, subset_matches

VECTORS = load_vectors()
SCHEMA = event_schema()


def check_expectations(vector: dict, normal: dict) -> None:
    """The normalised result against the vector's `expect` (partial events, exact count and
    order) and `expect_lines` (exact)."""
    events = normal['events']
    expected = vector['expect']
    assert [e['type'] for e in events] == [e['type'] for e in expected], 'event types differ'
    for index, (want, got) in enumerate(zip(expected, events, strict=True)):
        assert subset_matches(want, got), f'event {index}: expected {want}, got {got}'
    if 'expect_lines' in vector:
        assert normal['lines'] == vector['expect_lines']


@pytest.mark.parametrize('vector', VECTORS, ids=[v['name'] for v in VECTORS])
def test_vector_under_cpython(vector):
    result = run_in_cpython(vector)
    for event in result['events']:
        jsonschema.validate(event, SCHEMA)
    check_expectations(vector, normalize(result['events'], result['lines'], CPYTHON_ORIGIN))
