"""The media plane's send step at the 32-span centre's size: one 80 ms tick (640 samples) of 1,500 rows, 1,000
A-law (E1 bearers) and 500 mu-law (agent phones), half of them written this tick (bridges, prompts, tones), as
the steady busy hour has them. From the int32 mix to tx (int16) and the codes written to the board:

- ours: ``g711.mix_out``, one native pass over the written rows and those just fallen silent (saturate, tx,
  codes in each row's law, the mix cleared for the next tick), the rest left as they are;
- whole plane: what transmit did before it, whole-plane numpy passes (clip in place, copy to tx, mu-law and
  A-law rows encoded through fancy-indexed copies, the mix cleared);
- the yardstick: spandsp 0.0.6's encoders (``linear_to_alaw``/``linear_to_ulaw`` in peers/spandsp.py's C loops)
  over every row's tx, the encode alone.

The status file's echo canceller rows (1,460 cancellers, 64 and 128 ms tails, 600 running): ``echo_snapshot``
built from each group's counter arrays against a dict per row through ``EchoCounters.row``, as it was built.

And the mixing before it, 300 two-party bridges (600 listener rows, each hearing one talker's rx row):
``mix.add_rows`` (rows added straight from rx, a row not yet written copied without being read back)
against the numpy way it replaced (gather the talkers into a temporary, scatter it into the zero mix). And the
same 300 bridges mixed and sent (``add_rows`` then ``mix_out``: the int32 row written, read back, saturated,
encoded and cleared) against sent as their talkers' rows (``g711.send_copies``: the int16 row copied and
encoded, the row booked by ``mix_out``), which is what the plane does for a listener hearing one talker alone.

Run: .venv/bin/python -m pytest -p no:cacheprovider bench/bench_media_transmit.py --benchmark-only -s
The mix is written back before each round (outside the timing): the kernel clears it, and codes from a
zero mix would hit one table entry. Ticks per second of one core = 1 / time per tick.
"""
import numpy as np
import pytest

from pycallcenter.dsp import g711, mix
from pycallcenter.engine.media import MediaPlane, echo_snapshot

ROWS, ALAW_ROWS, BS = 1500, 1000, 640
LIVE = 750  # rows written this tick
ROUNDS = 200


@pytest.fixture(scope="module")
def plane():
    """The tick's mix (int32, sums of speech-level talkers, some beyond int16), laws, and the rows written."""
    rng = np.random.default_rng(1500)
    mix = np.clip(rng.normal(0, 6000, (ROWS, BS)), -50000, 50000).astype(np.int32)
    laws = np.full(ROWS, g711.ULAW, np.int8)
    laws[:ALAW_ROWS] = g711.ALAW
    written = np.sort(rng.choice(ROWS, LIVE, replace=False))
    mix[np.setdiff1d(np.arange(ROWS), written)] = 0
    return mix, laws, written


def _report(benchmark, what):
    t = benchmark.stats.stats.min
    benchmark.extra_info["ms_per_tick"] = round(1e3 * t, 3)
    print(f"\n{what}: {1e3 * t:.3f} ms a call (min), {1e3 * benchmark.stats.stats.median:.3f} ms median")


def test_send_ours(benchmark, plane):
    mix, laws, written = plane
    acc, tx = np.zeros((ROWS, BS), np.int32), np.zeros((ROWS, BS), np.int16)
    codes = np.zeros((ROWS, BS), np.uint8)
    live, dirty = np.zeros(ROWS, np.uint8), np.zeros(ROWS, np.uint8)
    dirty[written] = 1  # last tick wrote the same rows (the steady state: calls last minutes)

    def setup():
        acc[written] = mix[written]
        live[written] = 1

    benchmark.pedantic(g711.mix_out, args=(acc, tx, codes, laws, live, dirty), setup=setup, rounds=ROUNDS)
    np.testing.assert_array_equal(tx, np.clip(mix, -32768, 32767))
    _report(benchmark, "mix_out, written rows")


def test_send_whole_plane(benchmark, plane):
    mix, laws, _ = plane
    acc, tx = np.zeros((ROWS, BS), np.int32), np.zeros((ROWS, BS), np.int16)
    codes = np.zeros((ROWS, BS), np.uint8)
    ulaw_rows, alaw_rows = np.flatnonzero(laws == g711.ULAW), np.flatnonzero(laws == g711.ALAW)

    def setup():
        acc[...] = mix

    def send():
        np.clip(acc, -32768, 32767, out=acc)
        tx[...] = acc
        codes[ulaw_rows] = g711.ulaw_encode(tx[ulaw_rows])
        codes[alaw_rows] = g711.alaw_encode(tx[alaw_rows])
        acc.fill(0)

    benchmark.pedantic(send, setup=setup, rounds=ROUNDS)
    _report(benchmark, "whole-plane numpy passes")


def test_send_spandsp_encode(benchmark, spandsp, plane):
    mix, _, _ = plane
    tx = np.ascontiguousarray(np.clip(mix, -32768, 32767).astype(np.int16))
    codes = np.zeros((ROWS, BS), np.uint8)
    mod = spandsp.load()
    cast = mod.ffi.cast
    a_in, a_out = cast("int16_t *", tx.ctypes.data), cast("uint8_t *", codes.ctypes.data)
    u_in = cast("int16_t *", tx[ALAW_ROWS:].ctypes.data)
    u_out = cast("uint8_t *", codes[ALAW_ROWS:].ctypes.data)

    def encode():
        mod.lib.peer_alaw_encode(a_in, a_out, ALAW_ROWS * BS)
        mod.lib.peer_ulaw_encode(u_in, u_out, (ROWS - ALAW_ROWS) * BS)

    benchmark.pedantic(encode, rounds=ROUNDS)
    _report(benchmark, "spandsp encode, every row")


@pytest.fixture(scope="module")
def bridges():
    """rx of the plane (speech-level noise) and 300 bridges: listener rows and the talker each hears."""
    rng = np.random.default_rng(300)
    rx = np.clip(rng.normal(0, 3000, (ROWS, BS)), -32768, 32767).astype(np.int16)
    pairs = rng.choice(ROWS, 600, replace=False)
    dst = np.concatenate([pairs[0::2], pairs[1::2]]).astype(np.intp)
    src = np.concatenate([pairs[1::2], pairs[0::2]]).astype(np.intp)
    return rx, dst, src


def test_mix_ours(benchmark, bridges):
    rx, dst, src = bridges
    acc, live = np.zeros((ROWS, BS), np.int32), np.zeros(ROWS, np.uint8)

    def setup():
        acc[dst] = 0
        live[dst] = 0

    benchmark.pedantic(mix.add_rows, args=(acc, live, dst, rx, src), setup=setup, rounds=ROUNDS)
    np.testing.assert_array_equal(acc[dst], rx[src])
    _report(benchmark, "add_rows, 300 bridges")


def test_mix_numpy(benchmark, bridges):
    rx, dst, src = bridges
    acc, live = np.zeros((ROWS, BS), np.int32), np.zeros(ROWS, np.uint8)

    def add():
        acc[dst] = rx[src]
        live[dst] = 1

    benchmark.pedantic(add, rounds=ROUNDS)
    _report(benchmark, "numpy gather and scatter, 300 bridges")


class _Engine:
    """What echo_snapshot reads of an engine."""

    def __init__(self, media):
        self.media = media
        self.channel_of_row = {r: r + 1 + r // 30 for r in range(media.rows)}


@pytest.fixture(scope="module")
def echo_engine():
    """A plane of the 32-span centre's rows with 1,460 cancellers, 600 of them running on a second of audio."""
    plane = MediaPlane(["alaw"] * ALAW_ROWS + ["ulaw"] * (ROWS - ALAW_ROWS), 160)
    plane.set_echo({r: 128 if r % 7 == 0 else 64 for r in range(1460)})
    rng = np.random.default_rng(1460)
    for r in rng.choice(1460, 600, replace=False):
        plane.echo_start(int(r))
    for _ in range(50):
        plane.receive(g711.alaw_encode((rng.normal(0, 300, (ROWS, 160))).astype(np.int16)))
        plane.transmit()
    return _Engine(plane)


def _snapshot_per_row(engine):
    """The status rows as they were built: a dict per row from EchoCounters.row."""
    out = {}
    for g in engine.media.echo_groups:
        c = g.canceller.counters()
        running = np.zeros(len(g.rows), bool)
        running[g.active] = True
        for r, i in g.index.items():
            out[r] = {**c.row(i), "tail_ms": g.canceller.tail_ms, "running": bool(running[i])}
    return [{"channel": engine.channel_of_row[r], **c} for r, c in sorted(out.items())]


def test_echo_snapshot_ours(benchmark, echo_engine):
    snap = benchmark(echo_snapshot, echo_engine)
    assert snap == _snapshot_per_row(echo_engine)
    _report(benchmark, "echo_snapshot, 1,460 cancellers")


def test_echo_snapshot_per_row(benchmark, echo_engine):
    benchmark(_snapshot_per_row, echo_engine)
    _report(benchmark, "a dict per row, 1,460 cancellers")


def _bridged_plane():
    laws = np.full(ROWS, g711.ULAW, np.int8)
    laws[:ALAW_ROWS] = g711.ALAW
    return (np.zeros((ROWS, BS), np.int32), np.zeros((ROWS, BS), np.int16), np.zeros((ROWS, BS), np.uint8), laws,
            np.zeros(ROWS, np.uint8), np.ones(ROWS, np.uint8))


def test_bridges_sent_through_the_mix(benchmark, bridges):
    rx, dst, src = bridges
    acc, tx, codes, laws, live, dirty = _bridged_plane()

    def send():
        mix.add_rows(acc, live, dst, rx, src)
        g711.mix_out(acc, tx, codes, laws, live, dirty)

    send()  # the steady state: the same rows were written last tick
    benchmark.pedantic(send, rounds=ROUNDS)
    np.testing.assert_array_equal(tx[dst], rx[src])
    _report(benchmark, "300 bridges: add_rows + mix_out")


def test_bridges_sent_as_copies(benchmark, bridges):
    rx, dst, src = bridges
    acc, tx, codes, laws, live, dirty = _bridged_plane()
    want = np.zeros_like(tx)
    mix.add_rows(acc, live, dst, rx, src)
    g711.mix_out(acc, want, codes, laws, live, dirty)
    want_codes = codes.copy()

    def send():
        g711.send_copies(rx, tx, codes, laws, live, dst, src)
        g711.mix_out(acc, tx, codes, laws, live, dirty)

    benchmark.pedantic(send, rounds=ROUNDS)
    np.testing.assert_array_equal(tx, want)
    np.testing.assert_array_equal(codes, want_codes)
    _report(benchmark, "300 bridges: send_copies + mix_out")
