"""Calls and legs: the technology-neutral view of a call that scripts, the ACD and CDRs see.

A leg is one channel's side of a call (a PRI B-channel, an SS7 circuit, an FXO trunk, an FXS
extension). Its trunk adapter turns signalling into leg events and leg commands into signalling.
Causes are Q.850 values everywhere (Q.931 and ISUP use them as they are); analog outcomes map in.

Who owns a leg: the scripts running on its call (``Call.scripts``). When the last of them ends, the
engine clears every leg of the call that is still up, so no call outlives its script. A leg with a
``keeper`` is left alone: the keeper took it over and clears it itself (the ACD for the agent legs it
rings, the station features for legs they hold, consult or transfer, the engine for a pair handed off
with ``Engine.hand_off``). Legs of a call that has no script (a click-to-dial, a dialler attempt
before its script starts) belong to whoever placed them.
"""
from dataclasses import dataclass, field
from typing import Any, Optional

from pycallcenter.causes import Cause

# Q.850 cause values the engine itself uses (short names for members of the one table)
NORMAL_CLEARING = Cause.NORMAL_CALL_CLEARING
USER_BUSY = Cause.USER_BUSY
NO_USER_RESPONSE = Cause.NO_USER_RESPONDING
NO_ANSWER = Cause.NO_ANSWER_FROM_USER
CALL_REJECTED = Cause.CALL_REJECTED
UNALLOCATED_NUMBER = Cause.UNALLOCATED_NUMBER
NO_CIRCUIT = Cause.NO_CIRCUIT_CHANNEL_AVAILABLE
NETWORK_OUT_OF_ORDER = Cause.NETWORK_OUT_OF_ORDER
TEMPORARY_FAILURE = Cause.TEMPORARY_FAILURE
NORMAL_UNSPECIFIED = Cause.NORMAL_UNSPECIFIED
RECOVERY_ON_TIMER_EXPIRY = Cause.RECOVERY_ON_TIMER_EXPIRY

# analog call-progress outcomes -> Q.850 (what a PRI or ISUP leg would have reported)
ANALOG_CAUSES = {
    "on_hook": NORMAL_CLEARING,
    "loop_drop": NORMAL_CLEARING,
    "polarity": NORMAL_CLEARING,
    "busy": USER_BUSY,
    "no_answer": NO_ANSWER,
    "congestion": NO_CIRCUIT,
    "sit": UNALLOCATED_NUMBER,
    "no_dial_tone": NETWORK_OUT_OF_ORDER,
}

# leg states
IDLE, OFFERED, DIALING, PROCEEDING, ALERTING, ANSWERED, ENDED = (
    "idle", "offered", "dialing", "proceeding", "alerting", "answered", "ended")


@dataclass
class Leg:
    """One channel's side of a call."""

    id: str
    engine: Any
    adapter: Any  # the trunk adapter that owns the channel's signalling
    channel: int  # global channel number
    row: int  # row of this channel in the engine's media arrays
    direction: str  # "in" (the far end called us) or "out"
    tech: str  # "pri", "ss7", "fxo" (trunk), "fxs" (extension)
    caller: str = ""
    caller_name: str = ""
    presentation: int = 0  # of the caller's number (Q.931 4.5.10, RFC 3323 Privacy: id): 0 allowed, 1 restricted
    called: str = ""
    state: str = IDLE
    cause: Optional[int] = None
    call: Optional["Call"] = None
    started: int = 0  # sample time
    answered_at: Optional[int] = None
    ended_at: Optional[int] = None
    digits: str = ""  # DTMF heard and not yet consumed by a script
    progress: list = field(default_factory=list)  # call-progress results heard on an outgoing leg
    ivr: Any = None  # the IvrCall a script drives this leg through
    keeper: Any = None  # who clears this leg instead of its call's scripts (see the module docstring)
    clearing_since: Optional[int] = None  # sample time we asked to clear it (the far end may not have confirmed)
    # Set by the engine, the trunk adapters and the scripts; declared here so one place lists what a leg carries.
    # Left out of repr and comparison, as they were when they were added from outside.
    play_done: bool = field(default=True, repr=False, compare=False)  # no prompt left playing on its row
    flashes: int = field(default=0, repr=False, compare=False)  # hook flashes seen on an extension
    held_links: set = field(default_factory=set, repr=False, compare=False)  # (listener, talker) rows hold() took away
    isdn_call: Any = field(default=None, repr=False, compare=False)  # the Q.931 call of a PRI leg
    cic: Optional[int] = field(default=None, repr=False, compare=False)  # the ISUP circuit of an SS7 leg
    amd: Any = field(default=None, repr=False, compare=False)  # the answering-machine verdict detect_machine found

    @property
    def active(self):
        """Return True until the leg has ended."""
        return self.state != ENDED

    def answer(self):
        """Answer an incoming leg (sends CONNECT / goes off hook / stops ringing)."""
        if self.state in (OFFERED, PROCEEDING, ALERTING) and self.direction == "in":
            self.adapter.answer(self)
        elif self.state == ANSWERED and self.tech == "fxs":
            self.adapter.answer(self)  # an extension is connected from off-hook: this stops its dial tone

    @property
    def clearing(self):
        """Return True once the leg has ended or our side has asked to clear it."""
        return self.state == ENDED or self.clearing_since is not None

    def hangup(self, cause=NORMAL_CLEARING):
        """Clear the leg with a Q.850 cause."""
        if self.state != ENDED:
            if self.clearing_since is None:
                self.clearing_since = self.engine.now
            self.adapter.hangup(self, cause)


@dataclass
class Call:
    """A call: its legs, the variables scripts set (carried to CTI and CDRs), and its history."""

    id: str
    legs: list = field(default_factory=list)
    vars: dict = field(default_factory=dict)
    started: int = 0
    ended: Optional[int] = None
    queue: Optional[str] = None
    agent: Optional[str] = None
    scripts: list = field(default_factory=list)  # the script Tasks running on it; the last to end clears the legs

    @property
    def caller_leg(self) -> Optional[Leg]:
        """Return the first leg (the one that started the call)."""
        return self.legs[0] if self.legs else None
