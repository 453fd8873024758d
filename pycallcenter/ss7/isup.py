"""ISUP call control per circuit (Q.764; T1.113 message set) as a sans-IO state machine.

One ``Isup`` serves the circuits between our point code and one adjacent (or remote) point code.
Received ISUP octets go in with ``receive(data, now)``; commands (``call``, ``alert``, ``answer``,
``release``, ``block``, ``reset``, ``group_reset``, ...) queue messages; ``take_outgoing()`` returns
[(sls, octets)] for MTP3 to send to ``dpc``. Every call returns a list of events. Timers are
``next_deadline()`` / ``handle_timer(now)``.
"""
from pycallcenter.causes import Cause
from pycallcenter.errors import DecodeError, LocalProtocolError
from pycallcenter.ss7.isup_circuit import (  # noqa: F401  (the states are part of this module's API)
    ANSWERED, CALL_STATES, COT_LOOPED, COT_STATES, COT_TESTING, COT_WAIT_CCR, IDLE, IN_ACM, IN_COT, IN_IAM, OUT_ACM,
    OUT_IAM, RELEASING, RESETTING, STATES, Circuit)
from pycallcenter.ss7.isup_codec import IsupMessage, decode_isup, encode_isup
from pycallcenter.ss7.isup_events import (  # noqa: F401  (the events are part of this module's API)
    Answered, BlockingChanged, CallFailed, CallProgress, CircuitReset, ContinuityCheck, ContinuityOutcome,
    IncomingCall, MaintenanceAck, ProtocolNotice, Released, RepeatAttempt, Suspended, TrafficLoad)
from pycallcenter.ss7.isup_maintenance import CircuitMaintenance
from pycallcenter.ss7.timers import ISUP_ROUTE as _ROUTE
from pycallcenter.ss7.timers import ISUP_TIMER_ACTIONS as _TIMER_ACTIONS
from pycallcenter.ss7.timers import IsupTimers
from pycallcenter.timers import TimerService

_Circuit = Circuit  # the name before the circuit had its own module
LOAD_STEP = 0.25
_CALL_MESSAGES = {"IAM", "SAM", "ACM", "CON", "CPG", "ANM", "SUS", "RES", "COT", "INR", "INF", "USR", "FAC", "FOT"}
_IN_CALL = {"INR", "INF", "USR", "FAC", "CPG", "FOT", "SAM"}
_DEFAULT_BCI = {"charge": 2, "called_party_status": 1, "called_party_category": 1, "isup_indicator": 1}


class Isup(CircuitMaintenance):
    """ISUP call control for the circuits (CICs) between point codes opc and dpc (maintenance procedures:
    ``CircuitMaintenance``; timer expiries: ``ss7/timers.py``)."""

    def __init__(self, opc, dpc, cics, variant="itu", timers=IsupTimers(), repeat_attempts=False):
        self.opc, self.dpc, self.variant, self.timers = opc, dpc, variant, timers
        # automatic repeat attempt (Q.764 2.10.1.4, 2.1.8, 2.9.2): a seizure lost before ACM moves to another
        # circuit (RepeatAttempt) instead of failing (CallFailed); off by default, as the caller owns the bearer
        self.repeat_attempts = repeat_attempts
        self._sent_iam = {}  # cic -> our last IAM's parameters
        self.load_step = 0  # congestion control: each step admits LOAD_STEP fewer of the new calls
        self._credit = 0.0
        self.circuits = {cic: _Circuit(cic) for cic in cics}
        self.outgoing = []
        self.available = True  # MTP-PAUSE/RESUME (Q.764 2.13): False while dpc is unreachable
        self.deadlines = TimerService()  # owner: the CIC (_ROUTE for the route's T29/T30); names as in IsupTimers
        self._group = {}  # (kind, first cic) -> range awaiting GRA/CGBA/CGUA
        self._pending_iam = {}  # cic -> IAM waiting for COT

    # -- plumbing -------------------------------------------------------------------------------
    def take_outgoing(self):
        """Return and clear [(sls, octets)] of ISUP messages to send to dpc."""
        out, self.outgoing = self.outgoing, []
        return out

    def _send(self, msg):
        self.outgoing.append((msg.cic & 0x0F if self.variant == "itu" else msg.cic & 0x1F,
                              encode_isup(msg, self.variant)))

    def _circuit(self, cic):
        try:
            return self.circuits[cic]
        except KeyError:
            raise LocalProtocolError(f"CIC {cic} is not one of ours") from None

    def state(self, cic):
        """Return the call state name of cic."""
        return self._circuit(cic).state

    def usable(self, cic):
        """Return True when cic is idle, blocked by neither end and not being reset: a new call may seize it."""
        c = self._circuit(cic)
        return c.state == IDLE and not c.local and not c.remote and not c.pending & {"RSC", "GRS"}

    def blocked(self, cic):
        """Return (local blocking kinds, remote blocking kinds) of cic."""
        c = self._circuit(cic)
        return frozenset(c.local), frozenset(c.remote)

    # -- timers ---------------------------------------------------------------------------------
    def _start(self, cic, name, now):
        self.deadlines.start(cic, name, now + getattr(self.timers, name))

    def _stop(self, cic, *names):
        self.deadlines.cancel_names(cic, names)

    def _stop_all(self, cic, names=("T1", "T5", "T6", "T7", "T8", "T9", "T24", "T25", "T26", "T27", "T36")):
        self.deadlines.cancel_names(cic, names)
        self._pending_iam.pop(cic, None)

    def next_deadline(self):
        """Return the earliest timer expiry, or None."""
        return self.deadlines.next_deadline()

    def handle_timer(self, now):
        """Fire expired timers (what each does: ISUP_TIMER_ACTIONS in ss7/timers.py); returns events."""
        events = []
        for cic, name in self.deadlines.expired(now):
            events += _TIMER_ACTIONS[name](self, self.circuits[cic] if cic != _ROUTE else None, now)
        return events

    # -- signalling congestion control (Q.764 2.11) -------------------------------------------------
    @property
    def traffic_share(self):
        """Return the share of new calls admitted now (1.0 without congestion)."""
        return max(1.0 - LOAD_STEP * self.load_step, LOAD_STEP)

    def mtp_congestion(self, now):
        """MTP-STATUS congestion towards dpc (TFC, or a congested link): reduce traffic one step; returns events."""
        t29 = self.deadlines.deadline(_ROUTE, "T29")
        if t29 is not None and t29 > now:
            return []  # T29: one reduction per congestion episode
        self.load_step = min(self.load_step + 1, round(1 / LOAD_STEP) - 1)
        self._start(_ROUTE, "T29", now)
        self._start(_ROUTE, "T30", now)
        return [TrafficLoad(self.traffic_share)]

    def _cause(self, cause, diagnostics=b""):
        return {"location": 2, "coding_standard": 0, "cause": cause, "diagnostics": diagnostics}

    # -- call commands ----------------------------------------------------------------------------
    def call(self, cic, called, calling="", now=0.0, category=10, extra=None, continuity=False):
        """Seize cic for an outgoing call (sends IAM; with continuity, a ContinuityCheck "tone" too); returns events."""
        c = self._circuit(cic)
        if c.state != IDLE:
            raise LocalProtocolError(f"CIC {cic} is {c.state}, not idle")
        if c.local or c.remote or c.pending & {"RSC", "GRS"}:
            raise LocalProtocolError(f"CIC {cic} is blocked or being reset")
        if not self.available:
            raise LocalProtocolError(f"point code {self.dpc} is unreachable (MTP pause)")
        if self.load_step:
            self._credit += self.traffic_share
            if self._credit < 1.0:
                raise LocalProtocolError(f"point code {self.dpc} is congested: call refused "
                                         f"(admitting {self.traffic_share:.0%})")
            self._credit -= 1.0
        params = {"nature_of_connection_indicators": {"satellite": 0, "continuity_check": int(continuity),
                                                      "echo_control_device": 0},
                  "forward_call_indicators": {"isup_indicator": 1, "isup_preference": 0, "isdn_access": 1},
                  "calling_partys_category": {"category": category}}
        if self.variant == "itu":
            params["transmission_medium_requirement"] = {"medium": 3}
        else:
            params["user_service_information"] = {"data": bytes.fromhex("8090a2")}
        params["called_party_number"] = {"nature_of_address": 3, "numbering_plan": 1, "digits": called}
        if calling:
            params["calling_party_number"] = {"nature_of_address": 3, "numbering_plan": 1, "screening": 3,
                                              "digits": calling}
        params.update(extra or {})
        return self._seize(c, params, now)

    def _seize(self, c, params, now):
        self._sent_iam[c.cic] = params
        self._send(IsupMessage("IAM", c.cic, params))
        c.state, c.outgoing = OUT_IAM, True
        self._start(c.cic, "T7", now)
        if params["nature_of_connection_indicators"].get("continuity_check") == 1:
            return self._attach_tone(c, now)
        return []

    def _failed(self, c, reason, now):
        """Return CallFailed for our attempt on c, or with repeat_attempts the events of a new IAM elsewhere."""
        params = self._sent_iam.pop(c.cic, None)
        if self.repeat_attempts and params is not None and self.available:
            free = [n for n, o in self.circuits.items() if o.state == IDLE and not (o.local or o.remote)
                    and not o.pending & {"RSC", "GRS"} and n != c.cic]
            if free:
                # prefer circuits we control: a second dual seizure on them goes our way
                new = self.circuits[min(free, key=lambda n: (not self._controls(n), n))]
                return [RepeatAttempt(c.cic, new.cic, reason)] + self._seize(new, params, now)
        return [CallFailed(c.cic, reason)]

    # -- continuity check (Q.764 2.1.8) ----------------------------------------------------------------
    def continuity_check(self, cic, now=0.0):
        """Test idle cic (CCR, then our tone under T24; REL when it passes, re-checks under T26 if not)."""
        c = self._need(cic, (IDLE,), "continuity-check")
        if c.local or c.remote or c.pending & {"RSC", "GRS"}:
            raise LocalProtocolError(f"CIC {cic} is blocked or being reset")
        return self._send_ccr(c, now)

    def continuity_result(self, cic, ok, now=0.0):
        """Report our tone test on cic (True: the 2000 Hz tone came back); returns events."""
        c = self._circuit(cic)
        if c.cot != "tone":
            raise LocalProtocolError(f"CIC {cic} has no continuity check running")
        self._stop(cic, "T24")
        return self._tone_result(c, ok, now)

    def _attach_tone(self, c, now):
        c.cot = "tone"
        self._start(c.cic, "T24", now)
        return [ContinuityCheck(c.cic, "tone")]

    def _detach(self, c):
        """Return the event that takes a check's tone or loop off cic, if one is on."""
        if c.cot is None:
            return []
        c.cot = None
        return [ContinuityCheck(c.cic, "remove")]

    def _send_ccr(self, c, now):
        c.state = COT_TESTING
        self._send(IsupMessage("CCR", c.cic, {}))
        return self._attach_tone(c, now)

    def _tone_result(self, c, ok, now):
        cic = c.cic
        events = self._detach(c) + [ContinuityOutcome(cic, ok, "local")]
        if c.state == OUT_IAM:  # the check of a call: COT tells the far end whether to go on
            self._send(IsupMessage("COT", cic, {"continuity_indicators": {"continuity": int(ok)}}))
            if ok:
                return events
            self._stop_all(cic)
            c.state = COT_TESTING
            self._start(cic, "T25", now)
            return events + self._failed(c, "continuity check failed", now)
        if c.state != COT_TESTING:
            return events
        if ok:  # a re-check passed: release frees the circuit at both ends
            self._stop_all(cic)
            c.state, c.cause = RELEASING, Cause.NORMAL_CALL_CLEARING
            self._send(IsupMessage("REL", cic, {"cause_indicators": self._cause(Cause.NORMAL_CALL_CLEARING)}))
            self._start(cic, "T1", now)
            self._start(cic, "T5", now)
            return events
        self._send(IsupMessage("COT", cic, {"continuity_indicators": {"continuity": 0}}))
        self._start(cic, "T26", now)
        return events

    def send_in_call(self, msg, now=0.0):
        """Send an in-call message the application builds (INR, INF, USR, FAC, CPG...) on a call; returns events."""
        if msg.type not in _IN_CALL:
            raise LocalProtocolError(f"{msg.type} is not an in-call message; use the command for it")
        self._need(msg.cic, CALL_STATES, f"send {msg.type} on")
        self._send(msg)
        return []

    def send_digits(self, cic, digits, now=0.0):
        """Send more called digits (SAM) on an outgoing call still waiting for ACM; returns events."""
        self._need(cic, (OUT_IAM,), "send digits on")
        self._send(IsupMessage("SAM", cic, {"subsequent_number": {"digits": digits}}))
        return []

    def alert(self, cic, now=0.0):
        """Send ACM on an incoming call; returns events."""
        c = self._need(cic, (IN_IAM,), "alert")
        self._send(IsupMessage("ACM", cic, {"backward_call_indicators": _DEFAULT_BCI}))
        c.state = IN_ACM
        return []

    def progress(self, cic, event=1, now=0.0):
        """Send CPG with an event indicator (1 alerting, 2 progress, 3 in-band information); returns events."""
        self._need(cic, (IN_ACM, ANSWERED), "progress")
        self._send(IsupMessage("CPG", cic, {"event_information": {"event": event}}))
        return []

    def answer(self, cic, now=0.0):
        """Answer an incoming call (ANM after ACM, else CON); returns events."""
        c = self._need(cic, (IN_IAM, IN_ACM), "answer")
        if c.state == IN_ACM:
            self._send(IsupMessage("ANM", cic, {}))
        else:
            self._send(IsupMessage("CON", cic, {"backward_call_indicators": dict(_DEFAULT_BCI, called_party_status=0)}))
        c.state = ANSWERED
        return []

    def release(self, cic, now=0.0, cause=Cause.NORMAL_CALL_CLEARING):
        """Release the call on cic (sends REL, awaits RLC under T1/T5); returns events."""
        c = self._circuit(cic)
        if c.state not in CALL_STATES:
            raise LocalProtocolError(f"CIC {cic} has no call to release ({c.state})")
        self._stop_all(cic)
        c.state, c.cause = RELEASING, cause
        self._send(IsupMessage("REL", cic, {"cause_indicators": self._cause(cause)}))
        self._start(cic, "T1", now)
        self._start(cic, "T5", now)
        return self._detach(c)

    def suspend(self, cic, now=0.0, network=True):
        """Send SUS on an answered call (backward direction); returns events."""
        self._need(cic, (ANSWERED,), "suspend")
        self._send(IsupMessage("SUS", cic, {"suspend_resume_indicators": {"initiated_by_network": int(network)}}))
        return []

    def resume(self, cic, now=0.0, network=True):
        """Send RES on an answered call; returns events."""
        self._need(cic, (ANSWERED,), "resume")
        self._send(IsupMessage("RES", cic, {"suspend_resume_indicators": {"initiated_by_network": int(network)}}))
        return []

    def _need(self, cic, states, what):
        c = self._circuit(cic)
        if c.state not in states:
            raise LocalProtocolError(f"cannot {what} CIC {cic} in state {c.state}")
        return c

    # -- receive ----------------------------------------------------------------------------------
    def receive(self, data, now):
        """Process one ISUP message (CIC onward) from dpc; returns events. Malformed input never raises."""
        try:
            msg = decode_isup(data, self.variant)
        except DecodeError as exc:
            return [ProtocolNotice(-1, f"discarded malformed message: {exc}")]
        c = self.circuits.get(msg.cic)
        if c is None:
            if self.variant == "ansi" and msg.type in _CALL_MESSAGES:
                self._send(IsupMessage("UCIC", msg.cic, {}))
            return [ProtocolNotice(msg.cic, f"{msg.type} for an unequipped CIC discarded")]
        if msg.has_unknown or msg.raw is not None:
            events = self._check_compatibility(c, msg, now)
            if events is not None:
                return events
        handler = _TRANSITIONS.get((c.state, msg.type))
        if handler is None:
            return self._unexpected(c, msg, now)
        return handler(self, c, msg, now)

    def _check_compatibility(self, c, msg, now):
        """Q.764 2.9.5: unrecognised messages and parameters; returns events when the message stops here."""
        if msg.type.startswith("unknown_"):
            compat = msg.params.get("message_compatibility_information")
            code = int(msg.type[10:], 16)
            if compat and compat.get("release_call") and c.state in CALL_STATES:
                return self.release(c.cic, now, Cause.MESSAGE_TYPE_NONEXISTENT)
            if compat and compat.get("discard_message") and not compat.get("send_notification"):
                return [ProtocolNotice(c.cic, f"unrecognised message 0x{code:02x} discarded")]
            self._send(IsupMessage("CFN", c.cic, {"cause_indicators": self._cause(Cause.MESSAGE_TYPE_NONEXISTENT, bytes([code]))}))
            return [ProtocolNotice(c.cic, f"unrecognised message 0x{code:02x}: confusion sent")]
        if not msg.has_unknown:
            return None
        unknown = [name for name in msg.params if name.startswith("unknown_")]
        compat = {e["code"]: e for e in msg.params.get("parameter_compatibility_information", {}).get("entries", [])}
        notify = []
        for name in unknown:
            code = int(name[10:], 16)
            rule = compat.get(code, {})
            if rule.get("release_call") and msg.type not in ("REL", "RLC"):
                if c.state == IDLE and msg.type == "IAM":
                    c.state = IN_IAM
                if c.state in CALL_STATES:
                    return self.release(c.cic, now, Cause.IE_OR_PARAMETER_NONEXISTENT)
                return [ProtocolNotice(c.cic, f"{msg.type} discarded: unrecognised parameter 0x{code:02x}")]
            if rule.get("discard_message"):
                if rule.get("send_notification"):
                    self._send(IsupMessage("CFN", c.cic, {"cause_indicators": self._cause(Cause.IE_OR_PARAMETER_NONEXISTENT, bytes([code]))}))
                return [ProtocolNotice(c.cic, f"{msg.type} discarded: unrecognised parameter 0x{code:02x}")]
            if rule.get("send_notification"):
                notify.append(code)
            del msg.params[name]
        if notify:
            self._send(IsupMessage("CFN", c.cic, {"cause_indicators": self._cause(Cause.IE_OR_PARAMETER_NONEXISTENT, bytes(notify))}))
        return None

    def _unexpected(self, c, msg, now):
        """The one place for a (state, message) pair _TRANSITIONS lacks: returns the ProtocolNotice events (Q.764
        2.9.5.1: a call message on an idle circuit also resets it; anything else is discarded)."""
        if msg.type not in _RECEIVED:
            return [ProtocolNotice(msg.cic, f"{msg.type} ignored")]
        if c.state == IDLE and msg.type in _CALL_MESSAGES:
            return [ProtocolNotice(c.cic, f"unexpected {msg.type} on idle circuit: reset")] + self.reset(c.cic, now)
        return [ProtocolNotice(c.cic, f"unexpected {msg.type} in state {c.state} discarded")]

    def _controls(self, cic):
        """Dual seizure (Q.764 2.10.1.4): the higher point code controls even CICs."""
        return (cic % 2 == 0) == (self.opc > self.dpc)

    def _rx_IAM(self, c, msg, now):
        events = []
        if c.state == OUT_IAM:
            if self._controls(c.cic):
                return [ProtocolNotice(c.cic, "dual seizure: we control this CIC, incoming IAM ignored")]
            self._stop_all(c.cic)
            c.state = IDLE
            events += self._detach(c) + self._failed(c, "dual seizure", now)
        if "maintenance" in c.remote:  # an IAM unblocks a remotely maintenance-blocked circuit
            c.remote.discard("maintenance")
            events.append(BlockingChanged(c.cic, "remote", "maintenance", False))
        if c.local:
            c.state = IN_IAM
            return events + self.release(c.cic, now, Cause.TEMPORARY_FAILURE)
        c.outgoing = False
        check = msg.params["nature_of_connection_indicators"].get("continuity_check")
        if check in (1, 2):  # 1: on this circuit (we loop it back), 2: on a previous one; either way wait for COT
            c.state = IN_COT
            self._pending_iam[c.cic] = msg
            self._start(c.cic, "T8", now)
            if check == 1:
                c.cot = "loop"
                events.append(ContinuityCheck(c.cic, "loop"))
            return events
        c.state = IN_IAM
        return events + [self._incoming(msg)]

    def _incoming(self, msg):
        # ST (end of pulsing, nibble F) ends the number; the event gives just the digits
        called = msg.params.get("called_party_number", {}).get("digits", "").rstrip("F")
        calling = msg.params.get("calling_party_number", {}).get("digits", "")
        return IncomingCall(msg.cic, called, calling, msg)

    def _rx_COT(self, c, msg, now):
        ok = bool(msg.params["continuity_indicators"]["continuity"])
        if c.state == COT_LOOPED:  # the far end's re-check: on success its REL follows, else another CCR
            self._stop(c.cic, "T36")
            events = self._detach(c) + [ContinuityOutcome(c.cic, ok, "remote")]
            if ok:
                self._start(c.cic, "T36", now)
            else:
                c.state = COT_WAIT_CCR
                self._start(c.cic, "T27", now)
            return events
        self._stop(c.cic, "T8")
        iam = self._pending_iam.pop(c.cic, None)
        events = self._detach(c)
        if events:
            events.append(ContinuityOutcome(c.cic, ok, "remote"))
        if ok:
            c.state = IN_IAM
            return events + [self._incoming(iam)]
        c.state = COT_WAIT_CCR  # the far end re-checks with CCR; reset if none comes within T27
        self._start(c.cic, "T27", now)
        return events + [ProtocolNotice(c.cic, "continuity check failed: call abandoned")]

    def _rx_CCR(self, c, msg, now):
        self._stop(c.cic, "T27")
        c.state, c.cot = COT_LOOPED, "loop"
        if self.variant == "ansi":  # loop-back acknowledgement (national use; T1.113 sends it)
            self._send(IsupMessage("LPA", c.cic, {}))
        self._start(c.cic, "T36", now)
        return [ContinuityCheck(c.cic, "loop")]

    def _rx_LPA(self, c, msg, now):
        return []  # the far end looped the circuit for our re-check: our tone test goes on

    def _rx_SAM(self, c, msg, now):
        return [CallProgress(c.cic, "SAM", msg)]

    def _rx_ACM(self, c, msg, now):
        self._stop(c.cic, "T7")
        self._start(c.cic, "T9", now)
        c.state = OUT_ACM
        return [CallProgress(c.cic, "ACM", msg)]

    def _rx_CPG(self, c, msg, now):
        return [CallProgress(c.cic, "CPG", msg)]

    def _rx_ANM(self, c, msg, now):
        self._stop(c.cic, "T7", "T9")
        c.state = ANSWERED
        return [Answered(c.cic)]

    def _rx_CON(self, c, msg, now):
        self._stop(c.cic, "T7")
        c.state = ANSWERED
        return [Answered(c.cic)]

    def _rx_SUS(self, c, msg, now):
        if msg.params["suspend_resume_indicators"].get("initiated_by_network"):
            self._start(c.cic, "T6", now)
        return [Suspended(c.cic, True)]

    def _rx_RES(self, c, msg, now):
        self._stop(c.cic, "T6")
        return [Suspended(c.cic, False)]

    def _rx_REL(self, c, msg, now):
        cause = msg.params["cause_indicators"]["cause"]
        self._send(IsupMessage("RLC", c.cic, {}))
        if c.state in COT_STATES:  # the end of a re-check: the circuit is idle again
            events = self._detach(c)
            if events and c.state == COT_LOOPED:  # REL while our loop is on: the far end heard its tone
                events.append(ContinuityOutcome(c.cic, True, "remote"))
            self._stop_all(c.cic)
            c.state = IDLE
            return events
        if c.state in CALL_STATES or c.state == RELEASING:
            events = self._detach(c)
            self._stop_all(c.cic)
            c.state = IDLE
            return events + [Released(c.cic, cause, "remote")]
        return []  # REL on an idle circuit: RLC is the whole answer

    def _rx_RLC(self, c, msg, now):
        if c.state == RELEASING:
            self._stop_all(c.cic)
            c.state = IDLE
            return [Released(c.cic, c.cause, "local")]
        if c.state == RESETTING and "RSC" in c.pending:
            self._stop(c.cic, "T16", "T17")
            c.pending.discard("RSC")
            c.state = IDLE
            return [MaintenanceAck("RSC", (c.cic,))]
        if c.state in CALL_STATES:  # RLC without REL: clear the call, and tell the far end
            self._stop_all(c.cic)
            c.state = IDLE
            return [Released(c.cic, Cause.NORMAL_UNSPECIFIED, "remote")]
        return []

    def _rx_INR(self, c, msg, now):
        return [CallProgress(c.cic, msg.type, msg)]


    def _rx_CFN(self, c, msg, now):
        return [ProtocolNotice(c.cic, f"far end sent confusion, cause {msg.params['cause_indicators']['cause']}")]

    def _rx_UCIC(self, c, msg, now):
        events = [ProtocolNotice(c.cic, "far end says this CIC is unequipped")]
        if c.state in CALL_STATES:
            self._stop_all(c.cic)
            c.state = IDLE
            events.append(Released(c.cic, Cause.RESOURCE_UNAVAILABLE_UNSPECIFIED, "remote"))
        return events


def _in(states, message, handler):
    return {(state, message): handler for state in states}


# (circuit state, message) -> handler: every transition of a circuit. A pair not here is a protocol notice in
# one place, Isup._unexpected (a call message on an idle circuit resets it, Q.764 2.9.5.1).
_TRANSITIONS = {
    # call set-up (Q.764 2.1); IAM while our own waits is dual seizure (2.10.1.4)
    **_in((IDLE, OUT_IAM), "IAM", Isup._rx_IAM),
    **_in((IN_IAM, IN_COT), "SAM", Isup._rx_SAM),
    **_in((OUT_IAM,), "ACM", Isup._rx_ACM),
    **_in((OUT_IAM,), "CON", Isup._rx_CON),
    **_in((OUT_IAM, OUT_ACM), "ANM", Isup._rx_ANM),
    **_in((IN_IAM, IN_ACM, OUT_ACM, ANSWERED), "CPG", Isup._rx_CPG),
    **_in((ANSWERED,), "SUS", Isup._rx_SUS),
    **_in((ANSWERED,), "RES", Isup._rx_RES),
    **{(state, message): Isup._rx_INR for state in CALL_STATES for message in ("INR", "INF", "USR", "FAC", "FOT")},
    # continuity check of a call and re-check (2.1.8)
    **_in((IN_COT, COT_LOOPED), "COT", Isup._rx_COT),
    **_in((IDLE, COT_WAIT_CCR), "CCR", Isup._rx_CCR),
    **_in((COT_TESTING,), "LPA", Isup._rx_LPA),
    # release, reset, blocking and group messages: taken in every state, their handlers see what it means
    **{(state, message): handler for state in STATES for message, handler in (
        ("REL", Isup._rx_REL), ("RLC", Isup._rx_RLC), ("RSC", Isup._rx_RSC),
        ("BLO", Isup._rx_BLO), ("UBL", Isup._rx_UBL), ("BLA", Isup._rx_BLA), ("UBA", Isup._rx_UBA),
        ("GRS", Isup._rx_GRS), ("GRA", Isup._rx_GRA), ("CGB", Isup._rx_CGB), ("CGU", Isup._rx_CGU),
        ("CGBA", Isup._rx_CGBA), ("CGUA", Isup._rx_CGUA), ("CQM", Isup._rx_CQM), ("CFN", Isup._rx_CFN),
        ("UCIC", Isup._rx_UCIC))},
}
_RECEIVED = frozenset(message for _, message in _TRANSITIONS)  # message types we act on in some state
