"""The bridge op: a script waiting while its leg talks to another. The engine owns it, so that what else
takes part in a call (the station features taking a bridge over on a hook flash) can find a script's
bridge without reaching up into the script API, which only hands it to scripts (``IvrCall.bridge``).

A bridge changes only when one of its legs ends, so it is not polled each tick: its legs' events wake it
(``engine/waits.py``), and the scheduler polls it at its next poll, in task order, as it did every tick."""
from pycallcenter.engine import call as C
from pycallcenter.engine.scheduler import CallHangup, Op
from pycallcenter.engine.waits import wake_on_leg


class Bridged(Op):
    """Wait while two legs talk; over when either ends (the other is cleared too)."""

    polled = False  # woken by either leg's events (its end is the one that matters)

    def __init__(self, leg, other):
        self.leg = leg
        self.other = other

    def start(self, now):
        self.leg.engine.bridge(self.leg, self.other)
        wake_on_leg(self, self.leg)
        wake_on_leg(self, self.other)

    def poll(self, now):
        if not self.other.active:
            if self.leg.active:
                self.leg.engine.unbridge(self.leg)
            self.finish(self.other.cause)
        elif not self.leg.active:
            self.other.hangup(C.NORMAL_CLEARING)
            self.fail(CallHangup(self.leg.cause))

    def cancel(self):
        # the script's own leg ended (CallHangup thrown in): the other party is cleared too
        if self.other.active:
            self.other.hangup(C.NORMAL_CLEARING)


def bridge_of(scheduler, leg):
    """Return (task, other leg) of the script bridge holding leg, or (None, None)."""
    for task in scheduler.tasks.values():
        op = task.op
        if isinstance(op, Bridged) and not op.done and leg in (op.leg, op.other):
            return task, (op.other if op.leg is leg else op.leg)
    return None, None
