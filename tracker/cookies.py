"""The text that sets a cookie (`document.cookie = ...`, or Shopify's `browser.cookie.set`), written
once for the stores of `browser.BrowserEnv` (`browser.DocumentStore`, `sandbox.ShopifyStore`).

Pure: imports only `prims` (and runs nothing at import: the debug module, which imports
`browser`, carries none of it).
"""

from tracker import prims


def cookie_text(name, value, max_age_s, secure, domain):
    """The `document.cookie` text that sets the cookie `name` (Path=/, SameSite=Lax; Secure when
    `secure`, the page being https; `Domain` when `domain` is not None)."""
    text = name + '=' + value + '; Max-Age=' + prims.number_text(max_age_s) + '; Path=/; SameSite=Lax'
    return text + ('; Secure' if secure else '') + ('; Domain=' + domain if domain != None else '')
