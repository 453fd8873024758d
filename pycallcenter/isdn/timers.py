"""Where the ISDN timers live: Q.921 (LAPD) and Q.931 timer settings, named and defaulted as the specs do, and
what each Q.931 timer's expiry does (``Q931_TIMER_ACTIONS``, at the end).

Durations are seconds. The machines (``lapd.Link``, ``call.Interface``) run their timers on the one timer
service, ``pycallcenter.timers.TimerService``; LAPD's T200 and T203 act inside ``lapd.Link``, whose every step
they are part of.
"""
from dataclasses import dataclass, fields, replace

from pycallcenter.isdn import causes, ie, maintenance, q931
from pycallcenter.isdn.callstate import INCOMING_PROCEEDING
from pycallcenter.isdn.events import DialComplete, RestartAcknowledged


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


# -- Q.931 timer expiries (Q.931 9.1): action(interface, call (None for relink and T316), now) ----------------
def _retry(call, name):
    """Count one more repetition under timer name; returns False once Q931_RETRIES allows no more."""
    done = call.retries.get(name, 0)
    if done >= Q931_RETRIES[name]:
        return False
    call.retries[name] = done + 1
    return True


def _t303(iface, call, now):  # no answer to SETUP: send it once more, then give up
    if _retry(call, "T303"):
        iface.link.send(call.setup_msg, now)
        iface._start(call, "T303")
    else:
        cause = causes.NO_USER_RESPONDING if iface.network else causes.RECOVERY_ON_TIMER_EXPIRY
        iface._send(call, q931.RELEASE_COMPLETE, [ie.cause(cause, iface._location())])
        iface._end(call, cause)


def _t304(iface, call, now):  # overlap sending stalled
    iface._disconnect(call, causes.RECOVERY_ON_TIMER_EXPIRY)


def _t310(iface, call, now):  # proceeding but no alerting or connect
    iface._disconnect(call, causes.NO_USER_RESPONDING if iface.network else causes.RECOVERY_ON_TIMER_EXPIRY)


def _t301(iface, call, now):  # alerting but no answer
    iface._disconnect(call, causes.NO_ANSWER if iface.network else causes.RECOVERY_ON_TIMER_EXPIRY)


def _t313(iface, call, now):  # our CONNECT was not acknowledged
    iface._disconnect(call, causes.RECOVERY_ON_TIMER_EXPIRY)


def _t302(iface, call, now):  # overlap receiving: no more digits, go on with what came
    if call.called:
        iface._send(call, q931.CALL_PROCEEDING, [])
        call.state = INCOMING_PROCEEDING
        iface._events.append(DialComplete(call))
    else:
        iface._disconnect(call, causes.INVALID_NUMBER_FORMAT)


def _t305(iface, call, now):  # no RELEASE after our DISCONNECT
    iface._release(call, call.release_cause)


def _t308(iface, call, now):  # no RELEASE COMPLETE: RELEASE once more, then the call is gone
    if _retry(call, "T308"):
        iface._send(call, q931.RELEASE, [ie.cause(call.release_cause, iface._location())])
        iface._start(call, "T308")
    else:
        iface._end(call, causes.RECOVERY_ON_TIMER_EXPIRY)


def _t309(iface, call, now):  # the D-channel stayed down: the active call is lost
    iface._end(call, causes.DESTINATION_OUT_OF_ORDER)


def _t322(iface, call, now):  # STATUS ENQUIRY unanswered: ask again, then clear
    if _retry(call, "T322"):
        iface._send(call, q931.STATUS_ENQUIRY, [])
        iface._start(call, "T322")
    else:
        iface._disconnect(call, causes.TEMPORARY_FAILURE)


def _t316(iface, call, now):  # RESTART unanswered: repeat it, then report the failure
    channels, tries = iface.restart_pending
    if tries >= Q931_RETRIES["T316"]:
        iface.restart_pending = None
        iface._events.append(RestartAcknowledged(channels, ok=False))
    else:
        iface.restart_pending = (channels, tries + 1)
        iface.deadlines.start(None, "T316", now + iface.timers.T316)
        maintenance.send_restart(iface, channels)


def _relink(iface, call, now):  # the D-channel went down by itself: bring it back (the link knows its states)
    iface._relink(call, now)


Q931_TIMER_ACTIONS = {
    "T301": _t301,
    "T302": _t302,
    "T303": _t303,
    "T304": _t304,
    "T305": _t305,
    "T308": _t308,
    "T309": _t309,
    "T310": _t310,
    "T313": _t313,
    "T316": _t316,
    "T322": _t322,
    "relink": _relink,
}
