"""The shared vectors (tests/vectors/*.json) in every engine against the compiled tag, through a
real collector. The events stored and the overlay's lines must be identical to what the Python
source gives under CPython (tests/unit/test_vectors.py), and match the vector's expectations.
Each vector runs against two builds (`BUILDS`): the full feature set in debug mode (its journaled
twin runs, and draws the overlay), and the core set as shoppers download it (no debug mode, no
journal): its events must be those of the source with every feature left out.

Each page runs on the hooks' virtual clock (tests/engines/page_hooks.js): it starts at the
vector's time and stands still, moving only when the steps say (and by a few ms after each step,
to run the tag's timers), as the CPython fakes' clock does; at the end it runs free so that the
tag delivers. A referrer is the page's `document.referrer`, and cookies a store's server would
have set are written before the tag loads: no driver has to support either."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from collector.accounts import ALL_FEATURES
from collector.schema import event_schema
from tests.browser.conftest import ACCOUNT, CORE_ACCOUNT
from tests.engines.conftest import HOOKS_TAG
from tests.support.overlay import overlay_lines
from tests.support.vectors import SETTLE_DELAY_MS, T0, load_vectors, normalize, run_in_cpython
from tests.unit.test_vectors import check_expectations

VECTORS = load_vectors()
SCHEMA = event_schema()
RUNTIME = Path(__file__).with_name('vector_runtime.js').read_text(encoding='utf-8')
STEP_TIMERS_MS = 5

BLOCK_STORAGE = r"""
Object.defineProperty(window, 'localStorage', {configurable: true, get: function () {
  throw new DOMException('The operation is insecure.', 'SecurityError'); }});
"""
# The hooks (page_hooks.js) set navigator.webdriver false, as in a shopper's browser; this sets it back.
AUTOMATED = "Object.defineProperty(navigator, 'webdriver', {configurable: true, get: function () { return true; }});"
BLOCK_COOKIES = r"""
Object.defineProperty(document, 'cookie', {configurable: true,
  get: function () { throw new DOMException('The operation is insecure.', 'SecurityError'); },
  set: function () { throw new DOMException('The operation is insecure.', 'SecurityError'); }});
"""


def page_head(spec: dict, now_ms: int, origin: str) -> str:
    parts = [HOOKS_TAG, '<script src="/vector-runtime.js"></script><script>', f'__clock.install({now_ms});']
    referrer = spec.get('referrer', '').replace('$origin', origin)
    parts.append(f"Object.defineProperty(document, 'referrer', {{get: function () {{ return {json.dumps(referrer)}; }}}});")
    for name, value in spec.get('set_cookies', {}).items():
        parts.append(f"document.cookie = {json.dumps(name + '=' + value + '; path=/')};")
    if spec.get('automated'):
        parts.append(AUTOMATED)
    if spec.get('storage') == 'blocked':
        parts.append(BLOCK_STORAGE)
    if spec.get('cookies') == 'blocked':
        parts.append(BLOCK_COOKIES)
    if 'ometria' in spec:
        parts.append(f'window.ometria = __decode({json.dumps(spec["ometria"])});')
    if 'onLoad' in spec:
        throw = f'throw new Error({json.dumps(spec["onLoad_throws"])});' if spec.get('onLoad_throws') else ''
        parts.append(f'window.ometria = window.ometria || {{}}; ometria.onLoad = function () {{'
                     f' {json.dumps(spec["onLoad"])}.forEach(__perform); {throw} }};')
    parts.append('</script>')
    return ''.join(parts)


# True once the page's outbox holds nothing (every request answered), or storage is unreadable.
OUTBOX_EMPTY = """() => {
  try {
    for (var i = 0; i < localStorage.length; i++) {
      var key = localStorage.key(i);
      if (key.indexOf('ometria:') === 0 && key.indexOf(':q:') > 0) {
        var outbox = JSON.parse(localStorage.getItem(key));
        if (outbox && outbox.entries && outbox.entries.length) { return false; }
      }
    }
  } catch (e) {}
  return true;
}"""


def wait_for_answers(engine, timeout: float = 5.0) -> None:
    """Let the page's requests be answered before virtual time jumps: a real request takes real
    time, and a jump past the tag's request timeout would abort it (the CPython fakes answer in
    no time), changing the order events are stored in."""
    deadline = time.monotonic() + timeout
    while not engine.evaluate(OUTBOX_EMPTY) and time.monotonic() < deadline:
        time.sleep(0.05)


def wait_for_tag(engine, timeout: float = 10.0) -> None:
    """Wait until the tag runs (in debug mode: its journaled twin, once loaded)."""
    deadline = time.monotonic() + timeout
    while not engine.evaluate("() => !!(window.ometria && window.ometria.__ometria_tag__)"):
        assert time.monotonic() < deadline, f'{engine.name}: the tag did not load'
        time.sleep(0.02)


def run_in_engine(vector: dict, shop, engine, build: Build) -> dict:
    shop.store.add('/vector-runtime.js', RUNTIME, content_type='text/javascript')
    mark = shop.mark(build.account)
    prefix = f'/v-{vector["name"]}'
    now_ms = T0
    lines = []
    first = True

    def advance(ms: int) -> None:
        nonlocal now_ms
        engine.evaluate('ms => __clock.advance(ms)', ms)
        now_ms += ms

    for step in vector['steps']:
        if 'page' in step:
            spec = step['page']
            if not first:
                lines.append(overlay_lines(engine))
                # As under CPython, whose fake network answers at once: nothing in flight when the
                # page is left (else a beacon could overtake the request, and the order differ).
                wait_for_answers(engine)
            path = spec.get('path', '/')
            route = path.split('#', 1)[0].split('?', 1)[0]
            head = page_head(spec, now_ms, shop.store.url(prefix))
            url = shop.page(head=head, path=prefix + route, account=build.account).replace(prefix + route, prefix + path)
            if first and '#' not in path and build.debug:
                url += '#om_debug'
            engine.goto(url)
            wait_for_tag(engine)
            first = False
        elif 'call' in step:
            engine.evaluate('step => __perform(step)', step)
        elif 'advance_ms' in step:
            wait_for_answers(engine)
            advance(step['advance_ms'])
        elif 'raw_data' in step:
            engine.evaluate('change => Object.keys(change).forEach(function (k) {'
                            ' ometria.raw_data[k] = __decode(change[k]); })', step['raw_data'])
        elif 'spa_path' in step:
            engine.evaluate("p => history.pushState({}, '', p)", prefix + step['spa_path'])
        advance(STEP_TIMERS_MS)
    advance(SETTLE_DELAY_MS + 100)
    advance(STEP_TIMERS_MS)
    lines.append(overlay_lines(engine))
    engine.evaluate('() => __clock.resume()')  # the tag's delivery timers run while the test waits
    return {'mark': mark, 'lines': lines}


@dataclass(frozen=True)
class Build:
    """A feature set the vectors run against: its account on the test collector, the features
    its bundle leaves out, and whether the pages are in debug mode (the journaled twin runs, and
    the overlay's lines are compared too) or not (the tag shoppers download runs)."""

    name: str
    account: str
    left_out: frozenset
    debug: bool


BUILDS = [Build('full', ACCOUNT, frozenset(), True), Build('core', CORE_ACCOUNT, ALL_FEATURES, False)]


@pytest.mark.parametrize('build', BUILDS, ids=[b.name for b in BUILDS])
@pytest.mark.parametrize('vector', VECTORS, ids=[v['name'] for v in VECTORS])
def test_vector_matches_cpython(vector, build, shop, engine):
    expected = run_in_cpython(vector, build.left_out)
    run = run_in_engine(vector, shop, engine, build)
    # Every expected event stored, and the page's outbox empty (nothing more on its way): then a
    # short settle is enough to see an extra one.
    shop.wait_events(run['mark'], len(expected['events']), account=build.account, settle=0.0)
    wait_for_answers(engine)
    stored = shop.wait_events(run['mark'], len(expected['events']), account=build.account, settle=0.05)
    origin = shop.store.url(f'/v-{vector["name"]}')
    for event in stored:
        jsonschema.validate({k: v for k, v in event.items() if k not in ('seq', 'received_at')}, SCHEMA)
    browser_result = normalize(stored, run['lines'], origin)
    python_result = normalize(expected['events'], expected['lines'], 'https://www.shop.test')
    assert browser_result['events'] == python_result['events'], engine.name
    if build.debug:
        assert browser_result['lines'] == python_result['lines'], engine.name
    if not build.left_out:
        # A vector's expectations are the full tag's (the core bundle may leave out what it tests).
        check_expectations(vector, browser_result)
