"""The debug log behind the `#om_debug` overlay: what the tag registered, as lines of text.

`make_debug(enabled, show, warn_console)` returns {'line', 'warn', 'note', 'state', 'enabled'}:
- `line(text, details, event_ids)`: a message of the spec's table ("NEW SESSION: ...",
  "Event: pageview (product)"), with the details printed to the console when it is clicked, and
  the ids of the events it stands for, whose delivery state it then follows.
- `warn(text)`: an integration doctor warning (also written to the console).
- `note(text)`: what the tag did with an argument (a coercion), shown in the overlay only.
- `state(event_ids, state)`: a change of delivery state ('held', 'queued', 'sending', 'sent',
  'retrying', 'beacon', 'dropped').

`show(entry)` draws or redraws an entry ({'text', 'kind', 'details', 'state'}); the overlay
(`overlay.py`) provides it. When `enabled` is False every function does nothing: no DOM, no
console.

Pure: imports only `prims`.
"""

from tracker import prims

MAX_LINES = 500


def make_debug(enabled, show, warn_console):
    """The debug log; see the module docstring."""
    lines = []
    by_event = {}

    def add(kind, text, details, event_ids):
        if not enabled or len(lines) >= MAX_LINES:
            return None
        entry = {'text': text, 'kind': kind, 'details': details, 'state': None}
        prims.append(lines, entry)
        if event_ids != None:
            for event_id in event_ids:
                by_event[event_id] = entry
        show(entry)
        return entry

    def line(text, details, event_ids):
        add('event' if event_ids != None else 'info', text, details, event_ids)

    def warn(text):
        if enabled:
            add('warn', text, None, None)
            warn_console(text)

    def note(text):
        add('note', text, None, None)

    def state(event_ids, new_state):
        if not enabled:
            return
        for event_id in event_ids:
            if prims.has_key(by_event, event_id):
                entry = by_event[event_id]
                if entry['state'] != new_state:
                    entry['state'] = new_state
                    show(entry)

    return {'line': line, 'warn': warn, 'note': note, 'state': state, 'enabled': enabled, 'lines': lines}
