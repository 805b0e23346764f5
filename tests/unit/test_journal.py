"""The journal (tracker/journal.py) and its reading by the debug module (tracker/debug_view.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from tracker import debug_view, doctor, journal


def test_the_journal_records_nothing_with_the_switch_off():
    log = journal.Journal(False)
    log.line('new_visitor', [], None)
    log.warn(['no_init'])
    assert log.entries() == []


def test_a_late_follower_sees_the_whole_story_then_each_change():
    log = journal.Journal(True)
    log.line('new_session', ['s1'], None)
    log.event('pageview', 'product', {'page_type': 'product'}, ['e1'])
    seen = []
    log.follow(lambda entry: seen.append((entry['c'], entry['s'])))
    assert seen == [('new_session', None), ('pageview', None)]
    log.state(['e1'], 'sent')
    log.state(['e1'], 'sent')
    assert seen[-1] == ('pageview', 'sent') and len(seen) == 3, 'a change is told once'


def test_the_journal_is_bounded():
    log = journal.Journal(True)
    for _ in range(journal.MAX_JOURNAL_ENTRIES + 50):
        log.note(['basket_unchanged'])
    assert len(log.entries()) == journal.MAX_JOURNAL_ENTRIES


def test_the_debug_view_words_entries_and_runs_the_doctor_on_checks():
    log = journal.Journal(True)
    log.check('pageview', {'page_type': 'landing', 'page_data': {}})
    log.event('pageview', 'landing', None, ['e1'])
    log.check('basket', {'currency': 'GBP', 'total': 99, 'items': [{'price': 10, 'quantity': 2}]})
    log.event('checkout', 3, None, ['e2'])
    log.refuse([['add_bad', '4521']])
    lines = debug_view.lines(log.entries())
    assert lines[0].startswith('Unknown page type "landing"')
    assert lines[1] == 'Event: pageview (landing)'
    assert lines[2].startswith('Basket total 99 differs from its lines (prices add up to 10, price x quantity to 20)')
    assert lines[3:] == ['Event: checkout (3)', 'trackAddToBasket("4521", ...): nothing sent']


# -- every code has words ------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
TAG_MODULES = [path for path in sorted((ROOT / 'tracker').glob('*.py'))
               if path.stem not in ('doctor', 'debug_view', 'overlay', 'debug_main')]


def _strings(node) -> list[str]:
    """The string constants `node` can be (a constant, or either branch of `a if c else b`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def codes_the_tag_can_emit() -> set[str]:
    """Every journal code written in the tag's source: the code given to `journal.line(...)`, and
    the first item of the `[code, ...]` notes given to `journal.warn`, `journal.note`,
    `journal.noted` (a call's notes) or written into a list of notes."""
    codes = set()
    for path in TAG_MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.List) and \
                    any(isinstance(t, ast.Name) and t.id.endswith('notes') for t in node.targets):
                for note in node.value.elts:
                    if isinstance(note, ast.List) and note.elts:
                        codes.update(_strings(note.elts[0]))
            if not isinstance(node, ast.Call) or len(node.args) < 2:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and \
                func.value.id == 'journal' else ''
            if name == 'line':
                codes.update(_strings(node.args[1]))
            note = node.args[1] if name in ('warn', 'note', 'noted') else None
            if isinstance(note, ast.List) and note.elts:
                codes.update(_strings(note.elts[0]))
    return codes


def codes_the_debug_module_emits() -> set[str]:
    """The doctor's own findings: codes in the `'c': code` entries the debug module makes, and
    those `doctor.check_warnings` returns."""
    codes = set()
    for path in [ROOT / 'tracker' / 'debug_main.py', ROOT / 'tracker' / 'doctor.py']:
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == 'c':
                        codes.update(_strings(value))
            elif isinstance(node, ast.List) and node.elts and path.name == 'doctor.py':
                codes.update(code for code in _strings(node.elts[0]) if code in doctor.WORDS or code in doctor.TEXTS)
    return codes


def test_every_code_the_tag_can_emit_has_words_in_the_debug_module():
    codes = codes_the_tag_can_emit()
    assert len(codes) > 40, 'the scan finds the codes'
    worded = set(doctor.TEXTS) | set(doctor.WORDS) | set(doctor.FIELD_CODES)
    assert sorted(codes - worded) == []
    findings = codes_the_debug_module_emits()
    assert {'form_without_identify', 'basket_total', 'currency'} <= findings
    assert sorted(worded - codes - findings) == [], 'words for a code nothing emits'
