"""Simulated PSTN callers on analog lines into FXO ports (pycallcenter.sim.fxo): ring with caller ID, the
centre answers, DTMF reaches the IVR, and the call clears from either end, by loop current drop or by
the exchange's busy tone; a far end that vanishes mid-call leaves no stuck leg. Then the soak's FXO lines
and its fxo_line_drop fault."""
import re

import pytest

from engine_rig import analog_engine
from pycallcenter.apps import soak
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.sim.fxo import REUSE_GAP, FxoSimulator
from pycallcenter.sim.pstn import Caller


def _run(eng, sim, seconds, until=None):
    for _ in range(int(seconds * SAMPLE_RATE / eng.board.blocksize)):
        sim.tick(eng.now)
        eng.tick()
        if until is not None and until():
            return True
    return False


def _rig(clearing, script):
    eng, _ = analog_engine()
    sim = FxoSimulator(eng.board, ["pstn3", "pstn4"], plan="us", clearing=clearing)
    eng.router = lambda leg: script if leg.tech == "fxo" else None
    return eng, sim


@pytest.mark.parametrize("clearing", ["loop", "tone"])
def test_a_caller_rings_in_with_caller_id_presses_a_digit_and_hangs_up(clearing):
    got = []

    async def script(call):
        await call.answer()
        digits, _ = await call.collect(max_digits=1, first_timeout=10.0)
        got.append((call.caller, digits))
        await call.wait(60.0)  # the caller leaves first

    eng, sim = _rig(clearing, script)
    caller = Caller("2025550147", "", 0.0, digits="2", digit_delay=2.0, patience=8.0)
    sim.add(caller)
    assert _run(eng, sim, 40.0, until=lambda: caller.ended is not None and not eng.legs)
    assert got == [("2025550147", "2")]
    assert caller.answered is not None and caller.abandoned  # no agent: they gave up after their patience
    ended = [line for line in eng.log_lines if " ended " in line]
    assert len(ended) == 1 and "cause=16" in ended[0]
    # how the port learnt of it: loop current drop at once; busy tone takes a few cadences to recognise
    took = caller.ended - caller.answered - caller.patience
    assert (took < 2.0) if clearing == "loop" else (1.0 < took < 10.0), took
    assert not eng.calls and not eng.leaks() and sim.line_state("pstn3") == "idle"


def test_the_centre_clearing_ends_the_caller_and_frees_the_line():
    async def script(call):
        await call.answer()
        await call.wait(2.0)
        await call.hangup()

    eng, sim = _rig("loop", script)
    first, second = Caller("2025550101", "", 0.0, patience=60.0), Caller("2025550102", "", 0.1, patience=60.0)
    sim.add(first)
    sim.add(second)  # the other line takes the second caller at the same time
    assert _run(eng, sim, 40.0, until=lambda: first.ended is not None and second.ended is not None)
    assert [c.log[-1][1] for c in (first, second)] == ["ended: cleared by the centre"] * 2
    assert not first.abandoned and first.cause == 16
    _run(eng, sim, REUSE_GAP)  # the lines rest a moment after a call
    assert not eng.calls and not eng.leaks()
    third = Caller("2025550103", "", eng.now / SAMPLE_RATE, patience=60.0)
    fourth = Caller("2025550104", "", eng.now / SAMPLE_RATE, patience=60.0)
    fifth = Caller("2025550105", "", eng.now / SAMPLE_RATE, patience=60.0)
    for c in (third, fourth, fifth):
        sim.add(c)
    assert _run(eng, sim, 40.0, until=lambda: third.ended is not None and fourth.ended is not None)
    assert fifth.refused and third.answered is not None and fourth.answered is not None  # two lines, three callers


def test_a_call_refused_while_it_rings_rings_out_and_is_offered_once():
    """An analog line cannot refuse a call: refused (here by overload control, cause 34), it rings on,
    ignored, until the caller gives up; it is not offered again at every ring cycle."""
    from pycallcenter.engine.admission import Admission

    async def script(call):
        await call.answer()

    eng, sim = _rig("loop", script)
    eng.admission = Admission(max_calls=1)
    eng.new_call(eng.new_leg(eng.adapters[0], 1, "in"))  # a call already up fills the centre (max_calls 1)
    caller = Caller("2025550111", "", 0.0, patience=60.0)
    sim.add(caller)
    assert _run(eng, sim, 60.0, until=lambda: caller.ended is not None)
    assert caller.answered is None and caller.log[-1][1] == "ended: gave up ringing"
    offered = [line for line in eng.log_lines if " offered " in line and "tech=fxo" in line]
    assert len(offered) == 1 and eng.admission.refused["capacity"] == 1
    _run(eng, sim, 10.0)  # the port's ring timer returns the line to idle
    assert eng.adapters[1].lines[3].state == "idle"
    for call in list(eng.calls.values()):
        for leg in call.legs:
            eng.leg_ended(leg, 16, eng.now)
    assert not eng.calls and not eng.leaks()


@pytest.mark.parametrize("clearing", ["loop", "tone"])
def test_a_far_end_that_vanishes_mid_call_leaves_no_stuck_leg(clearing):
    async def script(call):
        await call.answer()
        await call.wait(600.0)  # an IVR that would hold the line for ten minutes

    eng, sim = _rig(clearing, script)
    caller = Caller("2025550199", "", 0.0, patience=600.0)
    sim.add(caller)
    assert _run(eng, sim, 30.0, until=lambda: sim.connected() == ["pstn3"])
    _run(eng, sim, 3.0)
    assert sim.vanish("pstn3", eng.now / SAMPLE_RATE) is caller
    assert sim.vanish("pstn4", eng.now / SAMPLE_RATE) is None  # nothing up there
    assert _run(eng, sim, 15.0, until=lambda: not eng.legs and sim.line_state("pstn3") == "idle")
    assert not eng.calls and not eng.leaks() and sim.vanished == 1
    assert caller.log[-1][1] == "ended: vanished"


def test_a_short_soak_takes_fxo_callers_and_recovers_the_line_drops(tmp_path):
    settings = soak.SoakSettings(hours=0.07, spans=1, agents=6, ss7_links=0, fxo_lines=4, faults=3,
                                 kinds=("fxo_line_drop",), data_dir=str(tmp_path))
    r = soak.run(settings, stream=None)
    assert r["violations"] == []
    drops = [f for f in r["fault_log"] if f["kind"] == "fxo_line_drop"]
    assert len(drops) >= 2, r["fault_log"]
    assert all("vanished" in f["note"] and "the centre cleared after" in f["note"] for f in drops), drops
    assert {"(by loop)", "(by tone)"} <= {re.search(r"\(by \w+\)", f["note"]).group(0) for f in drops}
    fxo = r["calls"]["placed_by_span"][str(soak.fxo_span(settings))]
    assert fxo >= 2
    assert r["cdrs"] == r["calls"]["ended_in_engine"]
