"""The basket: the public `ometria.Basket` object, and the basket payload of a `setbasket` event.

`make_basket(report)` returns what `new ometria.Basket()` gives a store: a plain object holding
the data (`id`, `currency`, `total`, `url`, `items`, `size`) and the setters `setId`,
`setTotal(total, currency)`, `addLineItem(product_id, quantity, price, variant_id, props)`,
`setUrl(url)` and its alias `setURL`. Setters coerce their arguments (`coerce.py`), pass any notes
to `report(notes)`, never raise, and return the basket so calls can be chained. The data fields
are plain properties, so third-party scripts can read `ometria.basket.size`.

`basket_payload` re-reads any such object (ours, or one a store built itself) into the contract's
shape, so a store that edits `basket.items` by hand still sends valid data.

Pure: imports only `prims` and `coerce`.
"""

from tracker import coerce, prims

MAX_BASKET_ITEMS = 200
MAX_PROPS_BYTES = 2048


def coerce_line(product_id, quantity, price, variant_id, props, notes):
    """One line item in the contract's shape, or None (with notes) when the product id is missing
    or the quantity is not at least 1. An object as `variant_id` (4 arguments) is the props."""
    if prims.is_plain_object(variant_id) and props == None:
        props = variant_id
        variant_id = None
    pid = coerce.coerce_id(product_id, 'product_id', notes)
    if pid == None:
        prims.append(notes, 'addLineItem needs a product id: line ignored')
        return None
    count = coerce.coerce_quantity(quantity, 'quantity', notes)
    if count == None:
        prims.append(notes, 'addLineItem(' + coerce.describe(product_id) + ', ...): line ignored')
        return None
    line = {
        'product_id': pid,
        'quantity': count,
        'price': coerce.coerce_money(price, 'price', notes),
        'variant_id': coerce.coerce_id(variant_id, 'variant_id', notes),
    }
    copied = coerce.coerce_object(props, 'props', MAX_PROPS_BYTES, notes)
    if copied != None:
        line['props'] = copied
    return line


def make_basket(report):
    """A new, empty public basket object; `report(notes)` receives the setters' notes."""
    basket = {'id': None, 'currency': None, 'total': None, 'url': None, 'items': [], 'size': 0}

    def failed(setter):
        try:
            report(['Basket.' + setter + ' failed inside the tag and was ignored (please report this)'])
        except:  # noqa: E722 -- never let the report itself throw
            pass

    def set_id(basket_id):
        try:
            notes = []
            basket['id'] = coerce.coerce_id(basket_id, 'basket id', notes)
            report(notes)
        except:  # noqa: E722
            failed('setId')
        return basket

    def set_total(total, currency):
        try:
            notes = []
            basket['total'] = coerce.coerce_money(total, 'total', notes)
            basket['currency'] = coerce.coerce_text(currency, 'currency', coerce.MAX_CURRENCY_LENGTH, notes)
            report(notes)
        except:  # noqa: E722
            failed('setTotal')
        return basket

    def add_line_item(product_id, quantity, price, variant_id, props):
        try:
            notes = []
            if len(basket['items']) >= MAX_BASKET_ITEMS:
                prims.append(notes, 'a basket holds at most ' + prims.number_text(MAX_BASKET_ITEMS) +
                             ' lines: line ignored')
            else:
                line = coerce_line(product_id, quantity, price, variant_id, props, notes)
                if line != None:
                    prims.append(basket['items'], line)
                    basket['size'] = basket['size'] + line['quantity']
            report(notes)
        except:  # noqa: E722
            failed('addLineItem')
        return basket

    def set_url(url):
        try:
            notes = []
            basket['url'] = coerce.coerce_text(url, 'basket url', coerce.MAX_TEXT_LENGTH, notes)
            report(notes)
        except:  # noqa: E722
            failed('setUrl')
        return basket

    basket['setId'] = set_id
    basket['setTotal'] = set_total
    basket['addLineItem'] = add_line_item
    basket['setUrl'] = set_url
    basket['setURL'] = set_url
    return basket


def basket_payload(basket, notes):
    """The `basket` of a setbasket event, read from a basket object: {id, currency, total, url,
    size, items}; None (with a note) when `basket` is not an object."""
    if not prims.is_plain_object(basket):
        prims.append(notes, 'setBasket needs an ometria.Basket, got ' + coerce.describe(basket) + ': nothing sent')
        return None
    items = []
    size = 0
    raw_items = prims.read_key(basket, 'items')
    if prims.is_list(raw_items):
        for raw in raw_items:
            if len(items) >= MAX_BASKET_ITEMS:
                break
            if prims.is_plain_object(raw):
                line = coerce_line(prims.read_key(raw, 'product_id'), prims.read_key(raw, 'quantity'),
                                   prims.read_key(raw, 'price'), prims.read_key(raw, 'variant_id'),
                                   prims.read_key(raw, 'props'), notes)
                if line != None:
                    prims.append(items, line)
                    size = size + line['quantity']
    return {
        'id': coerce.coerce_id(prims.read_key(basket, 'id'), 'basket id', notes),
        'currency': coerce.coerce_text(prims.read_key(basket, 'currency'), 'currency', coerce.MAX_CURRENCY_LENGTH, notes),
        'total': coerce.coerce_money(prims.read_key(basket, 'total'), 'total', notes),
        'url': coerce.coerce_text(prims.read_key(basket, 'url'), 'basket url', coerce.MAX_TEXT_LENGTH, notes),
        'size': size,
        'items': items,
    }


def basket_fingerprint(payload):
    """A short text that changes whenever the basket's content does."""
    return prims.hash_text(prims.to_json(payload))
