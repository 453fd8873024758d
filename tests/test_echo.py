"""Line echo canceller (pycallcenter.dsp.echo) in the spirit of ITU-T G.168: synthetic hybrids with different
dispersion and delays up to most of the tail, ERL 6-30 dB, composite source and espeak-ng speech, double talk,
echo-path change, comfort noise, the tone disabler, and the API's checks.

Targets with default settings, every path: ERLE >= 30 dB in steady state (far-end single talk, NLP included),
20 dB within 1 s, near speech kept through double talk (output vs clean near >= 15 dB SNR), output never
louder than input. Figures for docs/echo.md are printed with -s.
"""
import numpy as np
import pytest

from echo_signals import (PATHS, FS, convergence_s, css, echo_of, erle_db, have_speech_tools, hybrid, level_db,
                          noise, rms, snr_db, speech, to_int16, windows)
from pycallcenter.dsp.echo import EchoCanceller

TICK = 160
ERLS = (6, 12, 20, 30)
NEAR_FLOOR = -80.0  # idle-channel noise on the near side (dBm0)


def run(ec, far, near, tick=TICK):
    """Feed (channels, n) int16 far/near tick by tick; return the output (channels, n)."""
    out = np.empty_like(near)
    for i in range(0, near.shape[1], tick):
        out[:, i:i + tick] = ec.process(far[:, i:i + tick], near[:, i:i + tick])
    return out


def scene(src, paths, erls, tail_ms=64):
    """Return (far, echo, near) (channels, n) for one far signal through every (path, ERL) pair."""
    hs = [hybrid(d, disp, erl, seed=i) for i, ((_, d, disp), erl) in enumerate(zip(paths, erls))]
    assert all(len(h) <= tail_ms * FS // 1000 for h in hs)
    echo = np.array([at_erl(src, echo_of(src, h), erl) for h, erl in zip(hs, erls)])
    near = to_int16(echo + noise(len(src), NEAR_FLOOR))
    return np.tile(to_int16(src), (len(hs), 1)), echo, near


def at_erl(src, echo, erl):
    """Return echo scaled so that the loss from src is exactly erl dB for this signal (G.168 defines ERL so)."""
    return echo * 10.0 ** ((level_db(src) - erl - level_db(echo)) / 20.0)


def never_louder(near, out, ms=100, tolerance_db=0.5):
    """Return the worst (output - input) power difference in dB over `ms` windows where the input is audible."""
    a, b = windows(near, ms), windows(out, ms)
    on = np.mean(a**2, axis=1) > rms(-60.0) ** 2
    if not on.any():
        return -np.inf
    return float(np.max(10 * np.log10(np.maximum(np.mean(b[on] ** 2, axis=1), 1e-9) / np.mean(a[on] ** 2, axis=1))))


def all_pairs():
    return [p for p in PATHS for _ in ERLS], [e for _ in PATHS for e in ERLS]


@pytest.mark.parametrize("params", [{}, {"settle": False}, {"settle": False, "window": False}],
                         ids=["default", "adapting_in_window", "adapting_whole_tail"])
def test_css_every_path_and_erl_meets_the_targets(params):
    """With the steady state and the active window (the defaults); without the steady state (every canceller
    adapting on every sample, over its window once found); and over the whole tail all the time."""
    paths, erls = all_pairs()
    far, echo, near = scene(css(3.0), paths, erls)
    ec = EchoCanceller(len(paths), **params)
    out = run(ec, far, near)
    if params.get("window", True):  # every path found its window: at most half the tail
        lo, hi = ec.windows()
        assert (hi - lo <= 256).all(), hi - lo
    for i, (p, erl) in enumerate(zip(paths, erls)):
        steady, conv = erle_db(echo[i], out[i], 2.0), convergence_s(echo[i], out[i])
        louder = never_louder(near[i], out[i])
        print(f"CSS {p[0]:12s} ERL {erl:2d}: ERLE {steady:5.1f} dB, 20 dB after {conv:.1f} s, worst +{louder:.1f} dB")
        assert steady >= 30.0, (p, erl)
        assert conv <= 1.0, (p, erl)
        assert louder <= 0.5, (p, erl)


@pytest.mark.skipif(have_speech_tools() is not None, reason="espeak-ng/sox missing (make test installs them)")
def test_speech_every_path_steady_state():
    paths, erls = all_pairs()
    far, echo, near = scene(speech(5.0), paths, erls)
    out = run(EchoCanceller(len(paths)), far, near)
    for i, (p, erl) in enumerate(zip(paths, erls)):
        steady = erle_db(echo[i], out[i], 3.0)
        # 20 dB in every 100 ms window whose echo is at least -40 dBm0; with the -50 dBm0 floor used for CSS a few
        # quiet windows at 6 dB ERL take up to 1.6 s (docs/echo.md gives both figures)
        conv, strict = convergence_s(echo[i], out[i], floor_dbm0=-40.0), convergence_s(echo[i], out[i])
        print(f"speech {p[0]:12s} ERL {erl:2d}: ERLE {steady:5.1f} dB, 20 dB after {conv:.1f} s "
              f"({strict:.1f} s counting echo down to -50 dBm0)")
        assert steady >= 30.0, (p, erl)
        assert conv <= 1.0 and strict <= 1.0, (p, erl)
        assert never_louder(near[i], out[i]) <= 0.5, (p, erl)


@pytest.mark.skipif(have_speech_tools() is not None, reason="espeak-ng/sox missing (make test installs them)")
def test_speech_converges_within_a_second_on_other_hybrids_of_each_shape():
    """Thirty more hybrids (each path shape at 6, 9 and 12 dB ERL, two seeds): with the IPNLMS proportionality
    at -0.5 (the default before) nine of them took 0.9-1.3 s to 20 dB counting echo down to -50 dBm0, the gaps the
    soak's echo sweep showed on speech; at 0 every one converges within 1 s."""
    src = speech(5.0)
    rows = [(p, erl, seed) for p in PATHS for erl in (6, 9, 12) for seed in (100, 200)]
    echo = np.array([at_erl(src, echo_of(src, hybrid(d, disp, erl, seed=seed)), erl) for (_, d, disp), erl, seed in rows])
    near = to_int16(echo + noise(len(src), NEAR_FLOOR))
    out = run(EchoCanceller(len(rows)), np.tile(to_int16(src), (len(rows), 1)), near)
    for i, (p, erl, seed) in enumerate(rows):
        conv = convergence_s(echo[i], out[i])
        print(f"speech {p[0]:12s} ERL {erl:2d} seed {seed}: 20 dB after {conv:.1f} s")
        assert conv <= 1.0, (p, erl, seed)
        assert erle_db(echo[i], out[i], 3.0) >= 30.0, (p, erl, seed)
        assert never_louder(near[i], out[i]) <= 0.5, (p, erl, seed)


def test_an_unsure_hold_replayed_keeps_speech_within_a_second():
    """The two hybrids of the soak sweep on which the placed window's hold lost the loud start of speech (their
    bulk-delay estimate stays unsure, so the whole tail adapts after the hold): 1.3 and 1.5 s to 20 dB without the
    hold's replay, within 1 s with it (design step 10); the windows read the whole tail after the hold."""
    src = speech(6.0, seed=2)  # the sweep's far end and draws; #23 and #28 are the two
    rng = np.random.default_rng(11)
    specs = [(rng.uniform(0, 52), rng.uniform(2, 12), rng.uniform(6, 30), int(rng.integers(10**6))) for _ in range(48)]
    rows = [23, 28]  # on the same channels (each channel's comfort noise has its own seed), the others silent
    echo = np.zeros((29, len(src)))
    for c in rows:
        d, disp, erl, seed = specs[c]
        echo[c] = at_erl(src, echo_of(src, hybrid(d, disp, erl, seed=seed)), erl)
    near = to_int16(echo + noise(len(src), NEAR_FLOOR))
    far = np.zeros(near.shape, np.int16)
    far[rows] = to_int16(src)
    ec = EchoCanceller(29)
    out = run(ec, far[:, :8 * TICK], near[:, :8 * TICK])  # the hold ends in tick 6 or 7
    assert (ec.windows()[1][rows] - ec.windows()[0][rows] == 512).all()  # unsure: the whole tail, none placed
    out = np.concatenate([out, run(ec, far[:, 8 * TICK:], near[:, 8 * TICK:])], axis=1)
    for c in rows:
        d, disp, erl, _ = specs[c]
        conv = convergence_s(echo[c], out[c], floor_dbm0=-40.0)
        print(f"speech, unsure hold replayed (delay {d:.1f} ms, dispersion {disp:.1f} ms, ERL {erl:.1f} dB): "
              f"20 dB after {conv:.1f} s")
        assert conv <= 1.0, (d, disp, erl)


@pytest.mark.parametrize("tail_ms,delay_ms", [(32, 20.0), (128, 110.0)])
def test_other_tails_reach_a_path_near_their_end(tail_ms, delay_ms):
    far, echo, near = scene(css(3.0), [("x", delay_ms, 8.0)] * 2, [6, 20], tail_ms)
    out = run(EchoCanceller(2, tail_ms=tail_ms), far, near)
    for i in range(2):
        assert erle_db(echo[i], out[i], 2.0) >= 30.0
        assert convergence_s(echo[i], out[i]) <= 1.0


@pytest.mark.parametrize("source", ["white", "css"])
@pytest.mark.parametrize("tail_ms", [32, 64, 128])
def test_pure_delays_across_the_tail(tail_ms, source):
    """A bare delay (one tap, 12 dB loss) every 2 ms from 0 to 85% of the tail. The linear output once stood for the
    near background until the first copy, so an echo the background filter needed more than 32 ms to find (8-20 ms
    delays in a 64 ms tail) kept every block 'not over the noise' and was never cancelled."""
    n = tail_ms * FS // 1000
    delays = np.arange(0, int(0.85 * n) + 1, 16)
    src = noise(3 * FS, -15.0, seed=tail_ms) if source == "white" else css(3.0, seed=tail_ms)
    echo = np.array([np.concatenate([np.zeros(d), src[: len(src) - d]]) / 4.0 for d in delays])
    near = to_int16(echo + noise(len(src), NEAR_FLOOR))
    out = run(EchoCanceller(len(delays), tail_ms=tail_ms), np.tile(to_int16(src), (len(delays), 1)), near)
    steady = np.array([erle_db(echo[i], out[i], 2.0) for i in range(len(delays))])
    worst = int(np.argmin(steady))
    print(f"pure delays, {source}, {tail_ms} ms tail: ERLE min {steady[worst]:.1f} dB (delay {delays[worst]} samples)")
    assert steady.min() >= 30.0, dict(zip(delays.tolist(), steady.round(1).tolist()))


def test_double_talk_keeps_the_near_speech():
    """2 s of far-end single talk, then 3 s of near-end speech over continuing far-end speech."""
    paths, erls = all_pairs()
    n = 5 * FS
    src = css(5.0)
    far, echo, _ = scene(src, paths, erls)
    talker = np.zeros(n)
    talker[2 * FS:] = css(3.0, level=-18.0, seed=7)[: n - 2 * FS] * np.where(
        (np.arange(n - 2 * FS) // 2400) % 3 == 2, 0.0, 1.0)  # talk spurts with pauses
    near = to_int16(echo + talker + noise(n, NEAR_FLOOR))
    out = run(EchoCanceller(len(paths)), far, near)
    for i, (p, erl) in enumerate(zip(paths, erls)):
        dt = slice(2 * FS, n)
        snr = snr_db(talker[dt], out[i, dt])
        print(f"double talk {p[0]:12s} ERL {erl:2d}: near speech SNR {snr:5.1f} dB")
        assert snr >= 15.0, (p, erl)


@pytest.mark.parametrize("params", [{}, {"settle": False}], ids=["default", "adapting_in_window"])
def test_echo_path_change_mid_call(params):
    """At 2.5 s every channel's hybrid changes to another path; the canceller follows, never louder. Adapting
    (no steady state), each has its active window when the path moves, mostly out of it."""
    paths, erls = all_pairs()
    n = 5 * FS
    src = css(5.0)
    far, echo1, _ = scene(src, paths, erls)
    hs2 = [hybrid(d, disp, erl, seed=50 + i) for i, ((_, d, disp), erl) in
           enumerate(zip(paths[::-1], erls))]
    echo2 = np.array([echo_of(src, h) for h in hs2])
    cut = int(2.5 * FS)
    echo = np.concatenate([echo1[:, :cut], echo2[:, cut:]], axis=1)
    near = to_int16(echo + noise(n, NEAR_FLOOR))
    ec = EchoCanceller(len(paths), **params)
    out = run(ec, far[:, :cut], near[:, :cut])
    if params:
        lo, hi = ec.windows()
        assert (hi - lo <= 256).all(), hi - lo
    out = np.concatenate([out, run(ec, far[:, cut:], near[:, cut:])], axis=1)
    for i, (p, erl) in enumerate(zip(paths, erls)):
        after, conv = erle_db(echo[i], out[i], 4.0), convergence_s(echo[i, cut:], out[i, cut:])
        louder = never_louder(near[i], out[i])
        print(f"path change {p[0]:12s} ERL {erl:2d}: ERLE {after:5.1f} dB, 20 dB after {conv:.1f} s, "
              f"worst +{louder:.1f} dB")
        assert after >= 30.0, (p, erl)
        assert conv <= 1.0, (p, erl)
        assert louder <= 0.5, (p, erl)


def test_comfort_noise_matches_the_near_background():
    bg = -55.0
    far, echo, _ = scene(css(4.0), PATHS[:3], [6, 12, 20])
    near = to_int16(echo + noise(far.shape[1], bg, seed=3))
    ec = EchoCanceller(3)
    out = run(ec, far, near)
    for i in range(3):
        tail = out[i, 2 * FS:]
        level = level_db(tail)
        print(f"comfort noise: background {bg} dBm0, output {level:.1f} dBm0")
        assert abs(level - bg) <= 3.0
        assert never_louder(near[i], out[i]) <= 0.5


def _tone(seconds, freq=2100.0, reversals_ms=None, level=-12.0):
    t = np.arange(int(seconds * FS)) / FS
    phase = np.zeros_like(t)
    if reversals_ms:
        phase = np.pi * ((t * 1000 // reversals_ms) % 2)
    return rms(level) * np.sqrt(2) * np.cos(2 * np.pi * freq * t + phase)


def _v21_flags(seconds, level=-12.0):
    bits = np.resize([0, 1, 1, 1, 1, 1, 1, 0], int(seconds * 300) + 1)
    per_sample = bits[(np.arange(int(seconds * FS)) * 300) // FS]
    freq = np.where(per_sample == 1, 1650.0, 1850.0)  # V.21 channel 2: mark 1650 Hz, space 1850 Hz
    return rms(level) * np.sqrt(2) * np.cos(np.cumsum(2 * np.pi * freq / FS))


@pytest.mark.parametrize("where", ["near", "far"])
def test_answer_tone_with_phase_reversals_disables_and_quiet_releases(where):
    tone = np.concatenate([_tone(1.5, 2100.0, reversals_ms=450), np.zeros(int(0.5 * FS))])
    src = css(2.0, seed=4) * 0.0
    x = to_int16(tone if where == "far" else src)
    y = to_int16(tone if where == "near" else echo_of(tone, hybrid(4.0, 5.0, 10.0)))
    ec = EchoCanceller(1)
    states, outs = [], []
    for i in range(0, len(x), TICK):
        outs.append(ec.process(x[i:i + TICK], y[i:i + TICK]))
        states.append(ec.counters().state[0])
    out = np.concatenate(outs)
    first = states.index("tone_disabled")
    assert 0.45 <= (first + 1) * TICK / FS <= 0.75  # seen at the end of a tick, after the reversal at 450 ms
    assert all(s == "tone_disabled" for s in states[first + 1: int(1.5 * FS / TICK)])
    assert np.array_equal(out[(first + 1) * TICK: int(1.5 * FS)], y[(first + 1) * TICK: int(1.5 * FS)])
    assert states[-1] != "tone_disabled"  # 250 ms of quiet re-enables


def test_plain_2100_hz_does_not_disable_but_v21_does():
    ced = to_int16(_tone(2.0, 2100.0))
    flags = to_int16(_v21_flags(1.0))
    ec = EchoCanceller(2)
    far = np.zeros((2, 2 * FS), np.int16)
    near = np.stack([ced, np.concatenate([flags, np.zeros(FS, np.int16)])])
    seen = [set(), set()]
    for i in range(0, 2 * FS, TICK):
        ec.process(far[:, i:i + TICK], near[:, i:i + TICK])
        for c in range(2):
            seen[c].add(ec.counters().state[c])
    assert "tone_disabled" not in seen[0]
    assert "tone_disabled" in seen[1]


@pytest.mark.skipif(have_speech_tools() is not None, reason="espeak-ng/sox missing (make test installs them)")
def test_speech_never_trips_the_tone_disabler():
    src = speech(20.0, seed=1)
    x = to_int16(src).reshape(4, -1)
    ec = EchoCanceller(4)
    for i in range(0, x.shape[1], TICK):
        ec.process(x[:, i:i + TICK], x[:, i:i + TICK])
        assert "tone_disabled" not in ec.counters().state


def test_the_window_follows_the_first_copy_within_two_blocks():
    """Calls that start together spend their dearest ticks with both filters over the whole tail, from the first
    copy to the active window: on tight hybrids most channels take their window within 2 blocks of that copy
    (it took 7-8 when the window waited for 8 judged blocks)."""
    channels, block, n = 8, 64, FS
    rng = np.random.default_rng(5)
    far = rng.standard_normal((channels, n)) * 2000
    near = to_int16([echo_of(far[c], hybrid(4.0, 4.0, 12, seed=c)) + noise(n, -70, seed=c) for c in range(channels)])
    far = to_int16(far)
    ec = EchoCanceller(channels, 64, settle=False)
    copied, windowed = [None] * channels, [None] * channels
    for b in range(n // block):
        ec.process(far[:, b * block:(b + 1) * block], near[:, b * block:(b + 1) * block])
        lo, hi = ec.windows()
        for c in range(channels):
            if copied[c] is None and np.any(ec.taps(c)[0]):
                copied[c] = b
            if windowed[c] is None and hi[c] - lo[c] < 512:
                windowed[c] = b
    assert None not in windowed and None not in copied
    gaps = [w - c for w, c in zip(windowed, copied)]
    assert sum(g <= 2 for g in gaps) >= channels // 2, gaps


def test_placed_window_on_calls_starting_together():
    """place=True (design step 10, off by default): calls starting together on bare delays (the engine bench's line:
    white far end, 12 dB loss) hold their background, place every window around the delay before the first copy,
    and cancel 30 dB after a second; with place=False the same calls adapt over the whole tail until their first
    copies."""
    channels, n = 8, FS
    rng = np.random.default_rng(3)
    far = to_int16(rng.standard_normal((channels, n)) * 2000)
    delays = [40 + 50 * c for c in range(channels)]  # 5 to 48.75 ms
    near = np.array([np.concatenate([np.zeros(d), far[c, :-d] / 4.0]) + noise(n, -70, seed=c)
                     for c, d in enumerate(delays)])
    near = to_int16(near)
    for place in (True, False):
        ec = EchoCanceller(channels, 64, settle=False, place=place)
        out = np.empty_like(near)
        placed = np.zeros(channels, bool)
        for i in range(0, n, TICK):
            out[:, i:i + TICK] = ec.process(far[:, i:i + TICK], near[:, i:i + TICK])
            lo, hi = ec.windows()
            fresh = [not ec.taps(c)[0].any() for c in range(channels)]
            placed |= (hi - lo < 512) & np.array(fresh)
            windowed = hi - lo < 512
            assert ((lo <= np.array(delays)) & (hi > np.array(delays)) | ~windowed).all()  # around the echo
        assert placed.all() if place else not placed.any()
        for c in range(channels):
            assert erle_db(near[c].astype(float), out[c], 0.5) >= 30.0, (place, c)


def test_steady_state_settles_every_path_and_a_path_change_ends_it():
    """Converged, cancellers settle (adaptation frozen, the foreground watched every block); the echo path
    changing at 3 s ends it on every channel within a tick, and they settle again on the new path, still
    reducing the echo by 30 dB."""
    paths, erls = all_pairs()
    n, cut = 7 * FS, 3 * FS
    src = css(7.0)
    far, echo1, _ = scene(src, paths, erls)
    echo2 = np.array([echo_of(src, hybrid(d, disp, erl, seed=50 + i))
                      for i, ((_, d, disp), erl) in enumerate(zip(paths[::-1], erls))])
    echo = np.concatenate([echo1[:, :cut], echo2[:, cut:]], axis=1)
    near = to_int16(echo + noise(n, NEAR_FLOOR))
    ec = EchoCanceller(len(paths))
    out, settled = np.empty_like(near), []
    for i in range(0, n, TICK):
        out[:, i:i + TICK] = ec.process(far[:, i:i + TICK], near[:, i:i + TICK])
        settled.append(ec.counters().settled.copy())
        assert [ec.counters().row(c)["settled"] for c in range(len(paths))] == list(settled[-1])
    settled, tick = np.array(settled), cut // TICK
    print(f"settled: {settled[:tick].mean():.0%} of channel-ticks before the change, "
          f"{settled[tick + 25:].mean():.0%} from 0.5 s after it")
    assert settled[:tick].any(axis=0).mean() >= 0.5 and settled[tick - 1].any()
    assert not settled[tick + 1].any()
    assert settled[tick + 1:].any(axis=0).mean() >= 0.5
    for i in range(len(paths)):
        assert erle_db(echo[i], out[i], 5.5) >= 30.0, i


def test_disable_enable_reset_and_counters():
    far, echo, near = scene(css(2.0), PATHS[:2], [10, 10])
    ec = EchoCanceller(2)
    ec.disable(1)
    out = run(ec, far, near)
    assert np.array_equal(out[1], near[1]) and not ec.enabled(1)
    c = ec.counters()
    assert c.state == ["converged", "disabled"]
    assert 8.0 <= c.erl_db[0] <= 12.0 and c.erle_db[0] >= 15.0
    row = c.row(0)
    assert row["state"] == "converged" and isinstance(row["erle_db"], float)
    ec.enable(1)
    ec.reset(0)
    c = ec.counters()
    assert c.state[0] == "idle" and np.isnan(c.erle_db[0]) and c.row(0)["erle_db"] is None
    assert not ec.taps(0)[0].any()
    out = run(ec, far, near)
    assert erle_db(echo[1], out[1], 1.0) >= 30.0


def test_rows_limit_the_work_to_some_channels():
    far, echo, near = scene(css(1.0), PATHS[:3], [10, 10, 10])
    ec = EchoCanceller(3)
    out = np.empty_like(near)
    for i in range(0, near.shape[1], TICK):
        out[:, i:i + TICK] = ec.process(far[:, i:i + TICK], near[:, i:i + TICK], rows=[0, 2])
    assert np.array_equal(out[1], near[1]) and ec.counters().state[1] == "idle"
    assert erle_db(echo[0], out[0], 0.5) >= 20.0


def test_one_dimensional_input_and_odd_tick_sizes():
    far, echo, near = scene(css(2.0), PATHS[1:2], [12])
    ec = EchoCanceller(1)
    outs, pos = [], 0
    for k in np.resize([1, 7, 160, 333, 80], 200):
        if pos >= far.shape[1]:
            break
        outs.append(ec.process(far[0, pos:pos + k], near[0, pos:pos + k]))
        pos += k
    out = np.concatenate(outs)
    assert out.ndim == 1 and out.size == far.shape[1]
    assert erle_db(echo[0], out, 1.0) >= 30.0


def test_bad_arguments():
    with pytest.raises(TypeError):
        EchoCanceller(1.5)
    with pytest.raises(ValueError):
        EchoCanceller(0)
    with pytest.raises(ValueError, match="tail_ms"):
        EchoCanceller(1, tail_ms=50)
    with pytest.raises(ValueError, match="unknown"):
        EchoCanceller(1, speed=3)
    with pytest.raises(ValueError, match="mu"):
        EchoCanceller(1, mu=2.0)
    ec = EchoCanceller(2)
    x = np.zeros((2, 160), np.int16)
    with pytest.raises(TypeError):
        ec.process(x.astype(np.float32), x)
    with pytest.raises(ValueError, match="channels"):
        ec.process(x[:1], x[:1])
    with pytest.raises(ValueError, match="shape"):
        ec.process(x, x[:, :80])
    with pytest.raises(ValueError, match="out of range"):
        ec.process(x, x, rows=[2])
    with pytest.raises(ValueError, match="out of range"):
        ec.disable(5)
    with pytest.raises(TypeError):
        ec.reset("0")


@pytest.mark.peer
@pytest.mark.parametrize("source", ["css", pytest.param("speech", marks=pytest.mark.soak)])
def test_spandsp_on_the_same_signals(spandsp, source):
    """spandsp 0.0.6's echo_can (adaption, NLP, comfort noise, received-side high-pass: what a stack would ask of
    it), and with adaption only, on the same scenes, single talk then double talk. Ours meets the targets;
    spandsp's figures are printed and recorded in docs/echo.md (on this build its NLP mutes everything, near
    speech included, and its linear filter diverges on voiced CSS)."""
    if source == "speech" and have_speech_tools() is not None:
        pytest.skip("espeak-ng/sox missing (make test installs them)")
    paths, erls = all_pairs()
    n = 5 * FS
    src = css(5.0) if source == "css" else speech(5.0)
    far, echo, _ = scene(src, paths, erls)
    talker = np.zeros(n)
    talker[3 * FS:] = css(2.0, level=-18.0, seed=7)
    near = to_int16(echo + talker + noise(n, NEAR_FLOOR))
    ours = run(EchoCanceller(len(paths)), far, near)
    theirs = run(spandsp.EchoCanceller(len(paths), 64), far, near)
    linear = run(spandsp.EchoCanceller(len(paths), 64, spandsp.ECHO_CAN_USE_ADAPTION | spandsp.ECHO_CAN_USE_RX_HPF),
                 far, near)
    single, dt = slice(0, 3 * FS), slice(3 * FS, n)
    worst = {}
    for i, (p, erl) in enumerate(zip(paths, erls)):
        figs = {}
        for name, out in (("ours", ours), ("spandsp", theirs), ("spandsp linear only", linear)):
            figs[name] = (erle_db(echo[i, single], out[i, single], 2.0),
                          convergence_s(echo[i, single], out[i, single], floor_dbm0=-40.0),
                          snr_db(talker[dt], out[i, dt]), never_louder(near[i], out[i]))
        print(f"{source} {p[0]:12s} ERL {erl:2d}: " + "; ".join(
            f"{k} ERLE {e:5.1f} dB, 20 dB after {c:.1f} s, DT SNR {s:5.1f} dB, worst {w:+.1f} dB"
            for k, (e, c, s, w) in figs.items()))
        e, c, s, w = figs["ours"]
        assert e >= 30.0 and c <= 1.0 and s >= 15.0 and w <= 0.5, (p, erl)
        for k, v in figs.items():
            old = worst.setdefault(k, [np.inf, 0.0, np.inf, -np.inf])
            worst[k] = [min(old[0], v[0]), max(old[1], v[1]), min(old[2], v[2]), max(old[3], v[3])]
    print(f"{source} worst over the paths (ERLE, convergence, DT SNR, louder):",
          {k: [round(float(x), 1) for x in v] for k, v in worst.items()})
    assert theirs.shape == near.shape


@pytest.mark.soak
@pytest.mark.parametrize("source", ["css", "speech"])
def test_sweep_of_random_hybrids(source):
    """48 random hybrids (delay 0-52 ms, dispersion 2-12 ms, ERL 6-30 dB), 6 s of far end: the same targets."""
    if source == "speech" and have_speech_tools() is not None:
        pytest.skip("espeak-ng/sox missing (make test installs them)")
    rng = np.random.default_rng(11)
    src = css(6.0, seed=3) if source == "css" else speech(6.0, seed=2)
    specs = [(rng.uniform(0, 52), rng.uniform(2, 12), rng.uniform(6, 30), int(rng.integers(10**6))) for _ in range(48)]
    echo = np.array([at_erl(src, echo_of(src, hybrid(d, disp, erl, seed=s)), erl) for d, disp, erl, s in specs])
    near = to_int16(echo + noise(len(src), NEAR_FLOOR))
    out = run(EchoCanceller(len(specs)), np.tile(to_int16(src), (len(specs), 1)), near)
    figs = []
    for i, (d, disp, erl, _) in enumerate(specs):
        figs.append((erle_db(echo[i], out[i], 3.0), convergence_s(echo[i], out[i], floor_dbm0=-40.0),
                     convergence_s(echo[i], out[i]), never_louder(near[i], out[i])))
    steady, conv, strict, louder = (np.array(v) for v in zip(*figs))
    print(f"{source} sweep of {len(specs)}: ERLE min {steady.min():.1f} dB, 20 dB after max {conv.max():.1f} s "
          f"({np.sum(conv > 1.0)} over 1 s; {strict.max():.1f} s counting echo down to -50 dBm0, "
          f"{np.sum(strict > 1.0)} over 1 s), louder max {louder.max():+.1f} dB ({np.sum(louder > 0.5)} over 0.5 dB)")
    # the full targets on every hybrid (with the IPNLMS proportionality at -0.5, five speech hybrids took 1.3-1.5 s)
    assert steady.min() >= 30.0
    assert conv.max() <= 1.0
    assert louder.max() <= 0.5
