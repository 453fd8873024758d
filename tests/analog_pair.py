"""Test helper: the analog line machines back to back with a simulated far end over the emulator's line
(``drivers/emulator/analog.py``: ring cadence, hook debounce, flash versus on-hook timing, polarity, loop
current), in simulated board time, like ``isdn_pair.py`` for Q.931.

``FxsPair``: our ``FxsLine`` is the office end of a line whose station end is a simulated phone.
``FxoPair``: our ``FxoLine`` is the station end of a line whose office end is a simulated exchange, which
also stands for the detectors a real port runs on the line's audio (it reports dial tone, ringback, busy,
caller ID... as the FSK receiver and the call-progress detector would).
"""
from pycallcenter.analog import events as E
from pycallcenter.analog.fxo import FxoLine
from pycallcenter.analog.fxs import FxsLine
from pycallcenter.drivers.emulator.analog import Line, LineTiming, ring_cadence
from pycallcenter.drivers.events import EventKind as K

SAMPLE_RATE = 8000
TICK = 160  # samples per tick, as the engine's default


class _End:
    """One end of the emulated line: collects what the line reports to it, with the time."""

    def __init__(self):
        self.inbox = []
        self.seen = []

    def _line_event(self, kind, t, data):
        self.inbox.append((t, kind, data))
        self.seen.append((t, kind))

    def kinds(self):
        """Return the kinds of event the line reported to this end, in order."""
        return [k for _, k in self.seen]


class _Pair:
    """A line machine at one end of an emulated line; the machine's outputs go to `outputs` with their time."""

    def __init__(self, machine, ours_office, timing):
        self.machine = machine
        self.ours, self.far = _End(), _End()
        office, station = (self.ours, self.far) if ours_office else (self.far, self.ours)
        self.line = Line(office, station, ring_cadence("us"), timing)
        self.now = 0
        self.outputs = []  # (time, output)
        self.scheduled = []  # (time, fn): what the simulated far end does later

    def feed(self, outputs, t=None):
        """Carry out a machine's outputs (the pair's part of the adapter's job); return them."""
        t = self.now if t is None else t
        for out in outputs:
            self.outputs.append((t, out))
            self.carry_out(out, t)
        return outputs

    def of(self, kind):
        """Return the outputs of a kind, in order."""
        return [o for _, o in self.outputs if isinstance(o, kind)]

    def at(self, seconds, fn):
        """Have the far end do fn() at a board time (seconds from now)."""
        self.scheduled.append((self.now + int(seconds * SAMPLE_RATE), fn))
        self.scheduled.sort(key=lambda x: x[0])

    def run(self, seconds):
        """Advance board time tick by tick: the line, the far end's plans, the machine's events and timers."""
        end = self.now + int(seconds * SAMPLE_RATE)
        while self.now < end:
            t0, t1 = self.now, self.now + TICK
            self.line.tick(t0, t1)
            self.now = t1
            while self.scheduled and self.scheduled[0][0] <= t1:
                _, fn = self.scheduled.pop(0)
                fn()
            inbox, self.ours.inbox = self.ours.inbox, []
            for t, kind, data in inbox:
                self.feed(self.event(kind, data, t), t)
            self.far.inbox.clear()
            due = self.machine.next_deadline()
            if due is not None and due <= self.now:
                self.feed(self.machine.handle_timer(self.now))
        return self


class FxsPair(_Pair):
    """Our FXS machine ringing and serving a simulated phone."""

    def __init__(self, machine=None, timing=LineTiming()):
        super().__init__(machine or FxsLine(), True, timing)
        self.tones = []  # tones the phone heard start ("-" when one stopped)
        self.callerid = []  # caller ID the phone was sent

    def event(self, kind, data, t):
        m = self.machine
        handler = {K.OFF_HOOK: m.off_hook, K.ON_HOOK: m.on_hook, K.FLASH: m.flash, K.RINGER_OFF: m.ringer_off}
        return handler[kind](t) if kind in handler else []

    def carry_out(self, out, t):
        if isinstance(out, E.Ring):
            self.line.ring(out.on, t)
        elif isinstance(out, E.StartTone):
            self.tones.append(out.name)
        elif isinstance(out, E.StopTone):
            self.tones.append("-")
        elif isinstance(out, (E.SendCallerId, E.SendMessageWaiting)):
            self.callerid.append(out)

    # the phone's user
    def lift(self):
        self.line.station_hook(True, self.now)

    def put_down(self):
        self.line.station_hook(False, self.now)

    def flash(self):
        self.line.station_flash(self.now)


class FxoPair(_Pair):
    """Our FXO machine on a line from a simulated exchange."""

    def __init__(self, machine=None, timing=LineTiming(polarity_on_answer=True), dialtone=True):
        super().__init__(machine or FxoLine(), False, timing)
        self.dialtone = dialtone  # the exchange gives dial tone when the line is seized
        self.dialled = []  # what the exchange received
        self.seized = False

    def event(self, kind, data, t):
        m = self.machine
        if kind is K.RING_BEGIN:
            return m.ring_begin(t)
        if kind is K.RING_END:
            return m.ring_end(t)
        if kind is K.POLARITY:
            return m.polarity(t, data["reversed"])
        if kind is K.ON_HOOK:
            return m.loop_drop(t)
        return []

    def carry_out(self, out, t):
        if isinstance(out, E.Hook):
            self.line.station_hook(out.off, t)
            if out.off and not self.line.ringing and self.dialtone:
                self.at(0.3, lambda: self.detected(self.machine.progress(self.now, "dial_tone")))
        elif isinstance(out, E.Dial):
            self.dialled.append(out.digits)
            self.at(0.1 * len(out.digits), lambda: self.detected(self.machine.dial_complete(self.now)))

    def detected(self, outputs):
        """Feed what a detector (or the board) reported on the line; return the outputs."""
        return self.feed(outputs)

    # the exchange
    def call(self, callerid=None):
        """A call for our line: ring it, with caller ID after the first ring."""
        self.line.ring(True, self.now)
        if callerid is not None:
            self.at(2.5, lambda: self.detected(self.machine.callerid_heard(self.now, callerid)))

    def stop_ringing(self):
        self.line.ring(False, self.now)

    def far_answers(self):
        self.line.set_polarity(True, self.now)

    def far_hangs_up(self):
        self.line.drop_loop_current(self.now)
