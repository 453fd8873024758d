"""The emulator's Board API face: EmulatorBoard, its spans, channels and channel groups."""
from __future__ import annotations

from collections import deque

import numpy as np

from pycallcenter.errors import HardwareError

from ..base import Board, Channel, ChannelGroup, HookOp, Law, Signalling, Span, SpanStatus
from ..events import Alarm, EventKind
from . import media

HDLC_RX_FRAMES = 256  # frames a D-channel holds before HDLC_OVERRUN


def row_index(rows):
    """Return a slice for rows that run consecutively upward (a span's, a group's: most do), else rows: a
    slice reads a view and writes with one copy, where an index array gathers and scatters row by row."""
    rows = np.asarray(rows, dtype=np.intp)
    if len(rows) and (len(rows) == 1 or bool(np.all(np.diff(rows) == 1))):
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows


class EmuChannel(Channel):
    """A channel of the emulated board; signalling goes through its Line, frames through its cable."""

    def __init__(self, board, span, number, offset, signalling, law, row):
        super().__init__(board, span, number, offset, signalling, law)
        self.row = row
        self.line_law = law  # law on the wire; the channel's own law may be changed by set_law
        self.line = None  # analog.Line for hook signalling
        self.hdlc_rx: deque = deque()
        self.hdlc_tx: deque = deque()
        self.hdlc_budget = 0  # bytes the D-channel may still send this tick (64 kbit/s)
        self.tx_lut = None  # uint8[256] applied to what we send, or None
        self.rx_lut = None
        self.dial_audio = None  # uint8 codes still to send from dial()
        self.dial_digits = ""
        self.echo_name = None

    @property
    def _emu(self):
        return self.board.emulator

    def _line_event(self, kind, sample_time, data):
        self._emu.emit(kind, self.span.number, self.number, sample_time, data, board=self.board)

    def _do_hook(self, op: HookOp):
        now, line = self._emu.sample_time, self.line
        if self.signalling.is_station:
            if op is HookOp.FLASH:
                if not self.off_hook:
                    raise ValueError(f"channel {self.number} cannot flash while on hook")
                line.station_flash(now)
            elif op is HookOp.WINK:
                line.station_wink(now)
            else:
                self.off_hook = op in (HookOp.OFF, HookOp.START)
                line.station_hook(self.off_hook, now)
                if op is HookOp.START:
                    self._line_event(EventKind.HOOK_COMPLETE, now, {})
        else:
            if op in (HookOp.FLASH, HookOp.START):
                raise ValueError(f"channel {self.number} ({self.signalling.value}) is the office side: "
                                 f"it cannot {op.value}")
            if op is HookOp.WINK:
                line.office_wink(now)
            elif op is HookOp.ON:
                line.ring(False, now)
                line.drop_loop_current(now)
                self.off_hook = False
            else:
                self.off_hook = True

    def _do_ring(self, on):
        self.line.ring(on, self._emu.sample_time)

    def _do_polarity(self, reversed):
        self.line.set_polarity(reversed, self._emu.sample_time)

    def _update_luts(self, rx_db=None, tx_db=None, law=None):
        rx_db = self.rx_gain_db if rx_db is None else rx_db
        tx_db = self.tx_gain_db if tx_db is None else tx_db
        law = law or self.law
        tx = media.convert_table(law, self.line_law)
        if tx_db:
            tx = tx[media.gain_table(law, tx_db)]
        rx = media.convert_table(self.line_law, law)
        if rx_db:
            rx = media.gain_table(law, rx_db)[rx]
        ident = np.arange(256, dtype=np.uint8)
        self.tx_lut = None if np.array_equal(tx, ident) else tx
        self.rx_lut = None if np.array_equal(rx, ident) else rx
        self._emu._idle_chan = None  # the emulator rebuilds its idle codes and LUT list

    def _do_gains(self, rx_db, tx_db):
        self._update_luts(rx_db=rx_db, tx_db=tx_db)

    def _do_echo_canceller(self, taps):
        pass  # emulated lines have no echo path; the setting is kept on the channel (echo_taps)

    def _do_law(self, law: Law):
        self.law = law
        self._update_luts(law=law)

    def _do_dial(self, digits):
        if digits.startswith("P"):
            self._pulse_dial(digits[1:])
            return
        try:  # deliberate: the drivers layer loads the stack's DSP only when an emulated board dials DTMF
            from pycallcenter.dsp.tones import dtmf_signal
        except ImportError:
            raise HardwareError("this emulated board has no tone generator (pycallcenter.dsp.tones missing)") from None
        parts = []
        for i, chunk in enumerate(digits.split("w")):
            if i:
                parts.append(np.zeros(500 * 8, np.int16))
            if chunk:
                parts.append(dtmf_signal(chunk, on_ms=100.0, off_ms=100.0))
        audio = media.encode(np.concatenate(parts), self.line_law)
        self.dial_audio = audio if self.dial_audio is None else np.concatenate([self.dial_audio, audio])
        self.dial_digits += digits.replace("w", "")
        if self not in self._emu._dialling:
            self._emu._dialling.append(self)
        self._emu._dialled(self, digits.replace("w", ""))

    def _pulse_dial(self, digits, brk_ms=60, make_ms=40, between_ms=700):
        """Loop-disconnect dialling: per digit n breaks (10 for 0) of 60 ms with 40 ms makes (10 pulses/s),
        700 ms between digits; the far end counts the breaks. DIAL_COMPLETE when the last one is done."""
        line, ms = self.line, 8  # samples per millisecond
        if line is None:
            raise HardwareError(f"channel {self.number} has no analog line to pulse-dial on")
        t = self._emu.sample_time
        for i, ch in enumerate(digits):
            if ch == "w":
                t += 500 * ms
                continue
            if i:
                t += between_ms * ms
            for _ in range(int(ch) or 10):
                line._pending += [(t, False), (t + brk_ms * ms, True)]
                t += (brk_ms + make_ms) * ms
        line._timer(t, self, EventKind.DIAL_COMPLETE)

    def _do_read_frames(self):
        out = list(self.hdlc_rx)
        self.hdlc_rx.clear()
        return out

    def _do_write_frame(self, payload):
        self.hdlc_tx.append(payload)

    def _do_close(self):
        self.hdlc_rx.clear()
        self.hdlc_tx.clear()
        if self.dial_audio is not None:
            self.dial_audio = None
            self._emu._dialling.remove(self)


STAGED = "staged"  # in a group's tx queue: its block is already in the emulator's next transmit array


class EmuGroup(ChannelGroup):
    """Open channels: ring buffers of rx and tx blocks filled and drained by the emulator's clock."""

    def __init__(self, board, channels, blocksize):
        super().__init__(board, channels, blocksize)
        self.rows = np.array([c.row for c in channels], dtype=np.intp)
        self.index = row_index(self.rows)  # how the emulator's clock reads and writes the group's rows
        self.rx: deque = deque()
        self.tx: deque = deque()
        self._wrote = False
        self._underrun = False
        self._overrun = False

    def _read_block(self):
        emu = self.board.emulator
        if not self.rx:
            emu._wait_for_block(self)
        self._overrun = False
        return self.rx.popleft()

    def _write_block(self, block):
        emu = self.board.emulator
        if len(self.tx) >= emu.buffers:
            self.tx.popleft()  # the writer is ahead of the clock by more than the buffers: keep the newest
        if self.tx:
            self.tx.append(block.copy())
        else:  # the next tick sends it: copied once, into that tick's transmit array, instead of twice
            emu._stage(self.index, block)
            self.tx.append(STAGED)
        self._wrote, self._underrun = True, False


class EmuSpan(Span):
    """A span of the emulated board: counters, alarm state and the faults injected on it."""

    def __init__(self, board, number, kind, config):
        super().__init__(board, number, kind, config)
        self.counters = dict(bpvcount=0, crc4count=0, ebitcount=0, fascount=0, irqmisses=0, slips=0)
        self.alarm_bits = 0  # DAHDI alarm bits as a plain int (Alarm values)
        self.red_bits = 0
        self.cable = None  # the cable plugged into this span (digital)
        self.pulled = False  # our receive pair is unplugged
        self.lfa = False
        self.ais_in = False
        self.maint_loopback = False
        self.ber = 0.0
        self.dchan_loss = 0.0
        self.dchan_ber = 0.0
        self.dchan_abort = 0.0

    def status(self) -> SpanStatus:
        """Return the span's current SpanStatus."""
        self.board._check_open()
        cfg = self.config
        emu = self.board.emulator
        return SpanStatus(
            spanno=self.number, name=f"EMU/{self.number}",
            desc=f"Emulated {self.kind.value.upper()} span {self.number}", alarms=Alarm(self.alarm_bits),
            numchans=sum(1 for c in self.channels if c.signalling is not Signalling.UNUSED),
            totalchans=len(self.channels), totalspans=len(self.board.spans), lbo=cfg.lbo if cfg else 0,
            syncsrc=self.board.sync_source, manufacturer="pycallcenter", devicetype="emulator",
            location=f"emulator/{self.number}", spantype=self.kind.value.upper() if self.kind.digital else "",
            **self.counters)


class EmulatorBoard(Board):
    """The Board an Emulator presents; ``board.emulator`` gives the faults and far ends."""

    backend = "emulator"

    def __init__(self, emulator, config, first_row=0, index=0):
        super().__init__(config)
        self.emulator = emulator
        self.index = index  # position among the emulator's boards
        self.blocksize = config.blocksize
        self.sync_source = 0
        self.event_queue: list = []
        self.irq_misses_due = 0
        spans, channels = [], {}
        row = first_row
        for sc in config.spans:
            span = EmuSpan(self, sc.number, sc.kind, sc)
            chans = []
            for num in sc.channel_numbers:
                cc = config.channels[num]
                ch = EmuChannel(self, span, num, cc.offset, cc.signalling, cc.law, row)
                ch.echo_name, ch.echo_taps = cc.echo_canceller, cc.echo_taps
                row += 1
                chans.append(ch)
                channels[num] = ch
            span.channels = tuple(chans)
            span.audio_rows = np.array([c.row for c in chans if c.signalling.is_audio], dtype=np.intp)
            spans.append(span)
        self.spans = tuple(spans)
        self.channels = channels
        self.rows = [channels[n] for n in sorted(channels, key=lambda n: channels[n].row)]
        self.groups: list = []

    @property
    def sample_time(self) -> int:
        """Return the board clock: samples since the board was opened."""
        return self.emulator.sample_time

    def _open_group(self, channels):
        group = EmuGroup(self, channels, self.blocksize)
        self.groups.append(group)
        return group

    def _poll_events(self):
        return self.emulator._take_events(self)

    def _step(self, ticks):
        self.emulator.run(ticks)

    def _close(self):
        self.groups.clear()
