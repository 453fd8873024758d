"""Adaptive jitter buffer (pycallcenter.media.jitter) on simulated networks with seeded delays and losses."""
import heapq

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pycallcenter.dsp import g711
from pycallcenter.dsp.plc import PacketLossConcealer
from pycallcenter.errors import LocalProtocolError
from pycallcenter.media.jitter import DUPLICATE, LATE, OVERFLOW, QUEUED, STALE, JitterBuffer
from pycallcenter.media.playout import pop_block

PTIME = 0.02


class Stream:
    """A sender's packets: index i has seq seq0 + i and timestamp ts0 + 160 i (both wrapping), sent at i * 20 ms."""

    def __init__(self, count, seq0=1000, ts0=50_000, silences=()):
        self.count, self.seq0, self.ts0 = count, seq0, ts0
        # silences: (first index, length) ranges the sender does not send (DTX); the next packet has the marker
        self.silent = np.zeros(count, bool)
        for start, length in silences:
            self.silent[start:start + length] = True

    def packet(self, i):
        """Return (seq, timestamp, payload, marker) of packet i; the timestamp keeps running through silence."""
        marker = i == 0 or (not self.silent[i] and self.silent[i - 1])
        skipped = int(self.silent[:i].sum())  # seq numbers do not advance over silence, timestamps do
        return ((self.seq0 + i - skipped) & 0xFFFF, (self.ts0 + 160 * i) & 0xFFFFFFFF, i.to_bytes(4, "big"), marker)


def simulate(jb, stream, delays, drop=None, duplicate=None, pop_phase=0.007, tail=1.0, on_pop=None):
    """Run sender, network and a receiver popping every 20 ms; return [(pop time, packet index or None)].

    on_pop(time, jb), when given, is called after every pop.
    """
    events = []  # (time, order, kind, data)
    for i in range(stream.count):
        if stream.silent[i] or (drop is not None and drop[i]):
            continue
        events.append((i * PTIME + delays[i], 0, i))
        if duplicate is not None and duplicate[i]:
            events.append((i * PTIME + delays[i] + 0.003, 0, i))
    n_pops = int((stream.count * PTIME + tail) / PTIME)
    events += [(k * PTIME + pop_phase, 1, None) for k in range(n_pops)]
    heapq.heapify(events)
    played = []
    while events:
        t, kind, i = heapq.heappop(events)
        if kind == 0:
            seq, ts, payload, marker = stream.packet(i)
            jb.push(seq, ts, payload, t, marker=marker)
        else:
            out = jb.pop(t)
            played.append((t, None if out is None else int.from_bytes(out, "big")))
            if on_pop is not None:
                on_pop(t, jb)
    return played


def indices(played):
    return [i for _, i in played if i is not None]


def test_clean_network_plays_everything_in_order_after_the_minimum_delay():
    jb = JitterBuffer()
    s = Stream(500)
    played = simulate(jb, s, np.full(s.count, 0.030))
    assert indices(played) == list(range(500))
    st = jb.stats
    assert (st.received, st.lost, st.late, st.concealed, st.discarded, st.reordered) == (500, 0, 0, 0, 0, 0)
    assert st.target == pytest.approx(0.02)
    assert 0.02 <= st.delay <= 0.04  # the minimum delay, rounded up to the next pop


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_losses_are_counted_exactly_under_jitter(seed):
    rng = np.random.default_rng(seed)
    s = Stream(3000)
    delays = 0.02 + rng.gamma(2.0, 0.01, s.count)  # mean 40 ms, long tail
    drop = rng.random(s.count) < 0.05
    drop[[0, -1]] = False  # a loss before the first or after the last packet received cannot be known
    jb = JitterBuffer()
    played = simulate(jb, s, delays, drop=drop)
    st = jb.stats
    assert st.lost == drop.sum()
    assert st.received == s.count - drop.sum()
    got = indices(played)
    assert got == sorted(got) and len(set(got)) == len(got)
    assert not set(got) & set(np.flatnonzero(drop))
    # every sequence number between the first and last played is played or concealed exactly once
    assert st.played + st.concealed == got[-1] - got[0] + 1
    assert st.played == st.received - st.late - st.overflow
    # the target covers the delay spread, so after the first seconds hardly anything arrives late
    assert st.late <= 0.01 * s.count


def test_delay_grows_fast_on_a_jitter_increase_and_shrinks_slowly_at_talkspurt_boundaries():
    rng = np.random.default_rng(7)
    # 60 s of 1 s talkspurts separated by 200 ms of silence; the network is calm, then spiky for 10 s, then calm
    spurts = [(k * 60 + 50, 10) for k in range(50)]
    s = Stream(3000, silences=spurts)
    delays = 0.02 + rng.uniform(0, 0.004, s.count)
    spiky = slice(1000, 1500)
    delays[spiky] += rng.uniform(0, 0.15, 500)
    jb = JitterBuffer(window=5.0)
    targets = []
    simulate(jb, s, delays, on_pop=lambda t, b: targets.append((t, b.stats.target)))
    before = max(v for t, v in targets if t < 19.9)
    assert before < 0.035  # calm: about the minimum delay
    # within 200 ms of the first spiky packets the target has grown by most of the spread
    first_spike = 1000 * PTIME + np.argmax(delays[spiky] > 0.1) * PTIME
    soon = [v for t, v in targets if first_spike + 0.2 <= t < first_spike + 0.25]
    assert soon and soon[0] > 0.1
    # the target comes down only at talkspurt boundaries, by at most 20 ms each
    steps = np.diff([v for _, v in targets])
    assert steps.min() >= -0.02 - 1e-12
    downs = int((steps < -1e-12).sum())
    assert 1 <= downs <= jb.stats.talkspurts
    # ... and is back near the minimum well after the spikes have left the 5 s window
    assert max(v for t, v in targets if t > 45) < 0.035


def test_reordered_packets_are_counted_and_played_in_sequence():
    rng = np.random.default_rng(11)
    s = Stream(2000)
    delays = np.full(s.count, 0.03)
    swapped = np.zeros(s.count, bool)
    for i in range(1, s.count - 1, 2):
        if rng.random() < 0.1:
            delays[i] += 0.025  # arrives after packet i + 1
            swapped[i] = True
    jb = JitterBuffer()
    played = simulate(jb, s, delays)
    st = jb.stats
    assert st.reordered == swapped.sum()
    assert indices(played) == sorted(indices(played))
    # packets that overtook others are played once the target has grown to cover them
    assert st.late <= 2 and st.played == s.count - st.late
    assert st.lost == 0


def test_duplicates_are_dropped_and_counted():
    rng = np.random.default_rng(5)
    s = Stream(1000)
    dup = rng.random(s.count) < 0.05
    jb = JitterBuffer()
    played = simulate(jb, s, np.full(s.count, 0.03), duplicate=dup)
    assert jb.stats.duplicates == dup.sum()
    assert indices(played) == list(range(1000))
    assert jb.stats.received == 1000 and jb.stats.lost == 0


def test_sequence_and_timestamp_wrap():
    rng = np.random.default_rng(3)
    s = Stream(1500, seq0=65536 - 700, ts0=(1 << 32) - 160 * 300)
    drop = rng.random(s.count) < 0.03
    drop[[0, -1]] = False
    jb = JitterBuffer()
    played = simulate(jb, s, 0.03 + rng.uniform(0, 0.01, s.count), drop=drop)
    assert jb.stats.lost == drop.sum()
    assert indices(played) == [i for i in range(s.count) if not drop[i]]


def test_talkspurts_reanchor_and_silence_is_not_concealment():
    s = Stream(1000, silences=[(200, 25), (500, 50), (800, 5)])
    jb = JitterBuffer()
    played = simulate(jb, s, np.full(s.count, 0.03))
    st = jb.stats
    assert st.talkspurts == 4
    assert st.concealed == 0 and st.lost == 0
    assert indices(played) == [i for i in range(s.count) if not s.silent[i]]


def test_a_lost_marker_packet_still_starts_a_talkspurt():
    s = Stream(600, silences=[(200, 25)])
    drop = np.zeros(s.count, bool)
    drop[225] = True  # the marked first packet after the silence
    jb = JitterBuffer()
    played = simulate(jb, s, np.full(s.count, 0.03), drop=drop)
    assert jb.stats.talkspurts == 2
    assert jb.stats.lost == 1
    assert indices(played)[199:201] == [199, 226]


def test_a_marked_packet_overtaken_by_the_next_one_still_opens_its_talkspurt():
    s = Stream(600, silences=[(200, 25)])
    delays = np.full(s.count, 0.03)
    delays[225] = 0.075  # the marked first packet after the silence arrives after packet 226
    jb = JitterBuffer(min_delay=0.06)
    played = simulate(jb, s, delays)
    assert jb.stats.talkspurts == 2 and jb.stats.reordered == 1
    assert jb.stats.late == 0 and jb.stats.concealed == 0
    assert indices(played) == [i for i in range(s.count) if not s.silent[i]]


def test_a_delay_spike_makes_a_packet_late_and_raises_the_target_at_once():
    s = Stream(400)
    delays = np.full(s.count, 0.03)
    delays[200] = 0.33  # one packet 300 ms late
    jb = JitterBuffer()
    played = simulate(jb, s, delays)
    assert jb.stats.late == 1 and jb.stats.concealed == 1
    assert 200 not in indices(played)
    assert jb.stats.target >= 0.29


def test_a_stall_grows_the_delay_when_the_buffer_runs_dry():
    s = Stream(400)
    delays = np.full(s.count, 0.03)
    delays[200:] += 0.06  # the path gets 60 ms slower for good
    jb = JitterBuffer()
    played = simulate(jb, s, delays)
    assert indices(played) == list(range(400))  # nothing lost: playout waited
    assert jb.stats.stalls >= 2 and jb.stats.concealed == 0
    assert jb.stats.delay <= 0.05


def test_size_is_bounded():
    jb = JitterBuffer(max_packets=20)
    results = [jb.push(i, 160 * i, b"x", 0.0) for i in range(200)]
    assert jb.buffered == 20
    assert results.count(OVERFLOW) == 180 and results.count(QUEUED) == 20
    assert jb.stats.overflow == 180 and jb.stats.discarded == 180


def test_push_outcomes_and_bad_arguments():
    jb = JitterBuffer()
    assert jb.push(10, 1600, b"a", 0.0, marker=True) == QUEUED
    assert jb.push(10, 1600, b"a", 0.001) == DUPLICATE
    assert jb.pop(0.05) == b"a"
    assert jb.push(11, 1760, b"b", 0.06) == QUEUED
    assert jb.pop(0.07) == b"b"
    assert jb.pop(0.09) is None  # dry: a stall
    assert jb.push(12, 1920, b"c", 0.095) == QUEUED
    assert jb.pop(0.11) == b"c"
    assert jb.push(11, 1760, b"b", 0.12) == DUPLICATE
    assert jb.push(9, 1440, b"z", 0.12) == LATE
    with pytest.raises(LocalProtocolError, match="seq 70000"):
        jb.push(70000, 0, b"", 0.2)
    with pytest.raises(ValueError, match="jitter buffer"):
        JitterBuffer(min_delay=0.5, max_delay=0.1)


def test_glue_feeds_the_concealer_frames_and_a_lost_mask():
    tone = (8000 * np.sin(2 * np.pi * np.arange(160 * 30) / 64)).astype(np.int16)
    codes = g711.ulaw_encode(tone)
    jbs = [JitterBuffer(min_delay=0.04) for _ in range(3)]
    plc = PacketLossConcealer(3)
    lost_rows = []
    for k in range(30):
        now = k * PTIME
        for row, jb in enumerate(jbs):
            if row == 1 and k == 12:
                continue  # leg 1 loses one packet
            payload = codes[160 * k:160 * (k + 1)].tobytes()
            jb.push(k, 160 * k, payload if not (row == 2 and k == 20) else payload[:80], now)
        block, lost = pop_block(jbs, now + 0.021, g711.ulaw_decode)
        lost_rows.append(lost)
        audio = plc.process(block, lost)
        assert audio.shape == (3, 160)
    lost_rows = np.array(lost_rows)
    # every leg waits 40 ms before its first packet plays (one tick behind); then leg 1 conceals its lost
    # packet and leg 2 its short payload, each one tick after it was due to arrive
    assert np.flatnonzero(lost_rows[:, 0]).tolist() == [0]
    assert np.flatnonzero(lost_rows[:, 1]).tolist() == [0, 13]
    assert np.flatnonzero(lost_rows[:, 2]).tolist() == [0, 21]
    assert jbs[1].stats.lost == 1 and jbs[1].stats.concealed == 1


@given(st.lists(st.tuples(st.integers(-40, 60), st.integers(-3, 3), st.booleans(), st.floats(0, 0.2),
                          st.integers(0, 2)), min_size=1, max_size=300),
       st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF))
def test_any_packet_sequence_keeps_the_counters_consistent(packets, seq0, ts0):
    # Arbitrary far-end behaviour: sequence jumps back and forth, timestamps off by whole frames, markers
    # anywhere, random delays, 0-2 pops between packets. Nothing raises and the counters add up.
    jb = JitterBuffer(max_packets=16)
    now, seq, ts = 0.0, seq0, ts0
    for dseq, dframes, marker, delay, pops in packets:
        seq = (seq + dseq) & 0xFFFF
        ts = (ts + 160 * (dseq + dframes)) & 0xFFFFFFFF
        now += 0.02
        assert jb.push(seq, ts, seq.to_bytes(2, "big"), now + delay, marker=marker) in (QUEUED, LATE, DUPLICATE,
                                                                                      OVERFLOW, STALE)
        for k in range(pops):
            jb.pop(now + 0.01 * k)
        s = jb.stats
        assert s.discarded == s.late + s.duplicates + s.overflow + s.stale
        assert s.played <= s.received and jb.buffered <= 16
        assert s.lost >= 0
        assert jb.min_delay <= s.target <= jb.max_delay
