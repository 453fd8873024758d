"""Our MTP3 (+ ISUP) against a libss7 peer over socketpair(AF_UNIX, SOCK_SEQPACKET), on one real clock."""
import ctypes
import ctypes.util
import socket
import time

from pycallcenter.ss7.stack import SignallingPoint

FCS = b"\x00\x00"  # libss7 neither computes nor checks the 2 FCS octets, but expects them


class Libss7Link:
    """libss7 at point code peer_pc, our Mtp3 at our_pc, ``links`` links (SLC 0, 1, ...) between them."""

    def __init__(self, peers_libss7, variant="itu", our_pc=1, peer_pc=2, links=1):
        self.socks = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(links)]
        for pair in self.socks:
            for sock in pair:
                sock.setblocking(False)
        self.peer = peers_libss7.Libss7Peer(self.socks[0][1].fileno(), peer_pc, our_pc, variant)
        self.sp = SignallingPoint(our_pc, variant)
        for slc, (_, theirs) in enumerate(self.socks):
            if slc:
                self.peer.add_link(theirs.fileno(), slc)
            self.sp.add_link(slc, peer_pc)
        self.isup = self.sp.add_circuits(peer_pc, range(1, 32))
        self._peer_event = self.peer._event
        self.peer._event = self._raw_event
        self.mtp3 = self.sp.mtp3
        self.t0 = time.monotonic()
        self.peer_events = []
        self.our_events = []
        self.received = []  # signal units we received (for checks)
        self.on_our_event = None
        self.peer_paused = False  # True: libss7 is not run at all (as if its side were not there yet)
        self.drop_in = None  # drop_in(su) -> True drops a signal unit libss7 sent us
        self.drop_out = None  # drop_out(su) -> True drops one of ours before libss7 sees it

    def now(self):
        return time.monotonic() - self.t0

    def _raw_event(self, ev):
        # the peer's cdef leaves out COT/CCR/LPA and the IAM's continuity field: every libss7 event starts
        # with ints (e, cic, ...): IAM (e, cic, transcap, cot_check_required), COT (e, cic, passed)
        out = self._peer_event(ev)
        ints = self.peer.ffi.cast("int *", ev)
        out["ints"] = [ints[i] for i in range(4)]
        out.setdefault("cic", out["ints"][1])
        return out

    def peer_lpa(self, cic):
        """Make libss7 send LPA on cic (isup_lpa, absent from the peer's cdef)."""
        lib = ctypes.CDLL(ctypes.util.find_library("ss7"))
        lib.isup_lpa.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint]
        return lib.isup_lpa(int(self.peer.ffi.cast("uintptr_t", self.peer.ss7)), cic, self.peer.adjpc)

    def start(self):
        self.peer.start()
        self.sp.start(self.now())

    def run(self, seconds, until=None):
        """Run both sides for up to seconds; stop early once until() is true. Returns until()'s last value."""
        end = self.now() + seconds
        while self.now() < end:
            if not self.peer_paused:
                self.peer_events += self.peer.step()
            now = self.now()
            for slc, (sock, _) in enumerate(self.socks):
                self._link_io(slc, sock, now)
            if until is not None and until():
                return True
            time.sleep(0.0008)
        return until() if until is not None else False

    def _link_io(self, slc, sock, now):
        while True:
            try:
                su = sock.recv(512)
            except BlockingIOError:
                break
            if self.drop_in is not None and self.drop_in(su[:-2]):
                continue
            self.received.append(su[:-2])
            self._ours(self.sp.receive(slc, su[:-2], now))
        deadline = self.sp.next_deadline()
        if deadline is not None and deadline <= now:
            self._ours(self.sp.handle_timer(now))
        ours = self.sp.pull(slc, now)
        if self.drop_out is not None and self.drop_out(ours):
            return
        try:
            sock.send(ours + FCS)
        except BlockingIOError:
            pass

    def _ours(self, events):
        for ev in events:
            self.our_events.append(ev)
            if self.on_our_event:
                self.on_our_event(ev, self.now())

    def wait_peer(self, name, seconds=2.0, **match):
        """Run until libss7 reports event name (e.g. "IAM") with the given fields; return it."""
        def found():
            return next((e for e in self.peer_events if e["name"].endswith(name) and
                         all(e.get(k) == v for k, v in match.items())), None)
        self.run(seconds, until=lambda: found() is not None)
        ev = found()
        assert ev is not None, f"libss7 never reported {name} {match}; saw {[e['name'] for e in self.peer_events]}"
        self.peer_events.remove(ev)
        return ev

    def wait_ours(self, predicate, seconds=2.0):
        """Run until one of our events satisfies predicate; return it."""
        def found():
            return next((e for e in self.our_events if predicate(e)), None)
        self.run(seconds, until=lambda: found() is not None)
        ev = found()
        assert ev is not None, f"no matching event of ours; saw {self.our_events[-8:]} {[s.hex() for s in self.received if len(s) > 3][-3:]}"
        self.our_events.remove(ev)
        return ev

    def close(self):
        for pair in self.socks:
            for sock in pair:
                sock.close()
