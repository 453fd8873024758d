"""Q.931 information elements: construct bodies that parse and build, plus a readable view of each.

An IE keeps its raw body, so a decoded message rebuilds byte for byte whether or not the IE is known.
Bodies are declared as octet-oriented construct Structs (one Byte per octet, optional octets behind
``If``); the parse and build code actually run is generated from those declarations (see _generate),
because construct's own compiled parser costs ~3 us per IE body. Parsed bodies are plain dicts; bit
fields are read in the views. Parsed bodies, views and built IEs are memoised (they repeat call after
call) and must be treated as read-only.
"""
import functools
import re

from construct import Byte, GreedyBytes, GreedyString, If, Struct, this

from pycallcenter.errors import DecodeError
from pycallcenter.causes import text as cause_name

_THIS = re.compile(r"this\['(\w+)'\]")


def _generate(struct):
    """Return (parse -> dict, build) functions generated from an octet-oriented Struct (Byte, If, Greedy*).

    construct's own compiled parser spends ~3 us per IE body on streams and context objects; the
    generated code indexes the bytes directly. tests/test_isdn_fastpath.py checks both against construct.
    """
    parse = ["def parse(data):"]
    build = ["def build(f):", "    out = bytearray()"]
    names = []
    end = "end"  # position after a greedy field; an int is a position known when generating, None is p

    def at(pos):
        return "p" if pos is None else str(pos)

    def step(sub, name, indent, pos):
        """Emit code for one field starting at pos; returns the position after it."""
        pad = " " * indent
        kind = type(sub).__name__
        if pos is end:
            raise TypeError("no generated code for fields after a greedy one")
        if kind == "IfThenElse" and type(sub.elsesubcon).__name__ == "Pass":
            cond = _THIS.sub(lambda m: "v_" + m.group(1), str(sub.condfunc))
            parse.append(f"{pad}if {cond}:")
            build.append(f"{pad}if {cond}:")
            after = step(sub.thensubcon, name, indent + 4, pos)
            if after is end:
                raise TypeError("no generated code for an optional greedy field")
            if after is not None:
                parse.append(f"{pad}    p = {after}")
            parse.append(f"{pad}else:")
            parse.append(f"{pad}    v_{name} = None")
            if pos is not None:
                parse.append(f"{pad}    p = {pos}")
            return None
        if kind == "FormatField" and sub.fmtstr == ">B":
            parse.append(f"{pad}v_{name} = data[{at(pos)}]")
            build.append(f"{pad}out.append(v_{name})")
            if pos is None:
                parse.append(f"{pad}p += 1")
                return None
            return pos + 1
        if kind == "GreedyBytes":
            parse.append(f"{pad}v_{name} = data[{at(pos)}:]")
            build.append(f"{pad}out += v_{name}")
            return end
        if kind == "StringEncoded" and type(sub.subcon).__name__ == "GreedyBytes":
            parse.append(f"{pad}v_{name} = data[{at(pos)}:].decode({sub.encoding!r})")
            build.append(f"{pad}out += v_{name}.encode({sub.encoding!r})")
            return end
        raise TypeError(f"no generated code for {kind}")

    for sc in struct.subcons:
        names.append(sc.name)
        build.append(f"    v_{sc.name} = f[{sc.name!r}]")
    pos = 0
    for sc in struct.subcons:
        pos = step(sc.subcon, sc.name, 4, pos)
    parse.append("    return {" + ", ".join(f"{n!r}: v_{n}" for n in names) + "}")
    build.append("    return bytes(out)")
    scope = {}
    exec(compile("\n".join(parse) + "\n" + "\n".join(build), f"<ie body {names}>", "exec"), scope)
    return scope["parse"], scope["build"]


class _Body:
    """One IE body codec: a construct Struct (the spec) and the parse/build code generated from it."""

    __slots__ = ("struct", "parse", "build")

    def __init__(self, struct):
        self.struct = struct
        self.parse, self.build = _generate(struct)


def _number(with_3a):
    if with_3a:
        return Struct("o3" / Byte, "o3a" / If((this.o3 & 0x80) == 0, Byte), "digits" / GreedyString("latin-1"))
    return Struct("o3" / Byte, "digits" / GreedyString("latin-1"))


_REDIRECTING = Struct(
    "o3" / Byte,
    "o3a" / If((this.o3 & 0x80) == 0, Byte),
    "o3b" / If((this.o3 & 0x80) == 0, If((this.o3a & 0x80) == 0, Byte)),
    "digits" / GreedyString("latin-1"),
)
_CHANNEL = Struct(
    "o3" / Byte,
    "interface_id" / If((this.o3 & 0x40) != 0, Byte),
    "o32" / If((this.o3 & 0x23) == 0x21, Byte),
    "number" / If((this.o3 & 0x23) == 0x21, If((this.o32 & 0x10) == 0, Byte)),
    "rest" / GreedyBytes,
)

# (codeset, id) -> (name, body struct); display also lives in codesets 5/6 on some switches
_SPECS = {
    0x01: ("change_status", Struct("o3" / Byte, "rest" / GreedyBytes)),
    0x04: ("bearer_capability", Struct("o3" / Byte, "o4" / Byte, "multiplier" / If((this.o4 & 0x1F) == 0x18, Byte),
                                       "rest" / GreedyBytes)),
    0x08: ("cause", Struct("o3" / Byte, "o3a" / If((this.o3 & 0x80) == 0, Byte), "o4" / Byte,
                           "diagnostics" / GreedyBytes)),
    0x10: ("call_identity", Struct("rest" / GreedyBytes)),
    0x14: ("call_state", Struct("o3" / Byte, "rest" / GreedyBytes)),
    0x18: ("channel_identification", _CHANNEL),
    0x1C: ("facility", Struct("rest" / GreedyBytes)),
    0x1E: ("progress_indicator", Struct("o3" / Byte, "o4" / Byte, "rest" / GreedyBytes)),
    0x20: ("network_specific_facilities", Struct("rest" / GreedyBytes)),
    0x27: ("notification_indicator", Struct("o3" / Byte, "rest" / GreedyBytes)),
    0x28: ("display", Struct("text" / GreedyBytes)),
    0x29: ("date_time", Struct("year" / Byte, "month" / Byte, "day" / Byte, "rest" / GreedyBytes)),
    0x2C: ("keypad_facility", Struct("digits" / GreedyString("latin-1"))),
    0x34: ("signal", Struct("value" / Byte, "rest" / GreedyBytes)),
    0x4C: ("connected_number", _number(True)),
    0x4D: ("connected_subaddress", Struct("o3" / Byte, "info" / GreedyBytes)),
    0x6C: ("calling_party_number", _number(True)),
    0x6D: ("calling_party_subaddress", Struct("o3" / Byte, "info" / GreedyBytes)),
    0x70: ("called_party_number", _number(False)),
    0x71: ("called_party_subaddress", Struct("o3" / Byte, "info" / GreedyBytes)),
    0x74: ("redirecting_number", _REDIRECTING),
    0x76: ("redirection_number", _number(True)),
    0x78: ("transit_network_selection", Struct("rest" / GreedyBytes)),
    0x79: ("restart_indicator", Struct("o3" / Byte, "rest" / GreedyBytes)),
    0x7C: ("low_layer_compatibility", Struct("o3" / Byte, "rest" / GreedyBytes)),
    0x7D: ("high_layer_compatibility", Struct("o3" / Byte, "o4" / Byte, "rest" / GreedyBytes)),
    0x7E: ("user_user", Struct("protocol" / Byte, "info" / GreedyBytes)),
}
BODIES = {}
IE_IDS = {}
for _id, (_name, _struct) in _SPECS.items():
    BODIES[(0, _id)] = (_name, _Body(_struct))
    IE_IDS[_name] = _id
for _cs in (5, 6, 7):
    BODIES[(_cs, 0x28)] = BODIES[(0, 0x28)]
del _id, _name, _struct, _cs

SINGLE_OCTET = {0x90: "shift", 0xA0: "more_data", 0xA1: "sending_complete", 0xB0: "congestion_level",
                0xD0: "repeat_indicator"}

MEMO = {}
_VIEW_MEMO = {}
# Each memo (parsed bodies, views, built IEs, each memoised builder) is cleared when it reaches this size. The IEs
# that recur (channel ids, causes, bearer, progress, the centre's own numbers) are a few dozen; every new caller
# number adds one entry that never recurs, so a larger bound only holds more memory for longer (a day's soak saw
# the 4,096-entry memos fill over about 14 hours, a slow RSS climb).
_MEMO_MAX = 256


def parse_body(codeset, ie_id, body, offset):
    """Return (name, parsed fields or None for an unknown IE); raises DecodeError naming the IE and offset."""
    key = (codeset, ie_id, body)
    hit = MEMO.get(key)
    if hit is not None:
        return hit
    spec = BODIES.get((codeset, ie_id))
    if spec is None:
        return (f"ie_{codeset}_{ie_id:02x}", None)
    name, codec = spec
    try:
        fields = codec.parse(body)
    except Exception:  # any failure inside a body (short read, bad text) is the wire's fault
        raise DecodeError(f"{len(body)}-byte body is too short or malformed", element=name, offset=offset) from None
    result = (name, fields)
    if len(MEMO) >= _MEMO_MAX:
        MEMO.clear()
    MEMO[key] = result
    return result


class IE:
    """One information element: codeset, id, raw body (None for single-octet IEs) and parsed fields."""

    __slots__ = ("codeset", "ie_id", "body", "fields", "name", "wire", "_view")

    def __init__(self, codeset, ie_id, body=None, fields=None, name=None, wire=None):
        self.codeset = codeset
        self.ie_id = ie_id
        self.body = body
        self.fields = fields
        if name is None:
            name = _single_name(ie_id) if body is None else parse_body(codeset, ie_id, body, 0)[0]
        self.name = name
        if wire is None:
            wire = bytes((ie_id,)) if body is None else bytes((ie_id, len(body))) + body
        self.wire = wire  # the IE's bytes on the wire, kept so encoding a message is one join
        self._view = None

    def encode(self):
        """Return the IE's wire bytes (identifier, length, body)."""
        return self.wire

    def view(self):
        """Return a JSON-able dict: 'name' plus the IE's fields in snake_case."""
        return dict(self.shared_view())

    def shared_view(self):
        """Return the view memoised by the IE's bytes (read-only: shared between equal IEs)."""
        out = self._view
        if out is not None:
            return out
        key = (self.codeset, self.ie_id, self.body)
        out = _VIEW_MEMO.get(key)
        if out is None:
            if len(_VIEW_MEMO) >= _MEMO_MAX:
                _VIEW_MEMO.clear()
            out = _VIEW_MEMO[key] = self._make_view()
        self._view = out  # IEs are memoised too, so this saves the tuple key next time
        return out

    def _make_view(self):
        out = {"name": self.name}
        if self.codeset:
            out["codeset"] = self.codeset
        if self.body is None:
            if self.ie_id & 0xF0 in (0x90, 0xB0, 0xD0):
                out["value"] = self.ie_id & 0x0F
                if self.ie_id & 0xF0 == 0x90:
                    out["locking"] = not self.ie_id & 0x08
                    out["value"] = self.ie_id & 0x07
            return out
        view = _VIEWS.get(self.name)
        if view is None or self.fields is None:
            out["data"] = self.body.hex()
        else:
            out.update(view(self.fields))
        return out

    def __repr__(self):
        return f"IE({self.view()!r})"

    def __eq__(self, other):
        return isinstance(other, IE) and (self.codeset, self.ie_id, self.body) == (other.codeset, other.ie_id, other.body)


def _single_name(ie_id):
    if ie_id in SINGLE_OCTET:
        return SINGLE_OCTET[ie_id]
    return SINGLE_OCTET.get(ie_id & 0xF0, f"single_{ie_id:02x}")


def _hex(b):
    return b.hex() if b else ""


def _number_view(f):
    out = {"type_of_number": (f["o3"] >> 4) & 7, "numbering_plan": f["o3"] & 0x0F}
    o3a = f.get("o3a")
    if o3a is not None:
        out["presentation"] = (o3a >> 5) & 3
        out["screening"] = o3a & 3
    o3b = f.get("o3b")
    if o3b is not None:
        out["reason"] = o3b & 0x0F
    out["digits"] = f["digits"]
    return out


def _channel_view(f):
    o3 = f["o3"]
    primary = bool(o3 & 0x20)
    sel = o3 & 3
    out = {"interface_type": "primary" if primary else "basic", "exclusive": bool(o3 & 0x08),
           "d_channel": bool(o3 & 0x04), "selection": sel}
    if f["interface_id"] is not None:
        out["interface_id"] = f["interface_id"] & 0x7F
    channels = []
    if primary:
        if f["o32"] is not None:
            out["channel_type"] = f["o32"] & 0x0F
            if f["number"] is not None:
                channels.append(f["number"] & 0x7F)
                more = f["number"]
                for b in f["rest"]:
                    if more & 0x80:
                        break
                    channels.append(b & 0x7F)
                    more = b
            else:
                out["slot_map"] = _hex(f["rest"])
    elif sel in (1, 2):
        channels.append(sel)
    out["channel"] = channels[0] if channels else None
    if len(channels) > 1:
        out["channels"] = channels
    return out


def _cause_view(f):
    value = f["o4"] & 0x7F
    out = {"coding_standard": (f["o3"] >> 5) & 3, "location": f["o3"] & 0x0F, "value": value, "cause_name": cause_name(value)}
    if f["diagnostics"]:
        out["diagnostics"] = f["diagnostics"].hex()
    return out


def _display_view(f):
    text = f["text"]
    out = {}
    if text and text[0] & 0x80:
        out["display_type"] = text[0]
        text = text[1:]
    out["text"] = text.decode("latin-1")
    return out


def _bearer_view(f):
    out = {"coding_standard": (f["o3"] >> 5) & 3, "transfer_capability": f["o3"] & 0x1F,
           "transfer_mode": (f["o4"] >> 5) & 3, "transfer_rate": f["o4"] & 0x1F}
    if f["multiplier"] is not None:
        out["rate_multiplier"] = f["multiplier"] & 0x7F
    if f["rest"] and (f["rest"][0] >> 5) & 3 == 1:
        out["user_info_layer1"] = f["rest"][0] & 0x1F
    return out


def _date_view(f):
    out = {"year": f["year"], "month": f["month"], "day": f["day"]}
    for key, b in zip(("hour", "minute", "second"), f["rest"]):
        out[key] = b
    return out


_VIEWS = {
    "bearer_capability": _bearer_view,
    "cause": _cause_view,
    "call_state": lambda f: {"value": f["o3"] & 0x3F, "coding_standard": (f["o3"] >> 6) & 3},
    "change_status": lambda f: {"preference": (f["o3"] >> 6) & 1, "status": f["o3"] & 7},
    "channel_identification": _channel_view,
    "progress_indicator": lambda f: {"coding_standard": (f["o3"] >> 5) & 3, "location": f["o3"] & 0x0F,
                                     "description": f["o4"] & 0x7F},
    "notification_indicator": lambda f: {"description": f["o3"] & 0x7F, "data": _hex(f["rest"])},
    "display": _display_view,
    "date_time": _date_view,
    "keypad_facility": lambda f: {"digits": f["digits"]},
    "signal": lambda f: {"value": f["value"]},
    "connected_number": _number_view,
    "calling_party_number": _number_view,
    "called_party_number": _number_view,
    "redirecting_number": _number_view,
    "redirection_number": _number_view,
    "connected_subaddress": lambda f: {"type": (f["o3"] >> 4) & 7, "odd": bool(f["o3"] & 8), "data": _hex(f["info"])},
    "calling_party_subaddress": lambda f: {"type": (f["o3"] >> 4) & 7, "odd": bool(f["o3"] & 8), "data": _hex(f["info"])},
    "called_party_subaddress": lambda f: {"type": (f["o3"] >> 4) & 7, "odd": bool(f["o3"] & 8), "data": _hex(f["info"])},
    "restart_indicator": lambda f: {"restart_class": f["o3"] & 7},
    "low_layer_compatibility": lambda f: {"data": (bytes((f["o3"],)) + f["rest"]).hex()},
    "high_layer_compatibility": lambda f: {"coding_standard": (f["o3"] >> 5) & 3, "interpretation": (f["o3"] >> 2) & 7,
                                           "presentation": f["o3"] & 3, "characteristics": f["o4"] & 0x7F},
    "user_user": lambda f: {"protocol": f["protocol"], "data": _hex(f["info"])},
}


# --- builders: each returns an IE whose body was built by its construct codec ---

_BUILT = {}


def build(name, codeset=0, **fields):
    """Return an IE built from raw construct fields (octet names as in the body Struct)."""
    key = (name, codeset, tuple(fields.items()))
    hit = _BUILT.get(key)
    if hit is not None:
        return hit  # IEs are never mutated once built, and the same ones recur call after call
    ie_id = IE_IDS[name]
    _, codec = BODIES[(0, ie_id)]
    body = codec.build(fields)
    item = IE(codeset, ie_id, body, parse_body(codeset, ie_id, body, 0)[1], name)
    if len(_BUILT) >= _MEMO_MAX:
        _BUILT.clear()
    _BUILT[key] = item
    return item


def raw(codeset, ie_id, body):
    """Return an IE carried as raw bytes (facility, unknown or network-specific IEs)."""
    name, fields = parse_body(codeset, ie_id, bytes(body), 0)
    return IE(codeset, ie_id, bytes(body), fields, name)


def _memoised(builder):
    """Memoise a builder by its arguments: the same few IEs are built call after call."""
    cache = {}

    def wrapper(*args, **kw):
        key = (args, tuple(kw.items())) if kw else args
        try:
            hit = cache.get(key)
        except TypeError:  # an unhashable argument (a bytearray): build it afresh
            return builder(*args, **kw)
        if hit is None:
            if len(cache) >= _MEMO_MAX:
                cache.clear()
            hit = cache[key] = builder(*args, **kw)
        return hit

    return functools.wraps(builder)(wrapper)


@_memoised
def single(ie_id):
    """Return a single-octet IE (sending complete 0xA1, shift 0x9X, ...)."""
    return IE(0, ie_id, None, None)


@_memoised
def called_number(digits, type_of_number=0, numbering_plan=1):
    """Return a called party number IE."""
    return build("called_party_number", o3=0x80 | (type_of_number << 4) | numbering_plan, digits=digits)


@_memoised
def calling_number(digits, type_of_number=0, numbering_plan=1, presentation=0, screening=0, name="calling_party_number"):
    """Return a calling (or connected) party number IE with octet 3a."""
    return build(name, o3=(type_of_number << 4) | numbering_plan, o3a=0x80 | (presentation << 5) | screening,
                 digits=digits)


@_memoised
def cause(value, location=0, diagnostics=b""):
    """Return a cause IE (ITU-T coding, location 0 = user)."""
    return build("cause", o3=0x80 | location, o3a=None, o4=0x80 | value, diagnostics=bytes(diagnostics))


@_memoised
def channel_id(channel=None, exclusive=True, primary=True, d_channel=False, any_channel=False):
    """Return a channel identification IE for one B-channel (PRI: number; BRI: 1 or 2), or 'any'/'none'."""
    o3 = 0x80 | (0x20 if primary else 0) | (0x08 if exclusive else 0) | (0x04 if d_channel else 0)
    if any_channel:
        return build("channel_identification", o3=o3 | 3, interface_id=None, o32=None, number=None, rest=b"")
    if channel is None:
        return build("channel_identification", o3=o3, interface_id=None, o32=None, number=None, rest=b"")
    if not primary:
        return build("channel_identification", o3=o3 | channel, interface_id=None, o32=None, number=None, rest=b"")
    return build("channel_identification", o3=o3 | 1, interface_id=None, o32=0x83, number=0x80 | channel, rest=b"")


@_memoised
def bearer(transfer_capability=0, layer1=None):
    """Return a bearer capability IE: 64 kbit/s circuit mode, optional layer-1 protocol (2 mu-law, 3 A-law)."""
    rest = bytes((0xA0 | layer1,)) if layer1 is not None else b""
    return build("bearer_capability", o3=0x80 | transfer_capability, o4=0x90, multiplier=None, rest=rest)


@_memoised
def progress(description, location=0):
    """Return a progress indicator IE (ITU-T coding)."""
    return build("progress_indicator", o3=0x80 | location, o4=0x80 | description, rest=b"")


@_memoised
def call_state(value):
    """Return a call state IE."""
    return build("call_state", o3=value & 0x3F, rest=b"")


def restart_indicator(restart_class):
    """Return a restart indicator IE (0 indicated channels, 6 single interface, 7 all interfaces)."""
    return build("restart_indicator", o3=0x80 | restart_class, rest=b"")


def display(text, codeset=0, display_type=None):
    """Return a display IE (codeset 0 for ETSI/NI-2, 6 on switches that put it there)."""
    data = text.encode("latin-1")
    if display_type is not None:
        data = bytes((display_type,)) + data
    return build("display", codeset=codeset, text=data)


def keypad(digits):
    """Return a keypad facility IE."""
    return build("keypad_facility", digits=digits)


def signal(value):
    """Return a signal IE."""
    return build("signal", value=value, rest=b"")


def change_status(status, preference=1):
    """Return an NI-2 change status IE (status 0 in service, 1 maintenance, 2 out of service)."""
    return build("change_status", o3=0x80 | (preference << 6) | status, rest=b"")


def notification(description):
    """Return a notification indicator IE."""
    return build("notification_indicator", o3=0x80 | description, rest=b"")


def date_time(year, month, day, hour=None, minute=None, second=None):
    """Return a date/time IE."""
    rest = bytes(v for v in (hour, minute, second) if v is not None)
    return build("date_time", year=year, month=month, day=day, rest=rest)


def user_user(data, protocol=4):
    """Return a user-user IE (protocol 4 = IA5 characters)."""
    return build("user_user", protocol=protocol, info=bytes(data))


def subaddress(data, name="called_party_subaddress", kind=0):
    """Return a subaddress IE (kind 0 = NSAP)."""
    return build(name, o3=0x80 | (kind << 4), info=bytes(data))
