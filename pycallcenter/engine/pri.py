"""A PRI span as an engine trunk: Q.921/Q.931 (pycallcenter.isdn) over the board's D-channel, with the
span's B-channels handed to legs. Span alarms take the D-channel down (calls cleared as Q.931 says) and
recovery re-establishes it.

Overlap receiving: with a dial plan (``collect_digits``), a SETUP without sending complete whose number
could still grow into a longer one the plan routes is answered with SETUP ACKNOWLEDGE, and the leg is
offered to the router only once its number is settled: the plan takes it and no longer number could
change that, sending complete arrives, or T302 runs out. A collected number nobody routes is released
with 28 (invalid number format: still the start of a routed number) or 1 (unallocated)."""
from dataclasses import replace

from pycallcenter.causes import Cause
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
        self.dial_plan = None  # fn(leg) -> (routed, longer) about its called number; None: en bloc only
        self.collecting = set()  # Q.931 calls in overlap receiving (their legs wait for digits)
        # RESTART the interface when the D-channel first comes up: a new start knows no channel's state
        # ([centre] pri_restart; the centre sets it, a bare trunk leaves it off)
        self.restart_at_start = False
        self._restart_due = True
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

    def collect_digits(self, dial_plan, timeout=None):
        """Turn overlap receiving on with dial_plan (fn(leg) -> (routed, longer)) or off with None; timeout
        is T302 in seconds (None keeps Q.931's default for this side)."""
        self.dial_plan = dial_plan
        if timeout is not None:
            self.iface.timers = replace(self.iface.timers, T302=float(timeout))

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
        self.collecting.discard(leg.isdn_call)
        if leg.call is None:  # cleared by us while dialling: a call, so a drain waits for it and it gets its CDR
            self.engine.new_call(leg)
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
                if self.dial_plan is not None and not ev.sending_complete and self.dial_plan(leg)[1]:
                    self.collecting.add(ev.call)
                    eng.log("overlap", span=self.span_number, leg=leg.id, called=leg.called or "-")
                    self._handle(self.iface.setup_ack(ev.call, self._s(now)))
                else:
                    self._offer(leg)
                continue
            if isinstance(ev, (q.DChannelUp, q.DChannelDown)):
                eng.log("dchannel", span=self.span_number, up=isinstance(ev, q.DChannelUp))
                # once at start (after a link failure Q.931's T309 keeps what we know), and again at a later
                # link up while a RESTART that went unanswered holds the channels out of service
                unanswered = self.iface.restart_blocked and self.iface.restart_pending is None
                if isinstance(ev, q.DChannelUp) and self.restart_at_start and (self._restart_due or unanswered):
                    self._restart_due = False
                    eng.log("pri_restart", span=self.span_number)
                    self._handle(self.iface.restart(self._s(now)))
                continue
            if isinstance(ev, q.RestartAcknowledged):  # its channels take calls again (or stay out: ok=False)
                eng.log("pri_restart_done", span=self.span_number, ok=ev.ok)
                continue
            if isinstance(ev, q.ProtocolNotice):
                eng.log("q931_error", span=self.span_number, detail=ev.detail)
                continue
            leg = self.legs.get(getattr(ev, "call", None))
            if leg is None:
                continue
            if isinstance(ev, (q.MoreDigits, q.DialComplete)):
                if ev.call in self.collecting:
                    self._more_digits(leg, ev)
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
                self.collecting.discard(ev.call)
                self.busy.discard(leg.channel)
                if leg.call is None:  # cleared while its digits were collected: still one call, one CDR
                    eng.new_call(leg)
                eng.leg_ended(leg, leg.cause if leg.cause is not None else ev.cause, now)

    # --- overlap receiving -----------------------------------------------------------------------
    def _offer(self, leg):
        """Send CALL PROCEEDING (unless T302 already did) and hand the leg to the engine's router."""
        if leg.isdn_call.state in (q.CALL_PRESENT, q.OVERLAP_RECEIVING):
            self._handle(self.iface.proceeding(leg.isdn_call, self._s(self.engine.now)))
        if leg.active and not leg.clearing:
            self.engine.leg_offered(leg, self.engine.now)

    def _more_digits(self, leg, ev):
        """Digits (or T302's end) for a leg in overlap receiving: offer it once its number is settled."""
        eng = self.engine
        leg.called = ev.call.called
        routed, longer = self.dial_plan(leg)
        timed_out = isinstance(ev, q.DialComplete)
        if longer and not timed_out and not ev.sending_complete:
            return  # T302 restarted in Q.931 with the digit
        self.collecting.discard(ev.call)
        why = "timeout" if timed_out else "complete" if ev.sending_complete else "matched" if routed else "no_route"
        eng.log("overlap_done", span=self.span_number, leg=leg.id, called=leg.called or "-", why=why)
        if routed:
            self._offer(leg)
            return
        # nobody routes the number: one call (and CDR) that the network hears refused with the reason
        leg.hangup(Cause.INVALID_NUMBER_FORMAT if longer else Cause.UNALLOCATED_NUMBER)
