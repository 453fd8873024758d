"""Simulated PSTN callers on a PRI span and simulated agents at analog phones, through the whole stack."""
from pycallcenter.apps.demo import board_config
from pycallcenter.drivers import open_board, parse_config
from pycallcenter.engine.engine import Engine
from pycallcenter.sim.agents import AgentPool
from pycallcenter.sim.pstn import Caller, PstnSimulator

CFG = board_config(2, seed=1, far_end="net")  # a PRI span to the PSTN ("net") and phones agent1, agent2 (32, 33)


def _centre(sim_class=PstnSimulator, dial_timeout=15, **collect):
    board = open_board(parse_config(CFG))
    pstn = sim_class(board)
    eng = Engine(board, tone_plan="etsi")
    eng.auto_trunks()
    agents = AgentPool([board.emulator.far_ends[n] for n in ("agent1", "agent2")], ["agent1", "agent2"], pstn,
                       plan="etsi")
    chosen = {}

    async def script(call):
        await call.answer()
        r = await call.collect(**{"max_digits": 1, "terminator": "", "first_timeout": 10, **collect})
        chosen[call.caller] = r.digits
        for ch in (32, 33):
            d = await call.dial(f"channel/{ch}", timeout=dial_timeout)
            if d.outcome == "answered":
                await call.bridge(d.leg)
                break
        await call.hangup()

    eng.router = lambda leg: script
    return eng, pstn, agents, chosen


def test_callers_press_digits_reach_free_agents_and_everyone_ends_idle():
    eng, pstn, agents, chosen = _centre()
    pstn.add(Caller("2025550100", "5000", arrival=1.0, digits="1", talk=5))
    pstn.add(Caller("2025550101", "5000", arrival=2.0, digits="2", talk=5))
    pstn.add(Caller("2025550102", "5000", arrival=3.0, digits="1", talk=5))
    for _ in range(30 * 50):
        eng.tick()
        agents.tick(eng.now)
    assert chosen == {"2025550100": "1", "2025550101": "2", "2025550102": "1"}
    by = {c.number: c for c in pstn.done}
    assert set(by) == {"2025550100", "2025550101", "2025550102"}
    assert {by["2025550100"].agent, by["2025550101"].agent} == {"agent1", "agent2"}
    assert by["2025550102"].agent is None and by["2025550102"].ended is not None  # both agents were busy
    for c in by.values():
        assert c.cause == 16
    # the agents heard congestion when the caller left, hung up, and their lines are idle again
    assert [(a.state, a.calls) for a in agents.agents] == [("idle", 1), ("idle", 1)]
    assert not eng.legs and not eng.calls
    assert all(l.state == "idle" for a in eng.adapters if a.tech == "fxs" for l in a.lines.values())


def test_impatient_caller_abandons():
    eng, pstn, agents, _ = _centre()
    eng.router = None

    async def hold_forever(call):
        await call.answer()
        await call.wait(60)

    eng.router = lambda leg: hold_forever
    pstn.add(Caller("2025550199", "5000", arrival=0.5, patience=4.0))
    for _ in range(8 * 50):
        eng.tick()
    (caller,) = pstn.done
    assert caller.abandoned and 4.4 <= caller.ended <= 5.0
    assert not eng.calls


class _WalkEveryTick(PstnSimulator):
    """The simulator as it was: every active caller looked at every tick (the specification of _visit)."""

    def _tick(self, far, now_samples):
        for caller in self.active.values():
            self._wake(caller, 0.0)
        super()._tick(far, now_samples)


def _run_callers(sim_class):
    eng, pstn, agents, _ = _centre(sim_class, dial_timeout=6, max_digits=2, first_timeout=4, inter_timeout=2)
    for i, (digits, patience, talk) in enumerate([("1", 60, 4), ("2,34", 60, 3), ("", 3, 5), ("1", 2.5, 2),
                                                  ("9,1", 60, 6), ("", 60, 1), ("3", 7, 3)]):
        pstn.add(Caller(f"20255501{i:02d}", "5000", arrival=0.5 + 0.7 * i, digits=digits, digit_delay=1.5,
                        patience=patience, talk=talk))
    for _ in range(40 * 50):
        eng.tick()
        agents.tick(eng.now)
    return [(c.number, c.log, c.cause, c.agent, c.abandoned) for c in sorted(pstn.done, key=lambda c: c.number)]


def test_callers_looked_at_when_due_act_as_when_looked_at_every_tick():
    got = _run_callers(PstnSimulator)
    assert got == _run_callers(_WalkEveryTick)
    assert len(got) == 7 and any(abandoned for *_, abandoned in got) and any(agent for _, _, _, agent, _ in got)
