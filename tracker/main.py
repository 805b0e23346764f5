"""The tag's entry point: wire the modules together on this page and publish `window.ometria`.

What happens when the tag file runs:
1. A tag already running on the page (a second include) is told so and nothing else happens:
   one tag, one pageview, whatever the number of script tags.
2. An existing `window.ometria` (a data layer with `raw_data`, an `onLoad` function, a
   third-party stub) is kept and the API methods are merged into it; a stub's methods are
   replaced. A value that cannot take them (a frozen object, a DOM element named "ometria") is
   replaced by a new object holding its own properties.
3. The visitor cookie and session are touched; `#om_debug` (or its cookie) turns the overlay on.
4. `page.start_page` publishes the API, initialises the page from a `raw_data` data layer, then
   runs `ometria.onLoad()` once and `window.onOmetriaLoaded()`.
5. Page lifecycle: hidden or left pages send what is pending by beacon; `online` resumes an
   interrupted delivery; two seconds after `load` the page is checked (no `init`...).

Nothing escapes to the page: the whole start is guarded.
"""

# __pragma__ ('skip')
window = Object = None
# __pragma__ ('noskip')

from tracker import browser, config, debug, doctor, overlay, page, prims

DEBUG_COOKIE = 'om_debug'
DEBUG_COOKIE_MAX_AGE_S = 24 * 3600
SETTLE_DELAY_MS = 2000
MARKER = '__ometria_tag__'


def debug_switch():
    """True when the overlay is on: `#om_debug` in the URL (remembered for a day in a cookie),
    or that cookie; `#om_debug=off` turns it off and clears the cookie."""
    fragment = browser.page_value(lambda: window.location.hash)
    if prims.is_string(fragment):
        cut = prims.find(fragment, 'om_debug')
        if cut >= 0:
            if prims.starts_with(prims.substring(fragment, cut + 8, None), '=off'):
                browser.write_cookie(DEBUG_COOKIE, '', 0, None)
                return False
            browser.write_cookie(DEBUG_COOKIE, '1', DEBUG_COOKIE_MAX_AGE_S, None)
            return True
    return browser.read_cookie(DEBUG_COOKIE) == '1'


def public_object(existing):
    """The object to publish the API on: the existing `window.ometria` when it can take new
    properties, else a new object holding the existing one's own properties (a frozen or sealed
    object, a DOM element named "ometria")."""
    if prims.is_plain_object(existing) and Object.isExtensible(existing):
        return existing
    fresh = {}
    if prims.is_plain_object(existing):
        for key in prims.keys_of(existing):
            fresh[key] = prims.read_key(existing, key)
    return fresh


def start():
    existing = browser.page_value(lambda: window.ometria)
    if prims.is_plain_object(existing):
        running = prims.read_key(existing, MARKER)
        if running != None and prims.is_function(prims.read_key(running, 'loaded_again')):
            running['loaded_again']()
            return
    target = public_object(existing)
    debug_on = debug_switch()
    show = overlay.make_overlay(config.ACCOUNT_ID)['show'] if debug_on else None
    log = debug.make_debug(debug_on, show, lambda text: browser.console_write('warn', text, None))
    env = browser.make_env(target)
    Object.defineProperty(target, MARKER, {
        'value': {'loaded_again': lambda: log['warn'](doctor.loaded_twice())},
        'enumerable': False,
        'configurable': False,
    })
    window.ometria = target
    settings = {'account_id': config.ACCOUNT_ID, 'collector_url': config.COLLECTOR_URL,
                'cookie_domain': config.COOKIE_DOMAIN}
    parts = page.start_page(env, target, settings, log)
    target[MARKER]['delivery'] = parts['delivery']['stats']
    sender = parts['delivery']
    core = parts['engine']

    def on_pagehide(event):
        core['settle']()
        sender['unload'](True)

    def on_visibility(event):
        if window.document.visibilityState == 'hidden':
            sender['unload'](False)
        else:
            sender['resume']()

    def on_pageshow(event):
        if event.persisted:
            sender['resume']()

    browser.listen(window, 'pagehide', on_pagehide)
    browser.listen(window.document, 'visibilitychange', on_visibility)
    browser.listen(window, 'pageshow', on_pageshow)
    browser.listen(window, 'online', lambda event: sender['online']())
    settle = lambda: browser.set_timer(core['settle'], SETTLE_DELAY_MS)
    if window.document.readyState == 'complete':
        settle()
    else:
        browser.listen(window, 'load', lambda event: settle())


try:
    start()
except:  # noqa: E722 -- the tag must never break the page it runs on
    pass
