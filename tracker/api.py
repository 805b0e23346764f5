"""The public facade: the functions published on `window.ometria`, with the exact names stores
call. Each one delegates to the engine inside a guard: whatever goes wrong inside the tag, or
whatever a store passes, the call returns normally and at worst leaves a warning in the journal
(the debug overlay shows it). Missing arguments arrive as `undefined`, which the engine treats
like null. `Basket` is the class itself (`new ometria.Basket()`).

Published names: `PUBLIC_NAMES`. The tag also sets `ometria.basket` (the last basket given).
"""

from tracker import basket

PUBLIC_NAMES = ['init', 'identify', 'Basket', 'setBasket', 'getBasket', 'trackAddToBasket',
                'trackCheckout', 'trackTransaction']


def guarded(name, call, journal):
    """`call` as a published function named `name`: it returns what `call` returns, or, when the
    tag fails inside, nothing (and a warning)."""
    def run(a, b, c):
        try:
            return call(a, b, c)
        except:  # noqa: E722
            try:
                journal.warn(['internal_error', name])
            except:  # noqa: E722 -- never let the report itself throw
                pass
            return None
    return run


def make_api(engine, journal):
    """The public functions, keyed by their published names:
    - `init(pageType, pageData, storeId)`: a pageview (`init()` re-reads the data layer);
    - `identify(email, profile)`: the visitor, by email or `omid:<id>`, sent when it changes;
    - `setBasket(basket)`: the basket, sent when it changed in this session; `getBasket()`;
    - `trackAddToBasket(productId, quantity)`, `trackCheckout(stage)`, `trackTransaction(orderId)`."""
    return {
        'init': guarded('init', lambda a, b, c: engine.init(a, b, c), journal),
        'identify': guarded('identify', lambda a, b, c: engine.identify(a, b), journal),
        'Basket': basket.Basket,
        'setBasket': guarded('setBasket', lambda a, b, c: engine.set_basket(a), journal),
        'getBasket': guarded('getBasket', lambda a, b, c: engine.get_basket(), journal),
        'trackAddToBasket': guarded('trackAddToBasket', lambda a, b, c: engine.add_to_basket(a, b), journal),
        'trackCheckout': guarded('trackCheckout', lambda a, b, c: engine.checkout(a), journal),
        'trackTransaction': guarded('trackTransaction', lambda a, b, c: engine.transaction(a), journal),
    }
