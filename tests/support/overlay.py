"""Reading the #om_debug overlay of a Playwright page (its rows live in an open shadow root)."""

from __future__ import annotations

WARNING_MARK = '\u26a0 '

# A JavaScript function: the overlay's rows as {text, kind, state}, or null without an overlay.
ROWS = """() => {
    var host = document.querySelector('ometria-debug');
    if (!host) { return null; }
    return Array.from(host.shadowRoot.querySelectorAll('.entry')).map(function (row) {
        return {text: row.querySelector('.text').textContent, kind: row.className.replace('entry ', ''),
                state: row.getAttribute('data-state')};
    });
}"""


def rows(page) -> list[dict] | None:
    """The overlay's rows ({'text', 'kind', 'state'}), or None when the page has no overlay."""
    return page.evaluate(ROWS)


def overlay_lines(page) -> list[str]:
    """The overlay's lines as the spec words them (a warning without its mark); [] without one."""
    return [row['text'].removeprefix(WARNING_MARK) for row in (rows(page) or [])]
