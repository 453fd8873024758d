"""The specification of the batched voice detector (pycallcenter.dsp.vad): webrtcvad asked about each
listed frame in turn, one is_speech() call a frame."""
from pycallcenter.dsp import SAMPLE_RATE


def count_speech(vad, frames, ask):
    """Return how many of frames[ask[0]], frames[ask[1]], ... (int16 rows) the webrtcvad.Vad calls speech,
    asking in that order (its state carries from frame to frame)."""
    return sum(vad.is_speech(frames[i].tobytes(), SAMPLE_RATE) for i in ask)
