"""Accounts: the one file (`accounts.toml`) that both the build and the server read.

    [accounts.demo]
    collector_url = "http://127.0.0.1:8000/collect"   # stamped into the tag; optional for the server
    origins = ["http://127.0.0.1:8000"]               # store origins allowed to send (CORS); "*": any
    cookie_domain = ""                                # optional; default: the page's host minus "www."
    identify_forms = false                            # optional; true: identify emails typed into any form
    consent = "required"                              # optional: nothing is stored or sent before consent
    consent_tool = "cookiebot"                        # optional: cookiebot, onetrust or gcm (else setConsent)
    consent_category = "marketing"                    # the tool's category (OneTrust: C0004; gcm: analytics_storage)
    gpc = "refuse"                                    # optional: refuse (default) or ignore Global Privacy Control
    platform = "any"                                  # optional: any (default), magento, shopify or custom
    bots = "flag"                                     # optional: flag (default: stored, marked) or drop

The settings `consent`, `consent_tool`, `identify_forms` and `platform` choose the account's feature
set (`Account.features`): the features compiled into its tag (tracker/features.py), so that shoppers
download only what the store uses. Each set is its own bundle (`bundle_name`), built once by
`make build` for the sets the accounts use.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from collector.stamp import StampError, TagSettings, validate_account_id
from tracker import consent_tools, features

__all__ = ['ALL_FEATURES', 'PIXEL_FILE_SUFFIX', 'PLATFORMS', 'Account', 'AccountsError', 'bundle_name', 'load_accounts',
           'parse_accounts', 'pixel_bundle_name', 'pixel_set']

# Every feature an account can choose (tracker/features.py): the full set. (JOURNAL is not an
# account's choice: each set is built without it, and again with it as its debug twin.)
ALL_FEATURES = frozenset(name for name in vars(features) if name.isupper()) - {'JOURNAL'}
# What each platform brings: its data layers, cookie channels, signup forms and recommendation clicks. `any`, the
# default, is every one of them (a store whose platform is not said); `custom` is none (a store
# calling the API itself).
PLATFORMS = {
    'any': frozenset({'MAGENTO', 'LEGACY', 'SIGNUPS', 'RECS'}),
    'magento': frozenset({'MAGENTO', 'LEGACY', 'SIGNUPS', 'RECS'}),
    'shopify': frozenset({'SHOPIFY', 'LEGACY', 'SIGNUPS', 'RECS'}),
    'custom': frozenset(),
}
FULL_BUNDLE = 'ometria.js'
BOT_POLICIES = ('flag', 'drop')


def bundle_name(feature_set: frozenset[str], journal: bool = False) -> str:
    """The file name of the bundle of `feature_set`: `ometria.js` for every feature, else
    `ometria.<features, lower case, sorted, joined by '-'>.js` (`ometria.core.js`: none); its
    journaled twin (`journal`) is the same name ending `.journal.js`."""
    name = FULL_BUNDLE if feature_set == ALL_FEATURES else \
        'ometria.' + ('-'.join(sorted(name.lower() for name in feature_set)) or 'core') + '.js'
    return name[:-3] + '.journal.js' if journal else name



# The Shopify checkout pixel (tracker/pixel_main.py): what of a Shopify account's features its
# pixel carries. In the sandbox there is no page to read (data layer, forms, signup forms,
# recommendation links, older tags' cookies, consent tools): only the consent requirement, which
# Shopify's customer privacy answers (tracker/pixel.py). An account's pixel is
# `<account_id>.shopify-pixel.js`, stamped from the generic bundle `pixel_bundle_name(...)`.
PIXEL_FEATURES = frozenset({'CONSENT'})
PIXEL_FILE_SUFFIX = '.shopify-pixel.js'


def pixel_set(feature_set: frozenset[str]) -> frozenset[str] | None:
    """The features of the checkout pixel of an account with `feature_set`, or None when it has
    none (not a Shopify account)."""
    return frozenset(feature_set) & PIXEL_FEATURES if 'SHOPIFY' in feature_set else None


def pixel_bundle_name(feature_set: frozenset[str]) -> str:
    """The generic checkout pixel of the pixel features `feature_set`: `ometria.<set>.pixel.js`."""
    return bundle_name(feature_set)[:-3] + '.pixel.js'


class AccountsError(ValueError):
    """The accounts file is malformed; the message names the file and the account."""


@dataclass(frozen=True)
class Account:
    """One store account."""

    account_id: str
    collector_url: str = ''
    origins: tuple[str, ...] = field(default_factory=tuple)
    cookie_domain: str = ''
    identify_forms: bool = False
    consent: str = ''
    consent_tool: str = ''
    consent_category: str = ''
    gpc: str = 'refuse'
    # Where this account's triggers are POSTed, and the secret that signs them (webhooks.py).
    webhook_url: str = ''
    webhook_secret: str = field(default='', repr=False)
    platform: str = 'any'
    # What becomes of a bot's events (bots.py): 'flag' (stored; the session is marked and starts
    # no trigger) or 'drop' (answered 204, counted, not stored).
    bots: str = 'flag'
    # The secret Shopify signs this store's order webhooks with (shopify.py): set, the store's
    # `orders/create` webhooks are taken at /shopify/webhooks/<account_id>.
    shopify_webhook_secret: str = field(default='', repr=False)

    @property
    def features(self) -> frozenset[str]:
        """The features compiled into this account's tag: its platform's, consent's where it is
        required (and its tool's), the form opt-in's."""
        chosen = set(PLATFORMS[self.platform])
        if self.consent:
            chosen.add('CONSENT')
            if self.consent_tool:
                chosen.add(self.consent_tool.upper())
        if self.identify_forms:
            chosen.add('FORMS')
        return frozenset(chosen)

    def tag_settings(self, collector_url: str) -> TagSettings:
        """What is stamped into this account's tag, with `collector_url`."""
        consent = ','.join([self.consent, self.consent_tool, self.consent_category, self.gpc]) if self.consent else ''
        return TagSettings(self.account_id, collector_url, self.cookie_domain, '1' if self.identify_forms else '', consent)


# The tools the tag can follow (tracker/consent_tools.py), or none ('').
CONSENT_TOOLS = ('', *consent_tools.TOOLS)


def consent_problem(consent: object, consent_tool: object, consent_category: object, gpc: object) -> str | None:
    """What is wrong with an account's consent settings, or None."""
    if consent not in ('', 'required'):
        return 'consent is "required" or absent'
    if consent_tool not in CONSENT_TOOLS:
        return f'consent_tool is one of {", ".join(t for t in CONSENT_TOOLS if t)}'
    if not isinstance(consent_category, str) or ',' in consent_category or (consent_tool and not consent_category):
        return 'consent_category names the category of consent_tool (no commas)'
    if gpc not in ('refuse', 'ignore'):
        return 'gpc is "refuse" or "ignore"'
    return None


MIN_WEBHOOK_SECRET_CHARS = 16


def webhook_problem(webhook_url: object, webhook_secret: object) -> str | None:
    """What is wrong with an account's webhook settings, or None. The URL is http(s), or a path
    (`/demo/webhook`: only the demo server, which knows its own origin, takes one); a URL needs a
    secret of at least MIN_WEBHOOK_SECRET_CHARS characters."""
    if not isinstance(webhook_url, str) or not isinstance(webhook_secret, str):
        return 'webhook_url and webhook_secret are strings'
    if not webhook_url:
        return 'webhook_secret without webhook_url' if webhook_secret else None
    if not (webhook_url.startswith(('https://', 'http://')) or webhook_url.startswith('/')) or any(
            c.isspace() for c in webhook_url):
        return 'webhook_url is an http(s) URL'
    if len(webhook_secret) < MIN_WEBHOOK_SECRET_CHARS:
        return f'webhook_url needs a webhook_secret of at least {MIN_WEBHOOK_SECRET_CHARS} characters'
    return None


def one_of(entry: dict, key: str, allowed: tuple[str, ...], where: str) -> str:
    """`entry[key]`, one of `allowed` (the first when absent); raises AccountsError naming `where`."""
    value = entry.get(key, allowed[0])
    if value not in allowed:
        raise AccountsError(f'{where}: {key} is one of {", ".join(allowed)}')
    return value


def parse_accounts(data: dict, source: str = 'accounts') -> dict[str, Account]:
    """Accounts from the parsed TOML `data`; raises AccountsError naming `source` on bad input."""
    table = data.get('accounts')
    if not isinstance(table, dict) or not table:
        raise AccountsError(f'{source}: no [accounts.<id>] table')
    accounts = {}
    for account_id, entry in table.items():
        try:
            validate_account_id(account_id)
        except StampError as error:
            raise AccountsError(f'{source}: {error}') from None
        if not isinstance(entry, dict):
            raise AccountsError(f'{source}: account {account_id!r} must be a table')
        unknown = set(entry) - {'collector_url', 'origins', 'cookie_domain', 'identify_forms', 'consent', 'consent_tool',
                                'consent_category', 'gpc', 'webhook_url', 'webhook_secret', 'platform', 'bots',
                                'shopify_webhook_secret'}
        if unknown:
            raise AccountsError(f'{source}: account {account_id!r} has unknown keys {sorted(unknown)}')
        collector_url = entry.get('collector_url', '')
        origins = entry.get('origins', [])
        cookie_domain = entry.get('cookie_domain', '')
        if not isinstance(collector_url, str) or not isinstance(cookie_domain, str):
            raise AccountsError(f'{source}: account {account_id!r}: collector_url and cookie_domain are strings')
        if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
            raise AccountsError(f'{source}: account {account_id!r}: origins is a list of strings')
        identify_forms = entry.get('identify_forms', False)
        if not isinstance(identify_forms, bool):
            raise AccountsError(f'{source}: account {account_id!r}: identify_forms is true or false')
        consent = {key: entry.get(key, default) for key, default in
                   (('consent', ''), ('consent_tool', ''), ('consent_category', ''), ('gpc', 'refuse'))}
        problem = consent_problem(**consent)
        if problem:
            raise AccountsError(f'{source}: account {account_id!r}: {problem}')
        webhook = {key: entry.get(key, '') for key in ('webhook_url', 'webhook_secret')}
        problem = webhook_problem(**webhook)
        if problem:
            raise AccountsError(f'{source}: account {account_id!r}: {problem}')
        choices = {key: one_of(entry, key, allowed, f'{source}: account {account_id!r}')
                   for key, allowed in (('platform', tuple(PLATFORMS)), ('bots', BOT_POLICIES))}
        shopify_secret = entry.get('shopify_webhook_secret', '')
        if not isinstance(shopify_secret, str) or (shopify_secret and (
                len(shopify_secret) < MIN_WEBHOOK_SECRET_CHARS or choices['platform'] != 'shopify')):
            raise AccountsError(f'{source}: account {account_id!r}: shopify_webhook_secret is a string of at least '
                                f'{MIN_WEBHOOK_SECRET_CHARS} characters, for a platform = "shopify" account')
        accounts[account_id] = Account(account_id, collector_url, tuple(o.rstrip('/') for o in origins), cookie_domain,
                                       identify_forms, **consent, **webhook, **choices,
                                       shopify_webhook_secret=shopify_secret)
    return accounts


def load_accounts(path: str | Path) -> dict[str, Account]:
    """Accounts from the TOML file at `path`."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding='utf-8'))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise AccountsError(f'{path}: {error}') from None
    return parse_accounts(data, str(path))
