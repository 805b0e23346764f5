"""The visitor cookie and the 30-minute session, as pure functions over its text and the time.

The cookie is named `ometria`; its value is a URL query string, `cid=<visitor>&sid=<session>&
seen=<ms>[&nv=1]`, because Magento's server side parses it that way and reads `sid`. `seen` is the
time of the last activity: a session ends after SESSION_IDLE_TIMEOUT_MS without one. The rule reads
a stored time, not the cookie's expiry, so it behaves the same under a test's fake clock. `nv=1`
marks the visitor's first session (`ometria.isNewVisitor()`). A value an older tag wrote with a
`2_` prefix is read too (`legacy.py`).

Pure: imports only `prims` and `limits`. Reading and writing the cookie is the browser edge's job.
"""

from tracker import features, limits, prims

COOKIE_NAME = 'ometria'
COOKIE_MAX_AGE_S = 365 * 24 * 3600
SESSION_IDLE_TIMEOUT_MS = 30 * 60 * 1000
# `seen` is rewritten at most this often while a session continues: a burst of calls costs one
# cookie write, and the 30-minute rule loses at most this much precision.
SEEN_WRITE_INTERVAL_MS = 5 * 1000
VISITOR_ID_PATTERN = limits.anchored(limits.VISITOR_ID_SOURCE)


def parse_cookie_value(text):
    """The fields of a cookie value `k=v&k=v` as a dict of strings (percent-decoded); fields
    that are malformed are skipped. Missing or empty text gives an empty dict."""
    fields = {}
    if text == None or not prims.is_string(text) or len(text) == 0:
        return fields
    for pair in prims.split_text(text, '&'):
        cut = prims.find(pair, '=')
        if cut > 0:
            fields[prims.url_decode(prims.substring(pair, 0, cut))] = prims.url_decode(prims.substring(pair, cut + 1, None))
    return fields


def format_cookie_value(fields, order):
    """The cookie value for `fields`, written in the key order `order` (keys with no value are
    left out)."""
    parts = []
    for key in order:
        if prims.has_key(fields, key) and fields[key] != None:
            prims.append(parts, prims.url_encode(key) + '=' + prims.url_encode(fields[key]))
    return prims.join(parts, '&')


def valid_id(value):
    """True when `value` can be a visitor or session id read back from a cookie."""
    return prims.is_string(value) and prims.matches(VISITOR_ID_PATTERN, value)


def read_visitor(cookie_text):
    """The visitor state held in the cookie text: {'cid', 'sid', 'seen', 'first'}, or None when the
    cookie is missing or holds no usable visitor id."""
    if features.LEGACY and prims.is_string(cookie_text) and prims.starts_with(cookie_text, '2_'):
        cookie_text = prims.url_decode(prims.substring(cookie_text, 2, None))
    fields = parse_cookie_value(cookie_text)
    if not prims.has_key(fields, 'cid') or not valid_id(fields['cid']):
        return None
    seen = None
    if prims.has_key(fields, 'seen'):
        seen = prims.parse_decimal(fields['seen'])
    sid = fields['sid'] if prims.has_key(fields, 'sid') and valid_id(fields['sid']) else None
    first = prims.has_key(fields, 'nv') and fields['nv'] == '1'
    return {'cid': fields['cid'], 'sid': sid, 'seen': seen, 'first': first}


def touch(previous, now_ms, new_id, rule):
    """The visitor state after an activity at `now_ms`.

    `previous` is the state read from the cookie (or kept in memory), None for a first visit;
    `new_id()` makes a fresh id; `rule` is None, or what attribution decided on a page load
    ('new': a new external source starts a new session; 'keep': an internal referrer keeps it).
    Returns {'cid', 'sid', 'seen', 'first', 'new_visitor', 'new_session', 'write'}: a new visitor
    gets a new cid and sid (and is in their first session); a session with no activity for more
    than SESSION_IDLE_TIMEOUT_MS, or none at all, gets a new sid; `write` says the cookie must be
    rewritten (something changed, or `seen` is SEEN_WRITE_INTERVAL_MS old)."""
    if previous == None:
        return {'cid': new_id(), 'sid': new_id(), 'seen': now_ms, 'first': True, 'new_visitor': True,
                'new_session': True, 'write': True}
    seen = previous['seen']
    idle = seen == None or previous['sid'] == None or rule == 'new' or \
        (now_ms - seen > SESSION_IDLE_TIMEOUT_MS and rule != 'keep')
    if idle:
        return {'cid': previous['cid'], 'sid': new_id(), 'seen': now_ms, 'first': False, 'new_visitor': False,
                'new_session': True, 'write': True}
    # A clock set back (seen in the future) keeps the session and rewrites `seen`.
    stale = now_ms - seen >= SEEN_WRITE_INTERVAL_MS or now_ms < seen
    return {'cid': previous['cid'], 'sid': previous['sid'], 'seen': now_ms if stale else seen,
            'first': previous['first'], 'new_visitor': False, 'new_session': False, 'write': stale}


def cookie_value(state):
    """The cookie value that stores the visitor `state`."""
    return format_cookie_value(
        {'cid': state['cid'], 'sid': state['sid'], 'seen': prims.number_text(state['seen']),
         'nv': '1' if state['first'] else None},
        ['cid', 'sid', 'seen', 'nv'],
    )


def cookie_domain(host, configured):
    """The `Domain` attribute for the visitor cookie: the account's configured domain when set;
    else the page host without a leading `www.`; None (a host-only cookie) for IP addresses,
    `localhost` and other single-label hosts, where a Domain attribute would be refused."""
    if configured != None and len(configured) > 0:
        return configured
    if host == None or len(host) == 0:
        return None
    host = prims.lower(host)
    if prims.find(host, '.') < 0 or prims.matches('^[0-9.]+$', host) or prims.find(host, ':') >= 0:
        return None
    if prims.starts_with(host, 'www.'):
        return prims.substring(host, 4, None)
    return host
