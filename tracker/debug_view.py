"""The debug module's view of the journal: each journal entry (`journal.py`) becomes zero or more
overlay rows, in the journal's order, and each change of an event's delivery state redraws its
row. Part of the debug module.

`DebugView(show, warn_console, seen)`: `take(entry)` is given to the journal's `follow`.
`show(row)` draws or redraws a row {'text', 'kind', 'details', 'state'} (the overlay provides it);
`warn_console(text)` writes a warning to the console; `seen(count)` is told how many journal
entries have been taken (the tests wait for the overlay to catch up with the journal).

`lines(entries)` gives the rows' texts in order: what the overlay shows, without a browser.

Pure: imports only `prims` and `doctor`.
"""

from tracker import doctor, prims


class DebugView:
    """See the module docstring."""

    def __init__(self, show, warn_console, seen):
        self._show = show
        self._warn_console = warn_console
        self._seen = seen
        self._rows = {}
        self._count = 0

    def _row(self, kind, code, args, details, state):
        row = {'text': doctor.line_text(kind, code, args), 'kind': kind, 'details': details, 'state': state}
        self._show(row)
        if kind == 'warn':
            self._warn_console(row['text'])
        return row

    def take(self, entry):
        number = entry['n']
        if prims.has_key(self._rows, number):
            row = self._rows[number]
            if row != None and row['state'] != entry['s']:
                row['state'] = entry['s']
                self._show(row)
            return
        kind = entry['k']
        row = None
        if kind == 'check':
            for finding in doctor.check_warnings(entry['c'], entry['d']):
                self._row('warn', finding[0], prims.slice_list(finding, 1, None), None, None)
        else:
            row = self._row(kind, entry['c'], entry['a'], entry['d'], entry['s'])
        self._rows[number] = row
        self._count = self._count + 1
        self._seen(self._count)


def lines(entries):
    """The texts of the rows the overlay shows for `entries`, in order."""
    texts = []
    view = DebugView(lambda row: prims.append(texts, row['text']), lambda text: None, lambda count: None)
    for entry in entries:
        view.take(entry)
    return texts
