"""A progressive dialler, sans-IO: callbacks and campaign lists dialled one number per free agent,
with busy / no answer / congestion retried on a schedule until answered or out of attempts.

The driver asks ``due(now, free_agents)`` for the numbers to dial now, dials them (engine
``originate`` on a trunk, or a simulation), and reports each outcome with ``result()``. Every
attempt and its call-progress result (and answering-machine verdict) is kept in ``attempts``.
"""
import heapq
import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

RETRY = ("busy", "no_answer", "congestion", "no_line", "failed", "abandoned")
FINAL = ("answered", "sit", "rejected")


def retry_delay(retry_after, attempt):
    """Return the seconds to wait after a failed attempt number `attempt` (1-based): the attempt's entry of
    retry_after, the last one again after that, 0 if there is none."""
    return retry_after[min(attempt, len(retry_after)) - 1] if retry_after else 0.0


@dataclass(eq=False)
class Target:
    """One number to reach and what happened so far."""

    number: str
    kind: str = "campaign"  # campaign or callback
    data: dict = field(default_factory=dict)
    attempts: int = 0
    status: str = "pending"  # pending, dialling, connected, machine, exhausted, failed
    next_due: float = 0.0


class Dialler:
    """Dial numbers progressively (never more lines than free agents) and retry on a schedule."""

    def __init__(self, retry_after=(60.0, 300.0, 900.0), max_attempts=4, machine="done"):
        if max_attempts < 1 or any(s < 0 for s in retry_after):
            raise ValueError("need max_attempts >= 1 and retry delays >= 0")
        if machine not in ("done", "retry"):
            raise ValueError("machine must be 'done' (leave it) or 'retry' (call again later)")
        self.retry_after = tuple(retry_after)
        self.max_attempts = max_attempts
        self.machine = machine
        self.targets: dict[str, Target] = {}
        self.attempts: list = []  # (time, number, attempt, outcome, machine)
        self._due = []
        self._seq = itertools.count()
        self.dialling = 0
        self._by_status = Counter()  # status -> targets (kept as they move: lists may be long)

    def add(self, number, now=0.0, kind="campaign", data=None, attempts=0, status="pending"):
        """Queue a number, due at now (callbacks first: they are dialled before campaign numbers due at the
        same time); attempts and a final status restore a number from an earlier run. Return its Target."""
        if number in self.targets and self.targets[number].status in ("pending", "dialling"):
            raise ValueError(f"{number} is already on the list")
        t = Target(number, kind, dict(data or {}), attempts=attempts, status=status, next_due=now)
        if number in self.targets:
            self._by_status[self.targets[number].status] -= 1
        self.targets[number] = t
        self._by_status[status] += 1
        if status == "pending":
            heapq.heappush(self._due, (now, 0 if kind == "callback" else 1, next(self._seq), number))
        return t

    def next_deadline(self):
        """Return when the next number falls due, or None."""
        return self._due[0][0] if self._due else None

    def due(self, now, free_agents):
        """Return the Targets to dial now: at most free_agents minus the calls already being dialled."""
        out = []
        while self._due and self._due[0][0] <= now and self.dialling + len(out) < free_agents:
            _, _, _, number = heapq.heappop(self._due)
            t = self.targets[number]
            if t.status != "pending":
                continue
            t.status = "dialling"
            t.attempts += 1
            out.append(t)
        self.dialling += len(out)
        self._by_status["pending"] -= len(out)
        self._by_status["dialling"] += len(out)
        return out

    def result(self, number, outcome, now, machine=False):
        """Record how an attempt ended (a DialResult outcome: answered, busy, no_answer, congestion, sit,
        no_line, failed; or abandoned: a person answered and no agent was free, called again later);
        schedule the retry if one is due. Return the Target."""
        t = self.targets.get(number)
        if t is None or t.status != "dialling":
            raise ValueError(f"{number} is not being dialled")
        self.dialling -= 1
        self.attempts.append((now, number, t.attempts, outcome, machine))
        if outcome == "answered" and not machine:
            t.status = "connected"
        elif outcome == "answered" and self.machine == "done":
            t.status = "machine"
        elif outcome in FINAL and outcome != "answered":
            t.status = "failed"
        elif t.attempts >= self.max_attempts:
            t.status = "exhausted"
        else:
            t.status, t.next_due = "pending", now + retry_delay(self.retry_after, t.attempts)
            heapq.heappush(self._due, (t.next_due, 0 if t.kind == "callback" else 1, next(self._seq), number))
        self._by_status["dialling"] -= 1
        self._by_status[t.status] += 1
        return t

    def remaining(self):
        """Return how many numbers are still to be dialled or being dialled."""
        return self._by_status["pending"] + self._by_status["dialling"]

    def summary(self):
        """Return counts of targets by status."""
        return {status: n for status, n in self._by_status.items() if n}
