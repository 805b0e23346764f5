"""The events of the wire contract, built from a call's context and its own fields.

Every event: `id` (UUID v4), `type`, `ts` (ms), `cid`, `sid`, `uid` (or null), `url` (no fragment),
`store_id` (or null), then the fields of its type, in this order:

| type        | fields                                  |
|-------------|-----------------------------------------|
| pageview    | page_type, page_data, referrer          |
| identify    | email, profile, via                     |
| setbasket   | basket                                  |
| addtobasket | product_id, quantity                    |
| checkout    | stage                                   |
| transaction | order_id                                |

Pure: imports only `prims` and `limits`.
"""

from tracker import limits, prims

PROTOCOL_VERSION = 1


def page_url(href):
    """`href` without its `#fragment`, cut to limits.MAX_URL_LENGTH characters."""
    if not prims.is_string(href):
        return ''
    cut = prims.find(href, '#')
    if cut >= 0:
        href = prims.substring(href, 0, cut)
    return prims.substring(href, 0, limits.MAX_URL_LENGTH)


def make_event(event_id, event_type, context, fields):
    """An event of `event_type` with id `event_id`. `context` holds ts, cid, sid, uid, url and
    store_id at the time of the call; `fields` the type's own fields, copied in order."""
    event = {
        'id': event_id,
        'type': event_type,
        'ts': context['ts'],
        'cid': context['cid'],
        'sid': context['sid'],
        'uid': context['uid'],
        'url': context['url'],
        'store_id': context['store_id'],
    }
    for key in prims.keys_of(fields):
        event[key] = fields[key]
    return event


def envelope(account_id, sent_at_ms, events):
    """The request body for a batch: {v, account, sent_at, events}."""
    return {'v': PROTOCOL_VERSION, 'account': account_id, 'sent_at': sent_at_ms, 'events': events}


def new_uuid(random_bytes):
    """A UUID v4 in its 36-character text form, from 16 random bytes (a list of ints 0..255)."""
    parts = []
    for index in range(16):
        byte = random_bytes[index]
        if index == 6:
            byte = (byte & 15) | 64
        elif index == 8:
            byte = (byte & 63) | 128
        if index == 4 or index == 6 or index == 8 or index == 10:
            prims.append(parts, '-')
        prims.append(parts, prims.byte_hex(byte))
    return prims.join(parts, '')
