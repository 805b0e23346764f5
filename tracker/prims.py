"""Primitives whose Python and JavaScript spellings differ, each written once for both.

The tag's own runtime patches no built-in prototype, so compiled code cannot call Python's list
and str methods (`append`, `lower`, `split`, slicing...). Every such operation goes through a
function here. Each body holds two implementations: the CPython one between the `skip` pragmas
(Transcrypt drops it), then the JavaScript one (CPython never reaches it, having returned).

Contract: for every input the tag can meet, both implementations return the same value. The
parity test (`tests/engines/test_prims_parity.py`) runs a table of inputs through both.

This module imports nothing from the tag and touches no browser object but the language's own
globals (`JSON`, `Math`, `Object`, `Array`, `String`, `RegExp`, `TextEncoder`).
"""

# __pragma__ ('skip')
import json as _json
import math as _math
import re as _re
from urllib.parse import quote as _quote
from urllib.parse import unquote as _unquote

JSON = Math = Object = Array = String = RegExp = Number = TextEncoder = Date = None
encodeURIComponent = decodeURIComponent = parseFloat = __typeof__ = None


def __pragma__(*args):
    return None


def __new__(value):
    return value
# __pragma__ ('noskip')


# --- lists -------------------------------------------------------------------------------------

def append(items, item):
    """Add `item` at the end of the list `items` (in place)."""
    # __pragma__ ('skip')
    items.append(item)
    return None
    # __pragma__ ('noskip')
    items.push(item)


def slice_list(items, start, end):
    """The items from index `start` up to, not including, `end` (None: to the end), as a new list."""
    # __pragma__ ('skip')
    return items[start:end]
    # __pragma__ ('noskip')
    if end == None:
        return items.slice(start)
    return items.slice(start, end)


def remove_first(items, count):
    """Remove the first `count` items of the list `items` in place."""
    # __pragma__ ('skip')
    del items[0:count]
    return None
    # __pragma__ ('noskip')
    items.splice(0, count)


def insert_at(items, index, item):
    """Insert `item` into the list `items` before position `index` (in place)."""
    # __pragma__ ('skip')
    items.insert(index, item)
    return None
    # __pragma__ ('noskip')
    items.splice(index, 0, item)


def find_item(items, item):
    """The index of the first element of the list `items` equal (===) to `item`, or -1."""
    # __pragma__ ('skip')
    for index in range(len(items)):
        if items[index] == item and type(items[index]) is type(item):
            return index
    return -1
    # __pragma__ ('noskip')
    return items.indexOf(item)


def join(parts, separator):
    """The strings in `parts` joined with `separator`."""
    # __pragma__ ('skip')
    return separator.join(parts)
    # __pragma__ ('noskip')
    return parts.join(separator)


# --- strings -----------------------------------------------------------------------------------

def split_text(text, separator):
    """`text` cut at every `separator` (not empty), as a list of strings."""
    # __pragma__ ('skip')
    return text.split(separator)
    # __pragma__ ('noskip')
    return text.js_split(separator)


def find(text, fragment):
    """The index of the first `fragment` in `text`, or -1."""
    # __pragma__ ('skip')
    return text.find(fragment)
    # __pragma__ ('noskip')
    return text.indexOf(fragment)


def last_find(text, fragment):
    """The index of the last `fragment` in `text`, or -1."""
    # __pragma__ ('skip')
    return text.rfind(fragment)
    # __pragma__ ('noskip')
    return text.lastIndexOf(fragment)


def substring(text, start, end):
    """The characters of `text` from `start` up to, not including, `end` (None: to the end)."""
    # __pragma__ ('skip')
    return text[start:end]
    # __pragma__ ('noskip')
    if end == None:
        return text.substring(start)
    return text.substring(start, end)


def starts_with(text, prefix):
    """True when `text` begins with `prefix`."""
    # __pragma__ ('skip')
    return text.startswith(prefix)
    # __pragma__ ('noskip')
    return text.indexOf(prefix) == 0


def ends_with(text, suffix):
    """True when `text` ends with `suffix`."""
    # __pragma__ ('skip')
    return text.endswith(suffix)
    # __pragma__ ('noskip')
    return len(text) >= len(suffix) and text.substring(len(text) - len(suffix)) == suffix


def lower(text):
    """`text` in lower case (ASCII letters are all the tag needs to fold)."""
    # __pragma__ ('skip')
    return text.lower()
    # __pragma__ ('noskip')
    return text.toLowerCase()


def trim(text):
    """`text` without leading and trailing white space."""
    # __pragma__ ('skip')
    return text.strip(' \t\n\r\f\v\u00a0\ufeff')
    # __pragma__ ('noskip')
    return text.trim()


def matches(pattern, text):
    """True when the regular expression `pattern` (a source string in the syntax Python and
    JavaScript share: classes, anchors, `?`, `*`, `+`, `{m,n}`) is found in `text`."""
    # __pragma__ ('skip')
    return _re.search(pattern, text) is not None
    # __pragma__ ('noskip')
    return __new__(RegExp(pattern)).test(text)


def keep_chars(text, pattern):
    """`text` with every character that is not matched by the character class `pattern` removed."""
    # __pragma__ ('skip')
    return _re.sub('[^' + pattern + ']', '', text)
    # __pragma__ ('noskip')
    return text.js_replace(__new__(RegExp('[^' + pattern + ']', 'g')), '')


def utf8_length(text):
    """The number of bytes `text` takes in UTF-8 (lone surrogates count as the 3-byte U+FFFD)."""
    # __pragma__ ('skip')
    return len(text.encode('utf-8', 'surrogatepass'))
    # __pragma__ ('noskip')
    return __new__(TextEncoder()).encode(text).length


def url_encode(text):
    """`text` percent-encoded as JavaScript's `encodeURIComponent` does."""
    # __pragma__ ('skip')
    return _quote(text, safe="-_.!~*'()")
    # __pragma__ ('noskip')
    return encodeURIComponent(text)


def url_decode(text):
    """`text` with percent-escapes decoded; malformed input is returned unchanged."""
    # __pragma__ ('skip')
    try:
        return _unquote(text, errors='strict')
    except Exception:
        return text
    # __pragma__ ('noskip')
    try:
        return decodeURIComponent(text)
    except:  # JS errors are not Python exceptions
        return text


def byte_hex(byte):
    """The two-digit lower-case hexadecimal form of a byte (0..255)."""
    # __pragma__ ('skip')
    return format(byte, '02x')
    # __pragma__ ('noskip')
    return (byte + 256).toString(16).substring(1)


# --- values ------------------------------------------------------------------------------------

def is_string(value):
    """True for a string."""
    # __pragma__ ('skip')
    return isinstance(value, str)
    # __pragma__ ('noskip')
    return __typeof__(value) == 'string'


def is_number(value):
    """True for a number, NaN and infinities included; False for booleans."""
    # __pragma__ ('skip')
    return isinstance(value, (int, float)) and not isinstance(value, bool)
    # __pragma__ ('noskip')
    return __typeof__(value) == 'number'


def is_bool(value):
    """True for True and False."""
    # __pragma__ ('skip')
    return isinstance(value, bool)
    # __pragma__ ('noskip')
    return __typeof__(value) == 'boolean'


def is_list(value):
    """True for a list (a JavaScript array)."""
    # __pragma__ ('skip')
    return isinstance(value, list)
    # __pragma__ ('noskip')
    return Array.isArray(value)


def is_function(value):
    """True for something that can be called."""
    # __pragma__ ('skip')
    return callable(value)
    # __pragma__ ('noskip')
    return __typeof__(value) == 'function'


def is_finite(number):
    """True for a number that is neither NaN nor infinite."""
    # __pragma__ ('skip')
    return is_number(number) and _math.isfinite(number)
    # __pragma__ ('noskip')
    return Number.isFinite(number)


def floor(number):
    """The largest integer not above `number` (a finite number)."""
    # __pragma__ ('skip')
    return _math.floor(number)
    # __pragma__ ('noskip')
    return Math.floor(number)


def number_text(number):
    """A finite number as JavaScript writes it: integers without a decimal point (`4521.0` ->
    `"4521"`), others in their shortest round-trip form (`12.5` -> `"12.5"`). Integers are exact up
    to 2**53; the tag never needs more."""
    # __pragma__ ('skip')
    if number == _math.floor(number) and abs(number) < 2 ** 53:
        return str(int(number))
    return repr(float(number))
    # __pragma__ ('noskip')
    return String(number)


def utc_day(time_ms):
    """The UTC date of `time_ms` (ms since the epoch) as YYYY-MM-DD."""
    # __pragma__ ('skip')
    import datetime as _datetime
    return _datetime.datetime.fromtimestamp(time_ms / 1000, _datetime.timezone.utc).strftime('%Y-%m-%d')
    # __pragma__ ('noskip')
    return __new__(Date(time_ms)).toISOString().substring(0, 10)


def parse_decimal(text):
    """The number written in `text` (digits with at most one `.`, an optional leading `-`), or
    None when `text` is not such a number."""
    if not matches('^-?([0-9]+[.]?[0-9]*|[.][0-9]+)$', text):
        return None
    # __pragma__ ('skip')
    return float(text)
    # __pragma__ ('noskip')
    return parseFloat(text)


def keys_of(value):
    """The own enumerable keys of a plain object, in insertion order."""
    # __pragma__ ('skip')
    return list(value.keys())
    # __pragma__ ('noskip')
    return Object.js_keys(value)


def has_key(value, key):
    """True when the plain object `value` has `key` as its own property (inherited ones, such as
    methods a store adds to `Object.prototype`, do not count)."""
    # __pragma__ ('skip')
    return key in value
    # __pragma__ ('noskip')
    return Object.prototype.hasOwnProperty.call(value, key)


def delete_key(value, key):
    """Remove `key` from the plain object `value`, if it is there."""
    # __pragma__ ('skip')
    value.pop(key, None)
    return None
    # __pragma__ ('noskip')
    del value[key]


# --- JSON --------------------------------------------------------------------------------------

def to_json(value):
    """`value` as compact JSON text, or None when it cannot be written (a cycle, a BigInt).

    In the browser, a `toJSON` that an old library (Prototype.js) put on `Array.prototype` would
    turn every list into a quoted string; it is set aside for the call and put back after."""
    # __pragma__ ('skip')
    try:
        return _json.dumps(value, separators=(',', ':'), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return None
    # __pragma__ ('noskip')
    return __pragma__('js', '{}', '''(function (v) {
        var ap = Array.prototype, own = Object.prototype.hasOwnProperty.call (ap, 'toJSON'), saved = ap.toJSON;
        try {
            if (own) { delete ap.toJSON; }
            return JSON.stringify (v);
        } catch (e) {
            return null;
        } finally {
            if (own) { ap.toJSON = saved; }
        }
    }) (value)''')


def from_json(text):
    """The value written as JSON in `text`, or None when `text` is missing or not JSON."""
    # __pragma__ ('skip')
    try:
        return _json.loads(text)
    except (TypeError, ValueError):
        return None
    # __pragma__ ('noskip')
    try:
        return JSON.parse(text)
    except:  # JS errors are not Python exceptions
        return None


# __pragma__ ('skip')
def _is_tag_instance(value):
    """CPython only: an instance of one of the tag's classes, which in the browser is an ordinary
    object whose properties `obj[key]` reads (`js_items` is `items` there)."""
    return type(value).__module__.startswith('tracker.') and not callable(value) and not isinstance(value, _Undefined)
# __pragma__ ('noskip')


# --- JavaScript's undefined --------------------------------------------------------------------

# __pragma__ ('skip')
class _Undefined:
    """CPython stand-in for JavaScript's `undefined` (a missing argument): equal to None, as
    `undefined == null` is in JavaScript, but told apart by `is_undefined`. Test harnesses pass it
    where a JS caller would omit an argument."""

    def __eq__(self, other):
        return other is None or isinstance(other, _Undefined)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return 0

    def __repr__(self):
        return 'UNDEFINED'


UNDEFINED = _Undefined()
# __pragma__ ('noskip')


def is_undefined(value):
    """True for JavaScript's `undefined` (an omitted argument), False for null and everything else."""
    # __pragma__ ('skip')
    return isinstance(value, _Undefined)
    # __pragma__ ('noskip')
    return __typeof__(value) == 'undefined'


def is_plain_object(value):
    """True for a plain data object: in the browser an object whose tag is `[object Object]` (not
    an array, a date, a DOM node or a function), which includes the instances of the tag's own
    classes (a `Basket`); in Python a dict or such an instance."""
    # __pragma__ ('skip')
    return isinstance(value, dict) or _is_tag_instance(value)
    # __pragma__ ('noskip')
    return Object.prototype.toString.call(value) == '[object Object]'


def read_key(value, key):
    """`value[key]`, or None when reading it throws (a hostile getter, a revoked proxy)."""
    # __pragma__ ('skip')
    if _is_tag_instance(value):
        return getattr(value, 'js_' + key, getattr(value, key, None))
    try:
        return value[key]
    except Exception:
        return None
    # __pragma__ ('noskip')
    try:
        return value[key]
    except:  # JS errors are not Python exceptions
        return None


def replace_lone_surrogates(text):
    """`text` with each unpaired UTF-16 surrogate replaced by U+FFFD (pairs are kept)."""
    # __pragma__ ('skip')
    return _re.sub('[\ud800-\udfff]', '\ufffd', text)
    # __pragma__ ('noskip')
    # Pairs match first and are kept; what is left of a surrogate is alone. No lookbehind and no
    # String.prototype.toWellFormed: engines of the Safari 16 era have neither.
    return __pragma__('js', '{}', '''(function (t) {
        return t.replace (new RegExp ('[\\ud800-\\udbff][\\udc00-\\udfff]|[\\ud800-\\udfff]', 'g'),
            function (m) { return m.length == 2 ? m : '\\ufffd'; });
    }) (text)''')


def hash_text(text):
    """A 32-bit FNV-1a hash of `text`'s UTF-16 code units, as 8 hexadecimal digits. Used to
    remember what was last sent (a basket) without storing it."""
    # __pragma__ ('skip')
    data = text.encode('utf-16-le', 'surrogatepass')
    value = 2166136261
    for index in range(0, len(data), 2):
        value = ((value ^ (data[index] | (data[index + 1] << 8))) * 16777619) & 0xFFFFFFFF
    return format(value, '08x')
    # __pragma__ ('noskip')
    return __pragma__('js', '{}', '''(function (t) {
        var h = 2166136261;
        for (var i = 0; i < t.length; i++) {
            h = Math.imul (h ^ t.charCodeAt (i), 16777619) >>> 0;
        }
        return (h + 4294967296).toString (16).substring (1);
    }) (text)''')
