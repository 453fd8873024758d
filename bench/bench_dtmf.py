"""DTMF receiver throughput: ours vs spandsp 0.0.6 (peers.spandsp.DtmfReceiver, a C loop over channels).

One round feeds 50 ticks (1 s) of 160 samples to 1,024 channels of speech-like noise (shaped noise with a
syllable-rate envelope) in which every 8th channel also carries digits. Both detectors keep their state across
the ticks, as on a live board. Channels per core = channels x audio seconds / CPU seconds of the fastest round
(process time, so other jobs on the box slow the figures less than wall time would).
"""
import os
import sys
import time

import numpy as np
import pytest

from pycallcenter.dsp import TICK_SAMPLES
from pycallcenter.dsp.dtmf import DtmfDetector

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from dtmf_signals import sequence, to_int16  # noqa: E402  (test-signal helper shared with tests/)

CHANNELS = 1024
TICKS = 50
RESULTS = {}


@pytest.fixture(scope="module")
def ticks():
    """(TICKS, CHANNELS, 160) int16: speech-like noise, digits on every 8th channel."""
    rng = np.random.default_rng(2024)
    n = TICKS * TICK_SAMPLES
    white = rng.normal(0, 1, (CHANNELS, n))
    shaped = np.empty_like(white)  # 2-pole resonance near 500 Hz: a vowel-ish spectral tilt
    a1, a2 = 2 * 0.95 * np.cos(2 * np.pi * 500 / 8000), -0.95**2
    y1 = y2 = np.zeros(CHANNELS)
    for i in range(n):
        y = white[:, i] + a1 * y1 + a2 * y2
        shaped[:, i], y2, y1 = y, y1, y
    t = np.arange(n) / 8000
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 4.0 * t[None, :] + rng.uniform(0, 6.3, (CHANNELS, 1)))
    x = shaped / shaped.std() * 1500 * env
    digits, _ = sequence("1234567890*#", on_ms=45, off_ms=40, level=-12)
    x[::8, : min(n, digits.size)] += digits[:n]
    return np.ascontiguousarray(to_int16(x).reshape(CHANNELS, TICKS, TICK_SAMPLES).transpose(1, 0, 2))


def _report(benchmark, name):
    seconds = benchmark.stats.stats.min
    channels = CHANNELS * TICKS * TICK_SAMPLES / 8000 / seconds
    RESULTS[name] = channels
    benchmark.extra_info["channels_per_core"] = round(channels)
    line = f"\n{name}: {channels:,.0f} channels per core"
    if len(RESULTS) == 2:
        line += f" (ours / spandsp = {RESULTS['ours'] / RESULTS['spandsp']:.2f})"
    print(line)


@pytest.mark.benchmark(timer=time.process_time)
def test_dtmf_ours(benchmark, ticks):
    def run():
        det = DtmfDetector(CHANNELS)
        for tick in ticks:
            det.process(tick)

    benchmark.pedantic(run, rounds=9, warmup_rounds=1)
    _report(benchmark, "ours")


@pytest.mark.benchmark(timer=time.process_time)
def test_dtmf_spandsp(benchmark, ticks):
    from peers import spandsp

    def run():
        rx = spandsp.DtmfReceiver(CHANNELS)
        for tick in ticks:
            rx.process(tick)

    benchmark.pedantic(run, rounds=9, warmup_rounds=1)
    _report(benchmark, "spandsp")
