#!/usr/bin/env python3
"""Build the tag: `tracker/` (Python) -> one generic bundle -> one stamped file per account.

    python build/build_tags.py                                  # every account in accounts.toml
    python build/build_tags.py --account acme --collector URL   # one account
    python build/build_tags.py --dev ...                        # readable bundle + source map

Steps (each printed with its time):
1. Transcrypt (`-b -n`, no Closure step) compiles `tracker/main.py` into `dist/stage/`, with the
   tag's own runtime (`tracker/jsruntime`) in place of the stock one.
2. A check that the compiled code calls nothing the tag's runtime lacks (a stock-runtime helper or
   a method the stock runtime patches onto built-in prototypes).
3. esbuild bundles the modules into ONE classic script: an IIFE, "use strict", es2017, minified:
   `dist/generic/ometria.js`, the sentinels still in it.
4. Each account's settings are stamped in (`collector/stamp.py`): `dist/tags/<account_id>.js`, and
   `dist/tags/manifest.json` with raw / gzip -9 / brotli bytes, sha256 and the SRI value per file.

The build fails (exit status 1) on a compile error, on a helper the runtime lacks, on a stamping
error (naming the account) and when a tag's gzip size is over the budget. The same sources and
settings give byte-identical files.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import brotli

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.accounts import AccountsError, load_accounts  # noqa: E402
from collector.stamp import StampError, TagSettings, stamp, validate_account_id  # noqa: E402

DEFAULT_BUDGET_GZIP_BYTES = 12 * 1024
ESBUILD = ROOT / 'node_modules' / '.bin' / 'esbuild'
RUNTIME_PATH = ROOT / 'tracker' / 'jsruntime'
STRICT_BANNER = '"use strict";'

# Every name the stock Transcrypt 3.9.5 runtime exports. Compiled code that still refers to one
# our runtime does not export would fail in the browser with a ReferenceError.
STOCK_RUNTIME_NAMES = frozenset(
    """AssertionError AttributeError BaseException DeprecationWarning Exception IndexError
    IterableError KeyError NotImplementedError RuntimeWarning StopIteration UserWarning ValueError
    Warning __JsIterator__ __PyIterator__ __Terminal__ __add__ __and__ __call__ __class__ __envir__
    __eq__ __floordiv__ __ge__ __get__ __getcm__ __getitem__ __getslice__ __getsm__ __gt__ __i__
    __iadd__ __iand__ __idiv__ __ijsmod__ __ilshift__ __imatmul__ __imod__ __imul__ __in__ __init__
    __ior__ __ipow__ __irshift__ __isub__ __ixor__ __jsUsePyNext__ __jsmod__ __k__ __kwargtrans__
    __le__ __lshift__ __lt__ __matmul__ __mergefields__ __mergekwargtrans__ __mod__ __mul__ __ne__
    __neg__ __nest__ __or__ __pow__ __pragma__ __pyUseJsNext__ __rshift__ __setitem__
    __setproperty__ __setslice__ __sort__ __specialattrib__ __sub__ __super__ __t__ __terminal__
    __truediv__ __withblock__ __xor__ _sort abs all any assert bin bool bytearray bytes callable chr
    delattr dict dir divmod filter float getattr hasattr hex input int isinstance issubclass len
    list map max min object oct ord pow print property py_TypeError py_enumerate py_iter
    py_metatype py_next py_reversed py_typeof range repr round set setattr sorted str sum tuple
    zip""".split()
)
# Methods the stock runtime adds to Array/String/Number prototypes (and `dict` helpers): code
# calling them compiled from a list/str/dict method and has no implementation in the browser.
PATCHED_METHODS = frozenset(
    """append extend insert remove index count py_sort py_pop py_clear py_copy py_keys py_values
    py_items py_get py_update py_setdefault py_popitem py_split py_replace py_reversed add discard
    startswith endswith lower upper strip lstrip rstrip capitalize format rfind isalpha isdigit
    isnumeric isspace islower isupper __getslice__ __setslice__ __contains__ __iter__""".split()
)
_EXPORT_LINE = re.compile(r'^export (?:var|function) (\w+)', re.MULTILINE)
_CALL = re.compile(r'(?<![\w$.])([A-Za-z_$][\w$]*)\s*\(')
_METHOD_CALL = re.compile(r'([\w$]*)\s*\.\s*([A-Za-z_$][\w$]*)\s*\(')
_NAMESPACE_IMPORT = re.compile(r'^import \* as ([\w$]+) from', re.MULTILINE)
_STRING_OR_COMMENT = re.compile(r"'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"|//[^\n]*")


class BuildError(Exception):
    """The build cannot go on; the message says why."""


def log(step: str, started: float) -> None:
    print(f'  {step:<34} {1000 * (time.perf_counter() - started):8.1f} ms')


def transcrypt(entry: Path, stage: Path, dev: bool) -> None:
    """Compile `entry` and the modules it imports into ES modules under `stage`."""
    shutil.rmtree(stage, ignore_errors=True)
    command = [
        sys.executable, '-m', 'transcrypt', '-b', '-n',
        '-xp', f'{RUNTIME_PATH}${ROOT}',
        '-od', str(stage),
    ]
    if dev:
        command.append('-m')
    command.append(str(entry))
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0 or 'Error while compiling' in done.stdout:
        raise BuildError('Transcrypt failed:\n' + done.stdout + done.stderr)


def check_runtime_use(stage: Path) -> None:
    """Fail when compiled code calls a stock-runtime helper or a patched prototype method that
    the tag's runtime does not provide, naming the module and the name."""
    runtime = (stage / 'org.transcrypt.__runtime__.js').read_text(encoding='utf-8')
    provided = set(_EXPORT_LINE.findall(runtime))
    problems = []
    for module in sorted(stage.glob('*.js')):
        if module.name.startswith('org.transcrypt'):
            continue
        code = _STRING_OR_COMMENT.sub('""', module.read_text(encoding='utf-8'))
        modules = set(_NAMESPACE_IMPORT.findall(code))
        missing = {name for name in _CALL.findall(code) if name in STOCK_RUNTIME_NAMES} - provided
        patched = {name for owner, name in _METHOD_CALL.findall(code) if owner not in modules} & PATCHED_METHODS
        for name in sorted(missing):
            problems.append(f'{module.name}: calls {name}(), which the tag runtime does not provide')
        for name in sorted(patched):
            problems.append(f'{module.name}: calls .{name}(), a Python method with no browser implementation')
    if problems:
        raise BuildError('compiled code needs what the runtime lacks:\n  ' + '\n  '.join(problems))


def bundle(stage: Path, entry_js: str, out_file: Path, dev: bool) -> None:
    """Bundle the staged modules into one classic script at `out_file`."""
    if not ESBUILD.exists():
        raise BuildError(f'{ESBUILD} is missing: run `npm ci` (make does it for you)')
    out_file.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(ESBUILD), str(stage / entry_js),
        '--bundle', '--format=iife', '--target=es2017', '--platform=browser',
        '--legal-comments=none', f'--banner:js={STRICT_BANNER}',
        f'--outfile={out_file}', '--log-level=warning',
    ]
    command += ['--sourcemap'] if dev else ['--minify']
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildError('esbuild failed:\n' + done.stdout + done.stderr)
    if dev:
        inline_source_map(out_file, stage)
    else:
        code = out_file.read_text(encoding='utf-8')
        if re.search(r'^\s*(import|export)\b', code, re.MULTILINE):
            raise BuildError(f'{out_file}: module syntax left in the bundle')


def inline_source_map(out_file: Path, stage: Path) -> None:
    """Point the development bundle's source map at the real files (`tracker/engine.py`, not the
    staged copy `tracker.engine.py`) and inline it, so that a stamped file carries its own map
    wherever it is served from."""
    map_path = out_file.with_name(out_file.name + '.map')
    source_map = json.loads(map_path.read_text(encoding='utf-8'))
    sources = []
    for source in source_map['sources']:
        name = Path(source).name
        if name == 'org.transcrypt.__runtime__.py':
            sources.append('tracker/jsruntime/org/transcrypt/__runtime__.py')
        elif name.startswith('tracker.'):
            sources.append('tracker/' + name[len('tracker.'):])
        else:
            sources.append(os.path.relpath(Path(source).resolve(), ROOT) if name != 'main.py' else 'tracker/main.py')
    source_map['sources'] = sources
    source_map.pop('sourceRoot', None)
    encoded = base64.b64encode(json.dumps(source_map, separators=(',', ':')).encode()).decode('ascii')
    code = re.sub(r'\n//# sourceMappingURL=\S+\s*$', '\n', out_file.read_text(encoding='utf-8'))
    out_file.write_text(code + f'//# sourceMappingURL=data:application/json;base64,{encoded}\n', encoding='utf-8')
    map_path.unlink()


def file_figures(data: bytes) -> dict:
    """Raw, gzip -9 and brotli sizes, sha256 and the Subresource Integrity value of `data`."""
    return {
        'raw': len(data),
        'gzip': len(gzip.compress(data, compresslevel=9, mtime=0)),
        'brotli': len(brotli.compress(data, quality=11)),
        'sha256': hashlib.sha256(data).hexdigest(),
        'sri': 'sha384-' + base64.b64encode(hashlib.sha384(data).digest()).decode('ascii'),
    }


def build_generic(dev: bool, entry: Path, out_file: Path) -> str:
    """Steps 1-3: compile, check, bundle. Returns the generic bundle's text."""
    stage = ROOT / 'dist' / ('stage-dev' if dev else 'stage')
    started = time.perf_counter()
    transcrypt(entry, stage, dev)
    log('transcrypt', started)
    started = time.perf_counter()
    check_runtime_use(stage)
    log('runtime check', started)
    started = time.perf_counter()
    entry_js = entry.stem + '.js'
    bundle(stage, entry_js, out_file, dev)
    log('esbuild bundle' + ('' if dev else ' + minify'), started)
    return out_file.read_text(encoding='utf-8')


def write_tags(generic: str, settings_list: list[TagSettings], out_dir: Path, budget: int, dev: bool) -> dict:
    """Step 4: stamp and write each account's file and the manifest; enforce the size budget."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / 'manifest.json'
    manifest = {}
    if manifest_path.exists():
        try:
            manifest = json.loads(manifest_path.read_text(encoding='utf-8'))
        except ValueError:
            manifest = {}
    started = time.perf_counter()
    stamped = {settings.account_id: stamp(generic, settings) for settings in settings_list}
    per_account_ms = 1000 * (time.perf_counter() - started) / max(1, len(stamped))
    print(f'  {"stamp":<34} {per_account_ms:8.3f} ms per account')
    over = []
    for account_id, text in sorted(stamped.items()):
        data = text.encode('utf-8')
        name = f'{account_id}.js'
        (out_dir / name).write_bytes(data)
        figures = file_figures(data)
        manifest[account_id] = {'file': name, **figures}
        print(
            f'  {name:<26} raw {figures["raw"]:>6} B   gzip {figures["gzip"]:>5} B   '
            f'brotli {figures["brotli"]:>5} B   {figures["sri"][:20]}...'
        )
        if figures['gzip'] > budget and not dev:
            over.append(f'{name}: {figures["gzip"]} B gzip, over the budget of {budget} B')
    manifest_path.write_text(json.dumps(dict(sorted(manifest.items())), indent=2) + '\n', encoding='utf-8')
    if over:
        raise BuildError('size budget exceeded:\n  ' + '\n  '.join(over))
    return manifest


def settings_from_args(args: argparse.Namespace) -> list[TagSettings]:
    """The accounts to stamp: the one given on the command line, or every account in the file."""
    if args.account:
        if not args.collector:
            raise BuildError('--account needs --collector URL')
        validate_account_id(args.account)
        return [TagSettings(args.account, args.collector, args.cookie_domain or '')]
    accounts = load_accounts(args.accounts)
    missing = [a.account_id for a in accounts.values() if not a.collector_url]
    if missing:
        raise BuildError(f'{args.accounts}: accounts without collector_url: {", ".join(missing)}')
    return [TagSettings(a.account_id, a.collector_url, a.cookie_domain) for a in accounts.values()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--account', help='build this one account (needs --collector)')
    parser.add_argument('--collector', help="the account's collector URL, e.g. https://collect.example.com/c")
    parser.add_argument('--cookie-domain', default='', help='cookie domain to stamp (default: page host minus www.)')
    parser.add_argument('--accounts', default=str(ROOT / 'accounts.toml'), help='accounts file (default: accounts.toml)')
    parser.add_argument('--dev', action='store_true', help='readable bundle with a source map back to tracker/*.py')
    parser.add_argument('--generic-only', action='store_true', help='build the generic bundle, stamp nothing')
    parser.add_argument('--entry', default=str(ROOT / 'tracker' / 'main.py'), help=argparse.SUPPRESS)
    parser.add_argument('--generic-out', default=None, help=argparse.SUPPRESS)
    parser.add_argument('--out', default=None, help='output folder for the tag files (default: dist/tags)')
    parser.add_argument(
        '--budget-gzip', type=int,
        default=int(os.environ.get('BUDGET_GZIP_BYTES', DEFAULT_BUDGET_GZIP_BYTES)),
        help=f'fail when a tag is larger than this, gzip -9 bytes (default {DEFAULT_BUDGET_GZIP_BYTES})',
    )
    args = parser.parse_args(argv)
    try:
        settings_list = [] if args.generic_only else settings_from_args(args)
        generic_out = Path(args.generic_out) if args.generic_out else (
            ROOT / 'dist' / ('generic-dev' if args.dev else 'generic') / 'ometria.js'
        )
        out_dir = Path(args.out) if args.out else ROOT / 'dist' / ('dev/tags' if args.dev else 'tags')
        print(f'building {os.path.relpath(generic_out, ROOT)}' + (' (dev, source map)' if args.dev else ''))
        generic = build_generic(args.dev, Path(args.entry), generic_out)
        figures = file_figures(generic.encode('utf-8'))
        print(f'  {"generic bundle":<26} raw {figures["raw"]:>6} B   gzip {figures["gzip"]:>5} B   brotli {figures["brotli"]:>5} B')
        if settings_list:
            write_tags(generic, settings_list, out_dir, args.budget_gzip, args.dev)
            print(f'wrote {len(settings_list)} tag file(s) to {os.path.relpath(out_dir, ROOT)}/ (budget {args.budget_gzip} B gzip)')
    except (BuildError, StampError, AccountsError) as error:
        print(f'build failed: {error}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
