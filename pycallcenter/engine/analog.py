"""Analog line signalling on the driver API: FXS extensions (phones on our FXS ports) and FXO trunks
(our FXO ports on PSTN lines). Each adapter is a small state machine per channel driven by board
events, the tick's DTMF and call-progress results, and the board clock; it never reads a clock itself.
"""
import numpy as np

from pycallcenter.drivers import EventKind
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C

K = EventKind
MS = SAMPLE_RATE // 1000


class _Line:
    """Per-channel state of an analog adapter."""

    def __init__(self, channel, row):
        self.channel = channel
        self.row = row
        self.state = "idle"
        self.leg = None
        self.since = 0  # sample time of the last state change
        self.rings = 0
        self.ring_end = None
        self.callerid = None
        self.number = ""  # digits to dial (outgoing)

    def goto(self, state, now):
        self.state, self.since = state, now


class _Adapter:
    tech = "?"

    def __init__(self, engine, channels, name):
        self.engine = engine
        self.name = name
        self.lines = {ch: _Line(engine.board.channel(ch), engine.row_of[ch]) for ch in channels}

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

    def _end(self, line, cause, now):
        leg = line.leg
        line.leg = None
        line.goto("idle", now)
        line.rings = 0
        line.callerid = None
        if leg is not None:
            self.engine.leg_ended(leg, cause, now)


class FxsExtensions(_Adapter):
    """Phones on FXS ports: off-hook gives dial tone and a leg; we ring them with caller ID between rings."""

    tech = "fxs"
    # "clearing" is not held: the call is over and the phone's user has yet to hang up (they hear reorder)
    HELD_STATES = ("dialtone", "connected", "ringing")

    def __init__(self, engine, channels, name="ext", dialtone="dial", cid_standard="bell202"):
        super().__init__(engine, channels, name)
        self.dialtone = dialtone
        self.cid_standard = cid_standard
        self.message_waiting = set()  # channels whose phone shows message waiting (see set_message_waiting)
        self._mwi_due = {}  # channel -> indicator state still to send by FSK once the line is idle

    def on_event(self, ev, line, now):
        """Handle one board event for a line."""
        if ev.kind is K.OFF_HOOK:
            if line.state == "idle":
                # the phone went off hook: a new call from the extension, already "answered"
                line.goto("dialtone", now)
                self.engine.media.stop(line.row)  # an MWI message still being sent
                self.engine.media.start_tone(line.row, self.dialtone_for(line.channel.number))
                leg = self.engine.new_leg(self, line.channel.number, "in", caller=str(line.channel.number))
                line.leg = leg
                leg.state = C.ANSWERED
                leg.answered_at = now
                self.engine.leg_offered(leg, now)
            elif line.state == "ringing":
                line.channel.ring(False)
                line.goto("connected", now)
                self.engine.media.stop(line.row)  # caller ID audio if still playing
                self.engine.leg_answered(line.leg, now)
        elif ev.kind is K.ON_HOOK:
            station = getattr(self, "station", None)  # flash features (pycallcenter.engine.station)
            if station is not None and line.state == "connected" and station.on_hook(line, now):
                return
            if line.state in ("dialtone", "connected"):
                self.engine.media.stop_tone(line.row)
                self._end(line, C.NORMAL_CLEARING, now)
            elif line.state == "clearing":
                self.engine.media.stop_tone(line.row)
                line.goto("idle", now)
        elif ev.kind is K.FLASH:
            if line.leg is not None:
                self.engine.leg_flash(line.leg, now)
        elif ev.kind is K.RINGER_OFF and line.state == "ringing":
            line.rings += 1
            if line.rings == 1 and line.callerid is not None:
                # caller ID goes in the first silent interval, after a short pause (GR-30: >= 500 ms)
                from pycallcenter.dsp.callerid import callerid_signal

                audio = callerid_signal(line.callerid, self.cid_standard, "mdmf")
                pause = np.zeros(500 * MS, np.int16)
                self.engine.media.play(line.row, [pause, audio])

    def on_digit(self, leg, digit, now):
        """The first digit dialled stops dial tone."""
        line = self.lines[leg.channel]
        if line.state == "dialtone":
            self.engine.media.stop_tone(line.row)
            line.goto("connected", now)

    def originate(self, leg, number, now):
        """Ring the phone (the number is ignored: the port is the extension); caller ID between rings."""
        line = self.lines[leg.channel]
        if line.state != "idle":  # the phone is busy: accepts_waiting() said call waiting takes it
            self.station.offer_waiting(line, leg, now)
            return
        line.leg = leg
        line.rings = 0
        from pycallcenter.dsp.callerid import CallerId

        line.callerid = CallerId(number=leg.caller or None, name=leg.caller_name or None,
                                 datetime=self.engine.caller_id_datetime()) if (leg.caller or leg.caller_name) else None
        line.goto("ringing", now)
        line.channel.ring(True)
        leg.state = C.ALERTING
        self.engine.leg_alerting(leg, now)

    def accepts_waiting(self, channel):
        """Return True when a call for this busy phone may wait (call waiting is on and free)."""
        station = getattr(self, "station", None)
        return station is not None and station.accepts_waiting(self.lines[channel])

    def answer(self, leg):
        """A phone off hook is already connected: answering only stops its dial tone."""
        line = self.lines[leg.channel]
        if line.state == "dialtone":
            self.engine.media.stop_tone(line.row)
            line.goto("connected", self.engine.now)

    def hangup(self, leg, cause):
        """Stop ringing, or give the phone a reorder tone until it hangs up."""
        line = self.lines[leg.channel]
        now = self.engine.now
        station = getattr(self, "station", None)
        if station is not None and station.on_hangup(line, leg, cause):
            return  # a waiting or held call on a busy phone
        if line.state == "ringing":
            line.channel.ring(False)
            self.engine.media.stop(line.row)
            self._end(line, cause, now)
        elif line.state in ("dialtone", "connected"):
            # the far side cleared: the phone hears congestion until it goes on hook
            line.leg = None
            line.goto("clearing", now)
            self.engine.leg_ended(leg, cause, now)  # frees the row's media first
            self.engine.media.start_tone(line.row, "congestion")

    def on_tick(self, now):
        """Send message-waiting updates to phones that have been idle long enough."""
        if self._mwi_due:
            self._send_mwi(now)

    # --- message waiting (voicemail) ------------------------------------------------------------
    MWI_IDLE_SAMPLES = SAMPLE_RATE  # after hang-up, wait this long before an on-hook FSK message

    def set_message_waiting(self, channel, waiting, fmt="mdmf"):
        """Turn a phone's message-waiting indication on or off: stutter dial tone at every off-hook while
        on, and an on-hook FSK MWI message (MDMF 0x82 with the visual indicator, or SDMF 0x06) as soon
        as the line is idle. The FSK goes without a prior alert (no line reversal or DT-AS)."""
        if waiting:
            self.message_waiting.add(channel)
        else:
            self.message_waiting.discard(channel)
        self._mwi_due[channel] = (bool(waiting), fmt)
        self._send_mwi(self.engine.now)

    def dialtone_for(self, channel):
        """Return the dial tone a phone gets off hook: stutter dial tone while a message waits."""
        return "stutter_dial" if channel in self.message_waiting else self.dialtone

    def _send_mwi(self, now):
        from pycallcenter.dsp.callerid import CallerId, callerid_signal

        for channel, (waiting, fmt) in list(self._mwi_due.items()):
            line = self.lines[channel]
            if line.state != "idle" or (line.since and now - line.since < self.MWI_IDLE_SAMPLES):
                continue
            del self._mwi_due[channel]
            if self.cid_standard == "dtmf":
                continue  # DTMF caller ID has no message-waiting message: stutter dial tone only
            audio = callerid_signal(CallerId(message_waiting=waiting), self.cid_standard, fmt)
            self.engine.media.play(line.row, [audio])
            self.engine.log("mwi_sent", channel=channel, on=int(waiting), fmt=fmt)


class FxoTrunks(_Adapter):
    """FXO ports on PSTN lines: ring detection with caller ID between rings, answer, disconnect
    supervision (loop current drop, polarity reversal, busy/congestion tone), and outgoing calls with
    dial-tone wait, DTMF dialling and call-progress results."""

    tech = "fxo"
    # off hook (the trunk is seized); "ringing"/"offered" are not held: the exchange rings us while we stay on hook
    HELD_STATES = ("dialtone", "dialing", "progress", "connected")

    def __init__(self, engine, channels, name="pstn", cid_standard="bell202", answer_on_ring=2,
                 ring_timeout_ms=8000, dialtone_wait_ms=3000, require_dialtone=False, no_answer_ms=45000,
                 answer_supervision="polarity", dial_mode="dtmf"):
        super().__init__(engine, channels, name)
        from pycallcenter.dsp.fsk import FskReceiver
        from pycallcenter.dsp.progress import CallProgressDetector

        self.rows = np.array([l.row for l in self.lines.values()], np.intp)
        self._index = {l.row: i for i, l in enumerate(self.lines.values())}
        self.fsk = FskReceiver(len(self.rows), cid_standard) if len(self.rows) else None
        self.cpd = CallProgressDetector(len(self.rows), plan=engine.tone_plan) if len(self.rows) else None
        self.offer_on_ring = answer_on_ring  # offer the call to scripts at this ring (caller ID is known by then)
        self.ring_timeout = ring_timeout_ms * MS
        self.dialtone_wait = dialtone_wait_ms * MS
        self.require_dialtone = require_dialtone
        self.no_answer = no_answer_ms * MS
        self.answer_supervision = answer_supervision  # "polarity", "voice" or "none" (answered when dialled)
        if dial_mode not in ("dtmf", "pulse"):
            raise ValueError(f"dial_mode must be 'dtmf' or 'pulse', got {dial_mode!r}")
        self.dial_mode = dial_mode  # pulse: loop-disconnect dialling through the board (DAHDI_DIAL "P...")

    # --- incoming -------------------------------------------------------------------------------
    def on_event(self, ev, line, now):
        """Handle one board event for a line."""
        if ev.kind is K.RING_BEGIN:
            if line.state == "idle":
                line.goto("ringing", now)
            if line.state == "ringing":
                line.rings += 1
                line.ring_end = None
                if line.rings == self.offer_on_ring and line.leg is None:
                    self._offer(line, now)
        elif ev.kind is K.RING_END and line.state in ("ringing", "offered"):
            line.ring_end = now
        elif ev.kind is K.POLARITY:
            if line.state in ("progress", "dialing") and self.answer_supervision == "polarity" and ev.data.get("reversed"):
                self._answered(line, now)
            elif line.state == "connected" and line.leg is not None and line.leg.direction == "out":
                self._disconnect(line, "polarity", now)
        elif ev.kind is K.ON_HOOK and line.state in ("connected", "progress", "dialing", "dialtone"):
            self._disconnect(line, "loop_drop", now)
        elif ev.kind is K.DIAL_COMPLETE and line.state == "dialing":
            line.goto("progress", now)
            if self.answer_supervision == "none":
                self._answered(line, now)

    def _offer(self, line, now):
        leg = self.engine.new_leg(self, line.channel.number, "in")
        if line.callerid is not None:
            leg.caller = line.callerid.number or ""
            leg.caller_name = line.callerid.name or ""
        line.leg = leg
        line.goto("offered", now)
        leg.state = C.OFFERED
        self.engine.leg_offered(leg, now)

    def answer(self, leg):
        """Go off hook on a ringing line."""
        line = self.lines[leg.channel]
        now = self.engine.now
        line.channel.hook("off")
        line.goto("connected", now)
        self.engine.leg_answered(leg, now)

    def hangup(self, leg, cause):
        """Go on hook."""
        line = self.lines[leg.channel]
        if line.state != "idle":
            line.channel.hook("on")
        self._end(line, cause, self.engine.now)

    def _disconnect(self, line, how, now):
        if line.state != "idle":
            line.channel.hook("on")
        self._end(line, C.ANALOG_CAUSES[how], now)

    # --- outgoing -------------------------------------------------------------------------------
    def originate(self, leg, number, now):
        """Seize the line, wait for dial tone, dial, then watch call progress."""
        line = self.lines[leg.channel]
        line.leg = leg
        line.number = number
        line.channel.hook("off")
        line.goto("dialtone", now)
        leg.state = C.DIALING

    def _dial(self, line, now):
        line.channel.dial(("P" if self.dial_mode == "pulse" else "") + line.number)
        line.goto("dialing", now)

    def _answered(self, line, now):
        line.goto("connected", now)
        self.engine.leg_answered(line.leg, now)

    # --- per tick -------------------------------------------------------------------------------
    def on_tick(self, now):
        """Caller ID and call progress on the adapter's rows; ring and dial timers."""
        if not len(self.rows):
            return
        audio = self.engine.media.rx[self.rows]
        lines = list(self.lines.values())
        for msg in self.fsk.process(audio):
            line = lines[msg.channel]
            if msg.callerid is not None and line.state in ("ringing", "offered"):
                line.callerid = msg.callerid
                if line.leg is not None:
                    line.leg.caller = msg.callerid.number or line.leg.caller
                    line.leg.caller_name = msg.callerid.name or line.leg.caller_name
                    self.engine.log("callerid", leg=line.leg.id, number=line.leg.caller, name=line.leg.caller_name)
        for ev in self.cpd.process(audio):
            self._progress(lines[ev.channel], ev.kind, now)
        for line in lines:
            if line.state in ("ringing", "offered") and line.ring_end is not None and now - line.ring_end > self.ring_timeout:
                self._end(line, C.NORMAL_CLEARING, now)  # the caller gave up before we answered
            elif line.state == "dialtone" and now - line.since >= self.dialtone_wait:
                if self.require_dialtone:
                    self._disconnect(line, "no_dial_tone", now)
                else:
                    self._dial(line, now)
            elif line.state == "progress" and now - line.since >= self.no_answer:
                self._disconnect(line, "no_answer", now)

    def _progress(self, line, kind, now):
        if line.leg is not None and line.state in ("progress", "connected"):
            line.leg.progress.append(kind)
        if line.state == "dialtone" and kind == "dial_tone":
            self._dial(line, now)
        elif line.state == "progress":
            if kind in ("busy", "congestion", "sit"):
                self._disconnect(line, kind, now)
            elif kind == "ringback" and line.leg.state != C.ALERTING:
                line.leg.state = C.ALERTING
                self.engine.leg_alerting(line.leg, now)
            elif kind in ("voice", "fax_ced") and self.answer_supervision == "voice":
                self._answered(line, now)
        elif line.state == "connected" and kind in ("busy", "congestion"):
            # the far party hung up and the exchange plays busy/reorder: disconnect supervision by tone
            self._disconnect(line, "on_hook", now)
