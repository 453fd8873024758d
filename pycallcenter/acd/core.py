"""The ACD core: queues, agents and routing as a sans-IO state machine.

Every command takes the time ``now`` (seconds, any epoch; the day starts at 0 for time-of-day rules)
and returns a list of :class:`Decision` objects for the binding to carry out (ring this agent's
phone, stop ringing, connect, announce, overflow, leave). Timers run on the project's TimerService, as
the protocol machines' do: the driver calls ``handle_timer(now)`` at or after ``next_deadline()``. A
call's timers are owned by its id (ring timers are named ``("ring", agent)``) and all go when the call
leaves the ACD; an agent's (wrap-up end, rest after a missed offer) are owned by the agent's name. Nothing here touches media or sockets, so the same
core runs a simulated 500-agent day and the emulated board. Every state change is written to the
queue log (:attr:`Acd.qlog`), from which :mod:`pycallcenter.acd.stats` recomputes every report.

Routing cost: waiting calls sit in one heap per (queue, required skill), so a routing decision looks
at the heads of those heaps and at the queue's currently available agents only, never at the whole
queue; abandoned calls are removed lazily.
"""
import heapq
import itertools
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional

from pycallcenter.acd.stats import LogEntry, ServiceLevel  # noqa: F401 (LogEntry: the queue log's record, read by stats)
from pycallcenter.acd.strategies import pick
from pycallcenter.errors import PyCallCenterError
from pycallcenter.journal import Journal
from pycallcenter.timers import TimerService

# agent activities
IDLE, RINGING, TALKING, WRAPUP = "idle", "ringing", "talking", "wrapup"
# call states
WAITING, OFFERED, CONNECTED, DONE = "waiting", "offered", "connected", "done"


class AcdError(PyCallCenterError):
    """A command the ACD refuses; ``.code`` names why (unknown_agent, already_logged_in, ...)."""

    def __init__(self, code, message):
        self.code = code
        super().__init__(f"{code}: {message}")


class Decision(NamedTuple):
    """Something the binding must do: kind is offer, cancel, connect, announce, overflow or leave."""

    kind: str
    call: str
    agent: Optional[str] = None
    data: Any = None


@dataclass(eq=False)
class Agent:
    """An agent: where their phone is, their state, skills and queue memberships."""

    name: str
    contact: str = ""  # 'channel/N' (an FXS port), 'ext/NNN' or 'trunk/number'
    skills: dict = field(default_factory=dict)  # skill -> level 1..10
    queues: dict = field(default_factory=dict)  # queue name -> penalty (0 = first tier)
    logged_in: bool = False
    paused: bool = False
    reason: str = ""
    dnd: bool = False
    activity: str = IDLE
    call: Optional[str] = None
    idle_since: float = 0.0
    missed: int = 0  # consecutive offers not answered (auto-pause)
    calls: int = 0
    talk_time: float = 0.0
    wrapup_until: Optional[float] = None
    wrap_start: float = 0.0
    wrap_queue: Optional[str] = None
    handled: float = 0.0  # talk + hold of the call being wrapped up
    resting: bool = False  # a short rest after an offer that was not answered (retry delay)

    @property
    def available(self):
        """Return True when the agent can be offered a call."""
        return self.logged_in and not self.paused and not self.dnd and not self.resting and self.activity == IDLE

    @property
    def state(self):
        """Return one word for wallboards: logged_out, ringing, talking, wrapup, paused, dnd or ready."""
        if not self.logged_in:
            return "logged_out"
        if self.activity != IDLE:
            return self.activity
        return "paused" if self.paused else "dnd" if self.dnd else "ready"


@dataclass(eq=False)
class QCall:
    """A call as the ACD sees it."""

    id: str
    caller: str = ""
    priority: int = 0
    skill: Optional[str] = None
    data: dict = field(default_factory=dict)  # call data, carried through transfers
    queue: Optional[str] = None
    state: str = WAITING
    entered: float = 0.0
    key: tuple = ()
    offers: dict = field(default_factory=dict)  # agent -> ring deadline
    agent: Optional[str] = None
    answered_at: Optional[float] = None
    hold_since: Optional[float] = None
    hold_total: float = 0.0
    callback: Optional[str] = None  # number to call back; the caller is no longer on the line
    max_wait_at: Optional[float] = None
    next_announce: Optional[float] = None
    next_step: Optional[float] = None  # ring-progressively: when to add the next agent
    token: int = -1  # heap entries with another token are stale (tokens are unique in the Acd, so a
    # caller who hangs up and calls again under the same id never revives an old entry)


@dataclass(eq=False)
class Queue:
    """A queue's configuration and live state."""

    name: str
    strategy: str = "longest_idle"
    members: dict = field(default_factory=dict)  # agent -> penalty, in configured (hunt) order
    wrapup: Optional[float] = 0.0  # after-call work seconds; None: until the agent ends it
    ring_timeout: float = 15.0
    max_wait: Optional[float] = None
    overflow: Optional[str] = None  # 'queue:NAME', 'voicemail', 'callback' or None (leave)
    announce_every: Optional[float] = None
    join_empty: str = "loggedin"  # always | loggedin (some member logged in) | ready (some not paused)
    leave_empty: bool = False  # waiting calls leave when the join rule stops holding
    sl_seconds: Optional[float] = None  # service level target and short abandon for this queue (None:
    short_abandon: Optional[float] = None  # the ACD's service_level); the mode is the ACD's for every queue
    auto_pause_after: int = 0  # pause an agent after this many unanswered offers in a row (0: never)
    sticky_window: float = 0.0  # seconds a caller's last agent is preferred (strategy 'sticky')
    progressive_step: float = 5.0  # seconds between extra agents (strategy 'ring_progressively')
    honour_priority: bool = False  # strategy 'priority' always honours it
    hours: Optional[tuple] = None  # (open, close) seconds of the day; outside them joins are refused
    closed_target: Optional[str] = None  # where callers go outside hours
    retry: float = 2.0  # seconds an agent rests after an unanswered offer before the next one
    aht_guess: float = 180.0  # handle time used for expected wait until calls have completed
    # live state
    waiting: dict = field(default_factory=dict)  # skill -> heap of (key, token, call id)
    calls: dict = field(default_factory=dict)  # call id -> QCall waiting or ringing here
    available: dict = field(default_factory=dict)  # available member names (insertion ordered)
    idle_heaps: dict = field(default_factory=dict)  # penalty -> heap of (idle_since, order, name), lazy
    order: dict = field(default_factory=dict)  # member -> hunt position
    rr_last: int = -1
    served: dict = field(default_factory=dict)  # member -> calls answered here
    talked: dict = field(default_factory=dict)  # member -> talk seconds here
    recent_handle: deque = field(default_factory=lambda: deque(maxlen=50))
    today: dict = field(default_factory=dict)  # live counters (see Acd._count)


STRATEGIES = ("ring_all", "linear", "round_robin", "longest_idle", "fewest_calls", "least_talk", "random",
              "weighted_random", "ring_progressively", "skills", "priority", "sticky")
MULTI_RING = ("ring_all", "ring_progressively")


class Acd:
    """The automatic call distributor. Add queues and agents, then send commands; read decisions."""

    def __init__(self, seed=1, service_level=None, log_bound=500_000):
        self.service_level = service_level or ServiceLevel()  # the centre's definition (see level())
        self.day_offset = 0.0  # seconds of the local day at ACD time 0, for queues' opening hours
        self._sl_logged: dict = {}  # queue -> the ServiceLevel last written to the queue log
        self.queues: dict[str, Queue] = {}
        self.agents: dict[str, Agent] = {}
        self.calls: dict[str, QCall] = {}
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

    # --- agent commands --------------------------------------------------------------------------
    def login(self, agent, now, contact=None, ready=True):
        """Log an agent in (ready unless ready=False); return decisions."""
        self._set_now(now)
        a = self._agent(agent)
        if a.logged_in:
            raise AcdError("already_logged_in", f"{agent} is logged in")
        if contact:
            a.contact = contact
        a.logged_in, a.paused, a.reason, a.activity, a.idle_since, a.missed = True, not ready, "", IDLE, self.now, 0
        self._log("LOGIN", agent=agent, contact=a.contact)
        if not ready:
            self._log("PAUSE", agent=agent, reason="login")
        self._became(a)
        self._dispatch_all(a)
        return self._take()

    def logout(self, agent, now):
        """Log an agent out; AcdError agent_in_call while they talk. Return decisions."""
        self._set_now(now)
        a = self._agent(agent)
        if not a.logged_in:
            raise AcdError("not_logged_in", f"{agent} is not logged in")
        if a.activity == TALKING:
            raise AcdError("agent_in_call", f"{agent} is in call {a.call}; hang up first")
        if a.activity == RINGING:
            self._withdraw(self.calls[a.call], a, "RINGCANCELED")
        elif a.activity == WRAPUP:
            self._end_wrapup(a)
        a.logged_in = False
        self._unavailable(a)
        self._log("LOGOUT", agent=agent)
        for qname in a.queues:
            self._check_empty(self.queues[qname])
        self._dispatch_all()
        return self._take()

    def pause(self, agent, now, reason="", paused=True):
        """Pause (not ready, with a reason code) or unpause an agent. Pausing while the phone rings
        withdraws the offer (the call goes back to the head of the queue). Return decisions."""
        self._set_now(now)
        a = self._agent(agent)
        if not a.logged_in:
            raise AcdError("not_logged_in", f"{agent} is not logged in")
        if paused == a.paused:
            raise AcdError("already_paused" if paused else "not_paused", f"{agent} paused={a.paused}")
        if paused and a.activity == RINGING:
            self._withdraw(self.calls[a.call], a, "RINGCANCELED")
        a.paused, a.reason = paused, reason if paused else ""
        self._log("PAUSE" if paused else "UNPAUSE", agent=agent, reason=reason or "-")
        if paused:
            self._unavailable(a)
            for qname in a.queues:
                self._check_empty(self.queues[qname])
        else:
            a.missed = 0
            self._became(a)
        self._dispatch_all()
        return self._take()

    def set_dnd(self, agent, now, on=True):
        """Set or clear do-not-disturb (no offers; unlike pause, no reason and no auto-pause). Return decisions."""
        self._set_now(now)
        a = self._agent(agent)
        if a.dnd == on:
            return []
        if on and a.activity == RINGING:
            self._withdraw(self.calls[a.call], a, "RINGCANCELED")
        a.dnd = on
        self._log("DND", agent=agent, on=int(on))
        if on:
            self._unavailable(a)
        else:
            self._became(a)
        self._dispatch_all()
        return self._take()

    def end_wrapup(self, agent, now):
        """End an agent's after-call work now (manual wrap-up); return decisions."""
        self._set_now(now)
        a = self._agent(agent)
        if a.activity != WRAPUP:
            raise AcdError("not_in_wrapup", f"{agent} is {a.state}")
        self._end_wrapup(a)
        self._dispatch_all()
        return self._take()

    def answer(self, agent, call_id, now):
        """The agent answered the call ringing their phone; return decisions (connect, cancels)."""
        self._set_now(now)
        a, c = self._agent(agent), self._call(call_id)
        if a.activity != RINGING or a.call != call_id:
            raise AcdError("not_ringing", f"{agent} is not being offered {call_id}")
        self._connect(c, a, "CONNECT")
        self._dispatch_all()
        return self._take()

    def decline(self, agent, call_id, now):
        """The agent's phone could not ring or rejected the offer (busy, off hook): counted as a ring
        with no answer; return decisions."""
        self._set_now(now)
        a, c = self._agent(agent), self._call(call_id)
        if a.activity != RINGING or a.call != call_id:
            raise AcdError("not_ringing", f"{agent} is not being offered {call_id}")
        a.missed += 1
        self._withdraw(c, a, "RINGNOANSWER", ringtime=round(self.now - c.offers[agent] + self.queues[c.queue].ring_timeout, 3))
        self._auto_pause(a, self.queues[c.queue], call_id)
        self._dispatch_all()
        return self._take()

    def _auto_pause(self, a, q, call_id):
        if q.retry > 0:
            a.resting = True
            self._unavailable(a)
            self._at(self.now + q.retry, "rest", a.name)
        if q.auto_pause_after and a.missed >= q.auto_pause_after and not a.paused:
            a.paused, a.reason = True, "auto"
            self._unavailable(a)
            self._log("PAUSE", agent=a.name, reason="auto")
            self._emit("paused", call_id, a.name, {"reason": "auto"})

    def pickup(self, agent, call_id, now):
        """An idle agent picks up a call ringing another agent's phone; return decisions."""
        self._set_now(now)
        a, c = self._agent(agent), self._call(call_id)
        if c.state != OFFERED:
            raise AcdError("not_ringing", f"{call_id} is not ringing anyone")
        if not a.logged_in or a.activity != IDLE:
            raise AcdError("agent_busy", f"{agent} is {a.state}")
        self._log("PICKUP", c.id, c.queue, agent)
        self._connect(c, a, "CONNECT")
        self._dispatch_all()
        return self._take()

    def hold(self, agent, now, on=True):
        """Put the agent's caller on hold (or retrieve them); return decisions."""
        self._set_now(now)
        a = self._agent(agent)
        if a.activity != TALKING:
            raise AcdError("not_in_call", f"{agent} is {a.state}")
        c = self.calls[a.call]
        if on == (c.hold_since is not None):
            raise AcdError("already_on_hold" if on else "not_on_hold", f"{c.id}")
        if on:
            c.hold_since = self.now
        else:
            c.hold_total += self.now - c.hold_since
            c.hold_since = None
        self._log("HOLD" if on else "UNHOLD", c.id, c.queue, agent)
        return self._take()

    def transfer(self, agent, target, now, attended=False):
        """Transfer the agent's call to 'queue:NAME' or to another agent (ringing them; attended=True
        connects at once, the target having agreed in consultation). Call data goes along. Return decisions."""
        self._set_now(now)
        a = self._agent(agent)
        if a.activity != TALKING:
            raise AcdError("not_in_call", f"{agent} is {a.state}")
        c = self.calls[a.call]
        if target.startswith("queue:"):
            q = self._queue(target[6:])
            dest = None
        else:
            dest = self._agent(target)
            if dest is a:
                raise AcdError("transfer_to_self", f"{agent} cannot transfer to themselves")
            if not dest.logged_in or dest.activity != IDLE or (not attended and not dest.available):
                raise AcdError("agent_unavailable", f"{target} is {dest.state}")
        self._finish_talk(c, a, "TRANSFER", target=target)
        if dest is None:
            self._enter(c, q, transferred=True)
        elif attended:
            qname = c.queue
            self._log_level(self.queues[qname])
            self._log("ENTER", c.id, qname, caller=c.caller or "-", priority=c.priority, transferred=1)
            self._count(self.queues[qname], "offered")
            c.entered = self.now
            self._connect(c, dest, "CONNECT")
        else:
            qname = c.queue
            self._log_level(self.queues[qname])
            self._log("ENTER", c.id, qname, caller=c.caller or "-", priority=c.priority, transferred=1)
            self._count(self.queues[qname], "offered")
            c.entered, c.state = self.now, WAITING
            self.queues[qname].calls[c.id] = c
            self._ring(self.queues[qname], c, dest)
        self._dispatch_all()
        return self._take()

    # --- caller commands -------------------------------------------------------------------------
    def enter(self, call_id, queue, now, caller="", priority=0, skill=None, data=None):
        """A caller joins a queue; return decisions (leave when the join rules refuse them)."""
        self._set_now(now)
        q = self._queue(queue)
        if call_id in self.calls:
            raise AcdError("call_in_queue", f"{call_id} is already in the ACD (queue {self.calls[call_id].queue})")
        c = QCall(call_id, caller, int(priority), skill, dict(data or {}))
        refused = self._join_refused(q)
        if refused:
            self._log("JOINREFUSED", call_id, queue, reason=refused)
            if refused == "closed" and q.closed_target:
                self._redirect(c, q, q.closed_target, "closed")
            else:
                self._emit("leave", call_id, data={"reason": refused, "queue": queue})
            return self._take()
        self.calls[call_id] = c
        self._enter(c, q)
        self._dispatch(q)
        return self._take()

    def hangup(self, call_id, now):
        """The call ended (caller or agent hung up): abandon if it was waiting, complete if connected.
        Return decisions."""
        self._set_now(now)
        c = self._call(call_id)
        if c.state == CONNECTED:
            self._finish_talk(c, self.agents[c.agent], "COMPLETE")
            self._forget(c)
        else:
            q = self.queues[c.queue]
            wait = self.now - c.entered
            for name in list(c.offers):
                self._withdraw(c, self.agents[name], "RINGCANCELED", requeue=False)
            self._log("ABANDON", c.id, q.name, wait=round(wait, 3))
            self._count(q, "abandoned")
            self._count(q, "abandon_delay", wait)
            if self.level(q.name).is_short(wait):
                self._count(q, "short_abandoned")
            self._remove(c)
        self._dispatch_all()
        return self._take()

    def request_callback(self, call_id, number, now):
        """The caller leaves a number and hangs up but keeps their place; return decisions."""
        self._set_now(now)
        c = self._call(call_id)
        if c.state == CONNECTED:
            raise AcdError("already_connected", f"{call_id} is talking to {c.agent}")
        c.callback = number
        self._log("CALLBACK", c.id, c.queue, number=number)
        return self._take()

    def set_flag(self, call_id, name, value, now):
        """Set a flag on a call (scripts mark first-call resolution with 'fcr'); logged for reports."""
        self._set_now(now)
        c = self._call(call_id)
        c.data[name] = value
        self._log("FLAG", c.id, c.queue, c.agent, name=name, value=int(bool(value)))
        return self._take()

    # --- time ------------------------------------------------------------------------------------
    def next_deadline(self):
        """Return the earliest time handle_timer() has work to do, or None."""
        return self.timers.next_deadline()

    def handle_timer(self, now):
        """Run the timers due by now (ring timeouts, wrap-up ends, announcements, max wait); return decisions."""
        self._set_now(now)
        timers = self.timers
        while True:
            when = timers.next_deadline()
            if when is None or when > self.now:
                break
            owner, name = timers.pop_expired(self.now)
            if type(name) is tuple:  # ("ring", agent)
                self._due_ring(when, owner, name[1])
            else:
                getattr(self, "_due_" + name)(when, owner)
        self._dispatch_all()
        return self._take()

    tick = handle_timer  # the name tests and tools outside the ACD still use

    def _due_ring(self, when, call_id, agent):
        c = self.calls.get(call_id)
        if c is None or c.offers.get(agent) != when:
            return
        a = self.agents[agent]
        q = self.queues[c.queue]
        a.missed += 1
        self._withdraw(c, a, "RINGNOANSWER", ringtime=round(q.ring_timeout, 3))
        self._auto_pause(a, q, call_id)

    def _due_rest(self, when, agent):
        a = self.agents[agent]
        if a.resting:
            a.resting = False
            self._became(a)

    def _due_wrap(self, when, agent):
        a = self.agents[agent]
        if a.activity == WRAPUP and a.wrapup_until == when:
            self._end_wrapup(a)

    def _due_maxwait(self, when, call_id):
        c = self.calls.get(call_id)
        if c is None or c.state == CONNECTED or c.max_wait_at != when:
            return
        q = self.queues[c.queue]
        for name in list(c.offers):
            self._withdraw(c, self.agents[name], "RINGCANCELED", requeue=False)
        self._log("EXITWITHTIMEOUT", c.id, q.name, wait=round(self.now - c.entered, 3))
        self._count(q, "timed_out")
        self._remove(c)
        self._redirect(c, q, q.overflow, "timeout")

    def _due_announce(self, when, call_id):
        c = self.calls.get(call_id)
        if c is None or c.state == CONNECTED or c.next_announce != when:
            return
        q = self.queues[c.queue]
        if not q.announce_every:
            return
        self._emit("announce", c.id, data={"position": self._position(c), "expected_wait": self.expected_wait(c.id)})
        c.next_announce = when + q.announce_every
        self._at(c.next_announce, "announce", c.id)

    def _due_step(self, when, call_id):
        c = self.calls.get(call_id)
        if c is None or c.state != OFFERED or c.next_step != when:
            return
        q = self.queues[c.queue]
        cands = [a for a in self._candidates(q, c) if a.name not in c.offers]
        if cands:
            self._ring(q, c, min(cands, key=lambda a: q.order[a.name]))
        c.next_step = when + q.progressive_step
        self._at(c.next_step, "step", c.id)

    # --- queries ---------------------------------------------------------------------------------
    def position(self, call_id):
        """Return the call's 1-based place among calls waiting in its queue."""
        return self._position(self._call(call_id))

    def _position(self, c):
        q = self.queues.get(c.queue)
        if q is None or c.state == CONNECTED:
            return 0
        return 1 + sum(1 for o in q.calls.values() if o.key < c.key)

    def expected_wait(self, call_id):
        """Return the expected wait in seconds from the live queue: place x recent mean handle time /
        agents staffed (logged in, not paused), less the time already waited."""
        c = self._call(call_id)
        q = self.queues[c.queue]
        staffed = sum(1 for n in q.members if self.agents[n].logged_in and not self.agents[n].paused)
        if not staffed:
            return float("inf")
        aht = sum(q.recent_handle) / len(q.recent_handle) if q.recent_handle else q.aht_guess
        busy_ahead = sum(1 for n in q.members if self.agents[n].activity in (TALKING, WRAPUP))
        free_now = staffed - busy_ahead
        place = self._position(c)
        if place <= free_now:
            return 0.0
        return round(max(0.0, (place - free_now) * aht / staffed), 1)

    def realtime(self, queue, now):
        """Return the wallboard view of a queue: calls waiting, longest wait, agents by state, today's totals."""
        q = self._queue(queue)
        waits = [now - c.entered for c in q.calls.values()]
        states = {}
        for n in q.members:
            s = self.agents[n].state
            states[s] = states.get(s, 0) + 1
        t = q.today
        level = self.level(queue)
        offered, answered = t.get("offered", 0), t.get("answered", 0)
        return {"queue": queue, "waiting": len(q.calls), "longest_wait": max(waits, default=0.0),
                "agents": states, "offered": offered, "answered": answered,
                "abandoned": t.get("abandoned", 0), "short_abandoned": t.get("short_abandoned", 0),
                "answered_in_sl": t.get("answered_in_sl", 0),
                "service_level": level.of(t.get("answered_in_sl", 0), offered, answered, t.get("short_abandoned", 0)),
                "sl_seconds": level.seconds, "sl_mode": level.mode, "short_abandon": level.short_abandon}

    def agent_realtime(self, agent, now):
        """Return the wallboard view of an agent: state, pause reason, seconds in state, calls, talk time, call."""
        a = self._agent(agent)
        return {"agent": agent, "state": a.state, "reason": a.reason, "calls": a.calls,
                "talk_time": round(a.talk_time, 3), "call": a.call if a.activity != IDLE else None,
                "in_state": round(now - self._since.get(agent, 0.0), 3)}

    # --- internals: queue membership ---------------------------------------------------------------
    def _count(self, q, name, value=1):
        q.today[name] = q.today.get(name, 0) + value

    def _join_refused(self, q):
        if q.hours is not None:
            t = (self.now + self.day_offset) % 86400
            if not q.hours[0] <= t < q.hours[1]:
                return "closed"
        if q.join_empty == "always":
            return None
        agents = self.agents
        if not any(agents[n].logged_in for n in q.members):
            return "no_agents"
        if q.join_empty == "ready" and not any(agents[n].logged_in and not agents[n].paused for n in q.members):
            return "all_paused"
        return None

    def _check_empty(self, q):
        if not q.leave_empty or not self._join_refused(q):
            return
        reason = self._join_refused(q)
        for c in list(q.calls.values()):
            for name in list(c.offers):
                self._withdraw(c, self.agents[name], "RINGCANCELED", requeue=False)
            self._log("EXITEMPTY", c.id, q.name, wait=round(self.now - c.entered, 3), reason=reason)
            self._count(q, "left_empty")
            self._remove(c)
            self._emit("leave", c.id, data={"reason": reason, "queue": q.name})

    def _enter(self, c, q, transferred=False):
        c.queue, c.state, c.entered, c.agent = q.name, WAITING, self.now, None
        c.max_wait_at = c.next_announce = c.next_step = None  # the old queue's timers do not follow the call
        prio = -c.priority if (q.honour_priority or q.strategy == "priority") else 0
        c.key = (prio, next(self._seq))
        self.calls[c.id] = c
        q.calls[c.id] = c
        self._push(q, c)
        self._log_level(q)
        self._log("ENTER", c.id, q.name, caller=c.caller or "-", priority=c.priority, transferred=int(transferred))
        self._count(q, "offered")
        if q.max_wait is not None:
            c.max_wait_at = self.now + q.max_wait
            self._at(c.max_wait_at, "maxwait", c.id)
        if q.announce_every:
            c.next_announce = self.now + q.announce_every
            self._at(c.next_announce, "announce", c.id)

    def _redirect(self, c, q, target, reason):
        if target and target.startswith("queue:"):
            dest = self._queue(target[6:])
            self._emit("overflow", c.id, data={"target": target, "reason": reason, "queue": q.name})
            if self._join_refused(dest):
                self._emit("leave", c.id, data={"reason": self._join_refused(dest), "queue": dest.name})
                return
            self._enter(c, dest)
        elif target:
            self._emit("overflow", c.id, data={"target": target, "reason": reason, "queue": q.name,
                                               "callback": c.callback})
        else:
            self._emit("leave", c.id, data={"reason": reason, "queue": q.name})

    def _push(self, q, c):
        c.token = next(self._seq)
        heapq.heappush(q.waiting.setdefault(c.skill, []), (c.key, c.token, c.id))

    def _remove(self, c):
        q = self.queues[c.queue]
        q.calls.pop(c.id, None)
        c.token = next(self._seq)  # its heap entry goes stale
        c.state = DONE
        self._forget(c)

    def _forget(self, c):
        """The call leaves the ACD: drop it and its timers (the service would otherwise keep its owner)."""
        self.calls.pop(c.id, None)
        self.timers.cancel_owner(c.id)

    def _head(self, heap):
        while heap:
            key, token, cid = heap[0]
            c = self.calls.get(cid)
            if c is not None and c.token == token and c.state == WAITING:
                return c
            heapq.heappop(heap)
        return None

    # --- internals: agents ---------------------------------------------------------------------------
    def _became(self, a):
        # availability sets only; every public command dispatches once at its end, so an agent is
        # never offered a call half-way through a command that is about to pause or log them out
        if a.available:
            for qname in a.queues:
                q = self.queues[qname]
                if a.name not in q.available:
                    q.available[a.name] = None
                    heapq.heappush(q.idle_heaps.setdefault(q.members[a.name], []),
                                   (a.idle_since, q.order[a.name], a.name))

    def _unavailable(self, a):
        for qname in a.queues:
            self.queues[qname].available.pop(a.name, None)

    def _end_wrapup(self, a):
        acw = self.now - a.wrap_start
        self._log("WRAPUPEND", a.call, a.wrap_queue, a.name, acw=round(acw, 3))
        q = self.queues[a.wrap_queue]
        self._count(q, "acw", acw)
        q.recent_handle.append(a.handled + acw)
        a.activity, a.call, a.wrapup_until, a.idle_since = IDLE, None, None, self.now
        self._became(a)

    def _ring(self, q, c, a):
        a.activity, a.call = RINGING, c.id
        self._unavailable(a)
        deadline = self.now + q.ring_timeout
        c.offers[a.name] = deadline
        c.state = OFFERED
        c.token = next(self._seq)
        self._at(deadline, ("ring", a.name), c.id)
        self._log("OFFER", c.id, q.name, a.name)
        self._emit("offer", c.id, a.name, {"contact": a.contact, "caller": c.caller, "queue": q.name,
                                           "callback": c.callback, "data": c.data})

    def _withdraw(self, c, a, event, requeue=True, **fields):
        """Stop ringing agent a for call c; the call waits again when no offer is left."""
        c.offers.pop(a.name, None)
        self.timers.cancel(c.id, ("ring", a.name))
        self._log(event, c.id, c.queue, a.name, **fields)
        self._emit("cancel", c.id, a.name)
        a.activity, a.call = IDLE, None
        self._became(a)
        if requeue and not c.offers and c.state == OFFERED:
            c.state = WAITING
            self._push(self.queues[c.queue], c)

    def _connect(self, c, a, event):
        q = self.queues[c.queue]
        for name in list(c.offers):
            if name != a.name:
                self._withdraw(c, self.agents[name], "RINGCANCELED", requeue=False)
        c.offers.clear()
        if a.activity != RINGING:
            self._unavailable(a)
        wait = self.now - c.entered
        c.state, c.agent, c.answered_at, c.hold_since, c.hold_total = CONNECTED, a.name, self.now, None, 0.0
        c.token = next(self._seq)
        q.calls.pop(c.id, None)
        a.activity, a.call, a.missed = TALKING, c.id, 0
        a.calls += 1
        q.served[a.name] = q.served.get(a.name, 0) + 1
        if a.name in q.order:
            q.rr_last = q.order[a.name]
        self._log(event, c.id, q.name, a.name, wait=round(wait, 3))
        self._count(q, "answered")
        self._count(q, "wait", wait)
        if self.level(q.name).in_target(wait):
            self._count(q, "answered_in_sl")
        self._emit("connect", c.id, a.name, {"queue": q.name, "wait": wait, "callback": c.callback,
                                             "data": c.data})

    def _finish_talk(self, c, a, event, **fields):
        q = self.queues[c.queue]
        if c.hold_since is not None:
            c.hold_total += self.now - c.hold_since
            c.hold_since = None
        talk = self.now - c.answered_at - c.hold_total
        self._log(event, c.id, q.name, a.name, talk=round(talk, 3), hold=round(c.hold_total, 3), **fields)
        self._count(q, "talk", talk)
        self._count(q, "hold", c.hold_total)
        if event == "TRANSFER":
            self._count(q, "transfers")
        a.talk_time += talk
        q.talked[a.name] = q.talked.get(a.name, 0.0) + talk
        if c.caller:
            self.last_agent_of[c.caller] = (a.name, self.now)
        a.activity, a.wrap_start, a.wrap_queue, a.handled = WRAPUP, self.now, q.name, talk + c.hold_total
        c.agent = None
        if q.wrapup is None:
            a.wrapup_until = None
        elif q.wrapup <= 0:
            self._end_wrapup(a)
        else:
            a.wrapup_until = self.now + q.wrapup
            self._at(a.wrapup_until, "wrap", a.name)

    # --- internals: routing -------------------------------------------------------------------------
    def _dispatch_all(self, agent=None):
        names = agent.queues if agent is not None else self.queues
        for qname in names:
            self._dispatch(self.queues[qname])

    def _dispatch(self, q):
        while q.available and q.calls:
            heads = [c for c in (self._head(h) for h in q.waiting.values()) if c is not None]
            if not heads:
                return
            heads.sort(key=lambda c: c.key)
            for c in heads:
                if c.skill is None and q.strategy in ("longest_idle", "priority"):
                    a = self._longest_idle(q)
                    agents = [a] if a is not None else []
                else:
                    agents = pick(self, q, c, self._candidates(q, c, penalty_tiers=q.strategy != "weighted_random"))
                if agents:
                    heapq.heappop(q.waiting[c.skill])
                    for a in agents:
                        self._ring(q, c, a)
                    if q.strategy == "ring_progressively":
                        c.next_step = self.now + q.progressive_step
                        self._at(c.next_step, "step", c.id)
                    break
            else:
                return

    def _longest_idle(self, q):
        """Return the longest-idle available member of the best tier from the queue's idle heaps: the
        common case costs O(log agents) instead of a scan of every available agent."""
        for pen in sorted(q.idle_heaps):
            heap = q.idle_heaps[pen]
            while heap:
                idle, order, name = heap[0]
                if name not in q.available or q.members.get(name) != pen:
                    heapq.heappop(heap)
                elif self.agents[name].idle_since != idle:
                    heapq.heapreplace(heap, (self.agents[name].idle_since, order, name))
                else:
                    return self.agents[name]
        return None

    def _candidates(self, q, c, penalty_tiers=True):
        """Available members who can take c: with the call's skill, and in the best penalty tier."""
        agents = [self.agents[n] for n in q.available]
        if c.skill is not None:
            agents = [a for a in agents if a.skills.get(c.skill, 0) >= 1]
        if penalty_tiers and agents:
            best = min(q.members[a.name] for a in agents)
            agents = [a for a in agents if q.members[a.name] == best]
        return agents

    # --- checks --------------------------------------------------------------------------------------
    def check_invariants(self):
        """Raise AssertionError if the state is inconsistent (used by the property tests)."""
        talking = {}
        for a in self.agents.values():
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
