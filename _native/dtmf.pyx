# distutils: sources = _native/src/dtmf.c
# distutils: libraries = m
"""DTMF receiver kernel over (channels x samples) blocks; pycallcenter.dsp.dtmf is the checked public face."""
from libc.stdint cimport int16_t, int64_t, uint8_t
from libc.stdlib cimport free, realloc
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from cpython.tuple cimport PyTuple_SET_ITEM


cdef extern from "Python.h":
    ctypedef struct _type_t "PyTypeObject":
        PyObject *(*tp_alloc)(_type_t *, Py_ssize_t)

cdef extern from "pycc_dtmf.h":
    ctypedef struct pycc_dtmf_tables_t:
        float halfband[4]
        float window[52]
        float coef[8]
        float cosw[8]
        float sinw[8]
        float cosh[8]
        float sinh[8]
        float costol[8]
        float costol_run[8]
        float gain_poly[4]
        float notch_a[2]
        float notch_b1[2]
        float notch_b2[2]
        float norm, level, cand_level, twist, rtwist, min_purity, cand_purity, tone_purity, run_purity
        int on_blocks, off_blocks, strong_blocks, dialtone
        float rest_energy
        int rest_blocks, rest_peak
    ctypedef struct pycc_dtmf_event_t:
        int channel, digit, kind, order
        int64_t start, end, when
    ctypedef struct pycc_dtmf_t:
        pass
    pycc_dtmf_t *pycc_dtmf_new(int channels, const pycc_dtmf_tables_t *tables)
    void pycc_dtmf_free(pycc_dtmf_t *s)
    void pycc_dtmf_reset(pycc_dtmf_t *s, int channel)
    long pycc_dtmf_max_events(const pycc_dtmf_t *s, long samples)
    long pycc_dtmf_process(pycc_dtmf_t *s, const int16_t *x, long samples, pycc_dtmf_event_t *events) nogil
    long pycc_dtmf_process_g711(pycc_dtmf_t *s, const uint8_t *x, const int16_t *table, long samples,
                                pycc_dtmf_event_t *events) nogil
    int64_t pycc_dtmf_samples(const pycc_dtmf_t *s)
    int pycc_dtmf_wide_path(int wide)
    int pycc_dtmf_at_rest(const pycc_dtmf_t *s, int channel)
    void pycc_dtmf_screen_counts(const pycc_dtmf_t *s, long counts[3])
    void pycc_dtmf_signal_state(const pycc_dtmf_t *s, int channel, float *out)


def code_path(int wide):
    """For tests: use the AVX-512VL Goertzel passes and the AVX-512BW int16 input transpose (1, when the CPU has
    them), the AVX2/plain passes and the AVX2 int16 transpose (0), those passes with the plain float transpose and
    decimator of CPUs without AVX2 and FMA (2), or let the CPU decide (-1); returns the path set (-1: not decided
    yet). Every path gives the same results."""
    return pycc_dtmf_wide_path(wide)


cdef void _fill(float *dst, src, int n) except *:
    if len(src) != n:
        raise ValueError("table has the wrong length")
    for i in range(n):
        dst[i] = float(src[i])


cdef class Kernel:
    """Native state for N channels; ``process`` returns event tuples (channel, digit, "begin"/"end", start, end)
    of ``event_type`` (a tuple subclass such as a NamedTuple with those five fields; default plain tuples).

    Events are ordered by the analysis block that produced them, then by channel; end is None for a begin.
    """

    cdef pycc_dtmf_t *s
    cdef readonly int channels
    cdef object event_type
    # kept across calls: a fresh buffer per tick (hundreds of kB for a large board) cost page faults every tick
    cdef pycc_dtmf_event_t *ev
    cdef long ev_cap

    def __cinit__(self, int channels, dict tb, event_type=tuple):
        cdef pycc_dtmf_tables_t t
        if channels < 1:
            raise ValueError("channels must be >= 1")
        _fill(t.halfband, tb["halfband"], 4)
        _fill(t.window, tb["window"], 52)
        _fill(t.coef, tb["coef"], 8)
        _fill(t.cosw, tb["cosw"], 8)
        _fill(t.sinw, tb["sinw"], 8)
        _fill(t.cosh, tb["cosh"], 8)
        _fill(t.sinh, tb["sinh"], 8)
        _fill(t.costol, tb["costol"], 8)
        _fill(t.costol_run, tb["costol_run"], 8)
        _fill(t.gain_poly, tb["gain_poly"], 4)
        _fill(t.notch_a, tb["notch_a"], 2)
        _fill(t.notch_b1, tb["notch_b1"], 2)
        _fill(t.notch_b2, tb["notch_b2"], 2)
        t.norm = tb["norm"]
        t.level = tb["level"]
        t.cand_level = tb["cand_level"]
        t.twist = tb["twist"]
        t.rtwist = tb["rtwist"]
        t.min_purity = tb["min_purity"]
        t.cand_purity = tb["cand_purity"]
        t.tone_purity = tb["tone_purity"]
        t.run_purity = tb["run_purity"]
        t.on_blocks = tb["on_blocks"]
        t.off_blocks = tb["off_blocks"]
        t.strong_blocks = tb["strong_blocks"]
        t.dialtone = 1 if tb["dialtone"] else 0
        t.rest_energy = tb["rest_energy"]
        t.rest_blocks = tb["rest_blocks"]
        t.rest_peak = tb["rest_peak"]
        if not issubclass(event_type, tuple):
            raise TypeError("event_type must be a tuple type")
        self.event_type = event_type
        self.channels = channels
        self.s = pycc_dtmf_new(channels, &t)
        if self.s == NULL:
            raise MemoryError()

    def __dealloc__(self):
        if self.s != NULL:
            pycc_dtmf_free(self.s)
        free(self.ev)

    @property
    def samples(self):
        """Samples processed per channel since creation."""
        return pycc_dtmf_samples(self.s)

    def at_rest(self, int channel):
        """For tests: 0 awake, 1 resting (signal state all zero), -1 resting with state left (a bug)."""
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} out of range")
        return pycc_dtmf_at_rest(self.s, channel)

    def signal_state(self, int channel):
        """For tests: the channel's filter state as float32 (28): notch x1, x2, y1, y2 (notch 0, then 1); per block
        parity the column filters' s1[4], s2[4]; the low band's block energy per parity, then the high band's."""
        cdef float out[28]
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} out of range")
        pycc_dtmf_signal_state(self.s, channel, out)
        return [out[j] for j in range(28)]

    def screen_counts(self):
        """For tests: (lane-blocks the row screen ruled out, lanes gathered for their rows, group-blocks whose rows
        ran in place) since creation."""
        cdef long c[3]
        pycc_dtmf_screen_counts(self.s, c)
        return c[0], c[1], c[2]

    def reset(self, int channel):
        """Clear one channel's state."""
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} out of range")
        pycc_dtmf_reset(self.s, channel)

    def process(self, const int16_t[:, ::1] x):
        """Feed one int16 block; return the list of raw event tuples."""
        if x.shape[0] != self.channels or x.shape[1] == 0:
            raise ValueError("wrong channel count or no samples")
        return self._run(&x[0, 0], NULL, NULL, x.shape[1])

    def process_g711(self, const uint8_t[:, ::1] x, const int16_t[::1] table):
        """Feed one block of G.711 codes decoded through a 256-entry table; return raw event tuples."""
        if x.shape[0] != self.channels or table.shape[0] != 256:
            raise ValueError("wrong channel count or table size")
        return self._run(NULL, &x[0, 0], &table[0], x.shape[1])

    cdef list _run(self, const int16_t *x16, const uint8_t *x8, const int16_t *table, long samples):
        cdef long cap = pycc_dtmf_max_events(self.s, samples)
        cdef pycc_dtmf_event_t *ev
        cdef long n, i
        if cap > self.ev_cap:
            ev = <pycc_dtmf_event_t *> realloc(self.ev, sizeof(pycc_dtmf_event_t) * cap)
            if ev == NULL:
                raise MemoryError()
            self.ev, self.ev_cap = ev, cap
        ev = self.ev
        with nogil:
            if x16 != NULL:
                n = pycc_dtmf_process(self.s, x16, samples, ev)
            else:
                n = pycc_dtmf_process_g711(self.s, x8, table, samples, ev)
        if n < 0:
            raise MemoryError()
        out = [None] * n
        for i in range(n):
            out[i] = _event(self.event_type, &ev[i])
        return out


cdef inline void _put(object t, Py_ssize_t i, object v):
    Py_INCREF(v)  # PyTuple_SET_ITEM steals a reference
    PyTuple_SET_ITEM(t, i, v)


cdef object _event(object cls, const pycc_dtmf_event_t *e):
    """Return the event tuple (channel, digit, kind, start, end) of type cls, allocated and filled in place: what
    tuple.__new__(cls, (...)) does without the attribute lookup, the argument tuple and its copy (measured: a few
    percent of the busy benchmark, which reports about 2,800 events a second of 1,024 channels)."""
    cdef PyObject *p = (<_type_t *> cls).tp_alloc(<_type_t *> cls, 5)
    if p == NULL:
        raise MemoryError()
    t = <object> p
    Py_DECREF(t)  # the cast took a reference of its own; t now holds the only one
    _put(t, 0, e.channel)
    _put(t, 1, chr(e.digit))
    _put(t, 2, "end" if e.kind else "begin")
    _put(t, 3, e.start)
    _put(t, 4, e.end if e.kind else None)
    return t
