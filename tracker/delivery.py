"""Delivery that loses nothing: the persistent outbox, batching, retries and the unload path.

`make_delivery(env, account_id, collector_url, observe)` returns {'enqueue', 'unload', 'resume',
'online', 'start', 'stats'} (`stats`: this page's counts of events, requests, retries,
beacons and drops; `window.ometria.__ometria_tag__.delivery` shows them in the browser console). Everything it touches comes in through `env` (see
`browser.py`, and `tests/unit/fakes.py` for CPython): clock, random, storage, transport, timers.

How an event travels:
1. `enqueue(events)` appends entries to this page's outbox and schedules a flush at once (a
   timer of 0 ms, so every event of the same task goes in the same request).
2. A flush first writes the outbox to storage (`ometria:<account>:q:<page>`), then sends the
   oldest events (`outbox.select_batch`) as one `text/plain` POST. One request is in flight at a
   time. An event leaves the outbox only when the collector accepted it (2xx) or refused it for
   good (400, 404, 413: counted); otherwise it stays, keeps its id, and is retried after the delay
   `outbox.retry_delay_ms` gives, or the `Retry-After` the collector asked for. The failure count
   and any Retry-After are shared by the store's pages (`ometria:<account>:retry`): each page load
   tries once, then backs off from where the last page left off.
3. `unload()` (page hidden or left) writes the outbox and sends what is not in flight with
   `sendBeacon` (or a keepalive fetch where the beacon is refused), within the 64 KiB in-flight
   budget. Nothing is removed: the beacon's fate is unknown, so the events stay until a later
   page gets an answer for them. The collector stores each event id once, so a resent event
   costs bytes, never a duplicate row.
4. Every page owns its own storage key and holds a lease on it. A page adopts (copies into its own
   outbox, then deletes) the keys whose lease ran out: pages left, closed tabs, crashed tabs. Two
   tabs never write the same key, so none loses the other's events; at worst both send an event
   and the collector keeps one.

Where storage is missing or throws, the same rules hold in memory for the page's life.
"""

from tracker import events, outbox, prims

LEASE_MS = 60 * 1000
ADOPT_INTERVAL_MS = 10 * 1000
KEY_PREFIX = 'ometria:'


def make_delivery(env, account_id, collector_url, observe):
    """The delivery machinery of one page. `observe(event_ids, state)` is told each change of
    delivery state: 'queued', 'sending', 'sent', 'retrying', 'beacon', 'dropped'."""
    queue_prefix = KEY_PREFIX + account_id + ':q:'
    retry_key = KEY_PREFIX + account_id + ':retry'
    drops_key = KEY_PREFIX + account_id + ':drops'
    own_key = queue_prefix + env['new_id']()
    state = {
        'entries': [],
        'busy': {},
        'failures': 0,
        'retry_at': 0,
        'hold_until': 0,
        'timer': None,
        'timer_at': 0,
        'last_adopt': None,
        'stored': False,
        'leaving': False,
        'beaconed': {},
    }
    stats = {'events': 0, 'requests': 0, 'accepted': 0, 'retries': 0, 'beacons': 0,
             'dropped_cap': 0, 'dropped_rejected': 0, 'dropped_oversize': 0}

    def ids_of(entries):
        ids = []
        for entry in entries:
            prims.append(ids, entry['e']['id'])
        return ids

    def count_drops(kind, count):
        if count <= 0:
            return
        stats['dropped_' + kind] = stats['dropped_' + kind] + count
        totals = prims.from_json(env['store_get'](drops_key))
        if not prims.is_plain_object(totals):
            totals = {}
        previous = prims.read_key(totals, kind)
        totals[kind] = (previous if prims.is_number(previous) else 0) + count
        env['store_set'](drops_key, prims.to_json(totals))

    def wait_until():
        """The time before which nothing is sent: the backoff, or a Retry-After, the later."""
        return state['retry_at'] if state['retry_at'] > state['hold_until'] else state['hold_until']

    def persist():
        """Write this page's outbox (or remove its key when empty) with a fresh lease, which
        lasts until LEASE_MS after the next attempt."""
        if len(state['entries']) == 0:
            if state['stored']:
                env['store_remove'](own_key)
                state['stored'] = False
            return
        now = env['now_ms']()
        next_attempt = wait_until()
        lease = 0 if state['leaving'] else (next_attempt if next_attempt > now else now) + LEASE_MS
        text = prims.to_json({'lease': lease, 'entries': state['entries']})
        if text != None:
            state['stored'] = env['store_set'](own_key, text)

    def load_retry_state():
        saved = prims.from_json(env['store_get'](retry_key))
        if prims.is_plain_object(saved):
            failures = prims.read_key(saved, 'failures')
            retry_at = prims.read_key(saved, 'retry_at')
            hold_until = prims.read_key(saved, 'hold_until')
            if prims.is_number(failures) and prims.is_number(retry_at) and prims.is_number(hold_until):
                state['failures'] = failures
                state['retry_at'] = retry_at
                state['hold_until'] = hold_until

    def save_retry_state():
        if state['failures'] == 0 and state['retry_at'] == 0 and state['hold_until'] == 0:
            env['store_remove'](retry_key)
        else:
            env['store_set'](retry_key, prims.to_json({'failures': state['failures'], 'retry_at': state['retry_at'],
                                                        'hold_until': state['hold_until']}))

    def adopt():
        """Take over the outboxes of pages whose lease ran out."""
        now = env['now_ms']()
        state['last_adopt'] = now
        orphans = []
        for key in env['store_keys']():
            if prims.starts_with(key, queue_prefix) and key != own_key:
                saved = prims.from_json(env['store_get'](key))
                lease = prims.read_key(saved, 'lease') if prims.is_plain_object(saved) else None
                if not prims.is_number(lease) or lease <= now:
                    entries = prims.read_key(saved, 'entries') if prims.is_plain_object(saved) else None
                    if prims.is_list(entries):
                        added = outbox.merge_entries(state['entries'], entries)
                        if len(added) > 0:
                            observe(ids_of(added), 'queued')
                    prims.append(orphans, key)
        if len(orphans) > 0:
            count_drops('cap', len(outbox.enforce_caps(state['entries'])))
            persist()
            for key in orphans:
                env['store_remove'](key)
            schedule(0)

    def schedule(delay_ms):
        now = env['now_ms']()
        due = now + delay_ms
        if state['timer'] != None:
            if state['timer_at'] <= due:
                return
            env['clear_timer'](state['timer'])
        state['timer_at'] = due
        state['timer'] = env['set_timer'](flush, delay_ms)

    def enqueue(new_events):
        """Queue events (each already complete, with its id); refused when larger than
        outbox.MAX_EVENT_BYTES. Returns the ids queued."""
        queued = []
        for event in new_events:
            entry = outbox.new_entry(event)
            if entry == None:
                count_drops('oversize', 1)
                observe([event['id']], 'dropped')
            else:
                prims.append(state['entries'], entry)
                prims.append(queued, event['id'])
        stats['events'] = stats['events'] + len(queued)
        dropped = outbox.enforce_caps(state['entries'])
        if len(dropped) > 0:
            count_drops('cap', len(dropped))
            observe(ids_of(dropped), 'dropped')
        if len(queued) > 0:
            observe(queued, 'queued')
            schedule(0)
        return queued

    def flush():
        """Write the outbox, then send the next batch unless one is in flight or a wait is on."""
        state['timer'] = None
        now = env['now_ms']()
        if state['last_adopt'] == None or now - state['last_adopt'] >= ADOPT_INTERVAL_MS:
            adopt()
        persist()
        if len(prims.keys_of(state['busy'])) > 0 or len(state['entries']) == 0:
            return
        until = wait_until()
        if now < until:
            schedule(until - now)
            return
        batch = outbox.select_batch(state['entries'], state['busy'], outbox.MAX_BATCH_BYTES)
        if len(batch) == 0:
            return
        batch_events = []
        for entry in batch:
            entry['n'] = entry['n'] + 1
            state['busy'][entry['e']['id']] = True
            prims.append(batch_events, entry['e'])
        body = prims.to_json(events.envelope(account_id, now, batch_events))
        stats['requests'] = stats['requests'] + 1
        observe(ids_of(batch), 'sending')
        env['send'](collector_url, body, lambda status, retry_after: answered(batch, status, retry_after))

    def remove_entries(batch):
        gone = {}
        for entry in batch:
            gone[entry['e']['id']] = True
        kept = []
        for entry in state['entries']:
            if not prims.has_key(gone, entry['e']['id']):
                prims.append(kept, entry)
        state['entries'] = kept

    def answered(batch, status, retry_after_header):
        """The collector's answer to a batch (status 0: network error or timeout)."""
        state['busy'] = {}
        verdict = outbox.classify(status)
        now = env['now_ms']()
        if verdict == outbox.RETRY:
            state['failures'] = state['failures'] + 1
            stats['retries'] = stats['retries'] + 1
            asked = outbox.retry_after_ms(retry_after_header)
            if asked != None:
                state['hold_until'] = now + asked
            else:
                state['retry_at'] = now + outbox.retry_delay_ms(state['failures'], env['random']())
            save_retry_state()
            persist()
            observe(ids_of(batch), 'retrying')
            schedule(wait_until() - now)
            return
        remove_entries(batch)
        if verdict == outbox.ACCEPTED:
            stats['accepted'] = stats['accepted'] + len(batch)
            observe(ids_of(batch), 'sent')
        else:
            count_drops('rejected', len(batch))
            observe(ids_of(batch), 'dropped')
        if state['failures'] > 0 or state['retry_at'] > 0 or state['hold_until'] > 0:
            state['failures'] = 0
            state['retry_at'] = 0
            state['hold_until'] = 0
            save_retry_state()
        persist()
        if len(state['entries']) > 0:
            schedule(0)

    def unload(leaving):
        """The page is hidden (`leaving` False) or being left (`leaving` True): write the outbox
        and send by beacon what is neither in flight nor already beaconed. Once left, the lease is
        released so that the next page adopts the outbox at once (a `visibilitychange` that
        follows `pagehide` does not take it back)."""
        state['leaving'] = state['leaving'] or leaving
        now = env['now_ms']()
        if now >= state['hold_until']:
            skip = {}
            for event_id in prims.keys_of(state['busy']):
                skip[event_id] = True
            for event_id in prims.keys_of(state['beaconed']):
                skip[event_id] = True
            budget = outbox.UNLOAD_BUDGET_BYTES
            while budget > outbox.ENVELOPE_OVERHEAD_BYTES:
                batch = outbox.select_batch(state['entries'], skip, budget)
                if len(batch) == 0 or outbox.total_bytes(batch) + outbox.ENVELOPE_OVERHEAD_BYTES > budget:
                    break
                batch_events = []
                for entry in batch:
                    skip[entry['e']['id']] = True
                    state['beaconed'][entry['e']['id']] = True
                    prims.append(batch_events, entry['e'])
                body = prims.to_json(events.envelope(account_id, now, batch_events))
                budget = budget - prims.utf8_length(body)
                stats['beacons'] = stats['beacons'] + 1
                env['beacon'](collector_url, body)
                # The events stay in the outbox, unconfirmed: if this page lives on they are sent
                # again normally, else a later page sends them (the collector keeps one copy).
                observe(ids_of(batch), 'beacon')
        persist()

    def resume():
        """The page is shown again (back from the back/forward cache, or visible): take the
        lease back and carry on."""
        state['leaving'] = False
        state['beaconed'] = {}
        persist()
        if len(state['entries']) > 0:
            schedule(0)

    def online():
        """The browser is back online: forget the backoff and try now (a Retry-After stands)."""
        state['failures'] = 0
        state['retry_at'] = 0
        save_retry_state()
        schedule(0)

    def start():
        """On page start: read the shared retry state and adopt what earlier pages left.

        A page load always tries once at once (unless the collector asked for a wait with
        Retry-After): during an outage that is one request per page view, what the store sends
        anyway, and when the collector is back the outbox drains on the next page. The failure
        count carries over, so the retries after that first attempt keep backing off."""
        load_retry_state()
        state['retry_at'] = 0
        adopt()

    return {
        'enqueue': enqueue,
        'unload': unload,
        'resume': resume,
        'online': online,
        'start': start,
        'stats': stats,
    }
