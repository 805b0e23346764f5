"""The demo store's webhook receiver: what a store's campaign system would run.

`POST /demo/webhook` takes the collector's trigger calls for the demo account, checks each
signature with the account's secret (collector.webhooks.verify, the algorithm of README's
snippet), records the call in a JSON-lines file (so every worker process sees it) and answers 200,
or 401 to a forged one. `GET /demo/webhook` lists what arrived, newest first;
`GET /demo/webhook.json` gives the same as JSON. Both show shoppers' emails: they need the
server's read credential, like the live page.
"""

from __future__ import annotations

import fcntl
import html
import json
import time
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from collector.bodies import BodyTimeout, BodyTooLarge, read_limited_body
from collector.webhooks import verify

__all__ = ['inbox_routes']

MAX_CALL_BYTES = 256 * 1024
MAX_LISTED = 200
# The inbox stops recording past this size (anyone who can reach the demo can post to it).
MAX_INBOX_BYTES = 4 * 1024 * 1024
BODY_TIMEOUT_S = 10.0


def record(inbox: Path, entry: dict) -> None:
    inbox.parent.mkdir(parents=True, exist_ok=True)
    if inbox.exists() and inbox.stat().st_size > MAX_INBOX_BYTES:
        return
    with open(inbox, 'a', encoding='utf-8') as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        file.write(json.dumps(entry) + '\n')


def received(inbox: Path) -> list[dict]:
    """The calls recorded, newest first (at most MAX_LISTED)."""
    try:
        lines = inbox.read_text(encoding='utf-8').splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in reversed(lines[-MAX_LISTED:]) if line.strip()]


def inbox_routes(secret: str, inbox: Path, may_read) -> list[Route]:
    """The receiver's routes; `may_read(request)` says whether the request holds the credential."""

    async def receive(request: Request) -> Response:
        try:
            body = await read_limited_body(request.stream(), request.headers.get('content-length'), MAX_CALL_BYTES,
                                           BODY_TIMEOUT_S)
        except BodyTooLarge:
            return Response('too large\n', status_code=413, media_type='text/plain')
        except BodyTimeout:
            return Response('too slow\n', status_code=408, media_type='text/plain')
        signed = bool(secret) and verify(secret, body, request.headers.get('ometria-signature', ''),
                                         request.headers.get('ometria-delivery', ''))
        try:
            trigger = json.loads(body)
        except ValueError:
            trigger = None
        record(inbox, {'received_at': int(time.time() * 1000), 'signature_ok': signed,
                       'delivery': request.headers.get('ometria-delivery', ''), 'trigger': trigger})
        return Response(status_code=200 if signed else 401)

    def rows(calls: list[dict]) -> str:
        out = []
        for call in calls:
            trigger = call['trigger'] if isinstance(call['trigger'], dict) else {}
            session = trigger.get('session') or {}
            basket = session.get('basket') or {}
            cells = [time.strftime('%H:%M:%S', time.localtime(call['received_at'] / 1000)), trigger.get('type', '?'),
                     session.get('uid') or '', ', '.join(session.get('products_viewed') or []), basket.get('url') or '',
                     'yes' if call['signature_ok'] else 'NO', call['delivery']]
            out.append('<tr>' + ''.join(f'<td>{html.escape(str(c))}</td>' for c in cells) + '</tr>')
        return ''.join(out)

    async def page(request: Request) -> Response:
        if not may_read(request):
            return Response('open the live page from the demo store first (it holds the token)\n', status_code=401,
                            media_type='text/plain')
        calls = received(inbox)
        return HTMLResponse(
            '<!doctype html><meta charset="utf-8"><title>Webhook receiver · demo</title>'
            '<link rel="stylesheet" href="/static/live.css"><header><h1>Triggers received by the demo\'s webhook</h1>'
            f'<p>{len(calls)} call(s); a session ends after the collector\'s --session-timeout '
            '(<code>make demo SESSION_TIMEOUT=60</code>).</p></header>'
            '<table id="received"><thead><tr><th>received</th><th>type</th><th>uid</th><th>products viewed</th>'
            f'<th>basket link</th><th>signature ok</th><th>trigger id</th></tr></thead><tbody>{rows(calls)}</tbody>'
            '</table>', headers={'Cache-Control': 'no-store', 'Content-Security-Policy': "default-src 'self'"})

    async def as_json(request: Request) -> Response:
        if not may_read(request):
            return JSONResponse({'error': 'needs the API token'}, status_code=401)
        return JSONResponse(received(inbox), headers={'Cache-Control': 'no-store'})

    return [Route('/demo/webhook', receive, methods=['POST']), Route('/demo/webhook', page, methods=['GET']),
            Route('/demo/webhook.json', as_json, methods=['GET'])]
