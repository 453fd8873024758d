"""ISUP signalling congestion control (Q.764 2.11) driven by MTP3's TFC and link congestion (SIB)."""
import pytest

from pycallcenter.errors import LocalProtocolError
from pycallcenter.ss7 import isup as I
from pycallcenter.ss7 import mtp3_codec as M
from pycallcenter.ss7.timers import IsupTimers
from ss7_wire import SpPair

TIMERS = IsupTimers(T29=0.3, T30=1.0)


def tfc(pair):
    link = pair.b.mtp3.links[0]
    pair.b.mtp3._send_mgmt(link, M.SI_SNM, "TFC", destination=2, congestion=1)


def admitted(isup, cics, now):
    ok = 0
    for cic in cics:
        try:
            isup.call(cic, "1", "", now)
            ok += 1
        except LocalProtocolError:
            pass
    return ok


def test_tfc_reduces_new_calls_step_by_step_and_t30_restores_them():
    pair = SpPair(isup_timers=TIMERS).up()
    tfc(pair)
    pair.settle()
    assert pair.of("a", I.TrafficLoad) == [I.TrafficLoad(0.75)]
    assert admitted(pair.ia, range(1, 9), pair.now) == 6
    tfc(pair)  # within T29: the same episode
    pair.settle()
    assert pair.ia.traffic_share == 0.75
    pair.run(0.3)
    tfc(pair)
    pair.settle()
    assert pair.ia.traffic_share == 0.5
    assert admitted(pair.ia, range(11, 19), pair.now) == 4
    pair.events["a"] = []
    pair.run(2.1)  # two T30 periods without congestion: back to full load
    assert pair.of("a", I.TrafficLoad) == [I.TrafficLoad(0.75), I.TrafficLoad(1.0)]
    assert admitted(pair.ia, range(21, 25), pair.now) == 4


def test_sib_on_the_link_counts_as_congestion_towards_the_adjacent_point():
    pair = SpPair(isup_timers=TIMERS).up()
    pair.b.mtp3.links[0].mtp2.congested(True)
    pair.ia.call(1, "1", "", pair.now)
    pair.run(0.3)
    assert I.TrafficLoad(0.75) in pair.events["a"]
    pair.b.mtp3.links[0].mtp2.congested(False)
    pair.run(0.1)
    assert pair.of("b", I.IncomingCall)


@pytest.mark.parametrize("steps", [1, 2, 3, 5])
def test_share_never_drops_below_a_quarter(steps):
    isup = I.Isup(1, 2, range(1, 3), timers=TIMERS)
    for k in range(steps):
        isup.mtp_congestion(k * 0.5)
    assert isup.traffic_share == max(1 - 0.25 * steps, 0.25)
