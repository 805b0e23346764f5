"""Stamping an account's settings into the generic bundle (collector/stamp.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from collector.stamp import SENTINELS, StampError, TagSettings, js_string_literal, stamp, validate_account_id

GENERIC = ('var a="__OM_ACCOUNT_ID__",c="__OM_COLLECTOR_URL__",d=\'__OM_COOKIE_DOMAIN__\',f="__OM_IDENTIFY_FORMS__",'
           'g="__OM_CONSENT__";go(a,c,d,f);')


def run_js(code: str) -> str:
    return subprocess.run(['node', '-e', code], capture_output=True, text=True, check=True).stdout


def test_stamped_values_read_back_exactly_in_javascript():
    """Quotes, backslashes, </script>, U+2028 and non-ASCII survive as the same string in JS."""
    tricky = 'https://c.example/x?q="a\'b"\\</script><b>&\u2028\u2029é'
    text = stamp(GENERIC.replace('go(a,c,d,f)', 'console.log(JSON.stringify([a,c,d,f]))'),
                 TagSettings('acme', tricky, 'shop.example', '1'))
    assert json.loads(run_js(text)) == ['acme', tricky, 'shop.example', '1']


def test_stamped_text_is_inert_inside_an_html_script_element():
    literal = js_string_literal('</script><script>alert(1)</script>\u2028')
    assert '<' not in literal and '>' not in literal and '\u2028' not in literal
    assert literal.isascii()


def test_missing_sentinel_fails_naming_the_account():
    with pytest.raises(StampError, match="account 'acme'.*__OM_COOKIE_DOMAIN__ found 0 times"):
        stamp(GENERIC.replace("'__OM_COOKIE_DOMAIN__'", "''"), TagSettings('acme', 'https://c'))


def test_doubled_sentinel_fails():
    with pytest.raises(StampError, match='__OM_ACCOUNT_ID__ found 2 times'):
        stamp(GENERIC + 'x="__OM_ACCOUNT_ID__";', TagSettings('acme', 'https://c'))


def test_leftover_sentinel_fails():
    with pytest.raises(StampError, match='__OM_EXTRA__ left over'):
        stamp(GENERIC + 'y="__OM_EXTRA__";', TagSettings('acme', 'https://c'))


@pytest.mark.parametrize('bad', ['', 'a' * 65, 'has space', 'dot.js', '../etc', 'é', None, 12])
def test_bad_account_ids_fail(bad):
    with pytest.raises(StampError):
        validate_account_id(bad)
    if isinstance(bad, str):
        with pytest.raises(StampError):
            stamp(GENERIC, TagSettings(bad, 'https://c'))


def test_every_sentinel_is_in_the_tracker_source():
    """The sentinels the stamper replaces are the ones tracker/config.py holds."""
    source = (Path(__file__).parents[2] / 'tracker' / 'config.py').read_text()
    for sentinel in SENTINELS.values():
        assert f"'{sentinel}'" in source
