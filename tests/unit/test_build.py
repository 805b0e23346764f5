"""The build pipeline (build/build_tags.py), run for real: Transcrypt, esbuild, stamping."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.source_maps import original_position

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / 'build' / 'build_tags.py'


def build(tmp: Path, *args: str, cache: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BUILD), '--generic-out', str(tmp / 'generic.js'), '--out', str(tmp / 'tags'), *args],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, 'OMETRIA_BUILD_CACHE': '1' if cache else '0'},
    )


ACME = ('--account', 'acme', '--collector', 'https://collect.example.com/c')


@pytest.fixture(scope='module')
def two_builds(tmp_path_factory):
    """Two whole builds, neither taking a bundle from the cache."""
    first, second = tmp_path_factory.mktemp('one'), tmp_path_factory.mktemp('two')
    runs = [build(d, *ACME, cache=False) for d in (first, second)]
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
        assert 'cached' not in run.stdout
    return first, second, runs[0]


def test_same_sources_give_byte_identical_files(two_builds):
    first, second, _ = two_builds
    for name in ('acme.js', 'manifest.json', 'ometria.legacy-magento-recs-signups.journal.js', 'ometria.debug.js'):
        assert (first / 'tags' / name).read_bytes() == (second / 'tags' / name).read_bytes(), name


def test_a_bundle_from_the_cache_is_the_one_the_build_makes(two_builds, tmp_path):
    """The build takes a bundle made before from the same staged code, commands and tools
    (dist/.cache): its files are those of a build that made every bundle."""
    first = build(tmp_path, *ACME)
    assert first.returncode == 0, first.stderr
    again = build(tmp_path, *ACME)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count('cached ') == 7, again.stdout  # the debug module, three sets each twice
    for name in ('acme.js', 'manifest.json', 'ometria.legacy-magento-recs-signups.journal.js', 'ometria.debug.js'):
        assert (tmp_path / 'tags' / name).read_bytes() == (two_builds[0] / 'tags' / name).read_bytes(), name


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


def sri(data: bytes) -> str:
    return 'sha384-' + base64.b64encode(hashlib.sha384(data).digest()).decode()


def test_the_tag_carries_the_integrity_of_its_twin_and_the_twin_that_of_the_debug_module(two_builds):
    """In debug mode a tag loads its journaled twin, which loads the debug module: each file pins
    the next by its SRI value, so none of them can be swapped for another."""
    tags = two_builds[0] / 'tags'
    manifest = json.loads((tags / 'manifest.json').read_text())
    twin_name = 'ometria.legacy-magento-recs-signups.journal.js'
    twin = (tags / twin_name).read_bytes()
    debug = (tags / 'ometria.debug.js').read_bytes()
    tag = (tags / 'acme.js').read_text()
    assert json.dumps(sri(twin)) in tag and json.dumps(twin_name) in tag
    assert json.dumps(sri(debug)) in twin.decode() and json.dumps(sri(debug)) not in tag
    assert manifest['debug']['sri'] == sri(debug) and manifest['debug']['file'] == 'ometria.debug.js'
    assert manifest['twins'][twin_name]['sri'] == sri(twin)
    for shared in (debug, twin):
        assert b'__OM_' not in shared and b'acme' not in shared, 'one file for every account of the set'


def test_the_journal_is_only_in_the_twin(two_builds):
    """The tag shoppers download records nothing for the overlay: the journal's entries, and the
    notes the API keeps about its arguments, are only in the twin a page in debug mode runs."""
    tags = two_builds[0] / 'tags'
    tag = (tags / 'acme.js').read_text()
    twin = (tags / 'ometria.legacy-magento-recs-signups.journal.js').read_text()
    for code in ('"existing_session"', '"setter_failed"', '"not_text"', '"event"'):
        assert code in twin and code not in tag, code


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
    for text in ('sendBeacon', 'SameSite=Lax', 'visibilityState'):
        assert text in tag and text not in debug


def test_over_budget_fails(tmp_path):
    run = build(tmp_path, '--account', 'acme', '--collector', 'https://c.example/c', '--budget-gzip', '1000',
                '--platform', 'custom')
    assert run.returncode == 1
    assert 'size budget exceeded' in run.stderr and 'ometria.core.js' in run.stderr


def test_a_bad_account_id_fails_naming_it(tmp_path):
    run = build(tmp_path, '--account', 'bad id', '--collector', 'https://c.example/c')
    assert run.returncode == 1
    assert "account 'bad id'" in run.stderr


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


@pytest.fixture(scope='module')
def accounts_build(tmp_path_factory):
    """One build of an accounts file: three feature sets, two collectors."""
    tmp = tmp_path_factory.mktemp('accounts')
    accounts = tmp / 'accounts.toml'
    accounts.write_text('[accounts.shop]\ncollector_url = "https://c1/c"\n'
                        '[accounts.own]\ncollector_url = "https://c2/c"\nplatform = "custom"\n'
                        '[accounts.careful]\ncollector_url = "https://c1/c"\nplatform = "custom"\nconsent = "required"\n'
                        'consent_tool = "cookiebot"\nconsent_category = "marketing"\nidentify_forms = true\n'
                        '[accounts.shopper]\ncollector_url = "https://c3/c"\nplatform = "shopify"\nconsent = "required"\n')
    run = build(tmp, '--accounts', str(accounts))
    assert run.returncode == 0, run.stderr
    return tmp, run


def test_every_account_of_the_accounts_file(accounts_build):
    tmp, _run = accounts_build
    assert sorted(json.loads((tmp / 'tags' / 'manifest.json').read_text())['accounts']) == ['careful', 'own', 'shop',
                                                                                          'shopper']
    assert '"https://c2/c"' in (tmp / 'tags' / 'own.js').read_text()
    assert '"https://c1/c"' in (tmp / 'tags' / 'shop.js').read_text()


def test_the_manifest_gives_each_account_its_feature_set(accounts_build):
    """Why one store's tag is larger than another's: the features each carries, and the bundle
    it was stamped from."""
    tmp, _run = accounts_build
    manifest = json.loads((tmp / 'tags' / 'manifest.json').read_text())['accounts']
    assert manifest['shop']['features'] == ['legacy', 'magento', 'recs', 'signups']
    assert manifest['shop']['bundle'] == 'ometria.legacy-magento-recs-signups.js'
    assert manifest['own']['features'] == [] and manifest['own']['bundle'] == 'ometria.core.js'
    assert manifest['careful']['features'] == ['consent', 'cookiebot', 'forms']
    assert manifest['own']['gzip'] < manifest['shop']['gzip']
    own, shop, careful = ((tmp / 'tags' / f'{name}.js').read_text() for name in ('own', 'shop', 'careful'))
    # What each feature brings is in the tags of the accounts that chose it, and only there.
    assert '"ommage"' in shop and '"ommage"' not in own and '"ommage"' not in careful
    assert '"CookiebotOnAccept"' in careful and '"CookiebotOnAccept"' not in shop + own
    assert '"OneTrustGroupsUpdated"' not in careful, 'one consent tool, not the three'
    assert '"submit"' in careful and '"submit"' not in own
    assert 'mc-embedded-subscribe-form' in shop and 'mc-embedded-subscribe-form' not in careful + own
    assert '"raw_data"' in shop and '"raw_data"' not in own
    for name in ('ometria.core.journal.js', 'ometria.legacy-magento-recs-signups.journal.js',
                 'ometria.consent-cookiebot-forms.journal.js'):
        assert (tmp / 'tags' / name).exists(), name


def test_a_shopify_account_gets_its_checkout_pixel_stamped_and_no_other_does(accounts_build):
    tmp, run = accounts_build
    pixels = json.loads((tmp / 'tags' / 'manifest.json').read_text())['pixels']
    assert sorted(pixels) == ['shopper.shopify-pixel.js'] and pixels['shopper.shopify-pixel.js']['gzip'] <= 13 * 1024
    text = (tmp / 'tags' / 'shopper.shopify-pixel.js').read_text()
    assert '"shopper"' in text and '"https://c3/c"' in text and '__OM_' not in text
    # Shopify's API, read in scope; its consent flag (a consent-required account); no page reading.
    assert 'typeof analytics' in text and '"marketingAllowed"' in text and 'all_standard_events' in text
    assert '.cookie.get' in text and '.localStorage.getItem' in text
    assert '"raw_data"' not in text and 'mc-embedded-subscribe-form' not in text
    assert 'generic ometria.consent.pixel.js' in run.stdout


def test_the_budgets_hold_and_are_stated(accounts_build):
    """A `custom` account without consent or forms is held to the core set's budget (11.5 KiB),
    every other account's tag to the tags' (13.5 KiB), the full bundle (every platform, every
    consent tool: only a fallback) to its own (14.5 KiB); the build says which."""
    tmp, run = accounts_build
    stated = re.search(r'budgets (\d+) B gzip, the core set (\d+) B, the full set (\d+) B', run.stdout)
    assert stated, run.stdout
    budget, core_budget, full_budget = (int(stated.group(n)) for n in (1, 2, 3))
    assert core_budget < budget < full_budget <= 15 * 1024
    manifest = json.loads((tmp / 'tags' / 'manifest.json').read_text())['accounts']
    assert manifest['own']['gzip'] <= core_budget
    assert all(figures['gzip'] <= budget for figures in manifest.values()), manifest
    full = re.search(r'generic ometria\.js +raw +\d+ B +gzip +(\d+) B', run.stdout)
    assert full and int(full.group(1)) <= full_budget, run.stdout


def test_the_generic_build_makes_the_sets_of_the_accounts_file(tmp_path):
    """`make` builds the bundles a collector serving the accounts file stamps from: the full
    set, the smallest, and each account's (each with its twin); a Shopify account's checkout
    pixel too."""
    accounts = tmp_path / 'accounts.toml'
    accounts.write_text('[accounts.shop]\ncollector_url = "https://c/c"\nplatform = "shopify"\n')
    run = build(tmp_path, '--generic-only', '--accounts', str(accounts))
    assert run.returncode == 0, run.stderr
    made = sorted(path.name for path in tmp_path.glob('*.js'))
    assert made == ['generic.js', 'ometria.core.journal.js', 'ometria.core.js', 'ometria.core.pixel.js', 'ometria.debug.js',
                    'ometria.journal.js', 'ometria.legacy-recs-shopify-signups.journal.js',
                    'ometria.legacy-recs-shopify-signups.js'], made
