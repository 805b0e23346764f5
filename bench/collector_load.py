"""Collector throughput: wrk posts batches of 10 events from CONNECTIONS concurrent connections on
loopback for DURATION_S, against the real collector (1 worker on SQLite under a temp dir; 1 and 2
workers on a throwaway PostgreSQL cluster on the same machine) and against a bare ASGI app
answering 204 (the ceiling of this machine), all on uvicorn with the same settings. Zero loss is
checked: every event of every 204 is in the database, once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BENCH

from tests.support.postgres import PostgresCluster
from tests.support.servers import CollectorProcess, free_port, run_sql

DURATION_S = 20
CONNECTIONS = 32
EVENTS_PER_BATCH = 10


def wrk(url: str, duration_s: int, connections: int) -> dict:
    done = subprocess.run(['wrk', '-t1', f'-c{connections}', f'-d{duration_s}s', '--timeout', '10s',
                           '-s', str(BENCH / 'collect.lua'), url, '--', 'bench'],
                          capture_output=True, text=True, check=True)
    line = next(text for text in done.stdout.splitlines() if text.startswith('RESULT '))
    result = json.loads(line[len('RESULT '):])
    result['statuses'] = {int(k): v for k, v in result['statuses'].items()}
    return result


def summarize(result: dict) -> dict:
    seconds = result['duration_us'] / 1e6
    accepted = result['statuses'].get(204, 0)
    return {
        'requests': result['requests'],
        'statuses': result['statuses'],
        'socket_errors': result['socket_errors'],
        'events_per_s': round(accepted * EVENTS_PER_BATCH / seconds),
        'requests_per_s': round(result['requests'] / seconds),
        'p50_ms': round(result['p50_us'] / 1000, 2),
        'p95_ms': round(result['p95_us'] / 1000, 2),
        'p99_ms': round(result['p99_us'] / 1000, 2),
    }


def bare(duration_s: int, connections: int) -> dict:
    port = free_port()
    server = subprocess.Popen([sys.executable, '-m', 'uvicorn', 'bare_app:app', '--port', str(port), '--http', 'httptools',
                               '--loop', 'uvloop', '--log-level', 'warning', '--no-access-log'], cwd=BENCH)
    try:
        for _ in range(100):
            try:
                subprocess.run(['curl', '-s', '-o', '/dev/null', f'http://127.0.0.1:{port}/'], check=True, timeout=1)
                break
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                time.sleep(0.1)
        return summarize(wrk(f'http://127.0.0.1:{port}/collect', duration_s, connections))
    finally:
        server.terminate()
        server.wait()


def collector(duration_s: int, connections: int, db: str | None = None, workers: int = 1,
              session_timeout_s: float = 1800) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        process = CollectorProcess(Path(tmp), '[accounts.bench]\ncollector_url = "http://127.0.0.1/collect"\norigins = ["*"]\n',
                                   db=db, extra_args=['--workers', str(workers), '--session-timeout', str(session_timeout_s)])
        process.start()
        try:
            result = summarize(wrk(f'{process.url}/collect', duration_s, connections))
        finally:
            process.stop()
        stored, unique = run_sql(process.db, 'SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events')[0]
        # wrk stops counting at the deadline while the last requests are still being answered, so
        # the database may hold a few batches more than the 204s counted; it must never hold less.
        result['events_stored'] = stored
        result['events_accepted'] = result['statuses'].get(204, 0) * EVENTS_PER_BATCH
        result['events_missing'] = max(0, result['events_accepted'] - stored)
        result['duplicates_stored'] = stored - unique
        result['zero_loss'] = result['events_missing'] == 0 and stored == unique
        result['sessions_closed'] = run_sql(process.db, 'SELECT COUNT(*) FROM summaries')[0][0]
        return result


def run(duration_s: int = DURATION_S, connections: int = CONNECTIONS) -> dict:
    ours = collector(duration_s, connections)
    # The same load while sessions end all through the run (each request is a session; 1 s timeout).
    closing = collector(duration_s, connections, session_timeout_s=1)
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix='ometria-bench-pg-'))).start()
    try:
        postgres_1 = collector(duration_s, connections, cluster.database('bench'), workers=1)
        postgres_2 = collector(duration_s, connections, cluster.database('bench'), workers=2)
    finally:
        cluster.remove()
    ceiling = bare(duration_s, connections)
    for result in (ours, closing, postgres_1, postgres_2):
        result['ratio_to_bare_asgi'] = round(result['requests_per_s'] / ceiling['requests_per_s'], 3)
    return {'collector': ours, 'collector_closing_sessions': closing,
            'collector_postgres_1': postgres_1, 'collector_postgres_2': postgres_2,
            'bare_asgi_204': ceiling, 'connections': connections, 'duration_s': duration_s,
            'events_per_batch': EVENTS_PER_BATCH, 'cpus': os.cpu_count()}


if __name__ == '__main__':
    print(json.dumps(run(duration_s=int(sys.argv[1]) if len(sys.argv) > 1 else 5), indent=2))
