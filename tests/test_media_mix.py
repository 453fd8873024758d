"""The media plane's mixing kernel (pycallcenter.dsp.mix.add_rows) equals its numpy twin bit for bit: any pairs of
rows (repeated listeners and talkers included), silent talkers or none, rows already written this tick or not;
and bad arguments raise one clear error before anything is written."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pycallcenter.dsp import mix
from pycallcenter.dsp.reference import mix as twin


@st.composite
def cases(draw):
    """acc (rows not yet written are zero, as in the plane), live flags, a block and (dst, src) pairs."""
    rows, brows, n = draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(st.integers(1, 20))
    live = draw(hnp.arrays(np.uint8, rows, elements=st.integers(0, 1)))
    acc = draw(hnp.arrays(np.int32, (rows, n), elements=st.integers(-(2**20), 2**20)))
    acc[live == 0] = 0
    block = draw(hnp.arrays(np.int16, (brows, n)))
    k = draw(st.integers(0, 12))
    dst = np.array(draw(st.lists(st.integers(0, rows - 1), min_size=k, max_size=k)), np.intp)
    src = np.array(draw(st.lists(st.integers(0, brows - 1), min_size=k, max_size=k)), np.intp)
    silent = draw(st.none() | hnp.arrays(np.uint8, brows, elements=st.integers(0, 1)))
    return acc, live, dst, block, src, silent


@settings(max_examples=300, deadline=None)
@given(cases())
def test_native_equals_twin(case):
    acc, live, dst, block, src, silent = case
    got_acc, got_live = acc.copy(), live.copy()
    mix.add_rows(got_acc, got_live, dst, block, src, silent)
    twin.add_rows(acc, live, dst, block, src, silent)
    np.testing.assert_array_equal(got_acc, acc)
    np.testing.assert_array_equal(got_live, live)


def test_a_row_not_yet_written_is_set_and_one_written_is_added_to():
    acc, live = np.zeros((2, 3), np.int32), np.zeros(2, np.uint8)
    block = np.array([[1, 2, 3], [30000, 30000, -30000]], np.int16)
    mix.add_rows(acc, live, np.array([1, 1, 0], np.intp), block, np.array([1, 1, 0], np.intp))
    assert acc.tolist() == [[1, 2, 3], [60000, 60000, -60000]] and live.tolist() == [1, 1]
    mix.add_rows(acc, live, np.array([0], np.intp), block, np.array([0], np.intp), np.array([1, 0], np.uint8))
    assert acc[0].tolist() == [1, 2, 3]  # a silent talker adds nothing


@pytest.mark.parametrize("change, error", [
    (dict(dst=np.array([0, 5], np.intp)), ValueError),
    (dict(src=np.array([0, -1], np.intp)), ValueError),
    (dict(src=np.array([0], np.intp)), ValueError),
    (dict(dst=np.array([0, 1], np.int32)), TypeError),
    (dict(block=np.zeros((2, 4), np.int16)), ValueError),
    (dict(block=np.zeros((2, 3), np.int32)), TypeError),
    (dict(silent=np.zeros(5, np.uint8)), ValueError),
    (dict(live=np.zeros(2, bool)), TypeError),
])
def test_bad_arguments_raise_before_writing(change, error):
    args = dict(acc=np.zeros((2, 3), np.int32), live=np.zeros(2, np.uint8), dst=np.array([0, 1], np.intp),
                block=np.ones((2, 3), np.int16), src=np.array([0, 1], np.intp), silent=None)
    args.update(change)
    with pytest.raises(error):
        mix.add_rows(**args)
    assert not args["acc"].any()


class _Player:
    """What play_blocks reads and moves of a media.Player."""

    def __init__(self, prompts, index, pos):
        self.prompts, self.index, self.pos = prompts, index, pos


@st.composite
def players(draw):
    """acc and live as in the plane, and {row: player} at any index and position, prompts of any length."""
    rows, n = draw(st.integers(1, 8)), draw(st.integers(1, 12))
    live = draw(hnp.arrays(np.uint8, rows, elements=st.integers(0, 1)))
    acc = draw(hnp.arrays(np.int32, (rows, n), elements=st.integers(-(2**20), 2**20)))
    acc[live == 0] = 0
    out = {}
    for row in draw(st.lists(st.integers(0, rows - 1), unique=True)):
        prompts = [draw(hnp.arrays(np.int16, draw(st.integers(0, 4 * n)))) for _ in range(draw(st.integers(0, 3)))]
        index = draw(st.integers(0, len(prompts)))
        pos = draw(st.integers(0, prompts[index].size if index < len(prompts) else 0))
        out[row] = (prompts, index, pos)
    return acc, live, out, n


@settings(max_examples=300, deadline=None)
@given(players())
def test_play_blocks_native_equals_twin(case):
    acc, live, spec, n = case
    mine = {r: _Player(*v) for r, v in spec.items()}
    theirs = {r: _Player(*v) for r, v in spec.items()}
    got_acc, got_live = acc.copy(), live.copy()
    slow = mix.play_blocks(got_acc, got_live, mine, n)
    assert slow == twin.play_blocks(acc, live, theirs, n)
    np.testing.assert_array_equal(got_acc, acc)
    np.testing.assert_array_equal(got_live, live)
    assert [(p.index, p.pos) for p in mine.values()] == [(p.index, p.pos) for p in theirs.values()]


def test_play_blocks_leaves_a_prompts_end_to_the_player():
    acc, live = np.zeros((3, 4), np.int32), np.zeros(3, np.uint8)
    live[2], acc[2] = 1, 7
    tone = np.arange(1, 10, dtype=np.int16)
    ps = {0: _Player([tone], 0, 0), 1: _Player([tone], 0, 5), 2: _Player([tone], 0, 4)}
    assert mix.play_blocks(acc, live, ps, 4) == [1]  # 5 + 4 = 9 samples: the last block ends the prompt
    assert acc.tolist() == [[1, 2, 3, 4], [0] * 4, [12, 13, 14, 15]] and live.tolist() == [1, 0, 1]
    assert [p.pos for p in ps.values()] == [4, 5, 8]
    with pytest.raises(ValueError):
        mix.play_blocks(acc, live, {3: _Player([tone], 0, 0)}, 4)
    with pytest.raises(ValueError):
        mix.play_blocks(acc, live, ps, 5)
