"""How many numbers an outbound campaign dials now: progressive or predictive pacing, sans-IO.

Progressive: one line per free agent, counting the lines already out.

Predictive: the pacer measures the share of attempts a person answers (``p``), how long attempts take
(from dialling to a person's answer, and to any other end: busy, no answer, a machine), and the
agents' handle time (``H``, talk plus wrap-up). The agents it can count on are the free ones plus each
busy agent with the chance of finishing within the usual time to a person's answer ``T``
(``1 - exp(-T / H)``, handle times taken as exponential). Each line already out has its own chance of
still turning into a person, given how long it has been out (a line that has rung for 20 s rarely
does): ``p S(age) / (p S(age) + (1 - p) R(age))``, with ``S`` and ``R`` the measured shares of
person-answered and other attempts that last longer than that age. A person waiting for an agent
counts with chance 1. The pacer then dials the largest number of new lines (chance ``p`` each) for
which the expected share of people who would find no agent stays under the target::

    X = number of people the lines out will bring (a sum of independent chances)
    E[max(0, X - agents)] / E[X]  <=  target

and never more than ``max_ratio`` lines per agent it counts on. The target is half the abandon cap,
so the campaign keeps a margin for bad luck. It paces progressively while it has measured too few
attempts, and whenever one more abandoned call would take the campaign's abandon rate so far
(abandoned / answered by a person) over the cap; so the rate stays under the cap, with a warm-up of
about 1 / cap people answered before the first extra line.

An abandoned call is a call answered by a person who found no free agent within 2 seconds of the
end of the answer (the answering-machine verdict, or the answer itself without detection): the
usual regulatory definition (Ofcom's "2 seconds after the end of the greeting", the FTC's 2 seconds
after the greeting).
"""
import bisect
import math
from collections import deque

import numpy as np

ABANDON_SECONDS = 2.0


def chances_distribution(chances):
    """Return P(X = k) for k = 0..len(chances) (a numpy array), X the number of successes of independent
    events with these chances."""
    dist = np.ones(1)
    for c in chances:
        dist = _add_chance(dist, c)
    return dist


def _add_chance(dist, c):
    """Return the distribution of X + 1 event of chance c, from that of X."""
    out = np.zeros(dist.size + 1)
    out[:-1] = dist * (1.0 - c)
    out[1:] += dist * c
    return out


def _share(dist, mean, agents):
    """Return E[max(0, X - agents)] / E[X] from X's distribution and mean."""
    if mean <= 0:
        return 0.0
    k = np.arange(dist.size)
    over = k > agents
    return float(np.dot(k[over] - agents, dist[over])) / mean


def abandon_share(chances, agents):
    """Return E[max(0, X - agents)] / E[X]: the share of answered calls that would find no agent, for X
    the people that lines with these chances bring."""
    return _share(chances_distribution(chances), sum(chances), agents)


def expected_abandon_share(lines, p, agents):
    """Return abandon_share of `lines` new lines, each answered by a person with chance p."""
    return abandon_share([p] * lines, agents)


class Pacer:
    """Decides the lines to dial from measured answer rate, connect time and handle time."""

    def __init__(self, mode="progressive", max_ratio=2.5, abandon_cap=0.03, warmup=20, window=300,
                 margin=0.5, prior_connect=15.0, prior_handle=180.0):
        if mode not in ("progressive", "predictive"):
            raise ValueError(f"mode must be progressive or predictive, got {mode!r}")
        if max_ratio < 1 or not 0 <= abandon_cap < 1:
            raise ValueError("need max_ratio >= 1 and 0 <= abandon_cap < 1")
        self.mode, self.max_ratio, self.abandon_cap = mode, max_ratio, abandon_cap
        self.warmup, self.margin = warmup, margin
        self.results = deque(maxlen=window)  # 1 when a person answered, else 0
        self.connect_times = deque(maxlen=window)  # seconds from dialling to a person's answer
        self.other_times = deque(maxlen=window)  # seconds from dialling to any other end
        self.handle_times = deque(maxlen=window)
        self.prior_connect, self.prior_handle = prior_connect, prior_handle
        self.attempts = 0  # finished attempts
        self.humans = 0  # answered by a person (campaign so far)
        self.abandoned = 0
        self.machines = 0
        self.last_mode = mode  # what the last decision used: predictive or progressive

    # --- measurements ------------------------------------------------------------------------------
    def ended(self, human, seconds=None, machine=False):
        """An attempt finished `seconds` after dialling: a person answered (human) or not (a machine, busy,
        no answer...)."""
        self.attempts += 1
        self.results.append(1 if human else 0)
        if human:
            self.humans += 1
        if machine:
            self.machines += 1
        if seconds is not None:
            (self.connect_times if human else self.other_times).append(seconds)

    def abandon(self):
        """A person answered and found no agent within ABANDON_SECONDS."""
        self.abandoned += 1

    def handled(self, seconds):
        """An agent finished a campaign call: talk plus wrap-up seconds."""
        self.handle_times.append(seconds)

    # --- figures ---------------------------------------------------------------------------------
    @property
    def abandon_rate(self):
        """Return abandoned / answered by a person, over the campaign so far (0 before any answer)."""
        return self.abandoned / self.humans if self.humans else 0.0

    @property
    def answer_rate(self):
        """Return the share of recent attempts a person answered (None before any)."""
        return sum(self.results) / len(self.results) if self.results else None

    def connect_time(self):
        """Return the mean seconds from dialling to a person's answer (the prior before any)."""
        return sum(self.connect_times) / len(self.connect_times) if self.connect_times else self.prior_connect

    def handle_time(self, measured=None):
        """Return the mean handle time: the given measurement (the queue's), else our own, else the prior."""
        if measured:
            return measured
        return sum(self.handle_times) / len(self.handle_times) if self.handle_times else self.prior_handle

    # --- the decision ------------------------------------------------------------------------------
    def chance(self, age, p, people=None, others=None):
        """Return the chance that a line out for `age` seconds still brings a person (None: one is there);
        people and others: the measured durations, sorted (default: this pacer's)."""
        if age is None:
            return 1.0
        people = sorted(self.connect_times) if people is None else people
        others = sorted(self.other_times) if others is None else others
        humans = p * _survival(people, age)
        rest = (1.0 - p) * _survival(others, age)
        return humans / (humans + rest) if humans + rest > 0 else 0.0

    def lines(self, free_agents, busy_agents, in_flight, handle_time=None):
        """Return how many new numbers to dial now, given the free and busy agents and the lines already
        out: a count, or a list of their ages in seconds (None for a person waiting for an agent)."""
        ages = [0.0] * in_flight if isinstance(in_flight, int) else list(in_flight)
        progressive = max(0, free_agents - len(ages))
        p = self.answer_rate
        if (self.mode == "progressive" or len(self.results) < self.warmup or not p
                or (self.abandoned + 1) / (self.humans + 1) > self.abandon_cap):
            self.last_mode = "progressive"
            return progressive
        self.last_mode = "predictive"
        soon = self.connect_time()
        agents = free_agents + busy_agents * (1.0 - math.exp(-soon / self.handle_time(handle_time)))
        if agents < 1.0 and free_agents == 0:
            return 0
        cap = int(math.floor(self.max_ratio * max(agents, free_agents) + 1e-9))
        target = self.abandon_cap * self.margin
        people, others = sorted(self.connect_times), sorted(self.other_times)
        chances = [self.chance(age, p, people, others) for age in ages] + [p] * progressive
        dist, mean = chances_distribution(chances), sum(chances)
        new = progressive
        while len(ages) + new + 1 <= cap:  # one more line at a time: the distribution grows by one event
            grown = _add_chance(dist, p)
            if _share(grown, mean + p, agents) > target:
                break
            dist, mean, new = grown, mean + p, new + 1
        return new

    def status(self):
        """Return the pacing figures as a dict (for status snapshots)."""
        p = self.answer_rate
        return {"mode": self.mode, "pacing_now": self.last_mode, "attempts": self.attempts, "humans": self.humans,
                "machines": self.machines, "abandoned": self.abandoned, "abandon_rate": round(self.abandon_rate, 4),
                "answer_rate": None if p is None else round(p, 3), "connect_time": round(self.connect_time(), 1)}


def _survival(times, age):
    """Return the share of measured durations (sorted) longer than age (1 before any is measured)."""
    if not times:
        return 1.0
    return (len(times) - bisect.bisect_right(times, age)) / len(times)
