"""Compile-time feature flags: which features a build of the tag carries.

The build writes these values for each feature set before bundling (`build/build_tags.py`), and
the minifier drops the code behind a flag that is off: a store's shoppers download only what its
account uses (its settings `consent`, `consent_tool`, `identify_forms` and `platform` choose the
set: `collector/accounts.py`). Every flag is read where its code is (`if features.MAGENTO:`), so
that nothing of a feature left out stays reachable; in a method, inside its body (a class's
methods stay in the bundle whether or not anything calls them, so only an emptied body is gone).
Under CPython every flag is on (the tests run the full tag), unless a test turns one off
(tests/support/vectors.py runs the vectors with every feature off, as the core set is built).

- CONSENT: consent-required accounts: starting pending, the remembered choice, Global Privacy
  Control (`ometria.setConsent` is in every build: a shopper's refusal is honoured on any page);
- COOKIEBOT, ONETRUST, GCM: following that consent tool (`consent_tools.py`);
- FORMS: identifying from any form's email field (the account's `identify_forms`);
- SIGNUPS: identifying from the known signup forms (`signups.py`), as the deployed tag does;
- RECS: the `rec:click` of a page reached from Ometria's onsite recommendations
  (`attribution.recommendation_click`), as the deployed tag does;
- MAGENTO: Magento's `raw_data` data layer and its `ommage` cookie;
- SHOPIFY: Shopify's `raw_data` data layer (`shopify.py`): the page's pageview, basket, identity,
  checkout and order from the theme's snippet;
- LEGACY: the cookies of older Ometria tags (`legacy.py`);
- JOURNAL: the debug journal (`journal.py`). Not an account's choice: every feature set is built
  twice, without it (the tag shoppers download) and with it (its twin, which the tag runs instead
  of itself in debug mode, main.py).

Pure: imports nothing.
"""

CONSENT = True
COOKIEBOT = True
ONETRUST = True
GCM = True
FORMS = True
SIGNUPS = True
RECS = True
MAGENTO = True
SHOPIFY = True
LEGACY = True
JOURNAL = True
