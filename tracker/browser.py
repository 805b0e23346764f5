"""The browser edge: the only modules (with `browser_hooks.py`, `main.py`, and `overlay.py` in the
debug module) that touch `window`, `document` or `navigator`. It builds the `env` the pure modules
run on: the environment itself (time, ids, cookies, storage, transport, timers). What a page's
own code offers the tag (its data layer, consent tool, forms, hooks): `browser_hooks.py`.

`BrowserEnv(store)` has these methods (`tests/unit/fakes.FakeEnv` has the same, for CPython; a
test compares the two):
- time and chance: `now_ms()`, `random()`, `new_uuid()` / `new_id()` (UUID v4 from
  `crypto.getRandomValues`, `Math.random` where it is missing);
- where the page is: `href()`, `host()`, `referrer()`;
- the visitor cookie: `read_cookie(name)`, `write_cookie(name, value, max_age_s, domain)`;
- storage: `store_get(key)`, `store_set(key, text) -> bool`, `store_remove(key)`, `store_keys()`:
  the store's storage where it works, else (private mode, sandboxed frames, a full quota, a
  getter that throws) an in-memory map for the page's life;
- transport: `send(url, body, done)` (a keepalive `text/plain` fetch with a timeout; `done(status,
  retry_after)` gets 0 on a network error or timeout) and `beacon(url, body)`;
- timers: `set_timer(callback, ms)`, `clear_timer(handle)`;
- consent: `hold()` (from now on cookies and storage live in the page's memory only: nothing is
  read from or written to the store's), `release()` (write what was held, and use the store's
  again), `drop_held()` (forget what was held), `erase(prefix, cookie_names, domain)` (delete
  storage keys and cookies, held or not), `write_necessary_cookie(name, value, max_age_s)` (a
  cookie that is written even while held: the consent choice, the debug switch).

`store`: where the page is and where the visitor's state is kept, with the methods `href()`,
`host()`, `referrer()`, `read_cookie(name)`, `write_cookie(name, value, max_age_s, domain)` and
`storage()` (an object with `localStorage`'s `getItem`, `setItem` and `removeItem`, or None) and
`storage_keys()` (the keys it holds): `DocumentStore` on a store's page (its first-party cookies and `localStorage`),
`sandbox.ShopifyStore` in Shopify's pixel sandbox (the top page's, through Shopify's API).

Every call is wrapped: whatever the browser throws stays here. Callbacks handed to the browser
are wrapped so that a failure inside the tag never reaches the page.
"""

# __pragma__ ('skip')
window = None
Math = Object = None


def __pragma__(*args):
    return None


def __new__(value):
    return value
# __pragma__ ('noskip')

from tracker import cookies, events, forms, keys, prims

REQUEST_TIMEOUT_MS = 10 * 1000
# How long a failed request waits before it counts as failed (see `send`).
FAILED_SEND_GRACE_MS = 250
STORAGE_PROBE_KEY = keys.PREFIX + 'probe'


def quietly(callback):
    """`callback` wrapped so that nothing it throws reaches the caller (the browser, the page)."""
    def run():
        try:
            callback()
        except:  # JS errors are not Python exceptions
            pass
    return run


def quiet_listener(callback):
    """An event listener calling `callback(event)`, throwing nothing."""
    def run(event):
        try:
            callback(event)
        except:
            pass
    return run


def listen(target, event_name, callback):
    """Add a quiet listener for `event_name` on `target`; nothing happens when that throws. Passive:
    the tag never cancels a page's event, so its touch and scroll listeners never hold scrolling."""
    try:
        target.addEventListener(event_name, quiet_listener(callback), {'capture': True, 'passive': True})
    except:
        pass


def page_value(read):
    """`read()`, or None when it throws (a sandboxed frame's location, say)."""
    try:
        return read()
    except:
        return None


def console_write(level, text, details):
    """Write to the browser console (debug mode only)."""
    try:
        if details == None:
            window.console[level]('[ometria] ' + text)
        else:
            window.console[level]('[ometria] ' + text, details)
    except:
        pass


def local_storage():
    """`localStorage` when it can be written, else None."""
    try:
        candidate = window.localStorage
        candidate.setItem(STORAGE_PROBE_KEY, '1')
        candidate.removeItem(STORAGE_PROBE_KEY)
        return candidate
    except:
        return None


def read_cookie_now(name):
    """The browser's cookie `name`, or None."""
    text = page_value(lambda: window.document.cookie)
    if not prims.is_string(text):
        return None
    for part in prims.split_text(text, ';'):
        part = prims.trim(part)
        if prims.starts_with(part, name + '='):
            return prims.substring(part, len(name) + 1, None)
    return None


def email_field(element):
    """True for an email-like form field (`forms.is_email_field` over its attributes)."""
    return forms.is_email_field(element.tagName, element.getAttribute('type'), element.getAttribute('name'),
                                element.getAttribute('id'), element.getAttribute('autocomplete'))


def submitted_email(form):
    """The value of the first email-like field with a value in `form`, or None."""
    elements = form.elements
    for index in range(elements.length if elements else 0):
        field = elements[index]
        if email_field(field) and prims.is_string(field.value) and len(field.value) > 0:
            return field.value
    return None


def post(url, body, signal):
    """A keepalive `text/plain` POST (a CORS-simple request: no preflight); the fetch promise."""
    options = {'method': 'POST', 'body': body, 'keepalive': True, 'credentials': 'omit',
               'headers': {'Content-Type': 'text/plain;charset=UTF-8'}}
    if signal != None:
        options['signal'] = signal
    return window.fetch(url, options)


class DocumentStore:
    """The `store` of `BrowserEnv` on a store's page: its address, its first-party cookies and
    its `localStorage` (see the module docstring)."""

    def __init__(self):
        # Probed on first use, not here: a prerendered page builds its tag before it is shown,
        # and writes nothing until then (main.py).
        self._unprobed = True
        self._local = None

    def href(self):
        return page_value(lambda: window.location.href)

    def host(self):
        return page_value(lambda: window.location.hostname)

    def referrer(self):
        return page_value(lambda: window.document.referrer)

    def read_cookie(self, name):
        return read_cookie_now(name)

    def write_cookie(self, name, value, max_age_s, domain):
        """Set the first-party cookie `name` (Path=/, SameSite=Lax, Secure on https). With a
        `domain` that the browser refuses, the cookie is written for the host alone. A `max_age_s`
        of 0 deletes it."""
        try:
            secure = window.location.protocol == 'https:'
            if domain != None:
                window.document.cookie = cookies.cookie_text(name, value, max_age_s, secure, domain)
                if max_age_s == 0 or read_cookie_now(name) == value:
                    return
            window.document.cookie = cookies.cookie_text(name, value, max_age_s, secure, None)
        except:
            pass

    def storage(self):
        """`localStorage` when it can be written (probed once), else None."""
        if self._unprobed:
            self._unprobed = False
            self._local = local_storage()
        return self._local

    def storage_keys(self):
        """The keys in `storage()` (none when it is None or throws)."""
        found = []
        local = self.storage()
        if local != None:
            try:
                count = local.length
                for index in range(count):
                    key = local.key(index)
                    if prims.is_string(key):
                        prims.append(found, key)
            except:
                pass
        return found


class BrowserEnv:
    """The env of the pure modules, in this browser, over `store`. See the module docstring."""

    def __init__(self, store):
        self._store = store
        self._memory = {}
        self._held = False
        self._cookies = {}

    def now_ms(self):
        return window.Date.now()

    def random(self):
        return Math.random()

    def new_uuid(self):
        """A UUID v4 from `crypto.getRandomValues`, or `Math.random` where it is missing."""
        data = []
        try:
            values = __new__(window.Uint8Array(16))
            window.crypto.getRandomValues(values)
            for index in range(16):
                prims.append(data, values[index])
        except:
            data = []
            for _ in range(16):
                prims.append(data, Math.floor(Math.random() * 256))
        return events.new_uuid(data)

    def new_id(self):
        return self.new_uuid()

    def href(self):
        return self._store.href()

    def host(self):
        return self._store.host()

    def referrer(self):
        return self._store.referrer()

    def read_cookie(self, name):
        """The value of the first-party cookie `name`, or None (also when cookies are blocked)."""
        if self._held:
            return self._cookies[name][0] if prims.has_key(self._cookies, name) else None
        return self._store.read_cookie(name)

    def write_cookie(self, name, value, max_age_s, domain):
        """Set the cookie `name` in the store (`DocumentStore.write_cookie`), or, while held, in
        memory. A `max_age_s` of 0 deletes it."""
        if self._held:
            if max_age_s == 0:
                prims.delete_key(self._cookies, name)
            else:
                self._cookies[name] = [value, max_age_s, domain]
            return
        self.write_necessary_cookie(name, value, max_age_s, domain)

    def write_necessary_cookie(self, name, value, max_age_s, domain):
        """`write_cookie`, even while held."""
        self._store.write_cookie(name, value, max_age_s, domain)

    def _storage(self):
        """The store's storage, or None when it cannot be used or cookies and storage are held."""
        return None if self._held else self._store.storage()

    def store_get(self, key):
        if prims.has_key(self._memory, key):
            return self._memory[key]
        local = self._storage()
        if local != None:
            try:
                return local.getItem(key)
            except:
                return None
        return None

    def store_set(self, key, text):
        local = self._storage()
        if local != None:
            try:
                local.setItem(key, text)
                prims.delete_key(self._memory, key)
                return True
            except:
                pass
        # Not written (no storage, or the quota is full): keep it for this page.
        self._memory[key] = text
        return False

    def store_remove(self, key):
        prims.delete_key(self._memory, key)
        local = self._storage()
        if local != None:
            try:
                local.removeItem(key)
            except:
                pass

    def store_keys(self):
        found = prims.keys_of(self._memory)
        if self._storage() != None:
            for key in self._store.storage_keys():
                if not prims.has_key(self._memory, key):
                    prims.append(found, key)
        return found

    def send(self, url, body, done):
        """POST `body` to `url`, with keepalive so that it completes if the page is left.
        `done(status, retry_after_header)` is called once: status 0 for a network error, a refused
        request or a timeout (REQUEST_TIMEOUT_MS)."""
        finished = {'done': False}

        def finish(status, retry_after):
            if not finished['done']:
                finished['done'] = True
                done(status, retry_after)

        try:
            controller = __new__(window.AbortController()) if window.AbortController else None
            if controller != None:
                self.set_timer(lambda: controller.abort(), REQUEST_TIMEOUT_MS)
            post(url, body, controller.signal if controller != None else None).then(
                quiet_listener(lambda response: finish(response.status, response.headers.js_get('Retry-After'))),
                # Chromium rejects a keepalive fetch as the page starts to leave, although the
                # request goes on: a short wait lets `pagehide` come first, so the events stay in
                # flight (no beacon copy) and no failure is written for the next page.
                quiet_listener(lambda error: self.set_timer(lambda: finish(0, None), FAILED_SEND_GRACE_MS)))
        except:
            self.set_timer(lambda: finish(0, None), 0)

    def beacon(self, url, body):
        """Hand `body` to the browser for delivery after the page is gone: `sendBeacon`, or a
        keepalive fetch where the beacon is refused (too large, or missing). True when handed
        over."""
        try:
            if window.navigator.sendBeacon and window.navigator.sendBeacon(url, body):
                return True
        except:
            pass
        try:
            post(url, body, None).catch(quiet_listener(lambda error: None))
            return True
        except:
            return False

    def set_timer(self, callback, delay_ms):
        try:
            return window.setTimeout(quietly(callback), delay_ms)
        except:
            return None

    def clear_timer(self, handle):
        try:
            window.clearTimeout(handle)
        except:
            pass

    def hold(self):
        self._held = True

    def release(self):
        self._held = False
        held = self._cookies
        self._cookies = {}
        for name in prims.keys_of(held):
            self.write_cookie(name, held[name][0], held[name][1], held[name][2])
        for key in prims.keys_of(self._memory):
            self.store_set(key, self._memory[key])

    def drop_held(self):
        self._cookies = {}
        self._memory = {}

    def erase(self, prefix, cookie_names, domain):
        held = self._held
        self._held = False
        for key in self.store_keys():
            if prims.starts_with(key, prefix):
                self.store_remove(key)
        self._held = held
        for name in cookie_names:
            prims.delete_key(self._cookies, name)
            self.write_necessary_cookie(name, '', 0, domain)
            self.write_necessary_cookie(name, '', 0, None)
