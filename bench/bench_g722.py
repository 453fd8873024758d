"""G.722 rows against G.711 rows, in the same run: what a packet row costs per tick when it carries G.722.

Two measurements, each with G.711 (mu-law) rows as the yardstick in the same run:

* the engine's whole tick with N RTP rows playing a prompt to a loopback peer that echoes every packet back
  (20 ms packets, RTCP on; bench_packet_media's workload), all rows G.711, then all rows G.722, alternated;
* the codec step alone for N rows and one tick: G.711 is one batched native call per direction over every
  row, G.722 one call of the G722 package (sippy/libg722, 8 kHz mode) per row and direction.

Times are CPU time of the ticking thread (``time.thread_time``), p50 over the ticks after warm-up.

Run: .venv/bin/python -m pytest -p no:cacheprovider bench/bench_g722.py --benchmark-only -s
"""
import os
import sys
import time

import numpy as np
import pytest

from pycallcenter.drivers import open_board, parse_config
from pycallcenter.dsp import g711
from pycallcenter.dsp.plc import FRAME
from pycallcenter.engine.engine import Engine
from pycallcenter.media import g722

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/tests")
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from bench_packet_media import EchoPeer, _raise_fd_limit  # noqa: E402
from engine_rig import ANALOG  # noqa: E402

pytestmark = pytest.mark.skipif(not g722.AVAILABLE, reason="the g722 extra (G722 package) is not installed")
TICKS = 300
WARM = 25
PT = {"ulaw": 0, "g722": 9}


def _tick_times(rows, law, ticks=TICKS):
    """Return each engine tick's thread CPU seconds with `rows` rows of law talking to an echoing peer."""
    _raise_fd_limit(rows)
    board = open_board(parse_config(ANALOG.format(seed=1)))
    eng = Engine(board, packet_rows=rows, rtp_ports=(31000, 31000 + 2 * rows + 1), keep_log=False)
    peer = EchoPeer(rows)
    prompt = (np.random.default_rng(1).standard_normal(8000 * 30) * 2000).astype(np.int16)
    opened = []
    try:
        for i in range(rows):
            _, row = eng.packet.allocate()
            eng.packet.open(row, remote=peer.socks[i].getsockname(), payload_type=PT[law], law=law)
            eng.media.play(row, [prompt[i * 37 % 8000:]], loop=True)
            opened.append(row)
        times = np.empty(ticks + WARM)
        for t in range(ticks + WARM):
            t0 = time.thread_time()
            eng.tick()
            times[t] = time.thread_time() - t0
            peer.echo()
        assert all(eng.packet.stats(r)["packets_in"] >= ticks for r in opened), "the echo did not come back"
        return times[WARM:]
    finally:
        for row in opened:
            eng.packet.release(row)
        peer.close()
        eng.shutdown()


def _codec_times(rows, law, ticks=TICKS):
    """Return the thread CPU seconds of one tick's decode and encode of `rows` rows of law."""
    rng = np.random.default_rng(2)
    pcm = (rng.standard_normal((rows, 160)) * 2000).astype(np.int16)
    codes, out = np.zeros((rows, 160), np.uint8), np.zeros((rows, 160), np.int16)
    kinds = np.zeros((rows, 160 // FRAME), np.uint8)
    states = g722.G722Rows()
    for i in range(rows if law == "g722" else 0):
        states.set(i, True)
    times = np.empty(ticks)
    for t in range(ticks):
        t0 = time.thread_time()
        if law == "g722":
            states.encode(pcm, codes)
            states.decode(codes, kinds, out)
        else:
            g711.ulaw_encode(pcm, out=codes)
            g711.ulaw_decode(codes, out=out)
        times[t] = time.thread_time() - t0
    return times


@pytest.mark.parametrize("rows", [100, 300])
def test_g722_rows_cost_per_row_per_tick(benchmark, rows):
    load = os.getloadavg()[0]

    def both():
        got = {"ulaw": [], "g722": []}
        for law in ("ulaw", "g722", "ulaw", "g722"):  # alternated: a busy moment of the shared box hits both
            got[law].append(np.median(_tick_times(rows, law)))
        return got

    got = benchmark.pedantic(both, rounds=1, iterations=1)
    g711_us, g722_us = (min(got[law]) / rows * 1e6 for law in ("ulaw", "g722"))
    codec = {law: np.median(_codec_times(rows, law)) / rows * 1e6 for law in ("ulaw", "g722")}
    print(f"\n{rows} rows, engine tick CPU per row per tick (p50, best of 2): G.711 {g711_us:.1f} us, "
          f"G.722 {g722_us:.1f} us ({g722_us / g711_us:.2f}x, +{g722_us - g711_us:.1f} us); codec step alone "
          f"(encode + decode): G.711 {codec['ulaw']:.2f} us, G.722 {codec['g722']:.1f} us per row; "
          f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
