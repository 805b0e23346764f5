"""Cookies of older Ometria tags, read so that a visitor first seen by one keeps their visitor id.

- `OMuser`: `cid|sid|slt|nses|src` (the visitor id first);
- `OMud`: JSON `{"id": ...}`;
(the `ometria` cookie itself may hold `2_` followed by a URI-encoded `k=v&...` string:
`session.read_visitor` reads that).

The tag moves the visitor id into its own `ometria` cookie and deletes the old ones.

Pure: imports only `prims` and `session`.
"""

from tracker import prims, session

OLD_COOKIES = ['OMuser', 'OMud']


def old_visitor_id(omuser, omud):
    """The visitor id held in an `OMuser` or `OMud` cookie value, or None."""
    if prims.is_string(omuser):
        cid = prims.split_text(prims.url_decode(omuser), '|')[0]
        if session.valid_id(cid):
            return cid
    if prims.is_string(omud):
        data = prims.from_json(prims.url_decode(omud))
        cid = prims.read_key(data, 'id') if prims.is_plain_object(data) else None
        if prims.is_number(cid) and prims.is_finite(cid):
            cid = prims.number_text(cid)
        if session.valid_id(cid):
            return cid
    return None
