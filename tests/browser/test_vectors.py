"""The shared vectors (tests/vectors/*.json) in Chromium against the compiled tag, through a real
collector. The events stored and the overlay's lines must be identical to what the Python source
gives under CPython (tests/unit/test_vectors.py), and match the vector's expectations."""

from __future__ import annotations

import datetime
import json

import jsonschema
import pytest

from collector.schema import event_schema
from tests.support.overlay import overlay_lines
from tests.support.vectors import T0, load_vectors, normalize, run_in_cpython
from tests.unit.test_vectors import check_expectations

VECTORS = load_vectors()
SCHEMA = event_schema()

RUNTIME = r"""
window.__refs = {};
window.__decode = function (value) {
  if (Array.isArray(value)) { return value.map(__decode); }
  if (value && typeof value === 'object') {
    if ('$ref' in value) { return __refs[value.$ref]; }
    if ('$js' in value) {
      switch (value.$js) {
        case 'undefined': return undefined;
        case 'NaN': return NaN;
        case 'Infinity': return Infinity;
        case '-Infinity': return -Infinity;
        case 'cyclic': var c = {a: 1}; c.self = c; return c;
        case 'function': return function () {};
      }
      throw new Error('unknown ' + value.$js);
    }
    if ('$repeat' in value) { return value.$repeat[0].repeat(value.$repeat[1]); }
    var out = {};
    Object.keys(value).forEach(function (k) { out[k] = __decode(value[k]); });
    return out;
  }
  return value;
};
window.__perform = function (step) {
  var name = step.call, dot = name.lastIndexOf('.');
  var owner = dot < 0 ? window.ometria : __refs[name.slice(0, dot)];
  var method = name.slice(dot + 1);
  var args = (step.args || []).map(__decode);
  var result = method === 'Basket' ? new owner.Basket() : owner[method].apply(owner, args);
  if (step.as) { __refs[step.as] = result; }
};
"""

BLOCK_STORAGE = r"""
Object.defineProperty(window, 'localStorage', {configurable: true, get: function () {
  throw new DOMException('The operation is insecure.', 'SecurityError'); }});
"""
BLOCK_COOKIES = r"""
Object.defineProperty(document, 'cookie', {configurable: true,
  get: function () { throw new DOMException('The operation is insecure.', 'SecurityError'); },
  set: function () { throw new DOMException('The operation is insecure.', 'SecurityError'); }});
"""


def page_head(spec: dict) -> str:
    parts = ['<script src="/vector-runtime.js"></script><script>']
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


def run_in_chromium(vector: dict, shop, page, page_errors) -> dict:
    shop.store.add('/vector-runtime.js', RUNTIME, content_type='text/javascript')
    # The page's clock starts at T0 and stands still: it moves only when the steps say (and by a
    # few ms after each step, to run the tag's timers), as the CPython fakes' clock does.
    start = datetime.datetime.fromtimestamp(T0 / 1000, tz=datetime.timezone.utc)
    page.clock.install(time=start - datetime.timedelta(seconds=1))
    page.clock.pause_at(start)
    mark = shop.mark()
    lines = []
    first = True
    for step in vector['steps']:
        if 'page' in step:
            spec = step['page']
            if not first:
                lines.append(overlay_lines(page))
            path = spec.get('path', '/')
            route = path.split('#', 1)[0].split('?', 1)[0]
            url = shop.page(head=page_head(spec), path=f'/v-{vector["name"]}{route}').replace(
                f'/v-{vector["name"]}{route}', f'/v-{vector["name"]}{path}')
            if first and '#' not in path:
                url += '#om_debug'
            for name, value in spec.get('set_cookies', {}).items():
                page.context.add_cookies([{'name': name, 'value': value, 'url': url}])
            referrer = spec.get('referrer', '').replace('$origin', shop.store.url(f'/v-{vector["name"]}'))
            page.goto(url, referer=referrer or None)
            page.wait_for_function("() => window.ometria && typeof window.ometria.init === 'function'")
            first = False
        elif 'call' in step:
            page.evaluate('step => __perform(step)', step)
        elif 'advance_ms' in step:
            page.clock.fast_forward(step['advance_ms'])
        elif 'raw_data' in step:
            page.evaluate('change => Object.keys(change).forEach(function (k) {'
                          ' ometria.raw_data[k] = __decode(change[k]); })', step['raw_data'])
        elif 'spa_path' in step:
            page.evaluate("p => history.pushState({}, '', p)", f'/v-{vector["name"]}{step["spa_path"]}')
        page.clock.run_for(5)
    page.clock.fast_forward(2100)
    page.clock.run_for(5)
    lines.append(overlay_lines(page))
    page.clock.resume()  # let the tag's delivery timers run while the test waits for the events
    return {'mark': mark, 'lines': lines}


@pytest.mark.parametrize('vector', VECTORS, ids=[v['name'] for v in VECTORS])
def test_vector_in_chromium_matches_cpython(vector, shop, page, page_errors):
    expected = run_in_cpython(vector)
    run = run_in_chromium(vector, shop, page, page_errors)
    stored = shop.wait_events(run['mark'], len(expected['events']))
    origin = shop.store.url(f'/v-{vector["name"]}')
    for event in stored:
        jsonschema.validate({k: v for k, v in event.items() if k not in ('seq', 'received_at')}, SCHEMA)
    browser_result = normalize(stored, run['lines'], origin)
    python_result = normalize(expected['events'], expected['lines'], 'https://www.shop.test')
    assert browser_result['events'] == python_result['events']
    assert browser_result['lines'] == python_result['lines']
    check_expectations(vector, browser_result)
    assert page_errors == []
