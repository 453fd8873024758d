"""Real-time scheduling of the thread that ticks, opt-in: ``[centre] realtime``, ``realtime_priority``, ``cpu``
and ``lock_memory`` (docs/operations.md; docs/reliability.md, "Paced in real time").

Why: a paced centre must finish each 20 ms tick within 20 ms of wall time, and on a shared host the wall time
of a tick also counts the time other processes held its core (the run queue) and the time the process's other
threads held the GIL. A real-time scheduling class (SCHED_RR at a modest priority, as telephony engines offer
with a command-line switch) puts the tick thread ahead of every ordinary process on its core; the process's
other threads go one priority below it, so a thread that holds the GIL when the tick wants it is not itself
kept off a core by other processes before it can let go (a priority inversion through the GIL). Threads
created by the tick thread inherit nothing (SCHED_RESET_ON_FORK); ``Realtime.adopt()`` places the ones
started later. The tick sleeps in its slack, so a real-time tick thread leaves the core to others most of
the time; Linux's real-time throttling (``sched_rt_runtime_us``) bounds it if it ever spins.

Everything here is best effort: a step that is not permitted (no root, CAP_SYS_NICE, CAP_IPC_LOCK or
rtprio/memlock limit) leaves that part as it was and returns one warning line that says what to grant.
"""
import ctypes
import ctypes.util
import errno
import os
import resource
import threading

# mlockall flags (<sys/mman.h>): the pages mapped now, those mapped later, and only as they are touched
# (Linux 4.4+; without it every reserved page of every mapping, thread stacks included, is faulted in at once)
MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4
HOW_TO_GRANT = ("run as root, or grant CAP_SYS_NICE or an rtprio limit (LimitRTPRIO= in a systemd unit, "
                "'rtprio' in /etc/security/limits.conf)")


class Realtime:
    """What was applied to the calling (ticking) thread, and how to undo it; see the module doc."""

    def __init__(self, priority=None, cpu=None, lock_memory=False):
        self.priority, self.cpu, self.lock_memory = priority, cpu, lock_memory
        self.tid = None  # the ticking thread's native id, once applied
        self.warnings = []
        self._was = None  # (policy, priority) of the ticking thread before
        self._affinity = None  # its CPU set before
        self._locked = False
        self._helpers = {}  # native id -> (policy, priority) before, for the other threads placed one lower

    @property
    def scheduled(self):
        """Return True while the ticking thread runs in the real-time class."""
        return self._was is not None

    def describe(self):
        """Return what the ticking thread runs with now, in words ('SCHED_RR 10, CPU 1, memory locked')."""
        parts = [f"SCHED_RR {self.priority}" if self.scheduled else "normal priority"]
        if self._affinity is not None:
            parts.append(f"CPU {self.cpu}")
        if self._locked:
            parts.append("memory locked")
        return ", ".join(parts)

    def apply(self):
        """Apply what was asked to the calling thread (and memory); return the warnings, one line each."""
        self.tid, self.warnings = threading.get_native_id(), []
        if not hasattr(os, "sched_setscheduler"):  # Linux's scheduling calls; other systems have none of them
            self.warnings.append("centre.realtime, cpu: this system has no SCHED_RR or CPU pinning for threads; "
                                 "the tick thread runs as any other")
            return self.warnings
        if self.priority is not None:
            self._schedule()
        if self.cpu is not None:
            self._pin()
        if self.lock_memory:
            self._lock()
        if self.scheduled:
            self.adopt()
        return self.warnings

    def _schedule(self):
        was = (os.sched_getscheduler(0), os.sched_getparam(0).sched_priority)
        try:
            os.sched_setscheduler(0, os.SCHED_RR | os.SCHED_RESET_ON_FORK, os.sched_param(self.priority))
        except OSError as exc:
            self.warnings.append(f"centre.realtime: cannot run the tick thread at SCHED_RR priority {self.priority} "
                                 f"({exc.strerror}); it runs at normal priority: {HOW_TO_GRANT}")
            return
        self._was = was

    def _pin(self):
        try:
            self._affinity = os.sched_getaffinity(0)
            os.sched_setaffinity(0, {self.cpu})
        except OSError as exc:
            self._affinity = None
            self.warnings.append(f"centre.cpu: cannot pin the tick thread to CPU {self.cpu} ({exc.strerror}; this "
                                 f"host has CPUs {_cpus(os.sched_getaffinity(0))}); it runs on any")

    def _lock(self):
        soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
        if os.geteuid() != 0 and soft != resource.RLIM_INFINITY:
            # with a finite limit, MCL_FUTURE would make the allocation that crosses it fail (MemoryError) later
            self.warnings.append(f"centre.lock_memory: the memlock limit is {soft} bytes; memory is not locked: "
                                 "run as root, or grant CAP_IPC_LOCK or an unlimited memlock limit "
                                 "(LimitMEMLOCK=infinity, 'ulimit -l unlimited')")
            return
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        for flags in (MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT, MCL_CURRENT | MCL_FUTURE):
            if libc.mlockall(flags) == 0:
                self._locked = True
                return
            err = ctypes.get_errno()
            if err != errno.EINVAL:  # EINVAL: a kernel without MCL_ONFAULT; try without it
                break
        self.warnings.append(f"centre.lock_memory: mlockall failed ({os.strerror(err)}); memory is not locked")

    def adopt(self):
        """Put the process's other threads not yet placed (the recordings' writer, the CTI server...) one
        priority below the tick thread, so one holding the GIL gets a core to let go on; return how many."""
        if not self.scheduled:
            return 0
        placed = 0
        for t in threading.enumerate():
            tid = t.native_id
            if tid is None or tid == self.tid or tid in self._helpers:
                continue
            try:
                was = (os.sched_getscheduler(tid), os.sched_getparam(tid).sched_priority)
                os.sched_setscheduler(tid, os.SCHED_RR | os.SCHED_RESET_ON_FORK,
                                      os.sched_param(max(1, self.priority - 1)))
            except OSError:  # ended meanwhile, or not permitted for it: it keeps its class
                continue
            self._helpers[tid] = was
            placed += 1
        return placed

    def restore(self):
        """Undo what apply() did, on the same (calling) thread; return None."""
        if self._was is not None:
            policy, priority = self._was
            os.sched_setscheduler(0, policy, os.sched_param(priority))
            self._was = None
        for tid, (policy, priority) in self._helpers.items():
            try:
                os.sched_setscheduler(tid, policy, os.sched_param(priority))
            except OSError:  # the thread ended
                pass
        self._helpers.clear()
        if self._affinity is not None:
            os.sched_setaffinity(0, self._affinity)
            self._affinity = None
        if self._locked:
            ctypes.CDLL(ctypes.util.find_library("c")).munlockall()
            self._locked = False


def from_settings(c):
    """Return the Realtime of a [centre] section, or None when it asks for none of it."""
    if not (c.realtime or c.cpu is not None or c.lock_memory):
        return None
    return Realtime(c.realtime_priority if c.realtime else None, c.cpu, c.lock_memory)


def _cpus(cpus):
    return ",".join(str(n) for n in sorted(cpus))
