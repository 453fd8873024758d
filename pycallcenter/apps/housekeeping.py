"""Centre housekeeping: once a minute of board time, give the C heap's free memory back to the system.

Why: a centre runs for weeks through bursts (overload, CTI floods, many calls ending at once) that leave
free blocks below live ones in glibc's main heap, where the numpy buffers of calls live (prompt slices,
recorder rings, tone buffers). glibc hands free pages back to the system only from the top of the heap,
so resident memory keeps the level of the busiest moment. ``malloc_trim(0)`` releases the whole free pages
anywhere in the heap (glibc 2.8 and later walk every bin and ``madvise`` them away); it does not move live
blocks, so it is safe at any moment, and once a minute its cost (a quarter of a millisecond on average on
the soak's 100 MB centre, docs/reliability.md) is a small part of one 80 ms tick. It lowers the level by a
few MB; it does not change a slope: the day-long soak's slope was Python objects in histories and memos
that filled for hours, each now bounded (docs/reliability.md, "Memory").

On a C library without ``malloc_trim`` (musl, macOS) the housekeeping does nothing and says so in the
status (``trim: unavailable``).
"""
import ctypes
import ctypes.util
import time

from pycallcenter.dsp import SAMPLE_RATE

EVERY = 60.0  # board seconds between trims


def _malloc_trim():
    """Return glibc's malloc_trim as a ctypes function, or None where the C library has none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def attach(centre, every=EVERY):
    """Add the housekeeping to a centre; return it."""
    feature = Housekeeping(every)
    centre.features.append(feature)
    return feature


class Housekeeping:
    """Centre feature: returns the C heap's free pages to the system every `every` board seconds."""

    name = "housekeeping"

    def __init__(self, every=EVERY, trim=None):
        self.every = float(every)
        self._trim = _malloc_trim() if trim is None else trim
        self._next = self.every * SAMPLE_RATE  # first trim a minute in: start-up's buffers settle first
        self.trims = 0  # trims run since start
        self.released = 0  # trims that gave memory back (malloc_trim returned 1)
        self.seconds = 0.0  # wall time spent in them
        self.longest = 0.0  # the longest single trim (seconds)

    def on_tick(self, now):
        """Trim when the board time `now` (samples) has passed the next trim's time."""
        if self._trim is None or now < self._next:
            return
        self._next = now + self.every * SAMPLE_RATE
        t0 = time.perf_counter()
        self.released += bool(self._trim(0))
        took = time.perf_counter() - t0
        self.trims += 1
        self.seconds += took
        self.longest = max(self.longest, took)

    def status(self):
        """Return the housekeeping's counters for the status snapshot."""
        if self._trim is None:
            return {"trim": "unavailable"}
        mean = self.seconds / self.trims if self.trims else 0.0
        return {"trims": self.trims, "released": self.released, "trim_mean_ms": round(1000 * mean, 2),
                "trim_max_ms": round(1000 * self.longest, 2)}
