"""HDLC framing for boards that hand raw D-channel bits to software (LAPD, MTP2 signal units).

A 64 kbit/s timeslot is one octet per sample, bits least significant first on the wire.
``HdlcEncoder`` turns queued frames into flags, bit-stuffed frames and FCS; ``HdlcDecoder`` turns
line octets back into events. Both keep per-channel state across ticks. The readable twin is
``pycallcenter.dsp.reference.hdlc``.
"""
import operator
from typing import NamedTuple, Optional

import numpy as np

from pycallcenter._native import hdlc as _native
from pycallcenter.dsp._validate import as_batch

FRAME = "frame"  # good frame; payload is the frame without its FCS
BAD_FCS = "bad_fcs"  # FCS mismatch, or not a whole number of octets
ABORT = "abort"  # seven or more ones inside a frame
OVERRUN = "overrun"  # longer than max_frame octets (FCS included); dropped up to the next flag
SHORT = "short"  # fewer than min_frame octets (FCS included) between flags

MAX_FRAME = 1024 + 2
MIN_FRAME = 4  # 32 bits between flags, as ISO/IEC 13239 requires
MAX_SEND = 0xFFFF - 2


class HdlcEvent(NamedTuple):
    """One receiver event: kind (FRAME, BAD_FCS, ABORT, OVERRUN, SHORT), channel, payload."""

    kind: str
    channel: int
    payload: Optional[bytes] = None


def _octets(data, name):
    if isinstance(data, np.ndarray) and (data.dtype != np.uint8 or data.ndim != 1):
        raise TypeError(f"{name}: expected bytes or a 1-D uint8 array, got {data.dtype} {data.ndim}-D")
    if not isinstance(data, (bytes, bytearray, memoryview, np.ndarray)):
        raise TypeError(f"{name}: expected bytes, got {type(data).__name__}")
    return np.ascontiguousarray(np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data)


def _count(value, name, minimum):
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}") from None
    if n < minimum:
        raise ValueError(f"{name}: must be at least {minimum}, got {n}")
    return n


def fcs16(data):
    """Return the CRC-16/X.25 FCS (as LAPD and MTP2 send it, complemented) of bytes."""
    return _native.fcs16(_octets(data, "data"))


class HdlcEncoder:
    """Frame queues and bit stuffers for N channels; idle channels send flags."""

    def __init__(self, channels):
        self.channels = _count(channels, "channels", 1)
        self._native = _native.Encoder(self.channels)

    def _channel(self, channel):
        c = _count(channel, "channel", 0)
        if c >= self.channels:
            raise ValueError(f"channel: {c} out of range 0..{self.channels - 1}")
        return c

    def send(self, channel, frame):
        """Queue one frame (address, control, information; no FCS) on a channel."""
        data = _octets(frame, "frame")
        if not 1 <= data.size <= MAX_SEND:
            raise ValueError(f"frame: length must be 1..{MAX_SEND}, got {data.size}")
        self._native.queue(self._channel(channel), data)

    def abort(self, channel):
        """Abort the frame under way on a channel (seven-plus ones, then flags); no-op when idle."""
        self._native.abort(self._channel(channel))

    def pending(self, channel):
        """Return how many frames on a channel are queued or still going out."""
        return self._native.pending(self._channel(channel))

    def process(self, n_octets, out=None):
        """Return the next n_octets line octets of every channel, uint8 (channels x n_octets)."""
        n = _count(n_octets, "n_octets", 0)
        if out is None:
            out = np.empty((self.channels, n), dtype=np.uint8)
        elif not isinstance(out, np.ndarray) or out.dtype != np.uint8:
            raise TypeError("out: expected a uint8 numpy array")
        elif out.shape != (self.channels, n) or not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError(f"out: expected a writeable C-contiguous array of shape {(self.channels, n)}")
        self._native.run(out)
        return out


class HdlcDecoder:
    """Flag hunters, de-stuffers and FCS checkers for N channels; frames may span ticks."""

    def __init__(self, channels, max_frame=MAX_FRAME, min_frame=MIN_FRAME):
        self.channels = _count(channels, "channels", 1)
        min_frame = _count(min_frame, "min_frame", 3)
        max_frame = _count(max_frame, "max_frame", min_frame)
        self._native = _native.Decoder(self.channels, max_frame, min_frame)

    def process(self, block):
        """Return the HdlcEvents completed by one tick of line octets (uint8, channels x octets)."""
        batch, _ = as_batch(block, np.uint8, "octets", channels=self.channels)
        return [HdlcEvent(*event) for event in self._native.run(batch)]
