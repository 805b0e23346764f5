"""How a collector runs: one table of settings, read from the command line or the environment.

Each `Option` names a setting once: its attribute on `Settings`, its command-line flag, its
environment variable and its default. `python -m collector serve` parses the flags
(`add_arguments` / `from_args`), hands them to uvicorn's worker processes as environment variables
(`to_env`), and each worker rebuilds the same `Settings` with `from_env`. Nothing else holds a
default.

Secrets never need to sit on a command line (where `ps` shows them): the API token also comes from
`--api-token-file` or the `OMETRIA_API_TOKEN` variable. A token shorter than MIN_API_TOKEN_CHARS
is refused at start (`Settings.check`).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from dataclasses import dataclass, fields
from pathlib import Path

__all__ = ['OPTIONS', 'Option', 'Settings', 'SettingsError', 'add_arguments', 'from_args', 'from_env', 'to_env']

ROOT = Path(__file__).resolve().parent.parent
MIN_API_TOKEN_CHARS = 16
# An abandoned basket is worth an email for a day at most: a longer wait is a mistake.
MAX_PURCHASE_GRACE_S = 24 * 3600


class SettingsError(ValueError):
    """A setting has a value the server cannot run with; the message names it."""


@dataclass(frozen=True)
class Option:
    """One setting: `name` on Settings, `flag` on the command line, `env` in the environment."""

    name: str
    flag: str
    env: str
    default: object
    help: str
    kind: type = str


OPTIONS = (
    Option('host', '--host', 'OMETRIA_HOST', '127.0.0.1', 'address to listen on'),
    Option('port', '--port', 'OMETRIA_PORT', 8000, 'port to listen on', int),
    Option('workers', '--workers', 'OMETRIA_WORKERS', 1, 'server processes (they share the database)', int),
    Option('access_log', '--access-log', 'OMETRIA_ACCESS_LOG', False, "log every request (uvicorn's access log)", bool),
    Option('log_level', '--log-level', 'OMETRIA_LOG_LEVEL', 'warning', 'debug, info, warning or error'),
    Option('accounts_path', '--accounts', 'OMETRIA_ACCOUNTS', str(ROOT / 'accounts.toml'), 'accounts file'),
    Option('db', '--db', 'OMETRIA_DB', str(ROOT / 'var' / 'events.sqlite3'),
           'where events go: a SQLite file (created if missing) or a postgresql://user@host/db URL '
           '(a password in the URL shows in ps: prefer PGPASSWORD or ~/.pgpass)'),
    Option('generic_path', '--generic', 'OMETRIA_GENERIC', str(ROOT / 'dist' / 'generic' / 'ometria.js'),
           'the generic tag bundle that tags are stamped from'),
    Option('rate_per_s', '--rate', 'OMETRIA_RATE', 50.0,
           'requests/s per account and client address, shared by all workers (0: no limit)', float),
    Option('burst', '--burst', 'OMETRIA_BURST', 200, 'requests a client may send at once', int),
    Option('body_timeout_s', '--body-timeout', 'OMETRIA_BODY_TIMEOUT', 10.0,
           'seconds a client may take to send a request body', float),
    Option('header_timeout_s', '--header-timeout', 'OMETRIA_HEADER_TIMEOUT', 10.0,
           'seconds a client may take to send its request headers', float),
    Option('max_connections', '--max-connections', 'OMETRIA_MAX_CONNECTIONS', 1000,
           'open connections per worker; past it the one idle longest is closed', int),
    Option('collector_url', '--collector-url', 'OMETRIA_COLLECTOR_URL', '',
           "stamp this collect URL into every tag served (default: each account's collector_url)"),
    Option('api_token', '--api-token', 'OMETRIA_API_TOKEN', '',
           f'the credential of the read API and live page, at least {MIN_API_TOKEN_CHARS} characters (prefer '
           '--api-token-file or OMETRIA_API_TOKEN: a command line shows in ps)'),
    Option('api_token_file', '--api-token-file', 'OMETRIA_API_TOKEN_FILE', '', 'read the API token from this file'),
    Option('trusted_proxies', '--trusted-proxies', 'OMETRIA_TRUSTED_PROXIES', '',
           'comma-separated CIDRs of reverse proxies whose X-Forwarded-For/-Proto are believed '
           '(default: none; client addresses are the TCP peers)'),
    Option('retention_days', '--retention-days', 'OMETRIA_RETENTION_DAYS', 395,
           'delete events, sessions and triggers received more than this many days ago (13 months), set-aside '
           'events after at most 14 days, in the background (0: keep everything)', int),
    Option('retention_interval_s', '--retention-interval', 'OMETRIA_RETENTION_INTERVAL', 60.0, argparse.SUPPRESS, float),
    Option('session_timeout_s', '--session-timeout', 'OMETRIA_SESSION_TIMEOUT', 1800.0,
           'a session ends when none of its events was received for this many seconds; then its summary '
           'and trigger are made', float),
    Option('purchase_grace_s', '--purchase-grace', 'OMETRIA_PURCHASE_GRACE', 300.0,
           'an abandoned_basket trigger waits this many seconds after its session ends before it is sent; an '
           "order of the shopper's received by then (a Shopify order webhook) stops it (0: send at once)", float),
    Option('triggers_per_identity_day', '--triggers-per-identity', 'OMETRIA_TRIGGERS_PER_IDENTITY', 3,
           'triggers one identity may start in 24 hours (0: no limit)', int),
    Option('triggers_per_client_day', '--triggers-per-client', 'OMETRIA_TRIGGERS_PER_CLIENT', 50,
           'triggers the sessions of one client address (an IPv6 /64) may start in 24 hours (0: no limit)', int),
    Option('write_timeout_s', '--write-timeout', 'OMETRIA_WRITE_TIMEOUT', 10.0,
           'seconds a client may leave an answer unread before its connection is closed', float),
    Option('max_connections_per_client', '--max-connections-per-client', 'OMETRIA_MAX_CONNECTIONS_PER_CLIENT', 64,
           'open connections per client address (an IPv6 /64) per worker; trusted proxies are not limited', int),
    Option('webhook_retry_base_ms', '--webhook-retry-base', 'OMETRIA_WEBHOOK_RETRY_BASE', 10_000, argparse.SUPPRESS,
           int),
    Option('demo', '--demo', 'OMETRIA_DEMO', False, 'also serve the demo store (opens the live page with a token)',
           bool),
    Option('demo_inbox', '--demo-inbox', 'OMETRIA_DEMO_INBOX', str(ROOT / 'var' / 'demo-webhook-inbox.jsonl'),
           argparse.SUPPRESS),
    Option('own_origin', '--own-origin', 'OMETRIA_OWN_ORIGIN', '', argparse.SUPPRESS),
    Option('rate_file', '--rate-file', 'OMETRIA_RATE_FILE', '', argparse.SUPPRESS),
)


_DEFAULTS = {option.name: option.default for option in OPTIONS}


@dataclass(frozen=True)
class Settings:
    """What one server instance runs with (see OPTIONS for each field's flag and default)."""

    host: str = _DEFAULTS['host']
    port: int = _DEFAULTS['port']
    workers: int = _DEFAULTS['workers']
    access_log: bool = _DEFAULTS['access_log']
    log_level: str = _DEFAULTS['log_level']
    accounts_path: str = _DEFAULTS['accounts_path']
    db: str = _DEFAULTS['db']
    generic_path: str = _DEFAULTS['generic_path']
    rate_per_s: float = _DEFAULTS['rate_per_s']
    burst: int = _DEFAULTS['burst']
    body_timeout_s: float = _DEFAULTS['body_timeout_s']
    header_timeout_s: float = _DEFAULTS['header_timeout_s']
    max_connections: int = _DEFAULTS['max_connections']
    collector_url: str = _DEFAULTS['collector_url']
    api_token: str = _DEFAULTS['api_token']
    api_token_file: str = _DEFAULTS['api_token_file']
    trusted_proxies: str = _DEFAULTS['trusted_proxies']
    retention_days: int = _DEFAULTS['retention_days']
    retention_interval_s: float = _DEFAULTS['retention_interval_s']
    session_timeout_s: float = _DEFAULTS['session_timeout_s']
    purchase_grace_s: float = _DEFAULTS['purchase_grace_s']
    triggers_per_identity_day: int = _DEFAULTS['triggers_per_identity_day']
    triggers_per_client_day: int = _DEFAULTS['triggers_per_client_day']
    write_timeout_s: float = _DEFAULTS['write_timeout_s']
    max_connections_per_client: int = _DEFAULTS['max_connections_per_client']
    # The first retry delay of a webhook delivery (doubling after); tests shorten it.
    webhook_retry_base_ms: int = _DEFAULTS['webhook_retry_base_ms']
    demo: bool = _DEFAULTS['demo']
    # Where the demo's webhook receiver (demo_site/inbox.py) records the calls it gets.
    demo_inbox: str = _DEFAULTS['demo_inbox']
    # The demo's own origin (http://<bind>:<port>): the collect URL stamped into demo tags and an
    # origin the demo account accepts. Set by `serve --demo` from its bind address, never from a
    # request's Host header.
    own_origin: str = _DEFAULTS['own_origin']
    # The file the workers' rate-limit buckets live in (shared memory); empty: per-process memory.
    rate_file: str = _DEFAULTS['rate_file']

    def check(self) -> None:
        """Raise SettingsError when the server cannot run safely with these settings."""
        if self.api_token and len(self.api_token) < MIN_API_TOKEN_CHARS:
            raise SettingsError(f'the API token has {len(self.api_token)} characters: at least {MIN_API_TOKEN_CHARS}, '
                                'please (python -c "import secrets; print(secrets.token_urlsafe(24))")')
        if not 0 <= self.purchase_grace_s <= MAX_PURCHASE_GRACE_S:
            raise SettingsError(f'--purchase-grace: {self.purchase_grace_s} is not 0 to {MAX_PURCHASE_GRACE_S} seconds')
        self.proxy_networks()

    def proxy_networks(self) -> tuple:
        """The trusted proxies as ip_network objects; raises SettingsError on a malformed CIDR."""
        networks = []
        for part in self.trusted_proxies.split(','):
            part = part.strip()
            if part:
                try:
                    networks.append(ipaddress.ip_network(part, strict=False))
                except ValueError:
                    raise SettingsError(f'--trusted-proxies: {part!r} is not an address or CIDR') from None
        return tuple(networks)


assert [option.name for option in OPTIONS] == [f.name for f in fields(Settings)], 'one Option per setting'


def _parse(option: Option, text: str):
    if option.kind is bool:
        return text in ('1', 'true', 'yes')
    try:
        return option.kind(text)
    except ValueError:
        raise SettingsError(f'{option.env}={text!r}: not a {option.kind.__name__}') from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per option."""
    for option in OPTIONS:
        if option.kind is bool:
            parser.add_argument(option.flag, dest=option.name, action='store_true', help=option.help)
        else:
            parser.add_argument(option.flag, dest=option.name, type=option.kind, default=None, help=option.help)


def from_args(args: argparse.Namespace, environ=os.environ) -> Settings:
    """Settings from parsed flags; a flag not given falls back to its environment variable, then to
    its default. The token may come from --api-token-file."""
    values = {}
    for option in OPTIONS:
        given = getattr(args, option.name, None)
        if option.kind is bool:
            values[option.name] = bool(given) or _parse(option, environ.get(option.env, ''))
        elif given is not None:
            values[option.name] = given
        elif environ.get(option.env):
            values[option.name] = _parse(option, environ[option.env])
        else:
            values[option.name] = option.default
    token_file = values['api_token_file']
    if token_file:
        try:
            values['api_token'] = Path(token_file).read_text(encoding='utf-8').strip()
        except OSError as error:
            raise SettingsError(f'--api-token-file: {error}') from None
    return Settings(**values)


def to_env(settings: Settings) -> dict[str, str]:
    """The environment variables that make `from_env` rebuild `settings` in a worker process."""
    env = {}
    for option in OPTIONS:
        value = getattr(settings, option.name)
        env[option.env] = ('1' if value else '') if option.kind is bool else str(value)
    return env


def from_env(environ=os.environ) -> Settings:
    """Settings from OMETRIA_* variables (what `to_env` wrote), defaults for the missing ones."""
    values = {}
    for option in OPTIONS:
        text = environ.get(option.env)
        values[option.name] = option.default if text is None or (text == '' and option.kind is not str) \
            else _parse(option, text)
    return Settings(**values)
