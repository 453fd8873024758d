"""What ISUP call control (``isup.Isup``) reports: one dataclass per event, each naming its CIC."""
from dataclasses import dataclass, field

from pycallcenter.ss7.isup_codec import IsupMessage


@dataclass(slots=True)
class IncomingCall:
    """An IAM (after COT when continuity was required) seized cic; called is without the ST digit."""
    cic: int
    called: str
    calling: str
    message: IsupMessage = field(compare=False, repr=False)


@dataclass(slots=True)
class CallProgress:
    """ACM, CPG, SAM, INR, INF, USR, FAC or FOT on a call; kind is the message type."""
    cic: int
    kind: str
    message: IsupMessage = field(compare=False, repr=False)


@dataclass(slots=True)
class Answered:
    """ANM or CON: the call on cic is answered."""
    cic: int


@dataclass(slots=True)
class Released:
    """The call on cic ended and the circuit is idle; by is "remote", "local", "timer" or "reset"."""
    cic: int
    cause: int
    by: str


@dataclass(slots=True)
class CallFailed:
    """Our outgoing attempt on cic did not proceed (dual seizure lost, blocked); retry elsewhere."""
    cic: int
    reason: str


@dataclass(slots=True)
class ContinuityCheck:
    """Bearer action for a continuity check on cic: "tone" (connect a 2000 Hz transceiver, see whether the tone
    comes back, report with ``Isup.continuity_result``), "loop" (loop the circuit back) or "remove" (either)."""
    cic: int
    action: str


@dataclass(slots=True)
class ContinuityOutcome:
    """A continuity check on cic ended: by "local" (our tone test) or "remote" (the far end's COT on our loop)."""
    cic: int
    ok: bool
    by: str


@dataclass(slots=True)
class RepeatAttempt:
    """Our outgoing call on cic could not proceed (reason) and was sent again as an IAM on new_cic."""
    cic: int
    new_cic: int
    reason: str


@dataclass(slots=True)
class TrafficLoad:
    """Signalling congestion control (Q.764 2.11): new calls towards the far end are admitted at share (0-1]."""
    share: float


@dataclass(slots=True)
class Suspended:
    """SUS (True) or RES (False) on an answered call."""
    cic: int
    suspended: bool


@dataclass(slots=True)
class BlockingChanged:
    """Blocking state of cic changed: side "local" (we blocked it) or "remote"; kind "maintenance"/"hardware"."""
    cic: int
    side: str
    kind: str
    blocked: bool


@dataclass(slots=True)
class MaintenanceAck:
    """The far end acknowledged our BLO/UBL/RSC/GRS/CGB/CGU (kind is the acknowledged message) for cics."""
    kind: str
    cics: tuple


@dataclass(slots=True)
class CircuitReset:
    """The far end reset cic (RSC or GRS); any call on it is gone."""
    cic: int


@dataclass(slots=True)
class ProtocolNotice:
    """Something the far end sent was discarded or answered per Q.764 2.9.5; text says what."""
    cic: int
    text: str
