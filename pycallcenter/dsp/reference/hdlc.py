"""Pure-Python twin of the HDLC kernels: the readable bit-level rules (ISO/IEC 13239 as Q.921 and
Q.703 use them) that tests hold the native kernel to.

Line: one octet per sample on a 64 kbit/s timeslot, bits sent least significant first. A frame is
flag, zero-bit-stuffed address/control/information and FCS-16 (low byte first), flag; back-to-back
frames share one flag, an idle line carries flags, and seven or more ones abort a frame.
"""
from collections import deque

import numpy as np

FLAG_BITS = (0, 1, 1, 1, 1, 1, 1, 0)  # 0x7E, same in either bit order
ABORT_BITS = (1,) * 8
FCS_POLY = 0x8408  # x^16 + x^12 + x^5 + 1, bit-reversed because bits go out LSB first

FRAME, BAD_FCS, ABORT, OVERRUN, SHORT = "frame", "bad_fcs", "abort", "overrun", "short"


def fcs16(data):
    """Return the CRC-16/X.25 frame check sequence of data (0x906E for b'123456789')."""
    reg = 0xFFFF
    for octet in bytes(data):
        reg ^= octet
        for _ in range(8):
            reg = (reg >> 1) ^ FCS_POLY if reg & 1 else reg >> 1
    return reg ^ 0xFFFF


def octets_to_bits(octets):
    """Return the line bits of octets, least significant bit of each octet first."""
    return [(octet >> k) & 1 for octet in bytes(octets) for k in range(8)]


def bits_to_octets(bits):
    """Return uint8 octets packed from line bits (a multiple of 8), first bit in bit 0."""
    return np.packbits(np.asarray(bits, dtype=np.uint8).reshape(-1, 8), axis=1, bitorder="little").reshape(-1)


def stuffed_frame_bits(frame):
    """Return the bits of frame plus its FCS with a zero inserted after every five ones."""
    fcs = fcs16(frame)
    bits, ones = [], 0
    for bit in octets_to_bits(bytes(frame) + bytes([fcs & 0xFF, fcs >> 8])):
        bits.append(bit)
        ones = ones + 1 if bit else 0
        if ones == 5:
            bits.append(0)
            ones = 0
    return bits


class HdlcEncoder:
    """Frame queues for N channels; process(n) returns the next n line octets of every channel."""

    def __init__(self, channels):
        self.channels = channels
        self._queues = [deque() for _ in range(channels)]
        self._line = [deque() for _ in range(channels)]  # bits decided but not yet sent
        self._sent = [0] * channels  # bits sent so far
        self._frame_end = [0] * channels  # bit count at the end of the last frame's closing flag
        self._after_flag = [False] * channels

    def send(self, channel, frame):
        """Queue one frame (without FCS) for a channel."""
        self._queues[channel].append(bytes(frame))

    def _in_frame(self, channel):
        # a frame is under way until its closing flag starts to go out
        return self._frame_end[channel] - self._sent[channel] >= len(FLAG_BITS)

    def pending(self, channel):
        """Return the number of frames queued or being sent on a channel."""
        return len(self._queues[channel]) + self._in_frame(channel)

    def abort(self, channel):
        """Stop the frame being sent on a channel with eight ones, then go back to flags."""
        if self._in_frame(channel):
            line = self._line[channel]
            for _ in range(self._frame_end[channel] - self._sent[channel]):
                line.pop()  # the rest of the frame is all that is queued on the line
            line.extend(ABORT_BITS)
            self._frame_end[channel] = self._sent[channel]
            self._after_flag[channel] = False

    def _refill(self, c):
        queue, line = self._queues[c], self._line[c]
        if self._after_flag[c] and queue:  # the last flag opens the frame
            line.extend(stuffed_frame_bits(queue.popleft()) + list(FLAG_BITS))
            self._frame_end[c] = self._sent[c] + len(line)
        else:
            line.extend(FLAG_BITS)
        self._after_flag[c] = True

    def process(self, n_octets):
        """Return the next n_octets line octets of every channel, uint8 (channels x n_octets)."""
        out = np.zeros((self.channels, n_octets), dtype=np.uint8)
        for c in range(self.channels):
            line = self._line[c]
            while len(line) < 8 * n_octets:
                self._refill(c)
            out[c] = bits_to_octets([line.popleft() for _ in range(8 * n_octets)])
            self._sent[c] += 8 * n_octets
        return out


class _Receiver:
    """One channel's receiver: hunts for flags, removes stuffed zeros, checks each frame."""

    def __init__(self, channel, max_frame, min_frame):
        self.channel, self.max_frame, self.min_frame = channel, max_frame, min_frame
        self.hunting = True
        self.ones = 0
        self.bits = []  # frame bits since the last flag (with the next flag's first six)

    def bit(self, bit, events):
        if bit:
            self.ones = min(self.ones + 1, 7)
            if self.ones == 7 and not self.hunting:
                if len(self.bits) > 5:  # the ones alone may be all there was
                    events.append((ABORT, self.channel, None))
                self.hunting = True
            if self.ones >= 6 or self.hunting:
                return
        else:
            ones, self.ones = self.ones, 0
            if ones == 6:
                self._frame_end(events)
                self.hunting, self.bits = False, []
                return
            if ones == 5 or self.hunting:
                return  # a stuffed zero
        if len(self.bits) >= 8 * (self.max_frame + 1):
            events.append((OVERRUN, self.channel, None))
            self.hunting = True
            return
        self.bits.append(bit)

    def _frame_end(self, events):
        # the flag's leading zero and five ones were collected as if they were data
        n_bits = len(self.bits) - 6
        if self.hunting or n_bits <= 0:
            return
        if n_bits < 8 * self.min_frame:
            events.append((SHORT, self.channel, None))
            return
        if n_bits % 8:
            events.append((BAD_FCS, self.channel, None))
            return
        data = bytes(bits_to_octets(self.bits[:n_bits]))
        if fcs16(data[:-2]) != data[-2] | data[-1] << 8:
            events.append((BAD_FCS, self.channel, None))
        else:
            events.append((FRAME, self.channel, data[:-2]))


class HdlcDecoder:
    """Receivers for N channels; process(block) returns (kind, channel, payload) events."""

    def __init__(self, channels, max_frame=1024 + 2, min_frame=4):
        self.channels = channels
        self._rx = [_Receiver(c, max_frame, min_frame) for c in range(channels)]

    def process(self, block):
        """Return the events completed by block (uint8, channels x octets), in channel order."""
        block = np.asarray(block, dtype=np.uint8).reshape(self.channels, -1)
        events = []
        for c, rx in enumerate(self._rx):
            for bit in octets_to_bits(block[c].tobytes()):
                rx.bit(bit, events)
        return events
