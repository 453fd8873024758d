"""SDP (RFC 4566) parse and build, and the offer/answer rules of RFC 3264 for our audio codecs.

A description is kept line by line where it matters (v, o, s, c, t, m, a) and every other line (i, u, e,
p, b, z, k, r) is kept in order so a description rebuilds byte for byte. Malformed input raises
``DecodeError(element='line N (x=)', offset=<byte offset of that line>)``.

Offer/answer: ``answer(offer, ...)`` accepts each audio stream whose offer shares a voice codec with ours
(PCMU 0, PCMA 8, G722 9 when configured; CN 13, telephone-event under the offerer's dynamic number), keeps
the offerer's order (RFC 3264 6.1's recommendation),
rejects every other stream with port 0 (RFC 3264 6), and mirrors the direction (sendonly -> recvonly,
recvonly -> sendonly, inactive -> inactive; RFC 3264 6.1). ``hold`` and ``resume`` make the re-offers of
RFC 3264 8.4.
"""
from dataclasses import dataclass, field, replace

from pycallcenter.errors import DecodeError
from pycallcenter.media.srtp import SUITES as SRTP_SUITES

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_MIRROR = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}
_SESSION_ORDER = "vosiuepcbtrzkam"
_MEDIA_ORDER = "icbka"


@dataclass(frozen=True)
class Codec:
    """An RTP payload format: encoding name, clock rate, payload type (None: pick a dynamic one), fmtp."""

    name: str
    clock: int = 8000
    pt: int = None
    fmtp: str = None
    channels: int = None

    def rtpmap(self, pt):
        """Return the rtpmap attribute value for this codec under payload type pt."""
        tail = f"/{self.channels}" if self.channels else ""
        return f"{pt} {self.name}/{self.clock}{tail}"


PCMU = Codec("PCMU", 8000, 0)
PCMA = Codec("PCMA", 8000, 8)
G722 = Codec("G722", 8000, 9)  # sampled at 16 kHz, but its RTP clock rate is 8000 (RFC 3551 4.5.2)
CN = Codec("CN", 8000, 13)
TELEPHONE_EVENT = Codec("telephone-event", 8000, None, "0-16")
OUR_CODECS = (PCMU, PCMA, TELEPHONE_EVENT, CN)
VOICE_CODECS = {c.name: c for c in (PCMU, PCMA, G722)}
_VOICE = frozenset(VOICE_CODECS)
_STATIC = {0: ("PCMU", 8000), 8: ("PCMA", 8000), 13: ("CN", 8000), 3: ("GSM", 8000), 4: ("G723", 8000),
           9: ("G722", 8000), 18: ("G729", 8000)}


@dataclass(frozen=True)
class Crypto:
    """An SDES crypto attribute (RFC 4568 9.1): tag, suite, key parameters, session parameters."""

    tag: int
    suite: str
    key_params: str
    session_params: str = None

    def __str__(self):
        tail = f" {self.session_params}" if self.session_params else ""
        return f"{self.tag} {self.suite} {self.key_params}{tail}"


@dataclass
class Media:
    """One m= section: media, port, proto, formats, its c= line, its attributes and other lines in order."""

    media: str = "audio"
    port: int = 0
    proto: str = "RTP/AVP"
    formats: list = field(default_factory=list)
    port_count: int = None
    connection: str = None
    attributes: list = field(default_factory=list)  # [(name, value or None)]
    other: list = field(default_factory=list)  # [(type, value)] for i, b, k

    def attr(self, name):
        """Return the first value of attribute name ('' for a flag), or None when absent."""
        for key, value in self.attributes:
            if key == name:
                return "" if value is None else value
        return None

    def attrs(self, name):
        """Return every value of attribute name."""
        return [v for k, v in self.attributes if k == name]

    @property
    def direction(self):
        """Return sendrecv, sendonly, recvonly or inactive (sendrecv when no attribute says, RFC 3264 5.1)."""
        for key, _ in self.attributes:
            if key in DIRECTIONS:
                return key
        return "sendrecv"

    @property
    def rtpmap(self):
        """Return {payload type: (encoding name, clock rate)} from rtpmap lines and the static table."""
        out = {}
        for fmt in self.formats:
            if fmt.isdigit() and int(fmt) in _STATIC:
                out[int(fmt)] = _STATIC[int(fmt)]
        for value in self.attrs("rtpmap"):
            pt, _, enc = value.partition(" ")
            name, _, rest = enc.partition("/")
            clock = rest.split("/")[0]
            out[int(pt)] = (name, int(clock) if clock else None)
        return out

    @property
    def fmtp(self):
        """Return {payload type: format parameters}."""
        out = {}
        for value in self.attrs("fmtp"):
            pt, _, params = value.partition(" ")
            out[int(pt)] = params
        return out

    @property
    def ptime(self):
        """Return the packet time in ms, or None."""
        value = self.attr("ptime")
        return None if value is None else float(value)

    @property
    def crypto(self):
        """Return the SDES crypto attributes."""
        out = []
        for value in self.attrs("crypto"):
            parts = value.split(" ", 3)
            out.append(Crypto(int(parts[0]), parts[1], parts[2], parts[3] if len(parts) > 3 else None))
        return out

    def lines(self):
        """Return this section's lines without line ends."""
        count = f"/{self.port_count}" if self.port_count is not None else ""
        out = [f"m={self.media} {self.port}{count} {self.proto} {' '.join(self.formats)}".rstrip()]
        out += [f"{t}={v}" for t, v in self.other if t == "i"]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += [f"{t}={v}" for t, v in self.other if t in "bk"]
        out += [f"a={k}" if v is None else f"a={k}:{v}" for k, v in self.attributes]
        return out


@dataclass
class SessionDescription:
    """A whole SDP body: origin fields, session name, connection, times, attributes, media sections."""

    username: str = "-"
    session_id: int = 0
    session_version: int = 0
    address: str = "0.0.0.0"
    addrtype: str = "IP4"
    name: str = "-"
    connection: str = None
    times: list = field(default_factory=lambda: ["0 0"])
    attributes: list = field(default_factory=list)
    media: list = field(default_factory=list)
    other: list = field(default_factory=list)  # [(type, value)] for i, u, e, p, b, z, k, r

    def attr(self, name):
        """Return the first session-level value of attribute name ('' for a flag), or None."""
        for key, value in self.attributes:
            if key == name:
                return "" if value is None else value
        return None

    def connection_address(self, media):
        """Return the connection address that applies to a media section (its own c= or the session's)."""
        text = media.connection or self.connection
        return None if text is None else text.split()[2].split("/")[0]

    def encode(self):
        """Return the description as bytes with CRLF line ends."""
        out = ["v=0", f"o={self.username} {self.session_id} {self.session_version} IN {self.addrtype} {self.address}",
               f"s={self.name}"]
        out += [f"{t}={v}" for t, v in self.other if t in "iuep"]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += [f"{t}={v}" for t, v in self.other if t == "b"]
        out += [f"t={t}" for t in self.times]
        out += [f"{t}={v}" for t, v in self.other if t == "r"]  # repeat times follow the timing lines
        out += [f"{t}={v}" for t, v in self.other if t in "zk"]
        out += [f"a={k}" if v is None else f"a={k}:{v}" for k, v in self.attributes]
        for m in self.media:
            out += m.lines()
        return ("\r\n".join(out) + "\r\n").encode("utf-8")


def _fail(message, number, kind, offset):
    raise DecodeError(message, element=f"line {number} ({kind}=)", offset=offset)


def _check_connection(value, number, offset):
    parts = value.split(" ")
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6") or not parts[2]:
        _fail("bad connection data", number, "c", offset)


def _int(text, number, kind, offset, what):
    if not text.isdigit():
        _fail(f"{what} is not a number", number, kind, offset)
    return int(text)


def parse_sdp(data):
    """Return the SessionDescription in data (bytes); DecodeError names the line and its byte offset."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as err:
        raise DecodeError("not UTF-8", element="SDP", offset=err.start) from None
    sd = SessionDescription(times=[])
    media = None
    offset = 0
    state = 0  # index into _SESSION_ORDER reached so far
    raw_lines = text.split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()
    for number, raw in enumerate(raw_lines, 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        here = offset
        offset += len(raw.encode("utf-8")) + 1
        if len(line) < 2 or line[1] != "=" or not line[0].isalpha() or not line[0].islower():
            _fail("not a type=value line", number, line[:1] or "?", here)
        kind, value = line[0], line[2:]
        if number == 1 and (kind != "v" or value != "0"):
            _fail("SDP must start with v=0", number, kind, here)
        if kind == "m":
            media = _parse_m(value, number, here)
            sd.media.append(media)
            continue
        if media is not None:
            if kind not in _MEDIA_ORDER:
                _fail("line type not allowed in a media section", number, kind, here)
            if kind == "c":
                _check_connection(value, number, here)
                media.connection = value
            elif kind == "a":
                media.attributes.append(_parse_a(value, number, here))
            else:
                media.other.append((kind, value))
            continue
        if kind not in _SESSION_ORDER:
            _fail("unknown line type", number, kind, here)
        position = _SESSION_ORDER.index(kind)
        if position < state and not (kind == "t" and state <= position + 1):
            _fail("line out of order", number, kind, here)
        state = max(state, position)
        if kind == "v":
            if number != 1:
                _fail("second v= line", number, kind, here)
        elif kind == "o":
            parts = value.split(" ")
            if len(parts) != 6 or parts[3] != "IN":
                _fail("bad origin", number, kind, here)
            sd.username, sid, ver, _, sd.addrtype, sd.address = parts
            sd.session_id = _int(sid, number, kind, here, "session id")
            sd.session_version = _int(ver, number, kind, here, "session version")
        elif kind == "s":
            sd.name = value
        elif kind == "c":
            _check_connection(value, number, here)
            sd.connection = value
        elif kind == "t":
            parts = value.split(" ")
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                _fail("bad timing", number, kind, here)
            sd.times.append(value)
        elif kind == "a":
            sd.attributes.append(_parse_a(value, number, here))
        elif kind == "r":
            if not sd.times:
                _fail("r= before t=", number, kind, here)
            sd.other.append(("r", value))
        else:
            sd.other.append((kind, value))
    if not raw_lines:
        raise DecodeError("empty SDP", element="SDP", offset=0)
    for required, seen in (("o", _has_line(raw_lines, "o=")), ("s", _has_line(raw_lines, "s=")),
                           ("t", bool(sd.times))):
        if not seen:
            raise DecodeError(f"{required}= line missing", element=f"{required}=", offset=len(data))
    for m in sd.media:
        if m.port != 0 and m.connection is None and sd.connection is None:
            raise DecodeError("media without connection data", element="c=", offset=len(data))
    return sd


def _has_line(lines, prefix):
    return any(line.startswith(prefix) for line in lines)


def _parse_m(value, number, offset):
    parts = value.split(" ")
    if len(parts) < 3 or "" in parts:
        _fail("bad media line (fields are separated by one space)", number, "m", offset)
    port_text, _, count = parts[1].partition("/")
    port = _int(port_text, number, "m", offset, "port")
    if port > 65535:
        _fail("port above 65535", number, "m", offset)
    formats = [f for f in parts[3:]]
    if parts[2].startswith("RTP/") and any(not f.isdigit() or int(f) > 127 for f in formats):
        _fail("bad RTP payload type", number, "m", offset)
    return Media(media=parts[0], port=port, proto=parts[2], formats=formats,
                 port_count=_int(count, number, "m", offset, "port count") if count else None)


def _parse_a(value, number, offset):
    name, colon, rest = value.partition(":")
    if not name:
        _fail("empty attribute", number, "a", offset)
    if name in ("rtpmap", "fmtp"):
        pt, _, tail = rest.partition(" ")
        if not pt.isdigit() or not tail:
            _fail(f"bad {name}", number, "a", offset)
        if name == "rtpmap":
            enc = tail.split("/")
            # RFC 4566 asks for a clock rate; RFC 4475's torture SDP omits it, so only a present one is checked
            if not enc[0] or (len(enc) > 1 and not enc[1].isdigit()):
                _fail("bad rtpmap encoding", number, "a", offset)
    elif name == "ptime":
        try:
            float(rest)
        except ValueError:
            _fail("bad ptime", number, "a", offset)
    elif name == "rtcp":
        if not rest.split(" ")[0].isdigit():
            _fail("bad rtcp port", number, "a", offset)
    elif name == "crypto":
        parts = rest.split(" ")
        if len(parts) < 3 or not parts[0].isdigit() or not parts[2].startswith("inline:"):
            _fail("bad crypto attribute", number, "a", offset)
    return name, (rest if colon else None)


# ---------------------------------------------------------------------------------------------------------
# Offer / answer

def _dynamic_pt(used):
    for pt in range(101, 128):
        if pt not in used:
            return pt
    for pt in range(96, 101):
        if pt not in used:
            return pt
    raise ValueError("no free dynamic payload type")


def audio_media(port, codecs=OUR_CODECS, direction="sendrecv", ptime=20):
    """Return an audio m= section offering codecs (dynamic ones numbered from 101)."""
    m = Media(media="audio", port=port, proto="RTP/AVP")
    used = {c.pt for c in codecs if c.pt is not None}
    for codec in codecs:
        pt = codec.pt if codec.pt is not None else _dynamic_pt(used)
        used.add(pt)
        m.formats.append(str(pt))
        m.attributes.append(("rtpmap", codec.rtpmap(pt)))
        if codec.fmtp:
            m.attributes.append(("fmtp", f"{pt} {codec.fmtp}"))
    if ptime:
        m.attributes.append(("ptime", str(ptime)))
    m.attributes.append((direction, None))
    return m


def make_offer(address, port, codecs=OUR_CODECS, direction="sendrecv", session_id=1, version=1):
    """Return a SessionDescription offering one audio stream from address:port."""
    kind = "IP6" if ":" in address else "IP4"
    return SessionDescription(session_id=session_id, session_version=version, address=address, addrtype=kind,
                              connection=f"IN {kind} {address}", media=[audio_media(port, codecs, direction)])


def _matches(codec, name, clock):
    return codec.name.lower() == name.lower() and codec.clock == clock


def answer(offer, address, port, codecs=OUR_CODECS, session_id=1, version=1, srtp="off", crypto=None):
    """Return our answer (RFC 3264 6) to an offer: the first audio stream we may take (``srtp_choice``) that
    shares a voice codec is accepted on port with the common codecs in the offerer's order and the mirrored
    direction; every other stream is rejected with port 0. When the stream is taken with SRTP and crypto
    (our "SUITE inline:KEY" value) is given, the answer carries it under the offer's tag (RFC 4568 5.1.2)."""
    kind = "IP6" if ":" in address else "IP4"
    out = SessionDescription(session_id=session_id, session_version=version, address=address, addrtype=kind,
                             connection=f"IN {kind} {address}")
    used_port = False
    for m in offer.media:
        accepted = None
        chosen = srtp_choice(m, srtp) if m.media == "audio" and m.port != 0 and not used_port else False
        if chosen is not False:
            accepted = _accept_audio(offer, m, port, codecs)
        if accepted is not None:
            accepted.proto = m.proto
            if chosen is not None and crypto is not None:
                suite, _, key = crypto.partition(" ")
                accepted.attributes.insert(0, ("crypto", str(Crypto(chosen.tag, chosen.suite, key))))
        if accepted is None:
            out.media.append(Media(media=m.media, port=0, proto=m.proto, formats=list(m.formats)))
        else:
            used_port = True
            out.media.append(accepted)
    return out


def srtp_choice(m, policy):
    """Return how an offered audio stream may be taken under an SRTP policy ("off", "offer", "require"): the
    Crypto attribute to answer with (the first whose suite libsrtp gives us), None for plain RTP, or False
    when it may not be taken at all. RTP/SAVP needs a usable key; plain RTP/AVP is refused only by "require";
    an RTP/AVP offer carrying keys (best-effort SRTP) gets SRTP unless the policy is "off"."""
    if m.proto not in ("RTP/AVP", "RTP/SAVP"):
        return False
    usable = next((c for c in m.crypto if c.suite in SRTP_SUITES and c.key_params.startswith("inline:")), None)
    if m.proto == "RTP/SAVP":
        return usable if usable is not None and policy != "off" else False
    if policy == "off":
        return None
    if usable is None:
        return False if policy == "require" else None
    return usable


def secure(m, crypto, policy):
    """Return an offered m= section made secure under an SRTP policy: "offer" adds our key to RTP/AVP
    (best-effort, the answer decides), "require" makes it RTP/SAVP with our key; "off" leaves it as it is."""
    if policy == "off":
        return m
    proto = "RTP/SAVP" if policy == "require" else m.proto
    suite, _, key = crypto.partition(" ")
    return replace(m, proto=proto, attributes=[("crypto", str(Crypto(1, suite, key)))] + list(m.attributes))


def _accept_audio(offer, m, port, codecs):
    rtpmap = m.rtpmap
    fmtp = m.fmtp
    chosen = []
    for fmt in m.formats:
        pt = int(fmt)
        if pt not in rtpmap:
            continue
        name, clock = rtpmap[pt]
        for codec in codecs:
            if _matches(codec, name, clock) and all(c.name != codec.name for _, c in chosen):
                chosen.append((pt, codec))
                break
    if not any(c.name in _VOICE for _, c in chosen):
        return None
    a = Media(media="audio", port=port, proto="RTP/AVP", formats=[str(pt) for pt, _ in chosen])
    for pt, codec in chosen:
        a.attributes.append(("rtpmap", codec.rtpmap(pt)))
        if codec.name == "telephone-event":
            a.attributes.append(("fmtp", f"{pt} {fmtp.get(pt, codec.fmtp)}"))
    ptime = m.ptime
    a.attributes.append(("ptime", str(int(ptime) if ptime and ptime == int(ptime) else ptime or 20)))
    direction = m.direction
    if offer.connection_address(m) in ("0.0.0.0", "::"):
        direction = "inactive" if direction in ("recvonly", "inactive") else "sendonly"  # RFC 2543 hold
    a.attributes.append((_MIRROR[direction], None))
    return a


def negotiated(remote, voice=_VOICE):
    """Return (payload type, codec name) of the first voice codec in an answer (or, given the names we take
    as voice, in an offer: the one our answer puts first), or None when rejected."""
    for m in remote.media:
        if m.media == "audio" and m.port:
            for fmt in m.formats:
                name, clock = m.rtpmap.get(int(fmt), ("", 0))
                if name.upper() in voice and clock in (8000, None):
                    return int(fmt), name.upper()
    return None


def codecs_named(names):
    """Return our codecs for voice codec names in preference order (PCMU, PCMA, G722), with telephone-event
    and CN after them; ValueError names an unknown one."""
    unknown = [n for n in names if n.upper() not in VOICE_CODECS]
    if unknown or not names:
        raise ValueError(f"{', '.join(unknown) or 'none'}: name one or more of {', '.join(VOICE_CODECS)}")
    return tuple(VOICE_CODECS[n.upper()] for n in names) + (TELEPHONE_EVENT, CN)


def _redirect(sd, direction):
    media = []
    for m in sd.media:
        if m.media == "audio" and m.port:
            attributes = [(k, v) for k, v in m.attributes if k not in DIRECTIONS] + [(direction, None)]
            m = replace(m, attributes=attributes)
        media.append(m)
    return replace(sd, media=media, session_version=sd.session_version + 1)


def hold(previous):
    """Return the re-offer that puts a call on hold (RFC 3264 8.4): sendonly, or inactive if we were
    receiving only; the session version goes up by one."""
    current = next((m.direction for m in previous.media if m.media == "audio" and m.port), "sendrecv")
    return _redirect(previous, "inactive" if current in ("recvonly", "inactive") else "sendonly")


def resume(previous):
    """Return the re-offer that takes a call off hold: sendrecv, session version up by one."""
    return _redirect(previous, "sendrecv")
