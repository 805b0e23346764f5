"""The public facade: the functions published on `window.ometria`, with the exact names stores
call. Each one delegates inside a guard: whatever goes wrong inside the tag, or whatever a store
passes, the call returns normally and at worst leaves a warning in the journal (the debug overlay
shows it). Missing arguments arrive as `undefined`, which the engine treats like null. `Basket`
is the class itself (`new ometria.Basket()`).

Published names: the keys of `make_api`'s answer, in order: the documented calls first, then the
deployed tag's others. The tag also sets `ometria.basket` (the last basket given).
"""

from tracker import basket, journal, prims


def guarded(name, call, page_journal):
    """`call` as a published function named `name`: it returns what `call` returns, or, when the
    tag fails inside, nothing (and a warning). A call of None is one this tag does not support:
    it only warns."""
    def run(a, b, c):
        try:
            if call == None:
                journal.warn(page_journal, ['unsupported', name])
                return None
            return call(a, b, c)
        except:
            try:
                journal.warn(page_journal, ['internal_error', name])
            except:  # never let the report itself throw
                pass
            return None
    return run


# The calls that answer with a value (while a tag hands over to its journaled twin, main.py, a
# call is queued and answers nothing; the twin says so in the overlay).
ANSWERING_CALLS = ['getBasket', 'getIdentity', 'isNewVisitor', '_debug']


def make_api(page, page_journal):
    """The public functions of `page` (a `page.Page`), keyed by their published names, in the
    order they are published: the documented calls first, then the deployed tag's others; the
    verbs of its engine, and the calls that act on the page rather than record
    (`observeEmailInputs`, `setDebugLogging`, `setConsent`, `forget`).

    The documented calls: `init(pageType, pageData, storeId)` (`init()` re-reads the data layer),
    `identify(email, profile)`, `setBasket(basket)`, `getBasket()`, `trackAddToBasket(productId,
    quantity, extra)`, `trackCheckout(stage, extra)`, `trackTransaction(orderId, extra)`.
    The deployed tag's others: `track(type, data, callback)`, `setProfileData(obj)`,
    `viewProduct(pid)`, `setPageType(t)`, `setPageData(obj)`, `getIdentity()`, `isNewVisitor()`,
    `linkSession(bool)`, `observeEmailInputs(selector)`, `setDebugLogging(bool)`, `_debug()`;
    `ajaxFormSubmit` and `request` (a newsletter form posted to Ometria's own API) do nothing but
    warn. Consent and privacy: `setConsent(bool)`, `forget()`."""
    engine = page.engine
    calls = {
        'init': lambda a, b, c: engine.init(a, b, c),
        'identify': lambda a, b, c: engine.identify(a, b, 'call'),
        'Basket': None,
        'setBasket': lambda a, b, c: engine.set_basket(a),
        'getBasket': lambda a, b, c: engine.get_basket(),
        'trackAddToBasket': lambda a, b, c: engine.add_to_basket(a, b, c),
        'trackCheckout': lambda a, b, c: engine.checkout(a, b),
        'trackTransaction': lambda a, b, c: engine.transaction(a, b, None),
        'track': lambda a, b, c: engine.track(a, b, c),
        'setProfileData': lambda a, b, c: engine.set_profile_data(a),
        'viewProduct': lambda a, b, c: engine.view_product(a),
        'setPageType': lambda a, b, c: engine.set_page_type(a),
        'setPageData': lambda a, b, c: engine.set_page_data(a),
        'getIdentity': lambda a, b, c: engine.get_identity(),
        'isNewVisitor': lambda a, b, c: engine.is_new_visitor(),
        'linkSession': lambda a, b, c: engine.link_session(a),
        'observeEmailInputs': lambda a, b, c: page.observe_inputs(a),
        'setDebugLogging': lambda a, b, c: page.set_debug(a),
        '_debug': lambda a, b, c: engine.snapshot(),
        'ajaxFormSubmit': None,
        'request': None,
        'setConsent': lambda a, b, c: page.set_consent(a),
        'forget': lambda a, b, c: page.forget(),
    }
    published = {}
    for name in prims.keys_of(calls):
        published[name] = guarded(name, calls[name], page_journal)
    published['Basket'] = basket.Basket
    return published
