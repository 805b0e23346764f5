"""Who the visitor is: the values `ometria.identify` accepts.

Pure: imports only `prims` and `coerce`.
"""

from tracker import coerce, prims

MAX_EMAIL_LENGTH = 320
# Something@something.tld, no spaces: the shape of an address, not RFC 5322. The collector checks
# the same pattern (collector/models.py), so what the tag accepts the collector stores.
EMAIL_PATTERN = '^[^\\s@]+@[^\\s@]+[.][^\\s@]+$'
PROFILE_ID_PATTERN = '^omid:[^\\s]+$'


def valid_identity(value, notes):
    """The identity to send for `value`: an email address or an Ometria profile id written
    `omid:<id>`, with surrounding white space removed. Anything else (empty form fields,
    non-strings, malformed addresses) gives None and a note."""
    if prims.is_string(value):
        text = prims.trim(value)
        if len(text) > 0 and len(text) <= MAX_EMAIL_LENGTH:
            text = coerce.clean_text(text)
            if prims.matches(EMAIL_PATTERN, text) or prims.matches(PROFILE_ID_PATTERN, text):
                return text
    prims.append(notes, ['not_identity', value])
    return None
