"""The basket: the public `ometria.Basket`, and the basket payload of a `setbasket` event.

`Basket()` is what `new ometria.Basket()` gives a store: an object whose own properties are the
data (`id`, `currency`, `total`, `url`, `items`, `size`: third-party scripts read
`ometria.basket.size`, and `JSON.stringify` shows nothing else), with the setters `setId`,
`setTotal(total, currency)`, `addLineItem(product_id, quantity, price, variant_id, props)`,
`setUrl(url)` and its alias `setURL`, and the deployed tag's `setData(obj)` / `setProperties(obj)`
(extra data carried with the basket). Setters coerce their arguments (`coerce.py`), note what they
did in the page's journal (`Basket.journal`, set when the tag starts: one tag per page), never
raise, and return the basket so calls can be chained.

`basket_payload` re-reads any such object (ours, or one a store built itself) into the contract's
shape, so a store that edits `basket.items` by hand still sends valid data.

Pure: imports only `prims`, `coerce` and `limits`.
"""

from tracker import coerce, features, journal, limits, prims

MAX_PROPS_BYTES = 2048


def coerce_line(product_id, quantity, price, variant_id, props, notes):
    """One line item in the contract's shape, or None (with notes) when the product id is missing
    or the quantity is not at least 1. An object as `variant_id` (4 arguments) is the props."""
    if prims.is_plain_object(variant_id) and props == None:
        props = variant_id
        variant_id = None
    pid = coerce.coerce_id(product_id, 'product_id', notes)
    if pid == None:
        journal.noted(notes, ['line_no_product'])
        return None
    count = coerce.coerce_quantity(quantity, 'quantity', notes)
    if count == None:
        journal.noted(notes, ['line_bad', product_id])
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


class Basket:
    """A store's basket; see the module docstring. The setters keep the published names."""

    journal = None

    def __init__(self):
        self.id = None
        self.currency = None
        self.total = None
        self.url = None
        self.js_items = []
        self.size = 0

    def _set(self, setter, change):
        """Run `change(notes)` for the setter named `setter`; note what it did (or that it failed
        inside the tag) in the journal, and return the basket, whatever happens."""
        notes = []
        try:
            change(notes)
        except:
            notes = []
            journal.noted(notes, ['setter_failed', setter])
        if features.JOURNAL:
            try:
                journal.notes(Basket.journal, notes)
            except:  # no journal yet, or a broken one: the setter still returns
                pass
        return self

    def _set_id(self, basket_id, notes):
        self.id = coerce.coerce_id(basket_id, 'basket id', notes)

    def _set_total(self, total, currency, notes):
        self.total = coerce.coerce_money(total, 'total', notes)
        self.currency = coerce.coerce_text(currency, 'currency', limits.MAX_CURRENCY_LENGTH, notes)

    def _add_line(self, product_id, quantity, price, variant_id, props, notes):
        if len(self.js_items) >= limits.MAX_BASKET_ITEMS:
            journal.noted(notes, ['basket_full', limits.MAX_BASKET_ITEMS])
            return
        line = coerce_line(product_id, quantity, price, variant_id, props, notes)
        if line != None:
            prims.append(self.js_items, line)
            self.size = self.size + line['quantity']

    def _set_url(self, url, notes):
        self.url = coerce.coerce_text(url, 'basket url', coerce.MAX_TEXT_LENGTH, notes)

    def setId(self, basket_id):  # the published name
        return self._set('setId', lambda notes: self._set_id(basket_id, notes))

    def setTotal(self, total, currency):
        return self._set('setTotal', lambda notes: self._set_total(total, currency, notes))

    def addLineItem(self, product_id, quantity, price, variant_id, props):
        return self._set('addLineItem', lambda notes: self._add_line(product_id, quantity, price, variant_id, props,
                                                                      notes))

    def setUrl(self, url):
        return self._set('setUrl', lambda notes: self._set_url(url, notes))

    def setURL(self, url):  # the spelling some stores use
        return self.setUrl(url)

    def setData(self, data):  # the deployed tag's: extra data carried with the basket
        return self._set('setData', lambda notes: self._set_data(data, notes))

    def setProperties(self, properties):
        return self._set('setProperties', lambda notes: self._set_properties(properties, notes))

    def _set_data(self, data, notes):
        self.data = coerce.coerce_object(data, 'basket data', MAX_PROPS_BYTES, notes)

    def _set_properties(self, properties, notes):
        self.properties = coerce.coerce_object(properties, 'basket properties', MAX_PROPS_BYTES, notes)


def basket_payload(basket, notes):
    """The `basket` of a setbasket event, read from a basket object: {id, currency, total, url,
    size, items}; None (with a note) when `basket` is not an object."""
    if not prims.is_plain_object(basket):
        journal.noted(notes, ['not_basket', basket])
        return None
    items = []
    size = 0
    raw_items = prims.read_key(basket, 'items')
    if prims.is_list(raw_items):
        for raw in raw_items:
            if len(items) >= limits.MAX_BASKET_ITEMS:
                break
            if prims.is_plain_object(raw):
                line = coerce_line(prims.read_key(raw, 'product_id'), prims.read_key(raw, 'quantity'),
                                   prims.read_key(raw, 'price'), prims.read_key(raw, 'variant_id'),
                                   prims.read_key(raw, 'props'), notes)
                if line != None:
                    prims.append(items, line)
                    size = size + line['quantity']
    payload = {
        'id': coerce.coerce_id(prims.read_key(basket, 'id'), 'basket id', notes),
        'currency': coerce.coerce_text(prims.read_key(basket, 'currency'), 'currency', limits.MAX_CURRENCY_LENGTH, notes),
        'total': coerce.coerce_money(prims.read_key(basket, 'total'), 'total', notes),
        'url': coerce.coerce_text(prims.read_key(basket, 'url'), 'basket url', coerce.MAX_TEXT_LENGTH, notes),
        'size': size,
        'items': items,
    }
    for name in ['data', 'properties']:
        extra = coerce.coerce_object(prims.read_key(basket, name), 'basket ' + name, MAX_PROPS_BYTES, notes)
        if extra != None:
            payload[name] = extra
    return payload


def basket_fingerprint(payload):
    """A short text that changes whenever the basket's content does."""
    return prims.hash_text(prims.to_json(payload))
