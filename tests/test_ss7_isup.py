"""ISUP call control (Q.764) back to back over MTP3/MTP2: calls, timers, dual seizure, maintenance."""
import pytest
from hypothesis import given, settings, strategies as st

from pycallcenter.errors import LocalProtocolError
from pycallcenter.ss7 import isup as I
from pycallcenter.ss7.timers import IsupTimers
from pycallcenter.ss7.isup_codec import IsupMessage, encode_isup
from ss7_wire import SpPair

FAST = IsupTimers(T1=0.5, T5=3.0, T7=1.0, T9=2.0, T12=0.5, T13=3.0, T14=0.5, T15=3.0, T16=0.5, T17=3.0,
                  T22=0.5, T23=3.0, T6=1.0, T8=1.0)


@pytest.fixture
def pair():
    return SpPair(isup_timers=FAST).up()


def test_call_in_both_directions(pair):
    for caller, callee, side_in, side_out in ((pair.ia, pair.ib, "b", "a"), (pair.ib, pair.ia, "a", "b")):
        pair.events = {"a": [], "b": []}
        caller.call(5, "5551234", "2025550100", pair.now)
        pair.settle()
        (inc,) = pair.of(side_in, I.IncomingCall)
        assert (inc.cic, inc.called, inc.calling) == (5, "5551234", "2025550100")
        callee.alert(5, pair.now)
        pair.settle()
        assert [e.kind for e in pair.of(side_out, I.CallProgress)] == ["ACM"]
        callee.answer(5, pair.now)
        pair.settle()
        assert pair.of(side_out, I.Answered) == [I.Answered(5)]
        assert caller.state(5) == callee.state(5) == I.ANSWERED
        caller.release(5, pair.now, cause=16)
        pair.settle()
        assert pair.of(side_in, I.Released) == [I.Released(5, 16, "remote")]
        assert pair.of(side_out, I.Released) == [I.Released(5, 16, "local")]
        assert caller.state(5) == callee.state(5) == I.IDLE
        assert caller.next_deadline() is None and callee.next_deadline() is None


def test_answer_without_alerting_sends_con(pair):
    pair.ia.call(2, "100", "", pair.now)
    pair.settle()
    pair.ib.answer(2, pair.now)
    pair.settle()
    assert pair.of("a", I.Answered) == [I.Answered(2)] and pair.ia.state(2) == I.ANSWERED


def test_t7_releases_an_unanswered_seizure():
    pair = SpPair(isup_timers=FAST).up()
    pair.ib.receive = lambda data, now: []  # the far end swallows everything
    pair.ia.call(3, "1", "", pair.now)
    pair.run(1.2)
    assert I.CallFailed(3, "T7 expired") in pair.events["a"]
    assert pair.ia.state(3) == I.RELEASING
    pair.run(3.5)  # T1 repeats REL, T5 turns it into a reset, T16 repeats RSC
    assert pair.ia.state(3) == I.RESETTING
    assert I.Released(3, 102, "timer") in pair.events["a"]


def test_dual_seizure_is_resolved_by_point_code(pair):
    # pc 2 > pc 1: b controls even CICs, a controls odd ones
    pair.ia.call(4, "111", "", pair.now)
    pair.ib.call(4, "222", "", pair.now)
    pair.ia.call(7, "333", "", pair.now)
    pair.ib.call(7, "444", "", pair.now)
    pair.settle()
    assert I.CallFailed(4, "dual seizure") in pair.events["a"]
    assert I.CallFailed(7, "dual seizure") in pair.events["b"]
    assert [e.called for e in pair.of("a", I.IncomingCall)] == ["222"]
    assert [e.called for e in pair.of("b", I.IncomingCall)] == ["333"]
    assert pair.ia.state(4) == I.IN_IAM and pair.ib.state(4) == I.OUT_IAM


def test_release_collision_leaves_both_idle(pair):
    pair.ia.call(6, "1", "", pair.now)
    pair.settle()
    pair.ib.answer(6, pair.now)
    pair.settle()
    pair.ia.release(6, pair.now)
    pair.ib.release(6, pair.now)
    pair.settle()
    assert pair.ia.state(6) == pair.ib.state(6) == I.IDLE
    assert pair.ia.next_deadline() is None and pair.ib.next_deadline() is None


def test_blocking_and_unblocking(pair):
    pair.ia.block(9, pair.now)
    pair.settle()
    assert I.BlockingChanged(9, "remote", "maintenance", True) in pair.events["b"]
    assert I.MaintenanceAck("BLO", (9,)) in pair.events["a"]
    assert pair.ia.blocked(9) == ({"maintenance"}, set())
    with pytest.raises(LocalProtocolError):
        pair.ib.call(9, "1", "", pair.now)
    pair.ia.unblock(9, pair.now)
    pair.settle()
    assert pair.ia.blocked(9) == (set(), set()) and pair.ib.blocked(9) == (set(), set())
    assert pair.ia.next_deadline() is None


def test_reset_clears_a_call_and_remote_blocking(pair):
    pair.ia.call(10, "1", "", pair.now)
    pair.settle()
    pair.ib.block(11, pair.now)
    pair.settle()
    pair.ib.reset(10, pair.now)
    pair.settle()
    assert I.Released(10, 41, "reset") in pair.events["a"] + pair.events["b"]
    assert I.CircuitReset(10) in pair.events["a"]
    assert I.MaintenanceAck("RSC", (10,)) in pair.events["b"]
    assert pair.ia.state(10) == pair.ib.state(10) == I.IDLE


def test_group_reset_answers_with_our_blocking_state(pair):
    pair.ia.block(3, pair.now)
    pair.ib.call(2, "1", "", pair.now)
    pair.settle()
    pair.ib.group_reset(1, 8, pair.now)
    pair.settle()
    (ack,) = pair.of("b", I.MaintenanceAck)
    assert ack == I.MaintenanceAck("GRS", tuple(range(1, 9)))
    assert pair.ib.blocked(3) == (set(), {"maintenance"})
    assert all(pair.ia.state(n) == pair.ib.state(n) == I.IDLE for n in range(1, 9))


@pytest.mark.parametrize("hardware", [False, True])
def test_circuit_group_blocking_and_unblocking(pair, hardware):
    kind = "hardware" if hardware else "maintenance"
    pair.ia.call(13, "1", "", pair.now)
    pair.settle()
    pair.ib.answer(13, pair.now)
    pair.settle()
    pair.ib.group_block(12, 4, pair.now, hardware=hardware)
    pair.settle()
    assert I.MaintenanceAck("CGB", (12, 13, 14, 15)) in pair.events["b"]
    assert all(pair.ia.blocked(n)[1] == {kind} for n in range(12, 16))
    assert (pair.ia.state(13) == I.IDLE) == hardware  # hardware blocking clears calls, maintenance not
    pair.ib.group_block(12, 4, pair.now, hardware=hardware, unblock=True)
    pair.settle()
    assert all(pair.ia.blocked(n) == (set(), set()) and pair.ib.blocked(n) == (set(), set()) for n in range(12, 16))


def test_unrecognised_message_gets_confusion_and_call_survives(pair):
    pair.ia.call(1, "1", "", pair.now)
    pair.settle()
    pair.b.isup(1).outgoing.append((1, bytes.fromhex("0100ee00")))
    pair.settle()
    notices = pair.of("a", I.ProtocolNotice)
    assert any("confusion sent" in n.text for n in notices)
    assert pair.ia.state(1) == I.OUT_IAM


def test_unrecognised_parameter_with_release_instruction_releases_the_call(pair):
    pair.ia.call(1, "1", "", pair.now)
    pair.settle()
    acm = IsupMessage("ACM", 1, {"backward_call_indicators": {"charge": 2},
                                 "parameter_compatibility_information": {"entries": [{"code": 0xFA, "release_call": 1}]},
                                 "unknown_0xfa": {"data": b"\x01"}})
    pair.b.isup(1).outgoing.append((1, encode_isup(acm)))
    pair.settle()
    assert I.Released(1, 99, "remote") in pair.events["b"]
    assert pair.ia.state(1) == I.IDLE


def test_unexpected_answer_on_idle_circuit_resets_it(pair):
    pair.b.isup(1).outgoing.append((1, encode_isup(IsupMessage("ANM", 20, {}))))
    pair.settle()
    assert I.MaintenanceAck("RSC", (20,)) in pair.events["a"]
    assert pair.ia.state(20) == I.IDLE


ISUP_TYPES = [0x01, 0x06, 0x07, 0x09, 0x0C, 0x10, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B,
              0x29, 0x2A, 0x2C, 0x0D, 0x0E, 0x05, 0x02, 0xEE]


@settings(max_examples=25)
@given(st.lists(st.tuples(st.integers(1, 6), st.sampled_from(ISUP_TYPES), st.binary(max_size=24)),
                min_size=1, max_size=12))
def test_fuzzed_isup_keeps_link_up_and_no_circuit_stuck(msgs):
    pair = SpPair(cics=6, isup_timers=FAST, step=0.002).up()
    for cic, mtype, body in msgs:
        pair.b.isup(1).outgoing.append((cic, bytes([cic, 0, mtype]) + body))
    pair.settle(0.1)
    assert pair.a.mtp3.route_available(2)
    # every circuit the fuzz touched recovers to idle once the far end resets the whole group
    pair.ib.group_reset(1, 6, pair.now)
    pair.ib.group_block(1, 6, pair.now, unblock=True)
    for n in range(1, 7):
        pair.ib.unblock(n, pair.now) if pair.ib.blocked(n)[0] else None
    pair.step = 0.005
    pair.run(3.5)
    for n in range(1, 7):
        assert pair.ia.state(n) == I.IDLE, n
        assert pair.ia.blocked(n)[1] == frozenset(), n
        assert pair.ia.next_deadline() is None or all(
            name in ("T12", "T13", "T14", "T15") for (_, name) in pair.ia.deadlines.keys())


def test_information_messages_reach_the_call(pair):
    pair.ia.call(8, "1", "", pair.now)
    pair.settle()
    pair.b.isup(1).outgoing.append((8, encode_isup(IsupMessage(
        "INR", 8, {"information_request_indicators": {"calling_party_address": 1}}))))
    pair.settle()
    assert [e.kind for e in pair.of("a", I.CallProgress)] == ["INR"]


def test_no_calls_while_the_destination_is_unreachable(pair):
    pair.a.stop_link(0, pair.now)
    with pytest.raises(LocalProtocolError):
        pair.ia.call(1, "1", "", pair.now)
    pair.a.mtp3.links[0].mtp2.start(pair.now)
    assert pair.run(5, until=lambda: pair.ia.available)
    pair.ia.call(1, "1", "", pair.now)


def test_continuity_check_required_waits_for_cot_and_t8_releases():
    from dataclasses import replace
    pair = SpPair(isup_timers=replace(FAST, T7=5.0, T8=0.5)).up()
    nci = {"nature_of_connection_indicators": {"continuity_check": 1}}
    pair.ia.call(21, "777", "", pair.now, extra=nci)
    pair.settle()
    assert pair.ib.state(21) == I.IN_COT and not pair.of("b", I.IncomingCall)
    pair.a.isup(2).outgoing.append((5, encode_isup(IsupMessage("COT", 21, {"continuity_indicators": {"continuity": 1}}))))
    pair.settle()
    assert [e.cic for e in pair.of("b", I.IncomingCall)] == [21]
    pair.ia.call(22, "778", "", pair.now, extra=nci)
    pair.run(1.0)  # no COT: T8 (0.5 s here) releases the seizure
    assert I.CallFailed(22, "T8 expired") in pair.events["b"]
    assert pair.ia.state(22) == pair.ib.state(22) == I.IDLE


def test_t9_releases_when_nobody_answers_and_t6_after_network_suspend(pair):
    pair.ia.call(23, "1", "", pair.now)
    pair.settle()
    pair.ib.alert(23, pair.now)
    pair.run(2.2)  # T9 is 2 s here
    assert I.CallFailed(23, "T9 expired") in pair.events["a"]
    assert pair.ia.state(23) == pair.ib.state(23) == I.IDLE
    pair.ia.call(24, "1", "", pair.now)
    pair.settle()
    pair.ib.answer(24, pair.now)
    pair.settle()
    pair.ib.suspend(24, pair.now, network=True)
    pair.settle()
    assert I.Suspended(24, True) in pair.events["a"]
    pair.run(1.2)  # T6 (1 s here) without RES: the call is released
    assert I.CallFailed(24, "T6 expired") in pair.events["a"]
    assert pair.ia.state(24) == pair.ib.state(24) == I.IDLE


def test_unrecognised_parameter_discard_message_with_notification_and_plain_discard(pair):
    pair.ia.call(9, "1", "", pair.now)
    pair.settle()
    acm = IsupMessage("ACM", 9, {"backward_call_indicators": {"charge": 2},
                                 "parameter_compatibility_information": {"entries": [
                                     {"code": 0xFB, "discard_message": 1, "send_notification": 1}]},
                                 "unknown_0xfb": {"data": b"\x01"}})
    pair.b.isup(1).outgoing.append((9, encode_isup(acm)))
    pair.settle()
    assert pair.ia.state(9) == I.OUT_IAM  # ACM discarded
    assert any("confusion, cause 99" in e.text for e in pair.of("b", I.ProtocolNotice))
    plain = IsupMessage("ACM", 9, {"backward_call_indicators": {"charge": 2}, "unknown_0xfc": {"data": b"\x02"}})
    pair.b.isup(1).outgoing.append((9, encode_isup(plain)))
    pair.settle()
    assert pair.ia.state(9) == I.OUT_ACM  # parameter dropped, message handled
    (progress,) = pair.of("a", I.CallProgress)
    assert "unknown_0xfc" not in progress.message.params


def test_application_sends_inr_and_answers_inf(pair):
    pair.ia.call(10, "1", "", pair.now)
    pair.settle()
    pair.ib.send_in_call(IsupMessage("INR", 10, {"information_request_indicators": {"calling_party_address": 1}}))
    pair.settle()
    pair.ia.send_in_call(IsupMessage("INF", 10, {"information_indicators": {"calling_party_address_response": 3},
                                                 "calling_party_number": {"digits": "2025550100"}}))
    pair.settle()
    (inf,) = [e for e in pair.of("b", I.CallProgress) if e.kind == "INF"]
    assert inf.message.params["calling_party_number"]["digits"] == "2025550100"
    with pytest.raises(LocalProtocolError):
        pair.ia.send_in_call(IsupMessage("RLC", 10, {}))
    with pytest.raises(LocalProtocolError):
        pair.ia.send_in_call(IsupMessage("INF", 11, {"information_indicators": {}}))


def test_transitions_missing_from_the_table_are_protocol_notices(pair):
    pair.ia.call(12, "1", "", pair.now)
    pair.settle()
    pair.ib.answer(12, pair.now)
    pair.settle()
    pair.events = {"a": [], "b": []}
    pair.b.isup(1).outgoing.append((12, encode_isup(IsupMessage("ACM", 12, {"backward_call_indicators": {}}))))
    pair.settle()
    assert pair.events["a"] == [I.ProtocolNotice(12, "unexpected ACM in state answered discarded")]
    assert pair.ia.state(12) == I.ANSWERED
    # a call message on an idle circuit resets it (Q.764 2.9.5.1)
    pair.b.isup(1).outgoing.append((13, encode_isup(IsupMessage("ANM", 13, {}))))
    pair.settle()
    assert I.ProtocolNotice(13, "unexpected ANM on idle circuit: reset") in pair.events["a"]
    assert I.MaintenanceAck("RSC", (13,)) in pair.events["a"]
    assert ("answered", "ACM") not in I._TRANSITIONS and ("idle", "REL") in I._TRANSITIONS
