"""Stamping: turning the one generic tag bundle into an account's tag file.

The generic bundle holds each setting as a sentinel string literal (`"__OM_ACCOUNT_ID__"`...).
Stamping replaces each quoted sentinel with the setting written as a JSON string, which is also a
valid JavaScript literal. It is pure string work, a few microseconds per account, so the build
stamps every account from one bundle and the tag server can stamp per request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from tracker import limits

__all__ = [
    'ACCOUNT_ID_PATTERN',
    'ACCOUNT_ID_SOURCE',
    'SENTINELS',
    'StampError',
    'TagSettings',
    'js_string_literal',
    'stamp',
    'validate_account_id',
]

# The one rule for account ids (tracker/limits.py; collector/models.py anchors it for the contract).
ACCOUNT_ID_SOURCE = limits.ACCOUNT_ID_SOURCE
ACCOUNT_ID_PATTERN = re.compile(ACCOUNT_ID_SOURCE)

# Setting name -> the sentinel text the tracker source holds in its place (tracker/config.py).
SENTINELS = {
    'account_id': '__OM_ACCOUNT_ID__',
    'collector_url': '__OM_COLLECTOR_URL__',
    'cookie_domain': '__OM_COOKIE_DOMAIN__',
    'identify_forms': '__OM_IDENTIFY_FORMS__',
    'consent': '__OM_CONSENT__',
}
_QUOTES = ('"', "'", '`')
_LEFTOVER = re.compile(r'__OM_[A-Z_]+__')


class StampError(ValueError):
    """A tag cannot be stamped: a bad account id, or a bundle whose sentinels are missing, doubled
    or left over. The message names the account."""


@dataclass(frozen=True)
class TagSettings:
    """What is stamped into one account's tag."""

    account_id: str
    collector_url: str
    cookie_domain: str = ''
    # '1': the tag identifies a valid email typed into any form of the page; '': it does not.
    identify_forms: str = ''
    # 'required,<tool>,<category>,<gpc>' when the account requires consent (tracker/consent.py), else ''.
    consent: str = ''


def validate_account_id(account_id: object) -> str:
    """Return `account_id` if it matches the account id rule (ACCOUNT_ID_SOURCE), else raise StampError.

    The id becomes a file name and a URL path segment, so nothing else is allowed."""
    if not isinstance(account_id, str) or not ACCOUNT_ID_PATTERN.fullmatch(account_id):
        raise StampError(f'account {account_id!r}: the id must match ^{ACCOUNT_ID_SOURCE}$')
    return account_id


def js_string_literal(value: str) -> str:
    """`value` as a double-quoted JS string literal, safe anywhere a script can sit.

    JSON with `ensure_ascii` escapes quotes, backslashes, control characters and U+2028/U+2029
    (line breaks inside a JS string before ES2019). `<`, `>` and `&` are escaped as well, so the
    file stays inert even when a store pastes it inline inside `<script>...</script>`."""
    text = json.dumps(value, ensure_ascii=True)
    return text.replace('<', '\\u003c').replace('>', '\\u003e').replace('&', '\\u0026')


def stamp(generic: str, settings: TagSettings) -> str:
    """Return the generic bundle with each sentinel replaced by the account's setting.

    Raises StampError, naming the account, when the account id is malformed, when a sentinel is
    not found exactly once in quotes, or when any `__OM_..__` text is left after stamping."""
    account = settings.account_id
    validate_account_id(account)
    text = generic
    for field, sentinel in SENTINELS.items():
        value = getattr(settings, field)
        if not isinstance(value, str):
            raise StampError(f'account {account!r}: setting {field} must be a string')
        found = [q + sentinel + q for q in _QUOTES if (q + sentinel + q) in text]
        count = sum(text.count(quoted) for quoted in found)
        if count != 1:
            raise StampError(
                f'account {account!r}: sentinel {sentinel} found {count} times in the bundle, expected once'
            )
        text = text.replace(found[0], js_string_literal(value))
    leftover = _LEFTOVER.search(text)
    if leftover:
        raise StampError(f'account {account!r}: sentinel {leftover.group()} left over after stamping')
    return text
