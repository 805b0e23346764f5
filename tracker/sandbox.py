"""The env of the Shopify checkout pixel: Shopify runs a custom pixel in a sandboxed iframe (an
opaque origin), where `document.cookie`, `localStorage` and `navigator.locks` may throw and would
be the frame's own anyway. The store's cookies and storage are reached only through the pixel
API's `browser.cookie` and `browser.localStorage`, which act on the top page and answer with
promises. The pure modules read synchronously, so this env reads what they need first:

`SandboxEnv(shop, env, account_id)`: `shop` is Shopify's storage API as five functions
(`pixel_main.shop_storage`; a fake under CPython): 'cookie'(name) and 'item'(key) answer promises
of the value; 'set_cookie'(cookie string), 'set_item'(key, text) and 'remove_item'(key) write.
`env` (a `browser.BrowserEnv` in the sandbox) gives time, ids, transport and timers.
- `prime(cookie_names, fallbacks, done)` reads those cookies (one missing reads as its fallback,
  when it has one) and every storage key the tag uses
  (`keys.NAMES` of the account; the pixel's own further keys, listed under `keys.PIXEL_INDEX`,
  since storage cannot be listed through the API), then calls `done(True)`; `done(False)` after
  PRIME_TIMEOUT_MS when an answer never came: then nothing is written back (a value not read
  must not be overwritten: a visitor cookie, say), and the pixel still records and sends.
- `locate(href, referrer)`: the page the next calls happen on (each Shopify event says where).
- The rest is `browser.BrowserEnv`'s contract: reads answer from what was read or written since;
  writes change that at once and go to the store's cookies and storage in the background
  (nothing waits for them; a failed write is not retried). `hold()` / `release()` as there:
  while held, nothing is read from what was primed, nothing written back.

Pure: imports only `keys`, `prims` and `urls`.
"""

from tracker import keys, prims, urls

PRIME_TIMEOUT_MS = 3000


def quiet(promise):
    """`promise` with its failure handled (a rejected write is no error for the page's console)."""
    try:
        promise.then(lambda value: None, lambda error: None)
    except:
        pass


class SandboxEnv:
    """The checkout pixel's env; see the module docstring."""

    def __init__(self, shop, env, account_id):
        self._shop = shop
        self._env = env
        self._prefix = keys.account_prefix(account_id)
        self._index_key = keys.storage_key(account_id, keys.PIXEL_INDEX)
        self._fixed = []
        for name in keys.NAMES:
            prims.append(self._fixed, keys.storage_key(account_id, name))
        # What the store's cookies and storage hold, as read and written since.
        self._cookies = {}
        self._items = {}
        # The pixel's keys beyond the fixed ones (they are listed in storage, at `_index_key`).
        self._pixel_keys = []
        # While held (consent): cookies and storage in memory only, as in browser.BrowserEnv.
        self._held = False
        self._held_cookies = {}
        self._memory = {}
        self._writable = False
        # While priming: the answers still awaited, the cookies' fallbacks, and what to call once.
        self._waiting = 1
        self._fallbacks = {}
        self._done = None
        self._href = None
        self._referrer = None

    # --- reading the store's state first ------------------------------------------------------

    def prime(self, cookie_names, fallbacks, done):
        """Read `cookie_names` and the account's keys, then `done(True)` (see the module docstring).
        A cookie the store does not have reads as its value in `fallbacks` (a name -> value dict),
        if any: written nowhere until the tag writes it."""
        self._fallbacks = fallbacks
        self._done = done
        self._env.set_timer(lambda: self._primed(False), PRIME_TIMEOUT_MS)
        for name in cookie_names:
            self._ask('cookie', name)
        for key in self._fixed:
            self._ask('item', key)
        self._ask('item', self._index_key)
        self._answered()

    def _ask(self, kind, name):
        self._waiting = self._waiting + 1
        try:
            self._shop[kind](name).then(lambda value: self._got(kind, name, value),
                                        lambda error: self._got(kind, name, None))
        except:
            self._got(kind, name, None)

    def _got(self, kind, name, value):
        if self._done == None:
            return  # too late: the tag may have written its own value since
        if kind == 'cookie' and not (prims.is_string(value) and len(value) > 0) and prims.has_key(self._fallbacks, name):
            value = self._fallbacks[name]
        if prims.is_string(value) and len(value) > 0:
            if kind == 'cookie':
                self._cookies[name] = value
            else:
                self._items[name] = value
                if name == self._index_key:
                    self._read_listed(value)
        self._answered()

    def _read_listed(self, text):
        """Read the pixel's own keys that the index `text` lists."""
        found = prims.from_json(text)
        for key in found if prims.is_list(found) else []:
            if prims.is_string(key) and prims.starts_with(key, self._prefix) and prims.find_item(self._pixel_keys, key) < 0:
                prims.append(self._pixel_keys, key)
                self._ask('item', key)

    def _answered(self):
        self._waiting = self._waiting - 1
        if self._waiting == 0:
            self._primed(True)

    def _primed(self, complete):
        done = self._done
        if done != None:
            self._done = None
            self._writable = complete
            done(complete)

    def locate(self, href, referrer):
        self._href = href
        self._referrer = referrer

    # --- the browser env's contract -----------------------------------------------------------

    def now_ms(self):
        return self._env.now_ms()

    def random(self):
        return self._env.random()

    def new_uuid(self):
        return self._env.new_uuid()

    def new_id(self):
        return self._env.new_id()

    def href(self):
        return self._href

    def host(self):
        return urls.host_of(self._href) if prims.is_string(self._href) else None

    def referrer(self):
        return self._referrer

    def read_cookie(self, name):
        if self._held:
            return self._held_cookies[name][0] if prims.has_key(self._held_cookies, name) else None
        return self._cookies[name] if prims.has_key(self._cookies, name) else None

    def write_cookie(self, name, value, max_age_s, domain):
        if self._held:
            if max_age_s == 0:
                prims.delete_key(self._held_cookies, name)
            else:
                self._held_cookies[name] = [value, max_age_s, domain]
            return
        self.write_necessary_cookie(name, value, max_age_s, domain)

    def write_necessary_cookie(self, name, value, max_age_s, domain):
        if max_age_s == 0:
            prims.delete_key(self._cookies, name)
        else:
            self._cookies[name] = value
        if not self._writable:
            return
        secure = '; Secure' if prims.is_string(self._href) and prims.starts_with(self._href, 'https:') else ''
        text = name + '=' + value + '; Max-Age=' + prims.number_text(max_age_s) + '; Path=/; SameSite=Lax' + secure
        try:
            quiet(self._shop['set_cookie'](text + ('; Domain=' + domain if domain != None else '')))
        except:
            pass

    def store_get(self, key):
        if prims.has_key(self._memory, key):
            return self._memory[key]
        if self._held:
            return None
        return self._items[key] if prims.has_key(self._items, key) else None

    def store_set(self, key, text):
        if self._held:
            self._memory[key] = text
            return False
        self._items[key] = text
        prims.delete_key(self._memory, key)
        if prims.find_item(self._fixed, key) < 0 and key != self._index_key and prims.find_item(self._pixel_keys, key) < 0:
            prims.append(self._pixel_keys, key)
            self._write_index()
        self._write_item(key, text)
        return True

    def store_remove(self, key):
        prims.delete_key(self._memory, key)
        if self._held:
            return
        prims.delete_key(self._items, key)
        if prims.find_item(self._pixel_keys, key) >= 0:
            kept = []
            for listed in self._pixel_keys:
                if listed != key:
                    prims.append(kept, listed)
            self._pixel_keys = kept
            self._write_index()
        self._write_item(key, None)

    def store_keys(self):
        found = prims.keys_of(self._memory)
        if not self._held:
            for key in prims.keys_of(self._items):
                if not prims.has_key(self._memory, key):
                    prims.append(found, key)
        return found

    def _write_item(self, key, text):
        if not self._writable:
            return
        try:
            if text == None:
                quiet(self._shop['remove_item'](key))
            else:
                quiet(self._shop['set_item'](key, text))
        except:
            pass

    def _write_index(self):
        # A key listed but gone (a storefront page's tag took up that outbox) leaves the list here.
        kept = []
        for key in self._pixel_keys:
            if prims.has_key(self._items, key):
                prims.append(kept, key)
        self._pixel_keys = kept
        if len(self._pixel_keys) > 0:
            self._items[self._index_key] = prims.to_json(self._pixel_keys)
            self._write_item(self._index_key, self._items[self._index_key])
        else:
            prims.delete_key(self._items, self._index_key)
            self._write_item(self._index_key, None)

    def send(self, url, body, done):
        self._env.send(url, body, done)

    def beacon(self, url, body):
        return self._env.beacon(url, body)

    def set_timer(self, callback, delay_ms):
        return self._env.set_timer(callback, delay_ms)

    def clear_timer(self, handle):
        self._env.clear_timer(handle)

    def hold(self):
        self._held = True

    def release(self):
        self._held = False
        held = self._held_cookies
        memory = self._memory
        self._held_cookies = {}
        self._memory = {}
        for name in prims.keys_of(held):
            self.write_cookie(name, held[name][0], held[name][1], held[name][2])
        for key in prims.keys_of(memory):
            self.store_set(key, memory[key])

    def drop_held(self):
        self._held_cookies = {}
        self._memory = {}

    def erase(self, prefix, cookie_names, domain):
        held = self._held
        self._held = False
        for key in self.store_keys():
            if prims.starts_with(key, prefix):
                self.store_remove(key)
        self._held = held
        for name in cookie_names:
            prims.delete_key(self._held_cookies, name)
            self.write_necessary_cookie(name, '', 0, domain)
            self.write_necessary_cookie(name, '', 0, None)
