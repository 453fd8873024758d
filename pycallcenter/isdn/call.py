"""Q.931 call control over a Q.921 link, sans-IO, user (CPE) or network side of one PRI D-channel.

Every public method takes ``now`` and returns the events it caused; frames to send come from pop_frames(),
timers from next_deadline()/handle_timer(now). Call states use Q.931's numbers (U/N states share them).
Remote mistakes never raise: they are answered as Q.931 5.8 prescribes (STATUS, RELEASE COMPLETE) and
reported as ProtocolError events; misuse by our caller raises LocalProtocolError.
"""
from dataclasses import dataclass, field

from pycallcenter.errors import DecodeError, LocalProtocolError
from pycallcenter.isdn import causes, ie, lapd, q931
from pycallcenter.isdn.variants import get_variant

NULL, CALL_INITIATED, OVERLAP_SENDING, OUTGOING_PROCEEDING, CALL_DELIVERED = 0, 1, 2, 3, 4
CALL_PRESENT, CALL_RECEIVED, CONNECT_REQUEST, INCOMING_PROCEEDING, ACTIVE = 6, 7, 8, 9, 10
DISCONNECT_REQUEST, DISCONNECT_INDICATION, RELEASE_REQUEST, OVERLAP_RECEIVING = 11, 12, 19, 25

USER_TIMERS = {"T301": 180.0, "T302": 15.0, "T303": 4.0, "T304": 30.0, "T305": 30.0, "T308": 4.0, "T309": 90.0,
               "T310": 30.0, "T313": 4.0, "T316": 120.0, "T322": 4.0, "relink": 5.0}
NETWORK_TIMERS = dict(USER_TIMERS, T302=10.0, T304=20.0, T310=10.0)
RETRIES = {"T303": 1, "T308": 1, "T316": 2, "T322": 2}

# messages a state accepts for an existing call; the rest get STATUS cause 101 (Q.931 5.8.4)
_ANY_TIME = {q931.STATUS, q931.STATUS_ENQUIRY, q931.RELEASE, q931.RELEASE_COMPLETE, q931.DISCONNECT, q931.NOTIFY,
             q931.FACILITY, q931.INFORMATION, q931.PROGRESS}
_ALLOWED = {
    CALL_INITIATED: {q931.SETUP_ACKNOWLEDGE, q931.CALL_PROCEEDING, q931.ALERTING, q931.CONNECT},
    OVERLAP_SENDING: {q931.CALL_PROCEEDING, q931.ALERTING, q931.CONNECT},
    OUTGOING_PROCEEDING: {q931.ALERTING, q931.CONNECT},
    CALL_DELIVERED: {q931.CONNECT},
    CONNECT_REQUEST: {q931.CONNECT_ACKNOWLEDGE},
    ACTIVE: {q931.CONNECT_ACKNOWLEDGE},
}
_KNOWN = set(q931.MESSAGE_NAMES)
_CLEARING = (q931.RELEASE, q931.RELEASE_COMPLETE, q931.DISCONNECT)
_encode = q931.encode_call_message
_decode = q931.decode
_PD_Q931 = q931.PD_Q931


# --- events ---
@dataclass
class DChannelUp:
    """The D-channel is up (again: reestablished=True)."""

    reestablished: bool = False


@dataclass
class DChannelDown:
    """The D-channel went down; calls not yet active were cleared, active ones wait T309."""

    reason: str


@dataclass
class IncomingCall:
    """A SETUP arrived: numbers, name, channel granted; answer with proceeding/alerting/answer or hangup."""

    call: "Call"
    called: str
    calling: str
    calling_name: str
    channel: int
    sending_complete: bool
    presentation: int = 0


@dataclass
class MoreDigits:
    """INFORMATION during overlap receiving: digits to append to the called number."""

    call: "Call"
    digits: str
    sending_complete: bool


@dataclass
class DialComplete:
    """Overlap receiving ended by T302: the call is now proceeding with call.called."""

    call: "Call"


@dataclass
class SetupAcknowledged:
    """The far end asked for more digits (overlap sending)."""

    call: "Call"


@dataclass
class Proceeding:
    """CALL PROCEEDING received; call.channel is the channel the far end chose."""

    call: "Call"


@dataclass
class Alerting:
    """ALERTING received: the far end is ringing."""

    call: "Call"


@dataclass
class Progress:
    """PROGRESS (or a progress indicator) received."""

    call: "Call"
    description: int


@dataclass
class Answered:
    """CONNECT received (or our CONNECT acknowledged): the call is active."""

    call: "Call"


@dataclass
class Disconnected:
    """DISCONNECT received; we release the call automatically."""

    call: "Call"
    cause: int


@dataclass
class CallEnded:
    """The call is back in the Null state and its channel is free."""

    call: "Call"
    cause: int


@dataclass
class Notify:
    """NOTIFY received."""

    call: "Call"
    description: int


@dataclass
class FacilityReceived:
    """FACILITY received (or a facility IE in another message): raw ASN.1 kept for the application."""

    call: "Call"
    data: bytes


@dataclass
class StatusReceived:
    """STATUS received for a call."""

    call: "Call"
    cause: int
    state: int


@dataclass
class RestartReceived:
    """The far end restarted channels (None: the whole interface); their calls were cleared."""

    channels: object


@dataclass
class RestartAcknowledged:
    """Our RESTART was acknowledged (or gave up after T316 retries: ok=False)."""

    channels: object
    ok: bool = True


@dataclass
class ServiceReceived:
    """NI-2 SERVICE: a channel was put in service (0), maintenance (1) or out of service (2)."""

    channel: int
    status: int


@dataclass
class ServiceAcknowledged:
    """Our SERVICE was acknowledged."""

    channel: int
    status: int


@dataclass
class ProtocolError:
    """The far end broke the protocol; what we did about it is in action (never fatal)."""

    detail: str
    action: str = ""


@dataclass(eq=False)
class Call:
    """One call: reference, direction, state, channel, numbers and running timers."""

    cr: int
    outgoing: bool
    state: int = NULL
    channel: int = None
    exclusive: bool = True
    called: str = ""
    calling: str = ""
    calling_name: str = ""
    cause: int = None
    timers: dict = field(default_factory=dict)
    retries: dict = field(default_factory=dict)
    setup_msg: bytes = b""
    release_cause: int = causes.NORMAL_CLEARING

    def __post_init__(self):
        self.key = (self.cr, self.outgoing)  # the calls-dict key; cr and direction never change


class Interface:
    """One PRI D-channel: a Q.921 link plus Q.931 call control for the user (network=False) or network side."""

    def __init__(self, network=False, variant="euroisdn_e1", timers=None, tracer=None, link=None):
        self.network = network
        self.variant = get_variant(variant)
        self.link = link if link is not None else lapd.Link(network)
        self.link.on_data = lambda info, now: self._message(info, now)  # looked up late: tests replace _message
        self.timers = dict(NETWORK_TIMERS if network else USER_TIMERS)
        self.timers.update(timers or {})
        self.tracer = tracer
        self.calls = {}
        self.channel_calls = {}  # channel -> Call holding it
        self.out_of_service = set()
        self.restart_pending = None  # (channels, deadline, tries)
        self.service_pending = {}
        self.relink_at = None
        self.alarmed = False
        self._next_cr = 1
        self._events = []
        self._now = 0.0
        self.counters = {"bad_messages": 0, "status_sent": 0}

    # ----- lifecycle -----
    def start(self, now):
        """Bring the D-channel up (SABME); returns events."""
        self._now = now
        self.link.establish(now)
        return self._flush()

    def alarm(self, now):
        """The span is in alarm: the D-channel is down at once; calls are handled as for a link failure."""
        self._now = now
        self.alarmed = True
        for ev in self.link.physical_down(now):
            self._link_event(ev, now)
        return self._flush()

    def recover(self, now):
        """The span recovered: re-establish the D-channel."""
        self._now = now
        self.alarmed = False
        self.link.establish(now)
        return self._flush()

    # ----- I/O -----
    def pop_frames(self):
        """Return the LAPD frames to transmit (address field first, no FCS)."""
        frames = self.link.pop_frames()
        if frames and self.tracer is not None:
            for data in frames:
                self.tracer.frame(data, True, self._now)
        return frames

    def receive(self, data, now):
        """Process one received LAPD frame; returns events."""
        self._now = now
        if self.tracer is not None:
            self.tracer.frame(data, False, now)
        for ev in self.link.receive(data, now):
            if ev.__class__ is lapd.Data:
                self._message(ev.info, now)
            else:
                self._link_event(ev, now)
        events, self._events = self._events, []
        return events

    def next_deadline(self):
        """Return the earliest link or call timer deadline, or None."""
        best = self.link.next_deadline()
        for call in self.calls.values():
            for when in call.timers.values():
                if best is None or when < best:
                    best = when
        for when in (self.relink_at, self.restart_pending and self.restart_pending[1]):
            if when is not None and (best is None or when < best):
                best = when
        return best

    def handle_timer(self, now):
        """Run every expired timer; returns events."""
        self._now = now
        for ev in self.link.handle_timer(now):
            self._link_event(ev, now)
        for call in list(self.calls.values()):
            for name, when in sorted(call.timers.items(), key=lambda kv: kv[1]):
                if when <= now and call.timers.get(name) == when:
                    del call.timers[name]
                    self._call_timer(call, name, now)
        if self.relink_at is not None and now >= self.relink_at:
            self.relink_at = None
            if not self.alarmed and self.link.state == lapd.TEI_ASSIGNED:
                self.link.establish(now)
        if self.restart_pending is not None and now >= self.restart_pending[1]:
            channels, _, tries = self.restart_pending
            if tries >= RETRIES["T316"]:
                self.restart_pending = None
                self._events.append(RestartAcknowledged(channels, ok=False))
            else:
                self.restart_pending = (channels, now + self.timers["T316"], tries + 1)
                self._send_restart(channels)
        return self._flush()

    # ----- call commands -----
    def setup(self, now, called, calling="", channel=None, exclusive=True, calling_name="", overlap=False,
              presentation=0):
        """Place a call (SETUP); returns the Call. overlap=True leaves sending complete out (digits follow)."""
        self._now = now
        self._need_link()
        if channel is None:
            channel = self._free_channel()
            if channel is None:
                raise LocalProtocolError("no free B-channel")
            exclusive = self.network  # the user side offers a preferred channel the network may change
        elif channel in self.channel_calls:
            raise LocalProtocolError(f"B-channel {channel} is busy")
        call = Call(self._alloc_cr(), True, CALL_INITIATED, channel, exclusive, called, calling, calling_name)
        self.calls[call.key] = call
        self.channel_calls[channel] = call
        ies = [ie.bearer(0, self.variant.layer1), ie.channel_id(channel, exclusive)]
        if calling:
            ies.append(ie.calling_number(calling, 0, 1, presentation))
        if called or not overlap:
            ies.append(ie.called_number(called))
        if calling_name:
            ies = q931.Message(q931.SETUP, call.cr, False, ies).add(
                self._display(calling_name), locking=self.variant.display_locking).ies
        if not overlap:
            ies.append(ie.single(0xA1))
        call.setup_msg = _encode(q931.SETUP, call.cr, False, ies)
        self.link.send(call.setup_msg, now)
        self._start(call, "T303")
        return call

    def send_digits(self, call, digits, now, complete=False):
        """Send more called-party digits in INFORMATION (overlap sending)."""
        self._now = now
        self._require(call, {OVERLAP_SENDING, CALL_INITIATED}, "send digits")
        call.called += digits
        ies = [ie.called_number(digits)] + ([ie.single(0xA1)] if complete else [])
        self._send(call, q931.INFORMATION, ies)
        if call.state == OVERLAP_SENDING:
            self._start(call, "T304")
        return self._flush()

    def setup_ack(self, call, now):
        """Ask for more digits (SETUP ACKNOWLEDGE): overlap receiving, T302 running."""
        self._now = now
        self._require(call, {CALL_PRESENT}, "acknowledge setup")
        self._send(call, q931.SETUP_ACKNOWLEDGE, [self._chan_ie(call)])
        call.state = OVERLAP_RECEIVING
        self._start(call, "T302")
        return self._flush()

    def proceeding(self, call, now):
        """Send CALL PROCEEDING."""
        self._now = now
        self._require(call, {CALL_PRESENT, OVERLAP_RECEIVING}, "send CALL PROCEEDING")
        first = call.state == CALL_PRESENT
        call.timers.pop("T302", None)
        self._send(call, q931.CALL_PROCEEDING, [self._chan_ie(call)] if first else [])
        call.state = INCOMING_PROCEEDING
        return self._flush()

    def alerting(self, call, now, inband=False):
        """Send ALERTING (with progress 8 'in-band information' when inband)."""
        self._now = now
        self._require(call, {CALL_PRESENT, OVERLAP_RECEIVING, INCOMING_PROCEEDING}, "send ALERTING")
        ies = [self._chan_ie(call)] if call.state == CALL_PRESENT else []
        if inband:
            ies.append(ie.progress(8))
        call.timers.pop("T302", None)
        self._send(call, q931.ALERTING, ies)
        call.state = CALL_RECEIVED
        return self._flush()

    def progress(self, call, now, description=8):
        """Send PROGRESS with one progress indicator."""
        self._now = now
        self._require(call, {CALL_PRESENT, OVERLAP_RECEIVING, INCOMING_PROCEEDING, CALL_RECEIVED}, "send PROGRESS")
        self._send(call, q931.PROGRESS, [ie.progress(description)])
        return self._flush()

    def answer(self, call, now, connected=""):
        """Answer (CONNECT); the user side waits for CONNECT ACKNOWLEDGE under T313."""
        self._now = now
        self._require(call, {CALL_PRESENT, OVERLAP_RECEIVING, INCOMING_PROCEEDING, CALL_RECEIVED}, "answer")
        ies = [self._chan_ie(call)] if call.state == CALL_PRESENT else []
        if connected:
            ies.append(ie.calling_number(connected, name="connected_number"))
        call.timers.pop("T302", None)
        self._send(call, q931.CONNECT, ies)
        if self.network:
            call.state = ACTIVE
            self._events.append(Answered(call))
        else:
            call.state = CONNECT_REQUEST
            self._start(call, "T313")
        return self._flush()

    def hangup(self, call, now, cause=causes.NORMAL_CLEARING):
        """Clear a call: RELEASE COMPLETE if it was never answered to, else DISCONNECT (T305)."""
        self._now = now
        if call.state == NULL or call.key not in self.calls:
            return self._flush()
        if call.state in (DISCONNECT_REQUEST, RELEASE_REQUEST):
            return self._flush()
        if call.state == CALL_PRESENT:
            self._send(call, q931.RELEASE_COMPLETE, [ie.cause(cause, self._location())])
            self._end(call, cause)
            return self._flush()
        if call.state == DISCONNECT_INDICATION:
            self._release(call, cause)
            return self._flush()
        call.timers.clear()
        call.release_cause = cause
        self._send(call, q931.DISCONNECT, [ie.cause(cause, self._location())])
        call.state = DISCONNECT_REQUEST
        self._start(call, "T305")
        return self._flush()

    def notify(self, call, now, description):
        """Send NOTIFY with one notification indicator (e.g. 0 user suspended, 1 user resumed)."""
        self._now = now
        self._require(call, set(range(1, 26)), "send NOTIFY")
        self._send(call, q931.NOTIFY, [ie.notification(description)])
        return self._flush()

    def facility(self, call, now, data):
        """Send FACILITY carrying one facility IE body (raw ASN.1 supplementary-service data)."""
        self._now = now
        self._require(call, set(range(1, 26)), "send FACILITY")
        self._send(call, q931.FACILITY, [ie.raw(0, 0x1C, data)])
        return self._flush()

    def keypad(self, call, now, digits):
        """Send INFORMATION with a keypad facility (digits during a call)."""
        self._now = now
        self._require(call, set(range(1, 26)), "send keypad digits")
        self._send(call, q931.INFORMATION, [ie.keypad(digits)])
        return self._flush()

    def status_enquiry(self, call, now):
        """Send STATUS ENQUIRY (T322)."""
        self._now = now
        self._send(call, q931.STATUS_ENQUIRY, [])
        self._start(call, "T322")
        return self._flush()

    def restart(self, now, channels=None):
        """Restart channels (None: the whole interface): clears their calls locally, sends RESTART (T316)."""
        self._now = now
        self._need_link()
        for call in list(self.calls.values()):
            if channels is None or call.channel in channels:
                self._end(call, causes.TEMPORARY_FAILURE)
        self.restart_pending = (channels, now + self.timers["T316"], 0)
        self._send_restart(channels)
        return self._flush()

    def service(self, now, channel, status):
        """NI-2 B-channel maintenance: send SERVICE (0 in service, 1 maintenance, 2 out of service)."""
        self._now = now
        if self.variant.service_pd is None:
            raise LocalProtocolError(f"{self.variant.name} has no SERVICE messages")
        pd = self.variant.service_pd
        msg = q931.Message(q931.SERVICE_TYPES[pd][0], 0, False, [ie.change_status(status), ie.channel_id(channel)],
                           pd=pd)
        self.service_pending[channel] = status
        self.link.send(msg.encode(), now)
        return self._flush()

    # ----- internals: helpers -----
    def _flush(self):
        events, self._events = self._events, []
        return events

    def _need_link(self):
        if not self.link.is_up:
            raise LocalProtocolError("the D-channel is down")

    def _require(self, call, states, what):
        if call.key not in self.calls or call.state not in states:
            raise LocalProtocolError(f"cannot {what} in call state {call.state}")

    def _location(self):
        return 2 if self.network else 0  # public network serving the local user / user

    def _alloc_cr(self):
        for _ in range(32767):
            cr = self._next_cr
            self._next_cr = cr % 32767 + 1
            if (cr, True) not in self.calls:
                return cr
        raise LocalProtocolError("no free call reference")

    def _free_channel(self, avoid=()):
        for ch in self.variant.channels:
            if ch not in self.channel_calls and ch not in self.out_of_service and ch not in avoid:
                return ch
        return None

    def _display(self, text):
        return ie.display(text, self.variant.display_codeset, self.variant.display_type)

    def _chan_ie(self, call):
        return ie.channel_id(call.channel, True)

    def _start(self, call, name):
        call.timers[name] = self._now + self.timers[name]

    def _send(self, call, msg_type, ies):
        self.link.send(_encode(msg_type, call.cr, not call.outgoing, ies), self._now)

    def _send_cr(self, cr, flag, msg_type, ies, pd=q931.PD_Q931):
        self.link.send(q931.Message(msg_type, cr, flag, ies, pd=pd).encode(), self._now)

    def _send_status(self, call, cause):
        self.counters["status_sent"] += 1
        self._send(call, q931.STATUS, [ie.cause(cause, self._location()), ie.call_state(call.state)])

    def _send_restart(self, channels):
        if channels is None:
            ies = [ie.restart_indicator(7)]
        else:
            ies = [ie.channel_id(ch) for ch in channels] + [ie.restart_indicator(0)]
        self._send_cr(0, False, q931.RESTART, ies)

    def _end(self, call, cause):
        call.timers.clear()
        call.state = NULL
        call.cause = cause
        self.calls.pop(call.key, None)
        if call.channel is not None and self.channel_calls.get(call.channel) is call:
            del self.channel_calls[call.channel]
        self._events.append(CallEnded(call, cause))

    def _release(self, call, cause):
        call.timers.clear()
        call.release_cause = cause
        self._send(call, q931.RELEASE, [ie.cause(cause, self._location())])
        call.state = RELEASE_REQUEST
        self._start(call, "T308")

    def _disconnect(self, call, cause):
        call.timers.clear()
        call.release_cause = cause
        self._send(call, q931.DISCONNECT, [ie.cause(cause, self._location())])
        call.state = DISCONNECT_REQUEST
        self._start(call, "T305")

    # ----- internals: link events -----
    def _link_event(self, ev, now):
        if isinstance(ev, lapd.Data):
            self._message(ev.info, now)
        elif isinstance(ev, lapd.LinkUp):
            self.relink_at = None
            self._events.append(DChannelUp(ev.reestablished))
            for call in list(self.calls.values()):
                if "T309" in call.timers:
                    del call.timers["T309"]
                    self._send_status(call, 31)
                elif ev.reestablished and call.state != NULL:
                    self._send_status(call, 31)
        elif isinstance(ev, lapd.LinkDown):
            self._events.append(DChannelDown(ev.reason))
            for call in list(self.calls.values()):
                if call.state == ACTIVE:
                    call.timers.clear()
                    self._start(call, "T309")
                else:
                    self._end(call, causes.TEMPORARY_FAILURE)
            if not self.alarmed:
                self.relink_at = now + self.timers["relink"]
        elif isinstance(ev, lapd.LinkError):
            if ev.code in ("L", "S"):
                self.counters["bad_messages"] += 1

    # ----- internals: timers -----
    def _call_timer(self, call, name, now):
        if name == "T303":
            if call.retries.get("T303", 0) < RETRIES["T303"]:
                call.retries["T303"] = call.retries.get("T303", 0) + 1
                self.link.send(call.setup_msg, now)
                self._start(call, "T303")
            else:
                cause = causes.NO_USER_RESPONDING if self.network else causes.RECOVERY_ON_TIMER_EXPIRY
                self._send(call, q931.RELEASE_COMPLETE, [ie.cause(cause, self._location())])
                self._end(call, cause)
        elif name == "T304":
            self._disconnect(call, causes.RECOVERY_ON_TIMER_EXPIRY)
        elif name == "T310":
            self._disconnect(call, causes.NO_USER_RESPONDING if self.network else causes.RECOVERY_ON_TIMER_EXPIRY)
        elif name == "T301":
            self._disconnect(call, causes.NO_ANSWER if self.network else causes.RECOVERY_ON_TIMER_EXPIRY)
        elif name == "T313":
            self._disconnect(call, causes.RECOVERY_ON_TIMER_EXPIRY)
        elif name == "T302":
            if call.called:
                self._send(call, q931.CALL_PROCEEDING, [])
                call.state = INCOMING_PROCEEDING
                self._events.append(DialComplete(call))
            else:
                self._disconnect(call, causes.INVALID_NUMBER_FORMAT)
        elif name == "T305":
            self._release(call, call.release_cause)
        elif name == "T308":
            if call.retries.get("T308", 0) < RETRIES["T308"]:
                call.retries["T308"] = call.retries.get("T308", 0) + 1
                self._send(call, q931.RELEASE, [ie.cause(call.release_cause, self._location())])
                self._start(call, "T308")
            else:
                self._end(call, causes.RECOVERY_ON_TIMER_EXPIRY)
        elif name == "T309":
            self._end(call, causes.DESTINATION_OUT_OF_ORDER)
        elif name == "T322":
            if call.retries.get("T322", 0) < RETRIES["T322"]:
                call.retries["T322"] = call.retries.get("T322", 0) + 1
                self._send(call, q931.STATUS_ENQUIRY, [])
                self._start(call, "T322")
            else:
                self._disconnect(call, causes.TEMPORARY_FAILURE)

    # ----- internals: received messages -----
    def _message(self, data, now):
        try:
            msg = _decode(data)
        except DecodeError as exc:
            self.counters["bad_messages"] += 1
            self._bad_message(data, exc)
            return
        if msg.pd != _PD_Q931:
            self._maintenance(msg)
            return
        if not msg.call_ref or not msg.cr_len:
            self._global(msg)
            return
        call = self.calls.get((msg.call_ref, msg.cr_flag))
        if call is None:
            self._unknown_cr(msg)
            return
        mt = msg.msg_type
        handler = _HANDLERS.get(mt)
        if handler is None and mt not in _KNOWN:
            self._events.append(ProtocolError(f"unknown message type 0x{mt:02x}", "STATUS 97"))
            self._send_status(call, causes.MESSAGE_TYPE_NONEXISTENT)
            return
        if handler is None or (mt not in _ANY_TIME and mt not in _ALLOWED.get(call.state, ())):
            self._events.append(ProtocolError(f"{msg.name} in call state {call.state}", "STATUS 101"))
            self._send_status(call, causes.WRONG_STATE)
            return
        handler(self, call, msg)
        if msg.unknown and call.key in self.calls and msg.msg_type not in _CLEARING:
            unknown = [i for i in msg.ies if i.fields is None and i.body is not None and i.codeset == 0]
            if unknown:
                self._events.append(ProtocolError(f"unrecognised IE {unknown[0].name}", "STATUS 99"))
                self._send_status(call, causes.IE_NONEXISTENT)

    def _bad_message(self, data, exc):
        """An undecodable message: answer with STATUS 100 when it names one of our calls, else drop it (5.8.1-3)."""
        action = "ignored"
        if len(data) >= 5 and data[0] == q931.PD_Q931 and data[1] == 2:
            cr = ((data[2] & 0x7F) << 8) | data[3]
            call = self.calls.get((cr, bool(data[2] & 0x80)))
            if call is not None:
                self._send_status(call, causes.INVALID_IE_CONTENTS)
                action = "STATUS 100"
        self._events.append(ProtocolError(str(exc), action))

    def _unknown_cr(self, msg):
        """Q.931 5.8.3.2: messages for a call reference we do not know."""
        mt = msg.msg_type
        if mt == q931.SETUP and not msg.cr_flag:
            self._incoming_setup(msg)
            return
        if mt in (q931.RELEASE_COMPLETE,) or (mt == q931.SETUP and msg.cr_flag):
            return
        flag = not msg.cr_flag
        if mt == q931.STATUS_ENQUIRY:
            self._send_cr(msg.call_ref, flag, q931.STATUS, [ie.cause(causes.RESPONSE_TO_STATUS_ENQUIRY, self._location()),
                                                            ie.call_state(NULL)])
            return
        if mt == q931.STATUS:
            state = msg.fields("call_state")
            if state is None or state["value"] == NULL:
                return
        self._events.append(ProtocolError(f"{msg.name} for unknown call reference {msg.call_ref}", "RELEASE COMPLETE 81"))
        self._send_cr(msg.call_ref, flag, q931.RELEASE_COMPLETE, [ie.cause(causes.INVALID_CALL_REFERENCE, self._location())])

    def _incoming_setup(self, msg):
        def reject(cause, why):
            self._events.append(ProtocolError(why, f"RELEASE COMPLETE {cause}"))
            self._send_cr(msg.call_ref, True, q931.RELEASE_COMPLETE, [ie.cause(cause, self._location())])

        if msg.get("bearer_capability") is None:
            return reject(causes.MANDATORY_IE_MISSING, "SETUP without bearer capability")
        chan = msg.fields("channel_identification")
        want = chan["channel"] if chan else None
        exclusive = bool(chan and chan["exclusive"])
        if want is not None and want not in self.variant.channels:
            return reject(causes.CHANNEL_NOT_AVAILABLE if exclusive else causes.NO_CHANNEL, f"SETUP for channel {want}")
        channel = want
        holder = self.channel_calls.get(want) if want is not None else None
        if holder is not None or want in self.out_of_service:
            if (holder is not None and not self.network and holder.outgoing and holder.state == CALL_INITIATED
                    and exclusive):
                # glare: the network's choice wins; our SETUP waits for the channel CALL PROCEEDING gives it
                del self.channel_calls[want]
                holder.channel = None
            elif exclusive:
                return reject(causes.CHANNEL_NOT_AVAILABLE, f"channel {want} busy (glare)")
            else:
                channel = None
        if channel is None:
            channel = self._free_channel()
            if channel is None:
                return reject(causes.NO_CHANNEL, "no free channel")
        called = msg.fields("called_party_number")
        calling = msg.fields("calling_party_number")
        display = msg.fields("display")
        call = Call(msg.call_ref, False, CALL_PRESENT, channel, True, called["digits"] if called else "",
                    calling["digits"] if calling else "", display["text"] if display else "")
        self.calls[call.key] = call
        self.channel_calls[channel] = call
        self._events.append(IncomingCall(call, call.called, call.calling, call.calling_name, channel,
                                         msg.get("sending_complete") is not None,
                                         calling.get("presentation", 0) if calling else 0))
        self._facility(call, msg)

    def _facility(self, call, msg):
        for item in msg.ies:
            if item.name == "facility":
                self._events.append(FacilityReceived(call, item.body))

    def _channel_from(self, call, msg):
        chan = msg.fields("channel_identification")
        if chan is None or chan["channel"] is None:
            return True
        ch = chan["channel"]
        if ch == call.channel:
            return True
        holder = self.channel_calls.get(ch)
        if holder is not None and holder is not call:
            return False
        if call.channel is not None and self.channel_calls.get(call.channel) is call:
            del self.channel_calls[call.channel]
        call.channel = ch
        self.channel_calls[ch] = call
        return True

    def _outgoing_progress(self, call, msg, new_state, event):
        if not self._channel_from(call, msg):
            self._disconnect(call, causes.CHANNEL_NOT_AVAILABLE)
            return
        for t in ("T303", "T304", "T310"):
            call.timers.pop(t, None)
        call.state = new_state
        self._events.append(event)
        prog = msg.fields("progress_indicator")
        if prog is not None:
            self._events.append(Progress(call, prog["description"]))
        self._facility(call, msg)

    def _on_setup_ack(self, call, msg):
        self._outgoing_progress(call, msg, OVERLAP_SENDING, SetupAcknowledged(call))
        if call.state == OVERLAP_SENDING:
            self._start(call, "T304")

    def _on_call_proceeding(self, call, msg):
        self._outgoing_progress(call, msg, OUTGOING_PROCEEDING, Proceeding(call))
        if call.state == OUTGOING_PROCEEDING:
            self._start(call, "T310")

    def _on_alerting(self, call, msg):
        self._outgoing_progress(call, msg, CALL_DELIVERED, Alerting(call))
        if call.state == CALL_DELIVERED:
            self._start(call, "T301")

    def _on_connect(self, call, msg):
        call.timers.pop("T301", None)
        self._outgoing_progress(call, msg, ACTIVE, Answered(call))
        if call.state == ACTIVE:
            self._send(call, q931.CONNECT_ACKNOWLEDGE, [])

    def _on_connect_ack(self, call, msg):
        if call.state == CONNECT_REQUEST:
            call.timers.pop("T313", None)
            call.state = ACTIVE
            self._events.append(Answered(call))

    def _on_progress(self, call, msg):
        call.timers.pop("T310", None)
        prog = msg.fields("progress_indicator")
        self._events.append(Progress(call, prog["description"] if prog else 0))

    def _on_information(self, call, msg):
        called = msg.fields("called_party_number")
        keypad = msg.fields("keypad_facility")
        digits = (called["digits"] if called else "") + (keypad["digits"] if keypad else "")
        complete = msg.get("sending_complete") is not None
        if call.state == OVERLAP_RECEIVING:
            call.called += digits
            if complete:
                call.timers.pop("T302", None)
            else:
                self._start(call, "T302")
        if digits or complete:
            self._events.append(MoreDigits(call, digits, complete))

    def _on_disconnect(self, call, msg):
        cause = msg.fields("cause")
        value = cause["value"] if cause else causes.MANDATORY_IE_MISSING
        if call.state in (RELEASE_REQUEST,):
            return
        call.cause = value
        self._events.append(Disconnected(call, value))
        self._facility(call, msg)
        self._release(call, value if cause else causes.MANDATORY_IE_MISSING)

    def _on_release(self, call, msg):
        cause = msg.fields("cause")
        value = cause["value"] if cause else (call.cause or causes.NORMAL_CLEARING)
        if call.state != RELEASE_REQUEST:
            self._send(call, q931.RELEASE_COMPLETE, [] if cause else [ie.cause(causes.MANDATORY_IE_MISSING, self._location())])
        self._end(call, call.cause if call.state == RELEASE_REQUEST and call.cause else value)

    def _on_release_complete(self, call, msg):
        cause = msg.fields("cause")
        value = cause["value"] if cause else (call.cause or call.release_cause)
        self._end(call, call.cause if call.state == RELEASE_REQUEST and call.cause else value)

    def _on_status_enquiry(self, call, msg):
        self._send_status(call, causes.RESPONSE_TO_STATUS_ENQUIRY)

    def _on_status(self, call, msg):
        cause = msg.fields("cause")
        state = msg.fields("call_state")
        call.timers.pop("T322", None)
        value = cause["value"] if cause else 0
        remote = state["value"] if state else None
        self._events.append(StatusReceived(call, value, remote))
        if remote == NULL:
            self._end(call, value or causes.WRONG_STATE)  # 5.8.11: the far end has no call: clear ours locally
        elif remote is not None and call.state == RELEASE_REQUEST and remote != RELEASE_REQUEST:
            pass  # T308 keeps running; its retries settle the call

    def _on_notify(self, call, msg):
        n = msg.fields("notification_indicator")
        self._events.append(Notify(call, n["description"] if n else 0))

    def _on_facility(self, call, msg):
        self._facility(call, msg)

    # ----- global call reference and maintenance -----
    def _global(self, msg):
        if msg.msg_type == q931.RESTART:
            ind = msg.fields("restart_indicator")
            klass = ind["restart_class"] if ind else None
            chans = [i.view()["channel"] for i in msg.ies if i.name == "channel_identification"]
            channels = None if klass in (6, 7) or not chans else [c for c in chans if c is not None]
            for call in list(self.calls.values()):
                if channels is None or call.channel in channels:
                    self._end(call, causes.TEMPORARY_FAILURE)
            ies = [i for i in msg.ies if i.name in ("channel_identification", "restart_indicator")]
            self._send_cr(msg.call_ref, True, q931.RESTART_ACKNOWLEDGE, ies)
            self._events.append(RestartReceived(channels))
        elif msg.msg_type == q931.RESTART_ACKNOWLEDGE:
            if self.restart_pending is not None:
                channels = self.restart_pending[0]
                self.restart_pending = None
                self._events.append(RestartAcknowledged(channels))
        elif msg.msg_type == q931.STATUS:
            pass
        else:
            self._events.append(ProtocolError(f"{msg.name} on the global call reference", "STATUS 81"))
            self._send_cr(0, not msg.cr_flag, q931.STATUS, [ie.cause(causes.INVALID_CALL_REFERENCE, self._location()),
                                                          ie.call_state(0)])

    def _maintenance(self, msg):
        chan = msg.fields("channel_identification")
        status = msg.fields("change_status")
        if chan is None or status is None:
            self._events.append(ProtocolError(f"{msg.name} without channel or change status", "ignored"))
            return
        ch, st = chan["channel"], status["status"]
        if msg.name == "SERVICE":
            if st == 0:
                self.out_of_service.discard(ch)
            else:
                self.out_of_service.add(ch)
            ies = [i for i in msg.ies if i.name in ("change_status", "channel_identification")]
            self._send_cr(msg.call_ref, True, q931.SERVICE_TYPES[msg.pd][1], ies, pd=msg.pd)
            self._events.append(ServiceReceived(ch, st))
        elif msg.name == "SERVICE ACKNOWLEDGE":
            self.service_pending.pop(ch, None)
            self._events.append(ServiceAcknowledged(ch, st))


_HANDLERS = {
    q931.SETUP_ACKNOWLEDGE: Interface._on_setup_ack,
    q931.CALL_PROCEEDING: Interface._on_call_proceeding,
    q931.ALERTING: Interface._on_alerting,
    q931.CONNECT: Interface._on_connect,
    q931.CONNECT_ACKNOWLEDGE: Interface._on_connect_ack,
    q931.PROGRESS: Interface._on_progress,
    q931.INFORMATION: Interface._on_information,
    q931.DISCONNECT: Interface._on_disconnect,
    q931.RELEASE: Interface._on_release,
    q931.RELEASE_COMPLETE: Interface._on_release_complete,
    q931.STATUS_ENQUIRY: Interface._on_status_enquiry,
    q931.STATUS: Interface._on_status,
    q931.NOTIFY: Interface._on_notify,
    q931.FACILITY: Interface._on_facility,
}
