"""What the station features machine (``analog/station.py``) returns: actions its port carries out, in order.

Each action names the port method that carries it out (``port``) and carries that method's arguments as its
fields, in order. Legs and lines are the engine's objects, which the machine only hands back. Two actions
have an answer the port feeds back as an input: ``PlaceConsult`` (``Stations.consult_placed``) and
``RingExtension`` (``Stations.recall_placed``).
"""
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Log:
    """Write one line to the event log."""

    kind: str
    fields: dict
    port = "log_fields"


@dataclass(frozen=True)
class Adopt:
    """Take over the script bridge holding the leg (the script waits until its own leg ends)."""

    leg: Any
    port = "adopt"


@dataclass(frozen=True)
class Keep:
    """The station becomes the keeper of the legs (None ignored): their scripts ending no longer clears them."""

    legs: tuple
    port = "keep"


@dataclass(frozen=True)
class Hold:
    """Put a party on hold (music, or the hold beep)."""

    leg: Any
    port = "hold"


@dataclass(frozen=True)
class Connect:
    """Connect the phone's leg to a party only."""

    extension: Any
    party: Any
    port = "connect"


@dataclass(frozen=True)
class Conference:
    """Join the legs so that each hears the others."""

    legs: tuple
    port = "conference"


@dataclass(frozen=True)
class HandOff:
    """Leave a connected pair to the engine."""

    a: Any
    b: Any
    port = "hand_off"


@dataclass(frozen=True)
class MakeCurrent:
    """Put the phone's line on another of its legs."""

    line: Any
    leg: Any
    port = "make_current"


@dataclass(frozen=True)
class RingPhone:
    """Ring the phone for a held call (reminder ring)."""

    line: Any
    now: int
    port = "recall"


@dataclass(frozen=True)
class ClearLine:
    """Every party left: the phone hears congestion until it hangs up."""

    line: Any
    now: int
    port = "clear"


@dataclass(frozen=True)
class ReleaseLine:
    """End the line's current leg without a hook change."""

    line: Any
    now: int
    port = "release"


@dataclass(frozen=True)
class HangUp:
    """Clear a leg with a Q.850 cause."""

    leg: Any
    cause: int
    port = "hang_up"


@dataclass(frozen=True)
class EndLeg:
    """End a leg on the phone's row without touching the row's current call."""

    leg: Any
    cause: int
    port = "end_leg"


@dataclass(frozen=True)
class AnswerWaiting:
    """The phone took a waiting call."""

    leg: Any
    port = "answer"


@dataclass(frozen=True)
class MarkAlerting:
    """A waiting call's leg rings (its state becomes alerting)."""

    leg: Any
    port = "mark_alerting"


@dataclass(frozen=True)
class TellAlerting:
    """Tell the engine a waiting call's leg rings."""

    leg: Any
    port = "alerting"


@dataclass(frozen=True)
class DropDigits:
    """Forget the DTMF heard on the leg and not yet consumed."""

    leg: Any
    port = "drop_digits"


@dataclass(frozen=True)
class DialTone:
    """Cut the phone from everyone and give it dial tone."""

    leg: Any
    port = "dial_tone"


@dataclass(frozen=True)
class Ringback:
    """Cut a party from everyone and give it ringback."""

    leg: Any
    port = "ringback"


@dataclass(frozen=True)
class Silence:
    """Stop what the leg hears (music, tones)."""

    leg: Any
    port = "silence"


@dataclass(frozen=True)
class Isolate:
    """Cut the leg from every other leg."""

    leg: Any
    port = "isolate"


@dataclass(frozen=True)
class LegTone:
    """Start a tone on the leg (with unless_tone, only when it hears no tone already)."""

    leg: Any
    name: str
    unless_tone: bool = False
    port = "start_tone"


@dataclass(frozen=True)
class StopLegTone:
    """Stop the leg's tone."""

    leg: Any
    port = "stop_tone"


@dataclass(frozen=True)
class IsolateLine:
    """Cut the phone's row from every other row."""

    line: Any
    port = "isolate_line"


@dataclass(frozen=True)
class LineTone:
    """Start a tone on the phone's row."""

    line: Any
    name: str
    port = "start_line_tone"


@dataclass(frozen=True)
class StopLineTone:
    """Stop the tone on the phone's row."""

    line: Any
    port = "stop_line_tone"


@dataclass(frozen=True)
class PlaceConsult:
    """Place the consultation call for the dialled number in the held party's call (answer: consult_placed)."""

    channel: int
    extension: Any
    party: Any
    number: str
    now: int
    port = "place_consult"


@dataclass(frozen=True)
class RingExtension:
    """Ring the extension for a held party whose blind transfer failed (answer: recall_placed)."""

    channel: int
    party: Any
    now: int
    port = "ring_extension"


@dataclass(frozen=True)
class CutLine:
    """Cut the phone's row from the conversation (RestoreLine puts the links back)."""

    line: Any
    port = "cut_line"


@dataclass(frozen=True)
class RestoreLine:
    """Put back the links CutLine cut, between rows that still have a leg."""

    line: Any
    port = "restore_line"


@dataclass(frozen=True)
class AlertForCallerId:
    """Send the subscriber alerting tone then the CPE alerting signal (caller ID on call waiting)."""

    line: Any
    port = "alert_for_callerid"


@dataclass(frozen=True)
class SendCallerIdOnWaiting:
    """Send the waiting call's caller ID to the phone that acknowledged the alert."""

    line: Any
    leg: Any
    port = "send_callerid_on_waiting"


def arguments(action):
    """Return the action's fields in order: the arguments of its port method."""
    return [getattr(action, name) for name in action.__dataclass_fields__]
