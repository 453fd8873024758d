"""The engine's side of the station features (hook-flash consultation, transfer, conference, call waiting on
FXS extensions): ``StationFeatures`` attaches the features machine (``pycallcenter.analog.station.Stations``,
where the features are described and decided) to the engine's FXS extension groups and is its port: it
does on legs, lines and media what the machine decides: it feeds the machine its inputs (the engine's
leg events, the bridge partner of a flashed leg, each line's digits per tick, the legs its calls got) and
carries out the actions each input returns, in order (``run``).

The features take over the script's bridge on the first flash (the script keeps waiting until its own leg
ends) and from then on clear the parties themselves: every leg they take over or place is kept
(``Leg.keeper``), so the script's end does not clear them, and a transferred pair is handed to the engine
(``Engine.hand_off``), which clears one side when the other hangs up. Everything runs on the board clock.
"""
import numpy as np

from pycallcenter.analog.station import CURRENT_LEG, LineNow, Mode, Stations
from pycallcenter.analog.station_actions import arguments
from pycallcenter.analog.timers import StationTimers
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.dsp.callerid import CallerId, callerid_signal
from pycallcenter.dsp.toneplans import cadenced
from pycallcenter.dsp.tones import generate
from pycallcenter.engine import call as C
from pycallcenter.engine.analog import FxoTrunks, FxsExtensions
from pycallcenter.engine.bridge import bridge_of
from pycallcenter.engine.scheduler import CallHangup, Op

# the CPE alerting signal of off-hook caller ID (Telcordia GR-30): 2130 + 2750 Hz together for 80 ms
CAS = cadenced("cas", [2130, 2750], -15, [(80, 0)], once=True)
CIDCW_PAUSE = 80 * SAMPLE_RATE // 1000  # the FSK starts 50-500 ms after the phone's acknowledgement


class _Parked(Op):
    """Stands in for a script's bridge the station took over: over only when the script's leg ends."""

    def __init__(self, leg):
        self.leg = leg  # engine.leg_ended throws CallHangup into the task when this leg ends

    def poll(self, now):
        if not self.leg.active:
            self.fail(CallHangup(self.leg.cause))


class StationFeatures:
    """Flash and call-waiting features for every FXS extension group of an engine (attaches itself on init)."""

    name = "station"

    def __init__(self, engine, dialplan=None, call_waiting=True, cw_timeout=20.0, digit_timeout=3.0,
                 flash_digit_timeout=2.0, consult_timeout=30.0, recall_timeout=30.0, hold_music="moh",
                 flash_default="return", cidcw=False, cidcw_ack_ms=500):
        self.engine = engine
        self.dialplan = dialplan or self._default_dialplan
        self.hold_music = hold_music
        timers = StationTimers(call_waiting=cw_timeout, digit=digit_timeout, flash_digit=flash_digit_timeout,
                               consult=consult_timeout, recall=recall_timeout, cidcw_ack=cidcw_ack_ms / 1000)
        alert = generate(engine.tone_plan, "call_waiting", 0.3).size + generate(engine.tone_plan, CAS, 0.08).size
        self.machine = Stations(timers, call_waiting=call_waiting, flash_default=flash_default, cidcw=cidcw,
                                cidcw_alert_samples=alert)
        self._cut = {}  # a phone's row -> the links CutLine cut, until RestoreLine
        for adapter in engine.adapters:
            if isinstance(adapter, FxsExtensions):
                adapter.station = self
                for ch, line in adapter.lines.items():
                    self.machine.add_phone(ch, line)
        engine.add(self)
        engine.listeners.append(self)

    def _default_dialplan(self, digits):
        """Return the originate target for dialled digits: an extension's channel, or 9 + number outside."""
        if digits.isdigit() and int(digits) in self.machine.phones:
            return f"channel/{int(digits)}"
        if digits.startswith("9") and len(digits) > 1:
            for adapter in self.engine.adapters:
                if isinstance(adapter, FxoTrunks) or getattr(adapter, "tech", "") == "pri":
                    return f"{adapter.name}/{digits[1:]}"
        return None

    # --- feeding the machine and carrying out its actions ----------------------------------------------------
    def run(self, actions):
        """Carry out the machine's actions in order (each names the port method that does it)."""
        for action in actions:
            getattr(self, action.port)(*arguments(action))

    def _tell(self, *legs):
        """Tell the machine the state of legs it is about to be handed."""
        for leg in legs:
            if leg is not None:
                self.machine.leg_state(leg, leg.state, leg.cause, leg.tech)

    # --- called by FxsExtensions -----------------------------------------------------------------------
    def accepts_waiting(self, line):
        """Return True when a new call may wait on this busy phone."""
        return self.machine.accepts_waiting(line.channel.number, line.state == "connected", line.leg,
                                            self.partner(line.leg))

    def offer_waiting(self, line, leg, now):
        """A call waits on a busy phone: call-waiting tone on top of the conversation."""
        self._tell(line.leg, leg)
        self.run(self.machine.offer_waiting(line.channel.number, line.leg, leg, self.has_callerid(leg), now))

    def on_hangup(self, line, leg, cause):
        """Clear a leg sharing the phone's row without touching the current call; return True if handled."""
        self._tell(line.leg, leg)
        handled, actions = self.machine.on_hangup(line.channel.number, line.leg, leg, cause, self.engine.now)
        self.run(actions)
        return handled

    def on_hook(self, line, now):
        """The phone hung up in a call: transfer, ring back for a held call; return True if fully handled."""
        self._tell(line.leg)
        handled, actions = self.machine.on_hook(line.channel.number, line.leg, now)
        self.run(actions)
        return handled

    # --- the engine's listener, ticker and leak report ----------------------------------------------------
    def on_leg_event(self, kind, leg):
        """Tell the machine how the legs it follows move on; pass it flashes and the phone answering a
        reminder ring."""
        if kind != "flash" and self.machine.knows(leg):
            self._tell(leg)
        phone = self.machine.phones.get(leg.channel) if leg.tech == "fxs" else None
        if phone is None or leg is not phone.line.leg:
            return
        if kind == "flash":
            partner = self.partner(leg)
            self._tell(leg, partner)
            self.run(self.machine.flash(leg.channel, leg, partner, self.engine.now))
        elif kind == "answered":
            self._tell(leg)
            self.run(self.machine.answered(leg.channel, leg, self.engine.now))

    def on_tick(self, now):
        """Run the features' per-tick work and timers: the lines' digits in, each step's actions out."""
        machine, lines = self.machine, {}
        for channel, phone in machine.phones.items():
            if phone.mode is not Mode.IDLE:
                line = phone.line
                leg = machine.digit_leg(channel, now)
                leg = line.leg if leg is CURRENT_LEG else leg
                lines[channel] = LineNow(line.leg, self.take_digits(leg) if leg is not None else "",
                                         self.playing(line))
        for actions in machine.tick(now, lines):
            self.run(actions)

    def leaks(self):
        """Return one line per phone whose feature state outlived every leg it was about (Engine.leaks)."""
        return self.machine.leaks()

    # --- the port: what the machine asks for ----------------------------------------------------------------
    def log_fields(self, kind, fields):
        """Write one line to the engine's event log."""
        self.engine.log(kind, **fields)

    def adopt(self, leg):
        """Take over the script bridge holding leg."""
        task, _ = bridge_of(self.engine.scheduler, leg)
        if task is not None:
            task.op = _Parked(task.op.leg)

    def partner(self, leg):
        """Return the other leg of the script bridge holding leg, or None."""
        return bridge_of(self.engine.scheduler, leg)[1]

    def keep(self, legs):
        """Make the station the keeper of legs: their scripts ending no longer clears them; we do."""
        for leg in legs:
            if leg is not None:
                leg.keeper = self

    def hold(self, leg):
        """Put a party on hold (music, or the hold beep without music)."""
        eng = self.engine
        if leg is not None and leg.active:
            eng.hold(leg, self.hold_music)
            if leg.row not in eng.media.players:
                eng.media.start_tone(leg.row, "call_waiting")

    def connect(self, extension, party):
        """Connect the phone's leg to a party only."""
        eng = self.engine
        eng.media.isolate(extension.row)
        eng.media.stop_tone(extension.row)
        if party is not None and party.active:
            party.held_links = set()
            eng.bridge(extension, party)

    def conference(self, legs):
        """Join legs so that each hears the others."""
        self.engine.conference(legs)

    def hand_off(self, a, b):
        """Leave a connected pair to the engine."""
        self.engine.hand_off(a, b)

    def make_current(self, line, leg):
        """Put the phone's line (and its row's media) on another of its legs."""
        line.leg = leg
        self.engine.leg_on_row[leg.row] = leg

    def recall(self, line, now):
        """Ring the phone for a held call."""
        line.adapter.run(line, line.machine.recall(now))

    def clear(self, line, now):
        """Every party left: the phone hears congestion until it hangs up."""
        line.leg = None
        line.adapter.run(line, line.machine.clear(now))

    def release(self, line, now):
        """End the line's current leg without a hook change."""
        line.adapter.run(line, line.machine.release(now, C.NORMAL_CLEARING))

    def hang_up(self, leg, cause=C.NORMAL_CLEARING):
        """Clear a leg."""
        leg.hangup(cause)

    def end_leg(self, leg, cause):
        """End a leg on the phone's row without touching the row's current call."""
        self.engine.leg_ended(leg, cause, self.engine.now)

    def answer(self, leg):
        """The phone took a waiting call."""
        self.engine.leg_answered(leg, self.engine.now)

    def mark_alerting(self, leg):
        """A waiting call's leg rings (the phone hears the call-waiting tone)."""
        leg.state = C.ALERTING

    def alerting(self, leg):
        """Tell the engine a waiting call's leg rings."""
        self.engine.leg_alerting(leg, self.engine.now)

    def has_callerid(self, leg):
        """Return True when the leg has a caller number or name."""
        return bool(leg.caller or leg.caller_name)

    def take_digits(self, leg):
        """Return the DTMF heard on the leg and not yet consumed, consuming it."""
        digits, leg.digits = leg.digits, ""
        return digits

    def drop_digits(self, leg):
        """Forget the DTMF heard on the leg and not yet consumed."""
        leg.digits = ""

    def dial_tone(self, leg):
        """Cut the phone from everyone and give it dial tone."""
        self.engine.media.isolate(leg.row)
        self.engine.media.start_tone(leg.row, "dial")

    def ringback(self, leg):
        """Cut a party from everyone and give it ringback."""
        self.engine.media.isolate(leg.row)
        self.engine.media.start_tone(leg.row, "ringback")

    def silence(self, leg):
        """Stop what the leg hears (music, tones)."""
        self.engine.media.stop(leg.row)
        self.engine.media.stop_tone(leg.row)

    def isolate(self, leg):
        """Cut the leg from every other leg."""
        self.engine.media.isolate(leg.row)

    def start_tone(self, leg, name, unless_tone=False):
        """Start a tone on the leg (with unless_tone, only when it hears no tone already)."""
        if not (unless_tone and leg.row in self.engine.media.tone_rows):
            self.engine.media.start_tone(leg.row, name)

    def stop_tone(self, leg):
        """Stop the leg's tone."""
        self.engine.media.stop_tone(leg.row)

    def isolate_line(self, line):
        """Cut the phone's row from every other row."""
        self.engine.media.isolate(line.row)

    def start_line_tone(self, line, name):
        """Start a tone on the phone's row."""
        self.engine.media.start_tone(line.row, name)

    def stop_line_tone(self, line):
        """Stop the tone on the phone's row."""
        self.engine.media.stop_tone(line.row)

    def playing(self, line):
        """Return True while something is played to the phone."""
        return line.row in self.engine.media.players

    def place_consult(self, channel, extension, party, number, now):
        """Place the consultation call for the number in the held party's call; answer the machine."""
        target = self.dialplan(number)
        leg = self.engine.originate(target, caller=str(extension.channel), call=party.call) if target else None
        self._tell(leg)
        self.run(self.machine.consult_placed(channel, number, target, leg, now))

    def ring_extension(self, channel, party, now):
        """Ring an extension for a held party (its caller ID); answer the machine."""
        leg = self.engine.originate(f"channel/{channel}", caller=party.caller, caller_name=party.caller_name,
                                    call=party.call)
        self._tell(leg)
        self.run(self.machine.recall_placed(party, leg, now))

    def cut_line(self, line):
        """Cut the phone's row from the conversation (restore_line puts the links back)."""
        self._cut[line.row] = {k for k in self.engine.media._links if line.row in k}
        self.engine.media.isolate(line.row)

    def restore_line(self, line):
        """Put back the links cut_line cut, between rows that still have a leg."""
        eng = self.engine
        rows = {l.row for l in eng.legs.values()}
        for listener, talker in self._cut.pop(line.row, ()):
            if listener in rows and talker in rows:
                eng.media.link(listener, talker)

    def alert_for_callerid(self, line):
        """Send the subscriber alerting tone then the CPE alerting signal (as long as cidcw_alert_samples)."""
        eng = self.engine
        eng.media.play(line.row, [generate(eng.tone_plan, "call_waiting", 0.3), generate(eng.tone_plan, CAS, 0.08)])

    def send_callerid_on_waiting(self, line, leg):
        """Send the waiting call's caller ID (MDMF, Bell 202) to the phone that acknowledged the alert."""
        eng = self.engine
        cid = CallerId(number=leg.caller or None, name=leg.caller_name or None, datetime=eng.caller_id_datetime())
        eng.media.play(line.row, [np.zeros(CIDCW_PAUSE, np.int16), callerid_signal(cid, "bell202", "mdmf")])
