"""HDLC throughput: our encoder/decoder vs spandsp 0.0.6's hdlc_tx/hdlc_rx, 160-octet ticks of busy lines.

Channels per core = line octets per second / 8000 (one 64 kbit/s timeslot per channel). Every
channel carries back-to-back 120-octet frames (about 80 % load); spandsp runs in the C batch
loops of peers/spandsp_hdlc.py (which also reverse each octet: spandsp works MSB first).
"""
import numpy as np
import pytest

from pycallcenter.dsp import TICK_SAMPLES, hdlc

CHANNELS = 1000
TICKS = 16
FRAME = bytes(range(7, 127))


@pytest.fixture(scope="module")
def peer():
    """The spandsp HDLC peer (peers/spandsp_hdlc.py), compiled on first use."""
    from peers import spandsp_hdlc

    spandsp_hdlc.load()
    return spandsp_hdlc


@pytest.fixture(scope="module")
def busy_line():
    """TICKS ticks of line octets (channels x octets each) from our encoder with frames queued."""
    enc = hdlc.HdlcEncoder(CHANNELS)
    ticks = []
    for _ in range(TICKS):
        for c in range(CHANNELS):
            if enc.pending(c) < 2:
                enc.send(c, FRAME)
        ticks.append(enc.process(TICK_SAMPLES))
    return ticks


def _report(benchmark):
    channels = CHANNELS * TICK_SAMPLES / benchmark.stats.stats.min / 8000
    benchmark.extra_info["channels_per_core"] = round(channels)
    print(f"\n{benchmark.name}: {channels:,.0f} channels per core")


def _cycle(process, ticks):
    state = {"i": 0}

    def one_tick():
        state["i"] = (state["i"] + 1) % len(ticks)
        return process(ticks[state["i"]])

    return one_tick


def test_decode_ours(benchmark, busy_line):
    dec = hdlc.HdlcDecoder(CHANNELS)
    events = _cycle(dec.process, busy_line)()
    assert events and all(e.kind == hdlc.FRAME for e in events[1:])  # a correctness guard, not timing
    benchmark(_cycle(dec.process, busy_line))
    _report(benchmark)


def test_decode_spandsp(benchmark, peer, busy_line):
    rx = peer.Receiver(CHANNELS)
    benchmark(_cycle(rx.process, busy_line))
    assert rx.counts(0)[0] > 0
    _report(benchmark)


def test_encode_ours(benchmark):
    enc = hdlc.HdlcEncoder(CHANNELS)
    out = np.empty((CHANNELS, TICK_SAMPLES), np.uint8)

    def refill():
        for c in range(CHANNELS):
            if enc.pending(c) < 2:
                enc.send(c, FRAME)

    benchmark.pedantic(enc.process, args=(TICK_SAMPLES, out), setup=refill, rounds=200)
    _report(benchmark)


def test_encode_spandsp(benchmark, peer):
    tx = peer.Transmitter(CHANNELS)
    out = np.empty((CHANNELS, TICK_SAMPLES), np.uint8)

    def refill():
        for c in range(CHANNELS):
            tx.send(c, FRAME)  # refused (nonzero) while the previous frame is still going out

    benchmark.pedantic(tx.process, args=(out,), setup=refill, rounds=200)
    _report(benchmark)
