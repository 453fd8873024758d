"""Attended transfer acted on by the engine (RFC 3515 REFER with an RFC 3891 Replaces), and an INVITE with
Replaces taking a leg's place, judged by our own phones over loopback (tests/engine_sip_rig.py).

An agent's phone talks to a caller, puts them on hold, consults agent2 through the centre, then REFERs the
caller's call with Replaces naming the consultation: the caller and agent2 talk, the agent's two calls are
cleared with NOTIFY 200 first, each call writes one CDR (the caller's notes the transfer) and nothing is
left. A second device sending an INVITE with Replaces takes the agent's place beside the caller."""
from engine_sip_rig import Phone, hear_each_other, put_through, run
from test_sip_engine import rig  # noqa: F401 - the fixture is shared


class _Ended:
    """An engine listener keeping every call that ended (its vars and legs, for the CDR checks)."""

    def __init__(self):
        self.calls = []

    def on_call_ended(self, call):
        self.calls.append(call)


def _progress(phone):
    return [(e.status, e.final) for e in phone.events if type(e).__name__ == "TransferProgress"]


def _ended(phone, call_id):
    return [e for e in phone.events if type(e).__name__ == "CallEnded" and e.call_id == call_id]


def _setup(rig):
    """A caller on 100 put through to agent1's phone; 'agent2' rings agent2's phone (the consultation)."""
    build, keep = rig
    eng, trunk = build(accounts={"agent1": "s3cret", "agent2": "s3cret"})

    routes = {"100": put_through("sip/agent1"), "agent2": put_through("sip/agent2")}
    eng.router = lambda leg: routes.get(leg.called)
    ended = _Ended()
    eng.listeners.append(ended)
    agent, agent2, caller = (Phone("agent1", auth=("agent1", "s3cret")), Phone("agent2", auth=("agent2", "s3cret")),
                             Phone("2025550100"))
    for p in (agent, agent2, caller):
        keep(p)
    for p in (agent, agent2):
        p.register(trunk.address, eng.now / 8000)
    assert run(eng, 2.0, agent, agent2, until=lambda: agent.kinds().count("Registered") == 1 ==
               agent2.kinds().count("Registered"))
    caller.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 3.0, caller, agent, until=lambda: "CallConfirmed" in agent.kinds())
    return eng, trunk, agent, agent2, caller, ended


def _talk(eng, a, b):
    """Return True when phones a and b hear each other (engine_sip_rig.hear_each_other)."""
    return hear_each_other(a, b, lambda seconds, *phones: run(eng, seconds, *phones))


def _consult(eng, trunk, agent, agent2, caller):
    """The agent holds the caller and calls agent2 through the centre; return (first Call-ID, consultation's)."""
    first = agent.call_id
    agent._run(agent.ua.hold(first, eng.now / 8000))
    assert run(eng, 1.0, agent, caller, until=lambda: any(" sip_reinvite " in line for line in eng.log_lines))
    second = agent.call("sip:agent2@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 3.0, agent, agent2, caller, until=lambda: "CallConfirmed" in agent2.kinds())
    assert run(eng, 1.0, agent, agent2, caller, until=lambda: agent.ua.dialogs[second].state == "confirmed")
    return first, second


def test_an_agent_transfers_the_caller_to_the_consulted_party_and_leaves(rig):
    eng, trunk, agent, agent2, caller, ended = _setup(rig)
    first, second = _consult(eng, trunk, agent, agent2, caller)
    agent._run(agent.ua.refer(first, "sip:agent2@127.0.0.1", eng.now / 8000, replaces=second))
    assert run(eng, 2.0, agent, agent2, caller, until=lambda: _ended(agent, first) and _ended(agent, second))
    assert (200, True) in _progress(agent)  # NOTIFY sipfrag 200, the subscription over
    assert _ended(agent, first)[0].by == "remote" and _ended(agent, second)[0].by == "remote"  # BYE on both
    assert "CallEnded" not in caller.kinds() and "CallEnded" not in agent2.kinds()
    assert _talk(eng, caller, agent2)  # the caller and agent2 hear each other
    assert len(ended.calls) == 1  # the consultation is over; the caller's call goes on
    consultation = ended.calls[0]
    assert consultation.vars["transfer"] == "consultation"
    caller.hang_up(eng.now / 8000)
    assert run(eng, 2.0, caller, agent2, until=lambda: not eng.legs)
    assert "CallEnded" in agent2.kinds()
    assert len(ended.calls) == 2 and sum(1 for line in eng.log_lines if " call_ended " in line) == 2
    main = ended.calls[1]
    assert main.vars["transfer"] == "attended" and main.caller_leg.caller == "2025550100"
    assert {leg.called for leg in main.legs} >= {"100", "agent1", "agent2"}  # caller, agent1, then agent2
    assert any(" sip_transfer " in line and "replaces=" in line for line in eng.log_lines)
    assert not eng.legs and not eng.calls and eng.leaks() == [] and trunk.sessions == {}


def test_a_transfer_before_the_consulted_phone_answers_completes_when_it_answers(rig):
    eng, trunk, agent, agent2, caller, ended = _setup(rig)
    agent2.ua.answer_after = 1.5  # agent2's phone rings for a while
    first = agent.call_id
    second = agent.call("sip:agent2@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 2.0, agent, agent2, caller, until=lambda: "IncomingCall" in agent2.kinds() and
               agent.ua.dialogs[second].state == "confirmed")  # the centre answered; agent2 still rings
    agent._run(agent.ua.refer(first, "sip:agent2@127.0.0.1", eng.now / 8000, replaces=second))
    run(eng, 0.5, agent, agent2, caller)
    assert not _progress(agent)[1:] and "CallConfirmed" not in agent2.kinds()  # 100 Trying only, waiting
    assert run(eng, 3.0, agent, agent2, caller, until=lambda: _ended(agent, first) and _ended(agent, second)), \
        "\n".join(eng.log_lines[-25:])
    assert (200, True) in _progress(agent)
    assert _talk(eng, caller, agent2)
    caller.hang_up(eng.now / 8000)
    assert run(eng, 2.0, caller, agent2, until=lambda: not eng.legs)
    assert eng.leaks() == [] and len(ended.calls) == 2


def test_the_transferred_party_hanging_up_clears_the_caller(rig):
    eng, trunk, agent, agent2, caller, ended = _setup(rig)
    first, second = _consult(eng, trunk, agent, agent2, caller)
    agent._run(agent.ua.refer(first, "sip:agent2@127.0.0.1", eng.now / 8000, replaces=second))
    assert run(eng, 2.0, agent, agent2, caller, until=lambda: _ended(agent, first) and _ended(agent, second))
    agent2.hang_up(eng.now / 8000)
    assert run(eng, 2.0, caller, agent2, until=lambda: "CallEnded" in caller.kinds())
    run(eng, 1.0, caller, agent2, until=lambda: not eng.legs)
    assert not eng.legs and eng.leaks() == [] and len(ended.calls) == 2


def test_a_replaces_naming_no_call_of_ours_gets_notify_481_and_the_calls_go_on(rig):
    eng, trunk, agent, agent2, caller, ended = _setup(rig)
    first, second = _consult(eng, trunk, agent, agent2, caller)
    value = "nosuchcall%3Bto-tag%3Dx%3Bfrom-tag%3Dy"
    agent._run(agent.ua.refer(first, f"sip:300@127.0.0.1?Replaces={value}", eng.now / 8000))  # no phone 300
    assert run(eng, 2.0, agent, agent2, caller, until=lambda: any(final for _, final in _progress(agent)))
    assert (481, True) in _progress(agent)
    assert not _ended(agent, first) and not _ended(agent, second) and len(eng.legs) == 4
    assert any(" sip_transfer_refused " in line and "why=no_call" in line for line in eng.log_lines)
    caller.hang_up(eng.now / 8000)
    agent._run(agent.ua.hang_up(second, eng.now / 8000))
    assert run(eng, 3.0, caller, agent, agent2, until=lambda: not eng.legs)
    assert eng.leaks() == []


def test_an_invite_with_replaces_takes_the_agents_place_beside_the_caller(rig):
    build, keep = rig
    eng, trunk, agent, agent2, caller, ended = _setup(rig)
    d = agent.ua.dialogs[agent.call_id]  # the centre's dialog with agent1, as agent1 sees it
    value = f"{d.call_id};to-tag={d.remote_tag};from-tag={d.local_tag}"
    desk = Phone("agent1-desk")
    keep(desk)
    desk.call("sip:agent1@127.0.0.1", trunk.address, eng.now / 8000, replaces=value)
    assert run(eng, 2.0, desk, agent, caller, until=lambda: "CallAnswered" in desk.kinds() and
               "CallEnded" in agent.kinds())
    assert agent.events[-1].by == "remote"  # the replaced leg got BYE
    assert _talk(eng, caller, desk)
    assert any(" sip_replaces " in line for line in eng.log_lines)
    desk.hang_up(eng.now / 8000)
    assert run(eng, 2.0, caller, desk, until=lambda: not eng.legs)
    assert "CallEnded" in caller.kinds()  # the party left beside the caller hung up: the call is over
    assert len(ended.calls) == 1 and ended.calls[0].vars["transfer"] == "replaced"
    assert eng.leaks() == [] and trunk.sessions == {}


def test_an_invite_replacing_a_leg_nobody_talks_to_is_declined_and_one_naming_nothing_gets_481(rig):
    build, keep = rig
    eng, trunk = build()

    async def menu(call):
        await call.answer()
        await call.wait(30.0)

    eng.router = lambda leg: menu
    caller, other = Phone("2025550100"), Phone("other")
    keep(caller), keep(other)
    caller.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 2.0, caller, until=lambda: "CallConfirmed" in caller.kinds() or "CallAnswered" in caller.kinds())
    run(eng, 0.3, caller)
    d = caller.ua.dialogs[caller.call_id]
    value = f"{d.call_id};to-tag={d.remote_tag};from-tag={d.local_tag}"
    other.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000, replaces=value)
    assert run(eng, 2.0, caller, other, until=lambda: "CallFailed" in other.kinds())
    assert other.events[-1].status == 603 and "CallEnded" not in caller.kinds()
    other.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000, replaces="gone;to-tag=1;from-tag=2")
    assert run(eng, 2.0, caller, other, until=lambda: other.kinds().count("CallFailed") == 2)
    assert other.events[-1].status == 481 and len(eng.legs) == 1
    caller.hang_up(eng.now / 8000)
    assert run(eng, 2.0, caller, until=lambda: not eng.legs)
    assert eng.leaks() == []


def test_an_invite_with_replaces_picks_up_our_call_while_it_rings(rig):
    """RFC 3891 3 for an early dialog we started: agent1's phone rings with our INVITE; another device's INVITE
    with Replaces (early-only) naming it is answered in agent1's place, agent1's phone gets CANCEL, and the
    caller, whose script was dialling agent1, talks to the new device."""
    build, keep = rig
    eng, trunk = build(accounts={"agent1": "s3cret"})
    eng.router = lambda leg: put_through("sip/agent1")
    ended = _Ended()
    eng.listeners.append(ended)
    agent, caller, desk = Phone("agent1", auth=("agent1", "s3cret"), answer_after=30.0), Phone("2025550100"), \
        Phone("agent1-desk")
    for p in (agent, caller, desk):
        keep(p)
    agent.register(trunk.address, eng.now / 8000)
    assert run(eng, 2.0, agent, until=lambda: "Registered" in agent.kinds())
    caller.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 2.0, caller, agent, until=lambda: "IncomingCall" in agent.kinds())
    run(eng, 0.3, caller, agent)
    d = agent.ua.dialogs[agent.call_id]  # agent1 rings: its early dialog with the centre
    value = f"{d.call_id};to-tag={d.remote_tag};from-tag={d.local_tag};early-only"
    desk.call("sip:agent1@127.0.0.1", trunk.address, eng.now / 8000, replaces=value)
    assert run(eng, 2.0, caller, agent, desk, until=lambda: "CallAnswered" in desk.kinds() and
               "CallCancelled" in agent.kinds())
    assert any(" sip_pickup " in line for line in eng.log_lines)
    assert _talk(eng, caller, desk)
    caller.hang_up(eng.now / 8000)
    assert run(eng, 2.0, caller, desk, until=lambda: not eng.legs)
    assert "CallEnded" in desk.kinds() and len(ended.calls) == 1
    assert eng.leaks() == [] and trunk.sessions == {}


def test_an_agent_who_consulted_a_phone_directly_transfers_and_we_call_it_with_replaces(rig):
    """agent1 consults agent2's phone directly (phone to phone, not through the centre) and REFERs the caller's
    call with Replaces naming that call: the Replaces is not ours, so the engine acts as the transferee and
    calls agent2 (registered here) with the Replaces; agent2's phone ends its call with agent1 and answers
    ours, agent1 gets NOTIFY 200 and BYE, and the caller talks to agent2."""
    eng, trunk, agent, agent2, caller, ended = _setup(rig)
    first = agent.call_id
    direct = agent.call(f"sip:agent2@127.0.0.1:{agent2.addr[1]}", agent2.addr, eng.now / 8000)
    assert run(eng, 2.0, agent, agent2, caller, until=lambda: agent.ua.dialogs[direct].state == "confirmed")
    agent._run(agent.ua.refer(first, "sip:agent2@127.0.0.1", eng.now / 8000, replaces=direct))
    assert run(eng, 3.0, agent, agent2, caller, until=lambda: _ended(agent, first) and _ended(agent, direct)), \
        "\n".join(eng.log_lines[-12:])
    assert (200, True) in _progress(agent)
    assert any(" sip_transfer " in line and "replaces=theirs" in line for line in eng.log_lines)
    assert _talk(eng, caller, agent2)
    caller.hang_up(eng.now / 8000)
    assert run(eng, 2.0, caller, agent2, until=lambda: not eng.legs)
    assert eng.leaks() == [] and trunk.sessions == {}
    assert ended.calls[-1].vars["transfer"] == "attended"


def test_a_transfer_whose_replaces_the_phone_refuses_gives_the_caller_back_to_the_agent(rig):
    """The transferee's INVITE with Replaces to agent2 is refused (agent2 has no such call: 481): agent1 gets
    a failure NOTIFY, keeps its call, and the caller talks to agent1 again."""
    eng, trunk, agent, agent2, caller, ended = _setup(rig)
    first = agent.call_id
    value = "nosuchcall%3Bto-tag%3Dx%3Bfrom-tag%3Dy"
    agent._run(agent.ua.refer(first, f"sip:agent2@127.0.0.1?Replaces={value}", eng.now / 8000))
    assert run(eng, 3.0, agent, agent2, caller, until=lambda: any(final for _, final in _progress(agent)))
    assert [status >= 400 for status, final in _progress(agent) if final] == [True]
    assert not _ended(agent, first) and "CallEnded" not in caller.kinds()
    assert _talk(eng, caller, agent)
    caller.hang_up(eng.now / 8000)
    assert run(eng, 2.0, caller, agent, until=lambda: not eng.legs)
    assert eng.leaks() == []
