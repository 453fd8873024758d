"""ISUP automatic repeat attempt (Q.764 2.10.1.4): a seizure lost before ACM moves to another circuit."""
from pycallcenter.ss7 import isup as I
from ss7_wire import SpPair
from test_ss7_continuity import FAST


def repeating_pair():
    pair = SpPair(isup_timers=FAST).up()
    pair.ia.repeat_attempts = True
    return pair


def test_dual_seizure_loser_repeats_on_a_circuit_it_controls():
    pair = repeating_pair()
    pair.ia.call(4, "111", "", pair.now)  # pc 2 (b) controls even CICs: a loses CIC 4
    pair.ib.call(4, "222", "", pair.now)
    pair.settle()
    (rep,) = pair.of("a", I.RepeatAttempt)
    assert (rep.cic, rep.reason) == (4, "dual seizure") and rep.new_cic % 2 == 1  # a controls odd CICs
    assert not pair.of("a", I.CallFailed)
    assert [e.called for e in pair.of("b", I.IncomingCall)] == ["111"]
    assert pair.of("b", I.IncomingCall)[0].cic == rep.new_cic
    assert pair.ia.state(rep.new_cic) == I.OUT_IAM and pair.ia.state(4) == I.IN_IAM


def test_without_repeat_attempts_the_caller_gets_call_failed():
    pair = SpPair(isup_timers=FAST).up()
    pair.ia.call(4, "111", "", pair.now)
    pair.ib.call(4, "222", "", pair.now)
    pair.settle()
    assert I.CallFailed(4, "dual seizure") in pair.events["a"] and not pair.of("a", I.RepeatAttempt)


def test_blocking_before_acm_repeats_elsewhere_and_keeps_the_call_parameters():
    pair = repeating_pair()
    pair.ia.call(9, "5551234", "100", pair.now)
    pair.ib.block(9, pair.now)  # crosses our IAM
    pair.settle()
    (rep,) = pair.of("a", I.RepeatAttempt)
    assert rep.cic == 9 and rep.new_cic != 9
    calls = [e for e in pair.of("b", I.IncomingCall) if e.cic == rep.new_cic]
    assert [(e.called, e.calling) for e in calls] == [("5551234", "100")]


def test_continuity_failure_repeats_with_a_new_check_and_rechecks_the_old_circuit():
    pair = repeating_pair()
    pair.ia.call(13, "1", "", pair.now, continuity=True)
    pair.settle()
    events = pair.ia.continuity_result(13, False, pair.now)
    (rep,) = [e for e in events if isinstance(e, I.RepeatAttempt)]
    assert I.ContinuityCheck(rep.new_cic, "tone") in events
    assert pair.ia.state(13) == I.COT_TESTING
    pair.ia.continuity_result(rep.new_cic, True, pair.now)
    pair.settle()
    assert [e.cic for e in pair.of("b", I.IncomingCall)] == [rep.new_cic]


def test_no_free_circuit_means_call_failed():
    pair = SpPair(cics=2, isup_timers=FAST).up()
    pair.ia.repeat_attempts = True
    pair.ib.call(1, "9", "", pair.now)
    pair.settle()
    pair.ia.call(2, "111", "", pair.now)
    pair.ib.call(2, "222", "", pair.now)
    pair.settle()
    assert I.CallFailed(2, "dual seizure") in pair.events["a"]
