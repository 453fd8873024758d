"""The emulated network exchange at the far end of an SS7 link set: our own sans-IO SignallingPoint (the
centre's dpc) on the emulator's network cables of the link set's spans, one MTP2 link per span.

``Ss7Exchange`` holds the signalling point and the ISUP circuits of the whole link set; ``IsupInterface`` is
its face on one span, with the calls of that span's circuits, shaped like the network side of Q.931
(``setup``, ``alerting``, ``answer``, ``hangup``; the ``IncomingCall``, ``Answered`` and ``CallEnded``
events), so a ``PstnSimulator`` per span places simulated callers over ISUP (IAM, ACM/ANM, REL/RLC) and
answers the centre's calls exactly as it does over PRI. Messages for one span's circuits may arrive on
another span's link (after a changeover): the exchange hands each event to the span owning its CIC.
Like the centre's trunk, the exchange resets every circuit (GRS) when its route to the centre comes up
after a start or after an MTP pause, and clears its calls when the pause begins; and while the centre's span
sends RAI (it is in red alarm) the exchange hardware-blocks that span's circuits (CGB, calls cleared with cause
41), unblocking them (CGU) when the alarm clears. The same holds while the exchange itself sends AIS to the
span (its side of the span has failed: ``Emulator.set_ais``), when no signal unit goes out on the span's link
either. It seizes only circuits neither end has blocked.
"""
from dataclasses import dataclass

from pycallcenter.causes import Cause
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.errors import LocalProtocolError
from pycallcenter.isdn import events as q
from pycallcenter.ss7 import isup as I
from pycallcenter.ss7 import mtp3
from pycallcenter.ss7.span import MAX_SU_PER_TICK, Silence
from pycallcenter.ss7.stack import SignallingPoint


@dataclass(eq=False)
class IsupCall:
    """One call on a circuit of the exchange: channel is the timeslot on its span (as a Q.931 call's)."""

    cic: int
    channel: int
    called: str = ""
    calling: str = ""
    answered: bool = False


class Ss7Exchange:
    """The network exchange (point code pc) facing the centre (point code centre_pc) over links, a list of
    (NetworkSpan, slc, first_cic). ``interface(span_number)`` is its IsupInterface on one span."""

    def __init__(self, links, pc, centre_pc, variant="itu", ni=2):
        self.sp = SignallingPoint(pc, variant, ni=ni)
        self.centre_pc = centre_pc
        self.views = {}
        cics = []
        for net, slc, first_cic in links:
            self.sp.add_link(slc, centre_pc)
            offsets = {first_cic + c.offset: c.offset for c in net.span.channels if c.signalling.is_audio}
            view = self.views[net.span.number] = IsupInterface(self, net, slc, offsets)
            cics += offsets
        self.isup = self.sp.add_circuits(centre_pc, sorted(cics))
        self.owner = {cic: view for view in self.views.values() for cic in view.offsets}
        self.calls = {}  # cic -> IsupCall
        self.reset_due = True  # we start knowing no circuit's state: reset them all once the route is up
        self.sp.start(0.0)

    def interface(self, span_number):
        """Return the IsupInterface of the link set's span span_number."""
        return self.views[span_number]

    @property
    def up(self):
        """Return True while the route to the centre is available."""
        return self.isup.available

    def links_up(self):
        """Return the SLCs of the links in service and carrying traffic."""
        return self.sp.mtp3.available_links(self.centre_pc)

    def _events(self, events, now):
        """Turn MTP3/ISUP events into Q.931-shaped ones, each put in the inbox of the span owning its CIC."""
        for ev in events:
            if isinstance(ev, mtp3.RouteUnavailable) and ev.dpc == self.centre_pc:
                self.reset_due = True
                self._events(self.isup.reset_all(now), now)
            elif isinstance(ev, mtp3.RouteAvailable) and ev.dpc == self.centre_pc and self.reset_due:
                self.reset_due = False
                self._events(self.isup.reset_all(now), now)
            if isinstance(ev, mtp3.RouteAvailable) and ev.dpc == self.centre_pc:
                self.isup.resend_group_blocking(now)
            cic = getattr(ev, "cic", None)
            view = self.owner.get(cic)
            if view is None:
                continue
            if isinstance(ev, I.IncomingCall):
                call = self.calls[cic] = IsupCall(cic, view.offsets[cic], ev.called, ev.calling)
                view.inbox.append(q.IncomingCall(call, ev.called, ev.calling, "", call.channel, True))
                continue
            call = self.calls.get(cic)
            if call is None:
                continue
            if isinstance(ev, I.Answered):
                call.answered = True
                view.inbox.append(q.Answered(call))
            elif isinstance(ev, (I.Released, I.CallFailed, I.CircuitReset)):
                del self.calls[cic]
                cause = (ev.cause if isinstance(ev, I.Released) else Cause.NO_CIRCUIT_CHANNEL_AVAILABLE
                         if isinstance(ev, I.CallFailed) else Cause.TEMPORARY_FAILURE)
                view.inbox.append(q.CallEnded(call, cause))


class IsupInterface:
    """The exchange on one span, shaped like a network-side Q.931 Interface for PstnSimulator: its circuits'
    calls, the span's signalling link (receive/pop_frames once a tick) and the exchange's timers."""

    def __init__(self, exchange, net, slc, offsets):
        self.exchange, self.net, self.slc = exchange, net, slc
        self.offsets = offsets  # cic -> timeslot of this span
        self.inbox = []
        self.heard = False
        self.alarmed = False  # the centre sends us RAI (its span is in red alarm) or we send it AIS: bearers dead
        self.silence = Silence(net.emu.blocksize / SAMPLE_RATE)

    @property
    def channel_calls(self):
        """Return {timeslot: IsupCall} of the calls up on this span's circuits."""
        return {c.channel: c for cic, c in self.exchange.calls.items() if cic in self.offsets}

    def _take(self):
        out, self.inbox = self.inbox, []
        return out

    # --- the link, once a tick ------------------------------------------------------------------------
    def start(self, now):
        """The exchange starts its links itself: nothing to do; returns events."""
        return []

    def receive(self, frame, now):
        """Feed one signal unit received on this span's link; returns this span's events."""
        self.heard = True
        ex = self.exchange
        ex._events(ex.sp.receive(self.slc, frame, now), now)
        return self._take()

    def next_deadline(self):
        """Return the exchange's next timer, or 0 while events wait for this span (they are due now)."""
        return 0.0 if self.inbox else self.exchange.sp.next_deadline()

    def handle_timer(self, now):
        """Fire the exchange's expired timers; returns this span's events."""
        ex = self.exchange
        deadline = ex.sp.next_deadline()
        if deadline is not None and deadline <= now:
            ex._events(ex.sp.handle_timer(now), now)
        return self._take()

    def pop_frames(self):
        """Return the signal units to send on this span's link this tick: queued MSUs, then one FISU or LSSU."""
        ex, now = self.exchange, self.net.emu.sample_time / SAMPLE_RATE
        sending_ais = self.net.span.ais_in  # our side of the span has failed: we send all ones, no frames
        if (self.net.remote_alarm or sending_ais) != self.alarmed:  # hardware blocking, as the centre's
            self.alarmed = not self.alarmed
            ex._events(ex.isup.hardware_block(self.offsets, now, unblock=not self.alarmed), now)
        for _ in range(self.silence.errors(self.heard, ex.sp.mtp3.links[self.slc].mtp2.state, now)):
            ex._events(ex.sp.receive_error(self.slc, now), now)
        self.heard = False
        out = []
        if sending_ais:
            return out
        for _ in range(MAX_SU_PER_TICK):
            su = ex.sp.pull(self.slc, now)
            out.append(su)
            if len(su) < 3 or su[2] & 0x3F < 3:
                break
        return out

    # --- calls --------------------------------------------------------------------------------------
    def setup(self, now, called, calling="", **_):
        """Seize this span's lowest usable circuit with an IAM; return its IsupCall (LocalProtocolError when
        none is free or the centre cannot be reached)."""
        ex = self.exchange
        if not ex.up:
            raise LocalProtocolError("no route to the centre (MTP pause)")
        for cic in sorted(self.offsets):
            if cic not in ex.calls and ex.isup.usable(cic):
                call = ex.calls[cic] = IsupCall(cic, self.offsets[cic], called, calling)
                ex._events(ex.isup.call(cic, called, calling, now), now)
                return call
        raise LocalProtocolError("no circuit free on the span")

    def alerting(self, call, now):
        """Send ACM on an incoming call; returns this span's events."""
        self.exchange._events(self.exchange.isup.alert(call.cic, now), now)
        return self._take()

    def answer(self, call, now):
        """Answer an incoming call (ANM); returns this span's events."""
        ex = self.exchange
        if ex.isup.state(call.cic) in (I.IN_IAM, I.IN_ACM):
            ex._events(ex.isup.answer(call.cic, now), now)
            call.answered = True
        return self._take()

    def hangup(self, call, now, cause=16):
        """Clear a call (REL; RLC ends it); returns this span's events."""
        ex = self.exchange
        if ex.calls.get(call.cic) is call and ex.isup.state(call.cic) in I.CALL_STATES:
            ex._events(ex.isup.release(call.cic, now, cause), now)
        return self._take()


def exchange_for(board, linkset, far_ends):
    """Return the Ss7Exchange facing a centre's link set (an Ss7LinksetSection) on the emulator's network
    cables named far_ends, one per link in the link set's order."""
    nets = [board.emulator.far_ends[name] for name in far_ends]
    links = [(net, link.slc, link.first_cic) for net, link in zip(nets, linkset.links)]
    return Ss7Exchange(links, linkset.dpc, linkset.opc, linkset.variant, linkset.ni)


def linkset_far_ends(board, linkset):
    """Return the names of the emulator's network cables on a link set's spans, in its links' order; None
    when some span of it has no network cable."""
    by_span = {end.span.number: name for name, end in board.emulator.far_ends.items()
               if getattr(end, "span", None) is not None and hasattr(end, "read_frames")}
    names = [by_span.get(link.span) for link in linkset.links]
    return None if None in names else names


class Networks:
    """The simulated networks of several spans seen as one by the agents (an agent answering tells them
    all; only the one with that caller acts)."""

    def __init__(self, pstns):
        self.pstns = pstns

    def agent_answered(self, number, agent, now):
        """Pass an agent's answer to every span's simulated network."""
        for p in self.pstns:
            p.agent_answered(number, agent, now)


def linkset_text(spans, first_channel, timing=2, name="ss7", opc=1, dpc=2):
    """Return the TOML tables of an emulated SS7 link set: E1 spans numbered spans (their channels from
    first_channel on; timeslot 16 is each span's signalling link, SLC 0, 1, ...; span k's CICs start at
    32 k), each with a network cable named NAME-SPAN for the simulated exchange, and the [[ss7.linkset]]
    table that makes them one trunk named name (point codes opc, ours, and dpc, the exchange's)."""
    lines, links, first = [], [], first_channel
    for k, number in enumerate(spans):
        lines += ["[[span]]", f"span = {number}", 'kind = "e1"', 'framing = "ccs"', 'coding = "hdb3"', "crc4 = true",
                  f"timing = {timing + k}", f"first_channel = {first}", "",
                  "[[channels]]", 'signalling = "bchan"', f'channels = "{first}-{first + 14},{first + 16}-{first + 30}"',
                  "", "[[channels]]", 'signalling = "dchan"', f"channels = {first + 15}", "",
                  "[[emulator.cable]]", 'kind = "network"', f"span = {number}", f'name = "{name}-{number}"', ""]
        links.append(f"{{ span = {number}, slc = {k}, first_cic = {32 * k} }}")
        first += 31
    lines += ["[[ss7.linkset]]", f'name = "{name}"', f"opc = {opc}", f"dpc = {dpc}", f"links = [{', '.join(links)}]", ""]
    return "\n".join(lines)
