"""A minimal SIP user agent over the transaction layer, sans-IO: answers OPTIONS, INVITE/ACK/BYE as a UAS and
places a call (INVITE, ACK, BYE) as a UAC.

This is the least dialog handling a peer needs (RFC 3261 12, 13.3.1.4, 15): a dialog is its Call-ID and
tags, its remote target and CSeq numbers; the UAS core retransmits its 2xx to an INVITE (T1 doubling to
T2) until the ACK arrives and gives up after 64*T1; re-INVITEs are answered with a fresh SDP answer (so
hold and resume work); route sets, forking, PRACK, UPDATE and session timers are not handled yet.

Addresses are (host, port) tuples. Responses go back to the address the request came from (RFC 3581
symmetric response routing); requests go to the remote target's host and port (a literal address: no DNS
here). Every call takes ``now`` and returns ``Send`` outputs and call events in order; timers are
``next_deadline()`` / ``handle_timer(now)``.
"""
import secrets
from dataclasses import dataclass, field

from pycallcenter.errors import DecodeError, LocalProtocolError
from pycallcenter.sip import sdp as S
from pycallcenter.sip import transaction as T
from pycallcenter.sip.message import (Address, CSeq, Headers, Request, Via, bad_request_response, make_request,
                                      make_response, parse_uri)
from pycallcenter.sip.timers import SipTimers
from pycallcenter.timers import TimerService

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS"


@dataclass(frozen=True)
class Send:
    """Bytes to send to addr."""

    data: bytes
    addr: tuple


@dataclass(frozen=True)
class IncomingCall:
    """A new call was answered by our UAS (its dialog's Call-ID and the caller's offer)."""

    call_id: str
    offer: object


@dataclass(frozen=True)
class CallAnswered:
    """Our INVITE was answered with a 2xx (the callee's SDP answer)."""

    call_id: str
    answer: object


@dataclass(frozen=True)
class CallConfirmed:
    """The ACK for our 2xx arrived: the dialog is confirmed."""

    call_id: str


@dataclass(frozen=True)
class CallFailed:
    """Our INVITE failed (status of the final response; 408 on timeout), or our 2xx was never ACKed."""

    call_id: str
    status: int


@dataclass(frozen=True)
class CallCancelled:
    """The caller cancelled a call that was still ringing here (we answered its INVITE with 487)."""

    call_id: str


@dataclass(frozen=True)
class CallEnded:
    """A confirmed call ended; by is 'remote' (a BYE came) or 'local' (our BYE was answered)."""

    call_id: str
    by: str


@dataclass
class Dialog:
    """The minimum of RFC 3261 12 that a call needs."""

    call_id: str
    role: str  # "uas" or "uac"
    local_tag: str
    local_uri: str
    remote_uri: str
    remote_addr: tuple
    remote_tag: str = None
    remote_target: object = None
    local_cseq: int = 1
    state: str = "early"
    invite: Request = None
    ok: object = None  # our 2xx (UAS) being retransmitted, or the ACK we sent (UAC)
    offer: object = None
    answer: object = None
    attempts: int = 0
    extra: dict = field(default_factory=dict)


class UserAgent:
    """One SIP endpoint at local_addr: a UAS for OPTIONS and calls, and a UAC for calls we place."""

    def __init__(self, local_addr, *, user="pycallcenter", rtp_port=40000, settings=SipTimers(), rng=None,
                 codecs=S.OUR_CODECS, answer_after=0.0):
        """answer_after: seconds a new call rings (180 Ringing) before our 200; 0 answers at once."""
        self.local_addr = local_addr
        self.answer_after = answer_after
        self.user = user
        self.rtp_port = rtp_port
        self.settings = settings
        self.codecs = codecs
        self.layer = T.TransactionLayer(settings, rng=rng)
        self.timers = TimerService()  # the UAS core's 2xx retransmission, owner = Call-ID
        self.dialogs = {}
        self._rng = rng
        self._peer = {}  # transaction key -> address
        self._client_calls = {}  # client transaction key -> (call_id, request)
        self.stats = {"invites": 0, "acks": 0, "byes": 0, "options": 0, "malformed": 0}

    # ---------------------------------------------------------------------------------------------------
    # helpers

    def _token(self, nbytes=6):
        if self._rng is not None:
            return f"{self._rng.getrandbits(nbytes * 8):0{nbytes * 2}x}"
        return secrets.token_hex(nbytes)

    @property
    def _hostport(self):
        return f"{self.local_addr[0]}:{self.local_addr[1]}"

    def _via(self):
        return Via("UDP", self.local_addr[0], self.local_addr[1], (("branch", self.layer.new_branch()), ("rport", None)))

    def _contact(self):
        return f"<sip:{self.user}@{self._hostport}>"

    def _sends(self, outputs, default_addr=None):
        out = []
        for item in outputs:
            if isinstance(item, T.Transmit):
                addr = self._peer.get(item.key, default_addr)
                if addr is not None:
                    out.append(Send(item.data, addr))
            elif isinstance(item, T.TransactionTerminated):
                self._peer.pop(item.key, None)
                self._client_calls.pop(item.key, None)
            else:
                out.append(item)
        return out

    def _handle(self, outputs, now, source=None):
        """Run the transaction layer's events through the user agent; returns Send items and call events."""
        result = []
        for item in self._sends(outputs, source):
            if isinstance(item, T.RequestReceived):
                if item.key is not None and source is not None:
                    self._peer[item.key] = source
                result += self._on_request(item.request, item.key, now, source)
            elif isinstance(item, T.ResponseReceived):
                result += self._on_response(item.response, item.key, now)
            elif isinstance(item, T.TransactionTimeout):
                result += self._on_timeout(item.key)
            else:
                result.append(item)
        return result

    def _respond(self, request, key, status, now, **kw):
        response = make_response(request, status, **kw)
        return self._handle(self.layer.send_response(response, now, key), now)

    # ---------------------------------------------------------------------------------------------------
    # the IO-facing face

    def receive(self, data, addr, now):
        """Take one datagram from addr; returns Send items and call events (a request that does not parse is
        answered 400 with a Warning naming the header and offset, statelessly)."""
        outputs = self.layer.receive(data, now)
        if len(outputs) == 1 and isinstance(outputs[0], T.StrayMessage) and outputs[0].error is not None:
            self.stats["malformed"] += 1
            reply = bad_request_response(data, outputs[0].error)
            return [Send(reply.encode(), addr)] if reply is not None else []
        return self._handle(outputs, now, addr)

    def next_deadline(self):
        """Return the earliest deadline of the transactions and the UAS core, or None."""
        deadlines = [d for d in (self.layer.next_deadline(), self.timers.next_deadline()) if d is not None]
        return min(deadlines) if deadlines else None

    def handle_timer(self, now):
        """Fire what is due at now; returns Send items and call events."""
        out = self._handle(self.layer.handle_timer(now), now)
        for call_id, name in self.timers.expired(now):
            dialog = self.dialogs.get(call_id)
            if dialog is None:
                continue
            if name == "answer":
                out += self._send_ok(dialog, dialog.extra.pop("ringing"), now)
            elif name == "2xx":
                dialog.attempts += 1
                out += self._handle(self.layer.send_response(dialog.ok, now), now, dialog.remote_addr)
                interval = min(self.settings.T1 * 2 ** dialog.attempts, self.settings.T2)
                self.timers.start(call_id, "2xx", now + interval)
            elif name == "2xx-give-up":  # RFC 3261 13.3.1.4: no ACK within 64*T1, the session ends
                self.timers.cancel_owner(call_id)
                self.dialogs.pop(call_id, None)
                out.append(CallFailed(call_id, 408))
        return out

    # ---------------------------------------------------------------------------------------------------
    # UAS

    def _on_request(self, request, key, now, source):
        method = request.method
        if key is None:  # an ACK to a 2xx
            return self._on_ack(request)
        if method == "OPTIONS":
            self.stats["options"] += 1
            return self._respond(request, key, 200, now, to_tag=self._token(),
                                 headers=[("Allow", ALLOW), ("Accept", "application/sdp")])
        if method == "INVITE":
            self.stats["invites"] += 1
            return self._on_invite(request, key, now, source)
        if method == "BYE":
            self.stats["byes"] += 1
            dialog = self._dialog_of(request)
            if dialog is None:
                return self._respond(request, key, 481, now)
            self.timers.cancel_owner(dialog.call_id)
            del self.dialogs[dialog.call_id]
            return self._respond(request, key, 200, now) + [CallEnded(dialog.call_id, "remote")]
        if method == "CANCEL":
            return self._on_cancel(request, key, now)
        return self._respond(request, key, 501, now, headers=[("Allow", ALLOW)])

    def _dialog_of(self, request, cancel=False):
        dialog = self.dialogs.get(request.call_id)
        if dialog is None:
            return None
        local, remote = (request.to.tag, request.from_.tag)
        if dialog.role == "uac":
            ok = remote == dialog.remote_tag and local == dialog.local_tag
        else:
            ok = remote == dialog.remote_tag and (cancel or local == dialog.local_tag)
        return dialog if ok else None

    def _on_invite(self, request, key, now, source):
        to_tag = request.to.tag
        dialog = None
        if to_tag is not None:
            dialog = self._dialog_of(request)
            if dialog is None:
                return self._respond(request, key, 481, now)
        offer = None
        if request.body:
            if request.content_type != "application/sdp":
                return self._respond(request, key, 415, now, headers=[("Accept", "application/sdp")])
            try:
                offer = S.parse_sdp(request.body)
            except DecodeError:
                return self._respond(request, key, 400, now, reason="Bad SDP")
        if dialog is None:
            dialog = Dialog(call_id=request.call_id, role="uas", local_tag=self._token(),
                            local_uri=request.headers.get("To"), remote_uri=request.headers.get("From"),
                            remote_addr=source, remote_tag=request.from_.tag)
            self.dialogs[dialog.call_id] = dialog
            new = True
        else:
            new = False
        contacts = request.contact
        dialog.remote_target = contacts[0].uri if contacts and contacts != ["*"] else request.from_.uri
        dialog.invite = request
        dialog.offer = offer
        host = self.local_addr[0]
        if offer is not None:
            body = S.answer(offer, host, self.rtp_port, self.codecs, session_id=dialog.extra.setdefault("sid", 1),
                            version=dialog.extra.get("version", 0) + 1)
            if not any(m.port for m in body.media):
                if new:
                    del self.dialogs[dialog.call_id]
                return self._respond(request, key, 488, now, to_tag=dialog.local_tag)
        else:  # no offer: ours goes in the 2xx and the answer will come in the ACK (RFC 3264 4)
            body = S.make_offer(host, self.rtp_port, self.codecs, version=dialog.extra.get("version", 0) + 1)
        dialog.extra["version"] = body.session_version
        dialog.answer = body
        ok = make_response(request, 200, to_tag=dialog.local_tag, headers=[("Contact", self._contact()),
                           ("Allow", ALLOW)], body=body.encode(), content_type="application/sdp")
        dialog.ok = ok
        dialog.attempts = 0
        out = [IncomingCall(dialog.call_id, offer)] if new else []
        if new and self.answer_after > 0:
            dialog.extra["ringing"] = key
            self.timers.start(dialog.call_id, "answer", now + self.answer_after)
            ringing = make_response(request, 180, to_tag=dialog.local_tag, headers=[("Contact", self._contact())])
            return out + self._handle(self.layer.send_response(ringing, now, key), now)
        return out + self._send_ok(dialog, key, now)

    def _send_ok(self, dialog, key, now):
        """Send our 2xx to an INVITE and start its retransmission until the ACK (RFC 3261 13.3.1.4)."""
        out = self._handle(self.layer.send_response(dialog.ok, now, key), now)
        self.timers.start(dialog.call_id, "2xx", now + self.settings.T1)
        self.timers.start(dialog.call_id, "2xx-give-up", now + 64 * self.settings.T1)
        return out

    def _on_cancel(self, request, key, now):
        """Answer a CANCEL (RFC 3261 9.2): 200 to it, and 487 to its INVITE if that is still ringing."""
        dialog = self._dialog_of(request, cancel=True)
        if dialog is None:
            return self._respond(request, key, 481, now)
        out = self._respond(request, key, 200, now)
        invite_key = dialog.extra.pop("ringing", None)
        if invite_key is not None:
            self.timers.cancel_owner(dialog.call_id)
            del self.dialogs[dialog.call_id]
            out.append(CallCancelled(dialog.call_id))
            out += self._respond(dialog.invite, invite_key, 487, now, to_tag=dialog.local_tag)
        return out

    def _on_ack(self, request):
        dialog = self._dialog_of(request)
        if dialog is None or dialog.role != "uas":
            return []
        self.stats["acks"] += 1
        self.timers.cancel_owner(dialog.call_id)
        if dialog.state == "confirmed":
            return []
        dialog.state = "confirmed"
        return [CallConfirmed(dialog.call_id)]

    # ---------------------------------------------------------------------------------------------------
    # UAC

    def invite(self, target, now, addr=None):
        """Place a call to target (a SIP URI text); returns (Call-ID, outputs). addr defaults to the URI's
        host and port."""
        uri = parse_uri(target) if isinstance(target, str) else target
        addr = addr or (uri.host, uri.port or 5060)
        call_id = f"{self._token(8)}@{self.local_addr[0]}"
        tag = self._token()
        local = f"<sip:{self.user}@{self._hostport}>;tag={tag}"
        offer = S.make_offer(self.local_addr[0], self.rtp_port, self.codecs)
        request = make_request("INVITE", uri, via=self._via(), from_=local, to=f"<{uri}>", call_id=call_id,
                               cseq=1, contact=self._contact(), headers=[("Allow", ALLOW)], body=offer.encode(),
                               content_type="application/sdp")
        dialog = Dialog(call_id=call_id, role="uac", local_tag=tag, local_uri=local, remote_uri=f"<{uri}>",
                        remote_addr=addr, remote_target=uri, invite=request, offer=offer)
        self.dialogs[call_id] = dialog
        return call_id, self._start_client(request, call_id, addr, now)

    def hang_up(self, call_id, now):
        """End a call we are in: BYE once confirmed, CANCEL while our INVITE is pending; returns outputs."""
        dialog = self.dialogs.get(call_id)
        if dialog is not None and dialog.role == "uac" and dialog.state != "confirmed":
            return self.cancel(call_id, now)
        return self.bye(call_id, now)

    def cancel(self, call_id, now):
        """Cancel our pending INVITE (RFC 3261 9.1); sent once a provisional response has arrived. The INVITE
        then ends with 487 (CallFailed) or, if the callee answered first, the call must be ended with BYE."""
        dialog = self.dialogs.get(call_id)
        if dialog is None or dialog.role != "uac" or dialog.state == "confirmed":
            raise LocalProtocolError(f"no pending call {call_id} placed by us")
        if not dialog.extra.get("provisional"):
            dialog.extra["cancel"] = True  # 9.1: wait for a provisional response before sending CANCEL
            return []
        if dialog.extra.get("cancel") == "sent":
            return []
        dialog.extra["cancel"] = "sent"
        invite = dialog.invite
        h = Headers()
        h.add("Via", invite.headers.get("Via"))
        for value in invite.headers.get_all("Route"):
            h.add("Route", value)
        h.add("Max-Forwards", 70)
        for name in ("From", "To", "Call-ID"):
            h.add(name, invite.headers.get(name))
        h.add("CSeq", CSeq(invite.cseq.number, "CANCEL"))
        h.add("Content-Length", 0)
        return self._start_client(Request(headers=h, method="CANCEL", uri=invite.uri), call_id,
                                  dialog.remote_addr, now)

    def bye(self, call_id, now):
        """End a confirmed call we are in; returns outputs (CallEnded follows the BYE's response)."""
        dialog = self.dialogs.get(call_id)
        if dialog is None or dialog.state != "confirmed":
            raise LocalProtocolError(f"no confirmed call {call_id}")
        dialog.local_cseq += 1
        request = self._in_dialog("BYE", dialog, CSeq(dialog.local_cseq, "BYE"))
        return self._start_client(request, call_id, dialog.remote_addr, now)

    def _in_dialog(self, method, dialog, cseq):
        h = Headers()
        h.add("Via", self._via())
        h.add("Max-Forwards", 70)
        if dialog.role == "uac":
            h.add("From", dialog.local_uri)
            h.add("To", f"{dialog.remote_uri};tag={dialog.remote_tag}")
        else:
            h.add("From", str(Address(parse_uri(_uri_text(dialog.local_uri))).with_tag(dialog.local_tag)))
            h.add("To", dialog.remote_uri)
        h.add("Call-ID", dialog.call_id)
        h.add("CSeq", cseq)
        h.add("Content-Length", 0)
        return Request(headers=h, method=method, uri=dialog.remote_target)

    def _start_client(self, request, call_id, addr, now):
        key, outputs = self.layer.send_request(request, now)
        self._peer[key] = addr
        self._client_calls[key] = (call_id, request)
        return self._handle(outputs, now)

    def _on_response(self, response, key, now):
        call_id, request = self._client_calls.get(key, (None, None))
        dialog = self.dialogs.get(call_id)
        if dialog is None:
            return []
        status = response.status
        if request.method == "INVITE":
            if status < 200:
                dialog.extra["provisional"] = True
                if dialog.extra.get("cancel") is True:  # a CANCEL was waiting for this (RFC 3261 9.1)
                    return self.cancel(call_id, now)
                return []
            if status >= 300:
                if dialog.state == "confirmed":
                    return []  # a refused re-INVITE leaves the call as it was (RFC 3261 14.1)
                del self.dialogs[call_id]
                return [CallFailed(call_id, status)]
            return self._on_invite_ok(dialog, request, response, now)
        if request.method == "BYE" and status >= 200:
            del self.dialogs[call_id]
            return [CallEnded(call_id, "local")]
        return []

    def _on_invite_ok(self, dialog, invite, response, now):
        """ACK a 2xx to an INVITE or re-INVITE (the same ACK again for a retransmitted 2xx)."""
        acks = dialog.extra.setdefault("acks", {})
        number = invite.cseq.number
        first = number not in acks
        if first:
            if dialog.state != "confirmed":
                dialog.remote_tag = response.to.tag
                dialog.state = "confirmed"
            contacts = response.contact
            if contacts and contacts != ["*"]:
                dialog.remote_target = contacts[0].uri
            acks[number] = self._in_dialog("ACK", dialog, CSeq(number, "ACK"))
            try:
                dialog.answer = S.parse_sdp(response.body) if response.body else None
            except DecodeError:
                dialog.answer = None
        _, outputs = self.layer.send_request(acks[number], now)  # an ACK has no transaction: sent as is
        out = [CallAnswered(dialog.call_id, dialog.answer)] if first and number == 1 else []
        return out + self._handle(outputs, now, dialog.remote_addr)

    def hold(self, call_id, now):
        """Put a confirmed call we placed on hold with a re-INVITE (RFC 3264 8.4); returns outputs."""
        return self._reinvite(call_id, S.hold, now)

    def resume(self, call_id, now):
        """Take a held call off hold with a re-INVITE; returns outputs."""
        return self._reinvite(call_id, S.resume, now)

    def _reinvite(self, call_id, change, now):
        dialog = self.dialogs.get(call_id)
        if dialog is None or dialog.state != "confirmed" or dialog.role != "uac":
            raise LocalProtocolError(f"no confirmed call {call_id} placed by us")
        dialog.offer = change(dialog.offer)
        dialog.local_cseq += 1
        request = self._in_dialog("INVITE", dialog, CSeq(dialog.local_cseq, "INVITE"))
        request.headers.set("Contact", self._contact())
        request.headers.set("Content-Type", "application/sdp")
        request.body = dialog.offer.encode()
        return self._start_client(request, call_id, dialog.remote_addr, now)

    def _on_timeout(self, key):
        call_id, request = self._client_calls.get(key, (None, None))
        if call_id is None or call_id not in self.dialogs:
            return []
        del self.dialogs[call_id]
        return [CallFailed(call_id, 408)] if request.method == "INVITE" else [CallEnded(call_id, "local")]


def _uri_text(name_addr):
    """Return the URI inside a From/To value without parameters (the tag is set again by the caller)."""
    text = str(name_addr)
    if "<" in text:
        return text[text.index("<") + 1:text.index(">")]
    return text.split(";")[0].strip()
