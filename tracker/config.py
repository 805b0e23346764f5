"""Settings stamped into each account's tag file.

The account sentinels below are replaced in the bundle by `collector/stamp.py` (build time or per
request at the tag server). The build fills the others, the same for every account of a feature
set: `DEBUG_INTEGRITY`, the SRI value of the debug module built beside the bundle;
`JOURNAL_FILE` and `JOURNAL_INTEGRITY`, the name and SRI value of the bundle's journaled twin (the
tag a shopper's tag hands over to in debug mode, main.py). Nothing reads them before the tag
starts.
"""

ACCOUNT_ID = '__OM_ACCOUNT_ID__'
COLLECTOR_URL = '__OM_COLLECTOR_URL__'
COOKIE_DOMAIN = '__OM_COOKIE_DOMAIN__'
# '1': identify a valid email address typed into any form of the page (the account's opt-in).
IDENTIFY_FORMS = '__OM_IDENTIFY_FORMS__'
# `required,<tool>,<category>,<gpc>` when the account requires consent, else '' (consent.py).
CONSENT = '__OM_CONSENT__'
DEBUG_INTEGRITY = '__OM_DEBUG_INTEGRITY__'
JOURNAL_FILE = '__OM_JOURNAL_FILE__'
JOURNAL_INTEGRITY = '__OM_JOURNAL_INTEGRITY__'


def account_settings():
    """The account's stamped settings, as `page.Page` takes them."""
    return {'account_id': ACCOUNT_ID, 'collector_url': COLLECTOR_URL, 'cookie_domain': COOKIE_DOMAIN,
            'identify_forms': IDENTIFY_FORMS, 'consent': CONSENT}
