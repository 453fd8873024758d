"""Where the SIP timers live: RFC 3261 section 17 and Table 4 settings, named as the RFC names them.

The transaction machines (``pycallcenter.sip.transaction``) run their timers on the project's one timer
service, ``pycallcenter.timers.TimerService``, under the RFC's letters (A, B, D, E, F, G, H, I, J, K and
RFC 6026's L and M) plus ``T100`` (the 200 ms after which an INVITE server transaction answers 100 Trying
itself, RFC 3261 17.2.1). Durations are seconds.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class SipTimers:
    """T1 round-trip estimate, T2 maximum retransmit interval for non-INVITE requests and INVITE responses,
    T4 maximum time a message stays in the network (RFC 3261 17.1.1.1 and Table 4); D is the INVITE client's
    wait for response retransmissions over unreliable transports (at least 32 s); TRYING_DELAY is the
    INVITE server's wait before it sends 100 Trying itself."""

    T1: float = 0.5
    T2: float = 4.0
    T4: float = 5.0
    D: float = 32.0
    TRYING_DELAY: float = 0.2

    def duration(self, name, reliable, attempt=0, proceeding=False):
        """Return the duration of timer name (None: not used on this transport), attempt counting restarts
        of the retransmission timers A, E and G."""
        if name in ("A", "E", "G"):
            if reliable:
                return None
            if name == "E" and proceeding:
                return self.T2
            interval = self.T1 * (2 ** attempt)
            return interval if name == "A" else min(interval, self.T2)
        if name in ("B", "F", "H", "L", "M"):
            return 64 * self.T1
        if name == "J":
            return 0.0 if reliable else 64 * self.T1
        if name == "D":
            return 0.0 if reliable else self.D
        if name in ("I", "K"):
            return 0.0 if reliable else self.T4
        if name == "T100":
            return self.TRYING_DELAY
        raise KeyError(name)
