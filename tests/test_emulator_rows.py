"""The emulator's clock reads and writes consecutive rows through slices and scattered rows through index
arrays: both carry the same audio, and what a group or a far end keeps is its own, not a view of a later tick."""
import numpy as np

from pycallcenter.drivers import open_board, parse_config
from pycallcenter.drivers.emulator.board import row_index
from tests.test_drivers_emulator import BASE, rand_block


def network_board():
    cfg = BASE.format(zone="us", seed=1).replace('kind = "crossover"\nspans = [1, 2]',
                                                 'kind = "network"\nspan = 1\nname = "pstn1"')
    b = open_board(parse_config(cfg))
    return b, b.emulator.far_ends["pstn1"]


def test_row_index_is_a_slice_only_for_rows_running_upward_by_one():
    assert row_index([4, 5, 6]) == slice(4, 7)
    assert row_index([9]) == slice(9, 10)
    for rows in ([4, 6, 7], [6, 5, 4], [3, 3], []):
        got = row_index(rows)
        assert isinstance(got, np.ndarray) and list(got) == rows


def test_scattered_and_consecutive_groups_hear_the_same_audio():
    b, net = network_board()
    scattered, run = b.open([1, 3, 7, 2]), b.open(range(9, 16))
    blocks = [rand_block((31, 160), seed) for seed in range(3)]
    for x in blocks:
        net.write(x)
    got = [(scattered.read(), run.read()) for _ in blocks]
    for x, (s, r) in zip(blocks, got):  # read after all three ticks: each block is still its own tick's
        assert np.array_equal(s, x[[0, 2, 6, 1]]) and np.array_equal(r, x[8:15])


def test_far_end_keeps_each_tick_it_was_sent_and_last_rx_is_the_latest():
    b, net = network_board()
    g = b.open(range(1, 16))
    sent = [rand_block((15, 160), seed) for seed in range(4)]
    for x in sent:
        g.write(x)
    b.step(4)
    kept = net.read_audio()
    assert np.array_equal(kept[:15], np.concatenate(sent, axis=1))
    assert np.array_equal(net.last_rx[:15], sent[-1])
