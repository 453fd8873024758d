"""The engine's media path per tick: G.711 decode, DTMF detection, prompt playback and recording on every
channel, mixing and encoding - the work of a loaded IVR - timed tick by tick.

Run: .venv/bin/python -m pytest -p no:cacheprovider bench/bench_engine.py --benchmark-only -s
It prints, for each channel count, the tick time at p50/p99/p99.9 and whether every 20 ms tick is met.
"""
import os
import tempfile
import time

import numpy as np
import pytest

from pycallcenter.dsp import g711
from pycallcenter.dsp.echo import EchoCanceller
from pycallcenter.engine.media import MediaPlane
from pycallcenter.engine.recording import Recorder

TICK = 160


def _plane(rows, record, folder):
    plane = MediaPlane(["ulaw"] * rows, TICK)
    rng = np.random.default_rng(1)
    prompt = (rng.standard_normal(8000 * 30) * 2000).astype(np.int16)
    for r in range(rows):
        plane.play(r, [prompt[r * 37 % 8000:]])
    if record:
        for r in range(rows):
            plane.add_recorder(Recorder(os.path.join(folder, f"r{r}.wav"), r))
    caller = g711.ulaw_encode((rng.standard_normal((rows, TICK * 50)) * 3000).astype(np.int16))
    return plane, caller


WARM_TICKS = 100  # "line": the calls' first 2 s (convergence) run before the timed ticks


def _tick_times(rows, ticks=500, record=True, echo=None):
    """Return each tick's CPU seconds. echo: None (no cancellers), "quiet" (a 64 ms canceller on every row,
    lines without echo: they go to sleep after a second), "line" (every caller listens in silence, line noise
    only, and every line returns its far end 12 dB down one tick later; timed from 2 s into the calls, when
    every canceller has converged and holds its echo path in the steady state, watching it every block) or
    "line_adapting" (the same lines with the steady state switched off, so every canceller adapts on every
    sample: the cost of every call converging, or every echo path changing, in the same ticks)."""
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as folder:
        plane, caller = _plane(rows, record, folder)
        if echo is not None:
            plane.set_echo({r: 64 for r in range(rows)})
            if echo == "line_adapting":
                for g in plane.echo_groups:
                    g.canceller = EchoCanceller(len(g.rows), 64, settle=False)
            for r in range(rows):
                plane.echo_start(r)
        caller_pcm = g711.ulaw_decode(caller)
        sent = np.zeros((rows, TICK), np.int16)
        warm = WARM_TICKS if echo == "line" else 0
        times = np.empty(ticks + warm)
        for t in range(ticks + warm):
            block = np.ascontiguousarray(caller[:, (t % 50) * TICK:(t % 50 + 1) * TICK])
            if echo in ("line", "line_adapting"):  # the hybrid's echo is made outside the timed part
                near = caller_pcm[:, (t % 50) * TICK:(t % 50 + 1) * TICK].astype(np.int32) // 100 + sent // 4
                block = g711.ulaw_encode(np.clip(near, -32768, 32767).astype(np.int16))
            t0 = time.process_time()
            plane.receive(block)
            out, _ = plane.transmit()
            times[t] = time.process_time() - t0
            if echo in ("line", "line_adapting"):
                sent = g711.ulaw_decode(np.asarray(out)).reshape(rows, TICK)
        for rec in plane.recorders:
            plane.remove_recorder(rec)
            rec.stop()
    return times[warm:]


@pytest.mark.parametrize("rows, echo", [(r, e) for r in (120, 480, 960) for e in (None, "quiet", "line", "line_adapting")]
                         + [(r, "line_adapting") for r in (560, 640, 720, 800)] + [(r, "line") for r in (1200, 1440)])
def test_media_path_tick(benchmark, rows, echo):
    times = benchmark.pedantic(_tick_times, args=(rows,), kwargs={"ticks": 300, "echo": echo}, rounds=1, iterations=1)
    p50, p99, p999 = np.percentile(times, [50, 99, 99.9]) * 1000
    print(f"\n{rows} channels, echo cancellers {echo or 'off'}: tick p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
          f"p99.9 {p999:.2f} ms "
          f"(20 ms budget: {'met' if p999 < 20 else 'MISSED'}); {rows * 20 / p50:.0f} channels/core at p50")
