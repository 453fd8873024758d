"""Simulated agents at analog phones: they read the caller ID their phone shows, answer after a ring
or two, talk, and hang up when they hear the far party has gone (congestion or busy tone)."""
import random

from pycallcenter.dsp import SAMPLE_RATE, g711
from pycallcenter.dsp.fsk import FskReceiver
from pycallcenter.dsp.progress import CallProgressDetector


class AgentPhone:
    """One agent's behaviour on an emulator Phone far end; call ``tick(now)`` once per engine tick."""

    def __init__(self, phone, name, pstn=None, answer_rings=1, seed=1, plan="us", on_answer=None, on_hangup=None):
        self.phone = phone
        self.name = name
        self.pstn = pstn
        self.answer_rings = answer_rings
        self.rng = random.Random(seed)
        self.plan = plan
        self.on_answer = on_answer
        self.on_hangup = on_hangup
        self.state = "idle"
        self.caller = None
        self.calls = 0
        self._fsk = FskReceiver(1, "bell202")
        self._cpd = CallProgressDetector(1, plan=plan)
        self._rings_seen = 0
        self._last_ring = 0.0

    def _decode(self, audio):
        law = self.phone.law.value
        return g711.alaw_decode(audio) if law == "alaw" else g711.ulaw_decode(audio)

    def tick(self, now_samples):
        """Listen to the phone and act."""
        now = now_samples / SAMPLE_RATE
        codes = self.phone.read_audio()
        lin = self._decode(codes) if codes.size else None
        if lin is not None and self.state in ("idle", "ringing"):
            for msg in self._fsk.process(lin):
                if msg.callerid is not None:
                    self.caller = msg.callerid.number
        if self.state == "idle" and self.phone.ringing:
            self.state = "ringing"
            self._rings_seen = self.phone.rings
            self._last_ring = now
        if self.state == "ringing":
            if self.phone.rings - self._rings_seen + 1 >= self.answer_rings and (self.caller or self.phone.rings - self._rings_seen >= 2):
                self.phone.off_hook()
                self.state = "talking"
                self.calls += 1
                self._cpd = CallProgressDetector(1, plan=self.plan)
                if self.pstn is not None and self.caller:
                    self.pstn.agent_answered(self.caller, self.name, now)
                if self.on_answer:
                    self.on_answer(self, now)
            elif self.phone.ringing:
                self._last_ring = now
            elif now - self._last_ring > 6.0:  # the ringing stopped for good: the call went elsewhere
                self.state = "idle"
                self.caller = None
        elif self.state == "talking" and lin is not None:
            kinds = {e.kind for e in self._cpd.process(lin)}
            if kinds & {"congestion", "busy"}:
                self.hang_up(now)

    def hang_up(self, now):
        """Put the phone down."""
        self.phone.on_hook()
        self.state = "idle"
        self.caller = None
        if self.on_hangup:
            self.on_hangup(self, now)
