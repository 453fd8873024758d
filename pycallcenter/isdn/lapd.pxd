# Augmenting declarations for the Cython build of lapd.py (see pycallcenter/_compiled.py): the link's
# state variables become typed fields of an extension type. The .py file stays the plain-Python source.
cimport pycallcenter.timers as _timers

cdef class Link:
    cdef public object network
    cdef public int sapi, tei, n200, k, cmd_cr, state, vs, va, vr, rc
    cdef public double t200, t203
    cdef public bint peer_busy, reject_exception, l3_initiated, ack_pending
    cdef public list pending, _out
    cdef public dict unacked, counters
    cdef public _timers.TimerService deadlines
    cdef public _timers.Timer _t200, _t203
    cdef public object timers, on_data

    cpdef list send(self, info, double now)
    cpdef list pop_frames(self)
    cpdef list receive(self, data, double now)
    cpdef _send_s(self, kind, int cr, int pf)
    cpdef _send_i(self, int ns, int pf, bytes info)
    cpdef _push(self, double now)
    cpdef _ack_to(self, int nr)
    cpdef _on_i(self, int ns, int nr, int pf, bytes info, double now, list events)
