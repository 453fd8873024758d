"""A signalling point: MTP3 over its links plus one ISUP instance per remote point code, wired together.

Sans-IO like its parts: ``receive(slc, su, now)`` and ``pull(slc, now)`` per link, ``next_deadline()`` /
``handle_timer(now)``; ISUP commands go to ``isup(dpc)``. With ``trace`` (a pcap.PcapWriter opened with
link type 140) every signal unit other than FISUs and repeated LSSUs is written, inbound ones marked (with link
type 141, only the MSUs, from the SIO); with the
"pycallcenter.ss7" logger at DEBUG, the same signal units are logged one line each.
"""
import logging

from pycallcenter.errors import DecodeError, LocalProtocolError
from pycallcenter.ss7 import mtp3
from pycallcenter.ss7 import mtp3_codec as M
from pycallcenter.ss7.isup import Isup
from pycallcenter.ss7.timers import IsupTimers
from pycallcenter.ss7.trace import LINKTYPE_MTP3, decode_frame, log_line

log = logging.getLogger("pycallcenter.ss7")


class SignallingPoint:
    """MTP3 + ISUP for one point code."""

    def __init__(self, opc, variant="itu", ni=2, trace=None, **mtp3_options):
        self.mtp3 = mtp3.Mtp3(opc, variant, ni, **mtp3_options)
        self.variant = variant
        self.isups = {}
        self.trace = trace
        self._last_traced = {}

    def add_link(self, slc, adjpc):
        """Add a signalling link; returns its Mtp2Link."""
        return self.mtp3.add_link(slc, adjpc)

    def add_circuits(self, dpc, cics, timers=IsupTimers(), repeat_attempts=False):
        """Serve ISUP circuits cics towards dpc; returns the Isup instance."""
        if dpc in self.isups:
            raise LocalProtocolError(f"circuits towards {dpc} already exist")
        isup = self.isups[dpc] = Isup(self.mtp3.opc, dpc, cics, self.variant, timers, repeat_attempts)
        isup.available = self.mtp3.route_available(dpc)
        return isup

    def isup(self, dpc):
        """Return the Isup instance for dpc."""
        return self.isups[dpc]

    def start(self, now):
        """Start every link; returns events."""
        return self.mtp3.start(now)

    def stop_link(self, slc, now):
        """Take link slc out of service (changeover, or MTP pause for ISUP if it was the last); returns events."""
        return self._dispatch(self.mtp3.stop_link(slc, now), now)

    def _flush(self):
        for dpc, isup in self.isups.items():
            if isup.outgoing:
                for sls, data in isup.take_outgoing():
                    self.mtp3.send(M.SI_ISUP, dpc, sls, data)

    def pull(self, slc, now):
        """Return the next signal unit to transmit on link slc."""
        self._flush()
        su = self.mtp3.pull(slc, now)
        if self.trace is not None or log.isEnabledFor(logging.DEBUG):
            self._trace(slc, su, now, inbound=False)
        return su

    def receive(self, slc, su, now):
        """Process a received signal unit on link slc; returns MTP3 and ISUP events."""
        if self.trace is not None or log.isEnabledFor(logging.DEBUG):
            self._trace(slc, su, now, inbound=True)
        return self._dispatch(self.mtp3.receive(slc, su, now), now)

    def receive_error(self, slc, now):
        """Count one errored signal unit on link slc (MTP2's error monitors); returns events."""
        return self._dispatch(self.mtp3.receive_error(slc, now), now)

    def next_deadline(self):
        """Return the earliest timer expiry of MTP3, the links and ISUP, or None."""
        times = [t for t in [self.mtp3.next_deadline()] + [i.next_deadline() for i in self.isups.values()]
                 if t is not None]
        return min(times, default=None)

    def handle_timer(self, now):
        """Fire expired timers everywhere; returns events."""
        events = self._dispatch(self.mtp3.handle_timer(now), now)
        for isup in self.isups.values():
            events += isup.handle_timer(now)
        return events

    def _dispatch(self, events, now):
        out = []
        for ev in events:
            if isinstance(ev, mtp3.UserData) and ev.si == M.SI_ISUP and ev.opc in self.isups:
                out += self.isups[ev.opc].receive(ev.data, now)
                continue
            if isinstance(ev, (mtp3.RouteAvailable, mtp3.RouteUnavailable)) and ev.dpc in self.isups:
                self.isups[ev.dpc].available = isinstance(ev, mtp3.RouteAvailable)
            if isinstance(ev, mtp3.RouteCongestion) and ev.dpc in self.isups:
                out += self.isups[ev.dpc].mtp_congestion(now)
            elif isinstance(ev, mtp3.LinkCongestion) and ev.congested:
                adj = self.mtp3.links[ev.slc].adjpc
                for dpc, isup in self.isups.items():
                    if self.mtp3.routes.get(dpc) == adj:
                        out += isup.mtp_congestion(now)
            out.append(ev)
        return out

    def _trace(self, slc, su, now, inbound):
        li = su[2] & 0x3F if len(su) > 2 else -1
        if li == 0 or (0 < li < 3 and self._last_traced.get((slc, inbound)) == su[3:]):
            return  # FISUs and repeated LSSUs would flood the trace
        self._last_traced[(slc, inbound)] = su[3:] if li < 3 else None
        if self.trace is not None:
            if self.trace.linktype == LINKTYPE_MTP3:
                if li >= 3:
                    self.trace.write(su[3:], ts=now, inbound=inbound)
            else:
                self.trace.write(su, ts=now, inbound=inbound)
        if log.isEnabledFor(logging.DEBUG):
            try:
                text = log_line(decode_frame("mtp2", su, self.variant))
            except DecodeError as exc:
                text = f"undecodable signal unit {su.hex()}: {exc}"
            log.debug("%.3f link %d %s %s", now, slc, "<-" if inbound else "->", text)
