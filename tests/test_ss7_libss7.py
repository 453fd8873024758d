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


@pytest.fixture
def link_up(libss7):
    from ss7_libss7 import Libss7Link
    made = []

    def make(variant="itu"):
        link = Libss7Link(libss7, variant)
        made.append(link)
        link.start()
        up = lambda: any(e["e"] == link.peer.lib.SS7_EVENT_UP for e in link.peer_events)
        assert link.run(6, until=lambda: up() and link.mtp3.route_available(2))
        return link

    yield make
    for link in made:
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
