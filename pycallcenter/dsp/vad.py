"""Voice activity over many 30 ms frames in one call: webrtcvad's own detector (its C function, on the
caller's webrtcvad.Vad state) run over the listed frames in a native loop that releases the GIL, so a
recording's voice statistics can be counted on a writer thread while the engine's tick goes on.
pycallcenter.dsp.reference.vad is the specification (the same decisions, one is_speech() call a frame)."""
import numpy as np

from pycallcenter._native import vadbatch as _native
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.dsp.reference import vad as _reference


def _bind():
    """Return True when webrtcvad's extension module gives the detector's C function to the kernel."""
    import _webrtcvad

    try:
        _native.bind(_webrtcvad.__file__)
    except (ImportError, AttributeError, TypeError):
        return False
    return True


NATIVE = _bind()  # False with a webrtcvad build that hides the function: the reference loop runs instead


def count_speech(vad, frames, ask):
    """Return how many of frames[ask] (rows of an int16 (n, samples) array, asked in that order) the
    webrtcvad.Vad calls speech; at 8 kHz, frames of 80, 160 or 240 samples."""
    if not NATIVE:
        return _reference.count_speech(vad, frames, ask)
    return _native.count_speech(vad._vad, np.ascontiguousarray(frames, np.int16),
                                np.ascontiguousarray(ask, np.int_), SAMPLE_RATE)
