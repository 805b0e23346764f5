"""Delivery policy, as pure functions: batch limits, the outbox caps, what an answer means, and
how long to wait before trying again. `delivery.py` applies it; this module decides.

An outbox entry is {'e': event, 'b': its size in bytes as JSON, 'n': attempts so far}.

Numbers:
- A request carries at most MAX_BATCH_EVENTS events and MAX_BATCH_BYTES of JSON, under the 64 KiB
  that `keepalive` fetches and `sendBeacon` share; on unload all beacons together stay under
  UNLOAD_BUDGET_BYTES. An event over MAX_EVENT_BYTES is refused when it is made (counted).
- The outbox keeps at most MAX_OUTBOX_EVENTS events and MAX_OUTBOX_BYTES; past either, the oldest
  are dropped and counted.
- Answers: 2xx accepted; 400, 404, 413 dropped at once (counted, the events behind go on); every
  other answer, a network error or a timeout is retried, keeping the event ids.
- Retry delay after the n-th consecutive failure: d = min(RETRY_MAX_DELAY_MS, RETRY_BASE_DELAY_MS
  * 2**(n-1)), then "equal jitter": a uniform time between d/2 and d. So 0.5-1 s, 1-2 s, 2-4 s, ...
  up to 2.5-5 min. A `Retry-After` (429, 503) of s seconds waits exactly s seconds (at most
  RETRY_AFTER_MAX_MS) instead.

Backoff: the delivery's waiting state, shared by the store's pages, is a plain object
{'failures', 'retry_at', 'hold_until'} (ms since the epoch), changed only by the pure transitions
below (`after_failure`, `cleared`, `page_loaded`, `back_online`).

Pure: imports only `prims`, `events` and `limits`.
"""

from tracker import events, limits, prims

MAX_BATCH_EVENTS = limits.MAX_EVENTS_PER_BATCH
MAX_BATCH_BYTES = 48 * 1024
MAX_EVENT_BYTES = 32 * 1024
UNLOAD_BUDGET_BYTES = 60 * 1024
ENVELOPE_OVERHEAD_BYTES = 160
MAX_OUTBOX_EVENTS = 2000
MAX_OUTBOX_BYTES = 1024 * 1024
RETRY_BASE_DELAY_MS = 1000
RETRY_MAX_DELAY_MS = 5 * 60 * 1000
RETRY_AFTER_MAX_MS = 60 * 60 * 1000
DROP_STATUSES = [400, 404, 413]

ACCEPTED = 'accepted'
REJECTED = 'rejected'
RETRY = 'retry'


def classify(status):
    """What an HTTP answer means for the batch: ACCEPTED (2xx), REJECTED (400, 404, 413: drop,
    never retry) or RETRY (anything else, and 0 for a network error or a timeout)."""
    if status >= 200 and status < 300:
        return ACCEPTED
    if prims.find_item(DROP_STATUSES, status) >= 0:
        return REJECTED
    return RETRY


def retry_delay_ms(failures, random01):
    """The wait before the next attempt after `failures` consecutive failures (1, 2, ...), with
    `random01` a uniform random number in [0, 1): see the module docstring."""
    delay = RETRY_BASE_DELAY_MS
    count = 1
    while count < failures and delay < RETRY_MAX_DELAY_MS:
        delay = delay * 2
        count = count + 1
    if delay > RETRY_MAX_DELAY_MS:
        delay = RETRY_MAX_DELAY_MS
    return prims.floor(delay / 2 + random01 * delay / 2)


def retry_after_ms(header):
    """The wait a `Retry-After` header asks for, in ms (at most RETRY_AFTER_MAX_MS), or None when
    the header is missing or not a number of seconds."""
    if header == None or not prims.is_string(header):
        return None
    seconds = prims.parse_decimal(prims.trim(header))
    if seconds == None or seconds < 0:
        return None
    wait = prims.floor(seconds * 1000)
    return RETRY_AFTER_MAX_MS if wait > RETRY_AFTER_MAX_MS else wait


def new_entry(event):
    """An outbox entry for `event`, or None when the event is larger than MAX_EVENT_BYTES."""
    text = prims.to_json(event)
    if text == None:
        return None
    size = prims.utf8_length(text)
    if size > MAX_EVENT_BYTES:
        return None
    return {'e': event, 'b': size, 'n': 0}


def total_bytes(entries):
    """The size of all `entries` as JSON."""
    total = 0
    for entry in entries:
        total = total + entry['b']
    return total


def enforce_caps(entries):
    """Drop the oldest entries (in place) until the outbox is within MAX_OUTBOX_EVENTS and
    MAX_OUTBOX_BYTES. Returns the dropped entries."""
    excess = len(entries) - MAX_OUTBOX_EVENTS
    size = total_bytes(entries)
    count = 0
    while count < len(entries) and (count < excess or size > MAX_OUTBOX_BYTES):
        size = size - entries[count]['b']
        count = count + 1
    dropped = prims.slice_list(entries, 0, count)
    prims.remove_first(entries, count)
    return dropped


def select_batch(entries, busy_ids, max_bytes, max_events):
    """The entries of the next request, oldest first: not in `busy_ids` (a dict of ids in flight),
    at most `max_events` and `max_bytes` of JSON (at least one entry when any is free)."""
    batch = []
    size = ENVELOPE_OVERHEAD_BYTES
    for entry in entries:
        if len(batch) >= max_events:
            break
        if not prims.has_key(busy_ids, entry['e']['id']):
            if len(batch) > 0 and size + entry['b'] + 1 > max_bytes:
                break
            prims.append(batch, entry)
            size = size + entry['b'] + 1
    return batch


def split_size(rejected_count):
    """After a refused batch of `rejected_count` events, the most events the next batches carry:
    half as many (the bad event is found by halving, and only it is dropped), or 0 when the
    refused batch was a single event (that one is dropped)."""
    if rejected_count <= 1:
        return 0
    return prims.floor(rejected_count / 2)


def merge_entries(entries, more):
    """Add the entries of `more` whose event id `entries` lacks, keeping `entries` sorted by event
    time (a stable merge). Returns the entries added."""
    known = {}
    for entry in entries:
        known[entry['e']['id']] = True
    added = []
    for entry in more:
        if valid_entry(entry) and not prims.has_key(known, entry['e']['id']):
            known[entry['e']['id']] = True
            index = len(entries)
            while index > 0 and entries[index - 1]['e']['ts'] > entry['e']['ts']:
                index = index - 1
            prims.insert_at(entries, index, entry)
            prims.append(added, entry)
    return added


def valid_entry(entry):
    """True when `entry`, read back from storage, has the shape of an outbox entry."""
    if not prims.is_plain_object(entry):
        return False
    event = prims.read_key(entry, 'e')
    return prims.is_plain_object(event) and prims.is_string(prims.read_key(event, 'id')) and \
        prims.is_number(prims.read_key(event, 'ts')) and prims.is_number(prims.read_key(entry, 'b'))


def batch_body(account_id, now_ms, entries):
    """The request body for `entries` (flush and unload alike): the envelope as JSON text."""
    batch_events = []
    for entry in entries:
        prims.append(batch_events, entry['e'])
    return prims.to_json(events.envelope(account_id, now_ms, batch_events))


# --- backoff ------------------------------------------------------------------------------------

def no_backoff():
    """Nothing to wait for."""
    return {'failures': 0, 'retry_at': 0, 'hold_until': 0}


def backoff_from(saved):
    """The backoff read back from storage (anything malformed: none)."""
    if prims.is_plain_object(saved):
        failures = prims.read_key(saved, 'failures')
        retry_at = prims.read_key(saved, 'retry_at')
        hold_until = prims.read_key(saved, 'hold_until')
        if prims.is_number(failures) and prims.is_number(retry_at) and prims.is_number(hold_until):
            return {'failures': failures, 'retry_at': retry_at, 'hold_until': hold_until}
    return no_backoff()


def is_clear(backoff):
    return backoff['failures'] == 0 and backoff['retry_at'] == 0 and backoff['hold_until'] == 0


def wait_until(backoff):
    """The time before which nothing is sent: the backoff, or a Retry-After, the later."""
    return backoff['retry_at'] if backoff['retry_at'] > backoff['hold_until'] else backoff['hold_until']


def after_failure(backoff, now_ms, random01, retry_after):
    """The backoff after a failed attempt at `now_ms`: a Retry-After (ms, or None) holds until
    then; otherwise the next attempt waits `retry_delay_ms` for one more failure."""
    failures = backoff['failures'] + 1
    if retry_after != None:
        return {'failures': failures, 'retry_at': backoff['retry_at'], 'hold_until': now_ms + retry_after}
    return {'failures': failures, 'retry_at': now_ms + retry_delay_ms(failures, random01),
            'hold_until': backoff['hold_until']}


def page_loaded(backoff):
    """A new page tries once at once (a Retry-After still holds); the failure count carries on,
    so the retries after that first attempt keep backing off."""
    return {'failures': backoff['failures'], 'retry_at': 0, 'hold_until': backoff['hold_until']}


def back_online(backoff):
    """The browser is back online: forget the backoff (a Retry-After still holds)."""
    return {'failures': 0, 'retry_at': 0, 'hold_until': backoff['hold_until']}
