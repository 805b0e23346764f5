"""Which user agents are bots (collector/bots.py): real ones, as they arrive. The list is the
`crawler-user-agents` package's; what this tests is that crawlers, headless browsers and HTTP
libraries are caught, and people's in-app browsers never are."""

from __future__ import annotations

import pytest

from collector.bots import classify
from tests.support.user_agents import BOTS, PEOPLE


@pytest.mark.parametrize('name', PEOPLE)
def test_people_and_their_in_app_browsers_are_never_bots(name):
    assert classify(PEOPLE[name]) is None


@pytest.mark.parametrize('name', BOTS)
def test_crawlers_headless_browsers_and_http_libraries_are_bots(name):
    agent, reason = BOTS[name]
    assert classify(agent) == reason


def test_a_long_user_agent_is_read_on_its_first_characters_only():
    assert classify('Mozilla/5.0 ' + 'x' * 100_000 + ' Googlebot/2.1') is None
