"""Shared test vectors: call sequences (tests/vectors/*.json) and the events they must produce.

The same vector runs under CPython against the Python source (`run_in_cpython`, with the fakes of
tests/unit/fakes.py) and in every browser engine against the compiled tag (tests/engines/test_vectors.py).
Both results are normalised the same way (`normalize`) and must be identical, and equal to the
vector's `expect`: this is how Transcrypt's semantic traps are caught before they ship.

A vector:
    {"name": ..., "steps": [...], "expect": [events...], "expect_lines": [[lines of page 1], ...]}
Steps:
    {"page": {"path": "/p/1", "referrer": "", "ometria": {...}, "onLoad": [calls], "onLoad_throws": "msg",
              "tag": "sync"|"async", "storage": "blocked", "set_cookies": {"ommage": "..."},
              "automated": true}}   a new page
      load; a referrer starting with "$origin" is a page of the store itself; `set_cookies` are
      there when the page loads (as a store's server would have set them); `automated`: the
      browser is driven by automation (`navigator.webdriver` true; otherwise false, in every
      engine, though their drivers set it)
    {"call": "init", "args": [...]}              ometria.init(...); "b.setTotal" calls a saved object
    {"call": "Basket", "as": "b"}                keeps the result as "b"
    {"advance_ms": 1860000}                      time passes (timers fire)
    {"spa_path": "/next"}                        a single-page app's route change (history.pushState)
    {"raw_data": {"data": {...}}}                set keys of window.ometria.raw_data (a variant pick)
Argument values: JSON, plus {"$ref": "b"}, {"$js": "undefined"|"NaN"|"Infinity"|"-Infinity"|
"cyclic"|"function"}, {"$repeat": ["ab", 1000]} (a long string).

Normalisation: event ids, visitor ids and session ids become $e1, $c1, $s1... in order of first
appearance (ids an older tag wrote, named `legacy-...` in the vectors, are kept as they are);
`ts` becomes whole seconds since the start; URLs (a basket's deep link too) lose their origin;
a source's `day` becomes "$day". In `expect`, a field whose value is "$absent" must not be there.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import re
from pathlib import Path

from tests.unit.fakes import Browser, FakeEnv, FakeHooks, delivered_events
from tracker import debug_view, features, journal, prims
from tracker import page as tag_page

VECTOR_DIR = Path(__file__).resolve().parents[1] / 'vectors'
T0 = 1_764_201_600_000
CPYTHON_ORIGIN = 'https://www.shop.test'
SETTLE_DELAY_MS = tag_page.SETTLE_DELAY_MS
UUID = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')


def published_names() -> list[str]:
    """The names the tag publishes on `window.ometria`, in order (a page's API under CPython)."""
    env = FakeEnv(Browser())
    target: dict = {}
    tag_page.Page(env, FakeHooks(env), target, SETTINGS, journal.Journal(False)).start()
    return [name for name in target if name != 'basket']


def load_vectors() -> list[dict]:
    vectors = []
    for path in sorted(VECTOR_DIR.glob('*.json')):
        vector = json.loads(path.read_text(encoding='utf-8'))
        vector.setdefault('name', path.stem)
        vector['file'] = path.name
        vectors.append(vector)
    return vectors


def decode_arg(value, refs):
    """A vector argument as a CPython value (see the module docstring)."""
    if isinstance(value, dict):
        if '$ref' in value:
            return refs[value['$ref']]
        if '$js' in value:
            special = value['$js']
            if special == 'undefined':
                return prims.UNDEFINED
            if special == 'NaN':
                return float('nan')
            if special == 'Infinity':
                return float('inf')
            if special == '-Infinity':
                return float('-inf')
            if special == 'cyclic':
                cyclic = {'a': 1}
                cyclic['self'] = cyclic
                return cyclic
            if special == 'function':
                return lambda: None
            raise ValueError(special)
        if '$repeat' in value:
            text, count = value['$repeat']
            return text * count
        return {k: decode_arg(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_arg(v, refs) for v in value]
    return value


def perform(call: dict, target: dict, refs: dict):
    """Run one call step on the public object `target` under CPython (a saved object's methods
    are its attributes, as in the browser)."""
    owner_name, _, method = call['call'].rpartition('.')
    owner = refs[owner_name] if owner_name else target
    function = owner[method] if isinstance(owner, dict) else getattr(owner, method)
    args = [decode_arg(a, refs) for a in call.get('args', [])]
    arity = len(inspect.signature(function).parameters)
    args = (args + [prims.UNDEFINED] * arity)[:arity]
    result = function(*args)
    if 'as' in call:
        refs[call['as']] = result
    return result


SETTINGS = {'account_id': 'shop', 'collector_url': 'https://collector.test/collect', 'cookie_domain': '',
            'identify_forms': '', 'consent': ''}


@contextlib.contextmanager
def features_left_out(names):
    """The tracker source with the feature flags `names` off (tracker/features.py), as the
    bundle of a feature set without them is built."""
    saved = {name: getattr(features, name) for name in names}
    try:
        for name in names:
            setattr(features, name, False)
        yield
    finally:
        for name, value in saved.items():
            setattr(features, name, value)


def run_in_cpython(vector: dict, left_out=frozenset()) -> dict:
    """The vector's events and overlay lines, from the Python source under CPython (with the
    features `left_out` off). Each page is a `page.Page` driven through the same lifecycle
    handlers the browser edge binds (`loaded`, then `left` when the next page opens); its lines
    are what the debug module shows for its journal."""
    with features_left_out(left_out):
        return _run_in_cpython(vector)


def _run_in_cpython(vector: dict) -> dict:
    browser = Browser(now=T0)
    refs: dict = {}
    env = None
    tag = None
    log = None
    lines: list[list[str]] = []
    for step in vector['steps']:
        if 'page' in step:
            if tag is not None:
                tag.left()
                lines.append(debug_view.lines(log.entries()))
            spec = step['page']
            browser.storage_broken = spec.get('storage') == 'blocked'
            browser.cookies_blocked = spec.get('cookies') == 'blocked'
            browser.automated = spec.get('automated', False)
            target = decode_arg(spec.get('ometria', {}), refs)
            if 'onLoad' in spec:
                calls = spec['onLoad']
                problem = spec.get('onLoad_throws')

                def on_load(calls=calls, problem=problem, target=target):
                    for call in calls:
                        perform(call, target, refs)
                    if problem:
                        raise RuntimeError(problem)

                target['onLoad'] = on_load
            raw = target.get('raw_data') if isinstance(target.get('raw_data'), dict) else None
            for name, value in spec.get('set_cookies', {}).items():
                browser.cookies[name] = value
            referrer = spec.get('referrer', '').replace('$origin', CPYTHON_ORIGIN)
            env = FakeEnv(browser, href=CPYTHON_ORIGIN + spec.get('path', '/'), referrer=referrer)
            log = journal.Journal(True)
            tag = tag_page.Page(env, FakeHooks(env, raw), target, SETTINGS, log)
            tag.start()
            tag.loaded()
            env.run()
        elif 'call' in step:
            perform(step, target, refs)
            env.run()
        elif 'advance_ms' in step:
            env.advance(step['advance_ms'])
        elif 'spa_path' in step:
            env.page['href'] = CPYTHON_ORIGIN + step['spa_path']
        elif 'raw_data' in step:
            for key, value in step['raw_data'].items():
                target['raw_data'][key] = decode_arg(value, refs)
        else:
            raise ValueError(f'unknown step {step}')
    env.advance(SETTLE_DELAY_MS + 100)
    lines.append(debug_view.lines(log.entries()))
    return {'events': delivered_events(browser), 'lines': lines}


def normalize(events: list[dict], lines: list[list[str]], origin: str) -> dict:
    """Events and lines with run-specific values replaced (see the module docstring)."""
    tokens: dict[str, str] = {}
    counters = {'e': 0, 'c': 0, 's': 0}

    def token(kind: str, value: str) -> str:
        if value.startswith('legacy-'):
            return value
        if value not in tokens:
            counters[kind] += 1
            tokens[value] = f'${kind}{counters[kind]}'
        return tokens[value]

    def strip_origin(url):
        if isinstance(url, str) and url.startswith(origin):
            return url[len(origin):] or '/'
        return url

    site_origin = re.match(r'^https?://[^/]+', origin).group(0)
    result = []
    for event in events:
        event = dict(event)
        event['id'] = token('e', event['id'])
        event['cid'] = token('c', event['cid'])
        event['sid'] = token('s', event['sid'])
        event['ts'] = (event['ts'] - T0) // 1000
        event['url'] = strip_origin(event['url'])
        if event['type'] == 'pageview':
            event['referrer'] = strip_origin(event['referrer'])
            for key in ('source', 'first_source'):
                if event.get(key):
                    event[key] = {**event[key], 'day': '$day'}
        if event['type'] == 'setbasket':
            # A deep link the tag builds is on the site's origin (not under the vector's page prefix).
            url = event['basket']['url']
            if isinstance(url, str) and url.startswith(site_origin):
                event['basket'] = {**event['basket'], 'url': url[len(site_origin):]}
        event.pop('seq', None)
        event.pop('received_at', None)
        result.append(event)
    normal_lines = [[UUID.sub(lambda m: token('s', m.group()), line) for line in page] for page in lines]
    return {'events': result, 'lines': normal_lines}


ABSENT = '$absent'


def subset_matches(expected, actual) -> bool:
    """True when every key of `expected` (recursively, for dicts) has the same value in `actual`;
    a key whose expected value is "$absent" must not be in `actual`."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k not in actual if v == ABSENT else k in actual and subset_matches(v, actual[k]) for k, v in expected.items())
    return expected == actual
