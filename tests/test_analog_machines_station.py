"""The station features machine (pycallcenter/analog/station.py) against a simulated switch, back to back and
without an engine: the switch keeps the parties, feeds the machine its inputs (leg states, bridge partners,
digits) and records the actions the machine returned. Hook flash, consultation, attended and blind transfer,
swap, conference, call waiting, caller ID on call waiting, and every feature timer. (tests/test_station.py
runs the same features end to end on the emulated board through the engine.)"""
import pytest

from pycallcenter.analog.station import CURRENT_LEG, CallerIdOnWaiting, LineNow, Mode, Stations
from pycallcenter.analog import station_actions as A
from pycallcenter.analog.station_actions import arguments
from pycallcenter.analog.timers import StationTimers
from pycallcenter.causes import Cause

S = 8000  # samples per second
NORMAL, NO_ANSWER, BUSY = Cause.NORMAL_CALL_CLEARING, Cause.NO_ANSWER_FROM_USER, Cause.USER_BUSY


class Party:
    """A leg as the machine sees it: an id, whether it is still up, and what the port reads."""

    def __init__(self, name, state="answered", tech="pri"):
        self.id, self.state, self.tech = name, state, tech
        self.cause, self.digits, self.caller, self.caller_name = None, "", "", ""

    @property
    def active(self):
        return self.state != "ended"

    def end(self, cause=NORMAL):
        self.state, self.cause = "ended", cause


class Line:
    def __init__(self, leg):
        self.leg = leg


class Switch:
    """The machine's port: parties, script bridges, and a record of what was done (by party id)."""

    def __init__(self, dialplan=None):
        self.did = []
        self.logs = []
        self.bridges = {}  # leg -> the other leg of a script bridge holding it
        self.placed = []
        self.dialplan_of = dialplan or {"555": "pstn/555", "2": "channel/2"}
        self.tones = set()
        self.alert_samples = 3200
        self.sending = False  # caller ID on call waiting is being played to the phone

    def _do(self, *what):
        self.did.append(tuple(getattr(w, "id", w) for w in what))

    def log_fields(self, kind, fields):
        self.logs.append((kind, fields))

    def adopt(self, leg):
        self.bridges.pop(leg, None)
        self._do("adopt", leg)

    def partner(self, leg):
        return self.bridges.get(leg)

    def keep(self, legs):
        self._do("keep", *[leg for leg in legs if leg is not None])

    def hold(self, leg):
        if leg is not None and leg.active:
            self._do("hold", leg)

    def connect(self, extension, party):
        self._do("connect", extension, party)

    def conference(self, legs):
        self._do("conference", *legs)

    def hand_off(self, a, b):
        self._do("hand_off", a, b)

    def make_current(self, line, leg):
        line.leg = leg

    def recall(self, line, now):
        self._do("ring_phone")

    def clear(self, line, now):
        line.leg = None
        self._do("clear_phone")

    def release(self, line, now):
        line.leg.end()
        self._do("release", line.leg)
        line.leg = None

    def hang_up(self, leg, cause=NORMAL):
        leg.end(cause)
        self._do("hang_up", leg, int(cause))

    def end_leg(self, leg, cause):
        leg.end(cause)
        self._do("end", leg)

    def answer(self, leg):
        leg.state = "answered"
        self._do("answer", leg)

    def mark_alerting(self, leg):
        leg.state = "alerting"

    def alerting(self, leg):
        self._do("alerting", leg)

    def has_callerid(self, leg):
        return bool(leg.caller or leg.caller_name)

    def take_digits(self, leg):
        digits, leg.digits = leg.digits, ""
        return digits

    def drop_digits(self, leg):
        leg.digits = ""

    def dial_tone(self, leg):
        self._do("tone", leg, "dial")

    def ringback(self, leg):
        self._do("tone", leg, "ringback")

    def silence(self, leg):
        self._do("silence", leg)

    def isolate(self, leg):
        self._do("isolate", leg)

    def start_tone(self, leg, name, unless_tone=False):
        if not (unless_tone and leg in self.tones):
            self.tones.add(leg)
            self._do("tone", leg, name)

    def stop_tone(self, leg):
        self.tones.discard(leg)

    def isolate_line(self, line):
        pass

    def start_line_tone(self, line, name):
        self._do("line_tone", name)

    def stop_line_tone(self, line):
        pass

    def playing(self, line):
        return self.sending

    def place_consult(self, channel, extension, party, number, now):
        target, leg = self.dialplan_of.get(number), None
        if target:
            leg = Party(f"B{len(self.placed) + 1}", "alerting", tech="fxs" if target.startswith("channel") else "pri")
            self.placed.append((target, leg))
        self.driver.tell(leg)
        self.run(self.driver.machine.consult_placed(channel, number, target, leg, now))

    def ring_extension(self, channel, party, now):
        leg = Party(f"X{channel}", "alerting", tech="fxs")
        self.placed.append((f"channel/{channel}", leg))
        self.driver.tell(leg)
        self.run(self.driver.machine.recall_placed(party, leg, now))

    def cut_line(self, line):
        self._do("cut_line")
        self.cut = {(1, 2), (2, 1)}

    def restore_line(self, line):
        self._do("restore_links", len(self.cut))

    def alert_for_callerid(self, line):
        self._do("alert_for_callerid")

    def send_callerid_on_waiting(self, line, leg):
        self.sending = True
        self._do("send_cidcw", leg)

    def kinds(self):
        return [kind for kind, _ in self.logs]

    def run(self, actions):
        """Carry out the machine's actions in order, then tell it how the parties stand (the engine's events)."""
        for action in actions:
            getattr(self, action.port)(*arguments(action))
        self.driver.sync()


class Driver:
    """Feeds the machine as the engine's port does: the parties' states before each input, the bridge partner
    of a flashed leg, each line's digits per tick; the switch carries out what comes back."""

    def __init__(self, machine, switch):
        self.machine, self.switch, self.seen = machine, switch, {}
        switch.driver = self

    def __getattr__(self, name):  # phones, blind, notices, next_deadline, leaks...
        return getattr(self.machine, name)

    def tell(self, *legs):
        for leg in legs:
            if leg is not None:
                self.seen[leg.id] = leg
                self.machine.leg_state(leg, leg.state, leg.cause, leg.tech)

    def sync(self):
        self.tell(*[self.seen[i] for i in list(self.machine.legs)])

    def flash(self, channel, leg, now):
        partner = self.switch.partner(leg)
        self.sync()
        self.tell(leg, partner)
        self.switch.run(self.machine.flash(channel, leg, partner, now))

    def answered(self, channel, leg, now):
        self.sync()
        self.tell(leg)
        self.switch.run(self.machine.answered(channel, leg, now))

    def accepts_waiting(self, channel, connected, current):
        return self.machine.accepts_waiting(channel, connected, current, self.switch.partner(current))

    def offer_waiting(self, channel, current, leg, now):
        self.sync()
        self.tell(current, leg)
        self.switch.run(self.machine.offer_waiting(channel, current, leg, self.switch.has_callerid(leg), now))

    def on_hook(self, channel, current, now):
        self.sync()
        self.tell(current)
        handled, actions = self.machine.on_hook(channel, current, now)
        self.switch.run(actions)
        return handled

    def on_hangup(self, channel, current, leg, cause, now):
        self.sync()
        self.tell(current, leg)
        handled, actions = self.machine.on_hangup(channel, current, leg, cause, now)
        self.switch.run(actions)
        return handled

    def leaks(self):
        self.sync()
        return self.machine.leaks()

    def tick(self, now):
        self.sync()
        lines = {}
        for channel, phone in self.machine.phones.items():
            leg = self.machine.digit_leg(channel, now)
            leg = phone.line.leg if leg is CURRENT_LEG else leg
            lines[channel] = LineNow(phone.line.leg, self.switch.take_digits(leg) if leg is not None else "",
                                     self.switch.sending)
        for actions in self.machine.tick(now, lines):
            self.switch.run(actions)


def station(**kw):
    """Return (machine, switch, phone line) with phone 2 talking to A through a script bridge."""
    switch = Switch()
    machine = Driver(Stations(kw.pop("timers", StationTimers()), cidcw_alert_samples=switch.alert_samples, **kw),
                     switch)
    ext, a = Party("E"), Party("A")
    line = Line(ext)
    machine.add_phone(2, line)
    switch.bridges = {ext: a, a: ext}
    return machine, switch, line


def tick(machine, t0, seconds, step=0.02):
    """Run the machine's per-tick work from t0 for seconds; return the time reached."""
    t = t0
    for _ in range(int(round(seconds / step))):
        t += int(step * S)
        machine.tick(t)
    return t


def flash_and_dial(machine, switch, line, digits, t=0):
    """The phone flashes and dials digits; return (time, consult leg or None)."""
    machine.flash(2, line.leg, t)
    line.leg.digits = digits
    t = tick(machine, t, 0.1 if digits.endswith("#") else 3.2)
    return t, machine.phones[2].consult


def test_flash_holds_the_party_gives_dial_tone_and_the_consult_is_placed_on_hash():
    machine, switch, line = station()
    machine.flash(2, line.leg, 0)
    phone = machine.phones[2]
    assert phone.mode is Mode.DIALING and phone.party.id == "A"
    assert ("hold", "A") in switch.did and ("tone", "E", "dial") in switch.did and ("keep", "E", "A") in switch.did
    line.leg.digits = "555#"
    tick(machine, 0, 0.04)
    assert phone.mode is Mode.CONSULT and switch.placed[0][0] == "pstn/555"
    assert ("consult", {"leg": "E", "digits": "555", "target": "pstn/555", "b": "B1"}) in switch.logs


def test_the_digit_timer_completes_the_number_only_after_3_seconds_without_a_digit():
    machine, switch, line = station()
    machine.flash(2, line.leg, 0)
    line.leg.digits = "55"
    t = tick(machine, 0, 2.0)
    line.leg.digits = "5"  # another digit restarts the timer
    t = tick(machine, t, 2.9)
    assert machine.phones[2].mode is Mode.DIALING and machine.next_deadline() == 2 * S + 160 + 3 * S
    tick(machine, t, 0.2)
    assert machine.phones[2].mode is Mode.CONSULT and switch.placed[0][0] == "pstn/555"


def test_an_unknown_number_gets_congestion_and_flash_returns_to_the_held_party():
    machine, switch, line = station()
    t, consult = flash_and_dial(machine, switch, line, "7#")
    assert consult is None and ("tone", "E", "congestion") in switch.did
    machine.flash(2, line.leg, t)
    assert machine.phones[2].mode is Mode.TALK and switch.did[-1] == ("connect", "E", "A")


def test_attended_transfer_on_hook_after_the_consulted_party_answered():
    machine, switch, line = station()
    t, consult = flash_and_dial(machine, switch, line, "555#")
    consult.state = "answered"
    t = tick(machine, t, 0.04)
    assert ("connect", "E", "B1") in switch.did and machine.phones[2].on_consult is True
    assert machine.on_hook(2, line.leg, t) is False  # the line ends its own call as usual
    assert switch.did[-1] == ("hand_off", "A", "B1") and machine.phones[2].mode is Mode.IDLE
    assert ("transfer", {"how": "attended", "a": "A", "b": "B1"}) in switch.logs


def test_blind_transfer_times_out_rings_the_phone_back_and_the_recall_times_out():
    machine, switch, line = station(timers=StationTimers(consult=10.0, recall=5.0))
    t, consult = flash_and_dial(machine, switch, line, "555#")
    assert machine.on_hook(2, line.leg, t) is False
    assert ("tone", "A", "ringback") in switch.did and machine.blind
    assert machine.next_deadline() == t + 10 * S
    t = tick(machine, t, 9.9)
    assert consult.active
    t = tick(machine, t, 0.2)
    assert not consult.active and consult.cause == NO_ANSWER
    assert switch.placed[-1][0] == "channel/2" and ("transfer_recall", {"a": "A", "leg": "X2"}) in switch.logs
    recall = switch.placed[-1][1]
    t = tick(machine, t, 5.1)
    assert not recall.active and recall.cause == NO_ANSWER
    assert ("hang_up", "A", NORMAL) in switch.did  # the held party is cleared with the recall


def test_blind_transfer_completes_when_the_consulted_party_answers():
    machine, switch, line = station()
    t, consult = flash_and_dial(machine, switch, line, "555#")
    machine.on_hook(2, line.leg, t)
    consult.state = "answered"
    tick(machine, t, 0.04)
    assert switch.did[-1] == ("hand_off", "A", "B1") and not machine.blind


def test_consult_timer_clears_an_unanswered_consultation():
    machine, switch, line = station(timers=StationTimers(consult=4.0))
    t, consult = flash_and_dial(machine, switch, line, "2#")
    assert consult.tech == "fxs" and ("tone", "E", "ringback") in switch.did  # an extension rings silently
    t = tick(machine, t, 4.0)
    assert not consult.active and consult.cause == NO_ANSWER
    tick(machine, t, 0.04)
    assert ("tone", "E", "congestion") in switch.did  # then reorder until FLASH returns


def test_consulted_party_busy_gives_busy_tone():
    machine, switch, line = station()
    t, consult = flash_and_dial(machine, switch, line, "555#")
    consult.end(BUSY)
    tick(machine, t, 0.04)
    assert ("tone", "E", "busy") in switch.did and machine.phones[2].on_consult is None


@pytest.mark.parametrize("digit, then", [("2", Mode.CONSULT), ("3", Mode.CONFERENCE), ("1", Mode.TALK)])
def test_flash_during_an_answered_consultation_awaits_a_digit(digit, then):
    machine, switch, line = station()
    t, consult = flash_and_dial(machine, switch, line, "555#")
    consult.state = "answered"
    t = tick(machine, t, 0.04)
    machine.flash(2, line.leg, t)
    assert machine.phones[2].mode is Mode.FLASHED
    line.leg.digits = digit
    tick(machine, t, 0.04)
    assert machine.phones[2].mode is then
    last = switch.did[-1]
    if digit == "2":
        assert last == ("connect", "E", "A") and ("hold", "B1") in switch.did
    elif digit == "3":
        assert last == ("conference", "E", "A", "B1")
    else:
        assert last == ("connect", "E", "A") and not consult.active


@pytest.mark.parametrize("default, then", [("return", Mode.TALK), ("conference", Mode.CONFERENCE)])
def test_the_flash_digit_timer_returns_or_joins_by_the_flash_default(default, then):
    machine, switch, line = station(flash_default=default)
    t, consult = flash_and_dial(machine, switch, line, "555#")
    consult.state = "answered"
    t = tick(machine, t, 0.04)
    machine.flash(2, line.leg, t)
    t = tick(machine, t, 1.9)
    assert machine.phones[2].mode is Mode.FLASHED
    tick(machine, t, 0.2)
    assert machine.phones[2].mode is then


def test_a_conference_ends_when_both_other_parties_left():
    machine, switch, line = station(flash_default="conference")
    t, consult = flash_and_dial(machine, switch, line, "555#")
    consult.state = "answered"
    t = tick(machine, t, 0.04)
    machine.flash(2, line.leg, t)
    t = tick(machine, t, 2.1)
    consult.end()
    switch.hang_up(machine.phones[2].party)
    tick(machine, t, 0.04)
    assert machine.phones[2].mode is Mode.IDLE and not line.leg.active


def test_hanging_up_after_a_flash_rings_the_phone_back_and_answering_reconnects():
    machine, switch, line = station(timers=StationTimers(recall=6.0))
    machine.flash(2, line.leg, 0)
    assert machine.on_hook(2, line.leg, 100) is True  # handled: the line rings instead of ending
    assert machine.phones[2].mode is Mode.RECALL and ("ring_phone",) in switch.did
    machine.answered(2, line.leg, 200)
    assert machine.phones[2].mode is Mode.TALK and switch.did[-1] == ("connect", "E", "A")


def test_the_recall_timer_gives_up_the_reminder_ring():
    machine, switch, line = station(timers=StationTimers(recall=6.0))
    machine.flash(2, line.leg, 0)
    machine.on_hook(2, line.leg, 0)
    t = tick(machine, 0, 5.9)
    assert line.leg.active
    tick(machine, t, 0.2)
    assert not line.leg.active and line.leg.cause == NO_ANSWER and ("hang_up", "A", NORMAL) in switch.did


def waiting_call(machine, switch, line, t=0, caller=""):
    w = Party("W", "offered")
    w.caller = caller
    assert machine.accepts_waiting(2, True, line.leg)
    machine.offer_waiting(2, line.leg, w, t)
    return w


def test_call_waiting_tone_flash_answers_and_holds_then_flash_swaps():
    machine, switch, line = station()
    w = waiting_call(machine, switch, line)
    assert ("line_tone", "call_waiting") in switch.did and w.state == "alerting"
    assert ("call_waiting", {"leg": "W", "busy": "E"}) in switch.logs
    machine.flash(2, line.leg, 100)
    phone = machine.phones[2]
    assert phone.mode is Mode.CW and line.leg is w and w.state == "answered" and ("hold", "A") in switch.did
    c = Party("C")
    switch.bridges = {w: c, c: w}
    machine.flash(2, line.leg, 200)
    assert line.leg.id == "E" and switch.did[-1] == ("connect", "E", "A") and ("hold", "C") in switch.did
    machine.flash(2, line.leg, 300)
    assert line.leg is w and switch.did[-1] == ("connect", "W", "C")
    # hanging up on the waiting call rings the phone back for the held first call
    assert machine.on_hook(2, line.leg, 400) is True
    assert phone.mode is Mode.RECALL and phone.extension.id == "E" and ("hang_up", "C", NORMAL) in switch.did


def test_the_call_waiting_timer_clears_an_unanswered_waiting_call():
    machine, switch, line = station(timers=StationTimers(call_waiting=5.0))
    w = waiting_call(machine, switch, line)
    t = tick(machine, 0, 4.9)
    assert w.active
    tick(machine, t, 0.2)
    assert not w.active and w.cause == NO_ANSWER
    assert machine.on_hangup(2, line.leg, w, NO_ANSWER, t) is True  # the engine clears it through the phone
    assert machine.phones[2].mode is Mode.IDLE  # no party adopted yet: back to a plain call


def test_without_call_waiting_or_for_a_channel_without_it_nothing_may_wait():
    machine, switch, line = station(call_waiting=False)
    assert not machine.accepts_waiting(2, True, line.leg)
    machine, switch, line = station(call_waiting={3})
    assert not machine.accepts_waiting(2, True, line.leg)
    machine, switch, line = station(call_waiting={2})
    assert machine.accepts_waiting(2, True, line.leg) and not machine.accepts_waiting(2, False, line.leg)


def test_caller_id_on_call_waiting_is_sent_when_the_phone_acknowledges():
    machine, switch, line = station(cidcw=True)
    w = waiting_call(machine, switch, line, caller="2025550123")
    phone = machine.phones[2]
    assert phone.cidcw is CallerIdOnWaiting.ACK and ("cut_line",) in switch.did
    assert ("line_tone", "call_waiting") not in switch.did
    line.leg.digits = "D"
    t = tick(machine, 0, 0.4)  # the alert tones (3200 samples) are over at 0.4 s
    assert switch.did[-1] == ("send_cidcw", "W") and phone.cidcw is CallerIdOnWaiting.FSK
    t = tick(machine, t, 0.1)
    assert phone.cidcw is CallerIdOnWaiting.FSK  # still sending
    switch.sending = False
    tick(machine, t, 0.04)  # the FSK is over: the conversation is linked again
    assert switch.did[-1] == ("restore_links", 2) and phone.cidcw is CallerIdOnWaiting.NONE


def test_caller_id_on_call_waiting_without_acknowledgement_gives_up_after_the_ack_timer():
    machine, switch, line = station(cidcw=True, timers=StationTimers(cidcw_ack=0.5))
    waiting_call(machine, switch, line, caller="2025550123")
    t = tick(machine, 0, 0.88)  # alert tones end at 0.4 s, plus 0.5 s for the acknowledgement
    assert machine.phones[2].cidcw is CallerIdOnWaiting.ACK
    tick(machine, t, 0.04)
    assert switch.did[-1] == ("restore_links", 2) and ("send_cidcw", "W") not in switch.did


def test_a_flash_with_no_transition_is_a_notice_and_leaks_name_a_stale_mode():
    machine, switch, line = station()
    machine.flash(2, line.leg, 0)
    machine.on_hook(2, line.leg, 0)  # recall
    before = list(switch.did)
    machine.flash(2, line.leg, 10)
    assert machine.notices == 1 and switch.did == before
    assert machine.leaks() == []
    for leg in (machine.phones[2].extension, machine.phones[2].party):
        leg.end()
    assert machine.leaks() == ["station features of channel 2 are still in mode recall"]


def test_bad_flash_default_is_refused():
    with pytest.raises(ValueError, match="flash_default"):
        Stations(flash_default="transfer")


def test_an_input_returns_the_actions_as_data_and_the_machine_needs_no_port():
    machine = Stations()
    ext, a = Party("E"), Party("A")
    machine.add_phone(2, Line(ext))
    for leg in (ext, a):
        machine.leg_state(leg, leg.state, leg.cause, leg.tech)
    out = machine.flash(2, ext, a, 0)
    assert out == [A.Log("station_flash", {"leg": "E", "mode": "idle"}), A.Adopt(ext), A.Keep((ext, a)), A.Hold(a),
                   A.DialTone(ext), A.DropDigits(ext)]
    assert machine.digit_leg(2, 160) is ext
    steps = list(machine.tick(160, {2: LineNow(ext, "555#")}))
    assert steps == [[A.StopLegTone(ext), A.PlaceConsult(2, ext, a, "555", 160)]]
    b = Party("B", "alerting")
    machine.leg_state(b, "alerting", None, "pri")
    assert machine.consult_placed(2, "555", "pstn/555", b, 160) == [
        A.Keep((b,)), A.Log("consult", {"leg": "E", "digits": "555", "target": "pstn/555", "b": "B"})]


def test_legs_the_machine_no_longer_refers_to_are_forgotten_once_ended():
    machine, switch, line = station()
    t, consult = flash_and_dial(machine, switch, line, "555#")
    consult.state = "answered"
    t = tick(machine, t, 0.04)
    machine.on_hook(2, line.leg, t)  # attended transfer: the features let go of every leg
    assert machine.knows(consult)
    for leg in (consult, line.leg, switch.driver.seen["A"]):
        leg.end()
    tick(machine, t, 0.04)
    assert not machine.knows(consult) and machine.legs == {}
