"""Tone plans and the tone generator: levels, frequencies, exact cadences, DTMF, twin vs native."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pycallcenter.dsp import toneplans as tp
from pycallcenter.dsp import tones
from pycallcenter.dsp.reference import tones as ref

RATE = 8000


def peak_freqs(x, count):
    """Return the count strongest frequencies (Hz) of x, 1 Hz resolution."""
    spec = np.abs(np.fft.rfft(x[:RATE].astype(float) * np.hanning(RATE)))
    order = np.argsort(spec)[::-1]
    out = []
    for i in order:
        if all(abs(i - j) > 3 for j in out):
            out.append(i)
        if len(out) == count:
            break
    return sorted(out)


def test_plans_have_every_required_tone_and_ring_cadence():
    assert {"us", "etsi", "cn", "uk", "de", "fr", "jp"} <= set(tp.plan_names())
    for name in tp.plan_names():
        plan = tp.get_plan(name)
        for tone in tp.REQUIRED_TONES:
            assert tone in plan.tones, (name, tone)
        assert plan.ring_cadence and all(on > 0 and off > 0 for on, off in plan.ring_cadence)
    assert tp.get_plan("us").ring_cadence == ((2000, 4000),)
    assert tp.get_plan("na") is tp.get_plan("us")
    assert tp.get_plan("EU") is tp.get_plan("etsi")
    assert tp.get_plan("etsi").tone("dial").carriers == (425.0,)
    assert tp.get_plan("cn").tone("busy").carriers == (450.0,)
    assert tp.get_plan("us").tone("reorder").on_off() == (250, 250)
    assert tp.get_plan("us").tone("busy").carriers == (480.0, 620.0)


def test_plan_and_tone_errors():
    with pytest.raises(ValueError):
        tp.get_plan("atlantis")
    with pytest.raises(TypeError):
        tp.get_plan(3)
    with pytest.raises(ValueError):
        tp.get_plan("us").tone("howler_monkey")
    with pytest.raises(ValueError):
        tp.ToneSpec("x", ())
    with pytest.raises(ValueError):
        tp.ToneSpec("x", (tp.Step(10, (tp.Component(5000.0, -10),)),))
    with pytest.raises(ValueError):
        tp.dtmf_spec("12X")


def test_zero_dbm0_sine_peak_is_3_14_db_below_full_scale():
    spec = tp.ToneSpec("t", (tp.Step(0, (tp.Component(1004.0, 0.0),)),))
    x = tones.generate(None, spec, 1.0)
    assert abs(int(x.max()) - 32768 * 10 ** (-3.14 / 20)) <= 1.5
    rms_db = 10 * np.log10(np.mean(x.astype(float) ** 2) / (tp.DBM0_PEAK ** 2 / 2))
    assert abs(rms_db) < 0.01


@pytest.mark.parametrize("plan", ["us", "etsi", "cn", "uk", "jp"])
def test_every_tone_has_its_frequencies_and_levels(plan):
    p = tp.get_plan(plan)
    for name in ("dial", "busy", "ringback", "congestion", "call_waiting"):
        spec = p.tone(name)
        first = spec.steps[0]
        steady = tp.ToneSpec("steady", (tp.Step(0, first.components),))
        x = tones.generate(plan, steady, 1.0)
        n_sines = sum(3 if c.mod_freq else 1 for c in first.components)
        want = sorted(round(f) for c in first.components
                      for f in ((c.freq - c.mod_freq, c.freq, c.freq + c.mod_freq) if c.mod_freq else (c.freq,)))
        got = peak_freqs(x, n_sines)
        assert all(abs(g - w) <= 1 for g, w in zip(got, want)), (plan, name, got, want)
        power = sum(tp.amplitude(c.level_dbm0) ** 2 / 2 * (1 + c.mod_depth ** 2 / 2) for c in first.components)
        assert abs(10 * np.log10(np.mean(x.astype(float) ** 2) / power)) < 0.05, (plan, name)


@pytest.mark.parametrize("plan,tone", [(p, t) for p in ("us", "etsi", "cn", "uk", "de", "fr", "jp")
                                       for t in ("busy", "ringback", "congestion", "call_waiting")])
def test_cadence_is_exact_in_samples(plan, tone):
    spec = tp.get_plan(plan).tone(tone)
    flat = spec.on_off()
    period = int(sum(flat)) * RATE // 1000
    g = tones.ToneGenerator(1)
    g.start(0, tone, plan=plan)
    runs = [int(v) * RATE // 1000 for v in flat] * 2

    def sounding():  # whether the generator's current step has components
        return bool(g._n_comp[0, g._cur[0]] > 0)

    for i, r in enumerate(runs):
        assert sounding() == (i % 2 == 0)
        if r > 1:
            g.process(r - 1)
        assert sounding() == (i % 2 == 0), (plan, tone, i)
        g.process(1)
        assert sounding() != (i % 2 == 0), (plan, tone, i)
    x = tones.generate(plan, tone, 2 * period / RATE)
    bounds = np.cumsum([0] + runs)
    for i in range(len(runs)):
        part = x[bounds[i]:bounds[i + 1]]
        if i % 2:
            assert not part.any()
        else:
            assert np.count_nonzero(part) > 0.85 * part.size


def test_sit_segments_in_order_with_exact_durations():
    x = tones.generate("us", "sit_vacant_code", 1.5)
    seg = [(985.2, 380), (1370.6, 274), (1776.7, 380)]
    pos = 0
    for f, ms in seg:
        n = ms * 8
        part = x[pos:pos + n].astype(float)
        k = np.arange(n)
        corr = abs(np.sum(part * np.exp(-2j * np.pi * f * k / RATE))) * 2 / n
        assert corr > 0.9 * tp.amplitude(-24), (f, corr)
        pos += n
    assert not x[pos:].any()
    assert not tones.ToneGenerator(1).active(0)


def test_stutter_dial_then_steady():
    x = tones.generate("us", "stutter_dial", 3.0)
    assert not x[800:1600].any() and x[1600:2400].any()  # 100 ms off then on
    assert np.count_nonzero(x[16000:] == 0) < 100  # steady after 10 bursts


def test_process_is_phase_continuous_across_ticks():
    g1, g2 = tones.ToneGenerator(3), tones.ToneGenerator(3)
    for g in (g1, g2):
        g.start(0, "busy")
        g.start(1, "ringback", plan="uk")
        g.start(2, "ringback", plan="jp")
    whole = g1.process(12000)
    rng = np.random.default_rng(5)
    parts, n = [], 0
    while n < 12000:
        k = int(min(12000 - n, rng.integers(1, 700)))
        parts.append(g2.process(k))
        n += k
    assert np.array_equal(whole, np.concatenate(parts, axis=1))


def test_every_plan_tone_native_equals_twin():
    for name in tp.plan_names():
        for tone in tp.get_plan(name).tones:
            assert np.array_equal(tones.generate(name, tone, 2.5), ref.generate(name, tone, 2.5)), (name, tone)


@st.composite
def specs(draw):
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        comps = tuple(tp.Component(draw(st.floats(20, 3990)), draw(st.floats(-60, 3)),
                                   *((draw(st.floats(1, 19)), draw(st.floats(0.05, 1))) if draw(st.booleans()) else ()))
                      for _ in range(draw(st.integers(0, 2))))
        steps.append(tp.Step(draw(st.integers(0, 300)) if len(steps) else draw(st.integers(1, 300)), comps))
    return tp.ToneSpec("h", tuple(steps), draw(st.integers(-1, len(steps) - 1)))


@given(spec=specs(), ticks=st.lists(st.integers(1, 500), min_size=1, max_size=8), offset=st.floats(-20, 0))
def test_native_equals_twin_on_random_specs_and_ticks(spec, ticks, offset):
    a, b = tones.ToneGenerator(2), ref.ToneGenerator(2)
    for g in (a, b):
        g.start(1, spec, level_offset_db=offset)
        g.start(0, "congestion")
    for n in ticks:
        assert np.array_equal(a.process(n), b.process(n))


def test_dtmf_timing_twist_and_spandsp_decodes(spandsp):
    digits = "1234567890*#ABCD"
    x = tones.dtmf_signal(digits, level_dbm0=-10, twist_db=2, on_ms=50, off_ms=50)
    assert x.size == len(digits) * 800
    assert x[:400].all() or np.count_nonzero(x[:400]) > 390
    assert not x[400:800].any()
    assert np.array_equal(x, ref.dtmf_signal(digits, -10, 2, 50, 50))
    lo, hi = tp.dtmf_freqs("5")
    seg = tones.dtmf_signal("5", -10, 3, 1000, 0).astype(float)
    n = np.arange(seg.size)
    amp = [abs(np.sum(seg * np.exp(-2j * np.pi * f * n / RATE))) * 2 / seg.size for f in (lo, hi)]
    assert abs(20 * np.log10(amp[1] / amp[0]) - 3) < 0.05
    assert abs(amp[0] - tp.amplitude(-10)) < 3
    rx = spandsp.DtmfReceiver(1)
    rx.process(np.concatenate([x, np.zeros(800, np.int16)]))
    assert rx.digits(0) == digits
    long = tones.dtmf_signal("0123456789" * 5)
    rx2 = spandsp.DtmfReceiver(1)
    rx2.process(np.concatenate([long, np.zeros(800, np.int16)]))
    assert rx2.digits(0) == "0123456789" * 5


def test_generator_bad_input():
    with pytest.raises(TypeError):
        tones.ToneGenerator("4")
    with pytest.raises(ValueError):
        tones.ToneGenerator(0)
    g = tones.ToneGenerator(2)
    with pytest.raises(ValueError):
        g.start(2, "busy")
    with pytest.raises(TypeError):
        g.start(0, 42)
    with pytest.raises(ValueError):
        g.start(0, "nonsense")
    with pytest.raises(ValueError):
        g.process(0)
    with pytest.raises(TypeError):
        g.process(1.5)
    with pytest.raises(ValueError):
        tones.generate("us", "busy", -1)
    with pytest.raises(TypeError):
        tones.dtmf_signal(123)
    with pytest.raises(ValueError):
        tones.dtmf_signal("")


def test_process_into_out_buffer():
    g, h = tones.ToneGenerator(2), tones.ToneGenerator(2)
    for gen in (g, h):
        gen.start(1, "ringback", plan="cn")
    buf = np.full((2, 160), 7, np.int16)
    assert g.process(160, out=buf) is buf
    assert np.array_equal(buf, h.process(160))
    with pytest.raises(ValueError):
        g.process(160, out=np.zeros((2, 161), np.int16))
    with pytest.raises(TypeError):
        g.process(160, out=np.zeros((2, 160), np.int32))
    with pytest.raises(ValueError):
        g.process(160, out=np.zeros((2, 320), np.int16)[:, ::2])


def test_stop_and_active():
    g = tones.ToneGenerator(2)
    assert not g.active(0)
    g.start(0, "dial")
    assert g.active(0)
    assert g.process(160)[0].any() and not g.process(160)[1].any()
    g.stop(0)
    assert not g.active(0) and not g.process(160).any()


@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["dial", "busy", "ringback", "congestion", "sit", None])),
                max_size=12), st.lists(st.integers(1, 700), min_size=1, max_size=8))
def test_process_rows_renders_what_process_renders_on_those_rows(starts, ticks):
    """Rendering only the channels with a tone (native and twin) gives those rows of the whole render, sample for
    sample, and leaves every channel's state where the whole render leaves it when the others are stopped."""
    gens = [tones.ToneGenerator(6, plan="us"), ref.ToneGenerator(6, plan="us"), tones.ToneGenerator(6, plan="us")]
    for i, n in enumerate(ticks):
        if i < len(starts):  # start or stop a tone on a channel between ticks
            c, tone = starts[i]
            for g in gens:
                g.start(c, tone) if tone else g.stop(c)
        playing = np.array([c for c in range(6) if gens[2]._cur[c] >= 0], np.intp)
        whole = gens[2].process(n)
        for g in gens[:2]:
            np.testing.assert_array_equal(g.process_rows(playing, n), whole[playing])
        assert not whole[np.setdiff1d(np.arange(6), playing)].any()
        for g in gens[:2]:
            for name in ("_cur", "_pos", "_phase"):
                np.testing.assert_array_equal(getattr(g, name), getattr(gens[2], name))


def test_process_rows_bad_rows():
    for g in (tones.ToneGenerator(3), ref.ToneGenerator(3)):
        with pytest.raises(ValueError):
            g.process_rows([0, 3], 160)
        with pytest.raises(ValueError):
            g.process_rows([-1], 160)
        assert g.process_rows([], 160).shape == (0, 160)
