"""The TypeScript declarations shipped beside the tags (types/ometria.d.ts): `tsc --strict`
accepts a store integration written the documented way, and refuses the common mistakes."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TSC = ROOT / 'node_modules' / '.bin' / 'tsc'
OPTIONS = ['--noEmit', '--strict', '--target', 'es2017', '--lib', 'es2017,dom', '--moduleResolution', 'node']


def compile_with_declarations(sample: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(TSC), *OPTIONS, 'types/ometria.d.ts', sample], cwd=ROOT, capture_output=True,
                          text=True)


def test_a_documented_integration_compiles():
    done = compile_with_declarations('tests/typescript/sample.ts')
    assert done.returncode == 0, done.stdout + done.stderr


def test_misuses_are_refused_one_error_each():
    done = compile_with_declarations('tests/typescript/misuse.ts')
    errors = [line for line in done.stdout.splitlines() if 'error TS' in line]
    assert done.returncode != 0
    assert sorted(int(line.split('(')[1].split(',')[0]) for line in errors) == [2, 3, 4, 5], done.stdout


def test_the_declarations_cover_every_published_name(tmp_path):
    """Each name the tag publishes on `window.ometria` (the keys of api.make_api), and each Basket
    method, is declared: a store written in TypeScript can call all of them."""
    from tests.support.vectors import published_names
    from tracker import basket

    methods = [name for name in vars(basket.Basket) if name[:1].islower() and not name.startswith('_')
               and callable(vars(basket.Basket)[name])]
    sample = tmp_path / 'every_name.ts'
    sample.write_text('export {};\n' + ''.join(f'const n{i}: unknown = window.ometria.{name};\n'
                                               for i, name in enumerate(published_names()))
                      + 'const b = new window.ometria.Basket();\n'
                      + ''.join(f'const m{i}: unknown = b.{name};\n' for i, name in enumerate(methods)))
    done = subprocess.run([str(TSC), *OPTIONS, 'types/ometria.d.ts', str(sample)], cwd=ROOT, capture_output=True,
                          text=True)
    assert len(methods) >= 7
    assert done.returncode == 0, done.stdout + done.stderr
