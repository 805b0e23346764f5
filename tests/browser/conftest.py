"""Browser-test fixtures: a real collector process behind a fault-injecting proxy, a store origin
serving the pages each test registers, and helpers to read what the collector stored."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.support.servers import (
    CollectorProcess,
    FaultProxy,
    StorePages,
    free_port,
    full_and_core_bundles,
    wait_for_events,
)

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = 'shop'
# A `custom` platform account without consent or forms: its tag is the core bundle.
CORE_ACCOUNT = 'core'
# A Shopify account: its checkout pixel (`<account>.shopify-pixel.js`) is stamped from the core pixel.
SHOPIFY_ACCOUNT = 'shopify'
_page_numbers = itertools.count(1)


class Stack:
    """The servers of a browser test session, and helpers over them."""

    def __init__(self, collector: CollectorProcess, proxy: FaultProxy, store: StorePages):
        self.collector = collector
        self.proxy = proxy
        self.store = store

    def tag_url(self, account: str = ACCOUNT) -> str:
        return f'{self.collector.url}/tags/{account}.js'

    def page(self, body: str = '', head: str = '', tag: str = 'sync', account: str = ACCOUNT,
             path: str | None = None, headers: dict | None = None, host: str = '127.0.0.1') -> str:
        """Register a store page and return its URL. `tag`: 'sync' (a script tag in the head),
        'async' (inserted after DOMContentLoaded, as store plugins do), or 'none'. `body` and
        `head` are HTML; '{TAG}' in them is the tag's URL."""
        tag_src = self.tag_url(account)
        loader = ''
        if tag == 'sync':
            loader = f'<script src="{tag_src}"></script>'
        elif tag == 'async':
            loader = ('<script>document.addEventListener("DOMContentLoaded", function () { setTimeout(function () {'
                      f'var s = document.createElement("script"); s.src = "{tag_src}"; s.async = true;'
                      'document.head.appendChild(s); }, 50); });</script>')
        html = (f'<!doctype html><html><head><meta charset="utf-8"><title>store page</title>{head}{loader}</head>'
                f'<body><h1>A store page</h1>{body}</body></html>').replace('{TAG}', tag_src)
        path = path or f'/page-{next(_page_numbers)}.html'
        self.store.add(path, html, headers)
        return self.store.url(path, host)

    def mark(self, account: str = ACCOUNT) -> int:
        """The collector's last sequence number: read events after it."""
        return self.collector.last_seq(account)

    def reject_mark(self, account: str = ACCOUNT) -> int:
        rejects = self.collector.rejects(account)
        return rejects[-1]['seq'] if rejects else 0

    def rejects(self, since: int, account: str = ACCOUNT) -> list[dict]:
        """Events the collector set aside (invalid) after `since`."""
        return self.collector.rejects(account, since)

    def events(self, since: int, account: str = ACCOUNT, marks: bool = False) -> list[dict]:
        """The events stored after `since`; with `marks`, the tag's mark of a person too (`human`,
        sent on the first click or key of a session: left out unless a test is about it)."""
        stored = self.collector.events(account, since)
        return stored if marks else [e for e in stored if e['type'] != 'human']

    def wait_events(self, since: int, count: int, account: str = ACCOUNT, timeout: float = 15.0,
                    settle: float = 0.3) -> list[dict]:
        """The events stored after `since`, once at least `count` are there (and nothing more came
        for `settle` seconds). Fails after `timeout` seconds with what was stored."""
        return wait_for_events(lambda: self.events(since, account), count, timeout, settle)


@pytest.fixture(scope='session')
def stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp('collector')
    port = free_port()
    proxy = FaultProxy(port)
    accounts = (
        f'[accounts.{ACCOUNT}]\ncollector_url = "{proxy.url}"\norigins = ["*"]\n\n'
        f'[accounts.strict]\ncollector_url = "{proxy.url}"\norigins = ["http://allowed.example"]\n\n'
        f'[accounts.other]\ncollector_url = "{proxy.url}"\norigins = ["*"]\n\n'
        f'[accounts.forms]\ncollector_url = "{proxy.url}"\norigins = ["*"]\nidentify_forms = true\n\n'
        f'[accounts.consent]\ncollector_url = "{proxy.url}"\norigins = ["*"]\nconsent = "required"\n\n'
        f'[accounts.cookiebot]\ncollector_url = "{proxy.url}"\norigins = ["*"]\nconsent = "required"\n'
        'consent_tool = "cookiebot"\nconsent_category = "marketing"\n\n'
        f'[accounts.onetrust]\ncollector_url = "{proxy.url}"\norigins = ["*"]\nconsent = "required"\n'
        'consent_tool = "onetrust"\nconsent_category = "C0004"\n\n'
        f'[accounts.gcm]\ncollector_url = "{proxy.url}"\norigins = ["*"]\nconsent = "required"\n'
        'consent_tool = "gcm"\nconsent_category = "analytics_storage"\n\n'
        f'[accounts.{CORE_ACCOUNT}]\ncollector_url = "{proxy.url}"\norigins = ["*"]\nplatform = "custom"\n\n'
        # Its checkout pixel posts from a sandbox (`Origin: null`): taken although it lists one origin.
        f'[accounts.{SHOPIFY_ACCOUNT}]\ncollector_url = "{proxy.url}"\norigins = ["http://allowed.example"]\n'
        'platform = "shopify"\n'
    )
    # Every account's tag from the full bundle, but the `custom` account's from the core one.
    collector = CollectorProcess(workdir, accounts, port=port, generic=full_and_core_bundles(workdir / 'generic'))
    collector.start()
    store = StorePages()
    yield Stack(collector, proxy, store)
    store.close()
    proxy.close()
    collector.stop()


@pytest.fixture
def shop(stack):
    """The stack, with the proxy passing everything through at the start and end of the test."""
    stack.proxy.reset()
    yield stack
    stack.proxy.reset()


@pytest.fixture
def page_errors(page):
    """Uncaught errors of the page (each test asserts there are none)."""
    errors = []
    page.on('pageerror', lambda error: errors.append(str(error)))
    return errors
