"""Parity of the compiled pure functions with CPython: a table of inputs runs through each
function under CPython and, compiled by the same pipeline as the tag, in every engine (old WebKit included). The results
must be identical (notes compared as the overlay words them). This is where Transcrypt's
semantic traps (loose ==, undefined, number formatting, string methods) show up first."""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engines.conftest import HOOKS_TAG
from tests.engines.test_vectors import RUNTIME
from tests.support.vectors import decode_arg
from tracker import doctor

ROOT = Path(__file__).resolve().parents[2]
U = {'$js': 'undefined'}
NAN = {'$js': 'NaN'}
INF = {'$js': 'Infinity'}
ODD_VALUES = [None, U, NAN, INF, True, False, 0, -0.5, 4521, 4521.0, 12.5, 1e15, '', ' ', '0', '007', 'abc', [], {},
              [1, 'a'], {'a': 1}, '\u00e9t\u00e9', '\U0001F600', 'a\ud800b']

# (function, [argument lists], takes a notes list as its last argument)
TABLE = [
    ('prims.number_text', [[v] for v in [0, 1, -1, 4521, 4521.0, 12.5, 0.1, 1234.5, 100.25, -3.75, 2 ** 40]], False),
    ('prims.parse_decimal', [[v] for v in ['1', '1.5', '-2', '.5', '5.', '1.2.3', '', '-', 'abc', '1e5', ' 1', '0010']], False),
    ('prims.keep_chars', [['\u00a31,234.50', '0-9.\\-'], ['abc-1.2x', '0-9.\\-']], False),
    ('prims.trim', [[' a '], ['\t\nb\u00a0'], ['']], False),
    ('prims.lower', [['ABC'], ['WWW.Shop.Example']], False),
    ('prims.split_text', [['a=1&b=2', '&'], ['', '&'], ['&&', '&']], False),
    ('prims.substring', [['abcdef', 1, 3], ['abcdef', 2, None], ['ab', 0, 10]], False),
    ('prims.url_encode', [['a b&c=d/\u00e9'], ["-_.!~*'()"]], False),
    ('prims.url_decode', [['a%20b'], ['%E0%A4%A'], ['%ZZ'], ['plain']], False),
    ('prims.utf8_length', [['abc'], ['\u00e9'], ['\U0001F600'], ['a\ud800']], False),
    ('prims.hash_text', [['abc'], [''], ['\U0001F600 basket \u00e9']], False),
    ('prims.matches', [['^[A-Za-z]{3}$', 'GBP'], ['^[A-Za-z]{3}$', 'GBPX'], ['^-?[0-9]+$', '-12']], False),
    ('prims.is_string', [[v] for v in ODD_VALUES], False),
    ('prims.is_number', [[v] for v in ODD_VALUES], False),
    ('prims.is_bool', [[v] for v in ODD_VALUES], False),
    ('prims.is_list', [[v] for v in ODD_VALUES], False),
    ('prims.is_plain_object', [[v] for v in ODD_VALUES], False),
    ('prims.is_finite', [[v] for v in [0, 1.5, NAN, INF, {'$js': '-Infinity'}]], False),
    ('prims.floor', [[2.7], [-2.5], [3]], False),
    ('prims.byte_hex', [[0], [15], [255]], False),
    ('prims.utc_day', [[0], [1764201600000], [1764287999999], [951782400000]], False),
    ('prims.from_json', [['{"a":[1,2]}'], ['nope'], [None], ['"x"']], False),
    ('prims.replace_lone_surrogates', [['a\ud800b'], ['\udc00x'], ['\U0001F600'], ['plain']], False),
    ('prims.find', [['hello', 'l'], ['hello', 'z'], ['', '']], False),
    ('prims.starts_with', [['www.x', 'www.'], ['x', 'www.']], False),
    ('prims.slice_list', [[[1, 2, 3, 4], 1, 3], [[1, 2, 3], 1, None]], False),
    ('prims.find_item', [[[400, 404, 413], 404], [[400, 404], '404'], [['a'], 'b']], False),
    ('prims.keys_of', [[{'b': 1, 'a': 2}], [{}]], False),
    ('coerce.coerce_id', [[v, 'pid'] for v in ODD_VALUES + ['x' * 300, '000000145']], True),
    ('coerce.coerce_money', [[v, 'price'] for v in ODD_VALUES + ['\u00a31,234.50', '1,200.00', '1.2.3']], True),
    ('coerce.coerce_quantity', [[v, 'quantity'] for v in ODD_VALUES + ['2', ' 3 ', '2.9', -2, 1000001]], True),
    ('coerce.coerce_text', [[v, 'currency', 16] for v in ODD_VALUES + ['x' * 17]], True),
    ('coerce.coerce_stage', [[v] for v in ODD_VALUES + ['billing', 3]], True),
    ('coerce.coerce_object', [[v, 'props', 2048] for v in ODD_VALUES + [{'a': {'b': [1, NAN, U]}}, {'big': 'x' * 3000}]], True),
    ('doctor.describe', [[v] for v in ODD_VALUES + ['x' * 50]], False),
    ('identity.valid_identity', [[v] for v in ODD_VALUES + ['a@b.co', ' A@B.CO ', 'omid:42', 'omid:', 'a@b', 'a b@c.d']], True),
    ('session.parse_cookie_value', [['cid=a&sid=b&seen=1'], ['x'], [''], [None], ['a=%ZZ&b=%20']], False),
    ('session.read_visitor', [['cid=a-1&sid=b_2&seen=1764201600000'], ['cid=bad id'], ['cid=a&seen=x']], False),
    ('session.cookie_domain', [['www.shop.example', ''], ['127.0.0.1', ''], ['localhost', ''], ['a.b', 'c.d']], False),
    ('session.cookie_value', [[{'cid': 'a', 'sid': 'b', 'seen': 1764201600000, 'first': True}],
                              [{'cid': 'a', 'sid': 'b', 'seen': 1764201600000, 'first': False}]], False),
    ('outbox.classify', [[s] for s in [0, 200, 204, 299, 400, 404, 413, 429, 500, 503]], False),
    ('outbox.retry_delay_ms', [[n, r] for n in [1, 2, 5, 20] for r in [0, 0.5, 0.999]], False),
    ('outbox.retry_after_ms', [[v] for v in ['5', ' 1.5 ', 'soon', None, '-3', '100000']], False),
    ('events.new_uuid', [[list(range(16))], [[255] * 16]], False),
    ('events.page_url', [['https://x.test/a?b=1#frag'], ['https://x.test/'], [None]], False),
    ('consent.settings_from', [[''], ['required,gcm,analytics_storage,ignore'], ['required'], [None]], False),
    ('consent.initial_state', [[{'required': r, 'honour_gpc': h}, c, g] for r in (True, False) for h in (True, False)
                               for c in ('1', '0', None) for g in (True, False, U)], False),
    ('consent_tools.cookiebot_decision', [[[{'marketing': True}, False], 'marketing'],
                                          [[{'marketing': False}, True], 'marketing'], [[None, True], 'marketing'],
                                          [[{}, U], 'marketing']], False),
    ('consent_tools.onetrust_decision', [[[',C0001,C0004,', False], 'C0004'], [[',C0001,', True], 'C0004'],
                                         [[None, True], 'C0004'], [['C0004', U], 'C0004']], False),
    ('consent_tools.gcm_decision', [[[['consent', kind, {'analytics_storage': value}]], 'analytics_storage']
                                    for kind in ('default', 'update', 'set') for value in ('granted', 'denied', 1)]
     + [[[None], 'x'], [[['event']], 'x'], [[['consent', 'update', 'x']], 'x']], False),
    ('urls.without_params', [['https://s.t/p?a=1&om_user=x&b#f', ['om_user']], ['https://s.t/?om_user', ['om_user']],
                             ['https://s.t/p?a=%20b+c&kmi=1', ['kmi']]], False),
    ('urls.host_of', [['https://user@Shop.Example:8443/x'], ['http://a.b'], ['nope'], [None]], False),
    ('attribution.landing_source', [['https://s.t/?utm_source=a&utm_term=b+c', '', 's.t', 0],
                                    ['https://s.t/', 'https://www.google.fr/search?q=%C3%A9t%C3%A9', 's.t', 86_400_000],
                                    ['https://s.t/?om_campaign=5', 'https://s.t/x', 's.t', 0],
                                    ['https://s.t/', 'https://pay.shopify.com/x', 's.t', 0]], False),
]


def run_python(name: str, args: list, with_notes: bool):
    module, function = name.split('.')
    target = getattr(importlib.import_module(f'tracker.{module}'), function)
    values = [decode_arg(a, {}) for a in args]
    notes = []
    result = target(*values, notes) if with_notes else target(*values)
    if isinstance(result, float) and math.isnan(result):
        result = 'NaN'
    worded = [doctor.line_text('note', note[0], note[1:]) for note in notes]
    return [result, worded] if with_notes else result


@pytest.fixture(scope='module')
def probe_url(stack, tmp_path_factory):
    out = tmp_path_factory.mktemp('probe') / 'probe.js'
    done = subprocess.run([sys.executable, 'build/build_tags.py', '--generic-only', '--entry',
                           'tests/engines/probe/probe.py', '--no-debug-module', '--generic-out', str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    stack.store.add('/probe.js', out.read_text(), content_type='text/javascript')
    stack.store.add('/vector-runtime.js', RUNTIME, content_type='text/javascript')
    return stack.page(head=HOOKS_TAG + '<script src="/vector-runtime.js"></script><script src="/probe.js"></script>',
                      tag='none')


@pytest.mark.parametrize('name, calls, with_notes', TABLE, ids=[t[0] for t in TABLE])
def test_compiled_function_matches_cpython(name, calls, with_notes, probe_url, engine_session):
    engine = engine_session  # the probe page is loaded once per engine: it keeps no state between rows
    if not engine.evaluate('() => !!window.__probe'):
        engine.goto(probe_url)
    browser_results = engine.evaluate("""([name, calls, withNotes]) => calls.map(function (args) {
        var values = args.map(__decode), notes = [];
        if (withNotes) { values.push(notes); }
        var result = window.__probe[name].apply(null, values);
        if (typeof result === 'number' && isNaN(result)) { result = 'NaN'; }
        return JSON.parse(JSON.stringify(withNotes ? [result, window.__probe.worded(notes)] : [result]));
    })""", [name, calls, with_notes])
    assert len(browser_results) == len(calls)
    for args, in_browser in zip(calls, browser_results, strict=True):
        in_python = run_python(name, args, with_notes)
        expected = json.loads(json.dumps(in_python if with_notes else [in_python]))
        assert in_browser == expected, f'{name}({args}): {engine.name} {in_browser} != CPython {expected}'
    assert engine.evaluate('() => window.__errors') == []
