"""The ACD on the call engine: decisions become engine actions.

An offer rings the agent's phone (``engine.originate(contact)`` inside the caller's call, showing the
caller's number), an answer on that leg tells the ACD, a connect bridges caller and agent, a cancel
hangs the ringing leg up, and legs ending become abandons or completions. Waiting callers hear music
on hold (a looping prompt) and, when the queue announces, whatever ``announcer(position, wait, call)``
returns. ACD timers run from the engine's tickers, every tick. Times given to the ACD are board seconds.

Who clears what: the caller's leg belongs to the script that queued it (it waits in ``queue_call``
for as long as the caller is in the queue or talking; when that script ends, the engine clears the
caller). The agent legs the ACD rings are the ACD's (``Leg.keeper`` is the binding): it cancels them,
and when the caller leaves, or the conversation ends, it clears the agent's leg itself. A callback
rings the agent in a call of its own, never in the caller's old one. ``queue_call(talk=False)`` hands
the caller to the ACD once answered (the binding becomes the caller leg's keeper): the script may
return and the conversation goes on; the ACD clears the caller when it is over.

Scripts use :func:`queue_call`::

    async def main(call):
        await call.answer()
        result = await queue_call(call, "sales")   # waits, talks, returns when the conversation ends
"""
from typing import NamedTuple, Optional

import numpy as np

from pycallcenter.acd.core import CONNECTED, RINGING, TALKING, Acd
from pycallcenter.causes import Cause
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.engine.scheduler import CallHangup, Op
from pycallcenter.engine.waits import wake_on_leg, wake_on_player
from pycallcenter.journal import Journal


class QueueResult(NamedTuple):
    """How a queued call left the queue: outcome answered, overflow, leave or callback."""

    outcome: str
    agent: Optional[str] = None
    leg: Optional[C.Leg] = None
    target: Optional[str] = None  # overflow target: 'voicemail', 'callback', ...
    reason: Optional[str] = None  # leave/overflow reason: timeout, no_agents, all_paused, closed, empty


def default_moh(seconds=4.0, level=2000):
    """Return a soft looping melody (int16) used as music on hold when no prompt is given."""
    notes = [523.25, 659.25, 783.99, 659.25]
    n = int(seconds * SAMPLE_RATE / len(notes))
    t = np.arange(n) / SAMPLE_RATE
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) * 40)
    return np.concatenate([(level * fade * np.sin(2 * np.pi * f * t)).astype(np.int16) for f in notes])


class QueueOp(Op):
    """Wait in a queue (music on hold, announcements) until answered, overflowed or told to leave. Not
    polled each tick: the ACD finishes it, and the leg's digits and end and its music ending wake it."""

    polled = False

    def __init__(self, binding, ivr, queue=None, priority=0, skill=None, data=None, callback_digit=None):
        self.binding, self.ivr, self.leg = binding, ivr, ivr.leg
        self.queue, self.priority, self.skill, self.data = queue, priority, skill, data
        self.callback_digit = callback_digit or binding.callback_key
        self.speaking = False
        self.greeting = False  # the caller is being told who answers: no music between the prompts

    def start(self, now):
        b, cid = self.binding, self.leg.call.id
        wake_on_leg(self, self.leg)
        wake_on_player(self, b.engine, self.leg.row)
        if not self.leg.active:
            self.fail(CallHangup(self.leg.cause))
            return
        b.waiting[cid] = self
        done = b.results.pop(cid, None)  # connected while the script was between ops (transfers)
        if done is not None:
            self.finish(done)
            return
        self._moh()
        if self.queue is not None:
            data = dict(self.leg.call.vars)
            data.update(self.data or {})
            b.apply(b.acd.enter(cid, self.queue, b.seconds(now), caller=self.leg.caller, priority=self.priority,
                                skill=self.skill, data=data))

    def _moh(self):
        media = self.binding.engine.media
        media.play(self.leg.row, [self.binding.moh])
        self.speaking = False

    def say(self, prompts):
        """Play an announcement, then go back to music."""
        self.binding.engine.media.play(self.leg.row, prompts)
        self.speaking = True

    def poll(self, now):
        if not self.leg.active:
            self.fail(CallHangup(self.leg.cause))
            return
        if self.callback_digit and self.callback_digit in self.leg.digits and self.leg.caller:
            self.leg.digits = ""
            c = self.binding.acd.calls.get(self.leg.call.id)
            if c is not None and c.state != CONNECTED:
                acd, seconds = self.binding.acd, now / SAMPLE_RATE
                # keeping the place: the ACD calls back when their turn comes; else they leave the queue
                # (counted as abandoned) to leave a number and a time in the callback script
                kept = self.binding.callback_keeps_place
                self.binding.apply(acd.request_callback(c.id, self.leg.caller, seconds) if kept else
                                   acd.hangup(c.id, seconds))
                self.finish(QueueResult("callback", target=self.leg.caller))
                return
        if self.leg.row not in self.binding.engine.media.players and not self.greeting:
            self._moh()

    def finish(self, result=None):
        self.binding.waiting.pop(self.leg.call.id, None)
        if result is not None and result.outcome != "answered" and self.leg.active:
            self.binding.engine.media.stop(self.leg.row)
        super().finish(result)

    def cancel(self):
        b, cid = self.binding, self.leg.call.id
        b.waiting.pop(cid, None)
        if self.leg.active:
            b.engine.media.stop(self.leg.row)
            # the script was interrupted (a fax was heard, say) and goes on without the queue: the caller
            # is no longer waiting, so the ACD must not ring an agent for them
            c = b.acd.calls.get(cid)
            if c is not None and c.state != CONNECTED and not c.callback:
                b.apply(b.acd.hangup(cid, b.seconds()))


class AcdBinding:
    """Runs an Acd on an Engine; ``engine.acd_binding`` points back here for :func:`queue_call`."""

    def __init__(self, engine, acd: Acd, moh=None, announcer=None, callback_trunk=None):
        self.engine, self.acd = engine, acd
        self.moh = default_moh() if moh is None else np.asarray(moh, np.int16)
        self.announcer = announcer  # fn(position, expected_wait, ivr call) -> samples, or None to only log
        # fn(call, agent leg, agent, queue) -> (prompts for the agent, prompts for the caller) played before
        # a connect (whisper, agent ID), or None to connect at once
        self.greeter = None
        self.callback_trunk = callback_trunk  # trunk name for callbacks ('pri1', 'pstn2')
        self.waiting = {}  # call id -> QueueOp
        self.results = {}  # call id -> QueueResult not yet collected by a QueueOp
        self.agent_leg = {}  # agent -> their ringing or talking Leg
        self.leg_owner = {}  # leg id -> (agent, call id)
        # everything applied, for CTI event feeds (readers registered on the journal) and tests
        self.decisions = Journal("acd decisions", bound=10_000, keep=256)
        self.diallers = []  # (Dialler, trunk, queue, lines, timeout)
        self.callback_key = None  # key a waiting caller presses for a callback (queues without their own)
        self.callback_keeps_place = True  # that caller keeps their place (else they leave the queue)
        self.dial_back = None  # fn(connect decision, agent leg): places callbacks itself (apps.outbound)
        # async fn(ivr call, QueueResult) awaited by queue_call when the agent ended the conversation and the
        # caller is still on (the post-call survey, apps.survey); None: queue_call returns at once
        self.after_talk = None
        engine.listeners.append(self)
        engine.acd_binding = self
        self.poll(engine.now)
        engine.tickers.append(self.poll)

    def seconds(self, samples=None):
        """Return board time in seconds (now, or of a sample time)."""
        return (self.engine.now if samples is None else samples) / SAMPLE_RATE

    def poll(self, now):
        """Run the ACD timers that are due."""
        due = self.acd.next_deadline()
        if due is not None and due <= now / SAMPLE_RATE:
            self.apply(self.acd.handle_timer(now / SAMPLE_RATE))
        for run in self.diallers:
            self._dial_due(now, *run)

    # --- outbound --------------------------------------------------------------------------------------
    def add_dialler(self, dialler, trunk, queue=None, lines=None, timeout=30.0, amd=True):
        """Dial a Dialler's numbers on a trunk ('pri1', 'pstn2'): one line per free agent of `queue`
        (or `lines` at most); answered calls join `queue` (or are hung up when queue is None). With
        `amd`, an answered call first goes through answering-machine detection: a machine is recorded as
        such (the Dialler then leaves it or calls again, as configured) and hung up."""
        self.diallers.append((dialler, trunk, queue, lines, timeout, amd))

    def _dial_due(self, now, dialler, trunk, queue, lines, timeout, amd):
        due = dialler.next_deadline()
        if due is None or due > now / SAMPLE_RATE:
            return
        free = len(self.acd.queues[queue].available) if queue is not None else lines
        for target in dialler.due(now / SAMPLE_RATE, free if lines is None else min(free, lines)):
            self.engine.scheduler.spawn(self._attempt(dialler, trunk, queue, target, timeout, amd),
                                        f"dial:{target.number}", now, on_error=self._attempt_failed)

    def _attempt_failed(self, task, exc):
        self.engine.errors.append((task.name, repr(exc)))
        self.engine.log("script_error", call=task.name, error=type(exc).__name__)

    async def _attempt(self, dialler, trunk, queue, target, timeout, amd=True):
        """Dial one number and hand an answered person to the queue; the answered leg is this task's until
        the queue's script takes it, so every way out of here that does not start that script clears it."""
        from pycallcenter.ivr import dial

        r = await dial(self.engine, f"{trunk}/{target.number}", timeout)
        try:
            await self._answered(r, dialler, queue, target, amd)
        finally:
            if r.leg is not None and r.leg.active and not r.leg.call.scripts:
                r.leg.hangup(C.NORMAL_CLEARING)

    async def _answered(self, r, dialler, queue, target, amd):
        from pycallcenter.ivr import IvrCall

        machine = False
        verdict = "-"
        if r.outcome == "answered" and amd:
            try:
                result = await IvrCall(self.engine, r.leg).detect_machine()
            except CallHangup:  # the far end hung up while we listened
                dialler.result(target.number, "failed", self.seconds())
                self.engine.log("dialler", number=target.number, attempt=target.attempts, outcome="hung_up")
                return
            verdict = result.verdict
            machine = verdict == "machine"
        self.engine.log("dialler", number=target.number, attempt=target.attempts, outcome=r.outcome, amd=verdict)
        dialler.result(target.number, r.outcome, self.seconds(), machine=machine)
        if r.outcome != "answered" or machine or queue is None:
            return  # _attempt clears an answered leg on the way out

        async def join(ivr):
            await queue_call(ivr, queue, priority=1, data={"campaign": target.kind, **target.data})
            await ivr.hangup()

        self.engine.start_script(r.leg, join)

    # --- decisions -> engine ------------------------------------------------------------------------
    def apply(self, decisions):
        """Carry out ACD decisions on the engine."""
        work = list(decisions)
        while work:
            d = work.pop(0)
            self.decisions.append(d)
            self.engine.log("acd_" + d.kind, call=d.call, agent=d.agent or "-")
            work.extend(getattr(self, "_do_" + d.kind)(d) or [])

    def _do_offer(self, d):
        call = self.engine.calls.get(d.call)
        first = call.caller_leg if call is not None else None
        number = d.data.get("callback") or (first.caller if first is not None else "")
        if first is not None and first.direction == "out":  # an outbound call: show whom it reached
            number = first.called or number
        name = first.caller_name if first is not None else ""
        if d.data.get("callback"):
            call = None  # the caller has gone (or is saying goodbye): the callback is a call of its own
        try:
            leg = self.engine.originate(d.data["contact"], caller=number, caller_name=name, call=call)
        except ValueError:
            leg = None
        if leg is not None and not leg.active and leg.cause == Cause.SUBSCRIBER_ABSENT:
            return self._unreachable(d.agent)  # failed at once: no phone registered under the agent's name
        if leg is None or not leg.active:  # the phone is off hook or the trunk is full
            return self.acd.decline(d.agent, d.call, self.seconds())
        leg.keeper = self  # the ACD cancels or clears it, not the caller's script
        self.agent_leg[d.agent] = leg
        self.leg_owner[leg.id] = (d.agent, d.call)
        return []

    def _unreachable(self, agent):
        """The agent's phone is not reachable at all (a SIP or browser phone not registered): offering it
        again would keep callers waiting for nothing, so the agent goes not ready with reason "unreachable"
        until it says it is back, and the call returns to the head of its queue. Return decisions."""
        self.engine.log("acd_unreachable", agent=agent)
        return self.acd.pause(agent, self.seconds(), reason="unreachable")

    def _do_cancel(self, d):
        leg = self.agent_leg.pop(d.agent, None)
        if leg is not None:
            self.leg_owner.pop(leg.id, None)
            if leg.active:
                leg.hangup(C.NORMAL_CLEARING)

    def _do_connect(self, d):
        leg = self.agent_leg.get(d.agent)
        call = self.engine.calls.get(d.call)
        first = call.caller_leg if call is not None else None
        if call is not None:
            call.queue, call.agent = d.data["queue"], d.agent
        if d.data.get("callback"):
            return self._callback(d, leg)
        greeting = self.greeter(call, leg, d.agent, d.data["queue"]) if self.greeter is not None else None
        if greeting and first is not None and first.active and leg is not None and leg.active:
            self.engine.scheduler.spawn(self._greet(d, first, leg, *greeting), f"{d.call}:greet", self.engine.now,
                                        on_error=self._attempt_failed)
            return []
        return self._connected(d, first, leg)

    async def _greet(self, d, first, leg, to_agent, to_caller):
        """Whisper to the agent, then tell the caller who answers (the caller hears music until then);
        then connect them. Either hanging up meanwhile is a leg event the ACD already handles."""
        from pycallcenter.ivr import IvrCall

        try:
            if to_agent:
                await IvrCall(self.engine, leg).play(to_agent)
            if to_caller and first.active:
                op = self.waiting.get(d.call)
                if op is not None:
                    op.greeting = True
                await IvrCall(self.engine, first).play(to_caller)
        except CallHangup:
            return
        if first.active and leg.active:
            self._connected(d, first, leg)

    def _connected(self, d, first, leg):
        if first is not None and first.active and leg is not None and leg.active:
            self.engine.media.stop(first.row)
            self.engine.bridge(first, leg)
        result = QueueResult("answered", d.agent, leg)
        op = self.waiting.get(d.call)
        if op is not None:
            op.finish(result)
        else:
            self.results[d.call] = result
        return []

    def _callback(self, d, agent_leg):
        """The agent answered a callback: dial the caller on the callback trunk and join them."""
        if self.dial_back is not None:
            self.dial_back(d, agent_leg)
            return []
        target = f"{self.callback_trunk}/{d.data['callback']}"

        async def dial_back(ivr):
            r = await ivr.dial(target, timeout=45)
            if r.outcome == "answered":
                await ivr.bridge(r.leg)
            await ivr.hangup()

        if agent_leg is None or not agent_leg.active:
            return []
        if not self.callback_trunk:  # nowhere to dial from: the agent must not sit on a silent line
            self.engine.log("acd_callback_no_trunk", call=d.call, agent=d.agent)
            agent_leg.hangup(C.NORMAL_CLEARING)
            return []
        agent_leg.keeper = None  # the dial-back script owns the agent's leg from here, and clears it
        self.engine.start_script(agent_leg, dial_back)
        return []

    def _do_announce(self, d):
        op = self.waiting.get(d.call)
        if op is not None and self.announcer is not None:
            op.say(self.announcer(d.data["position"], d.data["expected_wait"], op.ivr))

    def _do_overflow(self, d):
        if d.data["target"].startswith("queue:"):
            return  # still waiting, in the other queue
        op = self.waiting.get(d.call)
        if op is not None:
            op.finish(QueueResult("overflow", target=d.data["target"], reason=d.data["reason"]))
        else:  # no script waits to take the caller to the overflow target
            self._done_with_caller(d.call)

    def _do_leave(self, d):
        op = self.waiting.get(d.call)
        if op is not None:
            op.finish(QueueResult("leave", reason=d.data["reason"]))
        else:
            self._done_with_caller(d.call)

    def _done_with_caller(self, call_id, ended_by=None):
        """The ACD has nothing more for a caller it keeps (queue_call with talk=False): clear them, or give
        the leg back to their call's script when one still runs (it clears the call when it ends). When the
        agent ended_by hung up and after_talk is set, the caller goes on into it in a script of its own."""
        call = self.engine.calls.get(call_id)
        first = call.caller_leg if call is not None else None
        if first is None or first.keeper is not self or not first.active:
            return
        first.keeper = None
        if call.scripts:
            return
        if ended_by is not None and self.after_talk is not None:
            result = QueueResult("answered", ended_by)

            async def after(ivr):
                await self.after_talk(ivr, result)

            self.engine.start_script(first, after)
        else:
            first.hangup(C.NORMAL_CLEARING)

    def _do_paused(self, d):
        pass  # auto-pause: already in the queue log; CTI servers read self.decisions

    # --- engine events -> ACD -----------------------------------------------------------------------
    def on_leg_event(self, kind, leg):
        """Engine listener: answers of agent legs and ends of any leg the ACD knows."""
        now = self.seconds()
        owner = self.leg_owner.get(leg.id)
        if owner is not None:
            agent, cid = owner
            a = self.acd.agents[agent]
            if kind == "answered" and a.activity == RINGING and a.call == cid:
                self.apply(self.acd.answer(agent, cid, now))
            elif kind == "ended":
                self.leg_owner.pop(leg.id, None)
                if self.agent_leg.get(agent) is leg:
                    del self.agent_leg[agent]
                if a.activity == RINGING and a.call == cid and leg.cause == Cause.SUBSCRIBER_ABSENT:
                    self.apply(self._unreachable(agent))
                elif a.activity == RINGING and a.call == cid:
                    self.apply(self.acd.decline(agent, cid, now))
                elif a.activity == TALKING and a.call == cid:
                    self.apply(self.acd.hangup(cid, now))
                    if cid not in self.acd.calls:  # the conversation is over (not transferred on)
                        self._done_with_caller(cid, ended_by=agent)
            return
        if kind == "ended" and leg.call is not None and leg is leg.call.caller_leg:
            self.results.pop(leg.call.id, None)
            c = self.acd.calls.get(leg.call.id)
            if c is not None and not (c.callback and c.state != CONNECTED):
                talking = c.agent if c.state == CONNECTED else None
                self.apply(self.acd.hangup(c.id, now))
                # the caller left a conversation: the agent's leg is ours to clear (a ringing one was
                # cancelled by the hang-up's decisions already)
                agent_leg = self.agent_leg.get(talking) if talking is not None else None
                if agent_leg is not None and agent_leg.call is leg.call and agent_leg.active:
                    agent_leg.hangup(C.NORMAL_CLEARING)

    def leaks(self):
        """Return one line per agent still ringing or talking and per call still queued, whose legs are
        not already clearing (see Engine.leaks)."""
        out = []
        for name, a in self.acd.agents.items():
            if a.activity in (RINGING, TALKING):
                leg = self.agent_leg.get(name)
                if leg is None or not leg.clearing:
                    out.append(f"ACD agent {name} is still {a.activity} (call {a.call})")
        for cid, c in self.acd.calls.items():
            if c.callback:
                continue  # a callback request waits for an agent without holding anything
            call = self.engine.calls.get(cid)
            first = call.caller_leg if call is not None else None
            if first is None or not first.clearing:
                out.append(f"ACD call {cid} is still {c.state} in queue {c.queue}")
        return out

    # --- the agent API (what a CTI server exposes) --------------------------------------------------
    def command(self, name, *args, **options):
        """Run an Acd command at board time (login, logout, pause, set_dnd, end_wrapup, pickup,
        set_flag, ...) and carry out its decisions; return them. Calling the Acd directly would drop them."""
        decisions = getattr(self.acd, name)(*args, now=self.seconds(), **options)
        self.apply(decisions)
        return decisions

    def hangup(self, agent):
        """Hang up the agent's call."""
        leg = self.agent_leg.get(agent)
        if leg is not None and leg.active:
            leg.hangup(C.NORMAL_CLEARING)

    def hold(self, agent, on=True):
        """Put the agent's caller on hold (they hear music) or take them off hold."""
        self.apply(self.acd.hold(agent, self.seconds(), on))
        call = self.engine.calls.get(self.acd.agents[agent].call)
        leg = self.agent_leg.get(agent)
        if call is None or leg is None:
            return
        first = call.caller_leg
        if on:
            self.engine.media.isolate(first.row)
            self.engine.media.play(first.row, [self.moh] * 100)
        else:
            self.engine.bridge(first, leg)

    def transfer(self, agent, target, attended=False):
        """Transfer the agent's call to 'queue:NAME' or another agent; the agent's leg is released."""
        leg = self.agent_leg.get(agent)
        cid = self.acd.agents[agent].call if agent in self.acd.agents else None
        decisions = self.acd.transfer(agent, target, self.seconds(), attended)
        if leg is not None:
            self.leg_owner.pop(leg.id, None)
            self.agent_leg.pop(agent, None)
            call = self.engine.calls.get(cid)
            if call is not None and call.caller_leg.active:
                self.engine.media.isolate(call.caller_leg.row)
                self.engine.media.play(call.caller_leg.row, [self.moh] * 100)
            leg.hangup(C.NORMAL_CLEARING)
        self.apply(decisions)

    def _parties(self, agent):
        leg = self.agent_leg.get(agent)
        call = self.engine.calls.get(self.acd.agents[agent].call) if agent in self.acd.agents else None
        if leg is None or call is None or not leg.active:
            raise ValueError(f"{agent} is not in a call")
        return call.caller_leg, leg

    def record(self, agent, path=None, stereo=True):
        """Record the agent's call from now on (caller and agent); return the Recorder."""
        first, _ = self._parties(agent)
        self.engine.log("acd_record", agent=agent, call=first.call.id)
        return self.engine.start_recording(first, path, stereo=stereo)

    def conference(self, agent, other_leg):
        """Join a third leg (a consulted agent or an outside party) to the agent's call: all hear all."""
        first, leg = self._parties(agent)
        media = self.engine.media
        for a in (first.row, leg.row):
            media.bridge(a, other_leg.row)
        self.engine.log("acd_conference", agent=agent, leg=other_leg.id)

    def listen(self, supervisor_leg, agent, whisper=False, barge=False):
        """Let a supervisor's leg hear an agent's call; whisper: the agent hears them too; barge: both do."""
        media = self.engine.media
        first, leg = self._parties(agent)
        media.link(supervisor_leg.row, leg.row)
        media.link(supervisor_leg.row, first.row)
        if whisper or barge:
            media.link(leg.row, supervisor_leg.row)
        if barge:
            media.link(first.row, supervisor_leg.row)
        self.engine.log("acd_listen", agent=agent, leg=supervisor_leg.id, mode="barge" if barge else
                        "whisper" if whisper else "listen")


async def queue_call(call, queue, priority=0, skill=None, data=None, talk=True, callback_digit=None):
    """Queue a call (an IvrCall); return a QueueResult. With talk=True (default) an answered call is
    bridged to the agent until the conversation ends (following transfers); otherwise it returns on answer
    and hands the caller to the ACD: the script may return while caller and agent talk, and the ACD clears
    the caller when the conversation is over (or gives the leg back to a script still running).
    A caller who presses callback_digit while waiting keeps their place and is called back (outcome
    'callback': hang up after a goodbye)."""
    binding = call.engine.acd_binding
    op = QueueOp(binding, call, queue, priority, skill, data, callback_digit)
    while True:
        result = await op
        if result.outcome == "answered" and not talk and call.leg.active:
            call.leg.keeper = binding
        if result.outcome != "answered" or not talk or result.leg is None:
            return result
        try:
            await call.bridge(result.leg)
        except CallHangup:
            return result  # the caller hung up: the conversation is over
        c = binding.acd.calls.get(call.id)
        if call.leg.active and c is None and call.id not in binding.results and binding.after_talk is not None:
            await binding.after_talk(call, result)  # the agent hung up on a caller still on the line
            return result
        if not call.leg.active or (call.id not in binding.results and (c is None or c.state == CONNECTED)):
            return result
        op = QueueOp(binding, call)  # transferred back into a queue or to another agent: keep waiting
