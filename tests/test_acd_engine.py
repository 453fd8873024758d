"""The ACD on the emulated board: PSTN callers on a PRI span queue for simulated agents at FXS phones."""
import pytest
from test_sim import CFG as BOARD  # the same centre: a PRI span and two agent phones (channels 32, 33)

from pycallcenter.acd import AcdError
from pycallcenter.acd.config import build_on_engine
from pycallcenter.acd.engine_binding import queue_call
from pycallcenter.acd.stats import day_report
from pycallcenter.drivers import open_board, parse_config
from pycallcenter.engine.engine import Engine
from pycallcenter.sim import agents as sim_agents
from pycallcenter.sim.pstn import Caller, PstnSimulator



ACD = {
    "queue": [{"name": "sales", "strategy": "linear", "wrapup": 2, "ring_timeout": 20, "max_wait": 60,
               "overflow": "voicemail"}],
    "agent": [{"name": "agent1", "contact": "channel/32", "queues": {"sales": 0}},
              {"name": "agent2", "contact": "channel/33", "queues": {"sales": 0}}],
}


def _centre(config=ACD, pstn_class=PstnSimulator, queue_options=None, **binding_options):
    board = open_board(parse_config(BOARD))
    pstn = pstn_class(board)
    eng = Engine(board, tone_plan="etsi")
    eng.auto_trunks()
    binding = build_on_engine(eng, config, **binding_options)
    phones = [board.emulator.far_ends[n] for n in ("agent1", "agent2")]
    if hasattr(sim_agents, "AgentPool"):  # batched agents (one tick call for the pool)
        agents = [sim_agents.AgentPool(phones, ["agent1", "agent2"], pstn, plan="etsi")]
    else:
        agents = [sim_agents.AgentPhone(p, n, pstn, plan="etsi") for p, n in zip(phones, ("agent1", "agent2"))]
    results = {}

    async def script(call):
        await call.answer()
        results[call.caller] = await queue_call(call, "sales", **(queue_options or {}))
        await call.hangup()

    # callers come in on the PRI; an agent's phone going off hook by itself (picking up just as a
    # ring-all offer went to a colleague) is refused and hears reorder
    eng.router = lambda leg: script if leg.tech == "pri" else None
    return eng, pstn, agents, binding, results


def _run(eng, agents, seconds):
    for _ in range(int(seconds * 50)):
        eng.tick()
        for a in agents:
            a.tick(eng.now)


def test_three_callers_two_agents_queue_then_everyone_is_served_and_idle():
    eng, pstn, agents, binding, results = _centre()
    for i, t in enumerate((1.0, 1.5, 2.0)):
        pstn.add(Caller(f"20255501{i:02d}", "5000", arrival=t, talk=5))
    _run(eng, agents, 40)
    by = {c.number: c for c in pstn.done}
    assert set(by) == {"2025550100", "2025550101", "2025550102"}
    assert all(c.agent is not None and not c.abandoned for c in by.values())
    assert by["2025550100"].agent == "agent1"  # linear: the first member first
    assert by["2025550101"].agent == "agent2"
    # the third waited for an agent to finish talking and wrapping up
    assert by["2025550102"].agent_at - by["2025550102"].answered > 5
    assert {r.outcome for r in results.values()} == {"answered"}
    acd = binding.acd
    assert [acd.agents[n].state for n in ("agent1", "agent2")] == ["ready", "ready"]
    assert not acd.calls and not eng.calls and not eng.legs
    events = [e.event for e in acd.qlog if e.call != "-"]
    assert events.count("ENTER") == 3 and events.count("CONNECT") == 3 and events.count("COMPLETE") == 3
    assert events.count("WRAPUPEND") == 3
    r = day_report(acd.qlog, 0, 40)
    assert (r["offered"], r["answered"], r["abandoned"]) == (3, 3, 0)
    assert 5 <= r["aht"] <= 10  # about 5 s talk + 2 s wrap-up (+ the time the hang-up takes)


def test_caller_who_gives_up_in_queue_is_an_abandon_and_agents_stay_free():
    cfg = {"queue": [{"name": "sales", "strategy": "linear", "wrapup": 0}],
           "agent": [{"name": "agent1", "contact": "channel/32", "queues": {"sales": 0}, "ready": False}]}
    eng, pstn, agents, binding, results = _centre(cfg)
    pstn.add(Caller("2025550150", "5000", arrival=0.5, patience=4.0))
    _run(eng, agents, 8)
    (caller,) = pstn.done
    assert caller.abandoned
    acd = binding.acd
    (ab,) = [e for e in acd.qlog if e.event == "ABANDON"]
    assert 3.0 <= ab.data["wait"] <= 5.0
    assert not acd.calls and acd.agents["agent1"].state == "paused"
    assert acd.queues["sales"].today["abandoned"] == 1


def test_agent_who_does_not_answer_is_skipped_and_max_wait_overflows():
    cfg = {"queue": [{"name": "sales", "strategy": "linear", "ring_timeout": 3, "max_wait": 12,
                      "overflow": "voicemail", "auto_pause_after": 1}],
           "agent": [{"name": "agent1", "contact": "channel/32", "queues": {"sales": 0}}]}
    eng, pstn, agents, binding, results = _centre(cfg)
    pstn.add(Caller("2025550160", "5000", arrival=0.5, patience=60.0))
    agents.clear()  # nobody picks up the phone
    _run(eng, [], 16)
    acd = binding.acd
    events = [e.event for e in acd.qlog]
    assert "RINGNOANSWER" in events and "EXITWITHTIMEOUT" in events
    assert acd.agents["agent1"].state == "paused" and acd.agents["agent1"].reason == "auto"
    (r,) = results.values()
    assert (r.outcome, r.target, r.reason) == ("overflow", "voicemail", "timeout")
    phone = eng.board.emulator.far_ends["agent1"]
    assert not phone.ringing


def _until(eng, agents, cond, seconds):
    for _ in range(int(seconds * 50)):
        if cond():
            return True
        _run(eng, agents, 0.02)
    return cond()


def test_agent_holds_then_blind_transfers_to_the_queue_and_another_agent_takes_the_call():
    cfg = dict(ACD, queue=[{"name": "sales", "strategy": "linear", "wrapup": 30}])
    eng, pstn, agents, binding, results = _centre(cfg)
    acd = binding.acd
    pstn.add(Caller("2025550170", "5000", arrival=0.5, talk=25))
    assert _until(eng, agents, lambda: acd.agents["agent1"].state == "talking", 15)
    _run(eng, agents, 1)
    binding.hold("agent1")
    _run(eng, agents, 2)
    caller_leg = next(iter(eng.calls.values())).caller_leg
    assert caller_leg.row in eng.media.players and not eng.media.listeners_of(caller_leg.row)  # music, alone
    binding.hold("agent1", on=False)
    _run(eng, agents, 1)
    assert eng.media.listeners_of(caller_leg.row)
    binding.transfer("agent1", "queue:sales")
    assert acd.agents["agent1"].state == "wrapup"
    assert _until(eng, agents, lambda: acd.agents["agent2"].state == "talking", 15)
    assert _until(eng, agents, lambda: not pstn.busy and not eng.calls, 40)
    (caller,) = pstn.done
    assert caller.agent == "agent1" and not caller.abandoned
    events = [(e.event, e.agent) for e in acd.qlog if e.call != "-" and e.event != "WRAPUPEND"]
    assert events == [("ENTER", "-"), ("OFFER", "agent1"), ("CONNECT", "agent1"), ("HOLD", "agent1"),
                      ("UNHOLD", "agent1"), ("TRANSFER", "agent1"), ("ENTER", "-"), ("OFFER", "agent2"),
                      ("CONNECT", "agent2"), ("COMPLETE", "agent2")]
    tr = next(e for e in acd.qlog if e.event == "TRANSFER")
    assert 1.9 <= tr.data["hold"] <= 2.1
    (r,) = results.values()
    assert (r.outcome, r.agent) == ("answered", "agent2")


def test_supervisor_listen_whisper_barge_conference_and_record_on_demand(tmp_path):
    cfg = {"queue": [{"name": "sales"}], "agent": [{"name": "agent1", "contact": "channel/32", "queues": {"sales": 0}}]}
    eng, pstn, agents, binding, results = _centre(cfg)
    acd = binding.acd
    pstn.add(Caller("2025550180", "5000", arrival=0.5, talk=20))
    assert _until(eng, agents, lambda: acd.agents["agent1"].state == "talking", 15)
    sup = eng.originate("channel/33", caller="9000")  # the supervisor's phone (not an ACD member)
    assert _until(eng, agents, lambda: sup.state == "answered", 10)
    call = eng.calls[acd.agents["agent1"].call]
    caller, agent = call.caller_leg.row, binding.agent_leg["agent1"].row
    heard = eng.media.listeners_of
    binding.listen(sup, "agent1")
    assert sup.row in heard(caller) and sup.row in heard(agent) and not heard(sup.row)
    binding.listen(sup, "agent1", whisper=True)
    assert heard(sup.row) == [agent]  # only the agent hears the supervisor
    binding.listen(sup, "agent1", barge=True)
    assert heard(sup.row) == sorted([caller, agent])
    eng.media.isolate(sup.row)
    binding.conference("agent1", sup)
    assert heard(sup.row) == sorted([caller, agent]) and sup.row in heard(caller)
    rec = binding.record("agent1", path=str(tmp_path / "call.wav"))
    _run(eng, agents, 1)
    stats = eng.stop_recording(rec)
    assert 0.9 <= stats["seconds"] <= 1.1
    with pytest.raises((ValueError, AcdError)):
        binding.listen(sup, "nobody")
    sup.hangup()
    assert _until(eng, agents, lambda: not eng.legs and not pstn.busy, 30)  # the caller talks 20 s, then hangs up


class _AnsweringPstn(PstnSimulator):
    """The emulated PSTN, also answering the calls we place (the callback's dial-out)."""

    def __init__(self, board):
        self.incoming = []
        super().__init__(board)

    def _q931(self, events):
        from pycallcenter.isdn import call as q

        for ev in events:
            if isinstance(ev, q.IncomingCall):
                self.incoming.append(ev.call)
                super()._q931(self.iface.answer(ev.call, self.now))
        super()._q931(events)


def test_caller_asks_for_a_callback_keeps_their_place_and_is_called_back():
    cfg = {"queue": [{"name": "sales"}],
           "agent": [{"name": "agent1", "contact": "channel/32", "queues": {"sales": 0}, "ready": False}]}
    eng, pstn, agents, binding, results = _centre(cfg, _AnsweringPstn, {"callback_digit": "1"},
                                                  callback_trunk="pri1")
    pstn.add(Caller("2025550190", "5000", arrival=0.5, digits="1", patience=60))
    acd = binding.acd
    assert _until(eng, agents, lambda: "2025550190" in results, 10)
    assert results["2025550190"].outcome == "callback"
    _run(eng, agents, 2)
    assert not eng.calls and len(acd.calls) == 1  # the caller is gone, their place is kept
    binding.command("pause", "agent1", paused=False)
    assert _until(eng, agents, lambda: pstn.incoming, 20)
    _run(eng, agents, 2)
    assert acd.agents["agent1"].state == "talking"
    assert [e.event for e in acd.qlog if e.call != "-"] == ["ENTER", "CALLBACK", "OFFER", "CONNECT"]
    legs = list(eng.legs.values())
    assert len(legs) == 2 and all(l.state == "answered" for l in legs)  # agent and the dialled-back caller
    assert eng.media.listeners_of(legs[0].row) == [legs[1].row]
    binding.hangup("agent1")  # the dial-back script then clears the caller it dialled
    assert _until(eng, agents, lambda: not eng.legs, 5)


def test_ring_all_rings_both_phones_and_the_loser_stops_ringing():
    cfg = dict(ACD, queue=[{"name": "sales", "strategy": "ring_all", "wrapup": 0}])
    eng, pstn, agents, binding, results = _centre(cfg)
    acd = binding.acd
    pstn.add(Caller("2025550200", "5000", arrival=0.5, talk=6))
    phones = [eng.board.emulator.far_ends[n] for n in ("agent1", "agent2")]
    assert _until(eng, agents, lambda: all(p.ringing for p in phones), 10)
    assert _until(eng, agents, lambda: not pstn.busy and not eng.calls, 40)
    (caller,) = pstn.done
    assert caller.agent in ("agent1", "agent2") and not caller.abandoned
    events = [(e.event, e.agent) for e in acd.qlog if e.call != "-"]
    assert [e for e, _ in events[:3]] == ["ENTER", "OFFER", "OFFER"]
    assert ("CONNECT", caller.agent) in events and ("COMPLETE", caller.agent) in events
    assert sum(1 for e, _ in events if e == "CONNECT") == 1
    assert all(acd.agents[n].state == "ready" for n in ("agent1", "agent2"))
    assert not any(p.ringing for p in phones) and not eng.legs


def test_remote_agent_at_an_outside_number_is_rung_over_the_pri():
    cfg = {"queue": [{"name": "sales", "wrapup": 0}],
           "agent": [{"name": "home", "contact": "pri1/2025550300", "queues": {"sales": 0}}]}
    eng, pstn, agents, binding, results = _centre(cfg, _AnsweringPstn)
    acd = binding.acd
    pstn.add(Caller("2025550210", "5000", arrival=0.5, patience=60))
    assert _until(eng, agents, lambda: acd.agents["home"].state == "talking", 10)
    (incoming,) = pstn.incoming
    first, agent_leg = eng.calls[acd.agents["home"].call].legs
    assert agent_leg.tech == "pri" and eng.media.listeners_of(first.row) == [agent_leg.row]
    binding.hangup("home")
    assert _until(eng, agents, lambda: not eng.calls, 5)
    assert [e.event for e in acd.qlog if e.call != "-"] == ["ENTER", "OFFER", "CONNECT", "COMPLETE", "WRAPUPEND"]


def test_a_caller_whose_script_leaves_the_queue_is_withdrawn_and_never_offered():
    from pycallcenter.acd.engine_binding import QueueOp

    cfg = {"queue": [{"name": "sales", "wrapup": 0}],
           "agent": [{"name": "agent1", "contact": "channel/32", "queues": {"sales": 0}, "ready": False}]}
    eng, pstn, agents, binding, results = _centre(cfg)
    acd = binding.acd
    pstn.add(Caller("2025550220", "5000", arrival=0.5, patience=60))
    assert _until(eng, agents, lambda: acd.calls, 5)
    (task,) = [t for t in eng.scheduler.tasks.values() if isinstance(t.op, QueueOp)]
    eng.scheduler.throw(task, RuntimeError("interrupted"), eng.now)  # e.g. a fax heard while waiting
    assert not acd.calls and [e.event for e in acd.qlog if e.call != "-"] == ["ENTER", "ABANDON"]
    binding.command("pause", "agent1", paused=False)
    _run(eng, agents, 3)
    assert acd.agents["agent1"].state == "ready" and "OFFER" not in [e.event for e in acd.qlog]
    assert not eng.legs and not pstn.busy  # the script failed without a fallback: the caller was cleared
    assert eng.log_lines and "release call=C1 cause=31 legs=L1" in "\n".join(eng.log_lines)


@pytest.mark.parametrize("lingers", [False, True])
def test_a_caller_handed_to_the_acd_talks_on_after_the_script_returns_and_is_cleared_at_the_end(lingers):
    cfg = {"queue": [{"name": "sales", "wrapup": 0}], "agent": [{"name": "agent1", "contact": "channel/32",
                                                                  "queues": {"sales": 0}}]}
    eng, pstn, agents, binding, results = _centre(cfg)
    acd = binding.acd
    done = []

    async def script(call):  # returns on answer: the conversation is the ACD's from there
        await call.answer()
        results[call.caller] = await queue_call(call, "sales", talk=False)
        if lingers:  # a script still running when the agent hangs up gets the caller back
            await call.wait(60)
        done.append(call.id)

    eng.router = lambda leg: script if leg.tech == "pri" else None
    pstn.add(Caller("2025550230", "5000", arrival=0.5, talk=600, patience=60))
    assert _until(eng, agents, lambda: acd.agents["agent1"].state == "talking", 15)
    _run(eng, agents, 2)
    caller = next(l for l in eng.legs.values() if l.tech == "pri")
    assert caller.state == "answered" and caller.keeper is binding and (done == [] if lingers else done == ["C1"])
    assert eng.media.listeners_of(caller.row) == [binding.agent_leg["agent1"].row]  # still talking
    binding.hangup("agent1")  # the agent ends the conversation
    _run(eng, agents, 2)
    if lingers:
        assert caller.active and caller.keeper is None  # back with its script, which has not ended yet
        assert _until(eng, agents, lambda: done, 70)
        _run(eng, agents, 1)
    assert not caller.active and caller.cause == 16 and not eng.legs and not pstn.busy
    assert "COMPLETE" in [e.event for e in acd.qlog] and not acd.calls
