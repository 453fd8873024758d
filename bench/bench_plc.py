"""Packet-loss concealment throughput: ours (G.711 Appendix I, native) vs spandsp 0.0.6 plc_rx/plc_fillin.

One round feeds 50 ticks (1 s) of 160 samples to 1,000 channels of espeak-ng speech (each channel starts at
another point of the corpus) with 5 % of the 20 ms packets lost at random, per channel. Both concealers keep
their state across ticks, as on a live board; spandsp runs in the C batch loop of peers/spandsp_plc.py on a
copy of each tick (it conceals in place). A second pair of rounds loses 30 % of packets, where concealment
work dominates. Channels per core = channels x audio seconds / CPU seconds of the fastest round.
"""
import os
import sys
import time

import numpy as np
import pytest

from pycallcenter.dsp import TICK_SAMPLES
from pycallcenter.dsp.plc import PacketLossConcealer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from plc_speech import speech  # noqa: E402  (the speech corpus shared with tests/)

CHANNELS = 1000
TICKS = 50
RESULTS = {}


@pytest.fixture(scope="module")
def ticks():
    """(TICKS, CHANNELS, 160) int16 speech, each channel from its own offset into the corpus."""
    x = speech()
    rng = np.random.default_rng(2026)
    n = TICKS * TICK_SAMPLES
    starts = rng.integers(0, x.size - n, CHANNELS)
    rows = np.stack([x[s:s + n] for s in starts])
    return np.ascontiguousarray(rows.reshape(CHANNELS, TICKS, TICK_SAMPLES).transpose(1, 0, 2))


def masks(rate):
    """(TICKS, CHANNELS) bool: packets lost independently with probability rate."""
    return np.random.default_rng(7).random((TICKS, CHANNELS)) < rate


def _report(benchmark, name):
    seconds = benchmark.stats.stats.min
    channels = CHANNELS * TICKS * TICK_SAMPLES / 8000 / seconds
    RESULTS[name] = channels
    benchmark.extra_info["channels_per_core"] = round(channels)
    line = f"\n{name}: {channels:,.0f} channels per core"
    loss = name.split()[-1]
    if f"ours {loss}" in RESULTS and f"spandsp {loss}" in RESULTS:
        line += f" (ours / spandsp = {RESULTS[f'ours {loss}'] / RESULTS[f'spandsp {loss}']:.2f})"
    print(line)


@pytest.mark.benchmark(timer=time.process_time)
@pytest.mark.parametrize("rate", [0.05, 0.30], ids=["5%", "30%"])
def test_plc_ours(benchmark, ticks, rate):
    lost = masks(rate)

    def run():
        plc = PacketLossConcealer(CHANNELS)
        for tick, m in zip(ticks, lost):
            plc.process(tick, m)

    benchmark.pedantic(run, rounds=7, warmup_rounds=1)
    _report(benchmark, f"ours {rate:.0%}")


@pytest.mark.benchmark(timer=time.process_time)
@pytest.mark.parametrize("rate", [0.05, 0.30], ids=["5%", "30%"])
def test_plc_spandsp(benchmark, ticks, rate):
    from peers import PeerUnavailable
    try:
        from peers import spandsp_plc
        spandsp_plc.load()
    except PeerUnavailable as exc:
        pytest.skip(str(exc))
    lost = [np.ascontiguousarray(m.reshape(CHANNELS, 1), dtype=np.uint8) for m in masks(rate)]
    work = np.empty((CHANNELS, TICK_SAMPLES), np.int16)

    def run():
        plc = spandsp_plc.Concealer(CHANNELS)
        for tick, m in zip(ticks, lost):
            np.copyto(work, tick)
            plc.process_into(work, m)

    benchmark.pedantic(run, rounds=7, warmup_rounds=1)
    _report(benchmark, f"spandsp {rate:.0%}")


@pytest.mark.benchmark(timer=time.process_time)
def test_jitter_buffer_push_pop(benchmark):
    """The jitter buffer (pure Python) per packet: push plus pop, 20 ms packets with 0-20 ms of jitter.

    Yardstick: real time; one RTP leg needs 50 packets a second.
    """
    from pycallcenter.media.jitter import JitterBuffer

    n = 10_000
    arrivals = np.arange(n) * 0.02 + 0.03 + np.random.default_rng(1).uniform(0, 0.02, n)
    arrivals = arrivals.tolist()
    payload = bytes(160)

    def run():
        jb = JitterBuffer()
        for i in range(n):
            jb.push(i & 0xFFFF, (160 * i) & 0xFFFFFFFF, payload, arrivals[i])
            jb.pop(i * 0.02 + 0.011)

    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    per_packet = benchmark.stats.stats.min / n
    benchmark.extra_info["legs_per_core"] = round(1 / per_packet / 50)
    print(f"\njitter buffer: {per_packet * 1e6:.2f} us per packet (push + pop), "
          f"{1 / per_packet / 50:,.0f} legs per core at 50 packets/s")
