"""One page's tag: the composition root. It builds the delivery, the engine and the public API,
and owns the page's lifecycle as handlers that the browser edge (`main.py`) binds to the page's
events, and that the CPython tests call in the same order.

`Page(env, hooks, target, settings, page_journal)`, then `start()`:
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

Consent (`consent.py`): an account that requires it starts PENDING unless the shopper's choice
is remembered: the env holds cookies and storage in memory and delivery holds the events, so
nothing identifies the browser and nothing leaves the page while the page's calls go on as
usual. A grant (`ometria.setConsent(true)`, or the account's consent tool) writes what was held
and sends the held events, with their ids and times, as if consent had come before the page
loaded; a refusal drops them and keeps the tag silent; withdrawing a grant also deletes the
visitor cookie, the outbox and everything stored (`forget`).

Forms: with the account's opt-in (`identify_forms`), a valid email address typed into an
email-like field of any form (on change, or when the form is submitted; never a password field)
identifies the visitor. (In debug mode, the debug module warns about a form holding an email that
is submitted with no identify following it: the broken hook shows the moment it breaks.) Known
signup forms (Mailchimp's, Ometria's hosted form, Wunderkind overlays, a checkout's email:
`signups.py`) identify without the opt-in, where the account's platform brings them.

`settings`: 'account_id', 'collector_url', 'cookie_domain', 'identify_forms', 'consent'. Pure:
everything from the browser arrives in `env` (the environment: `browser.py`) and `hooks` (what
the page's own code offers: `browser_hooks.py`).
"""

from tracker import api, consent, delivery, engine, features, journal, keys, prims, session, signups

SETTLE_DELAY_MS = 2000
DEBUG_COOKIE = 'om_debug'
DEBUG_COOKIE_MAX_AGE_S = 24 * 3600


class Page:
    """The tag on one page; see the module docstring."""

    def __init__(self, env, hooks, target, settings, page_journal):
        self._env = env
        self._hooks = hooks
        self._target = target
        self._journal = page_journal
        self.delivery = delivery.Delivery(env, settings['account_id'], settings['collector_url'],
                                          lambda ids, state: journal.state(page_journal, ids, state))

        def publish(name, value):
            target[name] = value

        self.engine = engine.Engine(env, hooks, settings, self.delivery, page_journal, publish)
        # Compared here, not where the setting is defined: a comparison with the sentinel's own text
        # would be folded away by the minifier before the setting is stamped in.
        self._identify_forms = settings['identify_forms'] == '1'
        self.account = settings['account_id']
        self._cookie_domain = settings['cookie_domain']
        self._consent = consent.settings_from(settings['consent'])
        self._consent_cookie = consent.cookie_name(env.href())
        self._consent_state = consent.GRANTED
        self._api = api.make_api(self, page_journal)

    def public_names(self):
        """The names the API is published under, in order."""
        return prims.keys_of(self._api)

    def published(self):
        """The API's functions by published name."""
        return self._api

    def queueing(self, name, boot):
        """What to publish as `name` while the journaled twin loads (main.py): a function that
        queues its call in `boot['calls']` until a tag runs (`boot['api']`), then calls it (the
        `Basket` class itself, which stores use at once)."""
        if name == 'Basket':
            return self._api[name]

        def queued(a, b, c):
            running = boot['api']
            if running == None:
                prims.append(boot['calls'], [name, a, b, c])
                return  # undefined, as the doctor's note says
            return running[name](a, b, c)
        return queued

    def replay(self, call):
        """One call queued while the twin loaded: `[name, a, b, c]`, or `['loaded_twice']` (the
        tag was included again meanwhile)."""
        if call[0] == 'loaded_twice':
            journal.warn(self._journal, ['loaded_twice'])
            return
        self._api[call[0]](call[1], call[2], call[3])
        if features.JOURNAL and prims.find_item(api.ANSWERING_CALLS, call[0]) >= 0:
            # Its answer came too late for the page: say so, rather than leave it puzzled.
            journal.warn(self._journal, ['answered_late', call[0]])

    def start(self):
        for name in prims.keys_of(self._api):
            self._target[name] = self._api[name]
        if features.CONSENT and self._consent['required']:
            self._start_pending()
        self.delivery.start()
        self.engine.start()
        verbs = self.engine
        self._hooks.watch_input(lambda kind: verbs.human(kind))
        self._watch_forms()
        self._watch_signups()
        if features.CONSENT and self._consent['required'] and len(self._consent['tool']) > 0:
            self._watch_consent_tool()
        raw = self._hooks.raw_data() if features.MAGENTO or features.SHOPIFY else None
        if raw != None:
            try:
                self.engine.init_from_data_layer(raw)
            except:  # never let a data layer break the start
                journal.warn(self._journal, ['internal_error', 'init'])
        self._run_hooks()

    def _start_pending(self):
        """A consent-required account starts in the remembered choice, else pending (or denied
        under Global Privacy Control): while not granted, cookies and storage are held in memory."""
        if not features.CONSENT:
            return
        env = self._env
        own = env.read_cookie(self._consent_cookie)
        shared = env.read_cookie(consent.COOKIE_NAME) if self._consent_cookie != consent.COOKIE_NAME else None
        state = consent.initial_state(self._consent, consent.remembered_choice(own, shared), self._hooks.gpc())
        self._consent_state = state
        if state != consent.GRANTED:
            env.hold()
            if state == consent.PENDING:
                self.delivery.hold()
            else:
                self.delivery.refuse()
        journal.line(self._journal, 'consent', [state], None)

    def _watch_consent_tool(self):
        if not features.CONSENT:
            return
        tool = self._consent['tool']
        if not self._hooks.watch_consent(tool, self._consent['category'], lambda granted: self.set_consent(granted)):
            journal.warn(self._journal, ['unknown_consent_tool', tool])

    def _run_hooks(self):
        """`target.onLoad()`, then `onOmetriaLoaded()`, each guarded."""
        hook = prims.read_key(self._target, 'onLoad')
        if prims.is_function(hook):
            problem = self._hooks.call_method(self._target, hook)
            if problem != None:
                journal.warn(self._journal, ['onload_failed', problem])
        loaded = self._hooks.global_function('onOmetriaLoaded')
        if loaded != None:
            problem = self._hooks.call_method(None, loaded)
            if problem != None:
                journal.warn(self._journal, ['onloaded_failed', problem])

    def _watch_forms(self):
        """With the account's opt-in, any form's email field identifies (on change or submit). (The
        doctor's check of forms submitted with no identify is the debug module's.)"""
        if not features.FORMS or not self._identify_forms:
            return
        hooks = self._hooks
        verbs = self.engine
        hooks.watch_changes(None, lambda value: verbs.identify_from_form(value, 'form'))
        hooks.watch_submits(lambda value: verbs.identify_from_form(value, 'form'))

    def _watch_signups(self):
        """The signup forms of `signups.py` identify (a Wunderkind overlay's also records its
        event), where the account's platform brings them."""
        if not features.SIGNUPS:
            return
        hooks = self._hooks
        verbs = self.engine
        hooks.watch_changes(signups.BX_FIELDS, lambda value: verbs.signup(value, signups.BX_SIGNUP))
        hooks.watch_changes(signups.CHANGED_FIELDS, lambda value: verbs.signup(value, None))
        for form in signups.SUBMITTED_FORMS:
            hooks.watch_form_submits(form[0], form[1], lambda value: verbs.signup(value, None))

    def observe_inputs(self, selector):
        """`observeEmailInputs(selector)`: a valid email typed into an input matching `selector`
        identifies the visitor."""
        if not prims.is_string(selector) or len(selector) == 0:
            journal.warn(self._journal, ['bad_selector', selector])
            return
        verbs = self.engine
        self._hooks.watch_changes(selector, lambda value: verbs.identify_from_form(value, 'observe'))

    def set_consent(self, granted):
        """The shopper's choice (`ometria.setConsent(bool)`, or the consent tool): see the module
        docstring. The same choice twice does nothing."""
        state = consent.GRANTED if granted == True else consent.DENIED
        if state == self._consent_state:
            return
        previous = self._consent_state
        self._consent_state = state
        env = self._env
        env.write_necessary_cookie(self._consent_cookie, '1' if state == consent.GRANTED else '0',
                                   consent.COOKIE_MAX_AGE_S, None)
        journal.line(self._journal, 'consent', [state], None)
        if state == consent.GRANTED:
            env.release()
            self.delivery.release()
            return
        if previous == consent.GRANTED:
            self.forget()
        env.hold()
        env.drop_held()
        self.delivery.refuse()

    def forget(self):
        """`ometria.forget()`: the visitor's ids, identity, basket memory and outbox are deleted in
        this browser; the next call starts a new visitor."""
        self.delivery.forget()
        self._env.erase(keys.account_prefix(self.account), [session.COOKIE_NAME],
                        session.cookie_domain(self._env.host(), self._cookie_domain))
        self.engine.forget()
        journal.line(self._journal, 'forgotten', [], None)

    def set_debug(self, on):
        """`setDebugLogging(bool)`: the debug switch's cookie (a day) set or cleared, then a reload."""
        self._env.write_necessary_cookie(DEBUG_COOKIE, '1' if on == True else '', DEBUG_COOKIE_MAX_AGE_S if on == True else 0,
                                         None)
        self._hooks.reload()

    def settle(self):
        self.engine.settle()
        if features.CONSENT and self._consent['required'] and self._consent_state == consent.PENDING:
            journal.warn(self._journal, ['consent_pending', self._consent['tool']])

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
