"""Which requests come from a bot: the user agent against a maintained crawler list, and the tag's
own mark of an automated browser. A bot's session starts no trigger (`sessions.trigger_of`).

`classify(user_agent)` gives the reason a request's sender is a bot, or None:
- `crawler`: the user agent matches the crawler list of the `crawler-user-agents` package (the
  community-kept list behind many analytics filters, pinned in requirements.txt: search engines,
  link previewers, SEO tools, uptime monitors, HTTP libraries such as curl, python-requests,
  httpx, Go's and okhttp, and headless or automation browsers: HeadlessChrome, PhantomJS,
  Puppeteer, Playwright, Selenium);
- `headless`: `HeadlessChrome` (named apart: it is a real browser engine, so worth telling from a
  crawler), `no_user_agent`: none at all (every browser sends one).
In-app browsers of real people (Instagram, Facebook, Messenger, Snapchat, TikTok, Pinterest,
LinkedIn: a `Mozilla/5.0` user agent with their app's marker) are never bots, whatever the list
says of a word in them. AUTOMATED (the tag's `automated: true` on an event: `navigator.webdriver`
and the like) is the tag's own reason.
"""

from __future__ import annotations

import re
from functools import lru_cache

import crawleruseragents

__all__ = ['AUTOMATED', 'REASONS', 'classify']

AUTOMATED = 'automated'
REASONS = ('crawler', 'headless', 'no_user_agent', AUTOMATED)
# A user agent is matched on its first characters only: it is the client's text, and a regex must
# not be made to run over kilobytes of it.
MAX_USER_AGENT_CHARS = 512
IN_APP = re.compile(r'^Mozilla/5\.0 .*(Instagram [0-9]|\bFBAN/|\bFBAV/|\bFB_IAB/|\bFBIOS\b|\bMessenger|Snapchat/'
                    r'|\bmusical_ly_|\bBytedanceWebview/|\bTikTok [0-9]|\[Pinterest/|Pinterest for |\bLinkedInApp\b)')
_crawler = crawleruseragents.CRAWLER_PATTERNS


def classify(user_agent: str | None) -> str | None:
    """See the module docstring."""
    if not user_agent or not user_agent.strip():
        return 'no_user_agent'
    # Cut before the cache: its keys are the client's text, and 1,024 of them must stay small.
    return _classify(user_agent[:MAX_USER_AGENT_CHARS])


@lru_cache(maxsize=1024)
def _classify(text: str) -> str | None:
    if 'HeadlessChrome' in text:
        return 'headless'
    if IN_APP.search(text):
        return None
    if crawleruseragents.is_crawler(text):
        return 'crawler'
    return None
