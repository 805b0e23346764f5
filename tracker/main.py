"""The tag's entry point: the browser edge work on this page, and nothing else.

What happens when the tag file runs:
1. A tag already running on the page (a second include) is told so and nothing else happens:
   one tag, one pageview, whatever the number of script tags.
2. An existing `window.ometria` (a data layer with `raw_data`, an `onLoad` function, a
   third-party stub) is kept and the API methods are merged into it; a stub's methods are
   replaced. A value that cannot take them (a frozen object, a DOM element named "ometria") is
   replaced by a new object holding its own properties.
3. `#om_debug` (or its cookie) turns the debug switch on: the journal records, and the debug
   module (`ometria.debug.js`, beside the tag file) is fetched with its integrity checked.
   Without the switch nothing is fetched and nothing is drawn.
4. `page.Page` starts the tag (API, session, data layer, hooks); this module binds the page's
   lifecycle events to its handlers.

Nothing escapes to the page: the whole start is guarded.
"""

# __pragma__ ('skip')
window = Object = None


def __pragma__(*args):
    return None
# __pragma__ ('noskip')

from tracker import browser, browser_hooks, config, journal, page, prims

DEBUG_FILE = 'ometria.debug.js'
MARKER = '__ometria_tag__'


def debug_switch(env):
    """True when the overlay is on: `#om_debug` in the URL (remembered for a day in a cookie),
    or that cookie; `#om_debug=off` turns it off and clears the cookie."""
    fragment = browser.page_value(lambda: window.location.hash)
    if prims.is_string(fragment):
        cut = prims.find(fragment, 'om_debug')
        if cut >= 0:
            if prims.starts_with(prims.substring(fragment, cut + 8, None), '=off'):
                env.write_necessary_cookie(page.DEBUG_COOKIE, '', 0, None)
                return False
            env.write_necessary_cookie(page.DEBUG_COOKIE, '1', page.DEBUG_COOKIE_MAX_AGE_S, None)
            return True
    return env.read_cookie(page.DEBUG_COOKIE) == '1'


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


def debug_file_url(tag_src):
    """The debug module's URL: beside the tag file (same origin and folder, so a store that
    self-hosts the tag under `script-src 'self'` can load it), else beside the collector."""
    base = tag_src if prims.is_string(tag_src) and len(tag_src) > 0 else config.COLLECTOR_URL
    cut = prims.find(base, '?')
    if cut >= 0:
        base = prims.substring(base, 0, cut)
    return prims.substring(base, 0, prims.last_find(base, '/') + 1) + DEBUG_FILE


def load_debug_module(url):
    """Fetch and run the debug module, its integrity checked (SRI). Where `modulepreload` exists
    it is preloaded with `integrity` and then imported: neither step is a Trusted Types sink, so
    this works on pages that allow no policy at all. Elsewhere (older engines, which have no
    Trusted Types either) a classic script element carries `integrity`."""
    document = window.document
    try:
        link = document.createElement('link')
        if link.relList and link.relList.supports and link.relList.supports('modulepreload'):
            link.rel = 'modulepreload'
            link.crossOrigin = 'anonymous'
            link.integrity = config.DEBUG_INTEGRITY
            link.href = url
            browser.listen(link, 'load', lambda event: __pragma__('js', '{}', 'import (url)'))
            document.head.appendChild(link)
            return
        script = document.createElement('script')
        script.crossOrigin = 'anonymous'
        script.integrity = config.DEBUG_INTEGRITY
        script.src = url
        document.head.appendChild(script)
    except:  # no debug module: the page goes on
        pass


def start():
    existing = browser.page_value(lambda: window.ometria)
    if prims.is_plain_object(existing):
        running = prims.read_key(existing, MARKER)
        if running != None and prims.is_function(prims.read_key(running, 'loaded_again')):
            running['loaded_again']()
            return
    target = public_object(existing)
    env = browser.BrowserEnv()
    debug_on = debug_switch(env)
    # Read now or never (`currentScript` is set only while this file runs), and only when needed:
    # it is not free.
    tag_src = browser.page_value(lambda: window.document.currentScript.src) if debug_on else None
    page_journal = journal.Journal(debug_on)
    settings = {'account_id': config.ACCOUNT_ID, 'collector_url': config.COLLECTOR_URL,
                'cookie_domain': config.COOKIE_DOMAIN, 'identify_forms': config.IDENTIFY_FORMS,
                'consent': config.CONSENT}
    this_page = page.Page(env, browser_hooks.BrowserHooks(target), target, settings, page_journal)
    # What the debug module (a separate file) and support engineers reach: quoted names only.
    Object.defineProperty(target, MARKER, {
        'value': {
            'loaded_again': lambda: page_journal.warn(['loaded_twice']),
            'follow': lambda listener: page_journal.follow(listener),
            'size': lambda: len(page_journal.entries()),
            'account': config.ACCOUNT_ID,
            'delivery': this_page.delivery.stats,
        },
        'enumerable': False,
        'configurable': False,
    })
    window.ometria = target
    this_page.start()

    def on_visibility(event):
        if window.document.visibilityState == 'hidden':
            this_page.hidden()
        else:
            this_page.shown()

    def on_pageshow(event):
        if event.persisted:
            this_page.restored()

    browser.listen(window, 'pagehide', lambda event: this_page.left())
    browser.listen(window.document, 'visibilitychange', on_visibility)
    browser.listen(window, 'pageshow', on_pageshow)
    browser.listen(window, 'online', lambda event: this_page.online())
    if window.document.readyState == 'complete':
        this_page.loaded()
    else:
        browser.listen(window, 'load', lambda event: this_page.loaded())
    if debug_on:
        load_debug_module(debug_file_url(tag_src))


try:
    start()
except:  # the tag must never break the page it runs on
    pass
