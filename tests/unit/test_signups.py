"""The known signup forms (tracker/signups.py, wired in tracker/page.py) under CPython: what the tag
watches, and what a value given to each does. Their selectors against real markup, in real
engines, are tests/engines/test_scenarios.py's and tests/browser/test_deployed_surface.py's."""

from __future__ import annotations

from tests.support.vectors import CPYTHON_ORIGIN, SETTINGS, features_left_out
from tests.unit.fakes import Browser, FakeEnv, FakeHooks, delivered_events
from tracker import doctor, journal, page, signups


def open_page():
    browser = Browser()
    env = FakeEnv(browser, href=CPYTHON_ORIGIN + '/')
    hooks = FakeHooks(env)
    target: dict = {}
    log = journal.Journal(True)
    tag = page.Page(env, hooks, target, SETTINGS, log)
    tag.start()
    target['init']('homepage', None, None)
    tag.loaded()
    env.run()
    return env, browser, log


def changed(env, selector):
    return next(on_value for chosen, on_value in env.page['change_watchers'] if chosen == selector)


def sent(env, browser):
    env.advance(5000)
    return [(e['type'], e.get('email') or e.get('custom_type')) for e in delivered_events(browser)]


def test_a_wunderkind_overlay_signup_identifies_and_records_its_event_once_valid():
    env, browser, _ = open_page()
    on_value = changed(env, signups.BX_FIELDS)
    on_value('not an email')
    on_value('bx@example.com')
    assert sent(env, browser) == [('pageview', None), ('identify', 'bx@example.com'), ('custom', 'bx:signup')]


def test_mailchimp_ometria_and_checkout_fields_identify_on_change_without_an_event():
    env, browser, log = open_page()
    changed(env, signups.CHANGED_FIELDS)('mc@example.com')
    assert sent(env, browser) == [('pageview', None), ('identify', 'mc@example.com')]
    lines = [entry for entry in log.entries() if entry['c'] == 'form_identity']
    texts = [doctor.line_text(entry['k'], entry['c'], entry['a']) for entry in lines]
    assert texts == ['Identified from a form field (a known signup form)']


def test_submitted_signup_forms_identify_from_their_email_field():
    env, browser, _ = open_page()
    watched = {form: (field, on_value) for form, field, on_value in env.page['form_submit_watchers']}
    assert set(watched) == {form for form, _ in signups.SUBMITTED_FORMS}
    field, on_value = watched[signups.OMETRIA_FORM]
    assert field == 'input[name=ue]'
    on_value('ue@example.com')
    assert sent(env, browser) == [('pageview', None), ('identify', 'ue@example.com')]


def test_without_the_feature_no_signup_form_is_watched():
    with features_left_out({'SIGNUPS'}):
        env, _, _ = open_page()
    assert 'change_watchers' not in env.page and 'form_submit_watchers' not in env.page


def test_the_doctor_knows_a_signup_read_on_change_before_its_form_was_submitted():
    """The form check of the debug module: a signup form the tag identified from on change is not
    a broken hook when it is submitted later (no identify follows: the identity is known)."""
    entries = [{'n': 0, 'k': 'info', 'c': 'form_identity', 'a': ['signup'], 'd': {'email': 'mc@example.com'}, 's': None},
               {'n': 1, 'k': 'event', 'c': 'identify', 'a': [], 'd': None, 's': None}]
    assert doctor.identified_since(entries, 2, 'mc@example.com')
    assert not doctor.identified_since(entries, 2, 'other@example.com')
    assert doctor.identified_since(entries, 1, 'other@example.com')
