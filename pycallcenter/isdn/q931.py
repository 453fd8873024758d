"""Q.931 messages: header, a hand-written IE loop (codeset shifts included) and IE bodies from ie.py."""
from pycallcenter.errors import DecodeError
from pycallcenter.isdn import ie as ies
from pycallcenter.isdn.ie import BODIES as _BODIES
from pycallcenter.isdn.ie import IE, parse_body

PD_Q931 = 0x08
PD_MAINTENANCE = 0x03  # NI-2 SERVICE / SERVICE ACKNOWLEDGE
PD_MAINTENANCE_ATT = 0x43  # AT&T variant of the maintenance discriminator

ALERTING = 0x01
CALL_PROCEEDING = 0x02
PROGRESS = 0x03
SETUP = 0x05
CONNECT = 0x07
SETUP_ACKNOWLEDGE = 0x0D
CONNECT_ACKNOWLEDGE = 0x0F
USER_INFORMATION = 0x20
HOLD = 0x24
SUSPEND = 0x25
RESUME = 0x26
DISCONNECT = 0x45
RESTART = 0x46
RELEASE = 0x4D
RESTART_ACKNOWLEDGE = 0x4E
RELEASE_COMPLETE = 0x5A
SEGMENT = 0x60
FACILITY = 0x62
NOTIFY = 0x6E
STATUS_ENQUIRY = 0x75
CONGESTION_CONTROL = 0x79
INFORMATION = 0x7B
STATUS = 0x7D
SERVICE = 0x0F  # under PD_MAINTENANCE
SERVICE_ACKNOWLEDGE = 0x07  # under PD_MAINTENANCE

MESSAGE_NAMES = {
    ALERTING: "ALERTING", CALL_PROCEEDING: "CALL PROCEEDING", PROGRESS: "PROGRESS", SETUP: "SETUP",
    CONNECT: "CONNECT", SETUP_ACKNOWLEDGE: "SETUP ACKNOWLEDGE", CONNECT_ACKNOWLEDGE: "CONNECT ACKNOWLEDGE",
    USER_INFORMATION: "USER INFORMATION", 0x21: "SUSPEND REJECT", 0x22: "RESUME REJECT", HOLD: "HOLD",
    SUSPEND: "SUSPEND", RESUME: "RESUME", 0x28: "HOLD ACKNOWLEDGE", 0x2D: "SUSPEND ACKNOWLEDGE",
    0x2E: "RESUME ACKNOWLEDGE", 0x30: "HOLD REJECT", 0x31: "RETRIEVE", 0x33: "RETRIEVE ACKNOWLEDGE",
    0x37: "RETRIEVE REJECT", DISCONNECT: "DISCONNECT", RESTART: "RESTART", RELEASE: "RELEASE",
    RESTART_ACKNOWLEDGE: "RESTART ACKNOWLEDGE", RELEASE_COMPLETE: "RELEASE COMPLETE", SEGMENT: "SEGMENT",
    FACILITY: "FACILITY", 0x64: "REGISTER", NOTIFY: "NOTIFY", STATUS_ENQUIRY: "STATUS ENQUIRY",
    CONGESTION_CONTROL: "CONGESTION CONTROL", INFORMATION: "INFORMATION", STATUS: "STATUS",
}
# (SERVICE, SERVICE ACKNOWLEDGE) type values per maintenance discriminator: the AT&T one swaps them
# (libpri's NI-2 acknowledges a SERVICE with 0x0F under 0x43)
SERVICE_TYPES = {PD_MAINTENANCE: (SERVICE, SERVICE_ACKNOWLEDGE), PD_MAINTENANCE_ATT: (SERVICE_ACKNOWLEDGE, SERVICE)}
_PDS = (PD_Q931, PD_MAINTENANCE, PD_MAINTENANCE_ATT)


class Message:
    """One Q.931 message: protocol discriminator, call reference (value, flag, length), type and IEs in order."""

    __slots__ = ("msg_type", "call_ref", "cr_flag", "cr_len", "ies", "pd", "unknown")

    def __init__(self, msg_type, call_ref=0, cr_flag=False, ies=(), cr_len=2, pd=PD_Q931):
        self.msg_type = msg_type
        self.call_ref = call_ref
        self.cr_flag = cr_flag
        self.cr_len = cr_len
        self.ies = list(ies)
        self.pd = pd
        self.unknown = None  # decode() sets the count of unrecognised codeset-0 IEs

    @property
    def name(self):
        """Return the standard upper-case message name."""
        if self.pd != PD_Q931:
            service, ack = SERVICE_TYPES[self.pd]
            names = {service: "SERVICE", ack: "SERVICE ACKNOWLEDGE"}
        else:
            names = MESSAGE_NAMES
        return names.get(self.msg_type, f"UNKNOWN 0x{self.msg_type:02X}")

    def get(self, name):
        """Return the first IE called name, or None."""
        for item in self.ies:
            if item.name == name:
                return item
        return None

    def fields(self, name):
        """Return the readable view of the first IE called name, or None (read-only: it is shared)."""
        for item in self.ies:
            if item.name == name:
                view = item._view
                return view if view is not None else item.shared_view()
        return None

    def add(self, item, locking=False):
        """Append an IE, inserting the shift its codeset needs; returns self."""
        if item.codeset:
            self.ies.append(IE(0, (0x90 if locking else 0x98) | item.codeset, None, None))
        self.ies.append(item)
        return self

    def encode(self):
        """Return the message's wire bytes."""
        n = self.cr_len
        if n == 2 and self.pd == PD_Q931:
            return encode_call_message(self.msg_type, self.call_ref, self.cr_flag, self.ies)
        if n == 2:
            ref = self.call_ref | (0x8000 if self.cr_flag else 0)
            head = bytes((self.pd, 2, ref >> 8, ref & 0xFF, self.msg_type))
        elif n:
            ref = self.call_ref | ((0x80 << (8 * (n - 1))) if self.cr_flag else 0)
            head = bytes((self.pd, n)) + ref.to_bytes(n, "big") + bytes((self.msg_type,))
        else:
            head = bytes((self.pd, 0, self.msg_type))
        return head + b"".join([item.wire for item in self.ies])

    def view(self):
        """Return the JSON-able view: message type name, call reference and IE list."""
        return {"protocol_discriminator": self.pd, "call_reference": self.call_ref, "call_reference_flag": int(self.cr_flag),
                "call_reference_length": self.cr_len, "message_type": self.name, "message_type_value": self.msg_type,
                "ies": [item.view() for item in self.ies]}

    def __repr__(self):
        return f"Message({self.name}, cr={self.call_ref}/{int(self.cr_flag)}, {[i.name for i in self.ies]})"


def encode_call_message(msg_type, call_ref, cr_flag, items):
    """Return the wire bytes of a Q.931 message with a 2-octet call reference (what Message.encode gives)."""
    ref = call_ref | 0x8000 if cr_flag else call_ref
    head = bytes((PD_Q931, 2, ref >> 8, ref & 0xFF, msg_type))
    if not items:
        return head
    return head + b"".join([item.wire for item in items])


def decode(data):
    """Return the Message in data; raises DecodeError naming the element and byte offset."""
    if _decode_seen is not None:
        msg = _decode_seen(data)
        if msg is not None:
            return msg
    data = bytes(data)
    n = len(data)
    if n < 3:
        raise DecodeError(f"message of {n} bytes is shorter than a header", element="header", offset=0)
    pd = data[0]
    if pd not in _PDS:
        raise DecodeError(f"unknown protocol discriminator 0x{pd:02x}", element="protocol_discriminator", offset=0)
    cr_len = data[1]
    if cr_len & 0xF0 or cr_len > 3:
        raise DecodeError(f"bad call reference length octet 0x{cr_len:02x}", element="call_reference", offset=1)
    i = 2 + cr_len
    if i >= n:
        raise DecodeError("message ends inside the header", element="message_type", offset=min(i, n))
    if cr_len == 2:
        c0 = data[2]
        call_ref = ((c0 & 0x7F) << 8) | data[3]
        cr_flag = c0 >= 0x80
    elif cr_len:
        call_ref = int.from_bytes(data[2:i], "big")
        cr_flag = bool(data[2] & 0x80)
        call_ref &= ~(0x80 << (8 * (cr_len - 1)))
    else:
        call_ref = 0
        cr_flag = False
    msg_type = data[i]
    if msg_type & 0x80:
        raise DecodeError(f"message type 0x{msg_type:02x} has bit 8 set", element="message_type", offset=i)
    i += 1
    tail = data[i:]
    hit = _TAILS.get(tail)
    if hit is not None:
        items, unknown = hit
        msg = Message(msg_type, call_ref, cr_flag, items, cr_len, pd)
    else:
        items, unknown = _decode_ies_fast(data, i) if _decode_ies_fast is not None else _decode_ies(data, i, n)
        msg = Message(msg_type, call_ref, cr_flag, items, cr_len, pd)
        if len(_TAILS) >= _TAILS_MAX:
            _TAILS.clear()
        _TAILS[tail] = (tuple(items), unknown)
    msg.unknown = unknown
    return msg


# IE sections seen before (messages repeat except for the call reference): bytes -> (IEs, unknown IEs).
# This memo and the decoded-IE caches are cleared when full. What recurs is a few dozen sections and IEs
# (channel numbers, causes, the centre's own numbers); every caller's SETUP adds one of each that never
# recurs, about 700 bytes. At 4,096 they filled for about 13 hours of the day-long soak's 300 PRI calls
# an hour, a slope in its RSS check (docs/reliability.md, "Memory"); 512 fill in under two.
_TAILS = {}
_TAILS_MAX = 512


def _decode_ies(data, i, n):
    """Return ([IE, ...], number of unknown codeset-0 IEs) for data[i:n]; raises DecodeError."""
    items = []
    unknown = 0
    locked = 0
    codeset = 0
    append = items.append
    while i < n:
        b = data[i]
        if b & 0x80:
            key = (codeset, b)
            item = _SINGLES.get(key)
            if item is None:
                item = _SINGLES[key] = IE(0, b, None, None, "shift") if b & 0xF0 == 0x90 else IE(codeset, b, None, None)
            append(item)
            if b & 0xF0 == 0x90:
                codeset = b & 7
                if not b & 8:
                    locked = codeset
            else:
                codeset = locked
            i += 1
            continue
        if i + 1 >= n:
            raise DecodeError("IE has no length octet", element=_ie_name(codeset, b), offset=i)
        end = i + 2 + data[i + 1]
        if end > n:
            raise DecodeError(f"IE length {data[i + 1]} runs past the end of the message ({n - i - 2} bytes left)",
                              element=_ie_name(codeset, b), offset=i)
        wire = data[i:end]
        cache = _IES[codeset]
        item = cache.get(wire)
        if item is None:
            body = wire[2:]
            spec = _BODIES.get((codeset, b))
            if spec is None:
                name, fields = parse_body(codeset, b, body, i)
            else:
                name, codec = spec
                try:
                    fields = codec.parse(body)
                except Exception:  # the same failure parse_body reports, without its memo round trip
                    raise DecodeError(f"{len(body)}-byte body is too short or malformed", element=name,
                                      offset=i) from None
            item = IE(codeset, b, body, fields, name, wire)
            if len(cache) >= _TAILS_MAX:
                cache.clear()
            cache[wire] = item
        if item.fields is None and not codeset:
            unknown += 1
        append(item)
        codeset = locked
        i = end
    return items, unknown


# decoded IEs by codeset and wire bytes, and single-octet IEs by (codeset, octet): shared, read-only
_IES = [{} for _ in range(8)]
_SINGLES = {}


try:  # the compiled twin of _decode_ies; the stack works (slower) without it
    from pycallcenter._native import q931ie as _q931ie
except ImportError:
    _decode_ies_fast = _decode_seen = None
else:
    _q931ie.bind(_IES, _SINGLES, _BODIES, IE, parse_body, DecodeError, lambda codeset, b: _ie_name(codeset, b),
                 _TAILS_MAX)
    _decode_ies_fast = _q931ie.decode_ies
    _q931ie.bind_messages(_TAILS, Message)
    _decode_seen = _q931ie.decode_seen


def clear_caches():
    """Forget every memoised IE section, IE, body and view (cold-path measurements); returns None."""
    _TAILS.clear()
    _SINGLES.clear()
    for cache in _IES:
        cache.clear()
    ies.MEMO.clear()
    ies._VIEW_MEMO.clear()


def _ie_name(codeset, ie_id):
    spec = ies.BODIES.get((codeset, ie_id))
    return spec[0] if spec else f"ie_{codeset}_{ie_id:02x}"
