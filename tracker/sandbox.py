"""The store of the Shopify checkout pixel: Shopify runs a custom pixel in a sandboxed iframe (an
opaque origin), where `document.cookie`, `localStorage` and `navigator.locks` may throw and would
be the frame's own anyway. The store's cookies and storage are reached only through the pixel
API's `browser.cookie` and `browser.localStorage`, which act on the top page and answer with
promises. The pure modules read synchronously, so this store reads what they need first.

`ShopifyStore(shop, account_id)` is the `store` of `browser.BrowserEnv` in the sandbox (the env
keeps the consent hold, the memory fallback and everything else: see its module docstring).
`shop` is Shopify's storage API as five functions (`pixel_main.shop_storage`; a fake under
CPython): 'cookie'(name) and 'item'(key) answer promises of the value; 'set_cookie'(cookie
string), 'set_item'(key, text) and 'remove_item'(key) write.
- `prime(cookie_names, fallbacks, wait, done)` reads those cookies (one missing reads as its
  fallback, when it has one) and every storage key the tag uses (`keys.NAMES` of the account; the
  pixel's own further keys, listed under `keys.PIXEL_INDEX`, since storage cannot be listed
  through the API), then calls `done(True)`; `done(False)` after PRIME_TIMEOUT_MS (`wait(callback,
  ms)`: a timer) when an answer never came: then nothing is written back (a value not read must
  not be overwritten: a visitor cookie, say), and the pixel still records and sends.
- `locate(href, referrer)`: the page the next calls happen on (each Shopify event says where).
- The store's contract (`href()`...`storage()`): reads answer from what was read or written
  since; writes change that at once and go to the store's cookies and storage in the background
  (nothing waits for them; a failed write is not retried). `storage()` is the store itself, with
  `localStorage`'s face (`getItem`, `setItem`, `removeItem`).

Pure: imports only `cookies`, `keys`, `prims` and `urls`.
"""

from tracker import cookies, keys, prims, urls

PRIME_TIMEOUT_MS = 3000


def quiet(promise):
    """`promise` with its failure handled (a rejected write is no error for the page's console)."""
    try:
        promise.then(lambda value: None, lambda error: None)
    except:
        pass


class ShopifyStore:
    """The checkout pixel's store; see the module docstring."""

    def __init__(self, shop, account_id):
        self._shop = shop
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
        self._writable = False
        # While priming: the answers still awaited, the cookies' fallbacks, and what to call once.
        self._waiting = 1
        self._fallbacks = {}
        self._done = None
        self._href = None
        self._referrer = None

    # --- reading the store's state first ------------------------------------------------------

    def prime(self, cookie_names, fallbacks, wait, done):
        """Read `cookie_names` and the account's keys, then `done(True)` (see the module docstring).
        A cookie the store does not have reads as its value in `fallbacks` (a name -> value dict),
        if any: written nowhere until the tag writes it."""
        self._fallbacks = fallbacks
        self._done = done
        wait(lambda: self._primed(False), PRIME_TIMEOUT_MS)
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

    # --- the store's contract (browser.BrowserEnv's `store`) ----------------------------------

    def href(self):
        return self._href

    def host(self):
        return urls.host_of(self._href) if prims.is_string(self._href) else None

    def referrer(self):
        return self._referrer

    def read_cookie(self, name):
        return self._cookies[name] if prims.has_key(self._cookies, name) else None

    def write_cookie(self, name, value, max_age_s, domain):
        if max_age_s == 0:
            prims.delete_key(self._cookies, name)
        else:
            self._cookies[name] = value
        if not self._writable:
            return
        secure = prims.is_string(self._href) and prims.starts_with(self._href, 'https:')
        try:
            quiet(self._shop['set_cookie'](cookies.cookie_text(name, value, max_age_s, secure, domain)))
        except:
            pass

    def storage(self):
        return self

    def storage_keys(self):
        return prims.keys_of(self._items)

    # --- localStorage's face, over what was read and written since -----------------------------

    def getItem(self, key):  # localStorage's name
        return self._items[key] if prims.has_key(self._items, key) else None

    def setItem(self, key, text):  # localStorage's name
        self._items[key] = text
        if prims.find_item(self._fixed, key) < 0 and key != self._index_key and prims.find_item(self._pixel_keys, key) < 0:
            prims.append(self._pixel_keys, key)
            self._write_index()
        self._write_item(key, text)

    def removeItem(self, key):  # localStorage's name
        prims.delete_key(self._items, key)
        if prims.find_item(self._pixel_keys, key) >= 0:
            self._write_index()
        self._write_item(key, None)


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
        # A key listed but gone (removed, or taken up by a storefront page's tag) leaves the list.
        kept = []
        for key in self._pixel_keys:
            if prims.has_key(self._items, key):
                prims.append(kept, key)
        self._pixel_keys = kept
        if len(self._pixel_keys) > 0:
            self.setItem(self._index_key, prims.to_json(self._pixel_keys))
        else:
            self.removeItem(self._index_key)
