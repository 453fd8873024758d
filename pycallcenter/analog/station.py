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
mode (durations in ``analog/timers.py``, ``StationTimers``). It decides; the engine's adapter
(``engine/station.py``) is its port and does the work on legs, media and lines. Parties are the engine's
legs, which the machine only passes back to the port, compares, and asks whether they are still ``active``.
"""
import enum

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
        self.cut_links = set()  # the conversation's links, cut while the phone gets caller ID on call waiting


# what times out in each mode: the StationTimers field counted from Phone.since
TIMER_OF_MODE = {Mode.DIALING: "digit", Mode.CONSULT: "consult", Mode.FLASHED: "flash_digit",
                 Mode.CW_WAIT: "call_waiting", Mode.RECALL: "recall"}


class Stations:
    """The station features of a set of phones (see the module docstring); `port` does the work."""

    def __init__(self, port, timers=StationTimers(), call_waiting=True, flash_default="return", cidcw=False):
        if flash_default not in ("return", "conference"):
            raise ValueError(f"flash_default must be 'return' or 'conference', got {flash_default!r}")
        self.port = port
        self.timers = timers
        self.call_waiting = call_waiting  # True, False, or a set of channels that have it
        self.flash_default = flash_default  # what FLASH with no digit does during an answered consultation
        self.cidcw = cidcw  # caller ID on call waiting (alert tones, the phone ACKs with DTMF D or A, then FSK)
        self._samples = {name: samples(getattr(timers, name)) for name in
                         ("call_waiting", "digit", "flash_digit", "consult", "recall", "cidcw_ack")}
        self.phones = {}  # channel -> Phone
        self.blind = []  # (held party, consulted party, started, channel): ringback until it answers
        self.callbacks = []  # (held party, extension leg, started): a failed blind transfer rings the phone back
        self.notices = 0  # inputs with no transition in the mode they arrived in

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

    def _notice(self, phone, what):
        self.notices += 1
        return False

    # --- helpers -------------------------------------------------------------------------------------------
    def _adopt(self, leg):
        """Take over the script bridge holding leg (and both its legs); return its partner or None."""
        other = self.port.adopt(leg)
        self.port.keep(leg, other)
        return other

    def _ring_back(self, phone, extension, party, now):
        """Ring the phone for a held call (reminder ring)."""
        port = self.port
        port.isolate_line(phone.line)
        port.stop_line_tone(phone.line)
        phone.reset()
        phone.mode, phone.extension, phone.party, phone.since = Mode.RECALL, extension, party, now
        port.make_current(phone.line, extension)
        port.recall(phone.line, now)
        port.log("reminder_ring", leg=extension.id, held=party.id if party is not None else "-")

    def _back_to_party(self, phone):
        if phone.consult is not None and phone.consult.active:
            self.port.hang_up(phone.consult)
        phone.consult, phone.on_consult, phone.consult_connected = None, False, False
        self.port.connect(phone.extension, phone.party)
        phone.mode = Mode.TALK
        self.port.log("consult_return", leg=phone.extension.id, party=phone.party.id)

    # --- the phone's line (called by the FXS adapter) -------------------------------------------------------
    def accepts_waiting(self, channel, connected, current):
        """Return True when a new call may wait on this busy phone (connected: its line is in a call;
        current: the leg on its line)."""
        phone = self.phones.get(channel)
        enabled = self.call_waiting is True or (self.call_waiting and channel in self.call_waiting)
        if not enabled or phone is None or not connected or phone.mode not in (Mode.IDLE, Mode.TALK):
            return False
        return self.port.partner(current) is not None or phone.mode is Mode.TALK

    def offer_waiting(self, channel, current, leg, now):
        """A call (leg) waits on the busy phone whose current leg is `current`."""
        phone = self.phones[channel]
        if phone.mode is Mode.IDLE:
            phone.extension, phone.party = current, None
        phone.mode, phone.waiting, phone.since = Mode.CW_WAIT, leg, now
        self.port.mark_alerting(leg)
        if self.cidcw and self.port.has_callerid(leg):
            self._start_cidcw(phone, now)
        else:
            self.port.start_line_tone(phone.line, "call_waiting")
        self.port.alerting(leg)
        self.port.log("call_waiting", leg=leg.id, busy=current.id)

    def on_hangup(self, channel, current, leg, cause, now):
        """The engine clears leg on the phone whose current leg is `current`: clear it without touching the
        current call; return True if handled here."""
        phone = self.phones.get(channel)
        if phone is None:
            return False
        port = self.port
        if leg is current and phone.mode is Mode.CW_WAIT:
            # the first call ended while another waits: the waiting call keeps beeping; FLASH takes it
            port.end_leg(leg, cause)
            phone.extension = phone.party = None
            port.make_current(phone.line, phone.waiting)
            port.start_line_tone(phone.line, "call_waiting")
            return True
        if leg is current:
            if phone.mode is not Mode.CW:
                return False
            port.end_leg(leg, cause)
            self._settle_cw(phone, now)
            return True
        if phone.waiting is leg and phone.mode is Mode.CW_WAIT:
            port.stop_line_tone(phone.line)
            phone.mode = Mode.TALK if phone.party is not None else Mode.IDLE
            phone.waiting = None
        port.end_leg(leg, cause)
        return True

    def on_hook(self, channel, current, now):
        """The phone hung up in a call (current: its line's leg): transfer, or ring back for a held call;
        return True if fully handled (the line is not to end its call as usual)."""
        phone = self.phones.get(channel)
        if phone is None or phone.mode is Mode.IDLE:
            return False
        self.port.stop_line_tone(phone.line)
        return self.ON_HOOK.get(phone.mode, Stations._hook_other)(self, phone, current, now)

    def _hook_talk(self, phone, current, now):
        party = phone.party
        phone.reset()
        if party is not None and party.active:
            self.port.hang_up(party)
        return False

    def _hook_consulting(self, phone, current, now):
        port, party, consult = self.port, phone.party, phone.consult
        if consult is not None and consult.active and party is not None and party.active:
            phone.reset()
            port.silence(party)
            if port.answered(consult):
                port.log("transfer", how="attended", a=party.id, b=consult.id)
                port.hand_off(party, consult)
            else:
                port.ringback(party)
                self.blind.append((party, consult, now, phone.channel))
                port.log("transfer", how="blind", a=party.id, b=consult.id)
            return False
        return self._hook_held(phone, current, now)

    def _hook_held(self, phone, current, now):
        party, consult = phone.party, phone.consult
        if phone.mode in (Mode.DIALING, Mode.CONSULT, Mode.FLASHED, Mode.HELD) and party is not None and party.active:
            if consult is not None and consult.active:
                self.port.hang_up(consult)
            self._ring_back(phone, phone.extension, party, now)
            return True
        return self._hook_other(phone, current, now)

    def _hook_cw_wait(self, phone, current, now):
        port, party, waiting = self.port, phone.party, phone.waiting
        phone.reset()
        port.stop_line_tone(phone.line)
        if current is not waiting:
            port.release(phone.line, now)
        if party is not None and party.active:
            port.hang_up(party)
        if waiting.active:  # the waiting call now rings the idle phone
            self._ring_back(phone, waiting, None, now)
        return True

    def _hook_cw(self, phone, current, now):
        port = self.port
        first = current is phone.extension
        other = phone.waiting if first else phone.extension
        other_party = phone.waiting_party if first else phone.party
        current_party = phone.party if first else phone.waiting_party
        port.release(phone.line, now)
        if current_party is not None and current_party.active:
            port.hang_up(current_party)  # its script bridge may have been taken over: clear it here
        if other.active and other_party is not None and other_party.active:
            self._ring_back(phone, other, other_party, now)
        else:
            phone.reset()
            if other.active:
                port.end_leg(other, Cause.NORMAL_CALL_CLEARING)
        return True

    def _hook_other(self, phone, current, now):
        consult = phone.consult
        phone.reset()
        if consult is not None and consult.active:
            self.port.hang_up(consult)  # the held party left during a consultation: nobody to transfer to
        return False

    ON_HOOK = {Mode.TALK: _hook_talk, Mode.CONSULT: _hook_consulting, Mode.FLASHED: _hook_consulting,
               Mode.CONFERENCE: _hook_consulting, Mode.DIALING: _hook_held, Mode.HELD: _hook_held,
               Mode.CW_WAIT: _hook_cw_wait, Mode.CW: _hook_cw}

    def _settle_cw(self, phone, now):
        """After a party of a call-waiting pair left: end its side, keep the other (talking or held)."""
        port = self.port
        current = port.current(phone.line)
        sides = [(phone.extension, phone.party), (phone.waiting, phone.waiting_party)]
        for extension, party in sides:
            if extension is not None and extension.active and party is not None and not party.active:
                port.end_leg(extension, Cause.NORMAL_CALL_CLEARING)
        alive = [(x, p) for x, p in sides if x is not None and x.active]
        if len(alive) == 2:
            return
        phone.reset()
        if not alive:
            port.clear(phone.line, now)
            return
        (extension, party), = alive
        phone.extension, phone.party = extension, party
        if extension is current:
            phone.mode = Mode.TALK
        else:  # the current party left with a call on hold: stay off hook, FLASH takes it back
            phone.mode = Mode.HELD
            port.make_current(phone.line, extension)
        port.log("call_waiting_settled", leg=extension.id, mode=phone.mode.value)

    # --- leg events (flash, answer) -------------------------------------------------------------------------
    def flash(self, channel, leg, now):
        """The phone's user pressed flash (leg: the line's current leg)."""
        phone = self.phones[channel]
        self.port.log("station_flash", leg=leg.id, mode=phone.mode.value)
        handler = self.FLASH.get(phone.mode)
        if handler is None:
            return self._notice(phone, "flash")
        handler(self, phone, leg, now)

    def answered(self, channel, leg, now):
        """The phone answered (leg: its line's current leg): a reminder ring is taken."""
        phone = self.phones[channel]
        if phone.mode is not Mode.RECALL:
            return
        if phone.party is None:  # a waiting call that rang the phone: its own script bridges it
            phone.reset()
            return
        self.port.connect(leg, phone.party)
        phone.mode, phone.extension = Mode.TALK, leg
        self.port.log("recall_answered", leg=leg.id, held=phone.party.id)

    def _flash_talking(self, phone, leg, now):
        party = phone.party if phone.mode is Mode.TALK and phone.party is not None else self._adopt(leg)
        if party is None or not party.active:
            return
        phone.mode, phone.extension, phone.party, phone.since, phone.consult = Mode.DIALING, leg, party, now, None
        self.port.hold(party)
        self.port.dial_tone(leg)
        self.port.take_digits(leg)
        phone.digits = ""

    def _flash_back(self, phone, leg, now):
        if phone.mode in (Mode.DIALING, Mode.HELD):
            self.port.stop_tone(leg)
        self._back_to_party(phone)

    def _flash_consulting(self, phone, leg, now):
        if phone.consult is None or not self.port.answered(phone.consult):
            self._back_to_party(phone)  # failed, busy or still ringing: FLASH cancels it and returns
            return
        phone.mode, phone.since = Mode.FLASHED, now
        self.port.take_digits(leg)
        self.port.isolate(leg)
        self.port.stop_tone(leg)

    def _flash_cw_wait(self, phone, leg, now):
        port = self.port
        port.stop_tone(leg)
        waiting = phone.waiting
        if phone.extension is None:  # the first call is gone: just answer the waiting one
            phone.reset()
            phone.mode, phone.extension = Mode.TALK, waiting
            port.answer(waiting)
            port.log("call_waiting_answered", leg=waiting.id, held="-")
            return
        party = self._adopt(leg)
        phone.extension, phone.party = leg, party
        port.hold(party)
        port.isolate(leg)
        port.make_current(phone.line, waiting)
        phone.mode = Mode.CW
        port.answer(waiting)  # the caller's dial completes and its script bridges to the phone
        port.log("call_waiting_answered", leg=waiting.id, held=party.id if party else "-")

    def _flash_cw(self, phone, leg, now):
        port = self.port
        if port.current(phone.line) is phone.waiting:
            if phone.waiting_party is None:
                phone.waiting_party = self._adopt(phone.waiting)
            port.hold(phone.waiting_party)
            port.make_current(phone.line, phone.extension)
            port.connect(phone.extension, phone.party)
        else:
            port.hold(phone.party)
            port.make_current(phone.line, phone.waiting)
            port.connect(phone.waiting, phone.waiting_party)
        port.log("call_waiting_swap", talking=port.current(phone.line).id)

    FLASH = {Mode.IDLE: _flash_talking, Mode.TALK: _flash_talking, Mode.DIALING: _flash_back, Mode.HELD: _flash_back,
             Mode.CONSULT: _flash_consulting, Mode.CONFERENCE: _flash_back, Mode.CW_WAIT: _flash_cw_wait,
             Mode.CW: _flash_cw}

    # --- per tick ------------------------------------------------------------------------------------------
    def tick(self, now):
        """Digit collection, consult progress, flash digits, timers and the transferred pairs."""
        for phone in self.phones.values():
            if phone.mode is not Mode.IDLE:
                handler = self.TICK.get(phone.mode)
                if handler is None:
                    self._notice(phone, "tick")
                else:
                    handler(self, phone, now)
        self._tick_transfers(now)

    def _tick_transfers(self, now):
        port = self.port
        for item in list(self.blind):
            party, consult, started, channel = item
            if consult.active and port.answered(consult):
                self.blind.remove(item)
                port.hand_off(party, consult)
            elif not party.active:
                self.blind.remove(item)
                port.hang_up(consult)
            elif not consult.active or now - started >= self._samples["consult"]:
                self.blind.remove(item)
                if consult.active:
                    port.hang_up(consult, Cause.NO_ANSWER_FROM_USER)
                self._recall_after_blind(party, channel, now)
        for item in list(self.callbacks):
            party, extension, started = item
            if party.active and extension.active and port.answered(extension):
                self.callbacks.remove(item)
                port.hand_off(party, extension)
            elif not party.active or not extension.active or now - started >= self._samples["recall"]:
                self.callbacks.remove(item)
                for leg in (extension, party):
                    if leg.active:
                        port.hang_up(leg, Cause.NO_ANSWER_FROM_USER if leg is extension else
                                     Cause.NORMAL_CALL_CLEARING)

    def _recall_after_blind(self, party, channel, now):
        """The consulted party of a blind transfer failed: ring the phone that transferred the held party
        (which keeps hearing ringback)."""
        extension = self.port.ring_extension(channel, party)
        if extension is None:
            self.port.hang_up(party)
            return
        self.port.keep(extension)
        self.callbacks.append((party, extension, now))
        self.port.log("transfer_recall", a=party.id, leg=extension.id)

    def _tick_talk(self, phone, now):
        extension, party = phone.extension, phone.party
        if party is not None and not party.active and extension.active:
            phone.reset()
            self.port.hang_up(extension)
        elif not extension.active:
            phone.reset()

    def _tick_dialing(self, phone, now):
        port, extension = self.port, phone.extension
        digits = port.take_digits(extension)
        if digits:
            phone.digits += digits
            phone.since = now
            port.stop_tone(extension)
        if phone.digits.endswith("#") or (phone.digits and self._expired(phone, now)):
            number = phone.digits.rstrip("#")
            target = port.dialplan(number)
            phone.mode, phone.since = Mode.CONSULT, now
            phone.consult = port.place_consult(extension, phone.party, target) if target else None
            port.keep(phone.consult)
            port.log("consult", leg=extension.id, digits=number, target=target or "-",
                     b=phone.consult.id if phone.consult else "-")
            if phone.consult is None:
                port.start_tone(extension, "congestion")

    def _tick_consult(self, phone, now):
        port, extension, consult = self.port, phone.extension, phone.consult
        if consult is None:
            return
        if consult.active and port.answered(consult) and not phone.consult_connected:
            phone.on_consult = phone.consult_connected = True
            port.connect(extension, consult)
        elif (consult.active and port.rings_silently(consult) and not phone.consult_connected
              and not port.has_tone(extension)):  # an extension rings silently: we give the ringback
            port.start_tone(extension, "ringback")
        elif not consult.active and phone.consult_connected and not phone.on_consult:
            # the held consulted party left: stay with the first party
            phone.mode, phone.consult, phone.consult_connected = Mode.TALK, None, False
        elif not consult.active and phone.on_consult is not None:
            phone.on_consult = None  # the consulted party is gone: busy or reorder until FLASH returns
            port.isolate(extension)
            port.start_tone(extension, "busy" if port.busy(consult) else "congestion")
        elif consult.active and not port.answered(consult) and self._expired(phone, now):
            port.hang_up(consult, Cause.NO_ANSWER_FROM_USER)

    def _tick_flashed(self, phone, now):
        port, extension, party, consult = self.port, phone.extension, phone.party, phone.consult
        digit = port.take_digits(extension)[:1]
        if not digit and self._expired(phone, now) and self.flash_default == "conference":
            digit = "3"
        talking = consult is not None and consult.active and port.answered(consult)
        if digit == "3" and talking:
            port.silence(party)
            port.conference([extension, party, consult])
            phone.mode = Mode.CONFERENCE
        elif digit == "2" and talking:
            if phone.on_consult:
                port.hold(consult)
                port.connect(extension, party)
            else:
                port.hold(party)
                port.connect(extension, consult)
            phone.on_consult = not phone.on_consult
            phone.mode = Mode.CONSULT
            port.log("consult_swap", leg=extension.id, talking=(consult if phone.on_consult else party).id)
        elif digit or self._expired(phone, now):
            self._back_to_party(phone)

    def _tick_conference(self, phone, now):
        if not phone.party.active and not phone.consult.active:
            extension = phone.extension
            phone.reset()
            self.port.hang_up(extension)

    def _tick_cw(self, phone, now):
        parties_gone = any(p is not None and not p.active for p in (phone.party, phone.waiting_party))
        if parties_gone or not (phone.extension.active and phone.waiting.active):
            self._settle_cw(phone, now)

    def _tick_cw_wait(self, phone, now):
        if phone.cidcw is not CallerIdOnWaiting.NONE:
            self._tick_cidcw(phone, now)
        if self._expired(phone, now) and phone.waiting is not None and phone.waiting.active:
            self.port.hang_up(phone.waiting, Cause.NO_ANSWER_FROM_USER)

    def _tick_recall(self, phone, now):
        extension, party = phone.extension, phone.party
        if party is not None and not party.active:
            phone.reset()
            self.port.hang_up(extension)
        elif self._expired(phone, now):
            phone.reset()
            if party is not None:
                self.port.hang_up(party)
            self.port.hang_up(extension, Cause.NO_ANSWER_FROM_USER)

    TICK = {Mode.TALK: _tick_talk, Mode.HELD: _tick_talk, Mode.DIALING: _tick_dialing, Mode.CONSULT: _tick_consult,
            Mode.FLASHED: _tick_flashed, Mode.CONFERENCE: _tick_conference, Mode.CW: _tick_cw,
            Mode.CW_WAIT: _tick_cw_wait, Mode.RECALL: _tick_recall}

    # --- caller ID on call waiting (off-hook, "type II") -----------------------------------------------------
    def _start_cidcw(self, phone, now):
        """Cut the conversation, send the subscriber alerting tone then the CPE alerting signal (CAS)."""
        port = self.port
        phone.cut_links = port.cut_line(phone.line)
        phone.cidcw, phone.cidcw_at = CallerIdOnWaiting.ACK, now + port.alert_for_callerid(phone.line)
        port.take_digits(port.current(phone.line))
        port.log("cidcw_alert", leg=phone.waiting.id)

    def _tick_cidcw(self, phone, now):
        port = self.port
        if phone.cidcw is CallerIdOnWaiting.ACK and now >= phone.cidcw_at:
            ack = [d for d in port.take_digits(port.current(phone.line)) if d in "AD"]
            if ack:
                port.send_callerid_on_waiting(phone.line, phone.waiting)
                phone.cidcw = CallerIdOnWaiting.FSK
                port.log("cidcw_sent", leg=phone.waiting.id, ack=ack[0])
            elif now - phone.cidcw_at >= self._samples["cidcw_ack"]:
                self._end_cidcw(phone)  # no ACK: the phone cannot show it; the beep was enough
        elif phone.cidcw is CallerIdOnWaiting.FSK and not port.playing(phone.line):
            self._end_cidcw(phone)

    def _end_cidcw(self, phone):
        self.port.restore_links(phone.cut_links)
        phone.cidcw, phone.cut_links = CallerIdOnWaiting.NONE, set()

    def leaks(self):
        """Return one line per phone whose feature state outlived every leg it was about."""
        out = []
        for channel, phone in self.phones.items():
            legs = [leg for leg in (phone.extension, phone.party, phone.consult, phone.waiting, phone.waiting_party)
                    if leg is not None]
            if phone.mode is not Mode.IDLE and not any(leg.active for leg in legs):
                out.append(f"station features of channel {channel} are still in mode {phone.mode.value}")
        return out  # pending transfers and recalls hold legs, which the engine reports

