"""The debug module's entry point (`ometria.debug.js`): the `#om_debug` overlay and the
integration doctor, fetched by the tag only when the debug switch is on (`main.py`).

It finds the running tag through the hidden property the tag sets on `window.ometria`, and
follows its journal from the first entry: the overlay shows the page's whole story, however late
this file arrives. It also checks the page's forms: a form holding an email address that is
submitted with no identify following it within doctor.FORM_CHECK_DELAY_MS gets a warning (the
store's sign-up hook is broken). Nothing escapes to the page.
"""

# __pragma__ ('skip')
window = None
# __pragma__ ('noskip')

from tracker import browser, debug_view, doctor, identity, overlay, prims

MARKER = '__ometria_tag__'


def start():
    running = prims.read_key(browser.page_value(lambda: window.ometria), MARKER)
    if running == None or not prims.is_function(prims.read_key(running, 'follow')):
        return
    drawing = overlay.Overlay(running['account'])
    view = debug_view.DebugView(lambda row: drawing.show(row),
                                lambda text: browser.console_write('warn', text, None),
                                lambda count: drawing.seen(count))
    entries = []

    def take(entry):
        if entry['n'] >= len(entries):
            prims.append(entries, entry)
        view.take(entry)

    running['follow'](take)
    watch_forms(view, entries)


def watch_forms(view, entries):
    """The doctor's form check (see the module docstring)."""
    def check(value, mark):
        if not doctor.identified_since(entries, mark, value):
            view.take({'n': 'form-' + prims.number_text(mark), 'k': 'warn', 'c': 'form_without_identify',
                       'a': [value], 'd': None, 's': None})

    def submitted(event):
        value = browser.submitted_email(event.target)
        if value != None and identity.valid_identity(value, []) != None:
            mark = len(entries)
            window.setTimeout(lambda: check(value, mark), doctor.FORM_CHECK_DELAY_MS)

    browser.listen(window.document, 'submit', submitted)


try:
    start()
except:  # the debug module must never break the page either
    pass
