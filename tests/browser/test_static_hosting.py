"""Tags without the collector: `build/build_tags.py` output served by a plain static file server
(Python's http.server, standing in for any static host or CDN) with the headers README's
"Serving tags from a static host" gives, loaded by a store page with the manifest's SRI value;
a journey through it reaches the collector, and in debug mode the tag's journaled twin and the
debug module come from the same folder."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from collector.accounts import Account, bundle_name
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


class StaticHeaders(SimpleHTTPRequestHandler):
    """A plain static server with README's headers for tag files."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, '.js': 'text/javascript; charset=utf-8'}

    def end_headers(self):
        self.send_header('Cache-Control', 'public, max-age=300')
        self.send_header('Access-Control-Allow-Origin', '*')
        self.send_header('X-Content-Type-Options', 'nosniff')
        super().end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def static_host(tmp_path_factory, stack):
    tmp_path = tmp_path_factory.mktemp('static')
    out = tmp_path / 'tags'
    # Its own generic bundle too: dist/generic is what the other tests' servers stamp from.
    subprocess.run([sys.executable, str(ROOT / 'build' / 'build_tags.py'), '--account', 'shop', '--collector',
                    stack.proxy.url, '--out', str(out), '--generic-out', str(tmp_path / 'generic' / 'ometria.js')],
                   check=True, capture_output=True, cwd=ROOT)
    server = ThreadingHTTPServer(('127.0.0.1', free_port()), functools.partial(StaticHeaders, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{server.server_address[1]}', json.loads((out / 'manifest.json').read_text())
    server.shutdown()
    server.server_close()


def test_a_tag_served_by_a_plain_static_host_with_sri_runs_a_journey(shop, static_host, page, page_errors):
    origin, manifest = static_host
    sri = manifest['accounts']['shop']['sri']
    head = f'<script src="{origin}/shop.js" integrity="{sri}" crossorigin="anonymous"></script>'
    body = ('<script>ometria.init("product", {pid: "4521"}); ometria.identify("static@example.com");'
            'ometria.trackAddToBasket("4521", 1);</script>')
    requested = []
    page.on('request', lambda r: requested.append(r.url))
    since = shop.mark()
    page.goto(shop.page(body=body, head=head, tag='none') + '#om_debug')
    stored = shop.wait_events(since, 3)
    assert [e['type'] for e in stored] == ['pageview', 'identify', 'addtobasket']
    page.wait_for_function("document.querySelector('ometria-debug') !== null")
    # In debug mode the tag hands over to its journaled twin, which loads the debug module: both
    # from the tag's own folder.
    twin = f'{origin}/' + bundle_name(Account('any').features, journal=True)
    assert requested.index(twin) < requested.index(f'{origin}/ometria.debug.js'), requested
    assert page_errors == []


def test_a_wrong_sri_value_keeps_the_tag_out(shop, static_host, page):
    origin, _manifest = static_host
    wrong = 'sha384-' + 'A' * 64
    page.goto(shop.page(head=f'<script src="{origin}/shop.js" integrity="{wrong}" crossorigin="anonymous"></script>',
                        tag='none'))
    assert page.evaluate('typeof window.ometria') == 'undefined'
