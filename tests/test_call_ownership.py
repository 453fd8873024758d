"""No call outlives its script: when a call's last script ends, every leg it owns that is still up is
cleared with a Q.850 cause; legs a keeper took over (a pair handed off, the ACD's agent legs, the
station's) stay with their keeper. Engine.leaks() and Engine.shutdown() say what was left behind."""
import textwrap

import pytest

from engine_rig import analog_engine, hang_up, pri_engine
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.isdn import call as q


def _pri_call(eng, net, script, channel=5):
    """Bring the D-channel up, route the network's SETUP on `channel` to script; return the leg."""
    offered = []
    eng.router = lambda leg: offered.append(leg) or script
    eng.run(seconds=1.0)
    net.iface.setup(eng.now / SAMPLE_RATE, called="5000", calling="2025550100", channel=channel)
    eng.run(seconds=0.5)
    (leg,) = offered
    return leg


def _network_clearing(net):
    """Return the causes of the DISCONNECTs the network received (Disconnected events)."""
    return [ev.cause for ev in net.events if isinstance(ev, q.Disconnected)]


def test_a_script_that_returns_without_hanging_up_clears_the_callers_pri_leg_with_normal_clearing():
    eng, net = pri_engine()

    async def script(call):
        await call.answer()
        await call.wait(1.0)
        return "done"  # no hangup(): the caller must not stay on a silent line

    leg = _pri_call(eng, net, script)
    assert leg.state == C.ANSWERED
    eng.run(seconds=2.0)
    assert not leg.active and leg.cause == C.NORMAL_CLEARING
    assert _network_clearing(net) == [C.NORMAL_CLEARING] and net.kinds()[-1] == "CallEnded"
    trunk = eng.adapter("pri1")
    assert not trunk.busy and not trunk.iface.calls  # the B-channel is free again
    assert "release call=C1 cause=16 legs=L1" in "\n".join(eng.log_lines)
    assert eng.leaks() == []


def test_when_the_agent_hangs_up_the_caller_is_cleared_as_the_script_ends():
    # the demo's lost call: the script bridged the caller to a phone and returned when the phone hung up
    eng, ends = analog_engine()

    async def script(call):
        await call.answer()
        d = await call.dial("channel/2", timeout=10)
        await call.bridge(d.leg)

    eng.router = lambda leg: script if leg.tech == "fxo" else None
    line, bob = ends["pstn3"], ends["bob"]
    line.call("2025550123", "JANE DOE")
    assert eng.run(seconds=15.0, until=lambda: bob.ringing) and bob.ringing
    bob.off_hook()
    eng.run(seconds=1.0)
    caller = next(l for l in eng.legs.values() if l.tech == "fxo")
    assert caller.state == C.ANSWERED and line.off_hook
    bob.on_hook()
    eng.run(seconds=2.0)  # an on-hook shorter than 1.25 s would be a flash
    assert not caller.active and caller.cause == C.NORMAL_CLEARING
    assert not line.off_hook  # our port went back on hook: the trunk is free
    assert not eng.legs and not eng.calls and eng.leaks() == []


def test_a_pair_handed_off_stays_up_after_the_script_returns_and_clears_together():
    eng, ends = analog_engine()

    async def script(call):
        d = await call.dial("channel/2", timeout=10)
        await call.hand_off(d.leg)  # the explicit way to leave a conversation behind

    eng.router = lambda leg: script if leg.channel == 1 else None
    alice, bob = ends["alice"], ends["bob"]
    alice.off_hook()
    eng.run(seconds=1.0)
    bob.off_hook()
    eng.run(seconds=1.0)
    a, b = sorted(eng.legs.values(), key=lambda l: l.channel)
    assert not eng.scheduler.tasks and a.call.scripts == []  # the script is over...
    assert a.state == b.state == C.ANSWERED and eng.media.listeners_of(a.row) == [b.row]  # ...they talk on
    assert eng.leaks() == [f"leg {a.id} (fxs, channel 1, call C1) is still answered",
                           f"leg {b.id} (fxs, channel 2, call C1) is still answered"]
    bob.on_hook()
    eng.run(seconds=2.0)  # an on-hook shorter than 1.25 s would be a flash
    assert not a.active and a.cause == C.NORMAL_CLEARING  # one hangs up: the engine clears the other
    assert not eng.legs and eng.leaks() == []
    hang_up(eng, alice)


@pytest.mark.parametrize("fallback, cause", [(False, C.NORMAL_UNSPECIFIED), (True, C.NORMAL_CLEARING)])
def test_a_script_that_raises_is_cleared_after_it_or_after_its_fallback(fallback, cause):
    eng, net = pri_engine()
    ran = []

    async def broken(call):
        await call.answer()
        raise RuntimeError("bug")

    async def goodbye(call):
        ran.append(call.id)
        await call.wait(0.5)  # returns without hanging up, like the script it replaced

    eng.fallback = goodbye if fallback else None
    leg = _pri_call(eng, net, broken)
    eng.run(seconds=2.0)
    assert ran == (["C1"] if fallback else [])
    assert not leg.active and _network_clearing(net) == [cause]
    assert [cid for cid, _ in eng.errors] == ["C1"] and eng.leaks() == []


@pytest.mark.leaves_calls  # on purpose: it checks what shutdown() reports
def test_leaks_name_what_a_stopped_engine_still_holds_and_shutdown_clears_it():
    eng, net = pri_engine()

    async def script(call):
        await call.answer()
        await call.wait(300)

    leg = _pri_call(eng, net, script)
    left = eng.leaks()
    assert left == [f"leg {leg.id} (pri, channel 5, call C1) is still answered",
                    "task C1:script is still waiting on _Wait"]
    assert eng.shutdown() == left  # what it found when it began
    assert not eng.legs and eng.leaks() == [] and eng.closed
    assert net.kinds()[-1] == "CallEnded" and _network_clearing(net) == [C.NORMAL_CLEARING]
    assert eng.shutdown() == left  # once is enough
    eng2, net2 = pri_engine()
    eng2.run(seconds=1.0)
    assert eng2.shutdown() == [] and eng2.leaks() == []


def test_a_leg_clearing_when_the_engine_stops_is_not_a_leak():
    eng, net = pri_engine()

    async def script(call):
        await call.answer()
        await call.wait(1.0)
        await call.hangup()

    leg = _pri_call(eng, net, script)
    serve, net.far.handler = net.far.handler, lambda far, now: None  # the network stops answering
    eng.run(seconds=1.0)
    assert leg.active and leg.clearing and eng.leaks() == []  # our DISCONNECT waits for an answer (T305)
    net.far.handler = serve
    assert eng.shutdown() == [] and not leg.active and net.kinds()[-1] == "CallEnded"


CHILD = '''
from engine_rig import analog_engine


def _alice_calls():
    eng, ends = analog_engine()

    async def script(call):
        await call.wait(60)

    eng.router = lambda leg: script
    ends["alice"].off_hook()
    eng.run(seconds=1.0)
    return eng, ends["alice"]


def test_leaves_a_call_up():
    _alice_calls()


def test_ends_its_call():
    eng, alice = _alice_calls()
    alice.on_hook()
    eng.run(seconds=2.0)
'''


def test_the_suite_fails_a_test_that_leaves_a_call_up(tmp_path):
    import os
    import subprocess
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    (tmp_path / "conftest.py").write_text(open(os.path.join(here, "conftest.py")).read())
    (tmp_path / "test_child.py").write_text(textwrap.dedent(CHILD))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rE", "test_child.py"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = run.stdout
    assert run.returncode == 1 and "2 passed, 1 error" in out, out
    assert "ERROR at teardown of test_leaves_a_call_up" in out and "test_ends_its_call" not in out.split("ERRORS")[1]
    assert "leg L1 (fxs, channel 1, call C1) is still answered" in out
    assert "task C1:script is still waiting on _Wait" in out


def test_leaks_see_the_boards_own_state_a_seized_trunk_and_a_ringing_phone():
    eng, ends = analog_engine()
    eng.run(seconds=0.5)
    eng.board.channel(3).hook("off")  # our FXO port seized with no call on it
    eng.board.channel(1).ring(True)  # and a phone rung for nobody
    eng.run(seconds=0.5)
    assert eng.leaks() == ["channel 1 is ringing with no call on it", "channel 3 is off hook with no call on it"]
    eng.board.channel(3).hook("on")
    eng.board.channel(1).ring(False)
    assert eng.leaks() == []


def test_leaks_see_acd_agents_ringing_and_calls_in_queue():
    from pycallcenter.acd.config import build_on_engine

    eng, net = pri_engine()
    cfg = {"queue": [{"name": "sales", "ring_timeout": 30}],
           "agent": [{"name": "ann", "contact": "pri1/2025550300", "queues": {"sales": 0}}]}
    binding = build_on_engine(eng, cfg)

    async def script(call):
        from pycallcenter.acd.engine_binding import queue_call

        await call.answer()
        await queue_call(call, "sales")

    leg = _pri_call(eng, net, script, channel=3)
    eng.run(seconds=1.0)  # the agent's outside line is being set up: ann is reserved for the caller
    agent_leg = binding.agent_leg["ann"]
    assert agent_leg.keeper is binding and agent_leg.call is leg.call
    found = eng.leaks()
    assert "ACD agent ann is still ringing (call C1)" in found and "ACD call C1 is still offered in queue sales" in found
    for call in list(net.iface.calls.values()):  # the caller gives up: the ACD cancels the agent's line
        if call.channel == 3:
            net.events += net.iface.hangup(call, eng.now / SAMPLE_RATE)
    eng.run(seconds=2.0)
    assert not eng.legs and eng.leaks() == [] and binding.acd.agents["ann"].state == "ready"
