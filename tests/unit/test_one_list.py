"""One list per vocabulary: the contract's limits and patterns (tracker/limits.py), its event
types (the collector's `Event` union) and the consent tools (tracker/consent_tools.py) are each
written once, and everything else derives from them. These tests fail when a copy is written."""

from __future__ import annotations

import ast
from pathlib import Path

from collector import accounts
from collector.models import EVENT_TYPES
from tracker import consent_tools, keys, limits

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [path for folder in ('tracker', 'collector', 'build', 'demo_site', 'tests', 'bench')
           for path in sorted((ROOT / folder).rglob('*.py')) if 'jsruntime' not in path.parts]
LIMIT_NAMES = {name for name in vars(limits) if name.isupper()}
PATTERNS = {value for name, value in vars(limits).items() if name.endswith('_SOURCE')}
PATTERNS |= {limits.anchored(value) for value in PATTERNS}


def module_constants(path: Path):
    """(name, value node, line) of each assignment at a module's or a class's top level."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    bodies = [tree.body] + [node.body for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    for body in bodies:
        for node in body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        yield target.id, node.value, node.lineno


def test_no_module_keeps_its_own_copy_of_a_contract_limit():
    copies = [f'{path.relative_to(ROOT)}:{line} {name}' for path in SOURCES if path.name != 'limits.py'
              for name, value, line in module_constants(path)
              if name in LIMIT_NAMES and not (isinstance(value, ast.Attribute) and value.attr == name)]
    assert copies == [], 'use tracker/limits.py'


def test_no_module_writes_a_contract_pattern_again():
    copies = [f'{path.relative_to(ROOT)}:{node.lineno}' for path in SOURCES if path.name != 'limits.py'
              for node in ast.walk(ast.parse(path.read_text(encoding='utf-8')))
              if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in PATTERNS]
    assert copies == [], 'use tracker/limits.py'


def test_no_module_keeps_its_own_list_of_event_types():
    """A list of several event types kept under a name is a copy of `models.EVENT_TYPES` (a list of
    the types some events had, asserted in a test, is not a vocabulary)."""
    copies = []
    for path in SOURCES:
        for name, value, line in module_constants(path):
            if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
                words = {e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
                if len(words & set(EVENT_TYPES)) >= 4:
                    copies.append(f'{path.relative_to(ROOT)}:{line} {name}')
    assert copies == [], 'derive from collector.models.EVENT_TYPES'


def test_the_collectors_consent_tools_are_the_tags():
    assert set(accounts.CONSENT_TOOLS) == {''} | set(consent_tools.TOOLS)


def test_no_module_keeps_its_own_list_of_consent_tools():
    copies = []
    for path in SOURCES:
        if path.name == 'consent_tools.py':
            continue
        for name, value, line in module_constants(path):
            if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
                words = {e.value for e in value.elts if isinstance(e, ast.Constant)}
                if len(words & set(consent_tools.TOOLS)) >= 2:
                    copies.append(f'{path.relative_to(ROOT)}:{line} {name}')
    assert copies == [], 'derive from tracker.consent_tools.TOOLS'


def test_every_storage_name_the_tag_uses_is_in_the_list_of_names():
    """The checkout pixel reads the store's storage ahead (it cannot list it: tracker/sandbox.py)
    from `keys.NAMES`: a name used but left out of the list would read as empty there."""
    used = set()
    for path in sorted((ROOT / 'tracker').glob('*.py')):
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, 'id', '')
                given = node.args[-1] if name == 'storage_key' else node.args[0] if name in ('_read', '_write') else None
                if isinstance(given, ast.Constant) and isinstance(given.value, str):
                    used.add(given.value)
    assert used and used <= set(keys.NAMES), f'not in tracker/keys.NAMES: {sorted(used - set(keys.NAMES))}'
    assert {'uid', 'basket', 'orders', 'source', 'retry'} <= used, 'the scan finds the names'
