"""The media plane's transmit touches only the rows written this tick and those that just fell silent, and sends a
listener hearing one talker and nothing else as that talker's row without the mix: whatever
a centre does to its rows tick after tick (prompts that end mid-block, looped prompts, tones started and stopped,
per-tick sources, links, muting, on a plane of mu-law, A-law and packet rows), what it sends (tx and the codes)
equals what a plane that saturates and encodes every row every tick sends."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pycallcenter.engine.media import MediaPlane

BOARD, PACKET, BS = 6, 2, 16
ROWS = BOARD + PACKET


class WholePlane(MediaPlane):
    """The same plane sending every row every tick, every link through the int32 mix (no listener sent as its
    talker's row): the behaviour the row flags and the copies must not change."""

    def _mix(self, finished):
        if self._links_changed:
            self._build_rounds()
        self._alone = np.zeros_like(self._alone)
        super()._mix(finished)
        self._live[:] = 1


class Source:
    """A per-tick source (a fax or modem) that sends on some ticks and nothing on others."""

    def __init__(self, pattern):
        self.pattern, self.n = pattern, 0

    def tick(self, rx_row):
        self.n += 1
        if self.pattern[self.n % len(self.pattern)]:
            return (rx_row // 3).astype(np.int16)
        return None


row = st.integers(0, ROWS - 1)
action = st.one_of(
    st.tuples(st.just("play"), row, st.integers(0, 3 * BS), st.booleans()),
    st.tuples(st.just("stop"), row),
    st.tuples(st.just("tone"), row, st.sampled_from(["dial", "busy", "ringback", "congestion"])),
    st.tuples(st.just("stop_tone"), row),
    st.tuples(st.just("bridge"), row, row),
    st.tuples(st.just("isolate"), row),
    st.tuples(st.just("mute"), row),
    st.tuples(st.just("attach"), row, st.lists(st.booleans(), min_size=1, max_size=4)),
    st.tuples(st.just("detach"), row),
)


def _apply(plane, act, prompt):
    kind, r = act[0], act[1]
    if kind == "play":
        plane.play(r, [prompt[:act[2]], prompt[act[2]:2 * act[2]]], loop=act[3])
    elif kind == "stop":
        plane.stop(r)
    elif kind == "tone":
        plane.start_tone(r, act[2])
    elif kind == "stop_tone":
        plane.stop_tone(r)
    elif kind == "bridge":
        plane.bridge(r, act[2])
    elif kind == "isolate":
        plane.isolate(r)
    elif kind == "mute":
        plane.muted ^= {r}
    elif kind == "attach":
        plane.attach(r, Source(act[2]))
    else:
        plane.detach(r)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(action, max_size=4), min_size=1, max_size=12), st.integers(0, 2**32 - 1),
       st.lists(st.sampled_from(["ulaw", "alaw"]), min_size=BOARD, max_size=BOARD))
def test_rows_left_alone_send_what_a_whole_plane_sends(ticks, seed, laws):
    rng = np.random.default_rng(seed)
    prompt = rng.integers(-32768, 32767, 6 * BS, dtype=np.int16)
    planes = [MediaPlane(laws, BS, packet_rows=PACKET), WholePlane(laws, BS, packet_rows=PACKET)]
    for actions in ticks:
        rx = rng.integers(-32768, 32767, (ROWS, BS), dtype=np.int16)
        sent = []
        for plane in planes:
            for act in actions:
                _apply(plane, act, prompt)
            plane.rx[:] = rx
            codes, finished = plane.transmit()
            sent.append((codes.copy(), plane.tx.copy(), sorted(finished)))
        (codes, tx, finished), (want_codes, want_tx, want_finished) = sent
        np.testing.assert_array_equal(tx, want_tx)
        np.testing.assert_array_equal(codes, want_codes)
        assert finished == want_finished
        assert not planes[0]._acc.any()  # the mix is clear for the next tick


def test_a_row_that_falls_silent_is_sent_silence_until_written_again():
    plane = MediaPlane(["ulaw", "alaw"], BS)
    half = BS // 2
    plane.play(0, [np.full(BS + half, 1000, np.int16)])
    plane.play(1, [np.full(BS + half, -1000, np.int16)])
    codes, finished = plane.transmit()
    assert finished == [] and plane.tx.tolist() == [[1000] * BS, [-1000] * BS]
    codes, finished = plane.transmit()  # the prompts end half way through the block
    assert sorted(finished) == [0, 1]
    assert plane.tx.tolist() == [[1000] * half + [0] * half, [-1000] * half + [0] * half]
    for _ in range(2):
        codes, _ = plane.transmit()
        assert not plane.tx.any() and codes.tolist() == [[0xFF] * BS, [0xD5] * BS]
