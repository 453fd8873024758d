"""MTP3 (Q.704 10, 13) back to back: management inhibiting (LIN/LIA/LUN/LUA/LID/LFU) and TFC."""
import pytest

from pycallcenter.errors import LocalProtocolError
from pycallcenter.ss7 import mtp3
from pycallcenter.ss7 import mtp3_codec as M
from ss7_wire import Mtp3Pair


def up(variant="itu"):
    pair = Mtp3Pair(nlinks=2, variant=variant)
    pair.start()
    assert pair.run(5, until=lambda: pair.a.available_links(2) == [0, 1] and pair.b.available_links(1) == [0, 1])
    pair.run(0.1)
    pair.events = {"a": [], "b": []}
    return pair


def fsn(pair, side, slc):
    return getattr(pair, side).links[slc].mtp2.fsn


@pytest.mark.parametrize("variant", ["itu", "ansi"])
def test_inhibit_moves_user_traffic_off_the_link_and_uninhibit_brings_it_back(variant):
    pair = up(variant)
    pair.a.inhibit(1, pair.now)
    pair.run(0.05)
    assert mtp3.LinkInhibited(1, "local", True) in pair.events["a"]
    assert mtp3.LinkInhibited(1, "remote", True) in pair.events["b"]
    assert pair.a.available_links(2) == [0] and pair.b.available_links(1) == [0]
    before = fsn(pair, "a", 1), fsn(pair, "b", 1)
    for sls in range(16):
        assert pair.a.send(M.SI_ISUP, 2, sls, bytes([sls, 0, 1])) and pair.b.send(M.SI_ISUP, 1, sls, bytes([sls]))
    pair.run(0.1)
    assert (fsn(pair, "a", 1), fsn(pair, "b", 1)) == before  # nothing went over the inhibited link
    assert len([e for e in pair.events["b"] if isinstance(e, mtp3.UserData)]) == 16
    assert pair.a.links[1].mtp2.state == "in_service"  # inhibited, not taken down
    pair.events = {"a": [], "b": []}
    pair.a.uninhibit(1, pair.now)
    pair.run(0.05)
    assert mtp3.LinkInhibited(1, "local", False) in pair.events["a"]
    assert mtp3.LinkInhibited(1, "remote", False) in pair.events["b"]
    assert pair.a.available_links(2) == [0, 1] and pair.b.available_links(1) == [0, 1]


def test_inhibiting_the_last_link_is_refused_here_and_denied_there():
    pair = up()
    pair.b.inhibit(1, pair.now)
    pair.run(0.05)
    with pytest.raises(LocalProtocolError):
        pair.a.inhibit(0, pair.now)
    # asked anyway (as a peer that does not check would), the far end answers LID
    pair.a._send_mgmt(pair.a.links[0], M.SI_SNM, "LIN")
    pair.a.deadlines.start(0, "T14", pair.now + 2)
    pair.run(0.05)
    assert mtp3.InhibitDenied(0) in pair.events["a"]
    assert pair.b.available_links(1) == [0]


def test_unanswered_lin_is_repeated_after_t14():
    pair = up()
    drop = {"n": 0}
    real = pair.b._inhibiting

    def ignore_first_lin(via, link, name, now):  # the far end's level 3 loses it (MTP2 would resend a lost SU)
        if name == "LIN" and not drop["n"]:
            drop["n"] += 1
            return []
        return real(via, link, name, now)
    pair.b._inhibiting = ignore_first_lin
    pair.a.inhibit(1, pair.now)
    pair.run(1.0)
    assert drop["n"] == 1 and mtp3.LinkInhibited(1, "local", True) not in pair.events["a"]
    pair.run(1.5)  # T14 (2 s) sends LIN again
    assert mtp3.LinkInhibited(1, "local", True) in pair.events["a"]


def test_failure_of_the_other_link_uninhibits_the_inhibited_one():
    pair = up()
    pair.b.inhibit(1, pair.now)  # remotely inhibited at a
    pair.run(0.05)
    pair.a.stop_link(0, pair.now)  # a loses its only uninhibited link: LFU makes b uninhibit
    pair.run(0.2)
    assert mtp3.LinkInhibited(1, "local", False) in pair.events["b"]
    assert pair.a.available_links(2) == [1] and pair.a.route_available(2)


@pytest.mark.parametrize("variant", ["itu", "ansi"])
def test_tfc_reports_route_congestion(variant):
    pair = up(variant)
    pair.b._send_mgmt(pair.b.links[0], M.SI_SNM, "TFC", destination=7, congestion=2)
    pair.run(0.05)
    assert mtp3.RouteCongestion(7, 2) in pair.events["a"]
