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

KNOWN_PAGE_TYPES = ['homepage', 'listing', 'basket', 'checkout', 'confirmation', 'product', 'content', 'search']
TOTAL_TOLERANCE = 0.01


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


def line_text(kind, code, args):
    """The text of a journal entry of `kind` with `code` and `args` (see the module docstring)."""
    if kind == 'event':
        label = args[0]
        if label == None:
            return 'Event: ' + code
        return 'Event: ' + code + ' (' + (label if prims.is_string(label) else number(label)) + ')'
    if prims.has_key(TEXTS, code):
        return TEXTS[code]
    if code == 'new_session':
        return 'NEW SESSION: ' + args[0]
    if code == 'existing_session':
        return 'EXISTING SESSION: ' + args[0]
    if code == 'identified':
        return 'Identified: ' + args[0]
    if code == 'changed_identity':
        return 'CHANGED IDENTITY: ' + args[0] + ' -> ' + args[1]
    if code == 'identified_by':
        return 'Identified from the landing URL (' + args[0] + ')'
    if code == 'form_identity':
        return 'Identified from a form field (' + ('observeEmailInputs' if args[0] == 'observe' else 'form opt-in') + ')'
    if code == 'source_changed' or code == 'source_continued':
        return ('SOURCE CHANGED: ' if code == 'source_changed' else 'SOURCE CONTINUED: ') + source_text(args[0])
    if code == 'consent':
        return 'CONSENT: ' + args[0]
    if code == 'forgotten':
        return 'Forgotten: the visitor ids, identity, basket memory and outbox were deleted'
    if code == 'consent_pending':
        return ('This account needs the shopper\'s consent and this page got no answer: nothing was stored or sent. '
                + ('Check that the consent tool (' + args[0] + ') runs on the page and has the category set for Ometria.'
                   if len(args[0]) > 0 else 'Call ometria.setConsent(true) or ometria.setConsent(false) when the shopper '
                   'answers the consent banner.'))
    if code == 'ommage':
        return 'Magento cookie (ommage): ' + args[0]
    fields = field_text(code, args)
    if fields != None:
        return fields
    if code == 'too_large':
        return args[0] + ' is larger than ' + number(args[1]) + ' bytes as JSON: ignored'
    if code == 'not_stage':
        return 'stage ' + describe(args[0]) + ' is not a checkout stage (a string or a number)'
    if code == 'line_bad':
        return 'addLineItem(' + describe(args[0]) + ', ...): line ignored'
    if code == 'basket_full':
        return 'a basket holds at most ' + number(args[0]) + ' lines: line ignored'
    if code == 'not_basket':
        return 'setBasket needs an ometria.Basket, got ' + describe(args[0]) + ': nothing sent'
    if code == 'setter_failed':
        return 'Basket.' + args[0] + ' failed inside the tag and was ignored (please report this)'
    if code == 'not_identity':
        return 'identify ' + describe(args[0]) + ' is neither an email address nor omid:<id>: nothing sent'
    if code == 'add_bad':
        return 'trackAddToBasket(' + describe(args[0]) + ', ...): nothing sent'
    if code == 'same_identity':
        return 'identify: ' + args[0] + ' is already the identity: nothing sent'
    if code == 'order_seen':
        return 'trackTransaction: order ' + args[0] + ' was already recorded: nothing sent'
    if code == 'too_many_held':
        return (number(args[0]) + ' calls were made before ometria.init(): they are sent now, without waiting '
                'for the pageview. Call ometria.init(pageType, pageData, storeId) first.')
    if code == 'unknown_page_type':
        return ('Unknown page type ' + describe(args[0]) + ': use one of ' + prims.join(KNOWN_PAGE_TYPES, ', ') +
                ' (it is recorded as given).')
    if code == 'onload_failed':
        return ('ometria.onLoad threw "' + args[0] + '": the calls it made before the error were recorded, the '
                'rest were not. Fix the error (a typo such as ometria.idenfiy?).')
    if code == 'onloaded_failed':
        return 'window.onOmetriaLoaded threw "' + args[0] + '"; the tag carries on.'
    if code == 'internal_error':
        return 'ometria.' + args[0] + ' failed inside the tag and was ignored (please report this).'
    if code == 'legacy_cookie':
        return 'Visitor id ' + args[0] + ' taken over from an older Ometria cookie'
    if code == 'ommage_bad':
        return 'ommage cookie: command ' + describe(args[0]) + ' not understood: ignored'
    if code == 'ommage_long':
        return 'ommage cookie of ' + number(args[0]) + ' characters: ignored'
    if code == 'ommage_many':
        return 'ommage cookie: more than ' + number(args[0]) + ' commands: the rest ignored'
    if code == 'linked':
        return 'linkSession: the session is ' + ('' if args[0] == True else 'not ') + 'linked to a server-side session'
    if code == 'form_without_identify':
        return ('A form holding the email address ' + describe(args[0]) + ' was submitted and no ometria.identify '
                'followed: the sign-up hook is broken. Call ometria.identify(email) when the form is sent, use '
                'ometria.observeEmailInputs(selector), or turn on the account\'s identify_forms.')
    if code == 'unsupported':
        return ('ometria.' + args[0] + ' is not supported by this tag: nothing was sent. Post the form to your own '
                'endpoint and call ometria.identify(email).')
    if code == 'bad_selector':
        return 'observeEmailInputs needs a CSS selector, got ' + describe(args[0]) + ': nothing watched'
    if code == 'currency':
        return ('Currency ' + describe(args[0]) + ' is not a three-letter ISO 4217 code: pass '
                'setTotal(total, "GBP") (or your currency code).')
    if code == 'basket_total':
        return ('Basket total ' + number(args[0]) + ' differs from its lines (prices add up to ' +
                money_text(args[1]) + ', price x quantity to ' + money_text(args[2]) +
                '): pass the basket total, and each line\'s unit price or line total.')
    return code


def source_text(source):
    """A session source in a few words: `google / organic`, `ometria / email (campaign 42)`."""
    if not prims.is_plain_object(source):
        return 'none'
    text = (source['source'] or '-') + ' / ' + (source['medium'] or '-')
    if source['campaign'] != None:
        text = text + ' (campaign ' + source['campaign'] + ')'
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
