"""Simulated agents at analog phones: they read the caller ID their phone shows, answer after a ring
or two, talk, and hang up when they hear the far party has gone (congestion or busy tone).

``AgentPool`` listens to all its phones at once: one batched FSK receiver and one batched
call-progress detector per tick, so a pool of dozens of agents costs a few kernel calls a tick.
"""
import numpy as np

from pycallcenter.dsp import SAMPLE_RATE, g711
from pycallcenter.dsp.fsk import FskReceiver
from pycallcenter.dsp.progress import CallProgressDetector


class SimAgent:
    """One agent's behaviour at one emulator Phone."""

    def __init__(self, phone, name, answer_rings=1):
        self.phone = phone
        self.name = name
        self.answer_rings = answer_rings
        self.state = "idle"  # idle, ringing, talking
        self.caller = None
        self.calls = 0
        self.rings_at_start = 0
        self.last_ring = 0.0


class AgentPool:
    """Agents at phones; call ``tick(now_samples)`` once per engine tick."""

    def __init__(self, phones, names=None, pstn=None, answer_rings=1, plan="us", on_answer=None, on_hangup=None):
        names = names or [getattr(p, "name", f"agent{i + 1}") for i, p in enumerate(phones)]
        self.agents = [SimAgent(p, n, answer_rings) for p, n in zip(phones, names)]
        self.pstn = pstn
        self.plan = plan
        self.on_answer = on_answer
        self.on_hangup = on_hangup
        self._fsk = FskReceiver(len(phones), "bell202")
        self._cpd = CallProgressDetector(len(phones), plan=plan)
        self._block = None
        self._tap = None

    def by_name(self, name):
        """Return the SimAgent called name."""
        return next(a for a in self.agents if a.name == name)

    def _listen(self, bs):
        """Return one (agents, bs) int16 block of what every phone heard this tick (one batched decode)."""
        if self._tap is None:
            phones = [a.phone for a in self.agents]
            self._tap = phones[0].emu.tap_phones(phones)  # the emulator hands over all phones' audio at once
            self._alaw = np.array([p.law.value == "alaw" for p in phones])
        codes = self._tap.block
        if self._block is None or self._block.shape != codes.shape:
            self._block = np.zeros(codes.shape, np.int16)
        if self._alaw.all():
            g711.alaw_decode(codes, out=self._block)
        elif not self._alaw.any():
            g711.ulaw_decode(codes, out=self._block)
        else:
            self._block[self._alaw] = g711.alaw_decode(codes[self._alaw])
            self._block[~self._alaw] = g711.ulaw_decode(codes[~self._alaw])
        return self._block[:, -bs:]

    def tick(self, now_samples, blocksize=160):
        """Listen to every phone and act."""
        now = now_samples / SAMPLE_RATE
        block = self._listen(blocksize)
        # caller ID comes between rings: only the ringing phones' rows are demodulated; the others rest in
        # the receiver (an idle line refills its windows within a ring burst, so nothing they decode changes)
        listening = [i for i, a in enumerate(self.agents) if a.phone.ringing or a.state == "ringing"]
        if listening:
            for msg in self._fsk.process(block[listening], rows=listening):
                if msg.callerid is not None and self.agents[msg.channel].state != "talking":
                    self.agents[msg.channel].caller = msg.callerid.number
        gone = {e.channel for e in self._cpd.process(block) if e.kind in ("congestion", "busy")}
        for i, agent in enumerate(self.agents):
            ringing = agent.phone.ringing
            if agent.state == "idle" and ringing:
                agent.state = "ringing"
                agent.rings_at_start = agent.phone.rings
                agent.last_ring = now
            if agent.state == "ringing":
                rings = agent.phone.rings - agent.rings_at_start + 1
                if rings >= agent.answer_rings and (agent.caller or rings >= 2):
                    self._answer(agent, now)
                elif ringing:
                    agent.last_ring = now
                elif now - agent.last_ring > 6.0:  # ringing stopped for good: the call went elsewhere
                    agent.state, agent.caller = "idle", None
            elif agent.state == "talking" and i in gone:
                self.hang_up(agent, now)

    def _answer(self, agent, now):
        agent.phone.off_hook()
        agent.state = "talking"
        agent.calls += 1
        if self.pstn is not None and agent.caller:
            self.pstn.agent_answered(agent.caller, agent.name, now)
        if self.on_answer:
            self.on_answer(agent, now)

    def hang_up(self, agent, now):
        """Put an agent's phone down."""
        agent.phone.on_hook()
        agent.state, agent.caller = "idle", None
        if self.on_hangup:
            self.on_hangup(agent, now)
