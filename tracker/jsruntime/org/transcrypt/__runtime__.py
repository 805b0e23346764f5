"""The tag's own Transcrypt runtime: the helpers compiled tracker code calls, and nothing else.

Transcrypt looks for `org.transcrypt.__runtime__` on its module path before its own copy, so the
build (`-xp tracker/jsruntime`) compiles this file instead of the stock runtime. The stock runtime
is about 21 KB minified and writes some 70 methods onto `Array.prototype` and `String.prototype`
of the store's page; this one is well under 1 KB and writes to no built-in object at all.

The price is a subset of Python: no comprehensions, f-strings, slicing or list/str methods in
`tracker/`, and classes only in the plain form below. `tests/unit/test_transcrypt_subset.py`
enforces the subset, and the build fails if compiled code still names a stock-runtime helper this
file does not export.

Exports (what the compiler emits for the subset):
- `dict(literal)`: a dict literal compiles to `dict({...})`; the object is returned as it is, a
  plain JS object with no hidden helpers, so `JSON.stringify` and store code see plain data.
- `len(x)`: `x.length` for strings and arrays, the own-key count for plain objects, 0 for null.
- `__in__(x, container)`: Python's `in` for strings, arrays and plain objects (own keys only, so
  keys a store adds to `Object.prototype` are not "in" anything).
- Classes: `class C:` compiles to `__class__('C', [object], {attributes and methods})`.
  `__class__` makes the class a function that builds an instance (`C(args)`, and `new C(args)`
  from a store's code): an object whose prototype is the class, on which `__init__` has run. The
  build turns the methods of the tag's own classes into plain functions called with `this`
  (`build_tags.plain_methods`); the classes stores hold (`Basket`) keep Transcrypt's getters,
  which bind a method to the instance it is read from (`__get__`), so `var f = basket.setId;
  f('x')` works as in Python. No metaclasses, properties, `super` or multiple inheritance: the
  subset lint allows none of them.
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
export var object = {
    __init__: function (self) {},
    __new__: function (args) {
        var instance = Object.create (this);
        this.__init__.apply (null, [instance].concat (args));
        return instance;
    }
};
export function __class__ (name, bases, attributes) {
    var cls = function () {
        return cls.__new__ ([].slice.call (arguments));
    };
    [bases [0], attributes].forEach (function (source) {
        Object.keys (source).forEach (function (key) {
            Object.defineProperty (cls, key, Object.getOwnPropertyDescriptor (source, key));
        });
    });
    return cls;
}
export function __get__ (self, method) {
    // Read from an instance (an object), a method comes bound; from its class (a function), not.
    return self && typeof self == 'object' ? method.bind (null, self) : method;
}
''')
