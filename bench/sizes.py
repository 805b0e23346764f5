"""Size: raw, gzip -9 and brotli bytes of our tag and of the peers' shipped files; of our tag for
each feature set (the tag shoppers download, stamped, and its journaled twin, which only a page in
debug mode loads); and where the bytes come from, module by module."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import common  # first: it puts build/ on the import path
from build_tags import TERSER, TERSER_OPTIONS, esbuild_command, feature_stage, file_figures, transcrypt

from collector.accounts import ALL_FEATURES, bundle_name, load_accounts
from collector.stamp import TagSettings, stamp
from tests.support.source_maps import bytes_by_source

TAG_ENTRY = common.ROOT / 'tracker' / 'main.py'
DEBUG_ENTRY = common.ROOT / 'tracker' / 'debug_main.py'
# One account per feature set worth knowing: what the settings choose (collector/accounts.py).
SET_ACCOUNTS = """
[accounts.any]
[accounts.shopify]
platform = "shopify"
[accounts.custom]
platform = "custom"
[accounts.custom-consent]
platform = "custom"
consent = "required"
[accounts.custom-forms]
platform = "custom"
identify_forms = true
[accounts.any-cookiebot]
consent = "required"
consent_tool = "cookiebot"
consent_category = "marketing"
[accounts.any-onetrust]
consent = "required"
consent_tool = "onetrust"
consent_category = "C0004"
[accounts.any-gcm]
consent = "required"
consent_tool = "gcm"
consent_category = "analytics_storage"
"""


def sizes(data: bytes) -> dict:
    """Raw, gzip -9 and brotli bytes, measured as the build measures its own files."""
    figures = file_figures(data)
    return {key: figures[key] for key in ('raw', 'gzip', 'brotli')}


def source_name(staged: str) -> str:
    """`dist/.../tracker.engine.js` -> `tracker/engine.py`; the runtime and the entry likewise."""
    name = Path(staged).name
    if name.startswith('org.transcrypt.__runtime__'):
        return 'tracker/jsruntime (class runtime)'
    return 'tracker/' + name.removeprefix('tracker.').removesuffix('.js') + '.py'


def module_split(entry: Path, flags: frozenset | None = None) -> dict:
    """Each module's bytes in the finished bundle (built as the build builds it, with source maps
    through esbuild and terser, so that every byte is traced to the module that made it) and its
    share of the bundle's gzip bytes, pro rata to those (gzip has no per-module figure: a share
    is an estimate). For the tag, with the feature flags `flags` on."""
    with tempfile.TemporaryDirectory() as work:
        stage, out, final = Path(work) / 'stage', Path(work) / 'bundle.js', Path(work) / 'final.js'
        transcrypt(entry, stage, dev=False)
        if flags is not None:
            stage = feature_stage(stage, flags)
        subprocess.run(esbuild_command(stage, entry.stem + '.js', out, dev=False) + ['--sourcemap'],
                       cwd=common.ROOT, check=True)
        subprocess.run([str(TERSER), str(out), *TERSER_OPTIONS, '--source-map',
                        f"content='{out}.map',url='final.js.map'", '--output', str(final)],
                       cwd=common.ROOT, check=True)
        code = final.read_text(encoding='utf-8')
        made = bytes_by_source(json.loads(Path(f'{final}.map').read_text()), code)
    code = code.rsplit('\n//# sourceMappingURL=', 1)[0]
    bundle_gzip = len(gzip.compress(code.encode(), 9, mtime=0))
    rows = sorted(((source_name(name), count) for name, count in made.items() if count), key=lambda r: -r[1])
    return {'bundle_gzip': bundle_gzip, 'unmapped': len(code) - sum(made.values()),
            'modules': {name: {'minified': count, 'gzip_share': round(bundle_gzip * count / len(code))}
                        for name, count in rows}}


def feature_sets() -> dict:
    """Per account of SET_ACCOUNTS, and for the full set: its features and the sizes of its tag
    (stamped) and its twin, from one build of those sets (bench/work/generic)."""
    folder = common.WORK / 'generic'
    folder.mkdir(parents=True, exist_ok=True)
    accounts_file = common.WORK / 'sets.toml'
    accounts_file.write_text(SET_ACCOUNTS)
    subprocess.run([sys.executable, str(common.ROOT / 'build' / 'build_tags.py'), '--generic-only', '--accounts',
                    str(accounts_file), '--generic-out', str(folder / 'ometria.js')],
                   cwd=common.ROOT, check=True, capture_output=True)
    settings = TagSettings('bench-account', 'https://collect.example.com/collect')
    result = {}
    chosen = [(a.account_id, a.features) for a in load_accounts(accounts_file).values()] + [('full', ALL_FEATURES)]
    for label, features in chosen:
        tag = stamp((folder / bundle_name(features)).read_text(), settings).encode()
        result[label] = {'features': sorted(f.lower() for f in features), 'tag': sizes(tag),
                         'twin': sizes((folder / bundle_name(features, journal=True)).read_bytes())}
    return result


def run() -> dict:
    result = {'ometria (this tag, dist/tags/demo.js)': sizes(common.OURS.read_bytes())}
    for _key, (label, path) in common.PEER_FILES.items():
        result[f'{label} ({path.name})'] = sizes(path.read_bytes())
    result['_sets'] = feature_sets()
    demo = load_accounts(common.ROOT / 'accounts.toml')['demo'].features
    result['_modules'] = {
        f'tag of the demo account ({bundle_name(demo)})': module_split(TAG_ENTRY, demo),
        'tag of the core set (ometria.core.js)': module_split(TAG_ENTRY, frozenset()),
        'debug module': module_split(DEBUG_ENTRY),
    }
    return result


if __name__ == '__main__':
    figures_by_file = run()
    modules = figures_by_file.pop('_modules')
    sets = figures_by_file.pop('_sets')
    for name, figures in figures_by_file.items():
        print(f'{name:<60} raw {figures["raw"]:>8}  gzip {figures["gzip"]:>7}  brotli {figures["brotli"]:>7}')
    for label, row in sets.items():
        print(f'{label:<16} {",".join(row["features"]) or "(core)":<36} tag gzip {row["tag"]["gzip"]:>6} '
              f'brotli {row["tag"]["brotli"]:>6}   twin gzip {row["twin"]["gzip"]:>6}')
    for label, split in modules.items():
        print(f'\n{label}: {split["bundle_gzip"]} B gzip ({split["unmapped"]} characters no module made)')
        for name, row in split['modules'].items():
            print(f'  {name:<40} minified {row["minified"]:>6}  share of gzip ~{row["gzip_share"]:>5}')
