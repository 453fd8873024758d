"""A SIP registrar (RFC 3261 10.3), sans-IO: bindings of an address-of-record to contacts, with expiry.

``Registrar.register(request, user, source, now)`` processes a REGISTER that the user agent has already
authenticated as ``user`` (the registrar never binds without credentials: the UA challenges first) and
returns the response's status and headers. Rules: the AOR's user must be the authenticated user (403);
``Contact: *`` with ``Expires: 0`` removes every binding (10.3 step 6); a contact's ``expires`` parameter
wins over the Expires header, which wins over the default; a non-zero expiry below ``min_expires`` gets
423 with Min-Expires; expiries above ``max_expires`` are cut to it; a binding refreshed with the same
Call-ID and a CSeq that is not higher is refused with 500 (step 7); the 200 lists every current binding
with its remaining time.

Bindings live behind ``BindingStore`` (``get``/``put``/``users``), so a cluster can later share one; the
default ``MemoryBindings`` is a dict.
"""
from dataclasses import dataclass

from pycallcenter.errors import DecodeError


@dataclass(frozen=True)
class Binding:
    """One contact bound to an AOR: the Contact URI text, when it expires, the REGISTER's Call-ID and CSeq
    that set it, its q value and the address the REGISTER came from (where requests go behind NAT)."""

    contact: str
    expires_at: float
    call_id: str
    cseq: int
    q: float = 1.0
    source: tuple = None


class BindingStore:
    """Where bindings live: get(user) -> [Binding], put(user, [Binding]), users() -> iterable of users."""

    def get(self, user):
        """Return the bindings of user (possibly expired ones: the registrar filters them)."""
        raise NotImplementedError

    def put(self, user, bindings):
        """Replace the bindings of user (an empty list removes the user)."""
        raise NotImplementedError

    def users(self):
        """Return the users that have bindings."""
        raise NotImplementedError


class MemoryBindings(BindingStore):
    """Bindings in a dict, for one process."""

    def __init__(self):
        self._data = {}

    def get(self, user):
        """Return the bindings of user."""
        return list(self._data.get(user, ()))

    def put(self, user, bindings):
        """Replace the bindings of user."""
        if bindings:
            self._data[user] = list(bindings)
        else:
            self._data.pop(user, None)

    def users(self):
        """Return the users that have bindings."""
        return list(self._data)


class Registrar:
    """Processes authenticated REGISTER requests against a BindingStore; lookup() finds where a user is."""

    def __init__(self, store=None, min_expires=60, max_expires=3600, default_expires=3600):
        self.store = store if store is not None else MemoryBindings()
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.default_expires = default_expires
        self.now = 0.0  # the latest time we were told (lookup() without now uses it)

    def register(self, request, user, source, now):
        """Return (status, headers, changed) for a REGISTER authenticated as user; changed is True when the
        user's bindings changed."""
        self.now = now
        aor = request.to.uri
        if (aor.user or "") != user:
            return 403, [("Warning", f'399 pycallcenter "credentials of {user} cannot register {aor.user}"')], False
        try:
            header_expires = request.headers.get("Expires")
            header_expires = None if header_expires is None else int(header_expires.strip())
            contacts = request.contact
        except (ValueError, DecodeError):
            return 400, [], False
        current = [b for b in self.store.get(user) if b.expires_at > now]
        call_id, cseq = request.call_id, request.cseq.number
        if contacts == ["*"]:
            if header_expires != 0 or len(request.headers.get_all("Contact")) != 1:
                return 400, [("Warning", '399 pycallcenter "Contact: * needs Expires: 0"')], False
            if any(b.call_id == call_id and cseq <= b.cseq for b in current):
                return 500, [], False
            self.store.put(user, [])
            return 200, [], bool(current)
        wanted = []
        for address in contacts:
            text = address.param("expires")
            try:
                expires = int(text) if text is not None else header_expires
            except ValueError:
                return 400, [("Warning", '399 pycallcenter "bad Contact expires"')], False
            expires = self.default_expires if expires is None else expires
            if 0 < expires < self.min_expires:
                return 423, [("Min-Expires", self.min_expires)], False
            try:
                q = float(address.param("q") or 1.0)
            except ValueError:
                q = 1.0
            wanted.append((str(address.uri), min(expires, self.max_expires), q))
        changed = False
        bindings = {b.contact: b for b in current}
        for contact, expires, q in wanted:
            old = bindings.get(contact)
            if old is not None and old.call_id == call_id and cseq <= old.cseq:
                return 500, [("Warning", '399 pycallcenter "CSeq not higher than the binding\'s"')], False
            if expires == 0:
                changed |= bindings.pop(contact, None) is not None
            else:
                bindings[contact] = Binding(contact, now + expires, call_id, cseq, q, source)
                changed = True
        self.store.put(user, list(bindings.values()))
        return 200, self._contacts(user, now), changed

    def _contacts(self, user, now):
        return [("Contact", f"<{b.contact}>;expires={max(0, int(b.expires_at - now))}")
                for b in self.bindings(user, now)]

    def bindings(self, user, now=None):
        """Return the live bindings of user, highest q first."""
        now = self.now if now is None else now
        return sorted((b for b in self.store.get(user) if b.expires_at > now), key=lambda b: -b.q)

    def lookup(self, user, now=None):
        """Return the contact URIs (text) where user is registered, highest q first (empty: not registered)."""
        return [b.contact for b in self.bindings(user, now)]

    def expire(self, now):
        """Drop expired bindings; returns the users whose last binding expired."""
        self.now = now
        gone = []
        for user in list(self.store.users()):
            bindings = self.store.get(user)
            live = [b for b in bindings if b.expires_at > now]
            if len(live) != len(bindings):
                self.store.put(user, live)
                if not live:
                    gone.append(user)
        return gone

    def next_expiry(self):
        """Return the earliest binding expiry, or None."""
        times = [b.expires_at for user in self.store.users() for b in self.store.get(user)]
        return min(times) if times else None
