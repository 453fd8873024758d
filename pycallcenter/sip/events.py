"""What the SIP user agent reports to its user (the engine, the CLI, tests): one dataclass per idea.

``pycallcenter.sip.ua`` re-exports every name here, so ``ua.CallAnswered`` and ``events.CallAnswered`` are
the same class. The core never acts on a transfer, a replacement or a peer going down: it reports them and
the user decides.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Send:
    """Bytes to send to addr over transport ('UDP', 'TCP', 'TLS'; None: the UA's own); over a stream, on the
    connection to addr, opened when needed."""

    data: bytes
    addr: tuple
    transport: str = None


@dataclass(frozen=True)
class IncomingCall:
    """A new call arrived (its dialog's Call-ID, the caller's offer, and the INVITE for From, To, identity
    headers; replaces is the Call-ID of our dialog an INVITE with Replaces takes over, RFC 3891)."""

    call_id: str
    offer: object
    request: object = None
    replaces: str = None


@dataclass(frozen=True)
class CallProgress:
    """A provisional response (180, 183...) to our INVITE; sdp is its early-media answer or None."""

    call_id: str
    status: int
    sdp: object = None


@dataclass(frozen=True)
class CallAnswered:
    """Our INVITE was answered with a 2xx (the callee's SDP answer)."""

    call_id: str
    answer: object


@dataclass(frozen=True)
class CallConfirmed:
    """The ACK for our 2xx arrived: the dialog is confirmed. late: the INVITE had no SDP, so our 2xx offered
    and answer is the ACK's SDP (None when it carried none or none that parses)."""

    call_id: str
    answer: object = None
    late: bool = False


@dataclass(frozen=True)
class CallFailed:
    """Our INVITE failed (status of the final response; 408 on timeout), or our 2xx was never ACKed."""

    call_id: str
    status: int
    reason: str = None  # the Reason header (RFC 3326) of the final response, as sent


@dataclass(frozen=True)
class CallCancelled:
    """The caller cancelled a call that was still ringing here (we answered its INVITE with 487)."""

    call_id: str


@dataclass(frozen=True)
class CallEnded:
    """A call ended; by is 'remote' (a BYE came), 'local' (our BYE was answered or timed out) or 'expired'
    (the session timer ran out, RFC 4028 10, and we sent BYE)."""

    call_id: str
    by: str
    reason: str = None  # the Reason header of the BYE, as sent


@dataclass(frozen=True)
class SessionUpdated:
    """The far end changed the session (re-INVITE or UPDATE with an offer); offer is its SDP, answer ours."""

    call_id: str
    offer: object
    answer: object


@dataclass(frozen=True)
class InfoReceived:
    """An INFO arrived in a dialog (content type and body as sent; e.g. application/dtmf-relay)."""

    call_id: str
    content_type: str
    body: bytes


@dataclass(frozen=True)
class TransferRequested:
    """The far end asked for a transfer: a REFER to target (RFC 3515; replaces is the Call-ID an attended
    transfer's Replaces names, or None). The core answers 202 and NOTIFYs 100 Trying; the user reports
    progress with ``UserAgent.notify_transfer``."""

    call_id: str
    target: str
    replaces: str = None
    referred_by: str = None


@dataclass(frozen=True)
class TransferProgress:
    """A NOTIFY of our REFER: the status line of the sipfrag; final is True when the subscription ended."""

    call_id: str
    status: int
    final: bool


@dataclass(frozen=True)
class TransferFailed:
    """Our REFER was refused (its final status)."""

    call_id: str
    status: int


@dataclass(frozen=True)
class Registered:
    """A REGISTER of ours was accepted: expires is what the registrar granted (0: unregistered)."""

    aor: str
    expires: int
    contacts: tuple = ()


@dataclass(frozen=True)
class RegistrationFailed:
    """A REGISTER of ours failed (final status, 408 on timeout); refreshes stop."""

    aor: str
    status: int


@dataclass(frozen=True)
class PhoneRegistered:
    """A phone registered to our registrar (user, its contacts now bound; empty when it unregistered)."""

    user: str
    contacts: tuple


@dataclass(frozen=True)
class AuthFailed:
    """A request from source failed digest authentication (user as claimed); blocked is True once the source
    is over its limit and gets 403."""

    source: tuple
    user: str
    blocked: bool


@dataclass(frozen=True)
class PeerUp:
    """An OPTIONS keepalive peer answered (first answer, or first after it was down)."""

    addr: tuple


@dataclass(frozen=True)
class PeerDown:
    """An OPTIONS keepalive peer stopped answering (its OPTIONS transaction timed out)."""

    addr: tuple
