"""MTP3 (Q.704, Q.707) as a sans-IO state machine over one or more MTP2 links in link sets.

Signal units go in with ``receive(slc, su, now)`` and out with ``pull(slc, now)``; user parts send with
``send(si, dpc, sls, data)`` and get ``UserData`` events. Link test (SLTM/SLTA), traffic restart allowed
(TRA), changeover/changeback between links of a link set, SLS load sharing and route availability
(TFP/TFA) are handled here.
"""
from dataclasses import dataclass, field

from pycallcenter.errors import DecodeError, LocalProtocolError
from pycallcenter.ss7 import mtp2
from pycallcenter.ss7 import mtp3_codec as M
from pycallcenter.ss7.timers import Mtp2Timers, Mtp3Timers
from pycallcenter.timers import TimerService

MOD = 128


@dataclass(slots=True)
class LinkAvailable:
    """Link slc passed its signalling link test and carries traffic."""
    slc: int


@dataclass(slots=True)
class LinkUnavailable:
    """Link slc failed or was stopped; reason from MTP2 or the link test."""
    slc: int
    reason: str


@dataclass(slots=True)
class LinkCongestion:
    """The far end of link slc is congested (SIB while our MSUs wait, True) or no longer (False)."""
    slc: int
    congested: bool


@dataclass(slots=True)
class LinkInhibited:
    """Link slc was inhibited (True) or uninhibited (False) for user traffic; side "local" asked, or "remote"."""
    slc: int
    side: str
    inhibited: bool


@dataclass(slots=True)
class InhibitDenied:
    """The far end refused to inhibit link slc (LID): it would lose its last route."""
    slc: int


@dataclass(slots=True)
class RouteCongestion:
    """TFC: traffic towards dpc meets congestion (level 0-3; 0 when the network sends no level)."""
    dpc: int
    level: int


@dataclass(slots=True)
class RouteAvailable:
    """Destination point code dpc can be reached."""
    dpc: int


@dataclass(slots=True)
class RouteUnavailable:
    """Destination point code dpc cannot be reached."""
    dpc: int


@dataclass(slots=True)
class TrafficRestartAllowed:
    """The adjacent signalling point opc sent TRA."""
    opc: int


@dataclass(slots=True)
class UserData:
    """An MSU for a user part (si 3 SCCP, 5 ISUP, ...)."""
    si: int
    opc: int
    dpc: int
    sls: int
    data: bytes


@dataclass
class _Link:
    slc: int
    adjpc: int
    mtp2: object
    available: bool = False
    slt_pattern: bytes = b""
    slt_tries: int = 0
    changed_over: bool = False
    retrieved: list = field(default_factory=list)
    cbd_code: int = 0
    inhibited: set = field(default_factory=set)  # {"local", "remote"}: no user traffic while not empty


class Mtp3:
    """One signalling point: its point code, links grouped by adjacent point code, SLS load sharing."""

    def __init__(self, opc, variant="itu", ni=2, timers=Mtp3Timers(), mtp2_timers=Mtp2Timers(),
                 emergency=True):
        if variant not in M.LABEL:
            raise ValueError(f"variant must be 'itu' or 'ansi', not {variant!r}")
        self.opc, self.variant, self.ni = opc, variant, ni
        self.timers, self.mtp2_timers, self.emergency = timers, mtp2_timers, emergency
        self.links = {}
        self.routes = {}  # dpc -> adjacent pc (link set); adjacent pcs route to themselves
        self.prohibited = set()
        self.deadlines = TimerService()  # owner: the link (slc); names as in Mtp3Timers
        self.restarting = set()
        self._pattern_seed = 0x5A
        self.test_si = M.SI_TEST_ITU if variant == "itu" else M.SI_TEST_ANSI

    # -- configuration and commands ---------------------------------------------------------------
    def add_link(self, slc, adjpc, link=None):
        """Add signalling link slc towards adjacent point code adjpc; returns its Mtp2Link."""
        if slc in self.links:
            raise LocalProtocolError(f"link {slc} already exists")
        link = link or mtp2.Mtp2Link(self.mtp2_timers, emergency=self.emergency)
        self.links[slc] = _Link(slc, adjpc, link)
        self.routes.setdefault(adjpc, adjpc)
        return link

    def add_route(self, dpc, adjpc):
        """Route destination dpc through the link set towards adjpc."""
        self.routes[dpc] = adjpc

    def start(self, now):
        """Start aligning every link; returns events."""
        for link in self.links.values():
            if link.mtp2.state == mtp2.OUT_OF_SERVICE:
                link.mtp2.start(now)
        return []

    def stop_link(self, slc, now):
        """Take link slc out of service (changeover to the others); returns events."""
        self.restarting.discard(slc)
        self.deadlines.cancel(slc, "T17")
        events = self.links[slc].mtp2.stop(now)
        return self._mtp2_events(self.links[slc], events, now, restart=False)

    def available_links(self, adjpc):
        """Return the SLCs of available, uninhibited links towards adjpc, in order."""
        return [l.slc for l in self.links.values() if l.adjpc == adjpc and l.available and not l.inhibited]

    def inhibit(self, slc, now):
        """Ask the far end to inhibit link slc for user traffic (LIN, repeated every T14); returns events."""
        link = self.links[slc]
        if "local" in link.inhibited:
            return []
        if self.available_links(link.adjpc) in ([], [slc]):
            raise LocalProtocolError(f"inhibiting link {slc} would leave point code {link.adjpc} unreachable")
        self._send_mgmt(link, M.SI_SNM, "LIN")
        self.deadlines.start(slc, "T14", now + self.timers.T14)
        return []

    def uninhibit(self, slc, now):
        """Return link slc to user traffic (LUN, repeated every T12 until LUA); returns events."""
        link = self.links[slc]
        self.deadlines.cancel(slc, "T14")
        if "local" not in link.inhibited:
            return []
        self._send_mgmt(link, M.SI_SNM, "LUN")
        self.deadlines.start(slc, "T12", now + self.timers.T12)
        return []

    def route_available(self, dpc):
        """Return True if dpc can be reached now."""
        adj = self.routes.get(dpc)
        return adj is not None and dpc not in self.prohibited and bool(self.available_links(adj))

    def send(self, si, dpc, sls, data, now=None):
        """Send user part data to dpc, load-shared over available links by SLS; returns False if unreachable."""
        adj = self.routes.get(dpc)
        if adj is None or dpc in self.prohibited:
            return False
        slcs = self.available_links(adj)
        if not slcs:
            return False
        link = self.links[slcs[sls % len(slcs)]]
        link.mtp2.send(M.encode_msu(si, self.ni, dpc, self.opc, sls, data, self.variant))
        return True

    # -- I/O ----------------------------------------------------------------------------------------
    def pull(self, slc, now):
        """Return the next signal unit link slc transmits."""
        return self.links[slc].mtp2.pull(now)

    def receive(self, slc, su, now):
        """Process a signal unit received on link slc; returns events."""
        link = self.links[slc]
        return self._mtp2_events(link, link.mtp2.receive(su, now), now)

    def receive_error(self, slc, now):
        """Count an errored signal unit (bad FCS) on link slc; returns events."""
        link = self.links[slc]
        return self._mtp2_events(link, link.mtp2.receive_error(now), now)

    def next_deadline(self):
        """Return the earliest timer expiry of MTP3 or any link, or None."""
        times = [t for t in (l.mtp2.next_deadline() for l in self.links.values()) if t is not None]
        own = self.deadlines.next_deadline()
        if own is not None:
            times.append(own)
        return min(times, default=None)

    def handle_timer(self, now):
        """Fire expired timers; returns events."""
        events = []
        for link in self.links.values():
            d = link.mtp2.next_deadline()
            if d is not None and d <= now:
                events += self._mtp2_events(link, link.mtp2.handle_timer(now), now)
        for slc, name in self.deadlines.expired(now):
            events += self._expired(slc, name, now)
        return events

    # -- internals ----------------------------------------------------------------------------------
    def _expired(self, slc, name, now):
        link = self.links[slc]
        if name == "T17":
            self.restarting.discard(slc)
            if link.mtp2.state == mtp2.OUT_OF_SERVICE:
                link.mtp2.start(now)
            return []
        if name == "SLT_T1":
            if link.slt_tries < 2:
                self._send_sltm(link, now)
                return []
            return self._restart(link, "signalling link test failed", now)
        if name == "SLT_T2":
            if link.available:
                link.slt_tries = 0
                self._send_sltm(link, now)
            return []
        if name == "T2":  # no COA: change over anyway, without retransmitting
            link.retrieved = []
            return []
        if name == "T4":  # no CBA: change back anyway
            return self._changed_back(link, now)
        if name in ("T12", "T14"):  # no LUA/LIA yet: ask again
            self._send_mgmt(link, M.SI_SNM, "LUN" if name == "T12" else "LIN")
            self.deadlines.start(slc, name, now + getattr(self.timers, name))
        return []

    def _restart(self, link, reason, now):
        events = link.mtp2.stop(now)
        return self._mtp2_events(link, events or [mtp2.OutOfService(reason)], now)

    def _mtp2_events(self, link, events, now, restart=True):
        out = []
        for ev in events:
            if isinstance(ev, mtp2.MsuReceived):
                out += self._msu(link, ev.msu, now)
            elif isinstance(ev, mtp2.InService):
                link.slt_tries = 0
                self._send_sltm(link, now)
            elif isinstance(ev, mtp2.OutOfService):
                out += self._link_down(link, ev.reason, now, restart)
            elif isinstance(ev, mtp2.RemoteProcessorOutage):
                out += self._link_down(link, "remote processor outage", now, restart=False)
            elif isinstance(ev, mtp2.RemoteProcessorRecovered) and not link.available:
                out += self._link_up(link, now)
            elif isinstance(ev, mtp2.RemoteCongestion):
                out.append(LinkCongestion(link.slc, ev.congested))
        return out

    def _send_sltm(self, link, now):
        link.slt_tries += 1
        self._pattern_seed = (self._pattern_seed * 5 + 7) & 0xFF
        link.slt_pattern = bytes((self._pattern_seed + i) & 0xFF for i in range(4))
        self._send_mgmt(link, self.test_si, "SLTM", data=link.slt_pattern)
        self.deadlines.start(link.slc, "SLT_T1", now + self.timers.SLT_T1)

    def _send_mgmt(self, link, si, name, **fields):
        slc = fields.get("slc", link.slc)  # ITU names the link concerned in the label's SLS
        body = M.encode_management(name, self.variant, **dict(fields, slc=slc))
        link.mtp2.send(M.encode_msu(si, self.ni, link.adjpc, self.opc, slc, body, self.variant))

    def _msu(self, link, msu, now):
        label = M.label_tuple(msu, self.variant)
        if label is None:
            return []  # too short to carry a label: discard (Q.704 2.3.5)
        si, ni, dpc, opc, sls = label
        if dpc != self.opc:
            return []  # we are no STP: discard
        user = msu[M.LABEL_SIZE[self.variant] + 1:]
        if si > 2:
            return [UserData(si, opc, dpc, sls, bytes(user))]
        head = {"si": si, "ni": ni, "dpc": dpc, "opc": opc, "sls": sls}
        if si == M.SI_SNM:
            return self._snm(link, head, user, now)
        return self._test(link, head, user, now)

    def _test(self, link, head, user, now):
        try:
            msg = M.decode_management(head["si"], user, self.variant)
        except DecodeError:
            return []
        if msg["message_type"] == "SLTM":
            self._send_mgmt(link, head["si"], "SLTA", data=msg["data"])
            return []
        if (msg["message_type"] == "SLTA" and msg["data"] == link.slt_pattern
                and self.deadlines.cancel(link.slc, "SLT_T1")):
            self.deadlines.start(link.slc, "SLT_T2", now + self.timers.SLT_T2)
            if not link.available:
                return self._link_up(link, now)
        return []

    def _link_up(self, link, now):
        was_reachable = bool(self.available_links(link.adjpc))
        link.available = True
        events = [LinkAvailable(link.slc)]
        if not was_reachable:
            self._send_mgmt(link, M.SI_SNM, "TRA")
            events += [RouteAvailable(d) for d, adj in self.routes.items()
                       if adj == link.adjpc and d not in self.prohibited]
        elif link.changed_over:
            # changeback: tell the far end on a link that carried this link's traffic
            others = [l for l in self.links.values() if l.adjpc == link.adjpc and l.available and l is not link]
            link.cbd_code = (link.cbd_code + 1) & 0xFF
            if others:
                self._send_mgmt(others[0], M.SI_SNM, "CBD", changeback_code=link.cbd_code, slc=link.slc)
                self.deadlines.start(link.slc, "T4", now + self.timers.T4)
                link.available = False  # traffic stays diverted until CBA
                return events[:0]
        return events

    def _changed_back(self, link, now):
        self.deadlines.cancel(link.slc, "T4")
        link.changed_over = False
        link.available = True
        return [LinkAvailable(link.slc)]

    def _link_down(self, link, reason, now, restart):
        events = []
        self.deadlines.cancel(link.slc, "SLT_T1")
        self.deadlines.cancel(link.slc, "SLT_T2")
        was_available = link.available
        link.available = False
        if was_available:
            events.append(LinkUnavailable(link.slc, reason))
            others = [l for l in self.links.values() if l.adjpc == link.adjpc and l.available]
            if others:
                # changeover: hand unacknowledged MSUs to the far end's alternative link after COO/COA
                link.changed_over = True
                link.retrieved = link.mtp2.retrieve()
                self._send_mgmt(others[0], M.SI_SNM, "COO", fsn=link.mtp2.last_accepted_fsn, slc=link.slc)
                self.deadlines.start(link.slc, "T2", now + self.timers.T2)
            else:
                link.mtp2.retrieve()
                events += [RouteUnavailable(d) for d, adj in self.routes.items() if adj == link.adjpc]
        if was_available and not self.available_links(link.adjpc):
            # Q.704 10.3: an inhibited link that is now the only way to adjpc is put back to work
            for other in self.links.values():
                if other.adjpc == link.adjpc and other.available and other.inhibited:
                    if "remote" in other.inhibited:
                        self._send_mgmt(other, M.SI_SNM, "LFU")
                    events += self.uninhibit(other.slc, now)
                    break
        if restart and link.slc not in self.restarting:
            self.restarting.add(link.slc)
            self.deadlines.start(link.slc, "T17", now + self.timers.T17)
        return events

    def _snm(self, via, head, user, now):
        try:
            msg = M.decode_management(M.SI_SNM, user, self.variant)
        except DecodeError:
            return []
        name = msg["message_type"]
        # the link a COO/CBD talks about: ITU names it in the label's SLS, ANSI in the body
        slc = msg.get("slc", head["sls"])
        link = self.links.get(slc)
        if name == "TRA":
            return [TrafficRestartAllowed(head["opc"])]
        if name in ("COO", "ECO") and link is not None:
            self.deadlines.cancel(slc, "T2")  # a COO crossing ours acknowledges it (Q.704 5.4.1)
            self._send_mgmt(via, M.SI_SNM, "COA", fsn=link.mtp2.last_accepted_fsn, slc=slc)
            if not link.changed_over:
                link.changed_over = True
                link.retrieved = link.mtp2.retrieve()
            return self._resend(link, msg.get("fsn"))
        if name == "COA" and link is not None:
            self.deadlines.cancel(slc, "T2")
            return self._resend(link, msg.get("fsn"))
        if name == "CBD":
            self._send_mgmt(via, M.SI_SNM, "CBA", changeback_code=msg["changeback_code"], slc=slc)
            return []
        if name == "CBA" and link is not None and self.deadlines.running(slc, "T4"):
            return self._changed_back(link, now)
        if name == "LFU" and link is not None:  # the far end has no other way to us: uninhibit
            return self.uninhibit(slc, now)
        if name in ("LIN", "LUN", "LIA", "LUA", "LID") and link is not None:
            return self._inhibiting(via, link, name, now)
        if name == "TFC":
            return [RouteCongestion(msg["destination"], msg.get("congestion", 0))]
        if name in ("TFP", "TFA"):
            dest = msg["destination"]
            if name == "TFP" and dest not in self.prohibited:
                self.prohibited.add(dest)
                return [RouteUnavailable(dest)]
            if name == "TFA" and dest in self.prohibited:
                self.prohibited.discard(dest)
                return [RouteAvailable(dest)]
        return []

    def _inhibiting(self, via, link, name, now):
        """Q.704 10: management inhibiting of link (named by the message) for user traffic."""
        slc = link.slc
        if name == "LIN":
            if "remote" in link.inhibited:
                self._send_mgmt(via, M.SI_SNM, "LIA", slc=slc)
                return []
            if self.available_links(link.adjpc) in ([], [slc]):
                self._send_mgmt(via, M.SI_SNM, "LID", slc=slc)  # it is our last route to them
                return []
            link.inhibited.add("remote")
            self._send_mgmt(via, M.SI_SNM, "LIA", slc=slc)
            return [LinkInhibited(slc, "remote", True)]
        if name == "LUN":
            self._send_mgmt(via, M.SI_SNM, "LUA", slc=slc)
            if "remote" in link.inhibited:
                link.inhibited.discard("remote")
                return [LinkInhibited(slc, "remote", False)]
            return []
        if name == "LIA" and self.deadlines.cancel(slc, "T14"):
            link.inhibited.add("local")
            return [LinkInhibited(slc, "local", True)]
        if name == "LUA" and self.deadlines.cancel(slc, "T12"):
            link.inhibited.discard("local")
            return [LinkInhibited(slc, "local", False)]
        if name == "LID" and self.deadlines.cancel(slc, "T14"):
            return [InhibitDenied(slc)]
        return []

    def _resend(self, link, fsn):
        """Send retrieved MSUs the far end did not accept (FSN after fsn) over the other links."""
        pending, link.retrieved = link.retrieved, []
        for seq, msu in pending:
            if fsn is not None and seq is not None and (seq - fsn) % MOD > 64:
                continue  # seq <= fsn: already accepted
            if fsn is not None and seq == fsn:
                continue
            others = [l for l in self.links.values() if l.adjpc == link.adjpc and l.available and l is not link]
            if others:
                sls = M.LABEL[self.variant].decode(msu[1:])["sls"]
                others[sls % len(others)].mtp2.send(msu)
        return []
