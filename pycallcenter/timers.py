"""One timer service for the sans-IO protocol machines (LAPD, Q.931, MTP2, MTP3, ISUP).

A machine owns one ``TimerService`` and names its timers ``(owner, name)``: the owner is whatever the timer
belongs to (a call reference, a CIC, a link; ``None`` for the machine itself), the name is the spec's
(``"T303"``, ``"T7"``). Time is always passed in, as in aioquic's ``get_timer()``/``handle_timer(now)``:
the machine's ``next_deadline()`` asks the service, and its ``handle_timer(now)`` runs what
``expired(now)`` yields.

Each timer is a ``Timer`` object the service keeps per owner; a machine may also hold the ones it uses on
every frame (``timer(owner, name)``) and start or cancel them without a lookup (LAPD's T200 and T203).
Arm is O(log n) at worst and cancel O(1): a heap of ``(deadline, sequence, timer)`` with lazy deletion. A
cancelled timer's entry stays in the heap and is dropped when it reaches the top. Re-arming a timer to a
later deadline (LAPD restarts T203 on every frame) pushes nothing: the timer's earlier entry, when it
reaches the top, is put back at the new deadline. The heap is rebuilt when dead entries outnumber live
timers. Nothing scans all owners. Equal deadlines come out in the order they were (last) armed, so a run
is reproducible. The module is compiled with Cython like the machines
that use it (``pycallcenter/_compiled.py``; ``timers.pxd`` makes the service an extension type, which the
PRI machines' own ``.pxd`` files type their ``deadlines`` with, so their hot paths call it in C).

The timers' durations are not kept here: each protocol declares them once as a frozen dataclass named
like the spec (``isdn/timers.py``: ``LapdTimers``, ``Q931Timers``; ``ss7/timers.py``: ``Mtp2Timers``,
``Mtp3Timers``, ``IsupTimers``).
"""
from heapq import heapify, heappop, heappush, heapreplace

_SLACK = 16  # dead heap entries tolerated beyond the live timers before a rebuild (few: pushes stay shallow)


class Timer:
    """One named timer of a TimerService (owner, name), made by TimerService.timer(); start() and cancel() it
    directly on hot paths."""

    def start(self, when):
        """Arm (or re-arm) the timer to expire at when."""
        service = self.service
        service._seq += 1
        self.seq = service._seq
        if not self.armed:
            self.armed = True
            service._live += 1
        if not self.listed:
            service._list(self)
        self.when = when
        if not self.queued or when < self.hmin:  # earlier than any entry it has: it needs its own
            self.queued = True
            self.hmin = when
            heappush(service._heap, (when, self.seq, self))
            if len(service._heap) > 2 * service._live + _SLACK:
                service._compact()

    def start_once(self, when):
        """Arm the timer unless it is running; returns True if it was armed now."""
        if self.armed:
            return False
        self.start(when)
        return True

    def cancel(self):
        """Stop the timer; returns True if it was running."""
        if not self.armed:
            return False
        self.armed = False  # its heap entry is dropped when it reaches the top, unless it is re-armed first
        self.service._live -= 1
        return True


class TimerService:
    """Named timers with deadlines: start/cancel by (owner, name), next_deadline(), expired(now)."""

    def __init__(self):
        self._heap = []
        self._armed = {}  # owner -> {name: Timer}
        self._seq = 0
        self._live = 0

    def timer(self, owner, name):
        """Return the Timer for (owner, name), made on first use."""
        timers = self._armed.get(owner)
        if timers is None:
            timers = self._armed[owner] = {}
        timer = timers.get(name)
        if timer is None:
            timer = timers[name] = Timer.__new__(Timer)  # no __init__: one is made per call and timer name
            timer.service = self
            timer.owner = owner
            timer.name = name
            timer.when = timer.hmin = 0.0
            timer.seq = 0
            timer.armed = False  # running
            timer.queued = False  # has a heap entry at hmin (its earliest)
            timer.listed = True  # in self._armed[owner] (cancel_owner drops whole owners)
        return timer

    def start(self, owner, name, when):
        """Arm (or re-arm) timer name of owner to expire at when (a running one is restarted)."""
        self.timer(owner, name).start(when)

    def start_once(self, owner, name, when):
        """Arm timer name of owner unless it is already running; returns True if it was armed now."""
        return self.timer(owner, name).start_once(when)

    def cancel(self, owner, name):
        """Stop timer name of owner; returns True if it was running."""
        timers = self._armed.get(owner)
        if timers is None:
            return False
        timer = timers.get(name)
        return timer is not None and timer.cancel()

    def cancel_names(self, owner, names):
        """Stop those of owner's timers named in names that are running; returns how many were."""
        timers = self._armed.get(owner)
        stopped = 0
        if timers is not None:
            for name in names:
                timer = timers.get(name)
                if timer is not None and timer.cancel():
                    stopped += 1
        return stopped

    def cancel_owner(self, owner):
        """Stop every timer of owner and forget them; returns how many were running."""
        timers = self._armed.pop(owner, None)
        if not timers:
            return 0
        stopped = 0
        for timer in timers.values():
            timer.listed = False
            if timer.cancel():
                stopped += 1
        return stopped

    def cancel_all(self):
        """Stop every timer."""
        for timers in self._armed.values():
            for timer in timers.values():
                timer.armed = False
                timer.queued = False
        self._heap.clear()
        self._live = 0

    def running(self, owner, name):
        """Return True while timer name of owner is armed."""
        timers = self._armed.get(owner)
        if timers is None:
            return False
        timer = timers.get(name)
        return timer is not None and timer.armed

    def deadline(self, owner, name):
        """Return the deadline of timer name of owner, or None when it is not running."""
        timers = self._armed.get(owner)
        timer = timers.get(name) if timers is not None else None
        return timer.when if timer is not None and timer.armed else None

    def names(self, owner):
        """Return the names of owner's running timers, earliest first."""
        timers = self._armed.get(owner) or {}
        live = sorted((t.when, t.seq, name) for name, t in timers.items() if t.armed)
        return [name for _, _, name in live]

    def keys(self):
        """Return every running (owner, name), earliest first."""
        live = sorted((t.when, t.seq, owner, name) for owner, timers in self._armed.items()
                      for name, t in timers.items() if t.armed)
        return [(owner, name) for _, _, owner, name in live]

    def __contains__(self, name):
        """Return True while the machine's own timer name (owner None) is running."""
        return self.running(None, name)

    def __len__(self):
        return self._live

    def next_deadline(self):
        """Return the earliest deadline of a running timer, or None."""
        heap = self._heap
        while heap:
            top = heap[0]
            timer = top[2]
            if not timer.armed:  # cancelled or expired: this was its earliest entry
                heappop(heap)
                timer.queued = False
                continue
            when = timer.when
            if when == top[0] and timer.seq == top[1]:
                return when
            timer.hmin = when  # re-armed later (or again at the same time): back in at its current place
            heapreplace(heap, (when, timer.seq, timer))
        return None

    def pop_expired(self, now):
        """Disarm and return the earliest timer due at now as (owner, name), or None when none is due."""
        when = self.next_deadline()
        if when is None or when > now:
            return None
        timer = heappop(self._heap)[2]
        timer.armed = False
        timer.queued = False
        self._live -= 1
        return timer.owner, timer.name

    def expired(self, now):
        """Yield (owner, name) of each timer due at now, in deadline order (arming order for equal deadlines),
        disarming each as it is yielded; a timer the caller cancels or re-arms meanwhile is not yielded."""
        while True:
            key = self.pop_expired(now)
            if key is None:
                return
            yield key

    def _list(self, timer):
        """Put back a timer whose owner was dropped by cancel_owner (a machine kept it and starts it again)."""
        timers = self._armed.get(timer.owner)
        if timers is None:
            timers = self._armed[timer.owner] = {}
        other = timers.get(timer.name)
        if other is not None and other is not timer:
            other.cancel()
        timers[timer.name] = timer
        timer.listed = True

    def _compact(self):
        heap = []
        for timers in self._armed.values():
            for timer in timers.values():
                timer.queued = timer.armed
                if timer.armed:
                    timer.hmin = timer.when
                    heap.append((timer.when, timer.seq, timer))
        heapify(heap)
        self._heap = heap
