"""Who may use the CTI server: password hashes, accounts, browser sessions, and the guard that limits
what one source address may cost us (connections, authentication failures, logged refusals).

Everything here runs on the server's thread (the network side); the engine never waits for a hash.
Passwords are stored as ``scrypt$N$r$p$salt$hash`` (base64 salt and hash, :func:`hash_password`); every
comparison of a secret goes through :func:`hmac.compare_digest`.
"""
import base64
import collections
import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field

from pycallcenter.cti import protocol as P

# scrypt cost: 16 MiB and 60-100 ms per check on the 2-core VM (bench/bench_cti.py; RFC 7914 interactive figures)
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2 ** 14, 8, 1, 32
ROLES = (P.AGENT, P.SUPERVISOR)

log = logging.getLogger("pycallcenter.cti")


def hash_password(password, salt=None, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P):
    """Return the storable scrypt hash text of a password (a new random salt unless one is given)."""
    salt = secrets.token_bytes(16) if salt is None else salt
    key = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r, p=p, dklen=SCRYPT_LEN)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"scrypt${n}${r}${p}${b64(salt)}${b64(key)}"


def parse_hash(text):
    """Return (n, r, p, salt, key) of a hash text; ValueError when it is not one of ours."""
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("expected 'scrypt$N$r$p$salt$hash' (pycallcenter cti passwd NAME prints one)")
    n, r, p = (int(x) for x in parts[1:4])
    if n < 2 ** 10 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or n * r > 2 ** 22:
        raise ValueError("scrypt parameters out of range (N a power of two 1024..4194304, r 1..64, p 1..16)")
    salt, key = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    if len(salt) < 8 or len(key) < 16:
        raise ValueError("salt or hash too short")
    return n, r, p, salt, key


def check_password(password, stored):
    """Return True when the password matches the stored hash text (constant-time comparison)."""
    n, r, p, salt, key = parse_hash(stored)
    got = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r, p=p,
                         dklen=len(key), maxmem=2 * 128 * n * r + (1 << 20))
    return hmac.compare_digest(got, key)


def _digest(secret):
    """Return a fixed-length digest of a secret, so compare_digest never sees differing lengths or text."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


@dataclass
class User:
    """One account: name (the ACD agent name for agents), role, scrypt hash, and a supervisor's phone."""

    name: str
    role: str
    password_hash: str = None
    contact: str = None


class Accounts:
    """The users (name -> :class:`User`) and API tokens (for scripts: token -> (role, name))."""

    _dummy = None  # checked against when the name is unknown, so a wrong name costs as long as a wrong password

    def __init__(self, users=(), tokens=None):
        self.users = {u.name: u for u in users}
        self._plain = dict(tokens or {})  # kept only to merge Accounts (serve's tokens + a users file's)
        self._tokens = [(_digest(t), ident["role"], ident["name"]) for t, ident in self._plain.items()]

    def tokens(self):
        """Return a copy of the API tokens: token -> {'role', 'name'}."""
        return dict(self._plain)

    def contacts(self):
        """Return supervisor (or agent) name -> contact of the users who have one."""
        return {u.name: u.contact for u in self.users.values() if u.contact}

    def by_password(self, name, password):
        """Return (role, name) when the password is right, else None (slow: run it off the event loop)."""
        user = self.users.get(name) if isinstance(name, str) else None
        if not isinstance(password, str) or user is None or user.password_hash is None:
            if Accounts._dummy is None:  # made on first need: importing this module costs no hash
                Accounts._dummy = hash_password("not a password", salt=b"pycallcenter-dummy")
            check_password(str(password), Accounts._dummy)
            return None
        return (user.role, user.name) if check_password(password, user.password_hash) else None

    def by_token(self, token):
        """Return (role, name) of an API token, else None; every token is compared, in constant time."""
        if not isinstance(token, str):
            return None
        d = _digest(token)
        found = None
        for digest, role, name in self._tokens:
            if hmac.compare_digest(digest, d) and found is None:
                found = (role, name)
        return found


@dataclass
class Session:
    """A browser session: who, when it started and was last used, and its CSRF token for form posts."""

    role: str
    name: str
    created: float
    used: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    closed: bool = False


class Sessions:
    """Cookie sessions that expire after idle seconds without use and absolute seconds after login."""

    def __init__(self, idle=1800.0, absolute=43200.0, clock=time.monotonic, limit=10000):
        self.idle, self.absolute, self.clock, self.limit = idle, absolute, clock, limit
        self._by_digest = {}  # sha256(session id) -> Session: a memory dump does not hand out cookies

    def open(self, role, name):
        """Return the new session's id (the cookie value)."""
        self.sweep()
        if len(self._by_digest) >= self.limit:  # bounded: the oldest session goes first
            oldest = min(self._by_digest, key=lambda k: self._by_digest[k].used)
            self._by_digest.pop(oldest).closed = True
        sid = secrets.token_urlsafe(32)
        now = self.clock()
        self._by_digest[_digest(sid)] = Session(role, name, now, now)
        return sid

    def get(self, sid, touch=True):
        """Return the live Session of a cookie value (None when unknown or expired)."""
        if not isinstance(sid, str) or not sid:
            return None
        key = _digest(sid)
        s = self._by_digest.get(key)
        if s is None:
            return None
        now = self.clock()
        if now - s.used > self.idle or now - s.created > self.absolute:
            del self._by_digest[key]
            s.closed = True
            return None
        if touch:
            s.used = now
        return s

    def close(self, sid):
        """End a session (logout); return it or None."""
        s = self._by_digest.pop(_digest(sid), None) if isinstance(sid, str) else None
        if s is not None:
            s.closed = True
        return s

    def sweep(self):
        """Forget expired sessions; return how many."""
        now = self.clock()
        dead = [k for k, s in self._by_digest.items() if now - s.used > self.idle or now - s.created > self.absolute]
        for k in dead:
            self._by_digest.pop(k).closed = True
        return len(dead)

    def alive(self, session):
        """Return True while a Session object has not expired or been closed."""
        now = self.clock()
        return not session.closed and now - session.used <= self.idle and now - session.created <= self.absolute


class SourceGuard:
    """What one source address may cost: open connections (per source and in total), authentication
    failures (exponential backoff, then a lockout supervisors can see), and refusals logged once per
    (source, reason) a minute with a count of the ones not logged. Thread-safe; every table is bounded."""

    def __init__(self, max_conns=256, max_per_source=32, backoff=0.5, backoff_max=30.0, lockout_after=10,
                 lockout=300.0, log_every=60.0, clock=time.monotonic, table_limit=4096):
        self.max_conns, self.max_per_source = max_conns, max_per_source
        self.backoff, self.backoff_max = backoff, backoff_max
        self.lockout_after, self.lockout = lockout_after, lockout
        self.log_every, self.clock, self.table_limit = log_every, clock, table_limit
        self._lock = threading.Lock()
        self.conns = collections.Counter()  # source -> open connections
        self._fails = collections.OrderedDict()  # source -> [failures, not before, locked until]
        self._logged = collections.OrderedDict()  # (source, reason) -> [last logged, suppressed]
        self.refused = collections.Counter()  # reason -> count, for the status and tests
        self._checking = set()  # sources with a password check under way: one at a time each

    # --- connections -----------------------------------------------------------------------------
    def admit(self, source):
        """Return None and count the connection, or the reason it is refused."""
        with self._lock:
            if sum(self.conns.values()) >= self.max_conns:
                return f"too many connections: {self.max_conns} open, the most allowed (cti_max_connections)"
            if self.conns[source] >= self.max_per_source:
                return (f"too many connections from this address: {self.max_per_source} open, the most allowed "
                        "(cti_max_per_source)")
            self.conns[source] += 1
            return None

    def release(self, source):
        """Forget one connection of source."""
        with self._lock:
            self.conns[source] -= 1
            if self.conns[source] <= 0:
                del self.conns[source]

    # --- authentication failures ----------------------------------------------------------------------
    def may_try(self, source):
        """Return None, or (code, message) when source must wait before authenticating again."""
        with self._lock:
            entry = self._fails.get(source)
            if entry is None:
                return None
            now = self.clock()
            if entry[2] > now:
                return P.LOCKED_OUT, f"too many failed logins from {source}; locked for {entry[2] - now:.0f} s"
            if entry[1] > now:
                return P.RATE_LIMITED, f"wait {entry[1] - now:.1f} s before the next login attempt"
            return None

    def begin(self, source):
        """Return None and hold source's one password-check slot, or (code, message) when it must wait
        (so many connections from one address cannot guess in parallel inside one backoff)."""
        wait = self.may_try(source)
        if wait is not None:
            return wait
        with self._lock:
            if source in self._checking:
                return P.RATE_LIMITED, "a login from this address is being checked; wait for its answer"
            self._checking.add(source)
            return None

    def end(self, source):
        """Release source's password-check slot."""
        with self._lock:
            self._checking.discard(source)

    def failed(self, source):
        """Count a failed authentication: the next attempt waits twice as long; lockout_after in a row lock out."""
        with self._lock:
            now = self.clock()
            entry = self._fails.pop(source, None) or [0, 0.0, 0.0]
            if entry[2] and entry[2] <= now:  # an expired lockout starts over
                entry = [0, 0.0, 0.0]
            entry[0] += 1
            entry[1] = now + min(self.backoff_max, self.backoff * 2 ** (entry[0] - 1))
            if entry[0] >= self.lockout_after:
                entry[2] = now + self.lockout
            self._fails[source] = entry
            while len(self._fails) > self.table_limit:
                self._fails.popitem(last=False)
            locked = entry[0] == self.lockout_after
        if locked:
            log.warning("cti: %s locked out for %.0f s after %d failed logins", source, self.lockout, entry[0])

    def succeeded(self, source):
        """A good login clears the source's failures."""
        with self._lock:
            entry = self._fails.get(source)
            if entry is not None and entry[2] <= self.clock():
                del self._fails[source]

    def lockouts(self):
        """Return the sources locked out now: [{'source', 'failures', 'seconds_left'}]."""
        with self._lock:
            now = self.clock()
            return [{"source": s, "failures": e[0], "seconds_left": round(e[2] - now, 1)}
                    for s, e in self._fails.items() if e[2] > now]

    def unlock(self, source):
        """Lift a lockout (a supervisor's command); return True if there was one."""
        with self._lock:
            return self._fails.pop(source, None) is not None

    # --- refusals ---------------------------------------------------------------------------------
    def refuse(self, source, reason, detail=""):
        """Log a refused command or connection once per (source, reason) and interval; count all of them."""
        with self._lock:
            self.refused[reason] += 1
            now = self.clock()
            key = (source, reason)
            entry = self._logged.get(key)
            if entry is not None and now - entry[0] < self.log_every:
                entry[1] += 1
                return
            suppressed = entry[1] if entry else 0
            self._logged.pop(key, None)
            self._logged[key] = [now, 0]
            while len(self._logged) > self.table_limit:
                self._logged.popitem(last=False)
        more = f" (+{suppressed} like it not logged)" if suppressed else ""
        log.warning("cti: refused %s from %s: %s%s", reason, source, detail[:200], more)
