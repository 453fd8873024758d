"""libpri 1.6 as the PSTN of the overlap-receiving gateway: its network side (overlap dialling on) places a
call with one digit and no sending complete, waits for our SETUP ACKNOWLEDGE and sends the rest digit by
digit in INFORMATION; the PBX gets one INVITE with the whole number and its refusal reaches libpri with
the mapped cause. Frames cross a socketpair to the emulated span's far end each tick."""
import select
import socket
import time

import pytest
from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once

from pycallcenter.isdn.variants import VARIANTS
from test_isdn_libpri import libpri  # noqa: F401 - the peer, or a skip naming why it is unavailable
from test_pri_overlap import Overlap

pytestmark = pytest.mark.peer


class LibpriNetwork:
    """libpri's network side on the span's far end: each tick moves frames both ways and runs its timers."""

    def __init__(self, board, lp):
        self.far = board.emulator.far_ends["net"]
        self.sock, self.peer_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.setblocking(False)
        self.pri = lp.LibPri(self.peer_sock.fileno(), True, VARIANTS["euroisdn_e1"].libpri_switchtype, overlap=True)
        self.events = []
        self.far.handler = self._tick

    def _tick(self, far, now):
        for frame in far.read_frames():
            self.sock.send(frame + b"\0\0")  # libpri drops two FCS bytes it never checks
        while select.select([self.peer_sock], [], [], 0)[0]:
            self._record(self.pri.check())
        t = self.pri.next_timeout(time.time())
        if t is not None and t <= 0:
            self._record(self.pri.run_timers())
        while True:
            try:
                data = self.sock.recv(2048)
            except BlockingIOError:
                break
            far.write_frame(data[:-2])

    def _record(self, events):
        for ev in events:
            self.events.append(ev)
            if ev["event"] in ("HANGUP_REQ", "HANGUP"):  # libpri clears only when told to
                self.pri.hangup(ev["call"], ev["cause"])

    def of(self, name):
        """Return libpri's events of one kind."""
        return [e for e in self.events if e["event"] == name]

    def close(self):
        self.sock.close()
        self.peer_sock.close()


def test_libpri_dials_digit_by_digit_and_the_pbx_gets_one_invite(tmp_path, prompt_cache, libpri):
    o = Overlap(tmp_path, prompt_cache, pstn=lambda board: LibpriNetwork(board, libpri))
    try:
        net = o.net
        assert o.go(3.0, until=lambda: net.of("DCHAN_UP"))
        call = net.pri.setup("2", "2025550100", channel=1, complete=False)
        assert o.go(2.0, until=lambda: net.of("SETUP_ACK"))
        for d in "001":
            assert o.invites() == []
            net.pri.information(call, d)
            o.go(0.2)
        o.invited("2001", "matched", within=2.0)
        assert o.invites()[0].from_.uri.user == "2025550100"
        o.pbx._run(o.pbx.ua.reject(o.pbx.call_id, 486, o.now()))
        assert o.go(3.0, until=lambda: net.of("HANGUP_REQ") and not o.eng.legs and not o.eng.calls)
        assert net.of("HANGUP_REQ")[0]["cause"] == 17  # our DISCONNECT carried the PBX's 486
        assert o.go(3.0, until=lambda: o.centre.leaks() == [])
        o.go(1.0)
        assert o.centre.writer.written == 1
    finally:
        o.close()
        o.net.close()
