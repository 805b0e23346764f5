"""The debug module's entry point (`ometria.debug.js`): the `#om_debug` overlay and the
integration doctor, fetched by the tag only when the debug switch is on (`main.py`).

It finds the running tag through the hidden property the tag sets on `window.ometria`, and
follows its journal from the first entry: the overlay shows the page's whole story, however late
this file arrives. Nothing escapes to the page.
"""

# __pragma__ ('skip')
window = None
# __pragma__ ('noskip')

from tracker import browser, debug_view, overlay, prims

MARKER = '__ometria_tag__'


def start():
    running = prims.read_key(browser.page_value(lambda: window.ometria), MARKER)
    if running == None or not prims.is_function(prims.read_key(running, 'follow')):
        return
    drawing = overlay.Overlay(running['account'])
    view = debug_view.DebugView(lambda row: drawing.show(row),
                                lambda text: browser.console_write('warn', text, None),
                                lambda count: drawing.seen(count))
    running['follow'](lambda entry: view.take(entry))


try:
    start()
except:  # the debug module must never break the page either
    pass
