"""Every routing strategy, on scenarios where each gives a different answer: a test that fails if any
strategy is swapped for another."""
import pytest

from pycallcenter.acd import STRATEGIES, Acd

NAMES = ["A", "B", "C", "D", "E", "F"]
IDLE = dict(A=50, B=40, C=10, D=30, E=20, F=60)  # C idle longest
SERVED = dict(A=5, B=1, C=3, D=4, E=6, F=7)  # B fewest calls
TALKED = dict(A=100, B=300, C=400, D=50, E=500, F=600)  # D least talk
SKILL = dict(A=2, B=3, C=4, D=5, E=6, F=9)  # F best at French


def _centre(strategy, **opts):
    acd = Acd(seed=7)
    q = acd.add_queue("q", strategy=strategy, progressive_step=5, sticky_window=3600, **opts)
    for n in NAMES:
        acd.add_agent(n, f"channel/{n}", skills={"fr": SKILL[n]}, queues={"q": 0})
        acd.login(n, 0)
        acd.agents[n].idle_since = IDLE[n]
    q.served.update(SERVED)
    q.talked.update(TALKED)
    q.rr_last = q.order["D"]  # D answered last: round robin goes on with E
    return acd


def _ringing(decisions):
    return tuple(sorted(d.agent for d in decisions if d.kind == "offer"))


def _tiered(strategy, seed, z_penalty):
    """Return who rings for one call with X and Y at penalty 0 and Z at z_penalty."""
    acd = Acd(seed=seed)
    acd.add_queue("q", strategy=strategy)
    for n, pen in (("X", 0), ("Y", 0), ("Z", z_penalty)):
        acd.add_agent(n, queues={"q": pen})
        acd.login(n, 0)
    return _ringing(acd.enter("c", "q", 1))


def outcome(strategy):
    """Return what a strategy does in four scenarios (see the test below)."""
    # 1: one French call with everyone idle; and who rings once the progressive step has passed
    acd = _centre(strategy)
    first = _ringing(acd.enter("c1", "q", 100, caller="111", skill="fr"))
    later = tuple(sorted(a.name for a in acd.agents.values() if a.activity == "ringing"))
    acd.handle_timer(105)
    later = tuple(sorted(a.name for a in acd.agents.values() if a.activity == "ringing"))
    # 2: a normal caller then a VIP wait; the one agent comes back from a pause
    acd = Acd()
    acd.add_queue("q", strategy=strategy)
    acd.add_agent("P", queues={"q": 0})
    acd.login("P", 0, ready=False)
    acd.enter("normal", "q", 1)
    acd.enter("vip", "q", 2, priority=5)
    (served_first,) = {d.call for d in acd.pause("P", 3, paused=False) if d.kind == "offer"}
    # 3: a caller whom B served a minute ago calls again (no skill needed)
    acd = _centre(strategy)
    acd.last_agent_of["555"] = ("B", 40)
    again = _ringing(acd.enter("c2", "q", 100, caller="555"))
    # 4: who gets offered calls over many seeded runs, two agents at penalty 0 and one at penalty 2
    picked = set()
    for seed in range(60):
        picked.update(_tiered(strategy, seed, 2))
    return first, later, served_first, again, tuple(sorted(picked))


EXPECTED = {
    "ring_all": (tuple(NAMES), tuple(NAMES), "normal", tuple(NAMES), ("X", "Y")),
    "linear": (("A",), ("A",), "normal", ("A",), ("X",)),
    "round_robin": (("E",), ("E",), "normal", ("E",), ("X",)),
    "longest_idle": (("C",), ("C",), "normal", ("C",), ("X",)),
    "fewest_calls": (("B",), ("B",), "normal", ("B",), ("X",)),
    "least_talk": (("D",), ("D",), "normal", ("D",), ("X",)),
    "ring_progressively": (("A",), ("A", "B"), "normal", ("A",), ("X",)),
    "skills": (("F",), ("F",), "normal", ("C",), ("X",)),
    "priority": (("C",), ("C",), "vip", ("C",), ("X",)),
    "sticky": (("C",), ("C",), "normal", ("B",), ("X",)),
}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_does_what_its_name_says_and_nothing_else_does(strategy):
    got = outcome(strategy)
    if strategy == "random":
        assert len(got[0]) == 1 and got[4] == ("X", "Y")  # one agent, from the best tier only
    elif strategy == "weighted_random":
        assert got[4] == ("X", "Y", "Z")  # every tier, weighted by penalty
    else:
        assert got == EXPECTED[strategy]
    others = [outcome(s) for s in STRATEGIES if s != strategy]
    assert got not in others  # so swapping in any other strategy fails this test


def test_random_is_uniform_and_weighted_random_follows_penalties():
    counts = {"random": {}, "weighted_random": {}}
    for strategy, c in counts.items():
        for seed in range(600):
            (who,) = _tiered(strategy, seed, 1)
            c[who] = c.get(who, 0) + 1
    assert "Z" not in counts["random"] and abs(counts["random"]["X"] - 300) < 60
    w = counts["weighted_random"]  # weights 1, 1, 1/2: X and Y 240 each, Z 120
    assert abs(w["X"] - 240) < 50 and abs(w["Y"] - 240) < 50 and abs(w["Z"] - 120) < 40
