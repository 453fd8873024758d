"""The recordings' batched voice detector (pycallcenter.dsp.vad): webrtcvad's own decisions, frame for frame,
as its numpy twin (pycallcenter.dsp.reference.vad, one is_speech() call a frame) gives them."""
import numpy as np
import pytest
import webrtcvad
from hypothesis import given, settings
from hypothesis import strategies as st

from pycallcenter.dsp import vad
from pycallcenter.dsp.reference import vad as reference


def _speechlike(rng, n, size):
    t = np.arange(n * size)
    x = rng.standard_normal(n * size) * rng.uniform(50, 6000) * (1 + np.sin(t / rng.uniform(80, 400)))
    gate = np.sin(t / rng.uniform(800, 6000)) > rng.uniform(-0.5, 0.5)  # talk spurts and pauses
    return (x * gate).clip(-32768, 32767).astype(np.int16).reshape(n, size)


def test_the_kernel_is_bound_to_webrtcvads_own_function():
    assert vad.NATIVE  # the fast path runs here; without it the twin would (and this would say so)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), mode=st.integers(0, 3), size=st.sampled_from([80, 160, 240]),
       share=st.floats(0.05, 1.0))
def test_the_kernel_decides_every_frame_as_webrtcvad_does_with_state_carried_between_calls(seed, mode, size, share):
    rng = np.random.default_rng(seed)
    ours, twin = webrtcvad.Vad(mode), webrtcvad.Vad(mode)
    for _ in range(3):  # three hand-overs: the detector's state carries from one call to the next
        frames = _speechlike(rng, 40, size)
        ask = np.flatnonzero(rng.random(40) < share)
        assert vad.count_speech(ours, frames, ask) == reference.count_speech(twin, frames, ask)


def test_bad_frames_are_refused_with_one_clear_line():
    frames = np.zeros((4, 100), np.int16)  # 12.5 ms: not a length webrtcvad takes
    with pytest.raises(ValueError, match="refused a frame of 100 samples"):
        vad.count_speech(webrtcvad.Vad(2), frames, np.array([0]))
    with pytest.raises(IndexError, match="frame 9 of 4"):
        vad.count_speech(webrtcvad.Vad(2), np.zeros((4, 240), np.int16), np.array([9]))
