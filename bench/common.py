"""Shared by the benchmark scripts: paths, the peers' files, statistics."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / 'bench'
WORK = BENCH / 'work'
PEERS_NODE = BENCH / 'node_modules'
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'build'))

OURS = ROOT / 'dist' / 'tags' / 'demo.js'
PEER_FILES = {
    'snowplow': ('@snowplow/browser-tracker 4.10.1', PEERS_NODE / '@snowplow/browser-tracker/dist/index.umd.min.js'),
    'segment': ('@segment/analytics-next 1.84.3', PEERS_NODE / '@segment/analytics-next/dist/umd/standalone.js'),
    'posthog': ('posthog-js 1.449.2', PEERS_NODE / 'posthog-js/dist/array.js'),
    'plausible': ('@plausible-analytics/tracker 0.4.6', PEERS_NODE / '@plausible-analytics/tracker/plausible.js'),
}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float('nan')


def plausible_iife() -> str:
    """Plausible's npm file is an ES module; bundled to a classic script exposing `Plausible`."""
    out = WORK / 'plausible.iife.js'
    WORK.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(ROOT / 'node_modules/.bin/esbuild'), str(PEER_FILES['plausible'][1]), '--bundle',
                    '--format=iife', '--global-name=Plausible', '--minify', f'--outfile={out}', '--log-level=error'],
                   check=True)
    return out.read_text()
