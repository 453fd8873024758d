# Augmenting declarations for the Cython build of timers.py (see pycallcenter/_compiled.py): Timer and
# TimerService become extension types with C fields, whose methods the compiled machines call directly.
# The .py file is the source.
cimport cython

cdef Py_ssize_t _SLACK

cdef class TimerService

cdef class Timer:
    cdef public TimerService service
    cdef public object owner, name
    cdef public double when, hmin
    cdef public long long seq
    cdef public bint armed, queued, listed

    cpdef start(self, double when)
    cpdef bint start_once(self, double when)
    cpdef bint cancel(self)


cdef class TimerService:
    cdef readonly list _heap  # readonly: tests check it stays bounded
    cdef dict _armed
    cdef long long _seq
    cdef Py_ssize_t _live

    @cython.locals(timers=dict, timer=Timer)
    cpdef Timer timer(self, owner, name)
    cpdef start(self, owner, name, double when)
    cpdef bint start_once(self, owner, name, double when)
    @cython.locals(timers=dict, timer=Timer)
    cpdef bint cancel(self, owner, name)
    @cython.locals(timers=dict, timer=Timer, stopped=Py_ssize_t)
    cpdef Py_ssize_t cancel_names(self, owner, names)
    @cython.locals(timers=dict, timer=Timer, stopped=Py_ssize_t)
    cpdef Py_ssize_t cancel_owner(self, owner)
    cpdef cancel_all(self)
    @cython.locals(timers=dict, timer=Timer)
    cpdef bint running(self, owner, name)
    @cython.locals(heap=list, top=tuple, timer=Timer, when=double)
    cpdef object next_deadline(self)
    @cython.locals(timer=Timer)
    cpdef object pop_expired(self, double now)
    @cython.locals(timers=dict, other=Timer)
    cpdef _list(self, Timer timer)
    @cython.locals(heap=list, timers=dict, timer=Timer)
    cpdef _compact(self)
