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

    def __init__(self, phone, name, answer_rings=1, index=0, ringing=None):
        self.phone = phone
        self.name = name
        self.answer_rings = answer_rings
        self.index = index  # position in the pool
        self._ringing = ringing if ringing is not None else set()  # the pool's indices of agents in "ringing"
        self.state = "idle"  # idle, ringing, talking (others, e.g. "away", are left alone)
        self.caller = None
        self.calls = 0
        self.rings_at_start = 0
        self.last_ring = 0.0

    @property
    def state(self) -> str:
        """Return what the agent is doing: idle, ringing, talking (or a state set from outside)."""
        return self._state

    @state.setter
    def state(self, value):
        # kept in the pool's set too, so a tick visits the agents that have something to do, not all of them
        self._state = value
        (self._ringing.add if value == "ringing" else self._ringing.discard)(self.index)


class AgentPool:
    """Agents at phones; call ``tick(now_samples)`` once per engine tick."""

    def __init__(self, phones, names=None, pstn=None, answer_rings=1, plan="us", on_answer=None, on_hangup=None):
        names = names or [getattr(p, "name", f"agent{i + 1}") for i, p in enumerate(phones)]
        self._in_ringing = set()  # indices of the agents in state "ringing"
        self.agents = [SimAgent(p, n, answer_rings, i, self._in_ringing)
                       for i, (p, n) in enumerate(zip(phones, names))]
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
        # the receiver (an idle line refills its windows within a ring burst, so nothing they decode changes).
        # Those phones (the tap finds them among the emulator's busy lines) and the agents still answering,
        # with those who heard the far end go, are the only agents a tick acts on, in pool order: one
        # agent's action never changes another's phone, so the others are not visited
        listening = sorted(set(self._tap.ringing()) | self._in_ringing)
        if listening:
            for msg in self._fsk.process(block[listening], rows=listening):
                if msg.callerid is not None and self.agents[msg.channel].state != "talking":
                    self.agents[msg.channel].caller = msg.callerid.number
        gone = {e.channel for e in self._cpd.process(block) if e.kind in ("congestion", "busy")}
        agents = self.agents
        for i in sorted(gone.union(listening)) if gone else listening:
            agent = agents[i]
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
