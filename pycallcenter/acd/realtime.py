"""Realtime figures of the ACD: a call's place and expected wait, a queue's and an agent's wallboard view.

``RealtimeViews`` is a mixin of :class:`pycallcenter.acd.core.Acd`; it only reads state.
"""
from pycallcenter.acd.model import CONNECTED, IDLE, TALKING, WRAPUP


class RealtimeViews:
    """The read-only figures of ``Acd`` (a mixin)."""

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
