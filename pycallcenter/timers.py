"""One timer service for the sans-IO protocol machines (LAPD, Q.931, MTP2, MTP3, ISUP).

A machine owns one ``TimerService`` and names its timers ``(owner, name)``: the owner is whatever the timer
belongs to (a call reference, a CIC, a link; ``None`` for the machine itself), the name is the spec's
(``"T303"``, ``"T7"``). Time is always passed in, as in aioquic's ``get_timer()``/``handle_timer(now)``:
the machine's ``next_deadline()`` asks the service, and its ``handle_timer(now)`` runs what
``expired(now)`` yields.

Arm is O(log n) at worst and cancel O(1): a heap of ``(deadline, sequence, owner, name)`` with lazy deletion.
A cancelled timer's entry stays in the heap and is dropped when it reaches the top. Re-arming a timer to a
later deadline (LAPD restarts T203 on every frame) pushes nothing: the timer's earlier entry, when it reaches
the top, is put back at the new deadline. The heap is rebuilt when dead entries outnumber live timers.
Nothing scans all owners. Equal deadlines come out in the order they were (last) armed, so a run is
reproducible. The module is compiled with Cython like the machines
that use it (``pycallcenter/_compiled.py``; ``timers.pxd`` makes the service an extension type, which the
PRI machines' own ``.pxd`` files type their ``deadlines`` with, so their hot paths call it in C).

The timers' durations are not kept here: each protocol declares them once as a frozen dataclass named
like the spec (``isdn/timers.py``: ``LapdTimers``, ``Q931Timers``; ``ss7/timers.py``: ``Mtp2Timers``,
``Mtp3Timers``, ``IsupTimers``).
"""
from heapq import heapify, heappop, heappush, heapreplace

_SLACK = 64  # dead heap entries tolerated beyond the live timers before the heap is rebuilt


class TimerService:
    """Named timers with deadlines: start/cancel by (owner, name), next_deadline(), expired(now)."""

    def __init__(self):
        self._heap = []
        # owner -> {name: [deadline (None once cancelled), sequence, deadline of its earliest heap entry]}
        self._armed = {}
        self._seq = 0
        self._live = 0

    def start(self, owner, name, when):
        """Arm (or re-arm) timer name of owner to expire at when (a running one is restarted)."""
        seq = self._seq = self._seq + 1
        timers = self._armed.get(owner)
        if timers is None:
            timers = self._armed[owner] = {}
        entry = timers.get(name)
        if entry is None:
            timers[name] = [when, seq, when]
            self._live += 1
            heappush(self._heap, (when, seq, owner, name))
        else:
            if entry[0] is None:
                self._live += 1
            entry[0] = when
            entry[1] = seq
            if when < entry[2]:  # earlier than any entry it has: it needs its own
                entry[2] = when
                heappush(self._heap, (when, seq, owner, name))
        if len(self._heap) > 2 * self._live + _SLACK:
            self._compact()

    def start_once(self, owner, name, when):
        """Arm timer name of owner unless it is already running; returns True if it was armed now."""
        timers = self._armed.get(owner)
        if timers is not None:
            entry = timers.get(name)
            if entry is not None and entry[0] is not None:
                return False
        self.start(owner, name, when)
        return True

    def cancel(self, owner, name):
        """Stop timer name of owner; returns True if it was running."""
        timers = self._armed.get(owner)
        if timers is None:
            return False
        entry = timers.get(name)
        if entry is None or entry[0] is None:
            return False
        entry[0] = None  # its heap entry is dropped when it reaches the top, unless it is re-armed first
        self._live -= 1
        return True

    def cancel_names(self, owner, names):
        """Stop those of owner's timers named in names that are running; returns how many were."""
        stopped = 0
        if owner in self._armed:
            for name in names:
                if self.cancel(owner, name):
                    stopped += 1
        return stopped

    def cancel_owner(self, owner):
        """Stop every timer of owner; returns how many were running."""
        timers = self._armed.pop(owner, None)
        if not timers:
            return 0
        stopped = 0
        for entry in timers.values():
            if entry[0] is not None:
                stopped += 1
        self._live -= stopped
        return stopped

    def cancel_all(self):
        """Stop every timer."""
        self._armed.clear()
        self._heap.clear()
        self._live = 0

    def running(self, owner, name):
        """Return True while timer name of owner is armed."""
        timers = self._armed.get(owner)
        if timers is None:
            return False
        entry = timers.get(name)
        return entry is not None and entry[0] is not None

    def deadline(self, owner, name):
        """Return the deadline of timer name of owner, or None when it is not running."""
        timers = self._armed.get(owner)
        entry = timers.get(name) if timers is not None else None
        return entry[0] if entry is not None else None

    def names(self, owner):
        """Return the names of owner's running timers, earliest first."""
        timers = self._armed.get(owner) or {}
        live = sorted((entry[0], entry[1], name) for name, entry in timers.items() if entry[0] is not None)
        return [name for _, _, name in live]

    def keys(self):
        """Return every running (owner, name), earliest first."""
        live = sorted((entry[0], entry[1], owner, name) for owner, timers in self._armed.items()
                      for name, entry in timers.items() if entry[0] is not None)
        return [(owner, name) for _, _, owner, name in live]

    def __contains__(self, name):
        """Return True while the machine's own timer name (owner None) is running."""
        return self.running(None, name)

    def __len__(self):
        return self._live

    def next_deadline(self):
        """Return the earliest deadline of a running timer, or None."""
        heap = self._heap
        armed = self._armed
        while heap:
            top = heap[0]
            owner = top[2]
            name = top[3]
            timers = armed.get(owner)
            entry = timers.get(name) if timers is not None else None
            if entry is None:  # its owner's timers were all cancelled, or it expired already
                heappop(heap)
                continue
            when = entry[0]
            if when is None:  # cancelled: this is its earliest entry, so the timer can go
                heappop(heap)
                del timers[name]
                if not timers:
                    del armed[owner]
                continue
            if when == top[0] and entry[1] == top[1]:
                return when
            entry[2] = when  # re-armed later (or again at the same time): back in at its current place
            heapreplace(heap, (when, entry[1], owner, name))
        return None

    def pop_expired(self, now):
        """Disarm and return the earliest timer due at now as (owner, name), or None when none is due."""
        when = self.next_deadline()
        if when is None or when > now:
            return None
        top = heappop(self._heap)
        owner = top[2]
        name = top[3]
        timers = self._armed[owner]
        del timers[name]
        if not timers:
            del self._armed[owner]
        self._live -= 1
        return owner, name

    def expired(self, now):
        """Yield (owner, name) of each timer due at now, in deadline order (arming order for equal deadlines),
        disarming each as it is yielded; a timer the caller cancels or re-arms meanwhile is not yielded."""
        while True:
            key = self.pop_expired(now)
            if key is None:
                return
            yield key

    def _compact(self):
        heap = []
        for owner in list(self._armed):
            timers = self._armed[owner]
            for name in list(timers):
                entry = timers[name]
                if entry[0] is None:
                    del timers[name]
                    continue
                entry[2] = entry[0]
                heap.append((entry[0], entry[1], owner, name))
            if not timers:
                del self._armed[owner]
        heapify(heap)
        self._heap = heap
