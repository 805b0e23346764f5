"""The `#om_debug` overlay: a window in the page's upper right corner listing what the tag
registered. Browser edge, loaded only in debug mode.

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
"""

# __pragma__ ('skip')
window = None
# __pragma__ ('noskip')

from tracker import browser, prims

HOST_TAG = 'ometria-debug'
VIEW_KEY = 'ometria:overlay'
KIND_COLORS = {'info': '#e8eaed', 'event': '#8ab4f8', 'warn': '#fdd663', 'note': '#9aa0a6'}
STATE_LABELS = {'held': 'held until init', 'queued': 'queued', 'sending': 'sending', 'sent': 'sent',
                'retrying': 'retrying', 'beacon': 'sent by beacon', 'dropped': 'dropped'}
STATE_COLORS = {'sent': '#81c995', 'retrying': '#fdd663', 'dropped': '#f28b82', 'beacon': '#81c995'}


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
    except:  # noqa: E722 -- storage may be blocked: default view
        pass
    return view


def save_view(view):
    try:
        window.sessionStorage.setItem(VIEW_KEY, prims.to_json(view))
    except:  # noqa: E722
        pass


def make_overlay(account_id):
    """The overlay of this page; returns {'show'}: `show(entry)` draws or redraws a debug entry."""
    document = window.document
    parts = {'list': None, 'pending': [], 'waiting': False, 'count': 0}
    view = read_view()

    def mount():
        if parts['list'] != None:
            return True
        if not document.body:
            if not parts['waiting']:
                parts['waiting'] = True
                browser.listen(document, 'DOMContentLoaded', lambda event: flush_pending())
            return False
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

        def arrange():
            style(host, {'top': '8px' if view['dock'] == 'top' else 'auto',
                         'bottom': '8px' if view['dock'] == 'bottom' else 'auto'})
            style(panel, {'width': 'auto' if view['collapsed'] else '380px'})
            style(entries, {'display': 'none' if view['collapsed'] else 'block'})
            title.textContent = ('Ometria \u25b8 ' + prims.number_text(parts['count']) if view['collapsed']
                                 else 'Ometria debug \u00b7 ' + account_id + ' \u25be')

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
        parts['list'] = entries
        parts['arrange'] = arrange
        arrange()
        return True

    def draw(entry):
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
            parts['list'].appendChild(row)
            entry['row'] = row
            entry['badge'] = badge
            parts['count'] = parts['count'] + 1
            if view['collapsed']:
                parts['arrange']()
        if entry['state'] != None:
            entry['badge'].textContent = STATE_LABELS[entry['state']] if prims.has_key(STATE_LABELS, entry['state']) else entry['state']
            color = STATE_COLORS[entry['state']] if prims.has_key(STATE_COLORS, entry['state']) else '#9aa0a6'
            style(entry['badge'], {'color': color})
            row.setAttribute('data-state', entry['state'])

    def flush_pending():
        if not mount():
            return
        pending = parts['pending']
        parts['pending'] = []
        for entry in pending:
            draw(entry)

    def show(entry):
        try:
            if parts['list'] == None and not mount():
                if prims.find_item(parts['pending'], entry) < 0:
                    prims.append(parts['pending'], entry)
                return
            if len(parts['pending']) > 0:
                flush_pending()
            draw(entry)
        except:  # noqa: E722
            pass

    return {'show': show}
