"""Property test: random sequences of agent and caller actions never leave an agent in two calls, a
call in two queues or offered to two agents (outside ring-all and ring-progressively), or an agent
stuck ringing past the ring timeout."""
from hypothesis import given, settings
from hypothesis import strategies as st

from pycallcenter.acd import STRATEGIES, Acd, AcdError
from pycallcenter.acd.core import RINGING

AGENTS = ["a", "b", "c", "d"]
CALLS = [f"c{i}" for i in range(8)]

action = st.one_of(
    st.tuples(st.just("enter"), st.sampled_from(CALLS), st.sampled_from(["q1", "q2"]), st.integers(0, 3)),
    st.tuples(st.just("hangup"), st.sampled_from(CALLS)),
    st.tuples(st.sampled_from(["answer", "decline"]), st.sampled_from(AGENTS)),
    st.tuples(st.just("pickup"), st.sampled_from(AGENTS), st.sampled_from(CALLS)),
    st.tuples(st.sampled_from(["login", "logout", "pause", "unpause", "dnd", "undnd", "end_wrapup", "hold",
                               "unhold", "agent_hangup"]), st.sampled_from(AGENTS)),
    st.tuples(st.just("transfer"), st.sampled_from(AGENTS), st.sampled_from(AGENTS + ["queue:q1", "queue:q2"])),
    st.tuples(st.just("callback"), st.sampled_from(CALLS)),
    st.tuples(st.just("wait"), st.floats(0.1, 40)),
)


def _do(acd, act, now):
    kind = act[0]
    a = acd.agents.get(act[1]) if kind not in ("enter", "hangup", "wait", "callback") else None
    if kind == "enter":
        acd.enter(act[1], act[2], now, caller=str(act[3]), priority=act[3], skill="fr" if act[3] == 3 else None)
    elif kind == "hangup":
        acd.hangup(act[1], now)
    elif kind in ("answer", "decline"):
        getattr(acd, kind)(act[1], a.call if a.activity == RINGING else "c0", now)
    elif kind == "pickup":
        acd.pickup(act[1], act[2], now)
    elif kind in ("login", "logout", "end_wrapup"):
        getattr(acd, kind)(act[1], now)
    elif kind in ("pause", "unpause"):
        acd.pause(act[1], now, reason="x", paused=kind == "pause")
    elif kind in ("dnd", "undnd"):
        acd.set_dnd(act[1], now, on=kind == "dnd")
    elif kind in ("hold", "unhold"):
        acd.hold(act[1], now, on=kind == "hold")
    elif kind == "agent_hangup":
        acd.hangup(a.call if a.call in acd.calls else "c0", now)
    elif kind == "transfer":
        acd.transfer(act[1], act[2], now, attended=act[2] == "d")
    elif kind == "callback":
        acd.request_callback(act[1], "555", now)


@settings(deadline=None)  # examples: the profile (60 by default, make fuzz: many more)
@given(st.sampled_from(STRATEGIES), st.sampled_from(STRATEGIES), st.lists(action, min_size=5, max_size=60))
def test_random_actions_keep_the_acd_consistent(s1, s2, actions):
    acd = Acd(seed=3)
    acd.add_queue("q1", strategy=s1, ring_timeout=15, wrapup=5, max_wait=100, overflow="queue:q2",
                  auto_pause_after=2, leave_empty=True)
    acd.add_queue("q2", strategy=s2, ring_timeout=10, wrapup=None, announce_every=20, join_empty="always")
    for i, n in enumerate(AGENTS):
        acd.add_agent(n, skills={"fr": 1 + i} if i % 2 else {}, queues={"q1": i % 2, "q2": 0} if i < 3 else {"q2": 1})
        acd.login(n, 0)
    now = 0.0
    for act in actions:
        if act[0] == "wait":
            now += act[1]
            acd.handle_timer(now)
        else:
            acd.handle_timer(now)
            try:
                _do(acd, act, now)
            except AcdError as e:
                assert e.code  # refused cleanly
        acd.check_invariants()
        for a in acd.agents.values():
            if a.activity == RINGING:
                assert acd.calls[a.call].offers[a.name] >= now, "an agent rings past the ring timeout"
    # once everyone hangs up and time passes, nobody is stuck
    for cid in list(acd.calls):
        if cid in acd.calls:
            acd.hangup(cid, now)
    acd.handle_timer(now + 1000)
    for a in AGENTS:
        if acd.agents[a].activity == "wrapup":
            acd.end_wrapup(a, now + 1000)
    acd.check_invariants()
    assert not acd.calls
    assert all(acd.agents[a].activity == "idle" for a in AGENTS)
    assert all(not q.calls and not q.available or all(acd.agents[n].available for n in q.available)
               for q in acd.queues.values())


def test_a_call_id_reused_after_an_abandon_does_not_revive_its_old_queue_entry():
    # found by the fuzz profile: c1 abandons q1, then a new c1 enters q2 and was routed from q1's heap
    acd = Acd()
    acd.add_queue("q1", strategy="ring_all")
    acd.add_queue("q2", strategy="ring_all", join_empty="always")
    acd.add_agent("a", queues={"q1": 0, "q2": 0})
    acd.add_agent("d", queues={"q2": 1})
    acd.login("a", 0)
    acd.login("d", 0)
    acd.enter("c0", "q2", 0)
    acd.enter("c1", "q1", 0)
    acd.enter("c3", "q1", 0)
    acd.hangup("c1", 0)
    acd.enter("c2", "q2", 0)
    acd.enter("c1", "q2", 0, skill="fr")
    acd.check_invariants()
    acd.hangup("c0", 1)
    acd.check_invariants()
    assert acd.calls["c3"].state == "offered" and acd.calls["c1"].queue == "q2"
