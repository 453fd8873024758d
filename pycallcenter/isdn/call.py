"""Q.931 call control over a Q.921 link, sans-IO, user (CPE) or network side of one PRI D-channel.

Every public method takes ``now`` and returns the events it caused; frames to send come from pop_frames(),
timers from next_deadline()/handle_timer(now). Call states use Q.931's numbers (U/N states share them).
Remote mistakes never raise: they are answered as Q.931 5.8 prescribes (STATUS, RELEASE COMPLETE) and
reported as ProtocolNotice events; misuse by our caller raises LocalProtocolError.

The protocol in tables: _TRANSITIONS (at the end of the module) maps (call state, message type) to the
handler (a pair not in it is answered with STATUS 101, or 97 for an unknown type), _MANDATORY names each
message's mandatory IEs (missing: STATUS 96, Q.931 5.8.6.1), and isdn/timers.py holds every Q.931 timer: its
duration and what its expiry does (Q931_TIMER_ACTIONS). The states and the Call record are isdn/callstate.py,
the events isdn/events.py; both are re-exported here.
"""
from pycallcenter.errors import DecodeError, LocalProtocolError
from pycallcenter.isdn import causes, ie, lapd, maintenance, q931
from pycallcenter.isdn.callstate import (  # noqa: F401  (the states and Call are part of this module's API)
    ACTIVE, CALL_DELIVERED, CALL_INITIATED, CALL_PRESENT, CALL_RECEIVED, CALL_STATES, CONNECT_REQUEST,
    DISCONNECT_INDICATION, DISCONNECT_REQUEST, INCOMING_PROCEEDING, NULL, OUTGOING_PROCEEDING, OVERLAP_RECEIVING,
    OVERLAP_SENDING, RELEASE_REQUEST, Call, Q931Call)
from pycallcenter.isdn.events import (  # noqa: F401  (the events are part of this module's API)
    Alerting, Answered, CallEnded, DChannelDown, DChannelUp, DialComplete, Disconnected, FacilityReceived,
    IncomingCall, MoreDigits, Notify, Proceeding, Progress, ProtocolError, ProtocolNotice, RestartAcknowledged,
    RestartReceived, ServiceAcknowledged, ServiceReceived, SetupAcknowledged, StatusReceived)
from pycallcenter.isdn.timers import Q931_TIMER_ACTIONS as _TIMER_ACTIONS
from pycallcenter.isdn.timers import Q931Timers
from pycallcenter.isdn.variants import get_variant
from pycallcenter.timers import TimerService

_KNOWN = set(q931.MESSAGE_NAMES)
_CLEARING = (q931.RELEASE, q931.RELEASE_COMPLETE, q931.DISCONNECT)
_encode = q931.encode_call_message
_decode = q931.decode
_PD_Q931 = q931.PD_Q931


class Interface:
    """One PRI D-channel: a Q.921 link plus Q.931 call control for the user (network=False) or network side."""

    def __init__(self, network=False, variant="euroisdn_e1", timers=None, tracer=None, link=None):
        self.network = network
        self.variant = get_variant(variant)
        self.link = link if link is not None else lapd.Link(network)
        self.link.on_data = lambda info, now: self._message(info, now)  # looked up late: tests replace _message
        self.timers = Q931Timers.side(network, timers)  # Q931Timers, or a {name: seconds} dict of overrides
        self.deadlines = TimerService()  # call timers owned by their Call; relink and T316 by None
        self.tracer = tracer
        self.calls = {}
        self.channel_calls = {}  # channel -> Call holding it
        self.out_of_service = set()
        self.restart_pending = None  # (channels, tries) while our RESTART waits under T316
        self.restart_blocked = set()  # channels our RESTART took out of service until it is acknowledged
        self.service_pending = {}
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
        link = self.link.next_deadline()
        own = self.deadlines.next_deadline()
        if link is None:
            return own
        return link if own is None or link < own else own

    def handle_timer(self, now):
        """Run every expired timer (the link's first, then ours in deadline order); returns events."""
        self._now = now
        for ev in self.link.handle_timer(now):
            self._link_event(ev, now)
        for owner, name in self.deadlines.expired(now):
            _TIMER_ACTIONS[name](self, owner, now)  # owner: the Call, or None for relink and T316
        return self._flush()

    def running(self, call):
        """Return the names of call's running timers, earliest first."""
        return self.deadlines.names(call)

    # ----- call commands -----
    def setup(self, now, called, calling="", channel=None, exclusive=True, calling_name="", overlap=False,
              presentation=0):
        """Place a call (SETUP); returns the Q931Call. overlap=True leaves sending complete out (digits follow)."""
        self._now = now
        self._need_link()
        if channel is None:
            channel = self._free_channel()
            if channel is None:
                raise LocalProtocolError("no free B-channel")
            exclusive = self.network  # the user side offers a preferred channel the network may change
        elif channel in self.channel_calls:
            raise LocalProtocolError(f"B-channel {channel} is busy")
        call = Q931Call(self._alloc_cr(), True, CALL_INITIATED, channel, exclusive, called, calling, calling_name)
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
        self.deadlines.cancel(call, "T302")
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
        self.deadlines.cancel(call, "T302")
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
        self.deadlines.cancel(call, "T302")
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
        self.deadlines.cancel_owner(call)
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
        maintenance.restart(self, now, channels)
        return self._flush()

    def service(self, now, channel, status):
        """NI-2 B-channel maintenance: send SERVICE (0 in service, 1 maintenance, 2 out of service)."""
        maintenance.service(self, now, channel, status)
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
        self.deadlines.start(call, name, self._now + getattr(self.timers, name))

    def _send(self, call, msg_type, ies):
        self.link.send(_encode(msg_type, call.cr, not call.outgoing, ies), self._now)

    def _send_cr(self, cr, flag, msg_type, ies, pd=q931.PD_Q931):
        self.link.send(q931.Message(msg_type, cr, flag, ies, pd=pd).encode(), self._now)

    def _send_status(self, call, cause):
        self.counters["status_sent"] += 1
        self._send(call, q931.STATUS, [ie.cause(cause, self._location()), ie.call_state(call.state)])

    def _end(self, call, cause):
        self.deadlines.cancel_owner(call)
        call.state = NULL
        call.cause = cause
        self.calls.pop(call.key, None)
        if call.channel is not None and self.channel_calls.get(call.channel) is call:
            del self.channel_calls[call.channel]
        self._events.append(CallEnded(call, cause))

    def _release(self, call, cause):
        self.deadlines.cancel_owner(call)
        call.release_cause = cause
        self._send(call, q931.RELEASE, [ie.cause(cause, self._location())])
        call.state = RELEASE_REQUEST
        self._start(call, "T308")

    def _disconnect(self, call, cause):
        self.deadlines.cancel_owner(call)
        call.release_cause = cause
        self._send(call, q931.DISCONNECT, [ie.cause(cause, self._location())])
        call.state = DISCONNECT_REQUEST
        self._start(call, "T305")

    # ----- internals: link events -----
    def _link_event(self, ev, now):
        if isinstance(ev, lapd.Data):
            self._message(ev.info, now)
        elif isinstance(ev, lapd.LinkUp):
            self.deadlines.cancel(None, "relink")
            self._events.append(DChannelUp(ev.reestablished))
            for call in list(self.calls.values()):
                if self.deadlines.cancel(call, "T309"):
                    self._send_status(call, causes.NORMAL_UNSPECIFIED)
                elif ev.reestablished and call.state != NULL:
                    self._send_status(call, causes.NORMAL_UNSPECIFIED)
        elif isinstance(ev, lapd.LinkDown):
            self._events.append(DChannelDown(ev.reason))
            for call in list(self.calls.values()):
                if call.state == ACTIVE:
                    self.deadlines.cancel_owner(call)
                    self._start(call, "T309")
                else:
                    self._end(call, causes.TEMPORARY_FAILURE)
            if not self.alarmed:
                self.deadlines.start(None, "relink", now + self.timers.relink)
        elif isinstance(ev, lapd.LinkError):
            if ev.code in ("L", "S"):
                self.counters["bad_messages"] += 1

    # ----- internals: the link's own timer (the Q.931 timers' expiries are in isdn/timers.py) -----
    def _relink(self, call, now):  # the D-channel went down by itself: bring it back
        if not self.alarmed and self.link.state == lapd.TEI_ASSIGNED:
            self.link.establish(now)

    # ----- internals: received messages -----
    def _message(self, data, now):
        try:
            msg = _decode(data)
        except DecodeError as exc:
            self.counters["bad_messages"] += 1
            self._bad_message(data, exc)
            return
        if msg.pd != _PD_Q931:
            maintenance.on_maintenance(self, msg)
            return
        if not msg.call_ref or not msg.cr_len:
            maintenance.on_global(self, msg)
            return
        call = self.calls.get((msg.call_ref, msg.cr_flag))
        if call is None:
            self._unknown_cr(msg)
            return
        mt = msg.msg_type
        handler = _DISPATCH[call.state].get(mt)
        if handler is None:
            if mt not in _KNOWN:
                self._protocol_notice(call, f"unknown message type 0x{mt:02x}", causes.MESSAGE_TYPE_NONEXISTENT)
            else:
                self._protocol_notice(call, f"{msg.name} in call state {call.state}", causes.WRONG_STATE)
            return
        need = _STATUS_96.get(mt)
        if need is not None:
            for name in need:
                if msg.get(name) is None:
                    self._protocol_notice(call, f"{msg.name} without mandatory {name}", causes.MANDATORY_IE_MISSING)
                    return
        handler(self, call, msg)
        if msg.unknown and call.key in self.calls and msg.msg_type not in _CLEARING:
            unknown = [i for i in msg.ies if i.fields is None and i.body is not None and i.codeset == 0]
            if unknown:
                self._protocol_notice(call, f"unrecognised IE {unknown[0].name}", causes.IE_NONEXISTENT)

    def _protocol_notice(self, call, detail, cause):
        """Report what the far end got wrong on call and answer it with STATUS cause (Q.931 5.8)."""
        self._events.append(ProtocolNotice(detail, f"STATUS {cause}"))
        self._send_status(call, cause)

    def _bad_message(self, data, exc):
        """An undecodable message: answer with STATUS 100 when it names one of our calls, else drop it (5.8.1-3)."""
        action = "ignored"
        if len(data) >= 5 and data[0] == q931.PD_Q931 and data[1] == 2:
            cr = ((data[2] & 0x7F) << 8) | data[3]
            call = self.calls.get((cr, bool(data[2] & 0x80)))
            if call is not None:
                self._send_status(call, causes.INVALID_IE_CONTENTS)
                action = "STATUS 100"
        self._events.append(ProtocolNotice(str(exc), action))

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
        self._events.append(ProtocolNotice(f"{msg.name} for unknown call reference {msg.call_ref}", "RELEASE COMPLETE 81"))
        self._send_cr(msg.call_ref, flag, q931.RELEASE_COMPLETE, [ie.cause(causes.INVALID_CALL_REFERENCE, self._location())])

    def _incoming_setup(self, msg):
        def reject(cause, why):
            self._events.append(ProtocolNotice(why, f"RELEASE COMPLETE {cause}"))
            self._send_cr(msg.call_ref, True, q931.RELEASE_COMPLETE, [ie.cause(cause, self._location())])

        for name in _MANDATORY[q931.SETUP]:  # Q.931 5.8.6.1: a SETUP short of one is refused outright
            if msg.get(name) is None:
                return reject(causes.MANDATORY_IE_MISSING, f"SETUP without {name.replace('_', ' ')}")
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
        call = Q931Call(msg.call_ref, False, CALL_PRESENT, channel, True, called["digits"] if called else "",
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
        self.deadlines.cancel_names(call, ("T303", "T304", "T310"))
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
        self.deadlines.cancel(call, "T301")
        self._outgoing_progress(call, msg, ACTIVE, Answered(call))
        if call.state == ACTIVE:
            self._send(call, q931.CONNECT_ACKNOWLEDGE, [])

    def _on_connect_ack(self, call, msg):
        if call.state == CONNECT_REQUEST:
            self.deadlines.cancel(call, "T313")
            call.state = ACTIVE
            self._events.append(Answered(call))

    def _on_progress(self, call, msg):
        self.deadlines.cancel(call, "T310")
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
                self.deadlines.cancel(call, "T302")
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
        self.deadlines.cancel(call, "T322")
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


# (call state, message type) -> handler: every transition of a call (Q.931 5.1-5.4 and 5.8); a received message
# whose pair is missing is answered with STATUS 101 (97 for an unknown type) in _message
_TRANSITIONS = {
    # outgoing call: the far end's answers to our SETUP, in the states Q.931 allows them
    (CALL_INITIATED, q931.SETUP_ACKNOWLEDGE): Interface._on_setup_ack,
    (CALL_INITIATED, q931.CALL_PROCEEDING): Interface._on_call_proceeding,
    (CALL_INITIATED, q931.ALERTING): Interface._on_alerting,
    (CALL_INITIATED, q931.CONNECT): Interface._on_connect,
    (OVERLAP_SENDING, q931.CALL_PROCEEDING): Interface._on_call_proceeding,
    (OVERLAP_SENDING, q931.ALERTING): Interface._on_alerting,
    (OVERLAP_SENDING, q931.CONNECT): Interface._on_connect,
    (OUTGOING_PROCEEDING, q931.ALERTING): Interface._on_alerting,
    (OUTGOING_PROCEEDING, q931.CONNECT): Interface._on_connect,
    (CALL_DELIVERED, q931.CONNECT): Interface._on_connect,
    # incoming call: our CONNECT acknowledged (the network side is already active)
    (CONNECT_REQUEST, q931.CONNECT_ACKNOWLEDGE): Interface._on_connect_ack,
    (ACTIVE, q931.CONNECT_ACKNOWLEDGE): Interface._on_connect_ack,
}
# messages every call state takes: clearing, status, and information during the call
_IN_EVERY_STATE = {
    q931.DISCONNECT: Interface._on_disconnect,
    q931.RELEASE: Interface._on_release,
    q931.RELEASE_COMPLETE: Interface._on_release_complete,
    q931.STATUS: Interface._on_status,
    q931.STATUS_ENQUIRY: Interface._on_status_enquiry,
    q931.NOTIFY: Interface._on_notify,
    q931.FACILITY: Interface._on_facility,
    q931.INFORMATION: Interface._on_information,
    q931.PROGRESS: Interface._on_progress,
}
_TRANSITIONS.update({(state, mt): handler for state in CALL_STATES for mt, handler in _IN_EVERY_STATE.items()})
_DISPATCH = {state: {mt: handler for (s, mt), handler in _TRANSITIONS.items() if s == state} for state in CALL_STATES}

# message type -> its mandatory IEs as received (Q.931 clause 3; FACILITY from Q.932). A message without one is
# answered with STATUS 96 and otherwise ignored (5.8.6.1), except SETUP (refused with RELEASE COMPLETE 96) and the
# clearing messages, which still clear the call and carry cause 96 in their answer (their handlers do that).
# Conditional IEs (a channel in the first answer to SETUP, a cause in a first RELEASE) are their handlers' business.
_MANDATORY = {
    q931.SETUP: ("bearer_capability",),
    q931.DISCONNECT: ("cause",),
    q931.STATUS: ("cause", "call_state"),
    q931.NOTIFY: ("notification_indicator",),
    q931.PROGRESS: ("progress_indicator",),
    q931.FACILITY: ("facility",),
}
# what _message checks itself (SETUP is checked where the call is made; clearing messages by their handlers)
_STATUS_96 = {mt: names for mt, names in _MANDATORY.items() if mt != q931.SETUP and mt not in _CLEARING}
