"""Test helper: our network and user Q.931 interfaces back to back with simulated time (like h11's ConnectionPair)."""
from pycallcenter.isdn.call import Interface


class Pair:
    def __init__(self, variant="euroisdn_e1", **kw):
        self.net = Interface(network=True, variant=variant, **kw)
        self.user = Interface(network=False, variant=variant, **kw)
        self.now = 0.0
        self.events = {"net": [], "user": []}
        self.drop = None
        self.tap = []

    def side(self, iface):
        return "net" if iface is self.net else "user"

    def add(self, iface, events):
        self.events[self.side(iface)] += events
        return events

    def pump(self, until=None, steps=100000):
        for _ in range(steps):
            moved = False
            for a, b in ((self.net, self.user), (self.user, self.net)):
                for data in a.pop_frames():
                    moved = True
                    self.tap.append((self.side(a), data))
                    if self.drop is None or not self.drop(self.side(a), data):
                        self.add(b, b.receive(data, self.now))
            if moved:
                continue
            ds = [d for d in (self.net.next_deadline(), self.user.next_deadline()) if d is not None]
            if not ds or until is None or min(ds) > until:
                if until is not None:
                    self.now = max(self.now, until)
                return
            self.now = max(self.now, min(ds))
            for iface in (self.net, self.user):
                self.add(iface, iface.handle_timer(self.now))
        raise AssertionError("no quiescence")

    def start(self):
        self.add(self.net, self.net.start(self.now))
        self.add(self.user, self.user.start(self.now))
        self.pump(until=self.now + 0.5)
        assert self.net.link.is_up and self.user.link.is_up
        return self

    def of(self, side, kind):
        return [e for e in self.events[side] if isinstance(e, kind)]

    def take(self, side, kind):
        found = self.of(side, kind)
        assert found, (side, kind, self.events[side])
        return found[-1]

    def clear(self):
        self.events = {"net": [], "user": []}
