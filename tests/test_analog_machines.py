"""The FXS and FXO line machines back to back with a simulated phone and exchange over the emulator's line
(tests/analog_pair.py), every timer path, and protocol notices."""
import pytest

from analog_pair import SAMPLE_RATE, FxoPair, FxsPair
from pycallcenter.analog import events as E
from pycallcenter.analog.fxo import FxoLine, FxoState
from pycallcenter.analog.fxs import FxsLine, FxsState
from pycallcenter.analog.timers import FxoTimers, FxsTimers
from pycallcenter.dsp.callerid import CallerId
from pycallcenter.drivers.emulator.analog import LineTiming


# --- FXS: our port, a simulated phone ---------------------------------------------------------------------
def test_fxs_phone_lifts_gets_dial_tone_and_a_call_then_hangs_up():
    p = FxsPair()
    p.lift()
    p.run(0.1)
    assert p.machine.state is FxsState.DIALTONE and p.tones == ["dial"]
    assert len(p.of(E.Offered)) == 1
    p.feed(p.machine.digit(p.now))
    assert p.machine.state is FxsState.CONNECTED and p.tones == ["dial", "-"]
    p.put_down()
    p.run(2.0)  # on hook longer than the flash time: a hang-up
    assert p.machine.state is FxsState.IDLE
    assert p.of(E.Ended) == [E.Ended("on_hook")]


def test_fxs_ringing_sends_caller_id_after_the_first_ring_and_the_phone_answers():
    p = FxsPair()
    cid = CallerId(number="2025550100", name="ALICE")
    p.feed(p.machine.ring(p.now, cid))
    assert p.of(E.Ring) == [E.Ring(True)] and p.of(E.Alerting)
    p.run(1.0)
    assert p.callerid == []  # nothing during the first burst (2 s in the US cadence)
    p.run(1.5)
    assert p.callerid == [E.SendCallerId(cid, int(0.5 * SAMPLE_RATE))] and p.machine.rings == 1
    p.run(6.0)
    assert p.machine.rings == 2 and len(p.callerid) == 1  # only once
    p.lift()
    p.run(0.1)
    assert p.machine.state is FxsState.CONNECTED
    assert p.outputs[-3:] == [(p.outputs[-1][0], E.Ring(False)), (p.outputs[-1][0], E.StopAudio()),
                              (p.outputs[-1][0], E.Answered())]
    assert not p.line.ringing  # ring trip


def test_fxs_flash_in_a_call_is_a_flash_and_a_long_on_hook_is_not():
    p = FxsPair()
    p.lift()
    p.run(0.2)
    p.feed(p.machine.answer(p.now))
    p.flash()
    p.run(1.5)
    assert p.of(E.Flash) == [E.Flash()] and p.machine.state is FxsState.CONNECTED
    p.put_down()
    p.run(1.5)
    assert p.machine.state is FxsState.IDLE and len(p.of(E.Flash)) == 1


def test_fxs_far_end_clearing_gives_congestion_until_the_phone_hangs_up():
    p = FxsPair()
    p.lift()
    p.run(0.2)
    p.feed(p.machine.hang_up(p.now, 16))
    assert p.machine.state is FxsState.CLEARING and p.tones[-1] == "congestion"
    assert p.of(E.Ended) == [E.Ended(cause=16)]
    p.put_down()
    p.run(2.0)
    assert p.machine.state is FxsState.IDLE and p.tones[-1] == "-" and len(p.of(E.Ended)) == 1


def test_fxs_hang_up_while_ringing_stops_the_ringing():
    p = FxsPair()
    p.feed(p.machine.ring(p.now, None))
    p.run(1.0)
    p.feed(p.machine.hang_up(p.now, 19))
    p.run(1.0)
    assert p.machine.state is FxsState.IDLE and not p.line.ringing and p.of(E.Ended) == [E.Ended(cause=19)]


def test_fxs_message_waiting_waits_for_the_idle_timer_and_gives_stutter_dial_tone():
    p = FxsPair(FxsLine(FxsTimers(mwi_idle=2.0)))
    p.lift()
    p.run(0.5)
    p.put_down()
    p.run(2.0)
    idle_at = p.machine.since
    p.feed(p.machine.set_message_waiting(p.now, True))
    assert p.callerid == []  # the line has not been idle 2 s yet
    assert p.machine.next_deadline() == idle_at + 2 * SAMPLE_RATE
    p.run(2.0)
    assert p.callerid == [E.SendMessageWaiting(True, "mdmf")]
    t_sent = [t for t, o in p.outputs if isinstance(o, E.SendMessageWaiting)][0]
    assert idle_at + 2 * SAMPLE_RATE <= t_sent < idle_at + 2 * SAMPLE_RATE + 160
    p.lift()
    p.run(0.2)
    assert p.tones[-1] == "stutter_dial"


def test_fxs_message_waiting_is_sent_at_once_on_a_line_idle_since_power_up_and_not_while_off_hook():
    m = FxsLine()
    assert m.set_message_waiting(0, True, "sdmf") == [E.SendMessageWaiting(True, "sdmf")]
    p = FxsPair()
    p.lift()
    p.run(0.2)
    assert p.feed(p.machine.set_message_waiting(p.now, False)) == []
    p.run(5.0)
    assert p.callerid == [] and p.machine.next_deadline() is None
    p.put_down()
    p.run(3.0)
    assert p.callerid == [E.SendMessageWaiting(False, "mdmf")]
    dtmf = FxsLine(callerid_standard="dtmf")  # no FSK message for DTMF caller ID: stutter tone only
    assert dtmf.set_message_waiting(0, True) == [] and dtmf.mwi_due is None


def test_fxs_station_commands_recall_clear_and_release():
    m = FxsLine()
    m.off_hook(0)
    assert m.recall(10) == [E.Ring(True)] and m.state is FxsState.RINGING and m.callerid is None
    assert m.clear(20) == [E.StartTone("congestion")] and m.state is FxsState.CLEARING
    assert m.release(30, 16) == [E.Ended(cause=16)] and m.state is FxsState.IDLE


def test_fxs_an_input_with_no_transition_is_a_notice_and_changes_nothing():
    m = FxsLine()
    assert m.hang_up(5, 16) == [E.ProtocolNotice("idle", "hang_up")]
    assert m.state is FxsState.IDLE and m.since == 0 and m.notices == 1
    assert m.on_hook(6) == [] and m.notices == 1  # on hook while idle: normal, nothing to do
    m.off_hook(7)
    assert m.off_hook(8) == [E.ProtocolNotice("dialtone", "off_hook")] and m.state is FxsState.DIALTONE


# --- FXO: our port, a simulated exchange -------------------------------------------------------------------
def test_fxo_incoming_call_is_offered_at_the_second_ring_with_caller_id_and_answered():
    p = FxoPair()
    cid = CallerId(number="2025550100", name="ALICE")
    p.call(cid)
    p.run(5.0)
    assert p.machine.state is FxoState.RINGING and p.machine.rings == 1 and p.machine.callerid == cid
    p.run(2.0)
    assert p.machine.state is FxoState.OFFERED and p.of(E.Offered) == [E.Offered(cid)]
    p.feed(p.machine.answer(p.now))
    p.run(0.5)
    assert p.machine.state is FxoState.CONNECTED and p.of(E.Hook) == [E.Hook(True)]
    assert p.far.kinds()[-1].value == "off_hook" and not p.line.ringing  # the exchange saw us answer
    assert p.ours.kinds()[-1].value == "ring_end" and p.machine.notices == 0  # the ring our answer tripped
    p.far_hangs_up()
    p.run(0.1)
    assert p.machine.state is FxoState.IDLE and p.of(E.Ended) == [E.Ended("loop_drop")]
    assert p.of(E.Hook)[-1] == E.Hook(False)


def test_fxo_caller_id_arriving_after_the_offer_updates_the_call():
    p = FxoPair(FxoLine(offer_on_ring=1))
    cid = CallerId(number="5551234")
    p.call(cid)
    p.run(1.0)
    assert p.of(E.Offered) == [E.Offered(None)]
    p.run(2.0)
    assert p.of(E.CallerIdHeard) == [E.CallerIdHeard(cid)]


def test_fxo_ring_timeout_when_the_caller_gives_up_before_the_answer():
    timers = FxoTimers(ring_timeout=5.0)
    p = FxoPair(FxoLine(timers))
    p.call()
    p.run(8.5)  # two rings: offered
    assert p.machine.state is FxoState.OFFERED
    p.stop_ringing()
    last_ring_end = [t for t, k in p.ours.seen if k.value == "ring_end"][-1]
    assert p.machine.next_deadline() == last_ring_end + 5 * SAMPLE_RATE + 1  # longer than the timeout
    p.run(6.0)
    assert p.machine.state is FxoState.IDLE and p.of(E.Ended) == [E.Ended("on_hook")]
    assert p.of(E.Hook) == []  # we never went off hook


def test_fxo_a_new_ring_cancels_the_ring_timeout():
    p = FxoPair(FxoLine(FxoTimers(ring_timeout=4.5), offer_on_ring=3))
    p.call()
    p.run(12.5)  # 2 s rings, 4 s gaps: each new ring restarts supervision while ringing
    assert p.machine.state is FxoState.OFFERED and p.machine.rings == 3
    p = FxoPair(FxoLine(FxoTimers(ring_timeout=7.0)))
    p.call()
    p.run(30.0)  # offered: each ring's end restarts supervision
    assert p.machine.state is FxoState.OFFERED and p.of(E.Ended) == []


def test_fxo_outgoing_call_dials_on_dial_tone_and_is_answered_by_polarity_reversal():
    p = FxoPair()
    p.feed(p.machine.originate(p.now, "5551234"))
    p.run(1.0)
    assert p.dialled == ["5551234"] and p.machine.state is FxoState.PROGRESS
    p.detected(p.machine.progress(p.now, "ringback"))
    p.detected(p.machine.progress(p.now, "ringback"))
    assert p.of(E.Alerting) == [E.Alerting()]  # once
    p.far_answers()
    p.run(0.1)
    assert p.machine.state is FxoState.CONNECTED and p.of(E.Answered)
    assert p.of(E.Progress) == [E.Progress("ringback"), E.Progress("ringback")]
    p.line.set_polarity(False, p.now)  # the far end clears: polarity back
    p.run(0.1)
    assert p.machine.state is FxoState.IDLE and p.of(E.Ended) == [E.Ended("polarity")]


def test_fxo_dialtone_wait_dials_anyway_or_gives_up_when_dial_tone_is_required():
    p = FxoPair(FxoLine(FxoTimers(dialtone_wait=2.0), dial_mode="pulse"), dialtone=False)
    p.feed(p.machine.originate(p.now, "42"))
    p.run(1.9)
    assert p.dialled == []
    p.run(0.2)
    assert p.dialled == ["P42"]
    q = FxoPair(FxoLine(FxoTimers(dialtone_wait=2.0), require_dialtone=True), dialtone=False)
    q.feed(q.machine.originate(q.now, "42"))
    q.run(2.1)
    assert q.dialled == [] and q.of(E.Ended) == [E.Ended("no_dial_tone")] and q.of(E.Hook)[-1] == E.Hook(False)


def test_fxo_no_answer_timer_and_busy_tone():
    p = FxoPair(FxoLine(FxoTimers(no_answer=10.0)))
    p.feed(p.machine.originate(p.now, "1"))
    p.run(9.0)
    assert p.machine.state is FxoState.PROGRESS
    p.run(2.0)
    assert p.of(E.Ended) == [E.Ended("no_answer")] and p.machine.state is FxoState.IDLE
    q = FxoPair()
    q.feed(q.machine.originate(q.now, "1"))
    q.run(1.0)
    q.detected(q.machine.progress(q.now, "busy"))
    assert q.of(E.Ended) == [E.Ended("busy")] and q.machine.next_deadline() is None


@pytest.mark.parametrize("supervision, answer_by", [("voice", "voice"), ("voice", "fax_ced"), ("none", None)])
def test_fxo_answer_supervision_by_voice_or_none(supervision, answer_by):
    p = FxoPair(FxoLine(answer_supervision=supervision), timing=LineTiming())
    p.feed(p.machine.originate(p.now, "1"))
    p.run(1.0)
    if answer_by is not None:
        assert p.machine.state is FxoState.PROGRESS
        p.detected(p.machine.progress(p.now, answer_by))
    assert p.machine.state is FxoState.CONNECTED and len(p.of(E.Answered)) == 1


def test_fxo_busy_tone_on_a_connected_line_is_disconnect_supervision():
    p = FxoPair()
    p.feed(p.machine.originate(p.now, "1"))
    p.run(1.0)
    p.far_answers()
    p.run(0.1)
    p.detected(p.machine.progress(p.now, "congestion"))
    assert p.of(E.Ended) == [E.Ended("on_hook")] and p.of(E.Hook)[-1] == E.Hook(False)


def test_fxo_incoming_call_ignores_polarity_and_we_hang_up():
    p = FxoPair(FxoLine(offer_on_ring=1))
    p.call()
    p.run(0.5)
    p.feed(p.machine.answer(p.now))
    p.run(0.5)
    p.feed(p.machine.polarity(p.now, True))  # only an outgoing call is cleared by polarity
    assert p.machine.state is FxoState.CONNECTED
    p.feed(p.machine.hang_up(p.now, 16))
    assert p.of(E.Ended) == [E.Ended(cause=16)] and p.of(E.Hook)[-1] == E.Hook(False)


def test_fxo_bad_settings_and_notices():
    with pytest.raises(ValueError, match="dial_mode"):
        FxoLine(dial_mode="rotary")
    with pytest.raises(ValueError, match="answer_supervision"):
        FxoLine(answer_supervision="loop")
    m = FxoLine()
    assert m.answer(0) == [E.ProtocolNotice("idle", "answer")] and m.state is FxoState.IDLE
    assert m.progress(0, "busy") == [] and m.notices == 1  # a detector result on an idle line: normal
    m.originate(1, "1")
    assert m.originate(2, "2") == [E.ProtocolNotice("dialtone", "originate")] and m.number == "1"
