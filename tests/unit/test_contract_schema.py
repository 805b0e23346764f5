"""The contract's JSON Schema: committed, generated from the collector's models, and agreeing
with what the collector accepts."""

from __future__ import annotations

import json

import jsonschema
import pytest

from collector.models import EVENT_TYPES
from collector.schema import SCHEMA_PATH, contract_schema, contract_schema_text, event_schema
from collector.validation import RejectedEvent, ValidEvent, check_event, parse_strict
from tests.support.contract import batch, event


def checked(sample: dict):
    """The collector's verdict on one event, as it would arrive in a batch."""
    raw = json.dumps(sample).encode()
    return check_event(raw, parse_strict(raw.decode())[0])


def test_the_committed_schema_is_the_generated_one():
    """Regenerate with `make schema` when the models change."""
    assert SCHEMA_PATH.read_text() == contract_schema_text()


def test_the_schema_is_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(contract_schema())


@pytest.mark.parametrize('event_type', EVENT_TYPES)
def test_a_valid_event_passes_both_the_schema_and_the_collector(event_type):
    """Every type of the contract's one list, through the tests' one factory."""
    sample = event(event_type)
    jsonschema.validate(sample, event_schema())
    assert isinstance(checked(sample), ValidEvent)
    jsonschema.validate(batch([sample]), contract_schema())


BROKEN = [
    ('addtobasket', {'quantity': 0}),
    ('addtobasket', {'quantity': '2'}),
    ('addtobasket', {'product_id': 4521}),
    ('identify', {'email': 'not an email'}),
    ('pageview', {'page_data': None}),
    ('checkout', {'stage': {'step': 1}}),
    ('transaction', {'order_id': ''}),
    ('transaction', {'extra': 1}),
    ('pageview', {'id': 'not-a-uuid'}),
    ('setbasket', {'basket': {'id': None, 'currency': None, 'total': None, 'url': None, 'size': 1, 'items': []}}),
    # Control characters never reach a column: PostgreSQL's text refuses a NUL.
    ('identify', {'email': 'a\x00b@example.com'}),
    ('pageview', {'uid': 'x\x00@example.com'}),
    ('identify', {'email': 'a@b.co\n'}),
    ('identify', {'via': 'telepathy'}),
]


@pytest.mark.parametrize('event_type, change', BROKEN, ids=[f'{t}-{sorted(c)[0]}' for t, c in BROKEN])
def test_a_broken_event_fails_the_schema_and_is_set_aside(event_type, change):
    sample = {**event(event_type), **change}
    assert isinstance(checked(sample), RejectedEvent)
    if 'size' not in json.dumps(change):  # the size rule is a cross-field check, beyond JSON Schema
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(sample, event_schema())
