"""The contract's JSON Schema, generated from the models (collector/models.py).

`python -m collector schema > collector/contract.schema.json` regenerates the committed file;
`tests/unit/test_contract_schema.py` fails when they differ.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from collector.models import Envelope, Event

__all__ = ['SCHEMA_PATH', 'contract_schema', 'contract_schema_text', 'event_schema']

SCHEMA_PATH = Path(__file__).resolve().parent / 'contract.schema.json'


def contract_schema() -> dict:
    """One document: the envelope at the top; `$defs` holds each event type and `Event`, the
    union of all six (the envelope's events are validated against it one by one)."""
    (envelope, event), defs = msgspec.json.schema_components([Envelope, Event], ref_template='#/$defs/{name}')
    envelope = dict(envelope)
    envelope_def = defs.pop('Envelope')
    defs['Event'] = event
    envelope_def['properties']['events'] = {
        'type': 'array',
        'minItems': 1,
        'maxItems': 100,
        'items': {'$ref': '#/$defs/Event'},
    }
    return {
        '$schema': 'https://json-schema.org/draft/2020-12/schema',
        '$id': 'https://github.com/ometria-tag/contract.schema.json',
        **envelope_def,
        'title': 'Ometria tag wire contract, version 1',
        '$defs': dict(sorted(defs.items())),
    }


def event_schema() -> dict:
    """A schema for one event (the `Event` union), sharing the contract's `$defs`."""
    schema = contract_schema()
    return {'$schema': schema['$schema'], '$ref': '#/$defs/Event', '$defs': schema['$defs']}


def contract_schema_text() -> str:
    return json.dumps(contract_schema(), indent=2, sort_keys=False) + '\n'
