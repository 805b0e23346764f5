"""One thin interface over four browser engines, so each engine scenario is written once.

    goto(url)            open a page and wait for its load event
    evaluate(script, arg) call a JavaScript function (its source text) in the page with one JSON
                         argument; its JSON-able result comes back
    cookies()            the current page's cookies as {name, value, path, secure, httpOnly,
                         sameSite, expiry (epoch seconds or None)}
    reset()              a clean slate: no cookies, no storage
    close()

- chromium: Debian's Chromium through Playwright (the `browser` fixture of pytest-playwright);
- firefox: Debian's firefox-esr over WebDriver BiDi, by npm puppeteer-core in a Node process
  (tests/engines/puppeteer_bridge.mjs) speaking JSON lines;
- webkitgtk: WebKitWebDriver with its MiniBrowser (`--automation`) under xvfb-run, by selenium;
- wpe: WPEWebDriver with cog (`--automation --platform=headless`), by selenium: the WPE
  WebKit 2.38 engine of Debian's bookworm era stands in for old Safari (no toWellFormed, no
  regex lookbehind).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
ENGINES = ('chromium', 'firefox', 'webkitgtk', 'wpe')
FIREFOX = '/usr/bin/firefox-esr'
WEBKITGTK_DRIVER = '/usr/bin/WebKitWebDriver'
MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser'
WPE_DRIVER = '/usr/bin/WPEWebDriver'
COG = '/usr/bin/cog'
# What each engine needs on this machine (scripts/ensure-engines installs the Debian packages).
REQUIREMENTS = {
    'chromium': ['/usr/bin/chromium'],
    'firefox': [FIREFOX, str(ROOT / 'node_modules' / 'puppeteer-core')],
    'webkitgtk': [WEBKITGTK_DRIVER, MINIBROWSER, '/usr/bin/xvfb-run'],
    'wpe': [WPE_DRIVER, COG],
}
CALL = 'return (%s)(arguments[0]);'
# WebKit's WebDriver times a script with the page's own setTimeout: page_hooks.js leaves a timer
# of exactly this delay on the real clock, so that a virtual clock cannot stop a script's answer.
WEBDRIVER_SCRIPT_TIMEOUT_MS = 31337


def selected_engines() -> list[str]:
    """The engines to run: $ENGINES (comma-separated) or all four."""
    chosen = [e.strip() for e in os.environ.get('ENGINES', ','.join(ENGINES)).split(',') if e.strip()]
    unknown = sorted(set(chosen) - set(ENGINES))
    if unknown:
        raise ValueError(f'unknown engines {unknown}; known: {ENGINES}')
    return chosen


def missing_parts(engine: str) -> list[str]:
    return [path for path in REQUIREMENTS[engine] if not os.path.exists(path)]


class PlaywrightDriver:
    name = 'chromium'

    def __init__(self, browser):
        self.browser = browser
        self.context = browser.new_context()
        self.page = self.context.new_page()

    def goto(self, url: str) -> None:
        self.page.goto(url)

    def evaluate(self, script: str, arg=None):
        return self.page.evaluate(script, arg)

    def cookies(self) -> list[dict]:
        return [{'name': c['name'], 'value': c['value'], 'path': c['path'], 'secure': c['secure'],
                 'httpOnly': c['httpOnly'], 'sameSite': c['sameSite'],
                 'expiry': round(c['expires']) if c['expires'] > 0 else None}
                for c in self.context.cookies(self.page.url)]

    def reset(self) -> None:
        self.context.close()
        self.context = self.browser.new_context()
        self.page = self.context.new_page()

    def close(self) -> None:
        self.context.close()


class PuppeteerDriver:
    name = 'firefox'

    def __init__(self):
        self.process = subprocess.Popen(['node', str(Path(__file__).with_name('puppeteer_bridge.mjs'))], cwd=ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = self.process.stdout.readline()
        if not ready:
            raise RuntimeError('the puppeteer bridge did not start (see its stderr above)')

    def command(self, **command):
        self.process.stdin.write(json.dumps(command) + '\n')
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        if 'error' in answer:
            raise RuntimeError(f'firefox: {answer["error"]}')
        return answer['ok']

    def goto(self, url: str) -> None:
        self.command(op='goto', url=url)

    def evaluate(self, script: str, arg=None):
        return self.command(op='run', script=script, arg=arg)

    def cookies(self) -> list[dict]:
        return self.command(op='cookies')

    def reset(self) -> None:
        self.command(op='reset')

    def close(self) -> None:
        try:
            self.command(op='close')
        except (BrokenPipeError, ValueError):
            pass
        self.process.wait(timeout=10)


class SeleniumDriver:
    """A WebKit port's WebDriver server and a selenium session on it."""

    def __init__(self, name: str, server: list[str], capabilities: dict):
        from selenium import webdriver  # only the WebKit engines need selenium
        from selenium.webdriver.common.options import ArgOptions

        self.name = name
        port = free_port()
        self.server = subprocess.Popen([*server, f'--port={port}'], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
        options = ArgOptions()
        for key, value in capabilities.items():
            options.set_capability(key, value)
        deadline = time.monotonic() + 20
        while not port_open(port):
            if time.monotonic() > deadline or self.server.poll() is not None:
                raise RuntimeError(f'{name}: {server[-1]} did not start')
            time.sleep(0.1)
        self.driver = webdriver.Remote(command_executor=f'http://127.0.0.1:{port}', options=options)
        self.driver.set_script_timeout(WEBDRIVER_SCRIPT_TIMEOUT_MS / 1000)

    def goto(self, url: str) -> None:
        self.driver.get(url)

    def evaluate(self, script: str, arg=None):
        return self.driver.execute_script(CALL % script, arg)

    def cookies(self) -> list[dict]:
        return [{'name': c['name'], 'value': c['value'], 'path': c.get('path'), 'secure': c.get('secure', False),
                 'httpOnly': c.get('httpOnly', False), 'sameSite': c.get('sameSite'), 'expiry': c.get('expiry')}
                for c in self.driver.get_cookies()]

    def reset(self) -> None:
        if self.driver.current_url.startswith('http'):
            self.driver.delete_all_cookies()
            self.driver.execute_script('try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}')
        self.driver.get('about:blank')

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            os.killpg(self.server.pid, 15)
            self.server.wait(timeout=10)


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(('127.0.0.1', port)) == 0


def webkitgtk() -> SeleniumDriver:
    xvfb = [shutil.which('xvfb-run') or 'xvfb-run', '-a', '-s', '-screen 0 1280x1024x24']
    return SeleniumDriver('webkitgtk', [*xvfb, WEBKITGTK_DRIVER], {
        'browserName': 'MiniBrowser',
        'webkitgtk:browserOptions': {'binary': MINIBROWSER, 'args': ['--automation']},
    })


def wpe() -> SeleniumDriver:
    return SeleniumDriver('wpe', [WPE_DRIVER], {
        'browserName': 'cog',
        'wpe:browserOptions': {'binary': COG, 'args': ['--automation', '--platform=headless']},
    })
