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


def test_a_block_written_for_the_next_tick_is_sent_once_whatever_comes_after_it():
    # the first block queued goes straight into the next tick's transmit array; blocks written ahead of it, a
    # block dropped for the buffers' bound, a group closed before its tick and a reused buffer must not change
    # what the far end hears
    b, net = network_board()
    idle = net.idle_block()
    a, c = b.open([1, 3, 7, 2]), b.open(range(9, 16))
    buf = rand_block((4, 160), 1)
    a.write(buf)
    buf[:] = 0  # the writer reuses its buffer at once: the staged copy is its own
    c.write(rand_block((7, 160), 2))
    c.write(rand_block((7, 160), 3))  # one tick ahead
    b.step(1)
    assert np.array_equal(net.last_rx[[0, 2, 6, 1]], rand_block((4, 160), 1))
    assert np.array_equal(net.last_rx[8:15], rand_block((7, 160), 2))
    b.step(1)  # a wrote nothing: its rows idle; c's second block now
    assert np.array_equal(net.last_rx[[0, 2, 6, 1]], idle[[0, 2, 6, 1]])
    assert np.array_equal(net.last_rx[8:15], rand_block((7, 160), 3))
    for seed in (4, 5, 6, 7, 8):  # more ahead than the buffers hold: the oldest (the staged one first) dropped
        a.write(rand_block((4, 160), seed))
    kept = len(a.tx)
    b.step(1)
    assert np.array_equal(net.last_rx[[0, 2, 6, 1]], rand_block((4, 160), 9 - kept))
    c.write(rand_block((7, 160), 10))
    c.close()  # closed before its tick: its rows are idle, not the staged block
    b.step(1)
    assert np.array_equal(net.last_rx[8:15], idle[8:15])
