"""The user agent's REGISTER both ways and its OPTIONS keepalive (mixed into ``UserAgent``), sans-IO.

- **Registrar side**: a REGISTER is challenged with digest like an INVITE (the UA's ``credentials``; with
  none configured, 403: the registrar never binds a phone without credentials), then handed to
  ``ua.registrar`` (``pycallcenter.sip.registrar.Registrar``); bindings that expire are dropped on a timer
  and reported as ``PhoneRegistered(user, ())``.
- **Client side**: ``register(aor, registrar_addr, expires, now)`` keeps one Call-ID per AOR with rising
  CSeq (RFC 3261 10.2.4), answers 401/407 with the UA's (or the given) credentials, retries a 423 with the
  registrar's Min-Expires, and refreshes before the granted expiry (at half of it, or a minute before for
  long ones). Events: ``Registered``, ``RegistrationFailed``.
- **Keepalive**: ``keepalive(addr, interval, now)`` sends OPTIONS every interval; any response means the
  peer is up, a timeout (timer F) that it is down; ``PeerUp``/``PeerDown`` on each change.
"""
from pycallcenter.errors import DecodeError, LocalProtocolError
from pycallcenter.sip.events import PeerDown, PeerUp, PhoneRegistered, Registered, RegistrationFailed
from pycallcenter.sip.message import make_request, parse_uri


class RegistrationMixin:
    """REGISTER as registrar and as client, and OPTIONS keepalive, for UserAgent."""

    # registrar side

    def on_register(self, request, key, now, source):
        """Answer a REGISTER: challenge, then bind through the registrar; returns outputs."""
        if self.digest is None:
            return self._respond(request, key, 403, now, to_tag=self._token(),
                                 headers=[("Warning", '399 pycallcenter "no accounts: registration refused"')])
        user, refused = self._authenticate(request, key, now, source)
        if user is None:
            return refused
        status, headers, changed = self.registrar.register(request, user, source, now)
        extra = [("Min-Expires", v) for n, v in headers if n == "Min-Expires"]
        if status == 423:
            headers = extra
        out = self._respond(request, key, status, now, to_tag=self._token(), headers=headers)
        if changed:
            out.append(PhoneRegistered(user, tuple(self.registrar.lookup(user, now))))
        expiry = self.registrar.next_expiry()
        if expiry is not None:
            self.timers.start("registrar", "expire", expiry)
        return out

    def expire_timer(self, owner, now):
        """Drop expired bindings; returns PhoneRegistered(user, ()) for each user left without one."""
        out = [PhoneRegistered(user, ()) for user in self.registrar.expire(now)]
        expiry = self.registrar.next_expiry()
        if expiry is not None:
            self.timers.start("registrar", "expire", expiry)
        return out

    # client side

    def register(self, aor, registrar_addr, expires, now, auth=None):
        """REGISTER our contact for aor (a SIP URI text) at registrar_addr for expires seconds (0 removes the
        binding); returns outputs. Refreshes follow on their own until expires is 0 or a refusal."""
        uri = parse_uri(aor)
        state = self.registrations.get(aor)
        if state is None:
            state = {"call_id": f"{self._token(8)}@{self.local_addr[0]}", "tag": self._token(), "cseq": 0}
            self.registrations[aor] = state
        state.update(addr=registrar_addr, expires=expires, auth=auth, tries=0)
        self.timers.cancel(("reg", aor), "refresh")
        return self._send_register(aor, state, expires, now)

    def _send_register(self, aor, state, expires, now, extra=()):
        uri = parse_uri(aor)
        state["cseq"] += 1
        transport = uri.param("transport")  # the AOR's transport is how the registrar is reached (TCP, TLS)
        registrar_uri = parse_uri(f"{uri.scheme}:{uri.host}" + (f":{uri.port}" if uri.port else "") +
                                  (f";transport={transport}" if transport else ""))
        request = make_request("REGISTER", registrar_uri, via=self._via(), from_=f"<{aor}>;tag={state['tag']}",
                               to=f"<{aor}>", call_id=state["call_id"], cseq=state["cseq"],
                               contact=self._contact(uri.user), headers=[("Expires", expires)] + list(extra))
        return self._start_client(request, ("reg", aor), state["addr"], now)

    def refresh_timer(self, owner, now):
        """Refresh a registration before it expires."""
        state = self.registrations.get(owner[1])
        if state is None:
            return []
        return self._send_register(owner[1], state, state["expires"], now)

    def _on_register_response(self, aor, request, response, now):
        state = self.registrations.get(aor)
        status = response.status
        if state is None or status < 200:
            return []
        if status in (401, 407):
            state["cseq"] = request.cseq.number
            retried = self._retry_with_auth(("reg", aor), None, request, response, now, auth=state["auth"],
                                            addr=state["addr"], cseq=state["cseq"] + 1)
            if retried is not None:
                state["cseq"] += 1
                return retried
        self._auth_tries.pop((("reg", aor), "REGISTER"), None)
        if status == 423 and "Min-Expires" in response.headers and state["tries"] == 0:
            try:
                state["expires"] = int(response.headers.get("Min-Expires"))
            except ValueError:
                pass
            else:
                state["tries"] = 1
                return self._send_register(aor, state, state["expires"], now)
        if status >= 300:
            del self.registrations[aor]
            return [RegistrationFailed(aor, status)]
        granted = self._granted(request, response, state["expires"])
        contacts = tuple(str(c.uri) for c in _contacts(response))
        if granted <= 0:
            del self.registrations[aor]
            return [Registered(aor, 0, contacts)]
        state["tries"] = 0
        self.timers.start(("reg", aor), "refresh", now + max(granted / 2, granted - 60))
        return [Registered(aor, granted, contacts)]

    @staticmethod
    def _granted(request, response, asked):
        """Return the expiry the registrar granted our contact (its Contact expires, else Expires, else what
        we asked for, RFC 3261 10.2.4)."""
        ours = request.contact[0].uri
        for c in _contacts(response):
            if (c.uri.user, c.uri.host, c.uri.port) == (ours.user, ours.host, ours.port) and c.param("expires"):
                try:
                    return int(c.param("expires"))
                except ValueError:
                    break
        try:
            return int(response.headers.get("Expires", asked))
        except ValueError:
            return asked

    # keepalive

    def keepalive(self, addr, interval, now, transport="UDP"):
        """Ping addr with OPTIONS every interval seconds over transport ("UDP", or "TCP"/"TLS": on the
        connection to addr, opened when there is none, so a peer that closes it or refuses a new one is
        down at once); returns outputs (the first ping goes now)."""
        if interval <= 0:
            raise LocalProtocolError("keepalive interval must be positive")
        self.keepalives[addr] = {"interval": interval, "up": None, "transport": transport.upper()}
        return self.ping_timer(("ka", addr), now)

    def stop_keepalive(self, addr):
        """Stop pinging addr."""
        self.keepalives.pop(addr, None)
        self.timers.cancel_owner(("ka", addr))

    def ping_timer(self, owner, now):
        """Send one OPTIONS to a keepalive peer and schedule the next."""
        state = self.keepalives.get(owner[1])
        if state is None:
            return []
        host, port = owner[1]
        self.timers.start(owner, "ping", now + state["interval"])
        param = "" if state["transport"] == "UDP" else f";transport={state['transport'].lower()}"
        request = make_request("OPTIONS", f"sip:{host}:{port}{param}", via=self._via(),
                               from_=f"<sip:{self.user}@{self._hostport}>;tag={self._token()}",
                               to=f"<sip:{host}:{port}>", call_id=f"{self._token(8)}@{self.local_addr[0]}", cseq=1,
                               headers=[("Accept", "application/sdp")])
        return self._start_client(request, owner, owner[1], now)

    def _peer_state(self, addr, up):
        state = self.keepalives.get(addr)
        if state is None or state["up"] == up:
            return []
        state["up"] = up
        return [PeerUp(addr) if up else PeerDown(addr)]

    # dispatch from the UA

    def on_response(self, owner, request, response, now):
        """Take a response to a REGISTER or keepalive OPTIONS of ours; returns events."""
        try:
            if owner[0] == "reg":
                return self._on_register_response(owner[1], request, response, now)
        except DecodeError:
            return []
        if response.status >= 200:
            return self._peer_state(owner[1], True)
        return []

    def on_timeout(self, owner, request, now, status=408):
        """Take a timeout (408) or transport failure (503) of a REGISTER or keepalive OPTIONS of ours; returns
        events."""
        if owner[0] == "reg":
            if self.registrations.pop(owner[1], None) is None:
                return []
            self.timers.cancel_owner(owner)
            return [RegistrationFailed(owner[1], status)]
        return self._peer_state(owner[1], False)


def _contacts(response):
    contacts = response.contact
    return [] if contacts == ["*"] else contacts
