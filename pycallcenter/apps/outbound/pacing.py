"""How many numbers an outbound campaign dials now: progressive or predictive pacing, sans-IO.

Progressive: one line per free agent, counting the lines already out.

Predictive: the pacer measures the share of attempts a person answers (``p``), how long an attempt
takes from dialling to the person's answer (``T``, ring time plus answering-machine detection) and
the agents' handle time (``H``, talk plus wrap-up). The agents it can count on are the free ones plus
each busy agent with the chance of finishing within ``T`` (``1 - exp(-T / H)``, handle times taken as
exponential). It then dials the largest number of lines whose expected abandoned share stays under
the target::

    X ~ Binomial(lines out, p)           people who will answer
    E[max(0, X - agents)] / E[X]  <=  target

and never more than ``max_ratio`` lines per agent it counts on. The target is half the abandon cap,
so the campaign keeps a margin for bad luck; when the campaign's abandon rate so far (abandoned /
answered by a person) is over the cap, or too few attempts have been measured yet, it paces
progressively until the rate is back under the cap.

An abandoned call is a call answered by a person who found no free agent within 2 seconds of the
end of the answer (the answering-machine verdict, or the answer itself without detection): the
usual regulatory definition (Ofcom's "2 seconds after the end of the greeting", the FTC's 2 seconds
after the greeting).
"""
import math
from collections import deque

ABANDON_SECONDS = 2.0


def expected_abandon_share(lines, p, agents):
    """Return E[max(0, X - agents)] / E[X] for X ~ Binomial(lines, p): the share of answered calls
    that would find no agent."""
    if lines <= 0 or p <= 0:
        return 0.0
    mean = lines * p
    over = 0.0
    prob = (1.0 - p) ** lines  # P(X = 0), then P(X = k) by the ratio of successive terms
    q = 1.0 - p
    for k in range(0, lines + 1):
        if k > agents:
            over += (k - agents) * prob
        if k < lines:
            prob = prob * (lines - k) / (k + 1) * p / q if q > 0 else (1.0 if k + 1 == lines else 0.0)
    return over / mean


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
        self.handle_times = deque(maxlen=window)
        self.prior_connect, self.prior_handle = prior_connect, prior_handle
        self.attempts = 0  # finished attempts
        self.humans = 0  # answered by a person (campaign so far)
        self.abandoned = 0
        self.machines = 0
        self.last_mode = mode  # what the last decision used: predictive or progressive

    # --- measurements ------------------------------------------------------------------------------
    def ended(self, human, connect_seconds=None, machine=False):
        """An attempt finished: human answered (connect_seconds after dialling) or not (a machine,
        busy, no answer...)."""
        self.attempts += 1
        self.results.append(1 if human else 0)
        if human:
            self.humans += 1
            if connect_seconds is not None:
                self.connect_times.append(connect_seconds)
        if machine:
            self.machines += 1

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
    def lines(self, free_agents, busy_agents, in_flight, handle_time=None):
        """Return how many new numbers to dial now, given the free and busy agents and the attempts
        already out."""
        progressive = max(0, free_agents - in_flight)
        p = self.answer_rate
        if (self.mode == "progressive" or len(self.results) < self.warmup or not p
                or self.abandon_rate > self.abandon_cap):
            self.last_mode = "progressive"
            return progressive
        self.last_mode = "predictive"
        soon = self.connect_time()
        freeing = busy_agents * (1.0 - math.exp(-soon / self.handle_time(handle_time)))
        agents = free_agents + freeing
        if agents < 1.0 and free_agents == 0:
            return 0
        cap = int(math.floor(self.max_ratio * max(agents, free_agents) + 1e-9))
        target = self.abandon_cap * self.margin
        total = max(in_flight, free_agents)
        while total + 1 <= cap and expected_abandon_share(total + 1, p, agents) <= target:
            total += 1
        return max(progressive, total - in_flight)

    def status(self):
        """Return the pacing figures as a dict (for status snapshots)."""
        p = self.answer_rate
        return {"mode": self.mode, "pacing_now": self.last_mode, "attempts": self.attempts, "humans": self.humans,
                "machines": self.machines, "abandoned": self.abandoned, "abandon_rate": round(self.abandon_rate, 4),
                "answer_rate": None if p is None else round(p, 3), "connect_time": round(self.connect_time(), 1)}
