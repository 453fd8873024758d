"""MTP3 (Q.704/Q.707) back to back: SLTM/SLTA, TRA, load sharing, changeover/changeback, TFP/TFA."""
from pycallcenter.ss7 import mtp3
from pycallcenter.ss7 import mtp3_codec as M
from ss7_wire import Mtp3Pair


def up(pair):
    pair.start()
    assert pair.run(5, until=lambda: all(pair.a.available_links(2) == list(pair.a.links) and
                                         pair.b.available_links(1) == list(pair.b.links) for _ in [0]))
    return pair


def test_link_test_then_tra_then_route_available():
    pair = up(Mtp3Pair())
    assert pair.events["a"][:2] == [mtp3.LinkAvailable(0), mtp3.RouteAvailable(2)]
    pair.run(0.1)
    assert mtp3.TrafficRestartAllowed(2) in pair.events["a"]


def test_user_data_is_load_shared_by_sls_and_arrives_in_order_per_sls():
    pair = up(Mtp3Pair(nlinks=2))
    used = set()
    for sls in range(16):
        assert pair.a.send(M.SI_ISUP, 2, sls, bytes([sls, 1, 2]))
        used.add(pair.a.available_links(2)[sls % 2])
    pair.run(0.2)
    got = [e for e in pair.events["b"] if isinstance(e, mtp3.UserData)]
    assert sorted(e.sls for e in got) == list(range(16))
    assert all(e.opc == 1 and e.dpc == 2 and e.si == M.SI_ISUP and e.data[0] == e.sls for e in got)
    assert used == {0, 1}


def test_changeover_keeps_every_msu_when_a_link_fails_and_changeback_restores_it():
    pair = up(Mtp3Pair(nlinks=2))
    for i in range(60):
        pair.a.send(M.SI_ISUP, 2, i % 16, bytes([i]))
    pair.run(0.01)
    pair.cut.add(1)  # link 1 goes silent: T7 takes it down, COO/COA move traffic to link 0
    pair.run(3)
    got = sorted(e.data[0] for e in pair.events["b"] if isinstance(e, mtp3.UserData))
    assert got == list(range(60))
    assert mtp3.LinkUnavailable(1, "T7 expired") in pair.events["a"]
    assert pair.a.available_links(2) == [0] and pair.a.route_available(2)
    pair.cut.clear()
    assert pair.run(10, until=lambda: pair.a.available_links(2) == [0, 1])
    assert not pair.a.links[1].changed_over


def test_all_links_down_makes_the_route_unavailable():
    pair = up(Mtp3Pair())
    pair.a.stop_link(0, pair.now)
    assert mtp3.RouteUnavailable(2) in pair.events["a"] or not pair.a.route_available(2)
    assert not pair.a.send(M.SI_ISUP, 2, 0, b"x")


def test_tfp_and_tfa_change_route_availability():
    pair = up(Mtp3Pair())
    pair.a.add_route(77, 2)
    link = pair.b.links[0]
    pair.b._send_mgmt(link, M.SI_SNM, "TFP", destination=77)
    pair.run(0.05)
    assert mtp3.RouteUnavailable(77) in pair.events["a"] and not pair.a.route_available(77)
    pair.b._send_mgmt(link, M.SI_SNM, "TFA", destination=77)
    pair.run(0.05)
    assert pair.a.route_available(77)


def test_ansi_variant_aligns_and_carries_data():
    pair = up(Mtp3Pair(variant="ansi"))
    pair.a.send(M.SI_ISUP, 2, 200, b"\x01\x02")
    pair.run(0.05)
    assert mtp3.UserData(M.SI_ISUP, 1, 2, 200, b"\x01\x02") in pair.events["b"]


def test_processor_outage_diverts_traffic_and_recovery_brings_the_link_back():
    pair = up(Mtp3Pair(nlinks=2))
    pair.b.links[1].mtp2.set_local_processor_outage(True)
    pair.run(0.05)
    assert mtp3.LinkUnavailable(1, "remote processor outage") in pair.events["a"]
    for i in range(8):
        assert pair.a.send(M.SI_ISUP, 2, i, bytes([i]))
    pair.run(0.1)
    assert sorted(e.data[0] for e in pair.events["b"] if isinstance(e, mtp3.UserData)) == list(range(8))
    pair.b.links[1].mtp2.set_local_processor_outage(False)
    assert pair.run(2, until=lambda: pair.a.available_links(2) == [0, 1])
