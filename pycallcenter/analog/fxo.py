"""The FXO line machine: one of our FXO ports on a PSTN line (a trunk). Here is the FXO ring detector.

Incoming: the board reports each ring's start and end (the ring voltage itself is detected by the board's
hardware or the emulator); the machine counts rings, takes the caller ID the FSK receiver heard between
them, offers the call at the configured ring, and decides the caller gave up when no ring comes for
``FxoTimers.ring_timeout`` after one ended. Answering goes off hook.

Outgoing: seize (off hook), wait for dial tone (``dialtone_wait``: dial anyway, or give up when dial tone is
required), dial (DTMF or pulse), then follow call progress (ringback, busy, congestion, SIT, voice) until
answer (polarity reversal, voice, or at once when there is no answer supervision) or ``no_answer``.

Disconnect supervision: loop current drop, polarity reversal (outgoing calls), busy or congestion tone.
``FxoLine.TABLE`` is the whole line protocol, ``FxoLine.TIMERS`` what each timer does.
"""
import enum

from pycallcenter.analog import events as E
from pycallcenter.analog.line import LineMachine
from pycallcenter.analog.timers import FxoTimers, samples


class FxoState(enum.StrEnum):
    """States of an FXO line."""

    IDLE = "idle"  # on hook, no ringing
    RINGING = "ringing"  # the exchange rings us; the call is not offered yet
    OFFERED = "offered"  # rung enough: the call is offered, still on hook
    DIALTONE = "dialtone"  # off hook for an outgoing call, waiting for dial tone
    DIALING = "dialing"  # dialling
    PROGRESS = "progress"  # dialled: following call progress until answer
    CONNECTED = "connected"  # off hook in an answered call


S = FxoState
ANSWER_SUPERVISIONS = ("polarity", "voice", "none")
DIAL_MODES = ("dtmf", "pulse")


def check_settings(answer_supervision, dial_mode):
    """Raise ValueError naming the setting when an FXO line cannot work with these; return None."""
    if dial_mode not in DIAL_MODES:
        raise ValueError(f"dial_mode must be 'dtmf' or 'pulse', got {dial_mode!r}")
    if answer_supervision not in ANSWER_SUPERVISIONS:
        raise ValueError(f"answer_supervision must be one of {', '.join(ANSWER_SUPERVISIONS)}, "
                         f"got {answer_supervision!r}")


class FxoLine(LineMachine):
    """The line protocol of one FXO port (see the module docstring); inputs return the outputs in order."""

    IDLE = S.IDLE

    def __init__(self, timers=FxoTimers(), offer_on_ring=2, answer_supervision="polarity", dial_mode="dtmf",
                 require_dialtone=False):
        super().__init__()
        check_settings(answer_supervision, dial_mode)
        self.timers = timers
        self.offer_on_ring = offer_on_ring  # offer at this ring (caller ID, sent after the first, is known)
        self.answer_supervision = answer_supervision
        self.dial_mode = dial_mode  # pulse: loop-disconnect dialling through the board (DAHDI_DIAL "P...")
        self.require_dialtone = require_dialtone
        self.rings = 0
        self.callerid = None  # caller ID heard for the call ringing in
        self.number = ""  # digits to dial (outgoing)
        self.outgoing = False
        self.alerted = False  # ringback reported for the outgoing call

    # --- board inputs -----------------------------------------------------------------------------------
    def ring_begin(self, now):
        """A ring began."""
        return self._input("ring_begin", now)

    def ring_end(self, now):
        """A ring ended."""
        return self._input("ring_end", now)

    def polarity(self, now, reversed_):
        """The line's polarity changed (reversed_: True when now reversed)."""
        return self._input("polarity", now, reversed_)

    def loop_drop(self, now):
        """Loop current dropped (the board reports the far end on hook)."""
        return self._input("loop_drop", now)

    def dial_complete(self, now):
        """The board finished dialling."""
        return self._input("dial_complete", now)

    def callerid_heard(self, now, callerid):
        """The FSK receiver decoded caller ID on the line."""
        return self._input("callerid", now, callerid)

    def progress(self, now, kind):
        """The call-progress detector heard kind (dial_tone, ringback, busy, congestion, sit, voice, fax_ced)."""
        return self._input("progress", now, kind)

    # --- commands -----------------------------------------------------------------------------------------
    def answer(self, now):
        """Answer the offered call (go off hook)."""
        return self._input("answer", now)

    def hang_up(self, now, cause):
        """Clear the call with a Q.850 cause (go on hook)."""
        return self._input("hang_up", now, cause)

    def originate(self, now, number):
        """Seize the idle line to dial number."""
        return self._input("originate", now, number)

    # --- transitions --------------------------------------------------------------------------------------
    def _end(self, now, ended):
        self._goto(S.IDLE, now)
        self.rings = 0
        self.callerid = None
        self.outgoing = self.alerted = False
        return [ended]

    def _disconnect(self, now, reason):
        return [E.Hook(False)] + self._end(now, E.Ended(reason))

    def _first_ring(self, now):
        self._goto(S.RINGING, now)
        return self._ring(now)

    def _ring(self, now):
        self.rings += 1
        self.deadlines.cancel(None, "ring")
        if self.rings == self.offer_on_ring:
            self._goto(S.OFFERED, now)
            return [E.Offered(self.callerid)]
        return []

    def _ring_ended(self, now):
        # "longer than" the timeout: the timer runs one sample past it
        self._start("ring", now + samples(self.timers.ring_timeout) + 1)
        return []

    def _polarity(self, now, reversed_):
        if self.state is S.CONNECTED:
            return self._disconnect(now, "polarity") if self.outgoing else []
        if self.answer_supervision == "polarity" and reversed_:
            return self._answered(now)
        return []

    def _loop_drop(self, now):
        return self._disconnect(now, "loop_drop")

    def _dialled(self, now):
        self._goto(S.PROGRESS, now)
        self._start("no_answer", now + samples(self.timers.no_answer))
        if self.answer_supervision == "none":
            return self._answered(now)
        return []

    def _callerid(self, now, callerid):
        self.callerid = callerid
        return [E.CallerIdHeard(callerid)] if self.state is S.OFFERED else []

    def _dialtone_progress(self, now, kind):
        return self._dial(now) if kind == "dial_tone" else []

    def _call_progress(self, now, kind):
        out = [E.Progress(kind)]
        if kind in ("busy", "congestion", "sit"):
            return out + self._disconnect(now, kind)
        if kind == "ringback" and not self.alerted:
            self.alerted = True
            return out + [E.Alerting()]
        if kind in ("voice", "fax_ced") and self.answer_supervision == "voice":
            return out + self._answered(now)
        return out

    def _connected_progress(self, now, kind):
        out = [E.Progress(kind)]
        if kind in ("busy", "congestion"):
            # the far party hung up and the exchange plays busy/reorder: disconnect supervision by tone
            return out + self._disconnect(now, "on_hook")
        return out

    def _answer(self, now):
        self._goto(S.CONNECTED, now)
        return [E.Hook(True), E.Answered()]

    def _hang_up(self, now, cause):
        return [E.Hook(False)] + self._end(now, E.Ended(cause=cause))

    def _hang_up_idle(self, now, cause):
        return self._end(now, E.Ended(cause=cause))

    def _originate(self, now, number):
        self.number = number
        self.outgoing = True
        self._goto(S.DIALTONE, now)
        self._start("dialtone_wait", now + samples(self.timers.dialtone_wait))
        return [E.Hook(True)]

    def _dial(self, now):
        self._goto(S.DIALING, now)
        return [E.Dial(("P" if self.dial_mode == "pulse" else "") + self.number)]

    def _answered(self, now):
        self._goto(S.CONNECTED, now)
        return [E.Answered()]

    # --- timers -------------------------------------------------------------------------------------------
    def _caller_gave_up(self, now):
        return self._end(now, E.Ended("on_hook"))  # no hook change: we never went off hook

    def _no_dial_tone(self, now):
        return self._disconnect(now, "no_dial_tone") if self.require_dialtone else self._dial(now)

    def _no_answer(self, now):
        return self._disconnect(now, "no_answer")

    TABLE = {
        (S.IDLE, "ring_begin"): _first_ring,
        (S.RINGING, "ring_begin"): _ring,
        (S.RINGING, "ring_end"): _ring_ended,
        (S.OFFERED, "ring_end"): _ring_ended,
        (S.DIALING, "polarity"): _polarity,
        (S.PROGRESS, "polarity"): _polarity,
        (S.CONNECTED, "polarity"): _polarity,
        (S.DIALTONE, "loop_drop"): _loop_drop,
        (S.DIALING, "loop_drop"): _loop_drop,
        (S.PROGRESS, "loop_drop"): _loop_drop,
        (S.CONNECTED, "loop_drop"): _loop_drop,
        (S.DIALING, "dial_complete"): _dialled,
        (S.RINGING, "callerid"): _callerid,
        (S.OFFERED, "callerid"): _callerid,
        (S.DIALTONE, "progress"): _dialtone_progress,
        (S.PROGRESS, "progress"): _call_progress,
        (S.CONNECTED, "progress"): _connected_progress,
        (S.OFFERED, "answer"): _answer,
        (S.IDLE, "hang_up"): _hang_up_idle,
        (S.IDLE, "originate"): _originate,
    }
    TABLE.update(dict.fromkeys([(state, "hang_up") for state in S if state is not S.IDLE], _hang_up))
    # a ring while the call is already offered, the end of the ring our answer tripped, a result of the
    # detectors on a line not in that phase, loop
    # or polarity changes of an idle line: normal, nothing to do. (A ring beginning does not stop an offered
    # call's ring timer, which each ring's end restarts: a ring_timeout shorter than a whole ring cycle, burst
    # and pause, would end an offered call during a ring. The defaults, 8 s against cycles of 5-6 s, are not.)
    IGNORED = frozenset(
        [(S.OFFERED, "ring_begin"), (S.IDLE, "ring_end"), (S.CONNECTED, "ring_end"), (S.IDLE, "polarity"),
         (S.RINGING, "polarity"), (S.OFFERED, "polarity"), (S.DIALTONE, "polarity"), (S.IDLE, "loop_drop"),
         (S.RINGING, "loop_drop"), (S.OFFERED, "loop_drop")]
        + [(state, "callerid") for state in S if state not in (S.RINGING, S.OFFERED)]
        + [(state, "progress") for state in S if state not in (S.DIALTONE, S.PROGRESS, S.CONNECTED)])
    TIMERS = {"ring": _caller_gave_up, "dialtone_wait": _no_dial_tone, "no_answer": _no_answer}
