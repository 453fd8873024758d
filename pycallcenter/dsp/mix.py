"""The media plane's mix: int16 rows (what talkers send, tones, prompts) added into an int32 accumulator, one
native call a batch of rows. The numpy twin is ``pycallcenter.dsp.reference.mix``."""
import numpy as np

from pycallcenter._native import mix as _native

_NONE = np.zeros(0, np.uint8)


def add_rows(acc, live, dst, block, src, silent=None):
    """Add block[src[i]] into acc[dst[i]] for each i and flag each dst row in live (rows of acc not flagged must be
    zero); rows of block flagged in silent (uint8 per block row) add nothing; return None."""
    for name, a, dtype, ndim in (("acc", acc, np.int32, 2), ("live", live, np.uint8, 1), ("dst", dst, np.intp, 1),
                                 ("block", block, np.int16, 2), ("src", src, np.intp, 1)):
        if not isinstance(a, np.ndarray) or a.dtype != dtype or a.ndim != ndim:
            raise TypeError(f"{name}: expected a {ndim}-D numpy array of {np.dtype(dtype)}")
    _native.add_rows(acc, live, dst, np.ascontiguousarray(block), src, _NONE if silent is None else silent)


def play_blocks(acc, live, players, block):
    """Add the next block of every player ({row: media.Player}) whose current prompt holds it with a sample to
    spare into acc[row], flag the row in live and move the player on; return the rows left to the players'
    own fill (a prompt ending, or the queue over), in the dict's order."""
    if not isinstance(acc, np.ndarray) or acc.dtype != np.int32 or acc.ndim != 2:
        raise TypeError("acc: expected a 2-D numpy array of int32")
    if not isinstance(live, np.ndarray) or live.dtype != np.uint8 or live.ndim != 1:
        raise TypeError("live: expected a 1-D numpy array of uint8")
    return _native.play_blocks(acc, live, players, block)
