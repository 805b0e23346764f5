"""The tag's verbs: what each API call records, as the spec, the deployed tag and real stores need.

`Engine(env, hooks, settings, delivery, page_journal, publish)` has the calls behind the public API and
the page's `start` and `settle`. It holds no browser object: time, cookies, storage, URLs and ids
come from `env`, the data layer, the address bar and the store's callbacks from `hooks`; events
go to `delivery.enqueue`; what happened to the journal; `publish(name,
value)` sets a property of the public `ometria` object (`basket`).

Who owns what:
- `visitor.Visitor`: the visitor cookie, the 30-minute session and its source, touched by each call;
- `gate.Gate`: the calls held until the page's pageview;
- `memory`: what is remembered across pages (identity, last basket, orders), as pure functions;
- this module: the verbs, and the page's own facts (store id, referrer, confirmation page, the
  page type and data set ahead of `init`, the session link).

Rules:
- `identify` records an event only when the identity changes; the identity is remembered across
  sessions and travels as `uid` on every later event. Shoppers are also identified by the landing
  URL (`channels.py`), by Magento's `ommage` cookie (`ommage.py`), and by the site's forms
  (`identify_from_form`: `observeEmailInputs`, the account's opt-in, or a known signup form:
  `signup`).
- Every event of a session begun from an Ometria email carries its campaign (`ecamp`:
  `visitor.py`); a page reached from an onsite recommendation sends `rec:click` after its
  pageview (`attribution.recommendation_click`).
- `setBasket` records an event only when the basket differs from the last one recorded in this
  session, across page loads; so does a basket from `ommage`.
- `trackTransaction` records an order id once: a reloaded confirmation page sends nothing more.
- Every call's arguments are coerced (`coerce.py`); what cannot be sent is refused, with a
  warning in the journal.

Pure: imports the pure modules only.
"""

from tracker import (
    attribution,
    basket,
    channels,
    coerce,
    datalayer,
    events,
    features,
    gate,
    identity,
    journal,
    keys,
    limits,
    memory,
    ommage,
    prims,
    shopify,
    urls,
    visitor,
)

MAX_PAGE_DATA_BYTES = 8 * 1024
# The custom event of a page reached from one of Ometria's onsite recommendations (the deployed
# tag's name: `attribution.recommendation_click`).
REC_CLICK = 'rec:click'
MAX_PROFILE_BYTES = 2 * 1024
TRACK_CALLBACK_DELAY_MS = 250


class Engine:
    """The verbs of one page; see the module docstring. `settings` holds 'account_id' and
    'cookie_domain'."""

    def __init__(self, env, hooks, settings, delivery, page_journal, publish):
        self._env = env
        self._hooks = hooks
        self._account = settings['account_id']
        self._journal = page_journal
        self._publish = publish
        self._visitor = visitor.Visitor(env, settings['account_id'], settings['cookie_domain'], page_journal)
        self._gate = gate.Gate(lambda batch: delivery.enqueue(batch), page_journal)
        self._uid = None
        self._store_id = None
        self._last_url = None
        self._referrer = None
        self._basket = None
        self._confirmation = False
        self._transaction = False
        self._next_type = None
        self._next_data = None
        self._linked = False
        self._human = False
        self._automated = False
        basket.Basket.journal = page_journal

    def _read(self, name):
        return self._env.store_get(keys.storage_key(self._account, name))

    def _write(self, name, text):
        self._env.store_set(keys.storage_key(self._account, name), text)

    def _record(self, event_type, fields, label, details):
        """Make an event now and pass it through the gate; its journal entry comes first, so that
        the delivery states that follow show on it."""
        return self._record_as(self._env.new_uuid(), event_type, fields, label, details)

    def _record_as(self, event_id, event_type, fields, label, details):
        """`_record`, the event's id given."""
        state = self._visitor.touch()
        context = {'ts': prims.floor(self._env.now_ms()), 'cid': state['cid'], 'sid': state['sid'],
                   'uid': self._uid, 'url': events.page_url(self._env.href()), 'store_id': self._store_id}
        event = events.make_event(event_id, event_type, context, fields)
        if self._linked:
            event['linked'] = True
        if self._visitor.ecamp != None:
            event['ecamp'] = self._visitor.ecamp
        if self._automated:
            event['automated'] = True
        journal.event(self._journal, event_type, label, details, [event['id']])
        self._gate.admit(event)
        return event

    def _extra(self, value, notes):
        return coerce.coerce_object(value, 'extra', MAX_PAGE_DATA_BYTES, notes)

    # --- the page's start ------------------------------------------------------------------------

    def start(self):
        """At tag start: the session and its source, the remembered identity, then what the
        landing URL and Magento's cookie say (held until the page's pageview, like any call)."""
        env = self._env
        href = env.href()
        self._uid = memory.identity_in(self._read('uid'))
        self._visitor.start(attribution.landing_source(href, env.referrer(), env.host(), env.now_ms()))
        if self._hooks.automated():
            self._automated = True
            journal.line(self._journal, 'automated', [], None)
        if self._uid != None:
            journal.line(self._journal, 'identified', [self._uid], {'identity': self._uid})
        else:
            journal.line(self._journal, 'not_identified', [], None)
        found = channels.identity_from_url(href)
        if found != None:
            self._hooks.replace_url(found['clean_url'])
            if found['identity'] == None:
                journal.refuse(self._journal, found['notes'])
            else:
                journal.line(self._journal, 'identified_by', [found['channel']], {'identity': found['identity']})
                self.identify(found['identity'], None, 'url')
        self._read_ommage()

    def _read_ommage(self):
        """Magento's `ommage` cookie (`ommage.py`): its commands recorded as calls, then cleared."""
        if not features.MAGENTO:
            return
        env = self._env
        value = env.read_cookie(ommage.COOKIE_NAME)
        if value == None or len(value) == 0:
            return
        env.write_cookie(ommage.COOKIE_NAME, '', 0, None)
        notes = []
        for command in ommage.commands(value, urls.origin_of(env.href()), notes):
            journal.line(self._journal, 'ommage', [command['kind']], command)
            if command['kind'] == 'basket':
                self._send_basket(command['basket'])
            elif command['kind'] == 'identify':
                self.identify(command['email'], None, 'ommage')
            else:
                self.transaction(command['order_id'], None, None)
        journal.refuse(self._journal, notes)

    # --- pageviews -------------------------------------------------------------------------------

    def init(self, page_type, page_data, store_id):
        """A pageview. `page_type` undefined (`init()`) with a data layer present re-reads it."""
        raw = self._hooks.raw_data() if features.MAGENTO or features.SHOPIFY else None
        if prims.is_undefined(page_type) and raw != None and self._next_type == None:
            self.init_from_data_layer(raw)
            return
        self._pageview(page_type, page_data, store_id)

    def init_from_data_layer(self, raw):
        """The page's pageview (and, on a confirmation page, its transaction) from the store's data
        layer `raw`: Shopify's (`shopify.py`) or Magento's (`datalayer.py`)."""
        shop = shopify.read_shop(raw, self._env.href()) if features.SHOPIFY else None
        if shop != None:
            self._init_shop(shop)
            return
        args = datalayer.read_raw_data(raw) if features.MAGENTO else None
        if args == None:
            self._pageview(None, None, None)
            return
        self._pageview(args['page_type'], args['page_data'], args['store_id'])
        if args['order_id'] != None:
            self.transaction(args['order_id'], None, None)

    def _init_shop(self, shop):
        """What Shopify's data layer says (`shopify.read_shop`), recorded as the calls the deployed
        tag makes from it: the pageview, then the identity, the basket, the checkout and the order."""
        if not features.SHOPIFY:
            return
        if shop['linked']:
            self.link_session(True)
        self._pageview(shop['page_type'], shop['page_data'], shop['store_id'])
        if shop['email'] != None:
            self.identify(shop['email'], None, 'datalayer')
        cart = shop['basket']
        # An empty cart is news only to a visitor whose basket was sent before (it was emptied).
        if cart != None and (len(cart['items']) > 0 or self._read('basket') != None):
            self._send_basket(cart)
            if len(cart['items']) > 0:
                self._tag_cart()
        if shop['checkout']:
            self.checkout('checkout', None)
        if shop['order_id'] != None:
            self.transaction(shop['order_id'], None, None)

    def _tag_cart(self):
        """Write the visitor id into the Shopify cart's attributes, once per cart and visitor
        (Shopify's `cart` cookie names the cart), so that the store's order names its visitor.
        Not while cookies and storage are held for consent: the held env reads no cookie, the
        cart's neither, so the visitor id leaves the page only with the shopper's consent (a later
        page of the consenting shopper writes it)."""
        if not features.SHOPIFY:
            return
        cart = self._env.read_cookie(shopify.CART_COOKIE)
        if cart == None or len(cart) == 0:
            return
        cid = self._visitor.touch()['cid']
        mark = cart + ' ' + cid
        if self._read('cart') != mark:
            self._write('cart', mark)
            self._hooks.set_cart_attribute(shopify.CART_UPDATE_PATH, shopify.CID_ATTRIBUTE, cid)

    def set_page_type(self, page_type):
        """`setPageType(t)`: the type of the next pageview, when `init` does not give one."""
        self._next_type = page_type

    def set_page_data(self, page_data):
        """`setPageData(obj)`: the data of the next pageview, when `init` does not give any."""
        self._next_data = page_data

    def _pageview(self, page_type, page_data, store_id):
        if prims.is_undefined(page_type) and self._next_type != None:
            page_type = self._next_type
        if page_data == None and self._next_data != None:
            page_data = self._next_data
        self._next_type = None
        self._next_data = None
        notes = []
        kind = None
        if page_type != None:
            kind = coerce.coerce_text(page_type, 'page type', limits.MAX_PAGE_TYPE_LENGTH, notes)
        data = coerce.coerce_object(page_data, 'page data', MAX_PAGE_DATA_BYTES, notes)
        if data == None:
            data = {}
        if prims.has_key(data, 'pid'):
            pid = coerce.coerce_id(data['pid'], 'pid', notes)
            if pid == None:
                prims.delete_key(data, 'pid')
            else:
                data['pid'] = pid
        store = coerce.coerce_id(store_id, 'store id', notes)
        if store != None:
            self._store_id = store
        journal.notes(self._journal, notes)
        journal.check(self._journal, 'pageview', {'page_type': kind, 'page_data': data})
        url = events.page_url(self._env.href())
        first_here = url != self._last_url
        if self._last_url == None:
            referrer = self._env.referrer()
            self._referrer = events.page_url(referrer) if prims.is_string(referrer) and len(referrer) > 0 else None
        elif self._last_url != url:
            self._referrer = self._last_url
        self._last_url = url
        if kind == 'confirmation':
            self._confirmation = True
        self._record('pageview', {'page_type': kind, 'page_data': data, 'referrer': self._referrer,
                                  'source': self._visitor.source, 'first_source': self._visitor.first_source},
                     kind, {'page_type': kind, 'page_data': data})
        self._gate.opened(self._store_id)
        click = attribution.recommendation_click(self._env.href()) if first_here and features.RECS else None
        if click != None:
            self._custom(REC_CLICK, click)

    # --- the visitor -----------------------------------------------------------------------------

    def identify(self, email, profile, via):
        """`via`: how the identity was learned (`limits.IDENTIFY_CHANNELS`: 'call' for the store's
        `ometria.identify`), sent with the identify event so that those who email from it can
        weigh it."""
        notes = []
        value = identity.valid_identity(email, notes)
        if value == None:
            journal.refuse(self._journal, notes)
            return
        details = coerce.coerce_object(profile, 'profile', MAX_PROFILE_BYTES, notes)
        journal.notes(self._journal, notes)
        remembered = memory.identity_in(self._read('uid'))
        if remembered != None:
            self._uid = remembered
        if value == self._uid:
            journal.note(self._journal, ['same_identity', value])
            return
        if self._uid != None:
            journal.line(self._journal, 'changed_identity', [self._uid, value], {'from': self._uid, 'to': value})
        self._uid = value
        self._write('uid', memory.identity_text(value))
        self._record('identify', {'email': value, 'profile': details, 'via': via}, None,
                     {'email': value, 'profile': details, 'via': via})
        journal.line(self._journal, 'identified', [value], {'identity': value})

    def identify_from_form(self, value, how):
        """A valid email address in one of the site's inputs: `how` is 'observe'
        (`observeEmailInputs`), 'form' (the account's opt-in) or 'signup' (a known signup form:
        `signups.py`). True when it identified (or confirmed) the visitor."""
        notes = []
        if identity.valid_identity(value, notes) == None:
            return False
        journal.line(self._journal, 'form_identity', [how], {'email': value})
        self.identify(value, None, 'form')
        return True

    def signup(self, value, custom_type):
        """An email address given to a known signup form (`signups.py`): it identifies, and, for a
        form with an event of its own (`custom_type`, not None), records that event too."""
        if not features.SIGNUPS:
            return
        if self.identify_from_form(value, 'signup') and custom_type != None:
            self._custom(custom_type, {})

    def set_profile_data(self, data):
        """`setProfileData(obj)`: a `profile` event with data about the identified visitor."""
        notes = []
        self._uid = memory.identity_in(self._read('uid')) or self._uid
        if self._uid == None:
            journal.warn(self._journal, ['profile_without_identity'])
            return
        profile = coerce.coerce_object(data, 'profile', MAX_PROFILE_BYTES, notes)
        if profile == None:
            journal.noted(notes, ['profile_empty'])
            journal.refuse(self._journal, notes)
            return
        journal.notes(self._journal, notes)
        self._record('profile', {'profile': profile}, None, {'profile': profile})

    def get_identity(self):
        remembered = memory.identity_in(self._read('uid'))
        return remembered if remembered != None else self._uid

    def is_new_visitor(self):
        return self._visitor.touch()['first']

    def link_session(self, linked):
        self._linked = linked == True
        journal.note(self._journal, ['linked', self._linked])

    def snapshot(self):
        """`ometria._debug()`: what support engineers ask for."""
        state = self._visitor.touch()
        return {'account': self._account, 'cookieId': state['cid'], 'sessionId': state['sid'],
                'userIdentity': self.get_identity(), 'isNewVisitor': state['first'], 'storeId': self._store_id,
                'linked': self._linked, 'source': self._visitor.source, 'firstSource': self._visitor.first_source}

    # --- baskets and orders ----------------------------------------------------------------------

    def set_basket(self, given):
        if self._send_basket(given):
            self._basket = given
            self._publish('basket', given)

    def _send_basket(self, given):
        """Record the basket `given` (a store's Basket, or one read from `ommage`) when it changed;
        False when it is not a basket."""
        notes = []
        payload = basket.basket_payload(given, notes)
        if payload == None:
            journal.refuse(self._journal, notes)
            return False
        journal.notes(self._journal, notes)
        journal.check(self._journal, 'basket', payload)
        sid = self._visitor.touch()['sid']
        fingerprint = basket.basket_fingerprint(payload)
        if memory.basket_already_sent(self._read('basket'), sid, fingerprint):
            journal.note(self._journal, ['basket_unchanged'])
            return True
        self._write('basket', memory.basket_text(sid, fingerprint))
        self._record('setbasket', {'basket': payload}, None, {'basket': payload})
        return True

    def get_basket(self):
        return self._basket

    def add_to_basket(self, product_id, quantity, extra):
        notes = []
        pid = coerce.coerce_id(product_id, 'product_id', notes)
        if pid == None:
            journal.noted(notes, ['add_no_product'])
            journal.refuse(self._journal, notes)
            return
        count = coerce.coerce_quantity(quantity, 'quantity', notes)
        if count == None:
            journal.noted(notes, ['add_bad', product_id])
            journal.refuse(self._journal, notes)
            return
        fields = {'product_id': pid, 'quantity': count}
        more = self._extra(extra, notes)
        if more != None:
            fields['extra'] = more
        journal.notes(self._journal, notes)
        self._record('addtobasket', fields, None, fields)

    def view_product(self, product_id):
        """`viewProduct(pid)`: a product seen outside its own page (a quick view, a carousel)."""
        notes = []
        pid = coerce.coerce_id(product_id, 'product_id', notes)
        if pid == None:
            journal.noted(notes, ['view_no_product'])
            journal.refuse(self._journal, notes)
            return
        journal.notes(self._journal, notes)
        self._record('viewproduct', {'product_id': pid}, pid, {'product_id': pid})

    def checkout(self, stage, extra):
        notes = []
        value = coerce.coerce_stage(stage, notes)
        if value == None:
            journal.noted(notes, ['checkout_bad'])
            journal.refuse(self._journal, notes)
            return
        fields = {'stage': value}
        more = self._extra(extra, notes)
        if more != None:
            fields['extra'] = more
        journal.notes(self._journal, notes)
        self._record('checkout', fields, value, fields)

    def transaction(self, order_id, extra, event_id):
        """`trackTransaction`: the order's event, once per order id in this browser; `event_id`:
        its id, or None for a new one (the checkout pixel's is the order's own: `checkout.py`)."""
        notes = []
        value = coerce.coerce_id(order_id, 'order id', notes)
        if value == None:
            journal.noted(notes, ['transaction_no_id'])
            journal.refuse(self._journal, notes)
            return
        fields = {'order_id': value}
        more = self._extra(extra, notes)
        if more != None:
            fields['extra'] = more
        journal.notes(self._journal, notes)
        self._transaction = True
        orders = memory.orders_in(self._read('orders'))
        if prims.find_item(orders, value) >= 0:
            journal.note(self._journal, ['order_seen', value])
            return
        self._write('orders', memory.orders_text(orders, value))
        self._record_as(event_id if event_id != None else self._env.new_uuid(), 'transaction', fields, value, fields)

    # --- custom events ---------------------------------------------------------------------------

    def track(self, custom_type, data, callback):
        """`track(type, data, callback)`: a store's own event; `callback` is called about
        TRACK_CALLBACK_DELAY_MS later (sent or not: the deployed tag does the same)."""
        notes = []
        kind = coerce.coerce_text(custom_type, 'event type', limits.MAX_CUSTOM_TYPE_LENGTH, notes)
        if kind == None:
            journal.noted(notes, ['track_no_type'])
            journal.refuse(self._journal, notes)
        else:
            fields = coerce.coerce_object(data, 'event data', MAX_PAGE_DATA_BYTES, notes)
            journal.notes(self._journal, notes)
            self._custom(kind, fields if fields != None else {})
        if prims.is_function(callback):
            hooks = self._hooks
            self._env.set_timer(lambda: hooks.call_method(None, callback), TRACK_CALLBACK_DELAY_MS)

    def human(self, kind):
        """A person's first input on this page (`kind`: limits.HUMAN_INPUTS): a `human` event, once
        per session, the evidence a one-page session needs to start a campaign."""
        if not self._human:
            self._human = True
            sid = self._visitor.touch()['sid']
            if self._read('human') != sid:
                self._write('human', sid)
                self._record('human', {'input': kind}, kind, None)

    def _custom(self, custom_type, data):
        fields = {'custom_type': custom_type, 'data': data}
        self._record('custom', fields, custom_type, fields)

    def forget(self):
        """`ometria.forget()`, after the browser's storage and cookie were erased: this page forgets
        the visitor too, so the next call starts a new one."""
        self._visitor.forget()
        self._uid = None
        self._basket = None
        self._linked = False

    def settle(self):
        """The page has settled (loaded a moment ago, or is being left): release calls still
        held for want of an `init`, and check what a page should have done by now."""
        self._gate.settle()
        if self._confirmation and not self._transaction:
            self._confirmation = False
            journal.warn(self._journal, ['confirmation_without_transaction'])
