# Augmenting declarations for the Cython build of timers.py (see pycallcenter/_compiled.py): TimerService
# becomes an extension type whose methods the compiled machines call directly, with typed locals on the
# paths every frame and message takes. The .py file is the source.
cimport cython

cdef Py_ssize_t _SLACK

cdef class TimerService:
    cdef readonly list _heap  # readonly: tests check it stays bounded
    cdef dict _armed
    cdef long long _seq
    cdef Py_ssize_t _live

    @cython.locals(seq="long long", timers=dict, entry=list)
    cpdef start(self, owner, name, double when)
    @cython.locals(timers=dict, entry=list)
    cpdef bint start_once(self, owner, name, double when)
    @cython.locals(timers=dict, entry=list)
    cpdef bint cancel(self, owner, name)
    cpdef Py_ssize_t cancel_names(self, owner, names)
    @cython.locals(timers=dict, entry=list, stopped=Py_ssize_t)
    cpdef Py_ssize_t cancel_owner(self, owner)
    cpdef cancel_all(self)
    @cython.locals(timers=dict, entry=list)
    cpdef bint running(self, owner, name)
    @cython.locals(heap=list, armed=dict, top=tuple, timers=dict, entry=list)
    cpdef object next_deadline(self)
    @cython.locals(top=tuple, timers=dict)
    cpdef object pop_expired(self, double now)
    cpdef _compact(self)
