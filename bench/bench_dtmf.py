"""DTMF receiver throughput: ours vs spandsp 0.0.6 (peers.spandsp.DtmfReceiver, a C loop over channels).

Two workloads of 1,024 channels, each 50 ticks (1 s) of 160 samples, fed tick by tick (both detectors keep
their state across the ticks, as on a live board):
- ``busy``: every channel carries speech-like noise (shaped noise with a syllable-rate envelope at about
  -20 dBm0) and every 8th channel also dials digits all the time, so every 8-channel group of our kernel has a
  digit in progress (the kernel's worst case);
- ``quiet``: a call centre between calls: 3 in 4 channels carry only line noise (-65 dBm0), the rest speech-like
  noise, and 1 channel in 32 dials. Our idle lines come to rest after 40 ms (the receiver's rest rule, see
  docs/dtmf.md) and cost next to nothing from the third tick on; spandsp has no such rule.
Channels per core = channels x audio seconds / CPU seconds of the calling thread in the fastest round, so other
jobs on the box slow the figures less than wall time would. Both detectors run on the calling thread; the thread's
time, not the process's, because numpy's BLAS threads, started by the workloads' generation, spin on for a while
and were counted in process time: ours, timed first after the busy workload was made, measured 102k-109k instead
of 165k-176k channels per core in 2 of 6 runs, every round of the test slow (process time 10-16 ms a round
against 6.0-6.2 ms of thread time in the first rounds after the workload was made). Each round starts from freshly made detectors, made outside the
timed part (a board makes them once). Ours runs through the public ``DtmfDetector.process``.
"""
import os
import sys
import time

import numpy as np
import pytest

from pycallcenter.dsp import TICK_SAMPLES
from pycallcenter.dsp.dtmf import DtmfDetector

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from dtmf_signals import peak, sequence, to_int16  # noqa: E402  (test-signal helper shared with tests/)

CHANNELS = 1024
TICKS = 50
RESULTS = {}


def _speech_like(rng, channels, n):
    """Return (channels, n) float noise with a vowel-ish spectral tilt and a syllable-rate envelope, std 1500."""
    white = rng.normal(0, 1, (channels, n))
    shaped = np.empty_like(white)  # 2-pole resonance near 500 Hz
    a1, a2 = 2 * 0.95 * np.cos(2 * np.pi * 500 / 8000), -0.95**2
    y1 = y2 = np.zeros(channels)
    for i in range(n):
        y = white[:, i] + a1 * y1 + a2 * y2
        shaped[:, i], y2, y1 = y, y1, y
    t = np.arange(n) / 8000
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 4.0 * t[None, :] + rng.uniform(0, 6.3, (channels, 1)))
    return shaped / shaped.std() * 1500 * env


def _as_ticks(x):
    return np.ascontiguousarray(to_int16(x).reshape(CHANNELS, TICKS, TICK_SAMPLES).transpose(1, 0, 2))


@pytest.fixture(scope="module")
def busy():
    """(TICKS, CHANNELS, 160) int16: speech-like noise everywhere, digits on every 8th channel."""
    rng = np.random.default_rng(2024)
    n = TICKS * TICK_SAMPLES
    x = _speech_like(rng, CHANNELS, n)
    digits, _ = sequence("1234567890*#", on_ms=45, off_ms=40, level=-12)
    x[::8, : min(n, digits.size)] += digits[:n]
    return _as_ticks(x)


@pytest.fixture(scope="module")
def quiet():
    """(TICKS, CHANNELS, 160) int16: line noise on 3 channels in 4, speech-like noise on the rest, digits on 1 in 32."""
    rng = np.random.default_rng(2025)
    n = TICKS * TICK_SAMPLES
    x = rng.normal(0, peak(-65) / np.sqrt(2), (CHANNELS, n))
    x[::4] += _speech_like(rng, CHANNELS // 4, n)
    digits, _ = sequence("1234567890*#", on_ms=45, off_ms=40, level=-12)
    x[1::32, : min(n, digits.size)] += digits[:n]
    return _as_ticks(x)


def _report(benchmark, workload, name):
    seconds = benchmark.stats.stats.min
    channels = CHANNELS * TICKS * TICK_SAMPLES / 8000 / seconds
    RESULTS[workload, name] = channels
    benchmark.extra_info["channels_per_core"] = round(channels)
    line = f"\n{workload} {name}: {channels:,.0f} channels per core"
    if (workload, "ours") in RESULTS and (workload, "spandsp") in RESULTS:
        line += f" (ours / spandsp = {RESULTS[workload, 'ours'] / RESULTS[workload, 'spandsp']:.2f})"
    print(line)


def _measure(benchmark, ticks, make):
    def run(det):
        for tick in ticks:
            det.process(tick)

    benchmark.pedantic(run, setup=lambda: ((make(),), {}), rounds=15, warmup_rounds=1)


@pytest.mark.parametrize("workload", ["busy", "quiet"])
@pytest.mark.benchmark(timer=time.thread_time)
def test_dtmf_ours(benchmark, workload, request):
    _measure(benchmark, request.getfixturevalue(workload), lambda: DtmfDetector(CHANNELS))
    _report(benchmark, workload, "ours")


@pytest.mark.parametrize("workload", ["busy", "quiet"])
@pytest.mark.benchmark(timer=time.thread_time)
def test_dtmf_spandsp(benchmark, workload, request):
    from peers import spandsp

    _measure(benchmark, request.getfixturevalue(workload), lambda: spandsp.DtmfReceiver(CHANNELS))
    _report(benchmark, workload, "spandsp")
