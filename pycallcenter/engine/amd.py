"""Answering-machine detection on an answered outgoing call, from voice activity (webrtcvad).

A person answers with a short greeting ("Hello?") and then waits; a machine talks on for seconds
before its beep. The detector measures, in 20 ms frames: the silence before the first speech, the
length of the first greeting, and whether a pause long enough to be a person waiting follows.
Sans-IO: feed it blocks of the far end's audio; it returns a verdict once it has one.
"""
from typing import NamedTuple, Optional

import numpy as np

from pycallcenter.dsp import SAMPLE_RATE

FRAME = 160  # 20 ms


class AmdResult(NamedTuple):
    """Verdict (human, machine, silence, notsure), why, and when it was reached (seconds after answer)."""

    verdict: str
    reason: str
    seconds: float


class AmdDetector:
    """Classifies the far end of an answered call; thresholds in seconds."""

    def __init__(self, initial_silence=2.5, max_greeting=1.5, after_greeting_silence=0.8, total=5.0,
                 min_word=0.1, vad_mode=2):
        import webrtcvad

        self.vad = webrtcvad.Vad(vad_mode)
        self.initial_silence, self.max_greeting = initial_silence, max_greeting
        self.after_silence, self.total, self.min_word = after_greeting_silence, total, min_word
        self._buf = np.zeros(0, np.int16)
        self.frames = 0
        self.speech_frames = 0  # in the current greeting
        self.silence_run = 0
        self.heard = False
        self.result: Optional[AmdResult] = None

    def feed(self, samples):
        """Take int16 samples; return the AmdResult once decided (and keep returning it), else None."""
        if self.result is not None:
            return self.result
        buf = np.concatenate([self._buf, np.asarray(samples, np.int16)])
        n = buf.size // FRAME * FRAME
        for i in range(0, n, FRAME):
            self._frame(self.vad.is_speech(buf[i:i + FRAME].tobytes(), SAMPLE_RATE))
            if self.result is not None:
                break
        self._buf = buf[n:]
        return self.result

    def _frame(self, speech):
        self.frames += 1
        t = self.frames * FRAME / SAMPLE_RATE
        if speech:
            self.speech_frames += 1
            self.silence_run = 0
            if self.speech_frames * FRAME / SAMPLE_RATE >= self.min_word:
                self.heard = True
            if self.speech_frames * FRAME / SAMPLE_RATE > self.max_greeting:
                self._decide("machine", "long greeting", t)
        else:
            self.silence_run += 1
            quiet = self.silence_run * FRAME / SAMPLE_RATE
            if not self.heard and quiet >= self.initial_silence:
                self._decide("silence" if t >= self.total else "machine", "initial silence", t)
            elif self.heard and quiet >= self.after_silence:
                self._decide("human", "short greeting then silence", t)
        if self.result is None and t >= self.total:
            self._decide("notsure", "no decision in time", t)

    def _decide(self, verdict, reason, t):
        self.result = AmdResult(verdict, reason, round(t, 2))
