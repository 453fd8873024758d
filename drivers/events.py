"""Board events and alarm flags: what a board reports through ``Board.poll_events()``.

Alarm bit values are DAHDI's (``DAHDI_ALARM_*`` in <dahdi/user.h>) so the DAHDI backend passes
``dahdi_spaninfo.alarms`` straight through and the emulator reports the same numbers.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional


class Alarm(enum.IntFlag):
    """Span alarm bits, with DAHDI's values."""

    NONE = 0
    RECOVER = 1 << 0
    LOOPBACK = 1 << 1
    YELLOW = 1 << 2  # remote alarm indication (RAI) received from the far end
    RED = 1 << 3  # we lost the far end's signal or framing
    BLUE = 1 << 4  # alarm indication signal (AIS, all ones) received
    NOTOPEN = 1 << 5
    LOS = 1 << 8  # loss of signal
    LFA = 1 << 9  # loss of frame alignment
    LMFA = 1 << 10  # loss of multiframe alignment

    @classmethod
    def names(cls, value: int) -> list[str]:
        """Return the names of the bits set in value, lowest bit first (stable for logs)."""
        return [a.name for a in cls if a.value and (int(value) & a.value) == a.value]


# The alarms during which a span carries no signalling (its D-channel or signalling link is down).
SIGNALLING_DOWN = Alarm.RED | Alarm.BLUE | Alarm.YELLOW | Alarm.LOS | Alarm.LFA


def alarm_change(event, span_number: int, in_alarm: bool):
    """Return True when event takes span span_number into a signalling-down alarm, False when it clears
    the one in_alarm says it is in, and None when it changes nothing."""
    if event.span != span_number or event.kind not in (EventKind.ALARM, EventKind.ALARM_CLEARED):
        return None
    down = bool(int(event.data.get("alarms", 0)) & SIGNALLING_DOWN)
    return down if down != in_alarm else None


class EventKind(enum.Enum):
    """What happened; the value is the stable name used in event logs."""

    # Analog and robbed-bit signalling. On a station-side channel (fxs_* signalling: an FXO port or a
    # T1 RBS channel facing an office) RING_BEGIN/RING_END bracket each ring burst of the cadence.
    RING_BEGIN = "ring_begin"
    RING_END = "ring_end"
    # Office-side channel (fxo_* signalling: an FXS port feeding a phone): the far end went off/on hook.
    # A station-side channel sees ON_HOOK when the office drops loop current (disconnect supervision).
    OFF_HOOK = "off_hook"
    ON_HOOK = "on_hook"
    WINK = "wink"
    FLASH = "flash"  # far end went on hook for less than the receive flash time, then off hook again
    POLARITY = "polarity"  # line polarity reversed; data {"reversed": bool}
    RINGER_ON = "ringer_on"  # our own ringer (FXS port) started a burst; DAHDI_EVENT_RINGERON
    RINGER_OFF = "ringer_off"
    HOOK_COMPLETE = "hook_complete"  # our wink/flash/start finished; DAHDI_EVENT_HOOKCOMPLETE
    DIAL_COMPLETE = "dial_complete"  # Channel.dial() finished sending; data {"digits": str}
    DTMF = "dtmf"  # digit heard by a board with a tone detector; data {"digit": str}
    # Span alarms: channel is None; data {"alarm": "RED", "alarms": int (all bits now set)}.
    ALARM = "alarm"
    ALARM_CLEARED = "alarm_cleared"
    # HDLC (dchan/hardhdlc channels): a frame was dropped.
    HDLC_BAD_FCS = "hdlc_bad_fcs"
    HDLC_ABORT = "hdlc_abort"
    HDLC_OVERRUN = "hdlc_overrun"
    # Media: the reader fell behind (blocks dropped; data {"dropped": n}), or the writer did not
    # supply a block in time (idle code sent instead; data {"missing": n}).
    READ_OVERRUN = "read_overrun"
    WRITE_UNDERRUN = "write_underrun"


@dataclass(frozen=True)
class Event:
    """One board event.

    ``span`` is the span number (1-based, as in DAHDI); ``channel`` the global channel number or None
    for span-wide events (alarms); ``sample_time`` the board clock in samples (8 kHz) since the board
    was opened; ``data`` a small mapping of plain values (str/int/bool) described per kind above.
    """

    kind: EventKind
    span: Optional[int]
    channel: Optional[int]
    sample_time: int
    data: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        extra = " ".join(f"{k}={self.data[k]}" for k in sorted(self.data))
        where = f"span={self.span} chan={self.channel}"
        return f"{self.sample_time} {self.kind.value} {where}" + (f" {extra}" if extra else "")

    def __hash__(self):  # data is a dict; hash what identifies the event
        return hash((self.kind, self.span, self.channel, self.sample_time))
