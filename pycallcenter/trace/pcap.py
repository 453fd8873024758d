"""Write pcapng (with packet direction) and read pcap or pcapng, with no dependency beyond the stdlib.

Link types used by the stack: 203 LAPD (from the address field), 177 LINUX_LAPD, 140 MTP2, 139 MTP2 with
pseudo-header, 141 MTP3. Direction matters to Wireshark for LAPD: frames sent by the network side are
marked inbound so tshark reads the C/R bit right (see shared/PEERS.md).
"""
import io
import struct
import time
from typing import NamedTuple, Optional

from pycallcenter.errors import DecodeError

LINKTYPE_MTP2_WITH_PHDR = 139
LINKTYPE_MTP2 = 140
LINKTYPE_MTP3 = 141
LINKTYPE_LINUX_LAPD = 177
LINKTYPE_LAPD = 203

_SHB, _IDB, _PB, _SPB, _EPB = 0x0A0D0D0A, 0x00000001, 0x00000002, 0x00000003, 0x00000006
_MAGIC = 0x1A2B3C4D


class Packet(NamedTuple):
    """One captured frame: link type, bytes, timestamp (float seconds) and direction (True in, False out, None)."""

    linktype: int
    data: bytes
    ts: float
    inbound: Optional[bool]


def _pad4(n):
    return (4 - n % 4) % 4


class PcapWriter:
    """Writes frames of one link type to a pcapng file or binary stream; direction goes in the EPB flags."""

    def __init__(self, file, linktype, snaplen=65535):
        self._own = isinstance(file, (str, bytes)) or hasattr(file, "__fspath__")
        self._fh = open(file, "wb") if self._own else file
        self.linktype = linktype
        shb_body = struct.pack("<IHHq", _MAGIC, 1, 0, -1)
        self._block(_SHB, shb_body)
        # if_tsresol = 6 (microseconds) is the default; no options needed.
        self._block(_IDB, struct.pack("<HHI", linktype, 0, snaplen))

    def _block(self, btype, body):
        total = 12 + len(body)
        self._fh.write(struct.pack("<II", btype, total) + body + struct.pack("<I", total))

    def write(self, data, ts=None, inbound=None):
        """Append one frame; ts in seconds (default: now), inbound True/False marks the direction."""
        data = bytes(data)
        usec = int(round((time.time() if ts is None else ts) * 1e6))
        body = struct.pack("<IIIII", 0, usec >> 32, usec & 0xFFFFFFFF, len(data), len(data))
        body += data + b"\0" * _pad4(len(data))
        if inbound is not None:
            # option epb_flags (2): bits 0-1 direction, 1 = inbound, 2 = outbound
            body += struct.pack("<HHI", 2, 4, 1 if inbound else 2) + struct.pack("<HH", 0, 0)
        self._block(_EPB, body)

    def flush(self):
        """Flush buffered frames to the file."""
        self._fh.flush()

    def close(self):
        """Flush, and close the file if this writer opened it."""
        self._fh.flush()
        if self._own:
            self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_packets(source):
    """Yield Packet for every frame in a pcap or pcapng file (path, bytes or binary stream).

    Raises DecodeError naming the block and offset when the file is truncated or not a capture.
    """
    if isinstance(source, (bytes, bytearray)):
        fh = io.BytesIO(source)
    elif hasattr(source, "read"):
        fh = source
    else:
        fh = open(source, "rb")
    try:
        raw = fh.read()
    finally:
        if fh is not source:
            fh.close()
    if len(raw) < 4:
        raise DecodeError("too short to be a capture file", element="pcap header", offset=0)
    magic = raw[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        yield from _read_pcapng(raw)
    elif magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        yield from _read_pcap(raw)
    else:
        raise DecodeError(f"unknown capture magic {magic.hex()}", element="pcap header", offset=0)


def _read_pcap(raw):
    endian = "<" if raw[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = raw[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    if len(raw) < 24:
        raise DecodeError("truncated global header", element="pcap header", offset=0)
    linktype = struct.unpack_from(endian + "I", raw, 20)[0] & 0x0FFFFFFF
    off = 24
    while off < len(raw):
        if off + 16 > len(raw):
            raise DecodeError("truncated record header", element="pcap record", offset=off)
        sec, frac, incl, _orig = struct.unpack_from(endian + "IIII", raw, off)
        if off + 16 + incl > len(raw):
            raise DecodeError("record runs past the end of the file", element="pcap record", offset=off)
        data = raw[off + 16:off + 16 + incl]
        yield Packet(linktype, bytes(data), sec + frac / (1e9 if nano else 1e6), None)
        off += 16 + incl


def _read_pcapng(raw):
    endian = "<"
    interfaces = []  # (linktype, seconds per tick)
    off = 0
    while off < len(raw):
        if off + 12 > len(raw):
            raise DecodeError("truncated block header", element="pcapng block", offset=off)
        btype = struct.unpack_from(endian + "I", raw, off)[0]
        if btype == _SHB:
            bom = raw[off + 8:off + 12]
            endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            interfaces = []
        total = struct.unpack_from(endian + "I", raw, off + 4)[0]
        if total < 12 or total % 4 or off + total > len(raw):
            raise DecodeError(f"bad block length {total}", element="pcapng block", offset=off)
        body = raw[off + 8:off + total - 4]
        if btype == _IDB:
            linktype = struct.unpack_from(endian + "H", body, 0)[0]
            interfaces.append([linktype, _tsresol(body[8:], endian)])
        elif btype in (_EPB, _PB):
            if btype == _EPB:
                ifid, hi, lo, incl, _orig = struct.unpack_from(endian + "IIIII", body, 0)
            else:
                ifid, _drops, hi, lo, incl, _orig = struct.unpack_from(endian + "HHIIII", body, 0)
            if ifid >= len(interfaces) or 20 + incl > len(body):
                raise DecodeError("packet block names no interface or overruns", element="pcapng packet", offset=off)
            data = body[20:20 + incl]
            inbound = _epb_direction(body[20 + incl + _pad4(incl):], endian) if btype == _EPB else None
            linktype, res = interfaces[ifid]
            yield Packet(linktype, bytes(data), ((hi << 32) | lo) * res, inbound)
        elif btype == _SPB:
            if not interfaces:
                raise DecodeError("simple packet before any interface", element="pcapng packet", offset=off)
            incl = min(struct.unpack_from(endian + "I", body, 0)[0], len(body) - 4)
            yield Packet(interfaces[0][0], bytes(body[4:4 + incl]), 0.0, None)
        off += total


def _options(buf, endian):
    off = 0
    while off + 4 <= len(buf):
        code, length = struct.unpack_from(endian + "HH", buf, off)
        if code == 0:
            return
        yield code, buf[off + 4:off + 4 + length]
        off += 4 + length + _pad4(length)


def _tsresol(opts, endian):
    for code, value in _options(opts, endian):
        if code == 9 and value:
            v = value[0]
            return 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0 ** -v
    return 1e-6


def _epb_direction(opts, endian):
    for code, value in _options(opts, endian):
        if code == 2 and len(value) >= 4:
            d = struct.unpack_from(endian + "I", value, 0)[0] & 3
            return {1: True, 2: False}.get(d)
    return None
