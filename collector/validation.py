"""Validation of a collect request's body, as pure functions (no I/O, no framework).

`check_batch(body, accounts)` answers what the wire contract says for any bytes a client can send:
- 400: not JSON, not the envelope (`v`, `account`, `sent_at`, `events`), a key twice in the
  envelope, or no events;
- 404: an account id that is not configured;
- 413: more than MAX_EVENTS_PER_BATCH events (a body over MAX_BODY_BYTES never gets here);
- 204: the envelope is good. Each event is then decoded on its own: the valid ones are returned for
  storage, the ones that break the contract are returned apart, with the reason.

What reaches storage can always be read back and served as JSON (by any parser, in any language):
- bytes that are not UTF-8 are replaced by U+FFFD before parsing, and `\\uD800`-style escapes of
  lone surrogates (valid JSON, but no text) by `\\uFFFD`: one odd product name costs nothing else;
- an event with a key twice at any depth is set aside (parsers disagree on which one counts);
- an event nested deeper than MAX_JSON_DEPTH is set aside (the tag sends at most 8 levels).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import NamedTuple

import msgspec

from collector.models import MAX_EVENTS_PER_BATCH, Envelope, Event, Setbasket

__all__ = ['BatchVerdict', 'ValidEvent', 'RejectedEvent', 'check_batch', 'check_event', 'MAX_JSON_DEPTH']

MAX_REJECT_SAMPLE_BYTES = 4096
MAX_JSON_DEPTH = 16
_envelope_decoder = msgspec.json.Decoder(Envelope)
_event_decoder = msgspec.json.Decoder(Event)
# In JSON text a backslash only occurs in strings, always as an escape: matching escaped
# backslashes first keeps `\\ud800` (a backslash, then the letters "ud800") apart from `\ud800`.
_ESCAPE = re.compile(rb'\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}')
_SURROGATE_HINT = re.compile(rb'\\u[dD][89a-fA-F]')


class DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list) -> dict:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise DuplicateKey(f'a key is given twice: {sorted(k for k, _ in pairs if sum(1 for x, _ in pairs if x == k) > 1)[0]!r}')
    return value


_strict_json = json.JSONDecoder(object_pairs_hook=_no_duplicates)


class ValidEvent(NamedTuple):
    """An event that meets the contract: its id, type, time, visitor, session and identity, and
    its JSON as stored (a tuple: one is built per event on the write path)."""

    event_id: str
    type: str
    ts: int
    cid: str
    sid: str
    uid: str | None
    body: bytes


@dataclass(frozen=True)
class RejectedEvent:
    """An event set aside: why, and the first bytes of what was sent."""

    reason: str
    sample: bytes


@dataclass
class BatchVerdict:
    """What to answer, and what to store."""

    status: int
    reason: str = ''
    account: str | None = None
    events: list[ValidEvent] = field(default_factory=list)
    rejected: list[RejectedEvent] = field(default_factory=list)


def repair_text(body: bytes) -> bytes:
    """`body` with invalid UTF-8 replaced by U+FFFD and lone-surrogate escapes by `\\uFFFD`."""
    try:
        body.decode('utf-8')
    except UnicodeDecodeError:
        body = body.decode('utf-8', 'replace').encode('utf-8')
    if _SURROGATE_HINT.search(body):
        body = _ESCAPE.sub(lambda m: m.group() if len(m.group()) != 6 else b'\\ufffd', body)
    return body


def json_depth_over(value, limit: int) -> bool:
    """True when the parsed JSON `value` nests objects and arrays deeper than `limit`."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in item if isinstance(child, (dict, list)))
    return False


def _reject(reason: str, raw: bytes) -> RejectedEvent:
    return RejectedEvent(reason[:300], raw[:MAX_REJECT_SAMPLE_BYTES])


def _parse_strict(raw: bytes):
    """The parsed JSON of `raw`, or a RejectedEvent saying why it cannot be stored."""
    try:
        return _strict_json.decode(raw.decode('utf-8'))
    except DuplicateKey as error:
        return _reject(str(error), raw)
    except (ValueError, RecursionError) as error:
        return _reject(f'not JSON: {error}', raw)


def check_event(raw, tree=None) -> ValidEvent | RejectedEvent:
    """Decode one event (repaired bytes, or a msgspec.Raw of the envelope) against the contract.
    `tree`: the event already parsed without duplicate keys (else it is parsed here)."""
    raw = bytes(raw)
    if tree is None:
        tree = _parse_strict(raw)
        if isinstance(tree, RejectedEvent):
            return tree
    if (raw.count(b'{') + raw.count(b'[') > MAX_JSON_DEPTH) and json_depth_over(tree, MAX_JSON_DEPTH):
        return _reject(f'nested deeper than {MAX_JSON_DEPTH} levels', raw)
    try:
        event = _event_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as error:
        return _reject(str(error), raw)
    if isinstance(event, Setbasket):
        size = sum(item.quantity for item in event.basket.items)
        if event.basket.size != size:
            return _reject(f'basket.size is {event.basket.size}, the item quantities add up to {size}', raw)
    return ValidEvent(event.id, type(event).__struct_config__.tag, event.ts, event.cid, event.sid, event.uid, raw)


def check_batch(body: bytes, known_accounts) -> BatchVerdict:
    """The verdict on a request body; `known_accounts` supports `in` (the configured ids)."""
    body = repair_text(body)
    try:
        envelope = _envelope_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as error:
        return BatchVerdict(400, f'not the envelope of the contract: {str(error)[:200]}')
    # One strict parse of the whole body finds a repeated key anywhere; only when there is one are
    # the events parsed one by one, to set aside just those that hold it.
    whole = _parse_strict(body)
    trees = whole['events'] if isinstance(whole, dict) else [None] * len(envelope.events)
    if not isinstance(whole, dict) and all(not isinstance(_parse_strict(bytes(raw)), RejectedEvent)
                                           for raw in envelope.events):
        return BatchVerdict(400, f'the envelope is not strict JSON: {whole.reason[:200]}')
    if envelope.account not in known_accounts:
        return BatchVerdict(404, f'unknown account {envelope.account!r}')
    if len(envelope.events) > MAX_EVENTS_PER_BATCH:
        return BatchVerdict(413, f'{len(envelope.events)} events, at most {MAX_EVENTS_PER_BATCH} per request',
                            account=envelope.account)
    if not envelope.events:
        return BatchVerdict(400, 'a batch holds 1 to 100 events', account=envelope.account)
    verdict = BatchVerdict(204, account=envelope.account)
    seen = set()
    for raw, tree in zip(envelope.events, trees, strict=True):
        checked = check_event(raw, tree)
        if isinstance(checked, RejectedEvent):
            verdict.rejected.append(checked)
        elif checked.event_id not in seen:
            seen.add(checked.event_id)
            verdict.events.append(checked)
    return verdict
