"""CPython fakes of the browser edge: an `env` with a controllable clock, timers, cookie jar,
storage and transport, and the page's `hooks` (data layer, the store's functions, address bar,
consent tools, forms), for testing tracker/ without a browser (the browser tests then check that
the compiled tag does the same)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from tracker import consent_tools, features


@dataclass
class Sent:
    url: str
    body: dict
    beacon: bool = False
    status: int | None = None


@dataclass
class Browser:
    """What survives page loads in one browser profile: cookies, localStorage, the clock."""

    now: float = 1_764_201_600_000.0
    cookies: dict = field(default_factory=dict)
    storage: dict = field(default_factory=dict)
    cookies_blocked: bool = False
    storage_broken: bool = False
    gpc: bool = False
    automated: bool = False  # navigator.webdriver, or a test runner's global (browser_hooks.automated)
    uuid_counter: int = 0
    sent: list = field(default_factory=list)
    # Answer for each POST: a status, or a callable(body) -> status / (status, retry_after).
    answer: object = 204
    cookie_writes: list = field(default_factory=list)

    def next_uuid(self) -> str:
        self.uuid_counter += 1
        return str(uuid.UUID(int=self.uuid_counter, version=4))


class FakeStorage:
    """`localStorage`'s face over a dict (`browser.storage`)."""

    def __init__(self, items: dict):
        self.items = items

    def getItem(self, key):  # localStorage's name
        return self.items.get(key)

    def setItem(self, key, text):  # localStorage's name
        self.items[key] = text

    def removeItem(self, key):  # localStorage's name
        self.items.pop(key, None)



class FakeDocument:
    """The `store` of a page in `browser` (as `tracker.browser.DocumentStore`: a test holds the two
    to the same names): where the page is (`page`: its 'href', 'referrer'), the cookie jar (every
    write recorded; `cookies_blocked`: nothing read or kept) and storage (`storage_broken`: none)."""

    def __init__(self, browser: Browser, page: dict):
        self.browser = browser
        self.page = page

    def href(self):
        return self.page['href']

    def host(self):
        return self.page['href'].split('/')[2].split(':')[0]

    def referrer(self):
        return self.page['referrer']

    def read_cookie(self, name):
        return None if self.browser.cookies_blocked else self.browser.cookies.get(name)

    def write_cookie(self, name, value, max_age_s, domain):
        self.browser.cookie_writes.append((name, value, max_age_s, domain))
        if self.browser.cookies_blocked:
            return
        if max_age_s == 0:
            self.browser.cookies.pop(name, None)
        else:
            self.browser.cookies[name] = value

    def storage(self):
        return None if self.browser.storage_broken else FakeStorage(self.browser.storage)

    def storage_keys(self):
        return [] if self.browser.storage_broken else list(self.browser.storage)


class FakeEnv:
    """The env of one page in `browser`, with the methods of `tracker.browser.BrowserEnv` (a test
    holds the two to the same names), over `store` (a `FakeDocument` of the page by default; the
    checkout pixel's `sandbox.ShopifyStore`). Timers run only when `run()` / `advance()` say so."""

    def __init__(self, browser: Browser, href: str = 'https://www.shop.test/', referrer: str = '', store=None):
        self.browser = browser
        self.timers: list[tuple[float, int, object]] = []
        self.timer_seq = 0
        self.memory: dict = {}
        self.page = {'href': href, 'referrer': referrer}
        self.store = store if store is not None else FakeDocument(browser, self.page)
        self.held = False
        self.held_cookies: dict = {}

    # time and chance
    def now_ms(self):
        return self.browser.now

    def random(self):
        return 0.5

    def new_uuid(self):
        return self.browser.next_uuid()

    def new_id(self):
        return self.browser.next_uuid()

    # the page
    def href(self):
        return self.store.href()

    def host(self):
        return self.store.host()

    def referrer(self):
        return self.store.referrer()

    # cookies
    def read_cookie(self, name):
        if self.held:
            return self.held_cookies.get(name, (None,))[0]
        return self.store.read_cookie(name)

    def write_cookie(self, name, value, max_age_s, domain):
        if self.held:
            if max_age_s == 0:
                self.held_cookies.pop(name, None)
            else:
                self.held_cookies[name] = (value, max_age_s, domain)
            return
        self.write_necessary_cookie(name, value, max_age_s, domain)

    def write_necessary_cookie(self, name, value, max_age_s, domain):
        self.store.write_cookie(name, value, max_age_s, domain)

    # storage (falls back to memory like browser.BrowserEnv)
    def _storage(self):
        return None if self.held else self.store.storage()

    def store_get(self, key):
        if key in self.memory:
            return self.memory[key]
        local = self._storage()
        return local.getItem(key) if local is not None else None

    def store_set(self, key, text):
        local = self._storage()
        if local is None:
            self.memory[key] = text
            return False
        local.setItem(key, text)
        self.memory.pop(key, None)
        return True

    def store_remove(self, key):
        self.memory.pop(key, None)
        local = self._storage()
        if local is not None:
            local.removeItem(key)

    def store_keys(self):
        keys = list(self.memory)
        if self._storage() is not None:
            keys += [key for key in self.store.storage_keys() if key not in self.memory]
        return keys

    # transport
    def send(self, url, body, done):
        record = Sent(url, json.loads(body))
        self.browser.sent.append(record)
        answer = self.browser.answer
        result = answer(record.body) if callable(answer) else answer
        status, retry_after = result if isinstance(result, tuple) else (result, None)
        record.status = status
        self.set_timer(lambda: done(status, retry_after), 0)

    def beacon(self, url, body):
        self.browser.sent.append(Sent(url, json.loads(body), beacon=True))
        return True

    # timers
    def set_timer(self, callback, delay_ms):
        self.timer_seq += 1
        self.timers.append((self.browser.now + delay_ms, self.timer_seq, callback))
        return self.timer_seq

    def clear_timer(self, handle):
        self.timers = [t for t in self.timers if t[1] != handle]

    def run(self, limit: int = 10_000) -> None:
        """Run the timers that are due now (and those they schedule for now)."""
        for _ in range(limit):
            due = sorted(t for t in self.timers if t[0] <= self.browser.now)
            if not due:
                return
            timer = due[0]
            self.timers.remove(timer)
            timer[2]()
        raise AssertionError('timers keep firing')

    def advance(self, ms: float) -> None:
        """Move the clock on by `ms`, firing timers at their times."""
        end = self.browser.now + ms
        while True:
            self.run()
            pending = sorted(t for t in self.timers if t[0] <= end)
            if not pending:
                break
            self.browser.now = max(self.browser.now, pending[0][0])
        self.browser.now = end
        self.run()

    # consent
    def hold(self):
        self.held = True

    def release(self):
        self.held = False
        held, self.held_cookies = self.held_cookies, {}
        for name, (value, max_age_s, domain) in held.items():
            self.write_cookie(name, value, max_age_s, domain)
        for key, text in list(self.memory.items()):
            self.store_set(key, text)

    def drop_held(self):
        self.held_cookies = {}
        self.memory = {}

    def erase(self, prefix, cookie_names, domain):
        held, self.held = self.held, False
        for key in self.store_keys():
            if key.startswith(prefix):
                self.store_remove(key)
        self.held = held
        for name in cookie_names:
            self.held_cookies.pop(name, None)
            self.write_necessary_cookie(name, '', 0, domain)
            self.write_necessary_cookie(name, '', 0, None)


class FakeHooks:
    """The hooks of `env`'s page, with the methods of `tracker.browser_hooks.BrowserHooks` (a test
    holds the two to the same names): the page's data layer, its global functions, and what the
    tag asked to watch (kept in `env.page`)."""

    def __init__(self, env: FakeEnv, raw_data=None, global_functions=None):
        self.browser = env.browser
        self.page = env.page
        self.page['raw_data'] = raw_data
        self.global_functions = global_functions or {}

    def raw_data(self):
        # As BrowserHooks: no data layer is read in a set without Magento's or Shopify's.
        if not features.MAGENTO and not features.SHOPIFY:
            return None
        return self.page['raw_data']

    def call_method(self, owner, function):
        try:
            function()
            return None
        except Exception as error:  # what a store's hook throws
            return str(error)

    def global_function(self, name):
        return self.global_functions.get(name)

    def gpc(self):
        return self.browser.gpc

    def automated(self):
        return self.browser.automated

    def set_cart_attribute(self, path, name, value):
        self.page.setdefault('cart_attributes', []).append((path, name, value))

    def watch_input(self, on_input):
        self.page.setdefault('input_watchers', []).append(on_input)

    def watch_consent(self, tool, category, decide):
        self.page.setdefault('consent_watchers', []).append((tool, category, decide))
        return tool in consent_tools.TOOLS

    # the page itself
    def replace_url(self, url):
        self.page['href'] = url
        self.page.setdefault('replaced', []).append(url)

    def reload(self):
        self.page['reloads'] = self.page.get('reloads', 0) + 1

    def watch_changes(self, selector, on_value):
        self.page.setdefault('change_watchers', []).append((selector, on_value))

    def watch_submits(self, on_value):
        self.page.setdefault('submit_watchers', []).append(on_value)

    def watch_form_submits(self, form_selector, field_selector, on_value):
        self.page.setdefault('form_submit_watchers', []).append((form_selector, field_selector, on_value))


def delivered_events(browser: Browser, accepted_only: bool = True) -> list[dict]:
    """Events in the requests the collector accepted (2xx), in order, each id once."""
    seen = set()
    events = []
    for record in browser.sent:
        if record.beacon or (accepted_only and not (record.status and 200 <= record.status < 300)):
            continue
        for event in record.body['events']:
            if event['id'] not in seen:
                seen.add(event['id'])
                events.append(event)
    return events
