"""Accounts: the one file (`accounts.toml`) that both the build and the server read.

    [accounts.demo]
    collector_url = "http://127.0.0.1:8000/collect"   # stamped into the tag; optional for the server
    origins = ["http://127.0.0.1:8000"]               # store origins allowed to send (CORS); "*": any
    cookie_domain = ""                                # optional; default: the page's host minus "www."
    identify_forms = false                            # optional; true: identify emails typed into any form
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from collector.stamp import StampError, TagSettings, validate_account_id

__all__ = ['Account', 'AccountsError', 'load_accounts', 'parse_accounts']


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

    def tag_settings(self, collector_url: str) -> TagSettings:
        """What is stamped into this account's tag, with `collector_url`."""
        return TagSettings(self.account_id, collector_url, self.cookie_domain, '1' if self.identify_forms else '')

    def allows_origin(self, origin: str) -> bool:
        """True when a browser page at `origin` may send this account's events."""
        return '*' in self.origins or origin in self.origins


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
        unknown = set(entry) - {'collector_url', 'origins', 'cookie_domain', 'identify_forms'}
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
        accounts[account_id] = Account(account_id, collector_url, tuple(o.rstrip('/') for o in origins), cookie_domain,
                                       identify_forms)
    return accounts


def load_accounts(path: str | Path) -> dict[str, Account]:
    """Accounts from the TOML file at `path`."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding='utf-8'))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise AccountsError(f'{path}: {error}') from None
    return parse_accounts(data, str(path))
