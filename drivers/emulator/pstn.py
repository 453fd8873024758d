"""Programmable far ends tests and later layers drive: the network side of a digital span, a PSTN line
into an FXO port, and a phone on an FXS port.

They are cables (``route``/``move_frames``) whose far side is a Python object instead of another span
or port. Audio is G.711 in the line's law; times are board samples.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from pycallcenter.journal import Journal

from ..events import Alarm, EventKind
from . import media
from .board import row_index
from .cables import SpanCable, deliver_to, rx_blocked, send_frames

KEEP_SECONDS = 60  # received audio kept for read_audio()
_RED = int(Alarm.RED)  # a plain int: an enum Flag's & runs Python code, and remote_alarm is asked every tick
# Line events and frame errors kept per line or span, for tests and debugging (counters count them all).
# Each holds about 160 bytes; in the soak an agent's phone sees about 90 an hour and an FXO line about 240,
# so at 4,096 per line the 20 lines grew about 200 kB an hour all day (docs/reliability.md, "Memory").
KEEP_EVENTS = 256


def keep_blocks(emu) -> int:
    """Return how many ticks of received audio make KEEP_SECONDS at the emulator's blocksize."""
    # counted in seconds, not ticks: 3,000 ticks were 60 s at 20 ms but 240 s at 80 ms, about 2 GB of
    # unread audio for the 34 network spans of the 32-span soak
    return max(1, KEEP_SECONDS * 8000 // emu.blocksize)


class _AudioStream:
    """Timed outgoing audio (write_audio) and collected incoming audio (read_audio) for one line."""

    def __init__(self, emu, law):
        self.emu, self.law = emu, law
        self._out: deque = deque()  # (start sample, uint8 codes)
        self._in: deque = deque(maxlen=keep_blocks(emu))

    def write_audio(self, audio, at=None):
        """Queue audio (uint8 G.711 codes or int16 linear) to send from sample ``at`` (default: after the queue)."""
        audio = np.asarray(audio)
        codes = media.encode(audio, self.law) if audio.dtype == np.int16 else audio.astype(np.uint8)
        start = self.emu.sample_time if at is None else int(at)
        if at is None and self._out:
            last_start, last = self._out[-1]
            start = max(start, last_start + len(last))
        self._out.append((start, codes.ravel()))
        self.emu._sending.add(self)  # a phone in a PhoneTap is routed only while it has audio to send

    def clear_audio(self) -> None:
        """Drop the audio queued by write_audio() that has not been sent yet (the far end went silent)."""
        self._out.clear()

    def read_audio(self) -> np.ndarray:
        """Return the uint8 codes received since the last call (at most the last 60 s)."""
        if len(self._in) == 1:  # read every tick: one block, no concatenation
            return self._in.popleft()
        out = np.concatenate(list(self._in)) if self._in else np.zeros(0, np.uint8)
        self._in.clear()
        return out

    def _next_block(self, t0, bs) -> np.ndarray:
        t1 = t0 + bs
        while self._out and self._out[0][0] + len(self._out[0][1]) <= t0:
            self._out.popleft()
        if not self._out or self._out[0][0] >= t1:  # nothing to send this tick: the idle code
            idle = getattr(self, "_idle", None)
            if idle is None or idle.size != bs:
                idle = self._idle = np.full(bs, self.law.idle, np.uint8)
                idle.flags.writeable = False
            return idle
        block = np.full(bs, self.law.idle, np.uint8)
        for start, codes in self._out:
            if start >= t1:
                break
            lo, hi = max(start, t0), min(start + len(codes), t1)
            if hi > lo:
                block[lo - t0:hi - t0] = codes[lo - start:hi - start]
        return block


class NetworkSpan(SpanCable):
    """The network end of a digital span: its audio and D-channel frames exposed to Python.

    ``handler(net, now)`` (optional) runs at the start of every tick so a network-side stack can answer;
    ``last_rx`` is the (channels x blocksize) block the board sent in the previous tick. Robbed-bit
    channels get their own far end in ``lines[offset]``: a PstnLine facing an fxs_* channel, a Phone
    facing an fxo_* one; those carry the channel's signalling and audio instead of write()/read_audio().
    """

    def __init__(self, emu, span, name):
        self.emu, self.span, self.name = emu, span, name
        self.law = span.config.law
        self.rows = np.array([c.row for c in span.channels], dtype=np.intp)
        self._index = row_index(self.rows)
        self.hdlc_offsets = [c.offset for c in span.channels if c.signalling.is_hdlc]
        self._hdlc_tx = {off: deque() for off in self.hdlc_offsets}
        self._hdlc_rx = {off: deque() for off in self.hdlc_offsets}
        self.hdlc_budget = 0
        self.handler = None
        self.send_rai = False
        self.events = Journal("network span errors", bound=KEEP_EVENTS)  # the newest frame errors (bit-error faults)
        self.bad_fcs = 0
        self._tx: deque = deque()
        self._rx: deque = deque(maxlen=keep_blocks(self.emu))
        self.last_rx = None
        self.lines: dict = {}
        self._streams: dict = {}  # offset -> _AudioStream from write_audio()
        self._dchans = None  # [(offset, board channel, deliver to the board, deliver to us)], made at first use
        self._idle = None  # idle_block()

    def __repr__(self):
        return f"<NetworkSpan {self.name} on span {self.span.number}>"

    @property
    def remote_alarm(self) -> bool:
        """Return True when the board's span is sending RAI toward the network (it is in red alarm)."""
        return bool(self.span.alarm_bits & _RED)

    def far_sends_rai(self, span):
        return self.send_rai

    def write(self, block) -> None:
        """Queue one (channels x blocksize) uint8 block to send to the board (a read-only array is kept as it is,
        without a copy: nobody can change it before it is sent)."""
        block = np.asarray(block, dtype=np.uint8)
        want = (len(self.rows), self.emu.blocksize)
        if block.shape != want:
            raise ValueError(f"network block must be {want}, got {block.shape}")
        self._tx.append(block if not block.flags.writeable else block.copy())

    def idle_block(self) -> np.ndarray:
        """Return the read-only (channels x blocksize) block of idle codes the span sends when nothing was
        written for a tick (a far end with nothing to say may skip write())."""
        idle = self._idle
        if idle is None or idle.shape[1] != self.emu.blocksize:
            idle = self._idle = np.full((len(self.rows), self.emu.blocksize), self.law.idle, np.uint8)
            idle.flags.writeable = False
        return idle

    def keep_audio(self, seconds) -> None:
        """Keep at most the last ``seconds`` of received audio for read_audio() (0: none, for a far end that
        looks only at ``last_rx``; the default is KEEP_SECONDS)."""
        self._rx = deque(self._rx, maxlen=max(0, int(seconds * 8000) // self.emu.blocksize))

    def read_audio(self) -> np.ndarray:
        """Return everything the board sent since the last call, (channels x samples) uint8."""
        if not self._rx:
            return np.zeros((len(self.rows), 0), np.uint8)
        out = np.concatenate(list(self._rx), axis=1)
        self._rx.clear()
        return out

    def _offset(self, offset):
        if offset is None:
            if not self.hdlc_offsets:
                raise ValueError(f"span {self.span.number} has no D-channel")
            return self.hdlc_offsets[0]
        if offset not in self._hdlc_tx:
            raise ValueError(f"channel {offset} of span {self.span.number} is not a D-channel")
        return offset

    def write_frame(self, payload: bytes, offset=None) -> None:
        """Queue one HDLC frame (no FCS) toward the board's D-channel (default: the span's first)."""
        self._hdlc_tx[self._offset(offset)].append(bytes(payload))

    def read_frames(self, offset=None) -> list:
        """Return the good frames the board sent since the last call."""
        q = self._hdlc_rx[self._offset(offset)]
        if not q:  # most ticks
            return []
        out = list(q)
        q.clear()
        return out

    def _tick(self, now):
        if self.handler is not None:
            self.handler(self, now)

    def write_audio(self, offset: int, audio, at=None) -> None:
        """Queue audio (uint8 codes or int16 linear) for one channel (1-based offset); it overrides write() there."""
        if not 1 <= offset <= len(self.rows):
            raise ValueError(f"span {self.span.number} has no channel {offset}")
        if offset not in self._streams:
            self._streams[offset] = _AudioStream(self.emu, self.law)
        self._streams[offset].write_audio(audio, at)

    def route(self, emu, T, R):
        # a view when the rows are consecutive: T is new each tick and nobody writes it after routing;
        # the kept audio is copied, or its views would keep every tick's whole T alive
        self.last_rx = T[self._index]
        if self._rx.maxlen:
            self._rx.append(self.last_rx.copy() if isinstance(self._index, slice) else self.last_rx)
        block = self._tx.popleft() if self._tx else None
        if block is None:  # nothing written this tick: every channel idle (read-only, shared tick after tick)
            block = self.idle_block()
        for offset, stream in self._streams.items():
            if stream._out:
                if not block.flags.writeable:  # a shared block write() kept without a copy
                    block = block.copy()
                block[offset - 1] = stream._next_block(emu.sample_time, emu.blocksize)
        if not rx_blocked(self.span):
            R[self._index] = block

    def move_frames(self, emu):
        if self._dchans is None:  # the span's D-channels and their deliver functions, made once
            chans = {c.offset: c for c in self.span.channels}
            self._dchans = [(off, chans[off], deliver_to(emu, chans[off]), self._deliver(off))
                            for off in self.hdlc_offsets]
        spans = (self.span,)
        for off, c, to_board, to_us in self._dchans:
            dead = c.row in emu._dead
            send_frames(emu, self._hdlc_tx[off], self, spans, to_board, dead or rx_blocked(self.span))
            send_frames(emu, c.hdlc_tx, c, spans, to_us, dead)

    def _deliver(self, off):
        def deliver(payload, error):
            if error is not None:
                self.bad_fcs += error is EventKind.HDLC_BAD_FCS
                self.events.append((error, self.emu.sample_time, {"offset": off}))
            else:
                self._hdlc_rx[off].append(payload)
        return deliver


class _LineEnd(_AudioStream):
    """Common parts of the PSTN line and the phone: events seen, audio both ways."""

    def __init__(self, emu, channel, name):
        super().__init__(emu, channel.line_law)
        self.channel, self.name = channel, name
        # (EventKind, sample_time, data), the newest KEEP_EVENTS: a line rings all day long
        self.events = Journal(f"{name} line events", bound=KEEP_EVENTS)
        self.ring_count = 0
        self.line = None

    def _line_event(self, kind, t, data):
        self.events.append((kind, t, dict(data)))
        if kind is EventKind.RING_BEGIN:
            self.ring_count += 1

    def event_kinds(self) -> list:
        """Return the kinds of the events this end has seen, oldest first."""
        return [k for k, _, _ in self.events]


class PstnLine(_LineEnd):
    """The telephone network on an FXO port: rings it (with caller ID), answers and clears calls it places.

    ``call(number, name)`` rings the port; caller ID (Bell 202 FSK) is sent in the first ring gap long
    enough for it, 500 ms after the burst. ``digits`` collects what the port dialled; ``answer()`` and
    ``hangup()`` act as the far party (polarity reversal / loop current drop as the line is configured).
    """

    PULSE_MAX_MS = 150  # a loop break up to this long is a dial pulse; longer is a hook flash
    INTERDIGIT_MS = 300  # a make this long after pulses ends the digit

    def __init__(self, emu, channel, name, timing):
        super().__init__(emu, channel, name)
        self.timing = timing
        self.digits = ""
        self._pulses = 0
        self._last_pulse = 0
        self._cid = None
        self.answered = False

    def __repr__(self):
        return f"<PstnLine {self.name} on channel {self.channel.number}>"

    @property
    def off_hook(self) -> bool:
        """Return the port's hook state as the network sees it (debounced)."""
        return self.line.office_view

    def call(self, number=None, name=None) -> None:
        """Ring the port; send caller ID between the first and second ring when number or name is given."""
        self._cid = None
        if number is not None or name is not None:
            self._cid = self._callerid_audio(number, name)
        self.line.ring(True, self.emu.sample_time)

    def stop_ringing(self) -> None:
        """Stop ringing (the caller gave up)."""
        self.line.ring(False, self.emu.sample_time)

    def _callerid_audio(self, number, name):
        try:  # deliberate: the drivers layer works without the stack's DSP (no caller ID then)
            from pycallcenter.dsp.callerid import CallerId, callerid_signal
        except ImportError:
            return None  # no FSK kernel installed: ring without caller ID
        cid = CallerId(number=number, name=name, datetime=(1, 1, 12, 0))  # fixed date: deterministic
        return media.encode(callerid_signal(cid, "bell202", "mdmf"), self.law)

    def _ring_gap(self, t, off_samples):
        if self._cid is not None and off_samples >= len(self._cid) + 700 * 8:
            self.write_audio(self._cid, at=t + 500 * 8)
            self._cid = None

    def answer(self) -> None:
        """The called party answers a call the port placed (reverses polarity if so configured)."""
        self.answered = True
        if self.timing.polarity_on_answer:
            self.line.set_polarity(True, self.emu.sample_time)

    def hangup(self) -> None:
        """The far party clears: polarity back and/or loop current dropped, as configured."""
        now = self.emu.sample_time
        self.line.ring(False, now)
        if self.answered and self.timing.polarity_on_answer:
            self.line.set_polarity(False, now)
        if self.timing.disconnect_supervision:
            self.line.drop_loop_current(now)
        self.answered = False

    def _line_event(self, kind, t, data):
        super()._line_event(kind, t, data)
        if kind is EventKind.FLASH and data.get("ms", self.PULSE_MAX_MS + 1) <= self.PULSE_MAX_MS:
            self._pulses += 1  # the exchange counts loop-disconnect pulses
            self._last_pulse = t

    def route(self, emu, T, R):
        if self._pulses and emu.sample_time - self._last_pulse >= self.INTERDIGIT_MS * 8:
            self.digits += str(self._pulses % 10)
            self._pulses = 0
        block = self._next_block(emu.sample_time, emu.blocksize)
        if not self.line.dead:
            R[self.channel.row] = self.law.idle if self.line.ring_on else block
            self._in.append(T[self.channel.row].copy())

    has_frames = False

    def move_frames(self, emu):
        pass


class Phone(_LineEnd):
    """A telephone on an FXS port: goes off/on hook, flashes, dials DTMF, hears and sends audio."""

    _tap = None  # the PhoneTap collecting what this phone hears instead of read_audio(), if any

    def __repr__(self):
        return f"<Phone {self.name} on channel {self.channel.number}>"

    @property
    def ringing(self) -> bool:
        """Return True while a ring burst is on."""
        return self.line.ring_on

    @property
    def rings(self) -> int:
        """Return how many ring bursts began so far."""
        return self.ring_count

    def off_hook(self) -> None:
        """Lift the handset."""
        self.line.station_hook(True, self.emu.sample_time)

    def on_hook(self) -> None:
        """Hang up."""
        self.line.station_hook(False, self.emu.sample_time)

    def flash(self) -> None:
        """Press flash (on hook for the flash time)."""
        self.line.station_flash(self.emu.sample_time)

    def dial(self, digits: str, on_ms: float = 100.0, off_ms: float = 100.0) -> None:
        """Send DTMF digits as audio toward the port."""
        from pycallcenter.dsp.tones import dtmf_signal  # deliberate: the stack's DSP is loaded only when used here

        self.write_audio(dtmf_signal(digits, on_ms=on_ms, off_ms=off_ms))

    def route(self, emu, T, R):
        line = self.line
        if line.dead:
            return
        # R comes filled with each row's idle code, which is what a phone with nothing queued sends
        if self._out:
            R[self.channel.row] = self._next_block(emu.sample_time, emu.blocksize)
        if not line.ring_on and self._tap is None:
            self._in.append(T[self.channel.row].copy())

    has_frames = False

    def move_frames(self, emu):
        pass


class PhoneTap:
    """What a set of phones heard in the last tick, as one (phones x blocksize) array of G.711 codes in
    ``block`` (a phone that heard nothing, ringing or dead, shows its idle code): a batched read_audio()
    for simulations listening to many phones every tick. Phones in a tap collect nothing for read_audio()
    until ``close()``. Made by ``Emulator.tap_phones()``."""

    def __init__(self, emu, phones):
        self.emu = emu
        self.phones = list(phones)
        for p in self.phones:
            if p._tap is not None:
                raise ValueError(f"{p.name} is already in a PhoneTap")
        self.rows = np.array([p.channel.row for p in self.phones], np.intp)
        self._index = row_index(self.rows)
        self.idle = np.array([p.law.idle for p in self.phones], np.uint8)[:, None]
        self.block = np.empty((len(self.phones), emu.blocksize), np.uint8)
        self.block[:] = self.idle
        self._pos = {p: i for i, p in enumerate(self.phones)}  # (named apart from _index, the rows' slice)
        for p in self.phones:
            p._tap = self

    def _mine(self, lines):
        """Yield (index, line) of the phones in this tap whose current line is among lines."""
        index = self._pos
        for line in lines:
            i = index.get(line.station)
            if i is not None and line.station.line is line:
                yield i, line

    def ringing(self) -> list:
        """Return the indices (in the tap's order) of the phones inside a ring burst now: ``phone.ringing`` of
        every phone, found among the emulator's busy lines (a line in a ring burst is busy) instead of all."""
        return sorted(i for i, line in self._mine(self.emu._busy_lines) if line.ring_on)

    def _take(self, T):
        """Copy this tick's rows of the board's transmit array (called by the emulator after routing)."""
        if isinstance(self._index, slice):
            self.block[:] = T[self._index]
        else:
            np.take(T, self.rows, axis=0, out=self.block)
        # a phone hears nothing while it rings or its line is dead: a ringing line is busy, a dead one is in
        # the emulator's dead rows, so only those are looked at, not every phone
        emu = self.emu
        dead = [r.line for r in (emu.rows[row] for row in emu._dead) if r.line is not None] if emu._dead else ()
        for i, line in self._mine(list(emu._busy_lines) + list(dead)):
            if line.ring_on or line.dead:
                self.block[i] = self.idle[i]

    def close(self):
        """Give the phones back their own read_audio()."""
        for p in self.phones:
            p._tap = None
        if self in self.emu._taps:
            self.emu._taps.remove(self)
        self.emu._cable_key = None
