"""The bridge op: a script waiting while its leg talks to another. The engine owns it, so that what else
takes part in a call (the station features taking a bridge over on a hook flash) can find a script's
bridge without reaching up into the script API, which only hands it to scripts (``IvrCall.bridge``).

A bridge changes only when one of its legs ends, so it is not polled each tick: the legs' end events wake
it (``_EndWatch``), and the scheduler polls it at its next poll, in task order, as it did every tick."""
from pycallcenter.engine import call as C
from pycallcenter.engine.scheduler import CallHangup, Op


class _EndWatch:
    """An engine listener that wakes the bridge ops waiting on a leg when that leg ends."""

    def __init__(self, engine):
        self.engine = engine
        self.ops: dict = {}  # leg id -> {Bridged: None} (ordered, so wakes follow start order)
        engine.listeners.append(self)

    def add(self, leg, op):
        """Wake op when leg ends."""
        self.ops.setdefault(leg.id, {})[op] = None

    def remove(self, leg, op):
        """Stop watching leg for op."""
        ops = self.ops.get(leg.id)
        if ops is not None:
            ops.pop(op, None)
            if not ops:
                del self.ops[leg.id]

    def on_leg_event(self, kind, leg):
        """Wake the bridges of a leg that ended."""
        if kind != "ended":
            return
        for op in self.ops.pop(leg.id, ()):
            task = op.task
            if not op.done and task is not None and task.op is op and task.scheduler is not None:
                task.scheduler.wake(task)


def _end_watch(engine):
    watch = getattr(engine, "bridge_end_watch", None)
    if watch is None:
        watch = engine.bridge_end_watch = _EndWatch(engine)
    return watch


class Bridged(Op):
    """Wait while two legs talk; over when either ends (the other is cleared too)."""

    polled = False  # woken by either leg's end

    def __init__(self, leg, other):
        self.leg = leg
        self.other = other
        self._watch = None

    def start(self, now):
        self.leg.engine.bridge(self.leg, self.other)
        self._watch = _end_watch(self.leg.engine)
        self._watch.add(self.leg, self)
        self._watch.add(self.other, self)

    def poll(self, now):
        if not self.other.active:
            if self.leg.active:
                self.leg.engine.unbridge(self.leg)
            self.finish(self.other.cause)
        elif not self.leg.active:
            self.other.hangup(C.NORMAL_CLEARING)
            self.fail(CallHangup(self.leg.cause))

    def finish(self, result=None):
        self._forget()
        super().finish(result)

    def fail(self, error):
        self._forget()
        super().fail(error)

    def cancel(self):
        # the script's own leg ended (CallHangup thrown in): the other party is cleared too
        self._forget()
        if self.other.active:
            self.other.hangup(C.NORMAL_CLEARING)

    def _forget(self):
        if self._watch is not None:
            self._watch.remove(self.leg, self)
            self._watch.remove(self.other, self)
            self._watch = None


def bridge_of(scheduler, leg):
    """Return (task, other leg) of the script bridge holding leg, or (None, None)."""
    for task in scheduler.tasks.values():
        op = task.op
        if isinstance(op, Bridged) and not op.done and leg in (op.leg, op.other):
            return task, (op.other if op.leg is leg else op.leg)
    return None, None
