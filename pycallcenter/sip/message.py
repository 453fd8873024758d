"""SIP message codec (RFC 3261 sections 7, 18.3, 19.1 and 25): parse and build requests and responses.

Parsing works on the header block decoded as Latin-1 so that every character index is a byte offset; any
malformed element raises ``DecodeError(element=<header name or start line part>, offset=<byte offset>)``
and nothing else. Header values are kept as text (UTF-8, with undecodable bytes kept by surrogateescape so
a message rebuilds byte for byte), in order, one value per entry: a comma-separated list in a header whose
grammar is a list (Via, Contact, Route, ...) becomes one entry per element, while headers whose values
contain commas of their own (WWW-Authenticate, Authorization, Date, ...) are never split. Typed views
(``via``, ``from_``, ``cseq`` ...) parse from those entries on access; the parser checks them once so a
message that parsed is known to have well-formed key headers. Bodies stay bytes.

A canonical message (full header names in their usual case, one value per line, ``Name: value``, no
folding, a Content-Length) rebuilds byte-identical with ``encode()``.
"""
import re
from dataclasses import dataclass, field

from pycallcenter.errors import DecodeError

# RFC 3261 20 and later RFCs' compact forms.
COMPACT = {
    "a": "Accept-Contact", "b": "Referred-By", "c": "Content-Type", "d": "Request-Disposition",
    "e": "Content-Encoding", "f": "From", "i": "Call-ID", "j": "Reject-Contact", "k": "Supported",
    "l": "Content-Length", "m": "Contact", "n": "Identity-Info", "o": "Event", "r": "Refer-To",
    "s": "Subject", "t": "To", "u": "Allow-Events", "v": "Via", "x": "Session-Expires", "y": "Identity",
}
_KNOWN = [
    "Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow", "Authentication-Info",
    "Authorization", "Call-ID", "Call-Info", "Contact", "Content-Disposition", "Content-Encoding",
    "Content-Language", "Content-Length", "Content-Type", "CSeq", "Date", "Error-Info", "Expires", "From",
    "In-Reply-To", "Max-Forwards", "Min-Expires", "MIME-Version", "Organization", "Priority",
    "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "Record-Route", "Reply-To", "Require",
    "Retry-After", "Route", "Server", "Subject", "Supported", "Timestamp", "To", "Unsupported",
    "User-Agent", "Via", "Warning", "WWW-Authenticate", "RSeq", "RAck", "Path", "Service-Route",
    "P-Asserted-Identity", "Privacy", "Min-SE", *COMPACT.values(),
]
_CANONICAL = {name.lower(): name for name in _KNOWN}
# Headers whose grammar is a comma-separated list (RFC 3261 25.1 and extensions), split one value per entry.
LIST_HEADERS = frozenset(n.lower() for n in (
    "Via", "Contact", "Route", "Record-Route", "Allow", "Supported", "Require", "Proxy-Require", "Unsupported",
    "Accept", "Accept-Encoding", "Accept-Language", "Content-Encoding", "Content-Language", "Allow-Events",
    "In-Reply-To", "Call-Info", "Alert-Info", "Error-Info", "Warning", "Path", "Service-Route",
    "P-Asserted-Identity", "Reply-To"))
# Headers that may appear once only; a second copy is a malformed message (RFC 4475 3.1.2.x).
SINGLE_HEADERS = frozenset(n.lower() for n in (
    "From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type", "Expires"))
REQUIRED_HEADERS = ("Via", "From", "To", "Call-ID", "CSeq")

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
TOKEN = _ALNUM | frozenset("-.!%*_+`'~")
_UNRESERVED = _ALNUM | frozenset("-_.!~*'()")
_USER = _UNRESERVED | frozenset("&=+$,;?/")
_PASSWORD = _UNRESERVED | frozenset("&=+$,")
_PARAMCHAR = _UNRESERVED | frozenset("[]/:&+$")
_HNV = _UNRESERVED | frozenset("[]/?:+$")
_HOST = _ALNUM | frozenset("-.")
_WORD = TOKEN | frozenset("()<>:\\\"/[]?{}")
_GENVALUE = TOKEN | frozenset(":[]")  # token / host (IPv6 references) in generic-param values
_WS = " \t"
MAX_CSEQ = 2 ** 31 - 1
MAX_HEADER_BYTES = 65536


class _Bad(Exception):
    """Internal: a syntax error at a position inside one value; turned into DecodeError with the offset."""

    def __init__(self, message, pos=0):
        super().__init__(message)
        self.pos = pos


_NAMES = {}  # raw header name -> canonical spelling, memoised (a peer uses the same few names all day)


def canonical_name(name):
    """Return the header name in its usual spelling, expanding compact forms ('v' -> 'Via')."""
    known = _NAMES.get(name)
    if known is None:
        known = _canonical(name)
        if len(_NAMES) < 4096:
            _NAMES[name] = known
    return known


def _canonical(name):
    low = name.lower()
    if len(low) == 1 and low in COMPACT:
        return COMPACT[low]
    known = _CANONICAL.get(low)
    if known is not None:
        return known
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


# ---------------------------------------------------------------------------------------------------------
# Small lexical helpers over one value; each returns the new position.

def _skip_ws(s, i):
    while i < len(s) and s[i] in _WS:
        i += 1
    return i


_SPANS = {}  # (id of a character set, escapes) -> compiled pattern matching a run of it


def _span(s, i, chars, what, escapes=False):
    """Return the end of the run of chars (and %HH escapes when escapes) starting at s[i]."""
    pattern = _SPANS.get((id(chars), escapes))
    if pattern is None:
        klass = "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"
        pattern = re.compile(f"(?:{klass}|%[0-9a-fA-F]{{2}})*" if escapes else f"{klass}*")
        _SPANS[(id(chars), escapes)] = pattern
    j = pattern.match(s, i).end()
    if escapes and j < len(s) and s[j] == "%":
        raise _Bad(f"bad escape in {what}", j)
    return j


def _is_hex(text):
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)


def _check_chars(s, start, chars, what, escapes=False):
    end = _span(s, 0, chars, what, escapes)
    if end != len(s):
        raise _Bad(f"invalid character {s[end]!r} in {what}", start + end)


def _quoted(s, i):
    """Parse a quoted-string starting at s[i] == '"'; return (text with quotes, end)."""
    j = i + 1
    n = len(s)
    while j < n:
        c = s[j]
        if c == "\\":
            if j + 1 >= n or s[j + 1] in "\r\n":
                raise _Bad("bad quoted-pair", j)
            j += 2
        elif c == '"':
            return s[i:j + 1], j + 1
        elif c in "\r\n":
            break
        else:
            j += 1
    raise _Bad("unterminated quoted string", i)


def unquote(text):
    """Return the content of a quoted-string with its quoted-pairs resolved (text without quotes unchanged)."""
    if len(text) < 2 or text[0] != '"':
        return text
    out = []
    i = 1
    while i < len(text) - 1:
        if text[i] == "\\":
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


def quote(text):
    """Return text as a quoted-string (backslash and double quote escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def split_list(value):
    """Return [(start, element)] of a comma-separated list, ignoring commas inside quotes and <...>."""
    if "," not in value:  # the usual case: one element
        text = value.strip(_WS)
        if '"' in text:
            _quoted_scan(text)
        return [(len(value) - len(value.lstrip(_WS)), text)] if text else []
    parts = []
    start = 0
    i = 0
    n = len(value)
    angle = False
    while i < n:
        c = value[i]
        if c == '"':
            _, i = _quoted(value, i)
            continue
        if c == "<":
            angle = True
        elif c == ">":
            angle = False
        elif c == "," and not angle:
            parts.append((start, value[start:i]))
            start = i + 1
        i += 1
    parts.append((start, value[start:]))
    out = []
    for pos, text in parts:
        lead = len(text) - len(text.lstrip(_WS))
        text = text.strip(_WS)
        if text:
            out.append((pos + lead, text))
    return out


def _quoted_scan(text):
    """Check every quoted string in text is terminated (raises _Bad otherwise)."""
    i = text.find('"')
    while i >= 0:
        _, end = _quoted(text, i)
        i = text.find('"', end)


def _params(s, i, in_uri=False):
    """Parse *( ';' name [ '=' value ] ) from s[i:]; return (tuple of (name, value or None), end)."""
    params = []
    n = len(s)
    while True:
        j = i if in_uri else _skip_ws(s, i)
        if j >= n or s[j] != ";":
            return tuple(params), j
        j = j + 1 if in_uri else _skip_ws(s, j + 1)
        chars = _PARAMCHAR if in_uri else TOKEN
        k = _span(s, j, chars, "parameter name", escapes=in_uri)
        if k == j:
            raise _Bad("empty parameter name", j)
        name = s[j:k]
        value = None
        m = k if in_uri else _skip_ws(s, k)
        if m < n and s[m] == "=":
            m = m + 1 if in_uri else _skip_ws(s, m + 1)
            if not in_uri and m < n and s[m] == '"':
                value, k = _quoted(s, m)
            else:
                k = _span(s, m, _PARAMCHAR if in_uri else _GENVALUE, "parameter value", escapes=in_uri)
                if k == m:
                    raise _Bad(f"empty value of parameter {name}", m)
                value = s[m:k]
        params.append((name, value))
        i = k


def _get(params, name, default=None):
    low = name.lower()
    for key, value in params:
        if key.lower() == low:
            return value
    return default


def _has(params, name):
    low = name.lower()
    return any(key.lower() == low for key, _ in params)


def _encode_params(params):
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


def _with_param(params, name, value):
    kept = [(k, v) for k, v in params if k.lower() != name.lower()]
    return tuple(kept + [(name, value)])


# ---------------------------------------------------------------------------------------------------------
# URIs (RFC 3261 19.1) and hosts

def _host(s, i, what="host"):
    """Parse host [':' port] at s[i:]; return (host, port or None, end)."""
    n = len(s)
    if i < n and s[i] == "[":
        j = s.find("]", i)
        if j < 0:
            raise _Bad(f"unterminated IPv6 reference in {what}", i)
        inner = s[i + 1:j]
        if not inner or any(c not in "0123456789abcdefABCDEF:." for c in inner) or ":" not in inner:
            raise _Bad(f"bad IPv6 reference in {what}", i)
        host = s[i:j + 1]
        j += 1
    else:
        j = _span(s, i, _HOST, what)
        host = s[i:j]
        if not host or host.startswith(("-", ".")) or ".." in host or "-." in host:
            raise _Bad(f"bad {what}", i)
    port = None
    if j < n and s[j] == ":":
        k = _span(s, j + 1, frozenset("0123456789"), "port")
        if k == j + 1 or k - j - 1 > 5 or int(s[j + 1:k]) > 65535:
            raise _Bad(f"bad port in {what}", j + 1)
        port = int(s[j + 1:k])
        j = k
    return host, port, j


@dataclass(frozen=True)
class URI:
    """A SIP/SIPS URI (user, password, host, port, params, headers kept escaped as on the wire) or any
    other absolute URI (scheme and opaque rest)."""

    scheme: str = "sip"
    user: str = None
    password: str = None
    host: str = ""
    port: int = None
    params: tuple = ()
    headers: tuple = ()
    opaque: str = None  # the part after 'scheme:' of a non-SIP URI

    def param(self, name, default=None):
        """Return the value of a URI parameter (None for a flag), or default when absent."""
        return _get(self.params, name, default)

    def has_param(self, name):
        """Return True when the URI carries the parameter."""
        return _has(self.params, name)

    def __str__(self):
        if self.opaque is not None:
            return f"{self.scheme}:{self.opaque}"
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(self.user)
            if self.password is not None:
                out += [":", self.password]
            out.append("@")
        out.append(self.host)
        if self.port is not None:
            out.append(f":{self.port}")
        out.append(_encode_params(self.params))
        if self.headers:
            out.append("?" + "&".join(f"{k}={v}" for k, v in self.headers))
        return "".join(out)


_URI_BREAKERS = re.compile(r'[ \t\r\n<>"]')
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def _parse_uri(s, start=0):
    """Parse a whole URI string; positions in errors are relative to start."""
    colon = s.find(":")
    if colon <= 0:
        raise _Bad("URI has no scheme", start)
    scheme = s[:colon]
    if not _SCHEME.fullmatch(scheme):
        raise _Bad("bad URI scheme", start)
    rest = s[colon + 1:]
    base = start + colon + 1
    if not rest:
        raise _Bad("empty URI", base)
    bad = _URI_BREAKERS.search(rest)
    if bad is not None:
        raise _Bad("invalid character in URI", base + bad.start())
    if scheme.lower() not in ("sip", "sips"):
        return URI(scheme=scheme, opaque=rest)
    user = password = None
    at = rest.rfind("@")
    i = 0
    if at >= 0:
        userinfo = rest[:at]
        colon = userinfo.find(":")
        user = userinfo if colon < 0 else userinfo[:colon]
        if not user:
            raise _Bad("empty user in URI", base)
        _check_chars(user, base, _USER, "URI user", escapes=True)
        if colon >= 0:
            password = userinfo[colon + 1:]
            _check_chars(password, base + colon + 1, _PASSWORD, "URI password", escapes=True)
        i = at + 1
    try:
        host, port, i = _host(rest, i, "URI host")
        params, i = _params(rest, i, in_uri=True)
        headers = []
        if i < len(rest) and rest[i] == "?":
            for pos, item in _amp_split(rest, i + 1):
                eq = item.find("=")
                if eq <= 0:
                    raise _Bad("bad URI header", pos)
                _check_chars(item[:eq], 0, _HNV, "URI header name", escapes=True)
                _check_chars(item[eq + 1:], 0, _HNV, "URI header value", escapes=True)
                headers.append((item[:eq], item[eq + 1:]))
            i = len(rest)
    except _Bad as bad:
        raise _Bad(str(bad), base + bad.pos) from None
    if i != len(rest):
        raise _Bad(f"unexpected {rest[i]!r} in URI", base + i)
    return URI(scheme=scheme, user=user, password=password, host=host, port=port, params=params,
               headers=tuple(headers))


def _amp_split(s, i):
    out = []
    for piece in s[i:].split("&"):
        out.append((i, piece))
        i += len(piece) + 1
    return out


def _decode(parser, text, element):
    """Run one value parser, turning its syntax error into DecodeError naming element and offset."""
    try:
        return parser(text)
    except _Bad as bad:
        raise DecodeError(str(bad), element=element, offset=bad.pos) from None


def parse_uri(text):
    """Return the URI parsed from text; DecodeError(element='URI') when malformed."""
    return _decode(_parse_uri, text, "URI")


# ---------------------------------------------------------------------------------------------------------
# name-addr / addr-spec (From, To, Contact, Route, Record-Route, Reply-To, ...)

@dataclass(frozen=True)
class Address:
    """A name-addr or addr-spec with header parameters: display name (as on the wire, quotes kept), URI."""

    uri: URI
    display: str = None
    params: tuple = ()
    angle: bool = True

    @property
    def tag(self):
        """Return the tag parameter or None."""
        return _get(self.params, "tag")

    def param(self, name, default=None):
        """Return the value of a header parameter (None for a flag), or default when absent."""
        return _get(self.params, name, default)

    def with_tag(self, tag):
        """Return a copy carrying tag (replacing any tag)."""
        return Address(self.uri, self.display, _with_param(self.params, "tag", tag), self.angle)

    @property
    def display_name(self):
        """Return the display name without quotes and escapes, or None."""
        return None if self.display is None else unquote(self.display)

    def __str__(self):
        if self.angle or self.display is not None:
            head = f"{self.display} <{self.uri}>" if self.display is not None else f"<{self.uri}>"
        else:
            head = str(self.uri)
        return head + _encode_params(self.params)


def _parse_address(s, start=0):
    """Parse one name-addr / addr-spec with params; error positions are offset by start."""
    try:
        return _address(s)
    except _Bad as bad:
        raise _Bad(str(bad), start + bad.pos) from None


def _address(s):
    n = len(s)
    i = _skip_ws(s, 0)
    display = None
    if i < n and s[i] == '"':
        display, i = _quoted(s, i)
        i = _skip_ws(s, i)
        if i >= n or s[i] != "<":
            raise _Bad("expected '<' after display name", i)
    elif "<" in s[i:]:
        lt = s.index("<", i)
        words = s[i:lt].split()
        if words:
            pos = i
            for word in words:
                pos = s.index(word, pos)
                bad = _span(word, 0, TOKEN, "display name")
                if bad != len(word):
                    raise _Bad(f"invalid character {word[bad]!r} in display name", pos + bad)
                pos += len(word)
            display = " ".join(words)
        i = lt
    if i < n and s[i] == "<":
        gt = s.find(">", i)
        if gt < 0:
            raise _Bad("unterminated '<'", i)
        uri = _parse_uri(s[i + 1:gt], i + 1)
        params, end = _params(s, gt + 1)
        angle = True
    else:
        j = i
        while j < n and s[j] not in ";, \t":
            j += 1
        uri = _parse_uri(s[i:j], i)
        if uri.headers:
            raise _Bad("addr-spec with URI headers needs <...>", i)
        params, end = _params(s, j)
        angle = False
    end = _skip_ws(s, end)
    if end != n:
        raise _Bad(f"unexpected {s[end]!r}", end)
    for key, value in params:
        if key.lower() == "tag" and (value is None or value.startswith('"')):
            raise _Bad("bad tag", 0)
    return Address(uri=uri, display=display, params=params, angle=angle)


def parse_address(text):
    """Return the Address parsed from text; DecodeError(element='address') when malformed."""
    return _decode(_parse_address, text, "address")


# ---------------------------------------------------------------------------------------------------------
# Via, CSeq and the scalar headers

@dataclass(frozen=True)
class Via:
    """One Via element: transport, sent-by host and port, parameters (branch, received, rport, maddr...)."""

    transport: str
    host: str
    port: int = None
    params: tuple = ()
    version: str = "2.0"

    @property
    def branch(self):
        """Return the branch parameter or None."""
        return _get(self.params, "branch")

    def param(self, name, default=None):
        """Return the value of a Via parameter (None for a flag), or default when absent."""
        return _get(self.params, name, default)

    def has_param(self, name):
        """Return True when the Via carries the parameter (rport may be a flag)."""
        return _has(self.params, name)

    def with_param(self, name, value):
        """Return a copy with the parameter set (added or replaced)."""
        return Via(self.transport, self.host, self.port, _with_param(self.params, name, value), self.version)

    @property
    def sent_by(self):
        """Return (host lowercased, port or None) used to match transactions."""
        return self.host.lower(), self.port

    def __str__(self):
        port = "" if self.port is None else f":{self.port}"
        return f"SIP/{self.version}/{self.transport} {self.host}{port}{_encode_params(self.params)}"


def _parse_via(s, start=0):
    try:
        return _via(s)
    except _Bad as bad:
        raise _Bad(str(bad), start + bad.pos) from None


def _via(s):
    parts = []
    i = _skip_ws(s, 0)
    for k in range(3):
        j = _span(s, i, TOKEN, "Via protocol")
        if j == i:
            raise _Bad("bad sent-protocol", i)
        parts.append(s[i:j])
        i = _skip_ws(s, j)
        if k < 2:
            if i >= len(s) or s[i] != "/":
                raise _Bad("expected '/' in sent-protocol", i)
            i = _skip_ws(s, i + 1)
    if parts[0].upper() != "SIP":
        raise _Bad("sent-protocol is not SIP", 0)
    host, port, i = _host(s, i, "sent-by")
    params, i = _params(s, i)
    i = _skip_ws(s, i)
    if i != len(s):
        raise _Bad(f"unexpected {s[i]!r} in Via", i)
    for key, value in params:
        if key.lower() in ("branch", "received", "maddr", "ttl") and value is None:
            raise _Bad(f"Via {key} without value", 0)
    return Via(transport=parts[2].upper(), host=host, port=port, params=params, version=parts[1])


@dataclass(frozen=True)
class CSeq:
    """CSeq: sequence number and method."""

    number: int
    method: str

    def __str__(self):
        return f"{self.number} {self.method}"


def _parse_cseq(s, start=0):
    i = _skip_ws(s, 0)
    j = _span(s, i, frozenset("0123456789"), "CSeq")
    if j == i:
        raise _Bad("CSeq has no number", start + i)
    number = int(s[i:j])
    if number > MAX_CSEQ:
        raise _Bad("CSeq number above 2**31 - 1", start + i)
    k = _skip_ws(s, j)
    if k == j:
        raise _Bad("CSeq needs a space before the method", start + j)
    m = _span(s, k, TOKEN, "CSeq method")
    if m == k or _skip_ws(s, m) != len(s):
        raise _Bad("bad CSeq method", start + k)
    return CSeq(number, s[k:m])


def _parse_int(s, start, limit, what):
    text = s.strip(_WS)
    if not text or any(c not in "0123456789" for c in text):
        raise _Bad(f"{what} is not a number", start)
    value = int(text) if len(text) < 12 else limit + 1
    if value > limit:
        raise _Bad(f"{what} above {limit}", start)
    return value


def _parse_call_id(s, start=0):
    text = s.strip(_WS)
    if not text:
        raise _Bad("empty Call-ID", start)
    _check_chars(text.replace("@", "", 1), start, _WORD, "Call-ID")
    return text


# ---------------------------------------------------------------------------------------------------------
# Headers and messages

class Headers:
    """Ordered header entries (canonical name, value); lookups are case-insensitive and accept compact forms."""

    __slots__ = ("_items",)

    def __init__(self, items=()):
        self._items = [(canonical_name(name), str(value)) for name, value in items]

    @classmethod
    def trusted(cls, items):
        """Return Headers over (canonical name, text value) pairs the parser has already normalised."""
        h = cls()
        h._items = items
        return h

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)

    def __contains__(self, name):
        key = canonical_name(name)
        return any(n == key for n, _ in self._items)

    def __eq__(self, other):
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self):
        return f"Headers({self._items!r})"

    def get(self, name, default=None):
        """Return the first value of header name, or default."""
        key = canonical_name(name)
        for n, v in self._items:
            if n == key:
                return v
        return default

    def get_all(self, name):
        """Return every value of header name, in order."""
        key = canonical_name(name)
        return [v for n, v in self._items if n == key]

    def add(self, name, value):
        """Append one value."""
        self._items.append((canonical_name(name), str(value)))

    def set(self, name, value):
        """Replace every value of name by one value at the first one's place (appended when absent)."""
        key = canonical_name(name)
        out = []
        placed = False
        for n, v in self._items:
            if n == key:
                if not placed:
                    out.append((key, str(value)))
                    placed = True
            else:
                out.append((n, v))
        if not placed:
            out.append((key, str(value)))
        self._items = out

    def replace_first(self, name, value):
        """Replace the first value of name only (a top Via), keeping the others in place; appended when absent."""
        key = canonical_name(name)
        for i, (n, _) in enumerate(self._items):
            if n == key:
                self._items[i] = (key, str(value))
                return
        self._items.append((key, str(value)))

    def remove(self, name):
        """Remove every value of name; returns how many there were."""
        key = canonical_name(name)
        before = len(self._items)
        self._items = [(n, v) for n, v in self._items if n != key]
        return before - len(self._items)

    def prepend(self, name, value):
        """Insert one value before every other header (a proxy's or client's new top Via)."""
        self._items.insert(0, (canonical_name(name), str(value)))

    def copy(self):
        """Return an independent copy."""
        h = Headers()
        h._items = list(self._items)
        return h


def _typed(parser, message, name):
    value = message.headers.get(name)
    return None if value is None else _decode(parser, value, name)


@dataclass(eq=False)
class Message:
    """Fields common to requests and responses: headers and body (bytes)."""

    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @property
    def via(self):
        """Return every Via, top first."""
        return [_parse_via_value(v) for v in self.headers.get_all("Via")]

    @property
    def top_via(self):
        """Return the top Via or None."""
        return _typed(_parse_via, self, "Via")

    @property
    def from_(self):
        """Return the From address."""
        return _typed(_parse_address, self, "From")

    @property
    def to(self):
        """Return the To address."""
        return _typed(_parse_address, self, "To")

    @property
    def call_id(self):
        """Return the Call-ID text."""
        value = self.headers.get("Call-ID")
        return None if value is None else value.strip()

    @property
    def cseq(self):
        """Return the CSeq."""
        return _typed(_parse_cseq, self, "CSeq")

    @property
    def max_forwards(self):
        """Return Max-Forwards as an int, or None."""
        return _typed(lambda s: _parse_int(s, 0, 255, "Max-Forwards"), self, "Max-Forwards")

    @property
    def contact(self):
        """Return the Contact addresses (an empty list when absent; ['*'] for a wildcard)."""
        values = self.headers.get_all("Contact")
        if values == ["*"]:
            return ["*"]
        return [_parse_address_value(v, "Contact") for v in values]

    @property
    def route(self):
        """Return the Route addresses."""
        return [_parse_address_value(v, "Route") for v in self.headers.get_all("Route")]

    @property
    def record_route(self):
        """Return the Record-Route addresses."""
        return [_parse_address_value(v, "Record-Route") for v in self.headers.get_all("Record-Route")]

    @property
    def content_type(self):
        """Return the Content-Type value (lowercased media type without parameters) or None."""
        value = self.headers.get("Content-Type")
        return None if value is None else value.split(";")[0].strip().lower()

    def _head_lines(self):
        lines = [self.start_line()]
        has_length = False
        for name, value in self.headers:
            if name == "Content-Length":
                has_length = True
                value = str(len(self.body))
            lines.append(f"{name}: {value}")
        if not has_length:
            lines.append(f"Content-Length: {len(self.body)}")
        return lines

    def encode(self):
        """Return the message as bytes (Content-Length set to the body's length, added when absent)."""
        head = "\r\n".join(self._head_lines()) + "\r\n\r\n"
        return head.encode("utf-8", "surrogateescape") + self.body


def _parse_via_value(value):
    return _decode(_parse_via, value, "Via")


def _parse_address_value(value, name):
    return _decode(_parse_address, value, name)


@dataclass(eq=False)
class Request(Message):
    """A SIP request: method, Request-URI, headers, body."""

    method: str = "OPTIONS"
    uri: URI = None

    def start_line(self):
        """Return the request line without CRLF."""
        return f"{self.method} {self.uri} SIP/2.0"

    def __repr__(self):
        return f"Request({self.method} {self.uri}, {len(self.headers)} headers, {len(self.body)} body bytes)"


@dataclass(eq=False)
class Response(Message):
    """A SIP response: status code, reason phrase, headers, body."""

    status: int = 200
    reason: str = "OK"

    def start_line(self):
        """Return the status line without CRLF."""
        return f"SIP/2.0 {self.status} {self.reason}"

    def __repr__(self):
        return f"Response({self.status} {self.reason}, {len(self.headers)} headers, {len(self.body)} body bytes)"


REASONS = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued", 183: "Session Progress",
    200: "OK", 202: "Accepted", 300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    407: "Proxy Authentication Required", 408: "Request Timeout", 415: "Unsupported Media Type",
    420: "Bad Extension", 480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    482: "Loop Detected", 483: "Too Many Hops", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 500: "Server Internal Error", 501: "Not Implemented", 503: "Service Unavailable",
    504: "Server Time-out", 505: "Version Not Supported", 600: "Busy Everywhere", 603: "Decline",
}

# ---------------------------------------------------------------------------------------------------------
# Parsing

_TYPED = {
    "Via": _parse_via, "From": _parse_address, "To": _parse_address, "Contact": _parse_address,
    "Route": _parse_address, "Record-Route": _parse_address, "CSeq": _parse_cseq, "Call-ID": _parse_call_id,
    "Max-Forwards": lambda s, start: _parse_int(s, start, 255, "Max-Forwards"),
    "Content-Length": lambda s, start: _parse_int(s, start, 2 ** 31, "Content-Length"),
    "Expires": lambda s, start: _parse_int(s, start, 2 ** 32 - 1, "Expires"),
}


def _start_line(line):
    """Return (kind, fields) from the start line; raises _Bad with the position."""
    if line.startswith("SIP/"):
        if not line.startswith("SIP/2.0 "):
            raise _Bad("unsupported SIP version", 0)
        code = line[8:11]
        if len(code) != 3 or not code.isdigit() or code[0] == "0" or (len(line) > 11 and line[11] != " "):
            raise _Bad("bad status code", 8)
        reason = line[12:]
        if any(c in "\r\n" for c in reason):
            raise _Bad("bad reason phrase", 12)
        return "response", (int(code), reason)
    sp1 = line.find(" ")
    if sp1 <= 0:
        raise _Bad("bad request line", 0)
    method = line[:sp1]
    bad = _span(method, 0, TOKEN, "method")
    if bad != len(method):
        raise _Bad(f"invalid character {method[bad]!r} in method", bad)
    sp2 = line.rfind(" ")
    if sp2 == sp1:
        raise _Bad("request line has no SIP version", len(line))
    version = line[sp2 + 1:]
    if not version.startswith("SIP/") or version[4:].count(".") != 1:
        raise _Bad("bad SIP version", sp2 + 1)
    if version != "SIP/2.0":
        raise _Bad("unsupported SIP version", sp2 + 1)
    uri_text = line[sp1 + 1:sp2]
    if not uri_text or " " in uri_text or "\t" in uri_text:
        raise _Bad("whitespace inside the Request-URI", sp1 + 1)
    uri = _parse_uri(uri_text, sp1 + 1)
    if uri.headers:
        raise _Bad("Request-URI must not carry headers", sp1 + 1)
    return "request", (method, uri)


def _head_end(data, start):
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        raise DecodeError("no empty line after the headers", element="headers", offset=len(data))
    return end


def _skip_crlf(data, start=0):
    while data.startswith(b"\r\n", start):
        start += 2
    return start


def _parse_head(data, start, end):
    """Parse the start line and headers in data[start:end]; return (message without body, content-length)."""
    text = data[start:end].decode("latin-1")
    pos = 0
    line_end = text.find("\r\n")
    if line_end < 0:
        line_end = len(text)
    try:
        kind, fields = _start_line(text[:line_end])
    except _Bad as bad:
        raise DecodeError(str(bad), element="start line", offset=start + bad.pos) from None
    if kind == "request":
        msg = Request(method=fields[0], uri=fields[1])
    else:
        msg = Response(status=fields[0], reason=_text(fields[1]))
    items = []
    seen = {}
    pos = line_end + 2
    while pos < len(text):
        nxt = text.find("\r\n", pos)
        if nxt < 0:
            nxt = len(text)
        line_start = pos
        folded = False
        while nxt + 2 < len(text) and text[nxt + 2] in _WS:
            folded = True
            nxt = text.find("\r\n", nxt + 2)
            if nxt < 0:
                nxt = len(text)
        raw = text[line_start:nxt]
        pos = nxt + 2
        where = start + line_start
        if raw[:1] in _WS:
            raise DecodeError("header line starts with whitespace", element="headers", offset=where)
        colon = raw.find(":")
        name = raw[:colon].rstrip(_WS) if colon > 0 else ""
        if not name or _span(name, 0, TOKEN, "header name") != len(name):
            raise DecodeError("bad header name", element=raw[:20] or "headers", offset=where)
        inner = raw.replace("\r\n", "") if folded else raw
        if "\r" in inner or "\n" in inner:
            raise DecodeError("bare CR or LF in header", element=canonical_name(name), offset=where)
        value = raw[colon + 1:]
        if folded:
            value = " ".join(piece.strip(_WS) for piece in value.split("\r\n"))
        lead = len(value) - len(value.lstrip(_WS))
        value = value.strip(_WS)
        vstart = where if folded else where + colon + 1 + lead
        cname = canonical_name(name)
        low = cname.lower()
        seen[low] = seen.get(low, 0) + 1
        if seen[low] > 1 and low in SINGLE_HEADERS:
            raise DecodeError("header appears more than once", element=cname, offset=where)
        try:
            pieces = split_list(value) if low in LIST_HEADERS else [(0, value)]
        except _Bad as bad:
            raise DecodeError(str(bad), element=cname, offset=vstart + bad.pos) from None
        if low == "contact" and value == "*":
            pieces = [(0, "*")]
        parser = _TYPED.get(cname)
        if parser is not None and not pieces:
            raise DecodeError("empty value", element=cname, offset=vstart)
        for off, piece in pieces:
            if parser is not None and not (low == "contact" and piece == "*"):
                try:
                    parser(piece, 0)
                except _Bad as bad:
                    at = where if folded else vstart + off + bad.pos
                    raise DecodeError(str(bad), element=cname, offset=at) from None
            items.append((cname, _text(piece)))
    msg.headers = Headers.trusted(items)
    for name in REQUIRED_HEADERS:
        if name.lower() not in seen:
            raise DecodeError("mandatory header missing", element=name, offset=end)
    if "*" in msg.headers.get_all("Contact") and len(msg.headers.get_all("Contact")) > 1:
        raise DecodeError("wildcard Contact with other contacts", element="Contact", offset=start)
    if kind == "request" and msg.cseq.method != msg.method:
        raise DecodeError("CSeq method differs from the request method", element="CSeq", offset=start)
    length = msg.headers.get("Content-Length")
    return msg, (None if length is None else int(length))


def _text(latin):
    if latin.isascii():
        return latin
    return latin.encode("latin-1").decode("utf-8", "surrogateescape")


def parse_message(data, datagram=True):
    """Return the Request or Response in data (one UDP datagram when datagram is True, RFC 18.3 framing:
    a shorter body is an error, extra bytes are dropped; without datagram the bytes must be exactly one
    message). Raises DecodeError naming the element and byte offset for anything malformed."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("parse_message takes bytes")
    data = bytes(data)
    start = _skip_crlf(data)
    if len(data) - start > MAX_HEADER_BYTES and data.find(b"\r\n\r\n", start, start + MAX_HEADER_BYTES) < 0:
        raise DecodeError("header block too large", element="headers", offset=start)
    end = _head_end(data, start)
    msg, length = _parse_head(data, start, end)
    body_start = end + 4
    available = len(data) - body_start
    if length is None:
        if not datagram:
            raise DecodeError("Content-Length missing on a stream", element="Content-Length", offset=end)
        length = available
    if length > available:
        raise DecodeError(f"body shorter than Content-Length {length}", element="Content-Length",
                          offset=len(data))
    if not datagram and length < available:
        raise DecodeError("bytes after the body", element="body", offset=body_start + length)
    msg.body = data[body_start:body_start + length]
    return msg


class StreamFramer:
    """Cuts SIP messages out of a byte stream (TCP/TLS) by Content-Length, keeping partial data between feeds.

    ``feed(data)`` returns the messages completed so far. CRLF keep-alives between messages (RFC 5626 3.5.1)
    are skipped; ``pings`` counts the double-CRLF pings among them, which the reader answers with a CRLF pong. A malformed message raises DecodeError with the offset counted from the stream's start;
    the stream cannot be resynchronised after that, so the caller closes the connection.
    """

    def __init__(self, max_header=MAX_HEADER_BYTES, max_body=1 << 20):
        self._buf = bytearray()
        self._consumed = 0  # stream bytes dropped from the front of _buf
        self._crlfs = 0  # CRLFs skipped since the last message (two make a ping)
        self.pings = 0  # RFC 5626 pings (CRLF CRLF) seen and not yet answered; the reader resets it
        self.max_header = max_header
        self.max_body = max_body

    @property
    def pending(self):
        """Return how many bytes wait for the rest of a message."""
        return len(self._buf)

    def feed(self, data):
        """Add bytes; return the list of complete messages now available."""
        self._buf += data
        out = []
        while True:
            start = _skip_crlf(self._buf)
            if start:
                del self._buf[:start]
                self._consumed += start
                self._crlfs += start // 2
                self.pings += self._crlfs // 2
                self._crlfs %= 2
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > self.max_header:
                    raise DecodeError("header block too large", element="headers", offset=self._consumed)
                return out
            head = bytes(self._buf[:end])
            try:
                msg, length = _parse_head(head + b"\r\n\r\n", 0, end)
            except DecodeError as err:
                raise DecodeError(str(err).split(": ", 1)[-1], element=err.element,
                                  offset=self._consumed + (err.offset or 0)) from None
            if length is None:
                raise DecodeError("Content-Length missing on a stream", element="Content-Length",
                                  offset=self._consumed + end)
            if length > self.max_body:
                raise DecodeError("body too large", element="Content-Length", offset=self._consumed + end)
            total = end + 4 + length
            if len(self._buf) < total:
                return out
            msg.body = bytes(self._buf[end + 4:total])
            del self._buf[:total]
            self._consumed += total
            self._crlfs = 0
            out.append(msg)


def bad_request_response(data, error):
    """Return the 400 Bad Request (RFC 3261 8.2, 16.3) for a request that did not parse, built from its raw
    Via, From, To, Call-ID and CSeq lines, with a Warning naming what was wrong; None when data is not a
    request or lacks those lines (nothing can carry a response back then)."""
    start = _skip_crlf(data)
    end = data.find(b"\r\n\r\n", start)
    text = data[start:end if end >= 0 else len(data)].decode("utf-8", "replace")
    lines = text.split("\r\n")
    if not lines or lines[0].startswith(("SIP/", "ACK ")) or " " not in lines[0]:
        return None  # a response, or an ACK (never answered, RFC 3261 17.2.1)
    wanted = {"Via": [], "From": [], "To": [], "Call-ID": [], "CSeq": []}
    last = None
    for line in lines[1:]:
        if line[:1] in _WS and last is not None:
            last.append(last.pop() + " " + line.strip())
            continue
        last = None
        name, colon, value = line.partition(":")
        name = canonical_name(name.strip()) if colon else ""
        if name in wanted:
            last = wanted[name]
            last.append(value.strip())
    if not all(wanted.values()) or any(c in v for v in wanted["Via"] for c in "\r\n"):
        return None
    h = Headers()
    for name, values in wanted.items():
        for value in values if name == "Via" else values[:1]:
            h.add(name, value)
    detail = str(error).replace("\\", "\\\\").replace('"', '\\"')
    h.add("Warning", f'399 pycallcenter "{detail}"')
    h.add("Content-Length", 0)
    return Response(headers=h, status=400, reason="Bad Request")


# ---------------------------------------------------------------------------------------------------------
# Building

def make_request(method, uri, *, via, from_, to, call_id, cseq, contact=None, max_forwards=70, headers=(),
                 body=b"", content_type=None):
    """Return a Request with the mandatory headers of RFC 3261 8.1.1 in the usual order."""
    if isinstance(uri, str):
        uri = parse_uri(uri)
    h = Headers()
    for v in (via if isinstance(via, (list, tuple)) else [via]):
        h.add("Via", v)
    h.add("Max-Forwards", max_forwards)
    h.add("From", from_)
    h.add("To", to)
    h.add("Call-ID", call_id)
    h.add("CSeq", CSeq(cseq, method) if isinstance(cseq, int) else cseq)
    if contact is not None:
        h.add("Contact", contact)
    for name, value in headers:
        h.add(name, value)
    if content_type is not None:
        h.add("Content-Type", content_type)
    h.add("Content-Length", len(body))
    return Request(headers=h, body=bytes(body), method=method, uri=uri)


def make_response(request, status, reason=None, *, to_tag=None, headers=(), body=b"", content_type=None):
    """Return the response to request with Via, From, To (tag added when given and absent), Call-ID and CSeq
    copied as RFC 3261 8.2.6.2 asks."""
    h = Headers()
    for value in request.headers.get_all("Via"):
        h.add("Via", value)
    h.add("From", request.headers.get("From"))
    to = request.headers.get("To")
    if to_tag is not None and request.to.tag is None:
        to = str(request.to.with_tag(to_tag))
    h.add("To", to)
    h.add("Call-ID", request.headers.get("Call-ID"))
    h.add("CSeq", request.headers.get("CSeq"))
    for name, value in headers:
        h.add(name, value)
    if content_type is not None:
        h.add("Content-Type", content_type)
    h.add("Content-Length", len(body))
    return Response(headers=h, body=bytes(body), status=status,
                    reason=REASONS.get(status, "Unknown") if reason is None else reason)
