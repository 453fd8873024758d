"""Gateway routes: a ``[[route]]`` with ``to`` sends the call on to another trunk (PRI <-> SIP, either way).

The route's script dials the rewritten called number on the target trunk inside the caller's call, so the
caller's ID goes with it; the far end's ringing is passed back (ALERTING on a PRI, 180 on SIP), its
answer connects the two legs, and its refusal clears the caller with the far end's own cause (mapped
between Q.850 and SIP statuses by the SIP legs, RFC 3398). While the two talk, DTMF is interworked:
digits a SIP far end sends as RFC 4733 events are played in-band to a circuit leg, and digits heard
in-band on a circuit leg go to a SIP far end as RFC 4733 events (the audio passes through as well).
"""
from pycallcenter.dsp.tones import dtmf_signal
from pycallcenter.engine import call as C


def dial_target(route, called):
    """Return the engine's originate target of a gateway route for a called number (strip, then prepend)."""
    number = route.prepend + (called or "")[route.strip:]
    if route.to.startswith("sip:"):
        return f"sip/{route.to[4:]}/{number}"
    return f"{route.to}/{number}"


class Gateway:
    """The pairs of legs gateway routes connected: digits a leg hears cross to its partner at the next tick."""

    name = "gateway"

    def __init__(self, engine):
        self.engine = engine
        self.pairs = []
        self._pair_of: dict = {}  # leg id -> (order, the leg, its partner): order keeps pair order, caller first
        self._next = 0
        self._pending: dict = {}  # legs of a pair with digits heard and not yet passed on: leg id -> order
        engine.tickers.append(self.on_tick)
        engine.listeners.append(self)

    def on_leg_digit(self, leg):
        """Note that a leg heard a digit: if it is one side of a pair, its digits cross at this tick."""
        entry = self._pair_of.get(leg.id)
        if entry is not None:
            self._pending[leg.id] = entry[0]

    def on_leg_event(self, kind, leg):
        """Pass a far end's ringing back to a caller whose call is not answered yet."""
        if kind != "alerting" or leg.direction != "out" or leg.call is None:
            return
        caller = leg.call.caller_leg
        alert = getattr(caller.adapter, "alert", None) if caller is not None else None
        if caller is not leg and alert is not None and caller.state in (C.OFFERED, C.PROCEEDING):
            alert(caller)

    async def connect(self, call, target, ring_timeout):
        """Dial target in the call and connect the caller when it answers; return the dial's outcome."""
        result = await call.dial(target, timeout=ring_timeout)
        if result.outcome != "answered":
            await call.hangup(result.cause or (C.NO_CIRCUIT if result.outcome == "no_line" else C.NORMAL_UNSPECIFIED))
            return result.outcome
        await call.answer()
        pair = (call.leg, result.leg)
        self._add(pair)
        try:
            cause = await call.bridge(result.leg)
        finally:
            self._remove(pair)
        if cause is not None and call.leg.active:
            await call.hangup(cause)  # the far end's cause reaches the caller
        return "answered"

    def _add(self, pair):
        self.pairs.append(pair)
        a, b = pair
        for leg, other in ((a, b), (b, a)):
            self._pair_of[leg.id] = (self._next, leg, other)
            self._next += 1
            if leg.digits:  # heard before the pair was made
                self._pending[leg.id] = self._pair_of[leg.id][0]

    def _remove(self, pair):
        self.pairs.remove(pair)
        for leg in pair:
            self._pair_of.pop(leg.id, None)
            self._pending.pop(leg.id, None)

    def on_tick(self, now):
        """Move the digits the legs with some pending heard to their partners (in pair order, caller first)."""
        if not self._pending:
            return
        for leg_id in sorted(self._pending, key=self._pending.get):
            src, dst = self._pair_of[leg_id][1:]
            if not src.digits:  # taken by someone else meanwhile
                del self._pending[leg_id]
            elif dst.active:  # else kept until the pair ends
                for digit in src.digits:
                    self._send(src, dst, digit)
                src.digits = ""
                del self._pending[leg_id]

    def _send(self, src, dst, digit):
        send = getattr(dst.adapter, "send_digit", None)
        if send is not None:  # a SIP far end: an RFC 4733 event if it takes them (the tone passes in the audio)
            send(dst, digit)
            return
        events = getattr(src.adapter, "sends_events", None)
        if events is not None and events(src):  # the digit came as an event: a circuit hears it as a tone
            self.engine.media.play(dst.row, [dtmf_signal(digit, on_ms=100.0, off_ms=0.0)])
        self.engine.log("gateway_digit", src=src.id, dst=dst.id, digit=digit)

