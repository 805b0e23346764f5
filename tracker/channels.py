"""Identification from the landing URL: a shopper clicking through from an email arrives with
`?om_user=<email>`, `?om_profile=<profile id>` (identified as `omid:<id>`) or the older
`?kmi=<email>`. The identity is taken, and the parameter removed from the address bar (so it is
not bookmarked, shared or sent on as a referrer), other parameters, the path and the fragment
kept.

Pure: imports only `prims`, `identity` and `urls`.
"""

from tracker import identity, prims, urls

CHANNEL_PARAMS = ['om_user', 'om_profile', 'kmi']


def identity_from_url(href):
    """{'identity' (or None when the value is not one), 'channel', 'notes', 'clean_url'} for the
    first channel parameter in `href`, or None when there is none."""
    if not prims.is_string(href):
        return None
    for channel in CHANNEL_PARAMS:
        value = urls.param(href, channel)
        if value != None:
            notes = []
            given = 'omid:' + value if channel == 'om_profile' and len(value) > 0 else value
            return {'identity': identity.valid_identity(given, notes), 'channel': channel, 'notes': notes,
                    'clean_url': urls.without_params(href, CHANNEL_PARAMS)}
    return None
