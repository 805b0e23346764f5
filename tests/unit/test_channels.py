"""The pure parts of the identification channels and attribution: URL editing (tracker/urls.py),
the landing URL (channels.py), where a session came from (attribution.py), Magento's ommage
cookie (ommage.py), older tags' cookies (legacy.py) and which form fields hold an email
(forms.py)."""

from __future__ import annotations

import pytest

from tracker import attribution, channels, forms, legacy, ommage, urls

T = 1_764_201_600_000


@pytest.mark.parametrize('href, names, expected', [
    ('https://s.test/p?a=1&om_user=x%40y.z&b=2#f', ['om_user'], 'https://s.test/p?a=1&b=2#f'),
    ('https://s.test/p?om_user=x', ['om_user'], 'https://s.test/p'),
    ('https://s.test/p?a=%20b&om_user=x&c', ['om_user'], 'https://s.test/p?a=%20b&c'),
    ('https://s.test/p#om_user=x', ['om_user'], 'https://s.test/p#om_user=x'),
])
def test_removing_parameters_keeps_the_rest_as_written(href, names, expected):
    assert urls.without_params(href, names) == expected


def test_channel_parameters_identify_and_leave_the_url():
    found = channels.identity_from_url('https://s.test/?om_profile=42&utm_source=x')
    assert (found['identity'], found['channel'], found['clean_url']) == ('omid:42', 'om_profile', 'https://s.test/?utm_source=x')
    refused = channels.identity_from_url('https://s.test/?om_user=nope')
    assert refused['identity'] is None and refused['clean_url'] == 'https://s.test/' and refused['notes']
    assert channels.identity_from_url('https://s.test/?x=1') is None


@pytest.mark.parametrize('href, referrer, kind, source, medium, term', [
    ('https://shop.test/', '', 'direct', None, None, None),
    ('https://shop.test/', 'https://www.shop.test/c', 'internal', None, None, None),
    ('https://shop.test/', 'https://checkout.shop.test/pay', 'internal', None, None, None),
    ('https://shop.test/', 'https://www.bing.com/search?q=red+boots', 'campaign', 'bing', 'organic', 'red boots'),
    ('https://shop.test/', 'https://duckduckgo.com/', 'campaign', 'duckduckgo', 'organic', None),
    ('https://shop.test/', 'https://www.sandbox.paypal.com/x', 'keep', None, None, None),
    ('https://shop.test/', 'https://acme.myshopify.com/checkouts/1', 'keep', None, None, None),
    ('https://shop.test/?utm_source=a&utm_medium=b&gclid=x', 'https://google.com/', 'campaign', 'a', 'b', None),
    ('https://shop.test/?gclid=x', '', 'campaign', 'google', 'cpc', None),
    ('https://shop.test/?om_campaign=9&gclid=x', '', 'campaign', 'ometria', 'email', None),
    ('https://shop.test/?utm_nooverride=1&utm_source=a', '', 'keep', None, None, None),
])
def test_where_a_landing_comes_from(href, referrer, kind, source, medium, term):
    landing = attribution.landing_source(href, referrer, 'www.shop.test', T)
    assert landing['kind'] == kind
    if source is None:
        assert landing['source'] is None
    else:
        found = landing['source']
        assert (found['source'], found['medium'], found['term'], found['day']) == (source, medium, term, '2025-11-27')


@pytest.mark.parametrize('kind, idle_min, rule', [
    ('campaign', 11, 'new'), ('campaign', 9, None), ('internal', 58, 'keep'), ('internal', 59, None),
    ('direct', 40, None), ('keep', 40, None), ('campaign', None, None),
])
def test_session_rules_from_the_source(kind, idle_min, rule):
    assert attribution.session_rule(kind, None if idle_min is None else idle_min * 60_000) == rule


def test_ommage_reads_what_magento_writes():
    value = ('basket%3AQ9%3A10.5000%3AGBP%3Atok%3Ai%3D1%26v%3Da%2Bb%26q%3D2%26t%3D10.5%3Bidentify%3A%3Ae%3Da%2540b.co'
             '%3Btrans%3A100')
    notes = []
    found = ommage.commands(value, 'https://m.test', notes)
    assert [c['kind'] for c in found] == ['basket', 'identify', 'transaction'] and notes == []
    basket = found[0]['basket']
    assert basket['url'] == 'https://m.test/omcart/cartlink/index?id=Q9&token=tok' and basket['total'] == 10.5
    assert basket['items'] == [{'product_id': '1', 'variant_id': 'a b', 'quantity': 2, 'price': 10.5}]
    assert found[1]['email'] == 'a@b.co' and found[2]['order_id'] == '100'


@pytest.mark.parametrize('value, note', [('x' * 3001, 'ommage_long'), ('frob%3A1', 'ommage_bad'),
                                         ('%3B'.join(['trans%3A1'] * 7), 'ommage_many')])
def test_ommage_refuses_what_it_cannot_read(value, note):
    notes = []
    found = ommage.commands(value, 'https://m.test', notes)
    assert note in [n[0] for n in notes] and len(found) <= ommage.MAX_COMMANDS


def test_older_tags_visitor_ids():
    assert legacy.old_visitor_id('abc-1|s|x|1|g', None) == 'abc-1'
    assert legacy.old_visitor_id(None, '%7B%22id%22%3A%22v-9%22%7D') == 'v-9'
    assert legacy.old_visitor_id(None, '{"id": 123}') == '123'
    assert legacy.old_visitor_id('bad id|s', '{"no": 1}') is None


@pytest.mark.parametrize('attributes, email', [
    (('INPUT', 'email', None, None, None), True), (('input', None, 'user_email', None, None), True),
    (('input', 'text', None, 'signup-EMAIL', None), True), (('input', 'text', 'q', None, 'email'), True),
    (('input', 'password', 'email', None, None), False), (('input', 'hidden', 'email', None, None), False),
    (('textarea', None, 'email', None, None), False), (('input', 'text', 'name', None, None), False),
])
def test_which_fields_hold_an_email(attributes, email):
    assert forms.is_email_field(*attributes) is email
