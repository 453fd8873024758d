"""The media plane's links: whatever sequence of link, unlink, bridge and isolate a centre makes, each row is sent
the sum of what the rows it hears received (muted rows silent), clipped, as a plain loop over the links says, and
the codes transmit returns are that audio encoded in each row's law.

The plane keeps its links indexed by row and builds its mixing rounds from that index (a call's end touches only
its own links), and when few rows carry audio it clears, clips and encodes only those and the ones that fell
silent; this compares it, after every change, with the sum computed from ``_links`` and a whole encode."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pycallcenter.dsp import g711
from pycallcenter.engine.media import MediaPlane

ROWS, BS = 8, 16

ops = st.lists(st.tuples(st.sampled_from(["link", "unlink", "bridge", "isolate", "mute", "unmute"]),
                         st.integers(0, ROWS - 1), st.integers(0, ROWS - 1)), max_size=40)


def expected(plane, rx):
    """Return what each row should be sent, from the plane's links one by one."""
    acc = np.zeros((ROWS, BS), np.int64)
    for listener, talker in plane._links:
        if talker not in plane.muted:
            acc[listener] += rx[talker]
    return np.clip(acc, -32768, 32767).astype(np.int16)


@settings(max_examples=150, deadline=None)
@given(ops, st.integers(0, 2**32 - 1), st.lists(st.sampled_from(["ulaw", "alaw"]), min_size=ROWS, max_size=ROWS))
def test_every_row_is_sent_the_sum_of_the_rows_it_hears(sequence, seed, laws):
    plane = MediaPlane(laws, BS)
    alaw = np.array(laws) == "alaw"
    rng = np.random.default_rng(seed)
    want_links = set()
    for op, a, b in sequence:
        if op == "link":
            plane.link(a, b)
            want_links.add((a, b))
        elif op == "unlink":
            plane.unlink(a, b)
            want_links.discard((a, b))
        elif op == "bridge":
            plane.bridge(a, b)
            want_links |= {(a, b), (b, a)}
        elif op == "isolate":
            plane.isolate(a)
            want_links = {k for k in want_links if a not in k}
        elif op == "mute":
            plane.muted.add(a)
        else:
            plane.muted.discard(a)
        assert set(plane._links) == want_links
        for row in range(ROWS):
            assert plane.links_of(row) == {k for k in want_links if row in k}
            assert plane.listeners_of(row) == sorted(l for l, t in want_links if t == row)
        plane.rx[:] = rng.integers(-20000, 20000, (ROWS, BS), dtype=np.int16)
        codes, _ = plane.transmit()
        assert np.array_equal(plane.tx, expected(plane, plane.rx))
        want = g711.ulaw_encode(plane.tx)
        if alaw.any():
            want[alaw] = g711.alaw_encode(plane.tx[alaw])
        assert np.array_equal(codes, want)
