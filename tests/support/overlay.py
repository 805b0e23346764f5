"""Reading the #om_debug overlay of a Playwright page (its rows live in an open shadow root).

The overlay belongs to the debug module, which the tag fetches after it starts: the readers first
wait until the overlay has drawn every entry of the tag's journal (`data-seen` on the overlay's
host element against the journal's size; before that, while the tag hands over to its journaled
twin), by polling with `evaluate`, which a page's CSP does not
block (a `wait_for_function` predicate would need `eval`)."""

from __future__ import annotations

import time

WARNING_MARK = '\u26a0 '

# A JavaScript function: true once the overlay shows the whole journal (or the tag keeps none).
CAUGHT_UP = """() => {
    var tag = window.ometria && window.ometria.__ometria_tag__;
    // Still handing over to the journaled twin (main.py): not yet.
    if (!tag) { return !(window.ometria && window.ometria.__ometria_boot__); }
    if (!tag.size || tag.size() === 0) { return true; }
    var host = document.querySelector('ometria-debug');
    return !!host && Number(host.getAttribute('data-seen')) >= tag.size();
}"""

# A JavaScript function: the overlay's rows as {text, kind, state}, or null without an overlay.
ROWS = """() => {
    var host = document.querySelector('ometria-debug');
    if (!host) { return null; }
    return Array.from(host.shadowRoot.querySelectorAll('.entry')).map(function (row) {
        return {text: row.querySelector('.text').textContent, kind: row.className.replace('entry ', ''),
                state: row.getAttribute('data-state')};
    });
}"""


def wait_caught_up(page, timeout: float = 10.0) -> None:
    """Wait until the debug module has drawn every journal entry of the page (or `timeout`)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(CAUGHT_UP) and time.monotonic() < deadline:
        time.sleep(0.02)


def rows(page) -> list[dict] | None:
    """The overlay's rows ({'text', 'kind', 'state'}), or None when the page has no overlay."""
    wait_caught_up(page)
    return page.evaluate(ROWS)


def overlay_lines(page) -> list[str]:
    """The overlay's lines as the spec words them (a warning without its mark); [] without one."""
    return [row['text'].removeprefix(WARNING_MARK) for row in (rows(page) or [])]
