"""Q.921 LAPD data link, sans-IO: one multiple-frame link (SAPI 0, TEI 0 point-to-point for PRI).

Frames in via receive(data, now), out via pop_frames(); timers via next_deadline()/handle_timer(now), run on
the shared timer service (T200 and T203; settings in isdn/timers.py).
States follow Q.921's SDL numbering: 4 TEI assigned, 5 awaiting establishment, 6 awaiting release,
7 multiple frame established, 8 timer recovery. BRI TEI management (SAPI 63) would sit in front of a Link
and hand it its TEI; it is not implemented here.
"""
from dataclasses import dataclass

from pycallcenter.errors import DecodeError, LocalProtocolError
from pycallcenter.isdn.frame import S_CODES, S_FORMATS, Frame, decode
from pycallcenter.isdn.timers import LapdTimers
from pycallcenter.timers import TimerService

TEI_ASSIGNED = 4
AWAITING_ESTABLISHMENT = 5
AWAITING_RELEASE = 6
ESTABLISHED = 7
TIMER_RECOVERY = 8
STATE_NAMES = {4: "TEI_ASSIGNED", 5: "AWAITING_ESTABLISHMENT", 6: "AWAITING_RELEASE", 7: "ESTABLISHED",
               8: "TIMER_RECOVERY"}
MOD = 128


@dataclass
class LinkUp:
    """DL-ESTABLISH indication/confirm; reestablished is True when the link was reset while up."""

    reestablished: bool = False
    by_peer: bool = False


@dataclass
class LinkDown:
    """DL-RELEASE indication/confirm, with the reason."""

    reason: str


@dataclass
class Data:
    """DL-DATA indication: one layer-3 message received in an I frame."""

    info: bytes


@dataclass
class UnitData:
    """DL-UNIT-DATA indication: a message received in a UI frame."""

    info: bytes


@dataclass
class LinkError:
    """MDL-ERROR indication (Q.921 error codes A-O), for management and counters."""

    code: str
    detail: str = ""


class Link:
    """One LAPD multiple-frame link; network selects the C/R convention (network commands have C/R=1)."""

    def __init__(self, network, sapi=0, tei=0, timers=LapdTimers()):
        self.network = network
        self.sapi = sapi
        self.tei = tei
        self.timers = timers
        # typed copies of the settings the frame paths read (C fields in the compiled build)
        self.t200 = timers.T200
        self.n200 = timers.N200
        self.t203 = timers.T203
        self.k = timers.k
        self.cmd_cr = 1 if network else 0
        self.state = TEI_ASSIGNED
        self.vs = self.va = self.vr = 0
        self.rc = 0
        self.peer_busy = False
        self.reject_exception = False
        self.l3_initiated = False
        self.ack_pending = False  # an I frame to acknowledge: RR goes out at pop_frames unless an I frame carried N(R)
        self.pending = []  # I-frame payloads not yet sent
        self.unacked = {}  # N(S) -> payload of sent, unacknowledged I frames
        self.deadlines = TimerService()  # T200 and T203 (owner None), kept at hand for the frame paths
        self._t200 = self.deadlines.timer(None, "T200")
        self._t203 = self.deadlines.timer(None, "T203")
        self._out = []
        self.on_data = None  # optional on_data(info, now) taking in-sequence I-frame payloads instead of Data events
        self.counters = {"frames_in": 0, "frames_out": 0, "bad_frames": 0, "retransmissions": 0}

    # --- layer 3 requests ---
    def establish(self, now):
        """DL-ESTABLISH request: send SABME; returns events (none until UA arrives)."""
        self.l3_initiated = True
        self.pending.clear()
        self._establish(now)
        return []

    def release(self, now):
        """DL-RELEASE request: send DISC and wait for UA."""
        if self.state not in (ESTABLISHED, TIMER_RECOVERY):
            raise LocalProtocolError(f"cannot release a link in state {STATE_NAMES[self.state]}")
        self.pending.clear()
        self.unacked.clear()
        self.rc = 0
        self._send_u("DISC", self.cmd_cr, 1)
        self._t203.cancel()
        self._t200.start(now + self.t200)
        self.state = AWAITING_RELEASE
        return []

    def send(self, info, now):
        """DL-DATA request: queue one layer-3 message for an I frame; establishes the link if it is down."""
        info = bytes(info)
        vs = self.vs
        if (self.state == ESTABLISHED and not self.pending and not self.peer_busy
                and (vs - self.va) % MOD < self.k):
            self.unacked[vs] = info  # the window is open and nothing waits: straight out, as _push would
            self._send_i(vs, 0, info)
            self.ack_pending = False
            self.vs = (vs + 1) % MOD
            self._t203.cancel()
            self._t200.start_once(now + self.t200)
            return []
        self.pending.append(info)
        if self.state == TEI_ASSIGNED:
            self.l3_initiated = True
            self._establish(now)
        elif self.state in (ESTABLISHED, TIMER_RECOVERY):
            self._push(now)
        return []

    def send_unit(self, info):
        """DL-UNIT-DATA request: send a UI command frame."""
        self._emit(Frame("UI", self.sapi, self.tei, self.cmd_cr, 0, info=bytes(info)))

    def physical_down(self, now):
        """The span lost framing (alarm): the link is down at once; returns [LinkDown] if it was up."""
        was = self.state
        self._reset_to_idle()
        return [LinkDown("physical layer down")] if was != TEI_ASSIGNED else []

    @property
    def is_up(self):
        """Return True while I frames can flow (states 7 and 8)."""
        return self.state in (ESTABLISHED, TIMER_RECOVERY)

    # --- I/O ---
    def pop_frames(self):
        """Return and forget the frames queued for transmission (address field first, no FCS)."""
        if self.ack_pending:
            self.ack_pending = False
            if self.state == ESTABLISHED or self.state == TIMER_RECOVERY:
                self._send_s("RR", 1 - self.cmd_cr, 0)
        out = self._out
        if out:
            self._out = []
            return out
        return []

    def next_deadline(self):
        """Return the earliest timer deadline, or None."""
        return self.deadlines.next_deadline()

    def handle_timer(self, now):
        """Run expired timers; returns events."""
        events = []
        for _, name in self.deadlines.expired(now):
            if name == "T200":
                self._t200_expiry(now, events)
            elif self.state == ESTABLISHED:  # T203: the idle link is polled
                self.rc = 0
                self._enquiry(now)
                self.state = TIMER_RECOVERY
        return events

    def receive(self, data, now):
        """Process one received frame (FCS already removed); returns events. Bad frames are counted, not raised."""
        self.counters["frames_in"] += 1
        n = len(data)
        if n >= 4:
            # I and S frames (all but link set-up and release) skip the Frame object; decode() is the reference
            a0, a1, c = data[0], data[1], data[2]
            if not a0 & 1 and a1 & 1 and (not c & 1 or (c in S_FORMATS and n == 4)):
                if a0 >> 2 != self.sapi or (a1 >> 1 != self.tei and a1 >> 1 != 127):
                    return []
                events = []
                command = (a0 >> 1) & 1 != self.cmd_cr
                c1 = data[3]
                if not c & 1:
                    if not command:
                        events.append(LinkError("S", "I frame with response C/R"))
                    else:
                        self._on_i(c >> 1, c1 >> 1, c1 & 1, bytes(data[4:]), now, events)
                else:
                    self._on_s(S_FORMATS[c], c1 & 1, c1 >> 1, command, now, events)
                return events
        try:
            frame = decode(data)
        except DecodeError as exc:
            self.counters["bad_frames"] += 1
            return [LinkError("L", str(exc))]
        if frame.sapi != self.sapi or frame.tei not in (self.tei, 127):
            return []
        events = []
        command = frame.cr != self.cmd_cr
        kind = frame.kind
        if kind == "I":
            if not command:
                events.append(LinkError("S", "I frame with response C/R"))
            else:
                self._on_i(frame.ns, frame.nr, frame.pf, frame.info, now, events)
        elif kind in ("RR", "RNR", "REJ"):
            self._on_s(kind, frame.pf, frame.nr, command, now, events)
        elif kind == "SABME":
            self._on_sabme(frame, now, events)
        elif kind == "UA":
            self._on_ua(frame, now, events)
        elif kind == "DM":
            self._on_dm(frame, now, events)
        elif kind == "DISC":
            self._on_disc(frame, now, events)
        elif kind == "UI":
            events.append(UnitData(frame.info))
        elif kind == "FRMR":
            events.append(LinkError("K", "FRMR received"))
            if self.is_up:
                self._reestablish(now, events)
        return events

    # --- internals ---
    def _emit(self, frame):
        self.counters["frames_out"] += 1
        self._out.append(frame.encode())

    def _send_u(self, kind, cr, pf):
        self._emit(Frame(kind, self.sapi, self.tei, cr, pf))

    def _send_s(self, kind, cr, pf):
        if cr != self.cmd_cr:
            self.ack_pending = False  # any supervisory response carries V(R)
        self.counters["frames_out"] += 1
        self._out.append(bytes(((self.sapi << 2) | (cr << 1), (self.tei << 1) | 1, S_CODES[kind], (self.vr << 1) | pf)))

    def _send_i(self, ns, pf, info):
        self.counters["frames_out"] += 1
        self._out.append(bytes(((self.sapi << 2) | (self.cmd_cr << 1), (self.tei << 1) | 1, ns << 1, (self.vr << 1) | pf))
                         + info)

    def _reset_to_idle(self):
        self.state = TEI_ASSIGNED
        self.deadlines.cancel_all()
        self.pending.clear()
        self.unacked.clear()
        self.peer_busy = False

    def _establish(self, now):
        self.reject_exception = False
        self.peer_busy = False
        self.rc = 0
        self.unacked.clear()
        self._send_u("SABME", self.cmd_cr, 1)
        self._t200.start(now + self.t200)
        self._t203.cancel()
        self.state = AWAITING_ESTABLISHMENT

    def _reestablish(self, now, events):
        self.l3_initiated = False
        self._establish(now)

    def _start_t203(self, now):
        self._t203.start(now + self.t203)

    def _enquiry(self, now):
        self._send_s("RR", self.cmd_cr, 1)
        self._t200.start(now + self.t200)

    def _push(self, now):
        """Send queued I frames while the window allows."""
        if not self.pending or self.state != ESTABLISHED or self.peer_busy:
            return
        while self.pending and (self.vs - self.va) % MOD < self.k:
            info = self.pending.pop(0)
            self.unacked[self.vs] = info
            self._send_i(self.vs, 0, info)
            self.ack_pending = False
            self.vs = (self.vs + 1) % MOD
            self._t203.cancel()
            self._t200.start_once(now + self.t200)

    def _retransmit_from(self, nr):
        """Put unacknowledged frames from N(R) on back in front of the queue (V(S) := N(R))."""
        frames = []
        n = nr
        while n != self.vs:
            frames.append(self.unacked.pop(n))
            n = (n + 1) % MOD
        self.counters["retransmissions"] += len(frames)
        self.pending[:0] = frames
        self.vs = nr

    def _ack_to(self, nr):
        while self.va != nr:
            self.unacked.pop(self.va, None)
            self.va = (self.va + 1) % MOD

    def _nr_valid(self, nr):
        return (nr - self.va) % MOD <= (self.vs - self.va) % MOD

    def _nr_error(self, nr, now, events):
        events.append(LinkError("J", f"N(R)={nr} outside V(A)={self.va}..V(S)={self.vs}"))
        self._reestablish(now, events)

    def _update_ack(self, nr, now):
        """Acknowledge up to N(R) and manage T200/T203 as Q.921 does in state 7."""
        if self.state == TIMER_RECOVERY:
            self._ack_to(nr)
            return
        if self.peer_busy:
            self._ack_to(nr)
        elif nr == self.vs:
            self._ack_to(nr)
            self._t200.cancel()
            self._start_t203(now)
        elif nr != self.va:
            self._ack_to(nr)
            self._t200.start(now + self.t200)

    def _on_i(self, ns, nr, pf, info, now, events):
        va = self.va
        if (ns == self.vr and not pf and self.state == ESTABLISHED and not self.peer_busy
                and (nr - va) % MOD <= (self.vs - va) % MOD):
            # the usual case in sequence, nothing to poll: what the general path below does, inline
            self.vr = (ns + 1) % MOD
            self.reject_exception = False
            if nr == self.vs:
                unacked = self.unacked
                while va != nr:
                    unacked.pop(va, None)
                    va = (va + 1) % MOD
                self.va = va
                self._t200.cancel()
                self._t203.start(now + self.t203)
            elif nr != va:
                self._ack_to(nr)
                self._t200.start(now + self.t200)
            self.ack_pending = True
            if self.pending:
                self._push(now)
            if self.on_data is not None:
                self.on_data(info, now)  # after the link's own updates, as if the caller handled a Data event
            else:
                events.append(Data(info))
            return
        if self.state not in (ESTABLISHED, TIMER_RECOVERY):
            if self.state == TEI_ASSIGNED and pf:
                self._send_u("DM", 1 - self.cmd_cr, 1)
            return
        if ns == self.vr:
            self.vr = (self.vr + 1) % MOD
            self.reject_exception = False
            events.append(Data(info))
            if pf:
                self._send_s("RR", 1 - self.cmd_cr, 1)
                acked = True
            else:
                acked = False
        else:
            if self.reject_exception:
                if pf:
                    self._send_s("RR", 1 - self.cmd_cr, 1)
            else:
                self.reject_exception = True
                self._send_s("REJ", 1 - self.cmd_cr, pf)
            acked = True
        if not self._nr_valid(nr):
            self._nr_error(nr, now, events)
            return
        self._update_ack(nr, now)
        if not acked:
            self.ack_pending = True
        self._push(now)

    def _on_s(self, kind, pf, nr, command, now, events):
        if self.state not in (ESTABLISHED, TIMER_RECOVERY):
            if self.state == TEI_ASSIGNED and command and pf:
                self._send_u("DM", 1 - self.cmd_cr, 1)
            return
        self.peer_busy = kind == "RNR"
        if command and pf:
            self._send_s("RR", 1 - self.cmd_cr, 1)
        elif not command and pf and self.state == ESTABLISHED:
            events.append(LinkError("A", "supervisory response with F=1"))
        if not self._nr_valid(nr):
            self._nr_error(nr, now, events)
            return
        if self.state == TIMER_RECOVERY and not command and pf:
            self._ack_to(nr)
            self._t200.cancel()
            self._start_t203(now)
            self.state = ESTABLISHED
            self._retransmit_from(nr)
            self._push(now)
            return
        if kind == "REJ":
            self._ack_to(nr)
            if self.state == ESTABLISHED:
                self._t200.cancel()
                self._start_t203(now)
                self._retransmit_from(nr)
        elif kind == "RNR":
            self._ack_to(nr)
            if self.state == ESTABLISHED:
                self._t203.cancel()
                self._t200.start(now + self.t200)
        else:
            self._update_ack(nr, now)
        self._push(now)

    def _on_sabme(self, frame, now, events):
        self._send_u("UA", 1 - self.cmd_cr, frame.pf)
        if self.state == AWAITING_ESTABLISHMENT:
            return  # SABME collision: our own UA will complete establishment
        if self.state == AWAITING_RELEASE:
            return
        was_up = self.is_up
        self.reject_exception = False
        self.peer_busy = False
        if was_up:
            events.append(LinkError("F", "link reset by peer SABME"))
            if self.vs != self.va:
                self.pending.clear()
        self.unacked.clear()
        self.vs = self.va = self.vr = 0
        self._t200.cancel()
        self._start_t203(now)
        self.state = ESTABLISHED
        events.append(LinkUp(reestablished=was_up, by_peer=True))
        self._push(now)

    def _on_ua(self, frame, now, events):
        if self.state == AWAITING_ESTABLISHMENT and frame.pf:
            reestablished = not self.l3_initiated
            self.vs = self.va = self.vr = 0
            self._t200.cancel()
            self._start_t203(now)
            self.state = ESTABLISHED
            events.append(LinkUp(reestablished=reestablished))
            self._push(now)
        elif self.state == AWAITING_RELEASE and frame.pf:
            self._reset_to_idle()
            events.append(LinkDown("released"))
        else:
            events.append(LinkError("C" if frame.pf else "D", "unsolicited UA"))

    def _on_dm(self, frame, now, events):
        if self.state == AWAITING_ESTABLISHMENT and frame.pf:
            self._reset_to_idle()
            events.append(LinkDown("establishment refused (DM)"))
        elif self.state == AWAITING_RELEASE and frame.pf:
            self._reset_to_idle()
            events.append(LinkDown("released"))
        elif self.is_up:
            events.append(LinkError("B" if frame.pf else "E", "DM while established"))
            if not frame.pf:
                self._reestablish(now, events)
        elif self.state == TEI_ASSIGNED and not frame.pf:
            # the peer asks for the link (Q.921 5.5.1: DM F=0 in state 4 may start establishment)
            self.l3_initiated = True
            self._establish(now)

    def _on_disc(self, frame, now, events):
        if self.state in (TEI_ASSIGNED, AWAITING_ESTABLISHMENT):
            self._send_u("DM", 1 - self.cmd_cr, frame.pf)
            return
        self._send_u("UA", 1 - self.cmd_cr, frame.pf)
        if self.state == AWAITING_RELEASE:
            return
        self._reset_to_idle()
        events.append(LinkDown("released by peer"))

    def _t200_expiry(self, now, events):
        if self.state == AWAITING_ESTABLISHMENT:
            if self.rc >= self.n200:
                self._reset_to_idle()
                events.append(LinkError("G", "no UA after N200 SABMEs"))
                events.append(LinkDown("establishment failed"))
                return
            self.rc += 1
            self._send_u("SABME", self.cmd_cr, 1)
            self._t200.start(now + self.t200)
        elif self.state == AWAITING_RELEASE:
            if self.rc >= self.n200:
                self._reset_to_idle()
                events.append(LinkError("H", "no UA after N200 DISCs"))
                events.append(LinkDown("released"))
                return
            self.rc += 1
            self._send_u("DISC", self.cmd_cr, 1)
            self._t200.start(now + self.t200)
        elif self.state == ESTABLISHED:
            self.rc = 1
            self._timeout_poll(now)
            self.state = TIMER_RECOVERY
        elif self.state == TIMER_RECOVERY:
            if self.rc >= self.n200:
                events.append(LinkError("I", "no response after N200 polls"))
                self._reestablish(now, events)
                return
            self.rc += 1
            self._timeout_poll(now)

    def _timeout_poll(self, now):
        """On T200 expiry: resend the last I frame with P=1, or poll with RR P=1 when nothing is outstanding."""
        last = (self.vs - 1) % MOD
        if self.vs != self.va and last in self.unacked:
            self.counters["retransmissions"] += 1
            self._send_i(last, 1, self.unacked[last])
        else:
            self._send_s("RR", self.cmd_cr, 1)
        self._t200.start(now + self.t200)
