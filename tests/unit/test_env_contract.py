"""The env contract: the pure modules run on an `env` with the same methods in the browser
(`tracker.browser.BrowserEnv`) and under CPython (`tests.unit.fakes.FakeEnv`). If the two drift,
a CPython test would exercise something the browser does not have, or the other way round."""

from __future__ import annotations

import inspect

from tests.unit.fakes import FakeEnv
from tracker.browser import BrowserEnv

# FakeEnv's own test controls, not part of the contract.
TEST_CONTROLS = {'run', 'advance'}


def methods(cls) -> dict[str, list[str]]:
    return {name: list(inspect.signature(member).parameters)[1:]
            for name, member in vars(cls).items() if callable(member) and not name.startswith('_')}


def test_the_fake_env_has_exactly_the_browser_envs_methods_and_parameters():
    browser = methods(BrowserEnv)
    fake = {name: params for name, params in methods(FakeEnv).items() if name not in TEST_CONTROLS}
    assert sorted(fake) == sorted(browser)
    for name, params in browser.items():
        assert len(fake[name]) == len(params), f'{name}: browser {params}, fake {fake[name]}'
