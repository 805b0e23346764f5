"""The wire contract as msgspec models: the envelope, the ten event types, the basket.

These models are the contract's source of truth: `collector/contract.schema.json` is generated
from them (`python -m collector.schema`; a test fails when the committed file differs), and the
tag's tests validate what the tag sends against that schema.

Limits and patterns come from the one table both halves read (`tracker/limits.py`): an event the
tag can send always validates, and anything else is set aside.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from tracker import limits

__all__ = [
    'ACCOUNT_ID_RE',
    'Addtobasket',
    'Basket',
    'BasketItem',
    'Checkout',
    'Custom',
    'Envelope',
    'Event',
    'EVENT_TYPES',
    'Human',
    'Identify',
    'MAX_BODY_BYTES',
    'MAX_EVENTS_PER_BATCH',
    'Pageview',
    'Profile',
    'Setbasket',
    'Source',
    'Transaction',
    'Viewproduct',
]

MAX_BODY_BYTES = limits.MAX_BODY_BYTES
MAX_EVENTS_PER_BATCH = limits.MAX_EVENTS_PER_BATCH
MAX_TIME_MS = 2**53 - 1


def whole(pattern: str) -> str:
    """`pattern` anchored to match a whole string, in Python and in JSON Schema (ECMAScript)
    alike: Python's `$` also matches before a final newline, so `(?!\\n)` forbids one there
    (`"<uuid>\\n"` is not an id)."""
    return '^' + pattern + r'(?!\n)$'


ACCOUNT_ID_RE = whole(limits.ACCOUNT_ID_SOURCE)
UUID_V4_RE = whole(r'[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}')
VISITOR_ID_RE = whole(limits.VISITOR_ID_SOURCE)
# An email address (something@something.tld, no spaces) or an Ometria profile id `omid:<id>`;
# the same rule as tracker/identity.py, from the same table.
IDENTITY_RE = whole('(' + limits.EMAIL_SOURCE + '|' + limits.PROFILE_ID_SOURCE + ')')

AccountId = Annotated[str, Meta(pattern=ACCOUNT_ID_RE, description='the account the tag was built for')]
TimeMs = Annotated[int, Meta(ge=0, le=MAX_TIME_MS, description='milliseconds since the epoch')]
Id = Annotated[str, Meta(min_length=1, max_length=limits.MAX_ID_LENGTH)]
Url = Annotated[str, Meta(max_length=limits.MAX_URL_LENGTH)]
Identity = Annotated[str, Meta(pattern=IDENTITY_RE, max_length=limits.MAX_IDENTITY_LENGTH)]
VisitorId = Annotated[str, Meta(pattern=VISITOR_ID_RE)]
Quantity = Annotated[int, Meta(ge=1, le=limits.MAX_QUANTITY)]
Money = Union[float, None]
JsonObject = dict[str, Any]


class Envelope(Struct, forbid_unknown_fields=True):
    """One request: a batch of events, oldest first. The events are checked one by one, so that a
    single bad event is set aside without costing the rest of the batch."""

    v: Literal[1]
    account: AccountId
    sent_at: TimeMs
    events: list[msgspec.Raw]


class _Required(Struct, forbid_unknown_fields=True, tag_field='type'):
    """Fields every event carries."""

    id: Annotated[str, Meta(pattern=UUID_V4_RE, description='UUID v4, kept through retries')]
    ts: TimeMs
    cid: VisitorId
    sid: VisitorId
    uid: Union[Identity, None]
    url: Url
    store_id: Union[Id, None]


SourceField = Annotated[str, Meta(min_length=1, max_length=limits.MAX_SOURCE_FIELD_LENGTH)]


class _Event(_Required, kw_only=True):
    """`linked`: present (true) once `ometria.linkSession(true)` marked the session as linked to
    a server-side session. `ecamp`: present when the session's source was set by a landing URL
    with `om_campaign=<id>` (an Ometria email): that id, on every event of the session, whatever
    `utm_*` said (the deployed tag's `ecamp`). `automated`: present (true) when the page ran in an
    automated browser (`navigator.webdriver` and the like): its session starts no trigger."""

    linked: Union[bool, UnsetType] = UNSET
    ecamp: Union[SourceField, UnsetType] = UNSET
    automated: Union[Literal[True], UnsetType] = UNSET


# The optional last argument of trackAddToBasket / trackCheckout / trackTransaction.
Extra = Union[JsonObject, UnsetType]


SourceText = Union[Annotated[str, Meta(max_length=limits.MAX_SOURCE_FIELD_LENGTH)], None]


class Source(Struct, forbid_unknown_fields=True):
    """Where a session came from (the deployed tag's `domain|term|medium|campaign|source|content|day`)."""

    domain: SourceText
    term: SourceText
    medium: SourceText
    campaign: SourceText
    source: SourceText
    content: SourceText
    day: SourceText


class Pageview(_Event, tag='pageview'):
    page_type: Union[Annotated[str, Meta(min_length=1, max_length=limits.MAX_PAGE_TYPE_LENGTH)], None]
    page_data: JsonObject
    referrer: Union[Url, None]
    source: Union[Source, None, UnsetType] = UNSET
    first_source: Union[Source, None, UnsetType] = UNSET


IdentifyChannel = Literal[tuple(limits.IDENTIFY_CHANNELS)]


class Identify(_Event, tag='identify'):
    """`via`: how the identity was learned (`tracker/limits.py` IDENTIFY_CHANNELS); absent from
    older tags (then: unknown)."""

    email: Identity
    profile: Union[JsonObject, None]
    via: Union[IdentifyChannel, UnsetType] = UNSET


class BasketItem(Struct, forbid_unknown_fields=True):
    product_id: Id
    quantity: Quantity
    price: Money
    variant_id: Union[Id, None]
    props: Union[JsonObject, UnsetType] = UNSET


class Basket(Struct, forbid_unknown_fields=True):
    id: Union[Id, None]
    currency: Union[Annotated[str, Meta(min_length=1, max_length=limits.MAX_CURRENCY_LENGTH)], None]
    total: Money
    url: Union[Url, None]
    size: Annotated[int, Meta(ge=0)]
    items: Annotated[list[BasketItem], Meta(max_length=limits.MAX_BASKET_ITEMS)]
    data: Union[JsonObject, UnsetType] = UNSET
    properties: Union[JsonObject, UnsetType] = UNSET


class Setbasket(_Event, tag='setbasket'):
    basket: Basket


class Addtobasket(_Event, tag='addtobasket'):
    product_id: Id
    quantity: Quantity
    extra: Extra = UNSET


class Checkout(_Event, tag='checkout'):
    stage: Union[Annotated[str, Meta(min_length=1, max_length=limits.MAX_STAGE_LENGTH)], int, float]
    extra: Extra = UNSET


class Transaction(_Event, tag='transaction'):
    order_id: Id
    extra: Extra = UNSET


class Custom(_Event, tag='custom'):
    """`ometria.track(type, data)`: a store's own event."""

    custom_type: Annotated[str, Meta(min_length=1, max_length=limits.MAX_CUSTOM_TYPE_LENGTH)]
    data: JsonObject


class Profile(_Event, tag='profile'):
    """`ometria.setProfileData(obj)`: data about the identified visitor."""

    uid: Identity
    profile: JsonObject


class Viewproduct(_Event, tag='viewproduct'):
    """`ometria.viewProduct(pid)`: a product seen outside its own page (quick view, carousel)."""

    product_id: Id


class Human(_Event, tag='human'):
    """The first input of a person in a session (`input`: tracker/limits.py HUMAN_INPUTS), sent
    once per session: the evidence a session of one page needs to start a trigger."""

    input: Literal[tuple(limits.HUMAN_INPUTS)]


Event = Union[Pageview, Identify, Setbasket, Addtobasket, Checkout, Transaction, Custom, Profile, Viewproduct, Human]
# The one list of event types: every other list (the live page, the tests' factories) derives from it.
EVENT_TYPES = tuple(member.__struct_config__.tag for member in Event.__args__)
