"""The engine's analog adapters: FXS extensions (phones on our FXS ports) and FXO trunks (our FXO ports on
PSTN lines). The line protocols are the sans-IO machines of ``pycallcenter.analog`` (``FxsLine``,
``FxoLine``); an adapter feeds each line's machine with the board's events, the tick's DTMF, caller ID and
call-progress results and the board clock, and carries the machine's outputs out on the board (ring, hook,
dial), the line's audio (tones, caller ID) and the legs (offered, answered, ended...).
"""
import numpy as np

from pycallcenter.analog import events as E
from pycallcenter.analog.fxo import FxoLine, FxoState, check_settings
from pycallcenter.analog.fxs import FxsLine, FxsState
from pycallcenter.analog.timers import FxoTimers, FxsTimers
from pycallcenter.drivers import EventKind
from pycallcenter.dsp.callerid import CallerId, callerid_signal
from pycallcenter.dsp.fsk import FskReceiver
from pycallcenter.dsp.progress import CallProgressDetector
from pycallcenter.engine import call as C

K = EventKind
_NOTICES_KEPT = 100  # the last protocol notices an adapter keeps (see _Adapter.notices)


class _Line:
    """One analog port: its channel, its row in the media arrays, its line machine and the leg on it."""

    def __init__(self, adapter, channel, row, machine):
        self.adapter = adapter
        self.channel = channel
        self.row = row
        self.machine = machine
        self.leg = None  # the current call's leg (the station features switch it between a phone's calls)

    @property
    def state(self):
        """Return the line machine's state."""
        return self.machine.state


class _Adapter:
    tech = "?"

    def __init__(self, engine, channels, name, machine):
        self.engine = engine
        self.name = name
        self.lines = {ch: _Line(self, engine.board.channel(ch), engine.row_of[ch], machine()) for ch in channels}
        self.notices = []  # (channel, ProtocolNotice): inputs a line's machine had no transition for

    def owns(self, channel):
        """Return True if this adapter signals on the channel."""
        return channel in self.lines

    def idle_line(self):
        """Return an idle line (lowest channel first), or None."""
        for ch in sorted(self.lines):
            if self.lines[ch].state == "idle":
                return self.lines[ch]
        return None

    # line states in which the line holds something of ours with no call on it: see leaks()
    HELD_STATES = ()

    def leaks(self):
        """Return one line per line left in a state that holds something of ours with no call on it;
        lines with a call are the engine's to report (Engine.leaks)."""
        return [f"{self.tech} channel {ch} is left {line.state} with no call on it"
                for ch, line in sorted(self.lines.items())
                if line.state in self.HELD_STATES and (line.leg is None or not line.leg.active)]

    def run(self, line, outputs, leg=None):
        """Carry out a line machine's outputs in order (an Ended ends `leg`, by default the line's leg)."""
        engine = self.engine
        for out in outputs:
            kind = type(out)
            if kind is E.StopTone:
                engine.media.stop_tone(line.row)
            elif kind is E.StartTone:
                engine.media.start_tone(line.row, out.name)
            elif kind is E.StopAudio:
                engine.media.stop(line.row)
            elif kind is E.Ring:
                line.channel.ring(out.on)
            elif kind is E.Hook:
                line.channel.hook("off" if out.off else "on")
            elif kind is E.Dial:
                line.channel.dial(out.digits)
            elif kind is E.Ended:
                ended = line.leg if leg is None else leg
                line.leg = None
                if ended is not None:
                    cause = out.cause if out.cause is not None else C.ANALOG_CAUSES[out.reason]
                    engine.leg_ended(ended, cause, engine.now)
            elif kind is E.Offered:
                self._offered(line, out.callerid)
            elif kind is E.Answered:
                engine.leg_answered(line.leg, engine.now)
            elif kind is E.Alerting:
                line.leg.state = C.ALERTING
                engine.leg_alerting(line.leg, engine.now)
            elif kind is E.ProtocolNotice:
                self.notices = self.notices[-_NOTICES_KEPT + 1:] + [(line.channel.number, out)]
            else:
                self._carry_out(line, out)

    def _timers(self, lines, now):
        """Fire the line timers that are due, line by line."""
        for line in lines:
            due = line.machine.next_deadline()
            if due is not None and due <= now:
                self.run(line, line.machine.handle_timer(now))


class FxsExtensions(_Adapter):
    """Phones on FXS ports: off-hook gives dial tone and a leg; we ring them with caller ID between rings."""

    tech = "fxs"
    # "clearing" is not held: the call is over and the phone's user has yet to hang up (they hear reorder)
    HELD_STATES = (FxsState.DIALTONE, FxsState.CONNECTED, FxsState.RINGING)

    def __init__(self, engine, channels, name="ext", dialtone="dial", cid_standard="bell202", timers=FxsTimers()):
        super().__init__(engine, channels, name,
                         lambda: FxsLine(timers, dialtone=dialtone, callerid_standard=cid_standard))
        self.cid_standard = cid_standard
        self.station = None  # the station features (pycallcenter.engine.station), when on
        self._mwi_due = {}  # channels with a message-waiting message still to send, in the order it was asked

    @property
    def message_waiting(self):
        """Return the channels whose phone shows message waiting (see set_message_waiting)."""
        return {ch for ch, line in self.lines.items() if line.machine.message_waiting}

    def on_event(self, ev, line, now):
        """Handle one board event for a line."""
        machine = line.machine
        if ev.kind is K.OFF_HOOK:
            self.run(line, machine.off_hook(now))
        elif ev.kind is K.ON_HOOK:
            if self.station is not None and line.state == "connected" and self.station.on_hook(line, now):
                return
            self.run(line, machine.on_hook(now))
        elif ev.kind is K.FLASH:
            self.run(line, machine.flash(now))
        elif ev.kind is K.RINGER_OFF:
            self.run(line, machine.ringer_off(now))

    def _offered(self, line, callerid):
        # the phone went off hook: a new call from the extension, already "answered"
        now = self.engine.now
        leg = self.engine.new_leg(self, line.channel.number, "in", caller=str(line.channel.number))
        line.leg = leg
        leg.state = C.ANSWERED
        leg.answered_at = now
        self.engine.leg_offered(leg, now)

    def _carry_out(self, line, out):
        engine = self.engine
        if type(out) is E.Flash:
            if line.leg is not None:
                engine.leg_flash(line.leg, engine.now)
        elif type(out) is E.SendCallerId:
            audio = callerid_signal(out.callerid, self.cid_standard, "mdmf")
            engine.media.play(line.row, [np.zeros(out.pause, np.int16), audio])
        elif type(out) is E.SendMessageWaiting:
            audio = callerid_signal(CallerId(message_waiting=out.waiting), self.cid_standard, out.fmt)
            engine.media.play(line.row, [audio])
            engine.log("mwi_sent", channel=line.channel.number, on=int(out.waiting), fmt=out.fmt)

    def on_digit(self, leg, digit, now):
        """The first digit dialled stops dial tone."""
        line = self.lines[leg.channel]
        self.run(line, line.machine.digit(now))

    def originate(self, leg, number, now):
        """Ring the phone (the number is ignored: the port is the extension); caller ID between rings."""
        line = self.lines[leg.channel]
        if line.state != "idle":  # the phone is busy: accepts_waiting() said call waiting takes it
            self.station.offer_waiting(line, leg, now)
            return
        line.leg = leg
        callerid = CallerId(number=leg.caller or None, name=leg.caller_name or None,
                            datetime=self.engine.caller_id_datetime()) if (leg.caller or leg.caller_name) else None
        self.run(line, line.machine.ring(now, callerid))

    def accepts_waiting(self, channel):
        """Return True when a call for this busy phone may wait (call waiting is on and free)."""
        return self.station is not None and self.station.accepts_waiting(self.lines[channel])

    def answer(self, leg):
        """A phone off hook is already connected: answering only stops its dial tone."""
        line = self.lines[leg.channel]
        self.run(line, line.machine.answer(self.engine.now))

    def hangup(self, leg, cause):
        """Stop ringing, or give the phone a reorder tone until it hangs up."""
        line = self.lines[leg.channel]
        if self.station is not None and self.station.on_hangup(line, leg, cause):
            return  # a waiting or held call on a busy phone
        # the far side cleared a connected phone: it hears congestion until it goes on hook
        self.run(line, line.machine.hang_up(self.engine.now, cause), leg=leg if line.state != "ringing" else None)

    def on_tick(self, now):
        """Send message-waiting updates to phones that have been idle long enough."""
        if self._mwi_due:
            self._send_mwi(now)

    # --- message waiting (voicemail) ------------------------------------------------------------
    def set_message_waiting(self, channel, waiting, fmt="mdmf"):
        """Turn a phone's message-waiting indication on or off: stutter dial tone at every off-hook while
        on, and an on-hook FSK MWI message (MDMF 0x82 with the visual indicator, or SDMF 0x06) as soon
        as the line is idle. The FSK goes without a prior alert (no line reversal or DT-AS)."""
        line = self.lines[channel]
        self._mwi_due[channel] = True
        self.run(line, line.machine.set_message_waiting(self.engine.now, waiting, fmt))
        self._send_mwi(self.engine.now)

    def _send_mwi(self, now):
        for channel in list(self._mwi_due):
            line = self.lines[channel]
            self._timers([line], now)
            if line.machine.mwi_due is None:
                del self._mwi_due[channel]


class FxoTrunks(_Adapter):
    """FXO ports on PSTN lines: ring detection with caller ID between rings, answer, disconnect
    supervision (loop current drop, polarity reversal, busy/congestion tone), and outgoing calls with
    dial-tone wait, DTMF dialling and call-progress results."""

    tech = "fxo"
    # off hook (the trunk is seized); "ringing"/"offered" are not held: the exchange rings us while we stay on hook
    HELD_STATES = (FxoState.DIALTONE, FxoState.DIALING, FxoState.PROGRESS, FxoState.CONNECTED)

    def __init__(self, engine, channels, name="pstn", cid_standard="bell202", answer_on_ring=2,
                 ring_timeout_ms=8000, dialtone_wait_ms=3000, require_dialtone=False, no_answer_ms=45000,
                 answer_supervision="polarity", dial_mode="dtmf"):
        timers = FxoTimers(ring_timeout=ring_timeout_ms / 1000, dialtone_wait=dialtone_wait_ms / 1000,
                           no_answer=no_answer_ms / 1000)
        check_settings(answer_supervision, dial_mode)  # even with no lines
        super().__init__(engine, channels, name,
                         lambda: FxoLine(timers, answer_on_ring, answer_supervision, dial_mode, require_dialtone))
        self.rows = np.array([l.row for l in self.lines.values()], np.intp)
        self.fsk = FskReceiver(len(self.rows), cid_standard) if len(self.rows) else None
        self.cpd = CallProgressDetector(len(self.rows), plan=engine.tone_plan) if len(self.rows) else None
        self.dial_mode = dial_mode

    def on_event(self, ev, line, now):
        """Handle one board event for a line."""
        machine = line.machine
        if ev.kind is K.RING_BEGIN:
            self.run(line, machine.ring_begin(now))
        elif ev.kind is K.RING_END:
            self.run(line, machine.ring_end(now))
        elif ev.kind is K.POLARITY:
            self.run(line, machine.polarity(now, bool(ev.data.get("reversed"))))
        elif ev.kind is K.ON_HOOK:
            self.run(line, machine.loop_drop(now))
        elif ev.kind is K.DIAL_COMPLETE:
            self.run(line, machine.dial_complete(now))

    def _offered(self, line, callerid):
        now = self.engine.now
        leg = self.engine.new_leg(self, line.channel.number, "in")
        if callerid is not None:
            leg.caller = callerid.number or ""
            leg.caller_name = callerid.name or ""
        line.leg = leg
        leg.state = C.OFFERED
        self.engine.leg_offered(leg, now)

    def _carry_out(self, line, out):
        leg = line.leg
        if type(out) is E.Progress:
            leg.progress.append(out.kind)
        elif type(out) is E.CallerIdHeard:
            leg.caller = out.callerid.number or leg.caller
            leg.caller_name = out.callerid.name or leg.caller_name
            self.engine.log("callerid", leg=leg.id, number=leg.caller, name=leg.caller_name)

    def answer(self, leg):
        """Go off hook on a ringing line."""
        line = self.lines[leg.channel]
        self.run(line, line.machine.answer(self.engine.now))

    def hangup(self, leg, cause):
        """Go on hook; a call refused while it rings (never answered) rings out instead."""
        line = self.lines[leg.channel]
        if line.state == FxoState.OFFERED and line.leg is leg:
            # an analog line cannot refuse a call: the leg ends, and the line keeps ringing, ignored, until
            # the caller gives up (the ring timer). Hanging up the machine would offer the same call again
            # at its next rings, one refused call per ring cycle.
            line.leg = None
            self.engine.leg_ended(leg, cause, self.engine.now)
            return
        self.run(line, line.machine.hang_up(self.engine.now, cause))

    def originate(self, leg, number, now):
        """Seize the line, wait for dial tone, dial, then watch call progress."""
        line = self.lines[leg.channel]
        line.leg = leg
        self.run(line, line.machine.originate(now, number))
        leg.state = C.DIALING

    def on_tick(self, now):
        """Caller ID and call progress on the adapter's rows; ring and dial timers."""
        if not len(self.rows):
            return
        audio = self.engine.media.rx[self.rows]
        lines = list(self.lines.values())
        for msg in self.fsk.process(audio):
            if msg.callerid is not None:
                line = lines[msg.channel]
                self.run(line, line.machine.callerid_heard(now, msg.callerid))
        for ev in self.cpd.process(audio):
            line = lines[ev.channel]
            self.run(line, line.machine.progress(now, ev.kind))
        self._timers(lines, now)
