"""Where the SS7 timers live: MTP2 (Q.703), MTP3 (Q.704, Q.707) and ISUP (Q.764) timer settings, named as
the specs name them. Durations are seconds.

The machines (``mtp2.Mtp2Link``, ``mtp3.Mtp3``, ``isup.Isup``) run their timers on the one timer service,
``pycallcenter.timers.TimerService``, under these names; ISUP's expiry actions are its ``{timer: action}``
map (``isup._TIMER_ACTIONS``).
"""
from dataclasses import dataclass


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
