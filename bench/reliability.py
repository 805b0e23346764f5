"""Reliability report: the delivery scenarios of tests/browser/test_delivery.py with larger counts,
in Chromium against the real collector behind the fault-injecting proxy. Per scenario: events
made, events stored (unique ids in the database), duplicates stored, copies received (what
retries and beacons cost on the wire), requests sent, drops counted by the tag.

    python bench/reliability.py --report      # prints the table (make reliability)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401 -- puts the project on sys.path
from playwright.sync_api import sync_playwright

from tests.browser.conftest import ACCOUNT, Stack
from tests.support.servers import CollectorProcess, FaultProxy, StorePages, free_port

CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']


def start_stack(workdir: Path) -> Stack:
    port = free_port()
    proxy = FaultProxy(port)
    accounts = f'[accounts.{ACCOUNT}]\ncollector_url = "{proxy.url}"\norigins = ["*"]\n'
    collector = CollectorProcess(workdir, accounts, port=port)
    collector.start()
    return Stack(collector, proxy, StorePages())


def drops(page) -> dict:
    try:
        return json.loads(page.evaluate("localStorage.getItem('ometria:shop:drops') || '{}'"))
    except Exception:  # storage blocked in the page
        return {}


def measure(stack: Stack, name: str, made: int, scenario) -> dict:
    stack.proxy.reset()
    mark = stack.mark()
    started = time.monotonic()
    counted_drops = scenario() or {}
    expected = made - sum(counted_drops.values())
    try:
        stored = stack.wait_events(mark, expected, timeout=120, settle=2)
    except AssertionError:
        stored = stack.events(mark)
    received = []
    for record in stack.proxy.requests():
        if 200 <= record.outcome < 300:
            received += [e['id'] for e in json.loads(record.body)['events']]
    ids = [e['id'] for e in stored]
    return {
        'scenario': name,
        'made': made,
        'stored': len(set(ids)),
        'delivered_pct': round(100 * len(set(ids)) / expected, 2) if expected else 100.0,
        'duplicates_stored': len(ids) - len(set(ids)),
        'copies_received': len(received),
        'requests': len(stack.proxy.requests()),
        'drops_counted': counted_drops,
        'seconds': round(time.monotonic() - started, 1),
    }


def run() -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        stack = start_stack(Path(tmp))
        browser = playwright.chromium.launch(executable_path='/usr/bin/chromium', args=CHROMIUM_ARGS)

        def fresh():
            context = browser.new_context()
            return context, context.new_page()

        def nav_after_event(count=50):
            context, page = fresh()
            for index in range(count):
                stack.proxy.set(mode='pass', delay_s=0.3 if index % 2 else 0)
                target = stack.page(body='<p>next</p>', tag='none')
                page.goto(stack.page(body=f'<a id="go" href="{target}" onclick="ometria.trackAddToBasket(\'n{index}\')">go</a>'
                                          '<script>ometria.init("product", {pid: "n"});</script>'))
                page.click('#go')
                page.wait_for_url(target)
            time.sleep(2)
            context.close()

        def reload_in_flight(count=10):
            context, page = fresh()
            for index in range(count):
                stack.proxy.set(mode='hold')
                page.goto(stack.page(body=f'<script>ometria.init("basket"); ometria.trackAddToBasket("r{index}");</script>'))
                page.wait_for_timeout(150)
                page.evaluate('sessionStorage.x = 1')
                page.goto(stack.page(tag='sync', body='<p>reloaded</p>'))
                stack.proxy.release()
                stack.proxy.set(mode='pass')
                page.wait_for_timeout(300)
            context.close()

        def collector_down(pages=10, per_page=5):
            context, page = fresh()
            stack.proxy.set(mode='reset')
            for index in range(pages):
                calls = ''.join(f'ometria.trackAddToBasket("d{index}-{i}");' for i in range(per_page - 1))
                page.goto(stack.page(body=f'<script>ometria.init("listing");{calls}</script>'))
                page.wait_for_timeout(500)
            stack.proxy.set(mode='pass')
            page.goto(stack.page(body='<script>ometria.init("homepage");</script>'))
            page.wait_for_timeout(3000)
            context.close()

        def offline(count=30):
            context, page = fresh()
            page.goto(stack.page(body='<script>ometria.init("homepage");</script>'))
            page.wait_for_timeout(500)
            context.set_offline(True)
            page.evaluate(f'for (var i = 0; i < {count}; i++) {{ ometria.trackAddToBasket("o" + i); }}')
            page.wait_for_timeout(3000)
            context.set_offline(False)
            page.wait_for_timeout(3000)
            context.close()

        def faulted_burst(prefix, wait_ms, head='', count=20, **fault):
            """A page that makes `count` events in one task, with `head` in the page and the
            proxy failing as `fault` says."""
            context, page = fresh()
            if fault:
                stack.proxy.set(mode='status', **fault)
            calls = ''.join(f'ometria.trackAddToBasket("{prefix}{i}");' for i in range(count))
            page.goto(stack.page(head=head, body=f'<script>ometria.init("homepage");{calls}</script>'))
            page.wait_for_timeout(wait_ms)
            context.close()

        def server_errors():
            faulted_burst('e', 8000, status=500, times=3)

        def rate_limited():
            faulted_burst('l', 6000, status=429, retry_after='2', times=2)

        def poisoned(count=20):
            context, page = fresh()
            stack.proxy.set(mode='status', status=400, match='poison')
            page.goto(stack.page(body='<script>ometria.init("homepage");</script>'))
            page.wait_for_timeout(300)
            page.evaluate('ometria.trackAddToBasket("poison")')
            page.wait_for_timeout(300)
            page.evaluate(f'for (var i = 0; i < {count}; i++) {{ ometria.trackAddToBasket("g" + i); }}')
            page.wait_for_timeout(2000)
            counted = drops(page)
            context.close()
            return counted

        def storage_blocked():
            faulted_burst('s', 2000, head='<script>Object.defineProperty(window, "localStorage", {get: function () {'
                                           ' throw new DOMException("denied", "SecurityError"); }});</script>')

        def storage_full():
            faulted_burst('q', 4000, head='<script>Storage.prototype.setItem = function () {'
                                           ' throw new DOMException("full", "QuotaExceededError"); };</script>',
                          status=503, times=1)

        def burst(count=1000):
            context, page = fresh()
            page.goto(stack.page(body='<script>ometria.init("listing");</script>'))
            page.evaluate(f'for (var i = 0; i < {count}; i++) {{ ometria.trackAddToBasket("b" + i); }}')
            page.wait_for_timeout(5000)
            context.close()

        def multi_tab(tabs=3, per_tab=20):
            context = browser.new_context()
            stack.proxy.set(mode='reset')
            pages = []
            for tab in range(tabs):
                page = context.new_page()
                calls = ''.join(f'ometria.trackAddToBasket("t{tab}-{i}");' for i in range(per_tab - 1))
                page.goto(stack.page(body=f'<script>ometria.init("listing");{calls}</script>'))
                pages.append(page)
            time.sleep(1.5)
            # While the collector is down, one tab crashes (no pagehide: its outbox keeps its lease
            # until it runs out) and one is closed (its lease is released at once).
            try:
                pages[1].goto('chrome://crash', timeout=3000)
            except Exception:  # the renderer is gone, as intended
                pass
            pages[2].close()
            stack.proxy.set(mode='pass')
            pages[0].evaluate("window.dispatchEvent(new Event('online'))")
            time.sleep(1)
            pages[0].goto(stack.page(body='<p>later</p>'))
            time.sleep(75)  # the closed tabs' leases run out; the live tab adopts their outboxes
            pages[0].goto(stack.page(body='<p>later again</p>'))
            time.sleep(3)
            context.close()

        scenarios = [
            ('navigation right after an event (50 clicks, half with a 300 ms slow collector)', 100, nav_after_event),
            ('reload while a request is in flight (10 times)', 20, reload_in_flight),
            ('collector down for 10 pages, then up', 51, collector_down),
            ('offline for a while (30 events), then online', 31, offline),
            ('500 on the first 3 attempts (20 events)', 21, server_errors),
            ('429 with Retry-After: 2, twice (20 events)', 21, rate_limited),
            ('a batch answered 400, then 20 events', 22, poisoned),
            ('localStorage throws on access (20 events)', 21, storage_blocked),
            ('localStorage full: writes throw (20 events, one 503)', 21, storage_full),
            ('1,000 calls in one task', 1001, burst),
            ('3 tabs, collector down; one tab crashes, one is closed, then the collector is up', 60, multi_tab),
        ]
        only = [a for a in sys.argv[1:] if not a.startswith('-')]
        for name, made, scenario in scenarios:
            if only and not any(word in name for word in only):
                continue
            print(f'  ... {name}', flush=True)
            result = measure(stack, name, made, scenario)
            print(f"  {result['scenario'][:60]:<60} made {result['made']:>5}  stored {result['stored']:>5}  "
                  f"dup stored {result['duplicates_stored']}  copies {result['copies_received']:>5}  "
                  f"requests {result['requests']:>4}  drops {result['drops_counted']}", flush=True)
            results.append(result)
        browser.close()
        stack.store.close()
        stack.proxy.close()
        stack.collector.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--report', action='store_true', help='print the table (default)')
    parser.add_argument('only', nargs='*', help='run the scenarios whose name holds one of these words')
    parser.parse_args()
    run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
