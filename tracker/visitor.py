"""The visitor and session of this page: the cookie touched by every call (`session.py` holds the
rules), where the session came from (`attribution.py`), and the journal lines that say what
happened to them.

A visitor first seen by an older Ometria tag keeps their visitor id: with no `ometria` cookie,
the ids of `OMuser` / `OMud` are taken over and those cookies deleted (`legacy.py`).

The session's source is remembered per account (`ometria:<account>:source`, with the session id)
and the visitor's first ever source for good (`...:first_source`). Beside the source, the session
keeps `ecamp`: the `om_campaign` of the landing URL that last set the session's source (None when
it had none), whatever `utm_*` said, so that every event of a session begun from an Ometria email
carries its campaign (the deployed tag's `ecamp`).

Pure: time, cookies, storage and ids come from `env`.
"""

from tracker import attribution, features, journal, keys, legacy, prims, session

COOKIE_READ_INTERVAL_MS = 1000


class Visitor:
    """The visitor cookie as this page sees it. `touch()` returns the visitor state after an
    activity now ({'cid', 'sid', 'seen', 'first', 'new_visitor', 'new_session', 'write'}),
    writing the cookie when it changed. The cookie is read again at most every
    COOKIE_READ_INTERVAL_MS (another tab may have started a session): a burst of calls costs one
    read. `start(landing)` is the page load's touch, with the landing page's attribution."""

    def __init__(self, env, account_id, cookie_domain, page_journal):
        self._env = env
        self._account = account_id
        self._domain = cookie_domain
        self._journal = page_journal
        self._state = None
        self._read_at = 0
        self.source = None
        self.first_source = None
        self.ecamp = None

    def _read_cookie(self):
        env = self._env
        stored = session.read_visitor(env.read_cookie(session.COOKIE_NAME))
        if stored == None and features.LEGACY:
            cid = legacy.old_visitor_id(env.read_cookie('OMuser'), env.read_cookie('OMud'))
            if cid != None:
                stored = {'cid': cid, 'sid': None, 'seen': None, 'first': False}
                for name in legacy.OLD_COOKIES:
                    env.write_cookie(name, '', 0, None)
                    env.write_cookie(name, '', 0, session.cookie_domain(env.host(), self._domain))
                journal.note(self._journal, ['legacy_cookie', cid])
        return stored

    def touch(self):
        return self._touch(None, False, None)

    def _touch(self, rule, read, stored):
        """The touch itself; `read`: the cookie was just read, giving `stored`."""
        env = self._env
        moment = prims.floor(env.now_ms())
        previous = self._state
        if not read and (previous == None or moment - self._read_at >= COOKIE_READ_INTERVAL_MS or moment < self._read_at):
            stored = self._read_cookie()
            read = True
        if read:
            self._read_at = moment
            if stored != None:
                previous = stored
        state = session.touch(previous, moment, lambda: env.new_id(), rule)
        if state['write']:
            env.write_cookie(session.COOKIE_NAME, session.cookie_value(state), session.COOKIE_MAX_AGE_S,
                             session.cookie_domain(env.host(), self._domain))
        if state['new_visitor']:
            journal.line(self._journal, 'new_visitor', [], None)
        if state['new_session'] and self._state != None:
            journal.line(self._journal, 'new_session', [state['sid']], None)
        self._state = state
        return state

    def forget(self):
        self._state = None
        self._read_at = 0
        self.source = None
        self.first_source = None
        self.ecamp = None

    def start(self, landing):
        """At tag start: touch with the landing page's attribution (`attribution.landing_source`),
        say whether the session is new or goes on, and settle the session's source."""
        stored = self._read_cookie()
        idle = None
        if stored != None and stored['seen'] != None and stored['sid'] != None:
            idle = prims.floor(self._env.now_ms()) - stored['seen']
        state = self._touch(attribution.session_rule(landing['kind'], idle), True, stored)
        journal.line(self._journal, 'new_session' if state['new_session'] else 'existing_session', [state['sid']], None)
        self._settle_source(state, landing)
        return state

    def _settle_source(self, state, landing):
        env = self._env
        saved = prims.from_json(env.store_get(keys.storage_key(self._account, 'source')))
        if not prims.is_plain_object(saved) or prims.read_key(saved, 'sid') != state['sid']:
            saved = {}
        current = prims.read_key(saved, 'src')
        source = current
        ecamp = prims.read_key(saved, 'ecamp')
        if not prims.is_string(ecamp):
            ecamp = None
        if landing['kind'] == 'campaign' or (current == None and landing['kind'] != 'keep'):
            source = landing['source'] if landing['source'] != None else attribution.direct_source(env.now_ms())
            ecamp = landing['ecamp']
        if current != None and attribution.same_source(current, source):
            journal.line(self._journal, 'source_continued', [source, ecamp], source)
        elif source != None:
            journal.line(self._journal, 'source_changed', [source, ecamp], source)
        self.source = source
        self.ecamp = ecamp
        env.store_set(keys.storage_key(self._account, 'source'),
                      prims.to_json({'sid': state['sid'], 'src': source, 'ecamp': ecamp}))
        first = prims.from_json(env.store_get(keys.storage_key(self._account, 'first_source')))
        if prims.is_plain_object(first):
            self.first_source = first
        elif source != None:
            self.first_source = source
            env.store_set(keys.storage_key(self._account, 'first_source'), prims.to_json(source))
