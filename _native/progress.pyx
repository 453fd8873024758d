"""Call-progress detection kernel: per-frame least-squares tone classification and cadence state machines.

The specification is the numpy twin, pycallcenter.dsp.reference.progress; this file repeats its
arithmetic in the same order (exact int64 correlations, then identical double operations) so both
produce the same events. Per-channel state lives in one int64 row owned by the Python face.
"""
from libc.stdint cimport int16_t, int32_t, int64_t

cdef enum:
    HIST = 8
    FRAME = 160
    FRAME_MS = 20
    MAXF = 3
    MAXROWS = 64
    K_DIAL = 0
    K_BUSY = 1
    K_RINGBACK = 2
    K_CONGESTION = 3
    K_SIT = 4
    K_CNG = 5
    K_CED = 6
    K_SILENCE = 7
    K_VOICE = 8
    S_VOICE = -1
    S_QUIET = -2
    S_LOW = -3
    R_LOW1 = 1
    R_HIGH1 = 2
    R_LOW2 = 3
    R_HIGH2 = 4
    R_THIRD = 5
    R_ITU1 = 6
    R_ITU2 = 7
    R_ITU3 = 8
    # parameter indices (reference.progress.P_NAMES)
    P_NFREQS = 0
    P_NCLASSES = 1
    P_NPAT = 2
    P_TONE_FLOOR = 3
    P_SILENCE_FLOOR = 4
    P_VOICE_FLOOR = 5
    P_SILENCE_FRAMES = 6
    P_VOICE_FRAMES = 7
    P_VOICE_RESET = 8
    P_MAX_OFF = 9
    P_TOL_MS = 10
    P_TOL_PCT = 11
    P_CNG_CLASS = 12
    P_CED_CLASS = 13
    P_CED_FRAMES = 14
    P_SIT_MIN = 15
    P_SIT_MAX = 16
    P_SIT_LONG = 17
    P_SIT_MAX_GAP = 18
    P_TONE_RESET = 19
    # state indices (reference.progress.ST_NAMES)
    T_FRAME = 0
    T_CLS = 1
    T_IN_ON = 2
    T_RUN = 3
    T_OFF = 4
    T_GLITCH = 5
    T_GAP = 6
    T_LAST = 7
    T_QUIET = 8
    T_TONE_GAP = 9
    T_SIL_DONE = 10
    T_VCOUNT = 11
    T_VDONE = 12
    T_HIST_N = 13
    T_SEG_N = 14
    T_HIST = 15
    T_SEG = T_HIST + 2 * HIST
    T_SIZE = T_SEG + 9
    DEF_BIG_GAP = 1 << 20
    DEF_BIG_TONE_GAP = 1 << 30



def layout():
    """Return the constants this kernel was compiled with, for the tests to compare with the twin."""
    return {"HIST": HIST, "FRAME": FRAME, "ST_SIZE": T_SIZE, "ST_SEG": T_SEG, "ST_HIST": T_HIST,
            "P_TONE_RESET": P_TONE_RESET, "T_SEG_N": T_SEG_N, "K_VOICE": K_VOICE, "MAXROWS": MAXROWS}


cdef struct Cfg:
    const int16_t *basis
    int nrows
    int K
    const int32_t *cls_nf
    const int32_t *cls_cols
    const double *ginv
    const int32_t *cls_role
    int npat
    const int32_t *pat_cls
    const int32_t *pat_kind
    const int32_t *pat_len
    const int32_t *pat_confirm
    const int32_t *pat_ms
    const int32_t *pat_detail
    const int32_t *cont_frames
    const int32_t *cont_kind
    const int32_t *sit_table
    const int64_t *p
    double min_fit
    double min_share
    int64_t sit_itu


cdef struct Ev:
    int64_t *buf
    Py_ssize_t n
    int64_t ch


cdef inline void _append(Ev *ev, int64_t kind, int64_t sample, int64_t detail) noexcept nogil:
    cdef int64_t *row = ev.buf + 4 * ev.n
    row[0] = ev.ch
    row[1] = kind
    row[2] = sample
    row[3] = detail
    ev.n += 1


cdef int64_t _symbol(const Cfg *cfg, const int16_t *x) noexcept nogil:
    cdef int64_t energy = 0, acc
    cdef int64_t bi[MAXROWS]
    cdef double b[MAXROWS]
    cdef double bb[2 * MAXF]
    cdef double a[2 * MAXF]
    cdef double e, fitted, best_fit = 0.0, share, s
    cdef int r, n, k, i, j, m, ok
    cdef int64_t best = -1
    cdef const int16_t *row
    cdef const double *g
    for n in range(FRAME):
        energy += <int64_t>x[n] * x[n]
    if energy < cfg.p[P_SILENCE_FLOOR]:
        return S_QUIET
    if energy < cfg.p[P_TONE_FLOOR]:  # no tone can win below the tone floor: skip the correlations
        return S_VOICE if energy >= cfg.p[P_VOICE_FLOOR] else S_LOW
    for r in range(cfg.nrows):
        row = cfg.basis + r * FRAME
        acc = 0
        for n in range(FRAME):
            acc += <int32_t>x[n] * <int32_t>row[n]
        b[r] = <double>acc
    e = <double>energy
    for k in range(cfg.K):
        m = 2 * cfg.cls_nf[k]
        for i in range(m):
            bb[i] = b[cfg.cls_cols[k * 2 * MAXF + i]]
        g = cfg.ginv + k * (2 * MAXF) * (2 * MAXF)
        for i in range(m):
            s = 0.0
            for j in range(m):
                s = s + g[i * 2 * MAXF + j] * bb[j]
            a[i] = s
        fitted = 0.0
        for i in range(m):
            fitted = fitted + a[i] * bb[i]
        ok = fitted >= cfg.min_fit * e
        i = 0
        while i < m:
            share = a[i] * bb[i] + a[i + 1] * bb[i + 1]
            if not (share >= cfg.min_share * fitted):
                ok = 0
            i += 2
        if ok and fitted > best_fit:
            best = k
            best_fit = fitted
    if energy < cfg.p[P_SILENCE_FLOOR]:
        return S_QUIET
    if energy >= cfg.p[P_TONE_FLOOR] and best >= 0:
        return best
    if energy >= cfg.p[P_VOICE_FLOOR]:
        return S_VOICE
    return S_LOW


cdef inline bint _within(const Cfg *cfg, int64_t obs, int64_t pat) noexcept nogil:
    cdef int64_t tol = pat * cfg.p[P_TOL_PCT] // 100
    if tol < cfg.p[P_TOL_MS]:
        tol = cfg.p[P_TOL_MS]
    return (obs - pat if obs >= pat else pat - obs) <= tol


cdef void _emit(int64_t *s, Ev *ev, int64_t kind, int64_t detail) noexcept nogil:
    cdef int64_t code = kind * 32 + detail
    if code != s[T_LAST]:
        s[T_LAST] = code
        s[T_VDONE] = 0
        _append(ev, kind, (s[T_FRAME] + 1) * FRAME, detail)


cdef void _push(const Cfg *cfg, int64_t *s, int64_t ms, int64_t on, Ev *ev) noexcept nogil:
    cdef int64_t *hv = s + T_HIST
    cdef int64_t *ho = s + T_HIST + HIST
    cdef int i, p, n, k, start, base, good
    if s[T_HIST_N] == HIST:
        for i in range(HIST - 1):
            hv[i] = hv[i + 1]
            ho[i] = ho[i + 1]
        s[T_HIST_N] -= 1
    hv[s[T_HIST_N]] = ms
    ho[s[T_HIST_N]] = on
    s[T_HIST_N] += 1
    for p in range(cfg.npat):
        if cfg.pat_cls[p] != s[T_CLS]:
            continue
        n = cfg.pat_len[p]
        k = cfg.pat_confirm[p]
        if s[T_HIST_N] < k:
            continue
        base = <int>s[T_HIST_N] - k
        start = 0 if ho[base] else 1
        while start < n:
            good = 1
            for i in range(k):
                if not _within(cfg, hv[base + i], cfg.pat_ms[p * HIST + (start + i) % n]):
                    good = 0
                    break
            if good:
                _emit(s, ev, cfg.pat_kind[p], cfg.pat_detail[p])
                return
            start += 2


cdef void _on_ended(const Cfg *cfg, int64_t *s, Ev *ev) noexcept nogil:
    cdef int64_t *seg = s + T_SEG
    cdef int i, r0, r1, r2, idx
    cdef int64_t l0, l1, l2, detail, lng
    _push(cfg, s, s[T_RUN] * FRAME_MS, 1, ev)
    if s[T_CLS] == cfg.p[P_CNG_CLASS] and _within(cfg, s[T_RUN] * FRAME_MS, 500):
        _emit(s, ev, K_CNG, 0)
    if s[T_SEG_N] == 3:
        for i in range(6):
            seg[i] = seg[i + 3]
        s[T_SEG_N] = 2
    seg[3 * s[T_SEG_N]] = s[T_CLS]
    seg[3 * s[T_SEG_N] + 1] = s[T_RUN]
    seg[3 * s[T_SEG_N] + 2] = s[T_GAP]
    s[T_SEG_N] += 1
    if s[T_SEG_N] < 3:
        return
    if seg[5] > cfg.p[P_SIT_MAX_GAP] or seg[8] > cfg.p[P_SIT_MAX_GAP]:
        return
    l0 = seg[1]
    l1 = seg[4]
    l2 = seg[7]
    if l0 < cfg.p[P_SIT_MIN] or l0 > cfg.p[P_SIT_MAX] or l1 < cfg.p[P_SIT_MIN] or l1 > cfg.p[P_SIT_MAX] \
            or l2 < cfg.p[P_SIT_MIN] or l2 > cfg.p[P_SIT_MAX]:
        return
    r0 = cfg.cls_role[seg[0]]
    r1 = cfg.cls_role[seg[3]]
    r2 = cfg.cls_role[seg[6]]
    detail = -1
    if r0 == R_ITU1 and r1 == R_ITU2 and r2 == R_ITU3:
        detail = cfg.sit_itu
    elif (r0 == R_LOW1 or r0 == R_HIGH1) and (r1 == R_LOW2 or r1 == R_HIGH2) and r2 == R_THIRD:
        lng = cfg.p[P_SIT_LONG]
        idx = ((r0 == R_HIGH1) << 3) | ((l0 >= lng) << 2) | ((r1 == R_HIGH2) << 1) | (l1 >= lng)
        detail = cfg.sit_table[idx]
    if detail >= 0:
        _emit(s, ev, K_SIT, detail)


cdef void _not_on(const Cfg *cfg, int64_t *s, int64_t sym, Ev *ev) noexcept nogil:
    if sym >= 0 and sym == s[T_CLS]:
        _push(cfg, s, s[T_OFF] * FRAME_MS, 0, ev)
        s[T_GAP] = s[T_OFF]
        s[T_IN_ON] = 1
        s[T_RUN] = 1
    elif sym >= 0:
        s[T_GAP] = s[T_OFF] if s[T_CLS] >= 0 else DEF_BIG_GAP
        s[T_CLS] = sym
        s[T_HIST_N] = 0
        s[T_IN_ON] = 1
        s[T_RUN] = 1
    else:
        s[T_OFF] += 1
        if s[T_CLS] >= 0 and s[T_OFF] > cfg.p[P_MAX_OFF]:
            s[T_CLS] = -1
            s[T_HIST_N] = 0
            s[T_LAST] = -1


cdef void _tone(const Cfg *cfg, int64_t *s, int64_t sym, Ev *ev) noexcept nogil:
    cdef int64_t want, kind
    if s[T_IN_ON]:
        if sym == s[T_CLS]:
            s[T_RUN] += 1 + s[T_GLITCH]
            s[T_GLITCH] = 0
        elif s[T_GLITCH] == 0 and sym < 0:
            s[T_GLITCH] = 1
            return
        else:
            _on_ended(cfg, s, ev)
            s[T_IN_ON] = 0
            s[T_OFF] = s[T_GLITCH]
            s[T_GLITCH] = 0
            _not_on(cfg, s, sym, ev)
    else:
        _not_on(cfg, s, sym, ev)
    if s[T_IN_ON]:
        if s[T_RUN] >= cfg.p[P_TONE_RESET]:
            s[T_VCOUNT] = 0
        want = cfg.cont_frames[s[T_CLS]]
        kind = cfg.cont_kind[s[T_CLS]]
        if want and s[T_RUN] >= want and not (s[T_LAST] >= 0 and s[T_LAST] // 32 == kind):
            _emit(s, ev, kind, 0)
        if s[T_CLS] == cfg.p[P_CED_CLASS] and s[T_RUN] >= cfg.p[P_CED_FRAMES]:
            _emit(s, ev, K_CED, 0)


cdef void _step(const Cfg *cfg, int64_t *s, int64_t sym, Ev *ev) noexcept nogil:
    _tone(cfg, s, sym, ev)
    if sym >= 0:
        s[T_TONE_GAP] = 0
    elif s[T_TONE_GAP] < DEF_BIG_TONE_GAP:
        s[T_TONE_GAP] += 1
    if sym == S_QUIET:
        s[T_QUIET] += 1
        if s[T_QUIET] >= cfg.p[P_VOICE_RESET]:
            s[T_VCOUNT] = 0
        if not s[T_SIL_DONE] and s[T_QUIET] >= cfg.p[P_SILENCE_FRAMES] and s[T_TONE_GAP] >= cfg.p[P_MAX_OFF]:
            s[T_SIL_DONE] = 1
            s[T_VDONE] = 0
            s[T_LAST] = -1
            _append(ev, K_SILENCE, (s[T_FRAME] + 1) * FRAME, 0)
    else:
        s[T_QUIET] = 0
        s[T_SIL_DONE] = 0
    if sym == S_VOICE:
        s[T_VCOUNT] += 1
        if s[T_VCOUNT] >= cfg.p[P_VOICE_FRAMES] and not s[T_VDONE]:
            s[T_VDONE] = 1
            s[T_LAST] = -1
            _append(ev, K_VOICE, (s[T_FRAME] + 1) * FRAME, 0)
    s[T_FRAME] += 1


def init_state(int64_t[:, ::1] state):
    """Reset every channel's state row."""
    cdef Py_ssize_t c
    for c in range(state.shape[0]):
        state[c, :] = 0
        state[c, T_CLS] = -1
        state[c, T_LAST] = -1
        state[c, T_TONE_GAP] = DEF_BIG_TONE_GAP


def run(const int16_t[:, ::1] x, const int16_t[:, ::1] basis, const int32_t[::1] cls_nf,
        const int32_t[:, ::1] cls_cols, const double[:, :, ::1] ginv, const int32_t[::1] cls_role,
        const int32_t[::1] pat_cls, const int32_t[::1] pat_kind, const int32_t[::1] pat_len,
        const int32_t[::1] pat_confirm, const int32_t[:, ::1] pat_ms, const int32_t[::1] pat_detail,
        const int32_t[::1] cont_frames,
        const int32_t[::1] cont_kind, const int32_t[::1] sit_table, const int64_t[::1] params,
        const double[::1] fparams, int64_t sit_itu, int64_t[:, ::1] state, int64_t[:, ::1] events):
    """Run whole frames of x (channels x k*160) through every channel; return the number of event rows."""
    cdef Cfg cfg
    cdef Ev ev
    cdef Py_ssize_t c, f, nframes = x.shape[1] // FRAME, channels = x.shape[0]
    cdef int64_t sym
    if basis.shape[0] > MAXROWS or basis.shape[1] != FRAME or cls_cols.shape[1] != 2 * MAXF:
        raise ValueError("detector configuration does not fit this kernel")
    if state.shape[0] != channels or state.shape[1] != T_SIZE:
        raise ValueError("state has the wrong shape")
    if events.shape[0] < channels * nframes * 8 or events.shape[1] != 4:
        raise ValueError("event buffer too small")
    cfg.sit_itu = sit_itu
    cfg.basis = &basis[0, 0]
    cfg.nrows = basis.shape[0]
    cfg.K = cls_nf.shape[0]
    cfg.cls_nf = &cls_nf[0]
    cfg.cls_cols = &cls_cols[0, 0]
    cfg.ginv = &ginv[0, 0, 0]
    cfg.cls_role = &cls_role[0]
    cfg.npat = pat_cls.shape[0]
    cfg.pat_cls = &pat_cls[0] if cfg.npat else NULL
    cfg.pat_kind = &pat_kind[0] if cfg.npat else NULL
    cfg.pat_len = &pat_len[0] if cfg.npat else NULL
    cfg.pat_confirm = &pat_confirm[0] if cfg.npat else NULL
    cfg.pat_ms = &pat_ms[0, 0] if cfg.npat else NULL
    cfg.pat_detail = &pat_detail[0] if cfg.npat else NULL
    cfg.cont_frames = &cont_frames[0]
    cfg.cont_kind = &cont_kind[0]
    cfg.sit_table = &sit_table[0]
    cfg.p = &params[0]
    cfg.min_fit = fparams[0]
    cfg.min_share = fparams[1]
    ev.buf = &events[0, 0]
    ev.n = 0
    with nogil:
        for c in range(channels):
            ev.ch = c
            for f in range(nframes):
                sym = _symbol(&cfg, &x[c, f * FRAME])
                _step(&cfg, &state[c, 0], sym, &ev)
    return ev.n
