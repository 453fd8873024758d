"""Test helper: two SIP transaction layers back to back over a simulated datagram network with loss
(like h11's ConnectionPair and tests/isdn_pair.py)."""
from pycallcenter.sip import transaction as T
from pycallcenter.sip.message import make_request, make_response


class SipPair:
    """Client layer 'a' and server layer 'b'; wire log, events per side, a drop(side, message, n) hook."""

    def __init__(self, **kw):
        self.a = T.TransactionLayer(**kw)
        self.b = T.TransactionLayer(**kw)
        self.now = 0.0
        self.events = {"a": [], "b": []}
        self.wire = []  # (time, side, message)
        self.drop = None
        self.answer = None  # b's transaction user: f(request) -> response or None

    def _take(self, side, outputs):
        layer_to = self.b if side == "a" else self.a
        other = "b" if side == "a" else "a"
        for out in outputs:
            if isinstance(out, T.Transmit):
                self.wire.append((self.now, side, out.message))
                if self.drop is not None and self.drop(side, out.message, len(self.wire)):
                    continue
                self._take(other, layer_to.receive(out.data, self.now))
            else:
                self.events[side].append((self.now, out))
                if side == "b" and isinstance(out, T.RequestReceived) and out.key and self.answer:
                    response = self.answer(out.request)
                    if response is not None:
                        self._take("b", self.b.send_response(response, self.now, out.key))

    def send(self, request):
        """Start a client transaction on a; returns its key."""
        key, outputs = self.a.send_request(request, self.now)
        self._take("a", outputs)
        return key

    def respond(self, response, key=None):
        """b's user sends a response."""
        self._take("b", self.b.send_response(response, self.now, key))

    def run(self, until):
        """Advance time to until, firing timers on both sides in deadline order."""
        while True:
            deadlines = [d for d in (self.a.next_deadline(), self.b.next_deadline()) if d is not None]
            if not deadlines or min(deadlines) > until:
                self.now = until
                return
            self.now = max(self.now, min(deadlines))
            self._take("a", self.a.handle_timer(self.now))
            self._take("b", self.b.handle_timer(self.now))

    def of(self, side, kind):
        """Return [(time, event)] of one type on one side."""
        return [(t, e) for t, e in self.events[side] if isinstance(e, kind)]

    def sent(self, side, what):
        """Return the times side put a message on the wire (what: a method name or a status code)."""
        return [t for t, s, m in self.wire if s == side and getattr(m, "method", getattr(m, "status", None)) == what]


def request(method, branch="z9hG4bKpair1", cseq=1):
    """Return a request from alice to bob with the given branch."""
    return make_request(method, "sip:bob@192.0.2.2", via=f"SIP/2.0/UDP 192.0.2.1:5060;branch={branch}",
                        from_="<sip:alice@192.0.2.1>;tag=a1", to="<sip:bob@192.0.2.2>", call_id="pair-call@192.0.2.1",
                        cseq=cseq, contact="<sip:alice@192.0.2.1:5060>")


def reply(req, status, tag="b1"):
    """Return b's response to req."""
    return make_response(req, status, to_tag=tag if status > 100 else None)
