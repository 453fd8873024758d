"""A Q.931 call: its states (Q.931's numbers, shared by the user and network sides) and its record."""
from dataclasses import dataclass, field

from pycallcenter.isdn import causes

NULL, CALL_INITIATED, OVERLAP_SENDING, OUTGOING_PROCEEDING, CALL_DELIVERED = 0, 1, 2, 3, 4
CALL_PRESENT, CALL_RECEIVED, CONNECT_REQUEST, INCOMING_PROCEEDING, ACTIVE = 6, 7, 8, 9, 10
DISCONNECT_REQUEST, DISCONNECT_INDICATION, RELEASE_REQUEST, OVERLAP_RECEIVING = 11, 12, 19, 25

CALL_STATES = (NULL, CALL_INITIATED, OVERLAP_SENDING, OUTGOING_PROCEEDING, CALL_DELIVERED, CALL_PRESENT,
               CALL_RECEIVED, CONNECT_REQUEST, INCOMING_PROCEEDING, ACTIVE, DISCONNECT_REQUEST, DISCONNECT_INDICATION,
               RELEASE_REQUEST, OVERLAP_RECEIVING)


@dataclass(eq=False)
class Q931Call:
    """One Q.931 call record: reference, direction, state, channel and numbers (its timers run on
    Interface.deadlines, the record as their owner). Named apart from the engine's technology-neutral
    ``engine.call.Call``, which a PRI leg's record serves."""

    cr: int
    outgoing: bool
    state: int = NULL
    channel: int = None
    exclusive: bool = True
    called: str = ""
    calling: str = ""
    calling_name: str = ""
    cause: int = None
    retries: dict = field(default_factory=dict)
    setup_msg: bytes = b""
    release_cause: int = causes.NORMAL_CLEARING

    def __post_init__(self):
        self.key = (self.cr, self.outgoing)  # the calls-dict key; cr and direction never change


Call = Q931Call  # the name it had before; kept for existing imports
