"""The tag's entry point: the browser edge work on this page, and nothing else.

What happens when the tag file runs:
1. A tag already running on the page (a second include) is told so and nothing else happens:
   one tag, one pageview, whatever the number of script tags.
2. An existing `window.ometria` (a data layer with `raw_data`, an `onLoad` function, a
   third-party stub) is kept and the API methods are merged into it; a stub's methods are
   replaced. A value that cannot take them (a frozen object, a DOM element named "ometria") is
   replaced by a new object holding its own properties.
3. A page no one sees yet waits: Safari's previews (`navigator.loadPurpose` "preview") are never
   shown, and a page prerendered by a speculation rule (`document.prerendering`) may never be.
   The tag builds its page (which reads and writes nothing yet), publishes functions that queue
   the page's calls and, once a prerendered page is shown (`prerenderingchange`), starts as in 4
   and replays them: nothing is read, written or sent before, and the events carry the time the
   page was shown. A preview gets no more than the queueing functions.
4. `page.Page` starts the tag (API, session, data layer, hooks); this module binds the page's
   lifecycle events to its handlers.

Debug mode: `#om_debug` (or its cookie) turns the debug switch on. The tag shoppers download holds
no journal (`features.JOURNAL` off: none of the debug-only work costs them a byte), so with the
switch on it hands over to its journaled twin, the same feature set built with the journal
(`config.JOURNAL_FILE`, beside the tag file, its integrity checked): it publishes the API as
functions that queue the page's calls (and the real `Basket`), leaves the settings and the queue
in a hidden property (BOOT), and loads the twin, which starts the tag, replays the queued calls in
order and loads the debug module (`ometria.debug.js`: the overlay and the doctor); a queueing
function a store kept calls the running tag from then on. Should the twin fail to load (or load
and not take over), the tag starts itself and replays the calls: nothing is lost, only the
overlay.

Nothing escapes to the page: the whole start is guarded.
"""

# __pragma__ ('skip')
window = Object = None


def __pragma__(*args):
    return None
# __pragma__ ('noskip')

from tracker import browser, browser_hooks, config, features, journal, page, prims

DEBUG_FILE = 'ometria.debug.js'
MARKER = '__ometria_tag__'
# Left by a tag that waits (for its journaled twin, or for a prerendered page to be shown) while it
# queues the page's calls: {'settings', 'calls', 'src', 'api'} ('api': the running tag's
# functions, once one has taken over).
BOOT = '__ometria_boot__'


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


def file_beside(tag_src, collector_url, name):
    """The URL of the file `name` beside the tag file (same origin and folder, so a store that
    self-hosts the tag under `script-src 'self'` can load it), else beside the collector."""
    base = tag_src if prims.is_string(tag_src) and len(tag_src) > 0 else collector_url
    cut = prims.find(base, '?')
    if cut >= 0:
        base = prims.substring(base, 0, cut)
    return prims.substring(base, 0, prims.last_find(base, '/') + 1) + name


def load_file(url, integrity, failed, ran):
    """Fetch and run the script at `url`, its integrity checked (SRI); `ran()` once it has run,
    `failed()` when it cannot be had. Where `modulepreload` exists it is preloaded with `integrity` and then imported:
    neither step is a Trusted Types sink, so this works on pages that allow no policy at all.
    Elsewhere (older engines, which have no Trusted Types either) a classic script element
    carries `integrity`."""
    document = window.document
    try:
        link = document.createElement('link')
        if link.relList and link.relList.supports and link.relList.supports('modulepreload'):
            link.rel = 'modulepreload'
            link.crossOrigin = 'anonymous'
            link.integrity = integrity
            link.href = url
            browser.listen(link, 'load', lambda event: __pragma__('js', '{}', 'import (url).then (ran, failed)'))
            browser.listen(link, 'error', lambda event: failed())
            document.head.appendChild(link)
            return
        script = document.createElement('script')
        script.crossOrigin = 'anonymous'
        script.integrity = integrity
        script.src = url
        browser.listen(script, 'load', lambda event: ran())
        browser.listen(script, 'error', lambda event: failed())
        document.head.appendChild(script)
    except:  # nothing loaded: the page goes on
        failed()


def run(target, this_page, page_journal, boot):
    """Publish and start `this_page` on `target`; replay the calls queued in `boot` (while the
    page was prerendered, or the journaled twin loaded) and point the queueing functions at the
    API (a store may have kept one); bind the page's lifecycle events."""
    prims.delete_key(target, BOOT)
    # What the debug module (a separate file) and support engineers reach: quoted names only.
    marker = {
        'loaded_again': lambda: journal.warn(page_journal, ['loaded_twice']),
        'account': this_page.account,
        'delivery': this_page.delivery.stats,
    }
    if features.JOURNAL:
        marker['follow'] = lambda listener: page_journal.follow(listener)
        marker['size'] = lambda: len(page_journal.entries())
    Object.defineProperty(target, MARKER, {'value': marker, 'enumerable': False, 'configurable': False})
    window.ometria = target
    this_page.start()
    if features.JOURNAL and browser.page_value(
            lambda: window.performance.getEntriesByType('navigation')[0].activationStart) > 0:
        journal.line(page_journal, 'prerendered', [], None)
    for call in boot['calls']:
        this_page.replay(call)
    boot['api'] = this_page.published()

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


def queue_calls(target, this_page, boot):
    """Publish functions that queue the page's calls in `boot` (`page.Page.queueing`), and
    `boot` itself as a hidden property: a second include of the tag meanwhile is queued there."""
    Object.defineProperty(target, BOOT, {'value': boot, 'enumerable': False, 'configurable': True})
    for name in this_page.public_names():
        target[name] = this_page.queueing(name, boot)
    window.ometria = target


def hand_over(target, this_page, page_journal, boot):
    """Debug mode in the tag without the journal: queue the page's calls and load the journaled
    twin (see the module docstring). Should it not load, or load and not take over, start here."""
    queue_calls(target, this_page, boot)

    def start_here():
        if boot['api'] == None:
            try:
                run(target, this_page, page_journal, boot)
            except:  # the tag must never break the page it runs on
                pass

    load_file(file_beside(boot['src'], boot['settings']['collector_url'], config.JOURNAL_FILE),
              config.JOURNAL_INTEGRITY, start_here, start_here)


def begin(target, this_page, page_journal, boot, debug_on):
    """Start the tag with the calls queued in `boot`: here, or, in debug mode, in the twin."""
    if debug_on and not features.JOURNAL:
        hand_over(target, this_page, page_journal, boot)
        return
    run(target, this_page, page_journal, boot)
    if features.JOURNAL:
        load_file(file_beside(boot['src'], boot['settings']['collector_url'], DEBUG_FILE), config.DEBUG_INTEGRITY,
                  lambda: None, lambda: None)


def start():
    existing = browser.page_value(lambda: window.ometria)
    boot = None
    if prims.is_plain_object(existing):
        running = prims.read_key(existing, MARKER)
        if running != None and prims.is_function(prims.read_key(running, 'loaded_again')):
            running['loaded_again']()
            return
        boot = prims.read_key(existing, BOOT)
    if boot != None and not features.JOURNAL:
        # A second include while the first waits (to be shown, or for its twin): it will say so.
        prims.append(boot['calls'], ['loaded_twice'])
        return
    if features.JOURNAL and boot == None:
        # A twin runs only where a tag handed over to it.
        return
    target = public_object(existing)
    env = browser.BrowserEnv(browser.DocumentStore())
    # The twin runs on a page already shown (its tag waited).
    preview = not features.JOURNAL and browser.page_value(lambda: window.navigator.loadPurpose) == 'preview'
    unseen = preview or not features.JOURNAL and browser.page_value(lambda: window.document.prerendering) == True
    debug_on = not unseen and debug_switch(env)
    if not features.JOURNAL:
        # `currentScript` is set only while this file runs: read now or never, and only when it
        # may be needed (it is not free).
        tag_src = browser.page_value(lambda: window.document.currentScript.src) if debug_on or unseen else None
        boot = {'settings': config.account_settings(), 'calls': [], 'src': tag_src, 'api': None}
    # (The twin's boot: what the tag that handed over left: its stamped settings, the page's calls.)
    # The tag shoppers download keeps no journal at all (its debug mode runs the twin).
    page_journal = journal.Journal(True) if features.JOURNAL else None
    this_page = page.Page(env, browser_hooks.BrowserHooks(target), target, boot['settings'], page_journal)
    if unseen:
        queue_calls(target, this_page, boot)
        if not preview:
            browser.listen(window.document, 'prerenderingchange',
                           lambda event: begin(target, this_page, page_journal, boot, debug_switch(env)))
        return
    begin(target, this_page, page_journal, boot, debug_on)


try:
    start()
except:  # the tag must never break the page it runs on
    pass
