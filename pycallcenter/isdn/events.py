"""What Q.931 call control (``call.Interface``) reports: one dataclass per event."""
from dataclasses import dataclass


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

    call: "Q931Call"
    called: str
    calling: str
    calling_name: str
    channel: int
    sending_complete: bool
    presentation: int = 0


@dataclass
class MoreDigits:
    """INFORMATION during overlap receiving: digits to append to the called number."""

    call: "Q931Call"
    digits: str
    sending_complete: bool


@dataclass
class DialComplete:
    """Overlap receiving ended by T302: the call is now proceeding with call.called."""

    call: "Q931Call"


@dataclass
class SetupAcknowledged:
    """The far end asked for more digits (overlap sending)."""

    call: "Q931Call"


@dataclass
class Proceeding:
    """CALL PROCEEDING received; call.channel is the channel the far end chose."""

    call: "Q931Call"


@dataclass
class Alerting:
    """ALERTING received: the far end is ringing."""

    call: "Q931Call"


@dataclass
class Progress:
    """PROGRESS (or a progress indicator) received."""

    call: "Q931Call"
    description: int


@dataclass
class Answered:
    """CONNECT received (or our CONNECT acknowledged): the call is active."""

    call: "Q931Call"


@dataclass
class Disconnected:
    """DISCONNECT received; we release the call automatically."""

    call: "Q931Call"
    cause: int


@dataclass
class CallEnded:
    """The call is back in the Null state and its channel is free."""

    call: "Q931Call"
    cause: int


@dataclass
class Notify:
    """NOTIFY received."""

    call: "Q931Call"
    description: int


@dataclass
class FacilityReceived:
    """FACILITY received (or a facility IE in another message): raw ASN.1 kept for the application."""

    call: "Q931Call"
    data: bytes


@dataclass
class StatusReceived:
    """STATUS received for a call."""

    call: "Q931Call"
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
class ProtocolNotice:
    """The far end broke the protocol; what we did about it is in action (never fatal)."""

    detail: str
    action: str = ""


ProtocolError = ProtocolNotice  # Q.931's earlier name for the same event; one name now, the old one still imports
