"""Delivery that loses nothing, in Chromium against the real collector behind a fault-injecting
proxy. Ground truth is what the collector stored (each event id once) and the requests the proxy
saw, never Playwright's view of the network."""

from __future__ import annotations

OUTBOX_KEYS = "Object.keys(localStorage).filter(function (k) { return k.indexOf('ometria:shop:q:') === 0; })"


def outbox_size(page) -> int:
    return page.evaluate(f"""() => {OUTBOX_KEYS}.reduce(function (n, k) {{
        return n + JSON.parse(localStorage.getItem(k)).entries.length; }}, 0)""")


def ids_made(page) -> list[str]:
    return page.evaluate('window.made || []')


RECORD_IDS = """<script>
// Test-only: note the id of every event the tag queues (read from the outbox key it writes).
window.made = []; window.largestOutbox = 0;
var _set = Storage.prototype.setItem;
Storage.prototype.setItem = function (k, v) {
  if (k.indexOf('ometria:shop:q:') === 0) {
    largestOutbox = Math.max(largestOutbox, v.length);
    JSON.parse(v).entries.forEach(function (e) { if (made.indexOf(e.e.id) < 0) { made.push(e.e.id); } });
  }
  return _set.apply(this, arguments);
};
</script>"""


def test_a_click_that_navigates_at_once_still_delivers_by_beacon(shop, page, page_errors):
    """The first request is held open, so the add-to-basket made on click is still pending when
    the page is left: only the pagehide beacon can carry it."""
    shop.proxy.set(mode='hold')
    next_page = shop.page(body='<p>next</p>', tag='none')
    mark = shop.mark()
    page.goto(shop.page(body=f'<a id="buy" href="{next_page}" onclick="ometria.trackAddToBasket(\'4521\', 1)">Buy</a>'
                             '<script>ometria.init("product", {pid: "4521"});</script>'))
    page.wait_for_timeout(200)
    page.click('#buy')
    page.wait_for_url(next_page)
    shop.proxy.release()
    events = shop.wait_events(mark, 2)
    # The held fetch and the beacon are released together: they may arrive in either order.
    assert [e['type'] for e in sorted(events, key=lambda e: e['ts'])] == ['pageview', 'addtobasket']
    assert page_errors == []


def test_a_request_in_flight_when_the_page_is_left_completes(shop, page):
    shop.proxy.set(mode='pass', delay_s=1.5)
    mark = shop.mark()
    page.goto(shop.page(body='<script>ometria.init("homepage"); ometria.trackAddToBasket("1");</script>'))
    page.wait_for_timeout(300)
    page.goto(shop.page(tag='none'))
    events = shop.wait_events(mark, 2)
    assert [e['type'] for e in events] == ['pageview', 'addtobasket']


def test_a_reload_while_a_request_is_in_flight_stores_each_event_once(shop, page):
    shop.proxy.set(mode='hold')
    url = shop.page(body='<script>if (!sessionStorage.done) { sessionStorage.done = 1; ometria.init("basket");'
                         'ometria.trackAddToBasket("7", 2); }</script>')
    mark = shop.mark()
    page.goto(url)
    page.wait_for_timeout(300)
    page.reload()
    page.wait_for_timeout(300)
    shop.proxy.release()
    shop.proxy.set(mode='pass')
    events = shop.wait_events(mark, 2, settle=2)
    assert [e['type'] for e in events] == ['pageview', 'addtobasket']
    assert len({e['id'] for e in events}) == 2
    page.wait_for_function(f'{OUTBOX_KEYS}.length === 0', timeout=15_000)


def test_collector_down_for_several_pages_then_up(shop, page, page_errors):
    shop.proxy.set(mode='reset')
    mark = shop.mark()
    made = []
    for number in range(5):
        page.goto(shop.page(head=RECORD_IDS, body=f'<script>ometria.init("listing", {{n: {number}}});'
                                                  f'ometria.trackAddToBasket("p{number}");</script>'))
        page.wait_for_timeout(700)
        made += ids_made(page)
    requests_while_down = len(shop.proxy.requests())
    assert shop.events(mark) == []
    shop.proxy.set(mode='pass')
    page.goto(shop.page(head=RECORD_IDS, body='<script>ometria.init("homepage");</script>'))
    made += ids_made(page)
    stored = shop.wait_events(mark, 11, settle=1)
    assert sorted(e['id'] for e in stored) == sorted(set(made))
    assert len(stored) == 11
    page.wait_for_function(f'{OUTBOX_KEYS}.length === 0', timeout=15_000)
    # per page: the first attempt, a retry or two within ~0.7 s, and the unload beacon
    assert requests_while_down <= 5 * 4, requests_while_down
    assert page_errors == []


def test_offline_for_a_while_then_online(shop, page, context):
    mark = shop.mark()
    page.goto(shop.page(body='<script>ometria.init("homepage");</script>'))
    shop.wait_events(mark, 1)
    context.set_offline(True)
    page.evaluate('for (var i = 0; i < 30; i++) { ometria.trackAddToBasket("off" + i); } ometria.trackTransaction("T-1")')
    page.wait_for_timeout(2500)
    assert len(shop.events(mark)) == 1
    context.set_offline(False)
    events = shop.wait_events(mark, 32, timeout=10)
    assert events[-1]['type'] == 'transaction' and len({e['id'] for e in events}) == 32


def test_server_errors_then_success(shop, page):
    shop.proxy.set(mode='status', status=500, times=3)
    mark = shop.mark()
    page.goto(shop.page(body='<script>ometria.init("homepage"); ometria.identify("retry@example.com");</script>'))
    events = shop.wait_events(mark, 2, timeout=20)
    outcomes = [r.outcome for r in shop.proxy.requests()]
    assert outcomes[:3] == [500, 500, 500] and 204 in outcomes
    assert len({e['id'] for e in events}) == 2


def test_429_retry_after_is_honoured(shop, page):
    shop.proxy.set(mode='status', status=429, retry_after='2', times=1)
    mark = shop.mark()
    page.goto(shop.page(body='<script>ometria.init("homepage");</script>'))
    shop.wait_events(mark, 1, timeout=10)
    first, second = shop.proxy.requests()[:2]
    assert first.outcome == 429 and second.outcome == 204
    assert second.time - first.time >= 1.9


def test_a_rejected_batch_is_dropped_without_blocking_the_rest(shop, page):
    shop.proxy.set(mode='status', status=400, match='poison')
    mark = shop.mark()
    page.goto(shop.page(body='<script>ometria.init("homepage");</script>'))
    shop.wait_events(mark, 1)
    page.evaluate('ometria.trackAddToBasket("poison")')
    page.wait_for_timeout(300)
    page.evaluate('ometria.trackAddToBasket("good")')
    events = shop.wait_events(mark, 2, settle=1)
    assert [e.get('product_id') for e in events] == [None, 'good']
    poisoned = [r for r in shop.proxy.requests() if b'poison' in r.body]
    assert len(poisoned) == 1, 'a 400 is never retried'
    assert page.evaluate("JSON.parse(localStorage.getItem('ometria:shop:drops'))") == {'rejected': 1}


def test_storage_that_throws_on_access(shop, page, page_errors):
    block = ('<script>Object.defineProperty(window, "localStorage", {get: function () {'
             ' throw new DOMException("denied", "SecurityError"); }});</script>')
    mark = shop.mark()
    page.goto(shop.page(head=block, body='<script>ometria.init("homepage"); ometria.identify("s@x.co");</script>'))
    assert [e['type'] for e in shop.wait_events(mark, 2)] == ['pageview', 'identify']
    assert page_errors == []


def test_storage_that_throws_on_write_quota(shop, page, page_errors):
    quota = ('<script>Storage.prototype.setItem = function () {'
             ' throw new DOMException("full", "QuotaExceededError"); };</script>')
    shop.proxy.set(mode='status', status=503, times=1)
    mark = shop.mark()
    page.goto(shop.page(head=quota, body='<script>ometria.init("homepage"); ometria.trackAddToBasket("q");</script>'))
    assert [e['type'] for e in shop.wait_events(mark, 2, timeout=10)] == ['pageview', 'addtobasket']
    assert page_errors == []


def test_a_thousand_calls_in_one_task(shop, page, page_errors):
    mark = shop.mark()
    page.goto(shop.page(head=RECORD_IDS, body='<script>ometria.init("listing");</script>'))
    shop.wait_events(mark, 1)
    requests_before = len(shop.proxy.requests())
    page.evaluate("for (var i = 0; i < 1000; i++) { ometria.trackAddToBasket('sku-' + i, 1 + (i % 3)); }")
    events = shop.wait_events(mark, 1001, timeout=30, settle=1)
    assert len({e['id'] for e in events}) == 1001
    assert len(shop.proxy.requests()) - requests_before <= 12
    largest = page.evaluate('largestOutbox')
    assert 100_000 < largest < 1024 * 1024, 'the whole burst was written once, within the cap'
    page.wait_for_function(f'{OUTBOX_KEYS}.length === 0')
    assert page_errors == []
