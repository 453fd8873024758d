"""Against libss7 2.0 (Debian libss7-dev): MTP2 alignment, MTP3 link test and TRA, ISUP calls and maintenance."""
import pytest

from pycallcenter.ss7 import mtp2, mtp3
from pycallcenter.ss7.su import decode_su


@pytest.fixture(scope="module")
def libss7():
    from peers import PeerUnavailable, libss7 as peer
    try:
        peer.load()
    except PeerUnavailable as exc:
        pytest.skip(str(exc))
    return peer


@pytest.fixture(scope="module")
def link_up(libss7):
    """Return make(variant): one aligned link per variant, shared by the tests of this module (each test uses
    its own CICs), because libss7 takes about a second of real time to align."""
    from ss7_libss7 import Libss7Link
    made = {}

    def make(variant="itu"):
        link = made.get(variant)
        if link is None:
            link = made[variant] = Libss7Link(libss7, variant)
            link.start()
            up = lambda: any(e["e"] == link.peer.lib.SS7_EVENT_UP for e in link.peer_events)
            assert link.run(6, until=lambda: up() and link.mtp3.route_available(2))
        link.drop_in = link.drop_out = None
        assert link.mtp3.route_available(2)
        return link

    yield make
    for link in made.values():
        link.close()


@pytest.mark.parametrize("variant", ["itu", "ansi"])
def test_alignment_link_test_and_tra_with_libss7(link_up, variant):
    link = link_up(variant)
    assert mtp3.LinkAvailable(0) in link.our_events
    link.run(0.3, until=lambda: mtp3.TrafficRestartAllowed(2) in link.our_events)
    assert mtp3.TrafficRestartAllowed(2) in link.our_events
    assert link.mtp3.links[0].mtp2.state == mtp2.IN_SERVICE


def test_we_send_sios_before_start_and_libss7_aligns_after(libss7):
    from ss7_libss7 import Libss7Link
    link = Libss7Link(libss7)
    try:
        link.peer.start()  # our side not started yet: we must answer with SIOS (Q.781 test 1.1)
        link.run(0.1)
        ours = link.mtp3.pull(0, link.now())
        assert decode_su(ours)[0]["status"] == "SIOS"
        link.mtp3.start(link.now())
        assert link.run(6, until=lambda: link.mtp3.route_available(2))
    finally:
        link.close()


from pycallcenter.ss7 import isup as I  # noqa: E402


@pytest.mark.parametrize("variant", ["itu", "ansi"])
def test_call_from_us_to_libss7(link_up, variant):
    link = link_up(variant)
    link.isup.call(1, "5551234", "2025550100", link.now())
    iam = link.wait_peer("IAM", cic=1)
    assert (iam["called"], iam["calling"], iam["opc"]) == ("5551234", "2025550100", 1)
    link.peer.send("acm", 1)
    assert link.wait_ours(lambda e: isinstance(e, I.CallProgress)).kind == "ACM"
    link.peer.send("anm", 1)
    link.wait_ours(lambda e: e == I.Answered(1))
    link.isup.release(1, link.now(), cause=16)
    assert link.wait_peer("REL", cic=1)["cause"] == 16
    link.peer.send("rlc", 1)
    link.wait_ours(lambda e: e == I.Released(1, 16, "local"))
    assert link.isup.state(1) == I.IDLE


@pytest.mark.parametrize("variant", ["itu", "ansi"])
def test_call_from_libss7_to_us(link_up, variant):
    link = link_up(variant)
    link.peer.iam(2, "5551234", "2025550100")
    inc = link.wait_ours(lambda e: isinstance(e, I.IncomingCall))
    assert (inc.cic, inc.called, inc.calling) == (2, "5551234", "2025550100")
    link.isup.alert(2, link.now())
    link.wait_peer("ACM", cic=2)
    link.isup.answer(2, link.now())
    link.wait_peer("ANM", cic=2)
    link.peer.send("rel", 2, 16)
    link.wait_ours(lambda e: e == I.Released(2, 16, "remote"))
    link.wait_peer("RLC", cic=2)
    assert link.isup.state(2) == I.IDLE


@pytest.mark.parametrize("variant", ["itu", "ansi"])
def test_group_reset_both_ways(link_up, variant):
    link = link_up(variant)
    link.peer.send_range("grs", 11, 14)
    ev = link.wait_peer("GRA", cic=11)
    assert (ev["endcic"], ev["status"]) == (14, [0, 0, 0, 0])
    link.isup.group_reset(15, 4, link.now())
    ev = link.wait_peer("GRS", cic=15)
    assert ev["endcic"] == 18
    link.peer.send_range("gra", 15, 18, [0, 0, 0, 0])
    link.wait_ours(lambda e: e == I.MaintenanceAck("GRS", (15, 16, 17, 18)))


@pytest.mark.parametrize("variant", ["itu", "ansi"])
def test_circuit_group_blocking_both_ways(link_up, variant):
    link = link_up(variant)
    link.isup.group_block(19, 3, link.now())
    ev = link.wait_peer("CGB", cic=19)
    assert (ev["endcic"], ev["status"][:3]) == (21, [1, 1, 1])
    link.peer.send_range("cgba", 19, 21, [1, 1, 1])
    link.wait_ours(lambda e: e == I.MaintenanceAck("CGB", (19, 20, 21)))
    assert link.isup.blocked(20)[0] == {"maintenance"}
    link.isup.group_block(19, 3, link.now(), unblock=True)
    link.wait_peer("CGU", cic=19)
    link.peer.send_range("cgua", 19, 21, [1, 1, 1])
    link.wait_ours(lambda e: e == I.MaintenanceAck("CGU", (19, 20, 21)))
    assert link.isup.blocked(20) == (set(), set())
    link.peer.send_range("cgb", 22, 24, [1, 1, 1], 0)
    link.wait_peer("CGBA", cic=22)
    assert link.isup.blocked(23)[1] == {"maintenance"}
    link.peer.send_range("cgu", 22, 24, [1, 1, 1], 0)
    link.wait_peer("CGUA", cic=22)
    assert link.isup.blocked(23) == (set(), set())


@pytest.mark.parametrize("variant", ["itu", "ansi"])
def test_blocking_and_reset_both_ways(link_up, variant):
    link = link_up(variant)
    link.peer.send("blo", 25)
    link.wait_peer("BLA", cic=25)
    assert link.isup.blocked(25)[1] == {"maintenance"}
    link.peer.send("ubl", 25)
    link.wait_peer("UBA", cic=25)
    link.isup.block(26, link.now())
    link.wait_peer("BLO", cic=26)
    link.peer.send("bla", 26)
    link.wait_ours(lambda e: e == I.MaintenanceAck("BLO", (26,)))
    link.isup.unblock(26, link.now())
    link.wait_peer("UBL", cic=26)
    link.peer.send("uba", 26)
    link.wait_ours(lambda e: e == I.MaintenanceAck("UBL", (26,)))
    link.peer.send("rsc", 27)
    link.wait_peer("RLC", cic=27)
    link.isup.reset(28, link.now())
    link.wait_peer("RSC", cic=28)
    link.peer.send("rlc", 28)
    link.wait_ours(lambda e: e == I.MaintenanceAck("RSC", (28,)))


def _drop_first_isup():
    """Return a filter that drops the first ISUP MSU it sees (once)."""
    done = []

    def drop(su):
        if not done and len(su) > 3 and su[2] & 0x3F > 2 and su[3] & 0x0F == 5:
            done.append(su)
            return True
        return False
    drop.done = done
    return drop


def test_error_correction_with_libss7_both_directions(link_up):
    link = link_up()
    link.drop_out = _drop_first_isup()  # our IAM is lost once: libss7's BSN/BIB asks us to send it again
    link.isup.call(30, "123", "456", link.now())
    assert link.wait_peer("IAM", cic=30, seconds=3)["called"] == "123"
    assert link.drop_out.done
    link.drop_in = _drop_first_isup()  # libss7's ACM is lost once: our negative acknowledgement recovers it
    link.peer.send("acm", 30)
    link.wait_ours(lambda e: isinstance(e, I.CallProgress) and e.cic == 30, seconds=3)
    assert link.drop_in.done
    assert link.mtp3.links[0].mtp2.state == mtp2.IN_SERVICE


def test_our_stop_sends_sios_libss7_drops_the_link_and_we_realign(libss7):
    from ss7_libss7 import Libss7Link
    link = Libss7Link(libss7)
    try:
        link.start()
        lib = link.peer.lib
        assert link.run(6, until=lambda: link.mtp3.route_available(2))
        link.mtp3.stop_link(0, link.now())
        assert decode_su(link.mtp3.pull(0, link.now()))[0]["status"] == "SIOS"
        assert link.run(2, until=lambda: any(e["e"] in (lib.SS7_EVENT_DOWN, lib.MTP2_LINK_DOWN)
                                             for e in link.peer_events))
        assert not link.mtp3.route_available(2)
        link.mtp3.links[0].mtp2.start(link.now())
        assert link.run(6, until=lambda: link.mtp3.route_available(2))
    finally:
        link.close()


def test_changeover_and_changeback_with_libss7_on_two_links(libss7):
    from pycallcenter.ss7 import mtp3_codec as M
    from ss7_libss7 import Libss7Link
    link = Libss7Link(libss7, links=2)
    try:
        link.start()
        assert link.run(6, until=lambda: link.mtp3.available_links(2) == [0, 1])

        def snm(name):
            heading = M.SNM_HEADING[name]
            return [su for su in link.received if len(su) > 9 and su[3] & 0x0F == M.SI_SNM
                    and (su[8] & 0x0F, su[8] >> 4) == heading]

        link.sp.stop_link(1, link.now())  # our SIOS takes libss7's link 1 down; COO/COA on link 0
        assert link.run(2, until=lambda: snm("COO") or snm("COA"))
        link.isup.call(1, "5551234", "", link.now())  # CIC 1 -> SLS 1 -> now carried by link 0
        assert link.wait_peer("IAM", cic=1)["called"] == "5551234"
        cbd_before = len(snm("CBD"))
        link.mtp3.links[1].mtp2.start(link.now())
        assert link.run(6, until=lambda: link.mtp3.available_links(2) == [0, 1])
        # libss7 declares its own changeback (CBD, which we answer with CBA); it leaves ours unanswered,
        # so our side changes back when T4 expires, as Q.704 6.4 allows
        assert len(snm("CBD")) > cbd_before
    finally:
        link.close()


def test_we_start_first_and_libss7_joins_later(libss7):
    from ss7_libss7 import Libss7Link
    link = Libss7Link(libss7)
    try:
        link.peer_paused = True  # libss7 not running yet: we keep sending SIO (T2 runs)
        link.sp.start(link.now())
        link.run(0.3)
        assert decode_su(link.mtp3.pull(0, link.now()))[0]["status"] == "SIO"
        link.peer_paused = False
        link.peer.start()
        assert link.run(6, until=lambda: link.mtp3.route_available(2))
    finally:
        link.close()


@pytest.mark.parametrize("variant", ["itu", "ansi"])
def test_continuity_check_with_libss7(link_up, variant):
    link = link_up(variant)
    assert link.isup.call(3, "5551234", "100", link.now(), continuity=True) == [I.ContinuityCheck(3, "tone")]
    iam = link.wait_peer("IAM", cic=3)
    assert iam["ints"][3] == 1  # cot_check_required
    link.isup.continuity_result(3, True, link.now())
    assert link.wait_peer("COT", cic=3)["ints"][2] == 1  # passed
    link.peer.send("acm", 3)
    link.wait_ours(lambda e: isinstance(e, I.CallProgress) and e.cic == 3)
    link.isup.release(3, link.now())
    link.wait_peer("REL", cic=3)
    link.peer.send("rlc", 3)
    link.wait_ours(lambda e: e == I.Released(3, 16, "local"))
    # a maintenance check: CCR, libss7 acknowledges the loop with LPA, our tone passes, REL/RLC frees the circuit
    assert link.isup.continuity_check(4, link.now()) == [I.ContinuityCheck(4, "tone")]
    link.wait_peer("CCR", cic=4)
    link.peer_lpa(4)
    at = 10 if variant == "itu" else 13  # message type after SIO, routing label and CIC
    assert link.run(0.5, until=lambda: any(len(su) > at and su[3] & 0x0F == 5 and su[at] == 0x24
                                           for su in link.received))
    assert not [e for e in link.our_events if isinstance(e, I.ProtocolNotice) and e.cic == 4]
    link.isup.continuity_result(4, True, link.now())
    assert link.wait_peer("REL", cic=4)["cause"] == 16
    link.peer.send("rlc", 4)
    link.wait_ours(lambda e: isinstance(e, I.Released) and e.cic == 4)
    assert link.isup.state(4) == I.IDLE


def test_link_inhibiting_with_libss7(libss7):
    from ss7_libss7 import Libss7Link
    link = Libss7Link(libss7, links=2)
    try:
        link.start()
        assert link.run(6, until=lambda: link.mtp3.available_links(2) == [0, 1])
        link.mtp3.inhibit(1, link.now())  # libss7 grants with LIA
        link.wait_ours(lambda e: e == mtp3.LinkInhibited(1, "local", True))
        fsn = link.mtp3.links[1].mtp2.fsn
        link.isup.call(1, "5551234", "", link.now())  # SLS 1 would use link 1: goes over link 0 now
        assert link.wait_peer("IAM", cic=1)["called"] == "5551234"
        assert link.mtp3.links[1].mtp2.fsn == fsn
        link.mtp3.uninhibit(1, link.now())  # and lifts it with LUA
        link.wait_ours(lambda e: e == mtp3.LinkInhibited(1, "local", False))
        assert link.mtp3.available_links(2) == [0, 1]
    finally:
        link.close()
