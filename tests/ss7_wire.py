"""A simulated SS7 wire for back-to-back tests: each side sends one signal unit per millisecond."""
from pycallcenter.ss7 import mtp2
from pycallcenter.ss7.su import decode_su


def status_of(su):
    """Return an LSSU's status, else "FISU" or "MSU"."""
    head, _ = decode_su(su)
    return head.get("status", head["type"])


def aligned_wire(**kw):
    """Return a Wire (Wire(**kw)) whose two links have aligned."""
    w = Wire(**kw)
    w.a.start(0)
    w.b.start(0)
    assert w.run(20, until=lambda: w.a.state == w.b.state == mtp2.IN_SERVICE)
    return w


class Wire:
    """Two MTP2 links (a, b) exchanging signal units; ``drop``/``corrupt`` hook the a->b direction."""

    def __init__(self, a=None, b=None, step=0.001):
        self.a = a or mtp2.Mtp2Link(emergency=True)
        self.b = b or mtp2.Mtp2Link(emergency=True)
        self.now = 0.0
        self.step = step
        self.events = {"a": [], "b": []}
        self.sent = {"a": [], "b": []}
        self.fault = None  # fault(su) -> su, or None to drop, or "error" for a bad FCS (a->b only)
        self.on_event = None  # on_event(side, event, now) -> may queue more
        self.on_su = None  # on_su(side, su, now): every signal unit pulled (tests/trace_baseline.py records them)

    def run(self, seconds, until=None):
        """Advance time, moving signal units both ways; stop early when until() is true."""
        end = self.now + seconds
        while self.now < end:
            self.now += self.step
            for side, link in (("a", self.a), ("b", self.b)):
                self._deliver(side, link.handle_timer(self.now))
            su_a = self.a.pull(self.now)
            su_b = self.b.pull(self.now)
            if self.on_su is not None:
                self.on_su("a", su_a, self.now)
                self.on_su("b", su_b, self.now)
            self.sent["a"].append(su_a)
            self.sent["b"].append(su_b)
            if self.fault is not None:
                su_a = self.fault(su_a)
            if su_a == "error":
                self._deliver("b", self.b.receive_error(self.now))
            elif su_a is not None:
                self._deliver("b", self.b.receive(su_a, self.now))
            self._deliver("a", self.a.receive(su_b, self.now))
            if until is not None and until():
                return True
        return False

    def _deliver(self, side, events):
        for ev in events:
            self.events[side].append(ev)
            if self.on_event:
                self.on_event(side, ev, self.now)


class Mtp3Pair:
    """Two MTP3 signalling points (pc 1 and 2) joined by ``nlinks`` links, one SU per link per millisecond."""

    def __init__(self, nlinks=1, variant="itu", step=0.001, **kw):
        from pycallcenter.ss7 import mtp3
        self.a = mtp3.Mtp3(1, variant, **kw)
        self.b = mtp3.Mtp3(2, variant, **kw)
        for slc in range(nlinks):
            self.a.add_link(slc, 2)
            self.b.add_link(slc, 1)
        self.now = 0.0
        self.step = step
        self.events = {"a": [], "b": []}
        self.cut = set()  # slcs whose wire is cut (both directions)
        self.handlers = {"a": None, "b": None}  # side -> f(event, now) for user parts
        self.on_su = None  # on_su(side, su, now): every signal unit pulled

    def start(self):
        self.a.start(self.now)
        self.b.start(self.now)

    def run(self, seconds, until=None):
        end = self.now + seconds
        while self.now < end:
            self.now += self.step
            for side, sp in (("a", self.a), ("b", self.b)):
                if sp.next_deadline() is not None and sp.next_deadline() <= self.now:
                    self._deliver(side, sp.handle_timer(self.now))
            for slc in self.a.links:
                su_a, su_b = self.a.pull(slc, self.now), self.b.pull(slc, self.now)
                if self.on_su is not None:
                    self.on_su(f"a{slc}", su_a, self.now)
                    self.on_su(f"b{slc}", su_b, self.now)
                if slc in self.cut:
                    continue
                self._deliver("b", self.b.receive(slc, su_a, self.now))
                self._deliver("a", self.a.receive(slc, su_b, self.now))
            if until is not None and until():
                return True
        return False

    def _deliver(self, side, events):
        for ev in events:
            self.events[side].append(ev)
            if self.handlers[side]:
                self.handlers[side](ev, self.now)


class SpPair:
    """Two SignallingPoints (pc 1 = a, pc 2 = b) over one link, circuits 1..cics on both, simulated time."""

    def __init__(self, cics=31, variant="itu", step=0.001, isup_timers=None, trace=None):
        from pycallcenter.ss7.timers import IsupTimers
        from pycallcenter.ss7.stack import SignallingPoint
        self.a = SignallingPoint(1, variant, trace=trace)
        self.b = SignallingPoint(2, variant)
        self.a.add_link(0, 2)
        self.b.add_link(0, 1)
        timers = isup_timers or IsupTimers()
        self.ia = self.a.add_circuits(2, range(1, cics + 1), timers)
        self.ib = self.b.add_circuits(1, range(1, cics + 1), timers)
        self.now = 0.0
        self.step = step
        self.events = {"a": [], "b": []}
        self.tamper = None  # tamper(su) -> su for the a->b direction
        self.on_su = None  # on_su(side, su, now): every signal unit pulled
        self.on_event = None  # on_event(side, event, now): every event, in order

    def up(self):
        self.a.start(self.now)
        self.b.start(self.now)
        assert self.run(5, until=lambda: self.a.mtp3.route_available(2) and self.b.mtp3.route_available(1))
        self.events = {"a": [], "b": []}
        return self

    def run(self, seconds, until=None):
        end = self.now + seconds
        while self.now < end:
            self.now += self.step
            for side, sp in (("a", self.a), ("b", self.b)):
                d = sp.next_deadline()
                if d is not None and d <= self.now:
                    self._deliver(side, sp.handle_timer(self.now))
            su_a, su_b = self.a.pull(0, self.now), self.b.pull(0, self.now)
            if self.on_su is not None:
                self.on_su("a", su_a, self.now)
                self.on_su("b", su_b, self.now)
            if self.tamper is not None:
                su_a = self.tamper(su_a)
            if su_a is not None:
                self._deliver("b", self.b.receive(0, su_a, self.now))
            self._deliver("a", self.a.receive(0, su_b, self.now))
            if until is not None and until():
                return True
        return False

    def _deliver(self, side, events):
        self.events[side] += events
        if self.on_event is not None:
            for ev in events:
                self.on_event(side, ev, self.now)

    def settle(self, seconds=0.05):
        """Run long enough for queued messages to cross and be answered."""
        self.run(seconds)

    def of(self, side, kind):
        """Return the events of a type seen on side."""
        return [e for e in self.events[side] if isinstance(e, kind)]
