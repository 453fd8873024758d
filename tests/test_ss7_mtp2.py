"""MTP2 (Q.703) back to back: alignment, proving, SIOS, error correction, error rate monitors."""
import pytest

from pycallcenter.errors import LocalProtocolError
from pycallcenter.ss7 import mtp2
from pycallcenter.ss7.su import decode_su
from ss7_wire import Wire, aligned_wire, status_of


def test_out_of_service_link_sends_sios_and_stop_sends_sios():
    link = mtp2.Mtp2Link()
    assert status_of(link.pull(0)) == "SIOS"
    w = aligned_wire()
    w.a.stop(w.now)
    assert status_of(w.a.pull(w.now)) == "SIOS"
    w.run(0.01)
    assert mtp2.OutOfService("SIOS received") in w.events["b"]
    assert status_of(w.b.pull(w.now)) == "SIOS"


def test_emergency_alignment_sequence_and_time():
    w = aligned_wire()
    seen = []
    for su in w.sent["a"]:
        s = status_of(su)
        if not seen or seen[-1] != s:
            seen.append(s)
    assert seen[:3] == ["SIO", "SIE", "FISU"]
    assert 0.5 <= w.now < 0.6
    assert w.events["a"] == [mtp2.InService()] and w.events["b"] == [mtp2.InService()]


def test_normal_proving_takes_t4n_and_one_emergency_side_shortens_it():
    w = aligned_wire(a=mtp2.Mtp2Link(), b=mtp2.Mtp2Link())
    assert 8.2 <= w.now < 8.4
    w = aligned_wire(a=mtp2.Mtp2Link(), b=mtp2.Mtp2Link(emergency=True))
    assert w.now < 0.6


def test_t2_expiry_without_peer_goes_out_of_service_sending_sios():
    link = mtp2.Mtp2Link()
    link.start(0)
    assert status_of(link.pull(0)) == "SIO"
    assert link.handle_timer(link.next_deadline()) == [mtp2.OutOfService("T2 expired")]
    assert status_of(link.pull(11)) == "SIOS"


def test_proving_aborted_by_errors_then_alignment_not_possible():
    w = Wire()
    w.a.start(0)
    w.b.start(0)
    w.fault = lambda su: "error" if w.b.state == mtp2.PROVING else su
    w.run(10, until=lambda: w.events["b"])
    assert w.events["b"] == [mtp2.OutOfService("proving failed")]


def test_msus_flow_and_are_acknowledged():
    w = aligned_wire()
    for i in range(300):
        w.a.send(bytes([0x85, i & 255, 1, 2, 3, 4]))
    w.run(1)
    got = [e.msu for e in w.events["b"] if isinstance(e, mtp2.MsuReceived)]
    assert got == [bytes([0x85, i & 255, 1, 2, 3, 4]) for i in range(300)]
    assert w.a.rtb == [] and "T7" not in w.a.deadlines


def test_lost_msus_are_retransmitted_in_order():
    w = aligned_wire()
    for i in range(40):
        w.a.send(bytes([0x85, i]) + bytes(8))
    count = [0]

    def drop_some(su):
        head, _ = decode_su(su)
        if head["type"] == "MSU":
            count[0] += 1
            if count[0] in (3, 4, 17, 30):
                return None
        return su

    w.fault = drop_some
    w.run(1)
    got = [e.msu[1] for e in w.events["b"] if isinstance(e, mtp2.MsuReceived)]
    assert got == list(range(40))
    assert all(isinstance(e, (mtp2.InService, mtp2.MsuReceived)) for e in w.events["b"])


def test_no_acknowledgement_fails_the_link_on_t7():
    w = aligned_wire()
    w.a.send(b"\x85" + bytes(9))
    w.fault = lambda su: None
    w.run(2)
    assert mtp2.OutOfService("T7 expired") in w.events["a"]


def test_suerm_takes_the_link_down_on_a_burst_of_errors_but_not_on_a_few():
    w = aligned_wire()
    n = [0]

    def few(su):
        n[0] += 1
        return "error" if n[0] % 300 == 0 else su

    w.fault = few
    w.run(2)
    assert w.b.state == mtp2.IN_SERVICE
    w.fault = lambda su: "error"
    w.run(0.2)
    assert mtp2.OutOfService("SUERM threshold") in w.events["b"]


def test_garbage_never_raises_and_link_stays_up():
    import random
    rng = random.Random(5)
    w = aligned_wire()
    for _ in range(50):
        w.b.receive(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 3))), w.now)
    assert w.b.state == mtp2.IN_SERVICE


def test_local_protocol_errors():
    link = mtp2.Mtp2Link()
    with pytest.raises(LocalProtocolError):
        link.send(b"\x85\x00\x00\x00\x00")
    link.start(0)
    with pytest.raises(LocalProtocolError):
        link.start(0)


def test_received_sin_in_service_fails_the_link():
    w = aligned_wire()
    assert w.b.receive(bytes([0xFF, 0xFF, 1, 1]), w.now) == [mtp2.OutOfService("SIN received")]
