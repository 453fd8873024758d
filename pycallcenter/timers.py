"""One timer service for the sans-IO protocol machines (LAPD, Q.931, MTP2, MTP3, ISUP).

A machine owns one ``TimerService`` and names its timers ``(owner, name)``: the owner is whatever the timer
belongs to (a call reference, a CIC, a link; ``None`` for the machine itself), the name is the spec's
(``"T303"``, ``"T7"``). Time is always passed in, as in aioquic's ``get_timer()``/``handle_timer(now)``:
the machine's ``next_deadline()`` asks the service, and its ``handle_timer(now)`` runs what
``expired(now)`` yields.

Arm and cancel are O(log n) and O(1): a heap of ``(deadline, sequence, owner, name)`` with lazy deletion
(a cancelled or re-armed timer's entry stays in the heap and is skipped when it reaches the top; the heap
is rebuilt when stale entries outnumber live ones). Nothing scans all owners. Equal deadlines come out in
the order they were armed, so a run is reproducible.

The timers' durations are not kept here: each protocol declares them once as a frozen dataclass named
like the spec (``isdn/timers.py``: ``LapdTimers``, ``Q931Timers``; ``ss7/timers.py``: ``Mtp2Timers``,
``Mtp3Timers``, ``IsupTimers``).
"""
from heapq import heapify, heappop, heappush

_COMPACT_AT = 64  # stale heap entries tolerated before a rebuild is considered


class TimerService:
    """Named timers with deadlines: start/cancel by (owner, name), next_deadline(), expired(now)."""

    __slots__ = ("_heap", "_armed", "_seq", "_stale")

    def __init__(self):
        self._heap = []
        self._armed = {}  # owner -> {name: (deadline, sequence)}
        self._seq = 0
        self._stale = 0

    def start(self, owner, name, when):
        """Arm (or re-arm) timer name of owner to expire at when (a running one is restarted)."""
        seq = self._seq = self._seq + 1
        timers = self._armed.get(owner)
        if timers is None:
            self._armed[owner] = {name: (when, seq)}
        else:
            if name in timers:
                self._stale += 1
            timers[name] = (when, seq)
        heappush(self._heap, (when, seq, owner, name))
        if self._stale > _COMPACT_AT:
            self._compact()

    def start_once(self, owner, name, when):
        """Arm timer name of owner unless it is already running; returns True if it was armed now."""
        timers = self._armed.get(owner)
        if timers is not None and name in timers:
            return False
        self.start(owner, name, when)
        return True

    def cancel(self, owner, name):
        """Stop timer name of owner; returns True if it was running."""
        timers = self._armed.get(owner)
        if timers is None or timers.pop(name, None) is None:
            return False
        if not timers:
            del self._armed[owner]
        self._stale += 1
        return True

    def cancel_names(self, owner, names):
        """Stop those of owner's timers named in names that are running; returns how many were."""
        timers = self._armed.get(owner)
        if timers is None:
            return 0
        stopped = 0
        for name in names:
            if timers.pop(name, None) is not None:
                stopped += 1
        if not timers:
            del self._armed[owner]
        self._stale += stopped
        return stopped

    def cancel_owner(self, owner):
        """Stop every timer of owner; returns how many were running."""
        timers = self._armed.pop(owner, None)
        if not timers:
            return 0
        self._stale += len(timers)
        return len(timers)

    def cancel_all(self):
        """Stop every timer."""
        self._armed.clear()
        self._heap.clear()
        self._stale = 0

    def running(self, owner, name):
        """Return True while timer name of owner is armed."""
        timers = self._armed.get(owner)
        return timers is not None and name in timers

    def deadline(self, owner, name):
        """Return the deadline of timer name of owner, or None when it is not running."""
        timers = self._armed.get(owner)
        entry = timers.get(name) if timers is not None else None
        return entry[0] if entry is not None else None

    def names(self, owner):
        """Return the names of owner's running timers, earliest first."""
        timers = self._armed.get(owner)
        return [name for name, _ in sorted(timers.items(), key=lambda kv: kv[1])] if timers else []

    def keys(self):
        """Return every running (owner, name), earliest first."""
        entries = [(entry, owner, name) for owner, timers in self._armed.items() for name, entry in timers.items()]
        return [(owner, name) for _, owner, name in sorted(entries, key=lambda e: e[0])]

    def __contains__(self, name):
        """Return True while the machine's own timer name (owner None) is running."""
        timers = self._armed.get(None)
        return timers is not None and name in timers

    def __len__(self):
        return sum(len(timers) for timers in self._armed.values())

    def next_deadline(self):
        """Return the earliest deadline of a running timer, or None."""
        heap = self._heap
        armed = self._armed
        while heap:
            when, seq, owner, name = heap[0]
            timers = armed.get(owner)
            if timers is not None:
                entry = timers.get(name)
                if entry is not None and entry[1] == seq:
                    return when
            heappop(heap)
            self._stale -= 1
        return None

    def pop_expired(self, now):
        """Disarm and return the earliest timer due at now as (owner, name), or None when none is due."""
        when = self.next_deadline()
        if when is None or when > now:
            return None
        _, _, owner, name = heappop(self._heap)
        timers = self._armed[owner]
        del timers[name]
        if not timers:
            del self._armed[owner]
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
        if self._stale <= len(self._heap) // 2:
            return
        self._heap = [(when, seq, owner, name) for owner, timers in self._armed.items()
                      for name, (when, seq) in timers.items()]
        heapify(self._heap)
        self._stale = 0
