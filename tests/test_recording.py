"""Call recording: stereo/mono, WAV/FLAC, pause, beep, voicemail-style record(), crash safety."""
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import soundfile as sf

from engine_rig import analog_engine
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine.recording import recording_path, recover


def _tone(freq, seconds, amp=8000):
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def _peak_hz(x):
    x = np.asarray(x, float)
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return np.argmax(spec) * SAMPLE_RATE / x.size


def test_stereo_recording_of_a_bridged_call_keeps_caller_left_and_agent_right(tmp_path):
    eng, ends = analog_engine()
    eng.recordings_dir = str(tmp_path)
    stats = []

    async def script(call):
        rec = call.start_recording(stereo=True, fmt="flac")
        d = await call.dial("channel/2", timeout=20)
        await call.wait(2.0) if d.outcome != "answered" else None
        if d.outcome == "answered":
            await call.bridge(d.leg)
        stats.append(rec)

    eng.router = lambda leg: script
    alice, bob = ends["alice"], ends["bob"]
    alice.off_hook()
    eng.run(seconds=1.0)
    bob.off_hook()
    eng.run(seconds=0.5)
    alice.write_audio(_tone(700, 2.0))
    bob.write_audio(_tone(1300, 2.0))
    eng.run(seconds=2.0)
    alice.on_hook()
    eng.run(seconds=2.0)
    (done,) = eng.recordings
    assert done["path"].endswith(".flac") and os.path.exists(done["path"])
    assert not any(p.endswith(".part.wav") for _, _, fs in os.walk(tmp_path) for p in fs)
    data, rate = sf.read(done["path"], dtype="int16")
    assert rate == 8000 and data.shape[1] == 2
    talk = data[-int(2.5 * SAMPLE_RATE):-int(1.0 * SAMPLE_RATE)]
    assert abs(_peak_hz(talk[:, 0]) - 700) < 10  # the caller (left)
    assert abs(_peak_hz(talk[:, 1]) - 1300) < 10  # the agent as the caller heard them (right)


def test_record_verb_stops_on_silence_and_trims_it(tmp_path):
    eng, ends = analog_engine()
    results = []

    async def script(call):
        results.append(await call.record(str(tmp_path / "msg.wav"), max_seconds=30, silence_stop=2.0))

    eng.router = lambda leg: script
    alice = ends["alice"]
    alice.off_hook()
    eng.run(seconds=0.5)
    # a "voice" (speech-like modulated noise) for 2 s, then silence
    rng = np.random.default_rng(1)
    voice = (rng.standard_normal(2 * SAMPLE_RATE) * 3000 * (1 + np.sin(np.arange(2 * SAMPLE_RATE) / 200))).astype(np.int16)
    alice.write_audio(voice)
    eng.run(seconds=6.0)
    (r,) = results
    assert r.reason == "silence"
    data, _ = sf.read(r.path, dtype="int16")
    assert 1.0 < data.size / SAMPLE_RATE < 2.6  # the trailing silence is trimmed off


def test_record_verb_stops_on_the_terminator_and_on_max_time(tmp_path):
    for action, reason in (("#", "terminator"), (None, "max_time")):
        eng, ends = analog_engine()
        results = []

        async def script(call):
            results.append(await call.record(str(tmp_path / f"{reason}.wav"), max_seconds=3, silence_stop=None))

        eng.router = lambda leg: script
        ends["alice"].off_hook()
        eng.run(seconds=1.0)
        if action:
            ends["alice"].dial(action)
        eng.run(seconds=4.0)
        assert results and results[0].reason == reason
        assert os.path.exists(results[0].path)


def test_pause_leaves_no_gap_and_beep_is_heard(tmp_path):
    eng, ends = analog_engine()
    eng.recordings_dir = str(tmp_path)
    recs = []

    async def script(call):
        rec = call.start_recording(beep_every=1.0)
        recs.append(rec)
        await call.wait(1.0)
        rec.pause()
        await call.wait(1.0)
        rec.resume()
        await call.wait(1.0)
        call.stop_recording(rec)

    eng.router = lambda leg: script
    ends["alice"].off_hook()
    eng.run(seconds=0.1)
    eng.media.stop_tone(eng.legs["L1"].row)
    ends["alice"].read_audio()
    eng.run(seconds=3.5)
    assert abs(recs[0].samples / SAMPLE_RATE - 2.0) < 0.05
    heard = ends["alice"].read_audio()
    from pycallcenter.dsp import g711

    lin = g711.ulaw_decode(heard).astype(float)
    assert abs(_peak_hz(lin[: int(0.2 * SAMPLE_RATE)]) - 1400) < 20


def test_recording_path_names_date_queue_agent_and_call():
    import datetime as dt

    p = recording_path("/rec", "C7", "L9", when=dt.datetime(2026, 11, 22, 9, 30, 5), queue="sales", agent="ann")
    assert p == "/rec/2026/11/22/20261122-093005_sales_ann_C7_L9.wav"


def _recorded_call(folder, epoch, answer_after=0.7):
    """Alice lifts her phone; the script answers after answer_after seconds and records 1 s; return the
    engine's finished recordings."""
    from engine_rig import ANALOG, hang_up
    from pycallcenter.drivers import open_board, parse_config
    from pycallcenter.engine.engine import Engine

    eng = Engine(open_board(parse_config(ANALOG.format(seed=1))), epoch=epoch)
    eng.auto_trunks()
    eng.recordings_dir = str(folder)

    async def script(call):
        await call.wait(answer_after)
        rec = call.start_recording()
        await call.wait(1.0)
        call.stop_recording(rec)
        await call.hangup()

    eng.router = lambda leg: script
    eng.run(seconds=65.0)  # the call starts a minute and five seconds into the board's time
    eng.board.emulator.far_ends["alice"].off_hook()
    eng.run(seconds=2.5)
    hang_up(eng, eng.board.emulator.far_ends["alice"])
    return eng.recordings


def test_recordings_are_filed_by_the_calls_wall_clock_start_from_the_engine_epoch(tmp_path):
    import datetime as dt

    from pycallcenter.storage.cdr import recording_call

    epoch = dt.datetime(2026, 3, 4, 23, 59, 30, tzinfo=dt.timezone.utc).timestamp()
    (rec,) = _recorded_call(tmp_path, epoch)
    # the call started 65 s after sample 0 (plus the debounce of the hook): the next day, 00:00:35 UTC
    rel = os.path.relpath(rec["path"], tmp_path)
    assert rel.startswith(os.path.join("2026", "03", "05", "20260305-0000")) and rel.endswith("_C1_L1.wav")
    stamp = dt.datetime.strptime(os.path.basename(rel)[:15], "%Y%m%d-%H%M%S").replace(tzinfo=dt.timezone.utc)
    assert 65 <= stamp.timestamp() - epoch <= 66
    assert recording_call(rec["path"]) == ("C1", "L1") and 0.9 < sf.info(rec["path"]).duration < 1.1
    # without an epoch the engine takes the wall clock at its sample 0
    eng, _ = analog_engine()
    assert abs(eng.epoch - (__import__("time").time() - eng.now / SAMPLE_RATE)) < 5


def test_a_second_run_never_overwrites_the_first_ones_recordings(tmp_path):
    from pycallcenter.storage.cdr import recording_call

    epoch = 1_767_225_600.0  # a simulated run that repeats: the same epoch, so the same names
    (first,) = _recorded_call(tmp_path, epoch)
    size = os.path.getsize(first["path"])
    (second,) = _recorded_call(tmp_path, epoch, answer_after=0.2)  # same second, another recording
    assert second["path"] != first["path"] and os.path.getsize(first["path"]) == size
    assert os.path.basename(second["path"]) == os.path.basename(first["path"]).replace("_", "-2_", 1)
    assert recording_call(second["path"]) == ("C1", "L1")
    assert sf.info(first["path"]).frames != 0 and sf.info(second["path"]).frames != 0
    assert sorted(os.listdir(os.path.dirname(first["path"]))) == sorted(
        os.path.basename(r["path"]) for r in (first, second))  # no part file or placeholder left over


def test_claim_takes_the_next_free_name_atomically(tmp_path):
    from pycallcenter.engine.recording import claim

    path = str(tmp_path / "d" / "20260101-000000_C1_L1.wav")
    assert claim(path) == path and os.path.getsize(path) == 0
    assert claim(path) == str(tmp_path / "d" / "20260101-000000-2_C1_L1.wav")
    assert claim(path) == str(tmp_path / "d" / "20260101-000000-3_C1_L1.wav")


def test_a_recording_cut_short_by_kill_9_is_readable_to_the_last_flushed_second(tmp_path):
    code = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
        import numpy as np
        from engine_rig import analog_engine
        eng, ends = analog_engine()
        eng.recordings_dir = {str(tmp_path)!r}

        async def script(call):
            call.start_recording()
            await call.wait(60)

        eng.router = lambda leg: script
        ends["alice"].off_hook()
        t = np.arange(8000 * 10) / 8000
        ends["alice"].write_audio((8000 * np.sin(2 * np.pi * 500 * t)).astype(np.int16))
        eng.run(seconds=3.55)
        # the kill comes after the recording thread has written the hand-overs (it runs milliseconds
        # behind them), as a real crash 0.55 s after a hand-over would
        eng.media.bank.worker.wait()
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    parts = [os.path.join(r, f) for r, _, fs in os.walk(tmp_path) for f in fs if f.endswith(".part.wav")]
    assert len(parts) == 1
    data, _ = sf.read(parts[0], dtype="int16")
    assert 3.0 <= data.size / SAMPLE_RATE <= 3.6  # everything up to the last flush (every second)
    (done,) = recover(str(tmp_path))
    again, _ = sf.read(done, dtype="int16")
    assert np.array_equal(again, data) and not os.path.exists(parts[0])


def test_recorder_bank_writes_exactly_what_each_row_carried(tmp_path):
    """Recorders started together, one paused for a while, stopped mid-second: files hold exactly the ticks."""
    from pycallcenter.engine.recording import Recorder, RecorderBank

    rows, bs = 5, 160
    bank = RecorderBank(bs)
    recs = [Recorder(str(tmp_path / f"r{r}.wav"), r, stereo=(r == 1), caller_only=(r == 2)) for r in range(rows)]
    for rec in recs:
        bank.add(rec)
    rng = np.random.default_rng(7)
    expected = {r: [] for r in range(rows)}
    for t in range(137):  # 2.74 s
        rx = rng.integers(-9000, 9000, (rows, bs), dtype=np.int16)
        tx = rng.integers(-9000, 9000, (rows, bs), dtype=np.int16)
        if t == 40:
            recs[3].pause()
        if t == 90:
            recs[3].resume()
        for r, rec in enumerate(recs):
            if not rec.paused:
                expected[r].append(rec.frames_of(rx, tx))
        bank.tick(rx, tx)
    for rec in recs:
        bank.remove(rec)
        rec.stop()
    for r, rec in enumerate(recs):
        data, _ = sf.read(rec.path, dtype="int16")
        want = np.concatenate(expected[r])
        assert data.shape == want.shape and np.array_equal(data, want), r
    assert recs[3].samples == (137 - 50) * bs


def test_ulaw_wav_recordings_keep_g711(tmp_path):
    from pycallcenter.engine.recording import Recorder

    rec = Recorder(str(tmp_path / "c.wav"), 0, subtype="ULAW")
    rx = np.zeros((1, 160), np.int16)
    tx = (8000 * np.sin(np.arange(160) / 5)).astype(np.int16)[None, :]
    for _ in range(60):
        rec.write_tick(rx, tx)
    stats = rec.stop(trim=False)
    info = sf.info(stats["path"])
    assert info.subtype == "ULAW" and info.frames == 60 * 160
    assert os.path.getsize(stats["path"]) < 60 * 160 + 200  # one byte a sample


def test_voice_statistics_match_webrtcvad_on_every_frame_of_the_file_while_skipping_digital_silence(tmp_path,
                                                                                                   monkeypatch):
    """The counts are those webrtcvad gives when it sees every 30 ms frame of what the file holds (the G.711
    codes decoded), yet frames of digital silence in the file past the detector's hangover are not sent to
    it: an idle line, and noise below the codec's smallest step, which varies the linear samples but is one
    code in the file."""
    import webrtcvad

    from pycallcenter.engine.recording import VAD_FRAME, Recorder

    rng = np.random.default_rng(3)
    n = 2 * SAMPLE_RATE
    talk = (rng.standard_normal(n) * 3000 * (1 + np.sin(np.arange(n) / 200))).astype(np.int16)
    idle = np.full(5 * SAMPLE_RATE, 16, np.int16)  # an idle A-law line both ways, mixed
    hiss = rng.integers(12, 20, 5 * SAMPLE_RATE).astype(np.int16)  # an echo canceller's residue: one mu-law code
    signal = np.concatenate([idle[:SAMPLE_RATE], talk, idle, talk[:SAMPLE_RATE], hiss, idle, _tone(440, 1.0)])
    from pycallcenter.dsp import vad as voice

    rec = Recorder(str(tmp_path / "v.wav"), 0, subtype="ULAW")
    asked = []
    real = voice.count_speech

    def counting(vad, frames, ask):
        asked.extend(ask)
        return real(vad, frames, ask)

    monkeypatch.setattr(voice, "count_speech", counting)
    for i in range(0, signal.size, SAMPLE_RATE):  # the bank hands over a second at a time
        rec.write_chunk(signal[i:i + SAMPLE_RATE])
    stats = rec.stop()
    data, _ = sf.read(stats["path"], dtype="int16")
    ref = webrtcvad.Vad(2)
    want = 0
    total = 0
    for i in range(0, data.size, SAMPLE_RATE):
        chunk = data[i:i + SAMPLE_RATE]
        for j in range(0, chunk.size - VAD_FRAME + 1, VAD_FRAME):
            want += ref.is_speech(chunk[j:j + VAD_FRAME].tobytes(), SAMPLE_RATE)
            total += 1
    assert (rec.voice_frames, rec.voice_frames + rec.silence_frames) == (want, total)
    assert 0.2 < stats["voice_ratio"] < 0.5
    assert len(asked) < total / 3  # the silent stretches, the hiss among them, cost no detector calls
    assert data.size == signal.size and abs(_peak_hz(data[-SAMPLE_RATE:]) - 440) < 10


def test_recover_finishes_a_claimed_flac_recording_in_its_own_name_and_format(tmp_path):
    from pycallcenter.engine.recording import Recorder, claim

    path = claim(str(tmp_path / "2026" / "20260101-000000_C1_L1.flac"))
    rec = Recorder(path, 0)
    rec.write_chunk(_tone(500, 1.5))  # a second and a half: the first second's header is on disk
    # the process dies here: the placeholder is empty, the part file holds what was flushed
    assert os.path.getsize(path) == 0
    assert recover(str(tmp_path)) == [path]
    data, rate = sf.read(path, dtype="int16")
    assert sf.info(path).format == "FLAC" and data.size >= SAMPLE_RATE and abs(_peak_hz(data) - 500) < 10
    assert os.listdir(os.path.dirname(path)) == [os.path.basename(path)]
