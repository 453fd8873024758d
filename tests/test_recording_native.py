"""The writer thread's native hand-over (dsp/recwrite.py, _native/recwrite.pyx) against its specification,
the Recorder's Python path: the same part file, byte for byte, after every hand-over, and the same voice
counts, for every mode (mono mix, stereo, caller only) and file type, any rotation of the ring's copy."""
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pycallcenter.dsp import recwrite
from pycallcenter.engine.recording import Recorder

pytestmark = pytest.mark.skipif(not recwrite.NATIVE, reason="webrtcvad's detector is not reachable natively")


def _stretch(rng, n):
    """Return n samples of what a recorded row carries: voice-like noise, hiss, digital silence, loud clips."""
    kind = rng.integers(4)
    if kind == 0:
        return (rng.standard_normal(n) * 4000).clip(-32768, 32767).astype(np.int16)
    if kind == 1:
        return rng.integers(12, 20, n).astype(np.int16)
    if kind == 2:
        return np.full(n, rng.integers(-3, 3), np.int16)
    return rng.choice(np.array([-32768, 32767, 30000, -30000], np.int16), n)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), subtype=st.sampled_from(["PCM_16", "ULAW", "ALAW"]),
       mode=st.sampled_from(["mono", "stereo", "caller"]),
       lengths=st.lists(st.integers(0, 8000), min_size=1, max_size=6))
def test_the_native_hand_over_writes_and_counts_what_the_python_path_does(tmp_path_factory, seed, subtype, mode,
                                                                        lengths):
    folder = tmp_path_factory.mktemp("rec")
    kw = {"stereo": mode == "stereo", "caller_only": mode == "caller", "subtype": subtype, "flush_seconds": 0.1}
    fast = Recorder(str(folder / "native.wav"), 0, **kw)
    spec = Recorder(str(folder / "python.wav"), 0, **kw)
    spec._native = None
    assert fast._native is not None
    rng = np.random.default_rng(seed)
    for n in lengths:
        pieces = [_stretch(rng, k) for k in np.diff(np.sort(np.r_[0, rng.integers(0, n + 1, 3), n]))]
        caller = np.concatenate(pieces) if n else np.zeros(0, np.int16)
        # what the caller hears is often silence, so the mix has long stretches of digital silence too
        heard = _stretch(rng, n) if n and rng.integers(2) else np.zeros(n, np.int16)
        split = int(rng.integers(n)) if n else 0
        for rec in (fast, spec):
            job = rec.handed(caller.copy(), heard.copy(), split)
            if job is not None:
                owner, run, args = job
                run(*args)
        with open(fast.part, "rb") as a, open(spec.part, "rb") as b:
            assert a.read() == b.read()
        assert (fast.voice_frames, fast.silence_frames, fast._still_run) == \
            (spec.voice_frames, spec.silence_frames, spec._still_run)
        assert fast._file.frames == spec._file.frames and fast.error is None and spec.error is None
    one, two = fast.stop(), spec.stop()
    with open(one["path"], "rb") as a, open(two["path"], "rb") as b:
        assert a.read() == b.read()


def test_a_write_to_a_full_disk_cuts_the_file_back_and_says_so_as_the_python_path_does(tmp_path):
    recs = [Recorder(str(tmp_path / f"{k}.wav"), 0, subtype="ULAW") for k in ("native", "python")]
    recs[1]._native = None
    sound = np.full(8000, 3000, np.int16)
    for rec in recs:
        rec.handed(sound, sound, 0)[1](sound, sound, True)  # a second written and counted
        dev_full = os.open("/dev/full", os.O_WRONLY)
        os.dup2(dev_full, rec._file.fd)
        os.close(dev_full)
        rec._mix_and_write(sound, sound, True)
    assert recs[0].error == recs[1].error == "[Errno 28] No space left on device"
    assert recs[0]._file.frames == recs[1]._file.frames == 8000


def test_bad_arguments_are_refused_with_one_clear_line():
    x = np.zeros(10, np.int16)
    vad = __import__("webrtcvad").Vad(2)._vad
    with pytest.raises(ValueError, match="split 10 is outside 0..9"):
        recwrite.hand_over(x, x, 10, recwrite.MONO, recwrite.PCM, -1, b"", 0, vad, 0, 4, 240, 8000)
    with pytest.raises(ValueError, match="same length"):
        recwrite.hand_over(x, x[:5], 0, recwrite.MONO, recwrite.PCM, -1, b"", 0, vad, 0, 4, 240, 8000)
    with pytest.raises(ValueError, match="unknown mode 7"):
        recwrite.hand_over(x, x, 0, 7, recwrite.PCM, -1, b"", 0, vad, 0, 4, 240, 8000)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), rows=st.integers(1, 40), slots=st.integers(1, 64),
       bs=st.sampled_from([80, 160, 640]), ticks=st.integers(1, 5))
def test_the_gather_copies_each_row_into_its_slot_as_fancy_indexing_does(seed, rows, slots, bs, ticks):
    rng = np.random.default_rng(seed)
    rx, tx = (rng.integers(-32768, 32767, (rows, bs), dtype=np.int16) for _ in range(2))
    k = int(rng.integers(0, min(rows, slots) + 1))
    which, where = rng.permutation(rows)[:k].astype(np.intp), rng.permutation(slots)[:k].astype(np.intp)
    ring = rng.integers(-9, 9, (slots, 2, ticks * bs), dtype=np.int16)
    want = ring.copy()
    lo = int(rng.integers(ticks)) * bs
    want[where, 0, lo:lo + bs] = rx[which]
    want[where, 1, lo:lo + bs] = tx[which]
    recwrite.gather(rx, tx, which, ring, where, lo)
    assert np.array_equal(ring, want)


def test_a_gather_outside_the_ring_is_refused():
    x = np.zeros((2, 160), np.int16)
    ring = np.zeros((2, 2, 320), np.int16)
    with pytest.raises(ValueError, match="does not fit the ring"):
        recwrite.gather(x, x, np.array([0], np.intp), ring, np.array([0], np.intp), 200)
    with pytest.raises(IndexError, match="row 5 or slot 0"):
        recwrite.gather(x, x, np.array([5], np.intp), ring, np.array([0], np.intp), 0)
