"""The engine's media path per tick: G.711 decode, DTMF detection, prompt playback and recording on every
channel, mixing and encoding - the work of a loaded IVR - timed tick by tick.

Run: .venv/bin/python -m pytest -p no:cacheprovider bench/bench_engine.py --benchmark-only -s
It prints, for each channel count, the tick time at p50/p99/p99.9 and whether every 20 ms tick is met. Each tick
is timed twice: the thread's CPU time (time.thread_time: what the tick costs, whatever else the machine runs; the
verdict) and wall time (what a paced tick would see, including time the thread spent waiting for a core), with the
load average beside them: on a shared machine other processes decide the wall-time tail, not the path.
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
    """Return each tick's thread CPU seconds and wall seconds (two arrays). echo: None (no cancellers), "quiet" (a 64 ms canceller on every row,
    lines without echo: they go to sleep after a second), "line" (every caller listens in silence, line noise
    only, and every line returns its far end 12 dB down one tick later; timed from 2 s into the calls, when
    every canceller has converged and holds its echo path in the steady state, watching it every block),
    "line_adapting" (the same lines with the steady state switched off, so every canceller adapts on every sample
    from the calls' first tick, with the default window: the background held until a bulk-delay estimate places
    its window, echo.md design step 10, then over its active window), "line_adapting_whole" (the same with
    place=False: over the whole tail from the first tick until it has found the echo) or
    "line_full_tail" (adapting as well, over the whole tail all the time: the cost of every call converging, or
    every echo path changing, in the same ticks, for as long as that lasts)."""
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as folder:
        plane, caller = _plane(rows, record, folder)
        if echo is not None:
            plane.set_echo({r: 64 for r in range(rows)})
            if echo in ("line_adapting", "line_adapting_whole", "line_full_tail"):
                for g in plane.echo_groups:
                    g.canceller = EchoCanceller(len(g.rows), 64, settle=False, window=echo != "line_full_tail",
                                                place=echo == "line_adapting")
            for r in range(rows):
                plane.echo_start(r)
        caller_pcm = g711.ulaw_decode(caller)
        sent = np.zeros((rows, TICK), np.int16)
        warm = WARM_TICKS if echo == "line" else 0
        times = np.empty(ticks + warm)
        walls = np.empty(ticks + warm)
        for t in range(ticks + warm):
            block = np.ascontiguousarray(caller[:, (t % 50) * TICK:(t % 50 + 1) * TICK])
            if echo and echo.startswith("line"):  # the hybrid's echo is made outside the timed part
                near = caller_pcm[:, (t % 50) * TICK:(t % 50 + 1) * TICK].astype(np.int32) // 100 + sent // 4
                block = g711.ulaw_encode(np.clip(near, -32768, 32767).astype(np.int16))
            w0, t0 = time.perf_counter(), time.thread_time()
            plane.receive(block)
            out, _ = plane.transmit()
            times[t], walls[t] = time.thread_time() - t0, time.perf_counter() - w0
            if echo and echo.startswith("line"):
                sent = g711.ulaw_decode(np.asarray(out)).reshape(rows, TICK)
        for rec in plane.recorders:
            plane.remove_recorder(rec)
            rec.stop()
    return times[warm:], walls[warm:]


@pytest.mark.parametrize("rows, echo", [(r, e) for r in (120, 480, 960)
                                       for e in (None, "quiet", "line", "line_adapting", "line_full_tail")]
                         + [(r, "line_adapting") for r in (840, 1080)]
                         + [(r, "line_adapting_whole") for r in (840, 960)] + [(r, "line_full_tail") for r in (560, 640)]
                         + [(r, e) for r in (1200, 1440) for e in ("line", "line_adapting")])
def test_media_path_tick(benchmark, rows, echo):
    load = os.getloadavg()[0]
    times, walls = benchmark.pedantic(_tick_times, args=(rows,), kwargs={"ticks": 300, "echo": echo}, rounds=1,
                                      iterations=1)
    p50, p99, p999 = np.percentile(times, [50, 99, 99.9]) * 1000
    w50, w99, w999 = np.percentile(walls, [50, 99, 99.9]) * 1000
    benchmark.extra_info.update(thread_p50_ms=p50, thread_p999_ms=p999, wall_p50_ms=w50, wall_p999_ms=w999)
    print(f"\n{rows} channels, echo cancellers {echo or 'off'}: thread CPU per tick p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
          f"p99.9 {p999:.2f} ms (20 ms budget: {'met' if p999 < 20 else 'MISSED'}); {rows * 20 / p50:.0f} channels/core "
          f"at p50; wall p50 {w50:.2f}, p99 {w99:.2f}, p99.9 {w999:.2f} ms "
          f"({'met' if w999 < 20 else 'missed'}); load average {load:.1f} before, {os.getloadavg()[0]:.1f} after")
    # where p99.9 comes from: the calls' first ticks (every call starts in the same tick here) or anywhere
    slowest = np.argsort(times)[::-1][:5]
    print("slowest ticks (thread CPU, tick number from the first timed tick): "
          + ", ".join(f"#{t} {times[t] * 1000:.1f} ms" for t in slowest)
          + "; ticks 0-9: " + " ".join(f"{x * 1000:.1f}" for x in times[:10]))
