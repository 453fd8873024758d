"""What the FXS and FXO line machines share: a state, a transition table, timers, and the one place where an
input with no transition becomes a protocol notice."""
from pycallcenter.analog.events import ProtocolNotice
from pycallcenter.timers import TimerService


class LineMachine:
    """A sans-IO analog line: ``TABLE`` maps (state, input) to the handler that returns the outputs and moves
    the state, ``IGNORED`` lists the inputs a state takes without doing anything (a call-progress result on
    an idle line), ``TIMERS`` maps a timer name to its expiry handler. Anything else is a ProtocolNotice."""

    TABLE = {}
    IGNORED = frozenset()
    TIMERS = {}
    IDLE = None  # the machine's idle state (set by each machine)

    def __init__(self):
        self.state = self.IDLE
        self.since = 0  # board time (samples) of the last state change
        self.deadlines = TimerService()
        self.notices = 0  # inputs that had no transition in the state they arrived in

    def _input(self, name, now, *args):
        """Run the transition for input name in the current state; return its outputs."""
        handler = self.TABLE.get((self.state, name))
        if handler is not None:
            return handler(self, now, *args)
        if (self.state, name) in self.IGNORED:
            return []
        self.notices += 1
        return [ProtocolNotice(self.state.value, name)]

    def _goto(self, state, now):
        """Enter state (every timer of the state left is stopped)."""
        self.deadlines.cancel_all()
        self.state, self.since = state, now

    def next_deadline(self):
        """Return the board time of the machine's next timer, or None."""
        return self.deadlines.next_deadline()

    def handle_timer(self, now):
        """Fire the timers due at now; return their outputs."""
        out = []
        for _, name in self.deadlines.expired(now):
            out += self.TIMERS[name](self, now)
        return out

    def _start(self, name, when):
        self.deadlines.start(None, name, when)
