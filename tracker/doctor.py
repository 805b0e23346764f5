"""The integration doctor, and every text of the debug overlay. Part of the debug module: loaded
only when the debug switch is on, never in the tag shoppers download.

- `line_text(kind, code, args)`: the words of a journal entry (`journal.py` lists the kinds and
  codes): the spec's lines ("NEW SESSION: <id>", "Event: pageview (product)"), what the tag did
  with an argument, and the mistakes that break integrations, each with what to change.
- `check_warnings(code, details)`: the doctor's checks of a pageview or a basket the tag saw
  (an unknown page type, a product page without a product id, a currency that is not three
  letters, a total that matches neither its lines' prices nor price x quantity), as
  `[code, arguments...]` notes that `line_text` words.

Pure: imports only `prims`.
"""

from tracker import prims

# How long after a form holding an email is submitted the doctor waits for the store's identify.
FORM_CHECK_DELAY_MS = 1500
KNOWN_PAGE_TYPES = ['homepage', 'listing', 'basket', 'checkout', 'confirmation', 'product', 'content', 'search']
TOTAL_TOLERANCE = 0.01
# How the tag read an email from a form (`Engine.identify_from_form`), as the overlay names it.
FORM_CHANNELS = {'observe': 'observeEmailInputs', 'form': 'form opt-in', 'signup': 'a known signup form'}


def describe(value):
    """A short, safe description of `value`: strings quoted and cut at 40 characters."""
    if prims.is_undefined(value):
        return 'undefined'
    if value == None:
        return 'null'
    if prims.is_string(value):
        if len(value) > 40:
            return '"' + prims.substring(value, 0, 40) + '..." (' + prims.number_text(len(value)) + ' characters)'
        return '"' + value + '"'
    if prims.is_bool(value):
        return 'true' if value == True else 'false'
    if prims.is_number(value):
        if not prims.is_finite(value):
            return 'a non-finite number'
        return prims.number_text(value)
    if prims.is_list(value):
        return 'a list'
    if prims.is_function(value):
        return 'a function'
    return 'an object'


def number(value):
    return prims.number_text(value)


FIELD_CODES = ['long', 'not_id', 'not_amount', 'read_as', 'not_quantity', 'quantity_range', 'number_as_text',
               'not_text', 'not_object']


def field_text(code, args):
    """The words of a coercion note: `args` are [field, value, ...]; None for other codes."""
    if prims.find_item(FIELD_CODES, code) < 0:
        return None
    head = args[0] + ' ' + describe(args[1])
    if code == 'long':
        return head + ' is longer than ' + number(args[2]) + ' characters: ignored'
    if code == 'not_id':
        return head + ' is not an id (a string or a number): ignored'
    if code == 'not_amount':
        return head + ' is not an amount: sent as null'
    if code == 'read_as':
        return head + ' read as ' + number(args[2])
    if code == 'not_quantity':
        return head + ' is not a quantity'
    if code == 'quantity_range':
        return head + ' must be at least 1 (and at most ' + number(args[2]) + ')'
    if code == 'number_as_text':
        return head + ' is a number: sent as text'
    if code == 'not_text':
        return head + ' is not text: ignored'
    return head + ' is not an object: ignored'



TEXTS = {
    'new_visitor': 'NEW COOKIE ID',
    'not_identified': 'Not identified',
    'automated': 'AUTOMATED BROWSER: events marked, no campaign',
    'prerendered': 'PRERENDERED: waited until shown',
    'profile_without_identity': ('setProfileData before the visitor is identified: nothing sent. Call '
                                 'ometria.identify(email) first.'),
    'profile_empty': 'setProfileData needs an object: nothing sent',
    'view_no_product': 'viewProduct needs a product id: nothing sent',
    'track_no_type': 'track needs an event type (text of at most 32 characters): nothing sent',
    'line_no_product': 'addLineItem needs a product id: line ignored',
    'add_no_product': 'trackAddToBasket needs a product id: nothing sent',
    'checkout_bad': 'trackCheckout: nothing sent',
    'transaction_no_id': 'trackTransaction needs an order id (or web id): nothing sent',
    'basket_unchanged': 'setBasket: basket unchanged since the last one sent: nothing sent',
    'no_init': ('No ometria.init() on this page: call ometria.init(pageType, pageData, storeId) as the first '
                'call; the calls made before it were held, then sent without a pageview.'),
    'product_without_pid': ('Product page without a product id: call ometria.init("product", {pid: "<product '
                            'id>"}, storeId) with the id used in the data API.'),
    'loaded_twice': ('The tag was loaded twice on this page; the second copy did nothing. Remove one of the '
                     'script tags (theme and tag manager both adding it?).'),
    'confirmation_without_transaction': ('This confirmation page recorded no transaction: call '
                                         'ometria.trackTransaction(orderId) with the order id (or web id) sent '
                                         'in the order data.'),
}


# The words of each code whose text depends on its arguments `a`.
WORDS = {
    'new_session': lambda a: 'NEW SESSION: ' + a[0],
    'existing_session': lambda a: 'EXISTING SESSION: ' + a[0],
    'identified': lambda a: 'Identified: ' + a[0],
    'changed_identity': lambda a: 'CHANGED IDENTITY: ' + a[0] + ' -> ' + a[1],
    'identified_by': lambda a: 'Identified from the landing URL (' + a[0] + ')',
    'form_identity': lambda a: 'Identified from a form field (' + FORM_CHANNELS[a[0]] + ')',
    'source_changed': lambda a: 'SOURCE CHANGED: ' + source_text(a[0], a[1]),
    'source_continued': lambda a: 'SOURCE CONTINUED: ' + source_text(a[0], a[1]),
    'consent': lambda a: 'CONSENT: ' + a[0],
    'forgotten': lambda a: 'Forgotten: the visitor ids, identity, basket memory and outbox were deleted',
    'consent_pending': lambda a: (
        'This account needs the shopper\'s consent and this page got no answer: nothing was stored or sent. ' +
        ('Check that the consent tool (' + a[0] + ') runs on the page and has the category set for Ometria.'
         if len(a[0]) > 0 else 'Call ometria.setConsent(true) or ometria.setConsent(false) when the shopper '
         'answers the consent banner.')),
    'unknown_consent_tool': lambda a: ('The account names the consent tool ' + describe(a[0]) + ', which this tag '
                                       'does not know: it waits for ometria.setConsent(true) or (false).'),
    'ommage': lambda a: 'Magento cookie (ommage): ' + a[0],
    'too_large': lambda a: a[0] + ' is larger than ' + number(a[1]) + ' bytes as JSON: ignored',
    'not_stage': lambda a: 'stage ' + describe(a[0]) + ' is not a checkout stage (a string or a number)',
    'line_bad': lambda a: 'addLineItem(' + describe(a[0]) + ', ...): line ignored',
    'basket_full': lambda a: 'a basket holds at most ' + number(a[0]) + ' lines: line ignored',
    'not_basket': lambda a: 'setBasket needs an ometria.Basket, got ' + describe(a[0]) + ': nothing sent',
    'setter_failed': lambda a: 'Basket.' + a[0] + ' failed inside the tag and was ignored (please report this)',
    'not_identity': lambda a: 'identify ' + describe(a[0]) + ' is neither an email address nor omid:<id>: nothing sent',
    'add_bad': lambda a: 'trackAddToBasket(' + describe(a[0]) + ', ...): nothing sent',
    'same_identity': lambda a: 'identify: ' + a[0] + ' is already the identity: nothing sent',
    'order_seen': lambda a: 'trackTransaction: order ' + a[0] + ' was already recorded: nothing sent',
    'too_many_held': lambda a: (number(a[0]) + ' calls were made before ometria.init(): they are sent now, without '
                                'waiting for the pageview. Call ometria.init(pageType, pageData, storeId) first.'),
    'unknown_page_type': lambda a: ('Unknown page type ' + describe(a[0]) + ': use one of ' +
                                    prims.join(KNOWN_PAGE_TYPES, ', ') + ' (it is recorded as given).'),
    'answered_late': lambda a: ('ometria.' + a[0] + '() was called while the debug tag loaded: it returned undefined '
                                'on this page only (without #om_debug it returns its value at once).'),
    'onload_failed': lambda a: ('ometria.onLoad threw "' + a[0] + '": the calls it made before the error were recorded, '
                                'the rest were not. Fix the error (a typo such as ometria.idenfiy?).'),
    'onloaded_failed': lambda a: 'window.onOmetriaLoaded threw "' + a[0] + '"; the tag carries on.',
    'internal_error': lambda a: 'ometria.' + a[0] + ' failed inside the tag and was ignored (please report this).',
    'legacy_cookie': lambda a: 'Visitor id ' + a[0] + ' taken over from an older Ometria cookie',
    'ommage_bad': lambda a: 'ommage cookie: command ' + describe(a[0]) + ' not understood: ignored',
    'ommage_long': lambda a: 'ommage cookie of ' + number(a[0]) + ' characters: ignored',
    'ommage_many': lambda a: 'ommage cookie: more than ' + number(a[0]) + ' commands: the rest ignored',
    'linked': lambda a: 'linkSession: the session is ' + ('' if a[0] == True else 'not ') + 'linked to a server-side session',
    'form_without_identify': lambda a: (
        'A form holding the email address ' + describe(a[0]) + ' was submitted and no ometria.identify followed: the '
        'sign-up hook is broken. Call ometria.identify(email) when the form is sent, use '
        'ometria.observeEmailInputs(selector), or turn on the account\'s identify_forms.'),
    'unsupported': lambda a: ('ometria.' + a[0] + ' is not supported by this tag: nothing was sent. Post the form to '
                              'your own endpoint and call ometria.identify(email).'),
    'bad_selector': lambda a: 'observeEmailInputs needs a CSS selector, got ' + describe(a[0]) + ': nothing watched',
    'currency': lambda a: ('Currency ' + describe(a[0]) + ' is not a three-letter ISO 4217 code: pass '
                           'setTotal(total, "GBP") (or your currency code).'),
    'basket_total': lambda a: ('Basket total ' + number(a[0]) + ' differs from its lines (prices add up to ' +
                               money_text(a[1]) + ', price x quantity to ' + money_text(a[2]) +
                               '): pass the basket total, and each line\'s unit price or line total.'),
}


def line_text(kind, code, args):
    """The text of a journal entry of `kind` with `code` and `args` (see the module docstring)."""
    if kind == 'event':
        label = args[0]
        if label == None:
            return 'Event: ' + code
        return 'Event: ' + code + ' (' + (label if prims.is_string(label) else number(label)) + ')'
    if prims.has_key(TEXTS, code):
        return TEXTS[code]
    if prims.has_key(WORDS, code):
        return WORDS[code](args)
    fields = field_text(code, args)
    return fields if fields != None else code


def source_text(source, ecamp):
    """A session source in a few words: `google / organic`, `ometria / email (campaign 42)`, and
    the session's Ometria email campaign `ecamp` where it has one: `newsletter / email (campaign
    spring), Ometria campaign 42`."""
    if not prims.is_plain_object(source):
        return 'none'
    text = (source['source'] or '-') + ' / ' + (source['medium'] or '-')
    if source['campaign'] != None:
        text = text + ' (campaign ' + source['campaign'] + ')'
    if prims.is_string(ecamp) and ecamp != source['campaign']:
        text = text + ', Ometria campaign ' + ecamp
    return text


def check_warnings(code, details):
    """The doctor's findings on a 'pageview' ({page_type, page_data}) or a 'basket' (a payload)."""
    found = []
    if code == 'pageview':
        kind = details['page_type']
        if kind != None and prims.find_item(KNOWN_PAGE_TYPES, kind) < 0:
            prims.append(found, ['unknown_page_type', kind])
        if kind == 'product' and not prims.has_key(details['page_data'], 'pid'):
            prims.append(found, ['product_without_pid'])
    elif code == 'basket':
        currency = details['currency']
        if currency != None and not prims.matches('^[A-Za-z]{3}$', currency):
            prims.append(found, ['currency', currency])
        total = total_mismatch(details)
        if total != None:
            prims.append(found, total)
    return found


def total_mismatch(payload):
    """['basket_total', total, sum of prices, sum of price x quantity] when the total matches
    neither reading of the prices, else None. Baskets with no total, no lines or a line without
    a price are not judged."""
    total = payload['total']
    items = payload['items']
    if total == None or len(items) == 0:
        return None
    as_line_totals = 0
    as_unit_prices = 0
    for item in items:
        if item['price'] == None:
            return None
        as_line_totals = as_line_totals + item['price']
        as_unit_prices = as_unit_prices + item['price'] * item['quantity']
    if abs_value(total - as_line_totals) <= TOTAL_TOLERANCE or abs_value(total - as_unit_prices) <= TOTAL_TOLERANCE:
        return None
    return ['basket_total', total, as_line_totals, as_unit_prices]


def abs_value(value):
    return -value if value < 0 else value


def money_text(value):
    """`value` rounded to cents, as text."""
    return prims.number_text(prims.floor(value * 100 + 0.5) / 100)


def identified_since(entries, mark, value):
    """True when the journal `entries` record an identify from index `mark` on (the event, or an
    identify of the identity already known), or the tag identified from `value` in a form at any
    time (a signup form read on change, before it was submitted): a submitted form's hook worked."""
    for index in range(len(entries)):
        entry = entries[index]
        if entry['c'] == 'form_identity' and entry['d']['email'] == value:
            return True
        if index >= mark and ((entry['k'] == 'event' and entry['c'] == 'identify') or entry['c'] == 'same_identity'):
            return True
    return False
