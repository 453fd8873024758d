"""AIS on an SS7 span (the soak's `ais` fault): the emulated exchange's side of the span has failed, so it
sends all ones, no signal unit on that span's link, and hardware-blocks the span's circuits (CGB) as the
centre does in its blue alarm; the link changes over to the other span's, whose calls go on; when AIS
stops, both ends unblock (CGU) and the link returns."""
from test_sim_ss7 import _log, _rig, _run

from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.sim.pstn import Caller


def test_ais_from_the_exchange_blocks_the_spans_circuits_both_ways_and_changes_over():
    board, eng, trunk, exchange, pstns = _rig()
    now = _run(eng, 2.0)
    callers = [Caller(f"202555010{n}", "5000", now, talk=600.0, patience=600.0) for n in (1, 2)]
    for pstn, caller in zip(pstns, callers):  # one call on each span
        pstn.add(caller)
    _run(eng, 1.0)
    legs = sorted(eng.legs.values(), key=lambda leg: leg.cic)
    assert [leg.state for leg in legs] == [C.ANSWERED] * 2 and legs[0].cic < 32 < legs[1].cic
    span2 = [cic for cic in trunk.cics if cic > 32]

    board.emulator.set_ais(2)  # blue alarm at the centre; the exchange knows it sends AIS
    _run(eng, 3.0)
    assert legs[1].state == C.ENDED and legs[1].cause == C.TEMPORARY_FAILURE
    assert legs[0].state == C.ANSWERED  # the other span's call goes on over the changed-over link
    assert _log(eng, "ss7_span_alarm") and not _log(eng, "ss7_route_down")
    assert trunk.links_up() == [0] and exchange.links_up() == [0]
    for cic in span2:  # blocked by both ends, each acknowledged over link 0
        assert trunk.isup.blocked(cic) == ({"hardware"}, {"hardware"})
        assert exchange.isup.blocked(cic) == ({"hardware"}, {"hardware"})
    assert not trunk.isup._group and not exchange.isup._group
    assert exchange.interface(2).pop_frames() == []  # all ones on the span: no signal unit goes out

    board.emulator.set_ais(2, False)
    _run(eng, 4.0)
    assert _log(eng, "ss7_span_clear") and trunk.links_up() == [0, 1] and exchange.links_up() == [0, 1]
    assert not any(any(trunk.isup.blocked(cic)) or any(exchange.isup.blocked(cic)) for cic in trunk.cics)
    assert not trunk.isup._group and not exchange.isup._group
    assert legs[0].state == C.ANSWERED
    pstns[0]._hangup(next(iter(pstns[0].active)), callers[0], eng.now / SAMPLE_RATE, "done")
    _run(eng, 1.0)
    assert not eng.legs and not exchange.calls and not eng.leaks()
