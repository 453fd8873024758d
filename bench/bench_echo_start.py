"""Line echo cancellers whose calls all start in the same tick: what each of the calls' first ticks costs.

The engine's media path misses its 20 ms tick at 960 channels when every call starts (or every echo path
changes) at once, and the tick that misses is one of the calls' first ones. This prints the canceller's own cost
per channel for each tick from the calls' start (thread CPU time, the fastest of three runs tick by tick, with
the load average), and says which phase each tick is in: before the foreground's first copy (the background
adapts over the whole tail, the foreground is empty), between it and the active window (both filters over the
whole tail: the most expensive ticks), and in the window; each with and without the window placed from a bulk-delay
estimate (place=True, the default: the background held for up to 112 ms of far-end activity until the estimate is
sure, and, still unsure then, the whole tail first replaying what the hold recorded; place=False: the whole tail
from the first tick).

Run: .venv/bin/python -m pytest -p no:cacheprovider bench/bench_echo_start.py --benchmark-only -s
"""
import os
import sys
import time

import numpy as np
import pytest

from pycallcenter.dsp import TICK_SAMPLES
from pycallcenter.dsp.echo import EchoCanceller

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from echo_signals import PATHS, css_through_hybrids, hybrid, to_int16  # noqa: E402  (shared with tests/)

CHANNELS = 240
RUNS = 3
PLACED = "the default: the window placed from a bulk-delay estimate, the background held until then, an unsure hold replayed"


def _line(ticks):
    """The engine bench's line (bench_engine.py): white far end, echo 12 dB down one tick later, line noise."""
    rng = np.random.default_rng(1)
    n = ticks * TICK_SAMPLES
    far = (rng.standard_normal((CHANNELS, n)) * 2000).astype(np.int16)
    caller = (rng.standard_normal((CHANNELS, n)) * 30).astype(np.int32)
    delayed = np.concatenate([np.zeros((CHANNELS, TICK_SAMPLES), np.int32), far[:, :-TICK_SAMPLES] // 4], axis=1)
    return far, (caller + delayed).astype(np.int16)


def _css_paths(ticks):
    """A composite source signal through the five G.168-style paths at ERL 6-30 dB, a different start each."""
    far, near = css_through_hybrids(CHANNELS, ticks * TICK_SAMPLES, lambda c, rng: hybrid(
        *PATHS[c % len(PATHS)][1:], (6, 12, 20, 30)[c // len(PATHS) % 4], seed=c), seed=2)
    return to_int16(far), to_int16(near)


def _first_ticks(far, near, ticks, place=False):
    """Return per tick: us a channel (fastest of RUNS), channels copied at least once, channels in a window."""
    best = np.full(ticks, np.inf)
    copied = np.zeros(ticks, int)
    windowed = np.zeros(ticks, int)
    for run in range(RUNS + 1):  # the last run only looks at the state (reading every channel's taps between
        ec = EchoCanceller(CHANNELS, 64, settle=False, place=place)  # ticks would evict what the next tick needs)
        for t in range(ticks):
            x = np.ascontiguousarray(far[:, t * TICK_SAMPLES:(t + 1) * TICK_SAMPLES])
            y = np.ascontiguousarray(near[:, t * TICK_SAMPLES:(t + 1) * TICK_SAMPLES])
            t0 = time.thread_time()
            ec.process(x, y)
            spent = (time.thread_time() - t0) / CHANNELS * 1e6
            if run < RUNS:
                best[t] = min(best[t], spent)
                continue
            lo, hi = ec.windows()
            windowed[t] = int(np.sum(hi - lo < ec.taps(0)[0].size))
            copied[t] = sum(bool(np.any(ec.taps(c)[0])) for c in range(CHANNELS))
    return best, copied, windowed


@pytest.mark.parametrize("signal, ticks, place", [("line", 16, False), ("line", 16, True), ("css_paths", 100, False),
                                                  ("css_paths", 100, True)])
def test_calls_starting_together(benchmark, signal, ticks, place):
    load = os.getloadavg()[0]
    far, near = (_line if signal == "line" else _css_paths)(ticks)
    best, copied, windowed = benchmark.pedantic(_first_ticks, args=(far, near, ticks, place), rounds=1, iterations=1)
    benchmark.extra_info.update(worst_us=float(best.max()), last_us=float(best[-1]))
    print(f"\n{signal}, {CHANNELS} calls starting in the same tick, 64 ms tail, adapting (settle=False), "
          f"place={place} ({PLACED if place else 'the whole tail from the first tick'}), "
          f"us a channel a tick (thread CPU, fastest of {RUNS}), load average {load:.1f}:")
    for t in range(ticks):
        if t < 16 or t % 10 == 0 or t == ticks - 1:
            print(f"  tick {t:3d}: {best[t]:5.1f} us; foreground copied on {copied[t]:3d}, window on {windowed[t]:3d}"
                  f" of {CHANNELS}")
    print(f"  worst tick {int(best.argmax())}: {best.max():.1f} us a channel; "
          f"ticks over 14 us a channel: {int(np.sum(best > 14.0))}")
