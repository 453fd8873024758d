"""The emulator's spans and cables: what is plugged into what (crossover, loopback, network, FXS-FXO pair, PSTN
line, phone), the span faults a test can inject, and each tick's span side: bit errors on the wire, alarms and
the clock source. A mixin of ``Emulator`` (``core.py``), whose tick calls ``_bit_errors`` and ``_update_spans``.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..base import SpanKind
from ..events import Alarm, EventKind
from .analog import Line
from .board import EmuChannel, EmuSpan
from .cables import Crossover, Loopback, Pair
from .pstn import NetworkSpan, Phone, PhoneTap, PstnLine

_ALARM_BITS = (Alarm.RED, Alarm.YELLOW, Alarm.BLUE, Alarm.LOS, Alarm.LFA, Alarm.LOOPBACK)
# plain ints in the tick loop: IntFlag arithmetic costs microseconds per operation
_RED, _YELLOW, _BLUE, _LOOPBACK = int(Alarm.RED), int(Alarm.YELLOW), int(Alarm.BLUE), int(Alarm.LOOPBACK)
_RED_LOS, _RED_LFA = int(Alarm.RED | Alarm.LOS), int(Alarm.RED | Alarm.LFA)


class _NullEnd:
    """The far end of an unplugged line: hears nothing, says nothing."""

    def _line_event(self, kind, t, data):
        pass


class Wiring:
    """Cabling, span faults and span alarms of the Emulator."""

    # --- cabling ------------------------------------------------------------------------------------
    def _build(self, spec, board):
        a = spec.args
        kp = ("emulator", "cable", spec.index)
        try:
            if spec.kind == "crossover":
                self.crossover(*(board.span(n) for n in a["spans"]))
            elif spec.kind == "loopback":
                self.loopback(board.span(a["span"]))
            elif spec.kind == "network":
                self.network(board.span(a["span"]), a.get("name"))
            elif spec.kind == "pair":
                for f, o in zip(a["fxs"], a["fxo"]):
                    self.pair(board.channel(f), board.channel(o))
            else:
                make = self.pstn_line if spec.kind == "pstn_line" else self.phone
                for ch in a["channels"]:
                    name = f"{a['name']}{ch}" if a.get("name") and len(a["channels"]) > 1 else a.get("name")
                    make(board.channel(ch), name)
        except ValueError as exc:
            raise board.config.error(str(exc), *kp) from None

    def _span(self, span):
        """Return span as an EmuSpan: a Span object, or a span number of the first board."""
        return span if isinstance(span, EmuSpan) else self.board.span(span)

    def _channel(self, channel):
        """Return channel as an EmuChannel: a Channel object, or a channel number of the first board."""
        return channel if isinstance(channel, EmuChannel) else self.board.channel(channel)

    def _digital_span(self, number):
        span = self._span(number)
        if not span.kind.digital:
            raise ValueError(f"span {span.number} is {span.kind.value}, not a digital span")
        if span.cable is not None:
            raise ValueError(f"span {span.number} already has a cable")
        return span

    def _port(self, number, station: bool):
        ch = self._channel(number)
        number = ch.number
        want = "an FXO port / fxs_* channel" if station else "an FXS port / fxo_* channel"
        if not (ch.signalling.is_station if station else ch.signalling.is_office):
            raise ValueError(f"channel {number} ({ch.signalling.value}) is not {want}")
        if ch.span.kind.digital:
            raise ValueError(f"channel {number} is on digital span {ch.span.number}: cable the span instead")
        if not isinstance(ch.line.station if ch.signalling.is_office else ch.line.office, _NullEnd):
            raise ValueError(f"channel {number} is already cabled")
        return ch

    def _attach_line(self, ch, far, timing=None):
        timing = timing or self.settings.timing
        for end in (ch, far):  # each end leaves the unplugged line it had
            old = getattr(end, "line", None)
            if old is not None and old in self.lines:
                self.lines.remove(old)
                self._busy_lines.discard(old)
        far = far if far is not None else _NullEnd()
        office, station = (ch, far) if ch.signalling.is_office else (far, ch)
        line = Line(office, station, ch.board.cadence, timing)
        for end in (office, station):
            if hasattr(end, "line"):
                end.line = line
        line.wake, line.order = self._busy_lines.add, self._line_count
        self._line_count += 1
        self.lines.append(line)
        return line

    def crossover(self, a: int, b: int):
        """Join digital spans a and b with a crossover cable (robbed-bit channels signal across it)."""
        sa, sb = self._span(a), self._span(b)
        if sa is sb:
            raise ValueError("a crossover needs two different spans (use loopback for one)")
        sa, sb = self._digital_span(sa), self._digital_span(sb)
        cable = Crossover(sa, sb)
        sa.cable = sb.cable = cable
        self.cables.append(cable)
        for ca, cb in zip(sa.channels, sb.channels):
            if ca.signalling.is_office and cb.signalling.is_station:
                self._attach_line(ca, cb)
            elif ca.signalling.is_station and cb.signalling.is_office:
                self._attach_line(cb, ca)
        return cable

    def loopback(self, span: int):
        """Put a loopback plug into a digital span."""
        s = self._digital_span(span)
        s.cable = Loopback(s)
        self.cables.append(s.cable)
        return s.cable

    def network(self, span: int, name=None) -> NetworkSpan:
        """Connect a digital span to an emulated network end and return it."""
        s = self._digital_span(span)
        net = NetworkSpan(self, s, name or f"network{s.number}")
        s.cable = net
        self.cables.append(net)
        self.far_ends[net.name] = net
        self._net_ends = None  # the tick's list of network ends, rebuilt at its next use
        for ch in s.channels:  # robbed-bit channels: the network is the office or the station of each
            if ch.signalling.is_station:
                net.lines[ch.offset] = self._add_pstn_line(ch, f"{net.name}.{ch.offset}", self.settings.timing)
            elif ch.signalling.is_office:
                net.lines[ch.offset] = self._add_phone(ch, f"{net.name}.{ch.offset}")
        return net

    def pair(self, fxs: int, fxo: int):
        """Wire FXS port channel fxs to FXO port channel fxo."""
        office, station = self._port(fxs, False), self._port(fxo, True)
        if office.span.kind.digital or station.span.kind.digital:
            raise ValueError("pair joins analog ports; use crossover for robbed-bit spans")
        self._attach_line(office, station)
        cable = Pair(office, station)
        self.cables.append(cable)
        return cable

    def pstn_line(self, channel: int, name=None, **timing) -> PstnLine:
        """Plug an emulated PSTN line into FXO port ``channel`` and return it."""
        ch = self._port(channel, True)
        t = replace(self.settings.timing, **timing) if timing else self.settings.timing
        end = self._add_pstn_line(ch, name or f"pstn{ch.number}", t)
        self.far_ends[end.name] = end
        self._net_ends = None  # the tick's list of network ends, rebuilt at its next use
        return end

    def _add_pstn_line(self, ch, name, timing):
        end = PstnLine(self, ch, name, timing)
        self._attach_line(ch, end, timing)
        self.cables.append(end)
        return end

    def phone(self, channel: int, name=None) -> Phone:
        """Plug an emulated phone into FXS port ``channel`` and return it."""
        ch = self._port(channel, False)
        end = self._add_phone(ch, name or f"phone{ch.number}")
        self.far_ends[end.name] = end
        self._net_ends = None  # the tick's list of network ends, rebuilt at its next use
        return end

    def tap_phones(self, phones) -> PhoneTap:
        """Return a PhoneTap showing what each of phones heard in the last tick, in one array."""
        tap = PhoneTap(self, phones)
        self._taps.append(tap)
        self._cable_key = None
        return tap

    def _add_phone(self, ch, name):
        end = Phone(self, ch, name)
        self._attach_line(ch, end)
        self.cables.append(end)
        return end

    # --- span faults -------------------------------------------------------------------------------
    def pull_cable(self, span: int) -> None:
        """Unplug span's receive pair: red alarm (LOS) here, yellow (RAI) at the far end."""
        self._span(span).pulled = True

    def reconnect(self, span: int) -> None:
        """Plug span's cable back in; alarms clear on the next tick."""
        self._span(span).pulled = False

    def set_bit_errors(self, span: int, ber: float) -> None:
        """Make span receive bit errors at rate ber: BPV, CRC4/FAS counts, corrupted audio and frames."""
        self._span(span).ber = float(ber)

    def set_dchan_faults(self, span: int, loss: float = 0.0, ber: float = 0.0, abort: float = 0.0) -> None:
        """Make span's D-channel lose frames (probability), flip bits (rate) or abort frames (probability)."""
        s = self._span(span)
        s.dchan_loss, s.dchan_ber, s.dchan_abort = float(loss), float(ber), float(abort)

    def miss_irq(self, count: int = 1, board=None) -> None:
        """Make a board (default: the first) miss count interrupts: each loses a tick of received audio."""
        (board or self.board).irq_misses_due += int(count)

    def slip(self, span: int, count: int = 1) -> None:
        """Make span slip count frames (counted in SpanStatus.slips)."""
        self._span(span).counters["slips"] += int(count)

    def set_ais(self, span: int, on: bool = True) -> None:
        """Make the far end send AIS (all ones) to span: blue alarm."""
        self._span(span).ais_in = bool(on)

    def set_lfa(self, span: int, on: bool = True) -> None:
        """Make span lose frame alignment: red alarm with LFA."""
        self._span(span).lfa = bool(on)

    def set_maintenance_loopback(self, span: int, on: bool = True) -> None:
        """Put span in (or out of) maintenance loopback: LOOPBACK alarm bit."""
        self._span(span).maint_loopback = bool(on)

    # --- per tick: the spans' side -----------------------------------------------------------------
    def _bit_errors(self, span, R):
        bs, rng, c = self.blocksize, self.rng, span.counters
        e1 = span.kind is SpanKind.E1
        frame_bits = 256 if e1 else 193
        n_err = int(rng.binomial(frame_bits * bs, min(span.ber, 1.0)))
        if not n_err:
            return
        c["bpvcount"] += n_err
        c["fascount"] += int(rng.binomial(n_err, 7 / 512 if e1 else 1 / 193))
        if e1 and span.config.crc4 or not e1 and span.config.framing.value == "esf":
            blocks = max(1, bs // (8 if e1 else 24))  # CRC4 sub-multiframe / ESF superframe
            hit = len(set(rng.integers(0, blocks, n_err).tolist()))
            c["crc4count"] += hit
            peer = getattr(span.cable, "a", None)
            far = (span.cable.b if peer is span else peer) if peer is not None else None
            if e1 and far is not None and far.config.crc4:
                far.counters["ebitcount"] += hit  # E-bits report our CRC4 errors back to the sender
        rows = span.audio_rows
        n_audio = int(rng.binomial(n_err, 8 * len(span.channels) / frame_bits))
        if n_audio and len(rows):
            pos = rng.integers(0, len(rows) * bs * 8, n_audio)
            r, rest = np.divmod(pos, bs * 8)
            s, bit = np.divmod(rest, 8)
            np.bitwise_xor.at(R, (rows[r], s), (1 << bit).astype(np.uint8))

    def _update_spans(self, t0):
        spans = self._digital_spans
        for s in spans:
            bits = 0
            if s.cable is None or s.pulled:
                bits = _RED_LOS
            elif s.lfa:
                bits = _RED_LFA
            elif s.ais_in:
                bits = _BLUE
            if s.maint_loopback:
                bits |= _LOOPBACK
            s.red_bits = bits  # first pass: what each span sees itself, so far ends can send RAI
        for s in spans:
            bits = s.red_bits
            if not bits & (_RED | _BLUE) and s.cable is not None and s.cable.far_sends_rai(s):
                bits |= _YELLOW
            old, s.alarm_bits = s.alarm_bits, bits
            if old == bits:
                continue
            for a in _ALARM_BITS:
                if bits & a and not old & a:
                    self.emit(EventKind.ALARM, s.number, None, t0, {"alarm": a.name, "alarms": bits}, s.board)
                elif old & a and not bits & a:
                    self.emit(EventKind.ALARM_CLEARED, s.number, None, t0, {"alarm": a.name, "alarms": bits}, s.board)
        for board in self.boards:
            ok = [s for s in board.spans if s.kind.digital and s.config.timing > 0
                  and not s.alarm_bits & (_RED | _BLUE)]
            board.sync_source = min(ok, key=lambda s: (s.config.timing, s.number)).number if ok else 0
