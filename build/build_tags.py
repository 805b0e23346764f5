#!/usr/bin/env python3
"""Build the tag: `tracker/` (Python) -> generic bundles per feature set -> one stamped file per account.

    python build/build_tags.py                                  # every account in accounts.toml
    python build/build_tags.py --account acme --collector URL   # one account
    python build/build_tags.py --generic-only                   # the generic bundles only (make's)
    python build/build_tags.py --dev ...                        # readable bundles + source maps

Files: for each feature set in use, the tag shoppers download (entry `tracker/main.py`, the
journal compiled out) and its twin (the same with the journal, `<name>.journal.js`), which the
tag hands over to in debug mode; and the debug module (entry `tracker/debug_main.py`: the overlay,
the doctor and their texts), which the twin loads. The debug module and the twins are the same for
every account (they hold no setting): each is built once and published beside the account files.
Each file carries the SRI value of the one it loads (tag -> twin -> debug module).

Feature sets: an account's settings choose which features its tag carries (`Account.features`,
tracker/features.py). The tag is compiled once, then bundled once per feature set in use: the
full set (`ometria.js`, every feature: what a server stamps an account from when its own set was
not built), the smallest (`ometria.core.js`) and each account's.

Steps (each printed with its time):
1. Transcrypt (`-b -n`, no Closure step) compiles each entry into `dist/stage*/`, with the tag's
   own runtime (`tracker/jsruntime`) in place of the stock one.
2. A check that the compiled code calls nothing the tag's runtime lacks (a stock-runtime helper or
   a method the stock runtime patches onto built-in prototypes).
3. For each feature set and journal flag, the staged `tracker.features.js` says which features
   are in (as constants); esbuild bundles the modules into ONE classic script: an IIFE, "use
   strict", es2017, the tag's own attributes and methods (`_private` and `snake_case` names)
   renamed short, pure annotations kept; terser then compresses it (es2017 output: arrows,
   concise methods), dropping the code of the features left out. The bundles of one build run
   side by side; a bundle made before from the same staged code, commands and tools is taken
   from `dist/.cache/` (`OMETRIA_BUILD_CACHE=0` makes every one). Into `dist/generic/`, the
   integrity values filled in and the account sentinels still in the tags.
4. Each account's settings are stamped into its set's tag (`collector/stamp.py`):
   `dist/tags/<account_id>.js`, the twins of the accounts' sets, `dist/tags/ometria.debug.js`,
   `dist/tags/manifest.json` with raw / gzip -9 / brotli bytes, sha256 and the SRI value per file
   and each account's features, and `dist/tags/ometria.d.ts` (TypeScript declarations of the
   public API, from `types/`).

The build fails (exit status 1) on a compile error, on a helper the runtime lacks, on a stamping
error (naming the account) and when a file's gzip size is over its budget (a tag: 13 KiB; a tag
of the smallest set, a `custom` platform without consent or forms: 11 KiB; the debug module:
6 KiB; a twin has none). The same sources and settings give byte-identical files.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import contextlib
import fcntl
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import brotli

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.accounts import (  # noqa: E402
    ALL_FEATURES,
    PIXEL_FILE_SUFFIX,
    PLATFORMS,
    Account,
    AccountsError,
    bundle_name,
    consent_problem,
    load_accounts,
    pixel_bundle_name,
    pixel_set,
)
from collector.stamp import StampError, TagSettings, stamp, validate_account_id  # noqa: E402

DEFAULT_BUDGET_GZIP_BYTES = 13 * 1024 + 512
# The tag of the smallest feature set: platform `custom`, no consent, no forms.
CORE_FEATURES = frozenset()
CORE_BUDGET_GZIP_BYTES = 11 * 1024 + 512
# The full set: every platform's data layer and every consent tool together, which no store's tag
# carries (an account has one platform, one tool); it is served only to an account whose own set
# is not built yet.
FULL_BUDGET_GZIP_BYTES = 14 * 1024 + 512
DEBUG_BUDGET_GZIP_BYTES = 6 * 1024
# The Shopify checkout pixel (entry `tracker/pixel_main.py`): built for the pixel features
# (collector.accounts.pixel_set) of each Shopify account, stamped as `<account_id>.shopify-pixel.js`.
PIXEL_ENTRY = ROOT / 'tracker' / 'pixel_main.py'
PIXEL_BUDGET_GZIP_BYTES = 13 * 1024
FEATURES_MODULE = 'tracker.features.js'
_FLAG_LINE = re.compile(r'^export var ([A-Z_]+) = (?:true|false);$', re.MULTILINE)
DEBUG_FILE = 'ometria.debug.js'
# Build sentinels (tracker/config.py): filled per feature set, the same for every account.
DEBUG_INTEGRITY_SENTINEL = '__OM_DEBUG_INTEGRITY__'
JOURNAL_FILE_SENTINEL = '__OM_JOURNAL_FILE__'
JOURNAL_INTEGRITY_SENTINEL = '__OM_JOURNAL_INTEGRITY__'
# The flags of tracker/features.py: an account's features, and the journal (on in the twins).
TAG_FLAGS = ALL_FEATURES | {'JOURNAL'}
# esbuild renames these properties to short names: the tag's own attributes and methods, written
# `_private` or `snake_case` in Python. Browser APIs are camelCase and never match; names that must
# survive (the wire format, storage, journal entries, the public API) are quoted keys in the
# Python source (`event['store_id']`), which esbuild never renames. So an object that is not the
# tag's own is read with a quoted key even when its property is snake_case (`raw_data`).
MANGLED_PROPERTIES = '^(_[a-z]|[a-z][a-z0-9]*_[a-z0-9_]*$)'

ESBUILD = ROOT / 'node_modules' / '.bin' / 'esbuild'
TERSER = ROOT / 'node_modules' / '.bin' / 'terser'
# terser's pass over esbuild's output: it folds constants (the feature flags), drops the code they
# leave unreachable, and compresses. es2017 output: `function` expressions that use neither `this`
# nor `arguments` become arrows (`unsafe_arrows`) and methods in object literals concise
# (`unsafe_methods`): safe here, since nothing but Basket is called with `new` and Transcrypt's class
# function keeps `function` (measured: -238 B gzip on the tag).
TERSER_OPTIONS = ['--compress', 'passes=2,ecma=2017,pure_getters=true,unsafe_arrows=true,unsafe_methods=true', '--mangle',
                  '--ecma', '2017', '--format', 'ascii_only=true']
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
# A name followed by `(`, not after a dot (a method) nor after `get ` (a class's method getter).
_CALL = re.compile(r'(?<![\w$.])(?<!get )([A-Za-z_$][\w$]*)\s*\(')
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
    for module in stage.glob('*.js'):
        # The tag's runtime never reads a class's `__module__`: 20 bytes per class, dropped.
        text = module.read_text(encoding='utf-8').replace('\t__module__: __name__,\n', '')
        if not dev:
            # Transcrypt's first line says when it compiled: the staged code is only what the
            # sources make, so a bundle made from it before is found in the cache. (A development
            # build keeps the line: its source maps count it.)
            text = _COMPILED_AT.sub('', text, count=1)
        module.write_text(pure_classes(plain_methods(text)), encoding='utf-8')


# Classes whose instances stores hold: their published methods stay bound to the instance
# (Transcrypt's `__get__`), so that a store calling a detached `basket.setId` still gets a basket;
# their `_private` methods, called only as `self._m(...)`, are plain like every other class's.
BOUND_METHOD_CLASSES = {'Basket'}
_COMPILED_AT = re.compile(r"^// Transcrypt'ed from Python, [^\n]*\n")
_CLASS_BLOCK = re.compile(r"__class__ \('(\w+)', \[object\], \{\n(.*?)\n\}\);\n", re.DOTALL)
_METHOD = re.compile(r'\tget (\w+) \(\) \{return __get__ \(this, function \(self(?:, )?([^)]*)\) \{\n(.*?)\n\t\}\);\}',
                     re.DOTALL)


_CLASS_DEFINITION = re.compile(r'^(export var \w+ = +)(__class__ \()', re.MULTILINE)


def pure_classes(code: str) -> str:
    """Mark each module-level class definition pure (`/* @__PURE__ */ __class__ (...)`): making a
    class has no side effect, so esbuild may drop a class that a bundle never uses. Without the
    mark it keeps every class of every module imported (measured: the debug module, which imports
    `browser` for three functions, carried the whole `BrowserEnv`, 2.2 KB gzip of its 7.7 KB)."""
    return _CLASS_DEFINITION.sub(r'\1/* @__PURE__ */ \2', code)


def plain_methods(code: str) -> str:
    """Compiled classes with plain methods: Transcrypt makes each method a getter that binds it to
    the instance on every read (`get m () {return __get__ (this, function (self, a) {...});}`);
    the tag's own classes never read a method without calling it (the subset lint holds them to
    that), so each becomes `m: function (a) {var self = this; ...}`, called with `this` and
    nothing to bind. `__init__` keeps `self` as its first parameter, as the runtime calls it. The
    published methods of BOUND_METHOD_CLASSES stay bound."""
    def method(match: re.Match) -> str:
        name, params, body = match.groups()
        if name == '__init__':
            return f'\t__init__: function (self{", " + params if params else ""}) {{\n{body}\n\t}}'
        return f'\t{name}: function ({params}) {{var self = this;\n{body}\n\t}}'

    def private_only(match: re.Match) -> str:
        return method(match) if match.group(1).startswith('_') and match.group(1) != '__init__' else match.group(0)

    def block(match: re.Match) -> str:
        name, members = match.groups()
        transform = private_only if name in BOUND_METHOD_CLASSES else method
        return match.group(0).replace(members, _METHOD.sub(transform, members))

    return _CLASS_BLOCK.sub(block, code)


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


def module_qualified_names(stage: Path) -> list[str]:
    """The names compiled code reaches as `module.name` (a namespace import). esbuild resolves
    those statically only while the name is left alone: renaming one would make it build the
    module's namespace object and drop tree shaking. So they are kept; any other attribute of the
    tag's own objects may be renamed."""
    names = set()
    for module in stage.glob('*.js'):
        code = module.read_text(encoding='utf-8')
        aliases = set(_NAMESPACE_IMPORT.findall(code))
        names.update(name for owner, name in re.findall(r'\b([\w$]+)\s*\.\s*([\w$]+)', code) if owner in aliases)
    return sorted(names)


def esbuild_command(stage: Path, entry_js: str, out_file: Path, dev: bool) -> list[str]:
    """The esbuild call bundling the staged modules into one classic script at `out_file` (the
    benchmarks add `--metafile` to it to see which module the bytes come from)."""
    if not ESBUILD.exists():
        raise BuildError(f'{ESBUILD} is missing: run `npm ci` (make does it for you)')
    command = [
        str(ESBUILD), str(stage / entry_js),
        '--bundle', '--format=iife', '--target=es2017', '--platform=browser',
        '--legal-comments=none', f'--banner:js={STRICT_BANNER}',
        f'--outfile={out_file}', '--log-level=warning',
    ]
    reserved = '^(' + '|'.join(module_qualified_names(stage)) + ')$'
    # Syntax and identifiers only: minifying whitespace would drop the pure annotations terser
    # needs to leave out the classes of a feature that is off.
    command += ['--sourcemap'] if dev else ['--minify-syntax', '--minify-identifiers',
                                           f'--mangle-props={MANGLED_PROPERTIES}', f'--reserve-props={reserved}']
    return command


# Finished bundles by what they are made of (cache_key): the same staged code, commands and tools
# give the same bytes (the build is reproducible), so a bundle made before is taken as it is.
BUNDLE_CACHE = ROOT / 'dist' / '.cache'
BUNDLE_CACHE_ENTRIES = 64


def cache_key(stage: Path, command: list[str]) -> str:
    """What decides a bundle's bytes: every staged module, the esbuild command (its paths left
    out), terser's options, the tools' versions (package-lock.json) and this script."""
    digest = hashlib.sha256()
    for module in sorted(stage.glob('*.js')):
        digest.update(module.name.encode() + b'\0' + module.read_bytes() + b'\0')
    digest.update(json.dumps([arg for arg in command[2:] if not arg.startswith('--outfile=')]).encode())
    digest.update(json.dumps(TERSER_OPTIONS).encode())
    digest.update((ROOT / 'package-lock.json').read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def bundle(stage: Path, entry_js: str, out_file: Path, dev: bool, cache: bool = True) -> bool:
    """Bundle the staged modules into one classic script at `out_file`; True when it came from the
    cache (never for a development build, whose source map names this checkout's files)."""
    command = esbuild_command(stage, entry_js, out_file, dev)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    cached = BUNDLE_CACHE / (cache_key(stage, command) + '.js') if cache and not dev else None
    if cached is not None and cached.exists():
        shutil.copyfile(cached, out_file)
        return True
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildError('esbuild failed:\n' + done.stdout + done.stderr)
    if dev:
        inline_source_map(out_file, stage)
        return False
    done = subprocess.run([str(TERSER), str(out_file), *TERSER_OPTIONS, '--output', str(out_file)],
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildError('terser failed:\n' + done.stdout + done.stderr)
    code = out_file.read_text(encoding='utf-8')
    if not code.startswith(STRICT_BANNER):
        raise BuildError(f'{out_file}: the strict-mode banner was lost')
    if re.search(r'^\s*(import|export)\b', code, re.MULTILINE):
        raise BuildError(f'{out_file}: module syntax left in the bundle')
    check_target_features(code, out_file.name)
    if cached is not None:
        BUNDLE_CACHE.mkdir(parents=True, exist_ok=True)
        replace_file(cached, code.encode('utf-8'))
        for old in sorted(BUNDLE_CACHE.glob('*.js'), key=lambda path: path.stat().st_mtime)[:-BUNDLE_CACHE_ENTRIES]:
            old.unlink(missing_ok=True)
    return False


# What the bundle may not use: features newer than its es2017 target that esbuild does not lower
# (library calls, and regex syntax inside literals). Dynamic import (ES2020) is the one newer
# feature the tag holds, on purpose: it loads the debug module only where `modulepreload` exists,
# but an engine without it cannot parse the tag at all (Firefox < 67, Safari < 11.1).
NEWER_THAN_TARGET = re.compile(
    r'\.(replaceAll|flatMap|flat|toWellFormed|isWellFormed|findLast|findLastIndex|matchAll|hasOwn|fromEntries|'
    r'allSettled|toSorted|toReversed|toSpliced|groupBy)\(|\b(globalThis|structuredClone|WeakRef|'
    r'FinalizationRegistry|BigInt)\b|\(\?<[=!]|\(\?<[A-Za-z]|\?\?|\?\.(?![0-9])')


def check_target_features(code: str, name: str) -> None:
    """Fail when the minified bundle uses a feature newer than es2017 (see NEWER_THAN_TARGET)."""
    found = sorted({m.group(0) for m in NEWER_THAN_TARGET.finditer(code)})
    if found:
        raise BuildError(f'{name}: uses features newer than es2017: {found}')


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


def compile_entry(dev: bool, entry: Path, stage: Path) -> None:
    """Steps 1-2 for one entry: compile into `stage`, check what the compiled code calls."""
    started = time.perf_counter()
    transcrypt(entry, stage, dev)
    log(f'transcrypt {entry.name}', started)
    started = time.perf_counter()
    check_runtime_use(stage)
    log('runtime check', started)


def bundle_stage(dev: bool, stage: Path, entry_js: str, out_file: Path, label: str) -> str:
    """Step 3 for one staged entry: bundle and minify into `out_file`; returns its text."""
    started = time.perf_counter()
    cached = bundle(stage, entry_js, out_file, dev, cache=os.environ.get('OMETRIA_BUILD_CACHE', '1') != '0')
    log(f'esbuild {label}' if dev else f'{"cached" if cached else "esbuild + terser"} {label}', started)
    return out_file.read_text(encoding='utf-8')


def feature_stage(stage: Path, flags: frozenset[str]) -> Path:
    """A copy of `stage` whose `tracker.features.js` turns on exactly `flags`: the minifier then
    drops the code of every feature left out. Fails when the module's flags are not the tag's
    (collector.accounts.ALL_FEATURES and JOURNAL)."""
    name = '-'.join(sorted(flag.lower() for flag in flags)) or 'core'
    copy = stage.with_name(f'{stage.name}-{name}')
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(stage, copy)
    module = copy / FEATURES_MODULE
    text = module.read_text(encoding='utf-8')
    if set(_FLAG_LINE.findall(text)) != TAG_FLAGS:
        raise BuildError(f'{FEATURES_MODULE}: its flags {sorted(_FLAG_LINE.findall(text))} are not '
                         f'{sorted(TAG_FLAGS)}')
    # Nothing but the constants (features.py imports nothing): esbuild inlines a constant of a
    # module that imports nothing, and drops the code it turns off (even Transcrypt's unused import
    # of its runtime would stop that: measured).
    module.write_text(''.join(f'export const {name} = {"true" if name in flags else "false"};\n'
                              for name in _FLAG_LINE.findall(text)), encoding='utf-8')
    return copy


def fill(code: str, values: dict[str, str], required: set[str], name: str) -> str:
    """`code` with each build sentinel of `values` (quoted, there at most once) replaced by its
    value as a string literal; a sentinel of `required` must be there. (A bundle leaves out the
    settings it never reads: the tag shoppers download has no debug integrity, its twin no
    account setting.)"""
    for sentinel, value in values.items():
        quoted = [q + sentinel + q for q in '"\'`' if q + sentinel + q in code]
        if len(quoted) > 1 or (quoted and code.count(quoted[0]) != 1):
            raise BuildError(f'{name}: the sentinel {sentinel} is in the bundle more than once')
        if not quoted and sentinel in required:
            raise BuildError(f'{name}: the sentinel {sentinel} is not in the bundle')
        if quoted:
            code = code.replace(quoted[0], json.dumps(value))
    return code


@dataclass
class Bundles:
    """What one build makes: per feature set, the tag shoppers download (its account settings
    still sentinels) and its journaled twin; and the debug module."""

    tags: dict[frozenset, str] = field(default_factory=dict)
    twins: dict[frozenset, str] = field(default_factory=dict)
    debug: str = ''
    pixels: dict[frozenset, str] = field(default_factory=dict)


def pixel_sets(feature_sets) -> list[frozenset]:
    """The pixels `feature_sets` need."""
    return sorted({pixel_set(s) for s in feature_sets if pixel_set(s) is not None}, key=bundle_name)


def build_pixels(dev: bool, partial: Path, out_dir: Path, sets: list[frozenset], bundles: Bundles) -> None:
    """The checkout pixel of each of `sets` (compiled once from PIXEL_ENTRY, bundled per set, no
    journal: the sandbox has no overlay), into `out_dir`; under the build lock."""
    if not sets:
        return
    stage = ROOT / 'dist' / f'stage-pixel{"-dev" if dev else ""}'
    compile_entry(dev, PIXEL_ENTRY, stage)
    for feature_set in sets:
        name = pixel_bundle_name(feature_set)
        bundles.pixels[feature_set] = bundle_stage(dev, feature_stage(stage, feature_set), PIXEL_ENTRY.stem + '.js',
                                                   partial / name, name)
        os.replace(partial / name, out_dir / name)


def build_sets(dev: bool, stage: Path, entry_js: str, partial: Path, sets: list[frozenset],
               debug_integrity: str, bundles: Bundles) -> None:
    """Bundle each of `sets` twice into `partial`, the bundles side by side (each is its own
    esbuild and terser process): its twin (the journal on), which carries the debug module's
    integrity, and its tag, which carries the twin's name and integrity."""
    jobs = [(feature_set, journal) for feature_set in sets for journal in (True, False)]

    def make(job):
        feature_set, journal = job
        name = bundle_name(feature_set, journal)
        flags = feature_set | {'JOURNAL'} if journal else feature_set
        return bundle_stage(dev, feature_stage(stage, flags), entry_js, partial / name, name)

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        made = dict(zip(jobs, pool.map(make, jobs), strict=True))
    for feature_set in sets:
        twin_name, name = bundle_name(feature_set, journal=True), bundle_name(feature_set)
        twin = fill(made[feature_set, True], {DEBUG_INTEGRITY_SENTINEL: debug_integrity}, {DEBUG_INTEGRITY_SENTINEL},
                    twin_name)
        values = {JOURNAL_FILE_SENTINEL: twin_name, JOURNAL_INTEGRITY_SENTINEL: file_figures(twin.encode('utf-8'))['sri'],
                  DEBUG_INTEGRITY_SENTINEL: debug_integrity}
        bundles.tags[feature_set] = fill(made[feature_set, False], values,
                                         {JOURNAL_FILE_SENTINEL, JOURNAL_INTEGRITY_SENTINEL}, name)
        bundles.twins[feature_set] = twin


def build_generic(dev: bool, entry: Path, debug_entry: Path | None, out_file: Path, feature_sets=()) -> Bundles:
    """The generic bundles (steps 1-3): the debug module first, so that each twin can carry its
    integrity; then the tag, compiled once and bundled for the full feature set (`out_file`) and
    each of `feature_sets` (beside it, named by `bundle_name`), each with its twin. Without
    `debug_entry` (a test's probe bundle) only the entry's full bundle is built, as it is.

    Builds take turns (a lock on dist/, since their staging folders are shared), and the finished
    files replace the old ones in one rename each: a running collector stamps tags from them and
    must never read a half-written bundle, or one whose integrity values are not filled in yet."""
    suffix = '-dev' if dev else ''
    partial = out_file.parent / '.partial'
    partial.mkdir(parents=True, exist_ok=True)
    sets = [ALL_FEATURES] + sorted({frozenset(f) for f in feature_sets} - {ALL_FEATURES}, key=bundle_name)
    bundles = Bundles()
    with build_lock():
        if debug_entry is None:
            stage = ROOT / 'dist' / f'stage{suffix}-probe'
            compile_entry(dev, entry, stage)
            bundles.tags[ALL_FEATURES] = bundle_stage(dev, stage, entry.stem + '.js', partial / out_file.name, entry.name)
            os.replace(partial / out_file.name, out_file)
            return bundles
        debug_stage = ROOT / 'dist' / f'stage-debug{suffix}'
        compile_entry(dev, debug_entry, debug_stage)
        bundles.debug = bundle_stage(dev, debug_stage, debug_entry.stem + '.js', partial / DEBUG_FILE, DEBUG_FILE)
        integrity = file_figures(bundles.debug.encode('utf-8'))['sri']
        stage = ROOT / 'dist' / f'stage{suffix}'
        compile_entry(dev, entry, stage)
        build_sets(dev, stage, entry.stem + '.js', partial, sets, integrity, bundles)
        # Still under the lock: the next build's esbuild writes into the same partial folder. The
        # debug module first, then the twins, then the tags: a file never sits beside an older
        # one whose integrity it does not carry.
        os.replace(partial / DEBUG_FILE, out_file.with_name(DEBUG_FILE))
        for journal, texts in ((True, bundles.twins), (False, bundles.tags)):
            for feature_set, text in texts.items():
                name = bundle_name(feature_set, journal)
                target = out_file if feature_set == ALL_FEATURES and not journal else out_file.with_name(name)
                replace_file(target, text.encode('utf-8'))
                (partial / name).unlink(missing_ok=True)
        build_pixels(dev, partial, out_file.parent, pixel_sets(feature_sets), bundles)
    return bundles


@contextlib.contextmanager
def build_lock():
    """Held while a build uses the shared staging folders under dist/ (concurrent builds wait)."""
    lock_path = ROOT / 'dist' / '.build.lock'
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def report(name: str, figures: dict) -> None:
    print(f'  {name:<26} raw {figures["raw"]:>6} B   gzip {figures["gzip"]:>5} B   '
          f'brotli {figures["brotli"]:>5} B   {figures["sri"][:20]}...')


def replace_file(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all: a static host syncing dist/tags during a build, or a
    server reading it, sees the old file or the new one, never half of one. The temporary name
    starts with a dot, which sync tools and static servers commonly skip, and names the process,
    so that two builds writing the same folder never write into one temporary file."""
    partial = path.with_name(f'.{path.name}.{os.getpid()}.partial')
    partial.write_bytes(data)
    os.replace(partial, path)


def budget_for(feature_set: frozenset[str], budget: int) -> int:
    """The gzip budget of a tag of `feature_set`: the core set's, the full set's, else `budget`."""
    if feature_set == CORE_FEATURES:
        return min(budget, CORE_BUDGET_GZIP_BYTES)
    return max(budget, FULL_BUDGET_GZIP_BYTES) if feature_set == ALL_FEATURES else budget


def check_budgets(bundles: Bundles, budget: int) -> list[str]:
    """Report each generic bundle's size; the tags over their budget, as messages. (A twin has no
    budget: only a page in debug mode loads it.)"""
    over = []
    for feature_set, text in bundles.tags.items():
        name = bundle_name(feature_set)
        figures = file_figures(text.encode('utf-8'))
        report(f'generic {name}', figures)
        limit = budget_for(feature_set, budget)
        if figures['gzip'] > limit:
            over.append(f'{name}: {figures["gzip"]} B gzip, over the budget of {limit} B')
    for feature_set, text in bundles.twins.items():
        report(f'generic {bundle_name(feature_set, journal=True)}', file_figures(text.encode('utf-8')))
    if bundles.debug:
        report(f'generic {DEBUG_FILE}', file_figures(bundles.debug.encode('utf-8')))
    for feature_set, text in bundles.pixels.items():
        figures = file_figures(text.encode('utf-8'))
        report(f'generic {pixel_bundle_name(feature_set)}', figures)
        if figures['gzip'] > PIXEL_BUDGET_GZIP_BYTES:
            over.append(f'{pixel_bundle_name(feature_set)}: {figures["gzip"]} B gzip, over the budget of '
                        f'{PIXEL_BUDGET_GZIP_BYTES} B')
    return over


def write_tags(bundles: Bundles, accounts: list[tuple[TagSettings, frozenset]], out_dir: Path, budget: int,
               dev: bool) -> dict:
    """Step 4: stamp and write each account's file (from its feature set's tag), the debug module,
    the twins of the accounts' sets and the manifest ({'accounts': {id: figures, features,
    bundle}, 'debug': figures, 'twins': {name: figures}}); enforce the size budgets."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / 'manifest.json'
    manifest = {'accounts': {}, 'twins': {}, 'pixels': {}}
    if manifest_path.exists():
        try:
            saved = json.loads(manifest_path.read_text(encoding='utf-8'))
            for key in manifest:
                if isinstance(saved.get(key), dict):
                    manifest[key] = saved[key]
        except (ValueError, AttributeError):
            pass
    started = time.perf_counter()
    stamped = {settings.account_id: (stamp(bundles.tags[feature_set], settings), feature_set)
               for settings, feature_set in accounts}
    per_account_ms = 1000 * (time.perf_counter() - started) / max(1, len(stamped))
    print(f'  {"stamp":<34} {per_account_ms:8.3f} ms per account')
    over = []
    # The debug module, then the twins, then the tags: a file carries the integrity of the one it
    # loads, so a new file never sits beside an old one it cannot load.
    files = [(DEBUG_FILE, bundles.debug, DEBUG_BUDGET_GZIP_BYTES, 'debug', None)]
    files += [(bundle_name(feature_set, journal=True), bundles.twins[feature_set], None, 'twin', feature_set)
              for feature_set in sorted({s for _, s in stamped.values()}, key=bundle_name)]
    files += [(f'{account_id}.js', text, budget_for(feature_set, budget), account_id, feature_set)
              for account_id, (text, feature_set) in sorted(stamped.items())]
    # Each Shopify account's checkout pixel: what its merchant pastes into Shopify (pixel_main.py).
    files += [(f'{settings.account_id}{PIXEL_FILE_SUFFIX}', stamp(bundles.pixels[pixel_set(feature_set)], settings),
               PIXEL_BUDGET_GZIP_BYTES, 'pixel', pixel_set(feature_set))
              for settings, feature_set in sorted(accounts, key=lambda item: item[0].account_id)
              if pixel_set(feature_set) is not None]
    for name, text, limit, kind, feature_set in files:
        data = text.encode('utf-8')
        replace_file(out_dir / name, data)
        figures = {'file': name, **file_figures(data)}
        if kind == 'debug':
            manifest['debug'] = figures
        elif kind == 'twin':
            manifest['twins'][name] = figures
        elif kind == 'pixel':
            manifest['pixels'][name] = figures
        else:
            # Why one store's tag is larger than another's: the features each carries.
            manifest['accounts'][kind] = {**figures, 'features': sorted(f.lower() for f in feature_set),
                                          'bundle': bundle_name(feature_set)}
        report(name, figures)
        if limit is not None and figures['gzip'] > limit and not dev:
            over.append(f'{name}: {figures["gzip"]} B gzip, over the budget of {limit} B')
    # The TypeScript declarations of the public API, for integrators.
    replace_file(out_dir / 'ometria.d.ts', (ROOT / 'types' / 'ometria.d.ts').read_bytes())
    manifest = {key: dict(sorted(value.items())) if key != 'debug' else value for key, value in manifest.items()}
    replace_file(manifest_path, (json.dumps(manifest, indent=2) + '\n').encode('utf-8'))
    if over:
        raise BuildError('size budget exceeded:\n  ' + '\n  '.join(over))
    return manifest


def accounts_from_args(args: argparse.Namespace) -> list[tuple[TagSettings, frozenset]]:
    """The accounts to stamp, each with its feature set: the one given on the command line, or
    every account in the file."""
    if args.account:
        if not args.collector:
            raise BuildError('--account needs --collector URL')
        validate_account_id(args.account)
        account = Account(args.account, args.collector, (), args.cookie_domain or '', args.identify_forms,
                          args.consent, args.consent_tool, args.consent_category, args.gpc, platform=args.platform)
        problem = consent_problem(account.consent, account.consent_tool, account.consent_category, account.gpc)
        if problem:
            raise BuildError(problem)
        return [(account.tag_settings(args.collector), account.features)]
    accounts = load_accounts(args.accounts)
    missing = [a.account_id for a in accounts.values() if not a.collector_url]
    if missing:
        raise BuildError(f'{args.accounts}: accounts without collector_url: {", ".join(missing)}')
    return [(a.tag_settings(a.collector_url), a.features) for a in accounts.values()]


def sets_in_file(path: Path) -> set[frozenset]:
    """The feature sets of the accounts in `path`, when it exists (a collector serving them
    stamps each account from its own set's bundle)."""
    return {a.features for a in load_accounts(path).values()} if path.exists() else set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--account', help='build this one account (needs --collector)')
    parser.add_argument('--collector', help="the account's collector URL, e.g. https://collect.example.com/c")
    parser.add_argument('--cookie-domain', default='', help='cookie domain to stamp (default: page host minus www.)')
    parser.add_argument('--identify-forms', action='store_true',
                        help='the tag identifies a valid email typed into any form (the account opt-in)')
    parser.add_argument('--consent', default='', choices=['', 'required'], help='required: nothing before consent')
    parser.add_argument('--consent-tool', default='', help='cookiebot, onetrust or gcm')
    parser.add_argument('--consent-category', default='', help="the consent tool's category for Ometria")
    parser.add_argument('--gpc', default='refuse', choices=['refuse', 'ignore'], help='Global Privacy Control')
    parser.add_argument('--platform', default='any', choices=sorted(PLATFORMS),
                        help="the store's platform: its data layers and cookie channels (default: any)")
    parser.add_argument('--accounts', default=str(ROOT / 'accounts.toml'), help='accounts file (default: accounts.toml)')
    parser.add_argument('--dev', action='store_true', help='readable bundle with a source map back to tracker/*.py')
    parser.add_argument('--generic-only', action='store_true',
                        help='build the generic bundles (the full and the smallest feature set, and the sets of '
                             'the accounts file when there is one), stamp nothing')
    parser.add_argument('--entry', default=str(ROOT / 'tracker' / 'main.py'), help=argparse.SUPPRESS)
    parser.add_argument('--debug-entry', default=str(ROOT / 'tracker' / 'debug_main.py'), help=argparse.SUPPRESS)
    parser.add_argument('--no-debug-module', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--generic-out', default=None, help=argparse.SUPPRESS)
    parser.add_argument('--out', default=None, help='output folder for the tag files (default: dist/tags)')
    parser.add_argument(
        '--budget-gzip', type=int,
        default=int(os.environ.get('BUDGET_GZIP_BYTES', DEFAULT_BUDGET_GZIP_BYTES)),
        help=f'fail when a tag is larger than this, gzip -9 bytes (default {DEFAULT_BUDGET_GZIP_BYTES}; the '
             f'core set: {CORE_BUDGET_GZIP_BYTES}; the full set: {FULL_BUDGET_GZIP_BYTES}; the debug module: '
             f'{DEBUG_BUDGET_GZIP_BYTES})',
    )
    args = parser.parse_args(argv)
    try:
        accounts = [] if args.generic_only else accounts_from_args(args)
        feature_sets = {CORE_FEATURES} | {feature_set for _, feature_set in accounts}
        if args.generic_only:
            feature_sets |= sets_in_file(Path(args.accounts))
        generic_out = Path(args.generic_out) if args.generic_out else (
            ROOT / 'dist' / ('generic-dev' if args.dev else 'generic') / 'ometria.js'
        )
        out_dir = Path(args.out) if args.out else ROOT / 'dist' / ('dev/tags' if args.dev else 'tags')
        print(f'building {os.path.relpath(generic_out, ROOT)}' + (' (dev, source map)' if args.dev else ''))
        debug_entry = None if args.no_debug_module else Path(args.debug_entry)
        bundles = build_generic(args.dev, Path(args.entry), debug_entry, generic_out,
                                feature_sets if debug_entry is not None else ())
        over = check_budgets(bundles, args.budget_gzip) if not args.dev and debug_entry is not None else []
        if over:
            raise BuildError('size budget exceeded:\n  ' + '\n  '.join(over))
        if accounts:
            write_tags(bundles, accounts, out_dir, args.budget_gzip, args.dev)
            print(f'wrote {len(accounts)} tag file(s) to {os.path.relpath(out_dir, ROOT)}/ '
                  f'(budgets {args.budget_gzip} B gzip, the core set {CORE_BUDGET_GZIP_BYTES} B, the full set '
                  f'{FULL_BUDGET_GZIP_BYTES} B)')
    except (BuildError, StampError, AccountsError) as error:
        print(f'build failed: {error}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
