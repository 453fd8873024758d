"""Where the analog timers live: the FXS, FXO and station-feature timer settings, named and defaulted.

Durations are seconds (the machines count board samples: ``samples()``). Each machine runs its timers on its
own ``pycallcenter.timers.TimerService``; what an expiry does is in the machine's ``{timer: action}`` map.
"""
from dataclasses import dataclass

from pycallcenter.dsp import SAMPLE_RATE


def samples(seconds):
    """Return a duration in seconds as a whole number of board samples."""
    return int(seconds * SAMPLE_RATE)


@dataclass(frozen=True)
class FxsTimers:
    """An FXS port: when caller ID and message-waiting messages go out."""

    callerid_pause: float = 0.5  # caller ID starts this long into the first silent interval (GR-30: >= 500 ms)
    mwi_idle: float = 1.0  # an on-hook message-waiting message waits for the line to be idle this long


@dataclass(frozen=True)
class FxoTimers:
    """An FXO port: ring supervision before answer, dial-tone wait and no-answer on outgoing calls."""

    ring_timeout: float = 8.0  # no ring for longer than this after a ring ended: the caller gave up
    dialtone_wait: float = 3.0  # off hook without dial tone for this long: dial anyway (or give up)
    no_answer: float = 45.0  # dialled and not answered for this long: give up


@dataclass(frozen=True)
class StationTimers:
    """The station features of a phone (hook-flash consultation and transfer, call waiting)."""

    call_waiting: float = 20.0  # a waiting call not taken within this is cleared (no answer)
    digit: float = 3.0  # the consultation number is complete after this long without a digit
    flash_digit: float = 2.0  # after a flash in a consultation, a digit is awaited this long
    consult: float = 30.0  # a consulted (or blind-transferred-to) party must answer within this
    recall: float = 30.0  # a reminder or transfer-recall ring is given up after this
    cidcw_ack: float = 0.5  # the phone has this long to acknowledge caller ID on call waiting (DTMF A or D)
