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


def demo_settings(settings: Settings, host: str, port: int) -> Settings:
    """A demo server knows its own origin from its bind address (never from a request), and opens
    its read API with a token of its own when none was given."""
    shown = '127.0.0.1' if host in ('0.0.0.0', '::', '') else host
    return dataclasses.replace(settings, own_origin=f'http://{shown}:{port}',
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
    from collector.ratelimit import create_rate_file
    from collector.storage import is_postgres_url

    try:
        settings = from_args(args)
        if settings.demo:
            settings = demo_settings(settings, args.host, args.port)
        settings.proxy_networks()
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
        db=settings.db if is_postgres_url(settings.db) else str(Path(settings.db).resolve()),
        generic_path=str(Path(settings.generic_path).resolve()))
    os.environ.update(to_env(settings))
    base = f'http://{args.host}:{args.port}'
    if settings.demo:
        origin = settings.own_origin
        print(f'\n  Demo store:      {origin}/', flush=True)
        print(f'  Debug overlay:   {origin}/#om_debug', flush=True)
        print(f'  Live events:     {origin}/live?account=demo&token={settings.api_token}', flush=True)
        print(f'  Magento flavour: {origin}/m/', flush=True)
        print(f'  Webhook inbox:   {origin}/demo/webhook (sessions end after {settings.session_timeout_s:g} s idle)\n',
              flush=True)
    elif not settings.api_token:
        print('read API and live page closed: no API token (--api-token-file or OMETRIA_API_TOKEN)', flush=True)
    shown_db = redact_url(settings.db) if is_postgres_url(settings.db) else settings.db
    print(f'collector on {base} (accounts: {", ".join(sorted(accounts))}; database {shown_db}; '
          f'{args.workers} worker(s)); Ctrl-C stops it', flush=True)
    try:
        uvicorn.run(
            'collector.app:app_from_env',
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            http='collector.protocol:GuardedProtocol',
            loop='uvloop',
            access_log=args.access_log,
            log_level=args.log_level,
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
    run.add_argument('--host', default='127.0.0.1')
    run.add_argument('--port', type=int, default=8000)
    run.add_argument('--workers', type=int, default=1, help='server processes (they share the database)')
    add_arguments(run)
    run.add_argument('--access-log', action='store_true')
    run.add_argument('--log-level', default='warning')
    run.set_defaults(handler=serve)
    show = commands.add_parser('schema', help="print the contract's JSON Schema")
    show.set_defaults(handler=schema)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == '__main__':
    sys.exit(main())
