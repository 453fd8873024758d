"""ISUP continuity check (Q.764 2.1.8) back to back: COT after IAM, CCR re-checks under T24/T25/T26/T27, LPA."""
import pytest

from pycallcenter.errors import LocalProtocolError
from pycallcenter.ss7 import isup as I
from pycallcenter.ss7.timers import IsupTimers
from ss7_wire import SpPair

FAST = IsupTimers(T1=0.5, T5=3.0, T7=1.0, T8=1.0, T16=0.5, T17=3.0, T24=0.2, T25=0.3, T26=0.6, T27=1.5, T36=1.0)
CHECKS = (I.ContinuityCheck, I.ContinuityOutcome, I.IncomingCall, I.CallFailed, I.Released)


def seen(pair, side):
    """Return side's continuity-related events and clear them."""
    out = [e for e in pair.events[side] if isinstance(e, CHECKS)]
    pair.events[side] = []
    return out


@pytest.fixture
def pair():
    return SpPair(isup_timers=FAST).up()


def test_call_with_continuity_check_passing(pair):
    assert pair.ia.call(7, "5551234", "100", pair.now, continuity=True) == [I.ContinuityCheck(7, "tone")]
    pair.settle()
    assert seen(pair, "b") == [I.ContinuityCheck(7, "loop")]  # no IncomingCall before COT
    assert pair.ib.state(7) == I.IN_COT
    events = pair.ia.continuity_result(7, True, pair.now)
    assert events == [I.ContinuityCheck(7, "remove"), I.ContinuityOutcome(7, True, "local")]
    pair.settle()
    b = seen(pair, "b")
    assert b[:2] == [I.ContinuityCheck(7, "remove"), I.ContinuityOutcome(7, True, "remote")]
    assert isinstance(b[2], I.IncomingCall) and b[2].called == "5551234"
    pair.ib.answer(7, pair.now)
    pair.settle()
    assert pair.ia.state(7) == pair.ib.state(7) == I.ANSWERED


def test_failed_check_fails_the_call_and_a_recheck_passes_with_ccr_then_rel(pair):
    pair.ia.call(8, "1", "", pair.now, continuity=True)
    pair.settle()
    seen(pair, "b")
    events = pair.ia.continuity_result(8, False, pair.now)
    assert I.CallFailed(8, "continuity check failed") in events
    pair.settle()
    assert seen(pair, "b") == [I.ContinuityCheck(8, "remove"), I.ContinuityOutcome(8, False, "remote")]
    assert (pair.ia.state(8), pair.ib.state(8)) == (I.COT_TESTING, I.COT_WAIT_CCR)
    pair.run(0.35)  # T25: CCR, our tone on, the far end loops
    assert seen(pair, "a") == [I.ContinuityCheck(8, "tone")]
    assert seen(pair, "b") == [I.ContinuityCheck(8, "loop")]
    assert pair.ib.state(8) == I.COT_LOOPED
    pair.ia.continuity_result(8, True, pair.now)
    pair.settle()
    assert seen(pair, "b") == [I.ContinuityCheck(8, "remove"), I.ContinuityOutcome(8, True, "remote")]
    assert pair.ia.state(8) == pair.ib.state(8) == I.IDLE
    assert pair.ia.next_deadline() is None and pair.ib.next_deadline() is None
    pair.ia.call(8, "1", "", pair.now)  # usable again


def test_t24_counts_as_failure_and_rechecks_repeat_every_t26_until_reset(pair):
    assert pair.ia.call(9, "1", "", pair.now, continuity=True) == [I.ContinuityCheck(9, "tone")]
    pair.run(0.25)  # nobody reports the tone: T24
    a = seen(pair, "a")
    assert a[:2] == [I.ContinuityCheck(9, "remove"), I.ContinuityOutcome(9, False, "local")]
    assert I.CallFailed(9, "continuity check failed") in a
    pair.run(0.3 + 0.2 + 0.6 + 0.2 + 0.05)  # T25, T24 fails again, T26, T24 fails again
    tones = [e for e in seen(pair, "a") if e == I.ContinuityCheck(9, "tone")]
    assert len(tones) == 2
    assert pair.ib.state(9) in (I.COT_WAIT_CCR, I.COT_LOOPED)
    pair.ia.reset(9, pair.now)
    pair.settle()
    assert pair.ia.state(9) == pair.ib.state(9) == I.IDLE
    assert pair.ia.next_deadline() is None and pair.ib.next_deadline() is None


def test_no_ccr_within_t27_resets_the_circuit(pair):
    pair.ia.call(10, "1", "", pair.now, continuity=True)
    pair.settle()
    pair.ia.continuity_result(10, False, pair.now)
    pair.settle()
    pair.ia.circuits[10].state = I.IDLE  # our side gives up re-checking, so no CCR comes
    pair.ia._stop_all(10)
    pair.events = {"a": [], "b": []}
    pair.run(1.6)
    assert I.CircuitReset(10) in pair.events["a"]
    assert pair.ib.state(10) == I.IDLE


def test_maintenance_continuity_check_on_an_idle_circuit_ansi_with_lpa():
    pair = SpPair(isup_timers=FAST, variant="ansi").up()
    assert pair.ia.continuity_check(11, pair.now) == [I.ContinuityCheck(11, "tone")]
    pair.settle()
    assert seen(pair, "b") == [I.ContinuityCheck(11, "loop")]
    assert not [e for e in pair.events["a"] if isinstance(e, I.ProtocolNotice)]  # LPA taken quietly
    pair.ia.continuity_result(11, True, pair.now)
    pair.settle()
    assert pair.ia.state(11) == pair.ib.state(11) == I.IDLE
    with pytest.raises(LocalProtocolError):
        pair.ia.continuity_result(11, True, pair.now)


def test_check_on_a_previous_circuit_waits_for_cot_without_a_loop(pair):
    noci = {"nature_of_connection_indicators": {"satellite": 0, "continuity_check": 2, "echo_control_device": 0}}
    pair.ia.call(12, "77", "", pair.now, extra=noci)
    pair.settle()
    assert seen(pair, "b") == [] and pair.ib.state(12) == I.IN_COT
    pair.ia.release(12, pair.now)
    pair.settle()
    assert seen(pair, "b") == [I.Released(12, 16, "remote")]


def test_t8_expiry_takes_the_loop_off(pair):
    pair.ia.call(13, "1", "", pair.now, continuity=True)
    pair.ia.receive = lambda data, now: []
    pair.run(1.1)
    assert seen(pair, "b")[:2] == [I.ContinuityCheck(13, "loop"), I.ContinuityCheck(13, "remove")]


def test_far_end_release_during_the_check_takes_our_tone_off(pair):
    pair.ia.call(14, "1", "", pair.now, continuity=True)
    pair.settle()
    assert pair.ib.release(14, pair.now) == [I.ContinuityCheck(14, "remove")]
    pair.settle()
    assert seen(pair, "a") == [I.ContinuityCheck(14, "remove"), I.Released(14, 16, "remote")]
    assert seen(pair, "b") == [I.ContinuityCheck(14, "loop"), I.Released(14, 16, "local")]
