"""Reading and editing a page URL's query string, as pure functions: what the identification
channels (`om_user`...) and attribution (`utm_*`, `gclid`...) read from the landing URL.

A query string is kept as it was written: only the parameters asked for are removed, the others
keep their order and encoding, and the path and the fragment are untouched.

Pure: imports only `prims`.
"""

from tracker import prims


def url_parts(href):
    """{'base', 'query', 'fragment'} of `href`: the text before `?`, between `?` and `#`, and from
    `#` on ('' when absent)."""
    fragment = ''
    cut = prims.find(href, '#')
    if cut >= 0:
        fragment = prims.substring(href, cut, None)
        href = prims.substring(href, 0, cut)
    query = ''
    cut = prims.find(href, '?')
    if cut >= 0:
        query = prims.substring(href, cut + 1, None)
        href = prims.substring(href, 0, cut)
    return {'base': href, 'query': query, 'fragment': fragment}


def decode_component(text):
    """A query-string component decoded (`+` is a space, as forms and PHP write it)."""
    return prims.url_decode(prims.join(prims.split_text(text, '+'), ' '))


def query_params(query):
    """The parameters of a query string as a list of [name, value] (decoded), in order."""
    params = []
    if len(query) == 0:
        return params
    for pair in prims.split_text(query, '&'):
        if len(pair) > 0:
            cut = prims.find(pair, '=')
            name = pair if cut < 0 else prims.substring(pair, 0, cut)
            value = '' if cut < 0 else prims.substring(pair, cut + 1, None)
            prims.append(params, [decode_component(name), decode_component(value)])
    return params


def param(href, name):
    """The (first) value of parameter `name` in `href`'s query string, or None."""
    if not prims.is_string(href):
        return None
    for pair in query_params(url_parts(href)['query']):
        if pair[0] == name:
            return pair[1]
    return None


def without_params(href, names):
    """`href` without the parameters named in `names` (the rest of the URL as it was)."""
    parts = url_parts(href)
    kept = []
    for pair in prims.split_text(parts['query'], '&'):
        cut = prims.find(pair, '=')
        name = decode_component(pair if cut < 0 else prims.substring(pair, 0, cut))
        if len(pair) > 0 and prims.find_item(names, name) < 0:
            prims.append(kept, pair)
    query = '?' + prims.join(kept, '&') if len(kept) > 0 else ''
    return parts['base'] + query + parts['fragment']


def authority_of(url):
    """The text between `scheme://` and the path, query or fragment of an absolute URL (user info,
    host and port), or None when `url` is not one."""
    if not prims.is_string(url):
        return None
    cut = prims.find(url, '://')
    if cut < 0:
        return None
    rest = prims.substring(url, cut + 3, None)
    end = len(rest)
    for mark in ['/', '?', '#']:
        found = prims.find(rest, mark)
        if found >= 0 and found < end:
            end = found
    return prims.substring(rest, 0, end)


def origin_of(url):
    """`scheme://host[:port]` of an absolute URL (its text up to the path), or ''."""
    authority = authority_of(url)
    if authority == None:
        return ''
    return prims.substring(url, 0, prims.find(url, '://') + 3 + len(authority))


def host_of(url):
    """The lower-case host name of an absolute http(s) URL, or None."""
    host = authority_of(url)
    if host == None:
        return None
    at = prims.last_find(host, '@')
    if at >= 0:
        host = prims.substring(host, at + 1, None)
    colon = prims.find(host, ':')
    if colon >= 0:
        host = prims.substring(host, 0, colon)
    return prims.lower(host) if len(host) > 0 else None
