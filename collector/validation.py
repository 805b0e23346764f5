"""Validation of a collect request's body, as pure functions (no I/O, no framework).

`check_batch(body, accounts)` answers what the wire contract says for any bytes a client can send:
- 400: not JSON, not the envelope (`v`, `account`, `sent_at`, `events`), or no events;
- 404: an account id that is not configured;
- 413: more than MAX_EVENTS_PER_BATCH events (a body over MAX_BODY_BYTES never gets here);
- 204: the envelope is good. Each event is then decoded on its own: the valid ones are returned for
  storage, the ones that break the contract are returned apart, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from collector.models import MAX_EVENTS_PER_BATCH, Envelope, Event, Setbasket

__all__ = ['BatchVerdict', 'ValidEvent', 'RejectedEvent', 'check_batch', 'check_event']

MAX_REJECT_SAMPLE_BYTES = 4096
_envelope_decoder = msgspec.json.Decoder(Envelope)
_event_decoder = msgspec.json.Decoder(Event)


@dataclass(frozen=True)
class ValidEvent:
    """An event that meets the contract: its id, type, time and its JSON as sent."""

    event_id: str
    type: str
    ts: int
    cid: str
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


def check_event(raw) -> ValidEvent | RejectedEvent:
    """Decode one event (bytes, or a msgspec.Raw of the envelope) against the contract."""
    raw = bytes(raw)
    try:
        event = _event_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        return RejectedEvent(str(error)[:300], raw[:MAX_REJECT_SAMPLE_BYTES])
    if isinstance(event, Setbasket):
        size = sum(item.quantity for item in event.basket.items)
        if event.basket.size != size:
            return RejectedEvent(
                f'basket.size is {event.basket.size}, the item quantities add up to {size}',
                raw[:MAX_REJECT_SAMPLE_BYTES],
            )
    return ValidEvent(event.id, type(event).__struct_config__.tag, event.ts, event.cid, raw)


def check_batch(body: bytes, known_accounts) -> BatchVerdict:
    """The verdict on a request body; `known_accounts` supports `in` (the configured ids)."""
    try:
        envelope = _envelope_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        return BatchVerdict(400, f'not the envelope of the contract: {str(error)[:200]}')
    if envelope.account not in known_accounts:
        return BatchVerdict(404, f'unknown account {envelope.account!r}')
    if len(envelope.events) > MAX_EVENTS_PER_BATCH:
        return BatchVerdict(413, f'{len(envelope.events)} events, at most {MAX_EVENTS_PER_BATCH} per request',
                            account=envelope.account)
    if not envelope.events:
        return BatchVerdict(400, 'a batch holds 1 to 100 events', account=envelope.account)
    verdict = BatchVerdict(204, account=envelope.account)
    seen = set()
    for raw in envelope.events:
        checked = check_event(raw)
        if isinstance(checked, RejectedEvent):
            verdict.rejected.append(checked)
        elif checked.event_id not in seen:
            seen.add(checked.event_id)
            verdict.events.append(checked)
    return verdict
