"""The station features of FXS phones: hook-flash consultation, transfer and conference, and call waiting.

A phone talking to a party presses FLASH: the party is held, the phone hears dial tone and dials a consult
party (an extension number or an outside number through the dial plan). Hanging up then transfers the
held party to the consulted one (attended when it answered; blind while it still rings: the held party
hears ringback until it answers, and the phone is rung back when it fails or does not answer in time).
FLASH during a consultation waits briefly for a digit: '1' (or none) drops the consulted party and returns
to the held one, '2' swaps between them, '3' joins all three (``flash_default="conference"`` makes no
digit join them too). A call for a busy phone waits (call-waiting tone, or caller ID on call waiting);
FLASH answers it and holds the first call, FLASH again swaps; hanging up with a call on hold rings the
phone back.

``Stations`` is the machine: per phone a ``Phone`` with a ``Mode`` and named parties, one table per input
(``FLASH``, ``ON_HOOK``, ``TICK``: mode -> handler) and a ``{mode: timer}`` map of what times out in each
mode (durations in ``analog/timers.py``, ``StationTimers``). It is sans-IO: every input returns the actions
(``analog/station_actions.py``) its port carries out in order; the engine's adapter (``engine/station.py``)
is that port. What the machine knows of the world comes in as inputs: the state of each leg it was handed
(``leg_state``, fed from the engine's leg events), the other leg of the script bridge a flashed leg is in,
the digits and current leg of each line per tick (``LineNow``), and the answers to the two actions that
place a call (``consult_placed``, ``recall_placed``). Parties are the engine's legs, which the machine only
hands back, compares and names by their ``id``. Tested back to back against a simulated switch in
``tests/test_analog_machines_station.py``.
"""
import enum
from typing import Any, NamedTuple

from pycallcenter.analog import station_actions as A
from pycallcenter.analog.timers import StationTimers, samples
from pycallcenter.causes import Cause


class Mode(enum.StrEnum):
    """What a phone's features are doing."""

    IDLE = "idle"  # nothing: the phone is idle or in a plain call nobody flashed in
    TALK = "talk"  # talking to `party`, which the features took over (after a flash or a call waiting)
    DIALING = "dialing"  # flashed: `party` held, collecting the consult number
    CONSULT = "consult"  # consulting (`consult` rings or talks), `party` held
    FLASHED = "flashed"  # flashed during an answered consultation: waiting for the digit 1, 2 or 3
    CONFERENCE = "conference"  # the phone, `party` and `consult` all hear each other
    CW_WAIT = "cw_wait"  # a call (`waiting`) waits on the busy phone
    CW = "cw"  # two calls on the phone: one talks, the other is held; FLASH swaps
    RECALL = "recall"  # the phone rings for a call held for it (reminder ring)
    HELD = "held"  # the current call left with `party` on hold: FLASH takes it back


class CallerIdOnWaiting(enum.StrEnum):
    """Where caller ID on call waiting (off-hook, "type II") stands."""

    NONE = "none"
    ACK = "ack"  # alert tones sent: waiting for the phone's acknowledgement (DTMF A or D)
    FSK = "fsk"  # the caller ID message is being sent


class Phone:
    """One phone's feature state (see Mode for what each party means in each mode)."""

    def __init__(self, channel, line):
        self.channel = channel
        self.line = line  # the engine's line of the phone (opaque here: handed back to the port)
        self.reset()

    def reset(self):
        """Forget the features' state: back to Mode.IDLE."""
        self.mode = Mode.IDLE
        self.extension = None  # the phone's own leg in the conversation the features took over
        self.party = None  # the other party of that conversation (held during a consultation)
        self.consult = None  # the consulted party
        self.on_consult = False  # the phone talks to the consulted party (None: the consulted party is gone)
        self.consult_connected = False  # the consulted party answered and was connected once
        self.waiting = None  # call waiting: the phone's second leg
        self.waiting_party = None  # and the party on the far side of it
        self.since = 0  # board time the mode's timer counts from
        self.digits = ""  # consult digits collected
        self.cidcw = CallerIdOnWaiting.NONE
        self.cidcw_at = 0  # when the alert tones end (the acknowledgement is awaited from then)


class LineNow(NamedTuple):
    """What the port tells the machine about a phone's line at a tick."""

    current: Any  # the leg the line is on
    digits: str = ""  # DTMF taken from the leg digit_leg named (consumed by the port)
    playing: bool = False  # something is still played to the phone (caller ID on call waiting)


CURRENT_LEG = "current leg"  # digit_leg: the digits of whatever leg the line is on


class LegView:
    """What the machine was told of one leg: its state ("alerting", "answered", "ended"...), cause and tech."""

    __slots__ = ("state", "cause", "tech")

    def __init__(self, state, cause, tech):
        self.state, self.cause, self.tech = state, cause, tech


# what times out in each mode: the StationTimers field counted from Phone.since
TIMER_OF_MODE = {Mode.DIALING: "digit", Mode.CONSULT: "consult", Mode.FLASHED: "flash_digit",
                 Mode.CW_WAIT: "call_waiting", Mode.RECALL: "recall"}


class Stations:
    """The station features of a set of phones (see the module docstring): inputs in, actions out."""

    def __init__(self, timers=StationTimers(), call_waiting=True, flash_default="return", cidcw=False,
                 cidcw_alert_samples=0):
        if flash_default not in ("return", "conference"):
            raise ValueError(f"flash_default must be 'return' or 'conference', got {flash_default!r}")
        self.timers = timers
        self.call_waiting = call_waiting  # True, False, or a set of channels that have it
        self.flash_default = flash_default  # what FLASH with no digit does during an answered consultation
        self.cidcw = cidcw  # caller ID on call waiting (alert tones, the phone ACKs with DTMF D or A, then FSK)
        self.cidcw_alert_samples = cidcw_alert_samples  # how long the port's alert tones last
        self._samples = {name: samples(getattr(timers, name)) for name in
                         ("call_waiting", "digit", "flash_digit", "consult", "recall", "cidcw_ack")}
        self.phones = {}  # channel -> Phone
        self.blind = []  # (held party, consulted party, started, channel): ringback until it answers
        self.callbacks = []  # (held party, extension leg, started): a failed blind transfer rings the phone back
        self.notices = 0  # inputs with no transition in the mode they arrived in
        self.legs = {}  # leg id -> LegView: what the port told of each leg handed to the machine
        self._ended = False  # a known leg ended since the views were last pruned
        self._out = []  # the actions of the input being handled

    def add_phone(self, channel, line):
        """Give the phone on channel the features."""
        self.phones[channel] = Phone(channel, line)

    # --- timers --------------------------------------------------------------------------------------------
    def _expired(self, phone, now):
        """Return True when the timer of the phone's mode has run out."""
        return now - phone.since >= self._samples[TIMER_OF_MODE[phone.mode]]

    def next_deadline(self):
        """Return the board time of the earliest feature timer (mode timers, transfers, recalls), or None."""
        times = [phone.since + self._samples[TIMER_OF_MODE[phone.mode]]
                 for phone in self.phones.values() if phone.mode in TIMER_OF_MODE]
        times += [started + self._samples["consult"] for _, _, started, _ in self.blind]
        times += [started + self._samples["recall"] for _, _, started in self.callbacks]
        return min(times) if times else None

    # --- what the machine knows of legs -------------------------------------------------------------------
    def leg_state(self, leg, state, cause=None, tech=""):
        """Input: the leg's state (a leg handed to the machine, or an engine event on a leg it knows)."""
        self.legs[leg.id] = LegView(state, cause, tech)
        if state == "ended":
            self._ended = True

    def knows(self, leg):
        """Return True when the machine follows the leg's state (the port then reports its events)."""
        return leg.id in self.legs

    def _active(self, leg):
        return self.legs[leg.id].state != "ended"

    def _answered(self, leg):
        return self.legs[leg.id].state == "answered"

    def _rings_silently(self, leg):
        view = self.legs[leg.id]
        return view.state == "alerting" and view.tech == "fxs"

    def _busy(self, leg):
        return self.legs[leg.id].cause == Cause.USER_BUSY

    def _prune(self):
        """Forget ended legs nothing refers to any more."""
        self._ended = False
        held = {p.id for phone in self.phones.values()
                for p in (phone.extension, phone.party, phone.consult, phone.waiting, phone.waiting_party)
                if p is not None}
        held.update(leg.id for item in self.blind + self.callbacks for leg in item[:2])
        for leg_id in [i for i, view in self.legs.items() if view.state == "ended" and i not in held]:
            del self.legs[leg_id]

    def _do(self, action):
        self._out.append(action)

    def _log(self, kind, **fields):
        self._out.append(A.Log(kind, fields))

    def _notice(self, phone, what):
        self.notices += 1
        return False

    # --- helpers -------------------------------------------------------------------------------------------
    def _adopt(self, leg, partner):
        """Take over the script bridge holding leg (and both its legs); return its partner or None."""
        self._do(A.Adopt(leg))
        self._do(A.Keep((leg, partner)))
        return partner

    def _hang_up(self, leg, cause=Cause.NORMAL_CALL_CLEARING):
        self._do(A.HangUp(leg, cause))

    def _end_leg(self, leg, cause):
        self._do(A.EndLeg(leg, cause))
        self._mark(leg, "ended")

    def _mark(self, leg, state):
        """What the machine did changes a leg's state at once (the engine's event follows when the port
        carries it out): a look later in the same input must see it."""
        self.legs[leg.id].state = state

    def _ring_back(self, phone, extension, party, now):
        """Ring the phone for a held call (reminder ring)."""
        self._do(A.IsolateLine(phone.line))
        self._do(A.StopLineTone(phone.line))
        phone.reset()
        phone.mode, phone.extension, phone.party, phone.since = Mode.RECALL, extension, party, now
        self._do(A.MakeCurrent(phone.line, extension))
        self._do(A.RingPhone(phone.line, now))
        self._log("reminder_ring", leg=extension.id, held=party.id if party is not None else "-")

    def _back_to_party(self, phone):
        if phone.consult is not None and self._active(phone.consult):
            self._hang_up(phone.consult)
        phone.consult, phone.on_consult, phone.consult_connected = None, False, False
        self._do(A.Connect(phone.extension, phone.party))
        phone.mode = Mode.TALK
        self._log("consult_return", leg=phone.extension.id, party=phone.party.id)

    def _start(self):
        self._out = []
        return self._out

    # --- the phone's line (called by the FXS adapter) -------------------------------------------------------
    def accepts_waiting(self, channel, connected, current, partner):
        """Return True when a new call may wait on this busy phone (connected: its line is in a call;
        current: the leg on its line; partner: the other leg of the script bridge holding it, or None)."""
        phone = self.phones.get(channel)
        enabled = self.call_waiting is True or (self.call_waiting and channel in self.call_waiting)
        if not enabled or phone is None or not connected or phone.mode not in (Mode.IDLE, Mode.TALK):
            return False
        return partner is not None or phone.mode is Mode.TALK

    def offer_waiting(self, channel, current, leg, callerid, now):
        """A call (leg; callerid: it has a caller number or name) waits on the busy phone whose current leg is
        `current`; return the actions."""
        out = self._start()
        phone = self.phones[channel]
        if phone.mode is Mode.IDLE:
            phone.extension, phone.party = current, None
        phone.mode, phone.waiting, phone.since = Mode.CW_WAIT, leg, now
        self._do(A.MarkAlerting(leg))
        self._mark(leg, "alerting")
        if self.cidcw and callerid:
            self._start_cidcw(phone, current, now)
        else:
            self._do(A.LineTone(phone.line, "call_waiting"))
        self._do(A.TellAlerting(leg))
        self._log("call_waiting", leg=leg.id, busy=current.id)
        return out

    def on_hangup(self, channel, current, leg, cause, now):
        """The engine clears leg on the phone whose current leg is `current`: clear it without touching the
        current call; return (True if handled here, the actions)."""
        out = self._start()
        phone = self.phones.get(channel)
        if phone is None:
            return False, out
        if phone.waiting is leg and phone.mode is Mode.CW_WAIT and leg is current:
            # the waiting call ends after the first one did (it had become the line's call): nothing is left
            # for the features; the line ends its call as usual
            self._do(A.StopLineTone(phone.line))
            phone.reset()
            return False, out
        if leg is current and phone.mode is Mode.CW_WAIT:
            # the first call ended while another waits: the waiting call keeps beeping; FLASH takes it
            self._end_leg(leg, cause)
            phone.extension = phone.party = None
            self._do(A.MakeCurrent(phone.line, phone.waiting))
            self._do(A.LineTone(phone.line, "call_waiting"))
            return True, out
        if leg is current:
            if phone.mode is not Mode.CW:
                return False, out
            self._end_leg(leg, cause)
            self._settle_cw(phone, current, now)
            return True, out
        if phone.waiting is leg and phone.mode is Mode.CW_WAIT:
            self._do(A.StopLineTone(phone.line))
            phone.mode = Mode.TALK if phone.party is not None else Mode.IDLE
            phone.waiting = None
        self._end_leg(leg, cause)
        return True, out

    def on_hook(self, channel, current, now):
        """The phone hung up in a call (current: its line's leg): transfer, or ring back for a held call;
        return (True if fully handled: the line is not to end its call as usual, the actions)."""
        out = self._start()
        phone = self.phones.get(channel)
        if phone is None or phone.mode is Mode.IDLE:
            return False, out
        self._do(A.StopLineTone(phone.line))
        return self.ON_HOOK.get(phone.mode, Stations._hook_other)(self, phone, current, now), out

    def _hook_talk(self, phone, current, now):
        party = phone.party
        phone.reset()
        if party is not None and self._active(party):
            self._hang_up(party)
        return False

    def _hook_consulting(self, phone, current, now):
        party, consult = phone.party, phone.consult
        if consult is not None and self._active(consult) and party is not None and self._active(party):
            phone.reset()
            self._do(A.Silence(party))
            if self._answered(consult):
                self._log("transfer", how="attended", a=party.id, b=consult.id)
                self._do(A.HandOff(party, consult))
            else:
                self._do(A.Ringback(party))
                self.blind.append((party, consult, now, phone.channel))
                self._log("transfer", how="blind", a=party.id, b=consult.id)
            return False
        return self._hook_held(phone, current, now)

    def _hook_held(self, phone, current, now):
        party, consult = phone.party, phone.consult
        if (phone.mode in (Mode.DIALING, Mode.CONSULT, Mode.FLASHED, Mode.HELD) and party is not None
                and self._active(party)):
            if consult is not None and self._active(consult):
                self._hang_up(consult)
            self._ring_back(phone, phone.extension, party, now)
            return True
        return self._hook_other(phone, current, now)

    def _hook_cw_wait(self, phone, current, now):
        party, waiting = phone.party, phone.waiting
        phone.reset()
        self._do(A.StopLineTone(phone.line))
        if current is not waiting:
            self._do(A.ReleaseLine(phone.line, now))
            self._mark(current, "ended")  # the line ends its current leg at once
        if party is not None and self._active(party):
            self._hang_up(party)
        if self._active(waiting):  # the waiting call now rings the idle phone
            self._ring_back(phone, waiting, None, now)
        return True

    def _hook_cw(self, phone, current, now):
        first = current is phone.extension
        other = phone.waiting if first else phone.extension
        other_party = phone.waiting_party if first else phone.party
        current_party = phone.party if first else phone.waiting_party
        self._do(A.ReleaseLine(phone.line, now))
        self._mark(current, "ended")
        if current_party is not None and self._active(current_party):
            self._hang_up(current_party)  # its script bridge may have been taken over: clear it here
        if self._active(other) and other_party is not None and self._active(other_party):
            self._ring_back(phone, other, other_party, now)
        else:
            phone.reset()
            if self._active(other):
                self._end_leg(other, Cause.NORMAL_CALL_CLEARING)
        return True

    def _hook_other(self, phone, current, now):
        consult = phone.consult
        phone.reset()
        if consult is not None and self._active(consult):
            self._hang_up(consult)  # the held party left during a consultation: nobody to transfer to
        return False

    ON_HOOK = {Mode.TALK: _hook_talk, Mode.CONSULT: _hook_consulting, Mode.FLASHED: _hook_consulting,
               Mode.CONFERENCE: _hook_consulting, Mode.DIALING: _hook_held, Mode.HELD: _hook_held,
               Mode.CW_WAIT: _hook_cw_wait, Mode.CW: _hook_cw}

    def _settle_cw(self, phone, current, now):
        """After a party of a call-waiting pair left: end its side, keep the other (talking or held)."""
        sides = [(phone.extension, phone.party), (phone.waiting, phone.waiting_party)]
        for extension, party in sides:
            if extension is not None and self._active(extension) and party is not None and not self._active(party):
                self._end_leg(extension, Cause.NORMAL_CALL_CLEARING)
        alive = [(x, p) for x, p in sides if x is not None and self._active(x)]
        if len(alive) == 2:
            return
        phone.reset()
        if not alive:
            self._do(A.ClearLine(phone.line, now))
            return
        (extension, party), = alive
        phone.extension, phone.party = extension, party
        if extension is current:
            phone.mode = Mode.TALK
        else:  # the current party left with a call on hold: stay off hook, FLASH takes it back
            phone.mode = Mode.HELD
            self._do(A.MakeCurrent(phone.line, extension))
        self._log("call_waiting_settled", leg=extension.id, mode=phone.mode.value)

    # --- leg events (flash, answer) and the answers to placed calls -------------------------------------------
    def flash(self, channel, leg, partner, now):
        """The phone's user pressed flash (leg: the line's current leg; partner: the other leg of the script
        bridge holding it, or None); return the actions."""
        out = self._start()
        phone = self.phones[channel]
        self._log("station_flash", leg=leg.id, mode=phone.mode.value)
        handler = self.FLASH.get(phone.mode)
        if handler is None:
            self._notice(phone, "flash")
            return out
        handler(self, phone, leg, partner, now)
        return out

    def answered(self, channel, leg, now):
        """The phone answered (leg: its line's current leg): a reminder ring is taken; return the actions."""
        out = self._start()
        phone = self.phones[channel]
        if phone.mode is not Mode.RECALL:
            return out
        if phone.party is None:  # a waiting call that rang the phone: its own script bridges it
            phone.reset()
            return out
        self._do(A.Connect(leg, phone.party))
        phone.mode, phone.extension = Mode.TALK, leg
        self._log("recall_answered", leg=leg.id, held=phone.party.id)
        return out

    def consult_placed(self, channel, number, target, leg, now):
        """Answer to PlaceConsult: the dial plan's target for the number (or None) and the consult leg placed
        (or None; its state told first); return the actions."""
        out = self._start()
        phone = self.phones[channel]
        phone.consult = leg
        self._do(A.Keep((leg,)))
        self._log("consult", leg=phone.extension.id, digits=number, target=target or "-",
                  b=leg.id if leg is not None else "-")
        if leg is None:
            self._do(A.LegTone(phone.extension, "congestion"))
        return out

    def recall_placed(self, party, leg, now):
        """Answer to RingExtension: the leg ringing the extension for the held party (or None, its state told
        first); return the actions."""
        out = self._start()
        if leg is None:
            self._hang_up(party)
            return out
        self._do(A.Keep((leg,)))
        self.callbacks.append((party, leg, now))
        self._log("transfer_recall", a=party.id, leg=leg.id)
        return out

    def _flash_talking(self, phone, leg, partner, now):
        party = phone.party if phone.mode is Mode.TALK and phone.party is not None else self._adopt(leg, partner)
        if party is None or not self._active(party):
            return
        phone.mode, phone.extension, phone.party, phone.since, phone.consult = Mode.DIALING, leg, party, now, None
        self._do(A.Hold(party))
        self._do(A.DialTone(leg))
        self._do(A.DropDigits(leg))
        phone.digits = ""

    def _flash_back(self, phone, leg, partner, now):
        if phone.mode in (Mode.DIALING, Mode.HELD):
            self._do(A.StopLegTone(leg))
        self._back_to_party(phone)

    def _flash_consulting(self, phone, leg, partner, now):
        if phone.consult is None or not self._answered(phone.consult):
            self._back_to_party(phone)  # failed, busy or still ringing: FLASH cancels it and returns
            return
        phone.mode, phone.since = Mode.FLASHED, now
        self._do(A.DropDigits(leg))
        self._do(A.Isolate(leg))
        self._do(A.StopLegTone(leg))

    def _flash_cw_wait(self, phone, leg, partner, now):
        self._do(A.StopLegTone(leg))
        waiting = phone.waiting
        if phone.extension is None:  # the first call is gone: just answer the waiting one
            phone.reset()
            phone.mode, phone.extension = Mode.TALK, waiting
            self._answer_waiting(waiting)
            self._log("call_waiting_answered", leg=waiting.id, held="-")
            return
        party = self._adopt(leg, partner)
        phone.extension, phone.party = leg, party
        self._do(A.Hold(party))
        self._do(A.Isolate(leg))
        self._do(A.MakeCurrent(phone.line, waiting))
        phone.mode = Mode.CW
        self._answer_waiting(waiting)  # the caller's dial completes and its script bridges to the phone
        self._log("call_waiting_answered", leg=waiting.id, held=party.id if party else "-")

    def _answer_waiting(self, waiting):
        self._do(A.AnswerWaiting(waiting))
        self._mark(waiting, "answered")

    def _flash_cw(self, phone, leg, partner, now):
        if leg is phone.waiting:
            if phone.waiting_party is None:
                phone.waiting_party = self._adopt(phone.waiting, partner)
            self._do(A.Hold(phone.waiting_party))
            self._do(A.MakeCurrent(phone.line, phone.extension))
            self._do(A.Connect(phone.extension, phone.party))
            talking = phone.extension
        else:
            self._do(A.Hold(phone.party))
            self._do(A.MakeCurrent(phone.line, phone.waiting))
            self._do(A.Connect(phone.waiting, phone.waiting_party))
            talking = phone.waiting
        self._log("call_waiting_swap", talking=talking.id)

    FLASH = {Mode.IDLE: _flash_talking, Mode.TALK: _flash_talking, Mode.DIALING: _flash_back, Mode.HELD: _flash_back,
             Mode.CONSULT: _flash_consulting, Mode.CONFERENCE: _flash_back, Mode.CW_WAIT: _flash_cw_wait,
             Mode.CW: _flash_cw}

    # --- per tick ------------------------------------------------------------------------------------------
    def digit_leg(self, channel, now):
        """Return the leg whose DTMF the phone's features take at this tick (the port passes it in LineNow):
        a leg, CURRENT_LEG (the line's current leg), or None."""
        phone = self.phones[channel]
        if phone.mode in (Mode.DIALING, Mode.FLASHED):
            return phone.extension
        if phone.mode is Mode.CW_WAIT and phone.cidcw is CallerIdOnWaiting.ACK and now >= phone.cidcw_at:
            return CURRENT_LEG
        return None

    def tick(self, now, lines):
        """Digit collection, consult progress, flash digits, timers and the transferred pairs (lines: channel
        -> LineNow for every phone not idle); yield the actions of each phone and each pending transfer in
        turn, for the port to carry out before the machine looks at the next."""
        for channel, phone in self.phones.items():
            if phone.mode is not Mode.IDLE:
                out = self._start()
                handler = self.TICK.get(phone.mode)
                if handler is None:
                    self._notice(phone, "tick")
                else:
                    handler(self, phone, lines[channel], now)
                yield out
        yield from self._tick_transfers(now)
        if self._ended:
            self._prune()

    def _tick_transfers(self, now):
        for item in list(self.blind):
            out = self._start()
            party, consult, started, channel = item
            if self._active(consult) and self._answered(consult):
                self.blind.remove(item)
                self._do(A.HandOff(party, consult))
            elif not self._active(party):
                self.blind.remove(item)
                self._hang_up(consult)
            elif not self._active(consult) or now - started >= self._samples["consult"]:
                self.blind.remove(item)
                if self._active(consult):
                    self._hang_up(consult, Cause.NO_ANSWER_FROM_USER)
                # the consulted party failed: ring the phone that transferred the held party (which keeps
                # hearing ringback); the port answers with recall_placed
                self._do(A.RingExtension(channel, party, now))
            yield out
        for item in list(self.callbacks):
            out = self._start()
            party, extension, started = item
            if self._active(party) and self._active(extension) and self._answered(extension):
                self.callbacks.remove(item)
                self._do(A.HandOff(party, extension))
            elif not self._active(party) or not self._active(extension) or now - started >= self._samples["recall"]:
                self.callbacks.remove(item)
                for leg in (extension, party):
                    if self._active(leg):
                        self._hang_up(leg, Cause.NO_ANSWER_FROM_USER if leg is extension else
                                      Cause.NORMAL_CALL_CLEARING)
            yield out

    def _tick_talk(self, phone, line, now):
        extension, party = phone.extension, phone.party
        if party is not None and not self._active(party) and self._active(extension):
            phone.reset()
            self._hang_up(extension)
        elif not self._active(extension):
            phone.reset()

    def _tick_dialing(self, phone, line, now):
        extension = phone.extension
        if line.digits:
            phone.digits += line.digits
            phone.since = now
            self._do(A.StopLegTone(extension))
        if phone.digits.endswith("#") or (phone.digits and self._expired(phone, now)):
            phone.mode, phone.since = Mode.CONSULT, now
            # the port resolves the number through the dial plan and answers with consult_placed
            self._do(A.PlaceConsult(phone.channel, extension, phone.party, phone.digits.rstrip("#"), now))

    def _tick_consult(self, phone, line, now):
        extension, consult = phone.extension, phone.consult
        if consult is None:
            return
        active, answered = self._active(consult), self._answered(consult)
        if active and answered and not phone.consult_connected:
            phone.on_consult = phone.consult_connected = True
            self._do(A.Connect(extension, consult))
        elif active and self._rings_silently(consult) and not phone.consult_connected:
            # an extension rings silently: we give the ringback (the port starts it unless a tone plays)
            self._do(A.LegTone(extension, "ringback", unless_tone=True))
            if self._expired(phone, now):
                self._hang_up(consult, Cause.NO_ANSWER_FROM_USER)
        elif not active and phone.consult_connected and not phone.on_consult:
            # the held consulted party left: stay with the first party
            phone.mode, phone.consult, phone.consult_connected = Mode.TALK, None, False
        elif not active and phone.on_consult is not None:
            phone.on_consult = None  # the consulted party is gone: busy or reorder until FLASH returns
            self._do(A.Isolate(extension))
            self._do(A.LegTone(extension, "busy" if self._busy(consult) else "congestion"))
        elif active and not answered and self._expired(phone, now):
            self._hang_up(consult, Cause.NO_ANSWER_FROM_USER)

    def _tick_flashed(self, phone, line, now):
        extension, party, consult = phone.extension, phone.party, phone.consult
        digit = line.digits[:1]
        if not digit and self._expired(phone, now) and self.flash_default == "conference":
            digit = "3"
        talking = consult is not None and self._active(consult) and self._answered(consult)
        if digit == "3" and talking:
            self._do(A.Silence(party))
            self._do(A.Conference((extension, party, consult)))
            phone.mode = Mode.CONFERENCE
        elif digit == "2" and talking:
            if phone.on_consult:
                self._do(A.Hold(consult))
                self._do(A.Connect(extension, party))
            else:
                self._do(A.Hold(party))
                self._do(A.Connect(extension, consult))
            phone.on_consult = not phone.on_consult
            phone.mode = Mode.CONSULT
            self._log("consult_swap", leg=extension.id, talking=(consult if phone.on_consult else party).id)
        elif digit or self._expired(phone, now):
            self._back_to_party(phone)

    def _tick_conference(self, phone, line, now):
        if not self._active(phone.party) and not self._active(phone.consult):
            extension = phone.extension
            phone.reset()
            self._hang_up(extension)

    def _tick_cw(self, phone, line, now):
        parties_gone = any(p is not None and not self._active(p) for p in (phone.party, phone.waiting_party))
        if parties_gone or not (self._active(phone.extension) and self._active(phone.waiting)):
            self._settle_cw(phone, line.current, now)

    def _tick_cw_wait(self, phone, line, now):
        if phone.cidcw is not CallerIdOnWaiting.NONE:
            self._tick_cidcw(phone, line, now)
        if self._expired(phone, now) and phone.waiting is not None and self._active(phone.waiting):
            self._hang_up(phone.waiting, Cause.NO_ANSWER_FROM_USER)

    def _tick_recall(self, phone, line, now):
        extension, party = phone.extension, phone.party
        if party is not None and not self._active(party):
            phone.reset()
            self._hang_up(extension)
        elif self._expired(phone, now):
            phone.reset()
            if party is not None:
                self._hang_up(party)
            self._hang_up(extension, Cause.NO_ANSWER_FROM_USER)

    TICK = {Mode.TALK: _tick_talk, Mode.HELD: _tick_talk, Mode.DIALING: _tick_dialing, Mode.CONSULT: _tick_consult,
            Mode.FLASHED: _tick_flashed, Mode.CONFERENCE: _tick_conference, Mode.CW: _tick_cw,
            Mode.CW_WAIT: _tick_cw_wait, Mode.RECALL: _tick_recall}

    # --- caller ID on call waiting (off-hook, "type II") -----------------------------------------------------
    def _start_cidcw(self, phone, current, now):
        """Cut the conversation, send the subscriber alerting tone then the CPE alerting signal (CAS)."""
        self._do(A.CutLine(phone.line))
        self._do(A.AlertForCallerId(phone.line))
        phone.cidcw, phone.cidcw_at = CallerIdOnWaiting.ACK, now + self.cidcw_alert_samples
        self._do(A.DropDigits(current))
        self._log("cidcw_alert", leg=phone.waiting.id)

    def _tick_cidcw(self, phone, line, now):
        if phone.cidcw is CallerIdOnWaiting.ACK and now >= phone.cidcw_at:
            ack = [d for d in line.digits if d in "AD"]
            if ack:
                self._do(A.SendCallerIdOnWaiting(phone.line, phone.waiting))
                phone.cidcw = CallerIdOnWaiting.FSK
                self._log("cidcw_sent", leg=phone.waiting.id, ack=ack[0])
            elif now - phone.cidcw_at >= self._samples["cidcw_ack"]:
                self._end_cidcw(phone)  # no ACK: the phone cannot show it; the beep was enough
        elif phone.cidcw is CallerIdOnWaiting.FSK and not line.playing:
            self._end_cidcw(phone)

    def _end_cidcw(self, phone):
        self._do(A.RestoreLine(phone.line))
        phone.cidcw = CallerIdOnWaiting.NONE

    def leaks(self):
        """Return one line per phone whose feature state outlived every leg it was about."""
        out = []
        for channel, phone in self.phones.items():
            legs = [leg for leg in (phone.extension, phone.party, phone.consult, phone.waiting, phone.waiting_party)
                    if leg is not None]
            if phone.mode is not Mode.IDLE and not any(self._active(leg) for leg in legs):
                out.append(f"station features of channel {channel} are still in mode {phone.mode.value}")
        return out  # pending transfers and recalls hold legs, which the engine reports
