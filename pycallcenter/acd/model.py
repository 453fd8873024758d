"""The ACD's data model: agents, calls and queues as the core keeps them, the decisions it returns, its error.

Plain records with no behaviour beyond derived read-only properties; the commands that change them are the
mixins of :class:`pycallcenter.acd.core.Acd`. A store shared by several appliances would hold these.
"""
from collections import deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional

from pycallcenter.errors import PyCallCenterError

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
