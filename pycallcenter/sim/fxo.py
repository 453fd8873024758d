"""Simulated callers on analog PSTN lines into the centre's FXO ports (the emulator's ``PstnLine`` far ends).

A caller rings a free line with caller ID between the first rings; once the port goes off hook (the centre
answered) they press their digits as DTMF into the IVR, wait for an agent with finite patience, talk and
hang up. An analog line has no clearing message, so how the far end's hang-up reaches the port is the
line's: ``loop`` drops loop current (disconnect supervision), ``tone`` only plays the exchange's busy tone
toward the port (the port must hear it and go on hook). When the port goes on hook first, the centre
cleared. ``vanish()`` makes the far end of a line disappear mid-call (the soak's fxo_line_drop fault).

The callers are the PSTN simulator's ``Caller`` records, so a soak counts them with the others; a caller
who finds every line busy is ``refused`` (the exchange gives them busy before the centre sees anything).
"""
import random
from collections import deque

from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.dsp.tones import dtmf_signal, generate

CLEARINGS = ("loop", "tone")
RING_PATIENCE = 40.0  # seconds a caller lets the line ring before giving up (the centre answers after 2 rings)
REUSE_GAP = 3.0  # seconds a line rests on hook between calls (the port's machine returns to idle)
TONE_SECONDS = 15.0  # busy tone the exchange plays toward a port left off hook after the far end cleared


class _LineState:
    """What one PSTN line is doing: its caller and since when the line has been in its phase."""

    def __init__(self, far, clearing):
        self.far = far  # the emulator's PstnLine
        self.clearing = clearing  # "loop" or "tone"
        self.caller = None
        self.phase = "idle"  # idle, ringing, connected, clearing (the far end gone, the port still up)
        self.free_at = 0.0  # board seconds from when a new call may ring the line
        self.why = ""  # how the far end left: hung up, abandoned, vanished


class FxoSimulator:
    """Drives the network end of the centre's FXO lines: ring them with callers, play their DTMF, clear."""

    def __init__(self, board, names, plan="etsi", clearing=("loop",), seed=1):
        far_ends = board.emulator.far_ends
        modes = list(clearing) if not isinstance(clearing, str) else [clearing]
        for mode in modes:
            if mode not in CLEARINGS:
                raise ValueError(f"clearing must be one of {', '.join(CLEARINGS)}, got {mode!r}")
        # lines alternate between the clearing modes given, in order
        self.lines = [_LineState(far_ends[name], modes[i % len(modes)]) for i, name in enumerate(names)]
        self.plan = plan
        self.rng = random.Random(seed)
        self.pending = deque()  # callers not placed yet, by arrival
        self.active = {}  # line name -> Caller in a call on it (ringing or connected)
        self.done = []
        self.now = 0.0
        self.vanished = 0  # far ends that disappeared mid-call (vanish())
        self._busy_tone = None
        self._wants = {}  # id(Caller) -> the clearing mode of the line they should ring

    # --- public --------------------------------------------------------------------------------
    def add(self, caller, clearing=None):
        """Schedule a caller (keeps arrival order); clearing: ring a line that clears that way when one is free."""
        if clearing is not None:
            self._wants[id(caller)] = clearing
        self.pending.append(caller)
        self.pending = deque(sorted(self.pending, key=lambda c: c.arrival))

    @property
    def busy(self):
        """Return True while callers wait to be placed or a line is not back to idle."""
        return bool(self.pending or self.active or any(s.phase != "idle" for s in self.lines))

    def agent_answered(self, number, agent, now):
        """An agent's phone showing this caller's number was answered: the caller is being served."""
        for state in self.lines:
            c = state.caller
            if c is not None and c.number == number and c.agent_at is None and state.phase == "connected":
                c.agent_at, c.agent = now, agent
                c.log.append((now, "agent"))

    def connected(self, clearing=None):
        """Return the names of the lines with a caller connected to the centre now (those that clear the
        given way, when clearing is given)."""
        return [s.far.name for s in self.lines if s.phase == "connected" and clearing in (None, s.clearing)]

    def vanish(self, name, now):
        """The far end of a connected line disappears (a cut cable at the exchange, the caller's line
        failing): the line clears as configured, with nobody left to say so. Return the caller, or None
        when the line had no call up."""
        state = next(s for s in self.lines if s.far.name == name)
        if state.phase != "connected":
            return None
        self.vanished += 1
        caller = state.caller
        self._far_clears(state, now, "vanished")
        return caller

    def line_of(self, caller):
        """Return the name of the line a caller is on now, or None."""
        return next((s.far.name for s in self.lines if s.caller is caller), None)

    def clearing_of(self, name):
        """Return how a line tells the port its far end left: 'loop' or 'tone'."""
        return next(s.clearing for s in self.lines if s.far.name == name)

    def line_state(self, name):
        """Return the phase of a line (idle, ringing, connected, clearing)."""
        return next(s.phase for s in self.lines if s.far.name == name)

    # --- per tick ------------------------------------------------------------------------------
    def tick(self, now_samples):
        """Advance every line to board time now_samples: place due callers, behave, notice the port."""
        self.now = now = now_samples / SAMPLE_RATE
        while self.pending and self.pending[0].arrival <= now:
            self._place(self.pending.popleft(), now)
        for state in self.lines:
            self._line(state, now)

    def _place(self, caller, now):
        caller.placed = now
        free = [s for s in self.lines if s.phase == "idle" and s.free_at <= now and not s.far.off_hook]
        want = self._wants.pop(id(caller), None)
        state = next((s for s in free if s.clearing == want), free[0] if free else None)
        if state is None:  # every line in use: the exchange gives the caller busy
            caller.refused = True
            caller.ended = now
            caller.log.append((now, "refused: every line busy"))
            self.done.append(caller)
            return
        state.caller, state.phase, state.why = caller, "ringing", ""
        self.active[state.far.name] = caller
        state.far.call(caller.number, None)
        caller.log.append((now, f"ringing {state.far.name}"))

    def _line(self, state, now):
        far, caller = state.far, state.caller
        if state.phase == "ringing":
            if far.off_hook:  # the centre answered (ring trip)
                state.phase = "connected"
                caller.answered = now
                caller.log.append((now, "answered"))
            elif now - caller.placed >= RING_PATIENCE:
                far.stop_ringing()
                caller.abandoned = True
                self._end(state, now, None, "gave up ringing")
            return
        if state.phase == "connected":
            if not far.off_hook:  # the port went on hook first: the centre cleared
                self._end(state, now, 16, "cleared by the centre")
                return
            self._behave(state, caller, now)
            return
        if state.phase == "clearing" and not far.off_hook:  # the port noticed the far end leave
            far.clear_audio()  # the exchange's tone stops with the loop
            self._end(state, now, 16, state.why)

    def _behave(self, state, caller, now):
        step = caller.act(now)
        if step is None or step[0] == "talk":
            return
        what, arg = step
        if what == "hang up":
            self._far_clears(state, now, arg)
        else:
            state.far.write_audio(dtmf_signal(arg, level_dbm0=-8, on_ms=80, off_ms=80))

    def _far_clears(self, state, now, why):
        """The far party is gone: drop loop current or play busy tone toward the port, as the line clears."""
        far = state.far
        state.phase, state.why = "clearing", why
        state.caller.clearing = True
        state.caller.log.append((now, why))
        far.clear_audio()
        if state.clearing == "loop":
            far.line.drop_loop_current(far.emu.sample_time)
        else:
            if self._busy_tone is None:
                self._busy_tone = generate(self.plan, "busy", TONE_SECONDS)
            far.write_audio(self._busy_tone)

    def _end(self, state, now, cause, why):
        caller = state.caller
        caller.ended, caller.cause = now, cause
        caller.log.append((now, f"ended: {why}"))
        state.caller, state.phase, state.free_at = None, "idle", now + REUSE_GAP
        del self.active[state.far.name]
        self.done.append(caller)
