"""spandsp 0.0.6 tone generator (tone_gen) and supervisory tone detector (super_tone_rx), batched in C.

Test and benchmark yardstick only: our tone generator and call-progress detector are compared with
these on the same ticks. Each channel has its own spandsp state; one cffi call runs a whole tick.
"""
import cffi
import numpy as np

from peers import compile_peer
from peers.spandsp import HEADERS

_CDEF = """
typedef struct tone_gen_descriptor_s tone_gen_descriptor_t;
typedef struct tone_gen_state_s tone_gen_state_t;
typedef struct super_tone_rx_descriptor_s super_tone_rx_descriptor_t;
typedef struct super_tone_rx_state_s super_tone_rx_state_t;
tone_gen_descriptor_t *tone_gen_descriptor_init(tone_gen_descriptor_t *s, int f1, int l1, int f2, int l2,
                                                int d1, int d2, int d3, int d4, int repeat);
tone_gen_state_t *tone_gen_init(tone_gen_state_t *s, tone_gen_descriptor_t *t);
int tone_gen_free(tone_gen_state_t *s);
super_tone_rx_descriptor_t *super_tone_rx_make_descriptor(super_tone_rx_descriptor_t *desc);
int super_tone_rx_add_tone(super_tone_rx_descriptor_t *desc);
int super_tone_rx_add_element(super_tone_rx_descriptor_t *desc, int tone, int f1, int f2, int min, int max);
typedef struct { super_tone_rx_state_t *s; int n; int codes[256]; long long at[256]; long long sample; } peer_stone_t;
peer_stone_t *peer_stone_new(super_tone_rx_descriptor_t *desc);
void peer_stone_free(peer_stone_t *p);
void peer_stone_batch(peer_stone_t **rx, int channels, const int16_t *amp, int n);
void peer_tgen_batch(tone_gen_state_t **gen, int channels, int16_t *out, int n);
"""

_SOURCE = """
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>
typedef struct { super_tone_rx_state_t *s; int n; int codes[256]; long long at[256]; long long sample; } peer_stone_t;
static void peer_stone_cb(void *user, int code, int level, int delay)
{
    peer_stone_t *p = (peer_stone_t *) user;
    if (p->n < 256) { p->codes[p->n] = code; p->at[p->n] = p->sample; p->n++; }
}
peer_stone_t *peer_stone_new(super_tone_rx_descriptor_t *desc)
{
    peer_stone_t *p = calloc(1, sizeof(*p));
    p->s = super_tone_rx_init(NULL, desc, peer_stone_cb, p);
    return p;
}
void peer_stone_free(peer_stone_t *p) { super_tone_rx_free(p->s); free(p); }
void peer_stone_batch(peer_stone_t **rx, int channels, const int16_t *amp, int n)
{
    for (int c = 0; c < channels; c++) {
        /* super_tone_rx reports from inside the call, so stamp the block start first */
        rx[c]->sample += n;
        super_tone_rx(rx[c]->s, amp + (size_t) c * n, n);
    }
}
void peer_tgen_batch(tone_gen_state_t **gen, int channels, int16_t *out, int n)
{
    for (int c = 0; c < channels; c++) {
        int k = tone_gen(gen[c], out + (size_t) c * n, n);
        if (k < n) memset(out + (size_t) c * n + k, 0, (size_t) (n - k) * sizeof(int16_t));
    }
}
"""

_mod = None


def load():
    """Return the compiled cffi module (built on first use)."""
    global _mod
    if _mod is None:
        ffi = cffi.FFI()
        ffi.cdef(_CDEF)
        ffi.set_source("_peer_spandsp_tones", _SOURCE, libraries=["spandsp"])
        _mod = compile_peer(ffi, "_peer_spandsp_tones", HEADERS)
    return _mod


# US tones for super_tone_rx: (name, [(f1, f2, min_ms, max_ms), ...]); f2 = 0 for one frequency, f1 = f2 = 0 for
# silence (0.0.6 wants 0 there, not the -1 its header documents).
US_TONES = (
    ("dial", [(350, 440, 1000, 0)]),
    ("busy", [(480, 620, 400, 600), (0, 0, 400, 600), (480, 620, 400, 600), (0, 0, 400, 600)]),
    ("congestion", [(480, 620, 200, 300), (0, 0, 200, 300), (480, 620, 200, 300), (0, 0, 200, 300)]),
    ("ringback", [(440, 480, 1800, 2200), (0, 0, 3600, 4400)]),
)


class SuperToneReceivers:
    """spandsp super_tone_rx on N channels with the US tone set; ``process(batch)`` feeds one tick."""

    def __init__(self, channels, tone_set=US_TONES):
        self.mod = load()
        lib = self.mod.lib
        self._desc = lib.super_tone_rx_make_descriptor(self.mod.ffi.NULL)
        self.names = []
        for name, elements in tone_set:
            tone = lib.super_tone_rx_add_tone(self._desc)
            for f1, f2, lo, hi in elements:
                lib.super_tone_rx_add_element(self._desc, tone, f1, f2, lo, hi)
            self.names.append(name)
        self._states = [self.mod.ffi.gc(lib.peer_stone_new(self._desc), lib.peer_stone_free) for _ in range(channels)]
        self._array = self.mod.ffi.new("peer_stone_t *[]", self._states)

    def process(self, batch):
        """Feed one (channels, samples) int16 block to every receiver."""
        batch = np.ascontiguousarray(batch, dtype=np.int16)
        ptr = self.mod.ffi.cast("int16_t *", batch.ctypes.data)
        self.mod.lib.peer_stone_batch(self._array, batch.shape[0], ptr, batch.shape[1])

    def reports(self, channel=0):
        """Return the (tone name or None for 'ended', sample) reports of one channel."""
        s = self._states[channel]
        return [(self.names[s.codes[i]] if s.codes[i] >= 0 else None, s.at[i]) for i in range(s.n)]


class ToneGenerators:
    """spandsp tone_gen on N channels, each playing f1+f2 at l1/l2 dBm0 with on/off cadence d1..d4."""

    def __init__(self, channels, f1, l1, f2, l2, d1, d2, d3=0, d4=0, repeat=1):
        self.mod = load()
        lib = self.mod.lib
        self._desc = lib.tone_gen_descriptor_init(self.mod.ffi.NULL, f1, l1, f2, l2, d1, d2, d3, d4, repeat)
        self._gens = [self.mod.ffi.gc(lib.tone_gen_init(self.mod.ffi.NULL, self._desc), lib.tone_gen_free)
                      for _ in range(channels)]
        self._array = self.mod.ffi.new("tone_gen_state_t *[]", self._gens)
        self.channels = channels

    def process(self, n):
        """Return the next n samples of every channel as int16 (channels x n)."""
        out = np.empty((self.channels, n), np.int16)
        self.mod.lib.peer_tgen_batch(self._array, self.channels, self.mod.ffi.cast("int16_t *", out.ctypes.data), n)
        return out
