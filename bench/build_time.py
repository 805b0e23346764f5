"""Build: Transcrypt + esbuild time for the generic bundle (median of RUNS builds), and stamping
time per 1,000 accounts (in process, as the tag server does it)."""

from __future__ import annotations

import re
import subprocess
import sys
import time

from common import ROOT, median

from collector.stamp import TagSettings, stamp

RUNS = 3


def run(runs: int = RUNS) -> dict:
    transcrypt, bundle, total = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, 'build/build_tags.py', '--generic-only'], cwd=ROOT,
                              capture_output=True, text=True, check=True)
        total.append((time.perf_counter() - started) * 1000)
        transcrypt.append(float(re.search(r'transcrypt\s+([\d.]+) ms', done.stdout).group(1)))
        bundle.append(float(re.search(r'esbuild bundle \+ minify\s+([\d.]+) ms', done.stdout).group(1)))
    generic = (ROOT / 'dist' / 'generic' / 'ometria.js').read_text()
    settings = [TagSettings(f'account-{i}', f'https://c{i}.example.com/collect', '') for i in range(1000)]
    started = time.perf_counter()
    for item in settings:
        stamp(generic, item)
    stamp_ms = (time.perf_counter() - started) * 1000
    return {
        'transcrypt_ms': round(median(transcrypt)),
        'esbuild_ms': round(median(bundle)),
        'whole_build_wall_ms': round(median(total)),
        'stamp_1000_accounts_ms': round(stamp_ms, 1),
        'stamp_per_account_ms': round(stamp_ms / 1000, 3),
    }


if __name__ == '__main__':
    print(run(1))
