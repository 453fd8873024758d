"""spandsp 0.0.6 ADSI receivers for many channels in one C loop: the yardstick of bench/bench_fsk.py.

peers/spandsp.py has single-shot adsi_receive(); a benchmark needs per-channel receivers fed one
tick at a time without Python in the loop, which this module adds (own cffi module name).
"""
import cffi
import numpy as np

from peers import compile_peer
from peers.spandsp import HEADERS

_CDEF = """
typedef struct adsi_rx_state_s adsi_rx_state_t;
typedef struct { adsi_rx_state_t *s; int n; int len; unsigned char last[256]; } peer_fsk_t;
peer_fsk_t *peer_fsk_new(int standard);
void peer_fsk_free(peer_fsk_t *p);
void peer_fsk_batch(peer_fsk_t **ps, int channels, const int16_t *amp, int samples);
"""

_SOURCE = """
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

typedef struct { adsi_rx_state_t *s; int n; int len; unsigned char last[256]; } peer_fsk_t;

static void peer_fsk_put(void *user, const uint8_t *msg, int len)
{
    peer_fsk_t *p = (peer_fsk_t *) user;
    if (len < 0) return;
    if (len > 256) len = 256;
    memcpy(p->last, msg, len);
    p->len = len;
    p->n++;
}

peer_fsk_t *peer_fsk_new(int standard)
{
    peer_fsk_t *p = calloc(1, sizeof(*p));
    p->s = adsi_rx_init(NULL, standard, peer_fsk_put, p);
    return p;
}

void peer_fsk_free(peer_fsk_t *p)
{
    adsi_rx_free(p->s);
    free(p);
}

void peer_fsk_batch(peer_fsk_t **ps, int channels, const int16_t *amp, int samples)
{
    for (int c = 0; c < channels; c++)
        adsi_rx(ps[c]->s, amp + (long) c * samples, samples);
}
"""


def load():
    """Return the compiled cffi module (``.ffi``, ``.lib``); raises peers.PeerUnavailable."""
    ffibuilder = cffi.FFI()
    ffibuilder.cdef(_CDEF)
    ffibuilder.set_source("_peer_spandsp_fsk", _SOURCE, libraries=["spandsp", "tiff", "m"])
    return compile_peer(ffibuilder, "_peer_spandsp_fsk", HEADERS)


class AdsiReceivers:
    """spandsp adsi_rx on many channels; ``process(batch)`` feeds one (channels, samples) int16 tick."""

    def __init__(self, channels, standard):
        self.mod = load()
        lib, ffi = self.mod.lib, self.mod.ffi
        self._states = [ffi.gc(lib.peer_fsk_new(standard), lib.peer_fsk_free) for _ in range(channels)]
        self._array = ffi.new("peer_fsk_t *[]", self._states)

    def process(self, batch):
        """Feed one tick to every receiver."""
        batch = np.ascontiguousarray(batch, dtype=np.int16)
        self.mod.lib.peer_fsk_batch(self._array, batch.shape[0], self.mod.ffi.cast("int16_t *", batch.ctypes.data),
                                    batch.shape[1])

    def messages(self, channel):
        """Return (count, last message bytes without checksum) received on a channel."""
        s = self._states[channel]
        return s.n, bytes(self.mod.ffi.buffer(s.last, s.len))
