"""spandsp 0.0.6's HDLC transmitter and receiver as a test peer and benchmark yardstick (cffi API mode).

Batch loops are C so a benchmark measures spandsp's framing, not Python call overhead. spandsp
handles octets most significant bit first, the reverse of a 64 kbit/s D-channel timeslot; the
loops below reverse each octet so both peers see the same line.
"""
import cffi
import numpy as np

from peers import compile_peer
from peers.spandsp import HEADERS

_CDEF = """
typedef struct hdlc_rx_state_s hdlc_rx_state_t;
typedef struct hdlc_tx_state_s hdlc_tx_state_t;
int hdlc_tx_frame(hdlc_tx_state_t *s, const uint8_t *frame, size_t len);
int hdlc_tx_abort(hdlc_tx_state_t *s);
int hdlc_tx_flags(hdlc_tx_state_t *s, int len);
void hdlc_rx_set_max_frame_len(hdlc_rx_state_t *s, size_t max_len);
void hdlc_tx_set_max_frame_len(hdlc_tx_state_t *s, size_t max_len);

typedef struct { hdlc_rx_state_t *s; int good, bad, n; int len[64]; uint8_t frame[64][1100]; } peer_hdlc_rx_t;
peer_hdlc_rx_t *peer_hdlc_rx_new(void);
void peer_hdlc_rx_free(peer_hdlc_rx_t *p);
void peer_hdlc_rx_batch(peer_hdlc_rx_t **ps, int channels, const uint8_t *line, int octets);
hdlc_tx_state_t *peer_hdlc_tx_new(void);
void peer_hdlc_tx_free(hdlc_tx_state_t *s);
void peer_hdlc_tx_batch(hdlc_tx_state_t **ss, int channels, uint8_t *line, int octets);
"""

_SOURCE = """
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

typedef struct { hdlc_rx_state_t *s; int good, bad, n; int len[64]; uint8_t frame[64][1100]; } peer_hdlc_rx_t;

static uint8_t reverse_octet(uint8_t x)
{
    x = (uint8_t) ((x >> 4) | (x << 4));
    x = (uint8_t) (((x & 0xCC) >> 2) | ((x & 0x33) << 2));
    return (uint8_t) (((x & 0xAA) >> 1) | ((x & 0x55) << 1));
}

/* len < 0 reports a status change, not a frame */
static void peer_frame(void *user, const uint8_t *pkt, int len, int ok)
{
    peer_hdlc_rx_t *p = (peer_hdlc_rx_t *) user;
    if (len < 0)
        return;
    if (!ok) {
        p->bad++;
        return;
    }
    p->good++;
    if (p->n < 64 && len <= 1100) {
        memcpy(p->frame[p->n], pkt, len);
        p->len[p->n++] = len;
    }
}

peer_hdlc_rx_t *peer_hdlc_rx_new(void)
{
    peer_hdlc_rx_t *p = calloc(1, sizeof(*p));
    p->s = hdlc_rx_init(NULL, 0, 1, 1, peer_frame, p);
    return p;
}

void peer_hdlc_rx_free(peer_hdlc_rx_t *p)
{
    hdlc_rx_free(p->s);
    free(p);
}

void peer_hdlc_rx_batch(peer_hdlc_rx_t **ps, int channels, const uint8_t *line, int octets)
{
    for (int c = 0; c < channels; c++)
        for (int i = 0; i < octets; i++)
            hdlc_rx_put_byte(ps[c]->s, reverse_octet(line[(long) c * octets + i]));
}

/* spandsp starts a frame without an opening flag unless flags are queued first */
hdlc_tx_state_t *peer_hdlc_tx_new(void)
{
    hdlc_tx_state_t *s = hdlc_tx_init(NULL, 0, 1, 0, NULL, NULL);
    hdlc_tx_flags(s, 2);
    return s;
}

void peer_hdlc_tx_free(hdlc_tx_state_t *s) { hdlc_tx_free(s); }

void peer_hdlc_tx_batch(hdlc_tx_state_t **ss, int channels, uint8_t *line, int octets)
{
    for (int c = 0; c < channels; c++) {
        uint8_t *row = line + (long) c * octets;
        hdlc_tx_get(ss[c], row, octets);
        for (int i = 0; i < octets; i++)
            row[i] = reverse_octet(row[i]);
    }
}
"""


def load():
    """Return the compiled cffi module (``.ffi``, ``.lib``); raises peers.PeerUnavailable."""
    ffibuilder = cffi.FFI()
    ffibuilder.cdef(_CDEF)
    ffibuilder.set_source("_peer_spandsp_hdlc", _SOURCE, libraries=["spandsp", "tiff", "m"])
    return compile_peer(ffibuilder, "_peer_spandsp_hdlc", HEADERS)


class Receiver:
    """spandsp HDLC receivers (CRC-16) for many channels; process(block) feeds one tick of line octets."""

    def __init__(self, channels, max_frame=1024 + 2):
        self.mod = mod = load()
        self._states = [mod.ffi.gc(mod.lib.peer_hdlc_rx_new(), mod.lib.peer_hdlc_rx_free) for _ in range(channels)]
        for p in self._states:
            mod.lib.hdlc_rx_set_max_frame_len(p.s, max_frame)
        self._array = mod.ffi.new("peer_hdlc_rx_t *[]", self._states)

    def process(self, block):
        """Feed one (channels, octets) uint8 block to every receiver."""
        block = np.ascontiguousarray(block, dtype=np.uint8)
        self.mod.lib.peer_hdlc_rx_batch(self._array, block.shape[0], self.mod.ffi.from_buffer(block), block.shape[1])

    def frames(self, channel):
        """Return the good frames (payload without FCS) received on a channel so far (first 64)."""
        p = self._states[channel]
        return [bytes(self.mod.ffi.buffer(p.frame[i], p.len[i])) for i in range(p.n)]

    def counts(self, channel):
        """Return (good, bad) frame counts for a channel."""
        p = self._states[channel]
        return p.good, p.bad


class Transmitter:
    """spandsp HDLC transmitters (CRC-16, flags when idle) for many channels."""

    def __init__(self, channels, max_frame=1024):
        self.mod = mod = load()
        self._states = [mod.ffi.gc(mod.lib.peer_hdlc_tx_new(), mod.lib.peer_hdlc_tx_free) for _ in range(channels)]
        for s in self._states:
            mod.lib.hdlc_tx_set_max_frame_len(s, max_frame)
        self._array = mod.ffi.new("hdlc_tx_state_t *[]", self._states)

    def send(self, channel, frame):
        """Queue one frame (spandsp holds one frame at a time); returns spandsp's result code."""
        return self.mod.lib.hdlc_tx_frame(self._states[channel], frame, len(frame))

    def process(self, out):
        """Fill out (channels, octets) uint8 with the next line octets of every transmitter."""
        self.mod.lib.peer_hdlc_tx_batch(self._array, out.shape[0], self.mod.ffi.from_buffer(out), out.shape[1])
        return out
