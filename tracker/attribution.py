"""Attribution: where a session came from, read from the landing URL and the referrer, as the
deployed tag keeps it (`domain|term|medium|campaign|source|content|day`, here an object).

`landing_source(href, referrer, site_host, now_ms)` gives {'kind', 'source', 'ecamp'}:
- 'campaign' (a new source, replacing the session's): `utm_source`/`utm_medium`/`utm_campaign`/
  `utm_term`/`utm_content` (they win over everything else); else `om_campaign=<id>` (medium email,
  source ometria: email attribution is what Ometria's reports are built on); else `gclid`
  (medium cpc, source google); else an external referrer: a known search engine (medium organic,
  the search term where the referrer still carries it) or another site (medium referral);
- 'keep': `utm_nooverride`, or a payment provider's referrer (worldpay, paypal, Shopify's
  checkout): a shopper coming back from paying is not a new visit from PayPal;
- 'internal': a page of the same site;
- 'direct': no referrer and no campaign;
and `ecamp`, the landing URL's `om_campaign` (or None) whatever the kind: Ometria's email links
carry `utm_*` as well, and the email campaign is kept beside the source (`visitor.py`).

`recommendation_click(href)`: the data of a `rec:click` event when the page was reached from one
of Ometria's onsite recommendations (`prodRecInstance`, `recommendationEngine`, `primaryEngine`
in its URL), else None.

Session rules that depend on it (`session_rule`): a new external source after more than
SOURCE_IDLE_MS without activity starts a new session; an internal referrer keeps a session
alive up to INTERNAL_IDLE_MS (the deployed tag: 1.95 x 30 minutes).

Pure: imports only `prims`, `urls` and `limits`.
"""

from tracker import limits, prims, urls

SOURCE_IDLE_MS = 10 * 60 * 1000
INTERNAL_IDLE_MS = 3510 * 1000
UTM_FIELDS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content']
# Search engines by a distinctive part of their host, with the parameter that carries the term.
SEARCH_ENGINES = [['google.', 'google', 'q'], ['bing.com', 'bing', 'q'], ['search.yahoo.', 'yahoo', 'p'],
                  ['duckduckgo.com', 'duckduckgo', 'q'], ['baidu.com', 'baidu', 'wd'], ['yandex.', 'yandex', 'text'],
                  ['ecosia.org', 'ecosia', 'q'], ['ask.com', 'ask', 'q']]
PAYMENT_HOSTS = ['worldpay', 'paypal', 'myshopify', 'pay.shopify.com']
DIRECT = 'direct'


def clip(text):
    if text == None:
        return None
    return prims.substring(text, 0, limits.MAX_SOURCE_FIELD_LENGTH) if len(text) > 0 else None


def make_source(domain, term, medium, campaign, source, content, now_ms):
    return {'domain': clip(domain), 'term': clip(term), 'medium': clip(medium), 'campaign': clip(campaign),
            'source': clip(source), 'content': clip(content), 'day': prims.utc_day(now_ms)}


def is_same_site(host, site_host):
    """True when `host` is the site's host, or one of its subdomains (www. ignored)."""
    if host == None or site_host == None:
        return False
    site = prims.substring(site_host, 4, None) if prims.starts_with(site_host, 'www.') else site_host
    return host == site or prims.ends_with(host, '.' + site) or host == 'www.' + site


def landing_source(href, referrer, site_host, now_ms):
    """See the module docstring."""
    landing = landing_kind(href, referrer, site_host, now_ms)
    landing['ecamp'] = clip(urls.param(href, 'om_campaign'))
    return landing


def landing_kind(href, referrer, site_host, now_ms):
    referrer = referrer if prims.is_string(referrer) and len(referrer) > 0 else None
    host = urls.host_of(referrer)
    domain = prims.substring(host, 4, None) if host != None and prims.starts_with(host, 'www.') else host
    if urls.param(href, 'utm_nooverride') != None:
        return {'kind': 'keep', 'source': None}
    values = []
    for name in UTM_FIELDS:
        prims.append(values, urls.param(href, name))
    if values[0] != None or values[1] != None or values[2] != None:
        return {'kind': 'campaign', 'source': make_source(domain, values[3], values[1], values[2], values[0], values[4],
                                                          now_ms)}
    campaign = urls.param(href, 'om_campaign')
    if campaign != None:
        return {'kind': 'campaign', 'source': make_source(domain, None, 'email', campaign, 'ometria', None, now_ms)}
    if urls.param(href, 'gclid') != None:
        return {'kind': 'campaign', 'source': make_source(domain, None, 'cpc', None, 'google', None, now_ms)}
    if host == None:
        return {'kind': DIRECT, 'source': None}
    if is_same_site(host, site_host):
        return {'kind': 'internal', 'source': None}
    for name in PAYMENT_HOSTS:
        if prims.find(host, name) >= 0:
            return {'kind': 'keep', 'source': None}
    for engine in SEARCH_ENGINES:
        if prims.find(host, engine[0]) >= 0:
            return {'kind': 'campaign', 'source': make_source(domain, urls.param(referrer, engine[2]), 'organic', None,
                                                              engine[1], None, now_ms)}
    return {'kind': 'campaign', 'source': make_source(domain, None, 'referral', None, domain, None, now_ms)}


def recommendation_click(href):
    """See the module docstring: {onsiteRecInstance, onsiteRecEngine, onsiteRecIsPrimaryEngine}."""
    instance = urls.param(href, 'prodRecInstance')
    engine = urls.param(href, 'recommendationEngine')
    primary = urls.param(href, 'primaryEngine')
    if instance == None and engine == None and primary == None:
        return None
    return {'onsiteRecInstance': clip(instance), 'onsiteRecEngine': clip(engine),
            'onsiteRecIsPrimaryEngine': primary == 'true'}


def direct_source(now_ms):
    """The source of a session that began with no referrer and no campaign."""
    return make_source(None, None, '(none)', None, '(direct)', None, now_ms)


def session_rule(kind, idle_ms):
    """'new' (start a new session), 'keep' (continue it past the usual timeout) or None (the usual
    30-minute rule) for a page load of `kind` after `idle_ms` without activity (None: no session)."""
    if idle_ms == None:
        return None
    if kind == 'campaign' and idle_ms > SOURCE_IDLE_MS:
        return 'new'
    if kind == 'internal' and idle_ms <= INTERNAL_IDLE_MS:
        return 'keep'
    return None


def same_source(one, other):
    """True when two sources name the same origin (the day aside)."""
    if one == None or other == None:
        return one == other
    for key in ['domain', 'term', 'medium', 'campaign', 'source', 'content']:
        if one[key] != other[key]:
            return False
    return True
