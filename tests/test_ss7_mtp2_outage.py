"""MTP2 (Q.703) back to back: receive congestion (SIB, withheld acknowledgements, T6/T7) and processor outage."""
from pycallcenter.ss7 import mtp2
from pycallcenter.ss7.timers import Mtp2Timers
from ss7_wire import Mtp3Pair, Wire, aligned_wire, status_of


def aligned(**kw):
    w = aligned_wire(**kw)
    w.events = {"a": [], "b": []}
    w.sent = {"a": [], "b": []}
    return w


def received(w, side):
    return [e.msu for e in w.events[side] if isinstance(e, mtp2.MsuReceived)]


def msus(n, tag=0x85):
    return [bytes([tag, i & 255, 1, 2, 3]) for i in range(n)]


def test_commanded_congestion_sends_sib_withholds_acks_and_extends_t7():
    w = aligned()
    w.b.congested(True)
    for m in msus(5):
        w.a.send(m)
    w.run(2.5)  # far beyond T7 (1 s): SIBs keep restarting it, T6 (4.5 s) not reached
    assert received(w, "b") == msus(5)  # accepted, but not acknowledged
    sibs = [su for su in w.sent["b"] if status_of(su) == "SIB"]
    assert 20 <= len(sibs) <= 27  # one per T5 (100 ms)
    assert len(w.a.rtb) == 5 and w.a.state == mtp2.IN_SERVICE
    assert w.events["a"] == [mtp2.RemoteCongestion(True)]
    w.b.congested(False)
    w.run(0.05)
    assert w.a.rtb == [] and "T6" not in w.a.deadlines
    assert w.events["a"] == [mtp2.RemoteCongestion(True), mtp2.RemoteCongestion(False)]
    assert not [su for su in w.sent["b"][-40:] if status_of(su) == "SIB"]
    for m in msus(3, 0x83):
        w.a.send(m)
    w.run(0.05)
    assert received(w, "b") == msus(5) + msus(3, 0x83)


def test_congestion_longer_than_t6_fails_the_sending_link():
    w = aligned()
    w.b.congested(True)
    w.a.send(msus(1)[0])
    w.run(5)
    assert mtp2.OutOfService("T6 expired") in w.events["a"]
    assert w.b.state != mtp2.IN_SERVICE or mtp2.OutOfService("SIOS received") in w.events["b"]


def test_sib_with_nothing_outstanding_starts_no_t6():
    w = aligned()
    w.b.congested(True)
    w.run(6)
    assert w.a.state == w.b.state == mtp2.IN_SERVICE
    assert w.events["a"] == [] and "T6" not in w.a.deadlines


def test_receive_threshold_congestion_onset_and_abatement():
    w = aligned(b=mtp2.Mtp2Link(emergency=True, congestion_onset=4))
    for m in msus(10):
        w.a.send(m)
    w.run(0.2)
    assert w.b.rx_congested and len(received(w, "b")) == 10
    assert any(status_of(su) == "SIB" for su in w.sent["b"])
    assert w.a.rtb  # our acknowledgements stopped at the onset
    w.b.consumed(10)
    w.run(0.05)
    assert not w.b.rx_congested and w.a.rtb == []


def test_local_processor_outage_holds_and_resumes_msu_flow_without_loss():
    w = aligned()
    for m in msus(6):
        w.a.send(m)
    w.run(0.002)  # some are on the wire when b's level 3 fails
    w.b.set_local_processor_outage(True)
    w.run(0.1)
    assert mtp2.RemoteProcessorOutage() in w.events["a"]
    assert all(status_of(su) == "SIPO" for su in w.sent["b"][-50:])
    assert all(status_of(su) == "FISU" for su in w.sent["a"][-50:])  # a holds its MSUs
    for m in msus(4, 0x83):
        w.a.send(m)
    w.run(2)  # no T7 failure while the far end is out
    assert w.a.state == mtp2.IN_SERVICE
    got_during = received(w, "b")
    w.b.set_local_processor_outage(False)
    w.run(0.1)
    assert mtp2.RemoteProcessorRecovered() in w.events["a"]
    assert received(w, "b") == msus(6) + msus(4, 0x83)
    assert got_during == msus(2)  # the third crossed b's SIPO and was discarded, then sent again
    assert w.a.rtb == [] and w.a.state == w.b.state == mtp2.IN_SERVICE


def test_both_ends_in_processor_outage_exchange_sipo_then_recover_one_by_one():
    w = aligned()
    w.a.set_local_processor_outage(True)
    w.b.set_local_processor_outage(True)
    w.run(0.05)
    assert status_of(w.sent["a"][-1]) == status_of(w.sent["b"][-1]) == "SIPO"
    w.a.set_local_processor_outage(False)
    w.a.send(msus(1)[0])
    w.run(0.05)
    assert status_of(w.sent["a"][-1]) == "FISU" and status_of(w.sent["b"][-1]) == "SIPO"
    assert received(w, "b") == []
    w.b.set_local_processor_outage(False)
    w.run(0.05)
    assert received(w, "b") == msus(1)
    assert mtp2.RemoteProcessorRecovered() in w.events["a"] and mtp2.RemoteProcessorRecovered() in w.events["b"]


def test_flush_on_recovery_drops_our_held_msus_and_the_link_numbers_on():
    w = aligned()
    w.b.set_local_processor_outage(True)
    for m in msus(3, 0x81):
        w.b.send(m)
    w.run(0.05)
    w.b.set_local_processor_outage(False, flush=True)
    w.run(0.05)
    for m in msus(2, 0x82):
        w.b.send(m)
    w.run(0.1)
    assert received(w, "a") == msus(2, 0x82)
    assert w.a.state == w.b.state == mtp2.IN_SERVICE and w.b.rtb == []


def test_sipo_while_aligned_ready_stops_t1():
    timers = Mtp2Timers(T1=2.0)
    w = Wire(a=mtp2.Mtp2Link(timers, emergency=True), b=mtp2.Mtp2Link(timers, emergency=True))
    w.a.set_local_processor_outage(True)
    w.a.start(0)
    w.b.start(0)
    w.run(4)
    assert mtp2.RemoteProcessorOutage() in w.events["b"]
    assert not any(isinstance(e, mtp2.OutOfService) for e in w.events["a"] + w.events["b"])
    w.a.set_local_processor_outage(False)
    assert w.run(0.1, until=lambda: w.a.state == w.b.state == mtp2.IN_SERVICE)


def test_mtp3_takes_the_link_out_during_remote_processor_outage_and_back_after():
    from pycallcenter.ss7 import mtp3
    p = Mtp3Pair()
    p.start()
    assert p.run(5, until=lambda: p.a.route_available(2) and p.b.route_available(1))
    p.a.links[0].mtp2.set_local_processor_outage(True)
    p.run(0.05)
    assert mtp3.LinkUnavailable(0, "remote processor outage") in p.events["b"]
    assert not p.b.route_available(1)
    p.a.links[0].mtp2.set_local_processor_outage(False)
    assert p.run(1, until=lambda: p.b.route_available(1))
    p.events = {"a": [], "b": []}
    assert p.a.send(5, 2, 1, b"\x01\x00\x10hello") and p.b.send(5, 1, 1, b"\x01\x00\x10world")
    p.run(0.1)
    assert [e.data for e in p.events["b"] if isinstance(e, mtp3.UserData)] == [b"\x01\x00\x10hello"]
    assert [e.data for e in p.events["a"] if isinstance(e, mtp3.UserData)] == [b"\x01\x00\x10world"]
    assert p.a.links[0].mtp2.state == p.b.links[0].mtp2.state == mtp2.IN_SERVICE


def test_mtp3_reports_link_congestion():
    from pycallcenter.ss7 import mtp3
    p = Mtp3Pair()
    p.start()
    assert p.run(5, until=lambda: p.a.route_available(2) and p.b.route_available(1))
    p.b.links[0].mtp2.congested(True)
    p.a.send(5, 2, 1, b"\x01\x00\x10hello")
    p.run(0.5)
    assert mtp3.LinkCongestion(0, True) in p.events["a"]
    p.b.links[0].mtp2.congested(False)
    p.run(0.1)
    assert mtp3.LinkCongestion(0, False) in p.events["a"]


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a_po", "b_po", "b_cong", "a_cong", "drop", "send_a", "send_b"]),
                          st.integers(1, 40)), max_size=12))
def test_msus_arrive_once_in_order_through_any_mix_of_congestion_outage_and_loss(script):
    w = aligned()
    state = {"a_po": False, "b_po": False, "b_cong": False, "a_cong": False}
    sent = {"a": [], "b": []}
    dropping = [0]

    def fault(su):
        if dropping[0] > 0 and len(su) > 5:
            dropping[0] -= 1
            return None
        return su
    w.fault = fault
    for i, (what, n) in enumerate(script):
        if what in state:
            state[what] = not state[what]
            side = w.a if what[0] == "a" else w.b
            if what.endswith("po"):
                side.set_local_processor_outage(state[what])
            else:
                side.congested(state[what])
        elif what == "drop":
            dropping[0] = n % 4
        else:
            side = what[-1]
            for k in range(n % 7):
                m = bytes([0x85, i, k, 1, 2])
                getattr(w, side).send(m)
                sent[side].append(m)
        w.run(0.004 * n)
    for flag in ("a_po", "b_po"):
        if state[flag]:
            (w.a if flag[0] == "a" else w.b).set_local_processor_outage(False)
    w.a.congested(False)
    w.b.congested(False)
    w.run(0.5)
    assert w.a.state == w.b.state == mtp2.IN_SERVICE
    assert received(w, "b") == sent["a"] and received(w, "a") == sent["b"]
