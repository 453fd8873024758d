# distutils: sources = _native/src/g711.c
"""G.711 batch kernels over flat buffers; pycallcenter.dsp.g711 is the checked public face."""
from libc.stdint cimport int16_t, uint8_t

cdef extern from "pycc_g711.h":
    int PYCC_G711_ULAW
    int PYCC_G711_ALAW
    void pycc_g711_init() nogil
    void pycc_g711_encode(int law, const int16_t *inp, uint8_t *out, size_t n) nogil
    void pycc_g711_decode(int law, const uint8_t *inp, int16_t *out, size_t n) nogil
    void pycc_g711_transcode(int to_law, const uint8_t *inp, uint8_t *out, size_t n) nogil

pycc_g711_init()

ULAW = PYCC_G711_ULAW
ALAW = PYCC_G711_ALAW


cdef inline size_t _checked(int law, Py_ssize_t n_in, Py_ssize_t n_out) except? 0:
    """Return the common length after checking the law and that both buffers agree."""
    if law != PYCC_G711_ULAW and law != PYCC_G711_ALAW:
        raise ValueError(f"unknown law {law}")
    if n_in != n_out:
        raise ValueError("out has the wrong length")
    return <size_t> n_in


def encode(int law, const int16_t[::1] x, uint8_t[::1] out):
    """Fill out with the G.711 codes of x (same length, flat)."""
    cdef size_t n = _checked(law, x.shape[0], out.shape[0])
    if n:
        with nogil:
            pycc_g711_encode(law, &x[0], &out[0], n)


def decode(int law, const uint8_t[::1] x, int16_t[::1] out):
    """Fill out with the linear decode of the G.711 codes x (same length, flat)."""
    cdef size_t n = _checked(law, x.shape[0], out.shape[0])
    if n:
        with nogil:
            pycc_g711_decode(law, &x[0], &out[0], n)


def transcode(int law, const uint8_t[::1] x, uint8_t[::1] out):
    """Fill out with x converted to codes of the given law (G.711 Tables 3/4)."""
    cdef size_t n = _checked(law, x.shape[0], out.shape[0])
    if n:
        with nogil:
            pycc_g711_transcode(law, &x[0], &out[0], n)
