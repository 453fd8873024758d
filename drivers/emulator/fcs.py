"""FCS on D-channel frames crossing emulated cables: appended by the sender, checked by the receiver.

The emulator moves whole frames rather than bit-stuffed octets, so only the FCS of
pycallcenter.dsp.hdlc is needed: flipped bits show up as a bad FCS at the far end.
"""
from __future__ import annotations

from pycallcenter.dsp.hdlc import fcs16


def with_fcs(payload: bytes) -> bytes:
    """Return payload followed by its FCS, low byte first."""
    f = fcs16(payload)
    return payload + bytes((f & 0xFF, f >> 8))


def check_fcs(frame: bytes) -> bool:
    """Return True when the last two bytes of frame are the right FCS of the rest."""
    return len(frame) >= 3 and fcs16(frame[:-2]) == frame[-2] | (frame[-1] << 8)
