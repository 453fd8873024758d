"""Line echo canceller throughput: ours vs spandsp 0.0.6 (peers.spandsp.EchoCanceller, a C loop over channels),
at a 32 ms and a 64 ms tail, in the same run.

One round feeds 50 ticks (1 s) of 160 samples to 128 channels. The far end of each channel is a composite source
signal (voiced, noise, pause, as in G.168) started at a different point, the near end its echo through a
synthetic hybrid (ERL 6-30 dB, delays up to 40 ms) plus idle noise, so both cancellers adapt, detect and idle
as on a live board. Channels per core = channels x audio seconds / CPU seconds of the fastest round (process
time). Debian's spandsp 0.0.6 formats two debug lines per sample; the peer sends them to /dev/null, and their
cost stays in its figure because that is what the packaged library does.
"""
import os
import sys
import time

import numpy as np
import pytest

from pycallcenter.dsp import TICK_SAMPLES
from pycallcenter.dsp.echo import EchoCanceller

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from echo_signals import css_through_hybrids, hybrid, to_int16  # noqa: E402  (signal helpers shared with tests/)

CHANNELS = 128
TICKS = 50
RESULTS = {}


@pytest.fixture(scope="module")
def ticks():
    """(far, near), each (TICKS, CHANNELS, 160) int16."""
    far, near = css_through_hybrids(
        CHANNELS, TICKS * TICK_SAMPLES,
        lambda c, rng: hybrid(rng.uniform(0, 40), rng.uniform(3, 12), rng.uniform(6, 30), seed=c), seed=7)

    def cut(x):
        return np.ascontiguousarray(to_int16(x).reshape(CHANNELS, TICKS, TICK_SAMPLES).transpose(1, 0, 2))

    return cut(far), cut(near)


def _report(benchmark, name):
    seconds = benchmark.stats.stats.min
    channels = CHANNELS * TICKS * TICK_SAMPLES / 8000 / seconds
    RESULTS[name] = channels
    benchmark.extra_info["channels_per_core"] = round(channels)
    line = f"\n{name}: {channels:,.0f} channels per core"
    tail = name.split()[-1]
    if f"ours {tail}" in RESULTS and f"spandsp {tail}" in RESULTS:
        line += f" (ours / spandsp = {RESULTS[f'ours {tail}'] / RESULTS[f'spandsp {tail}']:.1f})"
    print(line)


@pytest.mark.parametrize("tail_ms", [32, 64])
@pytest.mark.benchmark(timer=time.process_time)
def test_echo_ours(benchmark, ticks, tail_ms):
    far, near = ticks

    def run():
        ec = EchoCanceller(CHANNELS, tail_ms=tail_ms)
        for x, y in zip(far, near):
            ec.process(x, y)

    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    _report(benchmark, f"ours {tail_ms}ms")


@pytest.mark.parametrize("tail_ms", [32, 64])
@pytest.mark.benchmark(timer=time.process_time)
def test_echo_spandsp(benchmark, ticks, tail_ms, spandsp):
    far, near = ticks

    def run():
        ec = spandsp.EchoCanceller(CHANNELS, tail_ms)
        for x, y in zip(far, near):
            ec.process(x, y)

    benchmark.pedantic(run, rounds=3, warmup_rounds=0)
    _report(benchmark, f"spandsp {tail_ms}ms")


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.parametrize("tail_ms", [32, 64, 128])
def test_echo_memory_per_channel(benchmark, tail_ms):
    """Resident memory a canceller adds per channel: 960 channels built (every page of their state is written
    when each channel is reset), the process's resident set before and after."""
    kept = []

    def build():
        before = _rss_bytes()
        kept.append(EchoCanceller(960, tail_ms=tail_ms))
        return (_rss_bytes() - before) / 960

    per = benchmark.pedantic(build, rounds=1, iterations=1)
    benchmark.extra_info["bytes_per_channel"] = round(per)
    print(f"\n{tail_ms} ms tail: {per / 1024:.1f} KiB resident per channel (960 channels)")
