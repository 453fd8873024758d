"""The ACD's state interface: the core takes agents only through claims, and routes elsewhere when a claim is
refused (as a store shared with another node would refuse an agent that node took first)."""
import pytest

from pycallcenter.acd import Acd, AcdError
from pycallcenter.acd.state import MemoryState


class TakenElsewhere(MemoryState):
    """The in-memory store, except that the agents in ``taken`` are held by another node."""

    def __init__(self, taken):
        super().__init__()
        self.taken = set(taken)
        self.claims = []

    def claim(self, agent, call_id):
        """Refuse the agents another node holds; return whether the agent is now this call's."""
        self.claims.append((agent, call_id))
        return agent not in self.taken and super().claim(agent, call_id)


def _acd(state, agents=("a", "b", "c"), **opts):
    acd = Acd(state=state)
    acd.add_queue("q", join_empty="always", **opts)
    for i, n in enumerate(agents):
        acd.add_agent(n, f"channel/{n}", queues={"q": 0})
        acd.login(n, i)  # a has been idle longest
    return acd


def _offers(decisions):
    return [d.agent for d in decisions if d.kind == "offer"]


def test_the_core_keeps_its_queues_agents_and_calls_in_the_store_it_is_given():
    state = MemoryState()
    acd = _acd(state)
    assert acd.state is state
    assert acd.agents is state.agents and acd.queues is state.queues and acd.calls is state.calls
    acd.enter("c1", "q", 10)
    assert "c1" in state.calls and state.agents["a"].call == "c1"


def test_every_offer_is_claimed_first():
    state = TakenElsewhere(())
    acd = _acd(state, strategy="ring_all")
    assert sorted(_offers(acd.enter("c1", "q", 10))) == ["a", "b", "c"]
    assert sorted(state.claims) == [("a", "c1"), ("b", "c1"), ("c", "c1")]
    acd.check_invariants()


@pytest.mark.parametrize("strategy", ["longest_idle", "linear", "round_robin", "fewest_calls", "random"])
def test_a_refused_claim_routes_the_call_to_the_next_agent(strategy):
    acd = _acd(TakenElsewhere({"a"}), strategy=strategy)
    d = acd.enter("c1", "q", 10)
    assert len(_offers(d)) == 1 and _offers(d) != ["a"]
    assert "a" not in acd.queues["q"].available
    assert acd.agents["a"].call is None


def test_ring_all_rings_only_the_agents_it_could_claim():
    acd = _acd(TakenElsewhere({"b"}), strategy="ring_all")
    assert sorted(_offers(acd.enter("c1", "q", 10))) == ["a", "c"]


def test_a_call_waits_when_every_claim_is_refused():
    acd = _acd(TakenElsewhere({"a", "b", "c"}), strategy="ring_all")
    assert acd.enter("c1", "q", 10) == []
    assert acd.calls["c1"].state == "waiting" and not acd.queues["q"].available
    assert acd.position("c1") == 1


def test_ring_progressively_steps_past_an_agent_taken_elsewhere():
    acd = _acd(TakenElsewhere({"b"}), strategy="linear")
    acd.set_strategy("q", "ring_progressively", 5)
    assert _offers(acd.enter("c1", "q", 10)) == ["a"]
    assert _offers(acd.handle_timer(acd.next_deadline())) == ["c"]


def test_pickup_and_transfer_to_an_agent_taken_elsewhere_are_refused_before_anything_changes():
    state = TakenElsewhere(())
    acd = _acd(state, strategy="linear")
    acd.enter("c1", "q", 10)
    acd.answer("a", "c1", 11)
    acd.enter("c2", "q", 12)  # rings b
    state.taken = {"c"}
    with pytest.raises(AcdError) as e:
        acd.pickup("c", "c2", 13)
    assert e.value.code == "agent_busy"
    with pytest.raises(AcdError) as e:
        acd.transfer("a", "c", 14)
    assert e.value.code == "agent_unavailable"
    assert acd.agents["a"].state == "talking" and acd.calls["c1"].agent == "a"
    assert acd.agents["b"].state == "ringing" and acd.agents["c"].call is None


def test_the_memory_store_refuses_an_agent_who_holds_another_call_and_releases_only_the_call_held():
    acd = _acd(MemoryState(), strategy="linear")
    acd.enter("c1", "q", 10)
    assert not acd.state.claim("a", "c2")
    assert acd.state.claim("a", "c1")
    acd.state.release("a", "c2")
    assert acd.agents["a"].call == "c1"
    acd.hangup("c1", 11)  # the offer is withdrawn: the claim goes with it
    assert acd.agents["a"].call is None
    acd.check_invariants()
