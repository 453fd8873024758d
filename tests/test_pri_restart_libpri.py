"""libpri 1.6 as the network side of a starting centre: the centre's RESTART of the whole interface (Q.931
5.5) when the D-channel first comes up is one libpri acknowledges; calls libpri places afterwards are taken."""
import pytest
from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once

from test_isdn_libpri import libpri  # noqa: F401 - the peer, or a skip naming why it is unavailable
from test_pri_overlap import Overlap
from test_pri_overlap_libpri import LibpriNetwork

pytestmark = pytest.mark.peer


def test_libpri_acknowledges_the_centres_restart_at_start(tmp_path, prompt_cache, libpri):
    o = Overlap(tmp_path, prompt_cache, pstn=lambda board: LibpriNetwork(board, libpri))
    try:
        net = o.net
        assert o.go(3.0, until=lambda: o.logged("pri_restart_done"))
        assert [line.split(" ", 1)[1] for line in o.logged("pri_restart_done")] == ["pri_restart_done ok=True span=1"]
        assert len(o.logged("pri_restart")) == 1
        assert net.of("RESTART")  # libpri saw the restart (and answered it: ok=True above)
        trunk = o.centre.engine.adapters[0]
        assert trunk.iface.out_of_service == set() and trunk.idle_line() is not None
        net.pri.setup("401", "2025550100", channel=1, complete=True)
        assert o.go(3.0, until=lambda: net.of("HANGUP_REQ"))
        # taken: CALL PROCEEDING, then the route's script (it hangs up at once) clears it normally
        assert net.of("PROCEEDING") and [e["cause"] for e in net.of("HANGUP_REQ")] == [16]
    finally:
        o.close()
