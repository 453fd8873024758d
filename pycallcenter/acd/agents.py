"""Agent commands of the ACD: login, logout, pause, do-not-disturb, wrap-up, answer, decline, pickup, hold
and transfer, and the agent-side state changes they share (available or not, connect, end of talk).

``AgentCommands`` is a mixin of :class:`pycallcenter.acd.core.Acd`: it uses the core's state, queue log,
timers and the dispatcher (``_dispatch_all``, ``_ring``, ``_withdraw``) and the queue side (``_enter``).
Every public command dispatches once at its end, so an offer never lands half-way through a command.
"""
import heapq

from pycallcenter.acd.model import CONNECTED, IDLE, OFFERED, RINGING, TALKING, WAITING, WRAPUP, AcdError


class AgentCommands:
    """The agent half of ``Acd`` (a mixin)."""

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

    def stop(self, now, reason="stopped"):
        """The run stops: write a LOGOUT line (with reason) for every agent still logged in, whatever they
        are doing, so reports end their login, handling and time in state there. A wrap-up cut short gets no
        WRAPUPEND (its after-call work is unknown: AHT leaves the call out). The agents' state is left as
        it is (nothing runs after this). Return decisions (none)."""
        self._set_now(now)
        for a in self.agents.values():
            if a.logged_in:
                self._log("LOGOUT", agent=a.name, reason=reason)
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
        if not a.logged_in or a.activity != IDLE or not self.state.claim(agent, call_id):
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
            if not self.state.claim(dest.name, c.id):
                raise AcdError("agent_unavailable", f"{target} is taken by another call")
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

    def transfer_out(self, agent, target, now):
        """The agent's caller leaves the ACD for an outside number (target, logged): the agent's talk ends as a
        TRANSFER (reports count it among transfers) and wrap-up follows; the call is forgotten. Return decisions."""
        self._set_now(now)
        a = self._agent(agent)
        if a.activity != TALKING:
            raise AcdError("not_in_call", f"{agent} is {a.state}")
        c = self.calls[a.call]
        self._finish_talk(c, a, "TRANSFER", target=target)
        self._forget(c)
        self._dispatch_all()
        return self._take()

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
        self.state.release(a.name, a.call)
        a.activity, a.wrapup_until, a.idle_since = IDLE, None, self.now
        self._became(a)

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
