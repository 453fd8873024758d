"""The native echo canceller against its numpy twin (pycallcenter.dsp.reference.echo), on structured signals and
on random ones (hypothesis). The two run the same float32 steps; only the dot products and the sum of |taps| add
in a different order, so outputs agree to within rounding (a sample or two by one LSB), not bit for bit."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from echo_signals import FS, PATHS, css, echo_of, hybrid, noise, rms, to_int16
from pycallcenter.dsp import echo
from pycallcenter.dsp.reference import echo as ref


def feed(ec, far, near, ticks):
    """Feed far/near through ec in ticks of the given sizes (cycled); return the output."""
    out, pos, i = [], 0, 0
    while pos < near.shape[1]:
        k = ticks[i % len(ticks)]
        out.append(ec.process(far[:, pos:pos + k], near[:, pos:pos + k]))
        pos, i = pos + k, i + 1
    return np.concatenate(out, axis=1)


def path_change(seconds, paths, cut=int(2.5 * FS)):
    """Return (far, near) int16 for one CSS far end per channel, echoed through path a until cut, b after, for
    each (a, b) in paths, with idle noise."""
    n = int(seconds * FS)
    src = css(seconds)
    near = np.array([np.concatenate([echo_of(src, a)[:cut], echo_of(src, b)[cut:]]) for a, b in paths])
    return to_int16(np.tile(src, (len(paths), 1))), to_int16(near + noise(n, -70))


def feed_both(twin, native, far, near, after_tick):
    """Feed far/near through twin and native in 160-sample ticks, calling after_tick(sample) after each; return
    both outputs."""
    outs_t, outs_n = [], []
    for i in range(0, near.shape[1], 160):
        outs_t.append(twin.process(far[:, i:i + 160], near[:, i:i + 160]))
        outs_n.append(native.process(far[:, i:i + 160], near[:, i:i + 160]))
        after_tick(i)
    return np.concatenate(outs_t, axis=1), np.concatenate(outs_n, axis=1)


def agree(a, b, twin, native):
    """Assert outputs, states and taps of twin and native agree to within rounding."""
    d = np.abs(a.astype(np.int32) - b)
    assert np.mean(d > 2) <= 0.01, f"{np.mean(d > 2):.3%} of samples differ by more than 2"
    ct, cn = twin.counters(), native.counters()
    assert ct.state == cn.state
    for wt, wn in zip(twin.windows(), native.windows()):
        np.testing.assert_array_equal(wt, wn)
    for c in range(twin.channels):
        for wt, wn in zip(twin.taps(c), native.taps(c)):
            assert np.linalg.norm(wt - wn) <= 1e-3 * max(np.linalg.norm(wt), 1e-3)
    np.testing.assert_allclose(ct.erle_db, cn.erle_db, atol=0.05, equal_nan=True)
    np.testing.assert_allclose(ct.erl_db, cn.erl_db, atol=0.05, equal_nan=True)


def _tone(n, freq, level=-12.0, reversal_every=None):
    t = np.arange(n) / FS
    ph = np.pi * ((np.arange(n) // reversal_every) % 2) if reversal_every else 0.0
    return rms(level) * np.sqrt(2) * np.cos(2 * np.pi * freq * t + ph)


def test_native_equals_twin_on_echo_double_talk_tones_and_silence():
    n = int(1.0 * FS)
    src = css(1.0)
    paths = [hybrid(d, disp, erl, seed=i) for i, ((_, d, disp), erl) in enumerate(zip(PATHS, (6, 12, 20, 30, 9)))]
    near = [echo_of(src, h) for h in paths]
    near[1][FS // 2:] += css(0.5, level=-20, seed=3)  # double talk
    near[2] = near[2] + _tone(n, 2100.0, reversal_every=2400)  # answer tone with reversals on the near side
    near[3][: FS // 4] = 0.0  # silence, then echo
    far = np.tile(to_int16(src), (5, 1))
    far[4] = 0  # no far end: nothing to cancel
    near = to_int16(np.array(near) + noise(n, -70))
    twin, native = ref.EchoCanceller(5, 64), echo.EchoCanceller(5, 64)
    native.disable(4)
    twin.disable(4)
    a, b = feed(twin, far, near, [160]), feed(native, far, near, [160])
    assert np.abs(a.astype(np.int32) - b).max() <= 2
    agree(a, b, twin, native)
    states = twin.counters().state
    assert states[2] == "tone_disabled" and states[4] == "disabled" and twin.counters().erle_db[0] > 10.0


@settings(max_examples=15, deadline=None)
@given(data=st.data(), channels=st.integers(1, 3), tail=st.sampled_from([16, 32]),
       scale=st.sampled_from([0, 30, 3000, 30000]))
def test_native_equals_twin_on_random_audio(data, channels, tail, scale):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    n = data.draw(st.integers(1, 800))
    far = np.clip(rng.normal(0, scale + 1e-9, (channels, n)), -32768, 32767)
    if data.draw(st.booleans()):  # the near side carries an echo of the far side, sometimes with near talk
        h = hybrid(rng.uniform(0, tail / 2), 2.0, rng.uniform(6, 30), seed=int(rng.integers(1000)))
        near = np.array([echo_of(f, h) for f in far]) + rng.normal(0, scale / 10 + 1, (channels, n)) * rng.integers(0, 2)
    else:
        near = rng.normal(0, scale + 1e-9, (channels, n))
    far, near = to_int16(far), to_int16(near)
    params = data.draw(st.sampled_from([{}, {"nlp": False}, {"cng": False, "alpha": 0.0}, {"mu": 1.0}]))
    twin, native = ref.EchoCanceller(channels, tail, **params), echo.EchoCanceller(channels, tail, **params)
    ticks = data.draw(st.lists(st.integers(1, 400), min_size=1, max_size=6))
    agree(feed(twin, far, near, ticks), feed(native, far, near, ticks), twin, native)


def test_native_layout_matches_twin():
    from pycallcenter._native import echo as native

    lay = native.layout()
    assert lay == {"GAIN_EVERY": ref.GAIN_EVERY, "MAX_BLOCK": ref.MAX_BLOCK, "BLOCK": ref.BLOCK,
                   "COPY_BLOCKS": ref.COPY_BLOCKS, "TONE_BLOCK": ref.TONE_BLOCK, "NOISE_SUB": ref.NOISE_SUB,
                   "NOISE_SUBS": ref.NOISE_SUBS, "NOISE_WARMUP": ref.NOISE_WARMUP,
                   "TONE_HOLD_BLOCKS": ref.TONE_HOLD_BLOCKS, "V21_BLOCKS": ref.V21_BLOCKS,
                   "RELEASE_BLOCKS": ref.RELEASE_BLOCKS, "BYPASS_RESET_BLOCKS": ref.BYPASS_RESET_BLOCKS,
                   "SETTLE_BLOCKS": ref.SETTLE_BLOCKS, "WINDOW_BLOCKS": ref.WINDOW_BLOCKS,
                   "WINDOW_BEFORE": ref.WINDOW_BEFORE, "WINDOW_AFTER": ref.WINDOW_AFTER, "WINDOW_ROUND": ref.WINDOW_ROUND,
                   "RECORD": ref.RECORD, "REPLAY_RATE": ref.REPLAY_RATE}


@pytest.mark.parametrize("tail_ms", [16, 32, 64, 128])
def test_every_tail_builds_in_both(tail_ms):
    far = to_int16(css(0.1))[None]
    near = to_int16(echo_of(far[0], hybrid(2.0, 3.0, 10.0)))[None]
    a = ref.EchoCanceller(1, tail_ms).process(far, near)
    b = echo.EchoCanceller(1, tail_ms).process(far, near)
    assert np.abs(a.astype(np.int32) - b).max() <= 1


def test_native_equals_twin_through_sleep_and_wake():
    """A line without echo sleeps after sleep_after_s of far-end talk and looks again every probe_every_s."""
    n = int(0.9 * FS)
    far = to_int16(np.tile(css(0.9), (2, 1)))
    near = np.array([noise(n, -40, seed=1), echo_of(far[1], hybrid(3.0, 4.0, 12.0))])
    near = to_int16(near)
    params = {"sleep_after_s": 0.2, "probe_every_s": 0.25}
    twin, native = ref.EchoCanceller(2, 16, **params), echo.EchoCanceller(2, 16, **params)
    states = []
    outs_t, outs_n = [], []
    for i in range(0, n, 80):
        outs_t.append(twin.process(far[:, i:i + 80], near[:, i:i + 80]))
        outs_n.append(native.process(far[:, i:i + 80], near[:, i:i + 80]))
        assert twin.counters().state == native.counters().state
        states.append(native.counters().state)
    a, b = np.concatenate(outs_t, axis=1), np.concatenate(outs_n, axis=1)
    agree(a, b, twin, native)
    seq = [s[0] for s in states]
    first = seq.index("no_echo")
    assert "no_echo" not in (s[1] for s in states)  # the channel with echo never sleeps
    assert any(s != "no_echo" for s in seq[first:]) and seq[-1] in ("no_echo", "converging", "idle")
    asleep = [i for i in range(1, len(seq)) if seq[i] == seq[i - 1] == "no_echo"]
    assert asleep
    for i in asleep:  # asleep the whole tick: the input passes unchanged
        assert np.array_equal(b[0, i * 80:(i + 1) * 80], near[0, i * 80:(i + 1) * 80])


def test_native_equals_twin_through_the_steady_state():
    """Channels settle once converged (adaptation frozen), a path change at 2.5 s ends it, they settle again; twin
    and kernel agree on the output, the taps and when each channel is settled."""
    cut = int(2.5 * FS)
    far, near = path_change(4.0, [(hybrid(4.0, 3.0, 12.0, seed=1), hybrid(9.0, 5.0, 9.0, seed=2)),
                                  (hybrid(1.0, 2.0, 20.0, seed=3), hybrid(1.0, 2.0, 20.0, seed=3)),  # no change
                                  (hybrid(20.0, 6.0, 6.0, seed=4), hybrid(2.0, 3.0, 15.0, seed=5))], cut)
    twin, native = ref.EchoCanceller(3, 32), echo.EchoCanceller(3, 32)
    settled = []

    def check(i):
        settled.append(native.counters().settled.copy())
        assert np.array_equal(twin.counters().settled, settled[-1]), i

    agree(*feed_both(twin, native, far, near, check), twin, native)
    settled = np.array(settled)
    tick = cut // 160
    print("settled before the change", settled[:tick].any(axis=0), "after", settled[tick + 2:].any(axis=0))
    assert settled[tick - 1, [0, 2]].any()  # settled when the path changes
    assert not settled[tick + 1, [0, 2]].any()  # the changed paths leave within a tick
    assert settled[tick + 2:].any(axis=0).any()  # and settle again


def test_native_equals_twin_through_the_active_window():
    """Adapting all the time (no steady state), each channel takes its active window once converged, gives the
    whole tail back when its path moves out of it at 1.5 s, and takes a window around the new path; twin and
    kernel agree on the output, the taps and every channel's window at every tick."""
    cut = int(1.5 * FS)
    far, near = path_change(3.0, [(hybrid(2.0, 3.0, 12.0, seed=1), hybrid(20.0, 4.0, 9.0, seed=2)),
                                  (hybrid(10.0, 4.0, 20.0, seed=3), hybrid(10.0, 4.0, 20.0, seed=3)),  # no change
                                  (hybrid(22.0, 6.0, 6.0, seed=4), hybrid(1.0, 3.0, 15.0, seed=5))], cut)
    twin, native = ref.EchoCanceller(3, 32, settle=False), echo.EchoCanceller(3, 32, settle=False)
    widths = []

    def check(i):
        lo, hi = native.windows()
        for wt, wn in zip(twin.windows(), (lo, hi)):
            np.testing.assert_array_equal(wt, wn, err_msg=f"sample {i}")
        widths.append(hi - lo)

    agree(*feed_both(twin, native, far, near, check), twin, native)
    widths, tick, taps = np.array(widths), cut // 160, 32 * FS // 1000
    print("window widths before the change", widths[tick - 1], "after", widths[tick + 3], "at the end", widths[-1])
    assert (widths[tick - 1] <= taps // 2).all()  # every channel found its window
    assert (widths[tick:tick + 10, [0, 2]] == taps).any(axis=0).all()  # the moved paths got the whole tail back
    assert widths[tick:, 1].max() <= taps // 2  # the path that stayed kept its window
    assert (widths[-1] <= taps // 2).all()  # and the moved ones found their new one


def test_channels_asleep_together_look_again_in_different_ticks():
    """Eight lines without echo, calls started together, fall asleep in the same tick; each sleep counts its
    far-end activity from a share of up to half of probe_every of its own, so they wake spread over ticks, not
    all at once (each look costs the whole tail for sleep_after_s). Twin and kernel agree."""
    n = int(1.0 * FS)
    far = to_int16(np.tile(css(1.0), (8, 1)))
    near = to_int16(np.array([noise(n, -40, seed=c) for c in range(8)]))
    params = {"sleep_after_s": 0.1, "probe_every_s": 0.5}
    twin, native = ref.EchoCanceller(8, 16, **params), echo.EchoCanceller(8, 16, **params)
    states = []

    def check(i):
        assert twin.counters().state == native.counters().state, i
        states.append(native.counters().state)

    agree(*feed_both(twin, native, far, near, check), twin, native)
    asleep = np.array([[s == "no_echo" for s in row] for row in states])
    fell = asleep.argmax(axis=0)
    assert (fell == fell[0]).all() and asleep[fell[0]].all()  # asleep together
    woke = np.array([fell[c] + asleep[fell[c]:, c].argmin() for c in range(8)])
    print("fell asleep at tick", fell[0], "woke at ticks", woke)
    assert (woke > fell).all() and len(set(woke)) >= 5


def test_native_equals_twin_through_a_placed_window():
    """64 ms tail, adapting all the time, place=True: the bulk-delay estimate places each echo's window before the
    first copy (the background held until then), a line whose near end follows the far end's envelope but not its waveform
    (no linear echo: the estimate is sure and wrong) gives the whole tail back, a line without echo never gets a
    window, and a path that moves out of its window at 1.5 s gets the whole tail back; twin and kernel agree on
    the output, the taps and every channel's window at every tick."""
    n, cut = int(2.5 * FS), int(1.5 * FS)
    rng = np.random.default_rng(7)
    src = rng.standard_normal(n) * rms(-15)  # white: CSS's and speech's envelopes often leave the estimate unsure
    # the far end 30 ms later with random signs: the same energy envelope, no linear echo
    other = np.concatenate([np.zeros(240), src[:-240]]) * rng.choice([-0.25, 0.25], n)
    near = np.array([np.concatenate([np.zeros(160), src[:-160] / 4.0]),  # a bare 20 ms delay, 12 dB down
                     echo_of(src, hybrid(45.0, 6.0, 9.0, seed=2)),
                     other,
                     np.zeros(n),
                     np.concatenate([echo_of(src, hybrid(4.0, 4.0, 12.0, seed=3))[:cut],
                                     echo_of(src, hybrid(50.0, 4.0, 12.0, seed=4))[cut:]])])
    far, near = to_int16(np.tile(src, (len(near), 1))), to_int16(near + noise(n, -70))
    params = {"settle": False, "place": True}
    twin, native = ref.EchoCanceller(len(near), 64, **params), echo.EchoCanceller(len(near), 64, **params)
    widths, copied = [], []

    def check(i):
        lo, hi = native.windows()
        for wt, wn in zip(twin.windows(), (lo, hi)):
            np.testing.assert_array_equal(wt, wn, err_msg=f"sample {i}")
        widths.append(hi - lo)
        copied.append([bool(np.any(native.taps(c)[0])) for c in range(len(near))])

    agree(*feed_both(twin, native, far, near, check), twin, native)
    widths, copied, tick, taps = np.array(widths), np.array(copied), cut // 160, 512
    first_copy = copied.argmax(axis=0)
    print("first copy at tick", first_copy, "widths at it", widths[first_copy, range(len(near))])
    for c in (0, 1, 4):  # placed before the first copy
        assert copied[:, c].any() and widths[first_copy[c] - 1, c] <= taps // 2, c
    assert (widths[:, 2] < taps).any() and widths[-1, 2] == taps  # placed, then given back
    assert (widths[:, 3] == taps).all()  # no echo: no window
    assert (widths[tick:tick + 10, 4] == taps).any()  # the moved path got the whole tail back
    assert widths[-1, 4] <= taps // 2 and widths[-1, 0] <= taps // 2


def test_native_equals_twin_replaying_an_unsure_hold():
    """place=True on CSS through dispersive hybrids: envelopes that leave the bulk-delay estimate unsure at the end
    of the hold, so the whole tail adapts and first learns the hold's record (replayed a share each call, in ticks
    of uneven sizes); twin and kernel agree on the output, taps, windows and states, and the twin did replay."""
    n = int(1.5 * FS)
    src = css(1.5, seed=5)
    paths = [hybrid(16.0, 12.0, 6.0, seed=1), hybrid(8.0, 6.0, 12.0, seed=2), hybrid(40.0, 8.0, 9.0, seed=3)]
    far = to_int16(np.tile(src, (len(paths), 1)))
    near = to_int16(np.array([echo_of(src, h) for h in paths]) + noise(n, -70))
    twin, native = ref.EchoCanceller(len(paths), 64, place=True), echo.EchoCanceller(len(paths), 64, place=True)
    ticks = [160, 37, 400, 1]
    agree(feed(twin, far, near, ticks), feed(native, far, near, ticks), twin, native)
    replayed = twin.rp_at
    print("samples replayed per channel", replayed)
    assert (replayed > 0).any() and (twin.rp_at == twin.rp_todo).all()
