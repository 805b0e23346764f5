"""The consent tools the tag follows, as one table: for each tool, what the tag reads of it on the
page, the window events after which it reads again, and what its state means. The browser edge
has one generic watcher over an entry (`browser_hooks.BrowserHooks.watch_consent`); the
collector's list of tools, which refuses an account naming another one at build time, is this
table's keys (`collector/accounts.py`).

An entry:
- 'reads': what to read from the page, each a dotted path from `window`; a final `()` calls it
  (`OneTrust.IsAlertBoxClosed()`). The values, in order, are what `decide` gets;
- 'events': window events after which the state is read again;
- 'refusals': window events that are a refusal in themselves;
- 'data_layer': True to follow `window.dataLayer` (Google's tag manager and gtag push there): each
  command pushed, now and later, is given to `decide` alone (as a list of one);
- 'decide': `decide(values, category)` -> True (granted), False (refused) or None (no answer yet).

Pure: imports only `prims` and `features`.
"""

from tracker import features, prims


def cookiebot_decision(values, category):
    """Cookiebot's `Cookiebot.consent` object and `Cookiebot.hasResponse`: the category's flag once
    the shopper answered, else None (no answer yet)."""
    flags = values[0]
    if not prims.is_plain_object(flags):
        return None
    if prims.read_key(flags, category) == True:
        return True
    return False if values[1] == True else None


def onetrust_decision(values, category):
    """OneTrust's `OnetrustActiveGroups` (`,C0001,C0004,`) and `OneTrust.IsAlertBoxClosed()`: True
    when the category is active; False when it is not and the shopper answered; else None."""
    groups = values[0]
    if not prims.is_string(groups):
        return None
    if prims.find(',' + groups + ',', ',' + category + ',') >= 0:
        return True
    return False if values[1] == True else None


def gcm_decision(values, category):
    """One Google Consent Mode command pushed to `dataLayer` (`['consent', 'default'|'update',
    {analytics_storage: 'granted'|'denied'}]`, or gtag's `arguments` object): True / False for
    what it says of the category, None when it says nothing. A `default` of denied is no answer
    yet: the shopper has not been asked."""
    command = values[0]
    if command == None or prims.read_key(command, 0) != 'consent':
        return None
    kind = prims.read_key(command, 1)
    flags = prims.read_key(command, 2)
    value = prims.read_key(flags, category) if prims.is_plain_object(flags) else None
    if value == 'granted' and (kind == 'default' or kind == 'update'):
        return True
    if value == 'denied' and kind == 'update':
        return False
    return None


# A tool left out of a build (features.py) is not in its table.
TOOLS = {}
if features.COOKIEBOT:
    TOOLS['cookiebot'] = {'reads': ['Cookiebot.consent', 'Cookiebot.hasResponse'],
                          'events': ['CookiebotOnConsentReady', 'CookiebotOnAccept'], 'refusals': ['CookiebotOnDecline'],
                          'data_layer': False, 'decide': cookiebot_decision}
if features.ONETRUST:
    TOOLS['onetrust'] = {'reads': ['OnetrustActiveGroups', 'OneTrust.IsAlertBoxClosed()'],
                         'events': ['OneTrustGroupsUpdated'], 'refusals': [], 'data_layer': False,
                         'decide': onetrust_decision}
if features.GCM:
    TOOLS['gcm'] = {'reads': [], 'events': [], 'refusals': [], 'data_layer': True, 'decide': gcm_decision}
