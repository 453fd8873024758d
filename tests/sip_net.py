"""Test helper: several sans-IO SIP user agents on a simulated datagram network (h11 ConnectionPair style,
for more than two ends): aliases (another address that reaches a UA), loose-routing proxies that forward
by a rule, and hooks to drop or rewrite messages in flight. Time is simulated; run(until) fires timers."""
from pycallcenter.sip import ua as U
from pycallcenter.sip.message import parse_message


class SipNet:
    """UAs by address; wire log (time, source, destination, parsed message); events (time, addr, event)."""

    def __init__(self):
        self.ua = {}
        self.alias = {}  # address -> the UA address it reaches
        self.nat = {}  # UA address -> the public address its datagrams come from (alias it back for replies)
        self.proxies = {}  # address -> f(source, message, data) -> [(next address, data)]
        self.now = 0.0
        self.events = []
        self.wire = []
        self.drop = None  # f(source, dest, message) -> True to lose it
        self.mutate = None  # f(source, dest, data) -> data

    def add(self, addr, **kw):
        """Add a UserAgent at addr; returns it."""
        self.ua[addr] = U.UserAgent(addr, **kw)
        return self.ua[addr]

    def feed(self, source, outputs):
        """Deliver outputs produced by the UA (or proxy) at source; returns nothing (events are logged)."""
        for item in outputs:
            if not isinstance(item, U.Send):
                self.events.append((self.now, source, item))
                continue
            self.deliver(source, item.addr, item.data)

    def deliver(self, source, dest, data):
        """Carry one datagram from source to dest through aliases and proxies."""
        source = self.nat.get(source, source)
        if self.mutate is not None:
            data = self.mutate(source, dest, data)
        msg = parse_message(data)
        self.wire.append((self.now, source, dest, msg))
        if self.drop and self.drop(source, dest, msg):
            return
        if dest in self.proxies:
            for nxt, out in self.proxies[dest](source, msg, data):
                self.deliver(dest, nxt, out)
            return
        target = self.alias.get(dest, dest)
        if target in self.ua:
            self.feed(target, self.ua[target].receive(data, source, self.now))

    def run(self, until):
        """Fire every timer due up to until, in time order."""
        while True:
            pending = [(d, a) for a, u in self.ua.items() if (d := u.next_deadline()) is not None and d <= until]
            if not pending:
                self.now = max(self.now, until)
                return
            when, addr = min(pending)
            self.now = max(self.now, when)
            self.feed(addr, self.ua[addr].handle_timer(self.now))

    def lose_first(self, what):
        """Drop the first message of method or status what on the wire (later ones pass)."""
        lost = [False]

        def drop(source, dest, message):
            if not lost[0] and _what(message) == what:
                lost[0] = True
                return True
            return False
        self.drop = drop

    def call(self, source, target, **kw):
        """Place a call from the UA at source; returns its Call-ID."""
        call_id, outputs = self.ua[source].invite(target, self.now, **kw)
        self.feed(source, outputs)
        return call_id

    def do(self, addr, outputs):
        """Feed the outputs of a UA method called by the test at addr; returns them."""
        self.feed(addr, outputs)
        return outputs

    def kinds(self, addr=None):
        """Return the event class names seen (at addr, or anywhere)."""
        return [type(e).__name__ for _, a, e in self.events if addr is None or a == addr]

    def of(self, cls, addr=None):
        """Return the events of a class (at addr, or anywhere)."""
        return [e for _, a, e in self.events if isinstance(e, cls) and (addr is None or a == addr)]

    def sent(self, source, what, cseq=None):
        """Return the messages source sent that are requests of method what or responses with status what
        (to a request of method cseq when given)."""
        return [m for _, s, _, m in self.wire if s == source and _what(m) == what
                and (cseq is None or m.cseq.method == cseq)]

    def dests(self, source, what):
        """Return where source sent its messages of method/status what."""
        return [d for _, s, d, m in self.wire if s == source and _what(m) == what]


def _what(message):
    return getattr(message, "method", getattr(message, "status", None))
