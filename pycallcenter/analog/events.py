"""What the analog line machines return: actions for the board and events for the engine.

Each input of a machine returns a list of these, in the order they must be carried out.
"""
from dataclasses import dataclass
from typing import Any, Optional


# --- actions for the board (the port's signalling and the line's audio) -----------------------------------
@dataclass(frozen=True)
class Ring:
    """FXS: start (on) or stop ringing the phone."""

    on: bool


@dataclass(frozen=True)
class Hook:
    """FXO: go off hook (seize or answer the line) or back on hook."""

    off: bool


@dataclass(frozen=True)
class Dial:
    """FXO: dial digits on the seized line (a leading "P" asks for pulse dialling)."""

    digits: str


@dataclass(frozen=True)
class StartTone:
    """Start a tone of the tone plan on the line (dial, congestion...)."""

    name: str


@dataclass(frozen=True)
class StopTone:
    """Stop the line's tone."""


@dataclass(frozen=True)
class StopAudio:
    """Stop what is being played to the line (caller ID or a message-waiting message still going out)."""


@dataclass(frozen=True)
class SendCallerId:
    """FXS: send caller ID (FSK) to the on-hook phone after `pause` samples of silence."""

    callerid: Any
    pause: int


@dataclass(frozen=True)
class SendMessageWaiting:
    """FXS: send an on-hook message-waiting message (FSK, format "mdmf" or "sdmf")."""

    waiting: bool
    fmt: str


# --- events for the engine ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Offered:
    """A new incoming call: the FXS phone went off hook, or the FXO line rang enough times."""

    callerid: Any = None


@dataclass(frozen=True)
class Alerting:
    """The far end rings (FXS: our phone; FXO: ringback heard)."""


@dataclass(frozen=True)
class Answered:
    """The call is answered (by the phone, by us, or by the far end)."""


@dataclass(frozen=True)
class Flash:
    """The FXS phone's user pressed flash (hook flash) during a call."""


@dataclass(frozen=True)
class CallerIdHeard:
    """FXO: caller ID arrived for the call being offered."""

    callerid: Any


@dataclass(frozen=True)
class Progress:
    """FXO: a call-progress result on an outgoing or connected line (ringback, busy, voice...)."""

    kind: str


@dataclass(frozen=True)
class Ended:
    """The call on the line is over: `reason` names the analog outcome (a key of the engine's analog causes),
    or `cause` is the Q.850 cause the engine asked to clear with."""

    reason: str = "on_hook"
    cause: Optional[int] = None


@dataclass(frozen=True)
class ProtocolNotice:
    """An input the machine's table has no transition for in its state: ignored, and reported."""

    state: str
    input: str
