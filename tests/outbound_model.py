"""A deterministic model of an outbound campaign for the pacing tests: seeded answer outcomes, ring
times and handle times, agents that take a call when free, the 2-second abandon rule. It drives a
pycallcenter.apps.outbound.pacing.Pacer exactly as the campaign feature does (lines per decision from
free agents, busy agents and attempts out), so the figures measure the pacing logic alone.

Run it as a script to print the figures docs/outbound.md quotes."""
import heapq
import random
from dataclasses import dataclass

from pycallcenter.apps.outbound.pacing import ABANDON_SECONDS, Pacer


@dataclass
class ModelResult:
    """What a modelled campaign did."""

    seconds: float
    agents: int
    attempts: int
    humans: int
    connected: int
    abandoned: int
    talk_seconds: float

    @property
    def abandon_rate(self):
        """Return abandoned / answered by a person."""
        return self.abandoned / self.humans if self.humans else 0.0

    @property
    def utilisation(self):
        """Return the share of agent time spent talking."""
        return self.talk_seconds / (self.agents * self.seconds)


def run_model(mode, agents=10, hours=4.0, seed=1, p_human=0.3, p_machine=0.15, p_busy=0.1, handle_mean=120.0,
              wrapup=10.0, ring=(4.0, 18.0), amd=2.0, ring_timeout=25.0, step=0.5, **pacer_options):
    """Return a ModelResult of a campaign of `hours` with `agents` agents paced by a Pacer(mode)."""
    rng = random.Random(seed)
    pacer = Pacer(mode, **pacer_options)
    end = hours * 3600.0
    events = []  # (time, seq, kind, data): 'human', 'other', 'free'
    seq = 0
    free = agents
    out = {}  # attempt number -> when it was dialled (lines out)
    waiting = []  # humans waiting for an agent: answer times (FIFO)
    result = ModelResult(end, agents, 0, 0, 0, 0, 0.0)

    def push(t, kind, data=None):
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, seq, kind, data))

    def connect(t):
        nonlocal free
        free -= 1
        talk = rng.expovariate(1.0 / handle_mean)
        result.connected += 1
        result.talk_seconds += min(talk, end - t)
        pacer.handled(talk + wrapup)
        push(t + talk + wrapup, "free")

    t = 0.0
    while t < end:
        while events and events[0][0] <= t:
            when, _, kind, data = heapq.heappop(events)
            if kind == "free":
                free += 1
            elif kind == "human":
                result.humans += 1
                pacer.ended(True, seconds=when - out.pop(data))
                waiting.append(when)
            else:
                pacer.ended(False, seconds=when - out.pop(data), machine=kind == "machine")
            while waiting and free > 0:  # agents take waiting people first
                waiting.pop(0)
                connect(when)
        while waiting and t - waiting[0] > ABANDON_SECONDS:  # found no agent in time: hung up on
            waiting.pop(0)
            result.abandoned += 1
            pacer.abandon()
        busy = agents - free
        n = pacer.lines(free, busy, [None] * len(waiting) + [t - started for started in out.values()])
        for _ in range(n):
            result.attempts += 1
            out[result.attempts] = t
            u = rng.random()
            r = rng.uniform(*ring)
            if u < p_human:
                push(t + r + amd, "human", result.attempts)
            elif u < p_human + p_machine:
                push(t + r + amd, "machine", result.attempts)
            elif u < p_human + p_machine + p_busy:
                push(t + 1.0, "other", result.attempts)
            else:
                push(t + ring_timeout, "other", result.attempts)
        t += step
    return result


if __name__ == "__main__":
    for mode in ("progressive", "predictive"):
        for seed in (1, 2, 3):
            r = run_model(mode, seed=seed)
            print(f"{mode:<12} seed {seed}: attempts {r.attempts}, answered by a person {r.humans}, "
                  f"connected {r.connected}, abandoned {r.abandoned} ({100 * r.abandon_rate:.2f}%), "
                  f"agent utilisation {100 * r.utilisation:.1f}%")
