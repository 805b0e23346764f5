"""Why msgspec: validating a typical batch (10 events of mixed types) with the collector's msgspec
models and with equivalent pydantic v2 models, on this machine."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Literal, Optional, Union

import common  # noqa: F401 -- puts the project on sys.path
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from collector.validation import check_batch
from tests.support.contract import body, event
from tracker import limits

ROUNDS = 3000


class P(BaseModel):
    model_config = ConfigDict(extra='forbid')
    id: Annotated[str, Field(pattern=r'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')]
    ts: Annotated[int, Field(ge=0)]
    cid: Annotated[str, Field(pattern=limits.anchored(limits.VISITOR_ID_SOURCE))]
    sid: Annotated[str, Field(pattern=limits.anchored(limits.VISITOR_ID_SOURCE))]
    uid: Optional[Annotated[str, Field(max_length=320)]]
    url: Annotated[str, Field(max_length=4096)]
    store_id: Optional[Annotated[str, Field(min_length=1, max_length=256)]]


class Pageview(P):
    type: Literal['pageview']
    page_type: Optional[str]
    page_data: dict[str, Any]
    referrer: Optional[str]


class Identify(P):
    type: Literal['identify']
    email: str
    profile: Optional[dict[str, Any]]


class Item(BaseModel):
    model_config = ConfigDict(extra='forbid')
    product_id: Annotated[str, Field(min_length=1, max_length=256)]
    quantity: Annotated[int, Field(ge=1)]
    price: Optional[float]
    variant_id: Optional[str]
    props: Optional[dict[str, Any]] = None


class BasketModel(BaseModel):
    model_config = ConfigDict(extra='forbid')
    id: Optional[str]
    currency: Optional[str]
    total: Optional[float]
    url: Optional[str]
    size: int
    items: list[Item]


class Setbasket(P):
    type: Literal['setbasket']
    basket: BasketModel


class Addtobasket(P):
    type: Literal['addtobasket']
    product_id: Annotated[str, Field(min_length=1, max_length=256)]
    quantity: Annotated[int, Field(ge=1)]


class Checkout(P):
    type: Literal['checkout']
    stage: Union[str, int, float]


class Transaction(P):
    type: Literal['transaction']
    order_id: str


EventModel = Annotated[Union[Pageview, Identify, Setbasket, Addtobasket, Checkout, Transaction], Field(discriminator='type')]


class Envelope(BaseModel):
    model_config = ConfigDict(extra='forbid')
    v: Literal[1]
    account: str
    sent_at: int
    events: list[Any]


event_adapter = TypeAdapter(EventModel)


def pydantic_batch(data: bytes) -> int:
    envelope = Envelope.model_validate_json(data)
    valid = 0
    for raw in envelope.events:
        event_adapter.validate_python(raw)
        json.dumps(raw)  # the row to store
        valid += 1
    return valid


def run(rounds: int = ROUNDS) -> dict:
    kinds = ['pageview', 'identify', 'setbasket', 'addtobasket', 'addtobasket', 'checkout', 'transaction',
             'pageview', 'setbasket', 'addtobasket']
    data = body([event(kind) for kind in kinds])
    accounts = {'shop'}
    assert len(check_batch(data, accounts).events) == 10 and pydantic_batch(data) == 10
    results = {}
    for name, function in (('msgspec', lambda: check_batch(data, accounts)), ('pydantic', lambda: pydantic_batch(data))):
        function()
        started = time.perf_counter()
        for _ in range(rounds):
            function()
        results[name] = round((time.perf_counter() - started) / rounds * 1e6, 1)
    return {'us_per_10_event_batch': results, 'ratio_pydantic_over_msgspec': round(results['pydantic'] / results['msgspec'], 2)}


if __name__ == '__main__':
    print(run())
