"""An echo group whose rows are consecutive cancels in place on a view of the plane's rows; the audio it leaves
and the figures it reports are those of the same group gathering its rows (``in_place=False``), tick for tick,
beside a group with gaps (gathered either way) and rows without a canceller, with calls starting and ending
and cancellers switched off and on."""
import numpy as np

from pycallcenter.dsp import g711
from pycallcenter.engine import media as M

ROWS, BS = 40, 160
# rows 0-11 and 20-29 consecutive (two tails), rows 12-19 (an SS7 span, say) without a canceller, a third tail
# on scattered rows
TAILS = {**{r: 64 for r in range(0, 12)}, **{r: 32 for r in range(20, 30)}, 31: 128, 33: 128, 39: 128}


def _plane(in_place):
    plane = M.MediaPlane(["ulaw"] * 20 + ["alaw"] * 20, BS)
    plane.set_echo(TAILS)
    if not in_place:
        for i, g in enumerate(plane.echo_groups):
            plane.echo_groups[i] = M.EchoGroup(g.rows, g.canceller.tail_ms, in_place=False)
        plane._echo_of_row = {r: (g, i) for g in plane.echo_groups for r, i in g.index.items()}
    return plane


def _run(plane, ticks=90):
    rng = np.random.default_rng(11)
    prompt = (rng.standard_normal(BS * 120) * 4000).astype(np.int16)
    seen = []
    for r in range(ROWS):
        plane.play(r, [prompt[r * 7:]], loop=True)
    for t in range(ticks):
        if t == 2:
            for r in (0, 3, 5, 13, 21, 22, 29, 31, 33, 39):
                plane.echo_start(r)
        if t == 30:
            plane.echo_stop(3)
            plane.echo_enable(22, False)
            plane.echo_start(25)
        if t == 60:
            plane.echo_enable(22, True)
            plane.echo_start(3)
        # the line returns what was sent, 10 dB down and 3 samples late, with a little noise and a near talker
        sent = plane.tx.astype(np.int32)
        near = np.roll(sent, 3, axis=1) * 3 // 10 + rng.integers(-30, 30, (ROWS, BS))
        near[5] += (rng.standard_normal(BS) * 3000).astype(np.int32) if t > 50 else 0
        near = np.clip(near, -32768, 32767).astype(np.int16)
        codes = np.concatenate([g711.ulaw_encode(near[:20]), g711.alaw_encode(near[20:])])
        plane.receive(codes)
        seen.append(plane.rx.copy())
        plane.transmit()
    return np.array(seen)


def test_window_cancels_as_the_gathered_rows_do():
    windowed, gathered = _plane(True), _plane(False)
    assert [g.lo for g in windowed.echo_groups] == [20, 0, None]  # tails 32, 64, 128: the last one has gaps
    assert [g.lo for g in gathered.echo_groups] == [None] * 3
    a, b = _run(windowed), _run(gathered)
    assert np.array_equal(a, b)
    assert np.abs(a).max() > 1000 and any(v["erl_db"] is not None for v in windowed.echo_counters().values())
    assert windowed.echo_counters() == gathered.echo_counters()
    running = {r for r, v in windowed.echo_counters().items() if v["running"]}
    assert running == {0, 3, 5, 21, 22, 25, 29, 31, 33, 39}
    assert set(windowed.echo_counters()) == set(TAILS)  # the window's rows without a canceller report nothing


def test_whole_plane_and_packet_rows():
    plane = M.MediaPlane(["ulaw"] * 30, BS, packet_rows=8)  # packet rows after the board's have no canceller
    plane.set_echo({r: 64 for r in range(30)})
    assert [(g.lo, len(g.rows)) for g in plane.echo_groups] == [(0, 30)]
