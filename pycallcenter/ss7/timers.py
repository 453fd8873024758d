"""Where the SS7 timers live: MTP2 (Q.703), MTP3 (Q.704, Q.707) and ISUP (Q.764) timer settings, named as
the specs name them. Durations are seconds.

The machines (``mtp2.Mtp2Link``, ``mtp3.Mtp3``, ``isup.Isup``) run their timers on the one timer service,
``pycallcenter.timers.TimerService``, under these names; what each ISUP timer's expiry does is
the ``{timer: action}`` map at the end of this module (``ISUP_TIMER_ACTIONS``).
"""
from dataclasses import dataclass

from pycallcenter.causes import Cause
from pycallcenter.ss7.isup_circuit import IDLE
from pycallcenter.ss7.isup_codec import IsupMessage
from pycallcenter.ss7.isup_events import CallFailed, Released, TrafficLoad


@dataclass(frozen=True)
class Mtp2Timers:
    """Q.703 12.3 (64 kbit/s values): T1 alignment ready, T2 not aligned, T3 aligned, T4n/T4e normal and
    emergency proving periods, T5 SIB interval, T6 remote congestion, T7 excessive acknowledgement delay."""

    T1: float = 45.0
    T2: float = 10.0
    T3: float = 1.5
    T4n: float = 8.2
    T4e: float = 0.5
    T5: float = 0.1
    T6: float = 4.5
    T7: float = 1.0


@dataclass(frozen=True)
class Mtp3Timers:
    """Q.704 16.8 and Q.707 5.5: T2 changeover acknowledgement, T4 changeback acknowledgement, T12 uninhibit
    and T14 inhibit acknowledgement, T17 link restart delay; SLT_T1 link test acknowledgement and SLT_T2 link
    test period (Q.707's T1 and T2)."""

    T2: float = 1.0
    T4: float = 1.0
    T12: float = 1.0
    T14: float = 2.0
    T17: float = 1.0
    SLT_T1: float = 8.0
    SLT_T2: float = 60.0


@dataclass(frozen=True)
class IsupTimers:
    """Q.764 Annex A (middle of the ranges): T1/T5 release, T6 suspend, T7 address complete, T8 continuity,
    T9 answer, T12-T15 blocking, T16/T17 reset, T18/T20 group blocking, T22/T23 group reset, T24-T27 and T36
    continuity re-check, T29/T30 congestion."""

    T1: float = 15.0
    T5: float = 300.0
    T6: float = 60.0
    T7: float = 25.0
    T8: float = 12.0
    T9: float = 120.0
    T12: float = 15.0
    T13: float = 300.0
    T14: float = 15.0
    T15: float = 300.0
    T16: float = 15.0
    T17: float = 300.0
    T18: float = 15.0
    T20: float = 15.0
    T22: float = 15.0
    T23: float = 300.0
    T24: float = 2.0
    T25: float = 5.0
    T26: float = 120.0
    T27: float = 240.0
    T29: float = 0.45
    T30: float = 7.5
    T36: float = 12.5


# -- ISUP timer expiries: action(isup, circuit (None for the route's T29/T30), now) -> events -------------
ISUP_ROUTE = -1  # timer owner for timers of the whole route (T29, T30) rather than of one circuit


def _t30(isup, c, now):  # T30 passed without congestion: one step back up
    if not isup.load_step:
        return []
    isup.load_step -= 1
    if isup.load_step:
        isup._start(ISUP_ROUTE, "T30", now)
    return [TrafficLoad(isup.traffic_share)]


def _t1(isup, c, now):  # no RLC yet: repeat REL
    isup._send(IsupMessage("REL", c.cic, {"cause_indicators": isup._cause(c.cause)}))
    isup._start(c.cic, "T1", now)
    return []


def _t5(isup, c, now):  # no RLC for minutes: the call is over for us; reset the circuit instead
    isup._stop(c.cic, "T1")
    c.state = IDLE
    return [Released(c.cic, c.cause, "timer")] + isup.reset(c.cic, now)


def _t24(isup, c, now):  # the tone never came back
    return isup._tone_result(c, False, now)


def _recheck(isup, c, now):  # T25, T26: time for the next continuity re-check
    return isup._send_ccr(c, now)


def _reset_after(isup, c, now):  # T27, T36: no CCR (or no COT/REL after it): the circuit is reset
    return isup.reset(c.cic, now)


def _gave_up(isup, c, name, cause, now):
    """T6-T9: the call waited too long for the far end: CallFailed and release with cause."""
    return [CallFailed(c.cic, f"{name} expired")] + isup.release(c.cic, now, cause)


def _repeat(isup, c, message, name, now):
    """T12-T17: the far end has not acknowledged our BLO/UBL/RSC: send it again."""
    isup._send(IsupMessage(message, c.cic, {}))
    isup._start(c.cic, name, now)
    return []


def _repeat_group(isup, c, kind, name, now):
    """T18, T20, T22, T23: the far end has not acknowledged our CGB/CGU/GRS: send it again."""
    msg = isup._group.get((kind, c.cic))
    if msg is not None:
        isup._send(msg)
        isup._start(c.cic, name, now)
    return []


# what each ISUP timer's expiry does (Q.764 Annex A names)
ISUP_TIMER_ACTIONS = {
    "T1": _t1,
    "T5": _t5,
    "T6": lambda isup, c, now: _gave_up(isup, c, "T6", Cause.RECOVERY_ON_TIMER_EXPIRY, now),
    "T7": lambda isup, c, now: _gave_up(isup, c, "T7", Cause.RECOVERY_ON_TIMER_EXPIRY, now),
    "T8": lambda isup, c, now: _gave_up(isup, c, "T8", Cause.TEMPORARY_FAILURE, now),
    "T9": lambda isup, c, now: _gave_up(isup, c, "T9", Cause.NO_ANSWER_FROM_USER, now),
    "T12": lambda isup, c, now: _repeat(isup, c, "BLO", "T12", now),
    "T13": lambda isup, c, now: _repeat(isup, c, "BLO", "T13", now),
    "T14": lambda isup, c, now: _repeat(isup, c, "UBL", "T14", now),
    "T15": lambda isup, c, now: _repeat(isup, c, "UBL", "T15", now),
    "T16": lambda isup, c, now: _repeat(isup, c, "RSC", "T16", now),
    "T17": lambda isup, c, now: _repeat(isup, c, "RSC", "T17", now),
    "T18": lambda isup, c, now: _repeat_group(isup, c, "CGB", "T18", now),
    "T20": lambda isup, c, now: _repeat_group(isup, c, "CGU", "T20", now),
    "T22": lambda isup, c, now: _repeat_group(isup, c, "GRS", "T22", now),
    "T23": lambda isup, c, now: _repeat_group(isup, c, "GRS", "T23", now),
    "T24": _t24,
    "T25": _recheck,
    "T26": _recheck,
    "T27": _reset_after,
    "T36": _reset_after,
    "T29": lambda isup, c, now: [],  # the congestion episode's window closed: the next TFC reduces again
    "T30": _t30,
}
