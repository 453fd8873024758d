"""An SS7 span as an engine trunk: MTP2/MTP3/ISUP (pycallcenter.ss7) over the span's signalling channel,
each CIC's bearer handed to a leg. Incoming IAMs become offered legs (ACM at once, ANM when a script
answers); outgoing legs seize an idle, unblocked circuit with an IAM."""
import numpy as np

from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.dsp.toneplans import cadenced
from pycallcenter.engine import call as C
from pycallcenter.errors import LocalProtocolError
from pycallcenter.ss7 import isup as I
from pycallcenter.ss7.span import Ss7Span
from pycallcenter.ss7.stack import SignallingPoint


CHECK_TONE = cadenced("continuity", (2000.0,), -12.0)  # the check tone, steady
CHECK_TICKS = 3  # 60 ms of tone back in a row passes the check
_K = np.exp(-2j * np.pi * 2000.0 * np.arange(160) / SAMPLE_RATE)


def _tone_back(rx):
    """Return True when rx is mostly 2000 Hz at a usable level (about -30 dBm0 or more)."""
    x = rx.astype(np.float64)
    total = float(np.dot(x, x))
    if total < 160 * 500.0 ** 2:
        return False
    k = _K[: x.size] if x.size <= _K.size else np.exp(-2j * np.pi * 2000.0 * np.arange(x.size) / SAMPLE_RATE)
    return 2 * abs(np.dot(x, k)) ** 2 / x.size / total > 0.6


class Ss7Trunk:
    """The engine's trunk adapter for one SS7 span: our point code opc, circuits towards dpc."""

    tech = "ss7"

    def __init__(self, engine, span_number, opc, dpc, slc=0, first_cic=0, variant="itu", name=None, timers=None,
                 trace=None):
        self.engine = engine
        self.name = name or f"ss7{span_number}"
        self.span_number = span_number
        self.sp = SignallingPoint(opc, variant, trace=trace)
        self.span = Ss7Span(engine.board, span_number, self.sp, slc, dpc, first_cic)
        self.isup = self.sp.add_circuits(dpc, self.span.cics, **({"timers": timers} if timers else {}))
        self.lines = {}  # no analog lines: the engine maps this trunk's channels through offset_of
        self.offset_of = {self.span.channel_for(cic): cic for cic in self.span.cics}
        self.legs = {}  # cic -> Leg
        self.checks = {}  # cic -> ticks the 2000 Hz check tone has come back (our continuity transceiver)
        self._handle(self.span.start())

    def _s(self):
        return self.engine.now / SAMPLE_RATE

    def owns(self, channel):
        """Return True for this span's bearer channels."""
        return channel in self.offset_of

    def idle_line(self):
        """Return the global channel of an idle, unblocked circuit (highest CIC first), or None."""
        if not self.isup.available:
            return None
        for cic in sorted(self.span.cics, reverse=True):
            local, remote = self.isup.blocked(cic)
            if self.isup.state(cic) == I.IDLE and not local and not remote and cic not in self.legs:
                return self.span.channel_for(cic)
        return None

    def leaks(self):
        """Return one line per circuit in a call state with no leg on it (releasing ones clear themselves)."""
        return [f"SS7 span {self.span_number}: circuit {cic} is {self.isup.state(cic)} with no call on it"
                for cic in self.span.cics if self.isup.state(cic) in I.CALL_STATES and cic not in self.legs]

    # --- engine hooks ----------------------------------------------------------------------------
    def on_span_event(self, ev, now):
        """Span alarms take the link out of service; clearing realigns it."""
        self._handle(self.span.handle_board_event(ev))

    def on_event(self, ev, line, now):
        """Bearer channels have no per-channel board events of interest."""

    def on_tick(self, now):
        """Signal units in and out, timers, and our continuity transceivers."""
        self._handle(self.span.service())
        for cic in list(self.checks):
            row = self.engine.row_of[self.span.channel_for(cic)]
            self.checks[cic] = self.checks[cic] + 1 if _tone_back(self.engine.media.rx[row]) else 0
            if self.checks[cic] >= CHECK_TICKS:  # the tone came back steadily: the circuit is continuous
                self._end_check(cic, row)
                self._handle(self.isup.continuity_result(cic, True, self._s()))

    def answer(self, leg):
        """Send ANM (after our ACM)."""
        self._handle(self.isup.answer(leg.cic, self._s()))
        self.engine.leg_answered(leg, self.engine.now)

    def hangup(self, leg, cause):
        """Send REL; the leg ends now (RLC completes the circuit's release under T1/T5)."""
        if self.isup.state(leg.cic) in I.CALL_STATES:
            self._handle(self.isup.release(leg.cic, self._s(), cause))
        self.legs.pop(leg.cic, None)
        self.engine.leg_ended(leg, cause, self.engine.now)

    def originate(self, leg, number, now):
        """Send IAM on the leg's circuit."""
        leg.cic = self.offset_of[leg.channel]
        try:
            self._handle(self.isup.call(leg.cic, number, leg.caller, self._s()))
        except LocalProtocolError as exc:
            self.engine.log("ss7_call_refused", span=self.span_number, why=str(exc).replace(" ", "_"))
            self.engine.leg_ended(leg, C.NO_CIRCUIT, now)
            return
        self.legs[leg.cic] = leg
        leg.state = C.DIALING

    # --- continuity check on the bearer (Q.764 2.1.8, Q.724) ---------------------------------------
    def _continuity(self, ev):
        media = self.engine.media
        row = self.engine.row_of[self.span.channel_for(ev.cic)]
        if ev.action == "loop":  # the far end sends 2000 Hz and listens for it
            media.link(row, row)
        elif ev.action == "tone":  # we send it and listen
            media.start_tone(row, CHECK_TONE)
            self.checks[ev.cic] = 0
        elif ev.action == "remove":
            media.unlink(row, row)
            self._end_check(ev.cic, row)
        self.engine.log("continuity", span=self.span_number, cic=ev.cic, action=ev.action)

    def _end_check(self, cic, row):
        if self.checks.pop(cic, None) is not None:
            self.engine.media.stop_tone(row)

    # --- ISUP events -> legs ---------------------------------------------------------------------
    def _handle(self, events):
        eng = self.engine
        now = eng.now
        for ev in events:
            if isinstance(ev, I.ContinuityCheck):
                self._continuity(ev)
                continue
            if isinstance(ev, I.ContinuityOutcome):
                eng.log("continuity_outcome", span=self.span_number, cic=ev.cic, ok=ev.ok, by=ev.by)
                continue
            if isinstance(ev, I.IncomingCall):
                leg = eng.new_leg(self, self.span.channel_for(ev.cic), "in", caller=ev.calling, called=ev.called)
                leg.cic = ev.cic
                self.legs[ev.cic] = leg
                leg.state = C.OFFERED
                self._handle(self.isup.alert(ev.cic, self._s()))  # address complete: ACM
                eng.leg_offered(leg, now)
                continue
            cic = getattr(ev, "cic", None)
            leg = self.legs.get(cic)
            if isinstance(ev, I.ProtocolNotice):
                eng.log("isup_notice", span=self.span_number, cic=cic, text=ev.text.replace(" ", "_"))
            if leg is None:
                continue
            if isinstance(ev, I.CallProgress) and ev.kind in ("ACM", "CPG") and leg.state != C.ALERTING:
                leg.state = C.ALERTING
                eng.leg_alerting(leg, now)
            elif isinstance(ev, I.Answered):
                eng.leg_answered(leg, now)
            elif isinstance(ev, I.Released):
                del self.legs[cic]
                eng.leg_ended(leg, ev.cause, now)
            elif isinstance(ev, I.CallFailed):
                del self.legs[cic]
                eng.log("ss7_call_failed", cic=cic, reason=ev.reason.replace(" ", "_"))
                eng.leg_ended(leg, C.NO_CIRCUIT, now)
            elif isinstance(ev, I.CircuitReset):
                del self.legs[cic]
                eng.leg_ended(leg, C.TEMPORARY_FAILURE, now)
