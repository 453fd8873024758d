"""Batched tone generator: cadenced sums of sinusoids from 32-bit phase accumulators and a sine table.

Integer arithmetic throughout, so the numpy twin (pycallcenter.dsp.reference.tones) matches it bit
for bit. The caller (pycallcenter.dsp.tones) owns the per-channel state arrays; this only advances them.
"""
from libc.math cimport sin, floor, M_PI
from libc.stdint cimport int16_t, int32_t, int64_t, uint32_t

cdef enum:
    TAB_SIZE = 4096

cdef int32_t SINE[TAB_SIZE + 1]
cdef int _i
for _i in range(TAB_SIZE + 1):
    SINE[_i] = <int32_t>floor(32767.0 * sin(2.0 * M_PI * _i / TAB_SIZE) + 0.5)


def sine_table():
    """Return the Q15 sine table (4097 entries, last = first) the generator interpolates."""
    return [SINE[i] for i in range(TAB_SIZE + 1)]


cdef inline int16_t _clip(int64_t acc) noexcept nogil:
    cdef int64_t v = (acc + (<int64_t>1 << 30)) >> 31
    if v > 32767:
        return 32767
    if v < -32768:
        return -32768
    return <int16_t>v


cdef void _render_one(Py_ssize_t c, Py_ssize_t o, Py_ssize_t n, int16_t[:, ::1] out,
                      const int64_t[:, ::1] step_len, const int32_t[:, ::1] n_comp,
                      const uint32_t[:, :, ::1] inc, const int64_t[:, :, ::1] amp,
                      const int32_t[::1] n_steps, const int32_t[::1] loop_to,
                      int32_t[::1] cur, int64_t[::1] pos, uint32_t[:, ::1] phase) noexcept nogil:
    cdef Py_ssize_t t = 0, m, j, k, nc
    cdef int32_t st
    cdef int64_t L, acc
    cdef uint32_t ph, idx, frac
    cdef int32_t a0
    while t < n:
        st = cur[c]
        if st < 0:
            for j in range(t, n):
                out[o, j] = 0
            return
        L = step_len[c, st]
        m = n - t
        if L != 0 and L - pos[c] < m:
            m = L - pos[c]
        nc = n_comp[c, st]
        if nc == 0:
            for j in range(t, t + m):
                out[o, j] = 0
        else:
            for j in range(t, t + m):
                acc = 0
                for k in range(nc):
                    ph = phase[c, k]
                    idx = ph >> 20
                    frac = (ph >> 4) & 0xFFFF
                    a0 = SINE[idx]
                    acc += <int64_t>(a0 + (((SINE[idx + 1] - a0) * <int32_t>frac) >> 16)) * amp[c, st, k]
                    phase[c, k] = ph + inc[c, st, k]
                out[o, j] = _clip(acc)
        t += m
        pos[c] += m
        if L != 0 and pos[c] == L:
            pos[c] = 0
            st += 1
            if st == n_steps[c]:
                st = loop_to[c]
            cur[c] = st


def render(int16_t[:, ::1] out, const int64_t[:, ::1] step_len, const int32_t[:, ::1] n_comp,
           const uint32_t[:, :, ::1] inc, const int64_t[:, :, ::1] amp,
           const int32_t[::1] n_steps, const int32_t[::1] loop_to,
           int32_t[::1] cur, int64_t[::1] pos, uint32_t[:, ::1] phase):
    """Fill out (channels x n) with the next n samples of every channel, advancing cur/pos/phase."""
    cdef Py_ssize_t c, channels = out.shape[0], n = out.shape[1]
    with nogil:
        for c in range(channels):
            _render_one(c, c, n, out, step_len, n_comp, inc, amp, n_steps, loop_to, cur, pos, phase)


def render_rows(int16_t[:, ::1] out, const Py_ssize_t[::1] rows, const int64_t[:, ::1] step_len,
                const int32_t[:, ::1] n_comp, const uint32_t[:, :, ::1] inc, const int64_t[:, :, ::1] amp,
                const int32_t[::1] n_steps, const int32_t[::1] loop_to,
                int32_t[::1] cur, int64_t[::1] pos, uint32_t[:, ::1] phase):
    """Fill out[i] (len(rows) x n) with the next n samples of channel rows[i], advancing only those channels'
    cur/pos/phase; a channel listed twice advances twice."""
    cdef Py_ssize_t i, k = rows.shape[0], n = out.shape[1], channels = cur.shape[0]
    if out.shape[0] != k:
        raise ValueError("out needs one row per listed channel")
    for i in range(k):
        if not 0 <= rows[i] < channels:
            raise ValueError(f"channel {rows[i]} outside 0..{channels - 1}")
    with nogil:
        for i in range(k):
            _render_one(rows[i], i, n, out, step_len, n_comp, inc, amp, n_steps, loop_to, cur, pos, phase)
