"""Caller side of the ACD: entering a queue, hanging up, callbacks and flags, and a queue's joining rules,
waiting heaps and leaving.

``QueueCommands`` is a mixin of :class:`pycallcenter.acd.core.Acd`: it uses the core's state, queue log and
timers, and the dispatcher (``_dispatch``, ``_withdraw``).
"""
import heapq

from pycallcenter.acd.model import CONNECTED, DONE, WAITING, AcdError, QCall


class QueueCommands:
    """The caller half of ``Acd`` (a mixin)."""

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
