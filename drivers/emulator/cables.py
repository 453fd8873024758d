"""Cables between the emulated board's spans and ports: span crossover, loopback plug, FXS-to-FXO pair.

Each cable moves one tick of G.711 audio (``route``: rows of the board's tx array into rows of its rx
array, one numpy fancy-index per direction) and HDLC frames (``move_frames``). The far-end objects in
pstn.py are cables too.
"""
from __future__ import annotations

import numpy as np

from ..events import Alarm, EventKind
from .board import HDLC_RX_FRAMES, row_index
from .fcs import check_fcs, with_fcs
from .media import convert_table

FRAME_OVERHEAD = 3  # FCS + closing flag, bytes on the line besides the payload
_RED = int(Alarm.RED)


def frame_faults(emu, spans, raw: bytes):
    """Return (raw possibly with bits flipped, outcome) where outcome is "ok", "lost" or "abort"."""
    loss = abort = ber = 0.0
    for s in spans:
        loss = 1 - (1 - loss) * (1 - s.dchan_loss)
        abort = 1 - (1 - abort) * (1 - s.dchan_abort)
        ber = ber + s.dchan_ber + s.ber
    rng = emu.rng
    if loss and rng.random() < loss:
        return raw, "lost"
    if abort and rng.random() < abort:
        return raw, "abort"
    if ber:
        flips = rng.binomial(len(raw) * 8, min(ber, 1.0))
        if flips:
            buf = bytearray(raw)
            for bit in rng.integers(0, len(raw) * 8, flips):
                buf[bit >> 3] ^= 1 << (bit & 7)
            raw = bytes(buf)
    return raw, "ok"


def send_frames(emu, tx_queue, budget_owner, spans, deliver, blocked: bool):
    """Move queued payloads across a D-channel at 64 kbit/s; deliver(payload or None, event kind) at the far end."""
    budget_owner.hdlc_budget = min(budget_owner.hdlc_budget + emu.blocksize, 4 * 1024)
    if not tx_queue:
        return
    # with no loss, abort or bit errors on the way the FCS the far end checks is the one appended: the
    # payload arrives as it was sent, and no random number is drawn for it (frame_faults draws none either)
    clean = all(not (s.dchan_loss or s.dchan_abort or s.dchan_ber or s.ber) for s in spans)
    while tx_queue and budget_owner.hdlc_budget >= len(tx_queue[0]) + FRAME_OVERHEAD:
        payload = tx_queue.popleft()
        budget_owner.hdlc_budget -= len(payload) + FRAME_OVERHEAD
        if blocked:
            continue
        if clean and type(payload) is bytes:
            deliver(payload, None)
            continue
        raw, outcome = frame_faults(emu, spans, with_fcs(payload))
        if outcome == "lost":
            continue
        if outcome == "abort":
            deliver(None, EventKind.HDLC_ABORT)
        elif check_fcs(raw):
            deliver(raw[:-2], None)
        else:
            deliver(None, EventKind.HDLC_BAD_FCS)


def deliver_to(emu, channel):
    """Return a deliver() function putting frames into a board channel's HDLC receive queue."""

    def deliver(payload, error):
        t = emu.sample_time + emu.blocksize - 1
        if error is not None:
            emu.emit(error, channel.span.number, channel.number, t, {}, board=channel.board)
        elif len(channel.hdlc_rx) >= HDLC_RX_FRAMES:
            emu.emit(EventKind.HDLC_OVERRUN, channel.span.number, channel.number, t, {}, board=channel.board)
        elif channel.is_open:
            channel.hdlc_rx.append(payload)
    return deliver


def rx_blocked(span) -> bool:
    """Return True when nothing reaches span's receiver (pulled cable, loss of framing)."""
    return span.pulled or span.lfa


class SpanCable:
    """Base of cables plugged into digital spans: alarms seen from the far end."""

    has_frames = True  # move_frames() has work to do (False: the emulator skips it)

    def far_sends_rai(self, span) -> bool:
        """Return True when the far end of span is sending remote alarm indication."""
        return False

    def route(self, emu, T, R):
        """Move one tick of audio."""

    def move_frames(self, emu):
        """Move HDLC frames for one tick."""


class Crossover(SpanCable):
    """Span A's transmit into span B's receive and back, channel n to channel n."""

    def __init__(self, a, b):
        self.a, self.b = a, b
        n = min(len(a.channels), len(b.channels))
        self.rows_a = np.array([c.row for c in a.channels[:n]], dtype=np.intp)
        self.rows_b = np.array([c.row for c in b.channels[:n]], dtype=np.intp)
        self._a, self._b = row_index(self.rows_a), row_index(self.rows_b)
        self.hdlc = [(ca, cb) for ca, cb in zip(a.channels, b.channels)
                     if ca.signalling.is_hdlc and cb.signalling.is_hdlc]
        mixed = [(ca, cb) for ca, cb in zip(a.channels, b.channels) if ca.line_law != cb.line_law]
        self.fix_b = [(cb.row, convert_table(ca.line_law, cb.line_law)) for ca, cb in mixed]
        self.fix_a = [(ca.row, convert_table(cb.line_law, ca.line_law)) for ca, cb in mixed]

    def far_sends_rai(self, span):
        far = self.b if span is self.a else self.a
        return bool(far.red_bits & _RED)

    def route(self, emu, T, R):
        if not rx_blocked(self.b):
            R[self._b] = T[self._a]
            for row, table in self.fix_b:
                R[row] = table[R[row]]
        if not rx_blocked(self.a):
            R[self._a] = T[self._b]
            for row, table in self.fix_a:
                R[row] = table[R[row]]

    def move_frames(self, emu):
        for ca, cb in self.hdlc:
            dead = ca.row in emu._dead or cb.row in emu._dead
            send_frames(emu, ca.hdlc_tx, ca, (self.a, self.b), deliver_to(emu, cb), dead or rx_blocked(self.b))
            send_frames(emu, cb.hdlc_tx, cb, (self.a, self.b), deliver_to(emu, ca), dead or rx_blocked(self.a))


class Loopback(SpanCable):
    """A loopback plug: the span receives what it sends."""

    def __init__(self, span):
        self.span = span
        self.rows = np.array([c.row for c in span.channels], dtype=np.intp)
        self._index = row_index(self.rows)
        self.hdlc = [c for c in span.channels if c.signalling.is_hdlc]

    def far_sends_rai(self, span):
        return bool(span.red_bits & _RED)

    def route(self, emu, T, R):
        if not rx_blocked(self.span):
            R[self._index] = T[self._index]

    def move_frames(self, emu):
        for c in self.hdlc:
            blocked = c.row in emu._dead or rx_blocked(self.span)
            send_frames(emu, c.hdlc_tx, c, (self.span,), deliver_to(emu, c), blocked)


class Pair:
    """An FXS port wired to an FXO port: audio both ways, the FXS port's line signalling to the FXO port."""

    def __init__(self, office, station):
        self.office, self.station = office, station

    def route(self, emu, T, R):
        line = self.station.line
        if not line.ring_on:
            R[self.station.row] = T[self.office.row]
        R[self.office.row] = T[self.station.row]

    has_frames = False

    def move_frames(self, emu):
        pass
