"""The recorder bank's per-tick gather into its ring, and a recording's hand-over written in one native call without the GIL (``_native/recwrite.pyx``): mix or
interleave, G.711 encode, append to the part file, rewrite the header's counts, count the voice with
webrtcvad's own detector. Its specification is the Recorder's Python path in
``pycallcenter.engine.recording`` (numpy, os.write, dsp.vad), which the tests hold it to."""
import sys

from pycallcenter._native import recwrite as _native
from pycallcenter._native import vadbatch as _vadbatch
from pycallcenter.dsp import vad as _vad

CALLER, MONO, STEREO = _native.CALLER, _native.MONO, _native.STEREO
PCM, ULAW, ALAW = _native.PCM, _native.ULAW, _native.ALAW
OK, WRITE_FAILED, HEADER_FAILED, DETECTOR_REFUSED = (_native.OK, _native.WRITE_FAILED, _native.HEADER_FAILED,
                                                     _native.DETECTOR_REFUSED)


def _bind():
    """Return True when the kernel can call webrtcvad's detector and write the file's little-endian PCM."""
    if not _vad.NATIVE or sys.byteorder != "little":
        return False
    _native.bind(_vadbatch.address())
    return True


NATIVE = _bind()  # False: the Recorder's Python path writes instead
hand_over = _native.hand_over
gather = _native.gather  # a tick of the recorded rows into the bank's ring; needs no detector
