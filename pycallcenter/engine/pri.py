"""A PRI span as an engine trunk: Q.921/Q.931 (pycallcenter.isdn) over the board's D-channel, with the
span's B-channels handed to legs. Span alarms take the D-channel down (calls cleared as Q.931 says) and
recovery re-establishes it."""
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.errors import LocalProtocolError
from pycallcenter.isdn import call as q
from pycallcenter.isdn import lapd
from pycallcenter.isdn.span import PriSpan


class PriTrunk:
    """The engine's trunk adapter for one PRI span (user side by default), over pycallcenter.isdn.span."""

    tech = "pri"

    def __init__(self, engine, span_number, network=False, variant=None, name=None, tracer=None):
        self.engine = engine
        self.name = name or f"pri{span_number}"
        self.span_number = span_number
        self.span = PriSpan(engine.board, span_number, network=network, variant=variant, tracer=tracer)
        self.iface = self.span.iface
        self.bchans = self.span.bchannels  # Q.931 channel number (timeslot) -> global channel
        self.offset_of = {v: k for k, v in self.bchans.items()}
        self.legs = {}  # isdn Call -> Leg
        self.busy = set()  # global channel numbers in use
        self._handle(self.span.start())

    @staticmethod
    def _s(now):
        return now / SAMPLE_RATE

    def owns(self, channel):
        """Return True for this span's B-channels."""
        return channel in self.offset_of

    def idle_line(self):
        """Return the global number of a free B-channel, highest first (the far end hunts lowest first,
        so this keeps glare rare), or None when none is free or the D-channel is down."""
        if self.iface.link.state not in (lapd.ESTABLISHED, lapd.TIMER_RECOVERY):
            return None
        for offset in sorted(self.bchans, reverse=True):
            ch = self.bchans[offset]
            if ch not in self.busy and offset not in self.iface.channel_calls and offset not in self.iface.out_of_service:
                return ch
        return None

    def leaks(self):
        """Return one line per B-channel or Q.931 call held with no leg on it that is up or clearing."""
        out = [f"PRI span {self.span_number}: channel {ch} is busy with no call on it"
               for ch in sorted(self.busy) if not any(leg.channel == ch for leg in self.legs.values())]
        for call in self.iface.calls.values():
            if call not in self.legs and call.state not in (q.DISCONNECT_REQUEST, q.RELEASE_REQUEST):
                out.append(f"PRI span {self.span_number}: Q.931 call {call.key} in state {call.state} has no leg")
        return out

    # --- engine hooks ----------------------------------------------------------------------------
    def on_span_event(self, ev, now):
        """Span alarms take the D-channel down; clearing re-establishes it."""
        self._handle(self.span.handle_board_event(ev))

    def on_event(self, ev, line, now):
        """B-channels have no per-channel board events of interest."""

    def on_tick(self, now):
        """Move D-channel frames, run timers, send what Q.931/Q.921 produced."""
        self._handle(self.span.service())

    def answer(self, leg):
        """Send CONNECT."""
        self._handle(self.iface.answer(leg.isdn_call, self._s(self.engine.now)))

    def hangup(self, leg, cause):
        """Clear with DISCONNECT or RELEASE COMPLETE; the leg ends when Q.931 says the call is over."""
        self._handle(self.iface.hangup(leg.isdn_call, self._s(self.engine.now), cause))

    def originate(self, leg, number, now):
        """Send SETUP on the leg's B-channel (exclusive)."""
        try:
            call = self.iface.setup(self._s(now), called=number, calling=leg.caller,
                                    channel=self.offset_of[leg.channel], exclusive=True, calling_name=leg.caller_name,
                                    presentation=leg.presentation)
        except LocalProtocolError as exc:  # D-channel down or the channel was just taken
            self.engine.log("pri_setup_refused", span=self.span_number, why=str(exc).replace(" ", "_"))
            self.engine.leg_ended(leg, C.NO_CIRCUIT, now)
            return
        self.busy.add(leg.channel)
        leg.isdn_call = call
        self.legs[call] = leg
        leg.state = C.DIALING

    def alert(self, leg):
        """Send ALERTING on an incoming call (the script has not answered yet)."""
        if leg.state == C.OFFERED:
            self._handle(self.iface.alerting(leg.isdn_call, self._s(self.engine.now)))

    # --- Q.931 events -> legs --------------------------------------------------------------------
    def _handle(self, events):
        eng = self.engine
        now = eng.now
        for ev in events:
            if isinstance(ev, q.IncomingCall):
                ch = self.bchans.get(ev.channel)
                if ch is None or ch in self.busy:
                    self._handle(self.iface.hangup(ev.call, self._s(now), 44))  # requested channel not available
                    continue
                self.busy.add(ch)
                leg = eng.new_leg(self, ch, "in", caller=ev.calling, caller_name=ev.calling_name, called=ev.called)
                leg.isdn_call = ev.call
                leg.presentation = ev.presentation
                self.legs[ev.call] = leg
                leg.state = C.OFFERED
                self._handle(self.iface.proceeding(ev.call, self._s(now)))
                eng.leg_offered(leg, now)
                continue
            if isinstance(ev, (q.DChannelUp, q.DChannelDown)):
                eng.log("dchannel", span=self.span_number, up=isinstance(ev, q.DChannelUp))
                continue
            if isinstance(ev, q.ProtocolNotice):
                eng.log("q931_error", span=self.span_number, detail=ev.detail)
                continue
            leg = self.legs.get(getattr(ev, "call", None))
            if leg is None:
                continue
            if isinstance(ev, (q.Proceeding, q.SetupAcknowledged)):
                leg.state = C.PROCEEDING
            elif isinstance(ev, q.Alerting):
                leg.state = C.ALERTING
                eng.leg_alerting(leg, now)
            elif isinstance(ev, q.Answered):
                if leg.state != C.ANSWERED:
                    eng.leg_answered(leg, now)
            elif isinstance(ev, q.Disconnected):
                leg.cause = ev.cause
                self._handle(self.iface.hangup(ev.call, self._s(now), ev.cause))
            elif isinstance(ev, q.CallEnded):
                self.legs.pop(ev.call, None)
                self.busy.discard(leg.channel)
                eng.leg_ended(leg, leg.cause if leg.cause is not None else ev.cause, now)
