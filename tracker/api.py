"""The public facade: the functions published on `window.ometria`, with the exact names stores
call. Each one delegates to the engine inside a guard: whatever goes wrong inside the tag, or
whatever a store passes, the call returns normally and at worst shows a warning in the debug
overlay. Missing arguments arrive as `undefined`, which the engine treats like null.

Published names (`PUBLIC_NAMES`): init, identify, Basket, setBasket, getBasket, trackAddToBasket,
trackCheckout, trackTransaction. The tag also sets `ometria.basket` (the last basket given).
"""

from tracker import doctor

PUBLIC_NAMES = ['init', 'identify', 'Basket', 'setBasket', 'getBasket', 'trackAddToBasket',
                'trackCheckout', 'trackTransaction']


def make_api(engine, debug):
    """The public functions, keyed by their published names."""

    def failed(call):
        try:
            debug['warn'](doctor.internal_error(call))
        except:  # noqa: E722 -- never let the report itself throw
            pass

    def init(page_type, page_data, store_id):
        """Record a pageview: `init(pageType, pageData, storeId)`; `init()` re-reads raw_data."""
        try:
            engine['init'](page_type, page_data, store_id)
        except:  # noqa: E722
            failed('init')

    def identify(email, profile):
        """Identify the visitor by email address or `omid:<id>`; sent only when it changes."""
        try:
            engine['identify'](email, profile)
        except:  # noqa: E722
            failed('identify')

    def Basket():  # noqa: N802 -- the published constructor name
        """A new basket: `new ometria.Basket()`."""
        try:
            return engine['new_basket']()
        except:  # noqa: E722
            failed('Basket')
            return None

    def setBasket(basket):  # noqa: N802
        """Record the basket when it changed since the last one sent in this session."""
        try:
            engine['set_basket'](basket)
        except:  # noqa: E722
            failed('setBasket')

    def getBasket():  # noqa: N802
        """The last basket given to setBasket, or null."""
        try:
            return engine['get_basket']()
        except:  # noqa: E722
            return None

    def trackAddToBasket(product_id, quantity):  # noqa: N802
        """Record an add-to-basket click; quantity defaults to 1."""
        try:
            engine['add_to_basket'](product_id, quantity)
        except:  # noqa: E722
            failed('trackAddToBasket')

    def trackCheckout(stage):  # noqa: N802
        """Record a checkout step (a number or a name), as given."""
        try:
            engine['checkout'](stage)
        except:  # noqa: E722
            failed('trackCheckout')

    def trackTransaction(order_id):  # noqa: N802
        """Record an order (its order id, or web id), once."""
        try:
            engine['transaction'](order_id)
        except:  # noqa: E722
            failed('trackTransaction')

    return {
        'init': init,
        'identify': identify,
        'Basket': Basket,
        'setBasket': setBasket,
        'getBasket': getBasket,
        'trackAddToBasket': trackAddToBasket,
        'trackCheckout': trackCheckout,
        'trackTransaction': trackTransaction,
    }
