"""The engine job's fixtures: each test runs once per engine (Chromium, Firefox, WebKitGTK, WPE;
$ENGINES picks some), on one browser session per engine that is wiped between tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import shop, stack  # noqa: F401 -- the same servers as the browser tests
from tests.engines import drivers

HOOKS = (Path(__file__).with_name('page_hooks.js')).read_text(encoding='utf-8')
HOOKS_TAG = '<script src="/engine-hooks.js"></script>'


def open_driver(name: str, request):
    if name == 'chromium':
        return drivers.PlaywrightDriver(request.getfixturevalue('browser'))
    if name == 'firefox':
        return drivers.PuppeteerDriver()
    return drivers.webkitgtk() if name == 'webkitgtk' else drivers.wpe()


@pytest.fixture(scope='session', params=drivers.selected_engines())
def engine_session(request, stack):  # noqa: F811
    name = request.param
    missing = drivers.missing_parts(name)
    if missing:
        pytest.fail(f'{name}: missing {missing}: run scripts/ensure-engines (make test does)')
    stack.store.add('/engine-hooks.js', HOOKS, content_type='text/javascript')
    driver = open_driver(name, request)
    yield driver
    driver.close()


@pytest.fixture
def engine(engine_session, shop):  # noqa: F811
    """The engine's driver on a clean slate; the test fails on any uncaught page error left
    on the page it ends on (read through the hooks every test page loads first)."""
    engine_session.reset()
    yield engine_session
    errors = engine_session.evaluate('() => window.__errors || []')
    assert errors == [], f'{engine_session.name}: uncaught errors {errors}'


def pytest_collection_modifyitems(items):
    """Under xdist (`--dist loadgroup`), each engine's tests stay on one worker: one browser
    session per engine, and two engines can run side by side."""
    for item in items:
        callspec = getattr(item, 'callspec', None)
        if callspec is not None and 'engine_session' in callspec.params:
            item.add_marker(pytest.mark.xdist_group(callspec.params['engine_session']))
