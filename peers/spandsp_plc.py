"""spandsp 0.0.6 packet-loss concealment (plc_rx / plc_fillin), batched in C over channels and frames.

Test and benchmark yardstick only: our G.711 Appendix I concealer (pycallcenter.dsp.plc) is compared with
this one on the same speech and loss patterns. spandsp conceals with no added delay; each channel has its
own plc_state_t, and one cffi call runs a whole block.
"""
import functools

import cffi
import numpy as np

from peers import compile_peer
from peers.spandsp import HEADERS

_CDEF = """
typedef struct plc_state_s plc_state_t;
void *peer_plc_new(void);
void peer_plc_free(void *s);
void peer_plc_batch(void **s, int channels, int16_t *amp, const uint8_t *lost, int frames, int frame_len);
"""

_SOURCE = """
#include <spandsp.h>
void *peer_plc_new(void) { return plc_init(NULL); }
void peer_plc_free(void *s) { plc_free((plc_state_t *) s); }
/* amp is (channels x frames*frame_len), concealed in place; lost is (channels x frames), nonzero = lost */
void peer_plc_batch(void **s, int channels, int16_t *amp, const uint8_t *lost, int frames, int frame_len)
{
    for (int c = 0; c < channels; c++) {
        int16_t *row = amp + (size_t) c * frames * frame_len;
        for (int f = 0; f < frames; f++) {
            if (lost[(size_t) c * frames + f])
                plc_fillin((plc_state_t *) s[c], row + (size_t) f * frame_len, frame_len);
            else
                plc_rx((plc_state_t *) s[c], row + (size_t) f * frame_len, frame_len);
        }
    }
}
"""


@functools.lru_cache(maxsize=None)
def load():
    """Return the compiled cffi module (built on first use); raises peers.PeerUnavailable."""
    ffi = cffi.FFI()
    ffi.cdef(_CDEF)
    ffi.set_source("_peer_spandsp_plc", _SOURCE, libraries=["spandsp"])
    return compile_peer(ffi, "_peer_spandsp_plc", HEADERS)


class Concealer:
    """spandsp concealers for many channels; ``process(block, lost)`` returns the concealed block."""

    delay = 0

    def __init__(self, channels):
        self.mod = load()
        lib, ffi = self.mod.lib, self.mod.ffi
        self.channels = channels
        self._states = [ffi.gc(lib.peer_plc_new(), lib.peer_plc_free) for _ in range(channels)]
        self._array = ffi.new("void *[]", self._states)

    def process(self, block, lost):
        """Return a concealed copy of the (channels, samples) int16 block; lost is (channels, frames) bool."""
        out = np.array(block, dtype=np.int16, order="C", ndmin=2)
        mask = np.ascontiguousarray(np.asarray(lost, dtype=np.uint8).reshape(self.channels, -1))
        self.process_into(out, mask)
        return out

    def process_into(self, block, mask):
        """Conceal a C-contiguous int16 block in place; mask is a C-contiguous uint8 (channels, frames) array."""
        ffi = self.mod.ffi
        frames = mask.shape[1]
        self.mod.lib.peer_plc_batch(self._array, self.channels, ffi.cast("int16_t *", block.ctypes.data),
                                    ffi.cast("uint8_t *", mask.ctypes.data), frames, block.shape[1] // frames)
