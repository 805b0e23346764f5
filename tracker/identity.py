"""Who the visitor is: the values `ometria.identify` accepts.

Pure: imports only `prims`, `coerce` and `limits`.
"""

from tracker import coerce, journal, limits, prims

# The collector checks the same patterns (collector/models.py, from the same table), so what the
# tag accepts the collector stores.
EMAIL_PATTERN = limits.anchored(limits.EMAIL_SOURCE)
PROFILE_ID_PATTERN = limits.anchored(limits.PROFILE_ID_SOURCE)


def valid_identity(value, notes):
    """The identity to send for `value`: an email address or an Ometria profile id written
    `omid:<id>`, with surrounding white space removed. Anything else (empty form fields,
    non-strings, malformed addresses) gives None and a note."""
    if prims.is_string(value):
        text = prims.trim(value)
        if len(text) > 0 and len(text) <= limits.MAX_IDENTITY_LENGTH:
            text = coerce.clean_text(text)
            if prims.matches(EMAIL_PATTERN, text) or prims.matches(PROFILE_ID_PATTERN, text):
                return text
    journal.noted(notes, ['not_identity', value])
    return None
