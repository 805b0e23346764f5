"""The Shopify checkout pixel: the tag where Shopify runs no theme script (checkout, thank-you and
order status pages), fed by Shopify's customer events instead of a store's calls.

`Pixel(env, store, hooks, settings, shop_init, page_journal)`: `env` the tag's env over `store`, a
`sandbox.ShopifyStore` (the store's cookies and storage through the pixel API), `hooks` a
`PixelHooks`, `settings` the account's (as the tag's, `page.py`), `shop_init` Shopify's `init`
snapshot, `page_journal` None (the pixel is built without the journal: the sandbox shows no
overlay) or a journal under CPython. `receive(event)` takes each Shopify event
(`checkout.calls_for` says what it records); `consent_collected(event)` each
`visitorConsentCollected`; `left()`, `hidden()`, `shown()`, `online()` the frame's lifecycle.

- Nothing happens on storefront pages (the theme's tag is there): the first event that records
  something reads the store's state (`ShopifyStore.prime`), meanwhile the events wait, then the tag
  starts (`page.Page`, with no data layer, forms or page hooks) and records them in order.
- The same visitor as the storefront tag: the `ometria` cookie; a shopper without it (cleared,
  another domain) is the visitor the cart carries (`_ometria_cid`: Shopify's `init.data.cart`, else
  the checkout's attributes); else a new one. Sessions follow the cookie's 30-minute rule.
- Each Shopify event is taken once (Shopify may deliver one twice: its `id`); an order's
  transaction has the order's own event id (`checkout.order_event_id`), so the pixel and the order
  webhook store one transaction, however often either arrives. Delivery is the tag's (`delivery.py`).
- Consent: an account that requires it follows Shopify's customer privacy (a banner's answer
  reaches every pixel): `marketingAllowed` true grants; false, once the shopper answered
  (`visitorConsentCollected`), refuses; before that, as on the storefront (a remembered choice,
  else nothing written or sent). Without the requirement, Shopify's own pixel settings govern.

Pure: imports only pure modules.
"""

from tracker import checkout, consent, features, legacy, page, prims, session

# The customer privacy flag the pixel follows: Ometria sends marketing email.
CONSENT_FLAG = 'marketingAllowed'


class PixelHooks:
    """`hooks` in the sandbox: the page's own code is out of reach (no data layer, store
    functions, forms or address bar); what is left is what the frame itself knows (`automated`,
    `gpc`, read by the edge). Consent tools are out of reach too: Shopify's customer privacy stands
    in for every one (`Pixel`)."""

    def __init__(self, automated, gpc):
        self._automated = automated
        self._gpc = gpc

    def raw_data(self):
        return None

    def call_method(self, owner, callback):
        return None

    def global_function(self, name):
        return None

    def replace_url(self, url):
        pass

    def reload(self):
        pass

    def gpc(self):
        return self._gpc

    def set_cart_attribute(self, path, name, value):
        pass

    def automated(self):
        return self._automated

    def watch_input(self, on_input):
        pass

    def watch_consent(self, tool, category, decide):
        return True

    def watch_changes(self, selector, on_value):
        pass

    def watch_submits(self, on_value):
        pass

    def watch_form_submits(self, form_selector, field_selector, on_value):
        pass


def cookie_names():
    """The cookies the tag may read: the visitor's, the consent choice's, the older tags'."""
    names = [session.COOKIE_NAME, consent.COOKIE_NAME, consent.HOST_COOKIE_NAME]
    if features.LEGACY:
        for name in legacy.OLD_COOKIES:
            prims.append(names, name)
    return names


class Pixel:
    """The checkout pixel; see the module docstring."""

    def __init__(self, env, store, hooks, settings, shop_init, page_journal):
        self._env = env
        self._store = store
        self._journal = page_journal
        self._hooks = hooks
        self._settings = settings
        self._init = shop_init
        self._page = None
        self._waiting = None
        self._seen = {}
        self._privacy = prims.read_key(shop_init, 'customerPrivacy')
        self._consent_answered = False

    def receive(self, event):
        event_id = prims.read_key(event, 'id')
        if prims.is_string(event_id):
            if prims.has_key(self._seen, event_id):
                return
            self._seen[event_id] = True
        calls = checkout.calls_for(event)
        if len(calls) == 0:
            return
        if self._page != None:
            self._record(event, calls)
            return
        if self._waiting == None:
            self._waiting = []
            fallbacks = {}
            cid = checkout.visitor_of(prims.read_key(prims.read_key(prims.read_key(self._init, 'data'), 'cart'),
                                                     'attributes'))
            if cid == None:
                cid = checkout.visitor_of(prims.read_key(prims.read_key(prims.read_key(event, 'data'), 'checkout'),
                                                         'attributes'))
            if cid != None:
                fallbacks[session.COOKIE_NAME] = session.format_cookie_value({'cid': cid}, ['cid'])
            env = self._env
            self._store.prime(cookie_names(), fallbacks, lambda callback, ms: env.set_timer(callback, ms),
                              lambda complete: self._start())
        prims.append(self._waiting, [event, calls])

    def _locate(self, event):
        where = prims.read_key(prims.read_key(event, 'context'), 'document')
        referrer = prims.read_key(where, 'referrer')
        self._store.locate(checkout.href_of(event), referrer if prims.is_string(referrer) else '')

    def _start(self):
        self._locate(self._waiting[0][0])
        self._page = page.Page(self._env, self._hooks, {}, self._settings, self._journal)
        self._page.start()
        self._follow_consent()
        for waiting in self._waiting:
            self._record(waiting[0], waiting[1])
        self._waiting = []
        self._page.loaded()

    def _record(self, event, calls):
        self._locate(event)
        engine = self._page.engine
        for call in calls:
            try:
                kind = call[0]
                if kind == 'pageview':
                    engine.init(call[1], None, None)
                elif kind == 'basket':
                    engine.set_basket(call[1])
                elif kind == 'checkout':
                    engine.checkout(call[1], None)
                elif kind == 'identify':
                    engine.identify(call[1], None, 'pixel')
                else:
                    engine.transaction(call[1], call[2], checkout.order_event_id(self._settings['account_id'], call[1]))
            except:  # one event gone wrong is no reason to lose the next
                pass

    def consent_collected(self, event):
        """Shopify's `visitorConsentCollected` (`{customerPrivacy}`, or the flags themselves)."""
        privacy = prims.read_key(event, 'customerPrivacy')
        self._privacy = privacy if prims.is_plain_object(privacy) else event
        self._consent_answered = True
        if self._page != None:
            self._follow_consent()

    def _follow_consent(self):
        if not features.CONSENT or not consent.settings_from(self._settings['consent'])['required']:
            return
        allowed = prims.read_key(self._privacy, CONSENT_FLAG)
        if allowed == True:
            self._page.set_consent(True)
        elif allowed == False and self._consent_answered:
            self._page.set_consent(False)

    def left(self):
        if self._page != None:
            self._page.left()

    def hidden(self):
        if self._page != None:
            self._page.hidden()

    def shown(self):
        if self._page != None:
            self._page.shown()

    def online(self):
        if self._page != None:
            self._page.online()
