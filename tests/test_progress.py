"""Call-progress detection: every plan's tones (ours and numpy-synthesised, noisy, quiet), SIT codes, fax tones,
silence and voice, random tick sizes, twin vs native, bad input."""
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pycallcenter.dsp import progress, tones
from pycallcenter.dsp import toneplans as tp
from pycallcenter.dsp.reference import progress as ref

RATE = 8000
TONE_KINDS = {"dial_tone", "busy", "ringback", "congestion", "sit", "fax_cng", "fax_ced"}
EXPECT = {"dial": "dial_tone", "busy": "busy", "ringback": "ringback", "congestion": "congestion", "sit": "sit"}


def numpy_tone(spec, seconds, level_dbm0=None):
    """Return float samples of spec synthesised directly with np.sin (independent of the generator)."""
    n_total = int(seconds * RATE)
    out = np.zeros(n_total)
    t0, i = 0, 0
    while t0 < n_total and i >= 0:
        st_ = spec.steps[i]
        n = n_total - t0 if st_.ms == 0 else min(int(st_.ms * 8), n_total - t0)
        t = np.arange(t0, t0 + n) / RATE
        for c in st_.components:
            amp = tp.amplitude(c.level_dbm0 if level_dbm0 is None else level_dbm0)
            env = 1 + c.mod_depth * np.cos(2 * np.pi * c.mod_freq * t) if c.mod_freq else 1.0
            out[t0:t0 + n] += amp * env * np.sin(2 * np.pi * c.freq * t + 0.7)
        t0 += n
        i = i + 1 if i + 1 < len(spec.steps) else spec.loop_to
        if st_.ms == 0:
            break
    return out


def with_noise(x, level_dbm0, snr_db, rng):
    """Return x plus white noise snr_db below a sine at level_dbm0, as int16."""
    noise = rng.normal(0, tp.amplitude(level_dbm0) / np.sqrt(2) * 10 ** (-snr_db / 20), x.size)
    return np.clip(np.rint(x + noise), -32768, 32767).astype(np.int16)


def feed(det, x, rng, max_tick=500):
    """Return all events of det over x (channels x n) fed in random tick sizes."""
    events, pos = [], 0
    while pos < x.shape[1]:
        n = int(rng.integers(1, max_tick))
        events += det.process(np.ascontiguousarray(x[:, pos:pos + n]))
        pos += n
    return events


def by_channel(events, channels):
    out = [[] for _ in range(channels)]
    for e in events:
        out[e.channel].append(e)
    return out


def plan_signals(plan, rng, seconds=14.0):
    """Return (labels, int16 channels x n): each tone from our generator at nominal level, at -30 dBm0 with
    20 dB S/N, and numpy-synthesised at -30 dBm0 with 20 dB S/N."""
    p = tp.get_plan(plan)
    names = ["dial", "busy", "ringback", "congestion", "sit"]
    if plan == "us":
        names += [n for n in p.tones if n.startswith("sit_")]
    labels, sigs = [], []
    for name in names:
        spec = p.tone(name)
        nominal = spec.steps[0].components[0].level_dbm0
        sigs.append(tones.generate(plan, name, seconds))
        ours = tones.generate(plan, name, seconds, level_offset_db=-30 - nominal).astype(float)
        sigs.append(with_noise(ours, -30, 20, rng))
        sigs.append(with_noise(numpy_tone(spec, seconds, -30), -30, 20, rng))
        labels += [(name, "nominal"), (name, "ours -30"), (name, "numpy -30")]
    return labels, np.array(sigs)


def expected_kind(plan, name):
    if name.startswith("sit"):
        return "sit"
    if plan == "jp" and name == "congestion":
        return "busy"  # Japan signals congestion with the busy tone
    return EXPECT[name]


@pytest.mark.parametrize("plan", ["us", "etsi", "cn", "uk", "de", "fr", "jp"])
def test_every_tone_of_every_plan_is_classified(plan):
    rng = np.random.default_rng(abs(hash(plan)) % 1000)
    labels, x = plan_signals(plan, rng)
    det = progress.CallProgressDetector(x.shape[0], plan)
    per = by_channel(feed(det, x, rng), x.shape[0])
    for (name, how), evs in zip(labels, per):
        kinds = [e.kind for e in evs if e.kind in TONE_KINDS]
        want = expected_kind(plan, name)
        assert kinds and set(kinds) == {want}, (plan, name, how, [(e.kind, e.sample, e.detail) for e in evs])
        if name.startswith("sit_"):
            assert {e.detail for e in evs if e.kind == "sit"} == {name[4:]}, (name, how, evs)
        elif name == "sit":
            assert {e.detail for e in evs if e.kind == "sit"} == {"intercept" if plan == "us" else "itu"}
        assert "voice" not in {e.kind for e in evs}, (plan, name, how, evs)


def test_stutter_dial_tone_is_reported_as_stutter():
    rng = np.random.default_rng(13)
    for plan in tp.plan_names():
        x = np.array([tones.generate(plan, "stutter_dial", 8.0),
                      with_noise(numpy_tone(tp.get_plan(plan).tone("stutter_dial"), 8.0, -30), -30, 20, rng)])
        for evs in by_channel(feed(progress.CallProgressDetector(2, plan), x, rng), 2):
            assert [(e.kind, e.detail) for e in evs] == [("dial_tone", "stutter")], (plan, evs)


def test_detection_latency_follows_the_cadence():
    rng = np.random.default_rng(3)
    x = np.array([tones.generate("us", t, 8.0) for t in ("busy", "congestion", "ringback", "dial")])
    det = progress.CallProgressDetector(4, "us")
    per = by_channel(feed(det, x, rng), 4)
    first = [evs[0].sample / RATE for evs in per]
    assert 2.0 <= first[0] <= 2.2  # busy: on, off, on, off (4 x 0.5 s) confirmed when the third burst starts
    assert 1.0 <= first[1] <= 1.1  # congestion: 4 x 0.25 s
    assert 6.0 <= first[2] <= 6.1  # ringback: 2 s on, 4 s off
    assert 1.0 <= first[3] <= 1.05  # dial tone: 1 s continuous


def test_busy_congestion_ringback_never_confused_at_low_level():
    rng = np.random.default_rng(11)
    for plan in ("us", "etsi", "uk", "cn"):
        p = tp.get_plan(plan)
        sigs, want = [], []
        for name in ("busy", "congestion", "ringback"):
            for level in (-20, -35, -40):
                sigs.append(with_noise(numpy_tone(p.tone(name), 14, level), level, 20, rng))
                want.append(EXPECT[name])
        det = progress.CallProgressDetector(len(sigs), plan)
        per = by_channel(feed(det, np.array(sigs), rng), len(sigs))
        for w, evs in zip(want, per):
            assert {e.kind for e in evs if e.kind in TONE_KINDS} == {w}, (plan, w, evs)


def fax_signals(rng):
    n = 8 * RATE
    t = np.arange(n) / RATE
    cng = np.where((np.arange(n) % 28000) < 4000, np.sin(2 * np.pi * 1100 * t), 0.0)
    ced = np.sin(2 * np.pi * 2100 * t)
    ced[int(3.3 * RATE):] = 0
    # CED with a phase reversal every 450 ms, and ANSam (15 Hz AM, 20 %) with reversals (V.8)
    flips = np.where((np.arange(n) // 3600) % 2, -1.0, 1.0)
    ced_pr = ced * flips
    ansam = ced_pr * (1 + 0.2 * np.sin(2 * np.pi * 15 * t))
    amp = tp.amplitude(-30)
    return [with_noise(s * amp, -30, 20, rng) for s in (cng, ced, ced_pr, ansam)]


def test_fax_cng_and_ced_with_and_without_phase_reversals():
    rng = np.random.default_rng(8)
    x = np.array(fax_signals(rng))
    det = progress.CallProgressDetector(4, "etsi")
    per = by_channel(feed(det, x, rng), 4)
    want = ["fax_cng", "fax_ced", "fax_ced", "fax_ced"]
    for w, evs in zip(want, per):
        assert {e.kind for e in evs if e.kind in TONE_KINDS} == {w}, (w, evs)
    assert per[0][0].sample <= 4480  # one 0.5 s burst is enough
    assert 4000 <= per[1][0].sample <= 4400  # CED after 0.5 s


def test_silence_after_a_second_of_quiet():
    rng = np.random.default_rng(2)
    quiet = with_noise(np.zeros(3 * RATE), -60, 0, rng)
    x = np.array([np.zeros(3 * RATE, np.int16), quiet])
    det = progress.CallProgressDetector(2)
    evs = feed(det, x, rng)
    assert [(e.channel, e.kind, e.sample) for e in evs] == [(0, "silence", 8000), (1, "silence", 8000)]


def test_silence_is_held_off_during_a_ringback_pause_and_follows_its_end():
    x = tones.generate("us", "ringback", 6.0)
    x = np.concatenate([x[:2 * RATE], np.zeros(10 * RATE, np.int16)])
    det = progress.CallProgressDetector(1)
    evs = det.process(x)
    assert [e.kind for e in evs] == ["silence"]
    assert evs[0].sample >= 6 * RATE  # not inside what could be a 4 s ringback pause


def speech_like(rng, seconds=4.0):
    """Return noise shaped like speech: low-passed, syllabic (4 Hz) envelope, pauses."""
    n = int(seconds * RATE)
    noise = np.convolve(rng.normal(0, 1, n), np.hanning(6), mode="same")
    env = np.clip(np.sin(2 * np.pi * 4 * np.arange(n) / RATE) + 0.3, 0, None)
    x = noise * env
    return x / np.sqrt(np.mean(x ** 2)) * tp.amplitude(-20) / np.sqrt(2)


def test_modulated_noise_is_voice_not_a_tone():
    rng = np.random.default_rng(4)
    x = np.array([with_noise(speech_like(rng), -70, 0, rng) for _ in range(3)])
    for plan in ("us", "etsi", "cn"):
        per = by_channel(feed(progress.CallProgressDetector(3, plan), x, rng), 3)
        for evs in per:
            kinds = [e.kind for e in evs]
            assert "voice" in kinds and not TONE_KINDS & set(kinds), (plan, evs)


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed")
    from pycallcenter.dsp.audio import read_audio

    path = tmp_path_factory.mktemp("speech") / "hello.wav"
    text = "Hello, you have reached the sales department. Please hold while we connect your call. Thank you."
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    x = read_audio(path).astype(float)
    x = x / np.sqrt(np.mean(x ** 2)) * tp.amplitude(-20) / np.sqrt(2)
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def test_espeak_speech_is_voice_not_a_tone(speech):
    rng = np.random.default_rng(6)
    for plan in tp.plan_names():
        evs = feed(progress.CallProgressDetector(1, plan), speech[None, :], rng)
        kinds = [e.kind for e in evs]
        assert kinds[0] == "voice" and not TONE_KINDS & set(kinds), (plan, evs)


def test_voice_then_busy_on_one_channel():
    rng = np.random.default_rng(9)
    x = np.concatenate([with_noise(speech_like(rng, 2.0), -70, 0, rng), np.zeros(RATE, np.int16),
                        tones.generate("us", "busy", 4.0)])
    kinds = [e.kind for e in feed(progress.CallProgressDetector(1), x[None, :], rng)]
    assert kinds == ["voice", "silence", "busy"]


def test_events_do_not_depend_on_tick_size():
    rng = np.random.default_rng(12)
    labels, x = plan_signals("uk", rng, seconds=6.0)
    whole = progress.CallProgressDetector(x.shape[0], "uk").process(x)
    assert whole
    for max_tick in (2, 161, 1000):
        assert feed(progress.CallProgressDetector(x.shape[0], "uk"), x, rng, max_tick) == whole
    one = progress.CallProgressDetector(1, "uk")
    assert one.process(x[3]) == [e._replace(channel=0) for e in whole if e.channel == 3]


def mixed_batch(rng, seconds=9.0):
    n = int(seconds * RATE)
    sigs = [tones.generate("etsi", t, seconds) for t in ("busy", "congestion", "ringback", "dial", "sit", "stutter")]
    sigs += [with_noise(numpy_tone(tp.get_plan("us").tone("sit_no_circuit"), seconds, -30), -30, 20, rng)]
    sigs += [np.resize(f, n) for f in fax_signals(rng)]
    sigs += [with_noise(speech_like(rng, seconds), -70, 0, rng), np.zeros(n, np.int16)]
    return np.array(sigs)


def test_native_equals_twin_on_tones_fax_voice_and_silence():
    rng = np.random.default_rng(21)
    x = mixed_batch(rng)
    seeds = (5, 5)
    a = feed(progress.CallProgressDetector(x.shape[0], "etsi"), x, np.random.default_rng(seeds[0]))
    b = feed(ref.CallProgressDetector(x.shape[0], "etsi"), x, np.random.default_rng(seeds[1]))
    assert a == b and len({e.kind for e in a}) >= 6


@given(data=st.data(), channels=st.integers(1, 3), scale=st.sampled_from([0, 3, 300, 30000]))
def test_native_equals_twin_on_random_audio(data, channels, scale):
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = data.draw(st.integers(1, 2000))
    x = np.clip(rng.normal(0, scale + 1e-9, (channels, n)), -32768, 32767).astype(np.int16)
    if data.draw(st.booleans()):
        x[:, : n // 2] = tones.generate("us", "congestion", n / RATE)[: n // 2]
    a, b = progress.CallProgressDetector(channels), ref.CallProgressDetector(channels)
    ticks = data.draw(st.lists(st.integers(1, 400), min_size=1, max_size=8))
    pos, i = 0, 0
    while pos < n:
        k = ticks[i % len(ticks)]
        assert a.process(x[:, pos:pos + k]) == b.process(x[:, pos:pos + k])
        pos, i = pos + k, i + 1


def test_native_layout_matches_twin():
    from pycallcenter._native import progress as native

    lay = native.layout()
    assert lay["ST_SIZE"] == ref.ST_SIZE and lay["ST_SEG"] == ref.ST_SEG and lay["ST_HIST"] == ref.ST_HIST
    assert lay["HIST"] == ref.HIST and lay["FRAME"] == ref.FRAME and lay["K_VOICE"] == ref.K_VOICE
    assert lay["P_TONE_RESET"] == ref.P["tone_reset_frames"] and lay["T_SEG_N"] == ref.ST["seg_n"]


def test_bad_input():
    with pytest.raises(TypeError):
        progress.CallProgressDetector(2.0)
    with pytest.raises(ValueError):
        progress.CallProgressDetector(0)
    with pytest.raises(ValueError):
        progress.CallProgressDetector(1, plan="mars")
    with pytest.raises(ValueError):
        progress.CallProgressDetector(1, min_fit=1.5)
    det = progress.CallProgressDetector(2)
    with pytest.raises(TypeError):
        det.process(np.zeros((2, 160), np.float32))
    with pytest.raises(TypeError):
        det.process([0] * 160)
    with pytest.raises(ValueError):
        det.process(np.zeros((3, 160), np.int16))
    with pytest.raises(ValueError):
        det.process(np.zeros((2, 0), np.int16))
    with pytest.raises(ValueError):
        det.process(np.zeros((2, 2, 160), np.int16))
    assert det.process(np.zeros((2, 100), np.int16)) == []


@pytest.mark.peer
def test_spandsp_agrees_both_ways():
    """spandsp's super_tone_rx recognises our US tones, and our detector recognises spandsp's tone_gen output."""
    try:
        from peers import spandsp_tones
    except ImportError as exc:  # pragma: no cover - the peer's header is missing
        pytest.skip(str(exc))
    names = ("dial", "busy", "congestion", "ringback")
    x = np.array([tones.generate("us", t, 8.0) for t in names])
    rx = spandsp_tones.SuperToneReceivers(4)
    for i in range(0, x.shape[1], 160):
        rx.process(x[:, i:i + 160])
    assert [rx.reports(c)[0][0] for c in range(4)] == list(names)
    gens = [spandsp_tones.ToneGenerators(1, 350, -13, 440, -13, 1000, 0),
            spandsp_tones.ToneGenerators(1, 480, -24, 620, -24, 500, 500),
            spandsp_tones.ToneGenerators(1, 480, -24, 620, -24, 250, 250),
            spandsp_tones.ToneGenerators(1, 440, -19, 480, -19, 2000, 4000)]
    y = np.concatenate([np.concatenate([g.process(160) for _ in range(50 * 8)], axis=1) for g in gens])
    per = by_channel(progress.CallProgressDetector(4, "us").process(y), 4)
    assert [evs[0].kind for evs in per] == ["dial_tone", "busy", "congestion", "ringback"]


def test_one_long_block_equals_ticks():
    """A block longer than the kernel's chunk gives the same events as tick-by-tick feeding."""
    rng = np.random.default_rng(14)
    x = np.array([tones.generate("us", t, 12.0) for t in ("busy", "ringback", "sit_reorder")])
    whole = progress.CallProgressDetector(3).process(x)
    assert [e.kind for e in whole] == ["sit", "busy", "silence", "ringback"]
    assert feed(progress.CallProgressDetector(3), x, rng) == whole


def test_custom_plan_object():
    """A TonePlan built by the caller works like a named one; one without a busy tone is refused."""
    base = tp.get_plan("etsi")
    custom = tp.TonePlan("mine", "400 Hz test plan", {
        "dial": tp.cadenced("dial", [400], -10),
        "busy": tp.cadenced("busy", [400], -10, [(600, 600)]),
        "congestion": tp.cadenced("congestion", [400], -10, [(200, 200)]),
        "ringback": tp.cadenced("ringback", [400], -10, [(800, 3200)]),
    }, ((1000, 4000),))
    x = np.array([tones.generate(custom, t, 6.0) for t in ("busy", "congestion", "ringback")])
    per = by_channel(progress.CallProgressDetector(3, custom).process(x), 3)
    assert [{e.kind for e in evs} for evs in per] == [{"busy"}, {"congestion"}, {"ringback"}]
    with pytest.raises(ValueError):
        progress.CallProgressDetector(1, tp.TonePlan("bad", "", {"dial": base.tone("dial")}, ((1000, 4000),)))
