#!/usr/bin/env python3
"""`make bench`: every figure in one run on one machine, written to bench/results.json and
bench/RESULTS.md. These machines are noisy: compare ratios within a run, not absolute figures
across runs. About 6-8 minutes (page cost 3, collector load 1, reliability 3).

    python bench/run.py                       # everything
    python bench/run.py sizes pagecost        # some sections
"""

from __future__ import annotations

import datetime
import json
import platform
import subprocess
import sys

import build_time
import collector_load
import pagecost
import reliability
import sizes
import validation
from common import BENCH

SECTIONS = {
    'sizes': sizes.run,
    'pagecost': pagecost.run,
    'build': build_time.run,
    'validation': validation.run,
    'collector': collector_load.run,
    'reliability': reliability.run,
}


def machine() -> dict:
    chromium = subprocess.run(['/usr/bin/chromium', '--version'], capture_output=True, text=True).stdout.strip()
    return {'python': platform.python_version(), 'cpus': __import__('os').cpu_count(), 'chromium': chromium,
            'platform': platform.platform()}


def table(header: list[str], rows: list[list]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join('---' for _ in header) + '|']
    lines += ['| ' + ' | '.join(str(cell) for cell in row) + ' |' for row in rows]
    return '\n'.join(lines)


def markdown(results: dict) -> str:
    measured = results.get('measured', {})

    def when(section: str) -> str:
        return f' (measured {measured[section]})' if section in measured else ''

    out = ['# Benchmark results', '',
           f'Last run {results["date"]} on {results["machine"]["cpus"]} CPUs, {results["machine"]["chromium"]}, '
           f'Python {results["machine"]["python"]}; each section says when it was measured (`python bench/run.py '
           'sizes` re-measures one). Regenerate with `make bench`; compare ratios, not absolute figures across '
           'machines.', '']
    if 'sizes' in results:
        files = {k: v for k, v in results['sizes'].items() if not k.startswith('_')}
        ours = next(iter(files.values()))
        rows = [[name, f['raw'], f['gzip'], f['brotli'], f'{ours["gzip"] / f["gzip"]:.2f}'] for name, f in files.items()]
        out += [f'## Size (bytes){when("sizes")}', '',
                table(['file', 'raw', 'gzip -9', 'brotli', 'ours/peer (gzip)'], rows), '']
        sets = results['sizes'].get('_sets', {})
        if sets:
            rows = [[label, ', '.join(row['features']) or '(none: core)', row['tag']['gzip'], row['tag']['brotli'],
                     row['twin']['gzip']] for label, row in sets.items()]
            out += ['### Each feature set', '',
                    '*tag*: the file shoppers download, stamped (what the budgets hold: 11 KiB for the core set, '
                    '13 KiB for the rest); *twin*: the same set with the journal, which a tag loads only in debug '
                    'mode.', '', table(['account', 'features', 'tag gzip', 'tag brotli', 'twin gzip'], rows), '']
        for label, split in results['sizes'].get('_modules', {}).items():
            rows = [[name, m['minified'], m['gzip_share']] for name, m in split['modules'].items()]
            out += [f'### Where the bytes of the {label} come from ({split["bundle_gzip"]} B gzip)', '',
                    '*minified bytes*: the characters of the finished file each module made (traced through '
                    'esbuild\'s and terser\'s source maps; '
                    f'{split.get("unmapped", "?")} made by none: the bundle\'s wrapper and separators). *share*: '
                    'its part of the gzip bytes, pro rata (an estimate: gzip has no per-module figure).', '',
                    table(['module', 'minified bytes', 'share of gzip'], rows), '']
    if 'pagecost' in results:
        data = {k: v for k, v in results['pagecost'].items() if not k.startswith('_')}
        rows = [[name, f['sync_ms'], f['ratio_sync_ours_over_peer'], f['task_ms_over_empty_page'],
                 f['ratio_task_ours_over_peer'], f['requests'], f['bytes']] for name, f in data.items()]
        out += [f'## Page cost and network (Chromium, 4x CPU throttling){when("pagecost")}', '',
                'The same work with each tag\'s own API: a product pageview, an identify, a 3-line basket, an '
                'add-to-basket. *sync*: main-thread ms from the tag\'s script to the end of the calls, median of '
                f'{pagecost.RUNS} fresh pages. *task*: all main-thread task ms in a {pagecost.WINDOW_S:.0f} s window '
                f'minus an empty page\'s ({results["pagecost"]["_empty_page_task_ms"]} ms), median of '
                f'{pagecost.WINDOW_RUNS}. *requests*/*bytes*: what reached the endpoint in that window (bodies and '
                'URLs; config fetches and CORS preflights included).', '',
                table(['tag', 'sync ms', 'ours/peer', 'task ms', 'ours/peer', 'requests', 'bytes sent'], rows), '']
        rows = [[name, f['start_ms'], f['parse_ms'], f['first_cookie_read_ms'], f['rest_ms']] for name, f in data.items()
                if 'start_ms' in f]
        out += ['### The start split', '',
                '*start*: ms from just before the tag\'s script to its end, before any call (medians). *parse*: '
                'compiling the source alone. *first cookie read*: the time inside the first `document.cookie` '
                'read, which every cookie-based tag pays. *rest*: the tag\'s own work.', '',
                table(['tag', 'start ms', 'parse ms', 'first cookie read ms', 'rest ms'], rows), '']
    if 'build' in results:
        b = results['build']
        out += [f'## Build{when("build")}', '', table(['step', 'ms'], [
            ['Transcrypt (the tag and the debug module to ES modules)', b['transcrypt_ms']],
            [f'esbuild + terser, {b.get("bundles", "?")} bundles (summed; two run side by side)', b['esbuild_ms']],
            ['whole build_tags.py --generic-only (wall)', b['whole_build_wall_ms']],
            ['stamping 1,000 accounts', b['stamp_1000_accounts_ms']]]), '']
    if 'validation' in results:
        v = results['validation']
        out += [f'## Validation library{when("validation")}', '', table(['library', 'µs per 10-event batch'],
                                                   [[k, x] for k, x in v['us_per_10_event_batch'].items()]),
                '', f'pydantic/msgspec: {v["ratio_pydantic_over_msgspec"]}', '']
    if 'collector' in results:
        c = results['collector']
        servers = (('collector, 1 worker, SQLite', 'collector'),
                   ('same, sessions ending all through the run (1 s timeout)', 'collector_closing_sessions'),
                   ('collector, 1 worker, PostgreSQL', 'collector_postgres_1'),
                   ('collector, 2 workers, PostgreSQL', 'collector_postgres_2'),
                   ('bare ASGI app answering 204', 'bare_asgi_204'))
        rows = []
        for name, key in servers:
            if key in c:
                r = c[key]
                rows.append([name, r['events_per_s'], r['requests_per_s'], r['p50_ms'], r['p95_ms'],
                             r.get('ratio_to_bare_asgi', '-'), r.get('zero_loss', '-'), r.get('sessions_closed', '-'),
                             r['statuses']])
        out += [f'## Collector load (wrk, {c["connections"]} connections, batches of {c["events_per_batch"]}, '
                f'{c["duration_s"]} s, loopback, {c["cpus"]} CPUs shared with the load generator and '
                f'PostgreSQL){when("collector")}', '',
                table(['server', 'events/s', 'requests/s', 'p50 ms', 'p95 ms', 'ratio to bare', 'zero loss',
                       'sessions closed', 'answers'],
                      rows), '',
                '*zero loss*: every event of every 204 is in the database, once (checked by counting after the run).',
                '']
    if 'reliability' in results:
        rows = [[r['scenario'], r['made'], r['stored'], r['delivered_pct'], r['duplicates_stored'], r['copies_received'],
                 r['requests'], r['drops_counted'] or '-'] for r in results['reliability']]
        out += [f'## Reliability (Chromium, real collector behind a fault-injecting proxy){when("reliability")}', '',
                '*copies*: event copies the collector accepted (retries and beacons resend; the database keeps '
                'one). *delivered %*: stored / (made - drops counted).', '',
                table(['scenario', 'made', 'stored', 'delivered %', 'duplicates stored', 'copies', 'requests',
                       'drops counted'], rows), '']
    return '\n'.join(out) + '\n'


def main(argv: list[str]) -> int:
    chosen = argv or list(SECTIONS)
    path = BENCH / 'results.json'
    results = json.loads(path.read_text()) if path.exists() and argv else {}
    results['date'] = datetime.date.today().isoformat()
    results['machine'] = machine()
    results.setdefault('measured', {})
    for name in chosen:
        print(f'== {name}', flush=True)
        results[name] = SECTIONS[name]()
        results['measured'][name] = results['date']
    path.write_text(json.dumps(results, indent=2) + '\n')
    (BENCH / 'RESULTS.md').write_text(markdown(results))
    print((BENCH / 'RESULTS.md').read_text())
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
