# distutils: sources = _native/src/plc.c
"""G.711 Appendix I packet-loss concealment kernel over (channels x samples) blocks; pycallcenter.dsp.plc is the
checked public face and pycallcenter.dsp.reference.plc the specification."""
from libc.stdint cimport int16_t, uint8_t

cdef extern from "pycc_plc.h":
    ctypedef struct pycc_plc_t:
        pass
    pycc_plc_t *pycc_plc_new(int channels)
    void pycc_plc_free(pycc_plc_t *s)
    void pycc_plc_reset(pycc_plc_t *s, int channel)
    void pycc_plc_process(pycc_plc_t *s, const int16_t *x, const uint8_t *lost, int16_t *out, long samples) nogil


cdef class Kernel:
    """Native concealment state for N channels."""

    cdef pycc_plc_t *s
    cdef readonly int channels

    def __cinit__(self, int channels):
        if channels < 1:
            raise ValueError("channels must be >= 1")
        self.channels = channels
        self.s = pycc_plc_new(channels)
        if self.s == NULL:
            raise MemoryError()

    def __dealloc__(self):
        if self.s != NULL:
            pycc_plc_free(self.s)

    def reset(self, int channel):
        """Clear one channel's state; returns None."""
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} out of range")
        pycc_plc_reset(self.s, channel)

    def process(self, const int16_t[:, ::1] x, const uint8_t[:, ::1] lost, int16_t[:, ::1] out):
        """Conceal one block into out (same shape as x); lost is (channels, samples / 80). Returns None."""
        cdef long samples = x.shape[1]
        if (x.shape[0] != self.channels or out.shape[0] != self.channels or out.shape[1] != samples
                or lost.shape[0] != self.channels or samples % 80 or lost.shape[1] != samples // 80):
            raise ValueError("block, mask or output has the wrong shape")
        if samples == 0:
            return
        with nogil:
            pycc_plc_process(self.s, &x[0, 0], &lost[0, 0], &out[0, 0], samples)
