"""The ACD's shared state behind one interface: queues, agents, calls, and the claim of an agent for a call.

Several appliances serving one centre would have to share exactly this: the queues with their waiting
calls, the agents with their state, the calls the ACD holds, and which call each agent is taken by. The
core (:class:`pycallcenter.acd.core.Acd`) reads and changes these mappings through an ``AcdState`` and
takes an agent for a call only through :meth:`AcdState.claim`, so a store shared between nodes can stand
behind the same interface later: there a claim is the one atomic step (another node may have taken the
agent first), and a refused claim makes the core treat the agent as unavailable and route elsewhere.

:class:`MemoryState` is the one implementation today: plain dicts in this process, where the agent's own
``call`` field is the claim (an agent holds at most one call, from the offer through wrap-up).
"""
from abc import ABC, abstractmethod


class AcdState(ABC):
    """Where the ACD keeps what a second node would need to share.

    ``queues`` (name -> Queue), ``agents`` (name -> Agent) and ``calls`` (call id -> QCall) are mappings
    the core reads and updates; a claim reserves an agent for one call until it is released.
    """

    queues: dict
    agents: dict
    calls: dict

    @abstractmethod
    def claim(self, agent, call_id):
        """Take the agent for the call; return False when the agent already holds another call."""

    @abstractmethod
    def release(self, agent, call_id):
        """Give the agent back (their offer was withdrawn or their wrap-up ended); return None."""


class MemoryState(AcdState):
    """The ACD's state in this process's memory (one node)."""

    def __init__(self):
        self.queues = {}
        self.agents = {}
        self.calls = {}

    def claim(self, agent, call_id):
        """Take the agent for the call; return False when the agent already holds another call."""
        a = self.agents[agent]
        if a.call is not None and a.call != call_id:
            return False
        a.call = call_id
        return True

    def release(self, agent, call_id):
        """Give the agent back if they hold this call; return None."""
        a = self.agents[agent]
        if a.call == call_id:
            a.call = None
