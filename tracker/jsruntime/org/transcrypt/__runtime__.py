"""The tag's own Transcrypt runtime: the three helpers compiled tracker code calls, and nothing else.

Transcrypt looks for `org.transcrypt.__runtime__` on its module path before its own copy, so the
build (`-xp tracker/jsruntime`) compiles this file instead of the stock runtime. The stock runtime
is about 21 KB minified and writes some 70 methods onto `Array.prototype` and `String.prototype`
of the store's page; this one is a few hundred bytes and writes to no built-in object at all.

The price is a subset of Python: no classes, comprehensions, f-strings, slicing or list/str
methods in `tracker/`. `tests/unit/test_transcrypt_subset.py` enforces the subset, and the build
fails if compiled code still names a stock-runtime helper this file does not export.

Exports (what the compiler emits for the subset):
- `dict(literal)`: a dict literal compiles to `dict({...})`; the object is returned as it is, a
  plain JS object with no hidden helpers, so `JSON.stringify` and store code see plain data.
- `len(x)`: `x.length` for strings and arrays, the own-key count for plain objects, 0 for null.
- `__in__(x, container)`: Python's `in` for strings, arrays and plain objects (own keys only, so
  keys a store adds to `Object.prototype` are not "in" anything).
"""

__pragma__ ('js', '{}', '''
export function dict (literal) {
    return literal;
}
export function len (x) {
    if (x == null) {
        return 0;
    }
    return typeof x == 'string' || Array.isArray (x) ? x.length : Object.keys (x).length;
}
export function __in__ (x, container) {
    if (container == null) {
        return false;
    }
    if (typeof container == 'string' || Array.isArray (container)) {
        return container.indexOf (x) > -1;
    }
    return Object.prototype.hasOwnProperty.call (container, x);
}
''')
