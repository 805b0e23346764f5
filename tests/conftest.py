"""Shared pytest setup: Playwright drives Debian's Chromium (/usr/bin/chromium); a throwaway
PostgreSQL server for the tests that run on it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.support.contract import BROWSER_USER_AGENT
from tests.support.postgres import PostgresCluster

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    # Host names ending in .test reach this machine (cookie-domain tests use www.shop.test), and
    # the https store page's throwaway certificate is accepted. (Playwright's ignore_https_errors
    # would also lose unload beacons; this flag does not.)
    '--host-resolver-rules=MAP *.test 127.0.0.1',
    '--ignore-certificate-errors',
    # A shopper's user agent for every request, also those a context's own user agent does not
    # reach: the unload beacon of a page whose context is closing went out as `HeadlessChrome`
    # (the collector then flagged the session a bot's, and its trigger never came).
    f'--user-agent={BROWSER_USER_AGENT}',
]
# Pages meant to be a shopper's run where `navigator.webdriver` is false, as in a shopper's
# browser: with it true the tag marks every event automated, and the collector starts no campaign
# from them. (tests/browser/test_real_visitors.py launches one without this, to see the mark.)
SHOPPER_ARGS = ['--disable-blink-features=AutomationControlled']


@pytest.fixture(scope='session')
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f'{CHROMIUM} is missing: run scripts/ensure-chromium (make test does)')
    return {**browser_type_launch_args, 'executable_path': CHROMIUM, 'args': CHROMIUM_ARGS + SHOPPER_ARGS}


@pytest.fixture(scope='session')
def browser_context_args(browser_context_args):
    """Pages meant to be a shopper's present a shopper's browser: headless Chromium's own user
    agent says `HeadlessChrome`, a bot to the collector (collector/bots.py)."""
    return {**browser_context_args, 'user_agent': BROWSER_USER_AGENT}


@pytest.fixture(scope='session')
def postgres():
    """A throwaway PostgreSQL server for this test session (each xdist worker has its own),
    started on first use from Debian's package (tests/support/postgres.py) and removed at the end."""
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix='ometria-pg-'))).start()
    yield cluster
    cluster.remove()
