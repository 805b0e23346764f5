"""Serving tag files: the generic bundle, stamped per account and compressed once.

`GET /tags/<account_id>.js` (`TagRoute`): the account's tag, with `ETag`/304 per encoding, gzip or
brotli, `Cache-Control: public, max-age=300`; 404 for unknown or malformed ids; `GET
/tags/ometria.debug.js`: the debug module the tags fetch in debug mode.

`TagCache.get(account, collector_url)` returns a `TagFile` (the stamped bytes, their gzip and
brotli forms and an ETag), stamping on first use and whenever the generic bundle on disk changes
(a rebuild while the server runs is picked up on the next request). Its settings come from the
server's configuration only, so the cache holds at most one file per account (times three
encodings), and a request can neither grow it nor make the server stamp again.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import brotli
from starlette.requests import Request
from starlette.responses import Response

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
    def __init__(self, generic_path: str | Path):
        self.generic_path = Path(generic_path)
        self._lock = threading.Lock()
        self._generic: tuple[float, str] | None = None
        self._files: dict[object, TagFile] = {}

    def _generic_text(self) -> tuple[float, str]:
        try:
            mtime = self.generic_path.stat().st_mtime
        except OSError:
            raise TagUnavailable(f'{self.generic_path} is missing: run `make build`') from None
        if self._generic is None or self._generic[0] != mtime:
            self._generic = (mtime, self.generic_path.read_text(encoding='utf-8'))
            self._files.clear()
        return self._generic

    def ready(self, key) -> TagFile | None:
        """The file for `key` (an account's TagSettings, or DEBUG_FILE) when it is made already and
        the bundle has not changed since: served without a thread hop or the lock (a flood of tag
        requests costs a stat and a lookup each)."""
        try:
            mtime = self.generic_path.stat().st_mtime
        except OSError:
            return None
        generic = self._generic
        return self._files.get(key) if generic is not None and generic[0] == mtime else None

    def debug_module(self) -> TagFile:
        """The debug module (`ometria.debug.js`, built beside the generic bundle): the same file for
        every account, served as it is (its SRI value is in the tags)."""
        with self._lock:
            self._generic_text()
            tag = self._files.get(DEBUG_FILE)
            if tag is None:
                try:
                    data = self.generic_path.with_name(DEBUG_FILE).read_bytes()
                except OSError:
                    raise TagUnavailable(f'{DEBUG_FILE} is missing beside {self.generic_path}: run `make build`') from None
                tag = encoded_file(data)
                self._files[DEBUG_FILE] = tag
            return tag

    def get(self, settings: TagSettings) -> TagFile:
        with self._lock:
            _mtime, generic = self._generic_text()
            tag = self._files.get(settings)
            if tag is None:
                text = stamp(generic, settings)
                tag = encoded_file(text.encode('utf-8'))
                self._files[settings] = tag
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
    """`GET /tags/{name}`: the account's stamped tag, or the debug module. Nothing a request sends
    (Host, forwarding headers) changes a tag: its collector URL is `tag_urls[account]`."""

    def __init__(self, accounts: dict, tag_urls: dict[str, str], cache: TagCache):
        self.accounts = accounts
        self.tag_urls = tag_urls
        self.cache = cache

    async def serve(self, request: Request) -> Response:
        name = request.path_params['name']
        account_id = name[:-3] if name.endswith('.js') else ''
        account = self.accounts.get(account_id) if ACCOUNT_ID_PATTERN.fullmatch(account_id) else None
        if account is None and name != DEBUG_FILE:
            return Response('no such tag\n', status_code=404, media_type='text/plain')
        key = DEBUG_FILE if account is None else account.tag_settings(self.tag_urls[account_id])
        try:
            tag = self.cache.ready(key)
            if tag is None and account is None:
                tag = await asyncio.to_thread(self.cache.debug_module)
            elif tag is None:
                tag = await asyncio.to_thread(self.cache.get, key)
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
