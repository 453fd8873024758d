"""Tone generation and call-progress detection throughput vs spandsp 0.0.6 (tone_gen, super_tone_rx).

One call = one 160-sample tick of CHANNELS channels. Both generators play US busy (480+620 Hz, 0.5 s
on / 0.5 s off) on every channel; detectors see a mix of US dial, busy,
congestion and ringback tones, speech-like noise and silence, cycled over 14 s of signal.
Channels per core = 20 ms / (time per tick / channels), from the MEAN round: generator channels all start
together, so the fastest round is one where every channel is in a silent off-period.
"""
import itertools

import numpy as np
import pytest

from pycallcenter.dsp import TICK_SAMPLES, progress, tones

CHANNELS = 1000
SECONDS = 14


def _report(benchmark):
    per_call = benchmark.stats.stats.mean
    channels = CHANNELS * (TICK_SAMPLES / 8000) / per_call
    benchmark.extra_info["channels_per_core"] = round(channels)
    print(f"\n{benchmark.name}: {channels:,.0f} channels per core")


@pytest.fixture(scope="module")
def line_audio():
    """Return int16 (CHANNELS, SECONDS*8000): call-progress tones, speech-like noise and silence, shifted."""
    rng = np.random.default_rng(7)
    kinds = [tones.generate("us", t, SECONDS) for t in ("dial", "busy", "congestion", "ringback", "sit")]
    n = SECONDS * 8000
    speech = np.convolve(rng.normal(0, 2000, n), np.hanning(6), mode="same")
    speech *= np.clip(np.sin(2 * np.pi * 4 * np.arange(n) / 8000) + 0.3, 0, None)
    kinds += [speech.astype(np.int16), np.zeros(n, np.int16)]
    rows = [np.roll(kinds[c % len(kinds)], int(rng.integers(n))) for c in range(CHANNELS)]
    return np.clip(np.array(rows) + rng.normal(0, 10, (CHANNELS, n)), -32768, 32767).astype(np.int16)


def _ticks(x):
    return itertools.cycle([np.ascontiguousarray(x[:, i:i + TICK_SAMPLES]) for i in range(0, x.shape[1], TICK_SAMPLES)])


def test_tone_generator_ours(benchmark):
    gen = tones.ToneGenerator(CHANNELS, "us")
    for c in range(CHANNELS):
        gen.start(c, "busy")
    benchmark(gen.process, TICK_SAMPLES)
    _report(benchmark)


def test_tone_generator_spandsp(benchmark):
    from peers import spandsp_tones

    gen = spandsp_tones.ToneGenerators(CHANNELS, 480, -24, 620, -24, 500, 500)
    benchmark(gen.process, TICK_SAMPLES)
    _report(benchmark)


def test_progress_detector_ours(benchmark, line_audio):
    det = progress.CallProgressDetector(CHANNELS, "us")
    ticks = _ticks(line_audio)
    benchmark(lambda: det.process(next(ticks)))
    _report(benchmark)


def test_progress_detector_spandsp(benchmark, line_audio):
    from peers import spandsp_tones

    rx = spandsp_tones.SuperToneReceivers(CHANNELS)
    ticks = _ticks(line_audio)
    benchmark(lambda: rx.process(next(ticks)))
    _report(benchmark)
