"""Overload control: whether a new incoming call may start, decided before any script, queue or recorder
work is spent on it.

Three limits, each optional ([centre] keys, docs/operations.md):

- ``max_calls``: calls up at once. A call beyond it is refused with Q.850 cause 34 (no circuit/channel
  available): the centre has no room, as a full trunk group has none.
- ``max_call_rate``: new incoming calls per second, with a small burst (a token bucket). A call beyond
  it is refused with cause 42 (switching equipment congestion).
- the load guard: when the tick's work (CPU seconds of the ticking thread, as metrics.TickStats measures
  it: wall time would count other processes on a busy host, which refusing calls cannot help) at the p99 of
  the last ``window`` seconds passes ``high`` of the tick's own duration, the centre is near the point
  where audio would be late for every call up; new calls are refused with cause 42 until that p99
  falls back under ``low`` (hysteresis, so the guard does not flap at the edge).

Calls already up are never touched. Refusals are counted by reason and logged once per burst: the first
refusal of a burst logs ``overload``; the first call admitted after QUIET seconds without a refusal logs
``overload_end`` with the numbers refused and admitted in the burst (a flood of refusals is one pair of
lines, not one line per call, even when the rate limit lets every few calls through).

The p99 needs no sort: a window of n ticks has its p99 above a threshold exactly when more than
floor(n / 100) of its ticks are, so two running counts (ticks above ``high``, ticks above ``low``) over
a ring of the window's durations give the guard's answer in O(1) per tick.
"""
from collections import deque

from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C

CAPACITY = "capacity"  # max_calls reached: cause 34
RATE = "rate"  # max_call_rate exceeded: cause 42
LOAD = "load"  # the tick's p99 work over the guard's threshold: cause 42
QUIET = 5.0  # seconds without a refusal that end a burst (for the log)
CAUSE = {CAPACITY: C.NO_CIRCUIT, RATE: C.Cause.SWITCHING_EQUIPMENT_CONGESTION,
         LOAD: C.Cause.SWITCHING_EQUIPMENT_CONGESTION}


class TickLoad:
    """The load guard's view of recent ticks: p99 of the last window's durations against two thresholds."""

    def __init__(self, tick_seconds, high=0.8, low=0.6, window=2.0, percentile=99.0):
        if not 0 < low <= high:
            raise ValueError(f"overload guard: low ({low}) must be above 0 and at most high ({high})")
        self.high = high * tick_seconds
        self.low = low * tick_seconds
        self.size = max(1, int(round(window / tick_seconds)))
        # ticks allowed above a threshold with the percentile still under it
        self.allowed = int(self.size * (100.0 - percentile) / 100.0)
        self.ring = deque()
        self.over_high = 0
        self.over_low = 0
        self.engaged = False

    def observe(self, seconds):
        """Add one tick's duration; return True while the guard refuses new calls."""
        self.ring.append(seconds)
        self.over_high += seconds > self.high
        self.over_low += seconds > self.low
        if len(self.ring) > self.size:
            old = self.ring.popleft()
            self.over_high -= old > self.high
            self.over_low -= old > self.low
        if not self.engaged and self.over_high > self.allowed:
            self.engaged = True
        elif self.engaged and self.over_low <= self.allowed:
            self.engaged = False
        return self.engaged


class Admission:
    """Decides for each offered call whether it starts; counts and logs the ones it refuses."""

    def __init__(self, max_calls=None, max_call_rate=None, burst=None, guard=None):
        self.max_calls = max_calls
        self.rate = max_call_rate
        # the bucket holds at most `burst` calls (default: one second's worth, at least one call)
        self.burst = float(burst) if burst is not None else max(1.0, float(max_call_rate or 0.0))
        self.tokens = self.burst
        self.refilled_at = None  # board samples of the last refill
        self.guard = guard  # TickLoad, or None: no load guard
        self.refused = {CAPACITY: 0, RATE: 0, LOAD: 0}
        self.admitted = 0
        self._burst = 0  # refusals in the current burst (0: not in a burst)
        self._burst_admitted = 0  # calls let in during the current burst
        self._last_refusal = None  # board samples of the last refusal

    def observe_tick(self, seconds):
        """Feed one tick's wall-clock duration to the load guard; return True while it refuses calls."""
        return self.guard.observe(seconds) if self.guard is not None else False

    def verdict(self, calls_up, now):
        """Return the reason to refuse a new call with calls_up other calls up (CAPACITY, RATE or LOAD),
        or None to let it in; a call let in takes a token from the rate bucket."""
        if self.max_calls is not None and calls_up >= self.max_calls:
            return CAPACITY
        if self.guard is not None and self.guard.engaged:
            return LOAD
        if self.rate is not None:
            if self.refilled_at is not None:
                self.tokens = min(self.burst, self.tokens + (now - self.refilled_at) / SAMPLE_RATE * self.rate)
            self.refilled_at = now
            if self.tokens < 1.0:
                return RATE
            self.tokens -= 1.0
        return None

    def admit(self, engine, leg, now):
        """Return None when the offered leg's call may start, else the Q.850 cause it is refused with
        (counted; the first refusal of a burst is logged, and the first admission QUIET seconds after it)."""
        if leg.tech == "fxs":  # our own extensions (agents, the operator) may always call out
            return None
        others = len(engine.calls) - (leg.call is not None and leg.call.id in engine.calls)
        reason = self.verdict(others, now)
        if reason is None:
            self.admitted += 1
            if self._burst and now - self._last_refusal >= QUIET * SAMPLE_RATE:
                engine.log("overload_end", refused=self._burst, admitted=self._burst_admitted)
                self._burst = 0
            elif self._burst:
                self._burst_admitted += 1
            return None
        self.refused[reason] += 1
        if not self._burst:
            engine.log("overload", reason=reason, calls=len(engine.calls), cause=int(CAUSE[reason]))
            self._burst_admitted = 0
        self._burst += 1
        self._last_refusal = now
        return CAUSE[reason]

    def status(self):
        """Return the counters as a JSON-ready dict (refused by reason, admitted, guard engaged)."""
        return {"admitted": self.admitted, "refused": dict(self.refused),
                "refused_total": sum(self.refused.values()),
                "guard_engaged": bool(self.guard is not None and self.guard.engaged),
                "max_calls": self.max_calls, "max_call_rate": self.rate}


def from_settings(centre, tick_seconds):
    """Return the Admission of a [centre] section (max_calls, max_call_rate, call_rate_burst, overload_guard,
    overload_release, overload_window), or None when every limit is off."""
    guard = (TickLoad(tick_seconds, centre.overload_guard, centre.overload_release, centre.overload_window)
             if centre.overload_guard else None)
    if centre.max_calls is None and centre.max_call_rate is None and guard is None:
        return None
    return Admission(centre.max_calls, centre.max_call_rate, centre.call_rate_burst, guard)
