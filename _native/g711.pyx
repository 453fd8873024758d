# distutils: sources = _native/src/g711.c
"""G.711 batch kernels over flat buffers; pycallcenter.dsp.g711 is the checked public face."""
from libc.stdint cimport int8_t, int16_t, int32_t, uint8_t

cdef extern from "pycc_g711.h":
    int PYCC_G711_ULAW
    int PYCC_G711_ALAW
    void pycc_g711_init() nogil
    void pycc_g711_encode(int law, const int16_t *inp, uint8_t *out, size_t n) nogil
    void pycc_g711_decode(int law, const uint8_t *inp, int16_t *out, size_t n) nogil
    void pycc_g711_transcode(int to_law, const uint8_t *inp, uint8_t *out, size_t n) nogil
    void pycc_g711_mix_out(int32_t *acc, int16_t *tx, uint8_t *codes, const int8_t *law, uint8_t *live,
                           uint8_t *dirty, size_t rows, size_t n) nogil
    void pycc_g711_send_copies(const int16_t *rx, int16_t *tx, uint8_t *codes, const int8_t *law, uint8_t *live,
                               const Py_ssize_t *dst, const Py_ssize_t *src, size_t k, size_t n) nogil

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


def mix_out(int32_t[:, ::1] acc, int16_t[:, ::1] tx, uint8_t[:, ::1] codes, const int8_t[::1] law,
            uint8_t[::1] live, uint8_t[::1] dirty):
    """Saturate the live rows of acc into tx and encode them into codes with their row's law, clear them in acc,
    silence the rows that were written last tick and not this one (see pycc_g711.h); return None."""
    cdef Py_ssize_t rows = acc.shape[0], n = acc.shape[1], r
    if tx.shape[0] != rows or tx.shape[1] != n:
        raise ValueError("tx must have the shape of acc")
    if law.shape[0] != rows or live.shape[0] != rows or dirty.shape[0] != rows:
        raise ValueError("law, live and dirty need one entry per row")
    if codes.shape[0] > rows or codes.shape[1] != n:
        raise ValueError("codes must have at most acc's rows and its row length")
    for r in range(rows):
        if law[r] >= 0 and (r >= codes.shape[0] or (law[r] != PYCC_G711_ULAW and law[r] != PYCC_G711_ALAW)):
            raise ValueError(f"row {r}: law {law[r]} has no codes row or is unknown")
    if rows and n:
        with nogil:
            pycc_g711_mix_out(&acc[0, 0], &tx[0, 0], &codes[0, 0] if codes.shape[0] else NULL, &law[0], &live[0],
                              &dirty[0], <size_t> rows, <size_t> n)


def send_copies(const int16_t[:, ::1] rx, int16_t[:, ::1] tx, uint8_t[:, ::1] codes, const int8_t[::1] law,
                uint8_t[::1] live, const Py_ssize_t[::1] dst, const Py_ssize_t[::1] src):
    """Send rx[src[i]] as row dst[i] of the tick (tx and, in the row's law, codes) without the mix, and mark the row
    sent in live for mix_out (see pycc_g711.h); return None. Every pair is checked before anything is written: a
    row already written into the mix (live) or listed twice is refused."""
    cdef Py_ssize_t rows = tx.shape[0], n = tx.shape[1], k = dst.shape[0], i, d
    if src.shape[0] != k:
        raise ValueError("dst and src need the same length")
    if rx.shape[1] != n or law.shape[0] != rows or live.shape[0] != rows:
        raise ValueError("rx rows as long as tx's, law and live one entry per tx row")
    if codes.shape[1] != n:
        raise ValueError("codes rows must be as long as tx's")
    cdef str error = None
    for i in range(k):
        d = dst[i]
        if not 0 <= d < rows or not 0 <= src[i] < rx.shape[0]:
            error = f"pair {i}: row {d} <- {src[i]} is outside tx or rx"
        elif law[d] >= 0 and (d >= codes.shape[0] or (law[d] != PYCC_G711_ULAW and law[d] != PYCC_G711_ALAW)):
            error = f"row {d}: law {law[d]} has no codes row or is unknown"
        elif live[d]:
            error = f"row {d} is written already this tick (or listed twice)"
        if error is not None:
            for j in range(i):  # nothing written: the flags set so far are taken back
                live[dst[j]] = 0
            raise ValueError(error)
        live[d] = 1  # a repeat of the row is seen by the check; the kernel marks it sent
    if k and n:
        with nogil:
            pycc_g711_send_copies(&rx[0, 0], &tx[0, 0], &codes[0, 0] if codes.shape[0] else NULL, &law[0], &live[0],
                                  &dst[0], &src[0], <size_t> k, <size_t> n)
