"""The emulated PSTN on a PRI span: a network-side Q.931 stack placing calls from simulated callers,
who press digits, wait with finite patience, talk and hang up; and answering the centre's outgoing
calls as simulated people (a short "hello?", then they wait for an agent), answering machines (a long
greeting), busy lines or lines nobody answers (``Callee``)."""
import random
from collections import deque
from dataclasses import dataclass, field
from heapq import heappop, heappush
from typing import Optional

import numpy as np

from pycallcenter.dsp import SAMPLE_RATE, g711
from pycallcenter.dsp.tones import dtmf_signal
from pycallcenter.engine.media import Player
from pycallcenter.isdn import call as q
from pycallcenter.isdn import causes

S = SAMPLE_RATE
# who answers the centre's calls to numbers nobody described (answer_unknown): weights
OUTBOUND_MIX = {"human": 0.35, "machine": 0.15, "busy": 0.1, "no_answer": 0.4}
DIGIT_GAP = 0.3  # seconds between a caller's digits in overlap sending


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
    next_digit: float = 0.0  # when the next overlap digit goes
    to_dial: str = ""  # overlap sending: called digits still to send in INFORMATION, one at a time
    fax_result: Optional[dict] = None  # phase E of the fax machine's session
    log: list = field(default_factory=list)
    # while waiting for an agent: no earlier tick can make it act (its patience running out, its next digit
    # group due); a little before the exact time, so the check in _behave still decides, as on every tick
    wake: float = 0.0
    order: int = 0  # placing order on its PSTN simulator (which looks at it in that order)

    def act(self, now, can_press=True):
        """Return what this answered caller does at board time ``now``: ("hang up", why) when its talk with an
        agent is over or a voice caller's patience runs out (then abandoned), ("talk", None) while an agent
        has it, ("press", group) when its next digit group is due and ``can_press``, else None."""
        if self.agent_at is not None:
            return ("hang up", "talk over") if now - self.agent_at >= self.talk else ("talk", None)
        since = now - self.answered
        if self.kind == "voice" and since >= self.patience:
            self.abandoned = True
            return ("hang up", "abandoned")
        if can_press and self.digits:
            groups = self.digits.split(",")  # "1,4321#": press 1, wait, then the account number
            if self.pressed < len(groups) and since >= self.digit_delay * (self.pressed + 1):
                group = groups[self.pressed]
                self.pressed += 1
                self.log.append((now, f"pressed {group}"))
                return ("press", group)
        return None


@dataclass
class Callee:
    """One number the centre may call and who answers it (times in seconds of board time).

    kinds: how each attempt goes, in order (the last repeats): "human" (answers after answer_after
    seconds of ringing, says hello, waits up to patience seconds for an agent, talks for talk seconds),
    "machine" (answers, plays a long greeting and records), "busy", "no_answer" (rings until the
    centre gives up)."""

    number: str
    kinds: tuple = ("human",)
    answer_after: float = 4.0
    greeting: float = 0.6  # seconds of speech in a person's hello (a machine talks for 6 s)
    patience: float = 20.0
    talk: float = 30.0
    # outcome, one entry per attempt: (kind, offered, answered, agent_at, agent, ended, cause)
    attempts: list = field(default_factory=list)
    agent: Optional[str] = None  # the last agent who talked to them
    # the attempt in progress
    kind: str = ""
    offered: Optional[float] = None
    answered: Optional[float] = None
    agent_at: Optional[float] = None
    clearing: bool = False
    agent_first: Optional[tuple] = None  # (agent, time) of an agent who answered before we were called

    def reached(self):
        """Return how many attempts reached an agent."""
        return sum(1 for a in self.attempts if a[3] is not None)


class PstnSimulator:
    """Drives the network end of one emulated PRI span: place calls, play caller audio, clear calls."""

    def __init__(self, board, far_end="net", variant="euroisdn_e1", seed=1, iface=None, overlap=False):
        self.far = board.emulator.far_ends[far_end]
        self.far.keep_audio(0)  # it listens to last_rx only: kept audio would be 15 MB a span for no reader
        self.law = self.far.law
        # the network's signalling: Q.931 by default; sim.ss7 gives an ISUP exchange with the same calls
        self.iface = iface if iface is not None else q.Interface(network=True, variant=variant)
        self.rng = random.Random(seed)
        self.pending = deque()  # callers not placed yet, by arrival
        self.active = {}  # isdn Call -> Caller
        self.by_number = {}
        self.done = []
        self.audio = {}  # channel offset -> Player of what the caller sends
        self.fax = {}  # channel offset -> (Caller, FaxSession) of fax machines in a call
        self.offsets = [i + 1 for i in range(len(self.far.rows))]
        self.now = 0.0
        self.callees = {}  # number -> Callee: who answers the centre's outgoing calls
        self.answering = {}  # isdn Call -> Callee of an outgoing call of the centre in progress
        self.strangers = None  # (mix, talk mean) for numbers without a Callee (answer_unknown)
        self._idle = None  # the encoded block of silence on every channel
        self._idle_is_line_idle = False  # it equals the span's own idle block: nothing need be written
        # the answered callers a tick must look at: (board time, placing order, entry number), their calls and
        # callers by placing order (the order of self.active), and the order the tick's visit has reached
        self._visits = []
        self._placed = {}
        self._order = 0
        self._entries = 0
        self._ready = None
        self._visiting = -1
        # overlap sending (PRI only): SETUP with the first digit and no sending complete, then one digit in
        # INFORMATION every DIGIT_GAP seconds once the centre acknowledged the SETUP, as a caller dialling does
        self.overlap = overlap and isinstance(self.iface, q.Interface)
        self.far.handler = self._tick
        self._q931(self.iface.start(0.0))

    # --- public --------------------------------------------------------------------------------
    def add(self, caller):
        """Schedule a caller (keeps arrival order)."""
        self.pending.append(caller)
        self.pending = deque(sorted(self.pending, key=lambda c: c.arrival))

    def add_callee(self, callee):
        """Let a Callee answer the centre's calls to its number; return it."""
        self.callees[callee.number] = callee
        return callee

    def answer_unknown(self, mix=None, talk_mean=60.0):
        """Answer the centre's calls to numbers without a Callee too: a caller who called in earlier
        (a callback) answers as a person; any other number is a person, a machine, busy or unanswered
        by the weights of mix (default OUTBOUND_MIX), seeded, and stays that way for its later calls."""
        self.strangers = (dict(mix or OUTBOUND_MIX), talk_mean)

    def _stranger(self, number):
        mix, talk_mean = self.strangers
        called_in = any(c.number == number for c in self.done) or number in self.by_number
        kind = "human" if called_in else self.rng.choices(list(mix), weights=list(mix.values()))[0]
        return self.add_callee(Callee(number, kinds=(kind,), answer_after=self.rng.uniform(3.0, 15.0),
                                      talk=10.0 + self.rng.expovariate(1.0 / talk_mean)))

    def agent_answered(self, number, agent, now):
        """An agent's phone showing this caller's number was answered: the caller is being served."""
        callee = self.callees.get(number)
        if callee is not None and not callee.kind:  # agent first (a callback): the agent waits for them
            callee.agent_first = (agent, now)
            return
        if callee is not None and callee.answered is not None and callee.agent_at is None and not callee.clearing:
            callee.agent_at, callee.agent = now, agent
            return
        caller = self.by_number.get(number)
        if caller is not None and caller.agent_at is None and caller.ended is None:
            caller.agent_at = now
            caller.agent = agent
            caller.log.append((now, "agent"))
            self._wake(caller, now + caller.talk)

    @property
    def busy(self):
        """Return True while callers are waiting to be placed or in a call."""
        return bool(self.pending or self.active or self.answering)

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
        due = self._visits
        if due and due[0][0] <= now:
            self._visit(now)
        if self.answering:
            for call, callee in list(self.answering.items()):
                self._answer_behave(call, callee, now)
        for frame in self.iface.pop_frames():
            far.write_frame(frame)
        block = self._audio_block()
        if block is not self._idle or not self._idle_is_line_idle:  # all idle: the span sends its own idle block
            far.write(block)

    def _wake(self, caller, at):
        """Have the tick look at caller at board time ``at`` (a little before: the checks in _visit decide, so
        floating point never moves a decision to a later tick; at or before now: this tick if the visit has
        not passed it yet, else the next)."""
        order = caller.order
        if order not in self._placed:
            return
        self._entries += 1
        if self._ready is not None and order > self._visiting and at - 1e-6 <= self.now:
            heappush(self._ready, order)
        else:
            heappush(self._visits, (at - 1e-6, order, self._entries))

    def _visit(self, now):
        """Look at the callers due, in placing order (the order the tick once walked every active caller in:
        their messages go out in that order): overlap digits, then what an answered caller does."""
        due, placed = self._visits, self._placed
        ready = self._ready = []
        while due and due[0][0] <= now:
            heappush(ready, heappop(due)[1])
        last = -1
        while ready:
            order = heappop(ready)
            if order == last:
                continue
            last = self._visiting = order
            entry = placed.get(order)
            if entry is None:  # its call ended
                continue
            call, caller = entry
            if caller.to_dial:
                self._dial_next(call, caller, now)
            # most callers on most ticks are ringing, clearing or talking with time left: nothing to do
            if caller.answered is None or caller.clearing:
                pass
            elif caller.agent_at is not None and now - caller.agent_at < caller.talk:
                pass
            elif now < caller.wake and caller.agent_at is None:  # waiting, with nothing due yet
                pass
            else:
                self._behave(call, caller, now)
            self._again(caller, now)
        self._ready, self._visiting = None, -1

    def _again(self, caller, now):
        """Schedule a visited caller's next visit: every tick while it dials overlap digits or a fax machine
        waits, at its talk's end, at its wake while it waits; none while it rings or clears (its answer
        schedules it)."""
        if caller.to_dial:
            self._wake(caller, now)
        elif caller.answered is None or caller.clearing or caller.order not in self._placed:
            return
        elif caller.agent_at is not None:
            self._wake(caller, max(now, caller.agent_at + caller.talk))
        else:
            self._wake(caller, max(now, caller.wake))

    def _place(self, caller, now):
        caller.placed = now
        try:
            if self.overlap and len(caller.called) > 1:
                call = self.iface.setup(now, called=caller.called[:1], calling=caller.number, overlap=True)
                caller.to_dial, caller.next_digit = caller.called[1:], now + DIGIT_GAP
            else:
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
        self._order += 1
        caller.order = self._order
        self._placed[caller.order] = (call, caller)
        if caller.to_dial:
            self._wake(caller, now)

    def _dial_next(self, call, caller, now):
        """Overlap sending: the next called digit once the centre asked for more (SETUP ACKNOWLEDGE); nothing more
        once it went on with what it has (CALL PROCEEDING, ALERTING, CONNECT or a release)."""
        if call.state == q.CALL_INITIATED or now < caller.next_digit:
            return
        if call.state != q.OVERLAP_SENDING:
            caller.to_dial = ""
            return
        digit, caller.to_dial = caller.to_dial[0], caller.to_dial[1:]
        caller.next_digit = now + DIGIT_GAP
        caller.log.append((now, f"dialled {digit}"))
        self._q931(self.iface.send_digits(call, digit, now))

    def _behave(self, call, caller, now):
        if caller.answered is None or caller.clearing:
            return
        off = call.channel
        step = caller.act(now, off not in self.audio)
        if step is not None:
            what, arg = step
            if what == "hang up":
                self._hangup(call, caller, now, arg)
                return
            if what == "talk":
                return
            self.audio[off] = Player([dtmf_signal(arg, level_dbm0=-8, on_ms=80, off_ms=80)])
        if caller.kind == "fax" and caller.fax_document and off not in self.fax:
            from pycallcenter.fax.session import FaxSession  # deliberate: spandsp, only for simulated fax callers

            self.fax[off] = (caller, FaxSession(calling=True, send=caller.fax_document, ident="SIM FAX"))
        elif caller.kind == "fax" and off not in self.audio and off not in self.fax:
            self.audio[off] = Player([_cng()])  # CNG repeats while the fax machine waits
        if caller.kind == "voice":
            caller.wake = self._due(caller, off, now)

    def _due(self, caller, off, now):
        """Return the board time before which a voice caller waiting for an agent does nothing: its patience's
        end or its next digit group's (now while its last group is still playing: it ends on a tick)."""
        due = caller.answered + caller.patience
        if caller.digits:
            groups = caller.digits.count(",") + 1
            if caller.pressed < groups:
                if off in self.audio:
                    return now
                due = min(due, caller.answered + caller.digit_delay * (caller.pressed + 1))
        return due - 1e-6

    # --- the centre's outgoing calls -------------------------------------------------------------
    def _offered(self, ev, now):
        callee = self.callees.get(ev.called)
        if callee is None and self.strangers is not None:
            callee = self._stranger(ev.called)
        if callee is None:  # not one of ours: left to whoever drives this PSTN (it rings until cleared)
            return
        if callee.kind:  # already in a call: the line is busy
            self._q931(self.iface.hangup(ev.call, now, causes.USER_BUSY))
            return
        kind = callee.kinds[min(len(callee.attempts), len(callee.kinds) - 1)]
        callee.kind, callee.offered, callee.answered, callee.agent_at, callee.clearing = kind, now, None, None, False
        self.answering[ev.call] = callee
        if kind == "busy":
            self._q931(self.iface.hangup(ev.call, now, causes.USER_BUSY))
        else:
            self._q931(self.iface.alerting(ev.call, now))

    def _answer_behave(self, call, callee, now):
        if callee.clearing or callee.kind not in ("human", "machine"):
            return
        if callee.answered is None:
            if now - callee.offered >= callee.answer_after:
                callee.answered = now
                if callee.agent_first is not None and callee.kind == "human":  # the agent is on the line
                    callee.agent, callee.agent_at = callee.agent_first[0], now
                self._q931(self.iface.answer(call, now))
                seconds = callee.greeting if callee.kind == "human" else 6.0
                speech = _voice(seconds, self.rng)
                if callee.kind == "machine":
                    speech = np.concatenate([speech, np.zeros(S // 2, np.int16), _beep()])
                self.audio[call.channel] = Player([np.zeros(S // 4, np.int16), speech])
            return
        since = now - callee.answered
        if callee.kind == "machine":
            if since >= 40.0:  # its recording time is over
                self._callee_hangup(call, callee, now)
        elif callee.agent_at is not None:
            if now - callee.agent_at >= callee.talk:
                self._callee_hangup(call, callee, now)
        elif since >= callee.patience:
            self._callee_hangup(call, callee, now)

    def _callee_hangup(self, call, callee, now):
        callee.clearing = True
        self._q931(self.iface.hangup(call, now, 16))

    def _callee_ended(self, call, callee, now, cause):
        callee.attempts.append((callee.kind, callee.offered, callee.answered, callee.agent_at, callee.agent
                                if callee.agent_at is not None else None, now, cause))
        callee.kind, callee.agent_first = "", None
        self.audio.pop(call.channel, None)
        del self.answering[call]

    def _hangup(self, call, caller, now, why):
        caller.clearing = True
        caller.log.append((now, why))
        self._q931(self.iface.hangup(call, now, 16))

    def _idle_block(self, bs):
        """Return the encoded silence of every channel (read-only, shared tick after tick)."""
        if self._idle is None or self._idle.shape[1] != bs:
            silence = np.zeros((len(self.far.rows), bs), np.int16)
            encode = g711.alaw_encode if self.law.value == "alaw" else g711.ulaw_encode
            self._idle = encode(silence)
            self._idle.flags.writeable = False  # far.write keeps a read-only block without a copy
            self._idle_is_line_idle = bool((self._idle == self.law.idle).all())
        return self._idle

    def _audio_block(self):
        bs = self.far.emu.blocksize
        idle = self._idle_block(bs)
        if not self.audio and not self.fax:  # every caller silent
            return idle
        # only the channels with a player or a fax machine are mixed and encoded; the others send silence
        offsets = sorted(set(self.audio).union(self.fax))
        at = {off: i for i, off in enumerate(offsets)}
        lin = np.zeros((len(offsets), bs), np.int32)
        for off, player in list(self.audio.items()):
            if player.fill(lin[at[off]]):
                del self.audio[off]
        if self.fax and self.far.last_rx is not None:
            heard = self.far.last_rx
            for off, (caller, session) in list(self.fax.items()):
                row = heard[off - 1]
                rx = g711.alaw_decode(row) if self.law.value == "alaw" else g711.ulaw_decode(row)
                lin[at[off]] = session.tick(rx)
                if session.done and not caller.clearing:
                    caller.fax_result = session.result.as_dict() if session.result else None
                    call = next((c for c, who in self.active.items() if who is caller), None)
                    if call is not None:
                        self._hangup(call, caller, self.now, "fax done")
        np.maximum(lin, -32768, out=lin)  # the ufuncs straight: np.clip's Python wrapper costs more than this
        np.minimum(lin, 32767, out=lin)
        lin16 = lin.astype(np.int16)
        block = idle.copy()
        block[np.array(offsets, np.intp) - 1] = g711.alaw_encode(lin16) if self.law.value == "alaw" \
            else g711.ulaw_encode(lin16)
        block.flags.writeable = False  # ours alone: far.write keeps it without a copy
        return block

    def _q931(self, events):
        now = self.now
        for ev in events:
            call = getattr(ev, "call", None)
            if isinstance(ev, q.IncomingCall):
                self._offered(ev, now)
                continue
            callee = self.answering.get(call)
            if callee is not None:
                if isinstance(ev, q.Disconnected):
                    self._q931(self.iface.hangup(call, now, ev.cause))
                elif isinstance(ev, q.CallEnded):
                    self._callee_ended(call, callee, now, ev.cause)
                continue
            caller = self.active.get(call)
            if caller is None:
                continue
            if isinstance(ev, q.Answered):
                caller.answered = now
                caller.log.append((now, "answered"))
                self._wake(caller, now)
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
                self._placed.pop(caller.order, None)
                if self.by_number.get(caller.number) is caller:
                    del self.by_number[caller.number]
                self.done.append(caller)


def _voice(seconds, rng, level=6000):
    """Return seconds of a synthetic voice: a pitch-jittered harmonic buzz in 4 Hz syllables, which
    voice activity detectors take for speech (a person's hello, a machine's greeting)."""
    n = int(seconds * S)
    t = np.arange(n) / S
    f0 = rng.uniform(100.0, 180.0)
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))) / S
    buzz = sum(np.sin(k * phase) / k for k in range(1, int(3800 / f0)))
    syllables = 0.5 * (1 - np.cos(2 * np.pi * 4 * t))
    sig = buzz * syllables
    peak = np.max(np.abs(sig)) if n else 1.0
    return (sig / (peak or 1.0) * level).astype(np.int16)


def _beep():
    """Return the 1 kHz beep an answering machine plays before it records (0.5 s)."""
    t = np.arange(S // 2) / S
    return (8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)


def _cng():
    """Return one CNG cycle: 1100 Hz for 0.5 s, then 3 s of silence, at -10 dBm0."""
    t = np.arange(int(0.5 * S)) / S
    tone = (32768 * 10 ** ((-3.14 - 10) / 20) * np.sin(2 * np.pi * 1100 * t)).astype(np.int16)
    return np.concatenate([tone, np.zeros(3 * S, np.int16)])
