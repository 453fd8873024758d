"""FSK modem kernels (Bell 202 / V.23 caller ID), batched over channels.

The numpy twin pycallcenter/dsp/reference/fsk.py is the specification; this file repeats its
integer arithmetic sample by sample so both give identical output. State lives in numpy arrays
the caller allocates with the twin's new_tx_state/new_rx_state.
"""
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint32_t
from libc.math cimport lrint

cdef enum:
    RATE = 8000
    TABLE_SHIFT = 20
    HUNT = 0
    WAIT_START = 1
    BITS = 2
    STATUS_OK = 0
    STATUS_FRAMING = 1
    STATUS_CARRIER = 2


def modulate(int16_t[:, ::1] out, const uint8_t[::1] bits, const int64_t[::1] offsets, const int64_t[::1] lengths,
             int64_t[::1] consumed, int64_t[::1] phase, int64_t[::1] acc, const double[::1] amp,
             const int64_t[:, ::1] inc, const int64_t[::1] baud, const double[::1] sine):
    """Fill out with each channel's FSK samples; writes whole bits sent into consumed (see the twin)."""
    cdef Py_ssize_t channels = out.shape[0], n = out.shape[1], c, j
    cdef int64_t bi, length, off, a, b
    cdef uint32_t ph, inc0, inc1
    cdef double g
    with nogil:
        for c in range(channels):
            ph = <uint32_t> phase[c]
            a = acc[c]
            length = lengths[c]
            off = offsets[c]
            b = baud[c]
            g = amp[c]
            inc0 = <uint32_t> inc[c, 0]
            inc1 = <uint32_t> inc[c, 1]
            bi = 0
            if length == 0:
                a = 0
            for j in range(n):
                if bi >= length:
                    out[c, j] = 0
                    continue
                out[c, j] = <int16_t> lrint(g * sine[ph >> TABLE_SHIFT])
                ph += inc1 if bits[off + bi] else inc0
                a += b
                if a >= RATE:
                    a -= RATE
                    bi += 1
                    if bi >= length:
                        a = 0
            phase[c] = ph
            acc[c] = a
            consumed[c] = bi


def demodulate(const int16_t[:, ::1] block, int64_t[::1] count, int32_t[:, :, ::1] ring, int32_t[:, ::1] pring,
               int64_t[:, ::1] sums, int64_t[::1] psum, int64_t[:, ::1] qhist, int32_t[:, ::1] uart,
               uint8_t[:, ::1] msg,
               int64_t inc_mark, int64_t inc_space, const int32_t[::1] rcos, const int32_t[::1] rsin,
               int64_t on_threshold, int64_t off_threshold, int64_t start_delay, int64_t mark_run, int64_t bit_thirds,
               int32_t[:, ::1] ev_info, uint8_t[:, ::1] ev_data):
    """Demodulate one (channels, n) block; write events (channel, sample, status, length) and bytes; return count."""
    cdef Py_ssize_t channels = block.shape[0], n = block.shape[1], c, j, i
    cdef Py_ssize_t w = ring.shape[2], pw = pring.shape[1], cap = ev_info.shape[0], nev = 0
    cdef int64_t cnt, s0, s1, s2, s3, ps, d, x, q, q1, q2
    cdef int32_t p0, p1, p2, p3, sq, carrier, st, run, t, k, byte, nbytes, bit, status
    cdef uint32_t phm, phs, um = <uint32_t> inc_mark, us = <uint32_t> inc_space
    cdef Py_ssize_t pos, ppos
    cdef int32_t *rg
    cdef int32_t *prg
    cdef const int16_t *xs
    with nogil:
        for c in range(channels):
            cnt = count[c]
            s0 = sums[c, 0]
            s1 = sums[c, 1]
            s2 = sums[c, 2]
            s3 = sums[c, 3]
            ps = psum[c]
            q2 = qhist[c, 0]
            q1 = qhist[c, 1]
            carrier = uart[c, 0]
            st = uart[c, 1]
            run = uart[c, 2]
            t = uart[c, 3]
            k = uart[c, 4]
            byte = uart[c, 5]
            nbytes = uart[c, 6]
            # the reference phases are count * step mod 2**32, stepped here instead of multiplied
            phm = (<uint32_t> cnt) * um
            phs = (<uint32_t> cnt) * us
            pos = cnt % w
            ppos = cnt % pw
            rg = &ring[c, 0, 0]
            prg = &pring[c, 0]
            xs = &block[c, 0]
            for j in range(n):
                x = xs[j]
                p0 = <int32_t> (x * rcos[phm >> TABLE_SHIFT])
                p1 = <int32_t> (x * rsin[phm >> TABLE_SHIFT])
                p2 = <int32_t> (x * rcos[phs >> TABLE_SHIFT])
                p3 = <int32_t> (x * rsin[phs >> TABLE_SHIFT])
                phm += um
                phs += us
                s0 += p0 - rg[pos]
                s1 += p1 - rg[w + pos]
                s2 += p2 - rg[2 * w + pos]
                s3 += p3 - rg[3 * w + pos]
                rg[pos] = p0
                rg[w + pos] = p1
                rg[2 * w + pos] = p2
                rg[3 * w + pos] = p3
                pos += 1
                if pos == w:
                    pos = 0
                sq = <int32_t> (x * x)
                ps += sq - prg[ppos]
                prg[ppos] = sq
                ppos += 1
                if ppos == pw:
                    ppos = 0
                cnt += 1
                q = (s0 * s0 + s1 * s1 - s2 * s2 - s3 * s3) >> 2
                d = q + q1 + q2
                q2 = q1
                q1 = q

                status = -1
                if not carrier:
                    if ps < on_threshold:
                        continue
                    carrier = 1
                    st = HUNT
                    run = 0
                elif ps < off_threshold:
                    if nbytes:
                        status = STATUS_CARRIER
                    carrier = 0
                    st = HUNT
                    run = 0
                if carrier:
                    bit = 1 if d > 0 else 0
                    if st == HUNT:
                        run = run + 1 if bit else 0
                        if run >= mark_run:
                            st = WAIT_START
                    elif st == WAIT_START:
                        if not bit:
                            st = BITS
                            t = <int32_t> start_delay
                            k = 0
                            byte = 0
                    else:
                        t -= 3
                        if t <= 0:
                            t += <int32_t> bit_thirds
                            if k == 0:
                                if bit:
                                    st = WAIT_START
                                else:
                                    k = 1
                            elif k <= 8:
                                byte |= bit << (k - 1)
                                k += 1
                            elif not bit:
                                if nbytes:
                                    status = STATUS_FRAMING
                                st = HUNT
                                run = 0
                            else:
                                msg[c, nbytes] = <uint8_t> byte
                                nbytes += 1
                                if nbytes >= 2 and nbytes == msg[c, 1] + 3:
                                    status = STATUS_OK
                                    st = HUNT
                                    run = 0
                                else:
                                    st = WAIT_START
                if status >= 0:
                    if nev < cap:
                        ev_info[nev, 0] = <int32_t> c
                        ev_info[nev, 1] = <int32_t> j
                        ev_info[nev, 2] = status
                        ev_info[nev, 3] = nbytes
                        for i in range(nbytes):
                            ev_data[nev, i] = msg[c, i]
                    nev += 1
                    nbytes = 0
            count[c] = cnt
            sums[c, 0] = s0
            sums[c, 1] = s1
            sums[c, 2] = s2
            sums[c, 3] = s3
            psum[c] = ps
            qhist[c, 0] = q2
            qhist[c, 1] = q1
            uart[c, 0] = carrier
            uart[c, 1] = st
            uart[c, 2] = run
            uart[c, 3] = t
            uart[c, 4] = k
            uart[c, 5] = byte
            uart[c, 6] = nbytes
    return nev
