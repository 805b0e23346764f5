"""The tracker is written in a subset of Python that Transcrypt compiles to the same behaviour
with the tag's own, tiny runtime (tracker/jsruntime). This lint holds every module to it, so the
traps are caught here rather than in a store's browser:

- classes only as the runtime supports them: `class Name:` with no base, no decorator, holding a
  docstring, constants and methods whose first parameter is `self`, no special method but
  `__init__` and no `super()`;
- no comprehensions, f-strings, slices, `%`, `is`, `raise`, `with`, `assert`, keyword arguments,
  default values, `*args`, tuple unpacking or chained comparisons (each needs runtime support the
  tag does not ship, or compiles to different semantics);
- no list/str/dict methods (`append`, `lower`, `get`...): they have no browser implementation;
  `tracker/prims.py` holds the few primitives, written for both;
- only `len` and `range` among the builtins; `except:` only bare (JS errors are not Python
  exceptions);
- no attribute Transcrypt renames (`obj.name`, `obj.keys`... would read `py_name`), no JS global
  it renames (`undefined`, `NaN`...), no identifier JavaScript reserves (`function`, `new`...);
- only the browser edge (`browser`, `browser_hooks`, `main`, and the debug module's `overlay` and `debug_main`)
  names `window`/`document`/`navigator`, and the pure modules import only pure modules;
- the tag (`main.py` and what it imports) never imports the debug module's parts (`overlay`,
  `doctor`, `debug_view`, `debug_main`): shoppers do not download them.

Code between `# __pragma__ ('skip')` and `# __pragma__ ('noskip')` is CPython-only and exempt.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest

TRACKER = Path(__file__).resolve().parents[2] / 'tracker'
MODULES = sorted(p for p in TRACKER.glob('*.py') if p.name != '__init__.py')
EDGE_MODULES = {'browser', 'browser_hooks', 'overlay', 'main', 'debug_main', 'pixel_main'}
DEBUG_MODULES = {'overlay', 'doctor', 'debug_view', 'debug_main'}
BROWSER_GLOBALS = {'window', 'document', 'navigator', 'localStorage', 'sessionStorage', 'console', 'location'}
ALLOWED_BUILTINS = {'len', 'range', 'True', 'False', 'None', '__new__', '__pragma__', '__typeof__'}
PYTHON_BUILTINS = set(dir(builtins))
FORBIDDEN_METHODS = {
    'append', 'extend', 'insert', 'pop', 'remove', 'index', 'count', 'sort', 'reverse', 'copy', 'clear',
    'keys', 'values', 'items', 'get', 'update', 'setdefault', 'popitem', 'lower', 'upper', 'strip',
    'lstrip', 'rstrip', 'split', 'rsplit', 'join', 'replace', 'startswith', 'endswith', 'find', 'rfind',
    'format', 'encode', 'decode', 'capitalize', 'title', 'isdigit', 'isalpha', 'isspace', 'add', 'discard',
}
# Names Transcrypt renames (`x.name` compiles to `x.py_name`). Local names are renamed consistently
# and harmless; attributes of JS objects, and the JS globals below, are not.
TRANSCRYPT_ALIASES = {
    'arguments', 'case', 'clear', 'default', 'del', 'enumerate', 'false', 'get', 'Infinity', 'is', 'isNaN',
    'iter', 'items', 'keys', 'name', 'NaN', 'new', 'next', 'pop', 'popitem', 'replace', 'selector', 'sort',
    'split', 'switch', 'type', 'TypeError', 'update', 'copy', 'deepcopy', 'values', 'fromkeys', 'reversed',
    'setdefault', 'true', 'undefined',
}
ALIASED_JS_GLOBALS = {'Infinity', 'NaN', 'undefined', 'isNaN', 'TypeError', 'true', 'false', 'arguments'}
JS_RESERVED = {
    'function', 'var', 'let', 'const', 'new', 'delete', 'typeof', 'this', 'void', 'switch', 'case', 'default',
    'catch', 'finally', 'throw', 'do', 'enum', 'export', 'import', 'extends', 'super', 'static', 'implements',
    'interface', 'package', 'private', 'protected', 'public', 'instanceof', 'eval', 'arguments', 'await',
}


def compiled_source(path: Path) -> str:
    """The module's text as Transcrypt sees it: skip blocks and `# __: skip` lines blanked."""
    lines = []
    skipping = False
    for line in path.read_text(encoding='utf-8').split('\n'):
        stripped = line.strip()
        if stripped == "# __pragma__ ('skip')":
            skipping = True
        if skipping or stripped.endswith('# __: skip'):
            lines.append('')
        else:
            lines.append(line)
        if stripped == "# __pragma__ ('noskip')":
            skipping = False
    return '\n'.join(lines)


class SubsetChecker(ast.NodeVisitor):
    def __init__(self, module: str):
        self.module = module
        self.problems: list[str] = []
        self.imported_modules: set[str] = set()
        self.defined: set[str] = set()

    def problem(self, node: ast.AST, text: str) -> None:
        self.problems.append(f'tracker/{self.module}.py:{getattr(node, "lineno", 0)}: {text}')

    def check_identifier(self, node: ast.AST, ident: str) -> None:
        if ident in ALIASED_JS_GLOBALS:
            self.problem(node, f'identifier {ident!r} is renamed by Transcrypt')
        if ident in JS_RESERVED:
            self.problem(node, f'identifier {ident!r} is reserved in JavaScript')

    def visit_ClassDef(self, node):
        self.check_identifier(node, node.name)
        if node.bases or node.keywords or node.decorator_list:
            self.problem(node, 'class with a base, a metaclass or a decorator (the tag runtime has plain classes only)')
        for item in node.body:
            if isinstance(item, ast.FunctionDef):
                if not item.args.args or item.args.args[0].arg != 'self':
                    self.problem(item, 'method without `self` first (no static or class methods)')
                if item.name.startswith('__') and item.name != '__init__':
                    self.problem(item, f'special method {item.name} (only __init__ is supported)')
                if item.name in TRANSCRYPT_ALIASES:
                    self.problem(item, f'method name {item.name!r} is renamed by Transcrypt')
            elif isinstance(item, ast.Assign) and all(isinstance(t, ast.Name) for t in item.targets):
                if not isinstance(item.value, ast.Constant):
                    self.problem(item, 'class attribute that is not a constant (it would be shared by all instances)')
            elif not (isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant)):
                self.problem(item, 'class body holds something other than a docstring, constants and methods')
        self.generic_visit(node)

    def visit_ListComp(self, node):
        self.problem(node, 'comprehension (compiles to .append)')

    visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_ListComp

    def visit_JoinedStr(self, node):
        self.problem(node, 'f-string (compiles to .format)')

    def visit_Set(self, node):
        self.problem(node, 'set literal')

    def visit_Subscript(self, node):
        if isinstance(node.slice, ast.Slice):
            self.problem(node, 'slice (use prims.slice_list / prims.substring)')
        if isinstance(node.slice, ast.UnaryOp) and isinstance(node.slice.op, ast.USub):
            self.problem(node, 'negative index (undefined in JavaScript)')
        self.generic_visit(node)

    def visit_BinOp(self, node):
        if isinstance(node.op, ast.Mod):
            self.problem(node, '% (Python and JavaScript disagree on negative operands and strings)')
        if isinstance(node.op, ast.MatMult):
            self.problem(node, '@')
        self.generic_visit(node)

    def visit_Compare(self, node):
        if len(node.ops) > 1:
            self.problem(node, 'chained comparison')
        for op in node.ops:
            if isinstance(op, (ast.Is, ast.IsNot)):
                self.problem(node, '`is` (x is None is false for undefined; write == None)')
        self.generic_visit(node)

    def visit_Try(self, node):
        for handler in node.handlers:
            if handler.type is not None:
                self.problem(handler, 'typed except (JS errors are not Python exceptions; use a bare except)')
        if node.orelse:
            self.problem(node, 'try/else')
        self.generic_visit(node)

    def visit_Raise(self, node):
        self.problem(node, 'raise (the tag never throws; return a value)')

    def visit_With(self, node):
        self.problem(node, 'with')

    def visit_Assert(self, node):
        self.problem(node, 'assert')

    def visit_Yield(self, node):
        self.problem(node, 'generator')

    visit_YieldFrom = visit_Await = visit_Yield

    def visit_Global(self, node):
        self.problem(node, 'global (keep state in a dict)')

    visit_Nonlocal = visit_Global

    def visit_Starred(self, node):
        self.problem(node, '*args')

    def visit_Delete(self, node):
        for target in node.targets:
            if not isinstance(target, ast.Subscript):
                self.problem(node, 'del of a name')
        self.generic_visit(node)

    def check_arguments(self, node, args: ast.arguments):
        if args.defaults or args.kw_defaults or args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
            self.problem(node, 'default values, *args, **kwargs or keyword-only arguments')
        for arg in args.args:
            self.check_identifier(node, arg.arg)

    def visit_FunctionDef(self, node):
        self.check_identifier(node, node.name)
        if node.decorator_list:
            self.problem(node, 'decorator')
        self.check_arguments(node, node.args)
        self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node):
        self.problem(node, 'async function')

    def visit_Lambda(self, node):
        self.check_arguments(node, node.args)
        self.generic_visit(node)

    def visit_Assign(self, node):
        for target in node.targets:
            if isinstance(target, (ast.Tuple, ast.List)):
                self.problem(node, 'tuple unpacking')
        self.generic_visit(node)

    def visit_For(self, node):
        if isinstance(node.target, (ast.Tuple, ast.List)):
            self.problem(node, 'tuple unpacking in for')
        if node.orelse:
            self.problem(node, 'for/else')
        self.generic_visit(node)

    def visit_While(self, node):
        if node.orelse:
            self.problem(node, 'while/else')
        self.generic_visit(node)

    def visit_Import(self, node):
        self.problem(node, 'import (use `from tracker import module`)')

    def visit_ImportFrom(self, node):
        if node.module != 'tracker':
            self.problem(node, f'import from {node.module!r} (only `from tracker import ...`)')
        for alias in node.names:
            self.imported_modules.add(alias.asname or alias.name)
            if self.module not in EDGE_MODULES and alias.name in EDGE_MODULES:
                self.problem(node, f'the pure module {self.module} imports the browser edge module {alias.name}')

    def visit_Call(self, node):
        if node.keywords:
            self.problem(node, 'keyword arguments (silently dropped without the kwargs pragma)')
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_METHODS and self.module != 'prims':
            owner = func.value
            if not (isinstance(owner, ast.Name) and owner.id in self.imported_modules):
                self.problem(node, f'.{func.attr}() (a Python method with no browser implementation; see prims)')
        if isinstance(func, ast.Name) and func.id in PYTHON_BUILTINS and func.id not in ALLOWED_BUILTINS \
                and func.id not in self.defined:
            self.problem(node, f'builtin {func.id}() (not in the tag runtime)')
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id == 'super':
            self.problem(node, 'super() (no inheritance in the tag runtime)')
        self.check_identifier(node, node.id)
        if node.id in BROWSER_GLOBALS and self.module not in EDGE_MODULES and self.module != 'prims':
            self.problem(node, f'{node.id} outside the browser edge')
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if node.attr in TRANSCRYPT_ALIASES:
            self.problem(node, f'attribute {node.attr!r} is renamed by Transcrypt (write js_{node.attr} or x[...])')
        self.generic_visit(node)


def check_module(path: Path) -> list[str]:
    tree = ast.parse(compiled_source(path), filename=str(path))
    checker = SubsetChecker(path.stem)
    checker.defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    checker.visit(tree)
    return checker.problems


def imports_of(module: str) -> set[str]:
    tree = ast.parse(compiled_source(TRACKER / f'{module}.py'))
    return {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == 'tracker'
            for alias in node.names}


def test_the_tag_never_imports_the_debug_module():
    """What shoppers download is main.py and what it imports; the overlay and the doctor are
    fetched apart, only in debug mode."""
    seen, todo = set(), ['main']
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(imports_of(module))
    assert seen & DEBUG_MODULES == set()
    assert {'overlay', 'doctor', 'debug_view'} <= imports_of('debug_main') | imports_of('debug_view')


@pytest.mark.parametrize('path', MODULES, ids=[p.stem for p in MODULES])
def test_module_stays_in_the_transcrypt_subset(path):
    assert check_module(path) == []


def test_the_lint_catches_each_trap(tmp_path):
    """Each rule fires on a sample of the mistake it exists for."""
    sample = tmp_path / 'sample.py'
    sample.write_text(
        'import json\n'
        'class C(Base):\n    x = []\n    def __eq__(self, other):\n        return super().f()\n'
        '    def tick(now):\n        pass\n'
        'def f(items, name=1):\n'
        '    xs = [x for x in items]\n'
        '    s = f"{xs}"\n'
        '    items.append(1)\n'
        '    t = items[1:]\n'
        '    u = items[-1]\n'
        '    if items is None:\n'
        '        raise ValueError()\n'
        '    try:\n        pass\n    except ValueError:\n        pass\n'
        '    a, b = 1, 2\n'
        '    v = str(a) + "%d" % b\n'
        '    window.foo = 1\n'
        '    g(x=1)\n'
        '    k = window.name + undefined\n'
        '    function = 1\n'
    )
    problems = check_module(sample)
    for expected in ['import (use', 'class with a base', 'not a constant', 'special method __eq__', 'super()',
                     'without `self`', 'comprehension', 'f-string', '.append()', 'slice', 'negative index',
                     '`is`', 'raise', 'typed except', 'tuple unpacking', 'builtin str()', '%', 'window outside',
                     'keyword arguments', "attribute 'name'", "identifier 'undefined'", "identifier 'function'",
                     'default values']:
        assert any(expected in p for p in problems), expected


def test_methods_are_only_ever_called_never_passed_around():
    """The build compiles the tag's own classes with plain methods (called with `this`, not bound
    to their instance): reading one without calling it (`set_timer(self._flush, ...)`) would lose
    its instance. Pass a lambda instead. Browser objects (`window...`) are not the tag's."""
    trees = {path: ast.parse(compiled_source(path)) for path in MODULES}
    method_names = {item.name for tree in trees.values() for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
                    for item in node.body if isinstance(item, ast.FunctionDef)}
    problems = []
    for path, tree in trees.items():
        called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in method_names and id(node) not in called \
                    and isinstance(node.ctx, ast.Load):
                root = node
                while isinstance(root, ast.Attribute):
                    root = root.value
                if not (isinstance(root, ast.Name) and root.id in BROWSER_GLOBALS):
                    problems.append(f'tracker/{path.name}:{node.lineno}: {ast.unparse(node)} read without a call')
    assert problems == []


def test_the_tag_records_through_the_journal_functions_only():
    """The tag shoppers download has no journal (`features.JOURNAL` off): only a call to one of
    `journal.py`'s module functions, each empty there, is dropped with its arguments by the
    minifier. A Journal method called anywhere else would be a call on None in that build."""
    journal_tree = ast.parse(compiled_source(TRACKER / 'journal.py'))
    journal_class = next(node for node in journal_tree.body if isinstance(node, ast.ClassDef) and node.name == 'Journal')
    methods = {item.name for item in journal_class.body if isinstance(item, ast.FunctionDef)} - {'__init__'}
    problems = []
    for path in MODULES:
        if path.stem in {'journal'} | DEBUG_MODULES:
            continue
        for node in ast.walk(ast.parse(compiled_source(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in methods:
                owner = ast.unparse(node.func.value)
                if 'journal' in owner.lower() and owner != 'journal':
                    problems.append(f'{path.name}:{node.lineno}: .{node.func.attr}() on something other than the '
                                    'journal module')
    # The journaled twin's own reads of its journal, guarded by the flag, are main.py's two.
    assert [p for p in problems if not p.startswith('main.py')] == []
    assert len([p for p in problems if p.startswith('main.py')]) == 2, problems
