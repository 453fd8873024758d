"""A fixed script of PRI and SS7 back-to-back scenarios written as one text trace: every frame or signal unit
and every event, each with its time.

The protocol machines' timers and tables are restructured with their behaviour fixed; this trace, generated
from the code before the restructuring (``tests/data/protocol_trace.txt``), is what "fixed" means:
``tests/test_isdn_ss7_trace.py`` regenerates it and compares byte for byte. Regenerate the fixture (only when
a behaviour change is intended and reviewed) with ``python tests/trace_baseline.py > tests/data/protocol_trace.txt``.

FISUs and repeated LSSUs are left out (a link sends one every millisecond); MSUs and changes of LSSU are kept.
"""
import dataclasses
import os
import sys
from dataclasses import replace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from isdn_pair import Pair  # noqa: E402
from pycallcenter.isdn import call as cc  # noqa: E402
from pycallcenter.isdn import ie, q931  # noqa: E402
from pycallcenter.ss7 import mtp2  # noqa: E402
from pycallcenter.ss7 import mtp3_codec as M  # noqa: E402
from pycallcenter.ss7.timers import IsupTimers  # noqa: E402
from pycallcenter.ss7.isup_codec import IsupMessage, encode_isup  # noqa: E402
from pycallcenter.ss7.su import encode_su  # noqa: E402
from pycallcenter.ss7.timers import Mtp2Timers  # noqa: E402
from ss7_wire import Mtp3Pair, SpPair, Wire  # noqa: E402

ISUP_FAST = IsupTimers(T1=0.5, T5=3.0, T6=1.0, T7=1.0, T8=1.0, T9=2.0, T12=0.5, T13=3.0, T14=0.5, T15=3.0,
                       T16=0.5, T17=3.0, T18=0.5, T20=0.5, T22=0.5, T23=3.0, T24=0.2, T25=0.3, T26=0.6,
                       T27=1.5, T36=1.0, T29=0.3, T30=1.0)


def _value(v):
    if isinstance(v, cc.Call):
        return f"call({v.cr},{'out' if v.outgoing else 'in'})"
    if isinstance(v, IsupMessage):
        return v.type
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    return repr(v)


def describe(ev):
    """Return one line naming an event and its fields (calls by reference, messages by type)."""
    if dataclasses.is_dataclass(ev):
        body = ",".join(f"{f.name}={_value(getattr(ev, f.name))}" for f in dataclasses.fields(ev))
        return f"{type(ev).__name__}({body})"
    return repr(ev)


class Trace:
    """The lines of the trace; one Trace for the whole script."""

    def __init__(self):
        self.lines = []

    def section(self, name):
        self.lines.append(f"## {name}")

    def add(self, now, who, text):
        self.lines.append(f"{now:.6f} {who} {text}")


# --- PRI ------------------------------------------------------------------------------------------------------
class TracedPair(Pair):
    """isdn_pair.Pair writing every frame and event to a Trace."""

    def __init__(self, trace, *a, **kw):
        super().__init__(*a, **kw)
        pair = self

        class Tap(list):
            def append(self, item):
                side, data = item
                trace.add(pair.now, side, "frame " + data.hex())
                super().append(item)

        self.trace = trace
        self.tap = Tap()

    def add(self, iface, events):
        for ev in events:
            self.trace.add(self.now, self.side(iface), describe(ev))
        return super().add(iface, events)


def deafen(iface):
    """The interface keeps its link but ignores every Q.931 message."""
    iface._message = lambda data, now: None


def answered_pair(t, **kw):
    p = TracedPair(t, **kw).start()
    call = p.user.setup(p.now, "100", "200")
    p.pump(until=p.now + 0.1)
    p.add(p.net, p.net.answer(p.take("net", cc.IncomingCall).call, p.now))
    p.pump(until=p.now + 0.1)
    return p, call


def pri_scenarios(t):
    for caller, variant in (("user", "euroisdn_e1"), ("net", "ni2")):
        t.section(f"pri basic call from {caller} ({variant})")
        p = TracedPair(t, variant).start()
        a, b = (p.user, p.net) if caller == "user" else (p.net, p.user)
        a.setup(p.now, "5551234", "2025550100", calling_name="Alice")
        p.pump(until=p.now + 0.1)
        inc = p.take(p.side(b), cc.IncomingCall)
        p.add(b, b.proceeding(inc.call, p.now))
        p.add(b, b.alerting(inc.call, p.now, inband=True))
        p.pump(until=p.now + 0.1)
        p.add(b, b.answer(inc.call, p.now))
        p.pump(until=p.now + 0.1)
        p.add(b, b.hangup(inc.call, p.now, 16))
        p.pump(until=p.now + 0.1)

    t.section("pri glare (network wins, user call moves)")
    p = TracedPair(t).start()
    p.user.setup(p.now, "100", "200", channel=1, exclusive=False)
    p.net.setup(p.now, "300", "400", channel=1)
    p.pump(until=p.now + 0.1)
    p.add(p.net, p.net.proceeding(p.take("net", cc.IncomingCall).call, p.now))
    p.pump(until=p.now + 0.1)

    t.section("pri glare exclusive (cause 44)")
    p = TracedPair(t).start()
    p.user.setup(p.now, "100", "200", channel=3, exclusive=True)
    p.net.setup(p.now, "300", "400", channel=3)
    p.pump(until=p.now + 0.1)

    t.section("pri T303 (SETUP repeated, then cleared)")
    p = TracedPair(t).start()
    deafen(p.net)
    p.user.setup(p.now, "100", "200")
    p.pump(until=p.now + 9)

    t.section("pri T305 and T308 (far end silent while clearing)")
    p, call = answered_pair(t)
    deafen(p.net)
    p.add(p.user, p.user.hangup(call, p.now))
    p.pump(until=p.now + 45)

    t.section("pri T310 user side")
    p = TracedPair(t).start()
    p.user.setup(p.now, "100", "200")
    p.pump(until=p.now + 0.1)
    p.add(p.net, p.net.proceeding(p.take("net", cc.IncomingCall).call, p.now))
    p.pump(until=p.now + 31)

    t.section("pri T301 network side")
    p = TracedPair(t).start()
    p.net.setup(p.now, "100", "200")
    p.pump(until=p.now + 0.1)
    p.add(p.user, p.user.alerting(p.take("user", cc.IncomingCall).call, p.now))
    p.pump(until=p.now + 181)

    t.section("pri T313 (CONNECT unacknowledged)")
    p = TracedPair(t).start()
    p.net.setup(p.now, "100", "200")
    p.pump(until=p.now + 0.1)
    inc = p.take("user", cc.IncomingCall)
    deafen(p.net)
    p.add(p.user, p.user.answer(inc.call, p.now))
    p.pump(until=p.now + 5)

    t.section("pri overlap: T302 completes dialling, T304 clears")
    p = TracedPair(t).start()
    call = p.user.setup(p.now, "1", "", overlap=True)
    p.pump(until=p.now + 0.1)
    inc = p.take("net", cc.IncomingCall)
    p.add(p.net, p.net.setup_ack(inc.call, p.now))
    p.pump(until=p.now + 0.1)
    p.add(p.user, p.user.send_digits(call, "23", p.now))
    p.pump(until=p.now + 12)
    p2 = TracedPair(t).start()
    call = p2.user.setup(p2.now, "1", "", overlap=True)
    p2.pump(until=p2.now + 0.1)
    deafen(p2.net)
    p2.add(p2.net, p2.net.setup_ack(p2.take("net", cc.IncomingCall).call, p2.now))
    p2.pump(until=p2.now + 0.1)
    p2.add(p2.user, p2.user.send_digits(call, "4", p2.now))
    p2.pump(until=p2.now + 40)

    t.section("pri T322 (STATUS ENQUIRY unanswered) and T316 (RESTART unanswered)")
    p, call = answered_pair(t)
    deafen(p.net)
    p.add(p.user, p.user.status_enquiry(call, p.now))
    p.pump(until=p.now + 20)
    p.add(p.user, p.user.restart(p.now))
    p.pump(until=p.now + 400)

    t.section("pri T309 (active call survives a short outage, not a long one)")
    p, active = answered_pair(t)
    p.user.setup(p.now, "3", "4")
    p.pump(until=p.now + 0.1)
    p.add(p.user, p.user.alarm(p.now))
    p.add(p.user, p.user.recover(p.now))
    p.pump(until=p.now + 1)
    p.add(p.user, p.user.alarm(p.now))
    p.drop = lambda side, data: True
    p.pump(until=p.now + 91)

    t.section("pri mandatory IE missing, unknown call reference, wrong state")
    p, call = answered_pair(t)
    inject(p, "net", q931.Message(q931.SETUP, 9, False, [ie.called_number("1")]))
    inject(p, "net", q931.Message(q931.DISCONNECT, 77, False, [ie.cause(16)]))
    inject(p, "user", q931.Message(q931.ALERTING, call.cr, True, []))
    inject(p, "user", q931.Message(0x13, call.cr, True, []))
    inject(p, "user", q931.Message(q931.NOTIFY, call.cr, True, [ie.notification(1), ie.raw(0, 0x55, b"\x01")]))
    inject(p, "user", bytes.fromhex("080280%02x7d0801" % call.cr))
    inject(p, "user", q931.Message(q931.STATUS, call.cr, True, [ie.cause(81), ie.call_state(0)]))

    t.section("lapd T200 (lost I frame and lost acknowledgements) and T203 (idle link polls)")
    p, call = answered_pair(t)
    lost = {"n": 0}

    def lose_one(side, data):
        if side == "user" and len(data) > 4 and not data[2] & 1 and not lost["n"]:
            lost["n"] += 1
            return True
        return False
    p.drop = lose_one
    p.add(p.user, p.user.keypad(call, p.now, "12"))
    p.pump(until=p.now + 3)
    p.drop = None
    p.pump(until=p.now + 25)
    p.drop = lambda side, data: side == "net"
    p.pump(until=p.now + 30)
    p.drop = None
    p.pump(until=p.now + 30)


def inject(p, to, msg):
    """Deliver a raw Q.931 message to side `to` as if its peer sent it in an I frame."""
    from pycallcenter.isdn.frame import Frame
    iface = getattr(p, to)
    peer = p.user if to == "net" else p.net
    data = msg if isinstance(msg, bytes) else msg.encode()
    frame = Frame("I", 0, 0, peer.link.cmd_cr, 0, peer.link.vs, peer.link.vr, data)
    peer.link.vs = (peer.link.vs + 1) % 128
    p.trace.add(p.now, p.side(peer), "injected " + data.hex())
    p.add(iface, iface.receive(frame.encode(), p.now))
    p.pump(until=p.now + 0.1)


# --- SS7 ------------------------------------------------------------------------------------------------------
def su_recorder(t):
    """Return on_su(side, su, now) writing MSUs and changes of LSSU (FISUs only end a run of LSSUs)."""
    last = {}

    def on_su(side, su, now):
        li = su[2] & 0x3F
        key = su[3:] if li < 3 else None
        if li < 3 and last.get(side, b"?") == key:
            return
        last[side] = key
        t.add(now, side, ("msu " if li >= 3 else "su ") + su.hex())
    return on_su


def event_recorder(t):
    return lambda side, ev, now: t.add(now, side, describe(ev))


def traced_wire(t, **kw):
    w = Wire(**kw)
    w.on_su = su_recorder(t)
    w.on_event = event_recorder(t)
    return w


def mtp2_scenarios(t):
    t.section("mtp2 emergency alignment, MSUs, T7")
    w = traced_wire(t)
    w.a.start(0)
    w.b.start(0)
    w.run(1)
    for i in range(5):
        w.a.send(bytes([0x85, i, 1, 2, 3]))
    w.run(0.05)
    w.a.send(b"\x85" + bytes(9))
    w.fault = lambda su: None
    w.run(2)

    t.section("mtp2 normal proving T4, then T2 with no peer")
    w = traced_wire(t, a=mtp2.Mtp2Link(), b=mtp2.Mtp2Link())
    w.a.start(0)
    w.b.start(0)
    w.run(9)
    link = mtp2.Mtp2Link()
    link.start(0)
    t.add(link.next_deadline(), "single", describe(link.handle_timer(link.next_deadline())))

    t.section("mtp2 T3 (aligned, no proving status)")
    w = traced_wire(t)

    def sio_for_proving(su):
        if su[2] & 0x3F == 1 and su[3] & 7 in (1, 2):  # SIN, SIE
            return encode_su(su[0] & 0x7F, su[0] >> 7, su[1] & 0x7F, su[1] >> 7, status="SIO")
        return su
    w.fault = sio_for_proving
    w.a.start(0)
    w.b.start(0)
    w.run(2)

    t.section("mtp2 T1 (aligned ready, far end never in service)")
    timers = Mtp2Timers(T1=2.0)
    w = traced_wire(t, a=mtp2.Mtp2Link(timers, emergency=True), b=mtp2.Mtp2Link(timers, emergency=True))
    w.fault = lambda su: su if w.b.state != mtp2.ALIGNED_READY and su[2] & 0x3F else None
    w.a.start(0)
    w.b.start(0)
    w.run(3)

    t.section("mtp2 congestion: SIB every T5, T6 fails the sender; processor outage")
    w = traced_wire(t)
    w.a.start(0)
    w.b.start(0)
    w.run(1)
    w.b.congested(True)
    w.a.send(bytes([0x85, 1, 1, 2, 3]))
    w.run(5)
    w = traced_wire(t)
    w.a.set_local_processor_outage(True)
    w.a.start(0)
    w.b.start(0)
    w.run(1)
    w.a.set_local_processor_outage(False)
    w.run(0.1)


def mtp3_scenarios(t):
    t.section("mtp3 two links: SLT, inhibit (T14 repeat), uninhibit, changeover T2, changeback T4, T17")
    p = Mtp3Pair(nlinks=2)
    p.on_su = su_recorder(t)
    rec = event_recorder(t)
    p.handlers = {"a": lambda ev, now: rec("a", ev, now), "b": lambda ev, now: rec("b", ev, now)}
    p.start()
    p.run(1.5)
    real = p.b._inhibiting
    dropped = []

    def ignore_first_lin(via, link, name, now):
        if name == "LIN" and not dropped:
            dropped.append(now)
            return []
        return real(via, link, name, now)
    p.b._inhibiting = ignore_first_lin
    p.a.inhibit(1, p.now)
    p.run(2.5)
    p.a.uninhibit(1, p.now)
    p.run(0.1)
    for sls in range(4):
        p.a.send(M.SI_ISUP, 2, sls, bytes([sls, 0, 1]))
    p.cut.add(0)
    p.run(0.01)
    p.a.stop_link(0, p.now)
    p.run(1.5)
    p.cut.discard(0)
    p.run(3)
    p.cut.add(1)
    p.run(10)
    p.cut.discard(1)
    p.run(3)


def isup_scenarios(t):
    def pair(**kw):
        sp = SpPair(isup_timers=kw.pop("timers", ISUP_FAST), **kw)
        sp.on_su = su_recorder(t)
        sp.on_event = event_recorder(t)
        return sp.up()

    t.section("isup calls both ways, dual seizure, release collision")
    p = pair()
    for caller, callee in ((p.ia, p.ib), (p.ib, p.ia)):
        caller.call(5, "5551234", "2025550100", p.now)
        p.settle()
        callee.alert(5, p.now)
        p.settle()
        callee.answer(5, p.now)
        p.settle()
        caller.release(5, p.now, cause=16)
        p.settle()
    p.ia.call(4, "111", "", p.now)
    p.ib.call(4, "222", "", p.now)
    p.ia.call(7, "333", "", p.now)
    p.ib.call(7, "444", "", p.now)
    p.settle()
    p.ia.call(6, "1", "", p.now)
    p.settle()
    p.ib.answer(6, p.now)
    p.settle()
    p.ia.release(6, p.now)
    p.ib.release(6, p.now)
    p.settle()

    t.section("isup T7, T1, T5, T16/T17 (far end deaf)")
    p = pair()
    p.ib.receive = lambda data, now: []
    p.ia.call(3, "1", "", p.now)
    p.run(5)

    t.section("isup T9 (no answer after ACM), T6 (suspended by the network)")
    p = pair()
    p.ia.call(2, "1", "", p.now)
    p.settle()
    p.ib.alert(2, p.now)
    p.run(2.5)
    p.ia.call(3, "1", "", p.now)
    p.settle()
    p.ib.answer(3, p.now)
    p.settle()
    p.b.isup(1).outgoing.append((3, encode_isup(IsupMessage(
        "SUS", 3, {"suspend_resume_indicators": {"initiated_by_network": 1}}))))
    p.run(1.5)

    t.section("isup maintenance unanswered: T12/T13, T14/T15, T22/T23, T18, T20")
    p = pair()
    p.ib.receive = lambda data, now: []
    p.ia.block(9, p.now)
    p.run(4)
    p.ia.unblock(9, p.now)
    p.run(4)
    p.ia.group_reset(1, 8, p.now)
    p.run(4)
    p.ia.group_block(10, 4, p.now)
    p.run(1.2)
    p.ia.group_block(10, 4, p.now, unblock=True)
    p.run(1.2)

    t.section("isup maintenance answered, reset, group reset")
    p = pair()
    p.ia.block(3, p.now)
    p.ib.call(2, "1", "", p.now)
    p.settle()
    p.ib.group_reset(1, 8, p.now)
    p.settle()
    p.ia.unblock(3, p.now)
    p.ib.reset(2, p.now)
    p.settle()

    t.section("isup continuity: T8, T24, T25/T26, T27, T36")
    p = pair(timers=replace(ISUP_FAST, T7=5.0, T8=0.5))
    nci = {"nature_of_connection_indicators": {"continuity_check": 1}}
    p.ia.call(21, "777", "", p.now, extra=nci)
    p.run(1.0)
    p.ia.call(22, "778", "", p.now, extra=nci)
    p.settle()
    p.ia.continuity_result(22, False, p.now)
    p.run(2.5)
    p.ia.call(23, "779", "", p.now, extra=nci)
    p.run(3)

    t.section("isup congestion T29/T30")
    p = pair()
    p.b.mtp3._send_mgmt(p.b.mtp3.links[0], M.SI_SNM, "TFC", destination=2, congestion=2)
    p.run(0.1)
    p.b.mtp3._send_mgmt(p.b.mtp3.links[0], M.SI_SNM, "TFC", destination=2, congestion=2)
    p.run(0.5)
    p.b.mtp3._send_mgmt(p.b.mtp3.links[0], M.SI_SNM, "TFC", destination=2, congestion=2)
    p.run(3)


def generate():
    """Return the whole trace as text."""
    t = Trace()
    pri_scenarios(t)
    mtp2_scenarios(t)
    mtp3_scenarios(t)
    isup_scenarios(t)
    return "\n".join(t.lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(generate())
