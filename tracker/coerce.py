"""Coercion of what integrators pass, as the wire contract says (`README.md`, "Coercion").

Every function takes a raw value from the page and a `notes` list. It returns the value to send,
or None when there is nothing valid to send; whenever it changed or refused something it appends a
note, `[code, field, value, ...]` (`journal.py`; the debug module words it). It never raises,
whatever the value: numbers where strings belong, objects, NaN, cycles, 1 MB strings, lone
surrogates.

Pure: imports only `prims` and `limits`.
"""

from tracker import journal, limits, prims

MAX_TEXT_LENGTH = 4096
MAX_OBJECT_DEPTH = 6
MAX_OBJECT_KEYS = 64
MAX_LIST_ITEMS = 100
MONEY_CHARS = '0-9.\\-'
_SURROGATE = '[\\ud800-\\udfff]'


def clean_text(text):
    """`text` with any lone UTF-16 surrogate replaced by U+FFFD, so it encodes as UTF-8."""
    if prims.matches(_SURROGATE, text):
        return prims.replace_lone_surrogates(text)
    return text


def coerce_id(value, field, notes):
    """An identifier (`pid`, `product_id`, `variant_id`, order, basket and store ids).

    A finite number becomes its decimal text (`4521` and `4521.0` -> "4521"); a string is kept
    exactly (leading zeros too); missing or empty -> None; anything else, or more than
    limits.MAX_ID_LENGTH characters -> None with a note."""
    if value == None:
        return None
    if prims.is_string(value):
        if len(value) == 0:
            return None
        if len(value) > limits.MAX_ID_LENGTH:
            journal.noted(notes, ['long', field, value, limits.MAX_ID_LENGTH])
            return None
        return clean_text(value)
    if prims.is_number(value) and prims.is_finite(value):
        return prims.number_text(value)
    journal.noted(notes, ['not_id', field, value])
    return None


def coerce_money(value, field, notes):
    """A money amount (`total`, `price`): a finite number is kept; a string is read after removing
    everything but digits, `.` and `-` ("£1,234.50" -> 1234.5); missing -> None; unreadable ->
    None with a note."""
    if value == None:
        return None
    if prims.is_number(value):
        if prims.is_finite(value):
            return value
        journal.noted(notes, ['not_amount', field, value])
        return None
    if prims.is_string(value) and len(value) <= limits.MAX_ID_LENGTH:
        digits = prims.keep_chars(value, MONEY_CHARS)
        number = prims.parse_decimal(digits)
        if number != None:
            if digits != value:
                journal.noted(notes, ['read_as', field, value, number])
            return number
    journal.noted(notes, ['not_amount', field, value])
    return None


def coerce_quantity(value, field, notes):
    """A quantity: missing -> 1; a number or numeric string is floored to an int; zero, negative,
    unreadable or over limits.MAX_QUANTITY -> None with a note (the caller rejects the call or line)."""
    if value == None:
        return 1
    number = None
    if prims.is_number(value):
        number = value
    elif prims.is_string(value) and len(value) <= 32:
        number = prims.parse_decimal(prims.trim(value))
    if number == None or not prims.is_finite(number):
        journal.noted(notes, ['not_quantity', field, value])
        return None
    whole = prims.floor(number)
    if whole < 1 or whole > limits.MAX_QUANTITY:
        journal.noted(notes, ['quantity_range', field, value, limits.MAX_QUANTITY])
        return None
    # Typed comparison: JavaScript's `2 != "2"` is false.
    if not prims.is_number(value) or whole != value:
        journal.noted(notes, ['read_as', field, value, whole])
    return whole


def coerce_text(value, field, max_length, notes):
    """A free string (currency, basket URL, page type): a string is kept (empty -> None); a number
    becomes its text; longer than `max_length` or any other value -> None with a note."""
    if value == None:
        return None
    if prims.is_number(value) and prims.is_finite(value):
        journal.noted(notes, ['number_as_text', field, value])
        return prims.number_text(value)
    if prims.is_string(value):
        if len(value) == 0:
            return None
        if len(value) > max_length:
            journal.noted(notes, ['long', field, value, max_length])
            return None
        return clean_text(value)
    journal.noted(notes, ['not_text', field, value])
    return None


def coerce_stage(value, notes):
    """A checkout stage: a string (not empty) or a finite number, as given; else None, noted."""
    if prims.is_number(value) and prims.is_finite(value):
        return value
    if prims.is_string(value) and len(value) > 0 and len(value) <= limits.MAX_STAGE_LENGTH:
        return clean_text(value)
    journal.noted(notes, ['not_stage', value])
    return None


def plain_copy(value, depth):
    """A JSON-safe copy of `value`: plain objects (own keys), lists, strings, finite numbers,
    booleans and null; functions and undefined are left out, NaN and infinities become null.
    Objects deeper than MAX_OBJECT_DEPTH (cycles included) become null; at most MAX_OBJECT_KEYS
    keys and MAX_LIST_ITEMS items are kept at each level."""
    if value == None:
        return None
    if prims.is_string(value):
        return clean_text(prims.substring(value, 0, MAX_TEXT_LENGTH))
    if prims.is_bool(value):
        return value
    if prims.is_number(value):
        return value if prims.is_finite(value) else None
    if depth >= MAX_OBJECT_DEPTH:
        return None
    if prims.is_list(value):
        return _copy_list(value, depth)
    if prims.is_plain_object(value):
        return _copy_object(value, depth)
    return None


def _kept(item):
    """True for a value a JSON copy keeps (not a function, not undefined)."""
    return not prims.is_function(item) and not prims.is_undefined(item)


def _copy_list(value, depth):
    copy = []
    for index in range(len(value)):
        if index >= MAX_LIST_ITEMS:
            break
        if _kept(value[index]):
            prims.append(copy, plain_copy(value[index], depth + 1))
    return copy


def _copy_object(value, depth):
    copy = {}
    count = 0
    for key in prims.keys_of(value):
        if count >= MAX_OBJECT_KEYS:
            break
        item = prims.read_key(value, key)
        if _kept(item):
            copy[clean_text(key)] = plain_copy(item, depth + 1)
            count = count + 1
    return copy


def coerce_object(value, field, max_bytes, notes):
    """An object argument (page data, line props, identify profile): a plain object is copied with
    `plain_copy`; missing -> None; not an object, or larger than `max_bytes` as JSON -> None with
    a note."""
    if value == None:
        return None
    if not prims.is_plain_object(value):
        journal.noted(notes, ['not_object', field, value])
        return None
    copy = plain_copy(value, 0)
    text = prims.to_json(copy)
    if text == None or prims.utf8_length(text) > max_bytes:
        journal.noted(notes, ['too_large', field, max_bytes])
        return None
    return copy
