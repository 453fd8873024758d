"""The DAHDI backend of the board API: spans and channels of a DAHDI-driven card through /dev/dahdi.

DAHDI itself is configured by the integrator (dahdi_cfg with /etc/dahdi/system.conf); the board
config given here must describe the same spans and channels, and opening a channel checks that
DAHDI's signalling matches it. Every system call goes through ``self.sys`` (the seam in sys.py).
"""
from __future__ import annotations

import numpy as np

from pycallcenter.errors import HardwareError

from ..base import Alarm, Board, Channel, ChannelGroup, Event, EventKind, HookOp, Law, Signalling, Span
from ._binding import lib
from .device import DahdiChannelFile, DahdiControl, poll_channels
from .gains import gain_table
from .sys import RealSys

SIGTYPES = {
    Signalling.FXS_LS: lib.DAHDI_SIG_FXSLS, Signalling.FXS_KS: lib.DAHDI_SIG_FXSKS,
    Signalling.FXS_GS: lib.DAHDI_SIG_FXSGS, Signalling.FXO_LS: lib.DAHDI_SIG_FXOLS,
    Signalling.FXO_KS: lib.DAHDI_SIG_FXOKS, Signalling.FXO_GS: lib.DAHDI_SIG_FXOGS,
    Signalling.BCHAN: lib.DAHDI_SIG_CLEAR, Signalling.CLEAR: lib.DAHDI_SIG_CLEAR,
    Signalling.DCHAN: lib.DAHDI_SIG_HDLCFCS, Signalling.HARDHDLC: lib.DAHDI_SIG_HARDHDLC,
    Signalling.UNUSED: lib.DAHDI_SIG_NONE,
}
LAWS = {Law.ULAW: lib.DAHDI_LAW_MULAW, Law.ALAW: lib.DAHDI_LAW_ALAW}
HOOK_OPS = {HookOp.ON: lib.DAHDI_ONHOOK, HookOp.OFF: lib.DAHDI_OFFHOOK, HookOp.FLASH: lib.DAHDI_FLASH,
            HookOp.WINK: lib.DAHDI_WINK, HookOp.START: lib.DAHDI_START}
# How long a group read waits for every channel's block before calling the card dead.
READ_TIMEOUT_TICKS = 50
# How often poll_events() asks DAHDI_SPANSTAT for alarms (open channels also get DAHDI_EVENT_ALARM at once).
ALARM_POLL_SAMPLES = 800


class DahdiChannel(Channel):
    """A channel served by one /dev/dahdi/channel file while open."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.file = None
        self.last_dial = ""
        self.ringing = False  # station side: inside a ring burst

    def _open_file(self):
        board = self.board
        f = DahdiChannelFile(self.number, sys=board.sys, blocksize=board.blocksize,
                             law=LAWS[self.law] if self.signalling.is_audio else None)
        want = SIGTYPES[self.signalling]
        if f.params.sigtype != want:
            f.close()
            raise HardwareError(
                f"DAHDI channel {self.number} has signalling {f.params.sigtype:#x} but the board config says "
                f"{self.signalling.value} ({want:#x}); make /etc/dahdi/system.conf and the config agree, "
                "then run dahdi_cfg")
        f.flush()
        self.file = f
        if self.signalling.is_audio:
            taps = board.config.channels[self.number].echo_taps if board.config else 0
            if taps:
                f.echocancel(taps)
                self.echo_taps = taps

    def _do_hook(self, op):
        self.file.hook(HOOK_OPS[op])
        if op in (HookOp.ON, HookOp.OFF):
            self.off_hook = op is HookOp.OFF

    def _do_ring(self, on):
        self.file.hook(lib.DAHDI_RING if on else lib.DAHDI_RINGOFF)

    def _do_polarity(self, reversed_):
        self.file.set_polarity(reversed_)

    def _do_gains(self, rx_db, tx_db):
        self.file.set_gains(gain_table(rx_db, self.law), gain_table(tx_db, self.law))

    def _do_echo_canceller(self, taps):
        self.file.echocancel(taps)

    def _do_law(self, law):
        self.file.set_law(LAWS[law])

    def _do_dial(self, digits):
        self.last_dial = digits
        # T: tone (DTMF) dialling, P: pulse (the API passes P through); 'w' is DAHDI's half-second wait too
        self.file.dial(digits if digits.startswith("P") else "T" + digits)

    def _do_read_frames(self):
        frames = []
        while True:
            frame = self.file.read()
            if frame is None:
                self.board._drain_events(self)
                return frames
            frames.append(frame)

    def _do_write_frame(self, payload):
        written = self.file.write(payload)
        if written is None:
            self.board._drain_events(self)
            written = self.file.write(payload)
        if not written:
            raise HardwareError(f"DAHDI D-channel {self.number} refused a frame (transmit buffers full)")

    def _do_close(self):
        if self.file is not None:
            self.board._drain_events(self)
            self.file.close()
            self.file = None


class DahdiGroup(ChannelGroup):
    """Audio channels read with one poll() over all their files."""

    def _read_block(self):
        board, bs = self.board, self.blocksize
        by_file = {c.file: c for c in self.channels}
        pending = {c.file: i for i, c in enumerate(self.channels)}
        rows = [b""] * len(self.channels)
        waits = 0
        while pending:
            ready = poll_channels(board.sys, pending, board.tick_ms)
            if not ready:
                waits += 1
                if waits > READ_TIMEOUT_TICKS:
                    missing = sorted(f.channo for f in pending)
                    raise HardwareError(f"no audio from DAHDI channels {missing} for {waits} ticks: "
                                        "is the card's clock running (span timing, dahdi_cfg)?")
                continue
            for f, (readable, event) in ready.items():
                if event:
                    board._drain_events(by_file[f])
                if not readable:
                    continue
                data = f.read(bs)
                if data is None:  # an event arrived between poll and read
                    board._drain_events(by_file[f])
                    continue
                if len(data) != bs:
                    raise HardwareError(f"DAHDI channel {f.channo} returned {len(data)} bytes for a {bs}-byte block")
                rows[pending.pop(f)] = data
        # One copy for the whole tick; bytearray so the caller gets a writable array.
        return np.frombuffer(bytearray(b"".join(rows)), dtype=np.uint8).reshape(len(rows), bs)

    def _write_block(self, block):
        # A short write means DAHDI's transmit buffers are full: we are ahead of the card, and the
        # block is dropped, as the API says of a writer more than its buffers ahead.
        for c, row in zip(self.channels, block):
            if c.file.write(row.data) is None:  # an event must be fetched before DAHDI takes audio
                self.board._drain_events(c)
                c.file.write(row.data)


class DahdiSpan(Span):
    """A DAHDI span; status comes from DAHDI_SPANSTAT."""

    def status(self):
        """Return the span's SpanStatus as DAHDI_SPANSTAT reports it now."""
        return self.board.ctl.span_status(self.number)


class DahdiBoard(Board):
    """A DAHDI card (or several: DAHDI numbers spans and channels system-wide)."""

    backend = "dahdi"

    def __init__(self, config, *, sys=None):
        super().__init__(config)
        self.sys = sys if sys is not None else RealSys()
        self.blocksize = config.blocksize
        self.tick_ms = max(1, self.blocksize // 8)
        probe = DahdiChannelFile.probe(self.sys)  # says "no /dev/dahdi/channel" before anything else
        self.sys.close(probe)
        self.ctl = DahdiControl(sys=self.sys)
        self._t0 = self.sys.monotonic()
        self._events = []
        self._alarms = {}
        self._next_alarm_poll = 0
        spans, chans = [], {}
        for sc in config.spans:
            span = DahdiSpan(self, sc.number, sc.kind, sc)
            span.channels = tuple(
                DahdiChannel(self, span, n, cc.offset, cc.signalling, cc.law)
                for n in sc.channel_numbers for cc in (config.channels[n],))
            chans.update((c.number, c) for c in span.channels)
            spans.append(span)
        self.spans = tuple(spans)
        self.channels = chans
        try:
            for span in self.spans:  # DAHDI must know every configured span; remember the alarms it has now
                self._alarms[span.number] = span.status().alarms
        except HardwareError as exc:
            self.ctl.close()
            raise HardwareError(f"{exc} (is span {span.number} configured in DAHDI? see dahdi_tool)") from exc

    @property
    def sample_time(self):
        """Return samples (8 kHz) since the board was opened, by the seam's monotonic clock."""
        return int(round((self.sys.monotonic() - self._t0) * 8000))

    # --- events ---
    def _emit(self, kind, channel, data=None, span=None):
        self._events.append(Event(kind, channel.span.number if channel else span, channel.number if channel else None,
                                  self.sample_time, data or {}))

    def _drain_events(self, chan):
        """Move every DAHDI event queued on chan into the board's event list."""
        while chan.file is not None:
            code = chan.file.get_event()
            if code == lib.DAHDI_EVENT_NONE:
                return
            self._translate(chan, code)

    def _translate(self, chan, code):
        sig = chan.signalling
        if code & lib.DAHDI_EVENT_DTMFUP:
            self._emit(EventKind.DTMF, chan, {"digit": chr(code & 0xFF)})
            return
        if code & (lib.DAHDI_EVENT_DTMFDOWN | lib.DAHDI_EVENT_PULSEDIGIT):
            return  # key-down: the digit is reported once, on key-up
        if code in (lib.DAHDI_EVENT_ALARM, lib.DAHDI_EVENT_NOALARM):
            self._check_alarms(chan.span)
            return
        if sig.is_station and code in (lib.DAHDI_EVENT_RINGBEGIN, lib.DAHDI_EVENT_RINGOFFHOOK):
            if not chan.ringing:  # DAHDI may report both the ring's start and its debounced detection
                chan.ringing = True
                self._emit(EventKind.RING_BEGIN, chan)
            return
        if sig.is_station and code == lib.DAHDI_EVENT_RINGEROFF:
            chan.ringing = False
            self._emit(EventKind.RING_END, chan)
            return
        if code == lib.DAHDI_EVENT_POLARITY:
            chan.polarity_reversed = not chan.polarity_reversed
            self._emit(EventKind.POLARITY, chan, {"reversed": chan.polarity_reversed})
            return
        if code == lib.DAHDI_EVENT_DIALCOMPLETE:
            self._emit(EventKind.DIAL_COMPLETE, chan, {"digits": chan.last_dial})
            return
        kind = {
            lib.DAHDI_EVENT_RINGOFFHOOK: EventKind.OFF_HOOK, lib.DAHDI_EVENT_ONHOOK: EventKind.ON_HOOK,
            lib.DAHDI_EVENT_WINKFLASH: EventKind.FLASH if sig.is_office else EventKind.WINK,
            lib.DAHDI_EVENT_RINGERON: EventKind.RINGER_ON, lib.DAHDI_EVENT_RINGEROFF: EventKind.RINGER_OFF,
            lib.DAHDI_EVENT_HOOKCOMPLETE: EventKind.HOOK_COMPLETE, lib.DAHDI_EVENT_BADFCS: EventKind.HDLC_BAD_FCS,
            lib.DAHDI_EVENT_ABORT: EventKind.HDLC_ABORT, lib.DAHDI_EVENT_OVERRUN: EventKind.HDLC_OVERRUN,
            lib.DAHDI_EVENT_READ_OVERRUN: EventKind.READ_OVERRUN,
            lib.DAHDI_EVENT_WRITE_UNDERRUN: EventKind.WRITE_UNDERRUN,
        }.get(code)
        if kind is None:
            return  # events the API has no word for (timers, CED/CNG detectors, removal is an alarm)
        self._emit(kind, chan, {EventKind.READ_OVERRUN: {"dropped": 1},
                                EventKind.WRITE_UNDERRUN: {"missing": 1}}.get(kind))

    def _check_alarms(self, span):
        now = span.status().alarms
        before = self._alarms.get(span.number, Alarm.NONE)
        for bit in Alarm:
            if not bit.value:
                continue
            if now & bit and not before & bit:
                self._emit(EventKind.ALARM, None, {"alarm": bit.name, "alarms": int(now)}, span=span.number)
            elif before & bit and not now & bit:
                self._emit(EventKind.ALARM_CLEARED, None, {"alarm": bit.name, "alarms": int(now)}, span=span.number)
        self._alarms[span.number] = now

    def _poll_events(self):
        open_chans = [c for c in self.channels.values() if c.file is not None]
        by_file = {c.file: c for c in open_chans}
        for f, (_, event) in poll_channels(self.sys, list(by_file), 0).items():
            if event:
                self._drain_events(by_file[f])
        now = self.sample_time
        if now >= self._next_alarm_poll:  # spans with no open channel report alarms only through SPANSTAT
            self._next_alarm_poll = now + ALARM_POLL_SAMPLES
            for span in self.spans:
                self._check_alarms(span)
        events, self._events = self._events, []
        events.sort(key=lambda e: e.sample_time)
        return events

    # --- opening and the clock ---
    def _open_group(self, channels):
        opened = []
        try:
            for c in channels:
                c._open_file()
                opened.append(c)
        except BaseException:
            for c in opened:
                c.file.close()
                c.file = None
            raise
        return DahdiGroup(self, channels, self.blocksize)

    def _open_hdlc(self, channel):
        channel._open_file()

    def _step(self, ticks):
        for _ in range(ticks):  # the card's clock: wait one tick (the fake kernel advances its board)
            self.sys.poll([], self.tick_ms)

    def _close(self):
        self.ctl.close()


def open_board(config, *, sys=None, **options):
    """Return a DahdiBoard for config, with system calls through sys (RealSys() by default)."""
    if options:
        raise TypeError(f"unknown DAHDI backend options: {', '.join(sorted(options))}")
    return DahdiBoard(config, sys=sys)
