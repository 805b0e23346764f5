"""The env and hooks contracts: the pure modules run on an `env` and `hooks` with the same
methods in the browser (`tracker.browser.BrowserEnv`, `tracker.browser_hooks.BrowserHooks`) and
under CPython (`tests.unit.fakes.FakeEnv`, `FakeHooks`). If they drift, a CPython test would
exercise something the browser does not have, or the other way round."""

from __future__ import annotations

import inspect

import pytest

from tests.unit.fakes import FakeDocument, FakeEnv, FakeHooks
from tracker.browser import BrowserEnv, DocumentStore
from tracker.browser_hooks import BrowserHooks
from tracker.pixel import PixelHooks
from tracker.sandbox import ShopifyStore

# FakeEnv's own test controls, not part of the contract.
TEST_CONTROLS = {'run', 'advance'}


def methods(cls) -> dict[str, list[str]]:
    return {name: list(inspect.signature(member).parameters)[1:]
            for name, member in vars(cls).items() if callable(member) and not name.startswith('_')}


# The checkout pixel's store: the storage API's state is read first, each event says where it is,
# and it is its own storage (localStorage's face).
SANDBOX_CONTROLS = {'prime', 'locate', 'getItem', 'setItem', 'removeItem'}


@pytest.mark.parametrize('browser_class, fake_class', [(BrowserEnv, FakeEnv), (BrowserHooks, FakeHooks),
                                                       (DocumentStore, FakeDocument)])
def test_each_fake_has_exactly_its_browser_classs_methods_and_parameters(browser_class, fake_class):
    browser = methods(browser_class)
    fake = {name: params for name, params in methods(fake_class).items() if name not in TEST_CONTROLS}
    assert sorted(fake) == sorted(browser)
    for name, params in browser.items():
        assert len(fake[name]) == len(params), f'{name}: browser {params}, fake {fake[name]}'


def test_the_env_and_the_hooks_share_no_method():
    """Each concern in one place: the environment, or what the page offers."""
    assert not set(methods(BrowserEnv)) & set(methods(BrowserHooks))


@pytest.mark.parametrize('browser_class, pixel_class, controls', [(DocumentStore, ShopifyStore, SANDBOX_CONTROLS),
                                                                  (BrowserHooks, PixelHooks, set())])
def test_the_checkout_pixels_store_and_hooks_have_the_browsers_methods(browser_class, pixel_class, controls):
    """The pixel runs the same env and pure modules (`page.Page`) in Shopify's sandbox."""
    browser = methods(browser_class)
    pixel = {name: params for name, params in methods(pixel_class).items() if name not in controls}
    assert sorted(pixel) == sorted(browser) and controls <= set(methods(pixel_class))
    for name, params in browser.items():
        assert len(pixel[name]) == len(params), f'{name}: browser {params}, pixel {pixel[name]}'
