"""SIP transactions (RFC 3261 section 17, with RFC 6026's Accepted state), sans-IO.

Every transition of the four machines is one row of ``TRANSITIONS``: ``(machine, state, input) ->
(next state, actions)``. Inputs are what arrives from the wire (``1xx``, ``2xx``, ``3xx+`` responses,
a retransmitted ``request``, an ``ACK``), what our transaction user sends (``send 1xx``, ``send 2xx``,
``send 3xx+``) and timer expiries (the RFC's letters). Actions are few and named: hand the message to the
transaction user (``tu``), transmit it (``send``), retransmit the last message (``resend``), send the ACK
of a failure response (``ack``), send our own 100 Trying (``trying``), start or stop a timer, report a
timeout. A wire input with no row is absorbed (a stray retransmission never disturbs a transaction); a
transaction-user input with no row raises LocalProtocolError.

``TransactionLayer`` matches messages to transactions (17.1.3 and 17.2.3: branch, sent-by and method, ACK
matching its INVITE; the RFC 2543 rule for branches without the magic cookie), creates server
transactions for new requests, absorbs retransmissions and runs all timers on one
``pycallcenter.timers.TimerService``. Every call takes ``now`` and returns a list of outputs:
``Transmit`` (bytes for the wire) and the events below, in order.
"""
import secrets
from dataclasses import dataclass

from pycallcenter.errors import DecodeError, LocalProtocolError
from pycallcenter.sip.message import Headers, Request, Response, make_response, parse_message
from pycallcenter.sip.timers import SipTimers
from pycallcenter.timers import TimerService

MAGIC = "z9hG4bK"

# machines
ICT, NICT, IST, NIST = "INVITE client", "non-INVITE client", "INVITE server", "non-INVITE server"
# states
CALLING, TRYING, PROCEEDING, COMPLETED, CONFIRMED, ACCEPTED, TERMINATED = (
    "Calling", "Trying", "Proceeding", "Completed", "Confirmed", "Accepted", "Terminated")

_FINAL = ("2xx", "3xx+")
_SEND_FINAL = ("send 2xx", "send 3xx+")


def _rows():
    t = {}
    # INVITE client (17.1.1, Figure 5; RFC 6026 Accepted and timer M)
    t[ICT, CALLING, "A"] = (CALLING, ("resend", "restart A"))
    t[ICT, CALLING, "B"] = (TERMINATED, ("timeout",))
    t[ICT, CALLING, "1xx"] = (PROCEEDING, ("tu", "stop A", "stop B"))
    t[ICT, CALLING, "2xx"] = (ACCEPTED, ("tu", "stop A", "stop B", "start M"))
    t[ICT, CALLING, "3xx+"] = (COMPLETED, ("tu", "ack", "stop A", "stop B", "start D"))
    t[ICT, PROCEEDING, "1xx"] = (PROCEEDING, ("tu",))
    t[ICT, PROCEEDING, "2xx"] = (ACCEPTED, ("tu", "start M"))
    t[ICT, PROCEEDING, "3xx+"] = (COMPLETED, ("tu", "ack", "start D"))
    t[ICT, COMPLETED, "3xx+"] = (COMPLETED, ("ack",))
    t[ICT, COMPLETED, "D"] = (TERMINATED, ())
    t[ICT, ACCEPTED, "2xx"] = (ACCEPTED, ("tu",))
    t[ICT, ACCEPTED, "M"] = (TERMINATED, ())
    # non-INVITE client (17.1.2, Figure 6)
    for state in (TRYING, PROCEEDING):
        t[NICT, state, "E"] = (state, ("resend", "restart E"))
        t[NICT, state, "F"] = (TERMINATED, ("timeout",))
        t[NICT, state, "1xx"] = (PROCEEDING, ("tu",))
        for final in _FINAL:
            t[NICT, state, final] = (COMPLETED, ("tu", "stop E", "stop F", "start K"))
    t[NICT, COMPLETED, "K"] = (TERMINATED, ())
    # INVITE server (17.2.1, Figure 7; RFC 6026 Accepted and timer L)
    t[IST, PROCEEDING, "request"] = (PROCEEDING, ("resend",))
    t[IST, PROCEEDING, "T100"] = (PROCEEDING, ("trying",))
    t[IST, PROCEEDING, "send 1xx"] = (PROCEEDING, ("send", "stop T100"))
    t[IST, PROCEEDING, "send 2xx"] = (ACCEPTED, ("send", "stop T100", "start L"))
    t[IST, PROCEEDING, "send 3xx+"] = (COMPLETED, ("send", "stop T100", "start G", "start H"))
    t[IST, COMPLETED, "request"] = (COMPLETED, ("resend",))
    t[IST, COMPLETED, "G"] = (COMPLETED, ("resend", "restart G"))
    t[IST, COMPLETED, "H"] = (TERMINATED, ("timeout",))
    t[IST, COMPLETED, "ACK"] = (CONFIRMED, ("stop G", "stop H", "start I"))
    t[IST, CONFIRMED, "I"] = (TERMINATED, ())
    t[IST, ACCEPTED, "send 2xx"] = (ACCEPTED, ("send",))
    t[IST, ACCEPTED, "ACK"] = (ACCEPTED, ("tu",))
    t[IST, ACCEPTED, "L"] = (TERMINATED, ())
    # non-INVITE server (17.2.2, Figure 8)
    t[NIST, TRYING, "send 1xx"] = (PROCEEDING, ("send",))
    t[NIST, PROCEEDING, "send 1xx"] = (PROCEEDING, ("send",))
    t[NIST, PROCEEDING, "request"] = (PROCEEDING, ("resend",))
    for state in (TRYING, PROCEEDING):
        for final in _SEND_FINAL:
            t[NIST, state, final] = (COMPLETED, ("send", "start J"))
    t[NIST, COMPLETED, "request"] = (COMPLETED, ("resend",))
    t[NIST, COMPLETED, "J"] = (TERMINATED, ())
    # a transport error (the transport could not send, 17.1.1.2, 17.1.2.2, 17.2.4) ends any live transaction
    for machine, state in {(m, st) for (m, st, _) in t}:
        t[machine, state, "transport error"] = (TERMINATED, ("error",))
    return t


TRANSITIONS = _rows()
INITIAL = {ICT: CALLING, NICT: TRYING, IST: PROCEEDING, NIST: TRYING}
_START_TIMERS = {ICT: ("A", "B"), NICT: ("E", "F"), IST: ("T100",), NIST: ()}


# --------------------------------------------------------------------------------------------------------
# Outputs

@dataclass(frozen=True)
class Transmit:
    """Bytes to put on the wire for transaction key (the message is kept for the transport's routing)."""

    data: bytes
    message: object
    key: tuple


@dataclass(frozen=True)
class RequestReceived:
    """A new request for the transaction user (server transaction key), or an ACK to a 2xx (key None)."""

    request: Request
    key: tuple


@dataclass(frozen=True)
class ResponseReceived:
    """A response for the transaction user from client transaction key."""

    response: Response
    key: tuple


@dataclass(frozen=True)
class TransactionTimeout:
    """Timer B, F or H fired: the transaction failed for lack of a response (or an ACK)."""

    key: tuple
    timer: str


@dataclass(frozen=True)
class TransportFailed:
    """The transport could not deliver for transaction key; the transaction has ended."""

    key: tuple


@dataclass(frozen=True)
class TransactionTerminated:
    """The transaction has ended and is forgotten."""

    key: tuple


@dataclass(frozen=True)
class StrayMessage:
    """A response that matches no transaction, or a datagram that does not parse (error set)."""

    message: object
    error: DecodeError = None


def _input_of(response):
    code = response.status
    return "1xx" if code < 200 else "2xx" if code < 300 else "3xx+"


class Transaction:
    """One RFC 3261 transaction machine; its timers live on the layer's TimerService under its key."""

    __slots__ = ("machine", "state", "key", "request", "last", "attempts", "reliable", "settings", "_timers")

    def __init__(self, machine, key, request, timers, settings, reliable):
        self.machine = machine
        self.state = INITIAL[machine]
        self.key = key
        self.request = request
        self.last = None  # the last message this transaction sent (request for clients, response for servers)
        self.attempts = {}
        self.reliable = reliable
        self.settings = settings
        self._timers = timers

    @property
    def is_client(self):
        """Return True for the two client machines."""
        return self.machine in (ICT, NICT)

    def start(self, now):
        """Enter the initial state: a client sends its request, a server hands it to its user."""
        out = []
        if self.is_client:
            self.last = self.request
            out.append(Transmit(self.request.encode(), self.request, self.key))
        else:
            out.append(RequestReceived(self.request, self.key))
        for name in _START_TIMERS[self.machine]:
            self._start(name, now, out)
        return out

    def fire(self, name, now):
        """Run the row for an expired timer; returns the outputs."""
        return self._step(name, None, now, local=False)

    def on_message(self, message, now):
        """Run the row for a message from the wire; returns the outputs."""
        if isinstance(message, Response):
            kind = _input_of(message)
        else:
            kind = "ACK" if message.method == "ACK" else "request"
        return self._step(kind, message, now, local=False)

    def fail(self, now):
        """Run the row for a transport error; returns the outputs."""
        return self._step("transport error", None, now, local=False)

    def send_response(self, response, now):
        """Run the row for a response from our user; returns the outputs (LocalProtocolError if not allowed)."""
        return self._step("send " + _input_of(response), response, now, local=True)

    def _step(self, kind, message, now, local):
        row = TRANSITIONS.get((self.machine, self.state, kind))
        if row is None:
            if local:
                raise LocalProtocolError(f"{self.machine} transaction in state {self.state} cannot {kind}")
            return []
        self.state, actions = row
        out = []
        for action in actions:
            self._act(action, message, now, out)
        if self.state == TERMINATED:
            self._timers.cancel_owner(self.key)
            out.append(TransactionTerminated(self.key))
        return out

    def _act(self, action, message, now, out):
        verb, _, timer = action.partition(" ")
        if verb == "tu":
            event = ResponseReceived(message, self.key) if self.is_client else RequestReceived(message, None)
            out.append(event)
        elif verb == "send":
            self.last = message
            out.append(Transmit(message.encode(), message, self.key))
        elif verb == "resend":
            if self.last is not None:
                out.append(Transmit(self.last.encode(), self.last, self.key))
        elif verb == "ack":
            ack = ack_for_failure(self.request, message)
            out.append(Transmit(ack.encode(), ack, self.key))
        elif verb == "trying":
            trying = _trying(self.request)
            self.last = trying
            out.append(Transmit(trying.encode(), trying, self.key))
        elif verb == "error":
            out.append(TransportFailed(self.key))
        elif verb == "timeout":
            out.append(TransactionTimeout(self.key, "B" if self.machine == ICT else "F" if self.is_client else "H"))
        elif verb == "start":
            self._start(timer, now, out)
        elif verb == "restart":
            self.attempts[timer] = self.attempts.get(timer, 0) + 1
            self._start(timer, now, out)
        elif verb == "stop":
            self._timers.cancel(self.key, timer)
        else:  # pragma: no cover - a typo in the table
            raise AssertionError(action)

    def _start(self, name, now, out):
        duration = self.settings.duration(name, self.reliable, self.attempts.get(name, 0),
                                          proceeding=self.state == PROCEEDING)
        if duration is None:
            return
        if duration == 0:
            out += self.fire(name, now)  # a zero timer (reliable transport) fires at once
        else:
            self._timers.start(self.key, name, now + duration)


def _trying(request):
    """Return the 100 Trying an INVITE server transaction sends on its own (no To tag, RFC 3261 8.2.6.1)."""
    headers = [("Timestamp", request.headers.get("Timestamp"))] if "Timestamp" in request.headers else []
    return make_response(request, 100, headers=headers)


def ack_for_failure(invite, response):
    """Return the ACK a client transaction sends for a 300-699 response to invite (RFC 3261 17.1.1.3)."""
    h = Headers()
    h.add("Via", invite.headers.get("Via"))
    for value in invite.headers.get_all("Route"):
        h.add("Route", value)
    h.add("Max-Forwards", 70)
    h.add("From", invite.headers.get("From"))
    h.add("To", response.headers.get("To"))
    h.add("Call-ID", invite.headers.get("Call-ID"))
    h.add("CSeq", f"{invite.cseq.number} ACK")
    h.add("Content-Length", 0)
    return Request(headers=h, method="ACK", uri=invite.uri)


# --------------------------------------------------------------------------------------------------------
# Matching (17.1.3, 17.2.3)

def client_key(message):
    """Return the client transaction key of a request we send or a response to it: (branch, CSeq method)."""
    return ("client", message.top_via.branch, message.cseq.method)


def server_key(request):
    """Return the server transaction key of a received request; an ACK gets its INVITE's key."""
    via = request.top_via
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch or ""
    if branch.startswith(MAGIC):
        return ("server", branch, via.sent_by, method)
    # RFC 2543 peers (17.2.3): Request-URI, From tag, Call-ID, CSeq number and top Via identify the request
    return ("server-2543", str(request.uri), request.from_.tag, request.call_id, request.cseq.number,
            str(via), method)


class TransactionLayer:
    """All transactions of one endpoint: matching, creation, retransmission absorption and timers."""

    def __init__(self, settings=SipTimers(), reliable=False, rng=None):
        self.settings = settings
        self.reliable = reliable
        self.timers = TimerService()
        self.transactions = {}
        self._rng = rng

    def new_branch(self):
        """Return a fresh branch with the RFC 3261 magic cookie (from rng when one was given, for replays)."""
        if self._rng is not None:
            return f"{MAGIC}{self._rng.getrandbits(64):016x}"
        return MAGIC + secrets.token_hex(8)

    def send_request(self, request, now, reliable=None):
        """Start a client transaction for request (its top Via carries the branch); returns (key, outputs).
        An ACK has no transaction: it is just transmitted (key None). reliable says whether this request's
        transport is reliable (default: the layer's)."""
        if request.method == "ACK":
            return None, [Transmit(request.encode(), request, None)]
        key = client_key(request)
        if key in self.transactions:
            raise LocalProtocolError(f"a client transaction with branch {key[1]} is running")
        machine = ICT if request.method == "INVITE" else NICT
        txn = Transaction(machine, key, request, self.timers, self.settings,
                          self.reliable if reliable is None else reliable)
        self.transactions[key] = txn
        return key, self._after(txn, txn.start(now))

    def send_response(self, response, now, key=None):
        """Send a response through its server transaction (found from its Via and CSeq when key is None)."""
        if key is None:
            via = response.top_via
            method = response.cseq.method
            branch = via.branch or ""
            key = ("server", branch, via.sent_by, method)
        txn = self.transactions.get(key)
        if txn is None:
            if response.status // 100 == 2 and response.cseq.method == "INVITE":
                # the transaction user retransmits a 2xx after the transaction ended (RFC 6026 leaves it to it)
                return [Transmit(response.encode(), response, key)]
            raise LocalProtocolError("no server transaction for this response")
        return self._after(txn, txn.send_response(response, now))

    def receive(self, data, now, reliable=None):
        """Take one datagram (bytes) or parsed message from the wire; returns the outputs. reliable says
        whether it came over a reliable transport (default: the layer's); a new server transaction keeps it."""
        if isinstance(data, (bytes, bytearray, memoryview)):
            try:
                message = parse_message(data)
            except DecodeError as err:
                return [StrayMessage(bytes(data), err)]
        else:
            message = data
        if isinstance(message, Response):
            txn = self.transactions.get(client_key(message))
            if txn is None:
                return [StrayMessage(message)]
            return self._after(txn, txn.on_message(message, now))
        key = server_key(message)
        txn = self.transactions.get(key)
        if txn is not None:
            return self._after(txn, txn.on_message(message, now))
        if message.method == "ACK":
            return [RequestReceived(message, None)]  # ACK to a 2xx after the transaction ended: the dialog's
        machine = IST if message.method == "INVITE" else NIST
        txn = Transaction(machine, key, message, self.timers, self.settings,
                          self.reliable if reliable is None else reliable)
        self.transactions[key] = txn
        return self._after(txn, txn.start(now))

    def transport_error(self, key, now):
        """Report that the transport failed to send for transaction key; returns the outputs."""
        txn = self.transactions.get(key)
        if txn is None:
            return []
        return self._after(txn, txn.fail(now))

    def next_deadline(self):
        """Return the earliest timer deadline of any transaction, or None."""
        return self.timers.next_deadline()

    def handle_timer(self, now):
        """Fire every timer due at now; returns the outputs."""
        out = []
        for key, name in self.timers.expired(now):
            txn = self.transactions.get(key)
            if txn is not None:
                out += self._after(txn, txn.fire(name, now))
        return out

    def state(self, key):
        """Return the state of transaction key (Terminated once it is forgotten)."""
        txn = self.transactions.get(key)
        return TERMINATED if txn is None else txn.state

    def _after(self, txn, out):
        if txn.state == TERMINATED:
            self.transactions.pop(txn.key, None)
        return out
