"""A throwaway PostgreSQL cluster for the tests and the bench, from Debian's `postgresql` package.

`PostgresCluster(folder).start()` runs `initdb` and `pg_ctl start` on a free loopback port, with
the socket and data in `folder`; `database()` creates a fresh database and returns its URL;
`restart()` and `stop()` do what they say. PostgreSQL refuses to run as root (CI runs as root):
then the server runs as the `postgres` system user the package creates (`runuser`), in a folder
that user may write. Starting and stopping take about two seconds.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.support.servers import free_port

__all__ = ['PostgresCluster', 'postgres_bin']


def postgres_bin() -> Path | None:
    """The newest installed server's bin folder (/usr/lib/postgresql/<major>/bin), or None."""
    found = sorted(glob.glob('/usr/lib/postgresql/*/bin/postgres'), key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


class PostgresCluster:
    """One server on 127.0.0.1:<port>, trust authentication for the `postgres` role."""

    def __init__(self, folder: Path):
        self.bin = postgres_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed: run scripts/ensure-postgres (make test does)")
        self.folder = Path(folder)
        self.data = self.folder / 'data'
        self.port = free_port()
        self._names = 0

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        as_user = ['runuser', '-u', 'postgres', '--'] if os.geteuid() == 0 else []
        return subprocess.run([*as_user, *command], check=check, capture_output=True, text=True, timeout=60)

    def start(self) -> PostgresCluster:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, 'postgres', 'postgres')
            self.folder.chmod(0o700)
        if not self.data.exists():
            self._run(str(self.bin / 'initdb'), '-D', str(self.data), '-A', 'trust', '-U', 'postgres', '-E', 'UTF8',
                      '--no-sync')
        self._pg_ctl('start')
        return self

    def _pg_ctl(self, verb: str, *more: str) -> None:
        # fsync stays on: the tests count what survives a restart. max_connections leaves room for
        # every collector process the tests run at once (each pools a few connections).
        options = f'-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200'
        done = self._run(str(self.bin / 'pg_ctl'), '-D', str(self.data), '-l', str(self.folder / 'server.log'),
                         '-w', '-t', '30', '-o', options, verb, *more, check=False)
        if done.returncode != 0:
            log = (self.folder / 'server.log')
            raise RuntimeError(f'pg_ctl {verb} failed: {done.stderr}\n{log.read_text()[-2000:] if log.exists() else ""}')

    def url(self, database: str = 'postgres') -> str:
        return f'postgresql://postgres@127.0.0.1:{self.port}/{database}'

    def database(self, prefix: str = 'test') -> str:
        """A new, empty database; returns its URL."""
        self._names += 1
        name = f'{prefix}_{os.getpid()}_{self._names}_{time.monotonic_ns() % 1_000_000}'
        self._run(str(self.bin / 'createdb'), '-h', '127.0.0.1', '-p', str(self.port), '-U', 'postgres', name)
        return self.url(name)

    def stop(self, mode: str = 'fast') -> None:
        if self.data.exists():
            self._pg_ctl('stop', '-m', mode)

    def restart(self, mode: str = 'fast') -> None:
        self._pg_ctl('restart', '-m', mode)

    def remove(self) -> None:
        try:
            self.stop('immediate')
        except RuntimeError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)
