"""One page's tag: the composition root. It builds the delivery, the engine and the public API,
and owns the page's lifecycle as handlers that the browser edge (`main.py`) binds to the page's
events, and that the CPython tests call in the same order.

`Page(env, target, settings, journal)`, then `start()`:
1. publishes the API's functions on `target` (the public `ometria` object), replacing any stub
   of the same name and keeping every other property;
2. starts delivery (adopting what earlier pages left) and the engine (session, identity);
3. initialises the page from a `raw_data` data layer, if `target` holds one;
4. calls `target.onLoad()` once, then the page's `onOmetriaLoaded()`; what they throw becomes a
   warning, and what they did before throwing stands.

Lifecycle: `loaded()` (the page's `load`: the page settles SETTLE_DELAY_MS later: calls still
held for want of an `init` are released, the doctor's end-of-page checks run); `left()`
(`pagehide`: settle, then send what is pending by beacon); `hidden()` / `shown()`
(`visibilitychange`); `restored()` (back from the back/forward cache); `online()`.

`settings`: 'account_id', 'collector_url', 'cookie_domain'. Pure: everything from the browser
arrives in `env`.
"""

from tracker import api, delivery, engine, prims

SETTLE_DELAY_MS = 2000


class Page:
    """The tag on one page; see the module docstring."""

    def __init__(self, env, target, settings, journal):
        self._env = env
        self._target = target
        self._journal = journal
        self.delivery = delivery.Delivery(env, settings['account_id'], settings['collector_url'],
                                          lambda ids, state: journal.state(ids, state))

        def publish(name, value):
            target[name] = value

        self.engine = engine.Engine(env, settings, self.delivery, journal, publish)
        self._api = api.make_api(self.engine, journal)

    def start(self):
        for name in api.PUBLIC_NAMES:
            self._target[name] = self._api[name]
        self.delivery.start()
        self.engine.start()
        raw = self._env.raw_data()
        if raw != None:
            try:
                self.engine.init_from_data_layer(raw)
            except:  # noqa: E722 -- never let a data layer break the start
                self._journal.warn(['internal_error', 'init'])
        self._run_hooks()

    def _run_hooks(self):
        """`target.onLoad()`, then `onOmetriaLoaded()`, each guarded."""
        hook = prims.read_key(self._target, 'onLoad')
        if prims.is_function(hook):
            problem = self._env.call_method(self._target, hook)
            if problem != None:
                self._journal.warn(['onload_failed', problem])
        loaded = self._env.global_function('onOmetriaLoaded')
        if loaded != None:
            problem = self._env.call_method(None, loaded)
            if problem != None:
                self._journal.warn(['onloaded_failed', problem])

    def settle(self):
        self.engine.settle()

    def loaded(self):
        self._env.set_timer(lambda: self.settle(), SETTLE_DELAY_MS)

    def left(self):
        self.settle()
        self.delivery.unload(True)

    def hidden(self):
        self.delivery.unload(False)

    def shown(self):
        self.delivery.resume()

    def restored(self):
        self.delivery.resume()

    def online(self):
        self.delivery.online()
