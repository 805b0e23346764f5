"""The tag's verbs: what each API call records, as the spec and real stores need.

`Engine(env, settings, delivery, journal, publish)` has the calls behind the public API (`init`,
`identify`, `set_basket`, `get_basket`, `add_to_basket`, `checkout`, `transaction`) and the
page's `start` and `settle`. It holds no browser object: time, cookies, storage, URLs and ids
come from `env`; events go to `delivery.enqueue`; what happened to the journal; `publish(name,
value)` sets a property of the public `ometria` object (`basket`).

Who owns what:
- `visitor.Visitor`: the visitor cookie and the 30-minute session, touched by each call;
- `gate.Gate`: the calls held until the page's pageview;
- `memory`: what is remembered across pages (identity, last basket, orders), as pure functions;
- this module: the verbs, and the page's own facts (store id, referrer, confirmation page).

Rules:
- `identify` records an event only when the identity changes; the identity is remembered across
  sessions and travels as `uid` on every later event.
- `setBasket` records an event only when the basket differs from the last one recorded in this
  session, across page loads.
- `trackTransaction` records an order id once: a reloaded confirmation page sends nothing more.
- Every call's arguments are coerced (`coerce.py`); what cannot be sent is refused, with a
  warning in the journal.

Pure: imports the pure modules only.
"""

from tracker import basket, coerce, datalayer, events, gate, identity, keys, memory, prims, visitor

MAX_PAGE_DATA_BYTES = 8 * 1024
MAX_PROFILE_BYTES = 2 * 1024
MAX_PAGE_TYPE_LENGTH = 64


class Engine:
    """The verbs of one page; see the module docstring. `settings` holds 'account_id' and
    'cookie_domain'."""

    def __init__(self, env, settings, delivery, journal, publish):
        self._env = env
        self._account = settings['account_id']
        self._journal = journal
        self._publish = publish
        self._visitor = visitor.Visitor(env, settings['cookie_domain'], journal)
        self._gate = gate.Gate(lambda batch: delivery.enqueue(batch), journal)
        self._uid = None
        self._store_id = None
        self._last_url = None
        self._referrer = None
        self._basket = None
        self._confirmation = False
        self._transaction = False
        basket.Basket.journal = journal

    def _read(self, name):
        return self._env.store_get(keys.storage_key(self._account, name))

    def _write(self, name, text):
        self._env.store_set(keys.storage_key(self._account, name), text)

    def _record(self, event_type, fields, label, details):
        """Make an event now and pass it through the gate; its journal entry comes first, so that
        the delivery states that follow show on it."""
        state = self._visitor.touch()
        context = {'ts': prims.floor(self._env.now_ms()), 'cid': state['cid'], 'sid': state['sid'],
                   'uid': self._uid, 'url': events.page_url(self._env.href()), 'store_id': self._store_id}
        event = events.make_event(self._env.new_uuid(), event_type, context, fields)
        self._journal.event(event_type, label, details, [event['id']])
        self._gate.admit(event)
        return event

    def start(self):
        """At tag start: touch the session, read the remembered identity, say both."""
        self._uid = memory.identity_in(self._read('uid'))
        self._visitor.start()
        if self._uid != None:
            self._journal.line('identified', [self._uid], {'identity': self._uid})

    def init(self, page_type, page_data, store_id):
        """A pageview. `page_type` undefined (`init()`) with a data layer present re-reads it."""
        raw = self._env.raw_data()
        if prims.is_undefined(page_type) and raw != None:
            self.init_from_data_layer(raw)
            return
        self._pageview(page_type, page_data, store_id)

    def init_from_data_layer(self, raw):
        args = datalayer.read_raw_data(raw)
        if args == None:
            self._pageview(None, None, None)
            return
        self._pageview(args['page_type'], args['page_data'], args['store_id'])
        if args['order_id'] != None:
            self.transaction(args['order_id'])

    def _pageview(self, page_type, page_data, store_id):
        notes = []
        kind = None
        if page_type != None:
            kind = coerce.coerce_text(page_type, 'page type', MAX_PAGE_TYPE_LENGTH, notes)
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
        self._journal.notes(notes)
        self._journal.check('pageview', {'page_type': kind, 'page_data': data})
        url = events.page_url(self._env.href())
        if self._last_url == None:
            referrer = self._env.referrer()
            self._referrer = events.page_url(referrer) if prims.is_string(referrer) and len(referrer) > 0 else None
        elif self._last_url != url:
            self._referrer = self._last_url
        self._last_url = url
        if kind == 'confirmation':
            self._confirmation = True
        self._record('pageview', {'page_type': kind, 'page_data': data, 'referrer': self._referrer}, kind,
                     {'page_type': kind, 'page_data': data})
        self._gate.opened(self._store_id)

    def identify(self, email, profile):
        notes = []
        value = identity.valid_identity(email, notes)
        if value == None:
            self._journal.refuse(notes)
            return
        details = coerce.coerce_object(profile, 'profile', MAX_PROFILE_BYTES, notes)
        self._journal.notes(notes)
        remembered = memory.identity_in(self._read('uid'))
        if remembered != None:
            self._uid = remembered
        if value == self._uid:
            self._journal.note(['same_identity', value])
            return
        self._uid = value
        self._write('uid', memory.identity_text(value))
        self._record('identify', {'email': value, 'profile': details}, None, {'email': value, 'profile': details})
        self._journal.line('identified', [value], {'identity': value})

    def set_basket(self, given):
        notes = []
        payload = basket.basket_payload(given, notes)
        if payload == None:
            self._journal.refuse(notes)
            return
        self._journal.notes(notes)
        self._basket = given
        self._publish('basket', given)
        self._journal.check('basket', payload)
        sid = self._visitor.touch()['sid']
        fingerprint = basket.basket_fingerprint(payload)
        if memory.basket_already_sent(self._read('basket'), sid, fingerprint):
            self._journal.note(['basket_unchanged'])
            return
        self._write('basket', memory.basket_text(sid, fingerprint))
        self._record('setbasket', {'basket': payload}, None, {'basket': payload})

    def get_basket(self):
        return self._basket

    def add_to_basket(self, product_id, quantity):
        notes = []
        pid = coerce.coerce_id(product_id, 'product_id', notes)
        if pid == None:
            prims.append(notes, ['add_no_product'])
            self._journal.refuse(notes)
            return
        count = coerce.coerce_quantity(quantity, 'quantity', notes)
        if count == None:
            prims.append(notes, ['add_bad', product_id])
            self._journal.refuse(notes)
            return
        self._journal.notes(notes)
        self._record('addtobasket', {'product_id': pid, 'quantity': count}, None, {'product_id': pid, 'quantity': count})

    def checkout(self, stage):
        notes = []
        value = coerce.coerce_stage(stage, notes)
        if value == None:
            prims.append(notes, ['checkout_bad'])
            self._journal.refuse(notes)
            return
        self._record('checkout', {'stage': value}, value, {'stage': value})

    def transaction(self, order_id):
        notes = []
        value = coerce.coerce_id(order_id, 'order id', notes)
        if value == None:
            prims.append(notes, ['transaction_no_id'])
            self._journal.refuse(notes)
            return
        self._journal.notes(notes)
        self._transaction = True
        orders = memory.orders_in(self._read('orders'))
        if prims.find_item(orders, value) >= 0:
            self._journal.note(['order_seen', value])
            return
        self._write('orders', memory.orders_text(orders, value))
        self._record('transaction', {'order_id': value}, value, {'order_id': value})

    def settle(self):
        """The page has settled (loaded a moment ago, or is being left): release calls still
        held for want of an `init`, and check what a page should have done by now."""
        self._gate.settle()
        if self._confirmation and not self._transaction:
            self._confirmation = False
            self._journal.warn(['confirmation_without_transaction'])
