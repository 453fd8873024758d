"""Analog (and robbed-bit) line signalling between an office end and a station end, at the level software sees.

The office end (an FXS port, an fxo_* robbed-bit channel, or the emulated PSTN) rings, reverses polarity,
drops loop current and winks; the station end (an FXO port, an fxs_* channel, or an emulated phone)
goes off/on hook, flashes and winks. The line turns those into the events each end reports: ring
bursts in the tone zone's cadence, debounced hook changes, flash versus on-hook by the receive flash
time, wink, polarity. Ends are objects with ``_line_event(kind, sample_time, data)``.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

from ..events import EventKind

MS = 8  # samples per millisecond

# Used only when pycallcenter.dsp.toneplans is absent: (on_ms, off_ms) bursts per zone.
_FALLBACK_CADENCES = {
    "us": ((2000, 4000),), "uk": ((400, 200), (400, 2000)), "de": ((1000, 4000),), "fr": ((1500, 3500),),
    "jp": ((1000, 2000),), "cn": ((1000, 4000),), "etsi": ((1000, 4000),),
}


def ring_cadence(zone: str) -> tuple:
    """Return the zone's ring cadence as ((on_ms, off_ms), ...)."""
    try:  # deliberate: the drivers layer works without the stack's DSP (built-in cadences then)
        from pycallcenter.dsp.toneplans import get_plan
    except ImportError:
        try:
            return _FALLBACK_CADENCES[zone.lower()]
        except KeyError:
            raise ValueError(f"unknown tone zone {zone!r}; known: {', '.join(sorted(_FALLBACK_CADENCES))}") from None
    return tuple(tuple(int(v) for v in pair) for pair in get_plan(zone).ring_cadence)


@dataclass(frozen=True)
class LineTiming:
    """Signalling times in ms (defaults are DAHDI's, except debounce, which is the port's)."""

    debounce: int = 30  # hook state must hold this long to count
    flash: int = 750  # how long our own flash holds on hook (DAHDI flashtime)
    rxflash: int = 1250  # on hook shorter than this is a flash; longer is on hook (DAHDI rxflashtime)
    wink: int = 150  # DAHDI winktime
    polarity_on_answer: bool = False  # the office reverses polarity when the far party answers
    disconnect_supervision: bool = True  # the office drops loop current when the far party clears


class Line:
    """One line: office end <-> station end; ``tick(t0, t1)`` advances its timers."""

    def __init__(self, office, station, cadence, timing: LineTiming = LineTiming()):
        self.office, self.station = office, station
        self.timing = timing
        self.cadence = [(max(1, on * MS), max(1, off * MS)) for on, off in cadence]
        # station hook as the station sets it: list of (time, off_hook) changes not yet applied
        self.station_off_hook = False
        self._raw = False
        self._raw_since = 0
        self._pending: list = []
        self.office_view = False  # hook state the office has recognised
        self._onhook_since = None  # office saw on hook at this time, flash-or-hangup undecided
        self._timers: list = []  # (time, seq, end, kind, data), sorted
        self._seq = 0
        self.ringing = False
        self.ring_on = False  # a burst is on now (station audio muted)
        self._ring_next = 0
        self._ring_index = 0
        self.polarity_reversed = False
        self.dead = False
        # the emulator's busy set (its add): every change that gives the line something to do on a later tick
        # calls it, so the emulator ticks only busy lines, not the hundreds of idle ones of a big board
        self.wake = None
        self.order = 0  # position among the emulator's lines: busy lines tick in this order, as all lines did

    def _busy(self):
        if self.wake is not None:
            self.wake(self)

    def quiet(self) -> bool:
        """Return True when ticking the line does nothing until one of its ends acts on it."""
        return not (self._pending or self._timers or self.ringing or self._raw != self.office_view
                    or self._onhook_since is not None and not self.office_view)

    # --- office side ------------------------------------------------------------------------------
    def ring(self, on: bool, now: int):
        """Start ringing (the first burst starts at now) or stop."""
        if on and not self.ringing and not self.office_view:
            self.ringing, self._ring_next, self._ring_index = True, now, 0
            self._busy()
        elif not on and self.ringing:
            self._stop_ring(now)

    def _stop_ring(self, t):
        if self.ring_on:
            self.ring_on = False
            self.station._line_event(EventKind.RING_END, t, {})
            self.office._line_event(EventKind.RINGER_OFF, t, {})
        self.ringing = False

    def set_polarity(self, reversed: bool, now: int):
        """Reverse (or restore) polarity; the station reports it at once."""
        if reversed != self.polarity_reversed:
            self.polarity_reversed = reversed
            self.station._line_event(EventKind.POLARITY, now, {"reversed": reversed})

    def drop_loop_current(self, now: int):
        """Disconnect supervision: a station that is off hook sees ON_HOOK."""
        if self.station_off_hook:
            self.station._line_event(EventKind.ON_HOOK, now, {})

    def office_wink(self, now: int):
        """Wink toward the station: it sees WINK when the wink ends; the office gets HOOK_COMPLETE."""
        end = now + self.timing.wink * MS
        self._timer(end, self.station, EventKind.WINK)
        self._timer(end, self.office, EventKind.HOOK_COMPLETE)

    # --- station side -----------------------------------------------------------------------------
    def station_hook(self, off_hook: bool, now: int):
        """Station goes off (True) or on hook at now."""
        self.station_off_hook = off_hook
        self._pending = [p for p in self._pending if p[0] <= now]  # hanging up cancels a flash in progress
        self._pending.append((now, off_hook))
        self._busy()

    def station_flash(self, now: int):
        """On hook for the flash time, then off hook again; HOOK_COMPLETE at the end."""
        end = now + self.timing.flash * MS
        self._pending += [(now, False), (end, True)]
        self._timer(end, self.station, EventKind.HOOK_COMPLETE)  # wakes the line

    def station_wink(self, now: int):
        """Wink toward the office: it sees WINK when the wink ends."""
        end = now + self.timing.wink * MS
        self._timer(end, self.office, EventKind.WINK)
        self._timer(end, self.station, EventKind.HOOK_COMPLETE)

    def _timer(self, at, who, kind):
        self._seq += 1
        bisect.insort(self._timers, (at, self._seq, who, kind))
        self._busy()

    # --- clock ------------------------------------------------------------------------------------
    def _next(self):
        """Return (time, what) of the line's next happening, or None; ties go in the order listed."""
        cands = []
        if self._pending:
            cands.append((self._pending[0][0], 0))
        if self._raw != self.office_view:
            cands.append((self._raw_since + self.timing.debounce * MS, 1))
        if self._onhook_since is not None and not self.office_view:
            cands.append((self._onhook_since + self.timing.rxflash * MS, 2))
        if self._timers:
            cands.append((self._timers[0][0], 3))
        if self.ringing:
            cands.append((self._ring_next, 4))
        return min(cands) if cands else None

    def tick(self, t0: int, t1: int):
        """Advance hook recognition, flash/on-hook timing, timers and ring cadence over samples [t0, t1)."""
        if self.dead:
            self._pending.clear()
            return
        # most ticks of most lines have nothing due: say so without building _next()'s candidates
        if self.quiet():
            return
        while True:
            nxt = self._next()
            if nxt is None or nxt[0] >= t1:
                return
            t, what = nxt
            if what == 0:
                _, state = self._pending.pop(0)
                if state != self._raw:
                    self._raw, self._raw_since = state, t
            elif what == 1:
                self._recognise(self._raw, t)
            elif what == 2:
                self._onhook_since = None
                self.office._line_event(EventKind.ON_HOOK, t, {})
            elif what == 3:
                _, _, who, kind = self._timers.pop(0)
                who._line_event(kind, t, {})
            else:
                self._ring_step(t)

    def _ring_step(self, t):
        on, off = self.cadence[self._ring_index % len(self.cadence)]
        if not self.ring_on:
            self.ring_on = True
            self.station._line_event(EventKind.RING_BEGIN, t, {})
            self.office._line_event(EventKind.RINGER_ON, t, {})
            self._ring_next = t + on
        else:
            self.ring_on = False
            self.station._line_event(EventKind.RING_END, t, {})
            self.office._line_event(EventKind.RINGER_OFF, t, {})
            self._ring_next = t + off
            self._ring_index += 1
            if hasattr(self.office, "_ring_gap"):
                self.office._ring_gap(t, off)

    def _recognise(self, off_hook: bool, t: int):
        self.office_view = off_hook
        if off_hook:
            if self.ringing:  # ring trip
                self._stop_ring(t)
            if self._onhook_since is not None:
                brk = (t - self._onhook_since) // MS  # how long the loop was open: a dial pulse is ~60 ms
                self._onhook_since = None
                self.office._line_event(EventKind.FLASH, t, {"ms": int(brk)})
            else:
                self.office._line_event(EventKind.OFF_HOOK, t, {})
        else:
            self._onhook_since = t - self.timing.debounce * MS
