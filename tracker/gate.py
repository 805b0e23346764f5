"""The pre-init gate: the page's first event is its pageview.

Calls made before the page's first `init` are held, then recorded after its pageview in call
order, carrying the page's store id. If no `init` comes by the time the page settles they are
released without one (the doctor says so); so are they once MAX_HELD_EVENTS are waiting, so a page
looping before `init` cannot grow the tag's memory (the outbox's caps apply from then on).

Pure: events go to `deliver(events)`, warnings to the journal.
"""

from tracker import journal, prims

MAX_HELD_EVENTS = 100


class Gate:
    """The gate of one page; see the module docstring."""

    def __init__(self, deliver, page_journal):
        self._deliver = deliver
        self._journal = page_journal
        self._held = []
        self._inited = False
        self._released = False
        self._settled = False

    def inited(self):
        """True once the page's first pageview was recorded."""
        return self._inited

    def admit(self, event):
        """Pass `event` on, or hold it until the page's pageview."""
        if self._inited or self._released or event['type'] == 'pageview':
            self._deliver([event])
            return
        prims.append(self._held, event)
        journal.state(self._journal, [event['id']], journal.HELD)
        if len(self._held) >= MAX_HELD_EVENTS:
            self._released = True
            journal.warn(self._journal, ['too_many_held', MAX_HELD_EVENTS])
            self._release(None)

    def _release(self, store_id):
        held = self._held
        self._held = []
        for event in held:
            if event['store_id'] == None:
                event['store_id'] = store_id
        if len(held) > 0:
            self._deliver(held)

    def opened(self, store_id):
        """The page's pageview was recorded: release what was held, with the page's store id."""
        if not self._inited:
            self._inited = True
            self._release(store_id)

    def settle(self):
        """The page settled without an `init`: release what is held (once), with a warning."""
        if not self._inited and not self._settled:
            self._settled = True
            self._released = True
            journal.warn(self._journal, ['no_init'])
            self._release(None)
