"""The storage key scheme, in one place: everything the tag keeps in `localStorage` is under
`ometria:<account>:<name>`, so two accounts on one site (or two stores on one domain) never share a
value, and one prefix finds them all (`ometria.forget()` and consent withdrawal clear them).

Names in use (NAMES): `uid` (the identity), `basket` (the last basket sent: session and
fingerprint), `orders` (order ids recorded), `cart` (the Shopify cart given the visitor id, and that
id), `human` (the session whose person was seen), `source` (the session's source and campaign),
`first_source`, `retry` (the delivery's backoff), `drops` (events dropped, by rule); and, beside
them, `q:<page id>` (each page's outbox, QUEUE) and `pixel` (the keys the Shopify checkout pixel
wrote beyond NAMES: it cannot list storage, `sandbox.py`).

Pure: imports nothing.
"""

PREFIX = 'ometria:'
# The fixed names: the one list (a test finds every name the tag stores under in it).
NAMES = ['uid', 'basket', 'orders', 'cart', 'human', 'source', 'first_source', 'retry', 'drops']
QUEUE = 'q:'
PIXEL_INDEX = 'pixel'


def account_prefix(account_id):
    """The prefix of every key of `account_id`."""
    return PREFIX + account_id + ':'


def storage_key(account_id, name):
    """The key of `name` for `account_id`."""
    return account_prefix(account_id) + name
