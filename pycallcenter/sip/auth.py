"""Digest authentication for SIP both ways (RFC 3261 22, RFC 2617, RFC 7616, RFC 8760): MD5, SHA-256 and
SHA-512/256 with their -sess variants, qop=auth and auth-int, nc/cnonce, stale nonces.

The server side is stateless: a nonce is ``base64(time || HMAC-SHA256(secret, time || realm))``, so any
process holding the secret can check it and tell an expired nonce (answered with ``stale=true``) from a
forged one. Each process also remembers, in a bounded table, the highest nc accepted per (nonce, cnonce)
and refuses a repeat (a replayed request); a replay to another process sharing the secret is not seen, so
keep the lifetime short (default 300 s). Header values parse with one DecodeError naming the header and
offset.
"""
import base64
import hashlib
import hmac
import secrets
import struct
from collections import OrderedDict
from dataclasses import dataclass

from pycallcenter.errors import DecodeError
from pycallcenter.sip.message import TOKEN, quote, unquote

# RFC 8760 names -> hashlib names; the order is the server's preference (strongest first, RFC 8760 2.4)
ALGORITHMS = {"SHA-512-256": "sha512_256", "SHA-256": "sha256", "MD5": "md5"}
# which parameters are quoted-strings in a challenge and in credentials (RFC 7616 3.3 and 3.4)
_CHALLENGE_QUOTED = {"realm", "nonce", "opaque", "qop", "domain"}
_CREDENTIALS_QUOTED = {"username", "realm", "nonce", "uri", "response", "cnonce", "opaque"}


def _hash(algorithm):
    name = ALGORITHMS.get(algorithm.upper().removesuffix("-SESS"))
    if name is None:
        raise ValueError(f"unsupported digest algorithm {algorithm}")
    return lambda text: hashlib.new(name, text.encode("utf-8")).hexdigest()


def available_algorithms():
    """Return the digest algorithms this Python's hashlib offers, strongest first."""
    return [a for a, name in ALGORITHMS.items() if name in hashlib.algorithms_available]


def parse_params(value, element="Authorization"):
    """Return (scheme, {lowercased name: unquoted value}) of a challenge or credentials header value."""
    i = 0
    n = len(value)
    while i < n and value[i] in " \t":
        i += 1
    j = i
    while j < n and value[j] in TOKEN:
        j += 1
    if j == i:
        raise DecodeError("no authentication scheme", element=element, offset=i)
    scheme = value[i:j]
    params = {}
    i = j
    while True:
        while i < n and value[i] in " \t,":
            i += 1
        if i >= n:
            return scheme, params
        j = i
        while j < n and value[j] in TOKEN:
            j += 1
        if j == i:
            raise DecodeError("bad parameter name", element=element, offset=i)
        name = value[i:j].lower()
        while j < n and value[j] in " \t":
            j += 1
        if j >= n or value[j] != "=":
            raise DecodeError(f"parameter {name} has no value", element=element, offset=j)
        j += 1
        while j < n and value[j] in " \t":
            j += 1
        if j < n and value[j] == '"':
            k = j + 1
            while k < n and value[k] != '"':
                k += 2 if value[k] == "\\" else 1
            if k >= n:
                raise DecodeError("unterminated quoted string", element=element, offset=j)
            params[name] = unquote(value[j:k + 1])
            i = k + 1
        else:
            k = j
            while k < n and value[k] not in " \t,":
                k += 1
            if k == j:
                raise DecodeError(f"parameter {name} has an empty value", element=element, offset=j)
            params[name] = value[j:k]
            i = k
        while i < n and value[i] in " \t":
            i += 1
        if i < n and value[i] != ",":
            raise DecodeError("expected ',' between parameters", element=element, offset=i)


def _format(scheme, params, quoted):
    parts = []
    for name, value in params:
        if value is None:
            continue
        parts.append(f"{name}={quote(value)}" if name in quoted else f"{name}={value}")
    return f"{scheme} " + ", ".join(parts)


def digest_response(*, algorithm, username, realm, password, nonce, method, uri, qop=None, nc=None,
                    cnonce=None, body=b"", ha1=None):
    """Return the request-digest (RFC 7616 3.4.1) as lowercase hex; ha1 replaces username/realm/password
    for servers that store H(username:realm:password)."""
    h = _hash(algorithm)
    if ha1 is None:
        ha1 = h(f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    if qop == "auth-int":
        ha2 = h(f"{method}:{uri}:{h(body.decode('latin-1'))}")
    else:
        ha2 = h(f"{method}:{uri}")
    if qop:
        return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return h(f"{ha1}:{nonce}:{ha2}")  # RFC 2069 compatibility


@dataclass(frozen=True)
class Challenge:
    """A parsed WWW-Authenticate / Proxy-Authenticate Digest challenge."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple = ()
    opaque: str = None
    stale: bool = False

    @classmethod
    def parse(cls, value, element="WWW-Authenticate"):
        """Return the Challenge in a header value; DecodeError when it is not a usable Digest challenge."""
        scheme, p = parse_params(value, element)
        if scheme.lower() != "digest":
            raise DecodeError(f"scheme {scheme} is not Digest", element=element, offset=0)
        for name in ("realm", "nonce"):
            if name not in p:
                raise DecodeError(f"challenge without {name}", element=element, offset=len(value))
        qop = tuple(q.strip() for q in p.get("qop", "").split(",") if q.strip())
        return cls(realm=p["realm"], nonce=p["nonce"], algorithm=p.get("algorithm", "MD5"), qop=qop,
                   opaque=p.get("opaque"), stale=p.get("stale", "").lower() == "true")

    def __str__(self):
        return _format("Digest", [("realm", self.realm), ("nonce", self.nonce), ("opaque", self.opaque),
                                  ("algorithm", self.algorithm), ("qop", ",".join(self.qop) or None),
                                  ("stale", "true" if self.stale else None)], _CHALLENGE_QUOTED)


class DigestClient:
    """Answers challenges for one account; counts nc per nonce (RFC 7616 3.4)."""

    def __init__(self, username, password, cnonce_factory=None):
        self.username = username
        self.password = password
        self._cnonce = cnonce_factory or (lambda: secrets.token_hex(8))
        self._nc = {}

    @staticmethod
    def choose(values):
        """Return the strongest supported Challenge among header values (RFC 8760 2.4 ordering)."""
        best = None
        order = available_algorithms()
        for value in values:
            try:
                ch = Challenge.parse(value)
            except DecodeError:
                continue
            if ch.algorithm.upper().removesuffix("-SESS") not in order:
                continue
            rank = order.index(ch.algorithm.upper().removesuffix("-SESS"))
            if best is None or rank < best[0]:
                best = (rank, ch)
        if best is None:
            raise ValueError("no Digest challenge with a supported algorithm")
        return best[1]

    def authorization(self, challenge, method, uri, body=b""):
        """Return the Authorization / Proxy-Authorization value answering challenge for a request."""
        if isinstance(challenge, str):
            challenge = Challenge.parse(challenge)
        qop = "auth-int" if "auth-int" in challenge.qop and "auth" not in challenge.qop else \
            "auth" if "auth" in challenge.qop else None
        nc = cnonce = None
        if qop:
            count = self._nc.get(challenge.nonce, 0) + 1
            self._nc = {challenge.nonce: count}  # a new nonce restarts the count; old ones are forgotten
            nc = f"{count:08x}"
            cnonce = self._cnonce()
        response = digest_response(algorithm=challenge.algorithm, username=self.username, realm=challenge.realm,
                                   password=self.password, nonce=challenge.nonce, method=method, uri=uri, qop=qop,
                                   nc=nc, cnonce=cnonce, body=body)
        return _format("Digest", [("username", self.username), ("realm", challenge.realm),
                                  ("nonce", challenge.nonce), ("uri", uri), ("response", response),
                                  ("algorithm", challenge.algorithm), ("cnonce", cnonce),
                                  ("opaque", challenge.opaque), ("qop", qop), ("nc", nc)], _CREDENTIALS_QUOTED)


OK, STALE, FAILED = "ok", "stale", "failed"


class DigestServer:
    """Challenges requests and checks credentials without keeping per-nonce state."""

    def __init__(self, realm, secret, credentials, lifetime=300.0, algorithms=None, replay_window=4096):
        """credentials(username) returns the password, or None for an unknown user. replay_window: how many
        (nonce, cnonce) pairs this process remembers the last nc of, to refuse a replayed request."""
        self.realm = realm
        self._secret = secret if isinstance(secret, bytes) else secret.encode()
        self.credentials = credentials
        self.lifetime = lifetime
        self.algorithms = tuple(algorithms or [a for a in available_algorithms() if a != "SHA-512-256"])
        self.replay_window = replay_window
        self._seen_nc = OrderedDict()  # (nonce, cnonce) -> highest nc accepted, oldest first
        self.replays = 0

    def nonce(self, now):
        """Return a nonce minted at now (carries its time and an HMAC over it and the realm)."""
        stamp = struct.pack(">d", now)
        mac = hmac.new(self._secret, stamp + self.realm.encode(), hashlib.sha256).digest()
        return base64.b64encode(stamp + mac).decode()

    def nonce_age(self, nonce, now):
        """Return the age in seconds of a nonce we minted, or None when it is not ours."""
        try:
            raw = base64.b64decode(nonce, validate=True)
        except (ValueError, TypeError):
            return None
        if len(raw) != 40:
            return None
        stamp, mac = raw[:8], raw[8:]
        good = hmac.new(self._secret, stamp + self.realm.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(mac, good):
            return None
        return now - struct.unpack(">d", stamp)[0]

    def challenges(self, now, stale=False):
        """Return the WWW-Authenticate values to send (one per algorithm, strongest first)."""
        nonce = self.nonce(now)
        return [str(Challenge(realm=self.realm, nonce=nonce, algorithm=a, qop=("auth",), stale=stale))
                for a in self.algorithms]

    def check(self, value, method, now, body=b""):
        """Return (OK | STALE | FAILED, username) for an Authorization value on a request with method."""
        try:
            scheme, p = parse_params(value)
        except DecodeError:
            return FAILED, None
        username = p.get("username")
        if scheme.lower() != "digest" or p.get("realm") != self.realm or not username:
            return FAILED, username
        algorithm = p.get("algorithm", "MD5")
        if algorithm.upper().removesuffix("-SESS") not in [a.upper() for a in self.algorithms]:
            return FAILED, username
        password = self.credentials(username)
        if password is None or "nonce" not in p or "uri" not in p or "response" not in p:
            return FAILED, username
        qop = p.get("qop")
        if qop not in (None, "auth", "auth-int") or (qop and not ("nc" in p and "cnonce" in p)):
            return FAILED, username
        try:
            expected = digest_response(algorithm=algorithm, username=username, realm=self.realm, password=password,
                                       nonce=p["nonce"], method=method, uri=p["uri"], qop=qop, nc=p.get("nc"),
                                       cnonce=p.get("cnonce"), body=body)
        except ValueError:
            return FAILED, username
        if not hmac.compare_digest(expected, p["response"].lower()):
            return FAILED, username
        age = self.nonce_age(p["nonce"], now)
        if age is None or age < 0:
            return FAILED, username
        if age > self.lifetime:
            return STALE, username  # right password, old nonce: challenge again with stale=true (RFC 7616 3.3)
        if qop and not self._fresh_nc(p["nonce"], p["cnonce"], p["nc"]):
            self.replays += 1
            return FAILED, username
        return OK, username

    def _fresh_nc(self, nonce, cnonce, nc):
        """Return True (and remember it) when nc is higher than any accepted before for (nonce, cnonce): a
        replayed request repeats an nc (RFC 7616 3.4). The memory is per process and bounded, so a
        replay to another process sharing the secret, or after the pair was forgotten, is not seen."""
        try:
            count = int(nc, 16)
        except ValueError:
            return False
        key = (nonce, cnonce)
        if count <= self._seen_nc.get(key, 0):
            return False
        self._seen_nc[key] = count
        self._seen_nc.move_to_end(key)
        while len(self._seen_nc) > self.replay_window:
            self._seen_nc.popitem(last=False)
        return True

