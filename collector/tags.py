"""Serving tag files: the generic bundles, stamped per account and compressed once.

`GET /tags/<account_id>.js` (`TagRoute`): the account's tag, stamped from the bundle of its
feature set (`Account.features`), with `ETag`/304 per encoding, gzip or brotli, `Cache-Control:
public, max-age=300`; 404 for unknown or malformed ids; `GET /tags/ometria.debug.js` and `GET
/tags/ometria[.<set>].journal.js`: the debug module and the twins the tags fetch in debug mode;
`GET /tags/<account_id>.shopify-pixel.js`: a Shopify account's checkout pixel (the code its
merchant pastes into Shopify), stamped from its generic pixel bundle.

`TagCache.get(source, settings)` returns a `TagFile` (the bytes, their gzip and brotli forms and
an ETag), stamping on first use and whenever the bundle on disk changes. Its settings come from
the server's configuration only, so the cache holds at most two files per account (its set's and,
while that is not built, the full one's) and one per served file, and a request can neither grow
it nor make the server stamp again.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import brotli
from starlette.requests import Request
from starlette.responses import Response

from collector.accounts import ALL_FEATURES, FULL_BUNDLE, PIXEL_FILE_SUFFIX, bundle_name, pixel_bundle_name, pixel_set
from collector.stamp import ACCOUNT_ID_PATTERN, StampError, TagSettings, stamp

__all__ = ['DEBUG_FILE', 'TagCache', 'TagFile', 'TagRoute', 'TagUnavailable', 'choose_encoding']

TAG_MAX_AGE_S = 300
log = logging.getLogger('collector.tags')

DEBUG_FILE = 'ometria.debug.js'


class TagUnavailable(Exception):
    """The generic bundle is missing or cannot be stamped (run `make build`)."""


@dataclass(frozen=True)
class TagFile:
    """One account's stamped tag in each encoding; each encoding has its own ETag (a cache that
    keeps the gzip form must not answer 304 to a client that asked for brotli)."""

    identity: bytes
    gzip: bytes
    brotli: bytes
    etag: str

    def encoded(self, encoding: str) -> tuple[bytes, str]:
        """(body, ETag) for 'br', 'gzip' or 'identity'."""
        if encoding == 'br':
            return self.brotli, self.etag[:-1] + '-br"'
        if encoding == 'gzip':
            return self.gzip, self.etag[:-1] + '-gz"'
        return self.identity, self.etag


class TagCache:
    """The tag files made from the generic bundles in one folder (the full bundle's, `generic_path`),
    each made once and again only when its bundle on disk changes (a rebuild while the server runs
    is picked up on the next request; the build replaces each file whole, so a read sees one
    version). A key is (bundle file name, TagSettings) for an account's tag, or (file name, None)
    for a file served as it is (the debug module, a twin)."""

    def __init__(self, generic_path: str | Path):
        self.generic_path = Path(generic_path)
        self.folder = self.generic_path.parent
        self._lock = threading.Lock()
        self._files: dict[tuple, tuple[int, TagFile]] = {}

    def _source_name(self, source: str) -> str:
        return self.generic_path.name if source == FULL_BUNDLE else source

    def has(self, source: str) -> bool:
        """True when the bundle `source` is built."""
        return (self.folder / self._source_name(source)).is_file()

    def ready(self, source: str, settings: TagSettings | None = None) -> TagFile | None:
        """The file for (`source`, `settings`) when it is made already and its bundle has not
        changed since: served without a thread hop or the lock (a flood of tag requests costs a
        stat and a lookup each)."""
        try:
            mtime = (self.folder / self._source_name(source)).stat().st_mtime_ns
        except OSError:
            return None
        made = self._files.get((source, settings))
        return made[1] if made is not None and made[0] == mtime else None

    def get(self, source: str, settings: TagSettings | None = None) -> TagFile:
        """The bundle `source` stamped with `settings` (or as it is, for None)."""
        path = self.folder / self._source_name(source)
        with self._lock:
            try:
                with open(path, 'rb') as file:
                    mtime = os.fstat(file.fileno()).st_mtime_ns
                    made = self._files.get((source, settings))
                    if made is not None and made[0] == mtime:
                        return made[1]
                    data = file.read()
            except OSError:
                raise TagUnavailable(f'{path} is missing: run `make build`') from None
            if settings is not None:
                data = stamp(data.decode('utf-8'), settings).encode('utf-8')
            tag = encoded_file(data)
            self._files[(source, settings)] = (mtime, tag)
            return tag


def encoded_file(data: bytes) -> TagFile:
    """`data` in each encoding, with its ETag."""
    return TagFile(identity=data, gzip=gzip.compress(data, compresslevel=9, mtime=0),
                   brotli=brotli.compress(data, quality=11), etag='"' + hashlib.sha256(data).hexdigest()[:32] + '"')


def choose_encoding(accept_encoding: str) -> str:
    """'br', 'gzip' or 'identity', from an Accept-Encoding header (q=0 refuses a coding)."""
    offered = {}
    for part in accept_encoding.lower().split(','):
        name, _, params = part.strip().partition(';')
        quality = 1.0
        params = params.strip()
        if params.startswith('q='):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if name:
            offered[name.strip()] = quality
    for coding in ('br', 'gzip'):
        if offered.get(coding, offered.get('*', 0.0)) > 0:
            return coding
    return 'identity'


class TagRoute:
    """`GET /tags/{name}`: an account's stamped tag, the debug module, or a twin (the journaled
    bundle a tag loads in debug mode) of a feature set in use. Nothing a request sends (Host,
    forwarding headers) changes a tag: its collector URL is `tag_urls[account]`, and only the
    names of the configured accounts' files are served (the cache cannot grow by request)."""

    def __init__(self, accounts: dict, tag_urls: dict[str, str], cache: TagCache):
        self.accounts = accounts
        self.tag_urls = tag_urls
        self.cache = cache
        sets = {account.features for account in accounts.values()} | {ALL_FEATURES}
        self.plain_files = {DEBUG_FILE} | {bundle_name(s, journal=True) for s in sets}
        self._fallen_back: set[str] = set()

    def bundle_of(self, account) -> str:
        """The bundle `account` is stamped from: its feature set's, else (not built: a server
        started before `make build` saw the account) the full one, which carries every feature."""
        name = bundle_name(account.features)
        if name == FULL_BUNDLE or self.cache.has(name):
            return name
        if account.account_id not in self._fallen_back:
            self._fallen_back.add(account.account_id)
            log.warning('tag %s: %s is not built (run `make build`): serving the full bundle', account.account_id, name)
        return FULL_BUNDLE

    async def serve(self, request: Request) -> Response:
        name = request.path_params['name']
        pixel = name.endswith(PIXEL_FILE_SUFFIX)
        account_id = name[:-len(PIXEL_FILE_SUFFIX)] if pixel else name[:-3] if name.endswith('.js') else ''
        account = self.accounts.get(account_id) if ACCOUNT_ID_PATTERN.fullmatch(account_id) else None
        if pixel and account is not None and pixel_set(account.features) is None:
            account = None  # not a Shopify account: it has no pixel
        if account is None and name not in self.plain_files:
            return Response('no such tag\n', status_code=404, media_type='text/plain')
        if account is None:
            source, settings = name, None
        else:
            source = pixel_bundle_name(pixel_set(account.features)) if pixel else self.bundle_of(account)
            settings = account.tag_settings(self.tag_urls[account_id])
        try:
            tag = self.cache.ready(source, settings) or await asyncio.to_thread(self.cache.get, source, settings)
        except (TagUnavailable, StampError) as error:
            log.warning('tag %s unavailable: %s', name, error)
            return Response('tag unavailable: try again shortly\n', status_code=503, media_type='text/plain',
                            headers={'Retry-After': '5'})
        encoding = choose_encoding(request.headers.get('accept-encoding', ''))
        body, etag = tag.encoded(encoding)
        headers = {
            'ETag': etag,
            'Cache-Control': f'public, max-age={TAG_MAX_AGE_S}',
            'Vary': 'Accept-Encoding',
            'Access-Control-Allow-Origin': '*',
            'Cross-Origin-Resource-Policy': 'cross-origin',
            'X-Content-Type-Options': 'nosniff',
        }
        if etag in [t.strip() for t in request.headers.get('if-none-match', '').split(',')]:
            return Response(status_code=304, headers=headers)
        if encoding != 'identity':
            headers['Content-Encoding'] = encoding
        return Response(body, media_type='text/javascript; charset=utf-8', headers=headers)
