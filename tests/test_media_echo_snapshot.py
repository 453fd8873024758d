"""The echo cancellers' rows of the status file, built from the cancellers' counter arrays, are what each
canceller's own per-row figures say (``EchoCounters.row``), row for row and key for key, in row order across
groups of different tails, measured and unmeasured, running, stopped and switched off."""
import json

import numpy as np

from pycallcenter.dsp import g711
from pycallcenter.engine.media import MediaPlane, echo_snapshot

ROWS, BS = 12, 160


class _Engine:
    """What echo_snapshot reads of an engine: its media plane and the channel number of each row."""

    def __init__(self, media):
        self.media = media
        self.channel_of_row = {r: 100 + 3 * r for r in range(media.rows)}


def _per_row(plane):
    """The cancellers' figures one row at a time, as each canceller reports a row."""
    out = {}
    for g in plane.echo_groups:
        c = g.canceller.counters()
        for r, i in g.index.items():
            out[r] = {**c.row(i), "tail_ms": g.canceller.tail_ms, "running": bool(i in set(g.active.tolist()))}
    return out


def test_rows_from_arrays_equal_each_cancellers_rows():
    plane = MediaPlane(["alaw"] * ROWS, BS)
    plane.set_echo({0: 128, 2: 32, 3: 64, 5: 32, 6: 64, 7: 128, 9: 64, 11: 32})  # groups interleave rows
    rng = np.random.default_rng(5)
    prompt = (rng.standard_normal(BS * 200) * 3000).astype(np.int16)
    for r in (0, 2, 3, 5, 6, 9):
        plane.echo_start(r)
        plane.play(r, [prompt])
    plane.echo_enable(6, False)
    for t in range(60):  # the line returns what was sent 10 dB down, with a little noise
        near = plane.tx.astype(np.int32) * 3 // 10 + rng.integers(-20, 20, (ROWS, BS))
        plane.receive(g711.alaw_encode(np.clip(near, -32768, 32767).astype(np.int16)))
        plane.transmit()
        if t == 30:
            plane.echo_stop(5)
    want = _per_row(plane)
    got = plane.echo_counters()
    assert list(got) == sorted(want) and got == want
    assert [list(v) for v in got.values()] == [list(want[r]) for r in sorted(want)]  # key order, for the JSON
    measured = [r for r, v in got.items() if v["erl_db"] is not None]
    assert measured and len(measured) < len(got)  # both kinds are compared
    assert {got[r]["running"] for r in got} == {True, False} and got[6]["state"] == "disabled"
    snap = echo_snapshot(_Engine(plane))
    assert json.dumps(snap) == json.dumps([{"channel": 100 + 3 * r, **want[r]} for r in sorted(want)])


def test_no_cancellers_no_rows():
    plane = MediaPlane(["ulaw"] * 3, BS)
    assert plane.echo_counters() == {} and echo_snapshot(_Engine(plane)) == []
