"""The SIP user agent over the transaction layer, sans-IO: calls both ways with dialogs (RFC 3261 12-15),
digest both ways, early media and PRACK (RFC 3262), UPDATE (RFC 3311), REFER and Replaces (RFC 3515,
3891), session timers (RFC 4028), OPTIONS keepalive, and REGISTER as client and registrar.

Addresses are (host, port) tuples. Responses go back to the address the request came from (RFC 3581
symmetric response routing); requests go to the dialog's next hop (first route, else remote target: a
literal address, no DNS here). Every call takes ``now`` and returns ``Send`` outputs and events (see
``pycallcenter.sip.events``) in order; timers are ``next_deadline()`` / ``handle_timer(now)``.

A new call is answered at once (``answer_after=0``), after ringing (``answer_after`` seconds), or by our
user (``answer_after=None``: ``ring``, ``progress``, ``answer``, ``reject``). The core never acts on a
transfer: REFER and Replaces become events.
"""
import random
import secrets

from pycallcenter.errors import DecodeError, LocalProtocolError
from pycallcenter.sip import auth as A
from pycallcenter.sip import registration as R
from pycallcenter.sip import sdp as S
from pycallcenter.sip import session_timer as ST
from pycallcenter.sip import transaction as T
from pycallcenter.sip.capabilities import ALLOW, SUPPORTED  # noqa: F401 (ALLOW is part of this module's face)
from pycallcenter.sip.dialog import CONFIRMED, Dialog, DialogTable, next_hop
from pycallcenter.sip.events import (AuthFailed, CallAnswered, CallCancelled, CallConfirmed, CallEnded,  # noqa: F401
                                     CallFailed, CallProgress, IncomingCall, InfoReceived, PeerDown, PeerUp,
                                     PhoneRegistered, Registered, RegistrationFailed, Send, SessionUpdated,
                                     TransferFailed, TransferProgress, TransferRequested)
from pycallcenter.sip.message import (CSeq, Headers, Request, Via, bad_request_response, make_request, make_response,
                                      parse_address, parse_message, parse_uri)
from pycallcenter.sip.limits import FailureLimiter
from pycallcenter.sip.registrar import Registrar
from pycallcenter.sip.reliable import ReliableMixin
from pycallcenter.sip.session import SessionMixin
from pycallcenter.sip.transfer import TransferMixin
from pycallcenter.sip.timers import SipTimers
from pycallcenter.timers import TimerService

# methods RFC 3261 and its extensions define that we do not take inside a dialog: 405, not 501 (8.2.1)
_KNOWN = frozenset({"SUBSCRIBE", "MESSAGE", "PUBLISH"})


class UserAgent(ReliableMixin, SessionMixin, TransferMixin, R.RegistrationMixin):
    """One SIP endpoint at local_addr: a UAS and a UAC for calls, a registrar and a registration client."""

    def __init__(self, local_addr, *, user="pycallcenter", rtp_port=40000, settings=SipTimers(), rng=None,
                 codecs=S.OUR_CODECS, answer_after=0.0, transport="UDP", credentials=None, realm="pycallcenter",
                 auth_secret=None, auth=None, registrar=None, session_expires=None, min_se=ST.MIN_SE,
                 limiter=None, media_host=None, auth_algorithms=None, ports=None, trusted=None, rate=None,
                 proxy_auth=False, srtp="off"):
        """answer_after: seconds a new call rings (180) before our 200; 0 answers at once; None leaves the answer
        to our user. credentials(user) -> password or None: when given, new INVITEs and REGISTERs are
        challenged (realm, auth_secret for the stateless nonces). auth: (user, password) answering challenges
        to our requests; auth_algorithms: the digest algorithms we challenge with (default SHA-256 and MD5).
        session_expires: the RFC 4028 interval we ask for (None: only when the peer asks). ports: the port of
        each further transport we listen on ({"TCP": 5060, "TLS": 5061}); transport is the default one.
        trusted(source address) -> True lets INVITEs from there in without a challenge (a carrier's trunk);
        REGISTERs are always challenged. rate: a limits.RateLimiter for new requests per source (None: no
        limit). proxy_auth: challenge INVITEs with 407 and Proxy-Authenticate, as a proxy or B2BUA in front
        of others does (REGISTERs keep 401, RFC 3261 22.3). srtp: which offers we take ("off": plain RTP only,
        "offer": SRTP when keyed, "require": SRTP only, plain refused with 488); our key for a call is its
        dialog's extra["crypto"], set by our user before the answer."""
        self.local_addr = local_addr
        self.answer_after = answer_after
        self.user = user
        self.rtp_port = rtp_port
        self.media_host = media_host or local_addr[0]
        self.settings = settings
        self.codecs = codecs
        self.transport = transport.upper()
        self.ports = {self.transport: local_addr[1], **{t.upper(): p for t, p in (ports or {}).items()}}
        self._wire = {}  # transaction key -> the transport its messages travel on
        self.layer = T.TransactionLayer(settings, reliable=self.transport != "UDP", rng=rng)
        self.timers = TimerService()  # the UA core's own timers: owner = Call-ID, ("reg", aor) or ("ka", addr)
        self.dialogs = DialogTable()
        self.auth = auth
        self.digest = None
        if credentials is not None:
            self.digest = A.DigestServer(realm, auth_secret or secrets.token_bytes(32), credentials,
                                         algorithms=auth_algorithms)
        self.limiter = FailureLimiter() if limiter is None else limiter
        self.trusted = trusted
        self.rate = rate
        self.proxy_auth = proxy_auth
        self.srtp = srtp
        self.registrar = Registrar() if registrar is None else registrar
        self.session_expires = session_expires
        self.min_se = min_se
        self._rng = rng
        self._peer = {}  # transaction key -> address
        self._client_calls = {}  # client transaction key -> (owner, request)
        self._auth_tries = {}  # (owner, method) -> challenges answered in a row
        self.registrations = {}
        self.keepalives = {}
        self.stats = {"invites": 0, "acks": 0, "byes": 0, "options": 0, "malformed": 0, "auth_failed": 0,
                      "auth_blocked": 0, "forks_ended": 0, "rate_limited": 0}

    # ---------------------------------------------------------------------------------------------------
    # helpers

    def _uniform(self, low, high):
        """Return a random wait in [low, high] (from rng when one was given, for replays)."""
        return (self._rng or random.SystemRandom()).uniform(low, high)

    def _token(self, nbytes=6):
        if self._rng is not None:
            return f"{self._rng.getrandbits(nbytes * 8):0{nbytes * 2}x}"
        return secrets.token_hex(nbytes)

    @property
    def _hostport(self):
        host = self.local_addr[0]
        host = f"[{host}]" if ":" in host else host
        return f"{host}:{self.local_addr[1]}"

    def _via(self, transport=None):
        transport = transport or self.transport
        return Via(transport, self.local_addr[0], self.ports.get(transport, self.local_addr[1]),
                   (("branch", self.layer.new_branch()), ("rport", None)))

    def _contact(self, user=None, transport=None, secure=None):
        """Return our Contact for transport (default ours); secure: a SIPS URI, as RFC 3261 8.1.1.8 and 12.1.1
        ask when the request's URI is SIPS (None: SIPS for TLS)."""
        transport = transport or self.transport
        host = self.local_addr[0]
        host = f"[{host}]" if ":" in host else host
        param = "" if transport == "UDP" else f";transport={transport.lower()}"
        scheme = "sips" if (transport == "TLS" if secure is None else secure) else "sip"
        return f"<{scheme}:{user or self.user}@{host}:{self.ports.get(transport, self.local_addr[1])}{param}>"

    def _transport_for(self, uri):
        """Return the transport a request for uri goes over: TLS for a SIPS URI, its transport parameter, else
        our default (RFC 3263's choice without DNS), among the transports we have."""
        wanted = "TLS" if uri.scheme == "sips" else (uri.param("transport") or self.transport).upper()
        return wanted if wanted in self.ports else self.transport

    def _stamp(self, request):
        """Return the transport request goes over, with its top Via and our Contact made to name it."""
        routes = request.headers.get_all("Route")
        uri = parse_address(routes[0]).uri if routes else request.uri
        transport = self._transport_for(uri)
        via = request.top_via
        if via.transport.upper() != transport:
            request.headers.set("Via", Via(transport, via.host, self.ports[transport], via.params))
        contacts = request.contact if "Contact" in request.headers else []
        if contacts and contacts != ["*"] and contacts[0].uri.host == self.local_addr[0]:
            # SIPS only when the Request-URI or first route is (8.1.1.8): a phone that dialled sip:...;transport=tls
            # gets sip: back (baresip 1.0 cannot use a SIPS Contact and drops the call)
            secure = "sips" in (uri.scheme, request.uri.scheme)
            contact = self._contact(contacts[0].uri.user, transport, secure)
            if contact != f"<{contacts[0].uri}>":
                request.headers.set("Contact", contact)
        return transport

    def _send_ack(self, ack, hop, now):
        """Send an ACK to a 2xx (no transaction: as it is) to hop."""
        transport = self._stamp(ack)
        return [Send(ack.encode(), hop, transport)]

    def _sends(self, outputs, default_addr=None, transport=None):
        out = []
        for item in outputs:
            if isinstance(item, T.Transmit):
                addr = self._peer.get(item.key, default_addr)
                if addr is not None:
                    out.append(Send(item.data, addr, self._wire.get(item.key, transport or self.transport)))
            else:
                out.append(item)
        return out

    def _handle(self, outputs, now, source=None, transport=None):
        """Run the transaction layer's events through the user agent; returns Send items and events."""
        result = []
        for item in self._sends(outputs, source, transport):
            if isinstance(item, T.TransactionTerminated):  # after the events before it, which still need it
                self._peer.pop(item.key, None)
                self._wire.pop(item.key, None)
                self._client_calls.pop(item.key, None)
            elif isinstance(item, T.RequestReceived):
                if item.key is not None and source is not None:
                    self._peer[item.key] = source
                    self._wire[item.key] = transport or self.transport
                try:
                    result += self._on_request(item.request, item.key, now, source)
                except DecodeError as err:  # a header the transaction layer did not need is malformed
                    self.stats["malformed"] += 1
                    if item.key is not None and item.request.method != "ACK":
                        result += self._respond(item.request, item.key, 400, now, reason="Bad Request",
                                                headers=[("Warning", f'399 pycallcenter "{_warning(err)}"')])
            elif isinstance(item, T.ResponseReceived):
                try:
                    result += self._on_response(item.response, item.key, now)
                except DecodeError:
                    self.stats["malformed"] += 1
            elif isinstance(item, T.TransactionTimeout):
                result += self._on_timeout(item.key, now)
            elif isinstance(item, T.TransportFailed):  # 8.1.3.1: a transport error is a 503
                result += self._on_timeout(item.key, now, status=503)
            else:
                result.append(item)
        return result

    def _respond(self, request, key, status, now, **kw):
        if status > 100:  # every response but 100 carries a To tag (RFC 3261 8.2.6.2)
            kw.setdefault("to_tag", self._token())
        response = make_response(request, status, **kw)
        return self._handle(self.layer.send_response(response, now, key), now)

    def _dialog_contact(self, dialog):
        """Return our Contact for a dialog, naming the transport its INVITE came or went over; a SIPS URI only
        when that INVITE's Request-URI (or a UAS's top Record-Route) is SIPS (RFC 3261 12.1.1)."""
        invite = dialog.invite
        secure = None
        if invite is not None:
            records = invite.headers.get_all("Record-Route") if dialog.role == "uas" else []
            secure = (parse_address(records[0]).uri if records else invite.uri).scheme == "sips"
        return self._contact(transport=dialog.extra.get("transport"), secure=secure)

    def _supported(self):
        return ("Supported", ", ".join(SUPPORTED))

    @staticmethod
    def _record_route(request):
        """Return the Record-Route entries a dialog-creating response copies from its request (12.1.1)."""
        return [("Record-Route", value) for value in request.headers.get_all("Record-Route")]

    # ---------------------------------------------------------------------------------------------------
    # the IO-facing face

    def receive(self, data, addr, now, transport=None):
        """Take one datagram (or one message cut from a stream) from addr over transport (default: ours);
        returns Send items and events (a request that does not parse is answered 400 with a Warning naming
        the header and offset)."""
        transport = (transport or self.transport).upper()
        message = data
        if isinstance(data, (bytes, bytearray, memoryview)):
            try:
                message = parse_message(bytes(data))
            except DecodeError as err:
                self.stats["malformed"] += 1
                reply = bad_request_response(bytes(data), err)
                return [Send(reply.encode(), addr, transport)] if reply is not None else []
        if isinstance(message, Request):
            _mark_source(message, addr)
        outputs = self.layer.receive(message, now, reliable=transport != "UDP")
        return self._handle(outputs, now, addr, transport)

    def next_deadline(self):
        """Return the earliest deadline of the transactions and the UA core, or None."""
        deadlines = [d for d in (self.layer.next_deadline(), self.timers.next_deadline()) if d is not None]
        return min(deadlines) if deadlines else None

    def handle_timer(self, now):
        """Fire what is due at now; returns Send items and events."""
        out = self._handle(self.layer.handle_timer(now), now)
        for owner, name in self.timers.expired(now):
            action = _TIMER_ACTIONS.get(name)
            if action is not None:
                out += action(self, owner, now)
        return out

    # ---------------------------------------------------------------------------------------------------
    # requests from the far end

    def _on_request(self, request, key, now, source):
        method = request.method
        if key is None:  # an ACK to a 2xx
            return self._on_ack(request, now)
        if method == "CANCEL":
            return self._on_cancel(request, key, now)
        if request.to.tag is not None:
            dialog = self._dialog_of(request)
            if dialog is None:
                return self._respond(request, key, 481, now)
            handler = _IN_DIALOG.get(method)
            if handler is None:
                status = 405 if method in _KNOWN or method in _OUT_OF_DIALOG else 501
                return self._respond(request, key, status, now, headers=[("Allow", ALLOW)])
            if not dialog.accept_cseq(request):
                return self._respond(request, key, 500, now, reason="CSeq Out Of Order")
            return handler(self, dialog, request, key, now)
        if self.rate is not None and not self.rate.allow(source, now):
            self.stats["rate_limited"] += 1
            return self._respond(request, key, 503, now, headers=[("Retry-After", 1)])
        handler = _OUT_OF_DIALOG.get(method)
        if handler is None:  # a method that needs a dialog finds none (481); others we do not know (501)
            status = 481 if method in _IN_DIALOG else 501
            return self._respond(request, key, status, now, headers=[("Allow", ALLOW)])
        return handler(self, request, key, now, source)

    def _dialog_of(self, request, cancel=False):
        dialog = self.dialogs.get(request.call_id)
        if dialog is None:
            return None
        # a request from the far end carries their tag in From and ours in To (a CANCEL has no To tag)
        if request.from_.tag != dialog.remote_tag:
            return None
        return dialog if cancel or request.to.tag == dialog.local_tag else None

    def _on_options(self, request, key, now, source):
        self.stats["options"] += 1
        return self._respond(request, key, 200, now, to_tag=self._token(),
                             headers=[("Allow", ALLOW), ("Accept", "application/sdp"), self._supported()])

    def _authenticate(self, request, key, now, source):
        """Return (user, []) when request carries good credentials (or we ask for none), else (None, the
        challenge or refusal sent)."""
        if self.digest is None:
            return self.user, []
        if request.method == "INVITE" and self.trusted is not None and self.trusted(source):
            return "trusted", []
        if self.limiter.blocked(source, now):
            self.stats["auth_blocked"] += 1
            return None, self._respond(request, key, 403, now, to_tag=self._token())
        value = request.headers.get("Proxy-Authorization" if self._as_proxy(request) else "Authorization")
        if value is None:
            return None, self._challenge(request, key, now, stale=False)
        result, user = self.digest.check(value, request.method, now, request.body)
        if result == A.OK:
            self.limiter.succeeded(source)
            return user, []
        if result == A.STALE:
            return None, self._challenge(request, key, now, stale=True)
        self.stats["auth_failed"] += 1
        blocked = self.limiter.failed(source, now)
        event = AuthFailed(source, user, blocked)
        if blocked:
            return None, [event] + self._respond(request, key, 403, now, to_tag=self._token())
        return None, [event] + self._challenge(request, key, now, stale=False)

    def _as_proxy(self, request):
        return self.proxy_auth and request.method != "REGISTER"

    def _challenge(self, request, key, now, stale):
        proxy = self._as_proxy(request)
        name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        headers = [(name, value) for value in self.digest.challenges(now, stale=stale)]
        return self._respond(request, key, 407 if proxy else 401, now, to_tag=self._token(), headers=headers)

    def _on_invite(self, request, key, now, source):
        self.stats["invites"] += 1
        if request.call_id in self.dialogs:  # the same request by another path (8.2.2.2), or a Call-ID reused
            return self._respond(request, key, 482, now)
        user, refused = self._authenticate(request, key, now, source)
        if user is None:
            return refused
        unsupported = ST.option_tags(request, "Require") - set(SUPPORTED)
        if unsupported:
            return self._respond(request, key, 420, now, headers=[("Unsupported", ", ".join(sorted(unsupported)))])
        replaced = None
        if "Replaces" in request.headers:
            replaced, status = self._replaced_dialog(request.headers.get_all("Replaces"))
            if replaced is None:
                return self._respond(request, key, status, now)
        timer, min_se = ST.uas_negotiate(request, self.min_se, self.session_expires)
        if min_se is not None:
            return self._respond(request, key, 422, now, headers=[("Min-SE", min_se)])
        offer, refused = self._read_offer(request, key, now)
        if refused:
            return refused
        if offer is not None and not any(m.port for m in self._answer_sdp(offer, None).media):
            return self._respond(request, key, 488, now, to_tag=self._token())
        dialog = Dialog.as_uas(request, self._token(), source)
        dialog.invite = request
        dialog.offer = offer
        dialog.extra["remote_version"] = None if offer is None else offer.session_version
        dialog.extra["pending"] = key
        dialog.extra["transport"] = self._wire.get(key, self.transport)
        if dialog.extra["transport"] != "UDP":
            dialog.flow = source  # our requests keep to the connection the INVITE came on
        dialog.extra["timer"] = timer
        tags = ST.option_tags(request, "Supported") | ST.option_tags(request, "Require")
        dialog.extra["100rel"] = "100rel" in tags
        dialog.extra["peer_allow"] = ",".join(request.headers.get_all("Allow")).upper()
        dialog.extra["require_100rel"] = "100rel" in ST.option_tags(request, "Require")
        self.dialogs[dialog.call_id] = dialog
        out = [IncomingCall(dialog.call_id, offer, request, replaced)]
        if replaced is not None:
            out.append(TransferRequested(dialog.call_id, None, replaced))
        if self.answer_after is None:
            return out
        if self.answer_after > 0:
            self.timers.start(dialog.call_id, "answer", now + self.answer_after)
            return out + self.ring(dialog.call_id, now)
        return out + self.answer(dialog.call_id, now)

    def _read_offer(self, request, key, now):
        """Return (SDP or None, []) of a request's body, or (None, the 415/400 sent)."""
        if not request.body:
            return None, []
        if request.content_type != "application/sdp":
            return None, self._respond(request, key, 415, now, headers=[("Accept", "application/sdp")])
        try:
            return S.parse_sdp(request.body), []
        except DecodeError as err:
            return None, self._respond(request, key, 400, now, reason="Bad SDP",
                                       headers=[("Warning", f'399 pycallcenter "{_warning(err)}"')])

    def _answer_sdp(self, offer, dialog, sdp=None, port=None):
        """Return our SDP answer to offer (or our offer when there is none), keeping the dialog's session
        id and bumping its version."""
        extra = dialog.extra if dialog is not None else {}
        port = port or extra.get("rtp_port") or self.rtp_port
        version = extra.get("version", 0) + 1
        if sdp is not None:
            body = sdp
        elif offer is not None:
            body = S.answer(offer, self.media_host, port, self.codecs, session_id=extra.get("sid", 1), version=version,
                            srtp=self.srtp, crypto=extra.get("crypto"))
        else:  # a late offer (RFC 3261 13.2.1): ours goes in the 2xx, keyed under the SRTP policy when we have a key
            body = S.make_offer(self.media_host, port, self.codecs, version=version)
            if extra.get("crypto") and self.srtp != "off":
                body.media[0] = S.secure(body.media[0], extra["crypto"], self.srtp)
        if dialog is not None:
            extra["rtp_port"] = port
            extra["version"] = body.session_version
        return body

    # the UAS face for our user (answer_after=None)

    def _pending(self, call_id):
        dialog = self.dialogs.get(call_id)
        if dialog is None or dialog.role != "uas" or dialog.extra.get("pending") is None:
            raise LocalProtocolError(f"no incoming call {call_id} waiting for an answer")
        return dialog

    def answer(self, call_id, now, sdp=None, port=None):
        """Answer an incoming call with 200 and our SDP (as given, or answered from the offer on port); the
        2xx is retransmitted until the ACK (RFC 3261 13.3.1.4), and held back while a reliable provisional
        with SDP waits for its PRACK (RFC 3262 3)."""
        dialog = self._pending(call_id)
        self.timers.cancel(call_id, "answer")
        if dialog.answer is None or sdp is not None:
            dialog.answer = self._answer_sdp(dialog.offer, dialog, sdp, port)
        headers = self._record_route(dialog.invite) + [("Contact", self._dialog_contact(dialog)), ("Allow", ALLOW),
                                                       self._supported()]
        timer = dialog.extra.get("timer")
        if timer is not None:
            headers.append(("Session-Expires", timer.header()))
            if timer.refresher == "uac":
                headers.append(("Require", "timer"))
        dialog.ok = make_response(dialog.invite, 200, to_tag=dialog.local_tag, headers=headers,
                                  body=dialog.answer.encode(), content_type="application/sdp")
        unacked = dialog.extra.get("unacked")
        if unacked is not None and unacked[1]:
            dialog.extra["held_ok"] = True
            return []
        return self._send_ok(dialog, now)

    def reject(self, call_id, status, now, reason=None, headers=()):
        """Refuse an incoming call with a final status (reason: a Reason header value, RFC 3326)."""
        dialog = self._pending(call_id)
        key = dialog.extra.pop("pending")
        self.timers.cancel_owner(call_id)
        del self.dialogs[call_id]
        extra = list(headers) + ([("Reason", reason)] if reason else [])
        return self._respond(dialog.invite, key, status, now, to_tag=dialog.local_tag, headers=extra)

    def _send_ok(self, dialog, now):
        """Send our 2xx to an INVITE and start its retransmission until the ACK (RFC 3261 13.3.1.4)."""
        key = dialog.extra.pop("pending", None)
        dialog.extra.pop("held_ok", None)
        self.timers.cancel_names(dialog.call_id, ("1xx", "1xx-give-up", "answer"))
        dialog.attempts = 0
        out = self._handle(self.layer.send_response(dialog.ok, now, key), now, dialog.remote_addr,
                           dialog.extra.get("transport"))
        self.timers.start(dialog.call_id, "2xx", now + self.settings.T1)
        self.timers.start(dialog.call_id, "2xx-give-up", now + 64 * self.settings.T1)
        self._arm_session_timer(dialog, dialog.extra.get("timer"), now, we_sent=False)
        return out

    def _on_cancel(self, request, key, now):
        """Answer a CANCEL (RFC 3261 9.2): 200 to it, and 487 to its INVITE if that is still pending."""
        dialog = self._dialog_of(request, cancel=True)
        if dialog is None or dialog.role != "uas":
            return self._respond(request, key, 481, now)
        out = self._respond(request, key, 200, now)
        invite_key = dialog.extra.pop("pending", None)
        if invite_key is not None:
            self.timers.cancel_owner(dialog.call_id)
            del self.dialogs[dialog.call_id]
            out.append(CallCancelled(dialog.call_id))
            out += self._respond(dialog.invite, invite_key, 487, now, to_tag=dialog.local_tag)
        return out

    def _on_ack(self, request, now):
        dialog = self._dialog_of(request)
        if dialog is None:
            return []
        self.timers.cancel_names(dialog.call_id, ("2xx", "2xx-give-up"))
        if dialog.role != "uas":  # the ACK of a re-INVITE the far end sent us
            return []
        self.stats["acks"] += 1
        late = dialog.offer is None  # our offer went in the 2xx: the answer comes here (RFC 3261 13.2.1)
        if request.body and late:
            try:
                dialog.offer = S.parse_sdp(request.body)
            except DecodeError:
                pass
        if dialog.state == CONFIRMED:
            return []
        dialog.state = CONFIRMED
        out = [CallConfirmed(dialog.call_id, dialog.offer if late else None, late)]
        if "bye_after_ack" in dialog.extra:  # our user hung up before the ACK came
            out += self.bye(dialog.call_id, now, reason=dialog.extra.pop("bye_after_ack")[0])
        return out

    # in-dialog requests (the dialog is found and its CSeq accepted)

    def _on_bye(self, dialog, request, key, now):
        self.stats["byes"] += 1
        self.timers.cancel_owner(dialog.call_id)
        del self.dialogs[dialog.call_id]
        out = self._respond(request, key, 200, now)
        pending = dialog.extra.pop("pending", None)
        if pending is not None:  # a BYE on an early dialog ends the INVITE too (RFC 3261 15.1.2)
            out += self._respond(dialog.invite, pending, 487, now, to_tag=dialog.local_tag)
        return out + [CallEnded(dialog.call_id, "remote", request.headers.get("Reason"))]

    def _on_info(self, dialog, request, key, now):
        return self._respond(request, key, 200, now) + [
            InfoReceived(dialog.call_id, request.content_type, request.body)]

    # ---------------------------------------------------------------------------------------------------
    # UAC

    def invite(self, target, now, addr=None, *, from_user=None, display=None, headers=(), sdp=None, port=None,
               auth=None, replaces=None, late_offer=False):
        """Place a call to target (a SIP URI text, or a user registered here); returns (Call-ID, outputs).
        addr defaults to the registered contact's source, else the URI's host and port. from_user and display
        name our From; headers are added as given (P-Asserted-Identity, Privacy...); sdp is our offer (else
        one on port); auth (user, password) answers challenges (default: the UA's); replaces is a Replaces
        value (RFC 3891) for an attended transfer. late_offer sends no SDP: the callee offers in its 2xx and
        our answer goes in the ACK (RFC 3261 13.2.1; keyed with the dialog's extra["crypto"] under our SRTP
        policy)."""
        uri = parse_uri(target) if isinstance(target, str) else target
        to_uri = uri
        binding = self._registered_target(uri)
        if binding is not None:
            if uri.user is None:  # sip:USER: the To names the user at our address
                to_uri = parse_uri(f"sip:{uri.host}@{self._hostport}")
            uri = parse_uri(binding.contact)
            addr = addr or binding.source
        addr = addr or next_hop(uri)
        call_id = f"{self._token(8)}@{self.local_addr[0]}"
        tag = self._token()
        name = f"{display} " if display else ""
        local = f"{name}<sip:{from_user or self.user}@{self._hostport}>;tag={tag}"
        offer = None if late_offer else sdp or S.make_offer(self.media_host, port or self.rtp_port, self.codecs)
        extra = [("Allow", ALLOW), self._supported()]
        if self.session_expires:
            extra += [("Session-Expires", self.session_expires), ("Min-SE", self.min_se)]
        if replaces:
            extra += [("Replaces", replaces), ("Require", "replaces")]
        request = make_request("INVITE", uri, via=self._via(), from_=local, to=f"<{to_uri}>", call_id=call_id,
                               cseq=1, contact=self._contact(from_user), headers=extra + list(headers),
                               body=offer.encode() if offer else b"", content_type="application/sdp" if offer else None)
        dialog = Dialog.as_uac(request, addr)
        dialog.extra["transport"] = self._transport_for(uri)
        if binding is not None:  # where the phone's REGISTER came from: its connection, or its NAT's mapping
            dialog.flow = binding.source
        dialog.offer = offer
        dialog.extra["late"] = late_offer
        dialog.extra["rtp_port"] = port or self.rtp_port
        dialog.extra["auth"] = auth
        dialog.extra["asked_se"] = self.session_expires
        self.dialogs[call_id] = dialog
        return call_id, self._start_client(request, call_id, addr, now)

    def _registered_target(self, uri):
        """Return the binding a target names when it is a user registered here (sip:USER or
        sip:USER@our-host), else None."""
        user = uri.user if uri.user is not None else (uri.host if uri.port is None and "." not in uri.host else None)
        if user is None or (uri.user is not None and uri.host not in (self.local_addr[0], self.digest and
                                                                       self.digest.realm)):
            return None
        bindings = self.registrar.bindings(user)
        return bindings[0] if bindings else None

    def hang_up(self, call_id, now, reason=None, status=480):
        """End a call: BYE once confirmed, CANCEL while our INVITE is pending, a final status (default 480)
        to an incoming call not yet answered; reason is a Reason header value (RFC 3326)."""
        dialog = self.dialogs.get(call_id)
        if dialog is not None and dialog.role == "uac" and dialog.state != CONFIRMED:
            return self.cancel(call_id, now, reason=reason)
        if dialog is not None and dialog.role == "uas" and dialog.extra.get("pending") is not None:
            return self.reject(call_id, status, now, reason=reason)
        if dialog is not None and dialog.role == "uas" and dialog.state != CONFIRMED and dialog.ok is not None:
            dialog.extra["bye_after_ack"] = (reason,)  # RFC 3261 15: the callee's BYE waits for the ACK
            return []
        return self.bye(call_id, now, reason=reason)

    def cancel(self, call_id, now, reason=None):
        """Cancel our pending INVITE (RFC 3261 9.1); sent once a provisional response has arrived. The INVITE
        then ends with 487 (CallFailed) or, if the callee answered first, the call is ended with BYE."""
        dialog = self.dialogs.get(call_id)
        if dialog is None or dialog.role != "uac" or dialog.state == CONFIRMED:
            raise LocalProtocolError(f"no pending call {call_id} placed by us")
        if reason is not None:
            dialog.extra["cancel_reason"] = reason
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
        if dialog.extra.get("cancel_reason"):
            h.add("Reason", dialog.extra["cancel_reason"])
        h.add("Content-Length", 0)
        return self._start_client(Request(headers=h, method="CANCEL", uri=invite.uri), call_id,
                                  dialog.extra.get("invite_addr", dialog.remote_addr), now)

    def bye(self, call_id, now, reason=None):
        """End a confirmed call we are in; returns outputs (CallEnded follows the BYE's response)."""
        dialog = self.dialogs.get(call_id)
        if dialog is None or dialog.state != CONFIRMED:
            raise LocalProtocolError(f"no confirmed call {call_id}")
        request, hop = dialog.request("BYE", self._via())
        if reason:
            request.headers.add("Reason", reason)
        return self._start_client(request, call_id, hop, now)

    def info(self, call_id, content_type, body, now):
        """Send an INFO with a body inside a confirmed call (e.g. application/dtmf-relay)."""
        dialog = self._confirmed(call_id)
        request, hop = dialog.request("INFO", self._via())
        request.headers.add("Content-Type", content_type)
        request.body = bytes(body)
        return self._start_client(request, call_id, hop, now)

    def _confirmed(self, call_id):
        dialog = self.dialogs.get(call_id)
        if dialog is None or dialog.state != CONFIRMED:
            raise LocalProtocolError(f"no confirmed call {call_id}")
        return dialog

    def _start_client(self, request, owner, addr, now):
        transport = self._stamp(request)
        key, outputs = self.layer.send_request(request, now, reliable=transport != "UDP")
        if key is not None:
            self._peer[key] = addr
            self._wire[key] = transport
            self._client_calls[key] = (owner, request)
        return self._handle(outputs, now, addr, transport)

    def _on_response(self, response, key, now):
        owner, request = self._client_calls.get(key, (None, None))
        if request is None:
            return []
        if isinstance(owner, tuple):  # a registration or a keepalive
            return R.RegistrationMixin.on_response(self, owner, request, response, now)
        dialog = self.dialogs.get(owner)
        if dialog is None:
            return self._on_orphan_response(request, response, now)
        status = response.status
        if status in (401, 407) and request.method != "CANCEL":
            retried = self._retry_with_auth(owner, dialog, request, response, now)
            if retried is not None:
                return retried
        if status >= 200:
            self._auth_tries.pop((owner, request.method), None)
        handler = _RESPONSE_HANDLERS.get(request.method)
        if handler is None:
            return []
        return handler(self, dialog, request, response, now)

    def _on_orphan_response(self, request, response, now):
        """A response for a call we already ended: ACK and BYE a late 2xx to our INVITE."""
        if request.method == "INVITE" and 200 <= response.status < 300:
            return self._end_fork(request, response, now)
        return []

    def _retry_with_auth(self, owner, dialog, request, response, now, auth=None, addr=None, cseq=None):
        """Resend request answering a 401/407 (RFC 3261 22.2) when we have credentials and have not failed
        with them already; returns outputs, or None when the failure stands. Outside a dialog, addr and cseq
        say where the request goes and its new CSeq."""
        auth = auth or (dialog.extra.get("auth") if dialog is not None else None) or self.auth
        name = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        values = response.headers.get_all(name)
        tries = self._auth_tries.get((owner, request.method), 0)
        if auth is None or not values or tries >= 2:
            return None
        try:
            challenge = A.DigestClient.choose(values)
        except ValueError:
            return None
        if tries and not challenge.stale:
            return None  # the same credentials failed once: a second try cannot do better
        self._auth_tries[(owner, request.method)] = tries + 1
        client = A.DigestClient(*auth)
        again = Request(headers=request.headers.copy(), body=request.body, method=request.method, uri=request.uri)
        again.headers.set("Via", self._via())
        number = dialog.next_cseq() if dialog is not None else cseq
        again.headers.set("CSeq", CSeq(number, request.method))
        header = "Authorization" if response.status == 401 else "Proxy-Authorization"
        again.headers.remove(header)
        again.headers.add(header, client.authorization(challenge, request.method, str(request.uri), request.body))
        addr = self._peer_of(request, dialog) if dialog is not None else addr
        if dialog is not None and request.method == "INVITE" and dialog.state != CONFIRMED:
            dialog.invite = again
            dialog.extra.pop("provisional", None)
        return self._start_client(again, owner, addr, now)

    @staticmethod
    def _peer_of(request, dialog):
        if request.method == "INVITE" and dialog.state != CONFIRMED:
            return dialog.remote_addr
        return dialog.hop()

    def _on_invite_response(self, dialog, invite, response, now):
        status = response.status
        if invite is not dialog.invite:  # our re-INVITE (a UAS's dialog.invite is the one it received)
            return self._on_reinvite_response(dialog, invite, response, now)
        if status < 200:
            return self._on_provisional(dialog, invite, response, now)
        if status >= 300:
            if status == 422 and dialog.extra.get("asked_se") and "Min-SE" in response.headers:
                return self._retry_session_expires(dialog, invite, response, now)
            del self.dialogs[dialog.call_id]
            self.timers.cancel_owner(dialog.call_id)
            return [CallFailed(dialog.call_id, status, response.headers.get("Reason"))]
        return self._on_invite_ok(dialog, invite, response, now)

    def _on_provisional(self, dialog, invite, response, now):
        dialog.extra["provisional"] = True
        out = []
        if dialog.extra.get("cancel") is True:  # a CANCEL was waiting for this (RFC 3261 9.1)
            out += self.cancel(dialog.call_id, now)
        if response.status == 100:
            return out
        dialog.on_response(response)
        sdp = None
        if response.body and response.content_type == "application/sdp":
            try:
                sdp = S.parse_sdp(response.body)
            except DecodeError:
                sdp = None
        if "100rel" in ST.option_tags(response, "Require") and "RSeq" in response.headers:
            try:
                rseq = int(response.headers.get("RSeq"))
            except ValueError:
                return out
            seen = dialog.extra.setdefault("rseq_in", {})  # per To tag: each fork numbers its own (RFC 3262 4)
            last = seen.get(response.to.tag)
            if last is not None and rseq <= last:
                return out  # a retransmission: our PRACK's own transaction covers it
            seen[response.to.tag] = rseq
            prack, hop = dialog.request("PRACK", self._via())
            prack.headers.add("RAck", f"{rseq} {invite.cseq.number} INVITE")
            out += self._start_client(prack, dialog.call_id, hop, now)
        if sdp is not None:
            dialog.answer = sdp
        return out + [CallProgress(dialog.call_id, response.status, sdp)]

    def _retry_session_expires(self, dialog, invite, response, now):
        """Resend an INVITE refused with 422 asking for the Min-SE the far end wants (RFC 4028 7.4)."""
        min_se = ST.min_se_of(response, self.min_se)
        if dialog.extra.get("asked_se", 0) >= min_se:
            del self.dialogs[dialog.call_id]
            return [CallFailed(dialog.call_id, 422)]
        dialog.extra["asked_se"] = min_se
        again = Request(headers=invite.headers.copy(), body=invite.body, method="INVITE", uri=invite.uri)
        again.headers.set("Via", self._via())
        again.headers.set("CSeq", CSeq(dialog.next_cseq(), "INVITE"))
        again.headers.set("Session-Expires", min_se)
        again.headers.set("Min-SE", min_se)
        dialog.invite = again
        dialog.extra.pop("provisional", None)
        return self._start_client(again, dialog.call_id, dialog.remote_addr, now)

    def _on_invite_ok(self, dialog, invite, response, now):
        """ACK a 2xx to our INVITE (the same ACK again for a retransmission); a 2xx from a second fork is
        ACKed and ended with BYE (RFC 3261 13.2.2.4)."""
        tag = response.to.tag
        if dialog.state == CONFIRMED and tag != dialog.remote_tag:
            return self._end_fork(invite, response, now)
        acks = dialog.extra.setdefault("acks", {})
        number = invite.cseq.number
        first = number not in acks
        if first:
            dialog.on_response(response)
            ack, hop = dialog.request("ACK", self._via(), number)
            for name in ("Authorization", "Proxy-Authorization"):
                for value in invite.headers.get_all(name):
                    ack.headers.add(name, value)
            acks[number] = (ack, hop)
            try:
                dialog.answer = S.parse_sdp(response.body) if response.body else dialog.answer
            except DecodeError:
                pass
            if dialog.extra.get("late") and dialog.offer is None and dialog.answer is not None:
                # the 2xx offered (we sent none): our answer rides on the ACK (RFC 3261 13.2.1)
                dialog.offer = self._answer_sdp(dialog.answer, dialog)
                ack.body = dialog.offer.encode()
                ack.headers.set("Content-Type", "application/sdp")
            if dialog.answer is not None:
                dialog.extra["remote_version"] = dialog.answer.session_version
        ack, hop = acks[number]
        out = self._send_ack(ack, hop, now)
        if first and not dialog.extra.get("answered") and dialog.extra.get("cancel"):
            dialog.extra["answered"] = True  # answered although we cancelled: end it (RFC 3261 9.1, 15)
            return out + self.bye(dialog.call_id, now, reason=dialog.extra.get("cancel_reason"))
        if first and not dialog.extra.get("answered"):
            dialog.extra["answered"] = True
            dialog.extra["peer_allow"] = ",".join(response.headers.get_all("Allow")).upper()
            self._arm_session_timer(dialog, ST.uac_result(response), now, we_sent=True)
            out.insert(0, CallAnswered(dialog.call_id, dialog.answer))
        return out

    def _end_fork(self, invite, response, now):
        """ACK and BYE a 2xx from a dialog we do not keep (a second fork, or a call already ended)."""
        self.stats["forks_ended"] += 1
        fork = Dialog.as_uac(invite, None)
        fork.on_response(response)
        ack, hop = fork.request("ACK", self._via(), invite.cseq.number)
        out = self._send_ack(ack, hop, now)
        bye, hop = fork.request("BYE", self._via())
        return out + self._start_client(bye, None, hop, now)

    def _on_bye_response(self, dialog, request, response, now):
        if response.status < 200:
            return []
        return self._drop(dialog, "local")

    def _drop(self, dialog, by, reason=None):
        self.timers.cancel_owner(dialog.call_id)
        self.dialogs.pop(dialog.call_id, None)
        return [CallEnded(dialog.call_id, by, reason)]

    def transport_failed(self, addr, now):
        """Take word from the IO that messages to addr cannot be sent (a refused or failed connection): every
        client transaction towards addr ends as if answered 503 (RFC 3261 8.1.3.1); returns outputs."""
        keys = [key for key, peer in self._peer.items() if peer == addr and key in self._client_calls]
        out = []
        for key in keys:
            out += self._handle(self.layer.transport_error(key, now), now)
        return out

    def _on_timeout(self, key, now, status=408):
        owner, request = self._client_calls.get(key, (None, None))
        if isinstance(owner, tuple):
            return R.RegistrationMixin.on_timeout(self, owner, request, now, status)
        if owner is None or owner not in self.dialogs:
            return []
        dialog = self.dialogs[owner]
        if request.method == "INVITE" and dialog.state != CONFIRMED:
            del self.dialogs[owner]
            self.timers.cancel_owner(owner)
            return [CallFailed(owner, status)]
        if request.method in ("BYE", "INVITE", "UPDATE"):  # 12.2.1.2: a timeout ends the dialog
            return self._drop(dialog, "local")
        return []

    # UA core timers, by name

    def _answer_timer(self, call_id, now):
        if call_id not in self.dialogs or self.dialogs[call_id].extra.get("pending") is None:
            return []
        return self.answer(call_id, now)

    def _retransmit_2xx(self, call_id, now):
        dialog = self.dialogs.get(call_id)
        if dialog is None or dialog.ok is None:
            return []
        dialog.attempts += 1
        out = self._handle(self.layer.send_response(dialog.ok, now), now, dialog.remote_addr,
                           dialog.extra.get("transport"))
        interval = min(self.settings.T1 * 2 ** dialog.attempts, self.settings.T2)
        self.timers.start(call_id, "2xx", now + interval)
        return out

    def _give_up_2xx(self, call_id, now):
        """No ACK within 64*T1: the session ends (RFC 3261 13.3.1.4), with BYE (15)."""
        dialog = self.dialogs.get(call_id)
        if dialog is None:
            return []
        if "bye_after_ack" in dialog.extra:  # our user had hung up already: the BYE goes now
            dialog.state = CONFIRMED
        if dialog.role == "uac" or dialog.state == CONFIRMED:  # a re-INVITE's 2xx: end with BYE (14.2)
            self.timers.cancel(call_id, "2xx")
            bye, hop = dialog.request("BYE", self._via())
            return self._start_client(bye, None, hop, now) + self._drop(dialog, "local")
        self.timers.cancel_owner(call_id)
        del self.dialogs[call_id]
        return [CallFailed(call_id, 408)]


def _mark_source(request, addr):
    """Add received and rport to a request's top Via from the address it came from (RFC 3261 18.2.1, RFC 3581
    4), so our responses tell a client behind NAT where it was seen."""
    via = request.top_via
    marked = via
    if via.host.strip("[]") != addr[0]:
        marked = marked.with_param("received", addr[0])
    if via.has_param("rport") and via.param("rport") is None:
        marked = marked.with_param("rport", addr[1])
    if marked is not via:
        request.headers.replace_first("Via", marked)


def _warning(err):
    return str(err).replace("\\", "\\\\").replace('"', '\\"')


_IN_DIALOG = {
    "INVITE": UserAgent._on_reinvite, "BYE": UserAgent._on_bye, "UPDATE": UserAgent._on_update,
    "PRACK": UserAgent._on_prack, "INFO": UserAgent._on_info, "REFER": UserAgent._on_refer,
    "NOTIFY": UserAgent._on_notify,
    "OPTIONS": lambda ua, dialog, request, key, now: ua._on_options(request, key, now, None),
}
_OUT_OF_DIALOG = {
    "INVITE": UserAgent._on_invite, "OPTIONS": UserAgent._on_options, "REGISTER": R.RegistrationMixin.on_register,
}
_RESPONSE_HANDLERS = {
    "INVITE": UserAgent._on_invite_response, "BYE": UserAgent._on_bye_response,
    "UPDATE": UserAgent._on_update_response, "REFER": UserAgent._on_refer_response,
}
_TIMER_ACTIONS = {
    "answer": UserAgent._answer_timer, "2xx": UserAgent._retransmit_2xx, "2xx-give-up": UserAgent._give_up_2xx,
    "1xx": UserAgent._retransmit_1xx, "1xx-give-up": UserAgent._give_up_1xx,
    "session-refresh": UserAgent._session_refresh, "session-expire": UserAgent._session_expired,
    "glare": UserAgent._glare_retry,
    "refresh": R.RegistrationMixin.refresh_timer, "ping": R.RegistrationMixin.ping_timer,
    "expire": R.RegistrationMixin.expire_timer,
}
