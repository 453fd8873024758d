"""The FXS line machine: one of our FXS ports with a phone on it (an extension).

Off hook on an idle line is a new call from the phone (dial tone until the first digit or the answer of
the script that took it); we ring the phone for a call to it, with caller ID in the first silent interval.
A call the far side clears leaves the phone on congestion tone until it hangs up. Message waiting: stutter
dial tone while a message waits, and an on-hook FSK message once the line has been idle a moment.

``FxsLine.TABLE`` is the whole line protocol; the station features (``analog/station.py``) drive the line
through ``recall``, ``clear`` and ``release`` when they take calls over.
"""
import enum

from pycallcenter.analog import events as E
from pycallcenter.analog.line import LineMachine
from pycallcenter.analog.timers import FxsTimers, samples


class FxsState(enum.StrEnum):
    """States of an FXS line."""

    IDLE = "idle"  # on hook, nothing for the phone
    DIALTONE = "dialtone"  # off hook with dial tone: a new call from the phone, no digit yet
    CONNECTED = "connected"  # in a call
    RINGING = "ringing"  # we ring the phone
    CLEARING = "clearing"  # the far side cleared: the phone hears congestion until it hangs up


S = FxsState


class FxsLine(LineMachine):
    """The line protocol of one FXS port (see the module docstring); inputs return the outputs in order."""

    IDLE = S.IDLE

    def __init__(self, timers=FxsTimers(), dialtone="dial", callerid_standard="bell202"):
        super().__init__()
        self.timers = timers
        self.dialtone = dialtone
        self.callerid_standard = callerid_standard
        self.rings = 0  # ring cycles completed since we began ringing
        self.callerid = None  # caller ID to send while ringing
        self.message_waiting = False  # stutter dial tone at off hook while on
        self.mwi_due = None  # (waiting, fmt) of a message-waiting message still to send

    # --- board inputs -----------------------------------------------------------------------------------
    def off_hook(self, now):
        """The phone went off hook."""
        return self._input("off_hook", now)

    def on_hook(self, now):
        """The phone hung up."""
        return self._input("on_hook", now)

    def flash(self, now):
        """The phone's user pressed flash."""
        return self._input("flash", now)

    def ringer_off(self, now):
        """A ring cycle ended (the silent interval began)."""
        return self._input("ringer_off", now)

    # --- commands -----------------------------------------------------------------------------------------
    def ring(self, now, callerid=None):
        """Ring the idle phone for a call, with caller ID (a CallerId, or None) after the first ring."""
        return self._input("ring", now, callerid)

    def digit(self, now):
        """A DTMF digit was heard from the phone."""
        return self._input("digit", now)

    def answer(self, now):
        """The script took the phone's call (the phone is connected from off hook: dial tone stops)."""
        return self._input("answer", now)

    def hang_up(self, now, cause):
        """Clear the call on the line with a Q.850 cause."""
        return self._input("hang_up", now, cause)

    def recall(self, now):
        """Station features: ring the phone for a call held for it (no caller ID)."""
        return self._input("recall", now)

    def clear(self, now):
        """Station features: every party left; the phone hears congestion until it hangs up."""
        return self._input("clear", now)

    def release(self, now, cause):
        """Station features: end the line's current call without a hook change (another call takes over)."""
        return self._input("release", now, cause)

    def set_message_waiting(self, now, waiting, fmt="mdmf"):
        """Turn message waiting on or off: stutter dial tone, and an on-hook message once the line is idle;
        return what is due now."""
        self.message_waiting = bool(waiting)
        self.mwi_due = (bool(waiting), fmt)
        self._arm_mwi()
        return self.handle_timer(now)

    # --- transitions --------------------------------------------------------------------------------------
    def _goto(self, state, now):
        super()._goto(state, now)
        self._arm_mwi()

    def _arm_mwi(self):
        if self.mwi_due is not None and self.state is S.IDLE:
            # a line idle since power-up (since 0) gets it at once
            self._start("mwi", self.since + samples(self.timers.mwi_idle) if self.since else 0)

    def _seize(self, now):
        self._goto(S.DIALTONE, now)
        tone = "stutter_dial" if self.message_waiting else self.dialtone
        return [E.StopAudio(), E.StartTone(tone), E.Offered()]

    def _pick_up(self, now):
        self._goto(S.CONNECTED, now)
        return [E.Ring(False), E.StopAudio(), E.Answered()]

    def _to_idle(self, now):
        self._goto(S.IDLE, now)
        self.rings = 0
        self.callerid = None

    def _hang_up_phone(self, now):
        self._to_idle(now)
        return [E.StopTone(), E.Ended("on_hook")]

    def _put_down(self, now):
        self._goto(S.IDLE, now)
        return [E.StopTone()]

    def _flash(self, now):
        return [E.Flash()]

    def _ring_cycle(self, now):
        self.rings += 1
        if self.rings == 1 and self.callerid is not None:
            return [E.SendCallerId(self.callerid, samples(self.timers.callerid_pause))]
        return []

    def _ring(self, now, callerid):
        self.rings = 0
        self.callerid = callerid
        self._goto(S.RINGING, now)
        return [E.Ring(True), E.Alerting()]

    def _dialled(self, now):
        self._goto(S.CONNECTED, now)
        return [E.StopTone()]

    def _stop_ringing(self, now, cause):
        self._to_idle(now)
        return [E.Ring(False), E.StopAudio(), E.Ended(cause=cause)]

    def _far_cleared(self, now, cause):
        self._goto(S.CLEARING, now)
        return [E.Ended(cause=cause), E.StartTone("congestion")]

    def _recall(self, now):
        self._goto(S.RINGING, now)
        self.rings = 0
        self.callerid = None
        return [E.Ring(True)]

    def _clear(self, now):
        self._goto(S.CLEARING, now)
        return [E.StartTone("congestion")]

    def _release(self, now, cause):
        self._to_idle(now)
        return [E.Ended(cause=cause)]

    def _send_mwi(self, now):
        waiting, fmt = self.mwi_due
        self.mwi_due = None
        if self.callerid_standard == "dtmf":
            return []  # DTMF caller ID has no message-waiting message: stutter dial tone only
        return [E.SendMessageWaiting(waiting, fmt)]

    TABLE = {
        (S.IDLE, "off_hook"): _seize,
        (S.RINGING, "off_hook"): _pick_up,
        (S.DIALTONE, "on_hook"): _hang_up_phone,
        (S.CONNECTED, "on_hook"): _hang_up_phone,
        (S.CLEARING, "on_hook"): _put_down,
        (S.DIALTONE, "flash"): _flash,
        (S.CONNECTED, "flash"): _flash,
        (S.RINGING, "flash"): _flash,
        (S.RINGING, "ringer_off"): _ring_cycle,
        (S.IDLE, "ring"): _ring,
        (S.DIALTONE, "digit"): _dialled,
        (S.DIALTONE, "answer"): _dialled,
        (S.RINGING, "hang_up"): _stop_ringing,
        (S.DIALTONE, "hang_up"): _far_cleared,
        (S.CONNECTED, "hang_up"): _far_cleared,
    }
    TABLE.update(dict.fromkeys([(state, "recall") for state in S], _recall))
    TABLE.update(dict.fromkeys([(state, "clear") for state in S], _clear))
    TABLE.update(dict.fromkeys([(state, "release") for state in S], _release))
    IGNORED = frozenset(
        [(S.IDLE, "on_hook"), (S.IDLE, "flash"), (S.CLEARING, "flash"), (S.CONNECTED, "digit"),
         (S.CONNECTED, "answer"), (S.CLEARING, "digit"), (S.RINGING, "digit"), (S.IDLE, "digit")]
        + [(state, "ringer_off") for state in S if state is not S.RINGING])
    TIMERS = {"mwi": _send_mwi}
