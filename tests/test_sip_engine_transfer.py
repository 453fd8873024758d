"""REFER acted on (blind transfer, RFC 3515): a SIP phone talking to a caller refers them elsewhere; the
caller is moved to the target (the router's script for a number, or a phone registered here), the
referring phone gets NOTIFY 200 and its leg is cleared, and the call keeps one CDR with nothing left behind.
A target nobody routes gets NOTIFY 404 and the two keep talking."""
from engine_sip_rig import Phone, put_through, run, tone
from test_sip_engine import rig  # noqa: F401 - the fixture is shared


def _progress(phone):
    return [(e.status, e.final) for e in phone.events if type(e).__name__ == "TransferProgress"]


def _setup(rig, accounts=None):
    build, keep = rig
    eng, trunk = build(accounts=accounts or {"agent1": "s3cret", "agent2": "s3cret"})
    seen = {"ivr": 0}

    front = put_through("sip/agent1")  # 100: the caller is answered and put through to agent1's phone

    async def ivr(call):  # 200: what a transferred caller reaches
        seen["ivr"] += 1
        await call.play(tone(900, 1.0))
        got = await call.collect(max_digits=1, terminator="", first_timeout=5.0)
        seen["digits"] = got.digits
        await call.hangup()

    eng.router = lambda leg: {"100": front, "200": ivr}.get(leg.called)
    agent = Phone("agent1", auth=("agent1", "s3cret"))
    caller = Phone("2025550100")
    keep(agent)
    keep(caller)
    agent.register(trunk.address, eng.now / 8000)
    assert run(eng, 2.0, agent, until=lambda: "Registered" in agent.kinds())
    caller.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 3.0, caller, agent, until=lambda: "CallConfirmed" in agent.kinds())
    return eng, trunk, agent, caller, seen


def test_a_phone_refers_its_caller_to_the_ivr_and_leaves(rig):
    eng, trunk, agent, caller, seen = _setup(rig)
    run(eng, 0.5, caller, agent)
    agent._run(agent.ua.refer(agent.call_id, "sip:200@127.0.0.1", eng.now / 8000))
    assert run(eng, 2.0, caller, agent, until=lambda: "CallEnded" in agent.kinds())
    assert (200, True) in _progress(agent)  # NOTIFY sipfrag: 100 Trying, then 200 OK (subscription over)
    assert seen["ivr"] == 1
    start = len(caller.heard)
    run(eng, 1.2, caller)
    assert caller.loud_ms() > 0 and len(caller.heard) > start  # the IVR's prompt reached the caller
    caller.press("3")
    assert run(eng, 3.0, caller, until=lambda: "CallEnded" in caller.kinds())
    run(eng, 1.0, caller, until=lambda: not eng.legs)
    assert seen["digits"] == "3"
    assert sum(1 for line in eng.log_lines if " call_ended " in line) == 1  # one call, one CDR
    assert any(" sip_transfer " in line for line in eng.log_lines)
    assert not eng.legs and not eng.calls and eng.leaks() == []


def test_a_phone_refers_its_caller_to_another_phone(rig):
    _, keep = rig
    eng, trunk, agent, caller, _ = _setup(rig)
    agent2 = Phone("agent2", auth=("agent2", "s3cret"))
    keep(agent2)
    agent2.register(trunk.address, eng.now / 8000)
    assert run(eng, 2.0, agent2, caller, agent, until=lambda: "Registered" in agent2.kinds())
    agent._run(agent.ua.refer(agent.call_id, "sip:agent2@127.0.0.1", eng.now / 8000))
    assert run(eng, 3.0, caller, agent, agent2, until=lambda: "CallConfirmed" in agent2.kinds())
    assert run(eng, 1.0, caller, agent, agent2, until=lambda: "CallEnded" in agent.kinds())
    start = len(agent2.heard)
    caller.say(tone(700, 1.0))
    run(eng, 1.2, caller, agent2)
    assert len(agent2.heard) > start and agent2.loud_ms() >= 400  # caller and agent2 talk
    caller.hang_up(eng.now / 8000)
    assert run(eng, 2.0, caller, agent2, until=lambda: not eng.legs)
    assert "CallEnded" in agent2.kinds()
    assert sum(1 for line in eng.log_lines if " call_ended " in line) == 1
    assert eng.leaks() == []


def test_a_refer_to_a_number_nobody_routes_gets_404_and_the_call_goes_on(rig):
    eng, trunk, agent, caller, seen = _setup(rig)
    agent._run(agent.ua.refer(agent.call_id, "sip:999@127.0.0.1", eng.now / 8000))
    assert run(eng, 2.0, caller, agent, until=lambda: any(final for _, final in _progress(agent)))
    assert (404, True) in _progress(agent)
    assert "CallEnded" not in agent.kinds() and len(eng.legs) == 2
    start = len(agent.heard)
    caller.say(tone(700, 1.0))
    run(eng, 1.2, caller, agent)
    assert agent.loud_ms() >= 400 and len(agent.heard) > start  # still talking
    caller.hang_up(eng.now / 8000)
    assert run(eng, 2.0, caller, agent, until=lambda: not eng.legs)
    assert eng.leaks() == []
