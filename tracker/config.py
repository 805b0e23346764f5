"""Settings stamped into each account's tag file.

The account sentinels below are replaced in the bundle by `collector/stamp.py` (build time or per
request at the tag server). `DEBUG_INTEGRITY` is the same for every account: the build replaces it
in the generic bundle with the SRI value of the debug module it built beside it. Nothing reads
them before the tag starts.
"""

ACCOUNT_ID = '__OM_ACCOUNT_ID__'
COLLECTOR_URL = '__OM_COLLECTOR_URL__'
COOKIE_DOMAIN = '__OM_COOKIE_DOMAIN__'
# '1': identify a valid email address typed into any form of the page (the account's opt-in).
IDENTIFY_FORMS = '__OM_IDENTIFY_FORMS__'
# `required,<tool>,<category>,<gpc>` when the account requires consent, else '' (consent.py).
CONSENT = '__OM_CONSENT__'
DEBUG_INTEGRITY = '__OM_DEBUG_INTEGRITY__'
