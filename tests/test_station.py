"""FXS station features end to end on the emulator: flash consultation and transfer, call waiting."""
import numpy as np

from engine_rig import analog_engine
from pycallcenter.dsp import SAMPLE_RATE, g711
from pycallcenter.engine import call as C
from pycallcenter.engine.station import StationFeatures


def _tone(freq, seconds, amp=8000):
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def _level(codes, hz):
    """Return the fraction of the signal's spectral magnitude within 15 Hz of hz (0 for silence)."""
    x = g711.ulaw_decode(codes).astype(float)
    if np.sqrt(np.mean(x ** 2)) < 30:
        return 0.0
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    f = np.fft.rfftfreq(x.size, 1 / SAMPLE_RATE)
    return spec[np.abs(f - hz) < 15].sum() / spec.sum()


def _talk(eng, ends, freqs, seconds=1.0):
    """Every named end sends its own tone; return what each heard in the last half second."""
    for name, hz in freqs.items():
        ends[name].read_audio()
        ends[name].write_audio(_tone(hz, seconds))
    eng.run(seconds=seconds)
    return {name: ends[name].read_audio()[-4000:] for name in freqs}


def _hears(heard, hz):
    return _level(heard, hz) > 0.2


FREQ = {"alice": 700, "bob": 1300, "pstn3": 1900}


def _alice_calls_bob(eng, ends, **features):
    """Alice lifts the phone, her script rings bob and bridges them; return the script's record."""
    record = []

    async def script(call):
        if call.leg.tech == "fxs":
            r = await call.dial("channel/2", caller=call.leg.caller)
            record.append(r.outcome)
            if r.outcome == "answered":
                await call.bridge(r.leg)
        else:
            await call.answer()
            r = await call.dial("channel/2", timeout=None)
            record.append(("cw", r.outcome))
            if r.outcome == "answered":
                await call.bridge(r.leg)
            await call.hangup()

    eng.router = lambda leg: script
    StationFeatures(eng, **features)
    ends["alice"].off_hook()
    eng.run(seconds=2.0)
    ends["bob"].off_hook()
    eng.run(seconds=0.5)
    assert record == ["answered"]
    return record


def _bob_consults_outside(eng, ends):
    bob, pstn = ends["bob"], ends["pstn3"]
    bob.flash()
    eng.run(seconds=1.0)
    bob.read_audio()
    eng.run(seconds=0.5)
    assert 340 < _dominant(bob.read_audio()) < 450  # dial tone after the flash
    bob.dial("9555#")
    eng.run(seconds=8.0)
    assert pstn.digits == "555"


def _bob_talks_to_consulted_party(seed=1, **features):
    """Alice talks to bob, bob flashes and calls 555 outside, which answers; return (engine, far ends)."""
    eng, ends = analog_engine(seed)
    _alice_calls_bob(eng, ends, **features)
    _bob_consults_outside(eng, ends)
    ends["pstn3"].answer()
    eng.run(seconds=1.0)
    return eng, ends


def _dominant(codes):
    x = g711.ulaw_decode(codes).astype(float)
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return np.argmax(spec) * SAMPLE_RATE / x.size


def _hang_up_and_check_clear(eng, ends, *names):
    """The named phones hang up in turn; then no leg, call, script or busy line may be left."""
    for name in names:
        ends[name].on_hook()
        eng.run(seconds=2.0)
    eng.run(seconds=1.0)
    assert not eng.legs and not eng.calls and not eng.scheduler.tasks
    assert all(l.state == "idle" for a in eng.adapters for l in getattr(a, "lines", {}).values())


def test_attended_transfer_after_consulting_an_outside_number():
    eng, ends = analog_engine()
    _alice_calls_bob(eng, ends)
    heard = _talk(eng, ends, {"alice": 700, "bob": 1300})
    assert _hears(heard["bob"], 700) and _hears(heard["alice"], 1300)
    _bob_consults_outside(eng, ends)
    ends["pstn3"].answer()
    eng.run(seconds=1.0)
    heard = _talk(eng, ends, FREQ)
    assert _hears(heard["bob"], 1900) and _hears(heard["pstn3"], 1300)
    assert not _hears(heard["alice"], 1300) and not _hears(heard["alice"], 1900)  # alice is on hold
    assert not _hears(heard["pstn3"], 700) and not _hears(heard["bob"], 700)
    ends["bob"].on_hook()
    eng.run(seconds=2.0)
    heard = _talk(eng, ends, {"alice": 700, "pstn3": 1900})
    assert _hears(heard["alice"], 1900) and _hears(heard["pstn3"], 700)
    assert "transfer a=L1 b=L3 how=attended" in "\n".join(eng.log_lines)
    ends["pstn3"].hangup()  # the outside party clears: alice is cleared too
    eng.run(seconds=2.0)
    _hang_up_and_check_clear(eng, ends, "alice")


def test_blind_transfer_while_the_consult_party_rings():
    eng, ends = analog_engine()
    _alice_calls_bob(eng, ends)
    _bob_consults_outside(eng, ends)
    ends["bob"].on_hook()  # before the outside party answers
    eng.run(seconds=2.0)
    ends["alice"].read_audio()
    eng.run(seconds=2.0)
    heard = ends["alice"].read_audio()
    assert _level(heard, 440) + _level(heard, 480) > 0.3  # ringback while waiting
    ends["pstn3"].answer()
    eng.run(seconds=1.0)
    heard = _talk(eng, ends, {"alice": 700, "pstn3": 1900})
    assert _hears(heard["alice"], 1900) and _hears(heard["pstn3"], 700)
    assert "how=blind" in "\n".join(eng.log_lines)
    _hang_up_and_check_clear(eng, ends, "alice")
    assert not ends["pstn3"].off_hook


def test_flash_during_consultation_returns_to_the_held_party_and_clears_the_consult():
    eng, ends = _bob_talks_to_consulted_party()
    ends["bob"].flash()
    eng.run(seconds=4.0)  # no digit within the flash window: back to alice
    assert not ends["pstn3"].off_hook  # the consult line was released
    heard = _talk(eng, ends, {"alice": 700, "bob": 1300})
    assert _hears(heard["bob"], 700) and _hears(heard["alice"], 1300)
    _hang_up_and_check_clear(eng, ends, "bob", "alice")


def test_flash_then_3_makes_a_three_way_conference():
    eng, ends = _bob_talks_to_consulted_party()
    ends["bob"].flash()
    eng.run(seconds=1.0)
    ends["bob"].dial("3")
    eng.run(seconds=1.0)
    heard = _talk(eng, ends, FREQ)
    assert _hears(heard["alice"], 1300) and _hears(heard["alice"], 1900)
    assert _hears(heard["bob"], 700) and _hears(heard["bob"], 1900)
    assert _hears(heard["pstn3"], 700) and _hears(heard["pstn3"], 1300)
    ends["bob"].on_hook()  # leaving the conference transfers alice to the outside party
    eng.run(seconds=2.0)
    heard = _talk(eng, ends, {"alice": 700, "pstn3": 1900})
    assert _hears(heard["alice"], 1900) and _hears(heard["pstn3"], 700)
    _hang_up_and_check_clear(eng, ends, "alice")


def test_flash_then_2_swaps_between_the_held_and_the_consulted_party():
    eng, ends = _bob_talks_to_consulted_party()
    for talking, held in ((700, 1900), (1900, 700)):
        ends["bob"].flash()
        eng.run(seconds=1.0)
        ends["bob"].dial("2")
        eng.run(seconds=1.0)
        heard = _talk(eng, ends, FREQ)
        assert _hears(heard["bob"], talking) and not _hears(heard["bob"], held)
    assert "consult_swap" in "\n".join(eng.log_lines)
    _hang_up_and_check_clear(eng, ends, "bob", "alice")


def test_consultation_to_an_unknown_number_gets_reorder_and_flash_returns():
    eng, ends = analog_engine()
    _alice_calls_bob(eng, ends)
    ends["bob"].flash()
    eng.run(seconds=1.0)
    ends["bob"].dial("7#")
    eng.run(seconds=1.0)
    ends["bob"].read_audio()
    eng.run(seconds=1.0)
    heard = ends["bob"].read_audio()
    assert _level(heard, 480) + _level(heard, 620) > 0.3  # reorder
    ends["bob"].flash()
    eng.run(seconds=1.0)
    heard = _talk(eng, ends, {"alice": 700, "bob": 1300})
    assert _hears(heard["bob"], 700) and _hears(heard["alice"], 1300)
    _hang_up_and_check_clear(eng, ends, "alice", "bob")


def _waiting_call(eng, ends):
    """Alice talks to bob; an outside call for bob waits. Return bob's audio while it waits."""
    _alice_calls_bob(eng, ends)
    ends["bob"].read_audio()
    ends["pstn3"].call("2025550123", "JANE DOE")
    eng.run(seconds=9.0)
    assert any("call_waiting busy=" in l for l in eng.log_lines)
    return ends["bob"].read_audio()


def test_call_waiting_tone_flash_answers_and_toggles_then_reminder_ring():
    eng, ends = analog_engine()
    heard = _waiting_call(eng, ends)
    assert _hears(heard[np.argmax(np.abs(g711.ulaw_decode(heard)) > 500):][:2400], 440)  # the call-waiting beep
    ends["bob"].flash()
    eng.run(seconds=1.5)
    heard = _talk(eng, ends, FREQ)
    assert _hears(heard["bob"], 1900) and _hears(heard["pstn3"], 1300)
    assert not _hears(heard["alice"], 1300) and not _hears(heard["bob"], 700)
    ends["bob"].flash()  # back to alice; the outside caller waits on hold
    eng.run(seconds=1.5)
    heard = _talk(eng, ends, FREQ)
    assert _hears(heard["bob"], 700) and _hears(heard["alice"], 1300)
    assert not _hears(heard["pstn3"], 1300) and not _hears(heard["bob"], 1900)
    ends["bob"].flash()  # and to the outside caller again
    eng.run(seconds=1.5)
    heard = _talk(eng, ends, FREQ)
    assert _hears(heard["bob"], 1900) and not _hears(heard["bob"], 700)
    rings = ends["bob"].rings
    ends["bob"].on_hook()  # hang up on the outside caller: alice is still held, the phone rings back
    eng.run(seconds=3.0)
    assert ends["bob"].rings > rings
    assert "reminder_ring" in "\n".join(eng.log_lines)
    ends["bob"].off_hook()
    eng.run(seconds=1.0)
    heard = _talk(eng, ends, {"alice": 700, "bob": 1300})
    assert _hears(heard["bob"], 700) and _hears(heard["alice"], 1300)
    _hang_up_and_check_clear(eng, ends, "alice", "bob")


def test_unanswered_waiting_call_ends_no_answer_and_the_first_call_goes_on():
    eng, ends = analog_engine()
    record = _alice_calls_bob(eng, ends, cw_timeout=5.0)
    ends["pstn3"].call("2025550123", "JANE DOE")
    eng.run(seconds=16.0)
    assert ("cw", "no_answer") in record
    heard = _talk(eng, ends, {"alice": 700, "bob": 1300})
    assert _hears(heard["bob"], 700) and _hears(heard["alice"], 1300)
    _hang_up_and_check_clear(eng, ends, "bob", "alice")


def test_without_call_waiting_a_busy_extension_refuses_the_call():
    eng, ends = analog_engine()
    record = _alice_calls_bob(eng, ends, call_waiting=False)
    ends["pstn3"].call("2025550123", "JANE DOE")
    eng.run(seconds=9.0)
    assert ("cw", "no_line") in record
    assert C.ANSWERED in {l.state for l in eng.legs.values()}
    ends["pstn3"].hangup()
    _hang_up_and_check_clear(eng, ends, "alice", "bob")


def test_hanging_up_after_flash_without_dialling_rings_the_phone_back_to_the_held_party():
    eng, ends = analog_engine()
    _alice_calls_bob(eng, ends)
    ends["bob"].flash()
    eng.run(seconds=1.0)
    rings = ends["bob"].rings
    ends["bob"].on_hook()
    eng.run(seconds=3.0)
    assert ends["bob"].rings > rings
    ends["bob"].off_hook()
    eng.run(seconds=1.0)
    heard = _talk(eng, ends, {"alice": 700, "bob": 1300})
    assert _hears(heard["bob"], 700) and _hears(heard["alice"], 1300)
    _hang_up_and_check_clear(eng, ends, "bob", "alice")


def test_held_party_leaving_during_a_consultation_leaves_the_consultation_up():
    eng, ends = _bob_talks_to_consulted_party()
    ends["alice"].on_hook()
    eng.run(seconds=2.0)
    heard = _talk(eng, ends, {"bob": 1300, "pstn3": 1900})
    assert _hears(heard["bob"], 1900) and _hears(heard["pstn3"], 1300)
    _hang_up_and_check_clear(eng, ends, "bob")
    assert not ends["pstn3"].off_hook


def _alice_consults_bob_for_an_outside_caller():
    """An outside call reaches alice (its script sets a call variable), who flashes and dials bob's
    extension; bob rings. Return (engine, far ends)."""
    eng, ends = analog_engine()

    async def script(call):
        await call.answer()
        r = await call.dial("channel/1")
        if r.outcome == "answered":
            call.vars["account"] = "42"
            await call.bridge(r.leg)

    eng.router = lambda leg: script
    StationFeatures(eng)
    ends["pstn3"].call("2025550123", "JANE DOE")
    eng.run(seconds=9.0)
    ends["alice"].off_hook()
    eng.run(seconds=0.5)
    ends["alice"].flash()
    eng.run(seconds=1.0)
    ends["alice"].dial("2#")
    eng.run(seconds=2.0)
    assert ends["bob"].rings >= 1
    return eng, ends


def test_flash_while_the_consulted_extension_rings_cancels_it_and_returns():
    eng, ends = _alice_consults_bob_for_an_outside_caller()
    ends["alice"].flash()
    eng.run(seconds=1.5)
    rings = ends["bob"].rings
    eng.run(seconds=6.0)
    assert ends["bob"].rings == rings and not ends["bob"].ringing
    heard = _talk(eng, ends, {"alice": 700, "pstn3": 1900})
    assert _hears(heard["alice"], 1900) and _hears(heard["pstn3"], 700)
    ends["pstn3"].hangup()
    eng.run(seconds=2.0)
    _hang_up_and_check_clear(eng, ends, "alice")


def test_outside_caller_transferred_between_extensions_after_ringback():
    eng, ends = _alice_consults_bob_for_an_outside_caller()
    alice, bob, pstn = ends["alice"], ends["bob"], ends["pstn3"]
    alice.read_audio()
    eng.run(seconds=1.0)
    heard = alice.read_audio()
    assert _level(heard, 440) + _level(heard, 480) > 0.3  # ringback from the ringing extension
    bob.off_hook()
    eng.run(seconds=0.5)
    heard = _talk(eng, ends, FREQ)
    assert _hears(heard["alice"], 1300) and _hears(heard["bob"], 700) and not _hears(heard["pstn3"], 700)
    alice.on_hook()
    eng.run(seconds=2.0)
    heard = _talk(eng, ends, {"bob": 1300, "pstn3": 1900})
    assert _hears(heard["bob"], 1900) and _hears(heard["pstn3"], 1300)
    bob_leg = next(l for l in eng.legs.values() if l.channel == 2)
    assert bob_leg.call.vars == {"account": "42"}  # the call's data went with the transfer
    pstn.hangup()
    eng.run(seconds=2.0)
    _hang_up_and_check_clear(eng, ends, "bob")


def test_waiting_call_taken_with_flash_after_the_first_party_left():
    eng, ends = analog_engine()
    record = _alice_calls_bob(eng, ends)
    ends["pstn3"].call("2025550123", "JANE DOE")
    eng.run(seconds=9.0)
    ends["alice"].on_hook()
    eng.run(seconds=2.0)
    ends["bob"].flash()
    eng.run(seconds=1.5)
    assert ("cw", "answered") in record
    heard = _talk(eng, ends, {"bob": 1300, "pstn3": 1900})
    assert _hears(heard["bob"], 1900) and _hears(heard["pstn3"], 1300)
    _hang_up_and_check_clear(eng, ends, "bob")


def test_first_party_leaves_then_the_waiting_call_times_out_and_nothing_is_left():
    """The first party hangs up while a call waits and the phone stays off hook without flashing: the waiting
    call ends with no answer and the phone's features go back to idle (they were stuck waiting)."""
    eng, ends = analog_engine()
    record = _alice_calls_bob(eng, ends, cw_timeout=5.0)
    ends["pstn3"].call("2025550123", "JANE DOE")
    eng.run(seconds=15.0, until=lambda: any("call_waiting busy=" in l for l in eng.log_lines))
    ends["alice"].on_hook()
    eng.run(seconds=16.0)
    assert ("cw", "no_answer") in record
    assert not any("station features" in leak for leak in eng.leaks())
    _hang_up_and_check_clear(eng, ends, "bob")
    assert eng.leaks() == []


def test_flash_default_conference_joins_the_three_parties_without_a_digit():
    eng, ends = _bob_talks_to_consulted_party(flash_default="conference")
    ends["bob"].flash()
    eng.run(seconds=4.0)
    heard = _talk(eng, ends, FREQ)
    assert _hears(heard["alice"], 1900) and _hears(heard["pstn3"], 700) and _hears(heard["bob"], 700)
    _hang_up_and_check_clear(eng, ends, "bob", "alice")


def test_same_seed_and_actions_give_the_same_event_log():
    logs = []
    for _ in range(2):
        eng, ends = _bob_talks_to_consulted_party(seed=7)
        ends["bob"].on_hook()
        eng.run(seconds=2.0)
        _hang_up_and_check_clear(eng, ends, "alice")
        logs.append(eng.log_lines)
    assert logs[0] == logs[1] and any(" transfer " in l for l in logs[0])


def _cidcw_offer(ack):
    """Bob talks to alice; an outside call waits with CIDCW; bob's phone ACKs (or not). Return (eng, ends, audio)."""
    eng, ends = analog_engine()
    _alice_calls_bob(eng, ends, cidcw=True)
    bob = ends["bob"]
    ends["pstn3"].call("2025550123", "JANE DOE")
    eng.run(until=lambda: any("cidcw_alert" in l for l in eng.log_lines), ticks=1000)
    bob.read_audio()
    eng.run(seconds=0.3)  # the subscriber alerting tone, then CAS
    if ack:
        bob.dial("D", on_ms=60, off_ms=0)
    ends["alice"].write_audio(_tone(700, 2.0))
    eng.run(seconds=1.5)
    return eng, ends, g711.ulaw_decode(bob.read_audio())


def test_caller_id_on_call_waiting_after_the_phone_acknowledges():
    from pycallcenter.dsp.callerid import decode_callerid

    eng, ends, audio = _cidcw_offer(ack=True)
    assert _level(g711.ulaw_encode(audio[2400:3040]), 2130) + _level(g711.ulaw_encode(audio[2400:3040]), 2750) > 0.5
    ids = decode_callerid(audio, "bell202")
    assert [(c.number, c.name) for c in ids] == [("2025550123", "JANE DOE")]
    assert "cidcw_sent ack=D" in "\n".join(eng.log_lines)
    eng.run(seconds=0.5)
    heard = _talk(eng, ends, {"alice": 700, "bob": 1300})  # the conversation is back after the FSK
    assert _hears(heard["bob"], 700) and _hears(heard["alice"], 1300)
    ends["bob"].flash()
    eng.run(seconds=1.5)
    heard = _talk(eng, ends, {"bob": 1300, "pstn3": 1900})
    assert _hears(heard["bob"], 1900) and _hears(heard["pstn3"], 1300)
    ends["pstn3"].hangup()
    eng.run(seconds=2.0)
    ends["bob"].flash()  # the outside caller left: FLASH takes alice back
    eng.run(seconds=1.5)
    heard = _talk(eng, ends, {"alice": 700, "bob": 1300})
    assert _hears(heard["bob"], 700) and _hears(heard["alice"], 1300)
    _hang_up_and_check_clear(eng, ends, "alice", "bob")


def test_caller_id_on_call_waiting_is_not_sent_without_an_ack():
    from pycallcenter.dsp.callerid import decode_callerid

    eng, ends, audio = _cidcw_offer(ack=False)
    assert decode_callerid(audio, "bell202") == []
    assert "cidcw_sent" not in "\n".join(eng.log_lines)
    heard = _talk(eng, ends, {"alice": 700, "bob": 1300})
    assert _hears(heard["bob"], 700) and _hears(heard["alice"], 1300)
    rings = ends["bob"].rings
    ends["bob"].on_hook()  # hanging up with a call waiting: the phone rings for it
    eng.run(seconds=3.0)
    assert ends["bob"].rings > rings
    ends["bob"].off_hook()
    eng.run(seconds=1.0)
    heard = _talk(eng, ends, {"bob": 1300, "pstn3": 1900})
    assert _hears(heard["bob"], 1900) and _hears(heard["pstn3"], 1300)
    _hang_up_and_check_clear(eng, ends, "alice", "bob")


def test_blind_transfer_nobody_answers_rings_the_transferring_extension_back():
    eng, ends = analog_engine()
    _alice_calls_bob(eng, ends, consult_timeout=15.0)
    _bob_consults_outside(eng, ends)
    ends["bob"].on_hook()
    eng.run(seconds=2.0)
    rings = ends["bob"].rings
    eng.run(seconds=16.0)  # the outside party never answers
    assert not ends["pstn3"].off_hook
    assert ends["bob"].rings > rings
    assert "transfer_recall" in "\n".join(eng.log_lines)
    ends["bob"].off_hook()
    eng.run(seconds=1.0)
    heard = _talk(eng, ends, {"alice": 700, "bob": 1300})
    assert _hears(heard["bob"], 700) and _hears(heard["alice"], 1300)
    _hang_up_and_check_clear(eng, ends, "bob", "alice")
