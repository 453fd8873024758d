"""Caller ID messages: SDMF/MDMF (Bellcore GR-30, ETSI EN 300 659-3) and DTMF CLIP codecs (bytes and digits only).

``pycallcenter.dsp.callerid`` is the public face: these codecs and the audio that carries them. The codecs
sit in their own module because the FSK receiver parses with them and the signal maker modulates with FSK.

A message on the wire is ``type, length, body..., checksum``; the checksum is the two's complement
of the mod-256 sum of every byte before it, so all bytes of a good message sum to 0 mod 256.
"""
from dataclasses import dataclass, field
from typing import NamedTuple, Optional

from pycallcenter.errors import DecodeError

SDMF_CALLERID = 0x04
SDMF_MWI = 0x06
MDMF_CALLERID = 0x80  # CLASS MDMF and ETSI "call set-up" use the same type byte
MDMF_MWI = 0x82

P_DATETIME = 0x01
P_NUMBER = 0x02
P_DIALLED = 0x03
P_NUMBER_ABSENT = 0x04
P_REDIRECT = 0x05
P_QUALIFIER = 0x06
P_NAME = 0x07
P_NAME_ABSENT = 0x08
P_VISUAL_INDICATOR = 0x0B

_SDMF_MWI_ON = b"\x42\x42\x42"
_SDMF_MWI_OFF = b"\x6f\x6f\x6f"
_ABSENT = ("O", "P")  # O: unavailable / out of area, P: private (withheld)
_PARAM_NAMES = {
    P_DATETIME: "date/time", P_NUMBER: "calling number", P_DIALLED: "dialled number",
    P_NUMBER_ABSENT: "reason for absence of number", P_REDIRECT: "redirect", P_QUALIFIER: "qualifier",
    P_NAME: "name", P_NAME_ABSENT: "reason for absence of name", P_VISUAL_INDICATOR: "visual indicator",
}

# DTMF CLIP (EN 300 659-1 annex, DTMF variants): absence codes sent as 'B' + two digits + 'C'.
_DTMF_ABSENT = {"O": "00", "P": "10"}
_DTMF_ABSENT_CODES = {v: k for k, v in _DTMF_ABSENT.items()}
# Danish-style variant: 'D' + one digit: 1 private, 2 unavailable (international), 3 unavailable (technical)
_DTMF_ABSENT_D = {"P": "1", "O": "2"}
_DTMF_ABSENT_D_CODES = {"1": "P", "2": "O", "3": "O"}
_DTMF_DIGITS = set("0123456789*#")


class CallDateTime(NamedTuple):
    """Month, day, hour and minute as sent in caller ID (no year, no seconds)."""

    month: int
    day: int
    hour: int
    minute: int

    def encode(self):
        """Return the 8 ASCII digits MMDDHHMM."""
        if not (1 <= self.month <= 12 and 1 <= self.day <= 31 and 0 <= self.hour <= 23 and 0 <= self.minute <= 59):
            raise ValueError(f"caller ID date/time out of range: {tuple(self)}")
        return b"%02d%02d%02d%02d" % tuple(self)

    @classmethod
    def decode(cls, raw, offset=0):
        """Return the CallDateTime in 8 ASCII digits; DecodeError names offset when malformed."""
        if len(raw) != 8 or not raw.isdigit():
            raise DecodeError(f"expected 8 ASCII digits MMDDHHMM, got {bytes(raw)!r}", element="date/time",
                              offset=offset)
        v = cls(int(raw[0:2]), int(raw[2:4]), int(raw[4:6]), int(raw[6:8]))
        try:
            v.encode()
        except ValueError as exc:
            raise DecodeError(str(exc), element="date/time", offset=offset) from None
        return v


def checksum(data):
    """Return the caller ID checksum byte of data: two's complement of the mod-256 sum."""
    return (-sum(data)) & 0xFF


def frame(msg_type, body):
    """Return a complete message: type, length, body and checksum."""
    if not 0 <= msg_type <= 0xFF:
        raise ValueError(f"message type {msg_type} is not a byte")
    if len(body) > 255:
        raise ValueError(f"message body of {len(body)} bytes does not fit a length byte")
    head = bytes([msg_type, len(body)]) + bytes(body)
    return head + bytes([checksum(head)])


def unframe(data):
    """Return ``(type, body)`` of one complete message; DecodeError if short, truncated, padded or bad checksum."""
    data = bytes(data)
    if len(data) < 3:
        raise DecodeError(f"message of {len(data)} bytes is shorter than type, length and checksum",
                          element="message header", offset=len(data))
    n = data[1]
    if 2 + n + 1 > len(data):
        raise DecodeError(f"length {n} runs past the end of a {len(data)}-byte message", element="message length",
                          offset=1)
    if 2 + n + 1 < len(data):
        raise DecodeError(f"{len(data) - n - 3} bytes after the checksum", element="message end", offset=n + 3)
    if sum(data) & 0xFF:
        raise DecodeError(f"checksum 0x{data[n + 2]:02x} should be 0x{checksum(data[:n + 2]):02x}",
                          element="checksum", offset=n + 2)
    return data[0], data[2:2 + n]


def _ascii(value, what):
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"{what} must be ASCII: {value!r}") from None
    if not all(0x20 <= b < 0x7F for b in raw):
        raise ValueError(f"{what} must be printable ASCII: {value!r}")
    return raw


def _text(raw, element, offset):
    if not all(0x20 <= b < 0x7F for b in raw):
        raise DecodeError(f"non-printable bytes in {bytes(raw)!r}", element=element, offset=offset)
    return raw.decode("ascii")


@dataclass(frozen=True)
class CallerId:
    """One caller ID (or message-waiting) presentation; build with to_sdmf/to_mdmf/to_dtmf, read with parse."""

    number: Optional[str] = None
    name: Optional[str] = None
    datetime: Optional[CallDateTime] = None
    number_absent_reason: Optional[str] = None  # 'O' unavailable, 'P' private
    name_absent_reason: Optional[str] = None
    dialled_number: Optional[str] = None
    redirect: Optional[int] = None  # reason for redirection code (one byte)
    qualifier: Optional[str] = None  # e.g. 'L' long distance
    message_waiting: Optional[bool] = None  # set for MWI messages only
    extra: tuple = field(default=())  # unknown MDMF parameters kept as (type, bytes) for a faithful round trip

    def __post_init__(self):
        if self.datetime is not None and not isinstance(self.datetime, CallDateTime):
            object.__setattr__(self, "datetime", CallDateTime(*self.datetime))
        for what in ("number_absent_reason", "name_absent_reason"):
            v = getattr(self, what)
            if v is not None and v not in _ABSENT:
                raise ValueError(f"{what} must be 'O' or 'P', got {v!r}")

    # -- building ------------------------------------------------------------------------------
    def to_sdmf(self):
        """Return the SDMF message bytes (0x04 caller ID, or 0x06 message waiting)."""
        if self.message_waiting is not None:
            return frame(SDMF_MWI, _SDMF_MWI_ON if self.message_waiting else _SDMF_MWI_OFF)
        if self.datetime is None:
            raise ValueError("SDMF caller ID needs datetime")
        if self.number is not None:
            tail = _ascii(self.number, "number")
            if tail in (b"O", b"P") or not tail:
                raise ValueError(f"SDMF number {self.number!r} would read as an absence reason")
        elif self.number_absent_reason is not None:
            tail = self.number_absent_reason.encode()
        else:
            raise ValueError("SDMF caller ID needs number or number_absent_reason")
        return frame(SDMF_CALLERID, self.datetime.encode() + tail)

    def to_mdmf(self):
        """Return the MDMF message bytes (0x80 caller ID / call set-up, or 0x82 message waiting)."""
        params = []
        if self.datetime is not None:
            params.append((P_DATETIME, self.datetime.encode()))
        if self.number is not None:
            params.append((P_NUMBER, _ascii(self.number, "number")))
        if self.dialled_number is not None:
            params.append((P_DIALLED, _ascii(self.dialled_number, "dialled_number")))
        if self.number_absent_reason is not None:
            params.append((P_NUMBER_ABSENT, self.number_absent_reason.encode()))
        if self.redirect is not None:
            params.append((P_REDIRECT, bytes([self.redirect])))
        if self.qualifier is not None:
            params.append((P_QUALIFIER, _ascii(self.qualifier, "qualifier")))
        if self.name is not None:
            params.append((P_NAME, _ascii(self.name, "name")))
        if self.name_absent_reason is not None:
            params.append((P_NAME_ABSENT, self.name_absent_reason.encode()))
        if self.message_waiting is not None:
            params.append((P_VISUAL_INDICATOR, b"\xff" if self.message_waiting else b"\x00"))
        params += [(int(t), bytes(v)) for t, v in self.extra]
        body = bytearray()
        for ptype, value in params:
            if len(value) > 255:
                raise ValueError(f"parameter 0x{ptype:02x} of {len(value)} bytes does not fit a length byte")
            body += bytes([ptype, len(value)]) + value
        return frame(MDMF_MWI if self.message_waiting is not None else MDMF_CALLERID, body)

    def to_dtmf(self, start="A", end="C", absence="B"):
        """Return the DTMF CLIP digit string: start, number (or an absence code), end.

        Absence codes: 'B00' unavailable and 'B10' private (absence="B"), or the Danish-style 'D2'
        unavailable and 'D1' private (absence="D"); end is 'C' or, in that style, '#'.
        """
        if start not in ("A", "D") or end not in ("C", "#") or absence not in ("B", "D"):
            raise ValueError(f"DTMF CLIP start must be A or D, end C or #, absence B or D: {start}, {end}, {absence}")
        if self.number is not None:
            allowed = _DTMF_DIGITS - {end}
            if len(self.number) < 2 or not set(self.number) <= allowed:
                raise ValueError(f"DTMF CLIP number must be 2+ of {''.join(sorted(allowed))}, got {self.number!r}")
            return f"{start}{self.number}{end}"
        if self.number_absent_reason is not None:
            table = _DTMF_ABSENT if absence == "B" else _DTMF_ABSENT_D
            return f"{absence}{table[self.number_absent_reason]}{end}"
        raise ValueError("DTMF CLIP needs number or number_absent_reason")

    # -- parsing -------------------------------------------------------------------------------
    @classmethod
    def parse(cls, data):
        """Return the CallerId in one complete SDMF/MDMF message; DecodeError names the element and offset."""
        msg_type, body = unframe(data)
        if msg_type == SDMF_CALLERID:
            return cls._parse_sdmf(body)
        if msg_type == SDMF_MWI:
            if body == _SDMF_MWI_ON:
                return cls(message_waiting=True)
            if body == _SDMF_MWI_OFF:
                return cls(message_waiting=False)
            raise DecodeError(f"expected 424242 or 6f6f6f, got {body.hex()}", element="SDMF message waiting", offset=2)
        if msg_type in (MDMF_CALLERID, MDMF_MWI):
            return cls._parse_mdmf(body, msg_type == MDMF_MWI)
        raise DecodeError(f"unknown message type 0x{msg_type:02x}", element="message type", offset=0)

    @classmethod
    def _parse_sdmf(cls, body):
        if len(body) < 9:
            raise DecodeError(f"SDMF body of {len(body)} bytes lacks date/time and number", element="SDMF body",
                              offset=2)
        dt = CallDateTime.decode(body[:8], offset=2)
        tail = _text(body[8:], "calling number", 10)
        if tail in _ABSENT:
            return cls(datetime=dt, number_absent_reason=tail)
        return cls(datetime=dt, number=tail)

    @classmethod
    def _parse_mdmf(cls, body, mwi):
        fields = {}
        seen = set()
        extra = []
        pos = 0
        while pos < len(body):
            off = pos + 2  # offsets count from the message's first byte
            if pos + 2 > len(body):
                raise DecodeError("parameter header runs past the end of the body", element="parameter", offset=off)
            ptype, plen = body[pos], body[pos + 1]
            name = _PARAM_NAMES.get(ptype, f"parameter 0x{ptype:02x}")
            if pos + 2 + plen > len(body):
                raise DecodeError(f"length {plen} runs past the end of the body", element=name, offset=off + 1)
            value = body[pos + 2:pos + 2 + plen]
            voff = off + 2
            if ptype in seen:
                raise DecodeError("parameter repeated", element=name, offset=off)
            if ptype == P_DATETIME:
                fields["datetime"] = CallDateTime.decode(value, offset=voff)
            elif ptype in (P_NUMBER, P_DIALLED, P_NAME, P_QUALIFIER):
                key = {P_NUMBER: "number", P_DIALLED: "dialled_number", P_NAME: "name", P_QUALIFIER: "qualifier"}[ptype]
                fields[key] = _text(value, name, voff)
            elif ptype in (P_NUMBER_ABSENT, P_NAME_ABSENT):
                reason = _text(value, name, voff)
                if reason not in _ABSENT:
                    raise DecodeError(f"expected 'O' or 'P', got {reason!r}", element=name, offset=voff)
                fields["number_absent_reason" if ptype == P_NUMBER_ABSENT else "name_absent_reason"] = reason
            elif ptype == P_REDIRECT:
                if plen != 1:
                    raise DecodeError(f"expected 1 byte, got {plen}", element=name, offset=voff)
                fields["redirect"] = value[0]
            elif ptype == P_VISUAL_INDICATOR:
                if plen != 1 or value[0] not in (0x00, 0xFF):
                    raise DecodeError(f"expected one byte 0x00 or 0xff, got {value.hex()}", element=name, offset=voff)
                fields["message_waiting"] = value[0] == 0xFF
            else:
                extra.append((ptype, bytes(value)))
            if ptype in _PARAM_NAMES:
                seen.add(ptype)
            pos += 2 + plen
        if mwi and "message_waiting" not in fields:
            raise DecodeError("message-waiting message without a visual indicator", element="visual indicator",
                              offset=2)
        if not mwi and "message_waiting" in fields:
            raise DecodeError("visual indicator in a caller ID message", element="visual indicator", offset=2)
        return cls(extra=tuple(extra), **fields)

    @classmethod
    def from_dtmf(cls, digits):
        """Return the CallerId in a DTMF CLIP digit string: 'A'/'D' number, or 'B'/'D' absence code; 'C'/'#' end."""
        s = digits.upper()
        if len(s) < 2 or s[0] not in "ABD":
            raise DecodeError(f"expected start digit A, B or D in {digits!r}", element="DTMF start", offset=0)
        if s[-1] not in "C#":
            raise DecodeError(f"no end digit C or # in {digits!r}", element="DTMF end", offset=len(s))
        info = s[1:-1]
        allowed = _DTMF_DIGITS - {s[-1]}
        bad = next((i for i, ch in enumerate(info) if ch not in allowed), None)
        if bad is not None:
            raise DecodeError(f"unexpected digit {info[bad]!r}", element="DTMF number", offset=bad + 1)
        if s[0] == "B":
            if info not in _DTMF_ABSENT_CODES:
                raise DecodeError(f"unknown absence code {info!r}", element="DTMF absence code", offset=1)
            return cls(number_absent_reason=_DTMF_ABSENT_CODES[info])
        if s[0] == "D" and len(info) == 1:  # a one-digit 'number' after D is an absence code
            if info not in _DTMF_ABSENT_D_CODES:
                raise DecodeError(f"unknown absence code {info!r}", element="DTMF absence code", offset=1)
            return cls(number_absent_reason=_DTMF_ABSENT_D_CODES[info])
        if not info:
            raise DecodeError("empty number", element="DTMF number", offset=1)
        return cls(number=info)
