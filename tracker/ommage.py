"""Magento 2's cookie channel: the `ommage` cookie.

The Magento 2 extension never calls `identify`, `setBasket` or `trackTransaction` in JavaScript
(its pages are full-page cached): its server writes a session cookie named `ommage` (path `/`) on
each response where something happened, and the tag reads it on every page load and clears it.
PHP writes the value URL-encoded; inside, commands are separated by `;`, fields by `:`:

- `basket:<quote id>:<grand total>:<currency>:<cart token>:<item>:<item>...`, each item a query
  string `i=<product id or sku>&v=<item sku>&q=<quantity>&t=<row total incl. tax>`;
- `identify:<how (may be empty)>:e=<email>[&i=<customer id>]`;
- `trans:<order increment id>`.

`commands(value)` reads a cookie value into at most MAX_COMMANDS commands, each
{'kind': 'basket'|'identify'|'transaction', ...}; what it cannot read is left out, with a note.
The basket's deep link, which rebuilds the Magento cart, is `/omcart/cartlink/index?id=<quote
id>&token=<cart token>` on the store's origin.

Pure: imports only `prims` and `urls`.
"""

from tracker import journal, prims, urls

COOKIE_NAME = 'ommage'
MAX_COOKIE_LENGTH = 3000
MAX_COMMANDS = 6
MAX_ITEMS = 100
CART_LINK_PATH = '/omcart/cartlink/index'


def cart_link(origin, quote_id, token):
    return origin + CART_LINK_PATH + '?id=' + prims.url_encode(quote_id) + '&token=' + prims.url_encode(token)


def basket_command(fields, origin, notes):
    """A basket command's fields (after `basket`) as a basket object for `basket_payload`."""
    if len(fields) < 4:
        journal.noted(notes, ['ommage_bad', 'basket'])
        return None
    items = []
    for text in prims.slice_list(fields, 4, None):
        if len(items) >= MAX_ITEMS:
            break
        line = {}
        for pair in urls.query_params(text):
            line[pair[0]] = pair[1]
        prims.append(items, {'product_id': prims.read_key(line, 'i'), 'variant_id': prims.read_key(line, 'v'),
                             'quantity': number(prims.read_key(line, 'q')), 'price': number(prims.read_key(line, 't'))})
    link = cart_link(origin, fields[0], fields[3]) if len(fields[0]) > 0 and len(fields[3]) > 0 else None
    return {'kind': 'basket', 'basket': {'id': fields[0], 'total': number(fields[1]), 'currency': fields[2], 'url': link,
                                         'items': items}}


def number(text):
    """The number PHP wrote (`129.0000`, `2`), or None."""
    return prims.parse_decimal(text) if prims.is_string(text) else None


def commands(value, origin, notes):
    """The commands of cookie `value` (see the module docstring); `origin` is the page's
    (`https://shop.example`), for the basket's deep link."""
    found = []
    if not prims.is_string(value) or len(value) == 0:
        return found
    if len(value) > MAX_COOKIE_LENGTH:
        journal.noted(notes, ['ommage_long', len(value)])
        return found
    for command in prims.split_text(urls.decode_component(value), ';'):
        if len(found) >= MAX_COMMANDS:
            journal.noted(notes, ['ommage_many', MAX_COMMANDS])
            break
        fields = prims.split_text(command, ':')
        kind = fields[0]
        rest = prims.slice_list(fields, 1, None)
        if kind == 'basket':
            basket = basket_command(rest, origin, notes)
            if basket != None:
                prims.append(found, basket)
        elif kind == 'identify' and len(rest) >= 2:
            email = None
            for pair in urls.query_params(prims.join(prims.slice_list(rest, 1, None), ':')):
                if pair[0] == 'e':
                    email = pair[1]
            prims.append(found, {'kind': 'identify', 'email': email})
        elif kind == 'trans' and len(rest) >= 1 and len(rest[0]) > 0:
            prims.append(found, {'kind': 'transaction', 'order_id': rest[0]})
        elif len(command) > 0:
            journal.noted(notes, ['ommage_bad', prims.substring(kind, 0, 20)])
    return found
