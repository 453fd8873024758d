"""The Emulator: one emulated board, its cables and far ends, a simulated sample clock and seeded faults.

This file builds it and runs the clock; its other jobs are mixins beside it: ``wiring.py`` (spans and cables:
cabling, span faults, alarms), ``channels.py`` (channel faults and the audio impairments) and ``eventlog.py``
(the boards' events). ``DBM0_RMS`` is defined in ``channels.py`` and importable from here as before.

Each tick (board blocksize samples) runs in a fixed order, so the same config, seed and calls give the
same event log: far-end handlers; transmit blocks (written, dialled or idle); cables move audio;
hybrid echo (echo.py) where configured; receive impairments (bit errors, noise, level, dead channels);
blocks into open groups; HDLC frames;
line signalling timers; span counters and alarms. Simulated mode runs ticks when a reader needs one or
``step()`` asks; ``realtime=True`` runs them as wall-clock time passes.
"""
from __future__ import annotations

import time

import numpy as np

from pycallcenter.journal import Journal

from ..config import BoardConfig, load_config
from ..events import EventKind
from .analog import ring_cadence
from .board import STAGED, EmulatorBoard, row_index
from .channels import DBM0_RMS, ChannelMedia
from .echo import HybridEcho
from .eventlog import EventLog
from .pstn import NetworkSpan
from .settings import parse_settings
from .wiring import Wiring

__all__ = ["Emulator", "open_board", "DBM0_RMS"]


class Emulator(Wiring, ChannelMedia, EventLog):
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
        self._spans = self._digital = None
        self.rows: list = []  # every channel of every board, by row of the per-tick arrays
        self.cables: list = []
        self.far_ends: dict = {}
        self._staged = None  # the next tick's transmit array, while groups' blocks are copied into it (_stage)
        self._holes_key = None  # (rows, open groups) _holes() was worked out for, and its answer
        self._holes_rows = None
        self._net_ends = None  # the NetworkSpans among far_ends, in its order (None: rebuild; wiring resets it)
        self.lines: list = []
        self._busy_lines: set = set()  # lines with something to do (Line.wake adds, the tick drops the quiet)
        self._line_count = 0
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
        self._sending: set = set()  # line ends with audio queued (write_audio) since their last route
        self._cable_key = None  # (cables, taps) the two lists below were made for
        self._routed: list = []  # cables routed every tick: all but the phones in a PhoneTap
        self._framed: list = []  # cables with D-channel frames to move
        self._echo = HybridEcho()  # hybrid echo paths ([[emulator.echo]]; none by default)
        self.board = self.add_board(config, _settings=settings)
        self._wall0 = time.monotonic()

    def __repr__(self):
        return f"<Emulator seed={self.seed} t={self.sample_time} {len(self.boards)} boards {len(self.cables)} cables>"

    @property
    def _all_spans(self):
        spans = self._spans
        if spans is None:  # asked twice a tick; boards (and so spans) only ever get added
            spans = self._spans = [s for b in self.boards for s in b.spans]
        return spans

    @property
    def _digital_spans(self):
        spans = self._digital
        if spans is None:
            spans = self._digital = [s for s in self._all_spans if s.kind.digital]
        return spans

    @property
    def sync_source(self) -> int:
        """Return the first board's clock source span (0: free run)."""
        return self.board.sync_source

    @staticmethod
    def _load(config):
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
        self._spans = self._digital = None  # _all_spans and _digital_spans, rebuilt at their next use
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

    def _stage(self, index, block):
        """Copy a group's block (its rows: index) into the next tick's transmit array, made here when needed."""
        S = self._staged
        if S is None:
            S = self._staged = np.empty((len(self.rows), self.blocksize), np.uint8)
        S[index] = block

    def _holes(self, groups):
        """Return the rows of the tick's transmit array that no open group covers (a slice or an index array;
        False when there are none), or None when two groups share a row; kept until the groups change."""
        key = (len(self.rows), tuple(groups))  # the groups themselves: a new group may reuse a closed one's id
        if self._holes_key != key:
            covered = np.zeros(len(self.rows), np.intp)
            for g in groups:
                covered[g.rows] += 1
            if (covered > 1).any():
                self._holes_rows = None
            else:
                free = np.flatnonzero(covered == 0)
                self._holes_rows = row_index(free) if len(free) else False
            self._holes_key = key
        return self._holes_rows

    def _cable_lists(self):
        key = (len(self.cables), tuple(id(t) for t in self._taps))
        if key != self._cable_key:
            self._cable_key = key
            self._routed = [c for c in self.cables if getattr(c, "_tap", None) is None]
            self._framed = [c for c in self.cables if getattr(c, "has_frames", True)]

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
        nets = self._net_ends
        if nets is None:  # about 500 of the far ends are phones: the tick's handlers run on the network spans'
            nets = self._net_ends = [end for end in self.far_ends.values() if isinstance(end, NetworkSpan)]
        for end in nets:
            end._tick(t0)
        rows = self.rows
        if self._idle_chan is None:
            self._idle_chan = np.array([c.law.idle for c in rows], np.uint8)[:, None]
            self._lut_rows = [c for c in rows if c.tx_lut is not None or c.rx_lut is not None]
        groups = []
        for board in self.boards:
            board.groups = [g for g in board.groups if not g.closed]
            groups += board.groups
        holes = self._holes(groups)
        S, self._staged = self._staged, None  # the blocks written since the last tick for it (_stage)
        if S is not None and holes is not None and len(S) == len(rows):
            T = S
        else:
            T = np.empty((len(rows), bs), np.uint8)
        if holes is None:  # groups sharing a row: the idle codes first, then each group's block over them in turn
            T[:] = self._idle_chan
        elif holes is not False:  # each row is written once: the idle codes go only where no group's block does
            T[holes] = self._idle_chan[holes]
        for g in groups:
            if g.tx:
                block = g.tx.popleft()
                if block is not STAGED:
                    T[g.index] = block
                elif T is not S:
                    T[g.index] = S[g.index]
                continue
            if holes is not None:
                T[g.index] = self._idle_chan[g.index]
            if g._wrote and not g._underrun:
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
        self._cable_lists()
        for cable in self._routed:
            cable.route(self, T, R)
        if self._sending:
            # a phone in a tap writes only its own row and only while it has audio queued; the others' route
            # does nothing, so they are not called (the tap hands over what they hear)
            for end in list(self._sending):
                if getattr(end, "_tap", None) is not None:
                    end.route(self, T, R)
                if not end._out:
                    self._sending.discard(end)
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
            # R is new each tick and nobody writes it after this: a group with consecutive rows gets a view,
            # scattered rows a copy (np.take copies them faster than indexing does)
            index = g.index
            g.rx.append(R[index] if isinstance(index, slice) else np.take(R, index, axis=0))

        for cable in self._framed:
            cable.move_frames(self)
        if self._busy_lines:
            # only busy lines, in the order of self.lines (an idle line's tick does nothing); a line's tick
            # calls only its ends' _line_event, which never wakes another line, so the snapshot is complete
            busy = self._busy_lines
            for line in sorted(busy, key=_line_order):
                line.tick(t0, t1)
                if line.quiet():
                    busy.discard(line)
        self._update_spans(t0)
        self.sample_time = t1
        self.ticks += 1
        self._flush()







def _line_order(line):
    return line.order


def open_board(config, *, seed=None, realtime=None, buffers=None) -> EmulatorBoard:
    """Return the board of a new Emulator for config (the backend entry point)."""
    return Emulator(config, seed=seed, realtime=realtime, buffers=buffers).board
