"""Settings stamped into each account's tag file, and the constants every module shares.

The three sentinels below are replaced in the bundle by `collector/stamp.py` (build time or per
request at the tag server). Nothing reads them before the tag starts.
"""

ACCOUNT_ID = '__OM_ACCOUNT_ID__'
COLLECTOR_URL = '__OM_COLLECTOR_URL__'
COOKIE_DOMAIN = '__OM_COOKIE_DOMAIN__'
