"""Size: raw, gzip -9 and brotli bytes of our tag and of the peers' shipped files, and where our
tag's bytes come from, module by module."""

from __future__ import annotations

import gzip
import json
import subprocess
import tempfile
from pathlib import Path

import common  # first: it puts build/ on the import path
from build_tags import esbuild_command, file_figures, transcrypt

ENTRIES = {'tag': common.ROOT / 'tracker' / 'main.py', 'debug module': common.ROOT / 'tracker' / 'debug_main.py'}


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


def module_split(entry: Path) -> dict:
    """Each module's bytes in the minified bundle (esbuild's metafile) and its share of the
    bundle's gzip bytes, pro rata to those (gzip has no per-module figure: a share is an estimate).
    Measured on esbuild's output, before the build's terser pass (which takes ~2 % more off)."""
    with tempfile.TemporaryDirectory() as work:
        stage, out, meta = Path(work) / 'stage', Path(work) / 'bundle.js', Path(work) / 'meta.json'
        transcrypt(entry, stage, dev=False)
        command = esbuild_command(stage, entry.stem + '.js', out, dev=False) + [f'--metafile={meta}']
        subprocess.run(command, cwd=common.ROOT, check=True)
        bundle_gzip = len(gzip.compress(out.read_bytes(), 9, mtime=0))
        inputs = next(iter(json.loads(meta.read_text())['outputs'].values()))['inputs']
    total = sum(info['bytesInOutput'] for info in inputs.values())
    rows = sorted(((source_name(name), info['bytesInOutput']) for name, info in inputs.items()), key=lambda r: -r[1])
    return {'bundle_gzip': bundle_gzip,
            'modules': {name: {'minified': raw, 'gzip_share': round(bundle_gzip * raw / total)} for name, raw in rows}}


def run() -> dict:
    result = {'ometria (this tag, dist/tags/demo.js)': sizes(common.OURS.read_bytes())}
    for _key, (label, path) in common.PEER_FILES.items():
        result[f'{label} ({path.name})'] = sizes(path.read_bytes())
    result['_modules'] = {label: module_split(entry) for label, entry in ENTRIES.items()}
    return result


if __name__ == '__main__':
    figures_by_file = run()
    modules = figures_by_file.pop('_modules')
    for name, figures in figures_by_file.items():
        print(f'{name:<60} raw {figures["raw"]:>8}  gzip {figures["gzip"]:>7}  brotli {figures["brotli"]:>7}')
    for label, split in modules.items():
        print(f'\n{label}: {split["bundle_gzip"]} B gzip before terser')
        for name, row in split['modules'].items():
            print(f'  {name:<40} minified {row["minified"]:>6}  share of gzip ~{row["gzip_share"]:>5}')
