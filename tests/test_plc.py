"""Packet-loss concealment (pycallcenter.dsp.plc): kernel vs numpy twin, Appendix I behaviour, bad input."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pycallcenter.dsp import plc
from pycallcenter.dsp.reference import plc as ref

FRAME, DELAY = ref.FRAME, ref.DELAY


def tone(period, seconds=1.0, amp=8000):
    """Return an int16 periodic signal (fundamental plus a second harmonic) of the given period in samples."""
    t = np.arange(int(8000 * seconds))
    return (amp * np.sin(2 * np.pi * t / period) + amp / 3 * np.sin(4 * np.pi * t / period + 1)).astype(np.int16)


def run(concealer, x, lost_frames):
    """Feed x (one channel) 10 ms at a time with the per-frame mask; return the output with the delay removed."""
    out = [concealer.process(x[i * FRAME:(i + 1) * FRAME], np.array([lost_frames[i]]))
           for i in range(x.size // FRAME)]
    return np.concatenate(out + [concealer.process(np.zeros(FRAME, np.int16), np.array([False]))])[DELAY:x.size + DELAY]


def snr(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    return 10 * np.log10((a * a).sum() / max(((a - b) ** 2).sum(), 1e-9))


# ---- kernel vs twin ----------------------------------------------------------------------------------------

blocks = st.integers(1, 3).flatmap(lambda ch: st.tuples(
    st.just(ch),
    st.lists(st.tuples(st.sampled_from([1, 2, 4]), st.sampled_from([1, 2])), min_size=1, max_size=12),
    st.randoms(use_true_random=False),
))


@given(blocks)
def test_kernel_matches_twin_on_random_blocks_and_losses(spec):
    channels, calls, rnd = spec
    rng = np.random.default_rng(rnd.getrandbits(32))
    native, twin = plc.PacketLossConcealer(channels), ref.PacketLossConcealer(channels)
    for packets, frames_per_packet in calls:
        n = packets * frames_per_packet * FRAME
        kind = rnd.choice(["noise", "loud", "tone", "zero"])
        if kind == "noise":
            x = rng.integers(-3000, 3000, (channels, n)).astype(np.int16)
        elif kind == "loud":
            x = rng.choice(np.array([-32768, 32767, 0], np.int16), (channels, n))
        elif kind == "tone":
            x = np.tile(tone(rnd.randint(30, 140), n / 8000), (channels, 1))
        else:
            x = np.zeros((channels, n), np.int16)
        lost = rng.random((channels, packets)) < rnd.choice([0.0, 0.3, 0.7, 1.0])
        if rnd.random() < 0.1:
            c = rnd.randrange(channels)
            native.reset(c)
            twin.reset(c)
        np.testing.assert_array_equal(native.process(x, lost), twin.process(x, lost))


@given(hnp.arrays(np.int16, st.integers(1, 6).map(lambda k: k * FRAME * 5)),
       st.lists(st.booleans(), min_size=5, max_size=5))
def test_kernel_matches_twin_on_arbitrary_samples(x, pattern):
    lost = np.repeat(np.array(pattern), x.size // FRAME // 5)
    np.testing.assert_array_equal(run(plc.PacketLossConcealer(1), x, lost), run(ref.PacketLossConcealer(1), x, lost))


# ---- behaviour ---------------------------------------------------------------------------------------------

def test_received_audio_passes_through_delayed():
    x = np.random.default_rng(1).integers(-20000, 20000, (3, 1600)).astype(np.int16)
    c = plc.PacketLossConcealer(3)
    y = np.concatenate([c.process(x[:, :800], np.zeros(3, bool)), c.process(x[:, 800:], np.zeros(3, bool))], axis=1)
    assert not y[:, :DELAY].any()
    np.testing.assert_array_equal(y[:, DELAY:], x[:, :-DELAY])


@pytest.mark.parametrize("period", [45, 57, 80, 110])
def test_pitch_found_as_the_period_or_a_multiple(period):
    p = ref.find_pitch(tone(period)[1000:1000 + ref.HISTORY])
    assert p % period in (0, 1, period - 1) and ref.PITCH_MIN <= p <= ref.PITCH_MAX


@pytest.mark.parametrize("period", [45, 80, 110])
def test_first_10ms_of_a_loss_continue_a_periodic_signal(period):
    x = tone(period)
    lost = np.zeros(x.size // FRAME, bool)
    lost[40] = True
    y = run(plc.PacketLossConcealer(1), x, lost)
    seg = slice(40 * FRAME, 41 * FRAME)
    assert snr(x[seg], y[seg]) > 20
    # zero-filling the same frame gives 0 dB
    assert snr(x[seg], np.zeros(FRAME)) == pytest.approx(0)


def test_loss_fades_20_percent_per_10ms_after_the_first_and_is_silent_after_60ms():
    x = tone(80, 2.0)  # 80-sample period: every frame of the loop has the same energy
    lost = np.zeros(x.size // FRAME, bool)
    lost[50:60] = True  # 100 ms
    y = run(plc.PacketLossConcealer(1), x, lost).astype(np.float64)
    peak = [np.abs(y[f * FRAME:(f + 1) * FRAME]).max() for f in range(50, 60)]
    full = np.abs(x).max()
    assert peak[0] == pytest.approx(full, rel=0.02)
    # frame k (k >= 1) starts at gain 1 - 0.2 (k - 1): its peak lies between the gains at its ends
    for k in range(1, 6):
        assert full * (0.8 - 0.2 * (k - 1)) - 2 <= peak[k] <= full * (1 - 0.2 * (k - 1)) + 2, k
    assert peak[6:] == [0, 0, 0, 0]
    # the first good frame fades the real signal back in from silence, reaching it by the frame's end
    back = y[60 * FRAME:61 * FRAME]
    assert abs(back[0]) < abs(x[60 * FRAME]) / 4 + 2
    np.testing.assert_array_equal(y[61 * FRAME:62 * FRAME], x[61 * FRAME:62 * FRAME])


def test_loop_grows_to_two_then_three_periods():
    # The three periods before the loss have levels 1/4, 1/2 and 1. Appendix I repeats the last period for the
    # first 10 ms, then loops over the last two, then the last three, keeping the phase: with an 80-sample
    # period the second lost frame replays the half-level period and the third the quarter-level one.
    period, start = 80, 3440
    x = tone(period, 1.0)
    x[start - 3 * period:start - 2 * period] //= 4
    x[start - 2 * period:start - period] //= 2
    full = np.abs(x[start - period:start]).max()
    st = ref.ChannelState()
    for f in range(start // FRAME):
        st.received(x[f * FRAME:(f + 1) * FRAME])
    peaks = []
    for _ in range(3):
        st.lost()
        peaks.append(np.abs(st.hist[-FRAME + period // 4:]).max() / full)  # past the cross-fade
    assert st.blen == 3 * period
    assert peaks[0] > 0.9
    assert 0.5 * 0.8 - 0.02 < peaks[1] < 0.5 + 0.02
    assert 0.25 * 0.6 - 0.02 < peaks[2] < 0.25 * 0.8 + 0.02


def test_reset_forgets_one_channel():
    x = np.tile(tone(60, 0.2), (2, 1))
    c = plc.PacketLossConcealer(2)
    c.process(x, np.zeros(2, bool))
    c.reset(1)
    y = c.process(np.zeros((2, 160), np.int16), np.ones(2, bool))
    assert y[0].any() and not y[1].any()


def test_per_packet_mask_conceals_only_the_lost_packets():
    x = np.tile(tone(70, 0.12), (2, 1))[:, :960]  # 6 packets of 20 ms per row
    mask = np.array([[False, True, False, False, False, False], [False] * 6])
    y = plc.PacketLossConcealer(2).process(x, mask)
    np.testing.assert_array_equal(y[1, DELAY:], x[1, :-DELAY])
    assert not np.array_equal(y[0, 160 + DELAY:320 + DELAY], x[0, 160:320])


# ---- bad input ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("block, lost, exc, words", [
    (np.zeros((2, 150), np.int16), np.zeros(2, bool), ValueError, "multiple of 80"),
    (np.zeros((2, 160), np.float32), np.zeros(2, bool), TypeError, "dtype int16"),
    (np.zeros((3, 160), np.int16), np.zeros(3, bool), ValueError, "expected 2 channels"),
    (np.zeros((2, 160), np.int16), np.zeros(3, bool), ValueError, "lost: expected shape (2,)"),
    (np.zeros((2, 160), np.int16), np.zeros((2, 3), bool), ValueError, "3 frames per row"),
    (np.zeros((2, 160), np.int16), np.zeros(2, np.uint8), TypeError, "bool mask"),
])
def test_bad_input_is_named(block, lost, exc, words):
    with pytest.raises(exc, match=words.replace("(", r"\(").replace(")", r"\)")):
        plc.PacketLossConcealer(2).process(block, lost)
