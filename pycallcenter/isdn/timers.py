"""Where the ISDN timers live: Q.921 (LAPD) and Q.931 timer settings, named and defaulted as the specs do.

Durations are seconds. The machines (``lapd.Link``, ``call.Interface``) run their timers on the one timer
service, ``pycallcenter.timers.TimerService``; what each expiry does is in the machine's ``{timer: action}``
map (``call._TIMER_ACTIONS``).
"""
from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class LapdTimers:
    """Q.921 5.9: T200 (acknowledgement wait), T203 (idle link check), N200 (retransmissions), k (window)."""

    T200: float = 1.0
    T203: float = 10.0
    N200: int = 3
    k: int = 7


@dataclass(frozen=True)
class Q931Timers:
    """Q.931 Table 9-1/9-2 (user side defaults; ``network()`` gives the network side's), plus relink: how long
    after the D-channel drops we try to re-establish it."""

    T301: float = 180.0
    T302: float = 15.0
    T303: float = 4.0
    T304: float = 30.0
    T305: float = 30.0
    T308: float = 4.0
    T309: float = 90.0
    T310: float = 30.0
    T313: float = 4.0
    T316: float = 120.0
    T322: float = 4.0
    relink: float = 5.0

    @classmethod
    def network(cls, **overrides):
        """Return the network side's defaults (T302 10, T304 20, T310 10) with overrides applied."""
        return cls(**dict({"T302": 10.0, "T304": 20.0, "T310": 10.0}, **overrides))

    @classmethod
    def side(cls, network, given=None):
        """Return the settings for one side: given as Q931Timers, or a {name: seconds} dict over the side's
        defaults (an unknown name raises ValueError naming it)."""
        if isinstance(given, cls):
            return given
        given = dict(given or {})
        unknown = sorted(set(given) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown Q.931 timer {unknown[0]!r}")
        return cls.network(**given) if network else replace(cls(), **given)


# how many times a timer's message is repeated before the procedure gives up (Q.931 5.1.1, 5.3.4, 5.5, 5.8.10)
Q931_RETRIES = {"T303": 1, "T308": 1, "T316": 2, "T322": 2}
