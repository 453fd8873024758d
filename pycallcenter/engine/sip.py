"""SIP trunks and SIP phones as engine legs: one UDP socket, one sans-IO user agent, legs on packet rows.

``SipTrunk`` is a trunk adapter like ``PriTrunk``: the engine ticks it (``on_tick``), it reads every
datagram waiting on its socket without blocking, feeds them to its ``UserAgent`` with the board's time
(``engine.now / 8000``) and turns the agent's events into leg events. Each call's audio is a packet row
of the engine's media plane (``engine.packet``, docs/sip.md "Media"), so IVR scripts, queues, bridges,
recording and DTMF detection work on a SIP leg exactly as on a PRI B-channel.

- An INVITE becomes an incoming leg (tech "sip") offered to the router; the caller hears ringing (180)
  until a script answers (200 with the packet row's address in the SDP answer) or refuses (the cause
  mapped to a SIP status, RFC 3398, with a Reason header, RFC 3326).
- ``originate`` places an INVITE to a configured trunk ('sip/TRUNK/NUMBER') or to a phone registered
  to the centre ('sip/USER'); the far end's final status ends the leg with its mapped cause.
- A BYE from the far end ends the leg with the cause its Reason header carries, else normal clearing;
  a re-INVITE (hold, resume, a new address) updates the packet row.

The protocol stays sans-IO in ``pycallcenter.sip``; this module owns the socket and the decisions: who
may call without credentials (a trunk's address; anyone when guests may), which row a call gets, which
cause a status means.
"""
import dataclasses
import re
import socket
import ssl

from pycallcenter.causes import Cause
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.engine.bridge import bridge_of
from pycallcenter.engine.sip_stream import StreamTransport
from pycallcenter.errors import ConfigError, DecodeError
from pycallcenter.media import g722
from pycallcenter.sip import causes
from pycallcenter.sip import sdp as S
from pycallcenter.sip import ua as U
from pycallcenter.sip.message import parse_address, parse_uri
from pycallcenter.tls import self_signed, server_context

# Causes of a centre at capacity (no free channel, or overload control in engine/admission.py): a SIP caller gets 503 with
# Retry-After, seconds a peer should wait before it offers us calls again.
OVERLOAD_CAUSES = frozenset({Cause.NO_CIRCUIT_CHANNEL_AVAILABLE, Cause.SWITCHING_EQUIPMENT_CONGESTION})
OVERLOAD_RETRY_AFTER = 5

_SIGNAL = re.compile(r"(?im)^\s*signal\s*=\s*([0-9*#A-D])\s*$")
_BARE_DIGIT = re.compile(r"([0-9*#A-Da-d])")
_MAX_DATAGRAMS = 512  # per tick: a flood cannot hold the tick loop


@dataclasses.dataclass(frozen=True)
class Peer:
    """A SIP trunk: where it is, how we authenticate, what it may carry and how its numbers are rewritten."""

    name: str
    host: str
    port: int = 5060
    username: str = None
    password: str = None
    accept: bool = True
    channels: int = 0
    prefix: str = ""
    strip: int = 0
    domain: str = None
    register: bool = False
    register_expires: int = 3600
    transport: str = "udp"
    keepalive: float = 0  # seconds between OPTIONS pings (0: none); a trunk that stops answering is down

    def uri(self, user):
        """Return the SIP URI of user at this trunk (naming its transport when it is not UDP)."""
        param = "" if self.transport == "udp" else f";transport={self.transport}"
        return f"sip:{user}@{self.domain or self.host}{param}"

    def dial_string(self, number):
        """Return the number as sent on this trunk (strip, then prefix)."""
        return self.prefix + number[self.strip:]


@dataclasses.dataclass
class _Session:
    """One SIP call on one packet row."""

    call_id: str
    channel: int
    row: int
    peer: str  # trunk name, "phone:USER" or "guest"
    leg: object = None
    outgoing: bool = False
    answered: bool = False
    clear_cause: int = None  # the cause we cleared with (the leg ends with it once SIP confirms)
    bye_pending: bool = False  # we must send BYE as soon as the far end ACKs our 2xx
    port: int = 0  # our RTP port (in every SDP of the call)
    rings_until: float = None
    remote_events: bool = False  # the far end takes RFC 4733 telephone-events
    remote_crypto: str = None  # the far end's SDES key ("SUITE inline:KEY") when the call's media is SRTP


class SipTrunk:
    """The engine's adapter for SIP: trunks to carriers or PBXs, the centre's registered phones, and (if
    allowed) guests calling the centre's SIP address. Its name is the originate target's first part."""

    tech = "sip"

    def __init__(self, engine, *, listen=("127.0.0.1", 5060), public_host=None, domain=None, peers=(),
                 accounts=None, guests=False, ring_seconds=60.0, name="sip", rng=None, srtp="off",
                 transports=("udp",), tls_port=5061, server_ssl=None, client_ssl=None, session_expires=None,
                 digest=None, codecs=("PCMU", "PCMA")):
        """digest: the algorithms our challenges offer, in order (default SHA-256 then MD5). transports: any of "udp", "tcp" (on the same port as UDP), "tls" (on tls_port, with server_ssl for
        the connections phones and trunks open and client_ssl for those we open). session_expires: the
        RFC 4028 session interval we ask for and impose (None: only when the far end asks). codecs: the voice
        codecs we offer, preferred first, and take (any of PCMU, PCMA, G722; G722 needs the g722 extra)."""
        if engine.packet is None:
            raise ConfigError("sip.channels: the engine has no packet rows ([sip] channels must be more than 0)")
        self.engine = engine
        self.name = name
        self.peers = {p.name: p for p in peers}
        self.accounts = dict(accounts or {})
        self.guests = guests
        self.ring_seconds = ring_seconds
        if srtp not in SRTP_POLICIES:
            raise ConfigError(f"sip.srtp: {srtp!r} is not one of {', '.join(SRTP_POLICIES)}")
        self.srtp = srtp
        self.codecs, self._voice, self._own_offer = _codec_plan(codecs)
        transports = [t.lower() for t in transports]
        unknown = [t for t in transports if t not in ("udp", "tcp", "tls")]
        if unknown or not transports:
            raise ConfigError(f"sip.transports: {unknown or 'none'}: name one or more of udp, tcp, tls")
        if "tls" in transports and (server_ssl is None or client_ssl is None):
            raise ConfigError("sip.transports: tls needs a certificate (server and client TLS contexts)")
        self.sock = None
        self.streams = {}  # "TCP"/"TLS" -> StreamTransport
        key, port = "sip.port", listen[1]
        try:
            if "udp" in transports:
                self.sock = socket.socket(socket.AF_INET6 if ":" in listen[0] else socket.AF_INET, socket.SOCK_DGRAM)
                self.sock.setblocking(False)
                self.sock.bind(listen)
                port = self.sock.getsockname()[1]
            if "tcp" in transports:
                self.streams["TCP"] = StreamTransport("TCP", (listen[0], port), client_ssl=client_ssl)
                port = self.streams["TCP"].address[1]
            if "tls" in transports:
                key = "sip.tls_port"
                self.streams["TLS"] = StreamTransport("TLS", (listen[0], tls_port), server_ssl=server_ssl,
                                                      client_ssl=client_ssl)
        except OSError as exc:
            self.close()
            where = f"{listen[0]}:{tls_port if key == 'sip.tls_port' else port}"
            raise ConfigError(f"{key}: cannot listen on {where}: {exc.strerror or exc}") from None
        self.host = public_host or listen[0]
        self.address = (self.host, port)
        ports = {name: st.address[1] for name, st in self.streams.items()}
        default = "UDP" if self.sock is not None else next(iter(ports))
        if self.sock is None:
            self.address = (self.host, ports[default])
        self.domain = domain or self.host
        # INVITEs from a trunk's address (from anyone, with guests) come in unchallenged; others and REGISTERs
        # are challenged against the accounts
        self.ua = U.UserAgent(self.address, transport=default, ports=ports, trusted=self._trusted, user="centre",
                              answer_after=None, rng=rng,
                              credentials=self.accounts.get if self.accounts else None, realm=self.domain,
                              media_host=self.host, srtp=srtp, session_expires=session_expires,
                              auth_algorithms=digest, codecs=self.codecs)
        self.sessions = {}  # Call-ID -> _Session
        self._by_leg = {}  # leg id -> _Session
        self._ringing = {}  # Call-ID -> _Session of our INVITEs not answered yet (ring_seconds applies)
        self._transfers = []  # TransferRequested events to act on at the end of the tick
        self._waiting = {}  # Call-ID -> when an attended transfer began waiting for its parties (_later)
        self._replaces_out = {}  # phone user -> the Replaces our next INVITE to it carries (_transferee)
        self.stats = {"datagrams": 0, "messages": 0, "refused": 0, "calls_in": 0, "calls_out": 0, "srtp_calls": 0}
        self.trunk_state = {p.name: "unknown" for p in peers if p.keepalive}  # OPTIONS keepalive: up / down
        for p in peers:
            if p.keepalive:
                self._run(self.ua.keepalive((p.host, p.port), p.keepalive, self._s(), transport=p.transport))
            if p.register:
                self._run(self.ua.register(p.uri(p.username), (p.host, p.port),
                                           p.register_expires, self._s(), auth=(p.username, p.password)))

    # --- time and IO ------------------------------------------------------------------------------
    def _s(self, now=None):
        return (self.engine.now if now is None else now) / SAMPLE_RATE

    def on_tick(self, now):
        """Read every waiting datagram, run due timers, send what the user agent produced."""
        t = self._s(now)
        for _ in range(_MAX_DATAGRAMS if self.sock is not None else 0):
            try:
                data, addr = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # an ICMP error from an earlier send surfaces here on some systems
                continue
            self.stats["datagrams"] += 1
            self._run(self.ua.receive(data, addr[:2], t))
        for name, st in self.streams.items():
            messages, failed = st.poll(t)
            for data, addr in messages:
                self.stats["messages"] += 1
                self._run(self.ua.receive(data, addr, t, transport=name))
            for addr in failed:
                self.engine.log("sip_connect_failed", transport=name, to=f"{addr[0]}:{addr[1]}")
                self._run(self.ua.transport_failed(addr, t))
        deadline = self.ua.next_deadline()
        if deadline is not None and deadline <= t:
            self._run(self.ua.handle_timer(t))
        transfers, self._transfers = self._transfers, []  # one waiting for a bridge comes back next tick
        for ev in transfers:
            self._transfer(ev)
        if self._ringing and t >= min(s.rings_until for s in self._ringing.values()):
            for s in [s for s in self._ringing.values() if t >= s.rings_until]:
                del self._ringing[s.call_id]
                if not s.answered and s.leg.active:
                    s.leg.hangup(C.NO_ANSWER)

    def _send(self, data, addr, transport=None):
        st = self.streams.get(transport)
        if st is not None:
            if not st.send(data, addr, self._s()):
                self.engine.log("sip_connect_failed", transport=transport, to=f"{addr[0]}:{addr[1]}")
                self._run(self.ua.transport_failed(addr, self._s()))
            return
        try:
            self.sock.sendto(data, addr)
        except OSError as exc:  # an unreachable peer is the transaction's timeout to report, not a crash
            self.engine.log("sip_send_error", to=f"{addr[0]}:{addr[1]}", error=exc.errno)

    def close(self):
        """Close the sockets and connections (after the engine has cleared every leg)."""
        if self.sock is not None:
            self.sock.close()
        for st in self.streams.values():
            st.close()

    def status(self):
        """Return the SIP side for the status file: address, calls up per trunk (or phones, guests), the
        phones registered now, and the counters."""
        t = self._s()
        up = {}
        for sess in self.sessions.values():
            up[sess.peer] = up.get(sess.peer, 0) + 1
        phones = sorted(u for u in self.accounts if self.ua.registrar.lookup(u, t))
        transports = {"udp": self.address[1]} if self.sock is not None else {}
        transports.update({name.lower(): st.address[1] for name, st in self.streams.items()})
        connections = {name.lower(): len(set(st.connections.values())) for name, st in self.streams.items()}
        return {"address": f"{self.address[0]}:{self.address[1]}", "transports": transports,
                "connections": connections, "trunks": dict(self.trunk_state), "calls": up, "registered": phones,
                **self.stats}

    def leaks(self):
        """Return one line per SIP call held with no leg that is up or clearing."""
        return [f"SIP call {s.call_id} on row {s.row} has no leg" for s in self.sessions.values()
                if not s.leg.active]

    # --- who may call -----------------------------------------------------------------------------
    def _trunk_of(self, source):
        for p in self.peers.values():
            if p.accept and p.host == source[0]:
                return p.name
        return None

    def _trusted(self, source):
        return self.guests or self._trunk_of(source) is not None

    # --- user agent events -> legs ----------------------------------------------------------------
    def _run(self, outputs):
        eng, now = self.engine, self.engine.now
        for item in outputs:
            if isinstance(item, U.Send):
                self._send(item.data, item.addr, item.transport)
            elif isinstance(item, U.IncomingCall):
                self._incoming(item, now)
            elif isinstance(item, U.CallProgress):
                s = self.sessions.get(item.call_id)
                if s is not None and s.leg.state == C.DIALING and item.status in (180, 183):
                    s.leg.state = C.ALERTING
                    eng.leg_alerting(s.leg, now)
            elif isinstance(item, U.CallAnswered):
                self._answered(item, now)
            elif isinstance(item, U.CallConfirmed):
                s = self.sessions.get(item.call_id)
                if s is not None and item.late and not s.bye_pending:
                    self._late_answer(s, item.answer)
                if s is not None and s.bye_pending:
                    s.bye_pending = False
                    self._run(self.ua.bye(s.call_id, self._s(), reason=causes.reason_header(s.clear_cause)))
            elif isinstance(item, U.SessionUpdated):
                self._updated(item)
            elif isinstance(item, U.InfoReceived):
                self._info(item, now)
            elif isinstance(item, U.TransferRequested):
                self._transfers.append(item)  # acted on after this batch is sent (202 and 100 Trying first)
            elif isinstance(item, (U.CallFailed, U.CallCancelled, U.CallEnded)):
                self._over(item, now)
            elif isinstance(item, U.PhoneRegistered):
                eng.log("sip_register", user=item.user, contacts=len(item.contacts))
            elif isinstance(item, U.Registered):
                eng.log("sip_registered", aor=item.aor, expires=item.expires)
            elif isinstance(item, U.RegistrationFailed):
                eng.log("sip_registration_failed", aor=item.aor, status=item.status)
            elif isinstance(item, (U.PeerUp, U.PeerDown)):
                self._trunk_reached(item)
            elif isinstance(item, U.AuthFailed):
                eng.log("sip_auth_failed", source=f"{item.source[0]}:{item.source[1]}", blocked=item.blocked)

    def _trunk_reached(self, ev):
        """An OPTIONS keepalive trunk answered again or stopped answering: log it and keep its state."""
        state = "up" if isinstance(ev, U.PeerUp) else "down"
        for p in self.peers.values():
            if p.keepalive and (p.host, p.port) == tuple(ev.addr):
                self.trunk_state[p.name] = state
                self.engine.log(f"sip_trunk_{state}", trunk=p.name)

    def _incoming(self, ev, now):
        t = self._s(now)
        d = self.ua.dialogs[ev.call_id]
        peer = self._trunk_of(d.remote_addr) or ("guest" if self.guests else "phone" if self.accounts else None)
        if peer is None:  # no trunk's address, no guests, no accounts to authenticate against: nobody may call
            self.stats["refused"] += 1
            self._run(self.ua.reject(ev.call_id, 403, t, reason=causes.reason_header(C.CALL_REJECTED)))
            return
        replacing = None
        if ev.replaces is not None:
            replacing = self._replacing(ev, t)
            if replacing is None:
                return
            if replacing[1] is None:
                return self._pick_up(ev, d, replacing[0], peer, t)
        limit = self.peers[peer].channels if peer in self.peers else 0
        full = limit and sum(1 for s in self.sessions.values() if s.peer == peer) >= limit
        got = None if full or not self.engine.accepting else self.engine.packet.allocate()
        if got is None:
            self.stats["refused"] += 1
            cause = C.NO_CIRCUIT if self.engine.accepting else C.TEMPORARY_FAILURE
            self._run(self.ua.reject(ev.call_id, 503, t, reason=causes.reason_header(cause)))
            return
        channel, row = got
        media = _media_plan(ev.offer, self._voice) or self._own_offer
        key = _offered_key(ev.offer, self.srtp)
        if key is not None:  # our answer carries our key for the row under the offer's tag (the UA writes it)
            d.extra["crypto"] = self.engine.packet.local_crypto(row, key.split(" ")[0])
            self.stats["srtp_calls"] += 1
        elif ev.offer is None and self.srtp != "off":  # a late offer: ours, in the 2xx, carries our key
            d.extra["crypto"] = self.engine.packet.local_crypto(row)
        local = self.engine.packet.open(row, **media, dtmf_pt=_events_pt(ev.offer), local_host=self.host, latch=True,
                                        srtp=key)
        s = _Session(ev.call_id, channel, row, peer, port=local[1], remote_events=_has_events(ev.offer),
                     remote_crypto=key)
        self.sessions[ev.call_id] = s
        self.stats["calls_in"] += 1
        caller, name, presentation = _identity(ev.request)
        leg = self.engine.new_leg(self, channel, "in", caller=caller, caller_name=name,
                                  called=ev.request.uri.user or "")
        leg.presentation = presentation
        s.leg = leg
        self._by_leg[leg.id] = s
        leg.state = C.OFFERED
        self.engine.log("sip_invite", leg=leg.id, peer=peer, call=ev.call_id)
        if replacing is not None:
            return self._replace(leg, replacing)
        self._run(self.ua.ring(ev.call_id, t))
        self.engine.leg_offered(leg, now)

    def _answered(self, ev, now):
        s = self.sessions.get(ev.call_id)
        if s is None:
            return
        s.answered = True
        self._ringing.pop(s.call_id, None)
        media = _media_plan(ev.answer, self._voice)
        key = _answered_key(ev.answer, self.srtp)
        if media is not None and key is False:  # we required SRTP and the answer has no key we can use
            media = None
        if media is None:  # an answer we cannot use ends the call (RFC 3264 leaves no way back)
            s.clear_cause = Cause.BEARER_CAPABILITY_NOT_IMPLEMENTED
            s.leg.clearing_since = self.engine.now
        else:
            if key:
                s.remote_crypto = key
                self.stats["srtp_calls"] += 1
            self.engine.packet.update(s.row, **media, srtp=key or None)
            s.remote_events = _has_events(ev.answer)
        if s.leg.clearing:  # we asked to cancel and the 200 crossed it, or the answer is unusable: BYE
            reason = causes.reason_header(s.clear_cause or C.NORMAL_CLEARING)
            self._run(self.ua.bye(s.call_id, self._s(now), reason=reason))
            return
        self.engine.leg_answered(s.leg, now)

    def _late_answer(self, s, answer):
        """The ACK's answer to the offer our 2xx made for an INVITE without SDP (RFC 3261 13.2.1): the row takes
        the far end's address, codec and key. Under "require" an answer with no key we can use (or none at
        all) ends the call with BYE and cause 65, as for an answer to our own INVITE."""
        media = _media_plan(answer, self._voice)
        key = _answered_key(answer, self.srtp) if self.srtp != "off" else None
        if key is False or (media is None and self.srtp == "require"):
            self.engine.log("sip_late_answer_refused", leg=s.leg.id, why="no_key" if media else "no_answer")
            return s.leg.hangup(Cause.BEARER_CAPABILITY_NOT_IMPLEMENTED)
        if media is None:  # no usable answer: the row keeps latching on what arrives
            return
        if key:
            s.remote_crypto = key
            self.stats["srtp_calls"] += 1
        self.engine.packet.update(s.row, **media, srtp=key or None)
        s.remote_events = _has_events(answer)

    def _updated(self, ev):
        s = self.sessions.get(ev.call_id)
        media = _media_plan(ev.offer, self._voice)
        if s is None or media is None:
            return
        direction = next((m.direction for m in ev.answer.media if m.media == "audio" and m.port), "sendrecv")
        key = _offered_key(ev.offer, self.srtp) if s.remote_crypto else None
        if key == s.remote_crypto:  # the same key goes on (a new context would restart the rollover counter)
            key = None
        elif key is not None:
            s.remote_crypto = key
        self.engine.packet.update(s.row, direction=direction, srtp=key, **media)
        self.engine.log("sip_reinvite", leg=s.leg.id, direction=direction)

    def _info(self, ev, now):
        """A key press sent by INFO (application/dtmf-relay 'Signal=5', or application/dtmf '5'), as some phones
        do instead of RFC 4733: it joins the leg's digits like any other."""
        s = self.sessions.get(ev.call_id)
        kind = (ev.content_type or "").split(";")[0].strip().lower()
        if s is None or kind not in ("application/dtmf-relay", "application/dtmf"):
            return
        text = bytes(ev.body).decode("ascii", "replace")
        m = _SIGNAL.search(text) if kind == "application/dtmf-relay" else _BARE_DIGIT.fullmatch(text.strip())
        if m is None:
            return
        digit = m.group(1).upper()
        s.leg.digits += digit
        self.engine.log("dtmf", leg=s.leg.id, digit=digit, via="info")
        self.engine._notify("on_leg_digit", s.leg)

    def _transfer(self, ev):
        """A REFER from a leg (RFC 3515): with Replaces naming one of our calls it is an attended transfer
        (``_attended``); else blind: the party it talks to is moved to the target and the referring leg is
        cleared. The target is the Refer-To user: a phone registered here (dialled as 'sip/USER'), else
        whatever the router gives a call to that number (an IVR, a queue, a gateway route to an outside
        number). The party's old script (the one holding the bridge) is stopped and the new one runs on the
        same call, so the call keeps one CDR. Progress goes back by NOTIFY (sipfrag)."""
        s = self.sessions.get(ev.call_id)
        if s is None or ev.target is None:  # an INVITE with Replaces: dealt with when it came in (_incoming)
            self._waiting.pop(ev.call_id, None)
            return
        if ev.replaces is not None:
            return self._attended(s, ev)
        t = self._s()
        task, party = bridge_of(self.engine.scheduler, s.leg)
        number = _user_of(ev.target)
        script = None if not _up(party) or not number else self._script_for(party, number)
        if script is None:
            why = "no_party" if not _up(party) else "no_route"
            self.engine.log("sip_transfer_refused", leg=s.leg.id, why=why, to=number or "-")
            return self._run(self.ua.notify_transfer(s.call_id, 404 if why == "no_route" else 503, t))
        self.engine.log("sip_transfer", leg=s.leg.id, party=party.id, to=number)
        self._run(self.ua.notify_transfer(s.call_id, 200, t))  # before the BYE that clearing the leg sends
        party.call.vars["transfer"] = "blind"
        self._take_over(party, task, script, s.leg)
        if s.leg.active:
            s.leg.hangup(C.NORMAL_CLEARING)

    def _attended(self, s, ev):
        """A REFER with Replaces (attended transfer, RFC 3515 with RFC 3891): the Replaces names another call
        of ours from the referrer (its consultation). The party the referring leg talks to is joined with the
        party the consultation leg talks to, that party's leg moves into the first call (whose CDR follows the
        caller and notes the transfer), and both of the referrer's legs are cleared. NOTIFY 200 once joined;
        a Replaces naming no call of ours gets the RFC 3891 status (481, 603, 486) and one whose legs are not
        both talking to someone 503, and the calls go on."""
        t = self._s()
        other_id, status = self.ua.replaced_dialog(ev.replaces)
        other = self.sessions.get(other_id)
        task, party = bridge_of(self.engine.scheduler, s.leg)
        held, target = bridge_of(self.engine.scheduler, other.leg) if other is not None else (None, None)
        why = ("no_call" if other is None else "same_call" if other is s else "no_party" if not _up(party)
               else "no_target" if not _up(target) or target is party else None)
        if why is not None and self._later(ev, why, other, t):
            return
        self._waiting.pop(ev.call_id, None)
        phone = _user_of(ev.target)
        if why == "no_call" and status == 481 and _up(party) and self.ua.registrar.lookup(phone, t):
            return self._transferee(s, ev, party, task, phone)
        if why is not None:
            self.engine.log("sip_transfer_refused", leg=s.leg.id, why=why, to="-")
            return self._run(self.ua.notify_transfer(s.call_id, status or (481 if other is None else 503), t))
        self.engine.log("sip_transfer", leg=s.leg.id, party=party.id, to=target.id, replaces=other.leg.id)
        self._run(self.ua.notify_transfer(s.call_id, 200, t))
        call, consultation = party.call, target.call
        if consultation is not call:
            consultation.legs.remove(target)
            call.legs.append(target)
            target.call = call
        call.vars["transfer"] = "attended"
        consultation.vars["transfer"] = "consultation"
        self._stop(held, (other.leg, target))
        self.engine.media.isolate(target.row)
        self._take_over(party, task, _bridged_to(target), s.leg)
        for leg in (s.leg, other.leg):
            if leg.active:
                leg.hangup(C.NORMAL_CLEARING)

    def _transferee(self, s, ev, party, task, phone):
        """A REFER with Replaces naming a dialog that is not ours: the referrer consulted a phone registered here
        directly. As the transferee (RFC 5589) we call that phone with the Replaces (RFC 3891), so it swaps its
        call with the referrer for ours, and the party talks to it once it answers. NOTIFY carries the outcome
        (200, or the failure's status); on success the referrer's leg is cleared, on failure the party goes
        back to the referrer."""
        self.engine.log("sip_transfer", leg=s.leg.id, party=party.id, to=phone, replaces="theirs")
        self._replaces_out[phone] = ev.replaces
        referrer, target = s.leg, f"{self.name}/{phone}"

        async def call_phone(call):
            result = await call.dial(target, timeout=self.ring_seconds)
            answered = result.outcome == "answered"
            self._notify_final(s.call_id, 200 if answered else causes.status_of_cause(result.cause or C.NO_ANSWER))
            if answered:
                call.vars["transfer"] = "attended"
                if referrer.active:
                    referrer.hangup(C.NORMAL_CLEARING)
                await call.bridge(result.leg)
            elif referrer.active and not referrer.clearing:
                await call.bridge(referrer)

        self._take_over(party, task, call_phone, s.leg)

    def _notify_final(self, call_id, status):
        """Send a REFER's final NOTIFY when its dialog still waits for one."""
        d = self.ua.dialogs.get(call_id)
        if d is not None and "refer" in d.extra:
            self._run(self.ua.notify_transfer(call_id, status, self._s()))

    def _later(self, ev, why, other, t):
        """Return True, keeping a REFER with Replaces for the next tick, while what it lacks may still come: a
        bridge the scripts make at the end of this tick (for a second), or the consultation's target still
        ringing (a transfer before the target answers waits for the answer)."""
        ringing = why == "no_target" and any(
            leg.active and leg.direction == "out" and leg.state in (C.DIALING, C.PROCEEDING, C.ALERTING)
            for leg in other.leg.call.legs)
        if ringing:  # the second of grace starts once it answers
            self._waiting[ev.call_id] = t
        since = self._waiting.setdefault(ev.call_id, t)
        if why in ("no_party", "no_target") and t - since < 1.0:
            self._transfers.append(ev)
            return True
        return False

    def _replacing(self, ev, t):
        """Return (old session, party, bridge task) when an INVITE with Replaces can take the old leg's place
        (a party is bridged to it), else None after declining the INVITE with 603 (RFC 3891 3 lets a UA
        decline; nothing would be there to talk to)."""
        old = self.sessions.get(ev.replaces)
        if old is not None and old.outgoing and not old.answered and _up(old.leg):
            return old, None, None  # our INVITE still rings: the new call picks it up (_pick_up)
        task, party = bridge_of(self.engine.scheduler, old.leg) if old is not None else (None, None)
        if _up(party):
            return old, party, task
        self.stats["refused"] += 1
        self.engine.log("sip_replaces_refused", call=ev.call_id, why="no_party")
        self._run(self.ua.reject(ev.call_id, 603, t, reason=causes.reason_header(C.CALL_REJECTED)))
        return None

    def _pick_up(self, ev, d, old, peer, t):
        """An INVITE with Replaces naming our own INVITE while it still rings (a call pickup; RFC 3891 3: accept
        it, CANCEL the old one): the new caller answers our leg in the callee's place. The leg, its packet row
        and whoever waits on it (a dial, the ACD ringing an agent) stay as they are; only the SIP dialog under
        the leg changes, and the leg is answered."""
        leg = old.leg
        key = _offered_key(ev.offer, self.srtp)
        if key is not None:
            d.extra["crypto"] = self.engine.packet.local_crypto(old.row, key.split(" ")[0])
            self.stats["srtp_calls"] += 1
        elif ev.offer is None and self.srtp != "off":
            d.extra["crypto"] = self.engine.packet.local_crypto(old.row)
        self.sessions.pop(old.call_id, None)  # its CANCEL (or the BYE of a crossing 2xx) ends no leg now
        self._ringing.pop(old.call_id, None)
        self._run(self.ua.hang_up(old.call_id, t, reason=causes.reason_header(Cause.NON_SELECTED_USER_CLEARING)))
        s = _Session(ev.call_id, old.channel, old.row, peer, leg=leg, port=old.port, answered=True,
                     remote_events=_has_events(ev.offer), remote_crypto=key)
        self.sessions[ev.call_id] = s
        self._by_leg[leg.id] = s
        self.stats["calls_in"] += 1
        media = _media_plan(ev.offer, self._voice)
        if media is not None:
            self.engine.packet.update(old.row, **media, srtp=key)
        self.engine.log("sip_pickup", leg=leg.id, old=old.call_id, call=ev.call_id)
        self._run(self.ua.answer(ev.call_id, t, port=s.port))
        self.engine.leg_answered(leg, self.engine.now)

    def _replace(self, leg, replacing):
        """An INVITE with Replaces naming a call of ours (RFC 3891 3): the new leg takes the old leg's place
        in the old leg's party's call, talking to that party; it is answered, and the old leg is cleared (BYE;
        an ACD agent's leg so ended goes to wrap-up)."""
        old, party, task = replacing
        call = party.call
        call.legs.append(leg)
        leg.call = call
        call.vars["transfer"] = "replaced"
        self.engine.log("sip_replaces", leg=leg.id, old=old.leg.id, party=party.id, call=call.id)
        self.answer(leg)
        self._take_over(party, task, _bridged_to(leg), old.leg)
        if old.leg.active:
            old.leg.hangup(C.NORMAL_CLEARING)

    def _stop(self, task, legs):
        """Stop a script's bridge task without the clearing its bridge does on the way out (the caller says
        which legs go), and take it off the scripts of the legs' calls."""
        if task is None or task.finished:
            return
        task.op = None  # killed with its op, the bridge would clear its other leg
        self.engine.scheduler.kill(task)
        for leg in legs:
            if leg.call is not None and task in leg.call.scripts:
                leg.call.scripts.remove(task)

    def _take_over(self, party, task, script, leaving):
        """Run script on party's call in place of the script bridge task that held party with the leaving leg:
        the old script ends (nobody is cleared by it), the call and its one CDR go on."""
        self._stop(task, (party, leaving))
        if party.keeper is not None and party.keeper is not self.engine:
            party.keeper = None  # the new script is the party's owner now (an ACD must not clear it)
        self.engine.media.isolate(party.row)
        self.engine.start_script(party, script)

    def _script_for(self, party, number):
        """Return the script that takes a transferred party to number: ringing the phone registered as
        number, else the router's script for a call to number (None when it has none)."""
        if number in self.accounts or self.ua.registrar.lookup(number, self._s()):
            target = f"{self.name}/{number}"

            async def to_phone(call):
                await call.transfer(target, timeout=self.ring_seconds)
            return to_phone
        if self.engine.router is None:
            return None
        called, party.called = party.called, number  # the router reads the number dialled
        try:
            return self.engine.router(party)
        finally:
            party.called = called

    def _over(self, ev, now):
        s = self.sessions.pop(ev.call_id, None)
        if s is None:
            return
        told = causes.cause_of_reason([ev.reason] if getattr(ev, "reason", None) else [])
        if isinstance(ev, U.CallFailed):
            cause = s.clear_cause or told or causes.cause_of_status(ev.status)
        elif isinstance(ev, U.CallEnded) and ev.by == "local":
            # our BYE was answered; or, when we never asked, the user agent ended the dialog itself because
            # an in-dialog request timed out (a session refresh nobody answered, RFC 3261 12.2.1.2)
            cause = s.clear_cause or C.RECOVERY_ON_TIMER_EXPIRY
        elif isinstance(ev, U.CallEnded) and ev.by == "expired":  # no session refresh came (RFC 4028 10)
            cause = C.RECOVERY_ON_TIMER_EXPIRY
        else:  # a BYE or CANCEL from the far end
            cause = told or C.NORMAL_CLEARING
        self._finish(s, cause, now)

    def _finish(self, s, cause, now):
        self._by_leg.pop(s.leg.id, None)
        self._ringing.pop(s.call_id, None)
        self.engine.packet.release(s.row)
        self.engine.leg_ended(s.leg, cause, now)

    # --- engine commands --------------------------------------------------------------------------
    def idle_line(self):
        """Return a free packet row's channel (claimed for the leg engine.originate makes next), or None."""
        got = self.engine.packet.allocate()
        return None if got is None else got[0]

    def on_event(self, ev, line, now):
        """Packet rows have no board events."""

    def alert(self, leg):
        """An incoming call already rings (180 went out when it was offered)."""

    def answer(self, leg):
        """Send 200 with our SDP answer (the packet row's address)."""
        s = self._by_leg.get(leg.id)
        if s is None or s.answered:
            return
        s.answered = True
        self._run(self.ua.answer(s.call_id, self._s(), port=s.port))
        self.engine.leg_answered(leg, self.engine.now)

    def hangup(self, leg, cause):
        """Clear a leg: a final status while it rings here, CANCEL while we dial, BYE once up."""
        s = self._by_leg.get(leg.id)
        if s is None:
            return
        if s.clear_cause is not None:
            return
        s.clear_cause = cause
        t = self._s()
        reason = causes.reason_header(cause)
        d = self.ua.dialogs.get(s.call_id)
        if d is None:
            return
        if not s.outgoing and not s.answered:
            status = causes.status_of_cause(cause)
            # refused by overload control: 503 tells the peer when to try again (RFC 3261 21.5.4, 20.33)
            later = (("Retry-After", str(OVERLOAD_RETRY_AFTER)),) if status == 503 and cause in OVERLOAD_CAUSES else ()
            self._run(self.ua.reject(s.call_id, status, t, reason=reason, headers=later))
            self.sessions.pop(s.call_id, None)
            self._finish(s, cause, self.engine.now)
        elif not s.outgoing and d.state != "confirmed":
            s.bye_pending = True  # our 2xx is out and its ACK not in: the BYE follows the ACK (RFC 3261 15)
        else:
            self._run(self.ua.hang_up(s.call_id, t, reason=reason))

    def originate(self, leg, number, now):
        """Place the INVITE: number is 'TRUNK/NUMBER' (a configured trunk) or 'USER' (a registered phone)."""
        t = self._s(now)
        trunk, _, digits = number.partition("/")
        auth = replaces = None
        if digits:
            p = self.peers.get(trunk)
            if p is None:
                return self._fail(leg, C.UNALLOCATED_NUMBER, f"no SIP trunk {trunk}")
            if p.channels and sum(1 for s in self.sessions.values() if s.peer == trunk) >= p.channels:
                return self._fail(leg, C.NO_CIRCUIT, f"SIP trunk {trunk} is full")
            if self.trunk_state.get(trunk) == "down":  # its keepalive is unanswered: fail now, not after timer B
                return self._fail(leg, C.NETWORK_OUT_OF_ORDER, f"SIP trunk {trunk} is down")
            target, addr, peer = p.uri(p.dial_string(digits)), (p.host, p.port), trunk
            auth = (p.username, p.password) if p.username and p.password else None
            leg.called = digits
        else:
            if not self.ua.registrar.lookup(trunk, t):
                cause = Cause.SUBSCRIBER_ABSENT if trunk in self.accounts else C.UNALLOCATED_NUMBER
                return self._fail(leg, cause, f"no phone registered as {trunk}")
            target, addr, peer = f"sip:{trunk}@{self.address[0]}", None, f"phone:{trunk}"
            replaces = self._replaces_out.pop(trunk, None)
        local = self.engine.packet.open(leg.row, **self._own_offer, local_host=self.host, latch=True)
        offer = S.make_offer(self.host, local[1], self.ua.codecs)
        if self.srtp != "off":
            offer.media[0] = S.secure(offer.media[0], self.engine.packet.local_crypto(leg.row), self.srtp)
        from_user, display, headers = _caller_of(leg, self.domain)
        call_id, outputs = self.ua.invite(target, t, addr, from_user=from_user, display=display, headers=headers,
                                          sdp=offer, auth=auth, replaces=replaces)
        s = _Session(call_id, leg.channel, leg.row, peer, leg=leg, outgoing=True, port=local[1],
                     rings_until=t + self.ring_seconds)
        self.sessions[call_id] = s
        self._by_leg[leg.id] = s
        self._ringing[call_id] = s
        self.stats["calls_out"] += 1
        leg.state = C.DIALING
        self.engine.log("sip_invite_out", leg=leg.id, peer=peer, call=call_id)
        self._run(outputs)

    def _fail(self, leg, cause, why):
        self.engine.log("sip_originate_failed", leg=leg.id, why=why.replace(" ", "_"))
        self.engine.packet.release(leg.row)
        self.engine.leg_ended(leg, cause, self.engine.now)

    def on_digit(self, leg, digit, now):
        """A digit heard on a SIP leg (RFC 4733 or in-band): nothing to signal; scripts read leg.digits."""

    def send_digit(self, leg, digit):
        """Send a digit to the far end as an RFC 4733 event when it takes them (else the tone in the audio is
        all it gets)."""
        s = self._by_leg.get(leg.id)
        if s is not None and s.remote_events and self.engine.packet.is_open(s.row):
            self.engine.packet.send_digit(s.row, digit)

    def sends_events(self, leg):
        """Return True when the leg's far end negotiated RFC 4733 telephone-events (its digits come as events)."""
        s = self._by_leg.get(leg.id)
        return s is not None and s.remote_events


def tls_options(x, place, data):
    """Return SipTrunk's TLS keyword arguments for a [sip] section x: the server context from tls_cert and
    tls_key (placed by place()), else a self-signed certificate in the data folder; the client context
    checks peers against tls_ca, else the system's CAs. Empty without "tls" in x.transports."""
    if "tls" not in x.transports:
        return {}
    cert, key = (place(x.tls_cert), place(x.tls_key)) if x.tls_cert else self_signed(data, x.public_host or x.listen)
    try:
        client = ssl.create_default_context(cafile=place(x.tls_ca) if x.tls_ca else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"sip.tls_ca: cannot load {x.tls_ca}: {getattr(exc, 'strerror', None) or exc}") from None
    client.minimum_version = ssl.TLSVersion.TLSv1_2
    return {"tls_port": x.tls_port, "server_ssl": server_context(cert, key), "client_ssl": client}


SRTP_POLICIES = ("off", "offer", "require")
_LAWS = {"PCMU": "ulaw", "PCMA": "alaw", "G722": "g722"}


def _codec_plan(names):
    """Return (our SDP codecs, the voice names we take, packet.open arguments for our own offer) for the voice
    codec names of [sip] codecs; ConfigError names the key for an unknown codec or one the packet rows
    cannot carry (G722 without the g722 extra)."""
    try:
        codecs = S.codecs_named(list(names))
    except ValueError as exc:
        raise ConfigError(f"sip.codecs: {exc}") from None
    voice = [c.name for c in codecs if c.name in _LAWS]
    if "G722" in voice and not g722.AVAILABLE:
        raise ConfigError(f"sip.codecs: {g722.MISSING}")
    first = codecs[0]
    return codecs, frozenset(voice), {"remote": None, "payload_type": first.pt, "law": _LAWS[first.name]}


def _user_of(target):
    """Return the user part of a Refer-To target (else its host), or None when it does not parse."""
    try:
        uri = parse_uri(target)
    except DecodeError:
        return None
    return uri.user or uri.host


def _up(leg):
    """Return True for a leg that is there to talk to (not ended, not being cleared)."""
    return leg is not None and leg.active and not leg.clearing


def _bridged_to(other):
    """Return a script that talks to other until either hangs up (a transferred party's new script)."""
    async def joined(call):
        await call.bridge(other)
    return joined


def _media_plan(sd, voice):
    """Return packet.open/update arguments for a remote description (its address, its first voice codec among
    the names we take), or None."""
    if sd is None:
        return None
    got = S.negotiated(sd, voice)
    if got is None:
        return None
    pt, name = got
    m = next(m for m in sd.media if m.media == "audio" and m.port)
    addr = sd.connection_address(m)
    remote = None if addr in (None, "0.0.0.0", "::") else (addr, m.port)
    return {"remote": remote, "payload_type": pt, "law": _LAWS.get(name.upper(), "ulaw")}


def _audio(sd):
    return next((m for m in (sd.media if sd is not None else ()) if m.media == "audio" and m.port), None)


def _offered_key(sd, policy):
    """Return the far end's key ("SUITE inline:KEY") an offer's audio is taken with under policy, or None
    for plain RTP (an offer the policy refuses never reaches here: the user agent answered it 488)."""
    m = _audio(sd)
    chosen = S.srtp_choice(m, policy) if m is not None else None
    return f"{chosen.suite} {chosen.key_params}" if chosen else None


def _answered_key(sd, policy):
    """Return the far end's key in an answer to our offer, None for plain RTP, or False when policy
    requires SRTP and the answer has no key we can use."""
    m = _audio(sd)
    usable = m is not None and next((c for c in m.crypto if c.suite in S.SRTP_SUITES), None)
    if usable:
        return f"{usable.suite} {usable.key_params}"
    return False if policy == "require" else None


def _events_pt(sd, default=101):
    """Return the payload type a description gives RFC 4733 telephone-events (the offerer's number rules)."""
    for m in (sd.media if sd is not None else ()):
        if m.media == "audio" and m.port:
            for pt, (name, clock) in m.rtpmap.items():
                if name.lower() == "telephone-event" and clock == 8000:
                    return pt
    return default


def _has_events(sd):
    return sd is not None and any(name.lower() == "telephone-event" for m in sd.media if m.port
                                  for name, _ in m.rtpmap.values())


def _identity(request):
    """Return (number, display name, presentation) of a caller: P-Asserted-Identity (RFC 3325) when present,
    else From; 'Privacy: id' (RFC 3323) makes it restricted (1); an anonymous From with no asserted identity
    has no number."""
    addr = request.from_
    asserted = request.headers.get("P-Asserted-Identity")
    if asserted:
        try:
            addr = parse_address(str(asserted).split(",")[0])
        except DecodeError:
            pass
    user = addr.uri.user or ""
    private = "id" in [p.strip().lower() for p in str(request.headers.get("Privacy") or "").split(";")]
    if user.lower() == "anonymous":
        user = ""
    return user, addr.display_name or "", 1 if private else 0


def _caller_of(leg, domain):
    """Return (From user, display name, headers) presenting an outgoing leg's caller: the number in From and
    P-Asserted-Identity (RFC 3325), or, withheld, 'anonymous' in From with 'Privacy: id' (RFC 3323) so the
    asserted number goes no further than a trusted next hop."""
    if not leg.caller:
        return "anonymous", None, [("Privacy", "id")]
    asserted = ("P-Asserted-Identity", f"<sip:{leg.caller}@{domain}>")
    if leg.presentation:
        return "anonymous", None, [asserted, ("Privacy", "id")]
    return leg.caller, _quoted(leg.caller_name), [asserted]


def _quoted(name):
    """Return a display name as a quoted string (RFC 3261 25.1), or None."""
    if not name:
        return None
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
