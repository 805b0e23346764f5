"""The wire contract's limits and patterns, written once: the tag reads them (compiled with it) and
the collector's models (`collector/models.py`) build the contract from them, so what the tag
sends always validates and nothing else does. A test fails when either side keeps a copy.

Patterns are written in the regular-expression syntax Python's `re`, JavaScript's `RegExp` and
JSON Schema share, without anchors (`anchored()` adds them). Those of values the collector keeps in a column of its own
(identities, visitor ids) admit no control character: a NUL is refused by PostgreSQL's text.

Pure: imports nothing.
"""

MAX_EVENTS_PER_BATCH = 100
MAX_BODY_BYTES = 64 * 1024
MAX_ID_LENGTH = 256
MAX_URL_LENGTH = 4096
MAX_PAGE_TYPE_LENGTH = 64
MAX_CUSTOM_TYPE_LENGTH = 32
MAX_CURRENCY_LENGTH = 16
MAX_STAGE_LENGTH = 128
MAX_BASKET_ITEMS = 200
MAX_QUANTITY = 1000000
MAX_IDENTITY_LENGTH = 320
MAX_SOURCE_FIELD_LENGTH = 256

# Something@something.tld, no spaces: the shape of an address, not RFC 5322.
EMAIL_SOURCE = '[^\\s@\\x00-\\x1f\\x7f]+@[^\\s@\\x00-\\x1f\\x7f]+[.][^\\s@\\x00-\\x1f\\x7f]+'
# An Ometria profile id, written `omid:<id>`.
PROFILE_ID_SOURCE = 'omid:[^\\s\\x00-\\x1f\\x7f]+'
# Account ids: they become file names and URL path segments, so nothing else is allowed.
ACCOUNT_ID_SOURCE = '[A-Za-z0-9_-]{1,64}'
# Visitor and session ids (the tag makes UUIDs; older tags' ids are kept when they fit).
VISITOR_ID_SOURCE = '[A-Za-z0-9_-]{1,64}'


# How an identity was learned (an identify event's `via`): the store's `ometria.identify` call, the
# landing URL of an email click (`om_user`...), a form field, Magento's `ommage` cookie, a platform
# data layer, the Shopify checkout pixel. Receivers of triggers weigh identities by it.
IDENTIFY_CHANNELS = ['call', 'url', 'form', 'ommage', 'datalayer', 'pixel']
# The inputs of a person whose first in a session sends the `human` event (its `input`): evidence
# that someone looked at the page, which a trigger needs when the session saw one page only.
HUMAN_INPUTS = ['pointerdown', 'keydown', 'touchstart', 'scroll']


def anchored(source):
    """`source` matching a whole string."""
    return '^' + source + '$'
