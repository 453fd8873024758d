"""RTP and RTCP on the wire (RFC 3550), telephone-events (RFC 4733) and comfort noise (RFC 3389).

Everything here parses and builds bytes; nothing opens a socket or reads a clock. Anything malformed raises
``pycallcenter.errors.DecodeError`` naming the element and the byte offset where it went wrong, so the
endpoint can drop and count it: remote garbage never stops a tick.

The fixed RTP header is parsed with one ``struct`` call (it runs for every packet of every row, every tick);
the RTCP compound loop is hand-written and each packet type is a small dataclass with ``build()``.
"""
import math
import struct
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from pycallcenter.errors import DecodeError

RTP_VERSION = 2
HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence, timestamp, SSRC
_WORD = struct.Struct("!I")
_EXT = struct.Struct("!HH")

# RTCP packet types (RFC 3550 12.1)
SR, RR, SDES, BYE, APP = 200, 201, 202, 203, 204
# SDES item types (RFC 3550 6.5)
CNAME, NAME, EMAIL, PHONE, LOC, TOOL, NOTE, PRIV = range(1, 9)

# Static payload types the stack speaks (RFC 3551 table 4)
PT_PCMU, PT_PCMA, PT_CN = 0, 8, 13
NTP_UNIX_OFFSET = 2208988800  # seconds from 1900-01-01 (NTP era 0) to 1970-01-01

# RFC 4733 3.2 / table 7: DTMF event codes
EVENT_OF_DIGIT = {d: i for i, d in enumerate("0123456789*#ABCD")}
DIGIT_OF_EVENT = {i: d for d, i in EVENT_OF_DIGIT.items()}


# ---- RTP -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RtpPacket:
    """One RTP packet: header fields (RFC 3550 5.1), the header extension (profile, bytes) or None, payload."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple = ()
    extension: Optional[tuple] = None  # (profile-defined 16 bits, extension bytes, a multiple of 4 long)
    padding: int = 0  # padding octets after the payload (0: the P bit is clear)

    def build(self):
        """Return the packet's bytes."""
        return build_rtp(self.payload_type, self.sequence, self.timestamp, self.ssrc, self.payload,
                         marker=self.marker, csrc=self.csrc, extension=self.extension, padding=self.padding)


def build_rtp(payload_type, sequence, timestamp, ssrc, payload=b"", *, marker=False, csrc=(), extension=None,
              padding=0):
    """Return the bytes of an RTP packet (RFC 3550 5.1); ValueError on a field out of range."""
    if not (0 <= payload_type < 128 and 0 <= sequence < 65536 and 0 <= timestamp < 1 << 32 and 0 <= ssrc < 1 << 32):
        raise ValueError(f"RTP: field out of range (pt {payload_type}, seq {sequence}, ts {timestamp}, ssrc {ssrc})")
    if len(csrc) > 15 or not 0 <= padding < 256:
        raise ValueError("RTP: at most 15 CSRCs and 255 padding octets")
    first = RTP_VERSION << 6 | (0x20 if padding else 0) | (0x10 if extension is not None else 0) | len(csrc)
    parts = [HEADER.pack(first, (0x80 if marker else 0) | payload_type, sequence, timestamp, ssrc)]
    parts += [_WORD.pack(c) for c in csrc]
    if extension is not None:
        profile, data = extension
        if len(data) % 4 or len(data) > 4 * 0xFFFF:
            raise ValueError("RTP: header extension length must be a multiple of 4 octets")
        parts.append(_EXT.pack(profile, len(data) // 4) + bytes(data))
    parts.append(bytes(payload))
    if padding:
        parts.append(bytes(padding - 1) + bytes([padding]))
    return b"".join(parts)


def parse_rtp(data):
    """Return the RtpPacket in data; DecodeError naming the element and offset when malformed."""
    n = len(data)
    if n < 12:
        raise DecodeError(f"RTP header needs 12 octets, got {n}", element="RTP header", offset=0)
    first, second, seq, ts, ssrc = HEADER.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise DecodeError(f"RTP version {first >> 6}, expected 2", element="RTP version", offset=0)
    pos = 12
    cc = first & 0x0F
    if pos + 4 * cc > n:
        raise DecodeError(f"{cc} CSRCs do not fit in {n} octets", element="RTP CSRC list", offset=pos)
    csrc = struct.unpack_from(f"!{cc}I", data, pos) if cc else ()
    pos += 4 * cc
    extension = None
    if first & 0x10:
        if pos + 4 > n:
            raise DecodeError("header extension cut short", element="RTP header extension", offset=pos)
        profile, words = _EXT.unpack_from(data, pos)
        if pos + 4 + 4 * words > n:
            raise DecodeError(f"header extension of {words} words overruns the packet",
                              element="RTP header extension", offset=pos + 2)
        extension = (profile, bytes(data[pos + 4:pos + 4 + 4 * words]))
        pos += 4 + 4 * words
    end = n
    padding = 0
    if first & 0x20:
        padding = data[n - 1]
        if padding == 0 or pos + padding > n:
            raise DecodeError(f"padding count {padding} does not fit", element="RTP padding", offset=n - 1)
        end = n - padding
    return RtpPacket(second & 0x7F, seq, ts, ssrc, bytes(data[pos:end]), bool(second & 0x80), tuple(csrc),
                     extension, padding)


def looks_like_rtcp(data):
    """Return True when data is RTCP rather than RTP by RFC 5761 4 (second octet 192-223), for a muxed port."""
    return len(data) >= 2 and 192 <= data[1] <= 223


# ---- RTCP ------------------------------------------------------------------------------------------------

_RB = struct.Struct("!IIIIII")  # report block: SSRC, lost fraction + cumulative, highest seq, jitter, LSR, DLSR


@dataclass(frozen=True)
class ReportBlock:
    """One reception report (RFC 3550 6.4.1): about source ssrc, as the reporter received it."""

    ssrc: int
    fraction_lost: int = 0  # lost fraction since the last report, 1/256 units
    cumulative_lost: int = 0  # signed 24 bits
    highest_seq: int = 0  # extended highest sequence number received
    jitter: int = 0  # interarrival jitter, timestamp units
    lsr: int = 0  # middle 32 bits of the last SR's NTP time (0: none yet)
    dlsr: int = 0  # delay since that SR, 1/65536 s

    def build(self):
        """Return the 24 octets of the block."""
        lost = self.cumulative_lost & 0xFFFFFF  # two's complement in 24 bits
        return _RB.pack(self.ssrc, (self.fraction_lost & 0xFF) << 24 | lost, self.highest_seq & 0xFFFFFFFF,
                        self.jitter & 0xFFFFFFFF, self.lsr & 0xFFFFFFFF, self.dlsr & 0xFFFFFFFF)


def _report_blocks(body, pos, count, base):
    blocks = []
    for i in range(count):
        if pos + 24 > len(body):
            raise DecodeError(f"report block {i} cut short", element="RTCP report block", offset=base + pos)
        ssrc, lost, hi, jit, lsr, dlsr = _RB.unpack_from(body, pos)
        cum = lost & 0xFFFFFF
        if cum & 0x800000:
            cum -= 1 << 24
        blocks.append(ReportBlock(ssrc, lost >> 24, cum, hi, jit, lsr, dlsr))
        pos += 24
    return tuple(blocks), pos


def _header(pt, count, body):
    """Return an RTCP header for a body (padded by the caller to 32 bits)."""
    return struct.pack("!BBH", RTP_VERSION << 6 | count, pt, len(body) // 4) + body


@dataclass(frozen=True)
class SenderReport:
    """RTCP SR (RFC 3550 6.4.1): the sender's NTP and RTP clocks, its counts, and its reception reports."""

    ssrc: int
    ntp: int  # 64-bit NTP timestamp (seconds << 32 | fraction)
    rtp_timestamp: int
    packets: int
    octets: int
    reports: tuple = ()

    def build(self):
        """Return the packet's bytes."""
        body = struct.pack("!IQIII", self.ssrc, self.ntp, self.rtp_timestamp & 0xFFFFFFFF,
                           self.packets & 0xFFFFFFFF, self.octets & 0xFFFFFFFF)
        return _header(SR, len(self.reports), body + b"".join(r.build() for r in self.reports))


@dataclass(frozen=True)
class ReceiverReport:
    """RTCP RR (RFC 3550 6.4.2): reception reports from a participant that has not sent lately."""

    ssrc: int
    reports: tuple = ()

    def build(self):
        """Return the packet's bytes."""
        return _header(RR, len(self.reports), _WORD.pack(self.ssrc) + b"".join(r.build() for r in self.reports))


@dataclass(frozen=True)
class Sdes:
    """RTCP SDES (RFC 3550 6.5): chunks of (ssrc, ((item type, bytes), ...))."""

    chunks: tuple = ()

    def build(self):
        """Return the packet's bytes."""
        out = []
        for ssrc, items in self.chunks:
            chunk = _WORD.pack(ssrc) + b"".join(bytes([t, len(v)]) + bytes(v) for t, v in items)
            chunk += bytes(4 - len(chunk) % 4)  # the END item and padding to the next word (at least one null)
            out.append(chunk)
        return _header(SDES, len(self.chunks), b"".join(out))

    def cname(self, ssrc=None):
        """Return the CNAME (str) of the first chunk, or of `ssrc`'s chunk; None when there is none."""
        for s, items in self.chunks:
            if ssrc is None or s == ssrc:
                for t, v in items:
                    if t == CNAME:
                        return v.decode("utf-8", "replace")
        return None


@dataclass(frozen=True)
class Bye:
    """RTCP BYE (RFC 3550 6.6): sources leaving, with an optional reason."""

    ssrcs: tuple = ()
    reason: bytes = b""

    def build(self):
        """Return the packet's bytes."""
        body = b"".join(_WORD.pack(s) for s in self.ssrcs)
        if self.reason:
            r = bytes([len(self.reason)]) + self.reason
            body += r + bytes((4 - len(r) % 4) % 4)
        return _header(BYE, len(self.ssrcs), body)


@dataclass(frozen=True)
class RtcpOther:
    """An RTCP packet of a type this stack does not interpret (APP, feedback, XR): kept as its body."""

    packet_type: int
    count: int
    body: bytes = field(default=b"", repr=False)

    def build(self):
        """Return the packet's bytes."""
        return _header(self.packet_type, self.count, self.body)


def build_rtcp(packets):
    """Return one compound RTCP packet from a sequence of SR/RR/SDES/BYE/other packets."""
    return b"".join(p.build() for p in packets)


def parse_rtcp(data):
    """Return the list of packets in a compound RTCP packet; DecodeError naming the element and offset.

    RFC 3550 A.2's validity checks: version 2 in every packet, the first packet an SR or RR, padding only
    in the last one, and the lengths adding up to the datagram exactly."""
    n = len(data)
    if n < 8:
        raise DecodeError(f"RTCP needs at least 8 octets, got {n}", element="RTCP header", offset=0)
    out = []
    pos = 0
    while pos < n:
        if pos + 4 > n:
            raise DecodeError("RTCP header cut short", element="RTCP header", offset=pos)
        first, pt, words = struct.unpack_from("!BBH", data, pos)
        if first >> 6 != RTP_VERSION:
            raise DecodeError(f"RTCP version {first >> 6}, expected 2", element="RTCP version", offset=pos)
        end = pos + 4 + 4 * words
        if end > n:
            raise DecodeError(f"RTCP length {words} words overruns the datagram", element="RTCP length",
                              offset=pos + 2)
        if not out and pt not in (SR, RR):
            raise DecodeError(f"compound RTCP must start with SR or RR, got type {pt}", element="RTCP type",
                              offset=pos + 1)
        body = bytes(data[pos + 4:end])
        if first & 0x20:
            if end != n:
                raise DecodeError("padding in a packet that is not the last", element="RTCP padding", offset=pos)
            pad = body[-1] if body else 0
            if pad == 0 or pad > len(body):
                raise DecodeError(f"padding count {pad} does not fit", element="RTCP padding", offset=end - 1)
            body = body[:-pad]
        out.append(_rtcp_packet(pt, first & 0x1F, body, pos + 4))
        pos = end
    return out


def _rtcp_packet(pt, count, body, base):
    if pt == SR:
        if len(body) < 24:
            raise DecodeError("SR sender info cut short", element="RTCP SR", offset=base)
        ssrc, ntp, ts, packets, octets = struct.unpack_from("!IQIII", body)
        reports, _ = _report_blocks(body, 24, count, base)
        return SenderReport(ssrc, ntp, ts, packets, octets, reports)
    if pt == RR:
        if len(body) < 4:
            raise DecodeError("RR without its SSRC", element="RTCP RR", offset=base)
        reports, _ = _report_blocks(body, 4, count, base)
        return ReceiverReport(_WORD.unpack_from(body)[0], reports)
    if pt == SDES:
        return Sdes(_sdes_chunks(body, count, base))
    if pt == BYE:
        if len(body) < 4 * count:
            raise DecodeError(f"BYE of {count} sources cut short", element="RTCP BYE", offset=base)
        ssrcs = struct.unpack_from(f"!{count}I", body) if count else ()
        reason = b""
        if len(body) > 4 * count:
            k = body[4 * count]
            if 4 * count + 1 + k > len(body):
                raise DecodeError("BYE reason overruns the packet", element="RTCP BYE reason", offset=base + 4 * count)
            reason = body[4 * count + 1:4 * count + 1 + k]
        return Bye(tuple(ssrcs), reason)
    return RtcpOther(pt, count, body)


def _sdes_chunks(body, count, base):
    chunks = []
    pos = 0
    for _ in range(count):
        if pos + 4 > len(body):
            raise DecodeError("SDES chunk cut short", element="RTCP SDES chunk", offset=base + pos)
        ssrc = _WORD.unpack_from(body, pos)[0]
        pos += 4
        items = []
        while True:
            if pos >= len(body):
                raise DecodeError("SDES items without an END item", element="RTCP SDES item", offset=base + pos)
            kind = body[pos]
            if kind == 0:
                pos = (pos // 4 + 1) * 4  # END, then padding to the next word
                break
            if pos + 2 > len(body) or pos + 2 + body[pos + 1] > len(body):
                raise DecodeError(f"SDES item {kind} overruns the packet", element="RTCP SDES item",
                                  offset=base + pos)
            items.append((kind, body[pos + 2:pos + 2 + body[pos + 1]]))
            pos += 2 + body[pos + 1]
        chunks.append((ssrc, tuple(items)))
    if pos > len(body):
        raise DecodeError("SDES padding overruns the packet", element="RTCP SDES chunk", offset=base + len(body))
    return tuple(chunks)


def ntp_time(unix_seconds):
    """Return the 64-bit NTP timestamp of a Unix time in seconds."""
    t = unix_seconds + NTP_UNIX_OFFSET
    whole = int(t)
    return (whole & 0xFFFFFFFF) << 32 | int((t - whole) * 4294967296.0) & 0xFFFFFFFF


def ntp_middle(ntp):
    """Return the middle 32 bits of a 64-bit NTP time (RFC 3550's LSR field)."""
    return ntp >> 16 & 0xFFFFFFFF


# ---- RFC 4733 telephone-event ----------------------------------------------------------------------------

_EVENT = struct.Struct("!BBH")


@dataclass(frozen=True)
class TelephoneEvent:
    """One RFC 4733 2.3 event payload: event code, end bit, volume (-dBm0, 0-63) and duration (samples)."""

    event: int
    end: bool = False
    volume: int = 10
    duration: int = 0

    @property
    def digit(self):
        """Return the DTMF digit of the event ('0'-'9', '*', '#', 'A'-'D'), or None for another event."""
        return DIGIT_OF_EVENT.get(self.event)

    def build(self):
        """Return the 4 payload octets."""
        if not (0 <= self.event < 256 and 0 <= self.volume < 64 and 0 <= self.duration < 65536):
            raise ValueError(f"telephone-event out of range: {self}")
        return _EVENT.pack(self.event, (0x80 if self.end else 0) | self.volume, self.duration)


def parse_event(payload):
    """Return the TelephoneEvent of a payload (the first event of a redundant payload RFC 4733 allows)."""
    if len(payload) < 4:
        raise DecodeError(f"telephone-event needs 4 octets, got {len(payload)}", element="RFC 4733 event",
                          offset=0)
    event, flags, duration = _EVENT.unpack_from(payload)
    return TelephoneEvent(event, bool(flags & 0x80), flags & 0x3F, duration)


def digit_event(digit):
    """Return the RFC 4733 event code of a DTMF digit; ValueError for anything else."""
    try:
        return EVENT_OF_DIGIT[digit.upper()]
    except (KeyError, AttributeError):
        raise ValueError(f"not a DTMF digit: {digit!r} (0-9, *, #, A-D)") from None


# ---- RFC 3389 comfort noise ------------------------------------------------------------------------------

def parse_cn(payload):
    """Return (noise level in -dBov, 0-127, spectral reflection coefficients as bytes) of a CN payload."""
    if not payload:
        raise DecodeError("comfort noise payload is empty", element="RFC 3389 noise level", offset=0)
    if payload[0] > 127:
        raise DecodeError(f"noise level {payload[0]} above 127", element="RFC 3389 noise level", offset=0)
    return payload[0], bytes(payload[1:])


def build_cn(level, coefficients=b""):
    """Return a CN payload for a noise level in -dBov (0-127), without spectral information by default."""
    if not 0 <= level <= 127:
        raise ValueError(f"CN level {level} outside 0-127 -dBov")
    return bytes([level]) + bytes(coefficients)


def cn_rms(level):
    """Return the RMS (int16 units) of noise at level -dBov; 0 dBov is a full-scale square wave (RFC 3389 3.1)."""
    return 32767.0 * 10.0 ** (-level / 20.0)


def cn_level(samples):
    """Return the RFC 3389 level (-dBov, 0-127) of int16 samples' RMS."""
    x = np.asarray(samples, np.float64)
    rms = math.sqrt(float(np.mean(x * x))) if x.size else 0.0
    if rms <= 0:
        return 127
    return max(0, min(127, int(round(-20.0 * math.log10(rms / 32767.0)))))
