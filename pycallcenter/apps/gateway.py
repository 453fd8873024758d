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
    """The pairs of legs gateway routes connected: digits cross between them each tick."""

    name = "gateway"

    def __init__(self, engine):
        self.engine = engine
        self.pairs = []
        engine.tickers.append(self.on_tick)
        engine.listeners.append(self)

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
        self.pairs.append(pair)
        try:
            cause = await call.bridge(result.leg)
        finally:
            self.pairs.remove(pair)
        if cause is not None and call.leg.active:
            await call.hangup(cause)  # the far end's cause reaches the caller
        return "answered"

    def on_tick(self, now):
        """Move the digits each leg of a pair heard to the other leg."""
        for a, b in self.pairs:
            for src, dst in ((a, b), (b, a)):
                if src.digits and dst.active:
                    for digit in src.digits:
                        self._send(src, dst, digit)
                    src.digits = ""

    def _send(self, src, dst, digit):
        send = getattr(dst.adapter, "send_digit", None)
        if send is not None:  # a SIP far end: an RFC 4733 event if it takes them (the tone passes in the audio)
            send(dst, digit)
            return
        events = getattr(src.adapter, "sends_events", None)
        if events is not None and events(src):  # the digit came as an event: a circuit hears it as a tone
            self.engine.media.play(dst.row, [dtmf_signal(digit, on_ms=100.0, off_ms=0.0)])
        self.engine.log("gateway_digit", src=src.id, dst=dst.id, digit=digit)

