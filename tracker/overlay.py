"""The `#om_debug` overlay: a window in the page's upper right corner listing what the tag
registered. Browser edge of the debug module (`ometria.debug.js`), loaded only in debug mode.

- It lives in an open shadow root on its own element, `<ometria-debug>`, so the store's CSS cannot
  reach inside and its own styles cannot leak out. Styles are set through the CSSOM
  (`element.style`), which no Content-Security-Policy blocks.
- Every string from the page (ids, emails, page data) is written with `textContent`, never as
  HTML, so it shows as text and runs nothing; the overlay works under `script-src 'self'` and
  `require-trusted-types-for 'script'`.
- Entries arriving before `document.body` exists wait until it does.
- Clicking an entry prints its details with `console.log`; the title collapses the list to a
  small badge, the arrow moves the window between the upper and lower right corners (so that it
  never hides the store's own header for good); both are remembered for the tab.
- The host element's `data-seen` attribute counts the journal entries drawn so far.
"""

# __pragma__ ('skip')
window = None
# __pragma__ ('noskip')

from tracker import browser, journal, prims

HOST_TAG = 'ometria-debug'
VIEW_KEY = 'ometria:overlay'
KIND_COLORS = {'info': '#e8eaed', 'event': '#8ab4f8', 'warn': '#fdd663', 'note': '#9aa0a6'}
STATE_LABELS = {journal.HELD: 'held until init', journal.QUEUED: 'queued', journal.SENDING: 'sending',
                journal.SENT: 'sent', journal.RETRYING: 'retrying', journal.BEACON: 'sent by beacon',
                journal.DROPPED: 'dropped', journal.REFUSED: 'not sent: no consent'}
STATE_COLORS = {journal.SENT: '#81c995', journal.RETRYING: '#fdd663', journal.DROPPED: '#f28b82',
                journal.BEACON: '#81c995'}


def style(element, rules):
    """Set inline styles (a dict of CSS property -> value) as `!important` CSSOM declarations."""
    for name in prims.keys_of(rules):
        element.style.setProperty(name, rules[name], 'important')


def read_view():
    """The overlay's view ({'collapsed', 'dock'}) kept for the tab in sessionStorage."""
    view = {'collapsed': False, 'dock': 'top'}
    try:
        saved = prims.from_json(window.sessionStorage.getItem(VIEW_KEY))
        if prims.is_plain_object(saved):
            view['collapsed'] = prims.read_key(saved, 'collapsed') == True
            view['dock'] = 'bottom' if prims.read_key(saved, 'dock') == 'bottom' else 'top'
    except:  # storage may be blocked: default view
        pass
    return view


def save_view(view):
    try:
        window.sessionStorage.setItem(VIEW_KEY, prims.to_json(view))
    except:
        pass


class Overlay:
    """The overlay of this page: `show(row)` draws or redraws a row ({'text', 'kind', 'details',
    'state'}); `seen(count)` records how many journal entries are drawn."""

    def __init__(self, account_id):
        self._account = account_id
        self._list = None
        self._host = None
        self._pending = []
        self._waiting = False
        self._count = 0
        self._seen = 0
        self._view = read_view()

    def _mount(self):
        if self._list != None:
            return True
        document = window.document
        if not document.body:
            if not self._waiting:
                self._waiting = True
                browser.listen(document, 'DOMContentLoaded', lambda event: self._flush_pending())
            return False
        view = self._view
        host = document.createElement(HOST_TAG)
        style(host, {'all': 'initial', 'position': 'fixed', 'right': '8px', 'z-index': '2147483647', 'display': 'block'})
        root = host.attachShadow({'mode': 'open'})
        panel = document.createElement('div')
        style(panel, {'max-width': 'calc(100vw - 16px)', 'background': '#202124',
                      'color': '#e8eaed', 'font': '12px/1.4 ui-monospace, Menlo, Consolas, monospace',
                      'border-radius': '6px', 'box-shadow': '0 4px 16px rgba(0,0,0,.4)', 'overflow': 'hidden'})
        header = document.createElement('div')
        style(header, {'display': 'flex', 'align-items': 'center', 'background': '#3c4043', 'font-weight': 'bold',
                       'user-select': 'none'})
        title = document.createElement('span')
        title.setAttribute('role', 'button')
        title.setAttribute('title', 'Collapse or expand')
        style(title, {'flex': '1', 'padding': '6px 10px', 'cursor': 'pointer', 'white-space': 'nowrap'})
        dock = document.createElement('span')
        dock.setAttribute('role', 'button')
        dock.setAttribute('class', 'dock')
        dock.setAttribute('title', 'Move to the other corner')
        dock.textContent = '\u21c5'
        style(dock, {'padding': '6px 10px', 'cursor': 'pointer'})
        entries = document.createElement('div')
        entries.setAttribute('part', 'entries')
        style(entries, {'max-height': '60vh', 'overflow-y': 'auto', 'padding': '4px 0'})
        overlay = self

        def arrange():
            style(host, {'top': '8px' if view['dock'] == 'top' else 'auto',
                         'bottom': '8px' if view['dock'] == 'bottom' else 'auto'})
            style(panel, {'width': 'auto' if view['collapsed'] else '380px'})
            style(entries, {'display': 'none' if view['collapsed'] else 'block'})
            title.textContent = ('Ometria \u25b8 ' + prims.number_text(overlay._count) if view['collapsed']
                                 else 'Ometria debug \u00b7 ' + overlay._account + ' \u25be')

        def toggle(event):
            view['collapsed'] = not view['collapsed']
            save_view(view)
            arrange()

        def move(event):
            view['dock'] = 'bottom' if view['dock'] == 'top' else 'top'
            save_view(view)
            arrange()

        browser.listen(title, 'click', toggle)
        browser.listen(dock, 'click', move)
        header.appendChild(title)
        header.appendChild(dock)
        panel.appendChild(header)
        panel.appendChild(entries)
        root.appendChild(panel)
        document.body.appendChild(host)
        self._host = host
        self._list = entries
        self._arrange = arrange
        arrange()
        return True

    def _draw(self, entry):
        document = window.document
        row = entry['row'] if prims.has_key(entry, 'row') else None
        if row == None:
            row = document.createElement('div')
            row.setAttribute('class', 'entry ' + entry['kind'])
            style(row, {'padding': '3px 10px', 'cursor': 'pointer', 'white-space': 'pre-wrap',
                        'word-break': 'break-word', 'color': KIND_COLORS[entry['kind']],
                        'border-bottom': '1px solid #303134'})
            text = document.createElement('span')
            text.setAttribute('class', 'text')
            text.textContent = ('\u26a0 ' if entry['kind'] == 'warn' else '') + entry['text']
            row.appendChild(text)
            badge = document.createElement('span')
            badge.setAttribute('class', 'state')
            style(badge, {'float': 'right', 'margin-left': '8px', 'color': '#9aa0a6'})
            row.insertBefore(badge, text)
            browser.listen(row, 'click', lambda event: browser.console_write('log', entry['text'], entry['details']))
            self._list.appendChild(row)
            entry['row'] = row
            entry['badge'] = badge
            self._count = self._count + 1
            if self._view['collapsed']:
                self._arrange()
        if entry['state'] != None:
            state = entry['state']
            entry['badge'].textContent = STATE_LABELS[state] if prims.has_key(STATE_LABELS, state) else state
            color = STATE_COLORS[entry['state']] if prims.has_key(STATE_COLORS, entry['state']) else '#9aa0a6'
            style(entry['badge'], {'color': color})
            row.setAttribute('data-state', entry['state'])

    def _flush_pending(self):
        if not self._mount():
            return
        pending = self._pending
        self._pending = []
        for entry in pending:
            self._draw(entry)
        self._mark_seen()

    def _mark_seen(self):
        if self._host != None:
            self._host.setAttribute('data-seen', prims.number_text(self._seen))

    def show(self, entry):
        try:
            if self._list == None and not self._mount():
                if prims.find_item(self._pending, entry) < 0:
                    prims.append(self._pending, entry)
                return
            if len(self._pending) > 0:
                self._flush_pending()
            self._draw(entry)
        except:
            pass

    def seen(self, count):
        self._seen = count
        try:
            if len(self._pending) == 0:
                self._mark_seen()
        except:
            pass
