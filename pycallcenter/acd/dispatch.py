"""The ACD's dispatcher and timers: which waiting call rings which agent, offers and their withdrawal, and
what each timer does when due (ring timeout, rest after a missed offer, wrap-up end, max wait, announcement,
ring-progressively step).

``Dispatcher`` is a mixin of :class:`pycallcenter.acd.core.Acd`. Routing cost: the heads of the queue's
waiting heaps (one per required skill) against the queue's currently available agents only.
"""
import heapq

from pycallcenter.acd.model import CONNECTED, IDLE, OFFERED, RINGING, WAITING, WRAPUP
from pycallcenter.acd.strategies import pick


class Dispatcher:
    """The routing and timer half of ``Acd`` (a mixin)."""

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
        while cands:
            a = min(cands, key=lambda a: q.order[a.name])
            if self._claim(a, c):
                self._ring(q, c, a)
                break
            cands.remove(a)
        c.next_step = when + q.progressive_step
        self._at(c.next_step, "step", c.id)

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
        a.activity = IDLE
        self.state.release(a.name, c.id)
        self._became(a)
        if requeue and not c.offers and c.state == OFFERED:
            c.state = WAITING
            self._push(self.queues[c.queue], c)

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
                    rung = False
                    for a in agents:
                        if self._claim(a, c):
                            self._ring(q, c, a)
                            rung = True
                    if not rung:
                        break  # the agents chosen were taken elsewhere: look again at those left
                    heapq.heappop(q.waiting[c.skill])  # c's entry: ringing changed its token, not the heap
                    if q.strategy == "ring_progressively":
                        c.next_step = self.now + q.progressive_step
                        self._at(c.next_step, "step", c.id)
                    break
            else:
                return

    def _claim(self, a, c):
        """Take agent a for call c through the state; return False (a no longer offered anything here until
        their state changes) when another holder has them."""
        if self.state.claim(a.name, c.id):
            return True
        self._unavailable(a)
        return False

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
