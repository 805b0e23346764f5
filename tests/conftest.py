"""Shared pytest setup: Playwright drives Debian's Chromium (/usr/bin/chromium)."""

from __future__ import annotations

import os

import pytest

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
]


@pytest.fixture(scope='session')
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f'{CHROMIUM} is missing: run scripts/ensure-chromium (make test does)')
    return {**browser_type_launch_args, 'executable_path': CHROMIUM, 'args': CHROMIUM_ARGS}
