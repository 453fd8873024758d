"""SIP dialogs (RFC 3261 12): identity, state, route set, remote target and CSeq rules, sans-IO.

A dialog is created by a UAS when it answers an INVITE with a tag, and by a UAC from a response with a To
tag (a 1xx makes it early, a 2xx confirms it). Its route set is the Record-Route of the request (UAS, in
order) or of the response (UAC, reversed); a confirming 2xx recomputes it (13.2.2.4). The remote target is
the far end's Contact, refreshed by a re-INVITE, an UPDATE and their 2xx (12.2, RFC 3311 5). Requests
inside the dialog take the next local CSeq; a request from the far end with a CSeq lower than the last one
is refused with 500 (12.2.2).

Requests go to a literal address (no DNS in the core): the first route's URI when there is a route set,
else the remote target (RFC 3263's defaults: port 5060, or 5061 for SIPS and TLS).
"""
from dataclasses import dataclass, field

from pycallcenter.errors import DecodeError
from pycallcenter.sip.message import CSeq, Headers, Request, parse_address

EARLY, CONFIRMED, TERMINATED = "early", "confirmed", "terminated"


def next_hop(uri):
    """Return the (host, port) a request for uri goes to: maddr or host, the URI's port or the default."""
    host = uri.param("maddr") or uri.host
    if host.startswith("["):
        host = host[1:-1]
    transport = (uri.param("transport") or "").lower()
    default = 5061 if uri.scheme == "sips" or transport == "tls" else 5060
    return host, uri.port or default


def route_set_of(message, reverse):
    """Return the Record-Route values of message as a route set (reversed for a UAC, 12.1.2)."""
    values = message.headers.get_all("Record-Route")
    return list(reversed(values)) if reverse else list(values)


def _target(message, default):
    contacts = message.contact
    return contacts[0].uri if contacts and contacts != ["*"] else default


@dataclass
class Dialog:
    """One dialog: its ID (Call-ID, local tag, remote tag), state, route set, remote target and CSeq numbers.

    local_uri and remote_uri are the From/To values of our side and of the far end, with tags once known.
    The fields after state are the call's own (the INVITE, SDP) which the user agent keeps beside it."""

    call_id: str
    role: str  # "uas" or "uac"
    local_tag: str
    local_uri: str
    remote_uri: str
    remote_addr: tuple  # where the dialog's first request came from, or where ours went
    remote_tag: str = None
    remote_target: object = None
    route_set: list = field(default_factory=list)
    local_cseq: int = 1
    remote_cseq: int = None
    state: str = EARLY
    flow: tuple = None  # over TCP/TLS: the peer's address on the connection to keep using (no route set)
    invite: Request = None
    ok: object = None  # our 2xx (UAS) being retransmitted
    offer: object = None
    answer: object = None
    attempts: int = 0
    extra: dict = field(default_factory=dict)

    @classmethod
    def as_uas(cls, request, local_tag, source):
        """Return the dialog a UAS creates when it answers request with local_tag (12.1.1)."""
        to = request.to.with_tag(local_tag)
        return cls(call_id=request.call_id, role="uas", local_tag=local_tag, local_uri=str(to),
                   remote_uri=request.headers.get("From"), remote_addr=source, remote_tag=request.from_.tag,
                   remote_target=_target(request, request.from_.uri), route_set=route_set_of(request, False),
                   remote_cseq=request.cseq.number, local_cseq=0)

    @classmethod
    def as_uac(cls, request, addr):
        """Return the dialog-to-be of an INVITE we send to addr (early until a response carries a To tag)."""
        return cls(call_id=request.call_id, role="uac", local_tag=request.from_.tag,
                   local_uri=request.headers.get("From"), remote_uri=request.headers.get("To"), remote_addr=addr,
                   remote_target=request.uri, local_cseq=request.cseq.number, invite=request,
                   route_set=list(request.headers.get_all("Route")))

    @property
    def id(self):
        """Return the dialog ID (Call-ID, local tag, remote tag)."""
        return self.call_id, self.local_tag, self.remote_tag

    def on_response(self, response):
        """Take a UAC's 1xx/2xx with a To tag to our INVITE: learn the remote tag, route set and target; a 2xx
        confirms the dialog. Returns False when the response belongs to another (forked) dialog."""
        tag = response.to.tag
        if tag is None:
            return True
        if self.remote_tag is not None and tag != self.remote_tag and self.state == CONFIRMED:
            return False
        status = response.status
        if self.state != CONFIRMED:
            if self.remote_tag != tag or status >= 200:  # a new early dialog, or the 2xx (13.2.2.4)
                self.route_set = route_set_of(response, True)
            self.remote_tag = tag
            self.remote_uri = str(response.to)
            if status >= 200:
                self.state = CONFIRMED
        self.remote_target = _target(response, self.remote_target)
        return True

    def matches(self, request):
        """Return True when an in-dialog request from the far end belongs to this dialog."""
        return request.to.tag == self.local_tag and request.from_.tag == self.remote_tag

    def accept_cseq(self, request):
        """Return True and remember the CSeq of a request from the far end, False when it is lower than the
        last one (the request is then refused with 500, 12.2.2). ACK and CANCEL reuse their INVITE's CSeq."""
        number = request.cseq.number
        if request.method in ("ACK", "CANCEL"):
            return True
        if self.remote_cseq is not None and number < self.remote_cseq:
            return False
        self.remote_cseq = number
        return True

    def refresh_target(self, message):
        """Take a target refresh request or its 2xx: the Contact becomes the remote target (12.2)."""
        try:
            self.remote_target = _target(message, self.remote_target)
        except DecodeError:
            pass

    def next_cseq(self):
        """Return the next local CSeq number (a new request inside the dialog)."""
        self.local_cseq += 1
        return self.local_cseq

    def request(self, method, via, cseq=None):
        """Return (request, next hop) for a new request inside the dialog (12.2.1.1): loose routing puts the
        remote target in the Request-URI and the route set in Route; a strict first route takes the
        Request-URI and the remote target goes last in Route."""
        number = self.next_cseq() if cseq is None else cseq
        routes = list(self.route_set)
        uri = self.remote_target
        if routes:
            first = parse_address(routes[0]).uri
            if not first.has_param("lr"):
                uri = first
                routes = routes[1:] + [f"<{self.remote_target}>"]
        h = Headers()
        h.add("Via", via)
        h.add("Max-Forwards", 70)
        for value in routes:
            h.add("Route", value)
        h.add("From", self.local_uri)
        h.add("To", self.remote_uri)
        h.add("Call-ID", self.call_id)
        h.add("CSeq", CSeq(number, method))
        h.add("Content-Length", 0)
        return Request(headers=h, method=method, uri=uri), self.hop()

    def hop(self):
        """Return the (host, port) the dialog's requests go to: the first route, else the connection the
        dialog began on (a stream transport: a phone behind NAT takes no new connection), else the remote
        target."""
        if self.route_set:
            return next_hop(parse_address(self.route_set[0]).uri)
        if self.flow is not None:
            return self.flow
        return next_hop(self.remote_target)

    def local_address(self):
        """Return our side's Address (From of our requests)."""
        return parse_address(self.local_uri)


class DialogTable(dict):
    """The user agent's dialogs by Call-ID; it remembers the IDs of the last ``remember`` dialogs taken out,
    so an INVITE with Replaces naming a dialog that has just ended gets 603, not 481 (RFC 3891 3)."""

    def __init__(self, remember=256):
        super().__init__()
        self.remember = remember
        self._ended = {}  # (Call-ID, local tag, remote tag) -> None, oldest first

    def __delitem__(self, call_id):
        self._forget(self[call_id])
        super().__delitem__(call_id)

    def pop(self, call_id, *default):
        """Take a dialog out (remembering its ID); return it, or default."""
        if call_id in self:
            self._forget(self[call_id])
        return super().pop(call_id, *default)

    def _forget(self, dialog):
        self._ended[dialog.id] = None
        while len(self._ended) > self.remember:
            del self._ended[next(iter(self._ended))]

    def ended(self, call_id, local_tag, remote_tag):
        """Return True when a dialog with this ID was taken out lately."""
        return (call_id, local_tag, remote_tag) in self._ended
