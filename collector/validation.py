"""Validation of a collect request's body, as pure functions (no I/O, no framework), in two steps
so that the cheap answers come before the expensive work:

1. `open_envelope(body)`: the envelope (`v`, `account`, `sent_at`, `events`) decoded by msgspec
   (C speed; the events kept as raw JSON slices): 400 for what is not JSON or not the envelope,
   413 for more than MAX_EVENTS_PER_BATCH events. The app then answers 404 for an unknown account,
   403 for a refused origin and 429 for a client over its rate before any event is looked at.
2. `check_events(opened)`: the body parsed once more, strictly (a key twice in one object, or
   more than MAX_KEYS_PER_OBJECT keys, marks that object, in linear time; a key twice in the
   envelope is 400), then each event against the contract on its own: the valid ones are
   returned for storage, the ones that break the contract apart, with the reason (a marked object
   at any depth, nesting deeper than MAX_JSON_DEPTH, a field out of the contract).

The work one request can cause is bounded by its size (64 KiB), its events (100), the keys of an
object and the depth of nesting; a test times the worst bodies found (tests/unit/test_validation.py).

What reaches storage can always be read back and served as JSON (by any parser, in any language),
and holds no control character outside JSON escapes: bytes that are not UTF-8 are replaced by
U+FFFD before parsing, and `\\uD800`-style escapes of lone surrogates (valid JSON, but no text) by
`\\uFFFD`. Reasons quote nothing raw.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import NamedTuple

import msgspec

from collector.models import IDENTITY_RE, MAX_EVENTS_PER_BATCH, VISITOR_ID_RE, Envelope, Event, Setbasket

__all__ = ['IDENTITY', 'VISITOR', 'BatchVerdict', 'MAX_JSON_DEPTH', 'MAX_KEYS_PER_OBJECT', 'OpenedEnvelope',
           'RejectedEvent', 'ValidEvent', 'check_batch', 'check_event', 'check_events', 'identity_key', 'open_envelope',
           'parse_strict', 'printable']

MAX_REJECT_SAMPLE_BYTES = 4096
MAX_JSON_DEPTH = 16
# The tag writes at most 64 keys in an object it builds; stores' own page data is cut to that too.
MAX_KEYS_PER_OBJECT = 256
MAX_REASON_CHARS = 300
# In JSON text a backslash only occurs in strings, always as an escape: matching escaped
# backslashes first keeps `\\ud800` (a backslash, then the letters "ud800") apart from `\ud800`.
_ESCAPE = re.compile(rb'\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}')
_SURROGATE_HINT = re.compile(rb'\\u[dD][89a-fA-F]')
_envelope_decoder = msgspec.json.Decoder(Envelope)
_event_decoder = msgspec.json.Decoder(Event)
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')
# The contract's identities and visitor ids, compiled (the erasure route and Shopify's orders check them too).
IDENTITY = re.compile(IDENTITY_RE)
VISITOR = re.compile(VISITOR_ID_RE)
_ASCII_LOWER = str.maketrans('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')


def identity_key(identity: str) -> str:
    """The form an identity is stored and compared in (the `uid` columns): ASCII letters
    lower-cased, so that `Victim@X.com` and `victim@x.com` are one shopper to erasure and to the
    trigger limits. Only ASCII: the same rule SQLite's lower() applies, in any database."""
    return identity.translate(_ASCII_LOWER)


def printable(text: str) -> str:
    """`text` with control characters written as `\\xNN`: safe in a column, a log or an answer."""
    return _CONTROL.sub(lambda m: f'\\x{ord(m.group()):02x}', text)


class _Flawed(dict):
    """A parsed object that cannot be stored: a key given twice, or too many keys. Its events are
    set aside with `flaw` as the reason."""

    flaw = ''


def _flawed(pairs: list, value: dict) -> _Flawed:
    flawed = _Flawed(value)
    if len(pairs) > MAX_KEYS_PER_OBJECT:
        flawed.flaw = f'an object with {len(pairs)} keys, at most {MAX_KEYS_PER_OBJECT}'
    else:
        seen = set()
        for key, _ in pairs:
            if key in seen:
                flawed.flaw = f'a key is given twice: {printable(repr(key))[:80]}'
                break
            seen.add(key)
    return flawed


def _no_constant(name: str):
    raise ValueError(f'{name} is not JSON')


class _Flaws:
    """How many flawed objects were parsed, ever: a parse that moves it found one. (A parse on
    another thread may move it too; that costs only a walk that finds nothing.)"""

    count = 0


def _object_of(pairs: list) -> dict:
    value = dict(pairs)
    if len(value) == len(pairs) and len(pairs) <= MAX_KEYS_PER_OBJECT:
        return value
    _Flaws.count += 1
    return _flawed(pairs, value)


_strict_json = json.JSONDecoder(object_pairs_hook=_object_of, parse_constant=_no_constant)


def parse_strict(text: str) -> tuple[object, bool]:
    """(the parsed JSON of `text`, whether some object in it is flawed). Strict: NaN and Infinity
    are not JSON; an object with a key twice or too many keys becomes a `_Flawed` (found in linear
    time: each object's keys are counted once)."""
    before = _Flaws.count
    tree = _strict_json.decode(text)
    return tree, _Flaws.count != before




class ValidEvent(NamedTuple):
    """An event that meets the contract: its id, type, time, visitor, session, identity key
    (`identity_key(uid)`, or None) and its JSON as stored (a tuple: one is built per event on the
    write path)."""

    event_id: str
    type: str
    ts: int
    cid: str
    sid: str
    uid: str | None
    body: bytes


@dataclass(frozen=True)
class RejectedEvent:
    """An event set aside: why, the first bytes of what was sent (as JSON), and the visitor id
    and identity key it names, when it names valid ones (erasure finds it by them)."""

    reason: str
    sample: bytes
    cid: str | None = None
    uid: str | None = None


@dataclass
class BatchVerdict:
    """What to answer, and what to store."""

    status: int
    reason: str = ''
    account: str | None = None
    events: list[ValidEvent] = field(default_factory=list)
    rejected: list[RejectedEvent] = field(default_factory=list)
    # A valid event says it was made in an automated browser (the tag's `automated: true`).
    automated: bool = False


@dataclass(frozen=True)
class OpenedEnvelope:
    """A body that is the contract's envelope: its account, its events as raw JSON slices, and the
    (repaired) body they are slices of."""

    account: str
    events: list
    body: bytes


def repair_text(body: bytes) -> bytes:
    """`body` with invalid UTF-8 replaced by U+FFFD and lone-surrogate escapes by `\\uFFFD`."""
    try:
        body.decode('utf-8')
    except UnicodeDecodeError:
        body = body.decode('utf-8', 'replace').encode('utf-8')
    if _SURROGATE_HINT.search(body):
        body = _ESCAPE.sub(lambda m: m.group() if len(m.group()) != 6 else b'\\ufffd', body)
    return body


def _short(error: Exception) -> str:
    """What a client is told about its body: the parser's or validator's words about the input,
    never an exception's name or internals."""
    if isinstance(error, RecursionError):
        return 'nested too deep'
    return printable(str(error))[:200]


def open_envelope(body: bytes) -> BatchVerdict | OpenedEnvelope:
    """Step 1 (see the module docstring): the opened envelope, or the verdict (400, 413)."""
    body = repair_text(body)
    try:
        envelope = _envelope_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as error:
        return BatchVerdict(400, f'not the envelope of the contract: {_short(error)}')
    if len(envelope.events) > MAX_EVENTS_PER_BATCH:
        return BatchVerdict(413, f'{len(envelope.events)} events, at most {MAX_EVENTS_PER_BATCH} per request',
                            account=envelope.account)
    if not envelope.events:
        return BatchVerdict(400, 'a batch holds 1 to 100 events', account=envelope.account)
    return OpenedEnvelope(envelope.account, envelope.events, body)


def _flaw_in(tree) -> str | None:
    """Why `tree` (one parsed event) cannot be stored for its shape, or None: a flawed object at
    any depth, or nesting deeper than MAX_JSON_DEPTH. One walk, level by level, linear in its size."""
    level, depth = [tree], 1
    while level:
        below = []
        for item in level:
            kind = type(item)
            if kind is _Flawed:
                return item.flaw
            if kind is dict:
                item = item.values()
            elif kind is not list:
                continue
            if depth > MAX_JSON_DEPTH:
                return f'nested deeper than {MAX_JSON_DEPTH} levels'
            below += item
        level, depth = below, depth + 1
    return None


def _named(tree, key: str, pattern: re.Pattern) -> str | None:
    value = tree.get(key) if isinstance(tree, dict) else None
    return value if isinstance(value, str) and pattern.fullmatch(value) else None


def _reject(reason: str, raw: bytes, tree) -> RejectedEvent:
    uid = _named(tree, 'uid', IDENTITY) or _named(tree, 'email', IDENTITY)
    return RejectedEvent(printable(reason)[:MAX_REASON_CHARS], raw[:MAX_REJECT_SAMPLE_BYTES], _named(tree, 'cid', VISITOR),
                         identity_key(uid) if uid else None)


def check_event(raw: bytes, tree, flawed: bool = True) -> ValidEvent | RejectedEvent:
    """One event against the contract: `raw`, its JSON text; `tree`, its strict parse; `flawed`:
    its body holds a marked object somewhere (else only a deeply bracketed event is walked)."""
    if flawed or raw.count(b'{') + raw.count(b'[') > MAX_JSON_DEPTH:
        flaw = _flaw_in(tree)
        if flaw is not None:
            return _reject(flaw, raw, tree)
    try:
        event = _event_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as error:
        return _reject(_short(error), raw, tree)
    if isinstance(event, Setbasket):
        size = sum(item.quantity for item in event.basket.items)
        if event.basket.size != size:
            return _reject(f'basket.size is {event.basket.size}, the item quantities add up to {size}', raw, tree)
    return ValidEvent(event.id, type(event).__struct_config__.tag, event.ts, event.cid, event.sid,
                      identity_key(event.uid) if event.uid is not None else None, raw)


def check_events(opened: OpenedEnvelope) -> BatchVerdict:
    """Step 2: 204 with the valid events (each id once, in order) and those set aside; or 400 when
    the envelope itself is not strict JSON."""
    try:
        whole, flawed = parse_strict(opened.body.decode('utf-8'))
    except (ValueError, RecursionError) as error:
        return BatchVerdict(400, f'not JSON: {_short(error)}', account=opened.account)
    if isinstance(whole, _Flawed):
        return BatchVerdict(400, f'the envelope is not strict JSON: {whole.flaw}', account=opened.account)
    verdict = BatchVerdict(204, account=opened.account)
    seen = set()
    for raw, tree in zip(opened.events, whole['events'], strict=True):
        checked = check_event(bytes(raw), tree, flawed)
        if isinstance(checked, RejectedEvent):
            verdict.rejected.append(checked)
        elif checked.event_id not in seen:
            seen.add(checked.event_id)
            verdict.events.append(checked)
            verdict.automated = verdict.automated or tree.get('automated') is True
    return verdict


def check_batch(body: bytes, known_accounts) -> BatchVerdict:
    """Both steps at once, for tests and benchmarks (the app runs them apart, with its own
    checks between): the verdict on a body; `known_accounts` supports `in`."""
    opened = open_envelope(body)
    if isinstance(opened, BatchVerdict):
        return opened
    if opened.account not in known_accounts:
        return BatchVerdict(404, f'unknown account {opened.account!r}')
    return check_events(opened)
