"""Every integration test of the collector runs against both engines: a SQLite file of the
collector's own, and a database on a throwaway PostgreSQL cluster (tests/support/postgres.py)
that this session starts once and removes at its end."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.support.postgres import PostgresCluster

ENGINES = ('sqlite', 'postgresql')


@pytest.fixture(scope='session')
def postgres():
    """The session's PostgreSQL server (started on first use)."""
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix='ometria-pg-'))).start()
    yield cluster
    cluster.remove()


@pytest.fixture(scope='module', params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture(scope='module')
def new_db(engine, request):
    """A function giving a fresh database for one collector: None (the collector's own SQLite
    file) or the URL of a new, empty PostgreSQL database."""
    if engine == 'sqlite':
        return lambda: None
    return request.getfixturevalue('postgres').database
