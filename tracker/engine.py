"""The tag's behaviour on one page: what each API call records, as the spec and real stores need.

`make_engine(env, settings, delivery, debug, publish)` returns the calls behind the public API
(`init`, `identify`, `set_basket`, `add_to_basket`, `checkout`, `transaction`, `new_basket`,
`get_basket`) and the page lifecycle hooks (`start`, `settle`). It holds no browser object: time,
cookies, storage, URLs and ids come from `env`; events go to `delivery['enqueue']`; messages to
`debug`; `publish(name, value)` sets a property of the public `ometria` object (`basket`).

Rules it keeps:
- Each call first touches the visitor cookie: a first visit makes a visitor id, 30 minutes without
  activity a new session id (`session.py`).
- Calls made before the page's first `init` are held, then recorded after its pageview in call
  order (carrying the page's store id). If no `init` comes by the time the page settles, they are
  released without one, with a warning; so are they when MAX_HELD_EVENTS are waiting (a page
  looping before `init` must not grow memory: from then on the outbox's caps apply).
- `identify` records an event only when the identity changes; the identity is remembered across
  sessions and travels as `uid` on every later event.
- `setBasket` records an event only when the basket differs from the last one recorded in this
  session, across page loads.
- `trackTransaction` records an order id once: a reloaded confirmation page sends nothing more.
- Every call's arguments are coerced (`coerce.py`); what cannot be sent is refused with a warning.

Pure: imports the pure modules only.
"""

from tracker import basket, coerce, datalayer, doctor, events, identity, prims, session

MAX_PAGE_DATA_BYTES = 8 * 1024
MAX_PROFILE_BYTES = 2 * 1024
MAX_PAGE_TYPE_LENGTH = 64
REMEMBERED_ORDERS = 20
MAX_HELD_EVENTS = 100
COOKIE_READ_INTERVAL_MS = 1000


def make_engine(env, settings, delivery, debug, publish):
    """The engine of one page; see the module docstring. `settings` holds 'account_id' and
    'cookie_domain'."""
    key_prefix = 'ometria:' + settings['account_id'] + ':'
    state = {
        'visitor': None,
        'cookie_read_at': 0,
        'uid': None,
        'inited': False,
        'released': False,
        'no_init_checked': False,
        'held': [],
        'store_id': None,
        'last_url': None,
        'referrer': None,
        'basket': None,
        'confirmation': False,
        'transaction': False,
    }

    def now():
        return prims.floor(env['now_ms']())

    def report(notes):
        for text in notes:
            debug['note'](text)

    def refuse(notes):
        """Show the notes of a refused call as warnings."""
        for text in notes:
            debug['warn'](text)

    def read_json(name):
        return prims.from_json(env['store_get'](key_prefix + name))

    def write_json(name, value):
        env['store_set'](key_prefix + name, prims.to_json(value))

    def touch_visitor():
        """The visitor state after an activity now; writes the cookie when it changed and tells
        the overlay about a new visitor or session. The cookie is read again at most every
        COOKIE_READ_INTERVAL_MS (another tab may have started a session): a burst of calls costs
        one read."""
        moment = now()
        previous = state['visitor']
        if previous == None or moment - state['cookie_read_at'] >= COOKIE_READ_INTERVAL_MS or moment < state['cookie_read_at']:
            stored = session.read_visitor(env['read_cookie'](session.COOKIE_NAME))
            state['cookie_read_at'] = moment
            if stored != None:
                previous = stored
        visitor = session.touch(previous, moment, env['new_id'])
        if visitor['write']:
            env['write_cookie'](session.COOKIE_NAME, session.cookie_value(visitor), session.COOKIE_MAX_AGE_S,
                                session.cookie_domain(env['host'](), settings['cookie_domain']))
        if visitor['new_visitor']:
            debug['line']('NEW COOKIE ID', None, None)
        if visitor['new_session'] and state['visitor'] != None:
            debug['line']('NEW SESSION: ' + visitor['sid'], None, None)
        state['visitor'] = visitor
        return visitor

    def context():
        visitor = touch_visitor()
        return {
            'ts': now(),
            'cid': visitor['cid'],
            'sid': visitor['sid'],
            'uid': state['uid'],
            'url': events.page_url(env['href']()),
            'store_id': state['store_id'],
        }

    def record(event_type, fields, label, details):
        """Make an event now; queue it, or hold it until the page's pageview."""
        event = events.make_event(env['new_uuid'](), event_type, context(), fields)
        # The line comes first: from then on the delivery's states ('queued'...) show on it.
        debug['line'](label, details, [event['id']])
        if state['inited'] or state['released'] or event_type == 'pageview':
            delivery['enqueue']([event])
        else:
            prims.append(state['held'], event)
            debug['state']([event['id']], 'held')
            if len(state['held']) >= MAX_HELD_EVENTS:
                state['released'] = True
                debug['warn'](doctor.too_many_held(MAX_HELD_EVENTS))
                release_held()
        return event

    def release_held():
        held = state['held']
        state['held'] = []
        for event in held:
            if event['store_id'] == None:
                event['store_id'] = state['store_id']
        if len(held) > 0:
            delivery['enqueue'](held)

    def start():
        """At tag start: touch the session, read what is remembered, say it in the overlay."""
        remembered = read_json('uid')
        if prims.is_string(remembered):
            state['uid'] = remembered
        visitor = touch_visitor()
        if not visitor['new_session']:
            debug['line']('EXISTING SESSION: ' + visitor['sid'], None, None)
        else:
            debug['line']('NEW SESSION: ' + visitor['sid'], None, None)
        if state['uid'] != None:
            debug['line']('Identified: ' + state['uid'], {'identity': state['uid']}, None)

    def init(page_type, page_data, store_id):
        """A pageview. `page_type` undefined (`init()`) with a data layer present re-reads it."""
        raw = env['raw_data']()
        if prims.is_undefined(page_type) and raw != None:
            init_from_data_layer(raw)
            return
        pageview(page_type, page_data, store_id)

    def init_from_data_layer(raw):
        args = datalayer.read_raw_data(raw)
        if args == None:
            pageview(None, None, None)
            return
        pageview(args['page_type'], args['page_data'], args['store_id'])
        if args['order_id'] != None:
            transaction(args['order_id'])

    def pageview(page_type, page_data, store_id):
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
            state['store_id'] = store
        report(notes)
        if kind != None and prims.find_item(doctor.KNOWN_PAGE_TYPES, kind) < 0:
            debug['warn'](doctor.unknown_page_type(kind))
        if kind == 'product' and not prims.has_key(data, 'pid'):
            debug['warn'](doctor.product_without_pid())
        url = events.page_url(env['href']())
        if state['last_url'] == None:
            referrer = env['referrer']()
            state['referrer'] = events.page_url(referrer) if prims.is_string(referrer) and len(referrer) > 0 else None
        elif state['last_url'] != url:
            state['referrer'] = state['last_url']
        state['last_url'] = url
        if kind == 'confirmation':
            state['confirmation'] = True
        label = 'Event: pageview (' + kind + ')' if kind != None else 'Event: pageview'
        record('pageview', {'page_type': kind, 'page_data': data, 'referrer': state['referrer']}, label,
               {'page_type': kind, 'page_data': data})
        if not state['inited']:
            state['inited'] = True
            release_held()

    def identify(email, profile):
        notes = []
        value = identity.valid_identity(email, notes)
        if value == None:
            refuse(notes)
            return
        details = coerce.coerce_object(profile, 'profile', MAX_PROFILE_BYTES, notes)
        report(notes)
        remembered = read_json('uid')
        if prims.is_string(remembered):
            state['uid'] = remembered
        if value == state['uid']:
            debug['note']('identify: ' + value + ' is already the identity: nothing sent')
            return
        state['uid'] = value
        write_json('uid', value)
        record('identify', {'email': value, 'profile': details}, 'Event: identify',
               {'email': value, 'profile': details})
        debug['line']('Identified: ' + value, {'identity': value}, None)

    def new_basket():
        return basket.make_basket(report)

    def set_basket(given):
        notes = []
        payload = basket.basket_payload(given, notes)
        if payload == None:
            refuse(notes)
            return
        report(notes)
        state['basket'] = given
        publish('basket', given)
        for warning in [doctor.currency_warning(payload['currency']), doctor.total_warning(payload)]:
            if warning != None:
                debug['warn'](warning)
        visitor = touch_visitor()
        fingerprint = basket.basket_fingerprint(payload)
        last = read_json('basket')
        if prims.is_plain_object(last) and prims.read_key(last, 'sid') == visitor['sid'] and \
                prims.read_key(last, 'fp') == fingerprint:
            debug['note']('setBasket: basket unchanged since the last one sent: nothing sent')
            return
        write_json('basket', {'sid': visitor['sid'], 'fp': fingerprint})
        record('setbasket', {'basket': payload}, 'Event: setbasket', {'basket': payload})

    def add_to_basket(product_id, quantity):
        notes = []
        pid = coerce.coerce_id(product_id, 'product_id', notes)
        if pid == None:
            prims.append(notes, 'trackAddToBasket needs a product id: nothing sent')
            refuse(notes)
            return
        count = coerce.coerce_quantity(quantity, 'quantity', notes)
        if count == None:
            prims.append(notes, 'trackAddToBasket(' + coerce.describe(product_id) + ', ...): nothing sent')
            refuse(notes)
            return
        report(notes)
        record('addtobasket', {'product_id': pid, 'quantity': count}, 'Event: addtobasket',
               {'product_id': pid, 'quantity': count})

    def checkout(stage):
        notes = []
        value = coerce.coerce_stage(stage, notes)
        if value == None:
            prims.append(notes, 'trackCheckout: nothing sent')
            refuse(notes)
            return
        text = value if prims.is_string(value) else prims.number_text(value)
        record('checkout', {'stage': value}, 'Event: checkout (' + text + ')', {'stage': value})

    def transaction(order_id):
        notes = []
        value = coerce.coerce_id(order_id, 'order id', notes)
        if value == None:
            prims.append(notes, 'trackTransaction needs an order id (or web id): nothing sent')
            refuse(notes)
            return
        report(notes)
        state['transaction'] = True
        orders = read_json('orders')
        if not prims.is_list(orders):
            orders = []
        if prims.find_item(orders, value) >= 0:
            debug['note']('trackTransaction: order ' + value + ' was already recorded: nothing sent')
            return
        prims.append(orders, value)
        write_json('orders', prims.slice_list(orders, len(orders) - REMEMBERED_ORDERS if len(orders) > REMEMBERED_ORDERS else 0, None))
        record('transaction', {'order_id': value}, 'Event: transaction (' + value + ')', {'order_id': value})

    def settle():
        """The page has settled (loaded a moment ago, or is being left): release calls still
        held for want of an `init`, and check what a page should have done by now."""
        if not state['inited'] and not state['no_init_checked']:
            state['no_init_checked'] = True
            state['released'] = True
            debug['warn'](doctor.no_init())
            release_held()
        if state['confirmation'] and not state['transaction']:
            state['confirmation'] = False
            debug['warn'](doctor.confirmation_without_transaction())

    return {
        'start': start,
        'init': init,
        'init_from_data_layer': init_from_data_layer,
        'identify': identify,
        'new_basket': new_basket,
        'set_basket': set_basket,
        'get_basket': lambda: state['basket'],
        'add_to_basket': add_to_basket,
        'checkout': checkout,
        'transaction': transaction,
        'settle': settle,
        'state': state,
    }
