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


# Bounds on what one record may claim, checked before anything is read: a capture of signalling frames
# never comes near them, and a corrupt length (or /dev/zero) must not make the reader allocate gigabytes.
MAX_RECORD = 256 * 1024  # bytes of one pcap record (snaplen is 262,144 at most in libpcap)
MAX_BLOCK = 16 * 1024 * 1024  # bytes of one pcapng block
MAX_BLOCKS_WITHOUT_PACKET = 10_000  # pcapng blocks in a row that carry no packet (a file of zeros, say)


def read_packets(source):
    """Yield Packet for every frame in a pcap or pcapng file (path, bytes or binary stream).

    Reads one record at a time, so memory stays bounded whatever the file's size. Raises DecodeError
    naming the block and offset when the file is truncated, not a capture, or claims an oversized record.
    """
    if isinstance(source, (bytes, bytearray)):
        fh = io.BytesIO(source)
    elif hasattr(source, "read"):
        fh = source
    else:
        fh = open(source, "rb")
    try:
        magic = fh.read(4)
        if len(magic) < 4:
            raise DecodeError("too short to be a capture file", element="pcap header", offset=0)
        if magic == b"\x0a\x0d\x0d\x0a":
            yield from _read_pcapng(_Stream(fh, magic))
        elif magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
            yield from _read_pcap(_Stream(fh, magic))
        else:
            raise DecodeError(f"unknown capture magic {magic.hex()}", element="pcap header", offset=0)
    finally:
        if fh is not source:
            fh.close()


class _Stream:
    """A binary file read in exact-size pieces, with the offset of the next byte (for error messages)."""

    def __init__(self, fh, head):
        self.fh, self.head, self.offset = fh, head, 0

    def take(self, n, element, what):
        """Return the next n bytes; DecodeError naming element and its offset when the file ends first."""
        data = b""
        if self.head:
            data, self.head = self.head[:n], self.head[n:]
        if len(data) < n:
            data += self.fh.read(n - len(data))
        if len(data) < n:
            raise DecodeError(f"truncated {what}: {len(data)} of {n} bytes", element=element, offset=self.offset)
        self.offset += n
        return data

    def at_end(self):
        """Return True when no byte is left."""
        if self.head:
            return False
        self.head = self.fh.read(1)
        return not self.head


def _read_pcap(st):
    header = st.take(24, "pcap header", "global header")
    endian = "<" if header[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = header[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack_from(endian + "I", header, 20)[0] & 0x0FFFFFFF
    while not st.at_end():
        off = st.offset
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", st.take(16, "pcap record", "record header"))
        if incl > MAX_RECORD:
            raise DecodeError(f"record claims {incl} bytes (more than {MAX_RECORD})", element="pcap record",
                              offset=off)
        data = st.take(incl, "pcap record", "record")
        yield Packet(linktype, data, sec + frac / (1e9 if nano else 1e6), None)


def _read_pcapng(st):
    endian = "<"
    interfaces = []  # (linktype, seconds per tick)
    idle = 0
    while not st.at_end():
        off = st.offset
        head = st.take(12, "pcapng block", "block header")
        btype = struct.unpack_from(endian + "I", head, 0)[0]
        if btype == _SHB:
            bom = head[8:12]
            endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            interfaces = []
        total = struct.unpack_from(endian + "I", head, 4)[0]
        if total < 12 or total % 4:
            raise DecodeError(f"bad block length {total}", element="pcapng block", offset=off)
        if total > MAX_BLOCK:
            raise DecodeError(f"block claims {total} bytes (more than {MAX_BLOCK})", element="pcapng block",
                              offset=off)
        body = (head[8:] + st.take(total - 12, "pcapng block", "block"))[:total - 12]
        idle += 1
        if btype == _IDB:
            if len(body) < 8:
                raise DecodeError(f"interface block of {len(body)} body bytes (needs 8)",
                                  element="pcapng interface", offset=off)
            linktype = struct.unpack_from(endian + "H", body, 0)[0]
            interfaces.append([linktype, _tsresol(body[8:], endian)])
        elif btype in (_EPB, _PB):
            if len(body) < 20:
                raise DecodeError(f"packet block of {len(body)} body bytes (needs 20)",
                                  element="pcapng packet", offset=off)
            if btype == _EPB:
                ifid, hi, lo, incl, _orig = struct.unpack_from(endian + "IIIII", body, 0)
            else:
                ifid, _drops, hi, lo, incl, _orig = struct.unpack_from(endian + "HHIIII", body, 0)
            if ifid >= len(interfaces) or 20 + incl > len(body):
                raise DecodeError("packet block names no interface or overruns", element="pcapng packet", offset=off)
            data = body[20:20 + incl]
            inbound = _epb_direction(body[20 + incl + _pad4(incl):], endian) if btype == _EPB else None
            linktype, res = interfaces[ifid]
            idle = 0
            yield Packet(linktype, bytes(data), ((hi << 32) | lo) * res, inbound)
        elif btype == _SPB:
            if not interfaces:
                raise DecodeError("simple packet before any interface", element="pcapng packet", offset=off)
            if len(body) < 4:
                raise DecodeError(f"simple packet block of {len(body)} body bytes (needs 4)",
                                  element="pcapng packet", offset=off)
            incl = min(struct.unpack_from(endian + "I", body, 0)[0], len(body) - 4)
            idle = 0
            yield Packet(interfaces[0][0], bytes(body[4:4 + incl]), 0.0, None)
        if idle > MAX_BLOCKS_WITHOUT_PACKET:
            raise DecodeError(f"{idle} blocks in a row carry no packet", element="pcapng block", offset=off)


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
