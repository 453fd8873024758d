"""FSK caller ID receiver throughput: ours vs spandsp 0.0.6's adsi_rx, one 160-sample tick of 500 channels per call.

Every channel carries caller ID (seizure, mark, a 35-byte MDMF message, silence) at its own offset,
so a tick holds carrier detect, bit hunting, UART and idle work in the proportions of a real burst.
Channels per core = 20 ms / (time per tick / channels), from the fastest round.
"""
import itertools

import numpy as np
import pytest

from pycallcenter.dsp import TICK_SAMPLES, fsk
from pycallcenter.dsp.callerid import CallerId

CHANNELS = 500
TICKS = 50  # one second of signal, cycled
SPANDSP_STANDARD = {"bell202": 1, "v23": 2}


@pytest.fixture(scope="module", params=["bell202", "v23"])
def signal(request):
    """Return (standard, int16 (CHANNELS, TICKS*160)) with a caller ID burst on every channel at its own phase."""
    standard = request.param
    msg = CallerId(number="01234567890", name="JOHN SMITH", datetime=(11, 22, 21, 30)).to_mdmf()
    burst = fsk.modulate_message(msg, standard, level_dbm0=-20.0)
    period = np.zeros(TICKS * TICK_SAMPLES, np.int16)
    period[:burst.size] = burst
    rng = np.random.default_rng(202)
    x = np.stack([np.roll(period, int(rng.integers(period.size))) for _ in range(CHANNELS)])
    x = np.clip(x + rng.normal(0, 20, x.shape), -32768, 32767).astype(np.int16)
    return standard, x


def _ticks(x):
    return itertools.cycle([np.ascontiguousarray(x[:, i:i + TICK_SAMPLES]) for i in range(0, x.shape[1], TICK_SAMPLES)])


def _report(benchmark):
    per_call = benchmark.stats.stats.min
    channels = CHANNELS * (TICK_SAMPLES / 8000) / per_call
    benchmark.extra_info["channels_per_core"] = round(channels)
    print(f"\n{benchmark.name}: {channels:,.0f} channels per core")


def test_fsk_receiver_ours(benchmark, signal):
    standard, x = signal
    rx = fsk.FskReceiver(CHANNELS, standard)
    ticks = _ticks(x)
    benchmark(lambda: rx.process(next(ticks)))
    _report(benchmark)


def test_fsk_receiver_spandsp(benchmark, signal):
    from peers import spandsp_fsk

    standard, x = signal
    rx = spandsp_fsk.AdsiReceivers(CHANNELS, SPANDSP_STANDARD[standard])
    ticks = _ticks(x)
    benchmark(lambda: rx.process(next(ticks)))
    _report(benchmark)


def test_fsk_transmitter_ours(benchmark, signal):
    standard, _ = signal
    msg = CallerId(number="01234567890", name="JOHN SMITH", datetime=(11, 22, 21, 30)).to_mdmf()
    tx = fsk.FskTransmitter(CHANNELS, standard)

    def tick():
        for c in np.flatnonzero(tx.pending_samples() < TICK_SAMPLES):
            tx.put(int(c), msg)
        return tx.process(TICK_SAMPLES)

    benchmark(tick)
    _report(benchmark)
