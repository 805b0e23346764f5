"""Build: the time of each step of `build_tags.py --generic-only` (median of RUNS builds): Transcrypt
(the tag and the debug module), bundling (esbuild + terser, one run per bundle: the debug module,
then each feature set's tag and twin, side by side), the whole build; and stamping time per 1,000
accounts (in process, as the tag server does it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

from common import ROOT, median

from collector.stamp import TagSettings, stamp

RUNS = 3


# A step of the build's log: two spaces, the step's name, its time ("  transcrypt main.py   1619.9 ms").
STEP_LINE = re.compile(r'^  (\S.*?)\s+([\d.]+) ms$', re.MULTILINE)


def steps(log: str) -> dict[str, float]:
    """Each timed step of a build's log, by name."""
    return {name: float(ms) for name, ms in STEP_LINE.findall(log)}


def run(runs: int = RUNS) -> dict:
    transcrypt, bundle, bundles, total = [], [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        # Every bundle made, none taken from the build's cache.
        done = subprocess.run([sys.executable, 'build/build_tags.py', '--generic-only'], cwd=ROOT,
                              capture_output=True, text=True, check=True, env={**os.environ, 'OMETRIA_BUILD_CACHE': '0'})
        total.append((time.perf_counter() - started) * 1000)
        timed = steps(done.stdout)
        compiled = [ms for name, ms in timed.items() if name.startswith('transcrypt ')]
        bundled = [ms for name, ms in timed.items() if name.startswith('esbuild + terser ')]
        if not compiled or not bundled:
            raise RuntimeError('the build log has no timed steps:\n' + done.stdout)
        transcrypt.append(sum(compiled))
        bundle.append(sum(bundled))
        bundles.append(len(bundled))
    generic = (ROOT / 'dist' / 'generic' / 'ometria.js').read_text()
    settings = [TagSettings(f'account-{i}', f'https://c{i}.example.com/collect', '') for i in range(1000)]
    started = time.perf_counter()
    for item in settings:
        stamp(generic, item)
    stamp_ms = (time.perf_counter() - started) * 1000
    return {
        'transcrypt_ms': round(median(transcrypt)),
        'esbuild_ms': round(median(bundle)),
        'bundles': max(bundles),
        'whole_build_wall_ms': round(median(total)),
        'stamp_1000_accounts_ms': round(stamp_ms, 1),
        'stamp_per_account_ms': round(stamp_ms / 1000, 3),
    }


if __name__ == '__main__':
    print(run(1))
