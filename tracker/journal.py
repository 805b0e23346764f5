"""The journal: a small, bounded record of what the tag did on this page, for the debug module.

The `#om_debug` overlay, the integration doctor and their texts live in a second file that is
loaded only when the debug switch is on, possibly after the page's first events. So the tag keeps
what happened as data, and the debug module turns it into lines when it arrives (`debug_view.py`):
the overlay shows the page's whole story, whenever it loads.

An entry is a plain object with short quoted keys (they cross into a separately minified file):
- 'n': its number on the page (0, 1, ...);
- 'k': the kind: 'info' (a spec line such as NEW SESSION), 'event' (an event recorded, whose
  delivery state it follows), 'warn' (an integration mistake), 'note' (what the tag did with an
  argument), 'check' (data the doctor examines: a pageview's type, a basket);
- 'c': a code (`debug_view.py` holds the text of each), 'a': its arguments, 'd': details printed
  to the console when the line is clicked, 's': the delivery state of an 'event' entry.

A note is a list `[code, arguments...]`, made by the pure modules (`coerce.py`, `basket.py`...)
with `noted(notes, note)`. With the switch off the journal records nothing. At most
MAX_JOURNAL_ENTRIES are kept.

The tag records through this module's functions (`journal.line(page_journal, ...)`, `warn`,
`note`, `notes`, `refuse`, `check`, `event`, `state`, `noted`), never through a Journal's methods:
in a build without the journal (`features.JOURNAL` off: the tag shoppers download, whose debug mode
runs a journaled twin, main.py) each function is empty, and the minifier drops every call to it
with its arguments, so none of the debug-only work reaches shoppers.

Pure: imports only `prims` and `features`.
"""

from tracker import features, prims

MAX_JOURNAL_ENTRIES = 500
# The delivery states an event's entry goes through (`state`), the overlay's badges.
HELD = 'held'
QUEUED = 'queued'
SENDING = 'sending'
SENT = 'sent'
RETRYING = 'retrying'
BEACON = 'beacon'
DROPPED = 'dropped'
REFUSED = 'refused'


class Journal:
    """The journal of one page; `enabled` is the debug switch."""

    def __init__(self, enabled):
        self._enabled = enabled
        self._entries = []
        self._by_event = {}
        self._listener = None

    def _add(self, kind, code, args, details, event_ids):
        if not self._enabled or len(self._entries) >= MAX_JOURNAL_ENTRIES:
            return
        entry = {'n': len(self._entries), 'k': kind, 'c': code, 'a': args, 'd': details, 's': None}
        prims.append(self._entries, entry)
        if event_ids != None:
            for event_id in event_ids:
                self._by_event[event_id] = entry
        self._tell(entry)

    def _tell(self, entry):
        if self._listener != None:
            self._listener(entry)

    def line(self, code, args, details):
        """A line of the spec's table ('new_visitor', 'new_session' [sid], 'existing_session'
        [sid], 'identified' [identity])."""
        self._add('info', code, args, details, None)

    def event(self, event_type, label, details, event_ids):
        """An event recorded: "Event: <type>" (with "(<label>)" when `label` is not None)."""
        self._add('event', event_type, [label], details, event_ids)

    def warn(self, note):
        """An integration mistake, `[code, arguments...]`."""
        self._add('warn', note[0], prims.slice_list(note, 1, None), None, None)

    def note(self, note):
        """What the tag did with an argument, `[code, arguments...]`."""
        self._add('note', note[0], prims.slice_list(note, 1, None), None, None)

    def notes(self, notes):
        for note in notes:
            self.note(note)

    def refuse(self, notes):
        """The notes of a call that sent nothing: each is a warning."""
        for note in notes:
            self.warn(note)

    def check(self, code, details):
        """Data for the doctor: 'pageview' {page_type, page_data} or 'basket' (a payload)."""
        self._add('check', code, [], details, None)

    def state(self, event_ids, state):
        """A change of delivery state: HELD, QUEUED, SENDING, SENT, RETRYING, BEACON, DROPPED or
        REFUSED."""
        if not self._enabled:
            return
        for event_id in event_ids:
            if prims.has_key(self._by_event, event_id):
                entry = self._by_event[event_id]
                if entry['s'] != state:
                    entry['s'] = state
                    self._tell(entry)

    def follow(self, listener):
        """Call `listener(entry)` for every entry so far, then for each new entry and each change
        of state (the same entry again)."""
        self._listener = listener
        for entry in self._entries:
            listener(entry)

    def entries(self):
        return self._entries

    def enabled(self):
        return self._enabled


# -- what the tag calls (empty, and dropped by the minifier, in a build without the journal) -------

def line(page_journal, code, args, details):
    """A line of the spec's table on `page_journal` (see Journal.line)."""
    if features.JOURNAL:
        page_journal.line(code, args, details)


def event(page_journal, event_type, label, details, event_ids):
    if features.JOURNAL:
        page_journal.event(event_type, label, details, event_ids)


def warn(page_journal, note):
    if features.JOURNAL:
        page_journal.warn(note)


def note(page_journal, one):
    if features.JOURNAL:
        page_journal.note(one)


def notes(page_journal, some):
    if features.JOURNAL:
        page_journal.notes(some)


def refuse(page_journal, some):
    if features.JOURNAL:
        page_journal.refuse(some)


def check(page_journal, code, details):
    if features.JOURNAL:
        page_journal.check(code, details)


def state(page_journal, event_ids, new_state):
    if features.JOURNAL:
        page_journal.state(event_ids, new_state)


def noted(notes_so_far, one):
    """Add the note `one` ([code, arguments...]) to a call's `notes_so_far`."""
    if features.JOURNAL:
        prims.append(notes_so_far, one)
