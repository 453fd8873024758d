"""The Emulator: one emulated board, its cables and far ends, a simulated sample clock and seeded faults.

Each tick (board blocksize samples) runs in a fixed order, so the same config, seed and calls give the
same event log: far-end handlers; transmit blocks (written, dialled or idle); cables move audio;
hybrid echo (echo.py) where configured; receive impairments (bit errors, noise, level, dead channels);
blocks into open groups; HDLC frames;
line signalling timers; span counters and alarms. Simulated mode runs ticks when a reader needs one or
``step()`` asks; ``realtime=True`` runs them as wall-clock time passes.
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from pycallcenter.journal import Journal

from ..base import SpanKind
from ..events import Alarm, Event, EventKind
from . import media
from .analog import Line, ring_cadence
from .board import EmuChannel, EmulatorBoard, EmuSpan
from .cables import Crossover, Loopback, Pair
from .echo import HybridEcho, hybrid_response
from .pstn import NetworkSpan, Phone, PhoneTap, PstnLine
from .settings import parse_settings

DBM0_RMS = 16100.0  # rms of a 0 dBm0 sine in 16-bit linear (G.711 full scale is about +3.2 dBm0)
_ALARM_BITS = (Alarm.RED, Alarm.YELLOW, Alarm.BLUE, Alarm.LOS, Alarm.LFA, Alarm.LOOPBACK)
# plain ints in the tick loop: IntFlag arithmetic costs microseconds per operation
_RED, _YELLOW, _BLUE, _LOOPBACK = int(Alarm.RED), int(Alarm.YELLOW), int(Alarm.BLUE), int(Alarm.LOOPBACK)
_RED_LOS, _RED_LFA = int(Alarm.RED | Alarm.LOS), int(Alarm.RED | Alarm.LFA)


class _NullEnd:
    """The far end of an unplugged line: hears nothing, says nothing."""

    def _line_event(self, kind, t, data):
        pass


class Emulator:
    """Emulated boards on one clock (``.board`` is the first; ``add_board()`` adds more), their cables,
    far ends (``.far_ends``) and fault commands. Spans and channels given as numbers are the first
    board's; pass Span or Channel objects to reach another board's."""

    def __init__(self, config, *, seed=None, realtime=None, buffers=None):
        config = self._load(config)
        self.config = config
        self.settings = settings = parse_settings(config)
        self.seed = settings.seed if seed is None else int(seed)
        self.realtime = settings.realtime if realtime is None else bool(realtime)
        self.buffers = settings.buffers if buffers is None else int(buffers)
        self.rng = np.random.default_rng(self.seed)
        self.blocksize = config.blocksize
        self.sample_time = 0
        self.ticks = 0
        self.boards: list = []
        self.rows: list = []  # every channel of every board, by row of the per-tick arrays
        self.cables: list = []
        self.far_ends: dict = {}
        self.lines: list = []
        # (board index, Event) of every event; a Journal so a long run keeps only what a reader has yet to read
        self.event_log = Journal("emulator events", bound=200_000)
        self._pending: list = []
        self._noise: dict = {}  # row -> rms (linear)
        self._noise_cache = None
        self._level: dict = {}  # row -> dB
        self._dead: set = set()
        self._idle_chan = None  # per-row idle code in each channel's own law; None: rebuild (law/gain changed)
        self._lut_rows: list = []
        self._dialling: list = []
        self._taps: list = []  # PhoneTaps, filled every tick
        self._echo = HybridEcho()  # hybrid echo paths ([[emulator.echo]]; none by default)
        self.board = self.add_board(config, _settings=settings)
        self._wall0 = time.monotonic()

    def __repr__(self):
        return f"<Emulator seed={self.seed} t={self.sample_time} {len(self.boards)} boards {len(self.cables)} cables>"

    @property
    def _all_spans(self):
        return [s for b in self.boards for s in b.spans]

    @property
    def sync_source(self) -> int:
        """Return the first board's clock source span (0: free run)."""
        return self.board.sync_source

    @staticmethod
    def _load(config):
        from ..config import BoardConfig, load_config

        return config if isinstance(config, BoardConfig) else load_config(config)

    def add_board(self, config, *, _settings=None) -> EmulatorBoard:
        """Add another emulated board on this clock (its [emulator] cables apply to its own spans); return it."""
        config = self._load(config)
        settings = _settings or parse_settings(config)
        if config.blocksize != self.blocksize:
            raise config.error(f"blocksize {config.blocksize} differs from the emulator's {self.blocksize}",
                               "board", "blocksize")
        try:
            cadence = ring_cadence(config.default_tonezone)
        except ValueError as exc:
            key = "default_tonezone" if ("board", "default_tonezone") in config.lines else "tonezones"
            raise config.error(str(exc), "board", key) from None
        board = EmulatorBoard(self, config, first_row=len(self.rows), index=len(self.boards))
        board.cadence = cadence
        self.boards.append(board)
        self.rows.extend(board.rows)
        self._idle_line = np.array([c.line_law.idle for c in self.rows], dtype=np.uint8)
        self._idle_chan = None
        for ch in board.rows:
            if ch.signalling.has_hook:
                self._attach_line(ch, None)
        for spec in settings.cables:
            self._build(spec, board)
        for spec in settings.echoes:
            for n in spec.channels:
                try:
                    self.hybrid_echo(board.channel(n), spec.erl, spec.delay, spec.dispersion, spec.seed + n)
                except ValueError as exc:
                    raise config.error(str(exc), "emulator", "echo", spec.index, "channels") from None
        return board

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
        far = far if far is not None else _NullEnd()
        office, station = (ch, far) if ch.signalling.is_office else (far, ch)
        line = Line(office, station, ch.board.cadence, timing)
        for end in (office, station):
            if hasattr(end, "line"):
                end.line = line
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
        return end

    def tap_phones(self, phones) -> PhoneTap:
        """Return a PhoneTap showing what each of phones heard in the last tick, in one array."""
        tap = PhoneTap(self, phones)
        self._taps.append(tap)
        return tap

    def _add_phone(self, ch, name):
        end = Phone(self, ch, name)
        self._attach_line(ch, end)
        self.cables.append(end)
        return end

    # --- faults ------------------------------------------------------------------------------------
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

    def kill_channel(self, channel: int, dead: bool = True) -> None:
        """Make a channel dead (no audio, no signalling either way) or bring it back."""
        ch = self._channel(channel)
        (self._dead.add if dead else self._dead.discard)(ch.row)
        if ch.line is not None:
            ch.line.dead = dead

    def set_line_noise(self, channel: int, level_dbm0=None) -> None:
        """Add white noise at level_dbm0 to what channel receives (None: none)."""
        row = self._channel(channel).row
        if level_dbm0 is None:
            self._noise.pop(row, None)
        else:
            self._noise[row] = DBM0_RMS * 10.0 ** (float(level_dbm0) / 20.0)
        self._noise_cache = None

    def hybrid_echo(self, channel, erl_db=12.0, delay_ms=4.0, dispersion_ms=6.0, seed=0) -> None:
        """Make channel's line return an echo of what the board sends on it (erl_db None: no echo)."""
        ch = self._channel(channel)
        if not ch.signalling.is_audio:
            raise ValueError(f"channel {ch.number} carries no audio: it cannot return echo")
        h = None if erl_db is None else hybrid_response(float(erl_db), float(delay_ms), float(dispersion_ms), seed)
        self._echo.set(ch.row, ch.line_law, h)

    def set_line_level(self, channel: int, gain_db: float = 0.0) -> None:
        """Change the level channel receives by gain_db (line loss or gain)."""
        row = self._channel(channel).row
        if gain_db:
            self._level[row] = float(gain_db)
        else:
            self._level.pop(row, None)

    # --- events ------------------------------------------------------------------------------------
    def emit(self, kind: EventKind, span, channel, sample_time: int, data, board=None) -> None:
        """Record an event of board (default: the first) for its poll_events(), ordered by sample time."""
        self._pending.append((board or self.board, Event(kind, span, channel, int(sample_time), dict(data))))

    def _flush(self):
        if self._pending:
            self._pending.sort(key=lambda be: be[1].sample_time)
            for board, event in self._pending:
                self.event_log.append((board.index, event))
                board.event_queue.append(event)
            self._pending = []

    def _take_events(self, board=None):
        board = board or self.board
        self._catch_up()
        self._flush()
        out, board.event_queue = board.event_queue, []
        return out

    def event_log_text(self) -> str:
        """Return every board's events, one per line (board index first when there are several)."""
        self._flush()
        if len(self.boards) == 1:
            return "".join(f"{e}\n" for _, e in self.event_log)
        return "".join(f"board{b} {e}\n" for b, e in self.event_log)

    def _dialled(self, channel, digits):
        end = channel.line.office if channel.line and channel.signalling.is_station else None
        if isinstance(end, PstnLine):
            end.digits += digits

    # --- clock -------------------------------------------------------------------------------------
    def run(self, ticks: int = 1) -> None:
        """Advance ticks ticks (realtime: wait until they are due)."""
        if self.realtime:
            target = self.ticks + ticks
            while self.ticks < target:
                self._sleep_to(min(target, self.ticks + 1))
                self._catch_up()
        else:
            for _ in range(ticks):
                self.tick()

    def _sleep_to(self, tick):
        delay = self._wall0 + tick * self.blocksize / 8000.0 - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def _catch_up(self):
        if self.realtime:
            due = int((time.monotonic() - self._wall0) * 8000.0 / self.blocksize)
            while self.ticks < due:
                self.tick()

    def _wait_for_block(self, group):
        while not group.rx:
            if self.realtime:
                self._sleep_to(self.ticks + 1)
                self._catch_up()
            else:
                self.tick()

    def tick(self) -> None:
        """Run one tick of the whole emulated world."""
        bs, t0 = self.blocksize, self.sample_time
        t1 = t0 + bs
        for end in self.far_ends.values():
            if isinstance(end, NetworkSpan):
                end._tick(t0)
        rows = self.rows
        if self._idle_chan is None:
            self._idle_chan = np.array([c.law.idle for c in rows], np.uint8)[:, None]
            self._lut_rows = [c for c in rows if c.tx_lut is not None or c.rx_lut is not None]
        T = np.empty((len(rows), bs), np.uint8)
        T[:] = self._idle_chan
        groups = []
        for board in self.boards:
            board.groups = [g for g in board.groups if not g.closed]
            groups += board.groups
        for g in groups:
            if g.tx:
                T[g.rows] = g.tx.popleft()
            elif g._wrote and not g._underrun:
                g._underrun = True
                for c in g.channels:
                    self.emit(EventKind.WRITE_UNDERRUN, c.span.number, c.number, t0, {"missing": 1}, g.board)
        for c in self._lut_rows:
            if c.tx_lut is not None:
                T[c.row] = c.tx_lut[T[c.row]]
        for c in list(self._dialling):
            self._dial_tick(c, T, t0)
        for row in self._dead:
            T[row] = self._idle_line[row]

        R = np.empty_like(T)
        R[:] = self._idle_line[:, None]
        for cable in self.cables:
            cable.route(self, T, R)
        for tap in self._taps:
            tap._take(T)
        if self._echo:
            self._echo.apply(T, R)
        self._impair(R)
        for board in self.boards:
            if board.irq_misses_due:
                board.irq_misses_due -= 1
                lost = [c.row for c in board.rows]
                R[lost] = self._idle_line[lost, None]
                for span in board.spans:
                    span.counters["irqmisses"] += 1
        for c in self._lut_rows:
            if c.rx_lut is not None:
                R[c.row] = c.rx_lut[R[c.row]]
        for g in groups:
            if len(g.rx) >= self.buffers:
                g.rx.popleft()
                if not g._overrun:
                    g._overrun = True
                    for c in g.channels:
                        self.emit(EventKind.READ_OVERRUN, c.span.number, c.number, t0, {"dropped": 1}, g.board)
            else:
                g._overrun = False
            g.rx.append(R[g.rows])

        for cable in self.cables:
            cable.move_frames(self)
        for line in self.lines:
            line.tick(t0, t1)
        self._update_spans(t0)
        self.sample_time = t1
        self.ticks += 1
        self._flush()

    def _dial_tick(self, c, T, t0):
        chunk = c.dial_audio[: self.blocksize]
        T[c.row, : len(chunk)] = chunk
        rest = c.dial_audio[self.blocksize:]
        if len(rest):
            c.dial_audio = rest
        else:
            c.dial_audio = None
            self._dialling.remove(c)
            self.emit(EventKind.DIAL_COMPLETE, c.span.number, c.number, t0 + len(chunk), {"digits": c.dial_digits},
                      c.board)
            c.dial_digits = ""

    def _impair(self, R):
        for span in self._all_spans:
            if span.ber and span.kind.digital:
                self._bit_errors(span, R)
        for row, gain in self._level.items():
            R[row] = media.gain_table(self.rows[row].line_law, gain)[R[row]]
        for law, rows, rms in self._noise_groups():
            noise = self.rng.standard_normal((len(rows), self.blocksize)) * rms
            R[rows] = media.encode(np.rint(media.decode(R[rows], law) + noise), law)
        for row in self._dead:
            R[row] = self._idle_line[row]

    def _noise_groups(self):
        """Return [(law, rows, rms column)] for the noisy rows, built once per change of the noise settings."""
        if self._noise_cache is None:
            by_law: dict = {}
            for row, rms in sorted(self._noise.items()):
                rows, levels = by_law.setdefault(self.rows[row].line_law, ([], []))
                rows.append(row)
                levels.append(rms)
            self._noise_cache = [(law, np.array(r, dtype=np.intp), np.array(v)[:, None])
                                 for law, (r, v) in by_law.items()]
        return self._noise_cache

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
        spans = [s for s in self._all_spans if s.kind.digital]
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


def open_board(config, *, seed=None, realtime=None, buffers=None) -> EmulatorBoard:
    """Return the board of a new Emulator for config (the backend entry point)."""
    return Emulator(config, seed=seed, realtime=realtime, buffers=buffers).board
