# Augmenting declarations for the Cython build of call.py (see pycallcenter/_compiled.py): Interface's
# state becomes typed fields of an extension type (it keeps a __dict__, so tests may still replace a
# method on an instance). The .py file stays the plain-Python source.
cimport pycallcenter.isdn.lapd as _lapd_types
cimport pycallcenter.timers as _timers

cdef class Interface:
    cdef dict __dict__
    cdef public object network, variant, tracer, restart_pending, timers
    cdef public _timers.TimerService deadlines
    cdef public _lapd_types.Link link
    cdef public dict calls, channel_calls, service_pending, counters
    cdef public set out_of_service
    cdef public bint alarmed
    cdef public int _next_cr
    cdef public list _events
    cdef public double _now
