"""A mono recording's samples: the two directions summed and clipped to int16, exactly as np.clip would."""
import numpy as np

from pycallcenter.engine.recording import mix


def test_mix_sums_and_clips_like_np_clip_at_every_edge():
    edges = np.array([-32768, -32767, -16384, -1, 0, 1, 16383, 32766, 32767], np.int16)
    a, b = (g.ravel() for g in np.meshgrid(edges, edges))
    rng = np.random.default_rng(7)
    a = np.concatenate([a, rng.integers(-32768, 32768, 8000).astype(np.int16)])
    b = np.concatenate([b, rng.integers(-32768, 32768, 8000).astype(np.int16)])
    got = mix(a, b)
    assert got.dtype == np.int16
    assert np.array_equal(got, np.clip(a.astype(np.int32) + b, -32768, 32767).astype(np.int16))
