"""The browser edge: the only module (with `overlay.py` and `main.py`) that touches `window`,
`document` or `navigator`. It builds the `env` the pure modules run on.

`make_env(target)` returns a dict of functions:
- time and chance: `now_ms()`, `random()`, `new_uuid()` / `new_id()` (UUID v4 from
  `crypto.getRandomValues`, `Math.random` where it is missing);
- the page: `href()`, `host()`, `referrer()`, `raw_data()` (the data layer on `target`);
- the visitor cookie: `read_cookie(name)`, `write_cookie(name, value, max_age_s, domain)`;
- storage: `store_get(key)`, `store_set(key, text) -> bool`, `store_remove(key)`, `store_keys()`:
  `localStorage` where it works, else (private mode, sandboxed frames, a full quota, a getter
  that throws) an in-memory map for the page's life;
- transport: `send(url, body, done)` (a keepalive `text/plain` fetch with a timeout; `done(status,
  retry_after)` gets 0 on a network error or timeout) and `beacon(url, body)`;
- timers: `set_timer(callback, ms)`, `clear_timer(handle)`.

Every call is guarded: whatever the browser throws stays here. Callbacks handed to the browser
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

from tracker import events, prims

REQUEST_TIMEOUT_MS = 10 * 1000
STORAGE_PROBE_KEY = 'ometria:probe'


def guarded(callback):
    """`callback` wrapped so that nothing it throws reaches the caller (the browser, the page)."""
    def run():
        try:
            callback()
        except:  # noqa: E722 -- JS errors are not Python exceptions
            pass
    return run


def guarded_listener(callback):
    """An event listener calling `callback(event)`, throwing nothing."""
    def run(event):
        try:
            callback(event)
        except:  # noqa: E722
            pass
    return run


def listen(target, event_name, callback):
    """Add a guarded listener for `event_name` on `target`; nothing happens when that throws."""
    try:
        target.addEventListener(event_name, guarded_listener(callback), {'capture': True})
    except:  # noqa: E722
        pass


def random_bytes(count):
    """`count` random bytes as a list of ints."""
    result = []
    try:
        data = __new__(window.Uint8Array(count))
        window.crypto.getRandomValues(data)
        for index in range(count):
            prims.append(result, data[index])
        return result
    except:  # noqa: E722
        result = []
    for index in range(count):
        prims.append(result, Math.floor(Math.random() * 256))
    return result


def new_uuid():
    return events.new_uuid(random_bytes(16))


def read_cookie(name):
    """The value of the first-party cookie `name`, or None (also when cookies are blocked)."""
    try:
        text = window.document.cookie
    except:  # noqa: E722
        return None
    if not prims.is_string(text):
        return None
    for part in prims.split_text(text, ';'):
        part = prims.trim(part)
        if prims.starts_with(part, name + '='):
            return prims.substring(part, len(name) + 1, None)
    return None


def write_cookie(name, value, max_age_s, domain):
    """Set the first-party cookie `name` (Path=/, SameSite=Lax, Secure on https). With a `domain`
    that the browser refuses, the cookie is written for the host alone. A `max_age_s` of 0
    deletes it."""
    try:
        secure = '; Secure' if window.location.protocol == 'https:' else ''
        base = name + '=' + value + '; Max-Age=' + prims.number_text(max_age_s) + '; Path=/; SameSite=Lax' + secure
        if domain != None:
            window.document.cookie = base + '; Domain=' + domain
            if max_age_s == 0 or read_cookie(name) == value:
                return
        window.document.cookie = base
    except:  # noqa: E722
        pass


def make_storage():
    """Storage functions over `localStorage`, falling back to memory (see the module docstring)."""
    memory = {}
    local = {'store': None}
    try:
        candidate = window.localStorage
        candidate.setItem(STORAGE_PROBE_KEY, '1')
        candidate.removeItem(STORAGE_PROBE_KEY)
        local['store'] = candidate
    except:  # noqa: E722
        local['store'] = None

    def store_get(key):
        if prims.has_key(memory, key):
            return memory[key]
        if local['store'] != None:
            try:
                return local['store'].getItem(key)
            except:  # noqa: E722
                return None
        return None

    def store_set(key, text):
        if local['store'] != None:
            try:
                local['store'].setItem(key, text)
                prims.delete_key(memory, key)
                return True
            except:  # noqa: E722
                pass
        # Not written (no storage, or the quota is full): keep it for this page.
        memory[key] = text
        return False

    def store_remove(key):
        prims.delete_key(memory, key)
        if local['store'] != None:
            try:
                local['store'].removeItem(key)
            except:  # noqa: E722
                pass

    def store_keys():
        keys = prims.keys_of(memory)
        if local['store'] != None:
            try:
                count = local['store'].length
                for index in range(count):
                    key = local['store'].key(index)
                    if prims.is_string(key) and not prims.has_key(memory, key):
                        prims.append(keys, key)
            except:  # noqa: E722
                pass
        return keys

    return {'store_get': store_get, 'store_set': store_set, 'store_remove': store_remove, 'store_keys': store_keys}


def send(url, body, done):
    """POST `body` to `url` as text/plain (a CORS-simple request: no preflight), with keepalive so
    that it completes if the page is left. `done(status, retry_after_header)` is called once:
    status 0 for a network error, a refused request or a timeout."""
    finished = {'done': False}

    def finish(status, retry_after):
        if not finished['done']:
            finished['done'] = True
            try:
                done(status, retry_after)
            except:  # noqa: E722
                pass

    def answered(response):
        finish(response.status, response.headers.js_get('Retry-After'))

    def failed(error):
        finish(0, None)

    try:
        options = {
            'method': 'POST',
            'body': body,
            'keepalive': True,
            'credentials': 'omit',
            'headers': {'Content-Type': 'text/plain;charset=UTF-8'},
        }
        if window.AbortController:
            controller = __new__(window.AbortController())
            options['signal'] = controller.signal
            window.setTimeout(guarded(lambda: controller.abort()), REQUEST_TIMEOUT_MS)
        window.fetch(url, options).then(guarded_listener(answered), guarded_listener(failed))
    except:  # noqa: E722
        window.setTimeout(guarded(lambda: finish(0, None)), 0)


def beacon(url, body):
    """Hand `body` to the browser for delivery after the page is gone: `sendBeacon`, or a
    keepalive fetch where the beacon is refused (too large, or missing). True when handed over."""
    try:
        if window.navigator.sendBeacon and window.navigator.sendBeacon(url, body):
            return True
    except:  # noqa: E722
        pass
    try:
        window.fetch(url, {'method': 'POST', 'body': body, 'keepalive': True, 'credentials': 'omit',
                           'headers': {'Content-Type': 'text/plain;charset=UTF-8'}}).catch(guarded_listener(lambda error: None))
        return True
    except:  # noqa: E722
        return False


def set_timer(callback, delay_ms):
    try:
        return window.setTimeout(guarded(callback), delay_ms)
    except:  # noqa: E722
        return None


def clear_timer(handle):
    try:
        window.clearTimeout(handle)
    except:  # noqa: E722
        pass


def page_value(read):
    """`read()`, or None when it throws (a sandboxed frame's location, say)."""
    try:
        return read()
    except:  # noqa: E722
        return None


def make_env(target):
    """The env of the pure modules, in this browser; `target` is the public `ometria` object."""
    env = make_storage()
    env['now_ms'] = lambda: window.Date.now()
    env['random'] = lambda: Math.random()
    env['new_uuid'] = new_uuid
    env['new_id'] = new_uuid
    env['href'] = lambda: page_value(lambda: window.location.href)
    env['host'] = lambda: page_value(lambda: window.location.hostname)
    env['referrer'] = lambda: page_value(lambda: window.document.referrer)
    env['raw_data'] = lambda: page_value(lambda: target.raw_data if prims.is_plain_object(target.raw_data) else None)
    env['read_cookie'] = read_cookie
    env['write_cookie'] = write_cookie
    env['send'] = send
    env['beacon'] = beacon
    env['set_timer'] = set_timer
    env['clear_timer'] = clear_timer
    env['call_method'] = call_method
    env['global_function'] = global_function
    return env


def global_function(name):
    """The page's global function `name` (`window[name]`), or None."""
    found = page_value(lambda: window[name])
    return found if prims.is_function(found) else None


def console_write(level, text, details):
    """Write to the browser console (debug mode only)."""
    try:
        if details == None:
            window.console[level]('[ometria] ' + text)
        else:
            window.console[level]('[ometria] ' + text, details)
    except:  # noqa: E722
        pass


def call_method(owner, callback):
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
