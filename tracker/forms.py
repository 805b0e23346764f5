"""Which of a site's form fields hold an email address the shopper typed: the rule behind the
account's form opt-in and the doctor's form check, as a pure function over the field's
attributes (the browser edge reads them).

Pure: imports only `prims`.
"""

from tracker import prims

NEVER_TYPES = ['password', 'hidden', 'checkbox', 'radio', 'submit', 'button', 'file']


def is_email_field(tag_name, field_type, name, field_id, autocomplete):
    """True for an `<input type="email">`, or a text input named, id'd or autocompleted like an
    email; never a password (or hidden, or any non-text) field."""
    if prims.lower(tag_name or '') != 'input':
        return False
    kind = prims.lower(field_type or 'text')
    if prims.find_item(NEVER_TYPES, kind) >= 0:
        return False
    if kind == 'email':
        return True
    if kind != 'text':
        return False
    for text in [name, field_id, autocomplete]:
        if prims.is_string(text) and prims.find(prims.lower(text), 'email') >= 0:
            return True
    return False
