"""The emulated PSTN on a PRI span: a network-side Q.931 stack placing calls from simulated callers,
who press digits, wait with finite patience, talk and hang up."""
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from pycallcenter.dsp import SAMPLE_RATE, g711
from pycallcenter.dsp.tones import dtmf_signal
from pycallcenter.engine.media import Player
from pycallcenter.isdn import call as q

S = SAMPLE_RATE


@dataclass
class Caller:
    """One simulated caller and what happened to them (times in seconds of board time)."""

    number: str
    called: str
    arrival: float
    digits: str = ""  # pressed after answer, each with a pause (menu choices, account numbers)
    digit_delay: float = 2.5  # seconds after answer (or the previous digit group) before pressing
    patience: float = 120.0  # seconds from answer before giving up if no agent took the call
    talk: float = 180.0  # seconds of conversation once an agent answered
    kind: str = "voice"  # "voice" or "fax" (a fax machine: CNG, then T.30 if fax_document is set)
    fax_document: Optional[str] = None  # TIFF-F the fax machine sends once the call is answered
    # outcome
    placed: Optional[float] = None
    answered: Optional[float] = None
    agent_at: Optional[float] = None
    agent: Optional[str] = None
    ended: Optional[float] = None
    cause: Optional[int] = None
    abandoned: bool = False
    refused: bool = False
    pressed: int = 0  # digit groups pressed so far
    clearing: bool = False  # we hung up; waiting for the network to finish clearing
    fax_result: Optional[dict] = None  # phase E of the fax machine's session
    log: list = field(default_factory=list)


class PstnSimulator:
    """Drives the network end of one emulated PRI span: place calls, play caller audio, clear calls."""

    def __init__(self, board, far_end="net", variant="euroisdn_e1", seed=1):
        self.far = board.emulator.far_ends[far_end]
        self.law = self.far.law
        self.iface = q.Interface(network=True, variant=variant)
        self.rng = random.Random(seed)
        self.pending = deque()  # callers not placed yet, by arrival
        self.active = {}  # isdn Call -> Caller
        self.by_number = {}
        self.done = []
        self.audio = {}  # channel offset -> Player of what the caller sends
        self.fax = {}  # channel offset -> (Caller, FaxSession) of fax machines in a call
        self.offsets = [i + 1 for i in range(len(self.far.rows))]
        self.now = 0.0
        self._idle = None  # the encoded block of silence on every channel
        self.far.handler = self._tick
        self._q931(self.iface.start(0.0))

    # --- public --------------------------------------------------------------------------------
    def add(self, caller):
        """Schedule a caller (keeps arrival order)."""
        self.pending.append(caller)
        self.pending = deque(sorted(self.pending, key=lambda c: c.arrival))

    def agent_answered(self, number, agent, now):
        """An agent's phone showing this caller's number was answered: the caller is being served."""
        caller = self.by_number.get(number)
        if caller is not None and caller.agent_at is None and caller.ended is None:
            caller.agent_at = now
            caller.agent = agent
            caller.log.append((now, "agent"))

    @property
    def busy(self):
        """Return True while callers are waiting to be placed or in a call."""
        return bool(self.pending or self.active)

    # --- per tick ------------------------------------------------------------------------------
    def _tick(self, far, now_samples):
        self.now = now = now_samples / S
        for frame in far.read_frames():
            self._q931(self.iface.receive(frame, now))
        deadline = self.iface.next_deadline()
        if deadline is not None and deadline <= now:
            self._q931(self.iface.handle_timer(now))
        while self.pending and self.pending[0].arrival <= now:
            self._place(self.pending.popleft(), now)
        for call, caller in list(self.active.items()):
            self._behave(call, caller, now)
        for frame in self.iface.pop_frames():
            far.write_frame(frame)
        far.write(self._audio_block())

    def _place(self, caller, now):
        caller.placed = now
        try:
            call = self.iface.setup(now, called=caller.called, calling=caller.number)
        except Exception as exc:  # no free channel or link down: the caller hears congestion
            caller.refused = True
            caller.ended = now
            caller.log.append((now, f"refused {exc}"))
            self.done.append(caller)
            return
        self.active[call] = caller
        self.by_number[caller.number] = caller
        caller.log.append((now, "setup"))

    def _behave(self, call, caller, now):
        if caller.answered is None or caller.clearing:
            return
        since = now - caller.answered
        if caller.agent_at is not None:
            if now - caller.agent_at >= caller.talk:
                self._hangup(call, caller, now, "talk over")
            return
        if caller.kind == "voice" and since >= caller.patience:
            caller.abandoned = True
            self._hangup(call, caller, now, "abandoned")
            return
        off = call.channel
        if caller.digits and off not in self.audio:
            groups = caller.digits.split(",")  # "1,4321#": press 1, wait, then the account number
            if caller.pressed < len(groups) and since >= caller.digit_delay * (caller.pressed + 1):
                group = groups[caller.pressed]
                caller.pressed += 1
                self.audio[off] = Player([dtmf_signal(group, level_dbm0=-8, on_ms=80, off_ms=80)])
                caller.log.append((now, f"pressed {group}"))
        if caller.kind == "fax" and caller.fax_document and off not in self.fax:
            from pycallcenter.fax.session import FaxSession

            self.fax[off] = (caller, FaxSession(calling=True, send=caller.fax_document, ident="SIM FAX"))
        elif caller.kind == "fax" and off not in self.audio and off not in self.fax:
            self.audio[off] = Player([_cng()])  # CNG repeats while the fax machine waits

    def _hangup(self, call, caller, now, why):
        caller.clearing = True
        caller.log.append((now, why))
        self._q931(self.iface.hangup(call, now, 16))

    def _audio_block(self):
        bs = self.far.emu.blocksize
        if not self.audio and not self.fax:  # every caller silent: the idle block (far.write copies it)
            if self._idle is None or self._idle.shape[1] != bs:
                silence = np.zeros((len(self.far.rows), bs), np.int16)
                encode = g711.alaw_encode if self.law.value == "alaw" else g711.ulaw_encode
                self._idle = encode(silence)
            return self._idle
        lin = np.zeros((len(self.far.rows), bs), np.int32)
        for off, player in list(self.audio.items()):
            if player.fill(lin[off - 1]):
                del self.audio[off]
        if self.fax and self.far.last_rx is not None:
            heard = self.far.last_rx
            for off, (caller, session) in list(self.fax.items()):
                row = heard[off - 1]
                rx = g711.alaw_decode(row) if self.law.value == "alaw" else g711.ulaw_decode(row)
                lin[off - 1] = session.tick(rx)
                if session.done and not caller.clearing:
                    caller.fax_result = session.result.as_dict() if session.result else None
                    call = next((c for c, who in self.active.items() if who is caller), None)
                    if call is not None:
                        self._hangup(call, caller, self.now, "fax done")
        lin16 = np.clip(lin, -32768, 32767).astype(np.int16)
        return g711.alaw_encode(lin16) if self.law.value == "alaw" else g711.ulaw_encode(lin16)

    def _q931(self, events):
        now = self.now
        for ev in events:
            caller = self.active.get(getattr(ev, "call", None))
            if caller is None:
                continue
            if isinstance(ev, q.Answered):
                caller.answered = now
                caller.log.append((now, "answered"))
            elif isinstance(ev, q.Disconnected):
                self._q931(self.iface.hangup(ev.call, now, ev.cause))
            elif isinstance(ev, q.CallEnded):
                caller.ended = now
                caller.cause = ev.cause
                caller.log.append((now, f"ended {ev.cause}"))
                self.audio.pop(ev.call.channel, None)
                fax = self.fax.pop(ev.call.channel, None)
                if fax is not None:
                    if caller.fax_result is None:
                        caller.fax_result = fax[1].hangup().as_dict()
                    fax[1].close()
                del self.active[ev.call]
                if self.by_number.get(caller.number) is caller:
                    del self.by_number[caller.number]
                self.done.append(caller)


def _cng():
    """Return one CNG cycle: 1100 Hz for 0.5 s, then 3 s of silence, at -10 dBm0."""
    t = np.arange(int(0.5 * S)) / S
    tone = (32768 * 10 ** ((-3.14 - 10) / 20) * np.sin(2 * np.pi * 1100 * t)).astype(np.int16)
    return np.concatenate([tone, np.zeros(3 * S, np.int16)])
