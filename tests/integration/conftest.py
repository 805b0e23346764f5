"""Every integration test of the collector runs against both engines: a SQLite file of the
collector's own, and a database on the session's throwaway PostgreSQL cluster (the `postgres`
fixture, tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.support.servers import WebhookReceiver

ENGINES = ('sqlite', 'postgresql')


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


@pytest.fixture
def receiver():
    """A webhook receiver for the triggers of one test (tests/support/servers.WebhookReceiver)."""
    hook = WebhookReceiver()
    yield hook
    hook.close()
