"""The integration doctor: the mistakes that break real integrations, each with what to change.

Each function returns the warning text shown in the debug overlay and the console. The checks
that need arithmetic (`basket_warnings`) live here too; the engine decides when to ask.

Pure: imports only `prims` and `coerce`.
"""

from tracker import coerce, prims

KNOWN_PAGE_TYPES = ['homepage', 'listing', 'basket', 'checkout', 'confirmation', 'product', 'content', 'search']
TOTAL_TOLERANCE = 0.01


def no_init():
    return ('No ometria.init() on this page: call ometria.init(pageType, pageData, storeId) as the '
            'first call; the calls made before it were held, then sent without a pageview.')


def too_many_held(count):
    return (prims.number_text(count) + ' calls were made before ometria.init(): they are sent now, '
            'without waiting for the pageview. Call ometria.init(pageType, pageData, storeId) first.')


def unknown_page_type(page_type):
    return ('Unknown page type ' + coerce.describe(page_type) + ': use one of ' +
            prims.join(KNOWN_PAGE_TYPES, ', ') + ' (it is recorded as given).')


def product_without_pid():
    return ('Product page without a product id: call ometria.init("product", {pid: "<product id>"}, '
            'storeId) with the id used in the data API.')


def loaded_twice():
    return ('The tag was loaded twice on this page; the second copy did nothing. Remove one of the '
            'script tags (theme and tag manager both adding it?).')


def onload_failed(message):
    return ('ometria.onLoad threw "' + message + '": the calls it made before the error were '
            'recorded, the rest were not. Fix the error (a typo such as ometria.idenfiy?).')


def confirmation_without_transaction():
    return ('This confirmation page recorded no transaction: call ometria.trackTransaction(orderId) '
            'with the order id (or web id) sent in the order data.')


def internal_error(call):
    return 'ometria.' + call + ' failed inside the tag and was ignored (please report this).'


def currency_warning(currency):
    """A warning when the basket's currency is set but is not three letters, else None."""
    if currency == None or prims.matches('^[A-Za-z]{3}$', currency):
        return None
    return ('Currency ' + coerce.describe(currency) + ' is not a three-letter ISO 4217 code: pass '
            'setTotal(total, "GBP") (or your currency code).')


def total_warning(payload):
    """A warning when the basket total matches neither the sum of its prices (prices as line
    totals) nor the sum of price x quantity (prices as unit prices), else None. Baskets with no
    total, no lines or a line without a price are not judged."""
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
    return ('Basket total ' + prims.number_text(total) + ' differs from its lines (prices add up to ' +
            money_text(as_line_totals) + ', price x quantity to ' + money_text(as_unit_prices) +
            '): pass the basket total, and each line\'s unit price or line total.')


def abs_value(number):
    return -number if number < 0 else number


def money_text(number):
    """`number` rounded to cents, as text."""
    return prims.number_text(prims.floor(number * 100 + 0.5) / 100)
