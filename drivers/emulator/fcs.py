"""FCS-16 (ITU-T Q.921 / ISO 3309, CRC-CCITT reflected) for D-channel frames crossing emulated cables.

Kept minimal here because pycallcenter.dsp.hdlc was not available when the emulator was written; the
emulator only needs append and check on whole frames.
"""
from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1)
def _table() -> tuple:
    out = []
    for b in range(256):
        v = b
        for _ in range(8):
            v = (v >> 1) ^ 0x8408 if v & 1 else v >> 1
        out.append(v)
    return tuple(out)


def fcs16(data: bytes) -> int:
    """Return the FCS-16 of data (ones' complement of the CRC, as sent on the line)."""
    t, crc = _table(), 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ t[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFF


def with_fcs(payload: bytes) -> bytes:
    """Return payload followed by its FCS, low byte first."""
    f = fcs16(payload)
    return payload + bytes((f & 0xFF, f >> 8))


def check_fcs(frame: bytes) -> bool:
    """Return True when the last two bytes of frame are the right FCS of the rest."""
    return len(frame) >= 3 and fcs16(frame[:-2]) == frame[-2] | (frame[-1] << 8)
