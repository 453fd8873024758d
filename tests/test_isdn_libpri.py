"""Interop with libpri 1.6 over a SOCK_SEQPACKET socketpair: our user side against libpri's network side and
our network side against libpri's CPE, for EuroISDN and NI-2. Numbers, names and causes must match."""
import select
import socket
import time

import pytest

from pycallcenter.isdn import call as cc
from pycallcenter.isdn import q931
from pycallcenter.isdn.variants import VARIANTS

pytestmark = pytest.mark.peer


@pytest.fixture(scope="session")
def libpri():
    from peers import PeerUnavailable
    try:
        from peers import libpri as lp
        lp.load()
    except (PeerUnavailable, OSError, ImportError) as exc:
        pytest.skip(f"libpri peer unavailable: {exc}")
    return lp


class Recorder:
    """Wraps an Interface so the events its commands return are recorded like those of received frames."""

    def __init__(self, iface, sink):
        self._iface = iface
        self._sink = sink

    def __getattr__(self, name):
        attr = getattr(self._iface, name)
        if not callable(attr):
            return attr

        def call(*args, **kw):
            result = attr(*args, **kw)
            if isinstance(result, list) and name != "pop_frames":
                self._sink += result
            return result
        return call


class Bridge:
    """Our Interface on one end of a socketpair, libpri on the other; time is the real clock (libpri's)."""

    def __init__(self, lp, our_network, variant, timers=None, peer_timers=None, overlap=False):
        self.sock, self.peer_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.setblocking(False)
        self.peer = lp.LibPri(self.peer_sock.fileno(), not our_network, VARIANTS[variant].libpri_switchtype,
                              overlap=overlap, timers=peer_timers)
        self.ours_events = []
        self.ours = Recorder(cc.Interface(network=our_network, variant=variant, timers=timers), self.ours_events)
        self.t0 = time.monotonic()
        self.peer_events = []
        self.on_peer = None
        self.ours.start(self.now())

    def close(self):
        self.sock.close()
        self.peer_sock.close()

    def now(self):
        return time.monotonic() - self.t0

    def _peer(self, events):
        for ev in events:
            self.peer_events.append(ev)
            if ev["event"] == "HANGUP":  # libpri finishes clearing only when told to (PEERS.md)
                self.peer.hangup(ev["call"], ev["cause"])
            if self.on_peer is not None:
                self.on_peer(ev)

    def step(self, max_wait=0.05):
        for frame in self.ours.pop_frames():
            self.sock.send(frame + b"\0\0")
        waits = [max_wait]
        t = self.peer.next_timeout(time.time())
        if t is not None:
            waits.append(t)
        d = self.ours.next_deadline()
        if d is not None:
            waits.append(max(0.0, d - self.now()))
        readable, _, _ = select.select([self.sock, self.peer_sock], [], [], min(waits))
        if self.peer_sock in readable:
            self._peer(self.peer.check())
        if self.sock in readable:
            while True:
                try:
                    data = self.sock.recv(2048)
                except BlockingIOError:
                    break
                self.ours.receive(data[:-2], self.now())
        t = self.peer.next_timeout(time.time())
        if t is not None and t <= 0:
            self._peer(self.peer.run_timers())
        d = self.ours.next_deadline()
        if d is not None and d <= self.now():
            self.ours.handle_timer(self.now())
        for frame in self.ours.pop_frames():
            self.sock.send(frame + b"\0\0")

    def until(self, cond, timeout=3.0):
        end = time.monotonic() + timeout
        while not cond():
            assert time.monotonic() < end, (self.ours_events[-5:], self.peer_events[-5:])
            self.step()

    def settle(self, seconds=0.1):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.step(0.01)

    def ours_of(self, kind):
        return [e for e in self.ours_events if isinstance(e, kind)]

    def peer_of(self, name):
        return [e for e in self.peer_events if e["event"] == name]

    def up(self):
        self.until(lambda: self.ours.link.is_up and self.peer_of("DCHAN_UP"))
        return self


VARIANT_SIDES = [(v, net) for v in ("euroisdn_e1", "ni2", "dms100", "5ess", "4ess", "euroisdn_t1") for net in (False, True)]
IDS = [f"{v}-{'ournet' if net else 'ourcpe'}" for v, net in VARIANT_SIDES]


@pytest.fixture(params=VARIANT_SIDES, ids=IDS)
def bridge(request, libpri):
    variant, our_network = request.param
    b = Bridge(libpri, our_network, variant).up()
    yield b
    b.close()


def test_call_out_answer_and_we_hang_up(bridge):
    b = bridge
    call = b.ours.setup(b.now(), "5551234", "2025550100", calling_name="Alice")
    b.until(lambda: b.peer_of("RING"))
    ring = b.peer_of("RING")[0]
    assert (ring["called"], ring["calling"], ring["channel"]) == ("5551234", "2025550100", call.channel)
    assert ring["name"] == "Alice"
    b.peer.proceeding(ring["call"], ring["channel"])
    b.peer.alerting(ring["call"], ring["channel"])
    b.until(lambda: b.ours_of(cc.Alerting))
    b.peer.answer(ring["call"], ring["channel"])
    b.until(lambda: call.state == cc.ACTIVE)
    b.ours.hangup(call, b.now(), 16)
    b.until(lambda: b.peer_of("HANGUP_REQ"))
    assert b.peer_of("HANGUP_REQ")[0]["cause"] == 16
    b.peer.hangup(ring["call"], 16)
    b.until(lambda: b.ours_of(cc.CallEnded))
    assert b.ours_of(cc.CallEnded)[0].cause == 16 and not b.ours.calls


def test_call_in_answer_and_peer_hangs_up(bridge):
    b = bridge
    b.peer.setup("4000", "3115551212", name="Bob", channel=3)
    b.until(lambda: b.ours_of(cc.IncomingCall))
    inc = b.ours_of(cc.IncomingCall)[0]
    assert (inc.called, inc.calling, inc.channel) == ("4000", "3115551212", 3)
    assert inc.calling_name == "Bob"
    b.ours.proceeding(inc.call, b.now())
    b.ours.alerting(inc.call, b.now())
    b.until(lambda: b.peer_of("RINGING"))
    b.ours.answer(inc.call, b.now())
    b.until(lambda: b.peer_of("ANSWER") and inc.call.state == cc.ACTIVE)
    b.peer.hangup(b.peer_of("ANSWER")[0]["call"], 16)
    b.until(lambda: b.ours_of(cc.CallEnded))
    assert b.ours_of(cc.Disconnected)[0].cause == 16
    b.until(lambda: b.peer_of("HANGUP") or b.peer_of("HANGUP_ACK"))


def test_busy_both_directions(bridge):
    b = bridge
    b.peer.setup("4000", "3115551212", channel=2)
    b.until(lambda: b.ours_of(cc.IncomingCall))
    b.ours.hangup(b.ours_of(cc.IncomingCall)[0].call, b.now(), 17)
    b.until(lambda: b.peer_of("HANGUP"))
    assert b.peer_of("HANGUP")[0]["cause"] == 17
    call = b.ours.setup(b.now(), "5551234", "2025550100")
    b.until(lambda: b.peer_of("RING"))
    ring = b.peer_of("RING")[-1]
    b.peer.proceeding(ring["call"], ring["channel"])  # libpri sends nothing for pri_hangup in call-present state
    b.peer.hangup(ring["call"], 17)
    b.until(lambda: call.state == cc.NULL)
    assert b.ours_of(cc.Disconnected)[-1].cause == 17
    assert b.ours_of(cc.CallEnded)[-1].cause == 17


@pytest.mark.parametrize("our_network,timer,peer_step,cause", [
    (True, "T301", "alerting", 19),  # network side: no answer after ALERTING
    (False, "T310", "proceeding", 102),  # user side: nothing after CALL PROCEEDING
])
def test_no_answer_our_timer_clears_with_cause(libpri, our_network, timer, peer_step, cause):
    b = Bridge(libpri, our_network, "euroisdn_e1", timers={timer: 0.3}).up()
    try:
        call = b.ours.setup(b.now(), "5551234", "2025550100")
        b.until(lambda: b.peer_of("RING"))
        ring = b.peer_of("RING")[0]
        getattr(b.peer, peer_step)(ring["call"], ring["channel"])
        b.until(lambda: b.peer_of("HANGUP_REQ"))
        assert b.peer_of("HANGUP_REQ")[0]["cause"] == cause
        b.peer.hangup(ring["call"], cause)
        b.until(lambda: call.state == cc.NULL)
    finally:
        b.close()


@pytest.mark.parametrize("our_network", [False, True], ids=["ourcpe", "ournet"])
def test_overlap_dialling_both_directions(libpri, our_network):
    b = Bridge(libpri, our_network, "euroisdn_e1", overlap=True).up()
    try:
        call = b.ours.setup(b.now(), "55", "2025550100", overlap=True)
        b.until(lambda: b.peer_of("RING"))
        ring = b.peer_of("RING")[0]
        assert ring["called"] == "55" and not ring["complete"]
        b.peer.need_more_info(ring["call"], ring["channel"])
        b.until(lambda: b.ours_of(cc.SetupAcknowledged))
        b.ours.send_digits(call, "51234", b.now())
        b.until(lambda: "".join(e["digits"] for e in b.peer_of("INFO_RECEIVED")) == "51234")
        b.peer.hangup(ring["call"], 16)
        b.until(lambda: call.state == cc.NULL)
        b.peer.setup("40", "3115551212", channel=5, complete=False)
        b.until(lambda: b.ours_of(cc.IncomingCall))
        inc = b.ours_of(cc.IncomingCall)[-1]
        assert inc.called == "40" and not inc.sending_complete
        b.ours.setup_ack(inc.call, b.now())
        b.until(lambda: b.peer_of("SETUP_ACK"))
        b.peer.information(b.peer_of("SETUP_ACK")[0]["call"], "01")
        b.until(lambda: inc.call.called == "4001")
    finally:
        b.close()


def test_restart_both_ways(bridge):
    b = bridge
    b.ours.restart(b.now(), [7])
    b.until(lambda: b.ours_of(cc.RestartAcknowledged))
    assert b.ours_of(cc.RestartAcknowledged)[0].ok
    assert b.peer_of("RESTART")[0]["channel"] == 7
    b.peer.reset(9)
    b.until(lambda: b.ours_of(cc.RestartReceived))
    assert b.ours_of(cc.RestartReceived)[0].channels == [9]
    b.until(lambda: b.peer_of("RESTART_ACK"))


def test_glare_on_one_b_channel(bridge):
    b = bridge
    ours = b.ours.setup(b.now(), "5551234", "2025550100", channel=10, exclusive=False)
    b.peer.setup("4000", "3115551212", channel=10, exclusive=False)
    b.until(lambda: b.ours_of(cc.IncomingCall) and b.peer_of("RING"))
    inc = b.ours_of(cc.IncomingCall)[0]
    assert b.peer_of("RING")[0]["channel"] == ours.channel
    if b.ours.network:
        assert ours.channel == 10 and inc.channel != 10  # the network keeps its channel
    # whichever side gave way, no B-channel carries two calls
    assert inc.channel != ours.channel
    b.ours.proceeding(inc.call, b.now())
    b.until(lambda: b.peer_of("PROCEEDING"))
    assert b.peer_of("PROCEEDING")[0]["channel"] == inc.channel


def test_ni2_service_messages(libpri):
    b = Bridge(libpri, True, "ni2").up()
    try:
        b.ours.service(b.now(), 5, 2)
        b.until(lambda: b.ours_of(cc.ServiceAcknowledged))
        assert b.peer_of("SERVICE")[0]["channel"] == 5
    finally:
        b.close()


@pytest.mark.parametrize("msg_type", [q931.PROGRESS, q931.STATUS])
def test_missing_mandatory_ie_both_stacks_answer_status_96(libpri, msg_type):
    """libpri and we agree on Q.931 5.8.6.1: a mandatory IE missing from a call message gets STATUS cause 96.
    (libpri 1.6 takes a NOTIFY without notification indicator as it is; we follow Q.931 3.1.10 there.)"""
    b = Bridge(libpri, False, "euroisdn_e1").up()
    try:
        call = b.ours.setup(b.now(), "5551234", "2025550100")
        b.until(lambda: b.peer_of("RING"))
        ring = b.peer_of("RING")[0]
        b.peer.answer(ring["call"], ring["channel"])
        b.until(lambda: call.state == cc.ACTIVE)
        # we send libpri the bad message: its STATUS comes back to us
        b.ours.link.send(q931.encode_call_message(msg_type, call.cr, False, []), b.now())
        b.until(lambda: b.ours_of(cc.StatusReceived))
        assert b.ours_of(cc.StatusReceived)[0].cause == 96 and call.state == cc.ACTIVE
        # (our own answer to the same message: test_isdn_call.py, test_missing_mandatory_ie_gets_status_96...)
        b.ours.hangup(call, b.now(), 16)
        b.until(lambda: b.peer_of("HANGUP_REQ"))
    finally:
        b.close()
