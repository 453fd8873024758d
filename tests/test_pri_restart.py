"""RESTART at start (Q.931 5.5): a centre that starts knows no B-channel's state, so when a PRI span's D-channel
first comes up it restarts the interface ([centre] pri_restart = "interface", the default) and takes no call on
it until RESTART ACKNOWLEDGE. Meanwhile a SETUP is refused as for a channel not available (44 exclusive, 34
preferred with no other free); a RESTART never acknowledged leaves the channels out of service (5.5.1).
Judged on the Q.931 pair, the emulated PSTN and (in test_pri_restart_libpri.py) libpri's network side."""
from dataclasses import replace

import pytest
from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once

from engine_rig import pri_engine
from isdn_pair import Pair
from pycallcenter.isdn import call as cc
from test_isdn_call import deafen, sent_messages
from test_pri_overlap import Overlap


def _restarting_pair():
    """Return a started pair whose user side restarted the interface and whose network has not answered yet."""
    p = Pair().start()
    real = p.net._message
    deafen(p.net)
    p.add(p.user, p.user.restart(p.now))
    p.pump(until=p.now + 0.1)
    p.net._message = real
    return p


@pytest.mark.parametrize("exclusive, cause", [(True, 44), (False, 34)])
def test_no_call_is_accepted_on_a_channel_being_restarted(exclusive, cause):
    p = _restarting_pair()
    assert p.user.out_of_service == set(p.user.variant.channels)
    call = p.net.setup(p.now, "100", "200", channel=3, exclusive=exclusive)
    p.pump(until=p.now + 0.1)
    assert p.take("net", cc.CallEnded).cause == cause and call.state == cc.NULL
    assert not p.of("user", cc.IncomingCall)


def test_calls_are_taken_again_once_the_restart_is_acknowledged():
    p = _restarting_pair()
    p.add(p.user, p.user.restart(p.now))  # the repeat T316 would send; this one the network hears
    p.pump(until=p.now + 0.1)
    assert p.take("user", cc.RestartAcknowledged).ok
    assert p.user.out_of_service == set() and p.user.restart_blocked == set()
    p.net.setup(p.now, "100", "200", channel=3, exclusive=True)
    p.pump(until=p.now + 0.1)
    assert p.take("user", cc.IncomingCall).channel == 3


def test_channels_stay_out_of_service_when_the_restart_is_never_acknowledged():
    p = Pair("ni2").start()
    p.user.out_of_service.add(4)  # taken out by the network's SERVICE before: not ours to give back
    deafen(p.net)
    p.add(p.user, p.user.restart(p.now))
    p.pump(until=p.now + 400)
    assert len([m for m in sent_messages(p, "user") if m.name == "RESTART"]) == 3
    assert p.take("user", cc.RestartAcknowledged).ok is False
    assert p.user.out_of_service == set(p.user.variant.channels)  # until a maintenance action
    assert p.user._free_channel() is None


def test_the_centre_restarts_its_pri_span_once_at_start_on_the_emulator(tmp_path, prompt_cache):
    o = Overlap(tmp_path, prompt_cache)  # ticks 1 s: the D-channel comes up
    try:
        assert [line.split(" ", 1)[1] for line in o.logged("pri_restart") + o.logged("pri_restart_done")] == [
            "pri_restart span=1", "pri_restart_done ok=True span=1"]
        restarts = [e for e in o.net.events if isinstance(e, cc.RestartReceived)]
        assert [e.channels for e in restarts] == [None]  # the whole interface, once
        assert o.centre.engine.adapters[0].iface.out_of_service == set()
        call = o.dial("2001")  # calls go through afterwards
        assert call.state != cc.NULL
    finally:
        o.close()


def test_pri_restart_off_sends_none(tmp_path, prompt_cache):
    o = Overlap(tmp_path, prompt_cache, centre_keys='pri_restart = "off"')
    try:
        assert o.logged("pri_restart") == []
        assert not [e for e in o.net.events if isinstance(e, cc.RestartReceived)]
    finally:
        o.close()


def test_a_restart_left_unanswered_is_sent_again_when_the_link_comes_back_but_no_other():
    # the channels an unanswered RESTART took out of service would otherwise stay out for good
    eng, net = pri_engine()
    trunk = eng.adapters[0]
    trunk.restart_at_start = True
    trunk.iface.timers = replace(trunk.iface.timers, T316=1.0)
    real = net.iface._message
    deafen(net.iface)
    eng.run(seconds=5.0)
    assert _restarts(eng) == ["pri_restart", "pri_restart_done ok=False"] and trunk.idle_line() is None
    net.iface._message = real
    for outage in range(2):  # the first link up after the pull restarts, the second (all known) does not
        eng.board.emulator.pull_cable(1)
        eng.run(seconds=3.0)
        eng.board.emulator.reconnect(1)
        eng.run(seconds=3.0)
    assert _restarts(eng) == ["pri_restart", "pri_restart_done ok=False", "pri_restart", "pri_restart_done ok=True"]
    assert trunk.idle_line() is not None


def _restarts(eng):
    return [" ".join(w for w in line.split()[1:] if not w.startswith("span=")) for line in eng.log_lines
            if line.split()[1] in ("pri_restart", "pri_restart_done")]
