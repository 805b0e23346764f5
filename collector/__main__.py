"""Command line: `python -m collector serve ...` runs the server; `python -m collector schema`
prints the contract's JSON Schema. Every `serve` flag is described once, in `settings.py`."""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from collector.settings import Settings, SettingsError, add_arguments, from_args, to_env


def demo_settings(settings: Settings) -> Settings:
    """A demo server knows its own origin from its bind address (never from a request), and opens
    its read API with a token of its own when none was given."""
    shown = '127.0.0.1' if settings.host in ('0.0.0.0', '::', '') else settings.host
    return dataclasses.replace(settings, own_origin=f'http://{shown}:{settings.port}',
                               api_token=settings.api_token or secrets.token_urlsafe(18))


def redact_url(url: str) -> str:
    """A database URL without its password, for printing."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ''
    netloc = f'{parts.username}:***@{host}' + (f':{parts.port}' if parts.port else '')
    return urlunsplit(parts._replace(netloc=netloc))


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from collector.accounts import AccountsError, load_accounts
    from collector.app import collector_urls
    from collector.engines import engine_of
    from collector.ratelimit import create_rate_file

    try:
        settings = from_args(args)
        if settings.demo:
            settings = demo_settings(settings)
        settings.check()
        accounts = load_accounts(settings.accounts_path)
        collector_urls(settings, accounts)
    except (AccountsError, SettingsError) as error:
        print(f'cannot start: {error}', file=sys.stderr)
        return 2
    if not settings.demo:
        for account in accounts.values():
            if account.webhook_url.startswith('/'):
                print(f'account {account.account_id}: webhook_url {account.webhook_url} is a path, for the demo server '
                      'only: no webhook here', flush=True)
    # The workers share one rate-limit table (a memory-mapped file), so --workers N does not
    # multiply the limit by N.
    shared = Path(tempfile.mkdtemp(prefix='ometria-collector-'))
    create_rate_file(shared / 'rate-buckets')
    settings = dataclasses.replace(
        settings, rate_file=str(shared / 'rate-buckets'),
        accounts_path=str(Path(settings.accounts_path).resolve()),
        db=settings.db if engine_of(settings.db) != 'sqlite' else str(Path(settings.db).resolve()),
        generic_path=str(Path(settings.generic_path).resolve()))
    os.environ.update(to_env(settings))
    base = f'http://{settings.host}:{settings.port}'
    if settings.demo:
        origin = settings.own_origin
        print(f'\n  Demo store:      {origin}/', flush=True)
        print(f'  Debug overlay:   {origin}/#om_debug', flush=True)
        print(f'  Live events:     {origin}/live?account=demo#token={settings.api_token}', flush=True)
        print(f'  Magento flavour: {origin}/m/', flush=True)
        print(f'  Shopify flavour: {origin}/s/ (orders by webhook; account demo-shopify)', flush=True)
        print(f'  Webhook inbox:   {origin}/demo/webhook (sessions end after {settings.session_timeout_s:g} s idle)\n',
              flush=True)
    elif not settings.api_token:
        print('read API and live page closed: no API token (--api-token-file or OMETRIA_API_TOKEN)', flush=True)
    shown_db = redact_url(settings.db)
    print(f'collector on {base} (accounts: {", ".join(sorted(accounts))}; database {shown_db}; '
          f'{settings.workers} worker(s)); Ctrl-C stops it', flush=True)
    try:
        uvicorn.run(
            'collector.app:app_from_env',
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            http='collector.protocol:GuardedProtocol',
            loop='uvloop',
            access_log=settings.access_log,
            log_level=settings.log_level,
            timeout_keep_alive=5,
            # Client addresses and schemes are resolved by the app, through --trusted-proxies only.
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=5,
        )
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    return 0


def schema(args: argparse.Namespace) -> int:
    from collector.schema import contract_schema_text

    sys.stdout.write(contract_schema_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m collector', description=__doc__.split('\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    run = commands.add_parser('serve', help='run the collector and tag server')
    add_arguments(run)
    run.set_defaults(handler=serve)
    show = commands.add_parser('schema', help="print the contract's JSON Schema")
    show.set_defaults(handler=schema)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == '__main__':
    sys.exit(main())
