"""G.711 mix_out, one tick's mix sent to the line: the native kernel equals its numpy twin bit for bit over
several ticks (tx, codes, the cleared mix and the row flags), and what it sends is the mix saturated and
encoded in each row's law, with silence on every row not written, however long ago it was written."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pycallcenter.dsp import g711
from pycallcenter.dsp.reference import g711 as twin

SILENCE = {g711.ULAW: 0xFF, g711.ALAW: 0xD5}
ENCODE = {g711.ULAW: g711.ulaw_encode, g711.ALAW: g711.alaw_encode}


@st.composite
def planes(draw):
    """A plane's shape and laws (packet rows, with no codes, after the board's) and a few ticks of mixes."""
    board = draw(st.integers(0, 9))
    packet = draw(st.integers(0 if board else 1, 4))
    n = draw(st.integers(1, 24))
    laws = np.array(draw(st.lists(st.sampled_from([g711.ULAW, g711.ALAW]), min_size=board, max_size=board))
                    + [-1] * packet, np.int8)
    rows = board + packet
    mix = st.one_of(st.integers(-(2**31), 2**31 - 1), st.integers(-70000, 70000),
                    st.sampled_from([-32769, -32768, -32767, -1, 0, 1, 32767, 32768]))
    ticks = draw(st.lists(st.tuples(hnp.arrays(np.int32, (rows, n), elements=mix),
                                    hnp.arrays(np.bool_, rows)), min_size=1, max_size=5))
    return board, laws, ticks


def _state(board, laws, n):
    rows = len(laws)
    return dict(acc=np.zeros((rows, n), np.int32), tx=np.zeros((rows, n), np.int16),
                codes=np.zeros((board, n), np.uint8), laws=laws, live=np.zeros(rows, np.uint8),
                dirty=np.ones(rows, np.uint8))


@settings(max_examples=300, deadline=None)
@given(planes())
def test_native_equals_twin_and_sends_the_saturated_mix(plane):
    board, laws, ticks = plane
    n = ticks[0][0].shape[1]
    native, ref = _state(board, laws, n), _state(board, laws, n)
    for mix, written in ticks:
        mix = np.where(written[:, None], mix, 0).astype(np.int32)  # a row not written holds zeros, as promised
        for s in (native, ref):
            s["acc"][...] = mix
            s["live"][...] = written
        g711.mix_out(**native)
        twin.mix_out(**ref)
        for key in native:
            np.testing.assert_array_equal(native[key], ref[key], err_msg=key)
        want = np.clip(mix, -32768, 32767).astype(np.int16)
        np.testing.assert_array_equal(native["tx"], want)
        for r in range(board):
            np.testing.assert_array_equal(native["codes"][r], ENCODE[int(laws[r])](want[r]))
            if not written[r]:
                assert set(native["codes"][r].tolist()) == {SILENCE[int(laws[r])]}
        assert not native["acc"].any() and not native["live"].any()
        np.testing.assert_array_equal(native["dirty"], written)


def test_every_sum_is_sent_as_the_table_encoders_send_it():
    # the kernel computes codes without the tables the encoders use: every int16 value, and sums beyond it
    mix = np.tile(np.arange(-65536, 65536, dtype=np.int32), (3, 1))
    s = _state(2, np.array([g711.ULAW, g711.ALAW, -1], np.int8), mix.shape[1])
    s["acc"][...] = mix
    s["live"][...] = 1
    g711.mix_out(**s)
    want = np.clip(mix[0], -32768, 32767).astype(np.int16)
    assert (s["tx"] == want).all()
    np.testing.assert_array_equal(s["codes"][0], g711.ulaw_encode(want))
    np.testing.assert_array_equal(s["codes"][1], g711.alaw_encode(want))


def test_rows_neither_written_nor_fallen_silent_are_not_touched():
    s = _state(2, np.array([g711.ULAW, g711.ALAW, -1], np.int8), 4)
    s["dirty"][...] = 0
    s["tx"][...] = 7  # not what an untouched row would hold; shows the kernel left it alone
    s["codes"][...] = 9
    s["live"][1] = 1
    s["acc"][1] = [40000, -40000, 5, 0]
    g711.mix_out(**s)
    assert s["tx"].tolist() == [[7] * 4, [32767, -32768, 5, 0], [7] * 4]
    assert s["codes"][0].tolist() == [9] * 4
    assert s["codes"][1].tolist() == g711.alaw_encode(np.array([32767, -32768, 5, 0], np.int16)).tolist()
    assert s["dirty"].tolist() == [0, 1, 0]


@pytest.mark.parametrize("change, error", [
    (dict(acc=np.zeros((3, 4), np.int64)), TypeError),
    (dict(tx=np.zeros((3, 4), np.int32)), TypeError),
    (dict(tx=np.zeros((3, 5), np.int16)), ValueError),
    (dict(codes=np.zeros((3, 5), np.uint8)), ValueError),
    (dict(codes=np.zeros((1, 4), np.uint8)), ValueError),  # row 1 has a law and no codes row
    (dict(laws=np.array([0, 2, -1], np.int8)), ValueError),
    (dict(laws=np.array([0, 1], np.int8)), ValueError),
    (dict(live=np.zeros(3, bool)), TypeError),
    (dict(dirty=np.zeros(6, np.uint8)[::2]), ValueError),
    (dict(acc=[[0] * 4] * 3), TypeError),
])
def test_bad_arrays_raise(change, error):
    s = {**_state(2, np.array([g711.ULAW, g711.ALAW, -1], np.int8), 4), **change}
    with pytest.raises(error):
        g711.mix_out(**s)


@settings(max_examples=300, deadline=None)
@given(planes(), st.data())
def test_copies_leave_as_the_mix_would_send_them(plane, data):
    """Rows sent by send_copies (native and twin alike) leave tx and codes exactly as the same talker's row added
    alone into the mix and sent by mix_out; the rows in the mix are sent as before; the flags end alike."""
    board, laws, ticks = plane
    rows, n = ticks[0][0].shape
    state = {}
    for name, send_copies, mix_out in (("native", g711.send_copies, g711.mix_out),
                                       ("twin", twin.send_copies, twin.mix_out),
                                       ("mixed", None, g711.mix_out)):
        tx, codes = np.zeros((rows, n), np.int16), np.zeros((board, n), np.uint8)
        dirty, out = np.ones(rows, np.uint8), []
        for t, (acc, _written) in enumerate(ticks):
            rx = data.draw(hnp.arrays(np.int16, (rows, n)), label=f"rx {t}") if name == "native" else state[t][0]
            pairs = data.draw(st.lists(st.tuples(st.integers(0, rows - 1), st.integers(0, rows - 1)),
                                       unique_by=lambda p: p[0]), label=f"pairs {t}") if name == "native" else state[t][1]
            in_mix = state[t][2] if name != "native" else data.draw(hnp.arrays(np.bool_, rows), label=f"mixed {t}")
            state[t] = (rx, pairs, in_mix)
            acc = acc.copy()
            copied = {d for d, _ in pairs}
            live = (in_mix & ~np.isin(np.arange(rows), list(copied))).astype(np.uint8)
            acc[live == 0] = 0
            dst = np.array([d for d, _ in pairs], np.intp)
            src = np.array([s for _, s in pairs], np.intp)
            if send_copies is not None:
                send_copies(rx, tx, codes, laws, live, dst, src)
            else:  # the same rows through the int32 mix
                acc[dst] = rx[src]
                live[dst] = 1
            mix_out(acc, tx, codes, laws, live, dirty)
            out.append((tx.copy(), codes.copy(), dirty.copy(), live.copy(), acc.copy()))
        state[name] = out
    for a, b, c in zip(state["native"], state["twin"], state["mixed"]):
        for x, y, z in zip(a, b, c):
            np.testing.assert_array_equal(x, y)
            np.testing.assert_array_equal(x, z)


def test_copies_refuse_rows_already_in_the_mix_and_repeats_before_writing():
    laws = np.array([g711.ULAW, g711.ALAW, -1], np.int8)
    rx = np.arange(12, dtype=np.int16).reshape(3, 4) * 1000
    for send_copies in (g711.send_copies, twin.send_copies):
        tx, codes = np.zeros((3, 4), np.int16), np.zeros((2, 4), np.uint8)
        for live, dst in ((np.array([0, 1, 0], np.uint8), [0, 1]), (np.zeros(3, np.uint8), [2, 0, 2])):
            before = live.copy()
            with pytest.raises(ValueError):
                send_copies(rx, tx, codes, laws, live, np.array(dst, np.intp), np.array(dst, np.intp))
            assert not tx.any() and not codes.any() and (live == before).all()
        live = np.zeros(3, np.uint8)
        send_copies(rx, tx, codes, laws, live, np.array([2, 0], np.intp), np.array([0, 1], np.intp))
        assert tx.tolist() == [rx[1].tolist(), [0] * 4, rx[0].tolist()] and live.tolist() == [2, 0, 2]
        assert codes[0].tolist() == g711.ulaw_encode(rx[1]).tolist() and not codes[1].any()
