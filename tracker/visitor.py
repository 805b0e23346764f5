"""The visitor and session of this page: the cookie touched by every call (`session.py` holds the
rules), and the journal lines that say what happened to them.

Pure: time, cookies and ids come from `env`.
"""

from tracker import prims, session

COOKIE_READ_INTERVAL_MS = 1000


class Visitor:
    """The visitor cookie as this page sees it. `touch()` returns the visitor state after an
    activity now ({'cid', 'sid', 'seen', 'new_visitor', 'new_session', 'write'}), writing the
    cookie when it changed. The cookie is read again at most every COOKIE_READ_INTERVAL_MS
    (another tab may have started a session): a burst of calls costs one read."""

    def __init__(self, env, cookie_domain, journal):
        self._env = env
        self._domain = cookie_domain
        self._journal = journal
        self._state = None
        self._read_at = 0

    def touch(self):
        env = self._env
        moment = prims.floor(env.now_ms())
        previous = self._state
        if previous == None or moment - self._read_at >= COOKIE_READ_INTERVAL_MS or moment < self._read_at:
            stored = session.read_visitor(env.read_cookie(session.COOKIE_NAME))
            self._read_at = moment
            if stored != None:
                previous = stored
        state = session.touch(previous, moment, lambda: env.new_id())
        if state['write']:
            env.write_cookie(session.COOKIE_NAME, session.cookie_value(state), session.COOKIE_MAX_AGE_S,
                             session.cookie_domain(env.host(), self._domain))
        if state['new_visitor']:
            self._journal.line('new_visitor', [], None)
        if state['new_session'] and self._state != None:
            self._journal.line('new_session', [state['sid']], None)
        self._state = state
        return state

    def start(self):
        """At tag start: touch, and say whether the session is new or goes on."""
        state = self.touch()
        self._journal.line('new_session' if state['new_session'] else 'existing_session', [state['sid']], None)
        return state
