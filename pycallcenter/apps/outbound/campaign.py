"""An outbound campaign ([[campaign]]): numbers from a CSV file dialled on a trunk within calling hours,
paced progressively or predictively (pacing.py), people passed to a queue's agents, machines dropped.

Customer first: the number is dialled, and when a person answers (the answering-machine detector's
verdict, or the answer itself without ``amd``), they join the queue at once if an agent of the queue
is free. If none is free within 2 seconds the call is abandoned: the person hears a short apology and
is cleared, and the number is called again later. Do-not-call numbers are never dialled (counted).
Every attempt is one line of the event log (``campaign``) and one CDR with ``vars["outcome"]``:
campaign_answered, campaign_machine, campaign_abandoned, campaign_no_answer, campaign_busy,
campaign_congestion, campaign_sit, campaign_rejected, campaign_hung_up (cleared during detection),
campaign_no_line, campaign_failed. What was done with each number is kept in DATA/campaigns.sqlite
(progress.py): a restarted centre goes on where the campaign stopped.
"""
import datetime as _dt
import os
from collections import Counter
from dataclasses import dataclass
from typing import Optional

from pycallcenter.acd.dialler import Dialler, Target
from pycallcenter.acd.engine_binding import queue_call
from pycallcenter.apps.outbound.common import (agent_load, default_trunk, line_free, outcome_of,
                                               read_call_list, read_dnc)
from pycallcenter.apps.outbound.pacing import ABANDON_SECONDS, Pacer
from pycallcenter.apps.outbound.progress import CampaignProgress, pause_flag
from pycallcenter.apps.routing import in_hours
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.errors import ConfigError

LOOK_EVERY = 0.5  # seconds between pacing decisions


class _LegEvents:
    """A campaign's engine listener, apart from it so the engine does not ask the campaign for leaks too."""

    def __init__(self, on_leg_event):
        self.on_leg_event = on_leg_event


@dataclass(eq=False)
class Attempt:
    """One dialled number in progress (board seconds)."""

    target: Target
    leg: C.Leg
    started: float
    answered: Optional[float] = None
    human: Optional[float] = None  # when a person was recognised
    timed_out: bool = False
    outcome: Optional[str] = None


class Campaign:
    """One [[campaign]] on a Centre: a feature (``on_tick``, ``status``, ``close``, ``leaks``) that listens
    to the engine for answers and ends of its legs."""

    def __init__(self, centre, section, index=0):
        self.centre, self.s, self.name = centre, section, section.name
        key = f"campaign[{index + 1}]"
        path = centre.settings.file
        if centre.binding is None:
            raise ConfigError(f"{key}: a campaign needs queues and agents ([[queue]], [[agent]])", path=path)
        self.engine, self.binding, self.acd = centre.engine, centre.binding, centre.binding.acd
        self.trunk = default_trunk(self.engine, section.trunk, f"{key}.trunk", path)
        numbers = read_call_list(centre.settings.place(section.numbers), f"{key}.numbers")
        dnc = read_dnc(centre.settings.place(section.dnc), f"{key}.dnc") if section.dnc else set()
        self.dialler = Dialler(retry_after=section.retry_after, max_attempts=section.max_attempts, machine="done")
        self.progress = CampaignProgress(os.path.join(centre.data, "campaigns.sqlite"), self.name)
        saved = self.progress.load()
        self.dnc_skipped, self.duplicates, self.resumed = 0, 0, 0
        for number, data in numbers:
            if number in dnc:
                self.dnc_skipped += 1
                self.engine.log("campaign_dnc", campaign=self.name, number=number)
            elif number in self.dialler.targets:
                self.duplicates += 1
            elif number in saved:  # dialled by an earlier run: go on from there
                status, attempts, next_due, _ = saved[number]
                due = (_dt.datetime.fromisoformat(next_due) - centre.start).total_seconds() if next_due else 0.0
                status = "pending" if status == "dialling" else status  # cut short by the stop
                self.dialler.add(number, now=max(0.0, due), data=data, attempts=attempts, status=status)
                self.resumed += 1
            else:
                self.dialler.add(number, now=0.0, data=data)
        self.pacer = Pacer(section.mode, max_ratio=section.max_ratio, abandon_cap=section.abandon_cap)
        self.attempts = {}  # leg id -> Attempt
        self.outcomes = Counter()
        self.flag = pause_flag(centre.data, self.name)
        self.state = "waiting"
        self._next_look = 0.0
        self._listener = _LegEvents(self.on_leg_event)
        self.engine.listeners.append(self._listener)

    # --- control -----------------------------------------------------------------------------------
    @property
    def paused(self):
        """Return True while the campaign's pause flag file exists."""
        return os.path.exists(self.flag)

    def pause(self):
        """Dial no new numbers (calls in progress go on), until resume(), across restarts too."""
        os.makedirs(os.path.dirname(self.flag), exist_ok=True)
        open(self.flag, "w").close()

    def resume(self):
        """Dial again."""
        if os.path.exists(self.flag):
            os.remove(self.flag)

    # --- the tick ----------------------------------------------------------------------------------
    def on_tick(self, now_samples):
        """Give up on numbers that rang too long; every LOOK_EVERY seconds dial what the pacing allows."""
        now = now_samples / SAMPLE_RATE
        for a in self.attempts.values():
            if a.answered is None and not a.timed_out and now - a.started >= self.s.ring_timeout:
                a.timed_out = True
                a.leg.hangup(C.NO_ANSWER)
        if now < self._next_look:
            return
        self._next_look = now + LOOK_EVERY
        if not self.dialler.remaining():
            self.state = "finished"
            return
        if self.paused:
            self.state = "paused"
            return
        if not in_hours(self.s.hours, self.s.days, self.centre.wall_time(now_samples)):
            self.state = "outside_hours"
            return
        self.state = "running"
        free, busy = agent_load(self.acd, self.s.queue)
        recent = self.acd.queues[self.s.queue].recent_handle
        out = [None if a.human is not None else now - a.started for a in self.attempts.values() if a.outcome is None]
        lines = self.pacer.lines(free, busy, out, handle_time=sum(recent) / len(recent) if recent else None)
        for _ in range(lines):  # one at a time: each dial takes a line, and a full trunk takes no number
            if not line_free(self.engine, self.trunk):
                self.state = "no_line"
                break
            due = self.dialler.due(now, self.dialler.dialling + 1)
            if not due:
                break
            self._dial(due[0], now)

    def _dial(self, target, now):
        self._save(target, "")
        leg = self.engine.originate(f"{self.trunk}/{target.number}", caller=self.s.caller_id or "")
        if leg is None:  # every line of the trunk is busy
            self._log(target, "no_line", now)
            self.dialler.result(target.number, "no_line", now)
            self._save(target, "no_line")
            self.pacer.ended(False)
            return
        leg.call.vars.update(campaign=self.name, number=target.number, attempt=target.attempts,
                             outcome="campaign_failed")
        a = Attempt(target, leg, now)
        self.attempts[leg.id] = a
        if not leg.active:  # refused at once
            self.on_leg_event("ended", leg)

    # --- engine listener -----------------------------------------------------------------------------
    def on_leg_event(self, kind, leg):
        """Answers start detection and the queue; an end settles an attempt not settled yet."""
        a = self.attempts.get(leg.id)
        if a is None:
            return
        now = self.engine.now / SAMPLE_RATE
        if kind == "answered" and a.answered is None:
            a.answered = now
            self.engine.start_script(leg, self._answered(a))
        elif kind == "ended":
            del self.attempts[leg.id]
            if a.outcome is not None:
                return
            if a.human is not None or a.answered is not None:
                self._settle(a, "hung_up", now)
            else:
                self._settle(a, "no_answer" if a.timed_out else outcome_of(leg.cause), now)

    def _settle(self, a, outcome, now):
        """An attempt's outcome is known: tell the dialler and the pacer, set the CDR's outcome, log it."""
        a.outcome = outcome
        a.leg.call.vars["outcome"] = f"campaign_{outcome}"
        if a.human is None:
            self.pacer.ended(False, seconds=now - a.started, machine=outcome == "machine")
        if outcome == "abandoned":
            self.pacer.abandon()
        machine = outcome == "machine"
        dialled = "answered" if machine else "failed" if outcome == "hung_up" else outcome
        self.dialler.result(a.target.number, dialled, now, machine=machine)
        self._save(a.target, outcome)
        self._log(a.target, outcome, now)

    def _save(self, target, outcome):
        """Keep the number's state in the progress table (a restart goes on from it)."""
        due = self.centre.wall_time(int(target.next_due * SAMPLE_RATE)) if target.status == "pending" else None
        self.progress.save(target.number, target.status, target.attempts, due, outcome, self.centre.wall_time())

    def _log(self, target, outcome, now):
        self.outcomes[outcome] += 1
        self.engine.log("campaign", campaign=self.name, number=target.number, attempt=target.attempts,
                        outcome=outcome)

    def _answered(self, a):
        """Return the script of an answered attempt: detection, then the queue or the apology."""
        s, queue = self.s, self.s.queue

        async def campaign_answered(ivr):
            if s.amd:
                verdict = (await ivr.detect_machine()).verdict
                if verdict == "machine":
                    self._settle(a, "machine", ivr.now)
                    await ivr.hangup()
                    return
            a.human = ivr.now
            self.pacer.ended(True, seconds=a.human - a.started)
            available = self.acd.queues[queue].available
            while not available:
                if ivr.now - a.human >= ABANDON_SECONDS:
                    self._settle(a, "abandoned", ivr.now)
                    await ivr.play("campaign_abandoned")
                    await ivr.hangup()
                    return
                await ivr.wait(0.02)  # a tick (at least one)
            self._settle(a, "answered", ivr.now)
            await queue_call(ivr, queue, data={"campaign": self.name, "number": a.target.number, **a.target.data})
            await ivr.hangup()

        return campaign_answered

    # --- feature API -----------------------------------------------------------------------------------
    def status(self):
        """Return the campaign's state and figures as a dict."""
        summary = self.dialler.summary()
        return {"name": self.name, "state": self.state, "mode": self.s.mode, "numbers": len(self.dialler.targets),
                "dnc_skipped": self.dnc_skipped, "duplicates": self.duplicates, "resumed": self.resumed,
                "in_progress": len(self.attempts),
                "remaining": self.dialler.remaining(), "numbers_by_status": summary,
                "attempts_by_outcome": dict(self.outcomes), "pacing": self.pacer.status()}

    def close(self):
        """Stop listening to the engine and close the progress table."""
        if self._listener in self.engine.listeners:
            self.engine.listeners.remove(self._listener)
        self.progress.close()

    def leaks(self):
        """Return one line per attempt whose leg is up and not clearing."""
        return [f"campaign {self.name}: attempt to {a.target.number} (leg {a.leg.id}) is still up"
                for a in self.attempts.values() if not a.leg.clearing]
