"""The build pipeline (build/build_tags.py), run for real: Transcrypt, esbuild, stamping."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / 'build' / 'build_tags.py'


def build(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BUILD), '--generic-out', str(tmp / 'generic.js'), '--out', str(tmp / 'tags'), *args],
        cwd=ROOT, capture_output=True, text=True,
    )


@pytest.fixture(scope='module')
def two_builds(tmp_path_factory):
    first, second = tmp_path_factory.mktemp('one'), tmp_path_factory.mktemp('two')
    runs = [build(d, '--account', 'acme', '--collector', 'https://collect.example.com/c') for d in (first, second)]
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
    return first, second, runs[0]


def test_same_sources_give_byte_identical_files(two_builds):
    first, second, _ = two_builds
    assert (first / 'tags' / 'acme.js').read_bytes() == (second / 'tags' / 'acme.js').read_bytes()
    assert (first / 'tags' / 'manifest.json').read_bytes() == (second / 'tags' / 'manifest.json').read_bytes()


def test_the_bundle_is_one_strict_classic_script(two_builds):
    text = (two_builds[0] / 'tags' / 'acme.js').read_text()
    assert text.startswith('"use strict";')
    assert not re.search(r'(^|[;\n])\s*(import|export)\s', text), 'no module syntax'
    assert '"https://collect.example.com/c"' in text and '"acme"' in text
    assert '__OM_' not in text
    assert text.isascii(), 'non-ASCII text would depend on the charset the store serves the file with'


def test_the_manifest_describes_each_file(two_builds):
    tags = two_builds[0] / 'tags'
    data = (tags / 'acme.js').read_bytes()
    entry = json.loads((tags / 'manifest.json').read_text())['accounts']['acme']
    assert entry['file'] == 'acme.js'
    assert entry['raw'] == len(data)
    assert entry['sha256'] == hashlib.sha256(data).hexdigest()
    assert entry['sri'] == 'sha384-' + base64.b64encode(hashlib.sha384(data).digest()).decode()
    assert 0 < entry['brotli'] < entry['gzip'] < entry['raw']


def test_the_build_prints_sizes(two_builds):
    out = two_builds[2].stdout
    assert 'acme.js' in out and 'ometria.debug.js' in out and 'gzip' in out and 'brotli' in out and 'raw' in out


def test_the_tag_carries_the_integrity_of_the_debug_module_beside_it(two_builds):
    tags = two_builds[0] / 'tags'
    debug = (tags / 'ometria.debug.js').read_bytes()
    integrity = 'sha384-' + base64.b64encode(hashlib.sha384(debug).digest()).decode()
    assert json.dumps(integrity) in (tags / 'acme.js').read_text()
    manifest = json.loads((tags / 'manifest.json').read_text())
    assert manifest['debug']['sri'] == integrity and manifest['debug']['file'] == 'ometria.debug.js'
    assert b'__OM_' not in debug and b'acme' not in debug, 'one debug module for every account'


def test_the_typescript_declarations_ship_beside_the_tags(two_builds):
    shipped = (two_builds[0] / 'tags' / 'ometria.d.ts').read_text()
    assert shipped == (ROOT / 'types' / 'ometria.d.ts').read_text() and 'trackTransaction' in shipped


def test_the_debug_module_is_not_in_the_tag(two_builds):
    """What only #om_debug needs (the overlay, the doctor and their texts) is not downloaded by
    shoppers."""
    tag = (two_builds[0] / 'tags' / 'acme.js').read_text()
    debug = (two_builds[0] / 'tags' / 'ometria.debug.js').read_text()
    for text in ('ometria-debug', 'Unknown page type', 'NEW COOKIE ID', 'attachShadow'):
        assert text not in tag and text in debug


def test_the_debug_module_leaves_out_the_classes_it_never_uses(two_builds):
    """The debug module imports `browser` for a few functions; the shopper-side edge class in the
    same module (cookies, storage, beacons) stays out of it, since classes are marked pure."""
    tag = (two_builds[0] / 'tags' / 'acme.js').read_text()
    debug = (two_builds[0] / 'tags' / 'ometria.debug.js').read_text()
    for text in ('sendBeacon', 'SameSite=Lax', 'globalPrivacyControl'):
        assert text in tag and text not in debug


def test_over_budget_fails(tmp_path):
    run = build(tmp_path, '--account', 'acme', '--collector', 'https://c.example/c', '--budget-gzip', '1000')
    assert run.returncode == 1
    assert 'size budget exceeded' in run.stderr and 'acme.js' in run.stderr


def test_a_bad_account_id_fails_naming_it(tmp_path):
    run = build(tmp_path, '--account', 'bad id', '--collector', 'https://c.example/c')
    assert run.returncode == 1
    assert "account 'bad id'" in run.stderr


def test_every_account_of_the_accounts_file(tmp_path):
    accounts = tmp_path / 'accounts.toml'
    accounts.write_text('[accounts.one]\ncollector_url = "https://c1/c"\n[accounts.two]\ncollector_url = "https://c2/c"\n')
    run = build(tmp_path, '--accounts', str(accounts))
    assert run.returncode == 0, run.stderr
    assert sorted(json.loads((tmp_path / 'tags' / 'manifest.json').read_text())['accounts']) == ['one', 'two']
    assert '"https://c2/c"' in (tmp_path / 'tags' / 'two.js').read_text()


BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'


def decode_vlq(segment: str) -> list[int]:
    values, shift, value = [], 0, 0
    for char in segment:
        digit = BASE64.index(char)
        value += (digit & 31) << shift
        if digit & 32:
            shift += 5
        else:
            values.append(-(value >> 1) if value & 1 else value >> 1)
            shift, value = 0, 0
    return values


def original_position(source_map: dict, line: int, column: int) -> tuple[str, int]:
    """The (source, 1-based line) that generated position (0-based line, column) maps to."""
    source = original = 0
    best = None
    for index, text in enumerate(source_map['mappings'].split(';')):
        generated_column = 0
        for segment in filter(None, text.split(',')):
            fields = decode_vlq(segment)
            generated_column += fields[0]
            if len(fields) >= 4:
                source += fields[1]
                original += fields[2]
                if index == line and generated_column <= column:
                    best = (source_map['sources'][source], original + 1)
        if index == line:
            return best
    raise AssertionError('line not in the map')


def test_the_development_build_maps_back_to_the_python_lines(tmp_path):
    run = build(tmp_path, '--dev', '--account', 'acme', '--collector', 'https://c.example/c')
    assert run.returncode == 0, run.stderr
    text = (tmp_path / 'tags' / 'acme.js').read_text()
    encoded = text.rsplit('//# sourceMappingURL=data:application/json;base64,', 1)[1]
    source_map = json.loads(base64.b64decode(encoded))
    assert 'tracker/coerce.py' in source_map['sources'] and 'tracker/main.py' in source_map['sources']
    lines = text.split('\n')
    line = next(i for i, text in enumerate(lines) if 'var coerce_quantity = function' in text)
    source, python_line = original_position(source_map, line, len(lines[line]) - 1)
    assert source == 'tracker/coerce.py'
    python = (ROOT / 'tracker' / 'coerce.py').read_text().split('\n')
    assert python[python_line - 1].startswith('def coerce_quantity('), python[python_line - 1]
    assert '"acme"' in text


def test_a_feature_newer_than_the_target_fails_the_build(tmp_path):
    """esbuild lowers syntax to es2017 but not library calls: `replaceAll` would throw in the old
    engines the target promises (old Safari has none), so the build refuses it by name."""
    entry = tmp_path / 'newer.py'
    entry.write_text("# __pragma__ ('skip')\nwindow = None\n# __pragma__ ('noskip')\n\n\n"
                     "def tidy(text):\n    return text.replaceAll('a', 'b')\n\n\nwindow.tidy = tidy\n")
    done = subprocess.run([sys.executable, str(BUILD), '--generic-only', '--entry', str(entry), '--no-debug-module',
                           '--generic-out', str(tmp_path / 'newer.js')], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0
    assert "uses features newer than es2017: ['.replaceAll(']" in done.stdout + done.stderr
