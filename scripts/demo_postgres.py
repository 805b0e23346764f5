"""`make demo-postgres`: the demo store on PostgreSQL, with two collector workers.

Starts a PostgreSQL cluster of the demo's own from Debian's package (data kept in
/tmp/ometria-demo-postgres-<uid> between runs; as root the server runs as the `postgres` user),
creates the `ometria_demo` database once, runs `python -m collector serve --demo --db <url>
--workers 2`, and stops the cluster when the demo stops (Ctrl-C).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.postgres import PostgresCluster  # noqa: E402


def stop_on_term(_signal, _frame):
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, stop_on_term)
    port = os.environ.get('PORT', '8000')
    cluster = PostgresCluster(Path(f'/tmp/ometria-demo-postgres-{os.getuid()}'))
    port_file = cluster.folder / 'port'
    if port_file.exists():
        cluster.port = int(port_file.read_text())
    cluster.start()
    port_file.write_text(str(cluster.port))
    try:
        exists = cluster._run(str(cluster.bin / 'psql'), '-h', '127.0.0.1', '-p', str(cluster.port), '-U', 'postgres',
                              '-tAc', "SELECT 1 FROM pg_database WHERE datname = 'ometria_demo'").stdout.strip()
        if exists != '1':
            cluster._run(str(cluster.bin / 'createdb'), '-h', '127.0.0.1', '-p', str(cluster.port), '-U', 'postgres',
                         'ometria_demo')
        print(f'PostgreSQL on 127.0.0.1:{cluster.port} (data in {cluster.data})', flush=True)
        server = subprocess.Popen([sys.executable, '-m', 'collector', 'serve', '--demo', '--port', port, '--workers', '2',
                                   '--db', cluster.url('ometria_demo'),
                                   '--session-timeout', os.environ.get('SESSION_TIMEOUT', '1800'),
                                   '--purchase-grace', os.environ.get('PURCHASE_GRACE', '300')], cwd=ROOT)
        try:
            return server.wait()
        except KeyboardInterrupt:
            server.terminate()
            server.wait(timeout=15)
            return 0
    finally:
        cluster.stop()


if __name__ == '__main__':
    sys.exit(main())
