"""Delivery that loses nothing: the persistent outbox, batching, retries and the unload path.

`Delivery(env, account_id, collector_url, observe)`: `enqueue`, `unload`, `resume`, `online`,
`start`, and `stats` (this page's counts of events, requests, retries, beacons and drops;
`window.ometria.__ometria_tag__.delivery` shows them in the browser console). Everything it
touches comes in through `env` (`browser.BrowserEnv`; `tests/unit/fakes.FakeEnv` under CPython):
clock, random, storage, transport, timers. `observe(event_ids, state)` is told each change of
delivery state (`journal.QUEUED`, `SENDING`, `SENT`, `RETRYING`, `BEACON`, `DROPPED`, `REFUSED`).

How an event travels:
1. `enqueue(events)` appends entries to this page's outbox and schedules a flush at once (a
   timer of 0 ms, so every event of the same task goes in the same request).
2. A flush first writes the outbox to storage (`ometria:<account>:q:<page>`), then sends the
   oldest events (`outbox.select_batch`) as one `text/plain` POST. One request is in flight at a
   time. An event leaves the outbox only when the collector accepted it (2xx) or refused it for
   good (400, 404, 413: counted); otherwise it stays, keeps its id, and is retried after the delay
   `outbox.after_failure` gives, or the `Retry-After` the collector asked for. The backoff is
   shared by the store's pages (`ometria:<account>:retry`): each page load tries once, then backs
   off from where the last page left off.
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

Consent (`page.py`): `hold()` keeps events in the outbox without sending anything (consent
pending; the env keeps storage in memory meanwhile), `release()` starts sending (consent given:
what was held goes first, with its ids and times), `refuse()` drops what is held and everything
after it (consent refused), and `forget()` empties the outbox (`ometria.forget()`).
"""

from tracker import journal, keys, outbox, prims

LEASE_MS = 60 * 1000
ADOPT_INTERVAL_MS = 10 * 1000
# What the page's delivery does with events (consent): send them, hold them, or refuse them.
SENDING = 'sending'
HOLDING = 'holding'
REFUSING = 'refusing'


def ids_of_events(events):
    ids = []
    for event in events:
        prims.append(ids, event['id'])
    return ids


def ids_of(entries):
    ids = []
    for entry in entries:
        prims.append(ids, entry['e']['id'])
    return ids


class Delivery:
    """The delivery machinery of one page; see the module docstring."""

    def __init__(self, env, account_id, collector_url, observe):
        self._env = env
        self._account = account_id
        self._url = collector_url
        self._observe = observe
        self._queue_prefix = keys.storage_key(account_id, keys.QUEUE)
        self._retry_key = keys.storage_key(account_id, 'retry')
        self._drops_key = keys.storage_key(account_id, 'drops')
        self._own_key = self._queue_prefix + env.new_id()
        self._entries = []
        self._busy = {}
        # The most events a request carries: smaller while a refused batch is being halved.
        self._batch_events = outbox.MAX_BATCH_EVENTS
        self._backoff = outbox.no_backoff()
        self._timer = None
        self._timer_at = 0
        self._last_adopt = None
        self._stored = False
        self._leaving = False
        self._beaconed = {}
        self._mode = SENDING
        self.stats = {'events': 0, 'requests': 0, 'accepted': 0, 'retries': 0, 'beacons': 0,
                      'dropped_cap': 0, 'dropped_rejected': 0, 'dropped_oversize': 0}

    def _count_drops(self, kind, count):
        if count <= 0:
            return
        self.stats['dropped_' + kind] = self.stats['dropped_' + kind] + count
        totals = prims.from_json(self._env.store_get(self._drops_key))
        if not prims.is_plain_object(totals):
            totals = {}
        previous = prims.read_key(totals, kind)
        totals[kind] = (previous if prims.is_number(previous) else 0) + count
        self._env.store_set(self._drops_key, prims.to_json(totals))

    def _persist(self):
        """Write this page's outbox (or remove its key when empty) with a fresh lease, which
        lasts until LEASE_MS after the next attempt."""
        if len(self._entries) == 0:
            if self._stored:
                self._env.store_remove(self._own_key)
                self._stored = False
            return
        now = self._env.now_ms()
        next_attempt = outbox.wait_until(self._backoff)
        lease = 0 if self._leaving else (next_attempt if next_attempt > now else now) + LEASE_MS
        text = prims.to_json({'lease': lease, 'entries': self._entries})
        if text != None:
            self._stored = self._env.store_set(self._own_key, text)

    def _set_backoff(self, backoff):
        self._backoff = backoff
        if outbox.is_clear(backoff):
            self._env.store_remove(self._retry_key)
        else:
            self._env.store_set(self._retry_key, prims.to_json(backoff))

    def _adopt(self):
        """Take over the outboxes of pages whose lease ran out."""
        now = self._env.now_ms()
        self._last_adopt = now
        orphans = []
        for key in self._env.store_keys():
            if prims.starts_with(key, self._queue_prefix) and key != self._own_key:
                saved = prims.from_json(self._env.store_get(key))
                lease = prims.read_key(saved, 'lease') if prims.is_plain_object(saved) else None
                if not prims.is_number(lease) or lease <= now:
                    entries = prims.read_key(saved, 'entries') if prims.is_plain_object(saved) else None
                    if prims.is_list(entries):
                        added = outbox.merge_entries(self._entries, entries)
                        if len(added) > 0:
                            self._observe(ids_of(added), journal.QUEUED)
                    prims.append(orphans, key)
        if len(orphans) > 0:
            self._count_drops('cap', len(outbox.enforce_caps(self._entries)))
            self._persist()
            for key in orphans:
                self._env.store_remove(key)
            self._schedule(0)

    def _schedule(self, delay_ms):
        due = self._env.now_ms() + delay_ms
        if self._timer != None:
            if self._timer_at <= due:
                return
            self._env.clear_timer(self._timer)
        self._timer_at = due
        self._timer = self._env.set_timer(lambda: self._flush(), delay_ms)

    def enqueue(self, new_events):
        """Queue events (each already complete, with its id); refused when larger than
        outbox.MAX_EVENT_BYTES. Returns the ids queued."""
        queued = []
        if self._mode == REFUSING:
            self._observe(ids_of_events(new_events), journal.REFUSED)
            return queued
        for event in new_events:
            entry = outbox.new_entry(event)
            if entry == None:
                self._count_drops('oversize', 1)
                self._observe([event['id']], journal.DROPPED)
            else:
                prims.append(self._entries, entry)
                prims.append(queued, event['id'])
        self.stats['events'] = self.stats['events'] + len(queued)
        dropped = outbox.enforce_caps(self._entries)
        if len(dropped) > 0:
            self._count_drops('cap', len(dropped))
            self._observe(ids_of(dropped), journal.DROPPED)
        if len(queued) > 0:
            self._observe(queued, journal.QUEUED)
            self._schedule(0)
        return queued

    def _flush(self):
        """Write the outbox, then send the next batch unless one is in flight or a wait is on."""
        self._timer = None
        now = self._env.now_ms()
        if self._last_adopt == None or now - self._last_adopt >= ADOPT_INTERVAL_MS:
            self._adopt()
        self._persist()
        if self._mode != SENDING or len(prims.keys_of(self._busy)) > 0 or len(self._entries) == 0:
            return
        until = outbox.wait_until(self._backoff)
        if now < until:
            self._schedule(until - now)
            return
        batch = outbox.select_batch(self._entries, self._busy, outbox.MAX_BATCH_BYTES, self._batch_events)
        if len(batch) == 0:
            return
        for entry in batch:
            entry['n'] = entry['n'] + 1
            self._busy[entry['e']['id']] = True
        self.stats['requests'] = self.stats['requests'] + 1
        self._observe(ids_of(batch), journal.SENDING)
        self._env.send(self._url, outbox.batch_body(self._account, now, batch),
                       lambda status, retry_after: self._answered(batch, status, retry_after))

    def _remove(self, batch):
        gone = {}
        for entry in batch:
            gone[entry['e']['id']] = True
        kept = []
        for entry in self._entries:
            if not prims.has_key(gone, entry['e']['id']):
                prims.append(kept, entry)
        self._entries = kept

    def _answered(self, batch, status, retry_after_header):
        """The collector's answer to a batch (status 0: network error or timeout)."""
        self._busy = {}
        verdict = outbox.classify(status)
        now = self._env.now_ms()
        if verdict == outbox.RETRY:
            self.stats['retries'] = self.stats['retries'] + 1
            self._set_backoff(outbox.after_failure(self._backoff, now, self._env.random(),
                                                   outbox.retry_after_ms(retry_after_header)))
            self._persist()
            self._observe(ids_of(batch), journal.RETRYING)
            self._schedule(outbox.wait_until(self._backoff) - now)
            return
        if verdict == outbox.REJECTED and outbox.split_size(len(batch)) > 0:
            # A refused batch may hold one bad event among good ones: send it again in halves.
            self._batch_events = outbox.split_size(len(batch))
            self._observe(ids_of(batch), journal.QUEUED)
            self._schedule(0)
            return
        self._remove(batch)
        if verdict == outbox.ACCEPTED:
            self.stats['accepted'] = self.stats['accepted'] + len(batch)
            self._observe(ids_of(batch), journal.SENT)
            if len(self._entries) == 0:
                self._batch_events = outbox.MAX_BATCH_EVENTS
        else:
            self._count_drops('rejected', len(batch))
            self._observe(ids_of(batch), journal.DROPPED)
            self._batch_events = outbox.MAX_BATCH_EVENTS
        if not outbox.is_clear(self._backoff):
            self._set_backoff(outbox.no_backoff())
        self._persist()
        if len(self._entries) > 0:
            self._schedule(0)

    def unload(self, leaving):
        """The page is hidden (`leaving` False) or being left (`leaving` True): write the outbox
        and send by beacon what is neither in flight nor already beaconed. Once left, the lease is
        released so that the next page adopts the outbox at once (a `visibilitychange` that
        follows `pagehide` does not take it back)."""
        self._leaving = self._leaving or leaving
        now = self._env.now_ms()
        if self._mode == SENDING and now >= self._backoff['hold_until']:
            skip = {}
            for event_id in prims.keys_of(self._busy):
                skip[event_id] = True
            for event_id in prims.keys_of(self._beaconed):
                skip[event_id] = True
            budget = outbox.UNLOAD_BUDGET_BYTES
            while budget > outbox.ENVELOPE_OVERHEAD_BYTES:
                batch = outbox.select_batch(self._entries, skip, budget, outbox.MAX_BATCH_EVENTS)
                if len(batch) == 0 or outbox.total_bytes(batch) + outbox.ENVELOPE_OVERHEAD_BYTES > budget:
                    break
                for entry in batch:
                    skip[entry['e']['id']] = True
                    self._beaconed[entry['e']['id']] = True
                body = outbox.batch_body(self._account, now, batch)
                budget = budget - prims.utf8_length(body)
                self.stats['beacons'] = self.stats['beacons'] + 1
                self._env.beacon(self._url, body)
                # The events stay in the outbox, unconfirmed: if this page lives on they are sent
                # again normally, else a later page sends them (the collector keeps one copy).
                self._observe(ids_of(batch), journal.BEACON)
        self._persist()

    def resume(self):
        """The page is shown again (back from the back/forward cache, or visible): take the
        lease back and carry on."""
        self._leaving = False
        self._beaconed = {}
        self._persist()
        if len(self._entries) > 0:
            self._schedule(0)

    def online(self):
        """The browser is back online: forget the backoff and try now (a Retry-After stands)."""
        self._set_backoff(outbox.back_online(self._backoff))
        self._schedule(0)

    def hold(self):
        self._mode = HOLDING

    def release(self):
        """Consent given: send what was held (first, with its ids and times) and what comes next."""
        self._mode = SENDING
        self._adopt()
        self._schedule(0)

    def refuse(self):
        self._mode = REFUSING
        self.forget()

    def forget(self):
        self._observe(ids_of(self._entries), journal.REFUSED)
        self._entries = []
        self._busy = {}
        self._beaconed = {}
        self._persist()

    def start(self):
        """On page start: read the shared backoff (`outbox.page_loaded`: one attempt at once)
        and adopt what earlier pages left."""
        self._backoff = outbox.page_loaded(outbox.backoff_from(prims.from_json(self._env.store_get(self._retry_key))))
        self._adopt()
