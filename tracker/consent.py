"""Consent, as pure decisions: the account's settings, the state a page starts in, and the cookie
the choice is kept in. What each consent tool's state means: `consent_tools.py`.

States: PENDING (nothing leaves the page and nothing is stored: the page's calls are held in
memory), GRANTED (the tag works as usual), DENIED (nothing is stored or sent, and what was held
is dropped).

The account's settings are stamped into the tag as one text, `required,<tool>,<category>,<gpc>`
(empty: consent is not required, the tag starts GRANTED as it always did):
- `tool`: one of `consent_tools.TOOLS` (`cookiebot`, `onetrust`, `gcm`: Google Consent Mode), or
  empty (the store calls `ometria.setConsent(bool)` itself);
- `category`: the tool's category the tag belongs to (Cookiebot: `marketing`; OneTrust: a group
  id, `C0004`; Consent Mode: `analytics_storage` or `ad_storage`);
- `gpc`: `refuse` (the default) treats `navigator.globalPrivacyControl` as a refusal until the
  shopper says otherwise, `ignore` does not.

The choice is remembered in a cookie of its own ('1' or '0'), strictly necessary (it holds
nothing about the shopper), so the next page starts in the right state. On https pages it is
HOST_COOKIE_NAME, a `__Host-` cookie: the browser guarantees such a cookie was set by this very
host (Secure, no Domain attribute), so a sibling subdomain, which can set a plain cookie for the
whole parent domain, can never grant consent here; a plain COOKIE_NAME there counts only as a
refusal. Plain http pages (development) use COOKIE_NAME.

Pure: imports only `prims`.
"""

from tracker import prims

PENDING = 'pending'
GRANTED = 'granted'
DENIED = 'denied'
COOKIE_NAME = 'om_consent'
HOST_COOKIE_NAME = '__Host-om_consent'
COOKIE_MAX_AGE_S = 180 * 24 * 3600


def settings_from(text):
    """{'required', 'tool', 'category', 'honour_gpc'} from the stamped text."""
    parts = prims.split_text(text if prims.is_string(text) else '', ',')
    while len(parts) < 4:
        prims.append(parts, '')
    return {'required': parts[0] == 'required', 'tool': parts[1], 'category': parts[2],
            'honour_gpc': parts[3] != 'ignore'}


def cookie_name(href):
    """The cookie the choice is kept in on the page at `href` (see the module docstring)."""
    return HOST_COOKIE_NAME if prims.is_string(href) and prims.starts_with(href, 'https:') else COOKIE_NAME


def remembered_choice(own, shared):
    """The choice remembered for this page: its own cookie's value ('1' or '0'); failing that, a
    plain cookie on an https page (`shared`, which any sibling subdomain may set) counts only when
    it refuses ('0'); else None."""
    if own == '1' or own == '0':
        return own
    return '0' if shared == '0' else None


def initial_state(settings, remembered, gpc):
    """The state a page starts in: GRANTED where consent is not required; else the remembered
    choice ('1' / '0'); else DENIED under Global Privacy Control (when honoured); else PENDING."""
    if not settings['required']:
        return GRANTED
    if remembered == '1':
        return GRANTED
    if remembered == '0':
        return DENIED
    if gpc == True and settings['honour_gpc']:
        return DENIED
    return PENDING
