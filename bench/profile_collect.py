"""Where `POST /collect` spends its time: the real collector (1 worker) under wrk load for
DURATION_S, sampled by py-spy (`--native` off, all threads, idle frames dropped). Prints the
functions with the most samples (self and total) and writes the collapsed stacks to
bench/profile-<engine>.txt for a flame graph. `--db postgresql://…` profiles the PostgreSQL store.

    python bench/profile_collect.py [--db URL] [--seconds 10]
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from collector_load import wrk  # noqa: E402

from collector.engines import engine_of  # noqa: E402
from tests.support.servers import CollectorProcess  # noqa: E402

ACCOUNTS = '[accounts.bench]\ncollector_url = "http://127.0.0.1/collect"\norigins = ["*"]\n'


def top(collapsed: Path, count: int) -> tuple[list, list, int]:
    own, total = collections.Counter(), collections.Counter()
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, n = line.rpartition(' ')
        frames = stack.split(';')
        n = int(n)
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    return own.most_common(count), total.most_common(count), samples


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--db', default='')
    parser.add_argument('--seconds', type=int, default=10)
    parser.add_argument('--top', type=int, default=25)
    args = parser.parse_args(argv)
    engine = engine_of(args.db)
    out = BENCH / f'profile-{engine}.txt'
    with tempfile.TemporaryDirectory() as tmp:
        process = CollectorProcess(Path(tmp), ACCOUNTS, db=args.db or None)
        process.start()
        try:
            children = subprocess.run(['pgrep', '-P', str(process.process.pid)], capture_output=True, text=True).stdout
            pid = int(children.split()[0]) if children.strip() else process.process.pid
            spy = subprocess.Popen([str(Path(sys.executable).with_name('py-spy')), 'record', '--pid', str(pid), '--format', 'raw',
                                    '--output', str(out), '--duration', str(args.seconds), '--rate', '500',
                                    '--nonblocking'], stdout=subprocess.DEVNULL)
            result = {}
            load = threading.Thread(target=lambda: result.update(wrk(f'{process.url}/collect', args.seconds, 32)))
            load.start()
            load.join()
            spy.wait()
        finally:
            process.stop()
    own, total, samples = top(out, args.top)
    print(f'{engine}: {result["requests"]} requests in {args.seconds} s; {samples} samples')
    print('\nself:')
    for frame, n in own:
        print(f'  {100 * n / samples:5.1f}%  {frame}')
    print('\ntotal:')
    for frame, n in total:
        print(f'  {100 * n / samples:5.1f}%  {frame}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
