"""Command line: `python -m collector serve ...` runs the server; `python -m collector schema`
prints the contract's JSON Schema."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from collector.accounts import AccountsError, load_accounts

    try:
        accounts = load_accounts(args.accounts)
    except AccountsError as error:
        print(f'cannot start: {error}', file=sys.stderr)
        return 2
    os.environ.update({
        'OMETRIA_ACCOUNTS': str(Path(args.accounts).resolve()),
        'OMETRIA_DB': str(Path(args.db).resolve()),
        'OMETRIA_GENERIC': str(Path(args.generic).resolve()),
        'OMETRIA_RATE': str(args.rate),
        'OMETRIA_BURST': str(args.burst),
        'OMETRIA_DEMO': '1' if args.demo else '',
        'OMETRIA_BODY_TIMEOUT': str(args.body_timeout),
        'OMETRIA_COLLECTOR_URL': args.collector_url,
        'OMETRIA_API_TOKEN': args.api_token or os.environ.get('OMETRIA_API_TOKEN', ''),
    })
    base = f'http://{args.host}:{args.port}'
    if args.demo:
        print(f'\n  Demo store:      {base}/', flush=True)
        print(f'  Debug overlay:   {base}/#om_debug', flush=True)
        print(f'  Live events:     {base}/live?account=demo', flush=True)
        print(f'  Magento flavour: {base}/m/\n', flush=True)
    print(f'collector on {base} (accounts: {", ".join(sorted(accounts))}; database {args.db}; '
          f'{args.workers} worker(s)); Ctrl-C stops it', flush=True)
    uvicorn.run(
        'collector.app:app_from_env',
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        http='httptools',
        loop='uvloop',
        access_log=args.access_log,
        log_level=args.log_level,
        timeout_keep_alive=5,
        proxy_headers=args.proxy_headers,
        timeout_graceful_shutdown=5,
    )
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
    run.add_argument('--db', default=str(ROOT / 'var' / 'events.sqlite3'), help='SQLite file (created if missing)')
    run.add_argument('--accounts', default=str(ROOT / 'accounts.toml'), help='accounts file')
    run.add_argument('--generic', default=str(ROOT / 'dist' / 'generic' / 'ometria.js'), help='generic tag bundle')
    run.add_argument('--workers', type=int, default=1, help='server processes (they share the database)')
    run.add_argument('--rate', type=float, default=50.0, help='requests/s per account and client address (0: no limit)')
    run.add_argument('--burst', type=int, default=200, help='requests a client may send at once')
    run.add_argument('--body-timeout', type=float, default=10.0, help='seconds a client may take to send a body')
    run.add_argument('--collector-url', default='',
                     help="stamp this collect URL into every tag served (default: the account's; with --demo, this server)")
    run.add_argument('--api-token', default='',
                     help='token for /api/* and /live from other hosts (default: loopback clients only)')
    run.add_argument('--demo', action='store_true', help='also serve the demo store')
    run.add_argument('--access-log', action='store_true')
    run.add_argument('--proxy-headers', action='store_true',
                     help='trust X-Forwarded-For/Proto (behind a reverse proxy: client addresses for rate limits)')
    run.add_argument('--log-level', default='warning')
    run.set_defaults(handler=serve)
    show = commands.add_parser('schema', help="print the contract's JSON Schema")
    show.set_defaults(handler=schema)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == '__main__':
    sys.exit(main())
