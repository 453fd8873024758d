"""The soak's simulated SIP carrier (pycallcenter.sim.sip) against the engine's SIP trunk on loopback: its callers
reach a script with their digits (RFC 4733 events and in-band DTMF), a caller refused by overload control hears
503 with Retry-After and counts as refused by the centre, a carrier that fails loses its calls and the centre
clears them, malformed datagrams are counted and cut no call. The whole soak with SIP is tests/test_soak.py."""
import socket
import time

import pytest

from engine_rig import PRI
from engine_sip_rig import free_rtp_range
from pycallcenter.apps import soak
from pycallcenter.drivers import open_board, parse_config
from pycallcenter.engine import call as C
from pycallcenter.engine.admission import Admission
from pycallcenter.engine.engine import Engine
from pycallcenter.engine.sip import Peer, SipTrunk
from pycallcenter.media import rtp_batch
from pycallcenter.sim.pstn import Caller
from pycallcenter.sim.sip import CARRIER_DOWN, SipCarrier, _Call


@pytest.fixture
def rig():
    """An engine with 6 packet rows, a SIP trunk whose carrier is a SipCarrier (session timer 90 s, pinged every
    10 s), and a run(seconds, until) that ticks both on the board's clock."""
    board = open_board(parse_config(PRI.format(seed=1)))
    eng = Engine(board, tone_plan="etsi", packet_rows=6, rtp_ports=free_rtp_range())
    carrier = SipCarrier(seed=3)
    trunk = eng.add(SipTrunk(eng, listen=("127.0.0.1", 0), session_expires=90,
                             peers=[Peer("carrier", "127.0.0.1", carrier.address[1], keepalive=10)]))
    carrier.connect(trunk.address)

    def run(seconds, until=None):
        for _ in range(int(seconds * 8000 / board.blocksize)):
            carrier.tick(eng.now, board.blocksize)
            eng.tick()
            if until is not None and until():
                return True
        return False

    yield eng, trunk, carrier, run
    for leg in list(eng.legs.values()):  # what a test left up is cleared, as a centre's drain does
        leg.hangup()
    run(3.0, until=lambda: not eng.legs)
    eng.shutdown()
    trunk.close()
    carrier.close()


def _answered(rig, number):
    """Return a patient caller from the carrier, answered by the centre's collecting script."""
    eng, _, carrier, run = rig
    _collecting(eng, {})
    caller = Caller(number, "5000", eng.now / 8000 + 0.2, patience=600.0)
    carrier.add(caller)
    assert run(2.0, until=lambda: caller.answered is not None)
    return caller


def _collecting(eng, seen):
    """Route every call to a script that answers, collects one digit (noted by caller) and waits."""
    async def script(call):
        await call.answer()
        got = await call.collect(max_digits=1, terminator="", first_timeout=8.0)
        seen[call.caller] = got.digits
        await call.wait(60.0)

    eng.router = lambda leg: script


def test_carrier_callers_reach_the_script_with_their_digits_and_leave_nothing_behind(rig):
    eng, trunk, carrier, run = rig
    seen = {}
    _collecting(eng, seen)
    now = eng.now / 8000
    callers = [Caller("2025550101", "5000", now + 0.5, digits="4", digit_delay=1.0, patience=6.0),  # in-band
               Caller("2025550102", "5000", now + 1.0, digits="7", digit_delay=1.0, patience=6.0)]  # RFC 4733
    for c in callers:
        carrier.add(c)
    assert run(15.0, until=lambda: all(c.ended for c in callers) and not eng.legs)
    assert seen == {"2025550101": "4", "2025550102": "7"}
    assert all(c.answered and c.abandoned and c.cause == 16 for c in callers), [c.log for c in callers]
    assert carrier.counts["rtp_in"] > 0 and carrier.counts["rtp_out"] > 0
    # after the transactions' last timers (J, M: 32 s), neither end holds anything but the trunk's pings
    run(40.0)
    assert not trunk.sessions and not trunk.ua.dialogs and eng.packet.leaks() == []
    assert [k for k in trunk.ua.layer.transactions if k[-1] != "OPTIONS"] == []
    assert [x for x in carrier.leaks() if not x.startswith("carrier transaction OPTIONS")] == []
    assert trunk.trunk_state["carrier"] == "up"


def test_a_caller_beyond_the_call_rate_hears_503_with_retry_after_and_counts_as_refused_by_the_centre(rig):
    eng, trunk, carrier, run = rig
    _collecting(eng, {})
    eng.admission = Admission(max_call_rate=0.01, burst=1)  # one call passes, the next is beyond the rate: cause 42
    heard = []
    receive = carrier.ua.receive
    carrier.ua.receive = lambda data, *a, **kw: (heard.append(bytes(data)), receive(data, *a, **kw))[1]
    now = eng.now / 8000
    first, second = Caller("2025550201", "5000", now + 0.2), Caller("2025550202", "5000", now + 0.6)
    carrier.add(first)
    carrier.add(second)
    assert run(3.0, until=lambda: second.ended is not None)
    assert first.answered is not None and second.answered is None and second.cause == 42
    assert soak._caller_is("refused_by_centre", second) and not soak._caller_is("refused_by_network", second)
    final = next(m for m in heard if m.startswith(b"SIP/2.0 503"))
    assert b"\r\nRetry-After: 5\r\n" in final and b"cause=42" in final
    assert eng.admission.refused["rate"] == 1


def test_a_failed_carrier_loses_its_calls_the_centre_clears_them_and_traffic_resumes(rig):
    eng, trunk, carrier, run = rig
    caller = _answered(rig, "2025550301")
    (leg,) = [s.leg for s in trunk.sessions.values()]
    carrier.go_down(eng.now / 8000)
    assert caller.ended is not None and caller.cause == CARRIER_DOWN
    late = Caller("2025550302", "5000", eng.now / 8000 + 1.0)
    carrier.add(late)
    run(20.0)
    assert late.refused and leg.state != C.ENDED  # nobody told the centre yet
    carrier.come_back(eng.now / 8000)
    # the centre's session refresh gets 481 from the restarted carrier, or the session timer runs out (90 s)
    assert run(120.0, until=lambda: leg.state == C.ENDED)
    after = Caller("2025550303", "5000", eng.now / 8000 + 0.5)
    carrier.add(after)
    assert run(3.0, until=lambda: after.answered is not None)


def test_malformed_datagrams_are_counted_and_cut_no_call(rig):
    eng, trunk, carrier, run = rig
    caller = _answered(rig, "2025550401")
    (session,) = trunk.sessions.values()
    sent = [0, 0]
    for _ in range(50):
        sip, rtp = carrier.garbage(4)
        sent = [sent[0] + sip, sent[1] + rtp]
        run(0.1)
    assert sent[0] >= 1 and sent[1] >= 1
    assert trunk.ua.stats["malformed"] == sent[0]
    st = eng.packet.stats(session.row)
    assert st["malformed"] + st["wrong_size"] + st["unknown_pt"] + st["oversized"] + st["wrong_source"] >= 1
    run(2.0)
    assert session.leg.state == C.ANSWERED and caller.ended is None
    packets = carrier.counts["rtp_in"]
    run(1.0)
    assert carrier.counts["rtp_in"] > packets  # the centre's audio still reaches the caller


def test_the_soak_names_what_sip_holds_after_a_drain(rig):
    """The drain's SIP check (Soak._sip_left) lists the session, dialogs, transactions and rows of a call still up
    at both ends, and nothing once it has ended and the transactions' timers have run (the pings excepted)."""
    from types import SimpleNamespace

    eng, trunk, carrier, run = rig
    _collecting(eng, {})
    caller = Caller("2025550501", "5000", eng.now / 8000 + 0.2, patience=3.0)
    carrier.add(caller)
    assert run(2.0, until=lambda: caller.answered is not None)
    view = SimpleNamespace(carrier=carrier, centre=SimpleNamespace(sip=trunk), engine=eng)
    held = soak.Soak._sip_left(view)
    assert any(x.startswith("SIP session") for x in held) and any(x.startswith("SIP dialog") for x in held)
    assert not any("carrier dialog" in x for x in carrier.leaks())  # the carrier's dialog has its call
    assert run(10.0, until=lambda: caller.ended is not None and not eng.legs)
    assert soak.Soak._sip_left(view) != []  # the BYE's transactions still run their timers
    run(40.0)
    assert soak.Soak._sip_left(view) == []


def test_the_carriers_kernel_path_sends_and_counts_what_its_python_path_does():
    """A tick of silence for each call through the send kernel against _send_frame, and the centre's packets
    counted from recvmmsg batches against recvfrom: the same datagrams, streams and counters."""
    centre = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
    carriers = [SipCarrier(seed=5), SipCarrier(seed=5)]
    try:
        for s in centre:
            s.bind(("127.0.0.1", 0))
            s.settimeout(2)
        got, counts = [], []
        for carrier, native in zip(carriers, (True, False)):
            calls = [_Call(Caller(f"20255501{k:02d}", "5000", 0.0), f"c{k}", k, 0xABC0 + k) for k in range(3)]
            for call, s in zip(calls, centre):
                call.remote, call.seq, call.ts = s.getsockname()[:2], 0xFFFE, 0xFFFFFF00
                carrier.active[call.call_id] = call
            if native:
                assert all(rtp_batch.dest4(call) for call in calls)  # what tick() asks before it takes this path
                carrier._send_silence(calls, 4)
            else:
                for call in calls:
                    for _ in range(4):
                        carrier._send_frame(call)
            got.append([[s.recvfrom(2048)[0] for _ in range(4)] for s in centre])
            for s, n in zip(centre, (2, 0, 1)):  # the centre answers: 2 packets of call 0, 1 of call 2, a runt
                for _ in range(n):
                    s.sendto(b"\x80" * 20, (carrier.host, carrier.rtp_port))
            centre[0].sendto(b"\x80" * 11, (carrier.host, carrier.rtp_port))  # too short: not counted
            time.sleep(0.05)
            carrier._hear_native() if native else carrier._hear()
            counts.append(([(c.seq, c.ts, c.packets_out, c.packets_in) for c in calls],
                           {k: carrier.counts[k] for k in ("rtp_out", "rtp_in", "dropped_out")}))
        assert got[0] == got[1]
        assert counts[0] == counts[1]
        assert counts[0][0][0] == (2, 0xFFFFFF00 + 4 * 160 - (1 << 32), 4, 2)
        assert counts[0][1] == {"rtp_out": 12, "rtp_in": 3, "dropped_out": 0}
    finally:
        for s in centre:
            s.close()
        for carrier in carriers:
            carrier.close()
