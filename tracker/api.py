"""The public facade: the functions published on `window.ometria`, with the exact names stores
call. Each one delegates inside a guard: whatever goes wrong inside the tag, or whatever a store
passes, the call returns normally and at worst leaves a warning in the journal (the debug overlay
shows it). Missing arguments arrive as `undefined`, which the engine treats like null. `Basket`
is the class itself (`new ometria.Basket()`).

Published names: `PUBLIC_NAMES`, the documented calls first, then the deployed tag's others. The
tag also sets `ometria.basket` (the last basket given).
"""

from tracker import basket

PUBLIC_NAMES = ['init', 'identify', 'Basket', 'setBasket', 'getBasket', 'trackAddToBasket',
                'trackCheckout', 'trackTransaction', 'track', 'setProfileData', 'viewProduct', 'setPageType',
                'setPageData', 'getIdentity', 'isNewVisitor', 'linkSession', 'observeEmailInputs', 'setDebugLogging',
                '_debug', 'ajaxFormSubmit', 'request', 'setConsent', 'forget']


def guarded(name, call, journal):
    """`call` as a published function named `name`: it returns what `call` returns, or, when the
    tag fails inside, nothing (and a warning)."""
    def run(a, b, c):
        try:
            return call(a, b, c)
        except:
            try:
                journal.warn(['internal_error', name])
            except:  # never let the report itself throw
                pass
            return None
    return run


def make_api(page, journal):
    """The public functions of `page` (a `page.Page`), keyed by their published names: the verbs
    of its engine, and the calls that act on the page rather than record (`observeEmailInputs`,
    `setDebugLogging`, `setConsent`, `forget`).

    The documented calls: `init(pageType, pageData, storeId)` (`init()` re-reads the data layer),
    `identify(email, profile)`, `setBasket(basket)`, `getBasket()`, `trackAddToBasket(productId,
    quantity, extra)`, `trackCheckout(stage, extra)`, `trackTransaction(orderId, extra)`.
    The deployed tag's others: `track(type, data, callback)`, `setProfileData(obj)`,
    `viewProduct(pid)`, `setPageType(t)`, `setPageData(obj)`, `getIdentity()`, `isNewVisitor()`,
    `linkSession(bool)`, `observeEmailInputs(selector)`, `setDebugLogging(bool)`, `_debug()`;
    `ajaxFormSubmit` and `request` (a newsletter form posted to Ometria's own API) do nothing but
    warn. Consent and privacy: `setConsent(bool)`, `forget()`."""
    def unsupported(name):
        return guarded(name, lambda a, b, c: journal.warn(['unsupported', name]), journal)

    engine = page.engine
    return {
        'init': guarded('init', lambda a, b, c: engine.init(a, b, c), journal),
        'identify': guarded('identify', lambda a, b, c: engine.identify(a, b, 'call'), journal),
        'Basket': basket.Basket,
        'setBasket': guarded('setBasket', lambda a, b, c: engine.set_basket(a), journal),
        'getBasket': guarded('getBasket', lambda a, b, c: engine.get_basket(), journal),
        'trackAddToBasket': guarded('trackAddToBasket', lambda a, b, c: engine.add_to_basket(a, b, c), journal),
        'trackCheckout': guarded('trackCheckout', lambda a, b, c: engine.checkout(a, b), journal),
        'trackTransaction': guarded('trackTransaction', lambda a, b, c: engine.transaction(a, b), journal),
        'track': guarded('track', lambda a, b, c: engine.track(a, b, c), journal),
        'setProfileData': guarded('setProfileData', lambda a, b, c: engine.set_profile_data(a), journal),
        'viewProduct': guarded('viewProduct', lambda a, b, c: engine.view_product(a), journal),
        'setPageType': guarded('setPageType', lambda a, b, c: engine.set_page_type(a), journal),
        'setPageData': guarded('setPageData', lambda a, b, c: engine.set_page_data(a), journal),
        'getIdentity': guarded('getIdentity', lambda a, b, c: engine.get_identity(), journal),
        'isNewVisitor': guarded('isNewVisitor', lambda a, b, c: engine.is_new_visitor(), journal),
        'linkSession': guarded('linkSession', lambda a, b, c: engine.link_session(a), journal),
        'observeEmailInputs': guarded('observeEmailInputs', lambda a, b, c: page.observe_inputs(a), journal),
        'setDebugLogging': guarded('setDebugLogging', lambda a, b, c: page.set_debug(a), journal),
        '_debug': guarded('_debug', lambda a, b, c: engine.snapshot(), journal),
        'ajaxFormSubmit': unsupported('ajaxFormSubmit'),
        'request': unsupported('request'),
        'setConsent': guarded('setConsent', lambda a, b, c: page.set_consent(a), journal),
        'forget': guarded('forget', lambda a, b, c: page.forget(), journal),
    }
