"""An SS7 link set as an engine trunk: MTP2/MTP3/ISUP (pycallcenter.ss7) over the signalling channel of one
or more spans (one link each, towards the same adjacent exchange), each CIC's bearer handed to a leg.
Incoming IAMs become offered legs (ACM at once, ANM when a script answers); outgoing legs seize an idle,
unblocked circuit with an IAM. When one link fails MTP3 changes over to the others and the calls go on;
when the last one fails (MTP pause) the calls are cleared and every circuit is reset (GRS, RSC for a lone
circuit) at once and again when the route returns, as an exchange that lost its circuits' state must. The
same reset runs when the route first comes up after a start. A span in red or blue alarm has dead bearers:
its calls are cleared (cause 41) and its circuits hardware-blocked towards the far end (CGB, one per run of
CICs) until the alarm clears (CGU); an IAM on a circuit we blocked is refused with REL cause 41."""
import numpy as np

from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.dsp.toneplans import cadenced
from pycallcenter.engine import call as C
from pycallcenter.errors import ConfigError, LocalProtocolError
from pycallcenter.ss7 import isup as I
from pycallcenter.ss7 import mtp3
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
    """The engine's trunk adapter for one SS7 link set: our point code opc, circuits towards dpc. links is a
    list of (span, slc, first_cic), one signalling link per span (default: one link, span_number's)."""

    tech = "ss7"

    def __init__(self, engine, span_number, opc, dpc, slc=0, first_cic=0, variant="itu", name=None, timers=None,
                 trace=None, links=None, ni=2):
        self.engine = engine
        links = list(links or [(span_number, slc, first_cic)])
        self.name = name or f"ss7{links[0][0]}"
        self.span_number = links[0][0]
        self.span_numbers = [span for span, _, _ in links]
        self.dpc = dpc
        self.sp = SignallingPoint(opc, variant, ni=ni, trace=trace)
        self.spans = [Ss7Span(engine.board, span, self.sp, link_slc, dpc, cic0) for span, link_slc, cic0 in links]
        self.span = self.spans[0]
        self.by_cic = {}  # cic -> global bearer channel, over every span of the link set
        for sp in self.spans:
            for cic in sp.cics:
                if cic in self.by_cic:
                    raise ConfigError(f"SS7 link set {self.name}: CIC {cic} is on span {sp.span_number} and on an "
                                      f"earlier span (give each span its own first_cic)")
                self.by_cic[cic] = sp.channel_for(cic)
        self.cics = sorted(self.by_cic)
        self.isup = self.sp.add_circuits(dpc, self.cics, **({"timers": timers} if timers else {}))
        self.lines = {}  # no analog lines: the engine maps this trunk's channels through offset_of
        self.offset_of = {ch: cic for cic, ch in self.by_cic.items()}
        self.legs = {}  # cic -> Leg
        self.checks = {}  # cic -> ticks the 2000 Hz check tone has come back (our continuity transceiver)
        self.reset_due = True  # reset every circuit once the route is up: we start knowing no circuit's state
        for sp in self.spans:
            self._handle(sp.start())
            if sp.in_alarm:  # dead bearers from the start: blocked now, the CGB goes out when the route is up
                self._handle(self.isup.hardware_block(sp.cics, self._s()))

    def _s(self):
        return self.engine.now / SAMPLE_RATE

    def channel_for(self, cic):
        """Return the board's global channel number carrying cic."""
        try:
            return self.by_cic[cic]
        except KeyError:
            raise LocalProtocolError(f"CIC {cic} is not in SS7 link set {self.name}") from None

    def owns(self, channel):
        """Return True for this link set's bearer channels."""
        return channel in self.offset_of

    def links_up(self):
        """Return the SLCs of the link set's links in service and carrying traffic."""
        return self.sp.mtp3.available_links(self.dpc)

    def idle_line(self):
        """Return the global channel of an idle, unblocked circuit (highest CIC first), or None."""
        if not self.isup.available:
            return None
        for cic in reversed(self.cics):
            if cic not in self.legs and self.isup.usable(cic):
                return self.by_cic[cic]
        return None

    def leaks(self):
        """Return one line per circuit in a call state with no leg on it (releasing ones clear themselves)."""
        return [f"SS7 span {self._span_of(cic)}: circuit {cic} is {self.isup.state(cic)} with no call on it"
                for cic in self.cics if self.isup.state(cic) in I.CALL_STATES and cic not in self.legs]

    def _span_of(self, cic):
        return next(sp.span_number for sp in self.spans if cic in sp.by_cic)

    # --- engine hooks ----------------------------------------------------------------------------
    def on_span_event(self, ev, now):
        """Span alarms take that span's link out of service (changeover) and hardware-block its circuits (CGB),
        clearing their calls; when the alarm clears the link realigns and the circuits are unblocked (CGU)."""
        for sp in self.spans:
            if sp.span_number == ev.span:
                was = sp.in_alarm
                self._handle(sp.handle_board_event(ev))
                if sp.in_alarm != was:
                    self.engine.log("ss7_span_alarm" if sp.in_alarm else "ss7_span_clear", trunk=self.name,
                                    span=sp.span_number, calls=sum(self._span_of(cic) == sp.span_number
                                                                   for cic in self.legs))
                    self._handle(self.isup.hardware_block(sp.cics, self._s(), unblock=not sp.in_alarm))

    def blocked(self):
        """Return the CICs blocked at either end (maintenance or hardware)."""
        return [cic for cic in self.cics if any(self.isup.blocked(cic))]

    def on_event(self, ev, line, now):
        """Bearer channels have no per-channel board events of interest."""

    def on_tick(self, now):
        """Signal units in and out on every link, timers, and our continuity transceivers."""
        for sp in self.spans:
            self._handle(sp.service())
        for cic in list(self.checks):
            row = self.engine.row_of[self.by_cic[cic]]
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
            self.engine.log("ss7_call_refused", span=self._span_of(leg.cic), why=str(exc).replace(" ", "_"))
            self.engine.leg_ended(leg, C.NO_CIRCUIT, now)
            return
        self.legs[leg.cic] = leg
        leg.state = C.DIALING

    # --- the route: changeover is MTP3's; MTP pause and resume are ours (Q.764 2.9.3) ----------------
    def _route(self, ev):
        eng = self.engine
        if isinstance(ev, mtp3.LinkUnavailable):
            eng.log("ss7_link_down", trunk=self.name, slc=ev.slc, why=ev.reason.replace(" ", "_"),
                    up=len(self.links_up()))
        elif isinstance(ev, mtp3.LinkAvailable):
            eng.log("ss7_link_up", trunk=self.name, slc=ev.slc, up=len(self.links_up()))
        elif isinstance(ev, mtp3.RouteUnavailable) and ev.dpc == self.dpc:
            # every link is down: what the far end holds is unknown, so calls end here and circuits reset
            eng.log("ss7_route_down", trunk=self.name, dpc=ev.dpc, calls=len(self.legs))
            self.reset_due = True
            self._handle(self.isup.reset_all(self._s()))
        elif isinstance(ev, mtp3.RouteAvailable) and ev.dpc == self.dpc:
            eng.log("ss7_route_up", trunk=self.name, dpc=ev.dpc, reset=self.reset_due)
            if self.reset_due:
                self.reset_due = False
                self._handle(self.isup.reset_all(self._s()))
            self.isup.resend_group_blocking(self._s())  # a span's CGB/CGU sent while the route was down

    # --- continuity check on the bearer (Q.764 2.1.8, Q.724) ---------------------------------------
    def _continuity(self, ev):
        media = self.engine.media
        row = self.engine.row_of[self.by_cic[ev.cic]]
        if ev.action == "loop":  # the far end sends 2000 Hz and listens for it
            media.link(row, row)
        elif ev.action == "tone":  # we send it and listen
            media.start_tone(row, CHECK_TONE)
            self.checks[ev.cic] = 0
        elif ev.action == "remove":
            media.unlink(row, row)
            self._end_check(ev.cic, row)
        self.engine.log("continuity", span=self._span_of(ev.cic), cic=ev.cic, action=ev.action)

    def _end_check(self, cic, row):
        if self.checks.pop(cic, None) is not None:
            self.engine.media.stop_tone(row)

    # --- ISUP events -> legs ---------------------------------------------------------------------
    def _handle(self, events):
        eng = self.engine
        now = eng.now
        for ev in events:
            if type(ev) in _ROUTE_EVENTS:
                self._route(ev)
                continue
            if isinstance(ev, I.ContinuityCheck):
                self._continuity(ev)
                continue
            if isinstance(ev, I.ContinuityOutcome):
                eng.log("continuity_outcome", span=self._span_of(ev.cic), cic=ev.cic, ok=ev.ok, by=ev.by)
                continue
            if isinstance(ev, I.IncomingCall):
                leg = eng.new_leg(self, self.by_cic[ev.cic], "in", caller=ev.calling, called=ev.called)
                leg.cic = ev.cic
                self.legs[ev.cic] = leg
                leg.state = C.OFFERED
                self._handle(self.isup.alert(ev.cic, self._s()))  # address complete: ACM
                eng.leg_offered(leg, now)
                continue
            cic = getattr(ev, "cic", None)
            leg = self.legs.get(cic)
            if isinstance(ev, I.ProtocolNotice):
                eng.log("isup_notice", trunk=self.name, cic=cic, text=ev.text.replace(" ", "_"))
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


_ROUTE_EVENTS = (mtp3.LinkUnavailable, mtp3.LinkAvailable, mtp3.RouteUnavailable, mtp3.RouteAvailable)
