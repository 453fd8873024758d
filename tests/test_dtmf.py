"""DTMF receiver: ITU-T Q.24 / Bellcore receiver points, twin == native, tick carry, bad input, CLI, spandsp."""
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dtmf_signals import (
    detect, dial_tone, digits_of, freqs, peak, sequence, to_int16, tone_pair, white_noise,
)
from pycallcenter.dsp import dtmf
from pycallcenter.dsp.reference import dtmf as ref

ALL = "1234567890*#ABCD"


def run(x, tick=160, **params):
    return detect(dtmf.DtmfDetector(1, **params), to_int16(x), tick)


def test_all_16_digits_with_timing():
    x, truth = sequence(ALL, on_ms=50, off_ms=50)
    ev = run(x)
    ends = [e for e in ev if e.kind == "end"]
    begins = [e for e in ev if e.kind == "begin"]
    assert [e.digit for e in ends] == list(ALL)
    assert [e.digit for e in begins] == list(ALL)
    for e, (d, start, end) in zip(ends, truth):
        assert abs(e.start - start) <= 30 and abs(e.end - end) <= 30, (e, start, end)
    for b, e in zip(begins, ends):
        assert b.start == e.start and b.end is None


@pytest.mark.parametrize("dev", [0.015, -0.015])
def test_operates_at_1_5_percent_deviation(dev):
    rng = np.random.default_rng(3)
    for rd, cd in ((dev, dev), (dev, -dev), (-dev, dev)):
        x, _ = sequence(ALL, on_ms=50, off_ms=50, row_dev=rd, col_dev=cd, rng=rng)
        assert digits_of(run(x)) == ALL, (rd, cd)


@pytest.mark.parametrize("dev", [0.035, -0.035, 0.05, -0.05, 0.07, -0.07, 0.1, -0.1, 0.15])
def test_never_operates_at_3_5_percent_or_beyond(dev):
    # one tone off at a time and both off; a tone that lands near another nominal frequency may legitimately
    # give that other digit, so each detection is checked against the frequencies actually sent.
    for which in ("row", "col", "both"):
        for d in ALL:
            rd = dev if which in ("row", "both") else 0.0
            cd = dev if which in ("col", "both") else 0.0
            x = np.concatenate([np.zeros(400), tone_pair(d, 80, row_dev=rd, col_dev=cd), np.zeros(800)])
            r, c = freqs(d)
            for e in run(x):
                fr, fc = freqs(e.digit)
                assert abs(r * (1 + rd) / fr - 1) < 0.035 and abs(c * (1 + cd) / fc - 1) < 0.035, (d, which, e)


@pytest.mark.parametrize("ms", [40, 45, 60])
def test_accepts_tones_of_40_ms_and_longer(ms):
    rng = np.random.default_rng(ms)
    for lead in (0, 13, 26, 40):  # alignments against the 52-sample hops
        x, _ = sequence(ALL, on_ms=ms, off_ms=60, lead_ms=30 + lead / 8, rng=rng)
        assert digits_of(run(x)) == ALL


@pytest.mark.parametrize("ms", [23, 20, 15, 10])
def test_never_accepts_tones_below_23_ms(ms):
    rng = np.random.default_rng(ms)
    for lead in range(0, 52, 7):
        x, _ = sequence(ALL, on_ms=ms, off_ms=60, lead_ms=30 + lead / 8, rng=rng)
        assert digits_of(run(x)) == ""


@pytest.mark.parametrize("gap_ms", [10, 5, 2])
def test_bridges_interruptions_of_10_ms_or_less(gap_ms):
    for d in ALL:
        for lead in (0, 20, 40):
            x = np.concatenate([np.zeros(300 + lead), tone_pair(d, 50), np.zeros(gap_ms * 8), tone_pair(d, 50), np.zeros(800)])
            ev = run(x)
            assert digits_of(ev) == d, (d, lead, ev)


def test_pause_of_40_ms_separates_digits():
    x = np.concatenate([np.zeros(300), tone_pair("5", 50), np.zeros(320), tone_pair("5", 50), np.zeros(800)])
    assert digits_of(run(x)) == "55"


@pytest.mark.parametrize("twist_db", [8.0, -4.0])
def test_twist_normal_8_db_and_reverse_4_db(twist_db):
    # twist_db > 0: low (row) group louder; the quieter tone sits at -30 dBm0 and at -20 dBm0
    for quiet in (-30.0, -20.0):
        level = quiet + twist_db if twist_db > 0 else quiet
        x, _ = sequence(ALL, level=level, twist_db=twist_db, rng=np.random.default_rng(1))
        assert digits_of(run(x)) == ALL, (twist_db, quiet)


@pytest.mark.parametrize("level", [-3.0, -10.0, -25.0, -36.0])
def test_operates_from_about_0_to_minus_36_dbm0(level):
    x, _ = sequence(ALL, level=level, rng=np.random.default_rng(2))
    assert digits_of(run(x)) == ALL


@pytest.mark.parametrize("level", [-45.0, -48.0, -55.0])
def test_never_operates_below_minus_45_dbm0(level):
    x, _ = sequence(ALL, level=level, on_ms=80, rng=np.random.default_rng(2))
    assert run(x) == []


@pytest.mark.parametrize("level", [-20.0, -30.0])
def test_operates_at_15_db_signal_to_noise(level):
    # S/N per tone: each tone 15 dB above the white noise's total power (0-4 kHz)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        x, _ = sequence(ALL, level=level, rng=rng)
        x = x + white_noise(x.size, level - 15.0, rng)
        assert digits_of(run(x)) == ALL, seed


def test_tolerates_dial_tone_10_db_above_digits():
    for level in (-20.0, -28.0):
        x, _ = sequence(ALL, level=level, rng=np.random.default_rng(4))
        x = x + dial_tone(x.size, level + 10.0)
        assert digits_of(run(x)) == ALL, level
        # dial tone alone: nothing
        assert run(dial_tone(16000, level + 10.0)) == []


def test_silence_and_noise_give_nothing():
    rng = np.random.default_rng(0)
    assert run(np.zeros(8000)) == []
    assert run(white_noise(80000, -10.0, rng)) == []


def test_tick_boundaries_carry_digits_and_timing():
    x, _ = sequence("159#D0", on_ms=45, off_ms=45, rng=np.random.default_rng(5))
    base = run(x, tick=160)
    assert digits_of(base) == "159#D0"
    for tick in (1, 7, 53, 100, 161, 4000):
        assert run(x, tick=tick) == base, tick


def test_channels_are_independent_and_reset_clears_one():
    a, _ = sequence("123", rng=np.random.default_rng(6))
    b, _ = sequence("ABC", rng=np.random.default_rng(7))
    n = max(a.size, b.size)
    x = np.zeros((3, n))
    x[0, : a.size] = a
    x[2, : b.size] = b
    det = dtmf.DtmfDetector(3)
    ev = detect(det, to_int16(x))
    assert digits_of(ev, 0) == "123" and digits_of(ev, 1) == "" and digits_of(ev, 2) == "ABC"
    assert det.samples == n
    # reset in the middle of a digit: that digit never ends and the channel starts clean
    det = dtmf.DtmfDetector(2)
    y = to_int16(np.stack([tone_pair("7", 100), tone_pair("7", 100)]))
    ev = det.process(y[:, :600])
    assert [e.channel for e in ev if e.kind == "begin"] == [0, 1]
    det.reset(0)
    ev = det.process(y[:, 600:]) + det.process(np.zeros((2, 800), np.int16))
    assert [(e.channel, e.kind) for e in ev] == [(1, "end")]


def test_g711_input_matches_linear():
    from pycallcenter.dsp import g711

    x, _ = sequence(ALL, level=-20, rng=np.random.default_rng(8))
    for law, enc, dec in (("ulaw", g711.ulaw_encode, g711.ulaw_decode), ("alaw", g711.alaw_encode, g711.alaw_decode)):
        codes = enc(to_int16(x))
        lin = detect(dtmf.DtmfDetector(1), dec(codes))
        det = dtmf.DtmfDetector(1)
        fn = det.process_ulaw if law == "ulaw" else det.process_alaw
        got = []
        for i in range(0, codes.size, 160):
            got += fn(codes[i:i + 160])
        assert got == lin and digits_of(got) == ALL


def test_bad_input_raises():
    det = dtmf.DtmfDetector(2)
    with pytest.raises(TypeError):
        det.process(np.zeros((2, 160), np.float32))
    with pytest.raises(TypeError):
        det.process(np.zeros((2, 160), np.int32))
    with pytest.raises(TypeError):
        det.process([0] * 160)
    with pytest.raises(ValueError):
        det.process(np.zeros((2, 2, 160), np.int16))
    with pytest.raises(ValueError):
        det.process(np.zeros((2, 0), np.int16))
    with pytest.raises(ValueError):
        det.process(np.zeros((3, 160), np.int16))
    with pytest.raises(ValueError):
        det.process(np.zeros(160, np.int16))  # 1-D means one channel
    with pytest.raises(TypeError):
        det.process_ulaw(np.zeros((2, 160), np.int16))
    with pytest.raises(ValueError):
        dtmf.DtmfDetector(0)
    with pytest.raises(TypeError):
        dtmf.DtmfDetector(1, no_such_parameter=1)
    with pytest.raises(ValueError):
        dtmf.DtmfDetector(1, freq_tolerance=0.5)
    for bad in (dict(rest_peak=-2), dict(rest_peak=40000), dict(rest_ms=0), dict(rest_ms=2000)):
        with pytest.raises(ValueError, match="rest_peak"):
            dtmf.DtmfDetector(1, **bad)
    with pytest.raises(ValueError):
        det.reset(2)
    nan = np.full(160, np.nan)
    with pytest.raises(TypeError):
        dtmf.DtmfDetector(1).process(nan)


def test_process_takes_views_and_read_only_ticks():
    # the face hands C-contiguous int16 ticks straight to the kernel; anything else goes through the checks
    s = np.concatenate([tone_pair("4", 100, level=-20), np.zeros(800)])
    x = to_int16(np.stack([s, s, np.zeros(s.size)]))
    ref_ev = detect(dtmf.DtmfDetector(3), x)
    wide = np.zeros((3, 2 * x.shape[1]), np.int16)
    wide[:, ::2] = x
    det, ev = dtmf.DtmfDetector(3), []
    for i in range(0, x.shape[1], 160):
        ev += det.process(wide[:, 2 * i:2 * (i + 160):2])  # strided view
    assert ev == ref_ev
    det, ev = dtmf.DtmfDetector(3), []
    for i in range(0, x.shape[1], 160):
        tick = np.ascontiguousarray(x[:, i:i + 160])
        tick.flags.writeable = False  # a board's buffer handed out read-only
        ev += det.process(tick)
    assert ev == ref_ev and digits_of(ev) == "4"


def test_parameters_change_behaviour():
    # a 26 ms tone passes with on_blocks=3, not with the default 5
    x = np.concatenate([np.zeros(300), tone_pair("8", 26), np.zeros(800)])
    assert digits_of(run(x)) == ""
    assert digits_of(run(x, on_blocks=3)) == "8"
    # 8 dB normal twist fails when the limit is 6 dB
    y, _ = sequence("8", level=-12, twist_db=8.0)
    assert digits_of(run(y, twist_db=6.0)) == ""
    # without the dial-tone filter a loud dial tone spoils the purity test
    z, _ = sequence("8", level=-25)
    z = z + dial_tone(z.size, -15.0)
    assert digits_of(run(z)) == "8" and digits_of(run(z, dialtone_filter=False)) == ""


def _twin_vs_native(x, ticks, **params):
    a, b = ref.DtmfDetector(x.shape[0], **params), dtmf.DtmfDetector(x.shape[0], **params)
    ea, eb, i, j = [], [], 0, 0
    while i < x.shape[1]:
        n = ticks[j % len(ticks)]
        j += 1
        blk = np.ascontiguousarray(x[:, i:i + n])
        ea += a.process(blk)
        eb += b.process(blk)
        i += n
    return ea, eb


@pytest.fixture(params=[0, 1, 2], ids=["passes-of-4", "avx512vl-passes-of-8", "passes-of-4-plain-transpose"])
def code_path(request):
    """Run a test on each Goertzel code path of the kernel this CPU has."""
    from pycallcenter._native import dtmf as native

    if native.code_path(request.param) != request.param:
        native.code_path(-1)
        pytest.skip("this CPU has no AVX-512VL")
    yield request.param
    native.code_path(-1)


def test_twin_matches_native_on_digits_and_noise(code_path):
    rng = np.random.default_rng(11)
    parts = []
    for d in ALL:
        parts += [tone_pair(d, rng.uniform(20, 70), level=rng.uniform(-45, -5), twist_db=rng.uniform(-6, 10),
                            row_dev=rng.uniform(-0.04, 0.04), col_dev=rng.uniform(-0.04, 0.04), rng=rng),
                  np.zeros(int(rng.uniform(10, 500)))]
    s = np.concatenate(parts)
    x = to_int16(np.stack([s, s + white_noise(s.size, -35, rng), s + dial_tone(s.size, -15), rng.normal(0, 3000, s.size)]))
    ea, eb = _twin_vs_native(x, [160, 37, 1, 250])
    assert ea == eb
    assert len(ea) >= 10


def _high_band_noise(n, rms, rng):
    """Return noise above about 2 kHz: low-passed white noise moved up by 4 kHz (times (-1)^n)."""
    w = rng.normal(0, rms, n + 1)
    return (w[1:] + w[:-1]) / 2 * (-1.0) ** np.arange(n)


def test_twin_matches_native_with_high_band_noise(code_path):
    # the high band's block energies carry across ticks in each parity's own state; 16 channels (two groups,
    # which the AVX-512VL path runs through the notches together), noise from well under to over the digits
    rng = np.random.default_rng(5)
    s, _ = sequence(ALL, on_ms=45, off_ms=40, level=-20, rng=rng)
    x = to_int16(np.stack([s + _high_band_noise(s.size, r, rng) for r in np.linspace(200, 2500, 16)]))
    ea, eb = _twin_vs_native(x, [160, 37, 250])
    assert ea == eb
    assert len(ea) >= 100


def _twin_state(det, c):
    """Return the twin's filter state of channel c in the order Kernel.signal_state gives it, as float32."""
    return np.concatenate([det.nx[:, :, c].ravel(), det.s1[c, 0, 4:], det.s2[c, 0, 4:], det.s1[c, 1, 4:],
                           det.s2[c, 1, 4:], det.en[c], det.enh[c]]).astype(np.float32)


def test_twin_matches_native_filter_state_bit_for_bit(code_path):
    # Events are coarse: a filter rounding differently by one unit in the last place (a fused multiply-add in one
    # implementation only, say) seldom moves one. The decimator, the notches, the column filters and the block
    # energies must hold the same float32 bits in both after every tick, on every code path.
    rng = np.random.default_rng(17)
    s, _ = sequence(ALL, on_ms=45, off_ms=40, level=-18, rng=rng)
    n = 6000
    x = np.stack([s[:n] + rng.normal(0, r, n) for r in np.geomspace(1, 12000, 11)])
    x[3] += _high_band_noise(n, 2000, rng)
    x[7] += dial_tone(n, -12)
    x = to_int16(x)
    a, b = ref.DtmfDetector(x.shape[0]), dtmf.DtmfDetector(x.shape[0])
    i, j = 0, 0
    while i < n:
        blk = np.ascontiguousarray(x[:, i:i + [160, 37, 1, 250, 53][j % 5]])
        assert a.process(blk) == b.process(blk)
        for c in range(x.shape[0]):
            got = np.array(b._k.signal_state(c), np.float32)
            assert np.array_equal(got.view(np.int32), _twin_state(a, c).view(np.int32)), (i, c)
        i += blk.shape[1]
        j += 1


def _voice_like(channels, n, rng, level_dbm0=-20.0):
    """Return (channels, n) noise shaped by a resonance near 500 Hz (a vowel's first formant) at about level_dbm0."""
    w = rng.normal(0, 1, (channels, n))
    a1, a2 = 2 * 0.95 * np.cos(2 * np.pi * 500 / 8000), -0.95**2
    y, y1, y2 = np.empty_like(w), np.zeros(channels), np.zeros(channels)
    for i in range(n):
        y[:, i] = w[:, i] + a1 * y1 + a2 * y2
        y2, y1 = y1, y[:, i]
    return y / y.std() * peak(level_dbm0) / np.sqrt(2)


def test_twin_matches_native_through_the_row_screen(code_path):
    # The kernel runs a block's row filters only for lanes whose column bins leave room for a candidate (ec (1 +
    # twist) norm >= cand_purity energy), gathered from any groups 8 at a time, or in place for a group with 3 or
    # more; the others' rows stay zero. Voice-like noise everywhere (ruled out mostly), dialling on a few channels
    # (gathered) and on a block of neighbours (in place), and digits continued near the twist limits in noise,
    # whose blocks pass the screen by little (at 10 dB twist its bound is the purity test itself): events must be
    # the twin's (a screen twice as strict ends some of those digits early).
    rng = np.random.default_rng(31)
    n = 12000
    x = _voice_like(24, n, rng)
    for c in (5, 18):
        s, _ = sequence(rng.choice(list(ALL), 6), on_ms=45, off_ms=40, lead_ms=rng.uniform(0, 60), rng=rng, level=-15)
        x[c, : s.size] += s[:n]
    for c in range(8, 13):
        s, _ = sequence(rng.choice(list(ALL), 6), on_ms=50, off_ms=45, lead_ms=rng.uniform(0, 60), rng=rng, level=-12)
        x[c, : s.size] += s[:n]
    for c in (0, 1, 2, 3, 20, 21, 22, 23):
        x[c] *= 0.1
        pos = int(rng.integers(0, 400))
        while pos < n - 1400:
            # a digit, then the same pair at 9.5 dB twist in noise: blocks of purity about 0.5 keep it going (and
            # move its end) only if the screen lets them through
            d, tw = rng.choice(list(ALL)), float(rng.choice([9.5, -5.5]))
            s = np.concatenate([tone_pair(d, 60, level=-10, rng=rng), tone_pair(d, 80, level=-10, twist_db=tw, rng=rng)])
            s[480:] += white_noise(s.size - 480, float(rng.uniform(-12, -9)), rng)
            x[c, pos:pos + s.size] += s
            pos += s.size + int(rng.integers(300, 600))
    x = to_int16(x)
    ea, eb = _twin_vs_native(x, [160, 37, 1, 250, 53])
    assert ea == eb
    assert len(ea) >= 60
    probe = dtmf.DtmfDetector(24)
    probe.process(x)
    out, gathered, in_place = probe._k.screen_counts()
    assert out > gathered and gathered > 0 and in_place > 0, (out, gathered, in_place)


@given(
    channels=st.integers(1, 9),
    seed=st.integers(0, 2**32 - 1),
    ticks=st.lists(st.integers(1, 400), min_size=1, max_size=5),
    digits=st.text(alphabet=ALL, min_size=0, max_size=3),
    scale=st.sampled_from([0, 10, 1000, 32767]),
)
def test_twin_matches_native_property(channels, seed, ticks, digits, scale):
    rng = np.random.default_rng(seed)
    sig, _ = sequence(digits, on_ms=int(rng.integers(20, 60)), off_ms=40, rng=rng, level=float(rng.uniform(-40, -3)))
    n = min(sig.size, 2400) if digits else int(rng.integers(1, 1200))
    x = np.empty((channels, n))
    for c in range(channels):
        x[c] = (sig[:n] if digits else 0) + rng.normal(0, scale + 1e-9, n) * (c % 2)
    x = to_int16(x)
    if scale == 32767 and channels > 1:
        x[-1] = rng.integers(-32768, 32768, n)
    ea, eb = _twin_vs_native(x, ticks)
    assert ea == eb


def test_compared_with_spandsp(spandsp):
    """Informative: the same Q.24 points through spandsp 0.0.6; ours must pass them all (asserted above)."""
    cases = {
        "dev+1.5%": sequence(ALL, row_dev=0.015, col_dev=0.015, rng=np.random.default_rng(1))[0],
        "dev-1.5%": sequence(ALL, row_dev=-0.015, col_dev=-0.015, rng=np.random.default_rng(1))[0],
        "40ms": sequence(ALL, on_ms=40, rng=np.random.default_rng(1))[0],
        "reverse4dB": sequence(ALL, twist_db=-4.0, level=-20, rng=np.random.default_rng(1))[0],
        "dial+10dB": (lambda s: s + dial_tone(s.size, -10.0))(sequence(ALL, level=-20, rng=np.random.default_rng(1))[0]),
    }
    report = {}
    for name, x in cases.items():
        rx = spandsp.DtmfReceiver(1)
        y = to_int16(x)
        for i in range(0, y.size, 160):
            rx.process(y[i:i + 160].reshape(1, -1))
        report[name] = (digits_of(run(x)), rx.digits(0))
        assert report[name][0] == ALL
    print(json.dumps({k: {"ours": len(v[0]), "spandsp": len(v[1])} for k, v in report.items()}))


def test_cli_prints_digits_from_wav_and_raw_g711(tmp_path, capsys):
    from pycallcenter.cli import main
    from pycallcenter.dsp import g711
    from pycallcenter.dsp.audio import resample, write_audio

    x, truth = sequence("90#", on_ms=60, off_ms=60, level=-15)
    wav = tmp_path / "d.wav"
    write_audio(wav, to_int16(resample(x, 8000, 16000)), 16000)  # any rate: read back resampled to 8 kHz
    assert main(["dtmf", str(wav)]) == 0
    lines = [json.loads(s) for s in capsys.readouterr().out.splitlines()]
    assert [d["digit"] for d in lines] == ["9", "0", "#"]
    for d, (_, start, end) in zip(lines, truth):
        assert abs(d["start_ms"] - start / 8) <= 4.5 and abs(d["end_ms"] - end / 8) <= 4.5
    raw = tmp_path / "d.ul"
    raw.write_bytes(g711.ulaw_encode(to_int16(x)).tobytes())
    assert main(["dtmf", str(raw), "--law", "ulaw"]) == 0
    assert [json.loads(s)["digit"] for s in capsys.readouterr().out.splitlines()] == ["9", "0", "#"]


def test_cli_rejects_non_audio(tmp_path, capsys):
    from pycallcenter.cli import main

    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio\n")
    assert main(["dtmf", str(bad)]) != 0
    assert "not an audio file" in capsys.readouterr().err
    assert main(["dtmf", str(tmp_path / "missing.wav")]) != 0
    empty = tmp_path / "empty.al"
    empty.write_bytes(b"")
    assert main(["dtmf", str(empty), "--law", "alaw"]) != 0


def _tone(f, ms, level):
    t = np.arange(int(ms * 8)) / 8000
    return peak(level) * np.sin(2 * np.pi * f * t + 0.3)


def _pad(x):
    return np.concatenate([np.zeros(400), x, np.zeros(800)])


def test_guard_a_note_and_its_second_harmonic_is_no_digit():
    # 684 Hz and 1368 Hz sit 1.9% under 697 and 2.4% over 1336 ("2"): each block pair passes the 2.5% test, the
    # run's mean offset does not; with run_freq_tolerance as wide as freq_tolerance the pair is taken
    x = _pad(_tone(684, 200, -12) + _tone(1368, 200, -14))
    assert digits_of(run(x)) == ""
    assert digits_of(run(x, run_freq_tolerance=0.025)) == "2"


def test_guard_harmonics_above_2_khz_count_against_the_pair():
    # a clean "5" with the column's 2nd and 3rd harmonics (2672, 4008 -> aliased) and the row's 3rd: the decimated
    # band alone looks pure, the whole band does not
    pair = tone_pair("5", 120, level=-12)
    harm = _tone(2 * 1336, 120, -16) + _tone(3 * 770, 120, -17) + _tone(3 * 1336 - 1000, 120, -18)
    assert digits_of(run(_pad(pair))) == "5"
    assert digits_of(run(_pad(pair + harm))) == ""


def test_guard_a_third_tone_in_the_band():
    pair = tone_pair("9", 120, level=-12)
    assert digits_of(run(_pad(pair + _tone(1070, 120, -20)))) == "9"  # 8 dB under each tone: still a digit
    assert digits_of(run(_pad(pair + _tone(1070, 120, -15)))) == ""  # 3 dB under: a chord, not a digit
    assert digits_of(run(_pad(pair + _tone(1070, 120, -15)), tone_purity=0.8, run_purity=0.7)) == "9"


@pytest.mark.parametrize("case", ["dev1.5+snr15", "dev1.5+twist8+40ms", "dev1.5+dial10", "rtwist4-36dBm0"])
def test_guards_keep_combined_acceptance_points(case):
    # two Q.24 points at once, random phases and alignments: the talk-off guards must leave margin for these
    for seed in range(4):
        rng = np.random.default_rng(seed + 100)
        lead = 30 + rng.uniform(0, 7)
        if case == "dev1.5+snr15":
            x, _ = sequence(ALL, level=-20, row_dev=0.015, col_dev=-0.015, rng=rng, lead_ms=lead)
            x = x + white_noise(x.size, -35, rng)
        elif case == "dev1.5+twist8+40ms":
            x, _ = sequence(ALL, on_ms=40, level=-12, twist_db=8, row_dev=-0.015, col_dev=0.015, rng=rng, lead_ms=lead)
        elif case == "dev1.5+dial10":
            x, _ = sequence(ALL, level=-20, row_dev=0.015, col_dev=0.015, rng=rng, lead_ms=lead)
            x = x + dial_tone(x.size, -10)
        else:
            x, _ = sequence(ALL, level=-36, twist_db=-4, rng=rng, lead_ms=lead)
        assert digits_of(run(x)) == ALL, (case, seed)


def _calls_and_pauses(channels, n, rng):
    """Return (channels, n) int16: per channel, stretches of digital silence, line noise under the rest bound
    (-65 dBm0), speech-like noise and dialled digits, at staggered times, so channels rest and wake often."""
    x = np.zeros((channels, n))
    for c in range(channels):
        pos = int(rng.integers(0, 2000))
        while pos < n:
            kind = rng.integers(0, 4)
            length = int(rng.integers(300, 3000))
            end = min(n, pos + length)
            if kind == 1:
                x[c, pos:end] = white_noise(end - pos, -65, rng)
            elif kind == 2:
                x[c, pos:end] = white_noise(end - pos, -30, rng)
            elif kind == 3:
                s, _ = sequence(rng.choice(list(ALL), 2), on_ms=45, off_ms=40, lead_ms=0, rng=rng,
                                level=float(rng.uniform(-40, -5)))
                end = min(end, pos + s.size)
                x[c, pos:end] = s[: end - pos]
            pos = end
    return to_int16(x)


def test_twin_matches_native_while_channels_rest_and_wake(code_path):
    # 37 channels (five groups, one partly empty): channels come to rest, wake, and the kernel moves them between
    # slots; events must stay those of the twin, which decides the rest rule
    rng = np.random.default_rng(21)
    x = _calls_and_pauses(37, 24000, rng)
    a, b = ref.DtmfDetector(37), dtmf.DtmfDetector(37)
    ea, eb, rested, woke, i, j = [], [], 0, 0, 0, 0
    ticks = [160, 160, 37, 1, 250, 800, 3]
    while i < x.shape[1]:
        blk = np.ascontiguousarray(x[:, i:i + ticks[j % len(ticks)]])
        was = a.rest.copy()
        ea += a.process(blk)
        eb += b.process(blk)
        rested += int(np.sum(a.rest & ~was))
        woke += int(np.sum(was & ~a.rest))
        assert [b._k.at_rest(c) for c in range(37)] == [int(r) for r in a.rest]  # resting means zero state
        i += blk.shape[1]
        j += 1
    assert ea == eb
    assert len(ea) >= 40 and rested >= 40 and woke >= 20


def test_rest_changes_no_digit_and_no_timing():
    # digits after long silences and under-the-bound noise: the same events as a receiver that never rests
    rng = np.random.default_rng(22)
    parts = []
    for d in ALL:
        parts += [white_noise(int(rng.integers(500, 4000)), -65, rng), tone_pair(d, 45, level=-30)]
    x = to_int16(np.concatenate(parts + [np.zeros(800)]))
    for tick in (1, 53, 160, 4000):
        rests = detect(dtmf.DtmfDetector(1), x, tick)
        never = detect(dtmf.DtmfDetector(1, rest_peak=-1), x, tick)
        assert rests == never and digits_of(rests) == ALL, tick


def test_g711_input_rests_as_its_decoded_samples_do():
    # the kernel checks G.711 codes against the bound through a range of codes found from the decode table;
    # channels must rest, wake and give events exactly as the same audio decoded to int16
    from pycallcenter.dsp import g711

    rng = np.random.default_rng(23)
    x = _calls_and_pauses(21, 16000, rng)
    for enc, dec, name in ((g711.ulaw_encode, g711.ulaw_decode, "ulaw"), (g711.alaw_encode, g711.alaw_decode, "alaw")):
        codes = enc(x)
        lin, law = dtmf.DtmfDetector(21), dtmf.DtmfDetector(21)
        fn = getattr(law, "process_" + name)
        ea, eb, rested = [], [], 0
        for i in range(0, x.shape[1], 160):
            ea += lin.process(np.ascontiguousarray(dec(codes[:, i:i + 160])))
            eb += fn(np.ascontiguousarray(codes[:, i:i + 160]))
            states = [lin._k.at_rest(c) for c in range(21)]
            assert [law._k.at_rest(c) for c in range(21)] == states
            rested += sum(states)
        assert ea == eb and len(ea) >= 20 and rested >= 200, name


def test_resting_channel_wakes_for_a_digit_and_reset_clears_rest():
    det, twin = dtmf.DtmfDetector(9), ref.DtmfDetector(9)
    quiet = to_int16(white_noise(9 * 1600, -65, np.random.default_rng(3)).reshape(9, 1600))
    assert det.process(quiet) == twin.process(quiet) == []
    assert twin.rest.all()
    x = np.zeros((9, 1600), np.int16)
    x[4] = to_int16(np.concatenate([tone_pair("9", 60, level=-25), np.zeros(1120)]))
    ev = det.process(x)
    assert ev == twin.process(x) and [(e.channel, e.digit) for e in ev] == [(4, "9"), (4, "9")]
    det.reset(4)
    twin.reset(4)
    assert not twin.rest[4]
    assert det.process(x) == twin.process(x)
