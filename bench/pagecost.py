"""Page cost and network, in Chromium with 4x CPU throttling: each tag evaluated and doing the
same work (a product pageview, an identify, a 3-line basket, an add-to-basket) with its own API,
from the same local page.

- sync ms: main-thread time from just before the tag's script to the end of the calls (median of
  RUNS fresh pages); the tag's source is inline, so no network is timed. The tags take turns
  (`rounds`), so that none is always measured first.
- task ms: the renderer's total main-thread task time over a WINDOW_S window, minus the same for
  a page without any tag (median of WINDOW_RUNS): what the tag costs the page in all, its timers
  and network callbacks included.
- requests / bytes: what reached the collector endpoint in that window (bodies and URLs), config
  fetches and CORS preflights included.
- the start split (ms, medians of RUNS): *start*, from just before the tag's script to its end
  (before the calls); *parse*, compiling the tag's source alone (`new Function`, on a page of its
  own); *first cookie read*, the time inside the first `document.cookie` read, which every
  cookie-based tag pays and no tag can make cheaper (the cookie jar is the browser's); *rest*,
  start minus the other two: what the tag's own code costs.
The page and the endpoint are different origins, as in production. Our tag runs three ways: the
demo account's bundle (`dist/tags/demo.js`), the core feature set, and the tag as it was before
the feature builds (bench/baseline/, the generic bundle of commit f08fe1a), so that a change in
page cost shows within one run.
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common import BENCH, OURS, PEER_FILES, ROOT, median, plausible_iife
from playwright.sync_api import sync_playwright

from collector.stamp import TagSettings, stamp

RUNS = 20
WINDOW_RUNS = 5
WINDOW_S = 4.0
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']
USER_AGENT = ('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 '
              'Safari/537.36')
BASKET = [['1001', 1, 129.0], ['2001', 2, 189.0], ['3003', 1, 39.0]]


BASELINE = BENCH / 'baseline' / 'ometria.f08fe1a.js'
# Before the tag: time every `document.cookie` read (the getter's own time), for the start split.
COOKIE_PROBE = """(function () {
  var own = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
  window.__cookie_reads = [];
  Object.defineProperty(document, 'cookie', {configurable: true,
    get: function () { var t = performance.now(); var v = own.get.call(document);
                       window.__cookie_reads.push([t, performance.now()]); return v; },
    set: function (v) { own.set.call(document, v); }});
})();"""


class QuietServer(ThreadingHTTPServer):
    """A test server that stays silent when a client goes away mid-answer (a page leaving)."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class Sink:
    """The collector endpoint for every tag: answers anything, counts requests and bytes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def answer(self, status: int, body: bytes = b'', content_type: str = 'application/json'):
                self.send_response(status)
                origin = self.headers.get('Origin')
                if origin:
                    self.send_header('Access-Control-Allow-Origin', origin)
                    self.send_header('Access-Control-Allow-Credentials', 'true')
                    self.send_header('Access-Control-Allow-Headers', self.headers.get('Access-Control-Request-Headers') or '*')
                    self.send_header('Access-Control-Allow-Methods', 'GET, POST, OPTIONS')
                self.send_header('Content-Type', content_type)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def record(self, body: bytes):
                with sink.lock:
                    sink.requests.append((self.command, self.path, len(body) + len(self.path)))

            def do_OPTIONS(self):
                self.record(b'')
                self.answer(204)

            def do_GET(self):
                self.record(b'')
                if '/settings' in self.path:
                    host = self.headers.get('Host')
                    settings = {'integrations': {'Segment.io': {'apiKey': 'bench', 'apiHost': f'{host}/v1',
                                                                'protocol': 'http'}}, 'plan': {}}
                    return self.answer(200, json.dumps(settings).encode())
                self.answer(200, b'{}')

            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                self.record(self.rfile.read(length))
                self.answer(200, b'{"status": 1}')

        self.server = QuietServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self) -> list:
        with self.lock:
            taken, self.requests = self.requests, []
        return taken


class Pages:
    def __init__(self):
        self.pages: dict[str, bytes] = {}
        pages = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                body = pages.pages.get(self.path.split('?')[0], b'')
                self.send_response(200 if body else 404)
                self.send_header('Content-Type', 'text/html; charset=utf-8')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = QuietServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def peers(sink: str) -> dict:
    """Per tag: (setup script, tag source, the work with the tag's own API)."""
    basket_total = sum(q * p for _, q, p in BASKET)
    settings = TagSettings('bench', sink + '/collect')
    generic = ROOT / 'dist' / 'generic'
    bundle = json.loads((OURS.parent / 'manifest.json').read_text())['accounts'][OURS.stem]['bundle']
    ours = stamp((generic / bundle).read_text(), settings)
    core = stamp((generic / 'ometria.core.js').read_text(), settings)
    before = stamp(BASELINE.read_text(), settings)
    ours_work = ('ometria.init("product", {pid: "1001"}, "uk"); ometria.identify("shopper@example.com");'
                 'var b = new ometria.Basket(); b.setId("R1").setTotal(%s, "GBP");' % basket_total +
                 ''.join(f'b.addLineItem("{p}", {q}, {price});' for p, q, price in BASKET) +
                 'ometria.setBasket(b); ometria.trackAddToBasket("1001", 1);')
    items = json.dumps([{'product_id': p, 'quantity': q, 'price': price} for p, q, price in BASKET])
    snowplow_work = (
        f'var sp = snowplowBrowserTracking; sp.newTracker("sp", "{sink}", {{appId: "bench", eventMethod: "post"}});'
        'sp.trackPageView(); sp.setUserId("shopper@example.com");'
        'sp.trackSelfDescribingEvent({event: {schema: "iglu:com.example/basket/jsonschema/1-0-0", '
        f'data: {{items: {items}, total: {basket_total}}}}}}});'
        'sp.trackSelfDescribingEvent({event: {schema: "iglu:com.example/add_to_basket/jsonschema/1-0-0",'
        ' data: {product_id: "1001", quantity: 1}}});'
    )
    segment_setup = (
        'window.analytics = []; analytics._writeKey = "bench"; analytics._cdn = "%s";' % sink +
        '["page", "identify", "track"].forEach(function (m) { analytics[m] = function () {'
        ' var a = Array.prototype.slice.call(arguments); a.unshift(m); analytics.push(a); return analytics; }; });'
    )
    segment_work = (
        'analytics.page("Product", {product_id: "1001"}); '
        'analytics.identify("shopper@example.com", {email: "shopper@example.com"});'
        f'analytics.track("Cart Viewed", {{products: {items}, value: {basket_total}}});'
        'analytics.track("Product Added", {product_id: "1001", quantity: 1});'
    )
    posthog_setup = (
        '(function () { var p = window.posthog = []; p._i = []; p.__SV = 1;'
        ' p.init = function (token, config, name) { p._i.push([token, config, name]); }; })();'
        f'posthog.init("phc_bench", {{api_host: "{sink}", autocapture: false, capture_pageview: false,'
        ' disable_session_recording: true, disable_surveys: true});'
    )
    posthog_work = (
        'posthog.capture("$pageview", {product_id: "1001"}); posthog.identify("shopper@example.com");'
        f'posthog.capture("basket", {{items: {items}, total: {basket_total}}});'
        'posthog.capture("add_to_basket", {product_id: "1001", quantity: 1});'
    )
    plausible_work = (
        f'Plausible.init({{domain: "shop.example", endpoint: "{sink}/api/event", autoCapturePageviews: false,'
        ' captureOnLocalhost: true, logging: false});'
        'Plausible.track("pageview", {props: {product_id: "1001"}}); '
        'Plausible.track("Identify", {props: {email: "shopper@example.com"}});'
        f'Plausible.track("Basket", {{props: {{items: "3"}}, revenue: {{amount: {basket_total}, currency: "GBP"}}}});'
        'Plausible.track("Add to basket", {props: {product_id: "1001", quantity: "1"}});'
    )
    return {
        'ometria': ('', ours, ours_work),
        'ometria core set': ('', core, ours_work),
        'ometria before (f08fe1a)': ('', before, ours_work),
        'snowplow': ('', PEER_FILES['snowplow'][1].read_text(), snowplow_work),
        'segment': (segment_setup, PEER_FILES['segment'][1].read_text(), segment_work),
        'posthog': (posthog_setup, PEER_FILES['posthog'][1].read_text(), posthog_work),
        'plausible': ('', plausible_iife(), plausible_work),
        'no tag': ('', '', ''),
    }


def slug(name: str) -> str:
    return ''.join(c if c.isalnum() else '-' for c in name)


def page_html(setup: str, source: str, work: str) -> bytes:
    source = source.replace('</script', '<\\/script')
    return ('<!doctype html><html><head><meta charset="utf-8"><title>Boots</title>'
            f'<script>{COOKIE_PROBE}\n{setup}\nwindow.__t0 = performance.now();</script>'
            f'<script>{source}\n</script>'
            '<script>window.__started = performance.now();</script>'
            f'<script>{work}\nwindow.__t1 = performance.now();</script>'
            '</head><body><h1>Fell walking boot</h1><p>£129.00</p></body></html>').encode()


def parse_page(source: str) -> bytes:
    """A page that only compiles `source` (`new Function`: parsed, not run) and times it."""
    source = source.replace('</script', '<\\/script')
    return ('<!doctype html><html><head><meta charset="utf-8"><title>Parse</title>'
            f'<script type="text/plain" id="source">{source}</script>'
            '<script>var text = document.getElementById("source").textContent; var t = performance.now();'
            'new Function(text); window.__parse = performance.now() - t;</script></head><body></body></html>').encode()


def measure(browser, url: str, window_s: float) -> dict:
    # Plausible and PostHog drop events from automated or headless browsers: every tag runs with a
    # desktop Chrome user agent and navigator.webdriver false, the same conditions for all.
    context = browser.new_context(user_agent=USER_AGENT)
    context.add_init_script("Object.defineProperty(navigator, 'webdriver', {get: function () { return false; }});")
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send('Emulation.setCPUThrottlingRate', {'rate': 4})
    cdp.send('Performance.enable')
    page.goto(url)
    page.wait_for_function('window.__t1 !== undefined || window.__parse !== undefined')
    if page.evaluate('window.__parse !== undefined'):
        parse_ms = page.evaluate('window.__parse')
        context.close()
        return {'parse_ms': parse_ms}
    sync_ms = page.evaluate('window.__t1 - window.__t0')
    start = page.evaluate("""() => {
        var first = window.__cookie_reads.filter(function (r) { return r[0] >= window.__t0; })[0];
        return {start: window.__started - window.__t0,
                cookie: first && first[0] < window.__started ? first[1] - first[0] : 0};
    }""")
    task_s = None
    if window_s:
        time.sleep(window_s)
        metrics = {m['name']: m['value'] for m in cdp.send('Performance.getMetrics')['metrics']}
        task_s = metrics.get('TaskDuration')
    context.close()
    return {'sync_ms': sync_ms, 'task_ms': task_s * 1000 if task_s is not None else None,
            'start_ms': start['start'], 'cookie_ms': start['cookie']}


def rounds(names: list[str], count: int):
    """`count` rounds over `names`, every other one backwards: each tag is measured as often in
    each position, so that the browser's drift over a run (measured: the first tag measured paid
    ~5 % more) does not fall on one tag."""
    for index in range(count):
        yield from (names if index % 2 == 0 else names[::-1])


def run(runs: int = RUNS, window_runs: int = WINDOW_RUNS) -> dict:
    sink = Sink()
    pages = Pages()
    tags = peers(sink.url)
    names = list(tags)
    for name, parts in tags.items():
        pages.pages[f'/{slug(name)}.html'] = page_html(*parts)
        pages.pages[f'/{slug(name)}.parse.html'] = parse_page(parts[1])
    starts = {name: [] for name in names}
    parses = {name: [] for name in names}
    windows = {name: [] for name in names}
    network = {name: [] for name in names}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path='/usr/bin/chromium', args=CHROMIUM_ARGS)
        for name in names:
            measure(browser, f'{pages.url}/{slug(name)}.html', 0)  # warm the browser up
        for name in rounds(names, runs):
            starts[name].append(measure(browser, f'{pages.url}/{slug(name)}.html', 0))
            parses[name].append(measure(browser, f'{pages.url}/{slug(name)}.parse.html', 0)['parse_ms'])
        sink.take()
        for name in rounds(names, window_runs):
            windows[name].append(measure(browser, f'{pages.url}/{slug(name)}.html', WINDOW_S)['task_ms'])
            taken = sink.take()
            network[name].append((len(taken), sum(size for _, _, size in taken), sorted({m for m, _, _ in taken})))
        browser.close()
    results = {}
    for name in names:
        sync = [r['sync_ms'] for r in starts[name]]
        figures = results[name] = {
            'sync_ms': round(median(sync), 2),
            'sync_ms_p90': round(statistics.quantiles(sync, n=10)[-1], 2) if len(sync) >= 10 else None,
            'task_ms': round(median(windows[name]), 1),
            'requests': median([n[0] for n in network[name]]),
            'bytes': median([n[1] for n in network[name]]),
            'methods': network[name][-1][2],
            'start_ms': round(median([r['start_ms'] for r in starts[name]]), 2),
            'parse_ms': round(median(parses[name]), 2),
            'first_cookie_read_ms': round(median([r['cookie_ms'] for r in starts[name]]), 2),
        }
        figures['rest_ms'] = round(max(0.0, figures['start_ms'] - figures['parse_ms'] - figures['first_cookie_read_ms']), 2)
        print(f'  {name:<26} sync {figures["sync_ms"]:7.2f} ms   task {figures["task_ms"]:7.1f} ms   '
              f'start {figures["start_ms"]:6.2f} ms (parse {figures["parse_ms"]:5.2f}, first cookie read '
              f'{figures["first_cookie_read_ms"]:5.2f}, rest {figures["rest_ms"]:5.2f})   '
              f'requests {figures["requests"]:4}   bytes {figures["bytes"]:7}', flush=True)
    baseline = results.pop('no tag')
    for figures in results.values():
        figures['task_ms_over_empty_page'] = round(figures['task_ms'] - baseline['task_ms'], 1)
    ours = results['ometria']
    for figures in results.values():
        figures['ratio_sync_ours_over_peer'] = round(ours['sync_ms'] / figures['sync_ms'], 3) if figures['sync_ms'] else None
        figures['ratio_task_ours_over_peer'] = (round(ours['task_ms_over_empty_page'] / figures['task_ms_over_empty_page'], 3)
                                                if figures['task_ms_over_empty_page'] > 0 else None)
    results['_empty_page_task_ms'] = baseline['task_ms']
    return results


if __name__ == '__main__':
    print(json.dumps(run(runs=5, window_runs=2), indent=2))
