"""The callback dialler ([callbacks]): callback requests in the centre's callbacks table are called back
within calling hours, at the time the caller chose, with retries; the state of each is kept in the table,
so a restart resumes where it stopped.

Agent first: when a request is due and an agent of its queue is free, the request joins the queue as a
callback (the ACD rings the agent, whose phone shows the customer's number); once the agent answers,
the agent hears "Callback. Calling the customer now." and the customer is dialled on the trunk in the
agent's call. If the customer answers, they talk; if not, the agent hears that the customer did not
answer, and the request is tried again after ``retry_after`` until ``max_attempts``.

A caller who pressed the callback key while waiting (``[callbacks] key``) and keeps their place
(``keep_place``) is called back the same way when the queue reaches their turn; their request is saved
too, so if the queue loses their place (a restart, a queue timeout) the dialler calls them back like any
other request. Every attempt is one CDR: the agent's call, with ``vars["outcome"]`` callback_done,
callback_no_answer, callback_busy, callback_congestion, callback_sit, callback_no_line,
callback_failed, callback_agent_gone (the agent hung up first), callback_outside_hours (a kept place
came up after calling hours: the customer is not called, and it is not counted as an attempt).
"""
import datetime as _dt
from collections import Counter

from pycallcenter.acd.dialler import FINAL, retry_delay
from pycallcenter.apps.outbound.common import default_trunk, line_free
from pycallcenter.apps.routing import in_hours
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine.scheduler import CallHangup
from pycallcenter.errors import ConfigError

LOOK_EVERY = 1.0  # seconds between looks at the table
NO_AGENT_WAIT = _dt.timedelta(seconds=60)  # before offering again a request the queue let go uncounted


class CallbackDialler:
    """Dials the centre's callback requests: a feature (``on_tick``, ``status``, ``close``, ``leaks``)."""

    def __init__(self, centre):
        self.centre, self.s = centre, centre.settings.callbacks
        s = self.s
        path = centre.settings.file
        if centre.binding is None:
            raise ConfigError("callbacks.enabled: callbacks need queues and agents ([[queue]], [[agent]])", path=path)
        self.engine, self.binding, self.acd = centre.engine, centre.binding, centre.binding.acd
        self.trunk = default_trunk(self.engine, s.trunk, "callbacks.trunk", path)
        self.store = centre.centre_config.callbacks()
        self.resumed = self.store.resume()
        b = self.binding
        b.dial_back, b.callback_key, b.callback_keeps_place = self._dial_back, s.key, s.keep_place
        self.injected = {}  # ACD call id -> (callback id, queue): waiting for an agent
        self.dialling = {}  # agent leg id -> (callback id, agent leg): the customer is being called
        self.outcomes = Counter()
        self.name = "callbacks"  # its key among the centre's features in status snapshots
        self.state = "waiting"
        self._next_look = 0.0

    # --- the tick ----------------------------------------------------------------------------------
    def on_tick(self, now_samples):
        """Every LOOK_EVERY seconds: free the places queues lost, and put due requests to free agents."""
        now = now_samples / SAMPLE_RATE
        if now < self._next_look:
            return
        self._next_look = now + LOOK_EVERY
        when = self.centre.wall_time(now_samples)
        for cid, cb_id in self.store.held().items():
            if cid not in self.acd.calls:  # the queue let the place go: dial it like any request
                self.store.release(cb_id)
        for cid, (cb_id, _) in list(self.injected.items()):
            if cid not in self.acd.calls:  # the queue let it go (or refused it) before an agent took it
                del self.injected[cid]
                self.store.finish(cb_id, "pending", "no_agent", when, next_try=when + NO_AGENT_WAIT, counted=False)
        if not in_hours(self.s.hours, self.s.days, when):
            self.state = "outside_hours"
            return
        if not line_free(self.engine, self.trunk):  # the D-channel is down or every line is taken
            self.state = "no_line"
            return
        self.state = "running"
        waiting = Counter(q for _, q in self.injected.values())
        for row in self.store.due(when, limit=50):
            if row.held_by:
                continue
            queue = self.s.queue or row.queue
            if queue not in self.acd.queues:
                self.store.begin(row.id, when)
                self._settle(row.id, "no_queue", when, final=True)
                continue
            if len(self.acd.queues[queue].available) <= waiting[queue]:
                continue
            waiting[queue] += 1
            self._offer(row, queue, now, when)

    def _offer(self, row, queue, now, when):
        attempt = self.store.begin(row.id, when)
        cid = f"callback{row.id}.{attempt}"
        self.injected[cid] = (row.id, queue)
        self.engine.log("callback_offer", callback=row.id, number=row.number, attempt=attempt, queue=queue)
        decisions = self.acd.enter(cid, queue, now, caller=row.number, data={"callback_id": row.id})
        if cid not in self.acd.calls:  # the queue refused it (closed, nobody logged in): try again later
            del self.injected[cid]
            self.store.finish(row.id, "pending", "no_agent", when, next_try=when + NO_AGENT_WAIT, counted=False)
        else:
            decisions += self.acd.request_callback(cid, row.number, now)
        for d in decisions:  # the ACD rang the agent before it knew this is a callback: show whom to call
            if d.kind == "offer" and d.call == cid:
                d.data["callback"] = row.number
        self.binding.apply(decisions)

    # --- the agent answered ------------------------------------------------------------------------
    def _dial_back(self, d, agent_leg):
        """The ACD connected an agent to a callback (the binding's dial_back): call the customer."""
        when = self.centre.wall_time()
        number = d.data["callback"]
        entry = self.injected.pop(d.call, None)
        if entry is not None:
            cb_id = entry[0]
        else:  # a caller who kept their place in the queue
            cb_id = self.store.held().get(d.call) or self.store.request(
                number, d.data.get("queue", ""), when, call_id=d.call, held_by=d.call)
            self.store.begin(cb_id, when)
        if agent_leg is None or not agent_leg.active:
            self._settle(cb_id, "agent_gone", when)
            return
        agent_leg.keeper = None  # the dial-back script owns the agent's leg now, and clears it
        self.dialling[agent_leg.id] = (cb_id, agent_leg)
        self.engine.start_script(agent_leg, self._script(cb_id, number))

    def _script(self, cb_id, number):
        s = self.s

        async def callback_dial(ivr):
            row = self.store.get(cb_id)
            ivr.vars.update(callback_id=cb_id, number=number, attempt=row.attempts, outcome="callback_agent_gone")
            outcome = "agent_gone"
            try:
                if not in_hours(s.hours, s.days, self.centre.wall_time()):
                    # a kept place came up after calling hours: not an attempt, dialled when they open
                    ivr.vars["outcome"] = "callback_outside_hours"
                    self.store.finish(cb_id, "pending", "outside_hours", self.centre.wall_time(), counted=False)
                    return
                await ivr.play("callback_agent_dialling")
                r = await ivr.dial(f"{self.trunk}/{number}", timeout=s.ring_timeout, caller=s.caller_id or "")
                outcome = r.outcome
                ivr.vars["outcome"] = "callback_done" if outcome == "answered" else f"callback_{outcome}"
                self._settle(cb_id, outcome, self.centre.wall_time())
                if r.outcome == "answered":
                    await ivr.bridge(r.leg)
                else:
                    await ivr.play("callback_agent_no_answer")
                await ivr.hangup()
            except CallHangup:
                pass
            finally:
                self.dialling.pop(ivr.leg.id, None)
                if self.store.get(cb_id).state == "dialling":  # not settled: the agent went first
                    self._settle(cb_id, outcome, self.centre.wall_time())
                    if ivr.leg.active:
                        ivr.leg.hangup()

        return callback_dial

    def _settle(self, cb_id, outcome, when, final=False):
        """End an attempt: done, failed (final outcome or out of attempts) or pending until the retry time."""
        self.outcomes[outcome] += 1
        row = self.store.get(cb_id)
        self.engine.log("callback", callback=cb_id, number=row.number, attempt=row.attempts, outcome=outcome)
        if outcome == "answered":
            self.store.finish(cb_id, "done", outcome, when)
        elif final or outcome in FINAL or row.attempts >= self.s.max_attempts:
            self.store.finish(cb_id, "failed", outcome, when)
        else:
            delay = retry_delay(self.s.retry_after, row.attempts)
            self.store.finish(cb_id, "pending", outcome, when, next_try=when + _dt.timedelta(seconds=delay))

    # --- feature API -------------------------------------------------------------------------------
    def status(self):
        """Return the callback dialler's state and figures as a dict."""
        return {"state": self.state, "requests_by_state": self.store.counts(), "waiting_for_agent": len(self.injected),
                "dialling": len(self.dialling), "attempts_by_outcome": dict(self.outcomes), "resumed": self.resumed}

    def close(self):
        """Stop placing callbacks through the binding."""
        if self.binding.dial_back == self._dial_back:
            self.binding.dial_back = None

    def leaks(self):
        """Return one line per callback whose agent leg is up and not clearing."""
        return [f"callback {cb_id}: agent leg {leg.id} is still up"
                for cb_id, leg in self.dialling.values() if not leg.clearing]
