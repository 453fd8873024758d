# distutils: sources = _native/src/hdlc.c
"""HDLC framing kernels for N channels; pycallcenter.dsp.hdlc is the checked public face."""
from libc.stdint cimport uint8_t, uint16_t
from libc.stdlib cimport calloc, free
from libc.string cimport memset

cdef extern from "pycc_hdlc.h":
    enum:
        PYCC_HDLC_FRAME
        PYCC_HDLC_BAD_FCS
        PYCC_HDLC_ABORT
        PYCC_HDLC_OVERRUN
        PYCC_HDLC_SHORT
    ctypedef struct pycc_hdlc_tx_t:
        pass
    ctypedef struct pycc_hdlc_rx_t:
        pass
    ctypedef struct pycc_hdlc_event_t:
        int kind
        int channel
        size_t offset
        size_t length
    ctypedef struct pycc_hdlc_events_t:
        pycc_hdlc_event_t *ev
        size_t n
        uint8_t *bytes
    uint16_t pycc_fcs16(const uint8_t *data, size_t n) nogil
    int pycc_hdlc_tx_queue(pycc_hdlc_tx_t *s, const uint8_t *frame, size_t n) nogil
    void pycc_hdlc_tx_abort(pycc_hdlc_tx_t *s) nogil
    size_t pycc_hdlc_tx_pending(const pycc_hdlc_tx_t *s) nogil
    void pycc_hdlc_tx_free(pycc_hdlc_tx_t *s) nogil
    void pycc_hdlc_tx_run(pycc_hdlc_tx_t *states, int channels, uint8_t *out, size_t n_octets) nogil
    int pycc_hdlc_rx_init(pycc_hdlc_rx_t *s, size_t max_frame) nogil
    void pycc_hdlc_rx_free(pycc_hdlc_rx_t *s) nogil
    int pycc_hdlc_rx_run(pycc_hdlc_rx_t *states, int channels, const uint8_t *inp, size_t n_octets,
                         size_t max_frame, size_t min_frame, pycc_hdlc_events_t *events) nogil
    void pycc_hdlc_events_free(pycc_hdlc_events_t *e) nogil

KINDS = {PYCC_HDLC_FRAME: "frame", PYCC_HDLC_BAD_FCS: "bad_fcs", PYCC_HDLC_ABORT: "abort",
         PYCC_HDLC_OVERRUN: "overrun", PYCC_HDLC_SHORT: "short"}


def fcs16(const uint8_t[::1] data):
    """Return the CRC-16/X.25 frame check sequence of data."""
    if data.shape[0] == 0:
        return pycc_fcs16(NULL, 0)
    return pycc_fcs16(&data[0], data.shape[0])


cdef class Encoder:
    """Per-channel frame queues and bit stuffers; run(out) fills one tick of line octets."""
    cdef pycc_hdlc_tx_t *states
    cdef readonly int channels

    def __cinit__(self, int channels):
        if channels < 1:
            raise ValueError("channels must be at least 1")
        self.states = <pycc_hdlc_tx_t *> calloc(channels, sizeof(pycc_hdlc_tx_t))
        if self.states == NULL:
            raise MemoryError()
        self.channels = channels

    def __dealloc__(self):
        if self.states != NULL:
            for c in range(self.channels):
                pycc_hdlc_tx_free(&self.states[c])
            free(self.states)

    cdef int _check(self, int channel) except -1:
        if channel < 0 or channel >= self.channels:
            raise ValueError(f"channel {channel} out of range")
        return 0

    def queue(self, int channel, const uint8_t[::1] frame):
        """Queue one frame (1..65533 octets, without FCS) on a channel."""
        self._check(channel)
        if frame.shape[0] < 1 or frame.shape[0] > 65533:
            raise ValueError("frame length must be 1..65533")
        if pycc_hdlc_tx_queue(&self.states[channel], &frame[0], frame.shape[0]):
            raise MemoryError()

    def abort(self, int channel):
        """Abort the frame being sent on a channel."""
        self._check(channel)
        pycc_hdlc_tx_abort(&self.states[channel])

    def pending(self, int channel):
        """Return the number of frames queued or being sent on a channel."""
        self._check(channel)
        return pycc_hdlc_tx_pending(&self.states[channel])

    def run(self, uint8_t[:, ::1] out):
        """Fill out (channels x octets) with the next octets of every channel."""
        if out.shape[0] != self.channels:
            raise ValueError("out has the wrong number of channels")
        if out.shape[1] == 0:
            return
        with nogil:
            pycc_hdlc_tx_run(self.states, self.channels, &out[0, 0], out.shape[1])


cdef class Decoder:
    """Per-channel flag hunters and de-stuffers; run(block) returns (kind, channel, payload) tuples."""
    cdef pycc_hdlc_rx_t *states
    cdef readonly int channels
    cdef readonly size_t max_frame, min_frame

    def __cinit__(self, int channels, size_t max_frame, size_t min_frame):
        if channels < 1 or min_frame < 2 or max_frame < min_frame:
            raise ValueError("need channels >= 1 and 2 <= min_frame <= max_frame")
        self.states = <pycc_hdlc_rx_t *> calloc(channels, sizeof(pycc_hdlc_rx_t))
        if self.states == NULL:
            raise MemoryError()
        self.channels = channels
        self.max_frame = max_frame
        self.min_frame = min_frame
        for c in range(channels):
            if pycc_hdlc_rx_init(&self.states[c], max_frame):
                raise MemoryError()

    def __dealloc__(self):
        if self.states != NULL:
            for c in range(self.channels):
                pycc_hdlc_rx_free(&self.states[c])
            free(self.states)

    def run(self, const uint8_t[:, ::1] block):
        """Return the events that the octets in block (channels x octets) complete."""
        cdef pycc_hdlc_events_t events
        cdef int rc
        if block.shape[0] != self.channels:
            raise ValueError("block has the wrong number of channels")
        if block.shape[1] == 0:
            return []
        memset(&events, 0, sizeof(events))
        try:
            with nogil:
                rc = pycc_hdlc_rx_run(self.states, self.channels, &block[0, 0], block.shape[1],
                                      self.max_frame, self.min_frame, &events)
            if rc:
                raise MemoryError()
            out = []
            for i in range(events.n):
                ev = events.ev[i]
                payload = (<char *> events.bytes)[ev.offset:ev.offset + ev.length] if ev.kind == PYCC_HDLC_FRAME else None
                out.append((KINDS[ev.kind], ev.channel, payload))
            return out
        finally:
            pycc_hdlc_events_free(&events)
