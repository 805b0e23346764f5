"""The browser edge's other half: what the page's own code offers the tag, as `hooks` for the pure
modules (`browser.py` is the environment: time, cookies, storage, transport, timers).

`BrowserHooks(target)` (`target`: the public `ometria` object) has these methods
(`tests/unit/fakes.FakeHooks` has the same, for CPython; a test compares the two):
- the data layer: `raw_data()` (`window.ometria.raw_data`, when it is an object);
- the store's own functions: `call_method(owner, function)` (a call that cannot throw into the
  tag: the error's message, or None), `global_function(name)`;
- the address bar: `replace_url(url)` (no reload, no history entry), `reload()`;
- Shopify's cart: `set_cart_attribute(path, name, value)` (POSTed to the store's own `path`, in
  the background: nothing waits for it, and its answer is not read);
- the person: `automated()` (True in a browser driven by automation: `navigator.webdriver`, or a
  global of `AUTOMATION_GLOBALS`), `watch_input(on_input)` (a person's input, `limits.HUMAN_INPUTS`,
  as its event type: only the browser's own events, never one a script dispatches);
- consent: `gpc()` (Global Privacy Control), `watch_consent(tool, category, decide)` (the tool's
  state now and its changes, as `decide(True|False)`: one generic watcher over the tool's entry in
  `consent_tools.TOOLS`; False for a tool the table does not have);
- forms: `watch_changes(selector, on_value)` (a changed input matching `selector`, or, for None,
  any email-like field: `forms.py`) and `watch_submits(on_value)` (a submitted form's first
  email-like field with a value; only where the form opt-in is built in: `features.FORMS`),
  `watch_form_submits(form_selector, field_selector, on_value)` (the value of the field matching
  `field_selector` in a submitted form matching `form_selector`: the signup forms of
  `signups.py`). All by delegation on the document: forms added later are watched too.

Every call is wrapped: whatever the page throws stays here.
"""

# __pragma__ ('skip')
window = None


def __pragma__(*args):
    return None
# __pragma__ ('noskip')

from tracker import browser, consent_tools, features, limits, prims

# What PhantomJS, Nightmare and Cypress leave on the window of the pages they drive.
AUTOMATION_GLOBALS = ['_phantom', 'callPhantom', '__nightmare', 'Cypress']


def read_path(path):
    """The page's value at `path`, a dotted path from `window` ('Cookiebot.consent'); a final `()`
    calls the function found there with its owner as `this` ('OneTrust.IsAlertBoxClosed()').
    None when anything on the way is missing or throws."""
    call = prims.ends_with(path, '()')
    if call:
        path = prims.substring(path, 0, len(path) - 2)
    owner = None
    value = window
    for part in prims.split_text(path, '.'):
        if value == None:
            return None
        owner = value
        value = prims.read_key(owner, part)
    if call:
        return browser.page_value(lambda: value.call(owner)) if prims.is_function(value) else None
    return value


def watch_data_layer(see):
    """Each command in `window.dataLayer` (Google's tag manager and gtag push there), now and
    from now on: `see(command)`. The array is created if the page has none yet (gtag keeps an
    existing one), and its `push` wrapped, calling the page's own first."""
    try:
        layer = window.dataLayer
        if not prims.is_list(layer):
            layer = []
            window.dataLayer = layer
        for command in layer:
            see(command)
        __pragma__('js', '{}', '''(function (dl, see) {
            var push = dl.push;
            dl.push = function () {
                var result = push.apply (dl, arguments);
                for (var i = 0; i < arguments.length; i++) { try { see (arguments [i]); } catch (e) {} }
                return result;
            };
        }) (layer, see)''')
    except:  # JS errors are not Python exceptions
        pass


def gpc_on():
    """True when the browser sends Global Privacy Control (only where consent is built in)."""
    return features.CONSENT and browser.page_value(lambda: window.navigator.globalPrivacyControl) == True


def automated_browser():
    """True in a browser driven by automation: `navigator.webdriver`, or a global of
    AUTOMATION_GLOBALS."""
    for name in AUTOMATION_GLOBALS:
        if prims.read_key(window, name) != None:
            return True
    return browser.page_value(lambda: window.navigator.webdriver) == True


class BrowserHooks:
    """The page's hooks for the pure modules, in this browser. See the module docstring."""

    def __init__(self, target):
        self._target = target

    def raw_data(self):
        if not features.MAGENTO and not features.SHOPIFY:
            return None
        # A quoted read: the build renames snake_case attributes, never quoted keys.
        found = prims.read_key(self._target, 'raw_data')
        return found if prims.is_plain_object(found) else None

    def call_method(self, owner, callback):
        """Call `callback` with `owner` as `this` (None: the window); return None, or the message of
        what it threw."""
        return __pragma__('js', '{}', '''(function (t, f) {
            try {
                f.call (t);
                return null;
            } catch (e) {
                try { return String (e && e.message || e); } catch (e2) { return 'an error'; }
            }
        }) (owner == null ? window : owner, callback)''')

    def global_function(self, name):
        """The page's global function `name` (`window[name]`), or None."""
        found = browser.page_value(lambda: window[name])
        return found if prims.is_function(found) else None

    def replace_url(self, url):
        try:
            window.history.replaceState(window.history.state, '', url)
        except:
            pass

    def reload(self):
        try:
            window.location.reload()
        except:
            pass

    def gpc(self):
        return gpc_on()

    def set_cart_attribute(self, path, name, value):
        if not features.SHOPIFY:
            return
        attributes = {}
        attributes[name] = value
        try:
            window.fetch(path, {'method': 'POST', 'credentials': 'same-origin', 'keepalive': True,
                                'headers': {'Content-Type': 'application/json'},
                                'body': prims.to_json({'attributes': attributes})}).catch(lambda error: None)
        except:
            pass

    def automated(self):
        return automated_browser()

    def watch_input(self, on_input):
        def seen(event):
            if event.isTrusted:
                on_input(event['type'])
        for name in limits.HUMAN_INPUTS:
            browser.listen(window, name, seen)

    def watch_consent(self, tool, category, decide):
        entry = prims.read_key(consent_tools.TOOLS, tool) if features.CONSENT else None
        if entry == None:
            return False

        def tell(decision):
            if decision != None:
                decide(decision)

        if features.COOKIEBOT or features.ONETRUST:
            def check(event):
                values = []
                for path in entry['reads']:
                    prims.append(values, read_path(path))
                tell(entry['decide'](values, category))

            if len(entry['reads']) > 0:
                check(None)
            for name in entry['events']:
                browser.listen(window, name, check)
        if features.COOKIEBOT:
            for name in entry['refusals']:
                browser.listen(window, name, lambda event: decide(False))
        if features.GCM and entry['data_layer']:
            watch_data_layer(lambda command: tell(entry['decide']([command], category)))
        return True

    def watch_changes(self, selector, on_value):
        def changed(event):
            field = event.target
            wanted = field.matches(selector) if selector != None else features.FORMS and browser.email_field(field)
            if wanted and field.getAttribute('type') != 'password':
                on_value(field.value)
        browser.listen(window.document, 'change', changed)

    def watch_submits(self, on_value):
        if not features.FORMS:
            return

        def submitted(event):
            value = browser.submitted_email(event.target)
            if value != None:
                on_value(value)
        browser.listen(window.document, 'submit', submitted)

    def watch_form_submits(self, form_selector, field_selector, on_value):
        if not features.SIGNUPS:
            return

        def submitted(event):
            form = event.target
            field = form.querySelector(field_selector) if form.matches(form_selector) else None
            if field != None and field.getAttribute('type') != 'password' and prims.is_string(field.value):
                on_value(field.value)
        browser.listen(window.document, 'submit', submitted)
