"""The ACD core: queues, agents and routing as a sans-IO state machine.

Every command takes the time ``now`` (seconds, any epoch; the day starts at 0 for time-of-day rules)
and returns a list of :class:`Decision` objects for the binding to carry out (ring this agent's
phone, stop ringing, connect, announce, overflow, leave). Timers run on the project's TimerService, as
the protocol machines' do: the driver calls ``handle_timer(now)`` at or after ``next_deadline()``. A
call's timers are owned by its id (ring timers are named ``("ring", agent)``) and all go when the call
leaves the ACD; an agent's (wrap-up end, rest after a missed offer) are owned by the agent's name. Nothing here touches media or sockets, so the same
core runs a simulated 500-agent day and the emulated board. Every state change is written to the
queue log (:attr:`Acd.qlog`), from which :mod:`pycallcenter.acd.stats` recomputes every report.

The class is composed of its jobs: the data model (`acd/model.py`), agent commands (`acd/agents.py`),
the caller side (`acd/queueing.py`), the dispatcher and timers (`acd/dispatch.py`) and realtime figures
(`acd/realtime.py`). This module keeps configuration, live changes, the queue log and the checks, and
re-exports the model's names.

Routing cost: waiting calls sit in one heap per (queue, required skill), so a routing decision looks
at the heads of those heaps and at the queue's currently available agents only, never at the whole
queue; abandoned calls are removed lazily.
"""
import heapq
import itertools
import random

from pycallcenter.acd.agents import AgentCommands
from pycallcenter.acd.dispatch import Dispatcher
from pycallcenter.acd.model import (  # noqa: F401 (re-exported: callers import these from acd.core)
    CONNECTED, DONE, IDLE, MULTI_RING, OFFERED, RINGING, STRATEGIES, TALKING, WAITING, WRAPUP, AcdError, Agent,
    Decision, QCall, Queue)
from pycallcenter.acd.queueing import QueueCommands
from pycallcenter.acd.realtime import RealtimeViews
from pycallcenter.acd.state import AcdState, MemoryState
from pycallcenter.acd.stats import LogEntry, ServiceLevel  # noqa: F401 (LogEntry: the queue log's record, read by stats)
from pycallcenter.journal import Journal
from pycallcenter.timers import TimerService


class Acd(AgentCommands, QueueCommands, Dispatcher, RealtimeViews):
    """The automatic call distributor. Add queues and agents, then send commands; read decisions."""

    def __init__(self, seed=1, service_level=None, log_bound=500_000, state=None):
        self.service_level = service_level or ServiceLevel()  # the centre's definition (see level())
        self.day_offset = 0.0  # seconds of the local day at ACD time 0, for queues' opening hours
        self._sl_logged: dict = {}  # queue -> the ServiceLevel last written to the queue log
        # what a second node would share (see acd/state.py); the names below are the store's own mappings
        self.state: AcdState = state if state is not None else MemoryState()
        self.queues: dict[str, Queue] = self.state.queues
        self.agents: dict[str, Agent] = self.state.agents
        self.calls: dict[str, QCall] = self.state.calls
        # the queue log: readers (the CDR writer, CTI feeds) register and entries all have read are dropped;
        # with no reader (a standalone ACD whose reports read the whole log) it keeps up to log_bound entries
        self.qlog = Journal("queue log", bound=log_bound, keep=1000)
        self.rng = random.Random(seed)
        self.last_agent_of: dict = {}  # caller -> (agent, time the call ended)
        self.timers = TimerService()  # owner: call id or agent name; name: the kind (ring: ("ring", agent))
        self._seq = itertools.count()
        self._out: list = []
        self._since: dict = {}  # agent -> time of their last change of state
        self.now = 0.0

    # --- configuration ---------------------------------------------------------------------------
    def add_queue(self, name, **options):
        """Create a queue; return it."""
        if name in self.queues:
            raise AcdError("duplicate_queue", f"queue {name!r} exists")
        strategy = options.get("strategy", "longest_idle")
        if strategy not in STRATEGIES:
            raise AcdError("unknown_strategy", f"{strategy!r}; known: {', '.join(STRATEGIES)}")
        q = Queue(name, **options)
        self.queues[name] = q
        return q

    def add_agent(self, name, contact="", skills=None, queues=None):
        """Create an agent (logged out) and add them to queues {name: penalty}; return the Agent."""
        if name in self.agents:
            raise AcdError("duplicate_agent", f"agent {name!r} exists")
        for level in (skills or {}).values():
            if not 1 <= int(level) <= 10:
                raise AcdError("bad_skill_level", f"skill levels are 1..10, got {level}")
        a = Agent(name, contact, dict(skills or {}))
        self.agents[name] = a
        for qname, penalty in (queues or {}).items():
            self.add_member(qname, name, penalty)
        return a

    def add_member(self, queue, agent, penalty=0):
        """Make an agent a member of a queue with a penalty (tier)."""
        q, a = self._queue(queue), self._agent(agent)
        q.members[agent] = int(penalty)
        q.order[agent] = len(q.order) if agent not in q.order else q.order[agent]
        a.queues[queue] = int(penalty)
        if a.available:
            q.available[agent] = None

    # --- live changes (no restart): membership, penalties, skills, strategy ----------------------------
    def set_member(self, queue, agent, penalty, now):
        """Add an agent to a queue, or change their penalty (tier); a call already offered to or talking
        with them goes on. Return decisions (the agent may be offered a waiting call at once)."""
        self._set_now(now)
        q, a = self._queue(queue), self._agent(agent)
        if not 0 <= int(penalty) <= 99:
            raise AcdError("bad_penalty", f"penalties are 0..99, got {penalty}")
        self.add_member(queue, agent, penalty)
        if a.available:  # the idle heap of the (new) tier must know them: entries of other tiers lapse
            heapq.heappush(q.idle_heaps.setdefault(int(penalty), []), (a.idle_since, q.order[agent], agent))
        self._log("MEMBER", queue=queue, agent=agent, penalty=int(penalty))
        self._dispatch(q)
        return self._take()

    def remove_member(self, queue, agent, now):
        """Take an agent out of a queue (a call already offered or talking goes on); return decisions."""
        self._set_now(now)
        q, a = self._queue(queue), self._agent(agent)
        if agent not in q.members:
            raise AcdError("not_a_member", f"{agent} is not a member of {queue}")
        del q.members[agent]
        q.available.pop(agent, None)  # idle heap entries lapse: the heap checks membership
        a.queues.pop(queue, None)
        self._log("UNMEMBER", queue=queue, agent=agent)
        return self._take()

    def set_skills(self, agent, skills, now):
        """Replace an agent's skills (skill -> level 1..10); return decisions."""
        self._set_now(now)
        a = self._agent(agent)
        for level in skills.values():
            if not 1 <= int(level) <= 10:
                raise AcdError("bad_skill_level", f"skill levels are 1..10, got {level}")
        a.skills = {str(k): int(v) for k, v in skills.items()}
        self._log("SKILLS", agent=agent, skills=dict(a.skills))
        self._dispatch_all(a)
        return self._take()

    def set_strategy(self, queue, strategy, now):
        """Change how a queue picks agents from now on; return decisions."""
        self._set_now(now)
        q = self._queue(queue)
        if strategy not in STRATEGIES:
            raise AcdError("bad_strategy", f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
        q.strategy, q.rr_last = strategy, -1
        self._log("STRATEGY", queue=queue, strategy=strategy)
        self._dispatch(q)
        return self._take()

    def set_service_level(self, level, now):
        """Change the centre's service level definition from now on (a ServiceLevel); return decisions."""
        self._set_now(now)
        self.service_level = level
        for name in list(self._sl_logged):
            self._log_level(self.queues[name])
        return self._take()

    def level(self, queue):
        """Return the ServiceLevel that applies to a queue: the ACD's, with the queue's own target and
        short-abandon seconds when it sets them."""
        q = self._queue(queue)
        sl = self.service_level
        if q.sl_seconds is None and q.short_abandon is None:
            return sl
        return ServiceLevel(sl.seconds if q.sl_seconds is None else float(q.sl_seconds), sl.mode,
                            sl.short_abandon if q.short_abandon is None else float(q.short_abandon))

    def _log_level(self, q):
        # reports recomputed from the queue log read the definition from here, so they agree with
        # the live counters without being told the configuration
        level = self.level(q.name)
        if self._sl_logged.get(q.name) != level:
            self._sl_logged[q.name] = level
            self._log("SLCONFIG", queue=q.name, **level.as_dict())

    # --- lookups ---------------------------------------------------------------------------------
    def _queue(self, name):
        q = self.queues.get(name)
        if q is None:
            raise AcdError("unknown_queue", f"no queue {name!r}")
        return q

    def _agent(self, name):
        a = self.agents.get(name)
        if a is None:
            raise AcdError("unknown_agent", f"no agent {name!r}")
        return a

    def _call(self, call_id):
        c = self.calls.get(call_id)
        if c is None:
            raise AcdError("unknown_call", f"no call {call_id!r} in the ACD")
        return c

    # --- output ----------------------------------------------------------------------------------
    def _emit(self, kind, call, agent=None, data=None):
        self._out.append(Decision(kind, call, agent, data))

    def _take(self):
        out, self._out = self._out, []
        return out

    def _log(self, event, call="-", queue="-", agent="-", **data):
        self.qlog.append(LogEntry(self.now, call or "-", queue or "-", agent or "-", event, data))
        if agent and agent != "-" and event not in ("FLAG", "HOLD", "UNHOLD", "MEMBER", "UNMEMBER", "SKILLS"):
            self._since[agent] = self.now  # every other agent line is a change of state

    def _at(self, when, kind, owner):
        self.timers.start(owner, kind, when)

    def _set_now(self, now):
        self.now = max(self.now, float(now))

    # --- checks --------------------------------------------------------------------------------------
    def check_invariants(self):
        """Raise AssertionError if the state is inconsistent (used by the property tests)."""
        talking = {}
        for a in self.agents.values():
            assert a.activity != IDLE or a.call is None, (a, "idle agent still holds a claim")
            if a.activity in (RINGING, TALKING):
                assert a.logged_in, a
                c = self.calls.get(a.call)
                assert c is not None, (a, "call gone")
                if a.activity == RINGING:
                    assert a.name in c.offers and c.state == OFFERED, (a, c)
                    assert c.offers[a.name] <= self.now + self.queues[c.queue].ring_timeout, "stuck ringing"
                else:
                    assert c.agent == a.name and c.state == CONNECTED, (a, c)
                    assert c.id not in talking, "call with two agents"
                    talking[c.id] = a.name
            for qname in a.queues:
                assert (a.name in self.queues[qname].available) == a.available, (a, qname)
        seen = set()
        for q in self.queues.values():
            for cid, c in q.calls.items():
                assert cid not in seen, "call in two queues"
                seen.add(cid)
                assert c.queue == q.name and c.state in (WAITING, OFFERED)
                assert (c.state == OFFERED) == bool(c.offers), ("offered state without offers", c)
                if c.state == WAITING:
                    assert (c.key, c.token, c.id) in q.waiting.get(c.skill, ()), ("waiting but not queued", c)
                if q.strategy not in MULTI_RING:
                    assert len(c.offers) <= 1, ("offered to two agents", c)
                for name in c.offers:
                    assert self.agents[name].call == cid and self.agents[name].activity == RINGING
        for c in self.calls.values():
            assert c.state != CONNECTED or self.agents[c.agent].call == c.id
        for q in self.queues.values():  # the idle heaps agree with a plain scan
            cands = self._candidates(q, QCall("-"))
            best = min(cands, key=lambda a: (a.idle_since, q.order[a.name])) if cands else None
            assert self._longest_idle(q) is best, (q.name, best)
