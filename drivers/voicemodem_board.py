"""A V.253 voice modem presented as a board of the driver API: one FXO span with one fxs_* channel.

``open_board(config, backend="voicemodem", port="/dev/ttyACM0")``. Rings and caller ID arrive as
result lines; off hook, the modem streams voice both ways (AT+VTR) and the group reads/writes it as
G.711 blocks. The modem's own sample rate is the clock. What the modem cannot do (gains, echo
cancelling, flash, polarity) raises HardwareError naming it.
"""
from __future__ import annotations

import time

import numpy as np

from pycallcenter.errors import HardwareError

from . import g711
from .base import Board, Channel, ChannelGroup, Event, EventKind, HookOp, Law, Span, SpanKind, SpanStatus
from .voicemodem import VoiceModem

# DLE-shielded reports that have a board event; the rest (busy, dial tone, silence...) are call progress.
_STREAM_EVENTS = {"loop_current_break": EventKind.ON_HOOK, "ring": EventKind.RING_BEGIN,
                  "polarity": EventKind.POLARITY}


class ModemChannel(Channel):
    """The modem's one line."""

    def _unsupported(self, what):
        raise HardwareError(f"a voice modem cannot {what}")

    def _do_hook(self, op):
        modem = self.board.modem
        if op is HookOp.OFF:
            modem.go_off_hook()
            modem.start(duplex=True)
            self.off_hook = True
        elif op is HookOp.ON:
            modem.go_on_hook()
            self.off_hook = False
        else:
            self._unsupported(f"signal {op.value}")

    def _do_dial(self, digits):
        modem = self.board.modem
        streaming = modem.mode != "command"
        if streaming:  # AT+VTS is a command: leave the voice stream for it
            modem.stop()
        for i, part in enumerate(digits.split("w")):
            if i:
                time.sleep(0.5)  # 'w': half a second's pause, as DAHDI dial strings mean it
            if part:
                modem.send_dtmf(part)
        if streaming:
            modem.start(duplex=True)
        self.board._emit(EventKind.DIAL_COMPLETE, {"digits": digits})

    def _do_law(self, law):
        pass  # conversion happens on our side; the modem streams linear samples

    def _do_gains(self, rx_db, tx_db):
        self._unsupported("apply gains")

    def _do_echo_canceller(self, taps):
        self._unsupported("cancel echo")


class ModemGroup(ChannelGroup):
    """The modem's audio, one block per tick."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._rx = np.zeros(0, np.int16)

    def _read_block(self):
        board, bs = self.board, self.blocksize
        chan = self.channels[0]
        modem = board.modem
        deadline = time.monotonic() + modem.timeout
        while modem.mode != "command" and len(self._rx) < bs:
            samples, events = modem.read_voice()
            self._rx = np.concatenate([self._rx, samples])
            board._stream_events(events)
            if len(self._rx) < bs:
                if time.monotonic() > deadline:
                    raise HardwareError(f"voice modem on {modem.port} stopped sending audio")
                time.sleep(0.002)
        board.samples += bs
        if len(self._rx) < bs:  # on hook: nothing is streamed; keep the clock with idle blocks
            self._rx = np.zeros(0, np.int16)
            time.sleep(bs / 8000.0)
            board._poll_modem()
            return np.full((1, bs), chan.law.idle, np.uint8)
        block, self._rx = self._rx[:bs], self._rx[bs:]
        return g711.encode(chan.law, block).reshape(1, bs)

    def _write_block(self, block):
        modem = self.board.modem
        if modem.mode == "duplex":
            modem.write_voice(g711.decode(self.channels[0].law, block[0]))


class ModemSpan(Span):
    """The modem's one analog span."""

    def status(self):
        """Return the modem span's SpanStatus (a modem reports no alarms or counters)."""
        return SpanStatus(spanno=self.number, name=f"MODEM/{self.number}", desc=f"V.253 voice modem on "
                          f"{self.board.modem.port}", numchans=1, totalchans=1, totalspans=1,
                          devicetype=self.board.ident, location=self.board.modem.port)


class VoiceModemBoard(Board):
    """A board of one FXO line on a voice modem."""

    backend = "voicemodem"

    def __init__(self, config, modem):
        super().__init__(config)
        spans = [s for s in config.spans]
        if len(spans) != 1 or spans[0].kind is not SpanKind.FXO or spans[0].channels != 1:
            raise config.error("a voice modem board is one span of kind \"fxo\" with channels = 1")
        sc = spans[0]
        cc = config.channels[sc.first_channel]
        if not cc.signalling.is_station:
            raise config.error(f"a voice modem line needs fxs_* signalling, not {cc.signalling.value}")
        self.blocksize = config.blocksize
        self.modem = modem
        self.ident = modem.setup()
        span = ModemSpan(self, sc.number, sc.kind, sc)
        span.channels = (ModemChannel(self, span, cc.number, 1, cc.signalling, cc.law),)
        self.spans = (span,)
        self.channels = {cc.number: span.channels[0]}
        self.samples = 0
        self._events = []
        self._in_ring = False

    @property
    def sample_time(self):
        """Return samples of the modem's audio clock since the board was opened."""
        return self.samples

    def _line(self):
        return next(iter(self.channels.values()))

    def _emit(self, kind, data=None):
        line = self._line()
        self._events.append(Event(kind, line.span.number, line.number, self.samples, data or {}))

    def _ring(self, begin, data=None):
        if begin:
            if self._in_ring:
                self._emit(EventKind.RING_END)
            self._emit(EventKind.RING_BEGIN)
        elif self._in_ring or data:
            self._emit(EventKind.RING_END, data)
        self._in_ring = begin

    def _stream_events(self, events):
        for ev in events:
            if ev.kind == "dtmf":
                self._emit(EventKind.DTMF, {"digit": ev.data["digit"]})
            elif ev.kind in _STREAM_EVENTS:
                kind = _STREAM_EVENTS[ev.kind]
                if kind is EventKind.RING_BEGIN:
                    self._ring(True)
                else:
                    self._emit(kind)

    def _poll_modem(self):
        for ev in self.modem.poll():
            if ev.kind == "ring":
                self._ring(True)
            elif ev.kind == "caller_id":
                # Caller ID comes in the silence after the first ring: that ring has ended.
                self._ring(False, dict(ev.data))
            else:
                self._stream_events([ev])

    def _open_group(self, channels):
        return ModemGroup(self, channels, self.blocksize)

    def _poll_events(self):
        if self.modem.mode == "command":
            self._poll_modem()
        events, self._events = self._events, []
        return events

    def _step(self, ticks):
        for _ in range(ticks):
            time.sleep(self.blocksize / 8000.0)
            self.samples += self.blocksize
            if self.modem.mode == "command":
                self._poll_modem()

    def _close(self):
        self.modem.close()


def open_board(config, *, port=None, baudrate=115200, vsm="128,8000", timeout=2.0, serial_port=None):
    """Return a VoiceModemBoard for config on the modem at port (a pyserial URL or device path)."""
    if port is None and serial_port is None:
        raise HardwareError("the voicemodem backend needs port= (for example /dev/ttyACM0)")
    modem = VoiceModem(port or "serial", baudrate=baudrate, timeout=timeout, vsm=vsm, serial_port=serial_port)
    try:
        return VoiceModemBoard(config, modem)
    except BaseException:
        modem.close()
        raise
