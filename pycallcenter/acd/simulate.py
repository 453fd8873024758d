"""A discrete-event driver for the ACD core: Poisson callers, exponential handle times and patience,
agents who answer at once (or after a delay). No media and no ticks: time jumps from event to event,
so a 500-agent day runs in seconds to minutes."""
import heapq
import itertools
import random

from pycallcenter.acd.core import RINGING, Acd


class Simulator:
    """Drives an Acd through simulated time; schedule arrivals, then run(until)."""

    def __init__(self, acd, seed=1, answer_delay=0.0):
        self.acd = acd
        self.rng = random.Random(seed)
        self.answer_delay = answer_delay
        self.now = 0.0
        self._events = []
        self._seq = itertools.count()
        self._calls = itertools.count(1)
        self.handle = {}  # call id -> talk seconds drawn for it
        self.events_run = 0

    def at(self, when, fn, *args):
        """Schedule fn(*args) at time when."""
        heapq.heappush(self._events, (when, next(self._seq), fn, args))

    def poisson(self, queue, rate, aht, until, patience=None, start=0.0, priority=0, skill=None, callers=0):
        """Send callers to a queue at `rate` per second until `until`: exponential talk of mean aht, and
        exponential patience of mean `patience` seconds when given. callers > 0 draws caller numbers
        from a pool of that size (repeat callers, for sticky routing)."""
        def arrive():
            cid = f"S{next(self._calls)}"
            caller = str(self.rng.randrange(callers)) if callers else ""
            self.handle[cid] = self.rng.expovariate(1.0 / aht)
            self.apply(self.acd.enter(cid, queue, self.now, caller=caller, priority=priority, skill=skill))
            if patience is not None:
                self.at(self.now + self.rng.expovariate(1.0 / patience), self._abandon, cid)
            nxt = self.now + self.rng.expovariate(rate)
            if nxt < until:
                self.at(nxt, arrive)

        first = start + self.rng.expovariate(rate)
        if first < until:
            self.at(first, arrive)

    def _abandon(self, cid):
        c = self.acd.calls.get(cid)
        if c is not None and c.agent is None and c.answered_at is None:
            self.apply(self.acd.hangup(cid, self.now))

    def _answer(self, agent, cid):
        a = self.acd.agents[agent]
        if a.activity == RINGING and a.call == cid:
            self.apply(self.acd.answer(agent, cid, self.now))

    def _end(self, cid):
        if cid in self.acd.calls:
            self.apply(self.acd.hangup(cid, self.now))

    def apply(self, decisions):
        """Act on decisions like people would: ringing agents answer, connected calls end after their talk time."""
        work = list(decisions)
        while work:
            d = work.pop(0)
            if d.kind == "offer":
                if self.answer_delay:
                    self.at(self.now + self.answer_delay, self._answer, d.agent, d.call)
                else:
                    a = self.acd.agents[d.agent]
                    if a.activity == RINGING and a.call == d.call:
                        work.extend(self.acd.answer(d.agent, d.call, self.now))
            elif d.kind == "connect":
                self.at(self.now + self.handle.get(d.call, 0.0), self._end, d.call)

    def run(self, until):
        """Run events and ACD timers up to time until; return the number of events run."""
        acd = self.acd
        while True:
            t_ev = self._events[0][0] if self._events else None
            t_dl = acd.next_deadline()
            if t_dl is not None and (t_ev is None or t_dl <= t_ev):
                if t_dl > until:
                    break
                self.now = max(self.now, t_dl)
                self.apply(acd.handle_timer(self.now))
            elif t_ev is not None and t_ev <= until:
                when, _, fn, args = heapq.heappop(self._events)
                self.now = max(self.now, when)
                fn(*args)
            else:
                break
            self.events_run += 1
        self.now = max(self.now, until)
        return self.events_run


def simulate_queue(agents, rate, aht, hours, patience=None, strategy="longest_idle", sl_seconds=20.0, seed=1,
                   wrapup=0.0, answer_delay=0.0):
    """Run one queue with `agents` agents, Poisson arrivals at `rate` per second, exponential handle time
    of mean `aht`; return the Acd after `hours` (arrivals stop then; calls in progress finish)."""
    acd = Acd(seed)
    acd.add_queue("q", strategy=strategy, wrapup=wrapup, ring_timeout=1e9, sl_seconds=sl_seconds,
                  join_empty="always", short_abandon=0.0)
    for i in range(agents):
        acd.add_agent(f"a{i}", queues={"q": 0})
        acd.login(f"a{i}", 0.0)
    sim = Simulator(acd, seed, answer_delay)
    sim.poisson("q", rate, aht, hours * 3600.0, patience=patience)
    sim.run(hours * 3600.0 + 100 * aht)
    return acd
