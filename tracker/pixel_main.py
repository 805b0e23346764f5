"""The Shopify checkout pixel's entry point: the browser edge in Shopify's pixel sandbox.

A merchant pastes the account's pixel file (`dist/tags/<account>.shopify-pixel.js`) into Shopify's
*Settings → Customer events → Add custom pixel*. Shopify runs it in a sandboxed iframe beside the
store's pages, with its pixel API in scope: `analytics` (the customer events), `browser` (the top
page's cookies and storage, asynchronous), `init` (a snapshot: the customer, the cart, the
customer privacy flags) and `customerPrivacy` (consent changes). Outside a pixel sandbox (no
`analytics`) the file does nothing.

This module reads that API (as free names: Shopify passes them in scope, not on `window`), makes
the pixel's env (the tag's `browser.BrowserEnv` over a `sandbox.ShopifyStore`: Shopify's storage
API in place of the frame's own cookies and storage) and hands every standard event to `pixel.Pixel`; the frame's
own lifecycle events (it lives as long as the page) to its handlers. Nothing escapes to the page.
"""

# __pragma__ ('skip')
window = None


def __pragma__(*args):
    return None
# __pragma__ ('noskip')

from tracker import browser as web
from tracker import browser_hooks, config, pixel, sandbox

# Every standard customer event: the checkout's steps and the pages seen (`checkout.calls_for`).
EVENTS = 'all_standard_events'
CONSENT_EVENT = 'visitorConsentCollected'


def shopify_api():
    """Shopify's pixel API, {'analytics', 'browser', 'init', 'customerPrivacy'}, or None outside
    a pixel sandbox."""
    return __pragma__('js', '{}', '''(function () {
        try {
            if (typeof analytics === 'undefined' || typeof browser === 'undefined') { return null; }
            return {analytics: analytics, browser: browser, init: typeof init === 'undefined' ? null : init,
                    customerPrivacy: typeof customerPrivacy === 'undefined' ? null : customerPrivacy};
        } catch (e) { return null; }
    }) ()''')


def shop_storage(shop):
    """Shopify's `browser` as `sandbox.ShopifyStore` takes it: five functions (promises in, promises
    out; `get` is written in JavaScript, a name Transcrypt would rename)."""
    return {
        'cookie': lambda cookie: __pragma__('js', '{}', 'shop.cookie.get (cookie)'),
        'set_cookie': lambda text: shop.cookie.set(text),
        'item': lambda key: shop.localStorage.getItem(key),
        'set_item': lambda key, text: shop.localStorage.setItem(key, text),
        'remove_item': lambda key: shop.localStorage.removeItem(key),
    }


def start():
    api = shopify_api()
    if api == None:
        return
    store = sandbox.ShopifyStore(shop_storage(api['browser']), config.ACCOUNT_ID)
    hooks = pixel.PixelHooks(browser_hooks.automated_browser(), browser_hooks.gpc_on())
    checkout_pixel = pixel.Pixel(web.BrowserEnv(store), store, hooks, config.account_settings(), api['init'], None)
    api['analytics'].subscribe(EVENTS, web.quiet_listener(lambda event: checkout_pixel.receive(event)))
    privacy = api['customerPrivacy']
    if privacy != None:
        privacy.subscribe(CONSENT_EVENT, web.quiet_listener(lambda event: checkout_pixel.consent_collected(event)))

    def on_visibility(event):
        if window.document.visibilityState == 'hidden':
            checkout_pixel.hidden()
        else:
            checkout_pixel.shown()

    web.listen(window, 'pagehide', lambda event: checkout_pixel.left())
    web.listen(window.document, 'visibilitychange', on_visibility)
    web.listen(window, 'online', lambda event: checkout_pixel.online())


try:
    start()
except:  # the pixel must never break the checkout it runs beside
    pass
